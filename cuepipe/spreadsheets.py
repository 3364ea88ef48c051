"""Spreadsheets as people write them, read into cuepipe's typed DataFrame.

These two entry points sit above both ``frames`` (files and DataFrames) and ``tabular`` (the
parsing of timecodes, type presets and column maps), so neither of those imports the other's
callers: ``frames`` uses ``tabular``'s parsers, and this module uses both.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from . import frames
from .tabular import options_from


def prepare_frame(
    df: pd.DataFrame,
    *,
    columns: Mapping[str, str] | str | None = None,
    type: str | None = None,
    entry: str | None = None,
    defaults: Mapping[str, Any] | None = None,
    duration: Any = None,
) -> pd.DataFrame:
    """A DataFrame as people build it -> cuepipe's typed DataFrame (renamed, filled, times parsed).

    ``prepare_frame(df, columns={"timecode": "startTime", "chapter_title": "title"}, type="chapter",
    entry="0_abc")``; timedelta columns and timecode text become milliseconds.
    """
    options = options_from(columns=columns, type=type, entry=entry, defaults=defaults, duration=duration)
    return options.finish(frames.conform(options.apply(df, "DataFrame"), "DataFrame"), "DataFrame")[0]


def read_table(
    path: str | Any,
    *,
    columns: Mapping[str, str] | str | None = None,
    type: str | None = None,
    entry: str | None = None,
    defaults: Mapping[str, Any] | None = None,
    duration: Any = None,
    chunksize: int | None = None,
) -> Any:
    """Read a CSV, Parquet or JSON Lines file of cue points, spreadsheets as people write them included.

    ``columns`` renames the file's columns (``{"timecode": "startTime"}`` or
    ``"timecode=startTime,..."``), ``type`` and ``entry`` fill the cue point type and entry id where the
    file leaves them out, ``defaults`` any other column. Chapter annotations without an end get the
    next chapter's start (the last ``duration``). Returns one DataFrame, or an iterator of DataFrames
    of at most ``chunksize`` rows (then no end is derived: a chunk may cut an entry's chapters).
    """
    options = options_from(columns=columns, type=type, entry=entry, defaults=defaults, duration=duration)
    chunks = frames.read_table(path, chunksize=chunksize, options=options)
    if chunksize is not None:
        # chapter ends are not derived chunk by chunk: a chunk boundary would cut an entry's chapters
        return chunks
    parts = list(chunks)
    if not parts:
        return frames.empty_frame()
    whole = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
    return options.finish(whole, str(path))[0]

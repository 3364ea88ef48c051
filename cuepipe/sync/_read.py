"""Reading both sides of a sync: the desired table (any input ``write_xml`` takes) and the server."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

from .. import frames
from ..errors import CuePointValueError
from ..xml import iter_cue_points

if TYPE_CHECKING:
    from ..client import Client, Progress

#: Entries per ``list`` filter (``entryIdIn``): keeps each request's filter small.
ENTRIES_PER_READ = 50


def read_desired(data: Any) -> tuple[list[Hashable], list[dict[str, Any]], tuple[str, ...]]:
    """Row labels, records and the columns the table gives, from a DataFrame, records, a path or XML bytes.

    The columns are those of the DataFrame or file (for records: every key any record has); a
    column the table does not give is left alone by a sync.
    """
    if isinstance(data, pd.DataFrame):
        return list(data.index), list(frames.frame_to_records(data)), tuple(str(c) for c in data.columns)
    if isinstance(data, str | os.PathLike):
        path = os.fspath(data)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"no such file: {path}")
        if frames.table_format(path) == "xml":
            records = [dict(r) for r in iter_cue_points(path)]
            columns = tuple(dict.fromkeys(k for r in records for k in r))
        else:
            chunks = list(frames.read_table(path))
            frame = pd.concat(chunks, ignore_index=True) if chunks else pd.DataFrame()
            records = list(frames.frame_to_records(frame))
            columns = _file_columns(path, frame)
        return list(range(len(records))), records, columns
    if isinstance(data, bytes | bytearray | memoryview):
        records = [dict(r) for r in iter_cue_points(bytes(data))]
        return list(range(len(records))), records, tuple(dict.fromkeys(k for r in records for k in r))
    if isinstance(data, Mapping) or not isinstance(data, Iterable):
        raise TypeError(
            f"a desired state is a DataFrame, a list of dicts or a path to a file, not {type(data).__name__}"
        )
    records = []
    for i, rec in enumerate(data):
        if not isinstance(rec, Mapping):
            raise CuePointValueError(f"expected a dict, got {type(rec).__name__}", record=i)
        records.append(dict(rec))
    return list(range(len(records))), records, tuple(dict.fromkeys(k for r in records for k in r))


def _file_columns(path: str, frame: pd.DataFrame) -> tuple[str, ...]:
    """The columns a CSV/Parquet/JSONL file really has (``read_table`` adds every cuepipe column)."""
    fmt = frames.table_format(path)
    try:
        if fmt == "csv":
            header = pd.read_csv(path, nrows=0)
            return tuple(str(c) for c in header.columns)
        if fmt == "parquet":
            import pyarrow.parquet as pq

            return tuple(pq.read_schema(path).names)
        if fmt == "jsonl":
            head = pd.read_json(path, lines=True, nrows=50)
            return tuple(str(c) for c in head.columns)
    except (ValueError, OSError, ImportError):
        pass
    return tuple(str(c) for c in frame.columns if frame[c].notna().any())


def read_server(
    client: Client,
    entries: Iterable[str],
    *,
    progress: Callable[[Progress], None] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Every cue point of ``entries`` (every type, exact milliseconds, past any page cap) as records.

    ``extra``: more filter fields (``{"tagsLike": "chaptering"}``...), applied by the server.
    """
    wanted = list(dict.fromkeys(entries))
    out: list[dict[str, Any]] = []
    for start in range(0, len(wanted), ENTRIES_PER_READ):
        batch = wanted[start : start + ENTRIES_PER_READ]
        frame = client.pull({**(extra or {}), "entryIdIn": batch}, precision="ms", progress=progress)
        out.extend(frames.frame_to_records(frame))
    return out


def _entry_get(entry: str, ctx: Any) -> Any:
    from ..kaltura.actions import base_entry_get

    return base_entry_get(ctx, entry)


def entry_durations(client: Client, entries: Iterable[str]) -> dict[str, int | None]:
    """``baseEntry.get`` per entry: its ``msDuration`` (None when unknown); entries that do not exist
    for the client's partner are left out."""
    from ..client._base import Call, Op
    from ..kaltura.errors import KalturaNotFoundError

    wanted = list(dict.fromkeys(entries))

    def op() -> Op:
        out: dict[str, int | None] = {}
        for entry in wanted:
            try:
                obj = yield Call(build=functools.partial(_entry_get, entry), what=f"baseEntry.get({entry})")
            except KalturaNotFoundError:
                continue
            ms = obj.get("msDuration")
            out[entry] = int(ms) if ms not in (None, "", 0) else None
        return out

    result: dict[str, int | None] = client._run(op())
    return result

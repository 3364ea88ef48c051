"""Spreadsheets as people write them: timecodes and durations in time columns, renamed columns,
defaults for columns a file leaves out.

Time columns (``startTime``, ``endTime``) hold integer milliseconds inside cuepipe. People write
``00:01:30``, ``1:30``, ``90s`` or ``1m30s``; DataFrames may hold ``timedelta`` values. This module
turns all of those into milliseconds, and refuses what it would have to guess:

* a bare integer (``90000``) is milliseconds, the documented unit of the column, but only when
  the whole column is bare integers. In a column that also holds timecodes or units, a bare
  number (``90``) could mean seconds or milliseconds: that is an error naming row and column;
* a bare number with a fraction (``1.5``) is an error: milliseconds have no fraction, and seconds
  must say so (``1.5s``);
* ``HH:MM:SS:FF`` (four parts) is a frame timecode: without a frame rate it cannot be converted;
* minutes or seconds of 60 or more inside a timecode (``00:75:00``), negative times, and
  precision finer than a millisecond (``0.0005s``) are errors.

Accepted timecodes: ``H:MM:SS``, ``HH:MM:SS``, ``MM:SS``/``M:SS`` (minutes may exceed 59 when there
are no hours), each with an optional fraction of a second after ``.`` or ``,`` (SRT writes a comma).
Accepted durations: one or more ``<number><unit>`` parts, units ``h``/``hr``/``hour(s)``,
``m``/``min``/``minute(s)``, ``s``/``sec``/``second(s)``, ``ms``/``msec``/``millisecond(s)``
(``1h 2m 3.5s``, ``1500 ms``), and ISO 8601 durations (``PT1M30S``).
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from . import vocabulary as voc
from .values import is_missing, to_milliseconds

#: The tag of the older player chapters module's annotations (the server's
#: ``KalturaAnnotationFilter::CHAPTERS_PUBLIC_TAG``); :mod:`cuepipe.formats.conventions` uses it too.
CHAPTER_TAG = "chaptering"

#: Columns holding times (integer milliseconds), from the vocabulary.
TIME_COLUMNS: tuple[str, ...] = tuple(f.column for f in voc.COLUMNS if f.kind == "time")

_TIMECODE = re.compile(r"(?:(\d+):)?(\d+):(\d+)(?:[.,](\d+))?")
_FRAMES = re.compile(r"\d+:\d+:\d+[:;]\d+")
_UNITS: dict[str, int] = {
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), 3_600_000),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), 60_000),
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), 1000),
    **dict.fromkeys(("ms", "msec", "msecs", "millisecond", "milliseconds"), 1),
}
_PART = re.compile(r"\s*(\d+(?:\.\d+)?|\.\d+)\s*([a-z]+)\s*")
_ISO = re.compile(r"PT(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?", re.IGNORECASE)
_BARE_INT = re.compile(r"\d+")
_BARE_NUMBER = re.compile(r"[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?")


class AmbiguousTimeError(ValueError):
    """A time value that could mean more than one thing (e.g. a bare ``90`` among timecodes)."""


def _exact_ms(amount: Decimal, unit_ms: int, text: str) -> int:
    ms = amount * unit_ms
    if ms != ms.to_integral_value():
        raise ValueError(f"{text!r} is more precise than a millisecond")
    return int(ms)


def parse_time_text(text: str) -> tuple[int, str]:
    """A time as people write it -> (milliseconds, style). Style: ``"ms"`` for a bare integer
    (milliseconds only if its column agrees, see :func:`parse_time_column`), ``"timecode"`` or
    ``"units"``. Raises ``ValueError`` with a plain message for anything else."""
    t = text.strip()
    if not t:
        raise ValueError("empty time")
    if _BARE_INT.fullmatch(t):
        return int(t), "ms"
    if _FRAMES.fullmatch(t):
        raise AmbiguousTimeError(
            f"{t!r} looks like a frame timecode (HH:MM:SS:FF); without a frame rate it is ambiguous"
        )
    m = _TIMECODE.fullmatch(t)
    if m is not None:
        hours, minutes, seconds, frac = m.groups()
        h = int(hours) if hours is not None else 0
        mi, s = int(minutes), int(seconds)
        if s >= 60 or (hours is not None and mi >= 60):
            raise ValueError(f"{t!r} is not a valid timecode (minutes and seconds go up to 59)")
        ms = (h * 3600 + mi * 60 + s) * 1000
        if frac:
            if len(frac) > 3 and frac[3:].strip("0"):
                raise ValueError(f"{t!r} is more precise than a millisecond")
            ms += int(frac[:3].ljust(3, "0"))
        return ms, "timecode"
    lower = t.lower()
    iso = _ISO.fullmatch(t)
    if iso is not None and any(iso.groups()):
        total = Decimal(0)
        for amount, unit in zip(iso.groups(), (3_600_000, 60_000, 1000), strict=True):
            if amount is not None:
                total += Decimal(amount) * unit
        return _exact_ms(total, 1, t), "units"
    pos, total, parts = 0, Decimal(0), 0
    while pos < len(lower):
        pm = _PART.match(lower, pos)
        if pm is None or pm.group(2) not in _UNITS:
            break
        total += Decimal(pm.group(1)) * _UNITS[pm.group(2)]
        pos = pm.end()
        parts += 1
    if parts and pos == len(lower):
        return _exact_ms(total, 1, t), "units"
    if _BARE_NUMBER.fullmatch(t):
        if t.startswith("-"):
            raise ValueError(f"{t!r} is negative")
        raise AmbiguousTimeError(
            f"{t!r} is not an integer: milliseconds have no fraction; write seconds with a unit ('{t}s')"
        )
    raise ValueError(
        f"{t!r} is not an integer (milliseconds), a timecode (00:01:30, 1:30.5) or a duration (90s, 1m30s)"
    )


def time_value_to_ms(value: object) -> tuple[int, str]:
    """One cell of a time column -> (milliseconds, style); style as in :func:`parse_time_text`,
    ``"number"`` for numeric values and ``"timedelta"`` for durations."""
    if isinstance(value, bool | np.bool_):
        raise TypeError(f"expected a time, got a boolean {value!r}")
    if isinstance(value, np.timedelta64 | _dt.timedelta):  # before integers: timedelta64 is one for NumPy
        ms = to_milliseconds(value)
        if ms < 0:
            raise ValueError(f"time {value} is negative")
        return ms, "timedelta"
    if isinstance(value, int | np.integer):
        if value < 0:
            raise ValueError(f"time {value} is negative")
        return int(value), "number"
    if isinstance(value, float | np.floating):
        if not math.isfinite(value) or value != int(value):
            raise AmbiguousTimeError(
                f"{value!r} is not an integer: milliseconds have no fraction; write seconds with a unit ('{value}s')"
            )
        if value < 0:
            raise ValueError(f"time {value} is negative")
        return int(value), "number"
    if isinstance(value, str):
        return parse_time_text(value)
    raise TypeError(f"expected a time, got {type(value).__name__} {value!r}")


def _time_like(value: object) -> bool:
    """A cell this module reads as a time: text, a number (not a boolean), a duration, or missing."""
    if isinstance(value, bool | np.bool_):
        return False
    return is_missing(value) or isinstance(value, str | int | float | np.integer | np.floating | _dt.timedelta)


def parse_time_column(values: pd.Series, column: str, where: str = "input", *, first_row: int = 0) -> pd.Series:
    """A time column as people fill it -> ``Int64`` milliseconds, or ``ValueError`` naming row and column.

    Numeric and timedelta dtypes convert directly. Text columns are read cell by cell; a bare integer
    is milliseconds only when no cell of the column is a timecode or a duration with a unit.
    """
    if (
        pd.api.types.is_bool_dtype(values.dtype)
        or pd.api.types.is_datetime64_any_dtype(values.dtype)
        or (values.dtype == object and not all(_time_like(v) for v in values))
    ):
        return values  # not a time in any spelling: cuepipe.coercion refuses it with its own message
    if pd.api.types.is_timedelta64_dtype(values.dtype):
        out: list[int | None] = []
        for i, v in enumerate(values):
            out.append(None if is_missing(v) else _cell(v, column, where, first_row + i)[0])
        return pd.Series(pd.array(out, dtype="Int64"), index=values.index)
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        return values  # conform() converts numbers and names a bad one
    if pd.api.types.is_string_dtype(values.dtype) and values.dtype != object:
        # the common case, a CSV column of milliseconds: one vectorised check, no per-cell parsing
        text = values.dropna()
        if bool(text.str.fullmatch(r"\s*\d+\s*").all()):
            return values
    parsed: list[tuple[int, int, str]] = []
    result: list[int | None] = []
    for i, v in enumerate(values):
        if is_missing(v) or (isinstance(v, str) and not v.strip()):
            result.append(None)
            continue
        ms, style = _cell(v, column, where, first_row + i)
        parsed.append((i, ms, style))
        result.append(ms)
    explicit = [p for p in parsed if p[2] in ("timecode", "units", "timedelta")]
    if explicit:
        for i, _ms, style in parsed:
            if style in ("ms", "number"):
                j = explicit[0][0]
                raise AmbiguousTimeError(
                    f"{where}: column {column!r}, row {first_row + i}: {values.iloc[i]!r} is a bare number in a "
                    f"column of timecodes or durations (row {first_row + j}: {values.iloc[j]!r}); it could be "
                    "seconds or milliseconds: write a unit ('90s', '90000ms') or a timecode ('00:01:30')"
                )
    return pd.Series(pd.array(result, dtype="Int64"), index=values.index)


def _cell(value: object, column: str, where: str, row: int) -> tuple[int, str]:
    try:
        return time_value_to_ms(value)
    except (TypeError, ValueError) as exc:
        cls = AmbiguousTimeError if isinstance(exc, AmbiguousTimeError) else ValueError
        raise cls(f"{where}: column {column!r}, row {row}: {exc}") from None


# ------------------------------------------------------------------------------------------------
# renaming and defaults
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TypePreset:
    """What ``type="chapter"`` (or any type name) fills into rows that leave it out."""

    name: str
    values: Mapping[str, Any]
    doc: str = ""


def type_presets() -> dict[str, TypePreset]:
    """``--type`` names: the cue point types (API value or short name) plus Kaltura's chapter/slide
    conventions (see :mod:`cuepipe.formats.conventions`)."""
    thumb = voc.CuePointType.THUMB.value
    presets = {
        "chapter": TypePreset(
            "chapter",
            {"cuePointType": thumb, "subType": int(voc.ThumbCuePointSubType.CHAPTER), "description": ""},
            "thumb cue point of sub-type CHAPTER (2), as the Kaltura player and KMC show chapters",
        ),
        "slide": TypePreset(
            "slide",
            {"cuePointType": thumb, "subType": int(voc.ThumbCuePointSubType.SLIDE), "description": ""},
            "thumb cue point of sub-type SLIDE (1)",
        ),
        "chapter-annotation": TypePreset(
            "chapter-annotation",
            {"cuePointType": voc.CuePointType.ANNOTATION.value, "tags": CHAPTER_TAG},
            "annotation tagged 'chaptering', the older player chapters module's convention",
        ),
    }
    for info in voc.XML_TYPES:
        preset = TypePreset(info.api_type.value, {"cuePointType": info.api_type.value}, info.doc)
        presets.setdefault(info.name, preset)
        presets.setdefault(info.api_type.value, preset)
    return presets


def resolve_type(name: str) -> TypePreset:
    presets = type_presets()
    if name in presets:
        return presets[name]
    lowered = {k.lower(): v for k, v in presets.items()}
    if name.lower() in lowered:
        return lowered[name.lower()]
    raise ValueError(f"unknown cue point type {name!r}; use one of: {', '.join(sorted(presets))}")


def parse_column_map(text: str) -> dict[str, str]:
    """``entry_id=entryId,timecode=startTime`` -> ``{"entry_id": "entryId", "timecode": "startTime"}``."""
    mapping: dict[str, str] = {}
    for piece in text.split(","):
        if not piece.strip():
            continue
        source, sep, target = piece.partition("=")
        if not sep or not source.strip() or not target.strip():
            raise ValueError(f"--columns takes SOURCE=TARGET pairs separated by commas, not {piece!r}")
        if source.strip() in mapping:
            raise ValueError(f"--columns names the column {source.strip()!r} twice")
        mapping[source.strip()] = target.strip()
    return mapping


@dataclass(frozen=True)
class TableOptions:
    """How to read a table people wrote: renames, then defaults for what the file leaves out.

    ``columns`` maps the file's column names to cuepipe's (``{"timecode": "startTime"}``); ``type``
    is a cue point type or a convention (``"chapter"``, ``"slide"``, ``"chapter-annotation"``,
    ``"annotation"``, ``"thumbCuePoint.Thumb"``, ...); ``entry`` an entry id; ``defaults`` any other
    column values. Defaults fill missing cells and absent columns; they never overwrite a value.
    """

    columns: Mapping[str, str] = field(default_factory=dict)
    type: str | None = None
    entry: str | None = None
    defaults: Mapping[str, Any] = field(default_factory=dict)
    duration: int | None = None  # media length: the end of a last chapter annotation without one

    @property
    def active(self) -> bool:
        return bool(self.columns or self.type or self.entry or self.defaults or self.duration is not None)

    def finish(self, df: pd.DataFrame, where: str = "input") -> tuple[pd.DataFrame, list[str]]:
        """After the columns are typed: give chapter annotations without an end (the ingest format
        requires one) the next chapter's start on the same entry, the last one ``duration``.
        Returns the frame and notes saying what was derived."""
        return derive_chapter_ends(df, duration=self.duration, where=where)

    def fill_values(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        if self.type is not None:
            values.update(resolve_type(self.type).values)
        if self.entry is not None:
            values["entryId"] = self.entry
        values.update(self.defaults)
        return values

    def apply(self, df: pd.DataFrame, where: str = "input") -> pd.DataFrame:
        """Rename and fill ``df`` (a raw table, before :func:`cuepipe.frames.conform`)."""
        if not self.active:
            return df
        missing = [c for c in self.columns if c not in df.columns]
        if missing:
            raise ValueError(
                f"{where}: --columns names {', '.join(repr(c) for c in missing)}, not a column of the file "
                f"(its columns: {', '.join(map(str, df.columns))})"
            )
        targets = list(self.columns.values())
        doubled = {t for t in targets if targets.count(t) > 1}
        clash = {t for s, t in self.columns.items() if t in df.columns and t not in self.columns and t != s}
        if doubled or clash:
            raise ValueError(f"{where}: --columns would give two columns the name {sorted(doubled | clash)[0]!r}")
        out = df.rename(columns=dict(self.columns))
        for column, value in self.fill_values().items():
            if column not in out.columns:
                out[column] = pd.Series([value] * len(out), index=out.index, dtype=object)
            else:
                s = out[column].astype(object)
                empty = s.map(lambda v: is_missing(v) or (isinstance(v, str) and v == ""))
                if bool(empty.any()):
                    out[column] = s.where(~empty, value)
        return out


def options_from(
    *,
    columns: Mapping[str, str] | str | None = None,
    type: str | None = None,
    entry: str | None = None,
    defaults: Mapping[str, Any] | None = None,
    duration: Any = None,
) -> TableOptions:
    """Keyword options (as the readers and writers take them) -> :class:`TableOptions`."""
    mapping = parse_column_map(columns) if isinstance(columns, str) else dict(columns or {})
    if type is not None:
        resolve_type(type)  # fail early on a misspelt type
    length = None if duration is None else time_value_to_ms(duration)[0]
    return TableOptions(columns=mapping, type=type, entry=entry, defaults=dict(defaults or {}), duration=length)


def derive_chapter_ends(
    df: pd.DataFrame, *, duration: int | None, where: str = "input"
) -> tuple[pd.DataFrame, list[str]]:
    """Chapter annotations (tagged ``chaptering``) without ``endTime`` end where the next chapter of
    their entry starts; the last at ``duration``, else an error naming the row."""
    if len(df) == 0 or "endTime" not in df.columns:
        return df, []
    is_chapter = (df["cuePointType"] == voc.CuePointType.ANNOTATION.value) & df["tags"].fillna("").map(
        lambda t: CHAPTER_TAG in str(t).split(",")
    )
    todo = is_chapter & df["endTime"].isna() & df["startTime"].notna()
    if not bool(todo.any()):
        return df, []
    out = df.copy()
    derived = 0
    for _, group in df[is_chapter].groupby(df["entryId"].fillna(""), sort=False):
        starts = group["startTime"].sort_values(kind="stable")
        row: Any  # conform()ed frames have a 0..n-1 index: labels are row numbers
        for row, start in starts.items():
            if not bool(todo.loc[row]):
                continue
            later = starts[starts > start]
            end = int(later.iloc[0]) if len(later) else duration
            if end is None:
                raise ValueError(
                    f"{where}: row {row}: the last chapter of entry {df.loc[row, 'entryId']!r} has no end time, "
                    "and annotations need one: give the media's length (--duration / duration=) or an endTime column"
                )
            if end < int(start):
                raise ValueError(f"{where}: row {row}: the chapter starts after the duration ({end} ms)")
            out.loc[row, "endTime"] = end
            derived += 1
    return out, [
        f"{derived} chapter end time(s) derived from the next chapter's start"
        + (" or the duration" if duration is not None else "")
    ]


Shaper = Callable[[pd.DataFrame], pd.DataFrame]


# ------------------------------------------------------------------------------------------------
# the public face: read a spreadsheet, or shape a DataFrame, with the options above
# ------------------------------------------------------------------------------------------------

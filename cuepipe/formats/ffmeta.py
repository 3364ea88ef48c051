"""FFmpeg's metadata file (``;FFMETADATA1``) with chapters, for
``ffmpeg -i video.mp4 -i chapters.ffmeta -map_metadata 1 -codec copy out.mp4``.

Each chapter becomes a ``[CHAPTER]`` section with ``TIMEBASE=1/1000`` (so times stay exact
milliseconds), ``START``, ``END`` and ``title``. FFmpeg needs an end: a chapter without one ends
where the next begins, the last at ``duration`` (counted in the report as derived). The entry id
goes into a comment line (``; cuepipe entryId 0_abc``) that FFmpeg ignores and cuepipe reads back.
Special characters (``=``, ``;``, ``#``, ``\\``, line breaks) are escaped with a backslash as FFmpeg
expects. Titles only: every other field is counted as lost.

No library writes this format; it is a few lines of ``key=value`` text, written and read here and
tested against the ``ffmpeg`` binary itself.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any

import pandas as pd

from ..tabular import TableOptions, time_value_to_ms
from . import _common as c
from .conventions import DEFAULT, Conventions

HEADER = ";FFMETADATA1"
_ENTRY = "; cuepipe entryId "
_SPECIAL = re.compile(r"([=;#\\\n])")


def escape(value: str) -> str:
    return _SPECIAL.sub(r"\\\1", value.replace("\r\n", "\n").replace("\r", "\n"))


def write_ffmeta(
    data: c.Data,
    dest: c.Dest = None,
    *,
    duration: Any = None,
    conventions: Conventions | None = None,
    strict: bool = False,
    options: TableOptions | None = None,
) -> c.LossReport:
    """Write the chapters as an FFMETADATA1 file; return the loss report."""
    conv = conventions or DEFAULT
    records = c.to_records(data, options)
    report = c.LossReport("FFmpeg metadata")
    entry = c.single_entry(records, "FFmpeg metadata")
    chapters = c.select_chapters(records, report, conv)
    c.derive_ends(chapters, report, duration=None if duration is None else time_value_to_ms(duration)[0], fmt="FFmpeg")
    lines = [HEADER]
    entry_ok = entry is not None and entry == entry.strip() and "\n" not in entry and "\r" not in entry
    if entry is not None and entry_ok:
        lines.append(_ENTRY + entry)
    for ch in chapters:
        assert ch.end is not None
        c.account_chapter(report, ch, conv, end=not ch.end_derived, entry=entry_ok)
        if "\r" in ch.title:
            report.lose(ch.record, ch.index, [conv.title_field(ch.record)])
        lines += ["", "[CHAPTER]", "TIMEBASE=1/1000", f"START={ch.start}", f"END={ch.end}", f"title={escape(ch.title)}"]
    report.written = len(chapters)
    return c.finish(report, ("\n".join(lines) + "\n").encode("utf-8"), dest, strict=strict)


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Lines with backslash-continued line breaks joined, keeping escapes for :func:`_split`."""
    out: list[tuple[int, str]] = []
    buf, start_no, escaped = "", 1, False
    for no, raw in enumerate(text.split("\n"), 1):
        if not escaped:
            buf, start_no = raw, no
        else:
            buf += "\n" + raw
        # a line ending in an odd number of backslashes continues on the next
        trailing = len(raw) - len(raw.rstrip("\\"))
        escaped = trailing % 2 == 1
        if not escaped:
            out.append((start_no, buf))
    if escaped:
        out.append((start_no, buf))
    return out


def _split(line: str) -> tuple[str, str] | None:
    key: list[str] = []
    value: list[str] = []
    escaped = seen_eq = False
    for ch in line:
        if escaped:
            (value if seen_eq else key).append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == "=" and not seen_eq:
            seen_eq = True
        else:
            (value if seen_eq else key).append(ch)
    return ("".join(key), "".join(value)) if seen_eq else None


def read_ffmeta(source: c.Source, *, entry: str | None = None, conventions: Conventions | None = None) -> pd.DataFrame:
    """Read the chapters of an FFMETADATA1 file (any ``TIMEBASE``) into cue points."""
    conv = conventions or DEFAULT
    text = c.read_source(source).replace("\r\n", "\n")
    if not text.startswith(HEADER):
        raise c.FormatReadError(f"not an FFmpeg metadata file: the first line must be {HEADER}")
    file_entry = None
    chapters: list[dict[str, str]] = []
    section: dict[str, str] | None = None
    for no, line in _logical_lines(text)[1:]:
        if line.startswith(_ENTRY):
            file_entry = line[len(_ENTRY) :].strip()
            continue
        if not line.strip() or line.lstrip().startswith((";", "#")):
            continue
        if line.startswith("["):
            section = {"#line": str(no)} if line.strip() == "[CHAPTER]" else None
            if section is not None:
                chapters.append(section)
            continue
        kv = _split(line)
        if kv is None:
            raise c.FormatReadError(f"line {no}: expected key=value, got {line[:60]!r}")
        if section is not None:
            section[kv[0]] = kv[1]
    records = []
    for ch in chapters:
        where = f"line {ch['#line']}"
        try:
            base = Fraction(ch.get("TIMEBASE", "1/1000"))
            start = _to_ms(int(ch["START"]), base, where)
            end = _to_ms(int(ch["END"]), base, where) if "END" in ch else None
        except (KeyError, ValueError, ZeroDivisionError) as exc:
            raise c.FormatReadError(
                f"{where}: a chapter needs integer START/END and a TIMEBASE like 1/1000 ({exc})"
            ) from None
        records.append(
            conv.chapter_record(
                start=start, end=end, title=ch.get("title", ""), entry=entry if entry is not None else file_entry
            )
        )
    return c.records_frame(records)


def _to_ms(ticks: int, base: Fraction, where: str) -> int:
    ms = ticks * base * 1000
    if ms.denominator != 1:
        raise c.FormatReadError(f"{where}: {ticks} x {base} s is not a whole number of milliseconds")
    if ms < 0:
        raise c.FormatReadError(f"{where}: negative time")
    return int(ms)

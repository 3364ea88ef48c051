"""WebVTT: chapter tracks (``kind="chapters"``) and metadata tracks (``kind="metadata"``).

A chapter track holds the chapters (see :mod:`.conventions`): one cue per chapter, its title as
the cue text, its system name as the cue identifier, and the entry id in a ``NOTE`` block that
cuepipe reads back (players ignore notes). A chapter without an end time ends where the next one
starts (the last at ``duration``); the report counts those derived ends.

A metadata track carries every cue point losslessly: each cue's text is the record as one line of
JSON (``<``, ``>`` and ``&`` escaped as ``\\u003c`` etc., so no WebVTT parser can mistake it for
markup or a cue timing). Cues are ordered by start time as WebVTT requires; when that changes
the input order, each payload carries its position (``"#"``) and reading restores the order.

Reading and writing go through ``webvtt-py`` (the ``formats`` extra).
"""

from __future__ import annotations

import json
from typing import Any, Literal

import pandas as pd

from ..errors import CuePointValueError
from ..tabular import TableOptions, parse_time_text
from . import _common as c
from .conventions import DEFAULT, Conventions

Kind = Literal["chapters", "metadata"]
_ENTRY_NOTE = "cuepipe entryId "
_ORDER_KEY = "#"


def _webvtt() -> Any:
    try:
        import webvtt
    except ImportError:  # pragma: no cover - exercised only without the extra
        raise c.MissingExtraError("WebVTT needs the webvtt-py package: pip install 'cuepipe[formats]'") from None
    return webvtt


def format_timestamp(ms: int) -> str:
    """Milliseconds -> WebVTT's ``HH:MM:SS.mmm`` (hours may exceed 99)."""
    s, frac = divmod(ms, 1000)
    return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}.{frac:03d}"


def _escape_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _unescape_text(text: str) -> str:
    import html

    return html.unescape(text)


def _payload(record: dict[str, Any], order: int | None) -> str:
    body = dict(record)
    if order is not None:
        body[_ORDER_KEY] = order
    # allow_nan: a quiz weight may be infinite (XML writes INF); Python's JSON reads Infinity back
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    # <, > and & could read as markup; the others are line breaks to Python's splitlines
    for ch in "&<>\x85\u2028\u2029":
        text = text.replace(ch, f"\\u{ord(ch):04x}")
    return text


def write_vtt(
    data: c.Data,
    dest: c.Dest = None,
    *,
    kind: Kind = "chapters",
    duration: Any = None,
    conventions: Conventions | None = None,
    strict: bool = False,
    options: TableOptions | None = None,
) -> c.LossReport:
    """Write cue points as a WebVTT chapter track or metadata track; return the loss report.

    ``dest``: a path (written atomically) or None (the bytes are in ``report.output``).
    ``duration``: the media's length (ms, a timecode or a timedelta), the end of a last chapter
    that has none. ``strict=True`` raises :class:`FormatLossError` instead of losing anything.
    """
    webvtt = _webvtt()
    records = c.to_records(data, options)
    if kind == "metadata":
        report = c.LossReport("WebVTT metadata")
        order = sorted(range(len(records)), key=lambda i: records[i]["startTime"])
        reordered = order != list(range(len(records)))
        captions = []
        for i in order:
            rec = records[i]
            start = rec["startTime"]
            end = rec.get("endTime")
            cue_end = end if end is not None and end > start else start + 1
            captions.append(
                webvtt.Caption(
                    format_timestamp(start), format_timestamp(cue_end), _payload(rec, i if reordered else None)
                )
            )
        report.written = len(records)
        if reordered:
            report.notes.append("cues ordered by start time; each payload keeps its input position")
        vtt = webvtt.WebVTT(captions=captions)
    elif kind == "chapters":
        report = c.LossReport("WebVTT chapters")
        entry = c.single_entry(records, "WebVTT chapter")
        chapters = c.select_chapters(records, report, conventions)
        c.derive_ends(chapters, report, duration=_duration(duration), fmt="a WebVTT cue")
        entry_ok = entry is not None and entry == entry.strip() and not any(b in entry for b in ("-->", "\n", "\r"))
        captions = []
        for ch in chapters:
            ident = ch.record.get("systemName")
            if ident is not None and ("-->" in ident or "\n" in ident or "\r" in ident or ident == ""):
                ident = None  # a cue identifier cannot hold these: counted as lost below
            assert ch.end is not None
            end = ch.end if ch.end > ch.start else ch.start + 1
            title = ch.title.replace("\r\n", "\n").replace("\r", "\n")
            lines = [_escape_text(line) for line in title.split("\n") if line.strip()] or [""]
            extra = ["systemName"] if ident is not None else []
            c.account_chapter(
                report, ch, conventions, end=not ch.end_derived and end == ch.end, entry=entry_ok, extra=extra
            )
            if "\n".join(lines) != _escape_text(ch.title):
                report.lose(ch.record, ch.index, [(conventions or DEFAULT).title_field(ch.record)])
            captions.append(webvtt.Caption(format_timestamp(ch.start), format_timestamp(end), lines, identifier=ident))
        report.written = len(chapters)
        comments = [_ENTRY_NOTE + entry] if entry is not None and entry_ok else []
        vtt = webvtt.WebVTT(captions=captions, header_comments=comments)
    else:
        raise ValueError(f"kind must be 'chapters' or 'metadata', not {kind!r}")
    return c.finish(report, vtt.content.encode("utf-8"), dest, strict=strict)


def _duration(value: Any) -> int | None:
    if value is None:
        return None
    from ..tabular import time_value_to_ms

    return time_value_to_ms(value)[0]


def _ms(stamp: str, where: str) -> int:
    try:
        return parse_time_text(stamp)[0]
    except ValueError as exc:
        raise c.FormatReadError(f"{where}: bad timestamp: {exc}") from None


def read_vtt(
    source: c.Source,
    *,
    kind: Kind | None = None,
    entry: str | None = None,
    conventions: Conventions | None = None,
) -> pd.DataFrame:
    """Read a WebVTT file into a DataFrame of cue points.

    ``kind`` None decides by content: cues whose text is a cuepipe JSON payload are a metadata
    track, anything else a chapter track (each cue a chapter, created as the conventions say).
    ``entry`` supplies the entry id where the file has none.
    """
    webvtt = _webvtt()
    text = c.read_source(source)
    try:
        vtt = webvtt.WebVTT.from_string(text)
    except Exception as exc:  # webvtt-py raises MalformedFileError and friends
        raise c.FormatReadError(f"not a WebVTT file: {exc}") from None
    cues = list(vtt.captions)
    if kind is None:
        kind = "metadata" if cues and all(_is_payload(cue.raw_text) for cue in cues) else "chapters"
    records: list[dict[str, Any]] = []
    if kind == "metadata":
        ordered: list[tuple[int, dict[str, Any]]] = []
        for n, cue in enumerate(cues):
            try:
                rec = json.loads(cue.raw_text)
            except json.JSONDecodeError as exc:
                raise c.FormatReadError(f"cue {n + 1}: not a JSON payload ({exc})") from None
            if not isinstance(rec, dict):
                raise c.FormatReadError(f"cue {n + 1}: the payload is not a JSON object")
            pos = rec.pop(_ORDER_KEY, n)
            if entry is not None and "entryId" not in rec:
                rec["entryId"] = entry
            ordered.append((pos, rec))
        records = [r for _, r in sorted(ordered, key=lambda x: x[0])]
    else:
        file_entry = next(
            (h[len(_ENTRY_NOTE) :].strip() for h in vtt.header_comments if h.startswith(_ENTRY_NOTE)), None
        )
        conv = conventions or DEFAULT
        for n, cue in enumerate(cues):
            start = _ms(cue.start, f"cue {n + 1}")
            end = _ms(cue.end, f"cue {n + 1}")
            if end < start:
                raise c.FormatReadError(f"cue {n + 1}: ends before it starts")
            records.append(
                conv.chapter_record(
                    start=start,
                    end=end,
                    title=_unescape_text(cue.raw_text),
                    entry=entry if entry is not None else file_entry,
                    system_name=cue.identifier or None,
                )
            )
    try:
        return c.records_frame(records)
    except (KeyError, TypeError, ValueError) as exc:
        raise c.FormatReadError(f"the WebVTT payloads are not cue points: {exc}") from None


def _is_payload(text: str) -> bool:
    t = text.strip()
    if not (t.startswith("{") and t.endswith("}")):
        return False
    try:
        rec = json.loads(t)
    except json.JSONDecodeError:
        return False
    return isinstance(rec, dict) and "cuePointType" in rec


__all__ = ["CuePointValueError", "read_vtt", "write_vtt"]

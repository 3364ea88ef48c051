"""What every format module shares: inputs, outputs, loss reports, derived chapter end times."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .. import frames
from .. import vocabulary as voc
from .._files import temp_beside
from ..errors import CuepipeError, CuePointValueError
from ..tabular import TableOptions
from ..values import is_missing
from .conventions import DEFAULT, THUMB, Conventions, Role

Data = pd.DataFrame | Iterable[Mapping[str, Any]]
Source = str | os.PathLike[str] | bytes | bytearray | memoryview
Dest = str | os.PathLike[str] | None

RECORD = "(cue point)"  # the loss report's field for whole cue points a format has no place for


class FormatLossError(CuePointValueError):
    """``strict=True``: the target format cannot carry a value; names the first record and field."""


class FormatReadError(CuepipeError, ValueError):
    """A file of another format could not be read; names the line or item."""


class MissingExtraError(CuepipeError, ImportError):
    """A format's library is not installed (``pip install 'cuepipe[formats]'``)."""


@dataclass
class LossReport:
    """What a write could not carry, counted per cue point type and field.

    ``lost[(cuePointType, field)]`` counts values the file does not hold; the field ``"(cue point)"``
    counts cue points the format has no place for at all (their values are counted too).
    ``derived`` counts values cuepipe had to make up (a chapter's end from the next chapter's
    start); ``notes`` says what was derived or fixed in words; ``violations`` lists rules of the
    target (YouTube's) the data breaks. ``output`` holds the bytes when no path was given.
    """

    format: str
    written: int = 0
    lost: Counter[tuple[str, str]] = field(default_factory=Counter)
    first: dict[tuple[str, str], int] = field(default_factory=dict)
    derived: Counter[tuple[str, str]] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    output: bytes | None = None
    _seen: set[tuple[int, str]] = field(default_factory=set, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        """True when every value of every cue point is in the file."""
        return not self.lost

    @property
    def dropped(self) -> int:
        """Cue points not written at all."""
        return sum(n for (_, f), n in self.lost.items() if f == RECORD)

    def lose(self, record: Mapping[str, Any], index: int, fields: Iterable[str]) -> None:
        kind = str(record.get("cuePointType", "?"))
        for f in fields:
            if (index, f) in self._seen:
                continue  # one value is lost once, however many reasons there are
            self._seen.add((index, f))
            key = (kind, f)
            self.lost[key] += 1
            self.first[key] = min(self.first.get(key, index), index)

    def drop(self, record: Mapping[str, Any], index: int) -> None:
        """The whole cue point has no place in the format: count it and each of its values."""
        self.lose(record, index, [RECORD, *(k for k in record if k != "cuePointType")])

    def derive(self, record: Mapping[str, Any], field_name: str) -> None:
        self.derived[(str(record.get("cuePointType", "?")), field_name)] += 1

    def rows(self) -> list[dict[str, Any]]:
        """One dict per (type, field): ``cuePointType``, ``field``, ``lost``, ``first_record``."""
        return [
            {"cuePointType": t, "field": f, "lost": n, "first_record": self.first[(t, f)]}
            for (t, f), n in sorted(self.lost.items(), key=lambda kv: (kv[0][0], kv[0][1] != RECORD, kv[0][1]))
        ]

    def first_loss(self) -> tuple[int, str, str] | None:
        if not self.lost:
            return None
        (t, f), i = min(self.first.items(), key=lambda kv: (kv[1], kv[0][1] != RECORD, kv[0][1]))
        return i, t, f

    def __str__(self) -> str:
        lines = [f"{self.format}: wrote {self.written} cue points"]
        if self.lost:
            lines.append(f"not carried ({sum(self.lost.values())} values, {self.dropped} whole cue points):")
            for r in self.rows():
                lines.append(f"  {r['cuePointType']} {r['field']}: {r['lost']} (first: record {r['first_record']})")
        else:
            lines.append("nothing lost")
        for (t, f), n in sorted(self.derived.items()):
            lines.append(f"derived: {t} {f}: {n}")
        lines.extend(f"note: {n}" for n in self.notes)
        lines.extend(f"rule broken: {v}" for v in self.violations)
        return "\n".join(lines)

    def raise_if_strict(self, strict: bool) -> None:
        if not strict:
            return
        first = self.first_loss()
        if first is not None:
            i, t, f = first
            what = "the cue point" if f == RECORD else "this value"
            raise FormatLossError(
                f"the {self.format} format cannot carry {what} ({t}; strict=True, "
                f"{sum(self.lost.values())} values would be lost in all)",
                record=i,
                field=None if f == RECORD else f,
            )


# ------------------------------------------------------------------------------------------------
# inputs
# ------------------------------------------------------------------------------------------------


def to_records(data: Data, options: TableOptions | None = None) -> list[dict[str, Any]]:
    """Records or a DataFrame (spreadsheet-shaped ones too, through ``options``) -> typed records.

    Values pass through :func:`cuepipe.frames.conform`, so timecodes and timedeltas in time columns
    and every column check behave as in the tabular readers; missing values are left out.
    """
    if isinstance(data, pd.DataFrame):
        df = data
    elif isinstance(data, Mapping | str | bytes):
        raise TypeError("expected many cue points: a DataFrame or a list of dicts")
    else:
        rows = list(data)
        for i, r in enumerate(rows):
            if not isinstance(r, Mapping):
                raise CuePointValueError(f"expected a dict, got {type(r).__name__}", record=i)
        df = pd.DataFrame.from_records(rows) if rows else frames.empty_frame()
    if options is not None:
        df = options.apply(df)
    if len(df) == 0 and "cuePointType" not in df.columns:
        df = frames.empty_frame()
    df = frames.conform(df)
    out = list(frames.frame_to_records(df))
    for i, rec in enumerate(out):
        if "cuePointType" not in rec:
            raise CuePointValueError("has no cuePointType", record=i, field="cuePointType")
        try:  # short names ("thumb") and element names mean the API type, as in write_xml
            rec["cuePointType"] = voc.type_info(rec["cuePointType"]).api_type.value
        except KeyError as exc:
            raise CuePointValueError(str(exc.args[0]), record=i, field="cuePointType") from None
        if "startTime" not in rec:
            raise CuePointValueError("has no start time", record=i, field="startTime")
        if rec["startTime"] < 0:
            raise CuePointValueError("start time is negative", record=i, field="startTime")
    return out


def read_source(source: Source) -> str:
    """A path, bytes, or text with a line break -> text (UTF-8, a BOM dropped)."""
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
    elif isinstance(source, str) and ("\n" in source or "\r" in source):
        return source.lstrip("\ufeff")
    elif isinstance(source, str | os.PathLike):
        path = os.fspath(source)
        if not os.path.isfile(path):
            raise FileNotFoundError(
                f"no such file: {path!r} (pass a file's content as bytes, or as text with a line break)"
            )
        with open(path, "rb") as f:
            data = f.read()
    else:
        raise TypeError(f"expected a path, bytes or text, not {type(source).__name__}")
    try:
        return data.decode("utf-8").lstrip("\ufeff")
    except UnicodeDecodeError as exc:
        raise FormatReadError(
            f"not UTF-8 text (byte {data[exc.start : exc.start + 1]!r} at offset {exc.start})"
        ) from None


def finish(report: LossReport, payload: bytes, dest: Dest, *, strict: bool) -> LossReport:
    """Raise on loss when strict (before any file appears), then write atomically or keep the bytes."""
    report.raise_if_strict(strict)
    if dest is None:
        report.output = payload
        return report
    path = os.fspath(dest)
    tmp = temp_beside(path)
    try:
        with open(tmp, "wb") as f:
            f.write(payload)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return report


def records_frame(records: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Records read from a format -> the typed DataFrame every cuepipe reader returns."""
    return frames.records_to_frame(list(records)) if records else frames.empty_frame()


def single_entry(records: Sequence[Mapping[str, Any]], fmt: str) -> str | None:
    """Chapter files describe one media file: refuse records of several entries."""
    entries = {r.get("entryId") for r in records if not is_missing(r.get("entryId"))}
    if len(entries) > 1:
        shown = ", ".join(sorted(str(e) for e in entries)[:3])
        raise CuePointValueError(
            f"a {fmt} file describes one media file, but the cue points belong to {len(entries)} entries "
            f"({shown}...); write one file per entry (e.g. df[df.entryId == '...'])"
        )
    return next(iter(entries)) if entries else None


@dataclass
class Chapter:
    """One chapter (or slide) as chapter formats see it: times in ms, the record and its input index."""

    index: int
    record: dict[str, Any]
    role: Role
    start: int
    end: int | None
    title: str
    end_derived: bool = False


def select_chapters(
    records: Sequence[dict[str, Any]],
    report: LossReport,
    conventions: Conventions | None,
    *,
    roles: tuple[Role, ...] = ("chapter",),
) -> list[Chapter]:
    """Records of the given roles, sorted by start; every other record is counted as dropped."""
    conv = conventions or DEFAULT
    chapters: list[Chapter] = []
    for i, rec in enumerate(records):
        role = conv.role(rec)
        if role is None or role not in roles:
            report.drop(rec, i)
            continue
        title = conv.title(rec) or ""
        end = rec.get("endTime")
        chapters.append(Chapter(i, rec, role, int(rec["startTime"]), None if end is None else int(end), title))
    chapters.sort(key=lambda c: (c.start, c.index))
    return chapters


def derive_ends(chapters: list[Chapter], report: LossReport, *, duration: int | None, fmt: str) -> None:
    """Give every chapter an end: its own, else the next chapter's start, else the media duration."""
    derived = 0
    for k, ch in enumerate(chapters):
        if ch.end is not None:
            if ch.end < ch.start:
                raise CuePointValueError(f"ends ({ch.end} ms) before it starts ({ch.start} ms)", record=ch.index)
            continue
        nxt = next((c.start for c in chapters[k + 1 :] if c.start > ch.start), None)
        if nxt is None:
            nxt = duration
        if nxt is None:
            raise CuePointValueError(
                f"the last chapter has no end time, and {fmt} needs one: give duration= (CLI: --duration) "
                "with the media's length, or an endTime",
                record=ch.index,
                field="endTime",
            )
        if nxt < ch.start:
            raise CuePointValueError(f"starts after the media's duration ({nxt} ms)", record=ch.index)
        ch.end = nxt
        ch.end_derived = True
        report.derive(ch.record, "endTime")
        derived += 1
    if derived:
        report.notes.append(
            f"{derived} chapter end time(s) derived from the next chapter's start"
            + (" (the last from the duration)" if duration is not None else "")
        )


def lose_uncarried(report: LossReport, chapter: Chapter, carried: set[str]) -> None:
    """Count every value of a written record that the format has no place for."""
    rec = chapter.record
    report.lose(rec, chapter.index, [k for k in rec if k not in carried and k != "cuePointType"])


def entry_option(entry: str | None, options: TableOptions | None) -> str | None:
    return entry if entry is not None else (options.entry if options is not None else None)


def chapter_carried(ch: Chapter, back: str, conventions: Conventions, *, end: bool, entry: bool) -> set[str]:
    """Fields of a chapter record that reading the file back (as type ``back``) restores: start, title,
    the role marker (sub-type and an empty description for thumbs, the chapter tag alone for
    annotations), the end where the format has one, the entry where the file records it."""
    rec = ch.record
    carried = {"startTime", conventions.title_field(rec)}
    if rec.get("cuePointType") != back:
        return carried | ({"entryId"} if entry else set())  # the type changes: count its own fields lost
    if back == THUMB:
        carried.add("subType")
        if rec.get("description") == "":
            carried.add("description")
    else:
        if conventions.chapter_annotation_tags and rec.get("tags") == conventions.chapter_annotation_tags[0]:
            carried.add("tags")
        if end:
            carried.add("endTime")
    if entry:
        carried.add("entryId")
    return carried


def account_chapter(
    report: LossReport,
    ch: Chapter,
    conventions: Conventions | None,
    *,
    end: bool,
    entry: bool,
    extra: Iterable[str] = (),
) -> None:
    """Count what a chapter format loses of one written chapter, the type included: reading the
    file back creates the type the conventions say (``read_chapters_as``)."""
    conv = conventions or DEFAULT
    back = (
        voc.CuePointType.ANNOTATION.value if (ch.role == "chapter" and conv.read_chapters_as == "annotation") else THUMB
    )
    # readers give thumb cue points no end time: the ingest format has no place for one
    carried = chapter_carried(ch, back, conv, end=end, entry=entry) | set(extra)
    lost = [k for k in ch.record if k not in carried and k != "cuePointType"]
    if ch.record.get("cuePointType") != back:
        lost.append("cuePointType")
    report.lose(ch.record, ch.index, lost)

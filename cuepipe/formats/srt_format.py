"""SRT (SubRip): annotations with text, through the ``srt`` package (the ``formats`` extra).

An SRT file holds numbered cues: start, end, text. cuepipe writes each annotation that has text
as one cue (an annotation without an end ends where the next begins, or at ``duration``) and
counts everything else as lost: other cue point types, and of annotations every field but the
times and the text (system names, tags, parents, custom metadata, the entry id). SRT cannot hold
a blank line inside a cue: such a text is written with the blank lines removed and counted as
lost. Reading creates annotations (``entry=`` supplies the entry id).
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

import pandas as pd

from .. import vocabulary as voc
from ..tabular import TableOptions, time_value_to_ms
from . import _common as c

ANNOTATION = voc.CuePointType.ANNOTATION.value


def _srt() -> Any:
    try:
        import srt
    except ImportError:  # pragma: no cover
        raise c.MissingExtraError("SRT needs the srt package: pip install 'cuepipe[formats]'") from None
    return srt


def write_srt(
    data: c.Data,
    dest: c.Dest = None,
    *,
    duration: Any = None,
    strict: bool = False,
    options: TableOptions | None = None,
) -> c.LossReport:
    """Write the annotations that have text as SRT cues; return the loss report."""
    srt = _srt()
    records = c.to_records(data, options)
    report = c.LossReport("SRT")
    chosen: list[c.Chapter] = []
    for i, rec in enumerate(records):
        if rec.get("cuePointType") != ANNOTATION or not rec.get("text"):
            report.drop(rec, i)
            continue
        end = rec.get("endTime")
        chosen.append(c.Chapter(i, rec, "chapter", rec["startTime"], end, rec["text"]))
    chosen.sort(key=lambda ch: (ch.start, ch.index))
    c.derive_ends(chosen, report, duration=None if duration is None else time_value_to_ms(duration)[0], fmt="SRT")
    subtitles = []
    for n, ch in enumerate(chosen, 1):
        assert ch.end is not None
        text = ch.title.replace("\r\n", "\n").replace("\r", "\n")
        legal = srt.make_legal_content(text)
        lost = [k for k in ch.record if k not in ("cuePointType", "startTime", "endTime", "text")]
        if legal != text or ch.title != text:
            lost.append("text")
        report.lose(ch.record, ch.index, lost)
        subtitles.append(
            srt.Subtitle(n, _dt.timedelta(milliseconds=ch.start), _dt.timedelta(milliseconds=ch.end), legal)
        )
    report.written = len(chosen)
    return c.finish(report, srt.compose(subtitles, reindex=False).encode("utf-8"), dest, strict=strict)


def read_srt(source: c.Source, *, entry: str | None = None) -> pd.DataFrame:
    """Read an SRT file into annotations (``startTime``, ``endTime``, ``text``; ``entryId`` from ``entry``)."""
    srt = _srt()
    text = c.read_source(source)
    try:
        subtitles = list(srt.parse(text))
    except srt.SRTParseError as exc:
        raise c.FormatReadError(f"not an SRT file: {exc}") from None
    records = []
    for sub in subtitles:
        start = _ms(sub.start, sub.index)
        end = _ms(sub.end, sub.index)
        rec: dict[str, Any] = {"cuePointType": ANNOTATION, "startTime": start, "endTime": end, "text": sub.content}
        if entry is not None:
            rec["entryId"] = entry
        records.append(rec)
    return c.records_frame(records)


def _ms(value: _dt.timedelta, index: int) -> int:
    try:
        return time_value_to_ms(value)[0]
    except ValueError as exc:
        raise c.FormatReadError(f"cue {index}: {exc}") from None

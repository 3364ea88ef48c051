"""YouTube chapters: the lines of a video description, ``0:00 Intro``.

YouTube turns such lines into chapters only when they follow its rules: the first starts at
``0:00``, there are at least three, and each lasts at least 10 seconds. :func:`write_youtube`
checks them (``rules="report"``: listed in ``report.violations``; ``"error"``: raise;
``"fix"``: add an ``Intro`` chapter at 0:00 and merge chapters shorter than 10 s into the one
before, counting each merged chapter as lost). Fewer than three chapters cannot be fixed.

A description carries the start and the title of each chapter, nothing else: each chapter's end is
the next one's start, and every other field (system names, descriptions, the entry id, ...) is
counted as lost. Times are written ``M:SS`` (``H:MM:SS`` from an hour on); YouTube has no fractions
of a second, so a start with milliseconds is rounded down and counted as lost.
"""

from __future__ import annotations

import re
from typing import Any, Literal

import pandas as pd

from ..errors import CuePointValueError
from ..tabular import TableOptions, time_value_to_ms
from . import _common as c
from .conventions import DEFAULT, Conventions

Rules = Literal["report", "error", "fix"]
MIN_CHAPTERS = 3
MIN_LENGTH_MS = 10_000
_SEPARATORS = "-\u2013\u2014:|"
_LINE = re.compile(r"^\s*(?:[-*\u2022]\s*)?[\[(]?((?:\d+:)?\d{1,2}:\d{2})[\])]?\s*(?:[-\u2013\u2014:|]\s*)?(\S.*?)\s*$")


def format_youtube_time(ms: int) -> str:
    s = ms // 1000
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def check_rules(starts: list[int], duration: int | None) -> list[str]:
    """YouTube's chapter rules broken by chapters starting at ``starts`` (ms, sorted)."""
    problems = []
    if not starts or starts[0] != 0:
        problems.append(
            "the first chapter must start at 0:00"
            + (f" (it starts at {format_youtube_time(starts[0])})" if starts else "")
        )
    if len(starts) < MIN_CHAPTERS:
        problems.append(f"YouTube needs at least {MIN_CHAPTERS} chapters (there are {len(starts)})")
    ends = starts[1:] + ([duration] if duration is not None else [])
    for k, (a, b) in enumerate(zip(starts, ends, strict=False)):
        if b - a < MIN_LENGTH_MS:
            problems.append(
                f"chapter {k + 1} at {format_youtube_time(a)} lasts {(b - a) / 1000:g} s; YouTube needs at least 10 s"
            )
    return problems


def write_youtube(
    data: c.Data,
    dest: c.Dest = None,
    *,
    rules: Rules = "report",
    duration: Any = None,
    intro_title: str = "Intro",
    conventions: Conventions | None = None,
    strict: bool = False,
    options: TableOptions | None = None,
) -> c.LossReport:
    """Write the chapters as YouTube description lines; return the loss report (text in ``output``)."""
    if rules not in ("report", "error", "fix"):
        raise ValueError(f"rules must be 'report', 'error' or 'fix', not {rules!r}")
    conv = conventions or DEFAULT
    records = c.to_records(data, options)
    report = c.LossReport("YouTube chapters")
    c.single_entry(records, "YouTube description")
    chapters = c.select_chapters(records, report, conv)
    total = None if duration is None else time_value_to_ms(duration)[0]
    kept: list[c.Chapter] = []
    for ch in chapters:
        if not ch.title.split():
            report.drop(ch.record, ch.index)  # a line without a title is not a chapter to YouTube
        else:
            kept.append(ch)
    chapters = kept
    lines: list[tuple[int, str]] = []
    for k, ch in enumerate(chapters):
        implicit_end = chapters[k + 1].start if k + 1 < len(chapters) else total
        c.account_chapter(report, ch, conv, end=ch.end is not None and ch.end == implicit_end, entry=False)
        if ch.start % 1000:
            report.lose(ch.record, ch.index, ["startTime"])
        title = " ".join(ch.title.split())
        if title != ch.title or title[0] in _SEPARATORS:  # readers take a leading "-" or ":" as a separator
            report.lose(ch.record, ch.index, [conv.title_field(ch.record)])
        lines.append((ch.start // 1000 * 1000, title))
    if rules == "fix":
        lines = _fix(lines, chapters, report, total, intro_title)
    problems = check_rules([s for s, _ in lines], total)
    if problems and rules in ("error", "fix"):
        raise CuePointValueError("the chapters break YouTube's rules: " + "; ".join(problems))
    report.violations.extend(problems)
    report.written = len(lines)
    text = "".join(f"{format_youtube_time(s)} {t}\n" for s, t in lines)
    return c.finish(report, text.encode("utf-8"), dest, strict=strict)


def _fix(
    lines: list[tuple[int, str]], chapters: list[c.Chapter], report: c.LossReport, total: int | None, intro: str
) -> list[tuple[int, str]]:
    out = list(lines)
    owners: list[c.Chapter | None] = list(chapters)
    if not out or out[0][0] != 0:
        out.insert(0, (0, intro))
        owners.insert(0, None)
        report.notes.append(f"added an {intro!r} chapter at 0:00 (YouTube's first chapter starts there)")
    k = 1
    while k < len(out):
        if out[k][0] - out[k - 1][0] >= MIN_LENGTH_MS:
            k += 1
            continue
        if k == 1 and owners[0] is None:
            # the added intro would be too short: the first real chapter moves to 0:00 instead
            del out[0], owners[0]
            moved = owners[0]
            out[0] = (0, out[0][1])
            if moved is not None:
                report.lose(moved.record, moved.index, ["startTime"])
            report.notes.pop()
            report.notes.append(f"moved the first chapter {out[0][1]!r} to 0:00 (YouTube's first chapter starts there)")
            continue
        drop = 1 if k == 1 else k - 1  # a short first chapter absorbs the next; others merge into the one before
        victim = owners[drop]
        if victim is not None:
            report.drop(victim.record, victim.index)
        report.notes.append(f"merged the chapter {out[drop][1]!r} (less than 10 s) into its neighbour")
        del out[drop], owners[drop]
    if total is not None and len(out) > 1 and total - out[-1][0] < MIN_LENGTH_MS:
        victim = owners[-1]
        if victim is not None:
            report.drop(victim.record, victim.index)
        report.notes.append(f"merged the last chapter {out[-1][1]!r} (shorter than 10 s) into the one before")
        del out[-1]
    return out


def read_youtube(
    source: c.Source,
    *,
    entry: str | None = None,
    conventions: Conventions | None = None,
) -> pd.DataFrame:
    """Read chapter lines (``0:00 Intro``) from a description; other lines are ignored."""
    conv = conventions or DEFAULT
    text = c.read_source(source)
    parsed: list[tuple[int, str]] = []
    for line in text.splitlines():
        m = _LINE.match(line)
        if m is None:
            continue
        parsed.append((_seconds(m.group(1)), m.group(2)))
    records = []
    for k, (start, title) in enumerate(parsed):
        end = parsed[k + 1][0] if k + 1 < len(parsed) else None
        records.append(conv.chapter_record(start=start, end=end, title=title, entry=entry))
    if conv.read_chapters_as == "annotation" and records and "endTime" not in records[-1]:
        raise c.FormatReadError(
            "the last chapter has no end in a YouTube description, and annotations need one: "
            "read with the default conventions (thumb chapters) or add endTime afterwards"
        )
    return c.records_frame(records)


def _seconds(stamp: str) -> int:
    parts = [int(p) for p in stamp.split(":")]
    while len(parts) < 3:
        parts.insert(0, 0)
    h, m, s = parts
    if s >= 60 or (len(stamp.split(":")) == 3 and m >= 60):
        raise c.FormatReadError(f"{stamp!r} is not a valid time")
    return (h * 3600 + m * 60 + s) * 1000

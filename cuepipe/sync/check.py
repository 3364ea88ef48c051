"""``cuepipe.check``: what would surprise a user after a push, found per row before anything is sent.

Errors (a push would fail, or silently do something else than the table says):

* ``value``: a value the ingest format cannot carry (the writer's own message, with the field);
* ``end-before-start``: ``endTime`` earlier than ``startTime``;
* ``system-name``: the same ``systemName`` twice on one entry (the second row would update the first);
* ``entry`` (with a client): the entry does not exist for this partner.

Warnings (it goes through, but is probably not what was meant):

* ``duplicate``: the same cue point twice (type, entry, start time and text/title/question/code/name);
* ``chapter-overlap`` / ``chapter-duplicate``: chapters of one entry (annotations tagged
  ``chaptering``, thumb cue points of sub-type CHAPTER) that overlap or start at the same time;
* ``parent-later``: a child names a parent that comes later in the table (bulk XML resolves parents
  only among earlier rows; ``push`` and ``apply`` reorder, a hand-made upload does not);
* ``parent-missing``: the parent is not in the table (with a client: nor on the entry; then an error);
* ``past-end`` (with a client): a cue point starting or ending after the entry's duration.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from .. import vocabulary as voc
from ..errors import CuePointValueError
from ..values import is_missing
from ..xml import write_xml
from ._read import entry_durations, read_desired, read_server
from .plan import _text, _type
from .timemap import _fmt

if TYPE_CHECKING:
    from ..client import Client

Severity = Literal["error", "warning"]
CHAPTER_TAG = "chaptering"


@dataclass(frozen=True, slots=True)
class Issue:
    severity: Severity
    code: str
    message: str
    row: Hashable | None = None
    entry_id: str | None = None

    def __str__(self) -> str:
        where = ", ".join(x for x in (f"row {self.row}" if self.row is not None else "", self.entry_id or "") if x)
        return f"{self.severity}: {where + ': ' if where else ''}{self.message} [{self.code}]"


@dataclass
class CheckReport:
    """The issues of a table; ``ok`` when there is no error (warnings allowed)."""

    rows: int = 0
    issues: list[Issue] = field(default_factory=list)

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_frame(self) -> pd.DataFrame:
        data = [
            {"severity": i.severity, "code": i.code, "row": i.row, "entryId": i.entry_id, "message": i.message}
            for i in self.issues
        ]
        return pd.DataFrame(data, columns=["severity", "code", "row", "entryId", "message"])

    def __str__(self) -> str:
        lines = [str(i) for i in self.issues]
        lines.append(f"{self.rows} cue points checked: {len(self.errors)} error(s), {len(self.warnings)} warning(s)")
        return "\n".join(lines)


def _label(rec: Mapping[str, Any]) -> str | None:
    for key in ("text", "title", "question", "code", "name", "answerKey"):
        value = _text(rec.get(key))
        if value is not None:
            return value
    return None


def _int(value: Any) -> int | None:
    if is_missing(value) or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _is_chapter(rec: Mapping[str, Any], cue_type: str | None) -> bool:
    if cue_type == voc.CuePointType.ANNOTATION.value:
        tags = _text(rec.get("tags")) or ""
        return CHAPTER_TAG in [t.strip() for t in tags.split(",")]
    if cue_type == voc.CuePointType.THUMB.value:
        return _int(rec.get("subType")) == voc.ThumbCuePointSubType.CHAPTER
    return False


def check(desired: Any, client: Client | None = None) -> CheckReport:
    """Check a table (anything ``write_xml`` takes); with ``client`` also against the server's entries."""
    labels, records, _columns = read_desired(desired)
    report = CheckReport(rows=len(records))
    issues = report.issues
    _check_values(labels, records, issues)

    names: dict[tuple[str, str], Hashable] = {}
    name_position: dict[tuple[str, str], int] = {}
    same: dict[tuple[Any, ...], Hashable] = {}
    chapters: dict[str, list[tuple[int, int | None, Hashable, str]]] = defaultdict(list)
    for position, (row, rec) in enumerate(zip(labels, records, strict=True)):
        entry = _text(rec.get("entryId")) or ""
        name = _text(rec.get("systemName"))
        if name is not None:
            if (entry, name) in names:
                issues.append(
                    Issue(
                        "error",
                        "system-name",
                        f"systemName {name!r} is also on row {names[(entry, name)]}: this row would update that one",
                        row,
                        entry,
                    )
                )
            else:
                names[(entry, name)] = row
                name_position[(entry, name)] = position
    for position, (row, rec) in enumerate(zip(labels, records, strict=True)):
        entry = _text(rec.get("entryId")) or ""
        cue_type = _type(rec.get("cuePointType"))
        start, end = _int(rec.get("startTime")), _int(rec.get("endTime"))
        if start is not None and end is not None and end < start:
            issues.append(
                Issue("error", "end-before-start", f"endTime {_fmt(end)} is before startTime {_fmt(start)}", row, entry)
            )
        key = (cue_type, entry, start, _label(rec))
        if start is not None and key in same:
            issues.append(Issue("warning", "duplicate", f"the same cue point as row {same[key]}", row, entry))
        else:
            same[key] = row
        if start is not None and _is_chapter(rec, cue_type):
            chapters[f"{entry}\0{cue_type}"].append((start, end, row, _label(rec) or ""))
        parent = _text(rec.get("parentSystemName"))
        if parent is not None:
            at = name_position.get((entry, parent))
            if at is None:
                issues.append(
                    Issue(
                        "warning",
                        "parent-missing",
                        f"parent {parent!r} is not in the table: it must already exist on the entry",
                        row,
                        entry,
                    )
                )
            elif at > position:
                issues.append(
                    Issue(
                        "warning",
                        "parent-later",
                        f"parent {parent!r} comes later (row {names[(entry, parent)]}): a bulk upload written in "
                        "this order stores this cue point without a parent (push and apply put parents first)",
                        row,
                        entry,
                    )
                )
    for chapter_key, items in chapters.items():
        entry = chapter_key.split("\0", 1)[0]
        items.sort(key=lambda c: c[0])
        for (s1, e1, r1, t1), (s2, _e2, r2, _t2) in zip(items, items[1:], strict=False):
            if s1 == s2:
                issues.append(
                    Issue("warning", "chapter-duplicate", f"chapter starts with row {r1} ({t1!r})", r2, entry)
                )
            elif e1 is not None and e1 > s2:
                issues.append(
                    Issue(
                        "warning",
                        "chapter-overlap",
                        f"chapter starts at {_fmt(s2)}, before row {r1}'s chapter ({t1!r}) ends at {_fmt(e1)}",
                        r2,
                        entry,
                    )
                )
    if client is not None:
        _check_server(client, labels, records, issues)
    order = {id(i): n for n, i in enumerate(issues)}
    issues.sort(key=lambda i: (i.row is None, _sortable(i.row), order[id(i)]))
    return report


def _sortable(row: Hashable | None) -> tuple[int, Any]:
    return (0, row) if isinstance(row, int) else (1, str(row))


def _check_values(labels: list[Hashable], records: list[dict[str, Any]], issues: list[Issue]) -> None:
    pending = list(range(len(records)))
    for _ in range(100):
        if not pending:
            return
        try:
            write_xml([records[i] for i in pending], unsupported="error")
            return
        except CuePointValueError as exc:
            at = exc.record if isinstance(exc.record, int) and 0 <= exc.record < len(pending) else None
            if at is None:
                issues.append(Issue("error", "value", exc.reason))
                return
            index = pending.pop(at)
            where = f"field {exc.field!r}: " if exc.field else ""
            issues.append(
                Issue("error", "value", where + exc.reason, labels[index], _text(records[index].get("entryId")))
            )
    issues.append(Issue("error", "value", "more rows with values the format cannot carry (100 reported)"))


def _check_server(client: Client, labels: list[Hashable], records: list[dict[str, Any]], issues: list[Issue]) -> None:
    entries = list(dict.fromkeys(e for e in (_text(r.get("entryId")) for r in records) if e))
    durations = entry_durations(client, entries)
    existing = {e for e in entries if e in durations}
    on_server: set[tuple[str, str]] = set()
    if existing:
        for rec in read_server(client, sorted(existing)):
            name = _text(rec.get("systemName"))
            if name is not None:
                on_server.add((str(rec.get("entryId")), name))
    reported: set[str] = set()
    for row, rec in zip(labels, records, strict=True):
        entry = _text(rec.get("entryId"))
        if entry is None:
            continue
        if entry not in existing:
            if entry not in reported:
                issues.append(Issue("error", "entry", f"entry {entry} does not exist for this partner", row, entry))
                reported.add(entry)
            continue
        duration = durations.get(entry)
        start, end = _int(rec.get("startTime")), _int(rec.get("endTime"))
        if duration is not None and start is not None and start > duration:
            issues.append(
                Issue(
                    "warning",
                    "past-end",
                    f"starts at {_fmt(start)}, after the entry ends ({_fmt(duration)})",
                    row,
                    entry,
                )
            )
        elif duration is not None and end is not None and end > duration:
            issues.append(
                Issue(
                    "warning", "past-end", f"ends at {_fmt(end)}, after the entry ends ({_fmt(duration)})", row, entry
                )
            )
    position = {row: i for i, row in enumerate(labels)}
    kept: list[Issue] = []
    for issue in issues:
        if issue.code != "parent-missing" or issue.entry_id not in existing:
            kept.append(issue)
            continue
        rec = records[position[issue.row]]
        parent = _text(rec.get("parentSystemName"))
        if parent is not None and (issue.entry_id, parent) not in on_server:  # else: on the entry, fine
            kept.append(
                Issue(
                    "error",
                    "parent-missing",
                    f"parent {parent!r} is neither in the table nor on the entry: the server would store this cue "
                    "point without a parent",
                    issue.row,
                    issue.entry_id,
                )
            )
    issues[:] = kept

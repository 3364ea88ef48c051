"""``cuepipe.copy``: every cue point of some entries, to other entries, another partner or service.

How a copy works (docs/migrations.md has the playbook):

1. Read every cue point of the mapped source entries (``list``, exact milliseconds, every type,
   past every page cap), optionally narrowed by a server-side ``filter`` and by ``types``.
2. Decide per cue point: copy, or skip with a reason (time cut, type that cannot travel, parent not
   copied, user-owned quiz answers by default). Nothing is skipped silently: every source cue point
   has a row in :attr:`CopyReport.rows`.
3. Give each a **stable key**: its ``systemName``, or when it has none ``cuepipe-src:<source id>``
   (:func:`stable_key`), so a re-run updates instead of duplicating.
4. Remap times (:mod:`.timemap`) and parents: an annotation's parent becomes the parent's key on the
   target entry (``parentSystemName``: parents are written before children, in the same upload);
   quiz answers are written after their questions, with the question's new id.
5. Plan the target entries against these records (:func:`~cuepipe.sync.plan.build_plan`) and write
   them with ``addFromBulk`` (journal-resumable), then the thumb-only fields with ``cuePoint.update``.
   A re-run of a finished copy finds every cue point unchanged and writes nothing. With a journal
   every copied record is pushed whenever anything changed (updates to the same values for the rest),
   because a journal recognises an interrupted run only by the same input.

Per type (what a user can change with an option):

* quiz answers (``answers``): an answer belongs to a user's quiz attempt (``quizUserEntryId``) in the
  source account. ``"skip"`` (default) reports them; ``"copy"`` copies them with the attempt id as
  is (right within a partner, or when the target has the same user entries).
* thumb/slide cue points (``thumbs``): the thumbnail asset (``assetId``) is not carried by the cue
  point API, so a copied slide has no image. ``"copy"`` (default) copies title, description and
  sub-type and notes the lost asset; ``"skip"`` reports them instead.
* event cue points have no bulk XML form: always skipped, with the reason.
* custom metadata is not read by ``list``: not copied (docs say so).
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from .. import vocabulary as voc
from ..errors import CuepipeError
from . import _fields as F
from ._model import ApplyResult, Change, Problem, _text, _type
from ._read import read_server
from .apply import write_changes
from .plan import _Row, build_plan
from .timemap import TimeMap

if TYPE_CHECKING:
    from ..client import Client, Progress

EntryProgress = Callable[[str, int, int], None]
"""``entry_progress(source_entry_id, done, total)``: cue points of one source entry written so far."""

AnswerPolicy = Literal["skip", "copy"]
ThumbPolicy = Literal["copy", "skip"]

KEY_PREFIX = "cuepipe-src:"
SYSTEM_NAME_MAX = 120

REPORT_COLUMNS = (
    "sourceEntryId",
    "sourceId",
    "cuePointType",
    "systemName",
    "targetEntryId",
    "targetId",
    "action",
    "reason",
    "note",
)


class CopyError(CuepipeError):
    """A copy that cannot start: a bad entry map, options, or a problem that is not one cue point's."""


def stable_key(source: Mapping[str, Any]) -> str:
    """The target systemName of a source cue point: its own, else ``cuepipe-src:<source id>``.

    Ids longer than fit in 120 characters (never seen on Kaltura, whose ids are like ``0_ab12cd34``)
    are replaced by ``cuepipe-src:sha256:<first 40 hex digits of the id's SHA-256>``.
    """
    name = _text(source.get("systemName"))
    if name is not None:
        return name
    sid = str(source["id"])
    key = KEY_PREFIX + sid
    if len(key) <= SYSTEM_NAME_MAX:
        return key
    return KEY_PREFIX + "sha256:" + hashlib.sha256(sid.encode("utf-8")).hexdigest()[:40]


@dataclass
class CopyReport:
    """What a copy did, one row per source cue point (:attr:`rows`), plus the target's write counts."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    result: ApplyResult = field(default_factory=ApplyResult)

    def to_frame(self) -> pd.DataFrame:
        """The id map and outcome: source entry/id -> target entry/id, action, reason, note."""
        frame = pd.DataFrame(self.rows, columns=list(REPORT_COLUMNS))
        return frame.astype("string")

    @property
    def id_map(self) -> dict[str, str]:
        """Source id -> target id for every copied cue point."""
        return {r["sourceId"]: r["targetId"] for r in self.rows if r.get("targetId")}

    @property
    def skipped(self) -> pd.DataFrame:
        frame = self.to_frame()
        return frame[frame["action"] == "skipped"]

    def summary(self) -> pd.DataFrame:
        """Per source entry and type: read, created, updated, unchanged, skipped."""
        counts: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
        for r in self.rows:
            c = counts[(r["sourceEntryId"], r["cuePointType"])]
            c["read"] += 1
            c[r["action"]] += 1
        data = [
            {
                "sourceEntryId": e,
                "cuePointType": t,
                "read": c["read"],
                "created": c["created"],
                "updated": c["updated"],
                "unchanged": c["unchanged"],
                "skipped": c["skipped"],
            }
            for (e, t), c in sorted(counts.items())
        ]
        columns = ["sourceEntryId", "cuePointType", "read", "created", "updated", "unchanged", "skipped"]
        return pd.DataFrame(data, columns=columns)

    def to_csv(self, path: str | os.PathLike[str]) -> None:
        """Save :meth:`to_frame` as CSV (atomically)."""
        _atomic(path, lambda tmp: self.to_frame().to_csv(tmp, index=False))

    def to_parquet(self, path: str | os.PathLike[str]) -> None:
        """Save :meth:`to_frame` as Parquet (atomically)."""
        _atomic(path, lambda tmp: self.to_frame().to_parquet(tmp, index=False))

    def __str__(self) -> str:
        lines = []
        summary = self.summary()
        if len(summary):
            lines.append(summary.to_string(index=False))
        reasons = Counter((r["cuePointType"], r["reason"]) for r in self.rows if r["action"] == "skipped")
        for (cue_type, reason), n in sorted(reasons.items()):
            lines.append(f"skipped {n} {cue_type}: {reason}")
        notes = Counter((r["cuePointType"], r["note"]) for r in self.rows if r.get("note"))
        for (cue_type, note), n in sorted(notes.items()):
            lines.append(f"note on {n} {cue_type}: {note}")
        actions = Counter(r["action"] for r in self.rows)
        lines.append(
            f"Copied: {actions['created']} created, {actions['updated']} updated, {actions['unchanged']} unchanged, "
            f"{actions['skipped']} skipped (of {len(self.rows)} read)"
        )
        return "\n".join(lines)


def _atomic(path: str | os.PathLike[str], write: Callable[[str], None]) -> None:
    target = os.fspath(path)
    tmp = os.path.join(os.path.dirname(target) or ".", f".{os.path.basename(target)}.tmp")
    try:
        write(tmp)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _entry_map(entry_map: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, str]:
    pairs = entry_map.items() if isinstance(entry_map, Mapping) else entry_map
    out: dict[str, str] = {}
    for pair in pairs:
        try:
            src, dst = pair
        except (TypeError, ValueError):
            raise CopyError(f"entry_map: expected (source entry id, target entry id) pairs, got {pair!r}") from None
        if not isinstance(src, str) or not src.strip() or not isinstance(dst, str) or not dst.strip():
            raise CopyError(f"entry_map: entry ids are non-empty text, got {src!r} -> {dst!r}")
        if src in out and out[src] != dst:
            raise CopyError(f"entry_map: source entry {src} is mapped twice ({out[src]}, {dst})")
        out[src.strip()] = dst.strip()
    if not out:
        raise CopyError("entry_map is empty: nothing to copy")
    return out


def copy(
    source: Client,
    target: Client,
    *,
    entry_map: Mapping[str, str] | Iterable[tuple[str, str]],
    filter: Mapping[str, Any] | Callable[[Mapping[str, Any]], bool] | None = None,
    types: Iterable[str] | None = None,
    shift_ms: int = 0,
    keep: Iterable[tuple[int, int]] | None = None,
    journal: str | os.PathLike[str] | None = None,
    answers: AnswerPolicy = "skip",
    thumbs: ThumbPolicy = "copy",
    chunk_size: int = 500,
    progress: Callable[[Progress], None] | None = None,
    entry_progress: EntryProgress | None = None,
) -> CopyReport:
    """Copy every cue point of the mapped entries from ``source`` to ``target`` (see the module docs).

    ``entry_map``: source entry id -> target entry id. ``filter``: filter fields the server applies
    (``{"tagsLike": "chaptering"}``) or a predicate on source records. ``types``: cue point types to
    copy (default all). ``shift_ms``/``keep``: time remapping (:class:`~cuepipe.sync.timemap.TimeMap`).
    ``journal``: a file path making the copy resumable exactly once (answers use ``<journal>-answers``).
    ``progress`` receives the client's :class:`~cuepipe.client.Progress` events for the whole run
    (reading, then writing); ``entry_progress`` is called as ``(source entry id, done, total)`` per
    source entry: once with ``done=0`` for every mapped entry when the writes begin (``total`` is the
    number of its cue points that will be copied, skips excluded), then as the uploads holding its
    cue points are confirmed, and with ``done == total`` when they all are. The CLI draws a bar per
    entry from it.
    """
    if answers not in ("skip", "copy"):
        raise CopyError(f"answers must be 'skip' or 'copy', not {answers!r}")
    if thumbs not in ("skip", "copy"):
        raise CopyError(f"thumbs must be 'copy' or 'skip', not {thumbs!r}")
    mapping = _entry_map(entry_map)
    timemap = TimeMap(shift_ms, keep)
    wanted_types: set[str] | None = None
    if types is not None:
        try:
            wanted_types = {voc.type_info(t).api_type.value for t in types}
        except KeyError as exc:
            raise CopyError(str(exc.args[0])) from None
    extra = dict(filter) if isinstance(filter, Mapping) else None
    predicate = filter if callable(filter) else None

    records = read_server(source, list(mapping), progress=progress, extra=extra)
    position = {e: i for i, e in enumerate(mapping)}
    records.sort(key=lambda r: (position[str(r["entryId"])], int(r.get("startTime") or 0), str(r["id"])))
    report = CopyReport()
    rows: dict[str, dict[str, Any]] = {}  # source id -> report row
    by_source_id = {str(r["id"]): r for r in records}
    out: dict[str, dict[str, Any]] = {}  # source id -> target record (before parents)

    for rec in records:
        sid = str(rec["id"])
        cue_type = _type(rec.get("cuePointType")) or str(rec.get("cuePointType"))
        row = {
            "sourceEntryId": str(rec["entryId"]),
            "sourceId": sid,
            "cuePointType": cue_type,
            "systemName": None,
            "targetEntryId": mapping[str(rec["entryId"])],
            "targetId": None,
            "action": "skipped",
            "reason": None,
            "note": None,
        }
        rows[sid] = row
        report.rows.append(row)
        if wanted_types is not None and cue_type not in wanted_types:
            row["reason"] = "type not selected"
            continue
        if predicate is not None and not predicate(rec):
            row["reason"] = "excluded by the filter"
            continue
        reason = _cannot_copy(cue_type, answers, thumbs)
        if reason:
            row["reason"] = reason
            continue
        end: Any = rec.get("endTime")
        moved = timemap.map(int(rec["startTime"]), None if _text(end) is None else int(end))
        if moved.dropped:
            row["reason"] = moved.dropped
            continue
        key = stable_key(rec)
        row["systemName"] = key
        new = {f: rec.get(f) for f in F.managed_fields(cue_type)}
        new.update(cuePointType=cue_type, entryId=row["targetEntryId"], systemName=key, startTime=moved.start)
        if "endTime" in new:
            new["endTime"] = moved.end
        if moved.clipped:
            row["note"] = "end time clipped to the end of the kept segment"
        if cue_type == voc.CuePointType.THUMB.value and _text(rec.get("assetId")) is not None:
            row["note"] = "thumbnail asset not copied (the cue point API does not carry it)"
        new.pop("parentSystemName", None)
        out[sid] = new

    # Parents: annotations by the parent's key on the same target entry; answers after questions.
    for sid, new in list(out.items()):
        parent = _text(by_source_id[sid].get("parentId"))
        if parent is None or parent in ("0",):
            new.pop("parentId", None)
            continue
        if parent not in out:
            why = rows[parent]["reason"] if parent in rows else "it is not on a mapped source entry"
            rows[sid]["reason"] = f"its parent {parent} was not copied ({why})"
            del out[sid]
            continue
        if out[parent]["entryId"] != new["entryId"]:
            rows[sid]["reason"] = f"its parent {parent} goes to another target entry"
            del out[sid]
            continue
        if new["cuePointType"] == voc.CuePointType.ANNOTATION.value:
            new["parentSystemName"] = out[parent]["systemName"]
            new.pop("parentId", None)
    # Children whose parent was dropped in the pass above (grandchildren): repeat until stable.
    changed = True
    while changed:
        changed = False
        for sid in list(out):
            parent = _text(by_source_id[sid].get("parentId"))
            if parent is not None and parent != "0" and parent not in out:
                rows[sid]["reason"] = f"its parent {parent} was not copied ({rows[parent]['reason']})"
                del out[sid]
                changed = True

    targets = list(dict.fromkeys(mapping.values()))
    target_state = read_server(target, targets)
    first = {sid: r for sid, r in out.items() if r["cuePointType"] != voc.CuePointType.QUIZ_ANSWER.value}
    tracker = _EntryTracker(entry_progress, mapping, {sid: rows[sid]["sourceEntryId"] for sid in out})
    _write_phase(target, first, rows, target_state, report, journal, chunk_size, tracker.phase(first, progress))
    tracker.finished()
    if len(first) != len(out):
        ans: dict[str, dict[str, Any]] = {}
        for sid, r in out.items():
            if r["cuePointType"] != voc.CuePointType.QUIZ_ANSWER.value:
                continue
            question = str(by_source_id[sid].get("parentId"))
            qid = rows[question]["targetId"]
            if not qid:
                rows[sid]["reason"] = f"its question {question} was not copied ({rows[question]['reason']})"
                rows[sid]["action"] = "skipped"
                continue
            ans[sid] = {**r, "parentId": qid}
        answers_journal = f"{os.fspath(journal)}-answers" if journal is not None else None
        if ans:  # the questions written above are the answers' parents: read them back
            target_state = read_server(target, list(dict.fromkeys(r["entryId"] for r in ans.values())))
        _write_phase(target, ans, rows, target_state, report, answers_journal, chunk_size, tracker.phase(ans, progress))
    tracker.finished(everything=True)
    return report


class _EntryTracker:
    """Turns the push's per-upload progress (an upload holds one target entry) into progress per
    source entry for :func:`copy`'s ``entry_progress``.

    An upload's cue points are credited to the source entries mapped to its target entry, in
    ``entry_map`` order, never past what the current phase writes for each (a target entry can receive
    several source entries). When a phase ends every entry is at its phase's count: cue points that
    needed no write (unchanged on the target) are done too.
    """

    def __init__(self, report: EntryProgress | None, mapping: dict[str, str], source_entry: dict[str, str]) -> None:
        self.report = report
        self.total = {e: 0 for e in mapping}
        for entry in source_entry.values():
            self.total[entry] += 1
        self.source_entry = source_entry
        self.sources: dict[str, list[str]] = defaultdict(list)
        for src, dst in mapping.items():
            self.sources[dst].append(src)
        self.done = dict.fromkeys(mapping, 0)
        self.ceiling = dict.fromkeys(mapping, 0)
        if report is not None:
            for entry, total in self.total.items():
                report(entry, 0, total)

    def phase(
        self, records: Mapping[str, Any], progress: Callable[[Progress], None] | None
    ) -> Callable[[Progress], None] | None:
        """The progress callback for one write phase writing ``records`` (source id -> record)."""
        for sid in records:
            self.ceiling[self.source_entry[sid]] += 1
        if self.report is None:
            return progress
        last = 0

        def on_event(event: Progress) -> None:
            nonlocal last
            if progress is not None:
                progress(event)
            delta, last = event.done - last, event.done
            if event.phase != "push" or event.entry is None or delta <= 0:
                return
            for src in self.sources.get(event.entry, ()):
                step = min(delta, self.ceiling[src] - self.done[src])
                if step > 0:
                    self._set(src, self.done[src] + step)
                    delta -= step

        return on_event

    def finished(self, *, everything: bool = False) -> None:
        """A phase ended: each entry is at its phase's count (at its total after the last phase)."""
        for src in self.done:
            self._set(src, self.total[src] if everything else self.ceiling[src])

    def _set(self, src: str, done: int) -> None:
        if done == self.done[src] or self.report is None:
            self.done[src] = done
            return
        self.done[src] = done
        self.report(src, done, self.total[src])


def _cannot_copy(cue_type: str, answers: AnswerPolicy, thumbs: ThumbPolicy) -> str | None:
    if cue_type == voc.CuePointType.EVENT.value:
        return "event cue points have no bulk XML form (addFromBulk cannot write them)"
    if cue_type == voc.CuePointType.QUIZ_ANSWER.value and answers == "skip":
        return (
            "a quiz answer belongs to a user's quiz attempt (quizUserEntryId) in the source account; "
            "answers='copy' copies it with that id as is"
        )
    if cue_type == voc.CuePointType.THUMB.value and thumbs == "skip":
        return "thumbs='skip': slide images (thumbnail assets) cannot be copied by the cue point API"
    if _type(cue_type) is None:
        return f"unknown cue point type {cue_type!r}"
    return None


def _write_phase(
    target: Client,
    records: dict[str, dict[str, Any]],
    rows: dict[str, dict[str, Any]],
    target_state: list[dict[str, Any]],
    report: CopyReport,
    journal: str | os.PathLike[str] | None,
    chunk_size: int,
    progress: Callable[[Progress], None] | None,
) -> None:
    if not records:
        return
    order = list(records)
    desired = [
        _Row(i, rec, rec["cuePointType"], rec["entryId"], rec["systemName"], None)
        for i, rec in enumerate(records.values())
    ]
    given = set().union(*(F.managed_fields(r.cue_type) for r in desired))
    given -= {"parentId"} if not any(r.cue_type == voc.CuePointType.QUIZ_ANSWER.value for r in desired) else set()
    given |= {"cuePointType", "entryId", "systemName"}
    problems: list[Problem] = []
    entries = list(dict.fromkeys(r.entry_id for r in desired))
    wanted = set(entries)
    plan = build_plan(
        target.service_url,
        target.partner_id,
        entries,
        desired,
        given,
        [r for r in target_state if str(r.get("entryId")) in wanted],
        key="systemName",
        prune=False,
        problems=problems,
        columns=sorted(given),
    )
    bad_rows: dict[Hashable, str] = {}
    for p in plan.problems:
        if p.severity != "error":
            continue
        if p.row is None:
            raise CopyError(f"cannot copy: {p.message}")
        bad_rows.setdefault(p.row, p.message)
    for index, message in bad_rows.items():
        rows[order[int(str(index))]]["reason"] = f"the target refuses it: {message}"
    changes: list[Change] = [c for c in plan.changes if c.row not in bad_rows]
    write_changes(
        target,
        changes,
        report.result,
        journal=journal,
        progress=progress,
        chunk_size=chunk_size,
        current=target_state,
        push_all=journal is not None,  # a journal needs the same input on every run
    )
    action = {"create": "created", "update": "updated", "unchanged": "unchanged"}
    for c in changes:
        row = rows[order[int(str(c.row))]]
        row["action"] = action[c.action]
        row["targetId"] = c.id

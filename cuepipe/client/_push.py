"""push: records -> ingest XML uploads (``addFromBulk``) -> server ids mapped back to the input.

The operation (:func:`push_op`) is one generator of engine commands, run by
:class:`~cuepipe.client.Client` and :class:`~cuepipe.client.AsyncClient` alike. Its parts:

* :mod:`._plan`: reading the input, grouping rows into uploads of one entry each, rendering them;
* :mod:`._send`: the pre-upload lookups, sending, settling an upload whose outcome is unknown
  (watch the entry, re-send what is missing, sweep racing copies) and diagnosing part-way failures;
* :mod:`._result`: mapping the server's answers back to the input rows;
* :mod:`._journal`: the durable record that makes a push resumable.

With a journal, uploads an earlier run confirmed are taken from it without a request, and one it
left in flight goes straight to :func:`~._send.recover`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .. import vocabulary as voc
from ..errors import CuepipeError
from ..kaltura import KalturaPermissionError
from ._base import Engine, Op, Outcome, Parallel, Progress, ProgressCallback, cue_point_service, log
from ._errors import PushError, UploadFailedError, describe
from ._journal import Journal, UploadRecord
from ._plan import Errors, PushPlan, Settle, Unsupported, Upload, make_items, plan_push, plan_uploads, render_bytes
from ._result import ACTIONS, RESULT_COLUMNS, Existing, ResultTable, failure_action, replay_safety
from ._send import entry_count, in_flight, landed_without_names, lookup_existing, recover, root_cause, send_upload
from ._typed import typed_updates_op

JournalPath = str | os.PathLike[str] | None
SettleArg = Settle | float | None


def prepare_push(
    engine: Engine,
    data: Any,
    *,
    service: str,
    chunk_size: int,
    unsupported: Unsupported,
    errors: Errors,
    detect_actions: bool,
    journal: JournalPath,
    settle: SettleArg = None,
    concurrency: int | None = 1,
) -> tuple[PushPlan, Journal | None]:
    """The plan, and the journal opened for it (checked against the plan's fingerprint and the target)."""
    if journal is not None and (isinstance(journal, bool) or not isinstance(journal, str | os.PathLike)):
        raise TypeError(f"journal must be a path (str or os.PathLike) or None, not {type(journal).__name__}")
    plan = plan_push(
        data,
        service=cue_point_service(service),
        chunk_size=chunk_size,
        unsupported=unsupported,
        errors=errors,
        detect_actions=detect_actions,
        retries=engine.retries,
        journaled=journal is not None,
        settle=settle,
        concurrency=concurrency,
    )
    if journal is None:
        return plan, None
    target = f"{engine.service_url} (partner {engine.auth.partner_id})"
    opened = Journal.open(journal, service=str(plan.service), target=target, uploads=plan.planned_uploads())
    if opened.resumed:
        log.info(
            "journal %s: %d of %d uploads already confirmed; resuming",
            os.fspath(journal),
            opened.resumed,
            len(plan.uploads),
        )
    return plan, opened


class _Lookups:
    """Whether the pre-upload ``list`` lookups are on (they go off if the session may not list)."""

    def __init__(self, on: bool) -> None:
        self.on = on

    def run(self, upload: Upload) -> Op:
        if not self.on:
            return None
        try:
            return (yield from lookup_existing(upload))
        except KalturaPermissionError as exc:
            self.on = False
            log.info("cannot list existing cue points (%s); actions will be partly unknown", describe(exc))
            return None

    def count(self, upload: Upload) -> Op:
        """The entry's cue point count before an upload with cue points the server cannot find again
        (no systemName, no id): after a part-way failure it tells how many scenes were saved."""
        if not self.on or all(item.system_name is not None or item.id is not None for item in upload.items):
            return None
        try:
            return (yield from entry_count(upload.entry_id))
        except CuepipeError as exc:
            log.info("cannot count the cue points of entry %s (%s)", upload.entry_id, describe(exc))
            return None


def _frame(plan: PushPlan, table: ResultTable, resumed: int, recovered: int) -> pd.DataFrame:
    result = table.frame()
    result.attrs["uploads"] = len(plan.uploads)
    result.attrs["resumed"] = resumed
    result.attrs["recovered"] = recovered
    result.attrs["recoveries"] = [r.to_dict() for r in table.recoveries]
    result.attrs["resent"] = sum(r.resent for r in table.recoveries)
    result.attrs["swept"] = sum(len(r.swept) for r in table.recoveries)
    result.attrs["unsettled_entries"] = sorted({r.entry_id for r in table.recoveries if not r.clean})
    return result


class _Stopped(Exception):
    """An upload failed with ``errors="raise"``: no later upload is written; the push raises :class:`PushError`."""

    def __init__(self, upload: Upload, cause: CuepipeError) -> None:
        super().__init__(describe(cause))
        self.upload = upload
        self.cause = cause


@dataclass(slots=True)
class _Landed:
    """An upload the server answered: its objects, not yet matched to its rows (:meth:`_PushRun.finish`)."""

    upload: Upload
    objects: list[Any]
    existing: Existing | None
    record: UploadRecord | None


@dataclass(slots=True)
class _Prepared:
    """An upload's preparation: its journal record, what the lookups found, or why they failed."""

    record: UploadRecord | None
    existing: Existing | None
    error: CuepipeError | None


def _outcome(outcome: Outcome) -> _Prepared:
    if outcome.error is not None:
        raise outcome.error  # not a CuepipeError (those are kept in _Prepared): a bug or an interrupt
    value: _Prepared = outcome.value
    return value


class _PushRun:
    """What the uploads of one push share while they run (one step at a time, in the caller's thread)."""

    def __init__(self, plan: PushPlan, progress: ProgressCallback | None, journal: Journal | None) -> None:
        self.plan = plan
        self.progress = progress
        self.journal = journal
        self.table = ResultTable(plan.items, plan.index)
        for upload in plan.uploads:
            self.table.planned(upload)
        self.total = len(plan.items)
        self.done = 0
        self.lookups = _Lookups(plan.detect_actions)
        self.resumed = self.recovered = 0
        self.landed: list[_Landed] = []  # uploads that landed, until finish() maps them

    def prepare(self, upload: Upload) -> Op:
        """What can be done for an upload while earlier ones are being written: look its names and
        ids up and render its XML. Nothing in it depends on earlier uploads of the push: an upload
        holds one entry, families are never split, and no other upload names its systemNames or
        ids. Uploads the journal already knows are not prepared (they are restored or recovered)."""
        record = self.journal.record(upload.number) if self.journal is not None else None
        if record is not None and record.state in ("confirmed", "sending"):
            return _Prepared(record, None, None)
        try:
            existing = yield from self.lookups.run(upload)
        except CuepipeError as exc:
            return _Prepared(record, None, exc)
        if upload.body is None:
            upload.body = render_bytes(upload, self.plan.unsupported)
        return _Prepared(record, existing, None)

    def upload(self, upload: Upload, prepared: _Prepared) -> Op:
        """One upload: record the intent, send, leave the answer to :meth:`finish`; recover an unknown
        outcome (mapped and confirmed here: the next upload waits for a recovery anyway)."""
        plan, table, journal, progress = self.plan, self.table, self.journal, self.progress
        what = (
            f"upload {upload.number} of {len(plan.uploads)} (entry {upload.entry_id}, {len(upload.items)} cue points)"
        )
        record = prepared.record
        mapped_later = False  # by finish(), once the next upload is on its way
        try:
            if prepared.error is not None:
                raise prepared.error
            if record is not None and record.state == "confirmed" and record.result is not None:
                table.restore(upload, record.result)
                self.resumed += 1
            elif record is not None and record.state == "sending":
                log.info("%s was in flight when an earlier run stopped; checking what landed", what)
                yield from recover(plan, upload, Existing.from_json(record.before), table, journal, what, None)
                self.recovered += 1
            else:
                existing = prepared.existing
                count_before = yield from self.lookups.count(upload)
                safe, reason = replay_safety(upload, existing)
                if journal is not None:
                    journal.sending(upload.number, existing.to_json() if existing is not None else None)
                try:
                    objects = yield from send_upload(plan, upload, what, safe=safe, reason=reason)
                    # It landed: mapping the answer to the rows and recording it in the journal is
                    # left to finish(), which runs while the next upload is on its way
                    self.landed.append(_Landed(upload, objects, existing, record))
                    mapped_later = True
                except CuepipeError as exc:
                    if failure_action(exc) != "unknown":
                        raise
                    if not safe:
                        if in_flight(exc):
                            raise
                        # An answer after K scenes: find out which rows were saved, and why it stopped.
                        raise (yield from landed_without_names(plan, upload, count_before, exc)) from exc
                    log.warning("%s: answer lost (%s); settling it", what, describe(root_cause(exc)))
                    yield from recover(plan, upload, existing, table, journal, what, exc)
                    self.recovered += 1
            if journal is not None and record is not None and record.state != "confirmed" and not mapped_later:
                journal.confirmed(upload.number, table.outcome(upload))
        except CuepipeError as exc:
            if isinstance(exc, UploadFailedError):
                table.stopped(upload, exc)
                action = "unknown" if exc.unknown_rows else "failed"
            else:
                action = failure_action(exc)
                table.fail(upload, action, describe(exc))
            if journal is not None:
                if action == "failed":
                    journal.failed(upload.number, describe(exc))
                else:
                    journal.unknown(upload.number, describe(exc))
            self.done += len(upload.items)
            if progress is not None:
                progress(Progress("push", self.done, self.total, f"upload {upload.number} failed", upload.entry_id))
            if plan.errors == "raise":
                raise _Stopped(upload, exc) from exc
            log.warning("%s failed: %s", what, describe(exc))
            return
        finally:
            upload.body = None
        self.done += len(upload.items)
        if progress is not None:
            progress(
                Progress("push", self.done, self.total, f"upload {upload.number}/{len(plan.uploads)}", upload.entry_id)
            )

    def finish(self) -> Op:
        """Map the uploads that landed to their rows, and confirm them in the journal.

        An operation without requests: the push runs it beside the next upload, so the server is
        not kept waiting while the client matches 500 answers to their rows and commits the journal.
        Until it has run, a journal shows that upload as ``sending``; a run that stops in between
        settles it on resume as any upload in flight (a journaled push names every cue point, so
        what landed is found by name)."""
        landed, self.landed = self.landed, []
        for one in landed:
            self.table.apply(one.upload, one.objects, one.existing)
            if self.journal is not None and one.record is not None:
                self.journal.confirmed(one.upload.number, self.table.outcome(one.upload))
        return None
        yield  # a generator: an operation for Parallel

    def frame(self) -> pd.DataFrame:
        return _frame(self.plan, self.table, self.resumed, self.recovered)


def push_op(plan: PushPlan, progress: ProgressCallback | None, journal: Journal | None = None) -> Op:
    """The push: per upload, look up, record the intent, send, map the answer; recover the unknown.

    A pipeline: uploads are written one at a time, in order (so ``errors="raise"`` still stops at the
    first failed upload with nothing after it sent, and cue points are created in input order), while
    the next ``plan.concurrency - 1`` uploads are prepared beside it (:meth:`_PushRun.prepare`: their
    lookups in flight, their XML rendered) and the answer of the one before is matched to its rows
    (:meth:`_PushRun.finish`), so the server never waits for the client's own work.

    ``result.attrs``: ``uploads``, ``resumed`` (taken from the journal), ``recovered`` (uploads
    whose outcome was unknown and was settled), ``recoveries`` (one dict per such upload: what had
    landed, what was re-sent, which duplicates were deleted, see :class:`~._result.Recovery`),
    ``resent``, ``swept``, ``unsettled_entries`` (entries where late duplicates are possible), and
    ``typed_updates``: how many ``cuePoint.update`` calls wrote fields ``addFromBulk`` ignores (a thumb
    cue point's title, description and sub-type; see :mod:`._typed`).
    """
    run = _PushRun(plan, progress, journal)
    table = run.table
    if progress is not None:
        progress(Progress("push", 0, run.total, f"{len(plan.uploads)} upload(s)"))
    ahead = max(0, plan.concurrency - 1)
    uploads = plan.uploads
    prepared: dict[int, _Prepared] = {}
    for k, upload in enumerate(uploads):
        # Write upload k while the next ones are prepared (their lookups in flight beside it).
        todo = [u for u in uploads[k : k + 1 + ahead] if u.number not in prepared]
        if upload.number not in prepared:
            outcomes = yield Parallel([run.prepare(upload)], limit=1)
            prepared[upload.number] = _outcome(outcomes[0])
            todo = todo[1:]
        current = prepared.pop(upload.number)
        # the upload before this one is mapped (finish) once this one is on its way
        outcomes = yield Parallel(
            [run.upload(upload, current), run.finish(), *(run.prepare(u) for u in todo)],
            limit=1 + len(todo),
            stop_on_error=False,
        )
        for u, outcome in zip(todo, outcomes[2:], strict=True):
            prepared[u.number] = _outcome(outcome)
        if outcomes[1].error is not None:  # not a CuepipeError: the journal's disk, or a bug
            raise outcomes[1].error
        error = outcomes[0].error
        if isinstance(error, _Stopped):
            for u in todo:
                u.body = None
            raise PushError(upload.number, upload.entry_id, upload.rows, error.cause, run.frame()) from error.cause
        if error is not None:
            raise error
    yield from run.finish()
    # What addFromBulk ignores (a thumb's title, description, sub-type) goes by cuePoint.update; only
    # the types that have such fields are looked at (item.type is the type typed_fields would find).
    written = (
        (item.record, table.ids[item.position])
        for item in plan.items
        if item.type in voc.TYPED_ONLY_FIELDS and table.actions[item.position] in ("created", "updated")
    )
    typed_updates = yield from typed_updates_op(written)
    result = run.frame()
    result.attrs["typed_updates"] = typed_updates
    for entry in result.attrs["unsettled_entries"]:
        log.warning(
            "entry %s: an earlier request may still add copies; check with: cuepipe dedupe --entry-id %s", entry, entry
        )
    return result


__all__ = [
    "ACTIONS",
    "RESULT_COLUMNS",
    "Errors",
    "JournalPath",
    "PushPlan",
    "Settle",
    "SettleArg",
    "Unsupported",
    "make_items",
    "plan_push",
    "plan_uploads",
    "prepare_push",
    "push_op",
]

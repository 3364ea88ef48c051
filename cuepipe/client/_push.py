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
from typing import Any

import pandas as pd

from ..errors import CuepipeError
from ..kaltura import KalturaPermissionError
from ._base import Engine, Op, Progress, ProgressCallback, cue_point_service, log
from ._errors import PushError, UploadFailedError, describe
from ._journal import Journal
from ._plan import Errors, PushPlan, Settle, Unsupported, Upload, make_items, plan_push, plan_uploads
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


def push_op(plan: PushPlan, progress: ProgressCallback | None, journal: Journal | None = None) -> Op:
    """The push: per upload, look up, record the intent, send, map the answer; recover the unknown.

    ``result.attrs``: ``uploads``, ``resumed`` (taken from the journal), ``recovered`` (uploads
    whose outcome was unknown and was settled), ``recoveries`` (one dict per such upload: what had
    landed, what was re-sent, which duplicates were deleted, see :class:`~._result.Recovery`),
    ``resent``, ``swept``, ``unsettled_entries`` (entries where late duplicates are possible), and
    ``typed_updates``: how many ``cuePoint.update`` calls wrote fields ``addFromBulk`` ignores (a thumb
    cue point's title, description and sub-type; see :mod:`._typed`).
    """
    table = ResultTable(plan.items, plan.index)
    for upload in plan.uploads:
        table.planned(upload)
    total = len(plan.items)
    done = 0
    lookups = _Lookups(plan.detect_actions)
    if progress is not None:
        progress(Progress("push", 0, total, f"{len(plan.uploads)} upload(s)"))
    resumed = recovered = 0
    for upload in plan.uploads:
        what = (
            f"upload {upload.number} of {len(plan.uploads)} (entry {upload.entry_id}, {len(upload.items)} cue points)"
        )
        record = journal.record(upload.number) if journal is not None else None
        try:
            if record is not None and record.state == "confirmed" and record.result is not None:
                table.restore(upload, record.result)
                resumed += 1
            elif record is not None and record.state == "sending":
                log.info("%s was in flight when an earlier run stopped; checking what landed", what)
                yield from recover(plan, upload, Existing.from_json(record.before), table, journal, what, None)
                recovered += 1
            else:
                existing = yield from lookups.run(upload)
                count_before = yield from lookups.count(upload)
                safe, reason = replay_safety(upload, existing)
                if journal is not None:
                    journal.sending(upload.number, existing.to_json() if existing is not None else None)
                try:
                    objects = yield from send_upload(plan, upload, what, safe=safe, reason=reason)
                    table.apply(upload, objects, existing)
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
                    recovered += 1
            if journal is not None and record is not None and record.state != "confirmed":
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
            done += len(upload.items)
            if progress is not None:
                progress(Progress("push", done, total, f"upload {upload.number} failed", upload.entry_id))
            if plan.errors == "raise":
                raise PushError(
                    upload.number, upload.entry_id, upload.rows, exc, _frame(plan, table, resumed, recovered)
                ) from exc
            log.warning("%s failed: %s", what, describe(exc))
            continue
        done += len(upload.items)
        if progress is not None:
            progress(Progress("push", done, total, f"upload {upload.number}/{len(plan.uploads)}", upload.entry_id))
    # What addFromBulk ignores (a thumb's title, description, sub-type) goes by cuePoint.update.
    written = (
        (item.record, table.ids[item.position])
        for item in plan.items
        if table.actions[item.position] in ("created", "updated")
    )
    typed_updates = yield from typed_updates_op(written)
    result = _frame(plan, table, resumed, recovered)
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

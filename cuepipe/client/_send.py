"""Sending uploads and settling the ones whose outcome is unknown.

Before each upload the cue points it names (by ``systemName`` on the entry, by id) are looked up
with ``list`` (:func:`lookup_existing`): that tells ``created`` from ``updated`` and which ids
exist. An upload is *replay safe* when every cue point has a ``systemName`` or an id the server
knows: sending it again updates the same cue points instead of adding new ones. Otherwise an
unknown outcome stops the push with :class:`~cuepipe.client.OutcomeUnknownError` naming the rows.

**Why a lost answer is not simply re-sent.** The server's insert-or-update by systemName is a
look-up followed by an insert, not atomic (docs/kaltura-api.md). A request the client gave up on
(timeout, dropped connection, HTTP 5xx) may still be held or running on the server; a re-send that
runs at the same time can insert a systemName twice. So the engine never repeats an upload on its
own (``Call.settle_unknown``); :func:`recover` settles it:

1. *watch* (:func:`watch`): list the upload's systemNames on the entry until nothing has changed
   for ``Settle.quiet`` seconds (bounded by ``Settle.limit``): a request still running shows up as
   cue points appearing;
2. send again only what did not land (:func:`split_landed`);
3. if something was sent while a request may have been in flight, watch again, then
   :func:`sweep_duplicates`: delete the copies a racing request inserted, keeping the oldest.

A request the server starts only after the re-send finds every systemName and updates (same
values); it cannot insert a copy. So the end state is exactly once whatever the delay before a held
request starts, provided the server saves each cue point within ``quiet`` seconds of looking its
systemName up (milliseconds in practice) and ``list`` shows it within ``quiet`` seconds. A watch
that hits ``limit`` with the entry still changing is reported: late copies are possible, and
``cuepipe dedupe`` (:mod:`._dedupe`) finds and removes them.

**Part-way failures.** The server commits scene by scene and stops at the first failing one
(``INTERNAL_SERVERL_ERROR`` after K scenes). Such an answer means the request is over (nothing is
in flight), so the entry is listed at once: with systemNames the saved cue points are exactly the
names that appeared; without, the entry's cue point count before and after tells K, checked against
the newest K cue points. The first row that did not land is then checked for the usual causes
(:func:`diagnose`) and the push fails with :class:`~cuepipe.client.PushError` saying which rows
were saved, which row failed and why, and which were not saved or are unknown.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from .. import vocabulary as voc
from ..errors import CuepipeError
from ..kaltura import (
    Context,
    KalturaAPIError,
    KalturaCuePointFilter,
    KalturaFilterPager,
    KalturaHTTPError,
    KalturaNotFoundError,
    Request,
    cue_point_add_from_bulk,
    cue_point_count,
    cue_point_delete,
    cue_point_list,
)
from ..kaltura.actions import CuePointService
from ..kaltura.filters import MAX_IN_VALUES, MAX_PAGE_SIZE
from ..kaltura.responses import ListPage
from ._base import Call, Op, Sleep, log
from ._errors import OutcomeUnknownError, TransportError, UploadFailedError, describe
from ._journal import Journal
from ._plan import Item, PushPlan, Upload, render, render_bytes
from ._result import Existing, Recovery, ResultTable, failure_action, replay_safety, start_ms

_SERVICE: CuePointService = "cuepoint_cuepoint"  # lookups and deletes use cuePoint whatever the upload used

# ---------------------------------------------------------------------------------------------
# Lookups
# ---------------------------------------------------------------------------------------------


def _batches(values: list[str], size: int = MAX_PAGE_SIZE) -> Iterator[list[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


#: ``idIn`` skips the search index and the database keeps 500 values; every other ``...In`` list goes
#: through the index, which keeps only its first 150 (docs/kaltura-api.md#filters-and-paging). A longer
#: list would silently match fewer cue points, and a push would then re-send ones that exist.
_MAX_ID_IN = 500


def _list_all(flt: KalturaCuePointFilter) -> Op:
    """Every cue point matching a small filter.

    Offset pages in ``+intId`` order: the index returns equal sort keys in no stable order, so pages
    ordered by anything that can tie (``createdAt``, the default) may skip or repeat rows between
    requests; ``intId`` is unique. The sets here are a few pages at most (far below the 10,000 window).
    """
    out: list[dict[str, Any]] = []
    index = 1
    flt = flt.replace(orderBy="+intId")
    while True:
        pager = KalturaFilterPager(pageSize=MAX_PAGE_SIZE, pageIndex=index)
        page: ListPage[dict[str, Any]] = yield list_call(flt, pager, "cuePoint.list (existing cue points)")
        out.extend(page.objects)
        if len(page.objects) < MAX_PAGE_SIZE:
            return out
        index += 1


def list_call(flt: KalturaCuePointFilter, pager: KalturaFilterPager, what: str) -> Call:
    """A ``cuePoint.list`` command."""

    def build(ctx: Context) -> Request:
        return cue_point_list(ctx, flt, pager, service=_SERVICE)

    return Call(build=build, what=what)


def delete_call(cue_point_id: str, what: str) -> Call:
    """A ``cuePoint.delete``: repeating it cannot duplicate anything (a second one finds nothing)."""

    def build(ctx: Context) -> Request:
        return cue_point_delete(ctx, cue_point_id, service=_SERVICE)

    return Call(build=build, write=True, replay_safe=True, what=what)


def _name_filters(entry_id: str, names: list[str]) -> list[KalturaCuePointFilter]:
    """``systemNameIn`` in batches; a name with a comma cannot travel in an ``In`` list."""
    filters = [
        KalturaCuePointFilter(entryIdEqual=entry_id, systemNameIn=batch)
        for batch in _batches([n for n in names if "," not in n], MAX_IN_VALUES)
    ]
    return filters + [KalturaCuePointFilter(entryIdEqual=entry_id, systemNameEqual=n) for n in names if "," in n]


def _names(upload: Upload) -> list[str]:
    return sorted({item.system_name for item in upload.items if item.system_name is not None})


def lookup_existing(upload: Upload) -> Op:
    """Which of the upload's ids and systemNames (on its entry) exist on the server."""
    found = Existing()
    ids = sorted({item.id for item in upload.items if item.id is not None})
    filters = _name_filters(upload.entry_id, _names(upload))
    if len(filters) > 1 and (yield from entry_count(upload.entry_id)) == 0:
        # An entry with no cue points holds none of the names: one ``count`` instead of a ``list``
        # per 150 names (what a migration into fresh entries would otherwise pay before each upload).
        # It is the same snapshot the lists would take; what lands after it is the settle's business.
        filters = []
    for flt in filters:
        for obj in (yield from _list_all(flt)):
            found.seen.add(str(obj["id"]))
            if obj.get("systemName") is not None:
                found.names.setdefault(str(obj["systemName"]), (str(obj["id"]), str(obj["cuePointType"])))
    for batch in _batches([i for i in ids if "," not in i], _MAX_ID_IN):
        for obj in (yield from _list_all(KalturaCuePointFilter(idIn=batch))):
            found.seen.add(str(obj["id"]))
            found.ids[str(obj["id"])] = str(obj["cuePointType"])
    return found


def named_cue_points(entry_id: str, names: list[str]) -> Op:
    """Every live cue point on the entry carrying one of ``names``: name -> [objects], oldest first."""
    out: dict[str, list[dict[str, Any]]] = {}
    for flt in _name_filters(entry_id, names):
        for obj in (yield from _list_all(flt)):
            if obj.get("systemName") is not None:
                out.setdefault(str(obj["systemName"]), []).append(obj)
    for copies in out.values():
        copies.sort(key=age)
    return out


def age(obj: Mapping[str, Any]) -> tuple[int, int, str]:
    """Sort key, oldest first: ``intId`` (the server's insert order), then ``createdAt``, then id."""

    def number(value: Any) -> int:
        try:
            return int(value)
        except (TypeError, ValueError):
            return 2**63

    return number(obj.get("intId")), number(obj.get("createdAt")), str(obj.get("id"))


def entry_count(entry_id: str) -> Op:
    """How many live cue points the entry has (``count``)."""
    flt = KalturaCuePointFilter(entryIdEqual=entry_id)
    count: int = yield Call(build=lambda ctx: cue_point_count(ctx, flt, service=_SERVICE), what="cuePoint.count")
    return int(count)


# ---------------------------------------------------------------------------------------------
# Sending
# ---------------------------------------------------------------------------------------------


def send_upload(plan: PushPlan, upload: Upload, what: str, *, safe: bool, reason: str) -> Op:
    """One ``addFromBulk`` of ``upload``: its XML rendered ahead (``upload.body``) or streamed from the
    writer (rendered again on every attempt). Returns the answer's cue points as
    :func:`~cuepipe.kaltura.cue_point_keys` (type, id, entryId, systemName, startTime).

    ``settle_unknown``: the engine never repeats it when the answer is lost (it would race the
    request still on the server); :func:`recover` settles it. It is repeated only when it certainly
    did not run (no connection, HTTP 429) and a repeat cannot duplicate anything (``safe``).
    """

    def build(ctx: Context) -> Request:
        return cue_point_add_from_bulk(
            ctx,
            upload.body if upload.body is not None else render(upload, plan.unsupported),
            filename=f"cuepipe-upload-{upload.number}.xml",
            size=upload.size,
            service=plan.service,
            keys_only=True,  # the mapping needs no more, and the server waits while the answer is decoded
        )

    page: ListPage[dict[str, Any]] = yield Call(
        build=build,
        write=True,
        replay_safe=safe,
        settle_unknown=True,
        what=what,
        rows=upload.rows,
        entry_id=upload.entry_id,
        upload=upload.number,
        unsafe_reason=reason,
    )
    return list(page.objects)


def root_cause(exc: BaseException) -> BaseException:
    """The transport or API error behind an :class:`OutcomeUnknownError` (for short messages)."""
    if isinstance(exc, OutcomeUnknownError) and exc.__cause__ is not None:
        return exc.__cause__
    return exc


def in_flight(exc: BaseException) -> bool:
    """Whether the request may still be held or running on the server after this failure.

    A Kaltura API error is an answer: the request is over. A lost answer (timeout, dropped
    connection) or an HTTP 5xx (a gateway may have passed the request on) leaves it open.
    """
    if isinstance(exc, OutcomeUnknownError):
        exc = exc.__cause__ or exc
    if isinstance(exc, KalturaAPIError):
        return False
    return isinstance(exc, httpx.HTTPError | TransportError | KalturaHTTPError | OutcomeUnknownError)


# ---------------------------------------------------------------------------------------------
# Watching an entry until an in-flight request has settled
# ---------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Watch:
    """The outcome of :func:`watch`: the last listing, whether it went quiet, and how long it took."""

    found: dict[str, list[dict[str, Any]]]
    settled: bool
    waited: float


def _signature(found: dict[str, list[dict[str, Any]]]) -> frozenset[tuple[str, str, str]]:
    return frozenset(
        (name, str(obj.get("id")), str(obj.get("updatedAt"))) for name, copies in found.items() for obj in copies
    )


def watch(plan: PushPlan, upload: Upload, what: str) -> Op:
    """List the upload's systemNames until nothing changed for ``settle.quiet`` seconds.

    Bounded by ``settle.limit``: then :attr:`Watch.settled` is False (something is still writing
    these names). Changes are new copies, removed ones and ``updatedAt`` moving.
    """
    settle = plan.settle
    names = _names(upload)
    start = time.monotonic()
    last: frozenset[tuple[str, str, str]] | None = None
    changed_at = start
    log.info("%s: watching entry %s until it has not changed for %g s", what, upload.entry_id, settle.quiet)
    while True:
        found = yield from named_cue_points(upload.entry_id, names)
        now = time.monotonic()
        signature = _signature(found)
        if signature != last:
            last, changed_at = signature, now
        elif now - changed_at >= settle.quiet:
            return Watch(found, True, now - start)
        if now - start >= settle.limit:
            log.warning(
                "%s: entry %s was still changing after %g s; going on (late duplicates are possible)",
                what,
                upload.entry_id,
                settle.limit,
            )
            return Watch(found, False, now - start)
        yield Sleep(max(0.0, min(settle.poll, changed_at + settle.quiet - now)) or settle.poll)


# ---------------------------------------------------------------------------------------------
# Recovery
# ---------------------------------------------------------------------------------------------


def split_landed(upload: Upload, before: Existing | None, now: Existing) -> tuple[dict[int, str], list[Item]]:
    """Which cue points an interrupted upload certainly created, and the rest (to send again).

    Landed: a systemName absent before the first attempt and present now, with the element's type;
    it exists only because of that attempt, with exactly the values sent. Everything else is sent
    again: absent ones get created, and ones that existed before get the (idempotent) update, since
    nothing tells whether the interrupted attempt reached them. Without ``before`` nothing counts
    as landed and the whole upload is sent again, an update where it did land.
    """
    landed: dict[int, str] = {}
    rest: list[Item] = []
    for item in upload.items:
        name = item.system_name
        if (
            before is not None
            and name is not None
            and name not in before.names
            and name in now.names
            and (item.type is None or now.names[name][1] == item.type)
        ):
            landed[item.position] = now.names[name][0]
        else:
            rest.append(item)
    return landed, rest


def recover(
    plan: PushPlan,
    upload: Upload,
    before: Existing | None,
    table: ResultTable,
    journal: Journal | None,
    what: str,
    cause: BaseException | None,
) -> Op:
    """Finish an upload whose outcome is unknown: settle, send only what is missing, sweep copies.

    ``cause`` None: an upload a killed run left in flight (from the journal). See the module
    docstring for the steps and for what is guaranteed.
    """
    policy = plan.retries
    report = Recovery(
        upload.number,
        upload.entry_id,
        describe(root_cause(cause)) if cause is not None else "an earlier run stopped while this upload was in flight",
    )
    table.recoveries.append(report)
    last: BaseException = cause if cause is not None else RuntimeError(report.cause)
    open_request = cause is None or in_flight(cause)  # a request may still be held or running
    raced = False  # something was sent while an earlier request may still be running
    has_names = any(item.system_name is not None for item in upload.items)
    refused: tuple[int, int] | None = None  # (first missing position, landed count) at an API error
    first = True
    for attempt in range(policy.max_retries + 1):
        if open_request and has_names:
            seen = yield from watch(plan, upload, what)
            report.waited += seen.waited
            report.settled &= seen.settled
        elif not first:
            yield Sleep(policy.delay(attempt))
        now = yield from lookup_existing(upload)
        landed, rest = split_landed(upload, before, now)
        for item in upload.items:
            if item.position in landed:
                table.landed(item, landed[item.position])
        if first:
            report.landed = len(landed)
            first = False
        log.info(
            "%s: %d of %d cue points landed; sending the other %d", what, len(landed), len(upload.items), len(rest)
        )
        if not rest:
            break
        if not open_request:
            # The last answer was an API error after K scenes: the first missing row is where the
            # server stopped. Stop if it refuses that row for a known reason, or a second time.
            stop = first_missing(rest, now)
            reason = yield from diagnose(upload, stop)
            if reason is not None or refused == (stop.position, len(landed)):
                raise upload_failed(upload, stop, reason, _known_ids(upload, now, landed), last)
            refused = (stop.position, len(landed))
        part = Upload(upload.number, upload.entry_id, rest)
        part.body = render_bytes(part, plan.unsupported)
        part.size = len(part.body)
        safe, reason_unsafe = replay_safety(part, now)
        if not safe:
            raise OutcomeUnknownError(
                what, last, rows=upload.rows, entry_id=upload.entry_id, upload=upload.number, reason=reason_unsafe
            )
        if journal is not None:
            journal.resending(upload.number)
        report.resent += len(rest)
        report.resent_rows.extend(item.row for item in rest)
        raced |= open_request
        try:
            objects = yield from send_upload(plan, part, f"{what}, {len(rest)} cue points again", safe=True, reason="")
        except CuepipeError as exc:
            if failure_action(exc) != "unknown":
                raise
            last = exc
            open_request = in_flight(exc)
            log.warning("%s: outcome still unknown (%s)", what, describe(root_cause(exc)))
            continue
        table.apply_items(upload.number, rest, objects, before if before is not None else now)
        break
    else:
        if isinstance(last, OutcomeUnknownError) and last.__cause__ is not None:
            last = last.__cause__
        raise OutcomeUnknownError(
            what,
            last,
            rows=upload.rows,
            entry_id=upload.entry_id,
            upload=upload.number,
            reason=f"still unknown after {policy.max_retries + 1} checks with list; the "
            "journal (if any) keeps it for the next run",
        )
    if raced and has_names:
        seen = yield from watch(plan, upload, what)
        report.waited += seen.waited
        report.settled &= seen.settled
    yield from sweep_duplicates(upload, before, table, report)
    log.info("%s: %s", what, report.text())


def sweep_duplicates(upload: Upload, before: Existing | None, table: ResultTable, report: Recovery) -> Op:
    """Delete copies a racing request inserted: per systemName of the upload, every live cue point of
    the row's type beyond the oldest, unless it existed before the push (``before.seen``) or has
    children (deleting a cue point deletes its children). The row's result id becomes the kept one.

    The oldest is kept because the server resolves a systemName to the oldest live copy, so it is the
    one children inserted meanwhile (``parentSystemName``) point to."""
    names = _names(upload)
    if not names:
        return
    found = yield from named_cue_points(upload.entry_id, names)
    old = before.seen if before is not None else set()
    for item in upload.items:
        if item.system_name is None:
            continue
        copies = [o for o in found.get(item.system_name, []) if item.type is None or o.get("cuePointType") == item.type]
        if len(copies) < 2:
            continue
        keep, extra = plan_sweep(copies, old)
        table.keep(item, str(keep.get("id")))
        for obj in extra:
            cue_point_id = str(obj.get("id"))
            if children_count(obj):
                report.kept.append((cue_point_id, item.system_name))
                log.warning(
                    "upload %d: second copy %s of systemName %r on entry %s has children; not deleted",
                    upload.number,
                    cue_point_id,
                    item.system_name,
                    upload.entry_id,
                )
                continue
            log.warning(
                "upload %d: deleting %s, a second copy of systemName %r on entry %s left by a racing request",
                upload.number,
                cue_point_id,
                item.system_name,
                upload.entry_id,
            )
            try:
                yield delete_call(cue_point_id, f"cuePoint.delete({cue_point_id}) (duplicate)")
            except KalturaNotFoundError:
                pass
            report.swept.append((cue_point_id, item.system_name))


def children_count(obj: Mapping[str, Any]) -> int:
    try:
        return int(obj.get("directChildrenCount") or 0)
    except (TypeError, ValueError):
        return 0


def plan_sweep(copies: list[dict[str, Any]], keep_ids: set[str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Of the live copies of one key (oldest first): the one to keep and the ones to delete.

    Kept: the oldest; never deleted: ``keep_ids`` (cue points that existed before a push)."""
    ordered = sorted(copies, key=age)
    keep = ordered[0]
    return keep, [o for o in ordered[1:] if str(o.get("id")) not in keep_ids]


# ---------------------------------------------------------------------------------------------
# Diagnosis of a part-way failure
# ---------------------------------------------------------------------------------------------


def _get(cue_point_id: str) -> Op:
    """The live cue point with this id, or None."""
    objects = yield from _list_all(KalturaCuePointFilter(idEqual=cue_point_id))
    return objects[0] if objects else None


def diagnose(upload: Upload, item: Item) -> Op:
    """Why the server may have refused ``item``, checked against the server, or None when no usual
    cause applies: a quiz answer whose question is missing, on another entry or not a question (the
    server's answer handler fails on it, docs/kaltura-api.md)."""
    if item.type != voc.CuePointType.QUIZ_ANSWER.value:
        return None
    parent = item.record.get("parentId")
    if not isinstance(parent, str) or not parent:
        return "a quiz answer needs the parentId of its question"
    if any(other.id == parent for other in upload.items if other.position < item.position):
        return None
    try:
        question = yield from _get(parent)
    except KalturaAPIError:
        return None
    if question is None:
        return f"its question {parent} (parentId) does not exist: push the quiz questions first"
    if question.get("cuePointType") != voc.CuePointType.QUIZ_QUESTION.value:
        return f"its parentId {parent} is a {question.get('cuePointType')}, not a quiz question"
    if question.get("entryId") != item.entry_id:
        return f"its question {parent} is on entry {question.get('entryId')}, not on {item.entry_id}"
    return None


def upload_failed(
    upload: Upload,
    failed: Item | None,
    reason: str | None,
    ids: Mapping[int, str],
    cause: BaseException,
) -> UploadFailedError:
    """The structured error of an upload the server stopped part-way through, at ``failed``.

    The server applies scenes in document order and stops at the first failing one, so the rows
    before ``failed`` were saved (``ids``: their server ids where known) and the rows after it were
    not. ``failed`` None: nothing could be learnt, every row's outcome is unknown.
    """
    if failed is None:
        return UploadFailedError(cause, unknown_rows=[item.row for item in upload.items])
    at = next(i for i, item in enumerate(upload.items) if item is failed)
    saved = upload.items[:at]
    return UploadFailedError(
        cause,
        saved_rows=[item.row for item in saved],
        saved_ids={item.row: ids[item.position] for item in saved if item.position in ids},
        failed_row=failed.row,
        failed_type=failed.type,
        reason=reason,
        unsaved_rows=[item.row for item in upload.items[at + 1 :]],
    )


def first_missing(rest: list[Item], now: Existing) -> Item:
    """Where the server stopped: the first row not sent again only because it exists from before."""
    for item in rest:
        if item.system_name is not None and item.system_name not in now.names:
            return item
        if item.system_name is None and (item.id is None or item.id not in now.ids):
            return item
    return rest[0]


def _known_ids(upload: Upload, now: Existing, landed: Mapping[int, str]) -> dict[int, str]:
    ids = dict(landed)
    for item in upload.items:
        if item.position in ids:
            continue
        if item.system_name is not None and item.system_name in now.names:
            ids[item.position] = now.names[item.system_name][0]
        elif item.id is not None and item.id in now.ids:
            ids[item.position] = item.id
    return ids


def landed_without_names(plan: PushPlan, upload: Upload, count_before: int | None, cause: BaseException) -> Op:
    """After an API error part-way through an upload without systemNames: which rows were saved.

    The server saved the first K scenes (in document order) and stopped. K is the change of the
    entry's cue point count; the newest K cue points on the entry must then match the first K rows
    by type and start time (anything else, e.g. another writer on the entry, leaves every row
    unknown). Returns the :class:`UploadFailedError` to raise.
    """
    unknown_all = upload_failed(upload, None, None, {}, cause)
    if count_before is None:
        return unknown_all
    try:
        after = yield from entry_count(upload.entry_id)
        k = after - count_before
        if not 0 <= k < len(upload.items):
            return unknown_all
        newest: list[dict[str, Any]] = []
        if k:
            flt = KalturaCuePointFilter(entryIdEqual=upload.entry_id, orderBy="-intId")
            pager = KalturaFilterPager(pageSize=k, pageIndex=1)
            page: ListPage[dict[str, Any]] = yield list_call(flt, pager, "cuePoint.list (newest cue points)")
            newest = list(reversed(page.objects))
    except CuepipeError as exc:
        log.info("cannot tell which rows were saved: %s", describe(exc))
        return unknown_all
    saved: dict[int, str] = {}
    for item, obj in zip(upload.items[:k], newest, strict=False):
        start = start_ms(item)
        if obj.get("cuePointType") != item.type or start is None or abs(int(obj.get("startTime") or 0) - start) > 1:
            return unknown_all
        saved[item.position] = str(obj.get("id"))
    if len(saved) != k:
        return unknown_all
    failed = upload.items[k]
    reason = yield from diagnose(upload, failed)
    return upload_failed(upload, failed, reason, saved, cause)


__all__ = [
    "Watch",
    "age",
    "diagnose",
    "entry_count",
    "first_missing",
    "in_flight",
    "landed_without_names",
    "lookup_existing",
    "named_cue_points",
    "plan_sweep",
    "recover",
    "send_upload",
    "split_landed",
    "sweep_duplicates",
    "watch",
]

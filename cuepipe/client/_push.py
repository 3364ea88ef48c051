"""push: records -> ingest XML uploads (``addFromBulk``) -> server ids mapped back to the input.

Planning (pure): every upload holds the cue points of **one entry** only. The server checks each
scene's entry as it goes and aborts at the first unknown one after committing the scenes before it
(docs/format-notes.md#insert-or-update, #partial-failure); with one entry per upload an unknown entry fails the whole
upload before anything of it is written, and a failure belongs to one known group of rows. A child that names its parent
by ``parentSystemName`` is resolved only against scenes saved before it, so parent and children travel in the same
upload, parents first; such a family is never split, even when it is larger than ``chunk_size`` (it then forms one
upload of its own).

Everything is rendered once before the first request, so an input error (a value the ingest format
cannot carry) is reported with its input row before anything is written; that pass also gives each
upload's exact size, so the streamed body is sent with a ``Content-Length``.

Before each upload the cue points it names (by ``systemName`` on the entry, by id) are looked up
with ``list``: that tells ``created`` from ``updated`` and which ids exist. Only then is an upload
*replay safe*: when every cue point has a ``systemName`` or an id the server knows, a repeat updates
the same cue points instead of adding new ones, so an upload whose outcome is unknown (timeout,
dropped connection, 5xx) may be sent again. Otherwise the client stops with
:class:`~cuepipe.client.OutcomeUnknownError` naming the rows.

The response lists the created/updated cue points in document order and leaves out scenes the
server skipped (an existing cue point of another type, docs/format-notes.md#insert-or-update). When the counts agree the
mapping is positional; when they differ each row is matched on type, entry, id/systemName and start
time, never by blind position.

Settling an unknown outcome (:func:`recover`). Transport failures of a replay-safe upload are
repeated by the engine at once (a repeat is an update where the first attempt landed). When the
outcome is still unknown after that, or the server failed *after* committing part of the upload
(``INTERNAL_SERVERL_ERROR`` after K scenes, docs/format-notes.md#partial-failure), the upload is settled with ``list``:
cue points whose systemName was absent before the first attempt and is present now landed and are
kept as they are; only the others are sent again; then copies a late request may have created are
deleted (never cue points that existed before). With a journal (:mod:`._journal`) the same happens
for an upload a killed run left in flight, using the lookup the journal stored before it was sent.
"""

from __future__ import annotations

import hashlib
import heapq
import os
from collections.abc import Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

from .. import frames
from .. import vocabulary as voc
from ..errors import CuepipeError, CuePointValueError
from ..kaltura import (
    CUE_POINT_SERVICE,
    InvalidEntryIdError,
    KalturaAPIError,
    KalturaCuePointFilter,
    KalturaFilterPager,
    KalturaHTTPError,
    KalturaInvalidRequestError,
    KalturaNotFoundError,
    KalturaPermissionError,
    KalturaSessionError,
    cue_point_add_from_bulk,
    cue_point_delete,
    cue_point_list,
)
from ..kaltura.filters import MAX_PAGE_SIZE
from ..kaltura.responses import ListPage
from ..values import is_missing, to_milliseconds
from ..xml import iter_cue_points, iter_xml_chunks
from ._base import Call, Engine, Op, Progress, ProgressCallback, Retries, Sleep, cue_point_service, log
from ._errors import OutcomeUnknownError, PushError, describe
from ._journal import Journal, PlannedUpload

Errors = Literal["raise", "collect"]
Unsupported = Literal["error", "ignore"]

#: ``action`` values in the push result.
ACTIONS = ("created", "updated", "skipped", "failed", "unknown", "not_sent")
RESULT_COLUMNS = ("cuePointType", "entryId", "systemName", "startTime", "id", "action", "upload", "error")


@dataclass(slots=True)
class Item:
    """One input cue point: its row label, position, record and the keys used for planning/matching."""

    row: Hashable
    position: int
    record: dict[str, Any]
    type: str | None
    entry_id: str
    system_name: str | None
    id: str | None
    parent_name: str | None


@dataclass(slots=True)
class Upload:
    number: int
    entry_id: str
    items: list[Item]
    size: int = 0
    digest: str = ""  # SHA-256 of the XML, when a journal needs it

    @property
    def rows(self) -> tuple[Hashable, ...]:
        return tuple(item.row for item in self.items)


@dataclass(slots=True)
class Existing:
    """What the pre-upload lookup found: id -> type, systemName -> (id, type), and every id seen.

    ``seen`` includes every cue point the lookup returned (also a second one with the same
    systemName, which old data can have), so that a duplicate sweep never touches what was there.
    """

    ids: dict[str, str] = field(default_factory=dict)
    names: dict[str, tuple[str, str]] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)

    def to_json(self) -> dict[str, Any]:
        return {"ids": self.ids, "names": {k: list(v) for k, v in self.names.items()}, "seen": sorted(self.seen)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Existing | None:
        if data is None:
            return None
        return cls(
            ids=dict(data.get("ids", {})),
            names={k: (v[0], v[1]) for k, v in data.get("names", {}).items()},
            seen=set(data.get("seen", ())),
        )


# ---------------------------------------------------------------------------------------------
# Input
# ---------------------------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    if is_missing(value) or value == "":
        return None
    return value if isinstance(value, str) else str(value)


def _type_of(value: Any) -> str | None:
    try:
        return voc.type_info(value).api_type.value
    except KeyError:
        return None  # the XML pass reports it with the row


def read_input(data: Any) -> tuple[list[Hashable], list[dict[str, Any]], pd.Index | None]:
    """Row labels, records and (for a DataFrame) the input index, from any supported input."""
    if isinstance(data, pd.DataFrame):
        return list(data.index), list(frames.frame_to_records(data)), data.index
    if isinstance(data, str | os.PathLike):
        path = os.fspath(data)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"no such file: {path}")
        if frames.table_format(path) == "xml":
            records = [dict(r) for r in iter_cue_points(path)]
        else:
            records = [r for chunk in frames.read_table(path) for r in frames.frame_to_records(chunk)]
        return list(range(len(records))), records, None
    if isinstance(data, bytes | bytearray | memoryview):
        records = [dict(r) for r in iter_cue_points(bytes(data))]
        return list(range(len(records))), records, None
    if isinstance(data, Mapping):
        raise TypeError("push takes many cue points: a DataFrame, a list of dicts, or a path to a file")
    if not isinstance(data, Iterable):
        raise TypeError(f"push takes a DataFrame, an iterable of dicts or a path, not {type(data).__name__}")
    records = []
    for i, rec in enumerate(data):
        if not isinstance(rec, Mapping):
            raise CuePointValueError(f"expected a dict, got {type(rec).__name__}", record=i)
        records.append(dict(rec))
    return list(range(len(records))), records, None


def make_items(labels: list[Hashable], records: list[dict[str, Any]]) -> list[Item]:
    items = []
    for position, (row, rec) in enumerate(zip(labels, records, strict=True)):
        entry = rec.get("entryId")
        if is_missing(entry) or entry == "":
            raise CuePointValueError(
                "entryId is required: every cue point belongs to an entry", record=row, field="entryId"
            )
        if not isinstance(entry, str):
            raise CuePointValueError(
                f"expected text, got {type(entry).__name__} {entry!r}", record=row, field="entryId"
            )
        items.append(
            Item(
                row=row,
                position=position,
                record=rec,
                type=_type_of(rec.get("cuePointType")),
                entry_id=entry,
                system_name=_text(rec.get("systemName")),
                id=_text(rec.get("id")),
                parent_name=_text(rec.get("parentSystemName")),
            )
        )
    return items


# ---------------------------------------------------------------------------------------------
# Planning
# ---------------------------------------------------------------------------------------------


def _check_unique(group: list[Item], entry: str) -> dict[str, Item]:
    """systemNames are unique per entry: a second one would update the first within the same push."""
    by_name: dict[str, Item] = {}
    for item in group:
        if item.system_name is not None:
            first = by_name.setdefault(item.system_name, item)
            if first is not item:
                raise CuePointValueError(
                    f"systemName {item.system_name!r} is also used by row {first.row} on entry {entry}; the server "
                    "would update the first cue point with the second, so one of them would be lost",
                    record=item.row,
                    field="systemName",
                )
    return by_name


def _check_ids(items: list[Item]) -> None:
    """Ids are global: two rows naming one id would both update (or move) the same cue point."""
    by_id: dict[str, Item] = {}
    for item in items:
        if item.id is not None:
            first = by_id.setdefault(item.id, item)
            if first is not item:
                raise CuePointValueError(f"id {item.id!r} is also used by row {first.row}", record=item.row, field="id")


def _order(group: list[Item], by_name: dict[str, Item]) -> list[Item]:
    """Parents before their children, otherwise input order (a stable topological sort)."""
    children: dict[int, list[Item]] = {}
    waiting: dict[int, int] = {}
    for item in group:
        parent = by_name.get(item.parent_name) if item.parent_name is not None else None
        if parent is not None:
            children.setdefault(parent.position, []).append(item)
            waiting[item.position] = 1
    ready = [(item.position, item) for item in group if item.position not in waiting]
    heapq.heapify(ready)
    ordered: list[Item] = []
    while ready:
        _, item = heapq.heappop(ready)
        ordered.append(item)
        for child in children.get(item.position, ()):
            heapq.heappush(ready, (child.position, child))
    if len(ordered) != len(group):
        stuck = [item for item in group if item not in ordered]
        rows = ", ".join(str(item.row) for item in stuck[:10])
        raise CuePointValueError(
            f"parentSystemName references form a cycle (rows {rows})", record=stuck[0].row, field="parentSystemName"
        )
    return ordered


def _families(ordered: list[Item], by_name: dict[str, Item]) -> list[list[Item]]:
    """Groups of items linked by parentSystemName, each in the order given, by first appearance."""
    root: dict[int, int] = {}

    def find(p: int) -> int:
        while root.get(p, p) != p:
            p = root[p]
        return p

    for item in ordered:
        parent = by_name.get(item.parent_name) if item.parent_name is not None else None
        if parent is not None:
            a, b = find(item.position), find(parent.position)
            if a != b:
                root[max(a, b)] = min(a, b)
    families: dict[int, list[Item]] = {}
    for item in ordered:
        families.setdefault(find(item.position), []).append(item)
    return list(families.values())


def plan_uploads(items: list[Item], chunk_size: int) -> list[Upload]:
    """Split into uploads: one entry each, at most ``chunk_size`` cue points unless a family is larger."""
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive integer, not {chunk_size!r}")
    _check_ids(items)
    groups: dict[str, list[Item]] = {}
    for item in items:
        groups.setdefault(item.entry_id, []).append(item)
    uploads: list[Upload] = []
    for entry, group in groups.items():
        by_name = _check_unique(group, entry)
        ordered = _order(group, by_name)
        rank = {item.position: i for i, item in enumerate(ordered)}
        current: list[Item] = []
        for family in _families(ordered, by_name):
            if current and len(current) + len(family) > chunk_size:
                uploads.append(Upload(len(uploads) + 1, entry, sorted(current, key=lambda it: rank[it.position])))
                current = []
            current.extend(family)
        if current:
            uploads.append(Upload(len(uploads) + 1, entry, sorted(current, key=lambda it: rank[it.position])))
    return uploads


def render(upload: Upload, unsupported: Unsupported) -> Iterator[bytes]:
    """The upload's ingest XML as byte chunks; errors name the input row, not the position in the upload."""
    try:
        yield from iter_xml_chunks((item.record for item in upload.items), kind="ingest", unsupported=unsupported)
    except CuePointValueError as exc:
        row = exc.record
        if isinstance(row, int) and 0 <= row < len(upload.items):
            row = upload.items[row].row
        raise CuePointValueError(exc.reason, record=row, field=exc.field) from None


def measure(upload: Upload, unsupported: Unsupported) -> int:
    """Render once (checking every value) and return the document's size in bytes."""
    return sum(len(chunk) for chunk in render(upload, unsupported))


def measure_and_digest(upload: Upload, unsupported: Unsupported) -> tuple[int, str]:
    """Like :func:`measure`, also returning the SHA-256 of the exact bytes that will be sent."""
    h = hashlib.sha256()
    size = 0
    for chunk in render(upload, unsupported):
        size += len(chunk)
        h.update(chunk)
    return size, h.hexdigest()


def require_keys(items: list[Item]) -> None:
    """A journaled push is exactly-once only for cue points the server can find again: by systemName
    (on its entry) or by id. Without either, nothing tells whether an interrupted upload landed."""
    for item in items:
        if item.system_name is None and item.id is None:
            raise CuePointValueError(
                "a push with journal= needs a systemName (or the id of an existing cue point) on every cue point: "
                "after an interrupted upload it is how the journal finds out what landed, and it makes a "
                "re-send an update instead of a duplicate",
                record=item.row,
                field="systemName",
            )


# ---------------------------------------------------------------------------------------------
# Lookup, safety, matching
# ---------------------------------------------------------------------------------------------


def _batches(values: list[str], size: int = MAX_PAGE_SIZE) -> Iterator[list[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _list_all(flt: KalturaCuePointFilter) -> Op:
    """Every cue point matching a small filter (offset pages; the sets here are at most a few pages)."""
    out: list[dict[str, Any]] = []
    index = 1
    while True:
        pager = KalturaFilterPager(pageSize=MAX_PAGE_SIZE, pageIndex=index)
        page: ListPage[dict[str, Any]] = yield Call(
            build=lambda ctx, f=flt, p=pager: cue_point_list(ctx, f, p, service=CUE_POINT_SERVICE),
            what="cuePoint.list (existing cue points)",
        )
        out.extend(page.objects)
        if len(page.objects) < MAX_PAGE_SIZE:
            return out
        index += 1


def lookup_existing(upload: Upload) -> Op:
    """Which of the upload's ids and systemNames (on its entry) exist on the server."""
    found = Existing()
    names = sorted({item.system_name for item in upload.items if item.system_name is not None})
    ids = sorted({item.id for item in upload.items if item.id is not None})
    listable = [n for n in names if "," not in n]
    filters = [KalturaCuePointFilter(entryIdEqual=upload.entry_id, systemNameIn=batch) for batch in _batches(listable)]
    filters += [KalturaCuePointFilter(entryIdEqual=upload.entry_id, systemNameEqual=n) for n in names if "," in n]
    for flt in filters:
        for obj in (yield from _list_all(flt)):
            found.seen.add(str(obj["id"]))
            if obj.get("systemName") is not None:
                found.names.setdefault(str(obj["systemName"]), (str(obj["id"]), str(obj["cuePointType"])))
    for batch in _batches([i for i in ids if "," not in i]):
        for obj in (yield from _list_all(KalturaCuePointFilter(idIn=batch))):
            found.seen.add(str(obj["id"]))
            found.ids[str(obj["id"])] = str(obj["cuePointType"])
    return found


def named_cue_points(upload: Upload) -> Op:
    """Every live cue point on the upload's entry carrying one of its systemNames: name -> [objects]."""
    names = sorted({item.system_name for item in upload.items if item.system_name is not None})
    filters = [
        KalturaCuePointFilter(entryIdEqual=upload.entry_id, systemNameIn=batch)
        for batch in _batches([n for n in names if "," not in n])
    ]
    filters += [KalturaCuePointFilter(entryIdEqual=upload.entry_id, systemNameEqual=n) for n in names if "," in n]
    out: dict[str, list[dict[str, Any]]] = {}
    for flt in filters:
        for obj in (yield from _list_all(flt)):
            if obj.get("systemName") is not None:
                out.setdefault(str(obj["systemName"]), []).append(obj)
    return out


def replay_safety(upload: Upload, existing: Existing | None) -> tuple[bool, str]:
    """Whether sending the upload again cannot create duplicates, and why not."""
    unsafe = [
        item
        for item in upload.items
        if item.system_name is None and (item.id is None or (existing is not None and item.id not in existing.ids))
    ]
    if not unsafe:
        return True, ""
    return False, (
        f"{len(unsafe)} of its cue points have neither a systemName nor an id known to the server, "
        "so sending it again could create duplicates"
    )


def predict(item: Item, existing: Existing | None) -> str | None:
    """created / updated / skipped as the server will decide (docs/format-notes.md#insert-or-update), or None if
    unknown."""
    if existing is None:
        return "created" if item.id is None and item.system_name is None else None
    target: str | None = None
    if item.id is not None and item.id in existing.ids:
        target = existing.ids[item.id]
    elif item.system_name is not None and item.system_name in existing.names:
        target = existing.names[item.system_name][1]
    if target is None:
        return "created"
    return "updated" if item.type is None or target == item.type else "skipped"


def _start(item: Item) -> int | None:
    try:
        return to_milliseconds(item.record.get("startTime"))
    except (TypeError, ValueError):
        return None


def matches(item: Item, obj: Mapping[str, Any], existing: Existing | None) -> bool:
    """Could ``obj`` (a created/updated cue point in the response) be the server's answer to ``item``?"""
    if obj.get("cuePointType") != item.type or obj.get("entryId") != item.entry_id:
        return False
    if item.id is not None and obj.get("id") == item.id:
        return True
    if item.id is not None and existing is not None and item.id in existing.ids:
        return False  # the server updates that id or skips the scene; another id cannot be this row's
    if item.system_name is not None:
        return obj.get("systemName") == item.system_name
    start = _start(item)
    got = obj.get("startTime")
    return start is not None and isinstance(got, int) and abs(got - start) <= 1


def align(
    items: list[Item], objects: list[Mapping[str, Any]], existing: Existing | None
) -> tuple[list[Mapping[str, Any] | None], list[Mapping[str, Any]]]:
    """Pair each item with its response object (None when skipped); also return unmatched objects."""
    if len(objects) == len(items) and all(
        obj.get("cuePointType") == item.type for item, obj in zip(items, objects, strict=True)
    ):
        return list(objects), []
    paired: list[Mapping[str, Any] | None] = [None] * len(items)
    j = 0
    for i, item in enumerate(items):
        if j < len(objects) and matches(item, objects[j], existing):
            paired[i] = objects[j]
            j += 1
    return paired, list(objects[j:])


# ---------------------------------------------------------------------------------------------
# Result
# ---------------------------------------------------------------------------------------------


class ResultTable:
    """The push result, filled upload by upload; one row per input row, in input order."""

    def __init__(self, items: list[Item], index: pd.Index | None) -> None:
        self.items = items
        self.index = index
        n = len(items)
        self.ids: list[str | None] = [None] * n
        self.actions: list[str | None] = ["not_sent"] * n
        self.uploads: list[int | None] = [None] * n
        self.errors: list[str | None] = [None] * n

    def planned(self, upload: Upload) -> None:
        for item in upload.items:
            self.uploads[item.position] = upload.number

    def fail(self, upload: Upload, action: str, message: str) -> None:
        for item in upload.items:
            self.actions[item.position] = action
            self.errors[item.position] = message

    def apply(self, upload: Upload, objects: list[Mapping[str, Any]], existing: Existing | None) -> None:
        self.apply_items(upload.number, upload.items, objects, existing)

    def apply_items(
        self, number: int, items: list[Item], objects: list[Mapping[str, Any]], existing: Existing | None
    ) -> None:
        """Map a response to its items (all of an upload, or the part a recovery sent again)."""
        paired, extra = align(items, objects, existing)
        for item, obj in zip(items, paired, strict=True):
            pos = item.position
            self.errors[pos] = None
            if obj is None:
                self.ids[pos] = None
                self.actions[pos] = "skipped"
                self.errors[pos] = (
                    "the server skipped this cue point: the existing cue point with this "
                    "id/systemName is of another type (docs/format-notes.md#insert-or-update)"
                    if predict(item, existing) == "skipped"
                    else "the server did not return this cue point"
                )
                continue
            self.ids[pos] = str(obj.get("id"))
            action = predict(item, existing)
            if action not in ("created", "updated"):  # unknown beforehand, or the prediction was wrong
                action = "updated" if item.id is not None and obj.get("id") == item.id else None
            self.actions[pos] = action
        if extra:
            log.warning(
                "upload %d: the server returned %d cue point(s) no input row matches: %s",
                number,
                len(extra),
                ", ".join(str(o.get("id")) for o in extra[:10]),
            )

    def landed(self, item: Item, cue_point_id: str) -> None:
        """A recovery found this cue point on the server, created by an earlier attempt."""
        self.ids[item.position] = cue_point_id
        self.actions[item.position] = "created"
        self.errors[item.position] = None

    def outcome(self, upload: Upload) -> list[tuple[str | None, str | None]]:
        """``(id, action)`` per cue point of the upload, in upload order (what the journal keeps)."""
        return [(self.ids[item.position], self.actions[item.position]) for item in upload.items]

    def restore(self, upload: Upload, outcome: list[tuple[str | None, str | None]]) -> None:
        """Fill the rows of an upload an earlier run confirmed, from the journal."""
        for item, (cue_point_id, action) in zip(upload.items, outcome, strict=True):
            self.ids[item.position] = cue_point_id
            self.actions[item.position] = action
            self.errors[item.position] = None

    def frame(self) -> pd.DataFrame:
        starts = [_start(item) for item in self.items]
        data = {
            "cuePointType": pd.array(
                [item.type or _text(item.record.get("cuePointType")) for item in self.items], dtype="string"
            ),
            "entryId": pd.array([item.entry_id for item in self.items], dtype="string"),
            "systemName": pd.array([item.system_name for item in self.items], dtype="string"),
            "startTime": pd.array(starts, dtype="Int64"),
            "id": pd.array(self.ids, dtype="string"),
            "action": pd.array(self.actions, dtype="string"),
            "upload": pd.array(self.uploads, dtype="Int64"),
            "error": pd.array(self.errors, dtype="string"),
        }
        index = self.index if self.index is not None else pd.RangeIndex(len(self.items), name="row")
        return pd.DataFrame(data, index=index, columns=list(RESULT_COLUMNS))


def failure_action(exc: BaseException) -> str:
    """``failed`` when the server certainly wrote nothing of the upload, else ``unknown``."""
    if isinstance(exc, OutcomeUnknownError):
        return "unknown"
    # Refused before the first scene: a bad file, an unknown entry (one entry per upload), no rights.
    if isinstance(exc, InvalidEntryIdError | KalturaInvalidRequestError | KalturaPermissionError | KalturaSessionError):
        return "failed"
    if isinstance(exc, KalturaHTTPError) and (not exc.retryable or exc.status == 429):
        return "failed"  # 429: refused unprocessed (rate limited)
    if isinstance(exc, KalturaAPIError | KalturaHTTPError):
        # e.g. INTERNAL_SERVERL_ERROR after some scenes were committed (docs/format-notes.md#partial-failure)
        return "unknown"
    return "failed"


# ---------------------------------------------------------------------------------------------
# The operation
# ---------------------------------------------------------------------------------------------


@dataclass(slots=True)
class PushPlan:
    items: list[Item]
    index: pd.Index | None
    uploads: list[Upload]
    service: str
    unsupported: Unsupported
    errors: Errors
    detect_actions: bool
    retries: Retries = field(default_factory=Retries)
    journaled: bool = False

    def planned_uploads(self) -> list[PlannedUpload]:
        """What the journal fingerprints: every upload's number, entry, size and XML digest."""
        return [PlannedUpload(u.number, u.entry_id, u.digest, len(u.items)) for u in self.uploads]


def plan_push(
    data: Any,
    *,
    service: str,
    chunk_size: int,
    unsupported: Unsupported,
    errors: Errors,
    detect_actions: bool,
    retries: Retries | None = None,
    journaled: bool = False,
) -> PushPlan:
    """Read, check and split the input; renders everything once, so input errors surface now.

    ``journaled``: every cue point must have a systemName or an id, and each upload's XML is hashed
    for the journal's fingerprint (same pass).
    """
    if errors not in ("raise", "collect"):
        raise ValueError(f"errors must be 'raise' or 'collect', not {errors!r}")
    if unsupported not in ("error", "ignore"):
        raise ValueError(f"unsupported must be 'error' or 'ignore', not {unsupported!r}")
    labels, records, index = read_input(data)
    items = make_items(labels, records)
    if journaled:
        require_keys(items)
    uploads = plan_uploads(items, chunk_size)
    for upload in uploads:
        if journaled:
            upload.size, upload.digest = measure_and_digest(upload, unsupported)
        else:
            upload.size = measure(upload, unsupported)
    return PushPlan(
        items,
        index,
        uploads,
        service,
        unsupported,
        errors,
        detect_actions or journaled,
        retries or Retries(),
        journaled,
    )


JournalPath = str | os.PathLike[str] | None


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


def _send_upload(plan: PushPlan, upload: Upload, what: str, *, safe: bool, reason: str) -> Op:
    """One ``addFromBulk`` of ``upload`` (streamed from the writer; rendered again on every attempt)."""
    page: ListPage[dict[str, Any]] = yield Call(
        build=lambda ctx, u=upload: cue_point_add_from_bulk(
            ctx,
            render(u, plan.unsupported),
            filename=f"cuepipe-upload-{u.number}.xml",
            size=u.size,
            service=plan.service,
        ),  # type: ignore[arg-type]
        write=True,
        replay_safe=safe,
        what=what,
        rows=upload.rows,
        entry_id=upload.entry_id,
        upload=upload.number,
        unsafe_reason=reason,
    )
    return list(page.objects)


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
    """Finish an upload whose outcome is unknown: look up what landed, send only the rest, check.

    The outcome is unknown after a timeout or dropped connection that retries did not settle, after
    an error the server raises once some scenes are committed (docs/format-notes.md#partial-failure:
    ``INTERNAL_SERVERL_ERROR`` after K scenes), and for an upload a killed run left in flight. Each round waits (a late
    request may still be landing), lists the upload's systemNames/ids on its entry (:func:`lookup_existing`), and sends
    the cue points that did not certainly land (:func:`split_landed`); sending them is replay safe because each one is
    found by its systemName or id. Then :func:`sweep_duplicates`.
    """
    policy = plan.retries
    last: BaseException = (
        cause if cause is not None else RuntimeError("an earlier run stopped while this upload was in flight")
    )
    for attempt in range(policy.max_retries + 1):
        yield Sleep(max(policy.backoff / 2, policy.delay(attempt)))
        now = yield from lookup_existing(upload)
        landed, rest = split_landed(upload, before, now)
        log.info(
            "%s: %d of %d cue points landed; sending the other %d", what, len(landed), len(upload.items), len(rest)
        )
        for item in upload.items:
            if item.position in landed:
                table.landed(item, landed[item.position])
        if rest:
            part = Upload(upload.number, upload.entry_id, rest)
            part.size = measure(part, plan.unsupported)
            safe, reason = replay_safety(part, now)
            if not safe:
                raise OutcomeUnknownError(
                    what, last, rows=upload.rows, entry_id=upload.entry_id, upload=upload.number, reason=reason
                )
            if journal is not None:
                journal.resending(upload.number)
            try:
                objects = yield from _send_upload(
                    plan, part, f"{what}, {len(rest)} cue points again", safe=True, reason=""
                )
            except CuepipeError as exc:
                if failure_action(exc) != "unknown":
                    raise
                last = exc
                log.warning("%s: outcome still unknown (%s)", what, describe(exc))
                continue
            table.apply_items(upload.number, rest, objects, before if before is not None else now)
        yield from sweep_duplicates(upload, before, table)
        return
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


def sweep_duplicates(upload: Upload, before: Existing | None, table: ResultTable) -> Op:
    """Delete copies a recovered upload may have left: an interrupted request the server processed
    late, at the same time as the re-send, can insert a systemName twice (the lookup-then-insert of
    docs/format-notes.md#insert-or-update is not atomic). Only cue points that did not exist before the first attempt
    and are not the one in the result are deleted; without ``before`` nothing is."""
    if before is None:
        return
    found = yield from named_cue_points(upload)
    for item in upload.items:
        keep = table.ids[item.position]
        copies = found.get(item.system_name or "", []) if item.system_name is not None else []
        if keep is None or len(copies) < 2:
            continue
        for obj in copies:
            extra = str(obj.get("id"))
            if extra == keep or extra in before.seen:
                continue
            log.warning(
                "upload %d: deleting %s, a second copy of systemName %r on entry %s left by an interrupted request",
                upload.number,
                extra,
                item.system_name,
                upload.entry_id,
            )
            try:
                yield Call(
                    build=lambda ctx, i=extra: cue_point_delete(ctx, i, service=CUE_POINT_SERVICE),
                    write=True,
                    replay_safe=True,
                    what=f"cuePoint.delete({extra}) (duplicate)",
                )
            except KalturaNotFoundError:
                pass


def push_op(plan: PushPlan, progress: ProgressCallback | None, journal: Journal | None = None) -> Op:
    """The push: per upload, look up, record the intent, send, map the answer; recover the unknown.

    With a ``journal``, uploads an earlier run confirmed are taken from it without a request, and
    one it left in flight goes straight to :func:`recover`.
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
                safe, reason = replay_safety(upload, existing)
                if journal is not None:
                    journal.sending(upload.number, existing.to_json() if existing is not None else None)
                try:
                    objects = yield from _send_upload(plan, upload, what, safe=safe, reason=reason)
                    table.apply(upload, objects, existing)
                except CuepipeError as exc:
                    if failure_action(exc) != "unknown" or not safe:
                        raise
                    log.warning("%s: outcome unknown (%s); checking what landed", what, describe(exc))
                    yield from recover(plan, upload, existing, table, journal, what, exc)
                    recovered += 1
            if journal is not None and record is not None and record.state != "confirmed":
                journal.confirmed(upload.number, table.outcome(upload))
        except CuepipeError as exc:
            action = failure_action(exc)
            if journal is not None:
                if action == "failed":
                    journal.failed(upload.number, describe(exc))
                else:
                    journal.unknown(upload.number, describe(exc))
            table.fail(upload, action, describe(exc))
            done += len(upload.items)
            if progress is not None:
                progress(Progress("push", done, total, f"upload {upload.number} failed"))
            if plan.errors == "raise":
                raise PushError(upload.number, upload.entry_id, upload.rows, exc, table.frame()) from exc
            log.warning("%s failed: %s", what, describe(exc))
            continue
        done += len(upload.items)
        if progress is not None:
            progress(Progress("push", done, total, f"upload {upload.number}/{len(plan.uploads)}"))
    result = table.frame()
    result.attrs["uploads"] = len(plan.uploads)
    result.attrs["resumed"] = resumed
    result.attrs["recovered"] = recovered
    return result

"""Planning a push: input rows -> items -> uploads of one entry each -> rendered ingest XML.

Pure (no I/O besides reading the input file): every upload holds the cue points of **one entry**
only. The server checks each scene's entry as it goes and aborts at the first unknown one after
committing the scenes before it (docs/kaltura-api.md, addFromBulk); with one entry per upload an
unknown entry fails the whole upload before anything of it is written, and a failure belongs to one
known group of rows. A child that names its parent by ``parentSystemName`` is resolved only against
scenes saved before it, so parent and children travel in the same upload, parents first; such a
family is never split, even when it is larger than ``chunk_size`` (it then forms one upload of its own).

Everything is rendered once before the first request, so an input error (a value the ingest format
cannot carry) is reported with its input row before anything is written; that pass also gives each
upload's exact size, so the streamed body is sent with a ``Content-Length``, and its bytes are kept
for sending (up to :data:`KEEP_RENDERED`).

Sending, recovery and the result live in :mod:`._send` and :mod:`._result`; the operation that ties
them together is :mod:`._push`.
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
from ..errors import CuePointValueError
from ..kaltura.actions import CuePointService
from ..values import is_missing
from ..xml import iter_cue_points, iter_xml_chunks
from ._base import AUTO_MIN_PUSH, AUTO_PUSH_CONCURRENCY, Retries
from ._journal import PlannedUpload

Errors = Literal["raise", "collect"]
Unsupported = Literal["error", "ignore"]


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
    body: bytes | None = None  # the XML, kept from planning or rendered ahead of its turn; dropped once sent

    @property
    def rows(self) -> tuple[Hashable, ...]:
        return tuple(item.row for item in self.items)


# ---------------------------------------------------------------------------------------------
# Input
# ---------------------------------------------------------------------------------------------


def text_or_none(value: Any) -> str | None:
    if type(value) is str:  # the common cases first (planning reads three of these per cue point)
        return value or None
    if is_missing(value) or value == "":
        return None
    return value if isinstance(value, str) else str(value)


def _type_of(value: Any) -> str | None:
    if type(value) is str and value in voc.BY_API_TYPE:
        return value  # already the API value (what frames and pulls hold): no lookup by other names
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
        if type(rec) is not dict and not isinstance(rec, Mapping):
            raise CuePointValueError(f"expected a dict, got {type(rec).__name__}", record=i)
        records.append(dict(rec))
    return list(range(len(records))), records, None


def make_items(labels: list[Hashable], records: list[dict[str, Any]]) -> list[Item]:
    items: list[Item] = []
    append = items.append
    for position, (row, rec) in enumerate(zip(labels, records, strict=True)):
        get = rec.get
        entry = get("entryId")
        if type(entry) is not str or entry == "":  # plain text skips the checks (a push of 1M)
            if is_missing(entry) or entry == "":
                raise CuePointValueError(
                    "entryId is required: every cue point belongs to an entry", record=row, field="entryId"
                )
            if not isinstance(entry, str):
                raise CuePointValueError(
                    f"expected text, got {type(entry).__name__} {entry!r}", record=row, field="entryId"
                )
        name, cue_point_id, parent = get("systemName"), get("id"), get("parentSystemName")
        append(
            Item(
                row=row,
                position=position,
                record=rec,
                type=_type_of(get("cuePointType")),
                entry_id=entry,
                system_name=text_or_none(name),
                id=text_or_none(cue_point_id),
                parent_name=text_or_none(parent),
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
        if not any(item.parent_name is not None and item.parent_name in by_name for item in group):
            # no families (no question with its answers): input order, in uploads of chunk_size, which
            # is what the ordering and grouping below give, without their per-item work
            for start in range(0, len(group), chunk_size):
                uploads.append(Upload(len(uploads) + 1, entry, group[start : start + chunk_size]))
            continue
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


#: How much rendered XML a push plan keeps for sending (bytes). Every upload is rendered while
#: planning, to report input errors before anything is sent; keeping the bytes saves rendering it
#: again (about half of a push's CPU). Past this much, uploads are rendered again when their turn
#: comes (a pipelined push renders the next ones while an earlier one is written), so memory stays
#: bounded on inputs of millions of cue points.
KEEP_RENDERED = 64 << 20


def render_bytes(upload: Upload, unsupported: Unsupported) -> bytes:
    """The upload's XML in one piece (rendered ahead of its turn by a pipelined push)."""
    return b"".join(render(upload, unsupported))


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


@dataclass(frozen=True, slots=True)
class Settle:
    """How an upload whose answer was lost is settled before anything of it is sent again.

    A request the client gave up on (timeout, dropped connection, HTTP 5xx) may still be held or
    running on the server. The entry is then watched with ``list`` every ``poll`` seconds until the
    upload's cue points have not changed for ``quiet`` seconds; only then are the missing ones sent
    again. After such a re-send the entry is watched again the same way and the copies a late
    request raced in are deleted. ``limit`` bounds each watch: an entry still changing after it is
    reported (late duplicates possible; ``cuepipe dedupe`` finds and removes them).

    Exactly once holds for any delay before the server starts a held request, as long as the server
    saves each cue point of a request within ``quiet`` seconds of looking up its systemName and shows
    it in ``list`` within ``quiet`` seconds: a request that starts after the re-send finds every
    systemName and only updates (README, Reliability).
    """

    quiet: float = 10.0
    limit: float = 300.0
    poll: float = 1.0

    def __post_init__(self) -> None:
        for name in ("quiet", "limit", "poll"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise ValueError(f"settle {name} must be a positive number of seconds, not {value!r}")
        if self.limit < self.quiet:
            raise ValueError(f"settle limit ({self.limit:g} s) must be at least quiet ({self.quiet:g} s)")

    @classmethod
    def of(cls, value: Settle | float | int | None) -> Settle:
        """``None`` -> the default; a number -> that many quiet seconds (poll and limit scaled to it)."""
        if value is None:
            return cls()
        if isinstance(value, Settle):
            return value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(f"settle must be a number of seconds or a Settle, not {type(value).__name__}")
        if not value > 0:
            raise ValueError(f"settle must be a positive number of seconds, not {value!r}")
        return cls(quiet=float(value), limit=max(60.0, 30.0 * value), poll=min(1.0, value / 4))


@dataclass(slots=True)
class PushPlan:
    items: list[Item]
    index: pd.Index | None
    uploads: list[Upload]
    service: CuePointService
    unsupported: Unsupported
    errors: Errors
    detect_actions: bool
    retries: Retries = field(default_factory=Retries)
    journaled: bool = False
    settle: Settle = field(default_factory=Settle)
    concurrency: int = 1  # uploads under way at once (the client's ``concurrency``, resolved)

    def planned_uploads(self) -> list[PlannedUpload]:
        """What the journal fingerprints: every upload's number, entry, size and XML digest."""
        return [PlannedUpload(u.number, u.entry_id, u.digest, len(u.items)) for u in self.uploads]


def plan_push(
    data: Any,
    *,
    service: CuePointService,
    chunk_size: int,
    unsupported: Unsupported,
    errors: Errors,
    detect_actions: bool,
    retries: Retries | None = None,
    journaled: bool = False,
    settle: Settle | float | None = None,
    concurrency: int | None = 1,
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
    kept = 0
    for upload in uploads:
        body = render_bytes(upload, unsupported)
        upload.size = len(body)
        if journaled:
            upload.digest = hashlib.sha256(body).hexdigest()
        if kept + len(body) <= KEEP_RENDERED:
            upload.body = body  # sent as is: the upload is not rendered a second time
            kept += len(body)
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
        Settle.of(settle),
        _concurrency(concurrency, len(items), len(uploads)),
    )


def _concurrency(setting: int | None, items: int, uploads: int) -> int:
    """Requests under way at once: the setting, or (``None``, "auto") :data:`AUTO_PUSH_CONCURRENCY`
    from :data:`AUTO_MIN_PUSH` cue points on, else one."""
    if setting is not None:
        return setting
    return min(AUTO_PUSH_CONCURRENCY, uploads) if items >= AUTO_MIN_PUSH else 1

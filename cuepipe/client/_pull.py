"""pull: cue points from the server as DataFrames with cuepipe's columns, page by page.

Two precisions:

* ``"ms"`` reads ``list``: API objects keep exact milliseconds. They are mapped through
  :func:`~cuepipe.kaltura.cue_point_record` to cuepipe's columns. Fields only the API has
  (``status``, ``createdAt``, ``intId``, ``duration``...) are left out unless ``extra_columns=True``.
  Normalised so the frame compares with a served one: ``tags=""`` and ``parentId`` ``""``/``"0"``
  mean "none"; ``parentSystemName`` is filled from the parent's ``systemName`` when the parent was
  pulled too (serveBulk writes it the same way).
* ``"tenths"`` reads ``serveBulk``: what the server serves, parsed with
  :func:`cuepipe.iter_cue_points`. Times have tenths of a second at most (1234 ms -> 1200 ms; the
  server's own bug turns a 950-999 ms remainder into ``.10`` = 100 ms, docs/format-notes.md#time-values). serveBulk
  fails outright for thumb cue points and quiz questions with answers and leaves event cue points
  out (docs/format-notes.md#what-servebulk-cannot-serve); see ``unservable``.

Paging (docs/emulator.md, "Paging a large pull"): the server's search index refuses offsets of
10,000 and more, returns no row past the 10,000th, and gives no stable order among equal sort keys.
So pull never relies on deep offsets or on tie order. It reads ``list`` ordered by ``createdAt`` and
takes from each page only the cue points created *before* the page's last second, then asks again
from that second (``createdAtGreaterThanOrEqual``): a keyset over seconds, where ties inside the
last second are simply read again. A page that holds one second only is read the same way by
``startTime`` within that second; a (second, startTime) point with more than a page is split by
cue point type and then read in ``+intId`` pages (unique keys, offsets below 10,000), and one with
more than 10,000 is refused with a clear error instead of losing rows. Each cue point falls in
exactly one window, so no id is kept between pages: memory follows the page, not the total.
``entryIdIn``/``idIn`` lists longer than the index takes (150 / 500 values) are pulled in chunks.
With ``concurrency`` > 1 a pull of more than a few pages runs several such walks at once, over
parts that cannot overlap (one entry each, or consecutive ``createdAt`` ranges of one entry), and
emits their frames in a fixed order: entry by entry as the entries were given (each in creation
order), or for one entry the order of the sequential walk (:func:`_parallel_walk`).
For tenths, each list page's ids are then served with ``serveBulk(idIn=...)``. A filter without
an entry or id (allowed by serveBulk, refused by list) is split into ``createdAt`` / ``startTime``
windows by ``count`` until each window fits in one serveBulk page.

A type-specific filter restricts the type in ``list`` only; ``serveBulk`` and ``count`` ignore the
class's type on the server, so pull and count add ``cuePointTypeEqual`` (which every filter
applies) to return what the filter class asks for.

Consistency caveat: the pages are separate requests, not a snapshot. Cue points created while a
pull runs may or may not be included; one deleted mid-pull may be missing, one whose ``startTime``
changes mid-pull may move between windows. For an exact snapshot, pause writers while pulling.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

from .. import frames
from .. import vocabulary as voc
from ..filter_vocabulary import MAX_IN_VALUES, MAX_MATCHES
from ..kaltura import (
    ANNOTATION_SERVICE,
    CUE_POINT_FILTERS,
    KalturaAnnotationFilter,
    KalturaCuePointFilter,
    KalturaFilterPager,
    KalturaServerError,
    cue_point_count,
    cue_point_list,
    cue_point_record,
    cue_point_serve_bulk,
    filter_class_for,
)
from ..kaltura.filters import MAX_PAGE_SIZE
from ..kaltura.responses import ListPage
from ..xml import iter_cue_points
from ._base import Call, Emit, Op, Parallel, Progress, ProgressCallback
from ._errors import ClientError, FilterError, UnservableError

Precision = Literal["tenths", "ms"]
Unservable = Literal["error", "skip", "list"]

#: The order pull pages in: creation time, then the server's integer id (unique, increasing).
ORDER_BY = "+createdAt,+intId"
_BY_START = "+startTime,+intId"
_BY_INT_ID = "+intId"
_UNSERVABLE_TYPES = frozenset({voc.CuePointType.THUMB.value, voc.CuePointType.EVENT.value})
#: ``kTime::getRelativeTime``: the server reads times up to 10 years as relative to now, so no
#: window bound below this is ever sent (no cue point was created before 1980).
_MIN_ABSOLUTE_TIME = 315_360_001
#: ``baseObjectFilter::getMaxInValues()``: an ``idIn`` (answered by the database) keeps 500 values.
_MAX_ID_IN = 500
_NAME_CACHE = 20_000  # parents' systemNames kept between pages (bounded: memory stays flat)
_MAX_START = 2**42  # startTime windows cover 0..2**42 ms (139 years), then one open window


def coerce_filter(flt: Any, service: str) -> KalturaCuePointFilter:
    """A typed cue point filter from a filter object, a dict of its fields, or None."""
    default = KalturaAnnotationFilter if service == ANNOTATION_SERVICE else KalturaCuePointFilter
    if flt is None:
        return default()
    if isinstance(flt, KalturaCuePointFilter):
        result = flt
    elif isinstance(flt, Mapping):
        fields = dict(flt)
        object_type = fields.pop("objectType", None)
        if object_type is not None:
            try:
                cls = CUE_POINT_FILTERS[str(object_type)]
            except KeyError:
                raise FilterError(
                    f"unknown cue point filter class {object_type!r}; known: {', '.join(CUE_POINT_FILTERS)}"
                ) from None
        else:
            kind = fields.get("cuePointTypeEqual", fields.get("cue_point_type_equal"))
            cls = filter_class_for(kind) if kind is not None else default
        result = cls(**fields)
    else:
        raise TypeError(f"filter must be a Kaltura cue point filter or a dict of its fields, not {type(flt).__name__}")
    if result.values().get("orderBy") is not None:
        raise FilterError(
            f"pull sets orderBy itself ({ORDER_BY}) to page without gaps or repeats; remove "
            "orderBy and sort the DataFrame instead"
        )
    return result


def require_list_filter(flt: KalturaCuePointFilter, action: str) -> None:
    """``list``/``count`` need an id or entry filter (docs/kaltura-api.md#list-needs-an-id-or-entry-filter): say so
    before sending."""
    if not flt.has_required_for_list():
        raise FilterError(
            f"{action} needs an entry or id filter: set one of entryIdEqual, entryIdIn, idEqual, idIn on the "
            f"{type(flt).__name__} (the server answers PROPERTY_VALIDATION_CANNOT_BE_NULL otherwise)"
            + ("; precision='tenths' (serveBulk) can pull without one" if action == "pull(precision='ms')" else "")
        )


def refuse_user_filters(flt: KalturaCuePointFilter, action: str) -> None:
    """``count`` and ``serveBulk`` never translate user ids (only ``list`` calls ``translateUserIds``):
    the server compares ``userIdEqual``/``userIdIn`` with its internal user ids and finds nothing.
    Say so instead of returning an empty result that looks real."""
    values = flt.values()
    if values.get("userIdEqual") is not None or values.get("userIdIn") is not None:
        raise FilterError(
            f"{action} cannot filter by userIdEqual/userIdIn: the server compares them with its internal user "
            "ids there and matches nothing (only list translates them); add an entry or id filter and pull "
            "with precision='ms', or drop the user filter"
        )


def effective_filter(flt: KalturaCuePointFilter) -> KalturaCuePointFilter:
    """The filter with its class's type as ``cuePointTypeEqual`` (for serveBulk and count).

    ``Kaltura*CuePointFilter::getTypeListResponse`` applies the class's type in ``list`` only;
    ``serveBulk``/``count`` ignore it but do apply ``cuePointTypeEqual`` (``_eq_type``).
    """
    forced = type(flt).CUE_POINT_TYPE
    values = flt.values()
    if forced is None or values.get("cuePointTypeEqual") is not None or values.get("cuePointTypeIn"):
        return flt
    return flt.replace(cuePointTypeEqual=forced)


def _list_page(flt: KalturaCuePointFilter, pager: KalturaFilterPager, service: str) -> Call:
    return Call(
        build=lambda ctx: cue_point_list(ctx, flt, pager, service=service),  # type: ignore[arg-type]
        what=f"{service}.list",
    )


def _count(flt: KalturaCuePointFilter, service: str) -> Call:
    return Call(
        build=lambda ctx: cue_point_count(ctx, flt, service=service),  # type: ignore[arg-type]
        what=f"{service}.count",
    )


def _serve(flt: KalturaCuePointFilter, pager: KalturaFilterPager, service: str) -> Call:
    return Call(
        build=lambda ctx: cue_point_serve_bulk(ctx, flt, pager, service=service),  # type: ignore[arg-type]
        what=f"{service}.serveBulk",
    )


# ---------------------------------------------------------------------------------------------
# Records -> frames
# ---------------------------------------------------------------------------------------------


def ms_record(obj: Mapping[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """A list object as a record with the normalisation described in the module docstring."""
    rec = cue_point_record(obj) if "objectType" in obj else dict(obj)
    if rec.get("tags") == "":
        del rec["tags"]
    if rec.get("parentId") in ("", "0", 0):
        del rec["parentId"]
    parent = rec.get("parentId")
    if parent is not None and "parentSystemName" not in rec and names.get(str(parent)):
        rec["parentSystemName"] = names[str(parent)]
    return rec


def _extra_array(values: list[Any]) -> Any:
    try:
        return pd.array(values)
    except (TypeError, ValueError):
        out = pd.Series(values, dtype=object)
        return out.array


def to_frame(records: list[dict[str, Any]], extra_columns: bool) -> pd.DataFrame:
    """cuepipe's columns and dtypes; with ``extra_columns`` the API-only fields follow, by name."""
    frame = frames._records_frame(records, strict=False)  # the API-only fields are added below
    if extra_columns:
        extras: list[str] = []
        for rec in records:
            extras.extend(k for k in rec if k not in frames.DTYPES and k not in extras)
        for name in extras:
            frame[name] = _extra_array([rec.get(name) for rec in records])
    return frame


def _unservable(obj: Mapping[str, Any]) -> bool:
    kind = obj.get("cuePointType")
    if kind in _UNSERVABLE_TYPES:
        return True
    return kind == voc.CuePointType.QUIZ_QUESTION.value and bool(obj.get("optionalAnswers"))


def _serve_failed(exc: KalturaServerError) -> ClientError:
    return ClientError(
        f"serveBulk failed ({exc.code}): the server's serve output failed its own schema, e.g. a tag longer than "
        "30 characters, a time of 24 h or more, a thumb cue point or a quiz question with answers "
        "(docs/format-notes.md#what-servebulk-cannot-serve); pull with precision='ms' instead"
    )


# ---------------------------------------------------------------------------------------------
# The operations
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PullSpec:
    filter: KalturaCuePointFilter
    service: str
    precision: Precision
    page_size: int
    unservable: Unservable
    extra_columns: bool
    concurrency: int = 1  # list walks under way at once (the client's ``concurrency``)


def make_spec(
    flt: Any,
    *,
    service: str,
    precision: str,
    page_size: int,
    unservable: str,
    extra_columns: bool,
    concurrency: int = 1,
) -> PullSpec:
    """Check the arguments of pull/iter_pull before anything is sent."""
    if precision not in ("tenths", "ms"):
        raise ValueError(f"precision must be 'tenths' or 'ms', not {precision!r}")
    if unservable not in ("error", "skip", "list"):
        raise ValueError(f"unservable must be 'error', 'skip' or 'list', not {unservable!r}")
    if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be an integer from 1 to {MAX_PAGE_SIZE}, not {page_size!r}")
    typed = coerce_filter(flt, service)
    if precision == "ms":
        require_list_filter(typed, "pull(precision='ms')")
    elif not typed.has_required_for_list():
        refuse_user_filters(typed, "pull(precision='tenths') without an entry or id filter (serveBulk)")
    return PullSpec(typed, service, precision, page_size, unservable, extra_columns, concurrency)  # type: ignore[arg-type]


#: What a window walk hands each batch of cue points to (an operation: it may call the API too).
Take = Callable[[list[dict[str, Any]]], Op]
#: :data:`Take` with where the resulting DataFrame goes (see :data:`Sink`).
TakeTo = Callable[[list[dict[str, Any]], "Sink"], Op]


def pull_op(spec: PullSpec, progress: ProgressCallback | None) -> Op:
    """Emit one DataFrame per page (see the module docstring for how pages are cut)."""
    if spec.precision == "tenths" and not spec.filter.has_required_for_list():
        yield from _serve_windows(spec, progress)
        return
    state = _PullState(progress)
    recent: OrderedDict[str, str] = OrderedDict()  # systemNames of recent cue points, bounded

    def take(objects: list[dict[str, Any]], sink: Sink = _emit) -> Op:
        names = {str(o["id"]): str(o["systemName"]) for o in objects if o.get("systemName")}
        if spec.precision == "ms":
            parents = {str(o["parentId"]) for o in objects if o.get("parentId") not in (None, "", "0", 0)}
            names.update({p: recent[p] for p in parents if p in recent})
            missing = sorted(parents - set(names))
            if missing:
                names.update((yield from _parent_names(spec, missing)))
            records = [ms_record(obj, names) for obj in objects]
            recent.update(names)
            while len(recent) > _NAME_CACHE:
                recent.popitem(last=False)
        elif not any(_unservable(o) for o in objects):
            served = yield from _serve_frame(spec, objects)
            state.done += len(served)
            state.report()
            if len(served):
                yield from sink(served)
            return
        else:
            records = yield from _serve_page(spec, objects, names)
        state.done += len(records)
        state.report()
        if records:
            yield from sink(to_frame(records, spec.extra_columns and spec.precision == "ms"))

    for chunk in _chunks(spec.filter):
        if spec.concurrency > 1:
            yield from _parallel_walk(spec, chunk, state, take)
        else:
            yield from _list_windows(spec, chunk, state, take)


def _emit(frame: pd.DataFrame) -> Op:
    yield Emit(frame)


#: Where a page's DataFrame goes: emitted at once, or held until the pages before it are out.
Sink = Callable[[pd.DataFrame], Op]


class _InOrder:
    """Frames of parallel ``createdAt`` ranges, emitted in range order: the order of a sequential pull.

    The range at the head emits its frames as they come; later ranges hold theirs until every range
    before them has finished. Ranges are small (a few pages each), so what is held stays a few pages
    per range under way."""

    def __init__(self, ranges: int) -> None:
        self.head = 0
        self.held: dict[int, list[pd.DataFrame]] = {i: [] for i in range(ranges)}
        self.finished: set[int] = set()

    def sink(self, index: int) -> Sink:
        def put(frame: pd.DataFrame) -> Op:
            if index == self.head:
                yield Emit(frame)
            else:
                self.held[index].append(frame)

        return put

    def finish(self, index: int) -> Op:
        self.finished.add(index)
        while self.head in self.finished:
            self.head += 1
            for frame in self.held.pop(self.head, []):
                yield Emit(frame)


#: A parallel pull cuts the ``createdAt`` span into ranges of about this many pages each (when the
#: span has that many seconds): small enough that what :class:`_InOrder` holds stays small, large
#: enough that the extra request each range ends with (its last, partly filled page) stays cheap.
_PAGES_PER_RANGE = 8


def _parallel_walk(spec: PullSpec, base: KalturaCuePointFilter, state: _PullState, take: TakeTo) -> Op:
    """A pull of more than a few pages with ``concurrency`` > 1: walks that cannot overlap, at once.

    The first page is read as the sequential walk reads it; if it holds everything, that is the
    pull. Otherwise a filter over several entries (``entryIdIn``) is walked entry by entry, up to
    ``spec.concurrency`` entries at once, each with the sequential window walk (a cue point belongs
    to one entry: nothing is read twice or missed), and its frames come out entry by entry, in the
    order the entries were given. One entry (or none named) is cut into ``createdAt`` ranges instead
    (:func:`_parallel_windows`). Each per-entry query matches fewer rows than the whole list, which
    is what the server's search costs by.
    """
    base = base.replace(orderBy=None)
    first = yield from _list(base, ORDER_BY, spec)
    state.chunks += 1
    state.total = first.total_count if state.chunks == 1 else None
    if first.total_count <= len(first.objects):  # one page holds it all: as the sequential walk
        if first.objects:
            yield from take(first.objects, _emit)
        return
    raw = base.values().get("entryIdIn")
    entries = list(dict.fromkeys(v for v in str(raw).split(",") if v)) if raw is not None else []
    if len(entries) > 1 and first.total_count > 4 * spec.page_size:
        order = _InOrder(len(entries))

        def walk(k: int) -> Op:
            sink = order.sink(k)
            window = base.replace(entryIdIn=None, entryIdEqual=entries[k])
            yield from _list_windows(spec, window, state, lambda objects: take(objects, sink), counted=True)
            yield from order.finish(k)

        outcomes = yield Parallel((walk(k) for k in range(len(entries))), limit=spec.concurrency)
        for outcome in outcomes:
            if outcome.error is not None:
                raise outcome.error
        return
    yield from _parallel_windows(spec, base, state, take, first)


def _parallel_windows(
    spec: PullSpec, base: KalturaCuePointFilter, state: _PullState, take: TakeTo, first: ListPage[dict[str, Any]]
) -> Op:
    """The window walk of :func:`_list_windows`, on ``spec.concurrency`` ``createdAt`` ranges at once.

    The first page (oldest first, read by :func:`_parallel_walk`) and a one-row page newest first
    give the total and the span of creation seconds; the
    span is cut into consecutive ranges of whole seconds, each walked exactly like a sequential pull
    inside its bounds (``createdAtGreaterThanOrEqual``/``LessThanOrEqual``; the last one open, as
    the sequential walk is). Every cue point has one ``createdAt``, so it falls in exactly one range:
    nothing is lost or read twice, and the frames come out in the sequential order (:class:`_InOrder`).
    A result within a single second, or of fewer pages than two full ranges, is walked
    sequentially: a split costs a probe, the first page read again and a partly filled last page
    per range, which only pays when each range holds several pages (measured: a 10-page pull cut in
    four ranges spent 65% more client CPU than the sequential walk, benchmarks/results/analysis.md).
    """
    if not first.objects or first.total_count <= 2 * _PAGES_PER_RANGE * spec.page_size:
        yield from _list_windows(spec, base, state, lambda objects: take(objects, _emit), counted=True)
        return
    one = KalturaFilterPager(pageSize=1, pageIndex=1)
    last: ListPage[dict[str, Any]] = yield _list_page(base.replace(orderBy="-createdAt,-intId"), one, spec.service)
    lo = _created(first.objects[0])
    hi = _created(last.objects[0]) if last.objects else lo
    seconds = hi - lo + 1
    wanted = -(-first.total_count // (spec.page_size * _PAGES_PER_RANGE))
    count = max(1, min(seconds, max(wanted, min(spec.concurrency, first.total_count // (2 * spec.page_size)))))
    if count <= 1:
        yield from _list_windows(spec, base, state, lambda objects: take(objects, _emit), counted=True)
        return
    bounds = [lo + (k * seconds) // count for k in range(count)] + [hi + 1]
    windows = []
    for k in range(count):
        window = base
        if k > 0:
            window = window.replace(createdAtGreaterThanOrEqual=bounds[k])
        if k < count - 1:
            window = window.replace(createdAtLessThanOrEqual=bounds[k + 1] - 1)
        windows.append(window)
    order = _InOrder(count)

    def walk(k: int) -> Op:
        sink = order.sink(k)
        yield from _list_windows(spec, windows[k], state, lambda objects: take(objects, sink), counted=True)
        yield from order.finish(k)

    outcomes = yield Parallel((walk(k) for k in range(count)), limit=spec.concurrency)
    for outcome in outcomes:
        if outcome.error is not None:
            raise outcome.error


def list_all_op(flt: KalturaCuePointFilter, service: str) -> Op:
    """Every cue point a ``list`` filter matches, exactly once, as the API's objects.

    The same window walk as :func:`pull_op` (no deep offsets, no reliance on tie order), for callers
    that need the raw objects (``intId``, ``createdAt``, ``directChildrenCount`` ...) rather than a
    DataFrame: ``dedupe`` and the push recovery's entry scans.
    """
    require_list_filter(flt, "list_all_op")
    spec = PullSpec(flt, service, "ms", MAX_PAGE_SIZE, "error", False)
    out: list[dict[str, Any]] = []

    def take(objects: list[dict[str, Any]]) -> Op:
        out.extend(objects)
        return
        yield  # a generator, as every Take is

    state = _PullState(None)
    for chunk in _chunks(spec.filter):
        yield from _list_windows(spec, chunk, state, take)
    return out


class _PullState:
    """Progress of one pull: cue points done, and the total once the first page tells it."""

    def __init__(self, progress: ProgressCallback | None) -> None:
        self.progress = progress
        self.done = 0
        self.total: int | None = None
        self.chunks = 0

    def report(self) -> None:
        if self.progress is not None:
            self.progress(Progress("pull", self.done, self.total if self.chunks <= 1 else None))


def _chunks(flt: KalturaCuePointFilter) -> Iterator[KalturaCuePointFilter]:
    """The filter, or one filter per chunk of a long ``entryIdIn``/``idIn``.

    The search index keeps the first 150 values of an ``...In`` list (``SphinxCriterion``), the
    database the first 500 (``idIn`` skips the index): longer lists would silently lose cue points.
    Entries and ids are de-duplicated so each cue point is in one chunk only.
    """
    values = flt.values()
    for name, size in (("idIn", _MAX_ID_IN), ("entryIdIn", MAX_IN_VALUES)):
        raw = values.get(name)
        if raw is None:
            continue
        items = list(dict.fromkeys(v for v in str(raw).split(",") if v))
        if len(items) > size:
            for start in range(0, len(items), size):
                yield flt.replace(**{name: ",".join(items[start : start + size])})
            return
    yield flt


def _created(obj: Mapping[str, Any]) -> int:
    value = obj.get("createdAt")
    if isinstance(value, bool) or not isinstance(value, int):
        raise ClientError(
            f"the server returned cue point {obj.get('id')!r} without an integer createdAt; pull pages by "
            "creation time and cannot continue"
        )
    return value


def _start(obj: Mapping[str, Any]) -> int:
    value = obj.get("startTime")
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _list(flt: KalturaCuePointFilter, order: str, spec: PullSpec, index: int = 1) -> Op:
    page: ListPage[dict[str, Any]] = yield _list_page(
        flt.replace(orderBy=order), KalturaFilterPager(pageSize=spec.page_size, pageIndex=index), spec.service
    )
    return page


def _list_windows(
    spec: PullSpec, base: KalturaCuePointFilter, state: _PullState, take: Take, *, counted: bool = False
) -> Op:
    """Pages of cue points of ``base``, each cue point once: a keyset over ``createdAt`` seconds.

    ``counted``: the caller has already set the progress total."""
    base = base.replace(orderBy=None)
    flt = base
    first = not counted
    while True:
        page = yield from _list(flt, ORDER_BY, spec)
        objects = page.objects
        if first:
            state.chunks += 1
            state.total = page.total_count if state.chunks == 1 else None
            first = False
        if page.total_count <= len(objects):  # the window fits in this page
            if objects:
                yield from take(objects)
            return
        if not objects:
            raise ClientError(
                f"the server reports {page.total_count} cue points but returns none it lets this session see; "
                "pull cannot page past them (a user session seeing other users' thumb, code or ad cue points "
                "counted but not returned?). Pull with an admin session or a list:<entryId> privilege"
            )
        last = _created(objects[-1])
        before = [o for o in objects if _created(o) < last]
        if before:
            yield from take(before)
        else:  # a whole page within one second
            yield from _second_windows(spec, base, last, take)
            last += 1
        flt = base.replace(createdAtGreaterThanOrEqual=last)


def _second_windows(spec: PullSpec, base: KalturaCuePointFilter, second: int, take: Take) -> Op:
    """Every cue point created in ``second``: a keyset over ``startTime`` inside it."""
    within = base.replace(createdAtGreaterThanOrEqual=second, createdAtLessThanOrEqual=second)
    flt = within
    while True:
        page = yield from _list(flt, _BY_START, spec)
        objects = page.objects
        if page.total_count <= len(objects):
            if objects:
                yield from take(objects)
            return
        if not objects:
            raise ClientError(f"the server returns no visible cue point created at {second}; pull cannot continue")
        last = _start(objects[-1])
        before = [o for o in objects if _start(o) < last]
        if before:
            yield from take(before)
        else:  # a whole page at one (second, startTime)
            yield from _point_windows(
                spec, within.replace(startTimeGreaterThanOrEqual=last, startTimeLessThanOrEqual=last), take
            )
            last += 1
        flt = within.replace(startTimeGreaterThanOrEqual=last)


def _point_windows(spec: PullSpec, point: KalturaCuePointFilter, take: Take) -> Op:
    """Cue points sharing one second and one startTime: by type, then ``+intId`` pages below 10,000."""
    values = point.values()
    forced = type(point).CUE_POINT_TYPE
    if forced is not None or values.get("cuePointTypeEqual") is not None:
        windows = [point]
    else:
        allowed = [str(getattr(t, "value", t)) for t in str(values.get("cuePointTypeIn") or "").split(",") if t]
        types = allowed or [t.value for t in voc.CuePointType]
        windows = [point.replace(cuePointTypeEqual=t, cuePointTypeIn=None) for t in types]
    for window in windows:
        page = yield from _list(window, _BY_INT_ID, spec)
        if page.total_count <= len(page.objects):
            if page.objects:
                yield from take(page.objects)
            continue
        if page.total_count > MAX_MATCHES:
            raise ClientError(
                f"more than {MAX_MATCHES:,} cue points ({page.total_count:,}) share one createdAt second, "
                f"startTime and type ({_describe(window)}); the server's search cannot page past {MAX_MATCHES:,}, "
                "so pull refuses rather than return part of them. Narrow the filter (entryIdEqual, tags...)"
            )
        yield from take(page.objects)
        index = 2
        while (index - 1) * spec.page_size < page.total_count:
            more = yield from _list(window, _BY_INT_ID, spec, index)
            if more.objects:
                yield from take(more.objects)
            index += 1


def _describe(flt: KalturaCuePointFilter) -> str:
    v = flt.values()
    return ", ".join(
        f"{k}={v[k]}"
        for k in ("createdAtGreaterThanOrEqual", "startTimeGreaterThanOrEqual", "cuePointTypeEqual")
        if k in v
    )


def _parent_names(spec: PullSpec, parent_ids: list[str]) -> Op:
    """systemNames of parents that are not in the page (one ``list(idIn=...)`` per 500 ids)."""
    names: dict[str, str] = {}
    for start in range(0, len(parent_ids), _MAX_ID_IN):
        chunk = parent_ids[start : start + _MAX_ID_IN]
        page: ListPage[dict[str, Any]] = yield _list_page(
            KalturaCuePointFilter(idIn=chunk), KalturaFilterPager(pageSize=MAX_PAGE_SIZE), spec.service
        )
        names.update({str(o["id"]): str(o["systemName"]) for o in page.objects if o.get("systemName")})
    return names


def _serve_frame(spec: PullSpec, objects: list[dict[str, Any]]) -> Op:
    """Serve one list page whose cue points are all servable, straight into a DataFrame.

    The served document is read by the compiled reader into the typed frame (``frames.read_xml``),
    rather than through a dict per cue point and :func:`to_frame`: the same frame (the reader and
    ``records_to_frame`` share the vocabulary's columns and dtypes), at a fraction of the client's
    CPU. Rows are put in the list page's order, as :func:`_serve_page` returns them.
    """
    ids = [str(o["id"]) for o in objects]
    flt = type(spec.filter)(idIn=ids)
    try:
        body: bytes = yield _serve(flt, KalturaFilterPager(pageSize=MAX_PAGE_SIZE), spec.service)
    except KalturaServerError as exc:
        raise _serve_failed(exc) from exc
    frame = frames.read_xml(body)
    position = {str(v): i for i, v in enumerate(frame["id"].tolist())}
    order = [position[i] for i in ids if i in position]
    if order == list(range(len(frame))):
        return frame
    return frame.take(order).reset_index(drop=True)


def _serve_page(spec: PullSpec, objects: list[dict[str, Any]], names: dict[str, str]) -> Op:
    """Serve the cue points of one list page; unservable ones per ``spec.unservable``."""
    blocked = [obj for obj in objects if _unservable(obj)]
    if blocked and spec.unservable == "error":
        counts: dict[str, int] = {}
        for obj in blocked:
            label = str(obj.get("cuePointType"))
            if label == voc.CuePointType.QUIZ_QUESTION.value:
                label += " (with answers)"
            counts[label] = counts.get(label, 0) + 1
        raise UnservableError(counts, example_ids=[str(o.get("id")) for o in blocked[:5]])
    servable = [obj for obj in objects if not _unservable(obj)]
    served: dict[str, dict[str, Any]] = {}
    if servable:
        flt = type(spec.filter)(idIn=[str(o["id"]) for o in servable])
        try:
            body: bytes = yield _serve(flt, KalturaFilterPager(pageSize=MAX_PAGE_SIZE), spec.service)
        except KalturaServerError as exc:
            raise _serve_failed(exc) from exc
        for rec in iter_cue_points(body):
            served[str(rec.get("id"))] = rec
    records = []
    for obj in objects:
        key = str(obj.get("id"))
        if key in served:
            records.append(served[key])
        elif _unservable(obj) and spec.unservable == "list":
            records.append(ms_record(obj, names))
    return records


def _serve_windows(spec: PullSpec, progress: ProgressCallback | None) -> Op:
    """serveBulk without an entry/id filter: ``count`` splits the filter into windows of one page.

    Windows bisect ``createdAt`` (seconds), then ``startTime`` (ms) inside a second, then the cue
    point type; each window is served in one request (``pageSize=500``, at most ``page_size`` cue
    points counted). A window that comes back fuller than it was counted grew meanwhile and is
    split again. serveBulk output has no ``createdAt``, hence the counts.
    """
    base = effective_filter(spec.filter).replace(orderBy=None)
    limit = min(spec.page_size, MAX_PAGE_SIZE - 1)
    done = 0
    now = int(time.time())
    values = base.values()
    lo = _absolute(values.get("createdAtGreaterThanOrEqual")) or _MIN_ABSOLUTE_TIME
    hi = _absolute(values.get("createdAtLessThanOrEqual"))
    ceiling = max(now + 366 * 86400, lo)
    stack: list[tuple[KalturaCuePointFilter, int]] = []
    # the open top window (cue points "created" after next year), then the bisected range
    if hi is None:
        stack.append((base.replace(createdAtGreaterThanOrEqual=ceiling + 1), 0))
        hi = ceiling
    stack.append((base.replace(createdAtGreaterThanOrEqual=lo, createdAtLessThanOrEqual=hi), 0))
    while stack:
        window, depth = stack.pop()
        counted: int = yield _count(window, spec.service)
        if counted == 0:
            continue
        if counted <= limit or depth >= 3:
            if counted > MAX_MATCHES:
                raise ClientError(
                    f"more than {MAX_MATCHES:,} cue points ({counted:,}) share one createdAt second, startTime "
                    f"and type ({_describe(window)}); the server's search cannot page past {MAX_MATCHES:,}"
                )
            served = yield from _serve_window(spec, window, counted, limit)
            if served is None:  # grew past one page meanwhile: split again
                stack.extend((w, d) for w, d in _split(window, depth, now) if w is not None)
                continue
            done += len(served)
            if progress is not None:
                progress(Progress("pull", done, None))
            if served:
                yield Emit(to_frame(served, False))
            continue
        stack.extend(reversed(_split(window, depth, now)))


def _absolute(value: Any) -> int | None:
    """A window bound the server reads as absolute (relative times are left to the server)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= _MIN_ABSOLUTE_TIME else None


def _split(window: KalturaCuePointFilter, depth: int, now: int) -> list[tuple[KalturaCuePointFilter, int]]:
    """Two halves of a window on its current dimension, or the windows of the next dimension.

    Depth 0 bisects createdAt, 1 startTime, 2 enumerates types; depth 3 windows are served with
    ``+intId`` pages (see :func:`_serve_window`).
    """
    v = window.values()
    if depth == 0:
        lo = int(v["createdAtGreaterThanOrEqual"])
        hi = int(v.get("createdAtLessThanOrEqual", lo))
        if lo < hi:
            mid = (lo + hi) // 2
            return [
                (window.replace(createdAtLessThanOrEqual=mid), 0),
                (window.replace(createdAtGreaterThanOrEqual=mid + 1), 0),
            ]
        return [
            (window.replace(startTimeGreaterThanOrEqual=0, startTimeLessThanOrEqual=_MAX_START), 1),
            (window.replace(startTimeGreaterThanOrEqual=_MAX_START + 1), 1),
        ]
    if depth == 1:
        lo = int(v.get("startTimeGreaterThanOrEqual", 0))
        hi = int(v.get("startTimeLessThanOrEqual", lo))
        if lo < hi:
            mid = (lo + hi) // 2
            return [
                (window.replace(startTimeLessThanOrEqual=mid), 1),
                (window.replace(startTimeGreaterThanOrEqual=mid + 1), 1),
            ]
        if type(window).CUE_POINT_TYPE is not None or v.get("cuePointTypeEqual") is not None:
            return [(window, 3)]
        allowed = [t for t in str(v.get("cuePointTypeIn") or "").split(",") if t]
        types = allowed or [t.value for t in voc.CuePointType]
        return [(window.replace(cuePointTypeEqual=t, cuePointTypeIn=None), 3) for t in types]
    return [(window, 3)]


def _serve_window(spec: PullSpec, window: KalturaCuePointFilter, counted: int, limit: int) -> Op:
    """Serve one counted window; None when it holds more than one page now."""
    pages = 1 if counted <= limit else -(-counted // MAX_PAGE_SIZE)
    order = window.replace(orderBy=_BY_INT_ID)
    out: list[dict[str, Any]] = []
    for index in range(1, pages + 1):
        try:
            body: bytes = yield _serve(order, KalturaFilterPager(pageSize=MAX_PAGE_SIZE, pageIndex=index), spec.service)
        except KalturaServerError as exc:
            raise _serve_failed(exc) from exc
        served = list(iter_cue_points(body))
        if pages == 1 and len(served) > limit:
            return None
        out.extend(served)
    return out


def count_op(flt: KalturaCuePointFilter, service: str) -> Op:
    """``count`` with the filter class's type made explicit (the server ignores the class there)."""
    refuse_user_filters(flt, "count")
    result: int = yield _count(effective_filter(flt), service)
    return result

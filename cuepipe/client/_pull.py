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

Paging past the 500-per-page cap: ``list`` is read in a deterministic order (``+createdAt,+intId``)
with a moving lower bound ``createdAtGreaterThanOrEqual`` = the last ``createdAt`` seen (a keyset,
so deep pages never need a large offset); within one second the page index advances; repeats are
dropped by id. For tenths, each list page's ids are then served with ``serveBulk(idIn=...)``. A
filter without an entry or id (allowed by serveBulk, refused by list) is served with plain offset
pages instead, until an empty page.

Consistency caveat: the pages are separate requests, not a snapshot. Cue points created while a
pull runs may or may not be included; one deleted or updated mid-pull may appear in its old or new
state, or (offset pages) shift a later one out of view. De-duplication by id guarantees no row
twice; for an exact snapshot, pause writers to the entry while pulling.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

from .. import frames
from .. import vocabulary as voc
from ..kaltura import (
    ANNOTATION_SERVICE,
    CUE_POINT_FILTERS,
    KalturaAnnotationFilter,
    KalturaCuePointFilter,
    KalturaFilterPager,
    KalturaResponseError,
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
from ._base import Call, Emit, Op, Progress, ProgressCallback
from ._errors import ClientError, FilterError, UnservableError

Precision = Literal["tenths", "ms"]
Unservable = Literal["error", "skip", "list"]

#: The order pull pages in: creation time, then the server's integer id (unique, increasing).
ORDER_BY = "+createdAt,+intId"
_UNSERVABLE_TYPES = frozenset({voc.CuePointType.THUMB.value, voc.CuePointType.EVENT.value})


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


# ---------------------------------------------------------------------------------------------
# Keyset pages over list
# ---------------------------------------------------------------------------------------------


@dataclass
class KeysetPager:
    """Pure state of the paging over ``list`` described in the module docstring."""

    base: KalturaCuePointFilter
    page_size: int
    bound: int | None = None
    index: int = 1
    done: bool = False
    total: int | None = None
    seen: set[str] = field(default_factory=set)
    stalls: int = 0

    def __post_init__(self) -> None:
        self.base = self.base.replace(orderBy=ORDER_BY)

    def request(self) -> tuple[KalturaCuePointFilter, KalturaFilterPager]:
        flt = self.base if self.bound is None else self.base.replace(createdAtGreaterThanOrEqual=self.bound)
        return flt, KalturaFilterPager(pageSize=self.page_size, pageIndex=self.index)

    def feed(self, page: ListPage[dict[str, Any]]) -> list[dict[str, Any]]:
        """Take one page; return its cue points not seen before, and move the cursor."""
        objects = page.objects
        if self.total is None:
            self.total = page.total_count
        new = []
        for obj in objects:
            key = str(obj.get("id"))
            if key not in self.seen:
                self.seen.add(key)
                new.append(obj)
        if len(objects) < self.page_size:
            self.done = True
            return new
        last = objects[-1].get("createdAt")
        if isinstance(last, bool) or not isinstance(last, int):
            self.index += 1  # no creation times: plain offset pages
        elif self.bound is not None and last <= self.bound:
            self.index += 1  # a whole page within one second: walk through it
        else:
            self.bound, self.index = last, 1
        self.stalls = 0 if new else self.stalls + 1
        if self.stalls >= 3:
            raise KalturaResponseError(
                "paging made no progress: the server returns the same cue points for "
                "different pages (does it honour orderBy and createdAtGreaterThanOrEqual?)"
            )
        return new


def _list_page(flt: KalturaCuePointFilter, pager: KalturaFilterPager, service: str) -> Call:
    return Call(
        build=lambda ctx: cue_point_list(ctx, flt, pager, service=service),  # type: ignore[arg-type]
        what=f"{service}.list",
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
    core = [{k: v for k, v in r.items() if k in frames.DTYPES} for r in records]
    frame = frames.records_to_frame(core)
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


def make_spec(
    flt: Any, *, service: str, precision: str, page_size: int, unservable: str, extra_columns: bool
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
    return PullSpec(typed, service, precision, page_size, unservable, extra_columns)  # type: ignore[arg-type]


def pull_op(spec: PullSpec, progress: ProgressCallback | None) -> Op:
    """Emit one DataFrame per page."""
    if spec.precision == "tenths" and not spec.filter.has_required_for_list():
        yield from _serve_offset_pages(spec, progress)
        return
    pager = KeysetPager(spec.filter, spec.page_size)
    names: dict[str, str] = {}
    done = 0
    while not pager.done:
        flt, pg = pager.request()
        page: ListPage[dict[str, Any]] = yield _list_page(flt, pg, spec.service)
        new = pager.feed(page)
        for obj in new:
            if obj.get("systemName"):
                names[str(obj["id"])] = str(obj["systemName"])
        if spec.precision == "ms":
            records = [ms_record(obj, names) for obj in new]
        else:
            records = yield from _serve_page(spec, new, names)
        done += len(records)
        if progress is not None:
            progress(Progress("pull", done, pager.total))
        if records:
            yield Emit(to_frame(records, spec.extra_columns and spec.precision == "ms"))


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


def _serve_offset_pages(spec: PullSpec, progress: ProgressCallback | None) -> Op:
    """serveBulk without an entry/id filter: offset pages until an empty one (list cannot enumerate)."""
    flt = spec.filter.replace(orderBy=ORDER_BY)
    seen: set[str] = set()
    index = 1
    done = 0
    stalls = 0
    while True:
        try:
            body: bytes = yield _serve(flt, KalturaFilterPager(pageSize=spec.page_size, pageIndex=index), spec.service)
        except KalturaServerError as exc:
            raise _serve_failed(exc) from exc
        served = list(iter_cue_points(body))
        if not served:
            return
        new = [rec for rec in served if str(rec.get("id")) not in seen]
        seen.update(str(rec.get("id")) for rec in new)
        done += len(new)
        if progress is not None:
            progress(Progress("pull", done, None))
        stalls = 0 if new else stalls + 1
        if stalls >= 2:
            raise KalturaResponseError(
                "paging made no progress: serveBulk returns the same cue points for "
                "different pages (does the server honour pageIndex?)"
            )
        if new:
            yield Emit(to_frame(new, False))
        index += 1


def count_op(flt: KalturaCuePointFilter, service: str) -> Op:
    result: int = yield Call(
        build=lambda ctx: cue_point_count(ctx, flt, service=service),  # type: ignore[arg-type]
        what=f"{service}.count",
    )
    return result

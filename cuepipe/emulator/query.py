"""Cue point filters and pagers -> SQL, with the search index's limits (docs/emulator.md).

Filters arrive as nested params (``filter[entryIdEqual]=..``). Each property is ``<field><Operator>``;
which fields a filter class accepts comes from the one table in
:data:`cuepipe.filter_vocabulary.CUE_POINT_FILTER_FIELDS` (the server's ``Kaltura*CuePointBaseFilter``
maps), shared with the library's typed filters. Unknown properties are silently ignored, as the
server's deserializer does.

What the server does that this module reproduces (sources in kaltura/server):

* ``Like`` is a substring match with ``%``/``_`` escaped (literal), ``MultiLikeOr``/``And`` split on
  commas only (``baseObjectFilter::getCriteriaOperatorFromStr``, ``MULTI_LIKE_SEPARATOR``).
* ``In``/``NotIn`` lists keep their first 150 values on the search index
  (``SphinxCriterion::MAX_IN_VALUES``) and their first 500 in the database
  (``baseObjectFilter::createSqlIn``).
* The result window: with a page size, an offset of 10,000 or more is refused with
  ``QUERY_EXCEEDED_MAX_MATCHES_ALLOWED`` and no row past the 10,000th is returned; without a page
  size (``pageSize=0``, no pager on serveBulk) the index returns at most 1000 ids
  (``SphinxCriteria::applyFilters``, ``KalturaCriteria::$maxRecords``). A filter on ``idEqual``/``idIn``
  skips the index (``SphinxCriteria::shouldSkipSphinx``, ``CuePointIndex::getIndexSkipFieldsList``).
  A filter or order on a field the index lacks (``triggeredAt``) leaves a criterion for the
  database: the index then returns its first 1000 ids and the database filters and pages those.
* Equal sort keys come back in a seeded pseudo-random order (the index has no stable tie order).
* Visibility of user sessions (``CuePointPeer::setDefaultCriteriaFilter`` / ``filterSelectResults``,
  ``CuePointService::initService`` / ``resetUserContentFilter``): see :func:`user_content_filter`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from .. import vocabulary as voc
from ..filter_vocabulary import CUE_POINT_FILTER_FIELDS, ORDER_BY
from .context import Context
from .errors import (
    INVALID_ENUM_VALUE,
    INVALID_USER_ID,
    PROPERTY_VALIDATION_CANNOT_BE_NULL,
    QUERY_EXCEEDED_MAX_MATCHES_ALLOWED,
    ApiError,
    CoreError,
)
from .store import CUE_POINT_COLUMNS, Store, q

BASE_FILTER_CLASS = "KalturaCuePointFilter"
MAX_PAGE_SIZE = 500  # KalturaPager::MAX_PAGE_SIZE
DEFAULT_PAGE_SIZE = 30  # KalturaPager::$pageSize
MAX_RELATIVE_TIME = 315_360_000  # configurations/base.ini max_relative_time
MAX_MATCHES = 10_000  # SphinxCriteria::MAX_MATCHES: the result window of the search index
MAX_RECORDS = 1000  # KalturaCriteria::$maxRecords: ids the index returns without a page size
INDEX_MAX_IN_VALUES = 150  # SphinxCriterion::MAX_IN_VALUES
DB_MAX_IN_VALUES = 500  # baseObjectFilter::$maxInValues

EQ, IN, NOT_IN, LIKE, MLIKE_OR, MLIKE_AND, GTE, LTE = (
    "Equal",
    "In",
    "NotIn",
    "Like",
    "MultiLikeOr",
    "MultiLikeAnd",
    "GreaterThanOrEqual",
    "LessThanOrEqual",
)
# Longest suffix first so ``MultiLikeOr`` is not read as ``...Or`` of something else.
_OPERATORS = (GTE, LTE, MLIKE_AND, MLIKE_OR, NOT_IN, EQ, LIKE, IN)
# Columns the cue point search index has no field for (CuePointIndex::getIndexFieldsMap): a
# criterion on them stays for the database, and so does an order on them (getIndexOrderList).
NOT_INDEXED = frozenset({"triggeredAt"})
_ORDER_NOT_INDEXED = frozenset({"triggeredAt"})
# CuePointPeer::setDefaultCriteriaFilter: types a user session may see whoever owns them (at the
# criteria level; filterSelectResults removes them again from selected rows).
_USER_VISIBLE_TYPES = (voc.CuePointType.THUMB.value, voc.CuePointType.CODE.value, voc.CuePointType.AD.value)


@dataclass(frozen=True)
class FilterField:
    """One filterable property: its SQL expression, value kind and allowed operators."""

    sql: str
    kind: str  # "str", "int" or "time"
    ops: frozenset[str]
    enum: type[Enum] | None = None
    indexed: bool = True


_DURATION_SQL = f"({q('endTime')} - {q('startTime')})"


def _field(stem: str, kind: str, ops: tuple[str, ...], enum: type[Enum] | None) -> FilterField | None:
    """The emulator's view of one row of the shared filter table (None: nothing to filter on)."""
    if stem == "duration":
        sql = _DURATION_SQL
    elif stem in CUE_POINT_COLUMNS:
        sql = q(stem)
    else:
        return None  # e.g. eventType: the emulator stores no event type
    if kind == "time":
        sql_kind = "time"
    elif kind in ("ms", "int") or (kind == "enum" and enum is not None and issubclass(enum, int)):
        sql_kind = "int"
    else:
        sql_kind = "str"
    return FilterField(sql, sql_kind, frozenset(ops), enum, stem not in NOT_INDEXED)


def _fields_of(filter_class: str) -> dict[str, FilterField]:
    out: dict[str, FilterField] = {}
    for stem, kind, ops, enum in CUE_POINT_FILTER_FIELDS[filter_class]:
        if ops == ("",):
            continue  # freeText, userIdEqualCurrent...: handled by name below
        ff = _field(stem, kind, ops, enum)
        if ff is not None:
            out[stem] = ff
    return out


#: Fields of the base filter, and the extra fields of each type-specific filter class.
BASE_FIELDS: dict[str, FilterField] = _fields_of(BASE_FILTER_CLASS)
CLASS_FIELDS: dict[str, dict[str, FilterField]] = {
    name: {**BASE_FIELDS, **_fields_of(name)} for name in CUE_POINT_FILTER_FIELDS
}
FILTER_CLASS_TYPES: dict[str, voc.CuePointType | None] = {BASE_FILTER_CLASS: None}
FILTER_CLASS_TYPES.update({t.filter_class: t.api_type for t in voc.TYPES})
# CuePointFilter::FREE_TEXT_FIELDS = 'name,tags,text'
_FREE_TEXT_COLUMNS = tuple(c for c in ("name", "tags", "text") if c in CUE_POINT_COLUMNS)


@dataclass
class Where:
    """SQL conditions with their arguments; ``indexed`` marks those the search index applies."""

    clauses: list[str] = field(default_factory=list)
    args: list[Any] = field(default_factory=list)
    indexed: list[bool] = field(default_factory=list)
    arg_counts: list[int] = field(default_factory=list)

    def add(self, clause: str, *args: Any, indexed: bool = True) -> None:
        self.clauses.append(clause)
        self.args.extend(args)
        self.indexed.append(indexed)
        self.arg_counts.append(len(args))

    @property
    def sql(self) -> str:
        return " AND ".join(self.clauses) if self.clauses else "1"

    @property
    def all_indexed(self) -> bool:
        return all(self.indexed)

    def index_part(self) -> tuple[str, list[Any]]:
        """Only the clauses the search index applies."""
        clauses: list[str] = []
        args: list[Any] = []
        pos = 0
        for clause, indexed, n in zip(self.clauses, self.indexed, self.arg_counts, strict=True):
            if indexed:
                clauses.append(clause)
                args.extend(self.args[pos : pos + n])
            pos += n
        return (" AND ".join(clauses) if clauses else "1"), args


@dataclass
class CuePointQuery:
    filter_class: str
    where: Where
    order_terms: list[tuple[str, bool, bool]]  # (sql, descending, indexed)
    skips_index: bool = False  # idEqual/idIn: the database answers alone
    post_filter: Visibility | None = None


#: The columns :meth:`Visibility.visible` reads.
_VISIBILITY_COLUMNS = ("userId", "isPublic", "entryId")


@dataclass(frozen=True)
class Visibility:
    """``CuePointPeer::filterSelectResults`` for a user session: who may see a selected row."""

    user: str
    list_entry: str | None

    def visible(self, row: Mapping[str, Any]) -> bool:
        if not self.user:
            return True
        return (
            str(row.get("userId") or "").lower() == self.user.lower()
            or bool(row.get("isPublic"))
            or (self.list_entry is not None and row.get("entryId") == self.list_entry)
        )


def php_int(value: Any) -> int:
    """PHP ``(int)`` cast; ``"true"``/``"false"`` map to 1/0 as for int enums."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    text = str(value).strip()
    if text.lower() in ("true", "false"):
        return 1 if text.lower() == "true" else 0
    match = re.match(r"[+-]?\d+", text)
    return int(match.group(0)) if match else 0


def relative_time(value: Any) -> int:
    """``kTime::getRelativeTime``: small values (|v| <= 10 years) are relative to now; -1 stays."""
    v = php_int(value)
    if v != -1 and abs(v) <= MAX_RELATIVE_TIME:
        return int(time.time()) + v
    return v


def concrete_filter_class(declared: str, given: Any) -> str:
    """The objectType is honoured only when it names the declared class or a subclass of it."""
    if isinstance(given, str) and given in FILTER_CLASS_TYPES and (given == declared or declared == BASE_FILTER_CLASS):
        return given
    return declared


def _enum_name(enum: type[Enum]) -> str:
    return "Kaltura" + enum.__name__


def _split_list(value: Any) -> list[str]:
    return [v for v in str(value).split(",") if v != ""]


def _check_enum(ff: FilterField, prop: str, value: Any) -> Any:
    assert ff.enum is not None
    allowed = {str(m.value) for m in ff.enum}
    text = str(php_int(value)) if ff.kind == "int" else str(value)
    if text not in allowed:
        raise CoreError(INVALID_ENUM_VALUE, value, prop, _enum_name(ff.enum))  # a deserializer error
    return php_int(value) if ff.kind == "int" else text


def like_pattern(value: str) -> str:
    """``%value%`` with ``%``, ``_`` and the escape character itself taken literally (ESCAPE '\\')."""
    return "%" + value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def multi_like_parts(value: str) -> list[str]:
    """``MultiLikeOr``/``And`` values: comma separated, each trimmed, empty ones dropped.

    When only one value remains the server matches the whole trimmed text (commas included), as
    ``getCriteriaOperatorFromStr`` does.
    """
    text = value.strip()
    parts = [p.strip() for p in text.split(",") if p.strip()]
    return parts if len(parts) > 1 else ([text] if parts else [])


def user_content_filter(ctx: Context, fp: Mapping[str, Any]) -> tuple[str | None, list[Any], Visibility | None]:
    """The user-session criterion and post-filter of the cue point services, or (None, [], None).

    * ``CuePointService::initService``: sessions that are not admin and lack ``list:*`` see user
      content only; ``resetUserContentFilter`` lifts that when the KS verifies ``list`` for the
      filter's ``entryIdEqual`` (or, failing that, its whole ``entryIdIn`` text).
    * ``CuePointPeer::setDefaultCriteriaFilter``: with a user id, own cue points OR public ones OR
      thumb/code/ad cue points OR the entry of the first ``list:`` privilege value; without one,
      public cue points only.
    * ``filterSelectResults`` then drops selected rows that are not own, not public and not on that
      entry (so other users' thumbs/codes/ads count in ``count`` but are never returned).
    """
    ks = ctx.ks
    if ks is not None and (ks.is_admin or ks.verify_privileges("list", "*")):
        return None, [], None
    entry_filter = fp.get("entryIdEqual") or fp.get("entryIdIn")
    if ks is not None and entry_filter and ks.verify_privileges("list", str(entry_filter)):
        return None, [], None
    user = ks.user if ks is not None else ""
    if not user or ctx.partner_id is None:
        return f"COALESCE({q('isPublic')}, 0) = 1", [], None
    list_values = ks.privilege_values("list") if ks is not None else []
    list_entry = list_values[0] if list_values else None
    types = ", ".join("?" * len(_USER_VISIBLE_TYPES))
    clause = (
        f"(LOWER(COALESCE({q('userId')}, '')) = LOWER(?) OR COALESCE({q('isPublic')}, 0) = 1 "
        f"OR {q('cuePointType')} IN ({types})" + (f" OR {q('entryId')} = ?" if list_entry else "") + ")"
    )
    args: list[Any] = [user, *_USER_VISIBLE_TYPES] + ([list_entry] if list_entry else [])
    return clause, args, Visibility(user, list_entry)


def build_cue_point_query(
    store: Store,
    ctx: Context,
    filter_params: Mapping[str, Any] | None,
    *,
    declared: str = BASE_FILTER_CLASS,
    forced_type: str | None = None,
    require_id_or_entry: bool = True,
    restrict_class_type: bool = True,
    server_bugs: bool = True,
    translate_user_ids: bool = True,
) -> CuePointQuery:
    """Validate a filter and turn it into SQL, with the server's default criteria applied.

    ``forced_type`` is the service's type (``annotation`` service: always applied);
    ``restrict_class_type`` applies the type of a type-specific filter class, which the server does
    in ``list`` only (``Kaltura*CuePointFilter::getTypeListResponse``), not in ``count`` or
    ``serveBulk`` (they call ``toObject()->attachToCriteria`` directly). ``server_bugs``: in ``list``,
    ``userIdIn`` matches its last user only (``KalturaCuePointFilter::translateUserIds`` overwrites
    the list it builds). ``translate_user_ids=False`` (``count``, ``serveBulk``: no
    ``translateUserIds`` there) compares ``userIdEqual``/``userIdIn`` with the internal user ids
    (``kuser_id``), which a partner's user id never equals: with ``server_bugs`` they match nothing.
    """
    fp: dict[str, Any] = dict(filter_params or {})
    filter_class = concrete_filter_class(declared, fp.get("objectType"))
    if require_id_or_entry and not any(
        fp.get(k) not in (None, "") for k in ("idEqual", "idIn", "entryIdEqual", "entryIdIn")
    ):
        names = "/".join(f"{filter_class}::{p}" for p in ("idEqual", "idIn", "entryIdEqual", "entryIdIn"))
        raise ApiError(PROPERTY_VALIDATION_CANNOT_BE_NULL, names)

    w = Where()
    w.add("partnerId = ?", ctx.partner_id)
    w.add("status != ?", int(voc.CuePointStatus.DELETED))  # CuePointPeer default criteria
    if forced_type:
        w.add(f"{q('cuePointType')} = ?", forced_type)
    class_type = FILTER_CLASS_TYPES.get(filter_class)
    if restrict_class_type and class_type is not None:
        # doGetListResponse: cuePointTypeEqual = the class's type, cuePointTypeIn = null
        fp["cuePointTypeEqual"] = class_type.value
        fp.pop("cuePointTypeIn", None)
    visibility, vis_args, post = user_content_filter(ctx, fp)
    if visibility is not None:
        w.add(visibility, *vis_args)

    fields = CLASS_FIELDS.get(filter_class, BASE_FIELDS)
    skips_index = any(fp.get(k) not in (None, "") for k in ("idEqual", "idIn"))
    for prop, value in fp.items():
        if prop in ("objectType", "orderBy") or value is None or isinstance(value, dict | list):
            continue
        if prop == "freeText" and str(value) != "":
            pattern = like_pattern(str(value))
            w.add(
                "(" + " OR ".join(f"{q(c)} LIKE ? ESCAPE '\\'" for c in _FREE_TEXT_COLUMNS) + ")",
                *([pattern] * len(_FREE_TEXT_COLUMNS)),
            )
            continue
        if prop in ("userIdEqualCurrent", "userIdCurrent"):
            if php_int(value) == 1:
                if ctx.user or prop == "userIdEqualCurrent":
                    w.add(f"COALESCE({q('userId')}, '') = ?", ctx.user)
                else:
                    w.add(f"COALESCE({q('isPublic')}, 0) = 1")
            continue
        if prop in ("userIdEqual", "userIdIn") and not translate_user_ids and value not in (None, ""):
            if server_bugs:
                w.add("0")  # a puser id compared with kuser_id: no row
                continue
        elif prop == "userIdIn" and server_bugs and value not in (None, ""):
            users = _split_list(value)
            for uid in users:  # every user is still looked up (INVALID_USER_ID) ...
                if not store.user_exists(ctx.partner_id or 0, uid):
                    raise ApiError(INVALID_USER_ID)
            value = users[-1] if users else value  # ... but only the last one is kept
        _apply(store, ctx, w, fields, prop, value, in_limit=DB_MAX_IN_VALUES if skips_index else INDEX_MAX_IN_VALUES)
    terms = _order_terms(fp.get("orderBy"), filter_class)
    return CuePointQuery(filter_class, w, terms, skips_index, post)


def _apply(
    store: Store,
    ctx: Context,
    w: Where,
    fields: Mapping[str, FilterField],
    prop: str,
    value: Any,
    *,
    in_limit: int,
) -> None:
    for op in _OPERATORS:
        if prop.endswith(op) and prop[: -len(op)] in fields:
            name = prop[: -len(op)]
            ff = fields[name]
            break
    else:
        return  # unknown property: ignored, as by the server
    if op not in ff.ops:
        return
    if name == "userId":  # puser -> kuser translation fails for unknown users
        for uid in [str(value)] if op == EQ else _split_list(value):
            if not store.user_exists(ctx.partner_id or 0, uid):
                raise ApiError(INVALID_USER_ID)

    def cast(v: Any) -> Any:
        if ff.kind == "time":
            return relative_time(v)
        return php_int(v) if ff.kind == "int" else str(v)

    if op == EQ:
        if str(value) == "":
            return
        w.add(f"{ff.sql} = ?", _check_enum(ff, prop, value) if ff.enum else cast(value), indexed=ff.indexed)
    elif op in (IN, NOT_IN):
        items = [cast(v) for v in _split_list(value)[:in_limit]]
        if not items:
            return
        neg = "NOT " if op == NOT_IN else ""
        w.add(f"{ff.sql} {neg}IN ({', '.join('?' * len(items))})", *items, indexed=ff.indexed)
    elif op == LIKE:
        if str(value) != "":
            w.add(f"{ff.sql} LIKE ? ESCAPE '\\'", like_pattern(str(value)), indexed=ff.indexed)
    elif op in (MLIKE_OR, MLIKE_AND):
        parts = multi_like_parts(str(value))
        if parts:
            joiner = " OR " if op == MLIKE_OR else " AND "
            w.add(
                "(" + joiner.join(f"{ff.sql} LIKE ? ESCAPE '\\'" for _ in parts) + ")",
                *[like_pattern(p) for p in parts],
                indexed=ff.indexed,
            )
    elif op == GTE:
        w.add(f"{ff.sql} >= ?", cast(value), indexed=ff.indexed)
    elif op == LTE:
        w.add(f"{ff.sql} <= ?", cast(value), indexed=ff.indexed)


def _order_terms(value: Any, filter_class: str) -> list[tuple[str, bool, bool]]:
    """``orderBy`` like ``+startTime,-createdAt``; unknown values are ignored."""
    allowed = {item[1:] for item in ORDER_BY[filter_class]}
    terms: list[tuple[str, bool, bool]] = []
    for item in str(value or "").split(","):
        item = item.strip()
        if len(item) > 1 and item[0] in "+-" and item[1:] in allowed:
            name = item[1:]
            sql = _DURATION_SQL if name == "duration" else q(name)
            terms.append((sql, item[0] == "-", name not in _ORDER_NOT_INDEXED))
    return terms


def tie_breaker(seed: int) -> str:
    """A pseudo-random but seeded order of rows with equal sort keys.

    A multiplicative hash of intId, XOR-ed with a mask taken from the seed (SQLite has no ``^``:
    ``(a | b) - (a & b)``), hashed again: different seeds give unrelated orders.
    """
    mask = (int(seed) * 2654435761 + 12345) % 4294967296
    h = "((intId * 2654435761) % 4294967311)"
    return f"(((({h} | {mask}) - ({h} & {mask})) * 40503) % 4294967291)"


def _order_sql(terms: list[tuple[str, bool, bool]], seed: int, *, indexed_only: bool = False) -> str:
    """Explicit sort keys, then ties shuffled by ``seed``; without keys the index's id order."""
    used = [t for t in terms if t[2]] if indexed_only else terms
    if not used:
        return "intId ASC"
    return ", ".join(f"{sql} {'DESC' if desc else 'ASC'}" for sql, desc, _ in used) + f", {tie_breaker(seed)}"


@dataclass(frozen=True)
class Page:
    """``(limit, offset)`` of a ``KalturaFilterPager``: ``limit`` 0 means no page size."""

    limit: int
    offset: int


def pager_window(pager: Mapping[str, Any] | None, *, default_size: int | None) -> Page:
    """``KalturaFilterPager::attachToCriteria``: size ``max(min(pageSize, 500), 0)``, index >= 1.

    A missing pager gives ``default_size`` (``cuePoint.list``: 500, the base pager's 30 for other
    lists, None when the action attaches no pager, as ``serveBulk``). Size 0 (or negative) sets
    no limit; the offset is then 0 whatever the index.
    """
    if pager is None:
        return Page(default_size or 0, 0)
    raw_size = pager.get("pageSize")
    size = php_int(raw_size) if raw_size not in (None, "") else DEFAULT_PAGE_SIZE
    raw_index = pager.get("pageIndex")
    index = php_int(raw_index) if raw_index not in (None, "") else 1
    size = max(min(size, MAX_PAGE_SIZE), 0)
    return Page(size, (max(1, index) - 1) * size)


def _select(
    store: Store, sql_where: str, args: list[Any], order: str, limit: int | None, offset: int, *, columns: str = "*"
) -> list[dict[str, Any]]:
    """The page's rows, in order: the ids first (sorted from the indexes alone when they cover the
    filter: the ``cp_window`` index for entry/time filters), then only those rows are read whole.

    ``SELECT * ... ORDER BY ... LIMIT`` would read every matching row whole into the sorter; a pull
    window over 100k cue points matches tens of thousands. The order is total (``intId`` is unique),
    so the page is the same; both reads happen under the store's lock, so nothing changes between.
    """
    sql = f"SELECT intId FROM cue_points WHERE {sql_where} ORDER BY {order}"
    all_args = list(args)
    if limit is not None:
        sql += " LIMIT ? OFFSET ?"
        all_args += [limit, offset]
    with store.lock:
        ids = [r[0] for r in store.query(sql, all_args)]
        by_id: dict[int, dict[str, Any]] = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            marks = ", ".join("?" * len(chunk))
            by_id.update(
                (r["intId"], r)
                for r in store.cue_point_rows(f"SELECT {columns} FROM cue_points WHERE intId IN ({marks})", chunk)
            )
    return [by_id[i] for i in ids]


def select_cue_points(
    store: Store, query: CuePointQuery, page: Page, *, seed: int = 0, columns: Collection[str] | None = None
) -> tuple[list[dict[str, Any]], int]:
    """Rows of one page and the ``totalCount`` the server would report with them.

    ``columns``: read only these (those the caller and the visibility check use; serveBulk writes
    a third of the columns, and reading every column of every row was a fifth of its time); all by
    default.

    Three paths, as ``SphinxCriteria::applyFilters`` takes them: the database alone (``idEqual``/
    ``idIn``), the index with every criterion applied (result window of 10,000), or the index for
    its part and the database for the rest (the first 1000 index ids only).
    """
    where, args = query.where.sql, list(query.where.args)
    order = _order_sql(query.order_terms, seed)
    wanted = "*"
    if columns is not None:
        wanted = ", ".join(
            q(c) for c in dict.fromkeys(["intId", *_VISIBILITY_COLUMNS, *columns]) if c in CUE_POINT_COLUMNS
        )
    if query.skips_index:
        rows = _select(store, where, args, order, page.limit or None, page.offset if page.limit else 0, columns=wanted)
        total = count_where(store, where, args)
    elif query.where.all_indexed and all(t[2] for t in query.order_terms):
        if page.limit:
            if page.offset >= MAX_MATCHES:
                raise CoreError(QUERY_EXCEEDED_MAX_MATCHES_ALLOWED)
            limit = min(page.limit, MAX_MATCHES - page.offset)
            rows = _select(store, where, args, order, limit, page.offset, columns=wanted)
            found = count_where(store, where, args)
            # applySphinxResult: total_found when the page is full or empty, else offset + fetched
            total = found if (not rows or len(rows) >= page.limit) else page.offset + len(rows)
        else:
            rows = _select(store, where, args, order, MAX_RECORDS, 0, columns=wanted)
            total = count_where(store, where, args)
    else:
        index_where, index_args = query.where.index_part()
        index_order = _order_sql(query.order_terms, seed, indexed_only=True)
        candidates = (
            f"intId IN (SELECT intId FROM cue_points WHERE {index_where} ORDER BY {index_order} LIMIT {MAX_RECORDS})"
        )
        where = f"{where} AND {candidates}"
        args = args + index_args
        rows = _select(store, where, args, order, page.limit or None, page.offset if page.limit else 0, columns=wanted)
        total = count_where(store, where, args)
    if query.post_filter is not None:
        kept = [r for r in rows if query.post_filter.visible(r)]
        total -= len(rows) - len(kept)
        rows = kept
    return rows, total


def count_where(store: Store, where: str, args: list[Any]) -> int:
    row = store.query_one(f"SELECT COUNT(*) AS n FROM cue_points WHERE {where}", args)
    return int(row["n"]) if row else 0


def count_cue_points(store: Store, query: CuePointQuery) -> int:
    """``cuePoint.count``: the criteria count (``getRecordsCount``), no select, so no post-filter."""
    return count_where(store, query.where.sql, list(query.where.args))

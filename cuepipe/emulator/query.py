"""Cue point filters and pagers -> SQL (docs/kaltura-api.md#filters-and-paging).

Filters arrive as nested params (``filter[entryIdEqual]=..``). Each property is ``<field><Operator>``
with the operators of docs/kaltura-api.md#operator-suffixes; which fields a filter class accepts follows
#cue-point-filter-fields to #type-specific-filters. Unknown properties are silently ignored, as the server's
deserializer does. Like / MultiLike use substring semantics (``%v%``), the documented intent; the real server runs them
through Sphinx (#operator-suffixes).
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from .. import vocabulary as voc
from .context import Context
from .errors import (
    INVALID_ENUM_VALUE,
    INVALID_USER_ID,
    PROPERTY_VALIDATION_CANNOT_BE_NULL,
    ApiError,
    CoreError,
)
from .store import CUE_POINT_COLUMNS, Store, q

BASE_FILTER_CLASS = "KalturaCuePointFilter"
MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 30
MAX_RELATIVE_TIME = 315_360_000  # configurations/base.ini max_relative_time (docs/kaltura-api.md#parameter-values)

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
_TEXT_OPS = frozenset({LIKE, MLIKE_OR, MLIKE_AND})
_RANGE = frozenset({GTE, LTE})


@dataclass(frozen=True)
class FilterField:
    """One filterable property: its SQL expression, value kind and allowed operators."""

    sql: str
    kind: str  # "str", "int" or "time"
    ops: frozenset[str]
    enum: type[Enum] | None = None


def _f(column: str, kind: str, ops: set[str], enum: type[Enum] | None = None) -> FilterField:
    return FilterField(q(column), kind, frozenset(ops), enum)


_DURATION = FilterField(f"({q('endTime')} - {q('startTime')})", "int", _RANGE)
_END = _f("endTime", "int", _RANGE)

BASE_FIELDS: dict[str, FilterField] = {
    "id": _f("id", "str", {EQ, IN}),
    "cuePointType": _f("cuePointType", "str", {EQ, IN}, voc.CuePointType),
    "status": _f("status", "int", {EQ, IN}, voc.CuePointStatus),
    "entryId": _f("entryId", "str", {EQ, IN}),
    "createdAt": _f("createdAt", "time", _RANGE),
    "updatedAt": _f("updatedAt", "time", _RANGE),
    "triggeredAt": _f("triggeredAt", "time", _RANGE),
    "tags": _f("tags", "str", set(_TEXT_OPS)),
    "startTime": _f("startTime", "int", _RANGE),
    "userId": _f("userId", "str", {EQ, IN}),
    "partnerSortValue": _f("partnerSortValue", "int", {EQ, IN, GTE, LTE}),
    "forceStop": _f("forceStop", "int", {EQ}, voc.NullableBoolean),
    "systemName": _f("systemName", "str", {EQ, IN}),
}

# Extra fields of the type-specific filters (docs/kaltura-api.md#type-specific-filters),
# keyed by the vocabulary's API type.
TYPE_FIELDS: dict[voc.CuePointType, dict[str, FilterField]] = {
    voc.CuePointType.ANNOTATION: {
        "parentId": _f("parentId", "str", {EQ, IN}),
        "text": _f("text", "str", set(_TEXT_OPS)),
        "endTime": _END,
        "duration": _DURATION,
        "isPublic": _f("isPublic", "int", {EQ}, voc.NullableBoolean),
    },
    voc.CuePointType.AD: {
        "protocolType": _f("protocolType", "str", {EQ, IN}, voc.AdProtocolType),
        "title": _f("title", "str", set(_TEXT_OPS)),
        "endTime": _END,
        "duration": _DURATION,
    },
    voc.CuePointType.CODE: {
        "code": _f("code", "str", {EQ, IN} | _TEXT_OPS),
        "description": _f("description", "str", set(_TEXT_OPS)),
        "endTime": _END,
        "duration": _DURATION,
    },
    voc.CuePointType.THUMB: {
        "description": _f("description", "str", set(_TEXT_OPS)),
        "title": _f("title", "str", set(_TEXT_OPS)),
        "subType": _f("subType", "int", {EQ, IN}, voc.ThumbCuePointSubType),
    },
    voc.CuePointType.SESSION: {"endTime": _END, "duration": _DURATION},
    voc.CuePointType.QUIZ_QUESTION: {"question": _f("question", "str", set(_TEXT_OPS))},
    voc.CuePointType.QUIZ_ANSWER: {
        "parentId": _f("parentId", "str", {EQ, IN}),
        "quizUserEntryId": _f("quizUserEntryId", "str", {EQ, IN}),
    },
    voc.CuePointType.EVENT: {},
}

_ORDER_FIELDS = ("createdAt", "intId", "partnerSortValue", "startTime", "triggeredAt", "updatedAt")
_FREE_TEXT_COLUMNS = tuple(
    c
    for c in ("tags", "text", "title", "code", "description", "question", "name", "systemName")
    if c in CUE_POINT_COLUMNS
)

FILTER_CLASS_TYPES: dict[str, voc.CuePointType | None] = {BASE_FILTER_CLASS: None}
FILTER_CLASS_TYPES.update({t.filter_class: t.api_type for t in voc.TYPES})


@dataclass
class Where:
    """SQL conditions with their arguments."""

    clauses: list[str] = field(default_factory=list)
    args: list[Any] = field(default_factory=list)

    def add(self, clause: str, *args: Any) -> None:
        self.clauses.append(clause)
        self.args.extend(args)

    @property
    def sql(self) -> str:
        return " AND ".join(self.clauses) if self.clauses else "1"


@dataclass
class CuePointQuery:
    filter_class: str
    where: Where
    order_by: str


def php_int(value: Any) -> int:
    """PHP ``(int)`` cast; ``"true"``/``"false"`` map to 1/0 as for int enums (docs/kaltura-api.md#parameter-values)."""
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
    allowed = {str(m.value) for m in ff.enum}  # type: ignore[attr-defined]
    text = str(php_int(value)) if ff.kind == "int" else str(value)
    if text not in allowed:
        raise CoreError(INVALID_ENUM_VALUE, value, prop, _enum_name(ff.enum))  # a deserializer error
    return php_int(value) if ff.kind == "int" else text


def build_cue_point_query(
    store: Store,
    ctx: Context,
    filter_params: Mapping[str, Any] | None,
    *,
    declared: str = BASE_FILTER_CLASS,
    forced_type: str | None = None,
    require_id_or_entry: bool = True,
) -> CuePointQuery:
    """Validate a filter and turn it into SQL, with the server's default criteria applied."""
    fp: Mapping[str, Any] = filter_params or {}
    filter_class = concrete_filter_class(declared, fp.get("objectType"))
    if require_id_or_entry and not any(
        fp.get(k) not in (None, "") for k in ("idEqual", "idIn", "entryIdEqual", "entryIdIn")
    ):
        names = "/".join(f"{filter_class}::{p}" for p in ("idEqual", "idIn", "entryIdEqual", "entryIdIn"))
        raise ApiError(PROPERTY_VALIDATION_CANNOT_BE_NULL, names)

    w = Where()
    w.add("partnerId = ?", ctx.partner_id)
    w.add("status != ?", int(voc.CuePointStatus.DELETED))  # CuePointPeer default criteria
    # Which cue point type: forced by a type service, else by a type-specific filter class.
    class_type = FILTER_CLASS_TYPES.get(filter_class)
    restrict = forced_type or (class_type.value if class_type is not None else None)
    if restrict:
        w.add(f"{q('cuePointType')} = ?", restrict)
    # Non-admin sessions see only their own cue points unless the KS has list:* / list:<entryId>.
    if not ctx.is_admin:
        entry = fp.get("entryIdEqual")
        ks = ctx.ks
        lifted = ks is not None and (
            ks.has_privilege("list", "*") or (entry is not None and ks.has_privilege("list", str(entry)))
        )
        if not lifted:
            w.add(f"COALESCE({q('userId')}, '') = ?", ctx.user)

    fields = dict(BASE_FIELDS)
    if class_type is not None:
        fields.update(TYPE_FIELDS.get(class_type, {}))
    for prop, value in fp.items():
        if prop in ("objectType", "orderBy") or value is None or isinstance(value, dict | list):
            continue
        if prop == "freeText" and str(value) != "":
            pattern = f"%{value}%"
            w.add(
                "(" + " OR ".join(f"{q(c)} LIKE ?" for c in _FREE_TEXT_COLUMNS) + ")",
                *([pattern] * len(_FREE_TEXT_COLUMNS)),
            )
            continue
        if prop in ("userIdEqualCurrent", "userIdCurrent"):
            if php_int(value) == 1:
                if ctx.user or prop == "userIdEqualCurrent":
                    w.add(f"COALESCE({q('userId')}, '') = ?", ctx.user)
                else:
                    w.add(f"{q('isPublic')} = 1")
            continue
        _apply(store, ctx, w, fields, prop, value)
    return CuePointQuery(filter_class, w, _order_by(fp.get("orderBy"), class_type))


def _apply(store: Store, ctx: Context, w: Where, fields: Mapping[str, FilterField], prop: str, value: Any) -> None:
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
        w.add(f"{ff.sql} = ?", _check_enum(ff, prop, value) if ff.enum else cast(value))
    elif op in (IN, NOT_IN):
        items = [cast(v) for v in _split_list(value)]
        if not items:
            return
        neg = "NOT " if op == NOT_IN else ""
        w.add(f"{ff.sql} {neg}IN ({', '.join('?' * len(items))})", *items)
    elif op == LIKE:
        if str(value) != "":
            w.add(f"{ff.sql} LIKE ?", f"%{value}%")
    elif op in (MLIKE_OR, MLIKE_AND):
        parts = [p for p in re.split(r"[ ,]", str(value)) if p]
        if parts:
            joiner = " OR " if op == MLIKE_OR else " AND "
            w.add("(" + joiner.join(f"{ff.sql} LIKE ?" for _ in parts) + ")", *[f"%{p}%" for p in parts])
    elif op == GTE:
        w.add(f"{ff.sql} >= ?", cast(value))
    elif op == LTE:
        w.add(f"{ff.sql} <= ?", cast(value))


def _order_by(value: Any, class_type: voc.CuePointType | None) -> str:
    """``orderBy`` like ``+startTime,-createdAt``; default creation order (``+intId``)."""
    allowed = {f: q(f) for f in _ORDER_FIELDS}
    if class_type is not None and "endTime" in TYPE_FIELDS.get(class_type, {}):
        allowed.update({"endTime": q("endTime"), "duration": _DURATION.sql})
    terms = []
    for item in str(value or "").split(","):
        item = item.strip()
        if len(item) > 1 and item[0] in "+-" and item[1:] in allowed:
            terms.append(f"{allowed[item[1:]]} {'DESC' if item[0] == '-' else 'ASC'}")
    terms.append("intId ASC")
    return ", ".join(terms)


def pager_window(pager: Mapping[str, Any] | None, *, default_size: int) -> tuple[int, int]:
    """(limit, offset) from a ``KalturaFilterPager``: size clamped to 0..500, index >= 1.

    A page size of 0 would mean "no limit" to Propel; the emulator applies the 500 cap then
    (ambiguous on the server, documented in the module docs).
    """
    if pager is None:
        return default_size, 0
    size = (
        php_int(pager.get("pageSize", DEFAULT_PAGE_SIZE))
        if pager.get("pageSize") not in (None, "")
        else DEFAULT_PAGE_SIZE
    )
    index = php_int(pager.get("pageIndex", 1)) if pager.get("pageIndex") not in (None, "") else 1
    size = max(min(size, MAX_PAGE_SIZE), 0) or MAX_PAGE_SIZE
    index = max(1, index)
    return size, (index - 1) * size


def select_cue_points(store: Store, query: CuePointQuery, limit: int | None, offset: int = 0) -> list[dict[str, Any]]:
    sql = f"SELECT * FROM cue_points WHERE {query.where.sql} ORDER BY {query.order_by}"
    args = list(query.where.args)
    if limit is not None:
        sql += " LIMIT ? OFFSET ?"
        args += [limit, offset]
    return [Store.decode_cue_point(r) for r in store.query(sql, args)]


def count_cue_points(store: Store, query: CuePointQuery) -> int:
    row = store.query_one(f"SELECT COUNT(*) AS n FROM cue_points WHERE {query.where.sql}", query.where.args)
    return int(row["n"]) if row else 0

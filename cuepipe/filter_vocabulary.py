"""The cue point filter vocabulary: fields, operators and order-bys of every cue point filter class.

One table, read by both the library's typed filters (:mod:`cuepipe.kaltura.filters`) and the
emulator's filter parser (:mod:`cuepipe.emulator.query`), so the two cannot drift apart. The rows
follow the server's ``Kaltura*CuePointBaseFilter`` maps (``plugins/cue_points/*/lib/api/filters/base``)
and ``KalturaCuePointFilter`` (``freeText``, ``userIdEqualCurrent``, ``userIdCurrent``).
"""

from __future__ import annotations

from enum import Enum

from .vocabulary import (
    AdProtocolType,
    CuePointStatus,
    CuePointType,
    EventType,
    NullableBoolean,
    ThumbCuePointSubType,
)

GTE_LTE = ("GreaterThanOrEqual", "LessThanOrEqual")
LIKES = ("Like", "MultiLikeOr", "MultiLikeAnd")
EQ_IN = ("Equal", "In")

#: ``KalturaPager::MAX_PAGE_SIZE`` / ``baseObjectFilter::getMaxInValues()``.
MAX_PAGE_SIZE = 500
#: ``SphinxCriteria::MAX_MATCHES``: the search index refuses offsets of this and more
#: (``QUERY_EXCEEDED_MAX_MATCHES_ALLOWED``) and returns no row past it.
MAX_MATCHES = 10_000
#: ``SphinxCriterion::MAX_IN_VALUES``: an ``...In`` list on the search index keeps its first 150 values.
MAX_IN_VALUES = 150

#: One row per filter property stem: ``(stem, kind, operator suffixes, enum)``. The single table both
#: the typed filters below and the emulator's filter parser (:mod:`cuepipe.emulator.query`) are built
#: from, so the two cannot drift apart. Operators ``("",)`` mark a property with no suffix
#: (``freeText``...). Rows follow the server's ``Kaltura*CuePointBaseFilter`` maps.
FilterFieldRow = tuple[str, str, tuple[str, ...], type[Enum] | None]

_END_DURATION_ROWS: tuple[FilterFieldRow, ...] = (
    ("endTime", "ms", GTE_LTE, None),
    ("duration", "ms", GTE_LTE, None),
)

CUE_POINT_FILTER_FIELDS: dict[str, tuple[FilterFieldRow, ...]] = {
    "KalturaCuePointFilter": (
        ("id", "str", EQ_IN, None),
        ("cuePointType", "enum", EQ_IN, CuePointType),
        ("status", "enum", EQ_IN, CuePointStatus),
        ("entryId", "str", EQ_IN, None),
        ("createdAt", "time", GTE_LTE, None),
        ("updatedAt", "time", GTE_LTE, None),
        ("triggeredAt", "time", GTE_LTE, None),
        ("tags", "str", LIKES, None),
        ("startTime", "ms", GTE_LTE, None),
        ("userId", "str", EQ_IN, None),
        ("partnerSortValue", "int", EQ_IN + GTE_LTE, None),
        ("forceStop", "enum", ("Equal",), NullableBoolean),
        ("systemName", "str", EQ_IN, None),
        ("freeText", "str", ("",), None),
        ("userIdEqualCurrent", "enum", ("",), NullableBoolean),
        ("userIdCurrent", "enum", ("",), NullableBoolean),
    ),
    "KalturaAnnotationFilter": (
        ("parentId", "str", EQ_IN, None),
        ("text", "str", LIKES, None),
        *_END_DURATION_ROWS,
        ("isPublic", "enum", ("Equal",), NullableBoolean),
    ),
    "KalturaAdCuePointFilter": (
        ("protocolType", "enum", EQ_IN, AdProtocolType),
        ("title", "str", LIKES, None),
        *_END_DURATION_ROWS,
    ),
    "KalturaCodeCuePointFilter": (
        ("code", "str", LIKES + EQ_IN, None),
        ("description", "str", LIKES, None),
        *_END_DURATION_ROWS,
    ),
    "KalturaThumbCuePointFilter": (
        ("description", "str", LIKES, None),
        ("title", "str", LIKES, None),
        ("subType", "enum", EQ_IN, ThumbCuePointSubType),
    ),
    "KalturaEventCuePointFilter": (("eventType", "enum", EQ_IN, EventType),),
    "KalturaSessionCuePointFilter": _END_DURATION_ROWS,
    "KalturaQuestionCuePointFilter": (("question", "str", LIKES, None),),
    "KalturaAnswerCuePointFilter": (
        ("parentId", "str", EQ_IN, None),
        ("quizUserEntryId", "str", EQ_IN, None),
    ),
}


def _signed(*fields: str) -> tuple[str, ...]:
    return tuple(f"{sign}{f}" for f in fields for sign in "+-")


CUE_POINT_ORDER_BY = _signed("createdAt", "intId", "partnerSortValue", "startTime", "triggeredAt", "updatedAt")
END_DURATION_ORDER_BY = CUE_POINT_ORDER_BY + _signed("endTime", "duration")


#: ``orderBy`` values per filter class.
ORDER_BY: dict[str, tuple[str, ...]] = {
    name: END_DURATION_ORDER_BY
    if name in ("KalturaAnnotationFilter", "KalturaAdCuePointFilter", "KalturaCodeCuePointFilter")
    else CUE_POINT_ORDER_BY + _signed("endTime")
    if name == "KalturaSessionCuePointFilter"
    else CUE_POINT_ORDER_BY
    for name in CUE_POINT_FILTER_FIELDS
}

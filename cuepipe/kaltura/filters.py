"""Typed list filters and the pager (docs/kaltura-api.md#filters-and-paging, #bulk-upload-objects).

The hierarchy follows the server's: ``KalturaFilter`` (orderBy, advancedSearch) ->
``KalturaRelatedFilter`` -> ``KalturaCuePointFilter`` (the base filter fields of #cue-point-filter-fields plus
#list-needs-an-id-or-entry-filter) -> one filter per cue point type, each knowing its
:class:`~cuepipe.vocabulary.CuePointType`. The server's ``...BaseFilter`` classes add nothing on the wire and are
abstract, so they are folded into the concrete classes here. Fields are data: one table per class, expanded by
:func:`~cuepipe.kaltura.objects.props`.

Order-by values: the base list of ``KalturaCuePointOrderBy`` for every cue point filter, plus
``±endTime``/``±duration`` for annotation, ad and code filters (#type-specific-filters) and ``±endTime`` alone for
session filters (``KalturaSessionCuePointOrderBy`` in the official client). docs/kaltura-api.md does not list
event, thumb or quiz order-bys beyond the base; the official client's enums agree.
"""

from __future__ import annotations

from typing import Any, ClassVar

from .. import vocabulary as voc
from ..vocabulary import (
    AdProtocolType,
    BatchJobStatus,
    BulkUploadObjectType,
    CuePointStatus,
    CuePointType,
    EventType,
    NullableBoolean,
    ThumbCuePointSubType,
)
from .errors import KalturaParamError
from .objects import KalturaObject, Prop, props
from .search import KalturaSearchItem

GTE_LTE = ("GreaterThanOrEqual", "LessThanOrEqual")
LIKES = ("Like", "MultiLikeOr", "MultiLikeAnd")
EQ_IN = ("Equal", "In")

#: ``MAX_PAGE_SIZE`` / ``getMaxInValues()`` (docs/kaltura-api.md#pager).
MAX_PAGE_SIZE = 500


def _signed(*fields: str) -> tuple[str, ...]:
    return tuple(f"{sign}{f}" for f in fields for sign in "+-")


CUE_POINT_ORDER_BY = _signed("createdAt", "intId", "partnerSortValue", "startTime", "triggeredAt", "updatedAt")
END_DURATION_ORDER_BY = CUE_POINT_ORDER_BY + _signed("endTime", "duration")


class KalturaFilter(KalturaObject):
    """Abstract base of every list filter: ``orderBy`` and ``advancedSearch``."""

    ABSTRACT: ClassVar[bool] = True
    FIELDS = (
        Prop("orderBy", "order"),
        Prop("advancedSearch", "object", item=KalturaSearchItem),
    )


class KalturaRelatedFilter(KalturaFilter):
    """Abstract; adds nothing (docs/kaltura-api.md#pager)."""

    ABSTRACT: ClassVar[bool] = True


class KalturaCuePointFilter(KalturaRelatedFilter):
    """Filter over every cue point type (``cuepoint_cuepoint.list``).

    ``list`` requires one of ``idEqual``, ``idIn``, ``entryIdEqual``, ``entryIdIn`` (else
    ``PROPERTY_VALIDATION_CANNOT_BE_NULL``); :meth:`has_required_for_list` checks that locally.
    """

    CUE_POINT_TYPE: ClassVar[CuePointType | None] = None
    ORDER_BY = CUE_POINT_ORDER_BY
    FIELDS = props(
        ("id", "str", EQ_IN),
        ("cuePointType", "enum", EQ_IN, CuePointType),
        ("status", "enum", EQ_IN, CuePointStatus),
        ("entryId", "str", EQ_IN),
        ("createdAt", "time", GTE_LTE),
        ("updatedAt", "time", GTE_LTE),
        ("triggeredAt", "time", GTE_LTE),
        ("tags", "str", LIKES),
        ("startTime", "ms", GTE_LTE),
        ("userId", "str", EQ_IN),
        ("partnerSortValue", "int", EQ_IN + GTE_LTE),
        ("forceStop", "enum", ("Equal",), NullableBoolean),
        ("systemName", "str", EQ_IN),
        ("freeText", "str", ("",)),
        ("userIdEqualCurrent", "enum", ("",), NullableBoolean),
        ("userIdCurrent", "enum", ("",), NullableBoolean),
    )

    #: The fields of which ``list`` needs at least one (docs/kaltura-api.md#list-needs-an-id-or-entry-filter).
    LIST_REQUIRES: ClassVar[tuple[str, ...]] = ("idEqual", "idIn", "entryIdEqual", "entryIdIn")

    def has_required_for_list(self) -> bool:
        return any(self._values.get(name) is not None for name in self.LIST_REQUIRES)

    def _check(self) -> None:
        forced = type(self).CUE_POINT_TYPE
        given = self._values.get("cuePointTypeEqual")
        if forced is not None and isinstance(given, CuePointType) and given is not forced:
            raise KalturaParamError(
                f"{type(self).__name__} lists {forced.value} cue points; cuePointTypeEqual={given.value!r} "
                "contradicts it (the server would replace it)"
            )


_END_DURATION = (("endTime", "ms", GTE_LTE), ("duration", "ms", GTE_LTE))


class KalturaAnnotationFilter(KalturaCuePointFilter):
    """Annotations and chapters (``annotation.Annotation``)."""

    CUE_POINT_TYPE = CuePointType.ANNOTATION
    ORDER_BY = END_DURATION_ORDER_BY
    FIELDS = props(
        ("parentId", "str", EQ_IN),
        ("text", "str", LIKES),
        *_END_DURATION,
        ("isPublic", "enum", ("Equal",), NullableBoolean),
    )


class KalturaAdCuePointFilter(KalturaCuePointFilter):
    """Ad cue points (``adCuePoint.Ad``)."""

    CUE_POINT_TYPE = CuePointType.AD
    ORDER_BY = END_DURATION_ORDER_BY
    FIELDS = props(
        ("protocolType", "enum", EQ_IN, AdProtocolType),
        ("title", "str", LIKES),
        *_END_DURATION,
    )


class KalturaCodeCuePointFilter(KalturaCuePointFilter):
    """Code cue points (``codeCuePoint.Code``)."""

    CUE_POINT_TYPE = CuePointType.CODE
    ORDER_BY = END_DURATION_ORDER_BY
    FIELDS = props(
        ("code", "str", LIKES + EQ_IN),
        ("description", "str", LIKES),
        *_END_DURATION,
    )


class KalturaThumbCuePointFilter(KalturaCuePointFilter):
    """Thumbnail cue points (``thumbCuePoint.Thumb``): slides and chapters."""

    CUE_POINT_TYPE = CuePointType.THUMB
    FIELDS = props(
        ("description", "str", LIKES),
        ("title", "str", LIKES),
        ("subType", "enum", EQ_IN, ThumbCuePointSubType),
    )


class KalturaEventCuePointFilter(KalturaCuePointFilter):
    """Event cue points (``eventCuePoint.Event``)."""

    CUE_POINT_TYPE = CuePointType.EVENT
    FIELDS = props(("eventType", "enum", EQ_IN, EventType))


class KalturaSessionCuePointFilter(KalturaCuePointFilter):
    """Session cue points (``sessionCuePoint.Session``)."""

    CUE_POINT_TYPE = CuePointType.SESSION
    ORDER_BY = CUE_POINT_ORDER_BY + _signed("endTime")
    FIELDS = props(*_END_DURATION)


class KalturaQuestionCuePointFilter(KalturaCuePointFilter):
    """Quiz questions (``quiz.QUIZ_QUESTION``)."""

    CUE_POINT_TYPE = CuePointType.QUIZ_QUESTION
    FIELDS = props(("question", "str", LIKES))


class KalturaAnswerCuePointFilter(KalturaCuePointFilter):
    """Quiz answers (``quiz.QUIZ_ANSWER``)."""

    CUE_POINT_TYPE = CuePointType.QUIZ_ANSWER
    FIELDS = props(
        ("parentId", "str", EQ_IN),
        ("quizUserEntryId", "str", EQ_IN),
    )


class KalturaBulkUploadFilter(KalturaFilter):
    """Filter for ``bulkupload_bulk.list`` (docs/kaltura-api.md#bulk-upload-objects). ``KalturaBulkUploadOrderBy`` has
    no values."""

    FIELDS = props(
        ("uploadedOn", "time", GTE_LTE + ("Equal",)),
        ("status", "enum", EQ_IN, BatchJobStatus),
        ("bulkUploadObjectType", "enum", EQ_IN, BulkUploadObjectType),
    )


class KalturaFilterPager(KalturaObject):
    """Page of a list: ``pageSize`` 1..500, ``pageIndex`` from 1 (docs/kaltura-api.md#pager).

    Unset fields take the server's defaults: 30 per page, except ``cuePoint.list`` which uses 500.
    """

    FIELDS = (
        Prop("pageSize", "int", min=1, max=MAX_PAGE_SIZE),
        Prop("pageIndex", "int", min=1),
    )

    def next_page(self) -> KalturaFilterPager:
        """The pager for the following page."""
        return KalturaFilterPager(pageSize=self._values.get("pageSize"), pageIndex=(self.page_index or 1) + 1)


#: Every cue point filter class by its wire name (``KalturaAnnotationFilter`` ...).
CUE_POINT_FILTERS: dict[str, type[KalturaCuePointFilter]] = {
    cls.OBJECT_TYPE: cls
    for cls in (
        KalturaCuePointFilter,
        KalturaAnnotationFilter,
        KalturaAdCuePointFilter,
        KalturaCodeCuePointFilter,
        KalturaThumbCuePointFilter,
        KalturaEventCuePointFilter,
        KalturaSessionCuePointFilter,
        KalturaQuestionCuePointFilter,
        KalturaAnswerCuePointFilter,
    )
}


def filter_class_for(cue_point_type: Any) -> type[KalturaCuePointFilter]:
    """The filter class for a cue point type (API value, short name, element name or enum member)."""
    info = voc.type_info(cue_point_type)
    return CUE_POINT_FILTERS[info.filter_class]


def cue_point_type_of(flt: KalturaCuePointFilter | type[KalturaCuePointFilter]) -> CuePointType | None:
    """The type a filter restricts to: its class's type, else an explicit ``cuePointTypeEqual``."""
    cls = flt if isinstance(flt, type) else type(flt)
    if cls.CUE_POINT_TYPE is not None or isinstance(flt, type):
        return cls.CUE_POINT_TYPE
    given = flt.values().get("cuePointTypeEqual")
    return given if isinstance(given, CuePointType) else None

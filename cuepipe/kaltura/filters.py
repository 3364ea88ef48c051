"""Typed list filters and the pager (docs/kaltura-api.md#filters-and-paging, #bulk-upload-objects).

The hierarchy follows the server's: ``KalturaFilter`` (orderBy, advancedSearch) ->
``KalturaRelatedFilter`` -> ``KalturaCuePointFilter`` (the base filter fields of
docs/kaltura-api.md#cue-point-filter-fields plus #list-needs-an-id-or-entry-filter) ->
one filter per cue point type, each knowing its :class:`~cuepipe.vocabulary.CuePointType`.
The server's ``...BaseFilter`` classes add nothing on the wire and are abstract, so they are folded
into the concrete classes here. Fields are data: the rows of
:data:`cuepipe.filter_vocabulary.CUE_POINT_FILTER_FIELDS` (shared with the emulator), expanded by
:func:`~cuepipe.kaltura.objects.props`.

Order-by values: the base list of ``KalturaCuePointOrderBy`` for every cue point filter, plus
``±endTime``/``±duration`` for annotation, ad and code filters (#type-specific-filters) and ``±endTime`` alone for
session filters (``KalturaSessionCuePointOrderBy`` in the official client). docs/kaltura-api.md does not list
event, thumb or quiz order-bys beyond the base; the official client's enums agree.
"""

from __future__ import annotations

from typing import Any, ClassVar

from .. import vocabulary as voc
from ..filter_vocabulary import (
    CUE_POINT_FILTER_FIELDS as CUE_POINT_FILTER_FIELDS,
)
from ..filter_vocabulary import (
    CUE_POINT_ORDER_BY as CUE_POINT_ORDER_BY,
)
from ..filter_vocabulary import (
    END_DURATION_ORDER_BY as END_DURATION_ORDER_BY,
)
from ..filter_vocabulary import (
    EQ_IN,
    GTE_LTE,
)
from ..filter_vocabulary import (
    MAX_IN_VALUES as MAX_IN_VALUES,
)
from ..filter_vocabulary import (
    MAX_MATCHES as MAX_MATCHES,
)
from ..filter_vocabulary import (
    MAX_PAGE_SIZE as MAX_PAGE_SIZE,
)
from ..filter_vocabulary import (
    ORDER_BY as _ORDER_BY,
)
from ..vocabulary import (
    BatchJobStatus,
    BulkUploadObjectType,
    CuePointType,
)
from .errors import KalturaParamError
from .objects import KalturaObject, Prop, props
from .search import KalturaSearchItem


class KalturaFilter(KalturaObject):
    """Abstract base of every list filter: ``orderBy`` and ``advancedSearch``."""

    ABSTRACT: ClassVar[bool] = True
    FIELDS: ClassVar[tuple[Prop, ...]] = (
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
    ORDER_BY = _ORDER_BY["KalturaCuePointFilter"]
    FIELDS = props(*CUE_POINT_FILTER_FIELDS["KalturaCuePointFilter"])

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


class KalturaAnnotationFilter(KalturaCuePointFilter):
    """Annotations and chapters (``annotation.Annotation``)."""

    CUE_POINT_TYPE = CuePointType.ANNOTATION
    ORDER_BY = _ORDER_BY["KalturaAnnotationFilter"]
    FIELDS = props(*CUE_POINT_FILTER_FIELDS["KalturaAnnotationFilter"])


class KalturaAdCuePointFilter(KalturaCuePointFilter):
    """Ad cue points (``adCuePoint.Ad``)."""

    CUE_POINT_TYPE = CuePointType.AD
    ORDER_BY = _ORDER_BY["KalturaAdCuePointFilter"]
    FIELDS = props(*CUE_POINT_FILTER_FIELDS["KalturaAdCuePointFilter"])


class KalturaCodeCuePointFilter(KalturaCuePointFilter):
    """Code cue points (``codeCuePoint.Code``)."""

    CUE_POINT_TYPE = CuePointType.CODE
    ORDER_BY = _ORDER_BY["KalturaCodeCuePointFilter"]
    FIELDS = props(*CUE_POINT_FILTER_FIELDS["KalturaCodeCuePointFilter"])


class KalturaThumbCuePointFilter(KalturaCuePointFilter):
    """Thumbnail cue points (``thumbCuePoint.Thumb``): slides and chapters."""

    CUE_POINT_TYPE = CuePointType.THUMB
    FIELDS = props(*CUE_POINT_FILTER_FIELDS["KalturaThumbCuePointFilter"])


class KalturaEventCuePointFilter(KalturaCuePointFilter):
    """Event cue points (``eventCuePoint.Event``)."""

    CUE_POINT_TYPE = CuePointType.EVENT
    FIELDS = props(*CUE_POINT_FILTER_FIELDS["KalturaEventCuePointFilter"])


class KalturaSessionCuePointFilter(KalturaCuePointFilter):
    """Session cue points (``sessionCuePoint.Session``)."""

    CUE_POINT_TYPE = CuePointType.SESSION
    ORDER_BY = _ORDER_BY["KalturaSessionCuePointFilter"]
    FIELDS = props(*CUE_POINT_FILTER_FIELDS["KalturaSessionCuePointFilter"])


class KalturaQuestionCuePointFilter(KalturaCuePointFilter):
    """Quiz questions (``quiz.QUIZ_QUESTION``)."""

    CUE_POINT_TYPE = CuePointType.QUIZ_QUESTION
    FIELDS = props(*CUE_POINT_FILTER_FIELDS["KalturaQuestionCuePointFilter"])


class KalturaAnswerCuePointFilter(KalturaCuePointFilter):
    """Quiz answers (``quiz.QUIZ_ANSWER``)."""

    CUE_POINT_TYPE = CuePointType.QUIZ_ANSWER
    FIELDS = props(*CUE_POINT_FILTER_FIELDS["KalturaAnswerCuePointFilter"])


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

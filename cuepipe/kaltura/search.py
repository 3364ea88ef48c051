"""``advancedSearch`` items (docs/kaltura-api.md#advanced-search): operator trees of conditions attached to a filter.

``KalturaSearchItem`` is abstract on the server; build a :class:`KalturaSearchOperator` of
conditions, or one condition alone::

    KalturaSearchOperator(type=SearchOperatorType.SEARCH_OR, items=[
        KalturaSearchCondition(field="a", value="b"),
        KalturaSearchComparableCondition(field="c", value=5, comparison=SearchConditionComparison.EQUAL),
    ])

Which ``field`` values a cue point search understands is plugin-specific (open in docs/kaltura-api.md#advanced-search);
they are passed through unchecked.
"""

from __future__ import annotations

from typing import ClassVar

from ..vocabulary import CuePointType, NullableBoolean, SearchConditionComparison, SearchOperatorType
from .objects import KalturaObject, Prop


class KalturaSearchItem(KalturaObject):
    """Abstract base of every advanced search item."""

    ABSTRACT: ClassVar[bool] = True


class KalturaSearchOperator(KalturaSearchItem):
    """AND/OR of nested search items."""

    FIELDS = (
        Prop("type", "enum", enum=SearchOperatorType),
        Prop("items", "objects", item=KalturaSearchItem),
    )


class KalturaSearchCondition(KalturaSearchItem):
    """``field`` equals ``value`` (numbers are sent as their decimal text)."""

    FIELDS: ClassVar[tuple[Prop, ...]] = (
        Prop("field", "str"),
        Prop("value", "text"),
    )


class KalturaSearchComparableCondition(KalturaSearchCondition):
    """``field`` compared with ``value`` by ``comparison``."""

    FIELDS = (Prop("comparison", "enum", enum=SearchConditionComparison),)


class KalturaSearchMatchCondition(KalturaSearchCondition):
    """Free-text match on ``field``; ``not`` (Python: ``not_``) negates it."""

    FIELDS = (Prop("not", "bool", alias="not_"),)


class KalturaEntryCuePointSearchFilter(KalturaSearchItem):
    """Entry-list search item that matches entries by their cue points (docs/kaltura-api.md#type-specific-filters)."""

    FIELDS = (
        Prop("cuePointsFreeText", "str"),
        Prop("cuePointTypeIn", "enum_ids", enum=CuePointType),
        Prop("cuePointSubTypeEqual", "int"),
    )


class KalturaQuizAdvancedFilter(KalturaSearchItem):
    """Entry-list search item for quiz entries (docs/kaltura-api.md#type-specific-filters)."""

    FIELDS = (Prop("isQuiz", "enum", enum=NullableBoolean),)

"""Cue point objects of the API (``KalturaAnnotation``, ``KalturaAdCuePoint``...) as cuepipe records."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import vocabulary as voc
from .errors import KalturaResponseError
from .responses_values import ListPage, _expect_object, _plain, decode_list

_BY_API_CLASS = {info.api_class: info for info in voc.TYPES}
_COLUMN_ORDER = {name: index for index, name in enumerate(voc.COLUMN_NAMES)}


def cue_point_record(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A cue point API object as a record: ``cuePointType`` from the vocabulary, other fields by API name.

    The type comes from ``objectType`` (``KalturaAnnotation`` -> ``annotation.Annotation``), or from
    ``cuePointType`` for subclasses the vocabulary does not name. Vocabulary columns come first, in
    the vocabulary's order; nested objects lose their ``objectType``.
    """
    obj = _expect_object(obj, "cue point")
    object_type = obj.get("objectType")
    info = _BY_API_CLASS.get(str(object_type)) or voc.BY_API_TYPE.get(str(obj.get("cuePointType")))
    if info is None:
        raise KalturaResponseError(
            f"not a cue point object: objectType {object_type!r}, cuePointType {obj.get('cuePointType')!r}"
        )
    fields = {k: _plain(v) for k, v in obj.items() if k not in ("objectType", "cuePointType")}
    fields["cuePointType"] = info.api_type.value
    ordered = sorted(fields, key=lambda k: (_COLUMN_ORDER.get(k, len(_COLUMN_ORDER)),))
    return {k: fields[k] for k in ordered}


def decode_cue_point(data: Any) -> dict[str, Any]:
    return cue_point_record(data)


def decode_cue_point_list(data: Any) -> ListPage[dict[str, Any]]:
    return decode_list(data, cue_point_record)

"""Cue point objects of the API (``KalturaAnnotation``, ``KalturaAdCuePoint``...) as cuepipe records."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import vocabulary as voc
from .errors import KalturaResponseError
from .responses_values import _SCALAR_TYPES, ListPage, _expect_object, _plain, decode_list

_BY_API_CLASS = {info.api_class: info for info in voc.TYPES}
_TYPE_OF_CLASS = {info.api_class: info.api_type.value for info in voc.TYPES}  # the common case, in one lookup
_COLUMN_ORDER = {name: index for index, name in enumerate(voc.COLUMN_NAMES)}


# key order of an object (as the server wrote it) -> record key order; a list response repeats the
# same few key orders (one per cue point type), so sorting every object again is wasted work
_ORDERS: dict[tuple[str, ...], tuple[str, ...]] = {}
_ORDERS_MAX = 1024  # bounded: a hostile server cannot grow it without limit


def _record_order(keys: tuple[str, ...]) -> tuple[str, ...]:
    order = _ORDERS.get(keys)
    if order is None:
        names = [k for k in keys if k not in ("objectType", "cuePointType")] + ["cuePointType"]
        order = tuple(sorted(names, key=lambda k: _COLUMN_ORDER.get(k, len(_COLUMN_ORDER))))
        if len(_ORDERS) < _ORDERS_MAX:
            _ORDERS[keys] = order
    return order


def _api_type(obj: Mapping[str, Any]) -> str:
    """The cue point type of an API object (its ``cuePointType`` value), or the error for a non-cue point."""
    object_type = obj.get("objectType")
    if type(object_type) is str:
        api_type = _TYPE_OF_CLASS.get(object_type)
        if api_type is not None:
            return api_type
    info = _BY_API_CLASS.get(str(object_type)) or voc.BY_API_TYPE.get(str(obj.get("cuePointType")))
    if info is None:
        raise KalturaResponseError(
            f"not a cue point object: objectType {object_type!r}, cuePointType {obj.get('cuePointType')!r}"
        )
    return info.api_type.value


def cue_point_record(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A cue point API object as a record: ``cuePointType`` from the vocabulary, other fields by API name.

    The type comes from ``objectType`` (``KalturaAnnotation`` -> ``annotation.Annotation``), or from
    ``cuePointType`` for subclasses the vocabulary does not name. Vocabulary columns come first, in
    the vocabulary's order (ties keep the server's order); nested objects lose their ``objectType``.
    Pulls decode every cue point through here, so it avoids per-field work it does not need.
    """
    obj = _expect_object(obj, "cue point")
    api_type = _api_type(obj)
    scalar = _SCALAR_TYPES
    record: dict[str, Any] = {}
    for k in _record_order(tuple(obj)):
        if k == "cuePointType":
            record[k] = api_type
        else:
            v = obj[k]
            record[k] = v if type(v) in scalar else _plain(v)
    return record


def decode_cue_point(data: Any) -> dict[str, Any]:
    return cue_point_record(data)


def decode_cue_point_list(data: Any) -> ListPage[dict[str, Any]]:
    return decode_list(data, cue_point_record)


#: The fields that tie a cue point in an answer to the input row it answers (with ``cuePointType``).
KEY_FIELDS = ("id", "entryId", "systemName", "startTime")


def cue_point_keys(obj: Mapping[str, Any]) -> dict[str, Any]:
    """Of a cue point API object, only ``cuePointType`` and :data:`KEY_FIELDS`, with the values and
    the errors :func:`cue_point_record` would give them.

    A push matches each ``addFromBulk`` answer to its rows by these alone, and the answer is decoded
    between one upload and the next, while the server waits: a full record per cue point cost about
    as much as parsing the JSON (measured in ``benchmarks/results/analysis.md``).
    """
    obj = _expect_object(obj, "cue point")
    keys: dict[str, Any] = {"cuePointType": _api_type(obj)}
    scalar = _SCALAR_TYPES
    for k in KEY_FIELDS:
        if k in obj:
            v = obj[k]
            keys[k] = v if type(v) in scalar else _plain(v)
    return keys


def decode_cue_point_keys(data: Any) -> ListPage[dict[str, Any]]:
    """A cue point list response whose objects are reduced to :func:`cue_point_keys`."""
    return decode_list(data, cue_point_keys)

"""The fast path of cue point decoding (``responses_cue_points.cue_point_record``) gives exactly what
the plain version gave: the same fields, values and key order, for any JSON object the server sends.

Pulls decode every cue point through it, so it skips per-field work (ABC checks on scalars, sorting
the keys of every object); this checks nothing else changed, against the plain version kept here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from cuepipe import vocabulary as voc
from cuepipe.kaltura import responses_cue_points as R
from cuepipe.kaltura.errors import KalturaResponseError
from cuepipe.kaltura.responses_values import _plain

from .strategies import api_json_values


def _reference_plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _reference_plain(v) for k, v in value.items() if k != "objectType"}
    if isinstance(value, list):
        return [_reference_plain(v) for v in value]
    return value


def _reference(obj: Mapping[str, Any]) -> dict[str, Any]:
    """cue_point_record as it was before the fast path."""
    object_type = obj.get("objectType")
    info = R._BY_API_CLASS.get(str(object_type)) or voc.BY_API_TYPE.get(str(obj.get("cuePointType")))
    if info is None:
        raise KalturaResponseError("not a cue point object")
    fields = {k: _reference_plain(v) for k, v in obj.items() if k not in ("objectType", "cuePointType")}
    fields["cuePointType"] = info.api_type.value
    ordered = sorted(fields, key=lambda k: (R._COLUMN_ORDER.get(k, len(R._COLUMN_ORDER)),))
    return {k: fields[k] for k in ordered}


_names = st.sampled_from([*voc.COLUMN_NAMES, "createdAt", "status", "intId", "partnerData", "zzz", "objectType"])
_types = st.sampled_from([info.api_class for info in voc.TYPES])


@settings(max_examples=300, deadline=None)
@given(fields=st.dictionaries(_names, api_json_values, max_size=12), object_type=_types, type_first=st.booleans())
def test_fast_record_equals_the_plain_one(fields: dict[str, Any], object_type: str, type_first: bool) -> None:
    fields.pop("objectType", None)
    obj = {"objectType": object_type, **fields} if type_first else {**fields, "objectType": object_type}
    for _ in range(2):  # the second time through, the key order comes from the cache
        got = R.cue_point_record(obj)
        want = _reference(obj)
        assert list(got.items()) == list(want.items())


def test_unknown_type_still_raises_and_type_comes_from_cue_point_type() -> None:
    try:
        R.cue_point_record({"objectType": "KalturaSomethingElse", "id": "x"})
    except KalturaResponseError:
        pass
    else:  # pragma: no cover
        raise AssertionError("an unknown object type must raise")
    info = voc.TYPES[0]
    got = R.cue_point_record({"objectType": "KalturaNewerSubclass", "cuePointType": info.api_type.value, "id": "1"})
    assert got == {"cuePointType": info.api_type.value, "id": "1"}


def test_plain_keeps_scalars_and_strips_nested_object_types() -> None:
    nested = {"objectType": "KalturaOptionalAnswer", "key": "1", "more": [{"objectType": "X", "a": 1}]}
    assert _plain(nested) == {"key": "1", "more": [{"a": 1}]}
    for value in (None, True, 3, 2.5, "s"):
        assert _plain(value) is value


def test_key_order_cache_is_bounded() -> None:
    for i in range(R._ORDERS_MAX + 50):
        R.cue_point_record({"objectType": voc.TYPES[0].api_class, f"extra{i}": i})
    assert len(R._ORDERS) <= R._ORDERS_MAX

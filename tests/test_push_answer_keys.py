"""A push decodes each ``addFromBulk`` answer into the identifying fields of its cue points only
(``cue_point_keys``), while the server waits for the next upload.

These check that the reduced objects carry exactly what ``cue_point_record`` gives for those fields
(values, absent fields, nested values, errors for objects that are not cue points), that the whole
list decoder keeps the list checks, and that a push through the emulator maps answers to rows as
before (ids, actions), including rows the server skips.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cuepipe import vocabulary as voc
from cuepipe.kaltura import (
    Context,
    Response,
    cue_point_add_from_bulk,
    cue_point_keys,
    cue_point_record,
    decode_cue_point_keys,
    decode_result,
)
from cuepipe.kaltura.errors import KalturaAPIError, KalturaResponseError
from cuepipe.kaltura.responses_cue_points import KEY_FIELDS

from .strategies import api_json_values

_names = st.sampled_from([*KEY_FIELDS, *voc.COLUMN_NAMES, "createdAt", "status", "intId", "cuePointType"])
_types = st.sampled_from([info.api_class for info in voc.TYPES] + ["KalturaNewerSubclass", "KalturaMediaEntry"])
_api_types = st.sampled_from([info.api_type.value for info in voc.TYPES] + ["someOther.Type"])


def _outcome(fn: Any, obj: Any) -> tuple[str, Any]:
    try:
        return "value", fn(obj)
    except KalturaResponseError as exc:
        return "error", str(exc)


@settings(max_examples=400, deadline=None)
@given(fields=st.dictionaries(_names, api_json_values, max_size=10), object_type=_types, cue_point_type=_api_types)
def test_keys_are_the_records_identifying_fields(fields: dict[str, Any], object_type: str, cue_point_type: str) -> None:
    obj = {**fields, "objectType": object_type}
    if "cuePointType" in fields:
        obj["cuePointType"] = cue_point_type
    kind, record = _outcome(cue_point_record, obj)
    got_kind, keys = _outcome(cue_point_keys, obj)
    assert got_kind == kind
    if kind == "error":
        assert keys == record  # the same message
        return
    want = {k: record[k] for k in ("cuePointType", *KEY_FIELDS) if k in record}
    assert keys == want


def test_not_an_object_raises_as_the_record_does() -> None:
    for bad in (["a", "list"], "text", 3, None):
        assert _outcome(cue_point_keys, bad) == _outcome(cue_point_record, bad)


def _answer(objects: list[Any], **extra: Any) -> Response:
    import json

    body = {"totalCount": len(objects), "objects": objects, "objectType": "KalturaCuePointListResponse", **extra}
    return Response(200, {"content-type": "application/json"}, json.dumps(body).encode())


def test_add_from_bulk_keys_only_decodes_to_keys_and_keeps_every_check() -> None:
    ctx = Context(ks="ks")
    request = cue_point_add_from_bulk(ctx, b"<scenes/>", keys_only=True)
    full = cue_point_add_from_bulk(ctx, b"<scenes/>")
    assert request.result == "cue_point_keys" and full.result == "cue_point_list"
    objects = [
        {
            "id": "0_a",
            "objectType": "KalturaAnnotation",
            "entryId": "0_e",
            "systemName": "n1",
            "startTime": 1000,
            "text": "kept out",
            "tags": "a,b",
        },
        {"id": "0_b", "objectType": "KalturaCodeCuePoint", "entryId": "0_e", "startTime": 0, "code": "c"},
    ]
    page = decode_result(request, _answer(objects))
    assert page.objects == [
        {"cuePointType": "annotation.Annotation", "id": "0_a", "entryId": "0_e", "systemName": "n1", "startTime": 1000},
        {"cuePointType": "codeCuePoint.Code", "id": "0_b", "entryId": "0_e", "startTime": 0},
    ]
    assert page.total_count == 2
    # an API error, an object that is not a cue point, a malformed list: raised as for full records
    error = _answer([], objectType="KalturaAPIException", code="ENTRY_ID_NOT_FOUND", message="no entry")
    with pytest.raises(KalturaAPIError):
        decode_result(request, error)
    entry = _answer([{"id": "0_m", "objectType": "KalturaMediaEntry"}])
    with pytest.raises(KalturaResponseError) as keys_error:
        decode_result(request, entry)
    with pytest.raises(KalturaResponseError) as record_error:
        decode_result(full, entry)
    assert str(keys_error.value) == str(record_error.value)
    broken = Response(200, {"content-type": "application/json"}, b'{"objects": {"not": "a list"}}')
    for req in (request, full):
        with pytest.raises(KalturaResponseError, match="not a list"):
            decode_result(req, broken)


def test_decode_cue_point_keys_of_an_empty_answer() -> None:
    page = decode_cue_point_keys({"objectType": "KalturaCuePointListResponse", "totalCount": 0})
    assert page.objects == [] and page.total_count == 0


def test_a_push_maps_answers_to_rows_from_the_keys(start_emulator: Any) -> None:
    from cuepipe.client import Client

    emu = start_emulator(partner_id=4321, admin_secret="keys-admin-secret", entries=["0_keys1", "0_keys2"])
    rows = [
        {
            "cuePointType": "annotation.Annotation",
            "entryId": "0_keys1",
            "startTime": 1000,
            "endTime": 1500,
            "text": "named",
        }
        | {"systemName": "k-1"},
        {"cuePointType": "codeCuePoint.Code", "entryId": "0_keys1", "startTime": 2000, "code": "unnamed"},
        {"cuePointType": "adCuePoint.Ad", "entryId": "0_keys2", "startTime": 0, "protocolType": "1", "adType": "1"},
    ]
    with Client(emu.url, partner_id=4321, admin_secret="keys-admin-secret") as client:
        first = client.push(rows)
        assert list(first["action"]) == ["created"] * 3
        ids = list(first["id"])
        assert len(set(ids)) == 3
        got = {r["id"]: r for r in client.pull({"entryIdIn": "0_keys1,0_keys2"}).to_dict("records")}
        assert [got[i]["cuePointType"] for i in ids] == [r["cuePointType"] for r in rows]
        # the named row is updated in place by its systemName: same id, action "updated"
        again = client.push([rows[0] | {"text": "changed"}])
        assert list(again["action"]) == ["updated"] and list(again["id"]) == [ids[0]]

"""Request builders for cuePoint.add / cuePoint.update, and one round trip through the emulator."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from cuepipe.emulator import create_app
from cuepipe.emulator.app import Partner
from cuepipe.kaltura import Context, cue_point_add, cue_point_update
from cuepipe.kaltura.errors import KalturaParamError, KalturaParamTypeError
from cuepipe.kaltura.params import NULL

CTX = Context(partner_id=123, ks="KS")


def _own(params: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in params.items() if k.startswith(("cuePoint", "id"))}


def test_add_sends_the_typed_object_without_unset_fields() -> None:
    request = cue_point_add(
        CTX, {"objectType": "KalturaThumbCuePoint", "entryId": "0_e", "title": "T", "subType": 2, "description": None}
    )
    assert request.path == "/api_v3/service/cuepoint_cuepoint/action/add"
    assert _own(dict(request.params)) == {
        "cuePoint[objectType]": "KalturaThumbCuePoint",
        "cuePoint[entryId]": "0_e",
        "cuePoint[title]": "T",
        "cuePoint[subType]": "2",
    }
    assert request.result == "cue_point"


def test_object_type_derives_from_cue_point_type_and_is_checked() -> None:
    request = cue_point_add(CTX, {"cuePointType": "annotation.Annotation", "entryId": "0_e"})
    assert _own(dict(request.params)) == {"cuePoint[objectType]": "KalturaAnnotation", "cuePoint[entryId]": "0_e"}
    with pytest.raises(KalturaParamError, match="objectType"):
        cue_point_add(CTX, {"entryId": "0_e"})
    with pytest.raises(KalturaParamError, match="does not match"):
        cue_point_add(CTX, {"objectType": "KalturaAnnotation", "cuePointType": "codeCuePoint.Code"})
    with pytest.raises(KalturaParamError, match="annotation service"):
        cue_point_add(CTX, {"objectType": "KalturaCodeCuePoint"}, service="annotation_annotation")
    with pytest.raises(KalturaParamTypeError):
        cue_point_add(CTX, ["not", "a", "mapping"])  # type: ignore[arg-type]


def test_update_sends_nulls_to_clear_fields() -> None:
    request = cue_point_update(
        CTX, "0_cp", {"objectType": "KalturaCodeCuePoint", "code": "c", "description": None, "tags": NULL}
    )
    assert request.path == "/api_v3/service/cuepoint_cuepoint/action/update"
    assert _own(dict(request.params)) == {
        "id": "0_cp",
        "cuePoint[objectType]": "KalturaCodeCuePoint",
        "cuePoint[code]": "c",
        "cuePoint[description__null]": "",
        "cuePoint[tags__null]": "",
    }
    with pytest.raises(KalturaParamTypeError):
        cue_point_update(CTX, "", {"objectType": "KalturaCodeCuePoint"})


def test_round_trip_through_the_emulator() -> None:
    """The built requests, sent as they are, add a chapter that keeps its title and then clear it."""
    app = create_app(partners=[Partner(7, "s3cret")], entries=[(7, "0_e")])
    with TestClient(app) as http:
        ks = http.post(
            "/api_v3/service/session/action/start",
            data={"format": "1", "secret": "s3cret", "type": "2", "partnerId": "7"},
        ).json()
        ctx = Context(partner_id=7, ks=ks)

        def send(request):  # noqa: ANN001, ANN202 - test helper
            response = http.post(request.path, data=dict(request.params))
            assert response.status_code == 200
            return response.json()

        added = send(
            cue_point_add(ctx, {"objectType": "KalturaThumbCuePoint", "entryId": "0_e", "title": "Intro", "subType": 2})
        )
        assert (added["title"], added["subType"], added["status"]) == ("Intro", 2, 1)
        cleared = send(cue_point_update(ctx, added["id"], {"objectType": "KalturaThumbCuePoint", "title": None}))
        assert "title" not in cleared and cleared["subType"] == 2

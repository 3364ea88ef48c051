"""``service=multirequest`` as ``KalturaFrontController::handleMultiRequest`` runs it
(server source: ``api_v3/lib/KalturaFrontController.php``): numbered calls in order, common
``ks``/``partnerId``, one outcome per call (errors included), and ``{N:result:path}`` references."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from lxml import etree
from starlette.testclient import TestClient

from cuepipe.emulator import create_app
from cuepipe.emulator.app import Partner
from cuepipe.emulator.multirequest import value_at

PARTNER, ADMIN = 410, "multi-admin"


@pytest.fixture(scope="module")
def http() -> Iterator[TestClient]:
    with TestClient(create_app(partners=[Partner(PARTNER, ADMIN)], entries=[(PARTNER, "0_multi")])) as client:
        yield client


@pytest.fixture(scope="module")
def ks(http: TestClient) -> str:
    data = {"format": "1", "secret": ADMIN, "type": "2", "partnerId": str(PARTNER)}
    return http.post("/api_v3/service/session/action/start", data=data).json()


def _multi(http: TestClient, body: dict[str, Any], fmt: int = 1) -> Any:
    response = http.post("/api_v3/service/multirequest", json={"format": fmt, **body})
    assert response.status_code == 200
    return response.json() if fmt == 1 else etree.fromstring(response.content)


def test_calls_run_in_order_with_references_and_errors_per_call(http: TestClient, ks: str) -> None:
    body = {
        "ks": ks,
        "1": {
            "service": "cuepoint_cuepoint",
            "action": "add",
            "cuePoint": {"objectType": "KalturaCodeCuePoint", "entryId": "0_multi", "code": "a", "startTime": 5},
        },
        "2": {"service": "cuepoint_cuepoint", "action": "get", "id": "{1:result:id}"},
        "3": {"service": "cuepoint_cuepoint", "action": "get", "id": "0_missing"},
        "4": {
            "service": "cuepoint_cuepoint",
            "action": "update",
            "id": "{1:result:id}",
            "cuePoint": {"objectType": "KalturaCodeCuePoint", "description": "from {1:result:code}"},
        },
        "5": {"service": "cuepoint_cuepoint", "action": "get", "id": "{3:result:id}"},
        "6": {"service": "cuepoint_cuepoint", "action": "count", "filter": {"entryIdEqual": "0_multi"}},
    }
    added, got, missing, updated, from_failed, count = _multi(http, body)
    assert got["id"] == added["id"] and got["code"] == "a"
    assert missing["code"] == "INVALID_CUE_POINT_ID"
    assert updated["description"] == "from a"
    # a reference to a failed call is replaced by the empty string
    assert (from_failed["code"], from_failed["message"]) == ("INVALID_CUE_POINT_ID", "Invalid cue point id []")
    assert count >= 1


def test_numbering_from_zero_and_stop_at_the_first_gap(http: TestClient, ks: str) -> None:
    """The official Python client numbers calls from 0; result references still count from 1."""
    body = {
        "ks": ks,
        "0": {"service": "session", "action": "start", "secret": ADMIN, "type": 2, "partnerId": PARTNER},
        "1": {
            "service": "cuepoint_cuepoint",
            "action": "count",
            "filter": {"entryIdEqual": "0_multi"},
            "ks": "{1:result}",
        },
        "3": {"service": "cuepoint_cuepoint", "action": "count"},
    }
    results = _multi(http, body)
    assert len(results) == 2 and isinstance(results[0], str) and isinstance(results[1], int)


def test_xml_items_and_errors(http: TestClient, ks: str) -> None:
    body = {
        "ks": ks,
        "1": {"service": "cuepoint_cuepoint", "action": "get", "id": "0_nope"},
        "2": {"service": "nosuch", "action": "x"},
    }
    root = _multi(http, body, fmt=2)
    items = root.findall("result/item")
    assert [i.findtext("error/code") for i in items] == ["INVALID_CUE_POINT_ID", "SERVICE_DOES_NOT_EXISTS"]


def test_form_encoded_colon_keys(http: TestClient, ks: str) -> None:
    data = {
        "format": "1",
        "ks": ks,
        "1:service": "cuepoint_cuepoint",
        "1:action": "list",
        "1:filter:entryIdEqual": "0_multi",
        "2:service": "cuepoint_cuepoint",
        "2:action": "get",
        "2:id": "{1:result:objects:0:id}",
    }
    listed, got = http.post("/api_v3/service/multirequest", data=data).json()
    assert listed["objectType"] == "KalturaCuePointListResponse"
    if listed["objects"]:
        assert got["id"] == listed["objects"][0]["id"]


def test_value_at_follows_getValueFromObject() -> None:
    result = {"objects": [{"id": "x", "n": None}], "totalCount": 1, "objectType": "KalturaCuePointListResponse"}
    assert value_at(result, ["objects", "0", "id"]) == "x"
    assert value_at(result, ["objects", "5", "id"]) is None
    assert value_at(result, [""]) is None  # an object as a whole is no value
    assert value_at(7, [""]) == 7
    assert value_at({"objectType": "KalturaAPIException", "code": "X"}, ["code"]) is None
    assert json.dumps(value_at(result, ["totalCount"])) == "1"

"""XML responses (``format=2``) as ``KalturaXmlSerializer`` writes them (server source:
``api_v3/lib/KalturaXmlSerializer.php``): ``objectType`` first, every property of the class in the
server's order with nulls as empty elements (left out with ``ignoreNull=1``), booleans as 1/0,
arrays as ``<item>``, errors as ``<error>``; JSON leaves nulls out."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from lxml import etree
from starlette.testclient import TestClient

from cuepipe.emulator import create_app
from cuepipe.emulator.app import Partner
from cuepipe.emulator.classes import properties

PARTNER, ADMIN, ENTRY = 710, "xml-admin", "0_xmlentry"


@pytest.fixture(scope="module")
def http() -> Iterator[tuple[TestClient, str]]:
    with TestClient(create_app(partners=[Partner(PARTNER, ADMIN)], entries=[(PARTNER, ENTRY)])) as client:
        data = {"format": "1", "secret": ADMIN, "type": "2", "partnerId": str(PARTNER)}
        ks = client.post("/api_v3/service/session/action/start", data=data).json()
        yield client, ks


def _add(http: tuple[TestClient, str], fmt: str, **extra: str) -> bytes:
    client, ks = http
    data = {
        "format": fmt,
        "ks": ks,
        "cuePoint[objectType]": "KalturaAnnotation",
        "cuePoint[entryId]": ENTRY,
        "cuePoint[text]": "a < b",
        **extra,
    }
    response = client.post("/api_v3/service/cuepoint_cuepoint/action/add", data=data)
    assert response.status_code == 200
    return response.content


def test_every_property_in_order_with_empty_nulls(http: tuple[TestClient, str]) -> None:
    result = etree.fromstring(_add(http, "2")).find("result")
    assert result is not None
    names = [child.tag for child in result]
    expected = [p.name for p in properties("KalturaAnnotation") or ()]
    assert names == ["objectType", *expected]
    assert result.findtext("objectType") == "KalturaAnnotation"
    assert result.find("partnerSortValue").text is None  # null: an empty element
    assert result.findtext("relatedObjects") in (None, "")
    assert result.findtext("isPublic") == "0" and result.findtext("searchableOnEntry") == "1"  # booleans
    assert result.findtext("text") == "a < b"


def test_ignore_null_leaves_nulls_out_and_json_never_has_them(http: tuple[TestClient, str]) -> None:
    result = etree.fromstring(_add(http, "2", ignoreNull="1")).find("result")
    assert result is not None and result.find("partnerSortValue") is None and result.find("text") is not None
    client, ks = http
    data = {"format": "1", "ks": ks, "cuePoint[objectType]": "KalturaCodeCuePoint", "cuePoint[entryId]": ENTRY}
    data["cuePoint[code]"] = "c"
    as_json = client.post("/api_v3/service/cuepoint_cuepoint/action/add", data=data).json()
    assert "partnerSortValue" not in as_json and list(as_json)[-1] == "objectType"


def test_lists_and_errors(http: tuple[TestClient, str]) -> None:
    client, ks = http
    data = {"format": "2", "ks": ks, "filter[entryIdEqual]": ENTRY}
    root = etree.fromstring(client.post("/api_v3/service/cuepoint_cuepoint/action/list", data=data).content)
    assert root.findtext("result/objectType") == "KalturaCuePointListResponse"
    assert [i.findtext("objectType") for i in root.findall("result/objects/item")][:1] == ["KalturaAnnotation"]
    data = {"format": "2", "ks": ks, "id": "0_none"}
    root = etree.fromstring(client.post("/api_v3/service/cuepoint_cuepoint/action/get", data=data).content)
    error = root.find("result/error")
    assert error is not None and [c.tag for c in error] == ["code", "message", "objectType", "args"]
    assert error.findtext("args/item/name") == "ID" and error.findtext("args/item/value") == "0_none"

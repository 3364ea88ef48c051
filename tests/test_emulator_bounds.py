"""Hostile request shapes end as API errors, never HTTP 500, and the work per request is bounded.

PHP reads what it can and drops the rest: ``json_decode`` fails beyond depth 512, form variables
nested deeper than ``max_input_nesting_level`` (64) are dropped, a body over ``post_max_size`` is
not parsed. The server then answers from the params it has, e.g. SERVICE_FORBIDDEN or a missing
parameter (api_v3/lib/KalturaDispatcher.php, infraRequestUtils::getRequestParams).
"""

from __future__ import annotations

import httpx
import pytest

from cuepipe.emulator import EmulatorServer
from cuepipe.emulator.params import MAX_INPUT_VARS, depth_within, json_body, nest_flat

from .helpers import EmulatorFactory

PARTNER, ADMIN = 100, "admin-secret"
DEEP = 100_000


@pytest.fixture(scope="module")
def server(start_emulator: EmulatorFactory) -> EmulatorServer:
    return start_emulator(partner_id=PARTNER, admin_secret=ADMIN, entries=["0_b"], max_body_bytes=2_000_000)


@pytest.fixture(scope="module")
def ks(server: EmulatorServer) -> str:
    body = {"format": 1, "secret": ADMIN, "type": 2, "partnerId": PARTNER}
    result = httpx.post(f"{server.url}/api_v3/service/session/action/start", json=body).json()
    assert isinstance(result, str)
    return result


def url(server: EmulatorServer) -> str:
    return f"{server.url}/api_v3/service/cuepoint_cuepoint/action/count"


def test_deep_json_body_is_an_api_error(server: EmulatorServer, ks: str) -> None:
    body = '{"ks": "' + ks + '", "filter": ' + "[" * DEEP + "]" * DEEP + "}"
    response = httpx.post(url(server) + "/format/1", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 200
    assert response.json()["code"] == "SERVICE_FORBIDDEN"  # the body (and its KS) was not decoded
    nested = '{"ks": "x", "a": ' + '{"b": ' * 600 + "1" + "}" * 600 + "}"
    assert json_body("application/json", nested.encode()) is None  # json_decode's 512 levels


def test_deep_form_key_is_dropped(server: EmulatorServer, ks: str) -> None:
    key = "filter" + "[a]" * DEEP
    response = httpx.post(url(server), data={"ks": ks, "format": "1", key: "1"})
    assert response.status_code == 200 and response.json() == 0  # the deep variable is ignored
    assert nest_flat([("a" + "[b]" * 70, "1"), ("c", "2")]) == {"c": "2"}


def test_deep_json_in_a_multipart_json_part(server: EmulatorServer, ks: str) -> None:
    part = '{"ks": "' + ks + '", "filter": ' + "[" * DEEP + "]" * DEEP + "}"
    response = httpx.post(url(server) + "/format/1", files={"json": (None, part), "f": ("f.txt", b"x", "text/plain")})
    assert response.status_code == 200 and response.json()["code"] == "SERVICE_FORBIDDEN"


def test_too_many_params_are_cut(server: EmulatorServer, ks: str) -> None:
    pairs = [("ks", ks)] + [(f"x{i}", "1") for i in range(MAX_INPUT_VARS + 5)]
    response = httpx.post(url(server) + "/format/1", data=dict(pairs))  # a form over the limit is ignored
    assert response.status_code == 200 and response.json()["code"] == "SERVICE_FORBIDDEN"
    flat = nest_flat([(f"k{i}", i) for i in range(MAX_INPUT_VARS + 5)])
    assert len(flat) == MAX_INPUT_VARS


def test_a_body_over_the_limit_is_not_read(server: EmulatorServer, ks: str) -> None:
    big = b"x" * 3_000_000
    response = httpx.post(url(server) + f"/ks/{ks}/format/1", files={"fileData": ("a.xml", big, "text/xml")})
    assert response.status_code == 200 and response.json() == 0  # path params only
    chunked = httpx.post(
        f"{server.url}/api_v3/service/cuepoint_cuepoint/action/addFromBulk/ks/{ks}/format/1",
        content=iter([b"a" * 1_000_000] * 3),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert chunked.status_code == 200 and chunked.json()["code"] == "MISSING_MANDATORY_PARAMETER"


def test_depth_check_is_iterative() -> None:
    value: list[object] = []
    for _ in range(DEEP):
        value = [value]
    assert not depth_within(value, 512)
    assert depth_within({"a": {"b": [1, 2]}}, 3)


def test_fault_admin_endpoint_refuses_deep_json() -> None:
    """The same decoder bound on /_emulator/faults: a 400 with a message, not a 500."""
    with EmulatorServer(partner_id=PARTNER, admin_secret=ADMIN, fault_admin=True) as srv:
        deep = "[" * DEEP + "]" * DEEP
        response = httpx.post(f"{srv.url}/_emulator/faults", content=deep)
        assert response.status_code == 400 and "JSON" in response.json()["error"]

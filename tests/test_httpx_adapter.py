"""One httpx adapter (cuepipe.kaltura._httpx) for the protocol layer and both clients' transport:
streamed upload bodies go out whole from ``httpx.Client`` and ``httpx.AsyncClient``."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from cuepipe.client import _transport
from cuepipe.client._base import Send
from cuepipe.kaltura import Context, cue_point_add_from_bulk, make_ks
from cuepipe.kaltura._httpx import from_httpx, to_httpx

KS = make_ks(7, "secret")
CTX = Context(partner_id=7, ks=KS)
BASE = "https://kaltura.test"
CHUNKS = [b"<scenes>", b"<scene-code-cue-point entryId='0_e'>", b"</scene-code-cue-point>", b"</scenes>"]
DOCUMENT = b"".join(CHUNKS)
OK = {"objects": [], "totalCount": 0, "objectType": "KalturaCuePointListResponse"}


def _streamed(size: int | None) -> tuple[object, list[int]]:
    """An addFromBulk request whose file streams from a one-shot generator; records chunks taken."""
    taken: list[int] = []

    def chunks() -> Iterator[bytes]:
        for i, chunk in enumerate(CHUNKS):
            taken.append(i)
            yield chunk

    return cue_point_add_from_bulk(CTX, chunks(), size=size), taken


def _handler(seen: dict[str, object]):
    def handle(request: httpx.Request) -> httpx.Response:
        seen["headers"] = dict(request.headers)
        seen["body"] = request.content
        return httpx.Response(200, json=OK, headers=[("X-A", "1"), ("X-A", "2")])

    return handle


async def _ahandler_factory(seen: dict[str, object]):
    async def handle(request: httpx.Request) -> httpx.Response:
        seen["headers"] = dict(request.headers)
        seen["body"] = await request.aread()
        return httpx.Response(200, json=OK)

    return handle


def _check(seen: dict[str, object], size: int | None, host: str = "kaltura.test") -> None:
    headers = seen["headers"]
    assert isinstance(headers, dict) and isinstance(seen["body"], bytes)
    assert DOCUMENT in seen["body"] and seen["body"].endswith(b"--\r\n")
    assert headers["host"] == host
    if size is None:
        assert headers.get("transfer-encoding") == "chunked" and "content-length" not in headers
    else:
        assert int(headers["content-length"]) == len(seen["body"]) and "transfer-encoding" not in headers


@pytest.mark.parametrize("size", [len(DOCUMENT), None])
def test_sync_client_sends_a_streamed_body(size: int | None) -> None:
    seen: dict[str, object] = {}
    request, taken = _streamed(size)
    with httpx.Client(transport=httpx.MockTransport(_handler(seen))) as client:
        response = from_httpx(client.send(to_httpx(request, BASE)))  # type: ignore[arg-type]
    assert response.status == 200 and response.header("x-a") == "1, 2"
    assert taken == [0, 1, 2, 3]
    _check(seen, size)


@pytest.mark.parametrize("size", [len(DOCUMENT), None])
def test_async_client_sends_a_streamed_body(size: int | None) -> None:
    seen: dict[str, object] = {}
    request, taken = _streamed(size)

    async def go() -> int:
        async with httpx.AsyncClient(transport=httpx.MockTransport(await _ahandler_factory(seen))) as client:
            return (await client.send(to_httpx(request, BASE))).status_code  # type: ignore[arg-type]

    assert asyncio.run(go()) == 200
    assert taken == [0, 1, 2, 3]
    _check(seen, size)


def test_a_streamed_body_is_read_once() -> None:
    request, _ = _streamed(None)
    stream = to_httpx(request, BASE).stream  # type: ignore[arg-type]
    assert isinstance(stream, httpx.SyncByteStream) and isinstance(stream, httpx.AsyncByteStream)
    assert DOCUMENT in b"".join(stream)
    with pytest.raises(httpx.StreamConsumed):
        list(stream)


def test_the_client_transport_uses_the_same_adapter_for_both_clients() -> None:
    """send_sync/send_async go through to_httpx (to the Send's URL, e.g. a redirect target)."""
    target = "https://other-dc.kaltura.test/api_v3/service/cuepoint_cuepoint/action/addFromBulk"
    for asynchronous in (False, True):
        seen: dict[str, object] = {}
        request, _ = _streamed(None)
        send = Send(request, target)  # type: ignore[arg-type]
        if asynchronous:

            async def go(seen: dict[str, object] = seen, send: Send = send) -> int:
                transport = httpx.MockTransport(await _ahandler_factory(seen))
                async with httpx.AsyncClient(transport=transport) as client:
                    return (await _transport.send_async(client, send)).status

            assert asyncio.run(go()) == 200
        else:
            with httpx.Client(transport=httpx.MockTransport(_handler(seen))) as client:
                assert _transport.send_sync(client, send).status == 200
        _check(seen, None, host="other-dc.kaltura.test")
    assert _transport.to_httpx is to_httpx


def test_url_or_base_url() -> None:
    request, _ = _streamed(3)
    with pytest.raises(TypeError):
        to_httpx(request)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        to_httpx(request, BASE, url=BASE)  # type: ignore[arg-type]

"""The only I/O of the client: one HTTP exchange for a :class:`~cuepipe.client._base.Send` command.

Requests are POSTed with a form body (multipart with the file for uploads), so the KS is never in
a URL; upload bodies stream from the XML writer chunk by chunk, with a ``Content-Length`` when the
size is known. The async variant wraps the same chunks in an async iterator, as httpx requires.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator

import httpx

from ..kaltura import Response, encode_body
from ._base import Send, log

#: Generous read timeout: ``addFromBulk`` answers only after every scene is saved.
DEFAULT_TIMEOUT = httpx.Timeout(120.0, connect=15.0)
DEFAULT_LIMITS = httpx.Limits(max_connections=10, max_keepalive_connections=5)


async def _async_chunks(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


def build_request(send: Send, *, asynchronous: bool) -> httpx.Request:
    request = send.request
    headers = dict(request.headers)
    if request.method == "GET":
        return httpx.Request("GET", send.url, params=list(request.params.items()), headers=headers)
    body = encode_body(request)
    headers.update(body.headers())
    content = body.content
    if asynchronous and not isinstance(content, bytes):
        return httpx.Request("POST", send.url, headers=headers, content=_async_chunks(content))
    return httpx.Request("POST", send.url, headers=headers, content=content)


def to_response(response: httpx.Response) -> Response:
    return Response(status=response.status_code, headers=list(response.headers.multi_items()), body=response.content)


def send_sync(http: httpx.Client, send: Send) -> Response:
    started = time.monotonic()
    response = to_response(http.send(build_request(send, asynchronous=False)))
    log.debug(
        "%r -> HTTP %d, %d bytes in %.2f s",
        send.request,
        response.status,
        len(response.body),
        time.monotonic() - started,
    )
    return response


async def send_async(http: httpx.AsyncClient, send: Send) -> Response:
    started = time.monotonic()
    response = to_response(await http.send(build_request(send, asynchronous=True)))
    log.debug(
        "%r -> HTTP %d, %d bytes in %.2f s",
        send.request,
        response.status,
        len(response.body),
        time.monotonic() - started,
    )
    return response

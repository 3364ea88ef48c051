"""The only I/O of the client: one HTTP exchange for a :class:`~cuepipe.client._base.Send` command.

Requests are POSTed with a form body (multipart with the file for uploads), so the KS is never in
a URL; upload bodies stream from the XML writer chunk by chunk, with a ``Content-Length`` when the
size is known. Requests and responses go through the protocol layer's httpx adapter
(:mod:`cuepipe.kaltura._httpx`), the same one for the sync and the async client.
"""

from __future__ import annotations

import time

import httpx

from ..kaltura import Response
from ..kaltura._httpx import from_httpx, to_httpx
from ._base import Send, log

#: Generous read timeout: ``addFromBulk`` answers only after every scene is saved.
DEFAULT_TIMEOUT = httpx.Timeout(120.0, connect=15.0)
DEFAULT_LIMITS = httpx.Limits(max_connections=10, max_keepalive_connections=5)


def build_request(send: Send) -> httpx.Request:
    """The httpx request for ``send`` (to its URL, which may be a redirect target)."""
    return to_httpx(send.request, url=send.url)


def send_sync(http: httpx.Client, send: Send) -> Response:
    started = time.monotonic()
    response = from_httpx(http.send(build_request(send)))
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
    response = from_httpx(await http.send(build_request(send)))
    log.debug(
        "%r -> HTTP %d, %d bytes in %.2f s",
        send.request,
        response.status,
        len(response.body),
        time.monotonic() - started,
    )
    return response

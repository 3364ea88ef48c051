"""Adapters between the sans-IO :class:`~cuepipe.kaltura.request.Request` / ``Response`` and httpx.

The only module of :mod:`cuepipe.kaltura` that imports httpx; it still performs no I/O itself.
"""

from __future__ import annotations

import httpx

from .request import Encoding, Request, encode_body
from .responses import Response


def to_httpx(
    request: Request, base_url: str, *, encoding: Encoding = "form", boundary: str | None = None
) -> httpx.Request:
    """An ``httpx.Request`` for ``request`` against ``base_url`` (``https://www.kaltura.com``).

    POST bodies are form-urlencoded, JSON (``encoding="json"``) or multipart when there are files;
    streamed file content stays streamed. GET puts the params in the query string.
    """
    url = request.url(base_url)
    headers = dict(request.headers)
    if request.method == "GET":
        return httpx.Request("GET", url, params=list(request.params.items()), headers=headers)
    body = encode_body(request, encoding=encoding, boundary=boundary)
    headers.update(body.headers())
    return httpx.Request("POST", url, headers=headers, content=body.content)


def from_httpx(response: httpx.Response) -> Response:
    """A :class:`Response` from a fully read ``httpx.Response``."""
    return Response(status=response.status_code, headers=list(response.headers.multi_items()), body=response.content)

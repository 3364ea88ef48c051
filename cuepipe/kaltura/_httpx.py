"""Adapters between the sans-IO :class:`~cuepipe.kaltura.request.Request` / ``Response`` and httpx.

The only module of :mod:`cuepipe.kaltura` that imports httpx; it still performs no I/O itself. The
client's transport uses these same functions, for ``httpx.Client`` and ``httpx.AsyncClient`` alike.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator

import httpx

from .request import Encoding, Request, encode_body
from .responses import Response


class BodyStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A streamed request body that both httpx clients can send.

    httpx sends a plain iterator of bytes only from the sync client (the async one refuses it), and an
    async iterator only from the async one. Upload bodies come from the XML writer as a plain
    iterator, so this stream offers both interfaces over it. It can be read once: a retried request is
    built again from its :class:`Request`, which streams the upload anew.
    """

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = chunks
        self._consumed = False

    def _take(self) -> Iterator[bytes]:
        if self._consumed:
            raise httpx.StreamConsumed()
        self._consumed = True
        return iter(self._chunks)

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._take():
            if chunk:
                yield chunk

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._take():
            if chunk:
                yield chunk


def to_httpx(
    request: Request,
    base_url: str | None = None,
    *,
    url: str | None = None,
    encoding: Encoding = "form",
    boundary: str | None = None,
) -> httpx.Request:
    """An ``httpx.Request`` for ``request`` against ``base_url`` (``https://www.kaltura.com``), or
    sent to the full ``url`` instead (e.g. where a redirect pointed).

    POST bodies are form-urlencoded, JSON (``encoding="json"``) or multipart when there are files;
    streamed file content stays streamed (with a ``Content-Length`` when the size is known, chunked
    otherwise), and the result can be sent by ``httpx.Client`` or ``httpx.AsyncClient``. GET puts the
    params in the query string.
    """
    if (base_url is None) == (url is None):
        raise TypeError("give base_url or url, not both")
    target = url if url is not None else request.url(base_url or "")
    headers = dict(request.headers)
    if request.method == "GET":
        return httpx.Request("GET", target, params=list(request.params.items()), headers=headers)
    body = encode_body(request, encoding=encoding, boundary=boundary)
    headers.update(body.headers())
    if isinstance(body.content, bytes):
        return httpx.Request("POST", target, headers=headers, content=body.content)
    if body.length is None:
        headers["Transfer-Encoding"] = "chunked"
    streamed = httpx.Request("POST", target, headers=headers, stream=BodyStream(body.content))
    # With stream= httpx adds no headers of its own, not even the Host that HTTP/1.1 requires.
    streamed.headers.setdefault("Host", streamed.url.netloc.decode("ascii"))
    return streamed


def from_httpx(response: httpx.Response) -> Response:
    """A :class:`Response` from a fully read ``httpx.Response`` (a repeated header's values joined by ``, ``)."""
    return Response(status=response.status_code, headers=dict(response.headers.items()), body=response.content)

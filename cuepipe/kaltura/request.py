"""The :class:`Request` value and its body encodings. Nothing here opens a socket.

A request is ``POST {serviceUrl}/api_v3/service/{service}/action/{action}`` with flat params
(docs/kaltura-api.md#services-and-actions). The KS travels in the body, never in the URL, so proxies and access logs do
not see it; :meth:`Request.url` with ``query=True`` builds the GET form the official client hands out for file actions,
for callers that really want a link.

Bodies (#body-encodings): form-urlencoded by default; ``encoding="json"`` sends ``Content-Type:
application/json`` exactly (a ``charset`` suffix would disable JSON parsing on the server). With
files, multipart/form-data: params as individual form fields (``encoding="form"``) or one ``json``
field (``encoding="json"``, what the official client does), then one part per file. File content
may be an iterator of byte chunks; the multipart body is then produced lazily, chunk by chunk, and
its length is known only if the caller gave ``size``.

[ambiguous] Without ``size`` a streamed upload goes out with chunked transfer encoding. Whether PHP
then fills ``$_FILES`` depends on the web server in front of it (nginx buffers and works; some
FastCGI set-ups do not), so callers that can should give ``size``.
"""

from __future__ import annotations

import json
import mimetypes
import secrets
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Literal
from urllib.parse import urlencode

from .errors import KalturaParamError, KalturaParamTypeError
from .params import nest
from .redact import MASK, redact_params

#: The API version the official client 23.3.0 announces (docs/kaltura-api.md#common-parameters); used for logging
#: server-side.
API_VERSION = "23.3.0"
DEFAULT_CLIENT_TAG = "cuepipe"
#: ``format=1``: JSON responses (docs/kaltura-api.md#common-parameters). The decoders here read JSON only.
FORMAT_JSON = "1"

Encoding = Literal["form", "json"]


@dataclass(frozen=True, slots=True, repr=False)
class FilePart:
    """One uploaded file: form field ``field`` (``fileData``, ``csvFileData``), a filename and content.

    ``content`` is bytes, or an iterable of byte chunks for streaming; an iterator can be sent only
    once (see :attr:`replayable`). ``size`` is the content length, computed for bytes; give it for
    streamed content to get a ``Content-Length`` instead of chunked transfer encoding.
    """

    field: str
    filename: str
    content: bytes | Iterable[bytes]
    content_type: str = ""
    size: int | None = None

    def __post_init__(self) -> None:
        if not self.field:
            raise KalturaParamError("a file part needs a field name")
        if isinstance(self.content, bytearray | memoryview):
            object.__setattr__(self, "content", bytes(self.content))
        if isinstance(self.content, str):
            raise KalturaParamTypeError("file content must be bytes or an iterable of bytes, not str")
        if not isinstance(self.content, bytes | Iterable):
            raise KalturaParamTypeError(
                f"file content must be bytes or an iterable of bytes, not {type(self.content).__name__}"
            )
        if isinstance(self.content, bytes):
            if self.size is not None and self.size != len(self.content):
                raise KalturaParamError(f"size {self.size} does not match the {len(self.content)} bytes given")
            object.__setattr__(self, "size", len(self.content))
        elif self.size is not None and self.size < 0:
            raise KalturaParamError("size must not be negative")
        if not self.content_type:
            guessed = mimetypes.guess_type(self.filename)[0]
            object.__setattr__(self, "content_type", guessed or "application/octet-stream")

    @property
    def replayable(self) -> bool:
        """True when the content can be sent again (bytes); an iterator is consumed by the first send."""
        return isinstance(self.content, bytes)

    def chunks(self) -> Iterator[bytes]:
        """The content as byte chunks, checking each chunk's type and the total against ``size``."""
        if isinstance(self.content, bytes):
            yield self.content
            return
        total = 0
        for chunk in self.content:
            if isinstance(chunk, bytearray | memoryview):
                chunk = bytes(chunk)
            if not isinstance(chunk, bytes):
                raise KalturaParamTypeError(f"file chunks must be bytes, got {type(chunk).__name__}")
            total += len(chunk)
            if chunk:
                yield chunk
        if self.size is not None and total != self.size:
            raise KalturaParamError(f"file {self.filename!r}: streamed {total} bytes but size said {self.size}")

    def __repr__(self) -> str:
        return f"FilePart(field={self.field!r}, filename={self.filename!r}, size={self.size})"


@dataclass(frozen=True, slots=True, repr=False)
class Context:
    """Per-call common params: partner id, KS, client tag, API version (docs/kaltura-api.md#common-parameters); repr
    masks the KS."""

    partner_id: int | None = None
    ks: str | None = None
    client_tag: str = DEFAULT_CLIENT_TAG
    api_version: str = API_VERSION
    language: str | None = None

    def with_ks(self, ks: str | None) -> Context:
        return replace(self, ks=ks)

    def common_params(self, *, include_ks: bool = True) -> dict[str, str]:
        params = {"format": FORMAT_JSON, "clientTag": self.client_tag, "apiVersion": self.api_version}
        if self.language:
            params["language"] = self.language
        if self.partner_id is not None:
            params["partnerId"] = str(self.partner_id)
        if include_ks and self.ks:
            params["ks"] = self.ks
        return params

    def __repr__(self) -> str:
        ks = MASK if self.ks else None
        return (
            f"Context(partner_id={self.partner_id!r}, ks={ks!r}, client_tag={self.client_tag!r}, "
            f"api_version={self.api_version!r}, language={self.language!r})"
        )


#: What the response of a request decodes to; names a decoder in :mod:`cuepipe.kaltura.responses`.
ResultKind = Literal[
    "cue_point",
    "cue_point_list",
    "cue_point_keys",  # a cue point list reduced to the fields that identify each one (a push's answers)
    "count",
    "void",
    "file",
    "serve_log",
    "ks",
    "bulk_upload",
    "bulk_upload_list",
    "bulk_upload_result",
    "bulk_upload_result_or_none",
    "key_value_counts",
    "int",
    "entry",
]


@dataclass(frozen=True, slots=True, repr=False)
class Request:
    """One API call, ready to send: method, service/action, flat params, files, headers, result kind."""

    service: str
    action: str
    params: Mapping[str, str]
    result: ResultKind
    files: tuple[FilePart, ...] = ()
    method: Literal["POST", "GET"] = "POST"
    headers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({"Accept": "application/json"}))

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))
        object.__setattr__(self, "headers", MappingProxyType(dict(self.headers)))
        if self.method == "GET" and self.files:
            raise KalturaParamError("a request with files must be POSTed")

    @property
    def path(self) -> str:
        return f"/api_v3/service/{self.service}/action/{self.action}"

    @property
    def returns_file(self) -> bool:
        """True for actions whose body is a raw file (serveBulk, serve, serveLog): errors come in headers."""
        return self.result in ("file", "serve_log")

    @property
    def replayable(self) -> bool:
        """True when the request can be sent again as is (no streamed file content)."""
        return all(part.replayable for part in self.files)

    def url(self, base_url: str, *, query: bool = False) -> str:
        """The full URL; with ``query=True`` the params go in the query string (the KS too: a secret link)."""
        url = base_url.rstrip("/") + self.path
        return f"{url}?{urlencode(list(self.params.items()))}" if query else url

    def as_get(self) -> Request:
        return replace(self, method="GET")

    def with_params(self, **params: str) -> Request:
        return replace(self, params={**self.params, **params})

    def __repr__(self) -> str:
        files = f", files={list(self.files)!r}" if self.files else ""
        return f"Request({self.method} {self.path}, params={redact_params(self.params)!r}{files})"

    __str__ = __repr__


@dataclass(frozen=True, slots=True, repr=False)
class Body:
    """An encoded body: bytes, or an iterator of chunks (multipart with streamed files)."""

    content_type: str
    content: bytes | Iterator[bytes]
    length: int | None

    def headers(self) -> dict[str, str]:
        out = {"Content-Type": self.content_type}
        if self.length is not None:
            out["Content-Length"] = str(self.length)
        return out

    def __repr__(self) -> str:
        return f"Body(content_type={self.content_type!r}, length={self.length})"


def encode_body(request: Request, *, encoding: Encoding = "form", boundary: str | None = None) -> Body:
    """The body of a POST request (docs/kaltura-api.md#body-encodings)."""
    if request.files:
        return encode_multipart(request.params, request.files, encoding=encoding, boundary=boundary)
    if encoding == "json":
        data = json.dumps(nest(request.params), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return Body("application/json", data, len(data))
    data = urlencode(list(request.params.items())).encode("ascii")
    return Body("application/x-www-form-urlencoded", data, len(data))


def _quote_field(text: str) -> str:
    # HTML's multipart/form-data name escaping: '"' -> %22, CR -> %0D, LF -> %0A.
    return text.replace("\r", "%0D").replace("\n", "%0A").replace('"', "%22")


def encode_multipart(
    params: Mapping[str, str],
    files: Iterable[FilePart],
    *,
    encoding: Encoding = "form",
    boundary: str | None = None,
) -> Body:
    """multipart/form-data with params first, then files; lazy when any file streams."""
    boundary = boundary or secrets.token_hex(16)
    dash = f"--{boundary}".encode("ascii")
    fields: list[tuple[str, str]]
    if encoding == "json":
        fields = [("json", json.dumps(nest(params), ensure_ascii=False, separators=(",", ":")))]
    else:
        fields = list(params.items())
    head = b"".join(
        dash
        + b"\r\n"
        + f'Content-Disposition: form-data; name="{_quote_field(name)}"\r\n\r\n'.encode()
        + value.encode("utf-8")
        + b"\r\n"
        for name, value in fields
    )
    parts = list(files)
    file_heads = [
        dash
        + b"\r\n"
        + (
            f'Content-Disposition: form-data; name="{_quote_field(p.field)}"; filename="{_quote_field(p.filename)}"\r\n'
        ).encode()
        + f"Content-Type: {p.content_type}\r\n\r\n".encode()
        for p in parts
    ]
    tail = dash + b"--\r\n"
    sizes = [p.size for p in parts]
    length = None
    if all(size is not None for size in sizes):
        length = len(head) + sum(len(h) + s + 2 for h, s in zip(file_heads, sizes, strict=True) if s is not None)
        length += len(tail)
    content_type = f"multipart/form-data; boundary={boundary}"
    if all(p.replayable for p in parts):
        data = (
            head
            + b"".join(
                h + p.content + b"\r\n" for h, p in zip(file_heads, parts, strict=True) if isinstance(p.content, bytes)
            )
            + tail
        )
        return Body(content_type, data, len(data))

    def stream() -> Iterator[bytes]:
        if head:
            yield head
        for file_head, part in zip(file_heads, parts, strict=True):
            yield file_head
            yield from part.chunks()
            yield b"\r\n"
        yield tail

    return Body(content_type, stream(), length)

"""From an HTTP response to what the action returned: a JSON value or the bytes of a file.

Every error channel (``responses_errors``) is checked first, in the order the server uses them, so
a caller gets either the body or the typed error; an unexpected body is a
:class:`~cuepipe.kaltura.errors.KalturaResponseError` with a redacted excerpt.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import BulkUploadLogNotReadyError, KalturaResponseError
from .redact import redact
from .responses_errors import _excerpt, api_error_from_headers, check_status, raise_for_api_error, xml_api_error


@dataclass(frozen=True, slots=True, repr=False)
class Response:
    """What came back: status, headers (names lower-cased) and body bytes."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    def __post_init__(self) -> None:
        items = self.headers.items() if isinstance(self.headers, Mapping) else self.headers
        merged: dict[str, str] = {}
        for name, value in items:
            key = str(name).lower()
            merged[key] = f"{merged[key]}, {value}" if key in merged else str(value)
        object.__setattr__(self, "headers", merged)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @property
    def content_type(self) -> str:
        return (self.headers.get("content-type") or "").split(";", 1)[0].strip().lower()

    def __repr__(self) -> str:
        return f"Response(status={self.status}, content_type={self.content_type!r}, length={len(self.body)})"


def decode_json(response: Response) -> Any:
    """The JSON result of an action; raises the API error it carries, or an HTTP/format error."""
    header_error = api_error_from_headers(response.headers)
    if header_error is not None:
        raise header_error
    check_status(response.status, response.headers, response.body)
    if not response.body.strip():
        raise KalturaResponseError(f"empty body where a JSON result was expected (HTTP {response.status})")
    try:
        data = json.loads(response.body)
    except (ValueError, UnicodeDecodeError):
        xml_error = xml_api_error(response.body)
        if xml_error is not None:
            raise xml_error from None
        kind = response.content_type or "no content type"
        raise KalturaResponseError(
            f"expected a JSON body (format=1) but got {kind}: {_excerpt(response.body)!r}"
        ) from None
    raise_for_api_error(data)
    return data


def file_body_is_error(status: int, headers: Mapping[str, str]) -> bool:
    """For a streamed file action, decide from the head alone.

    Raises for ``X-Kaltura`` error headers and non-2xx statuses; returns True when the body is a
    JSON document (an error raised before the action ran) that must be read whole and passed to
    :func:`decode_json`, False when the body is the file. ``headers`` must be lower-cased.
    """
    header_error = api_error_from_headers(headers)
    if header_error is not None:
        raise header_error
    check_status(status, headers)
    content_type = (headers.get("content-type") or "").split(";", 1)[0].strip().lower()
    return content_type == "application/json"


def decode_file(response: Response) -> bytes:
    """The raw body of ``serveBulk`` / ``serve`` / ``serveLog``, after checking every error channel."""
    if file_body_is_error(response.status, response.headers):
        data = decode_json(response)
        raise KalturaResponseError(f"expected a file but got a JSON {type(data).__name__}")
    xml_error = xml_api_error(response.body)
    if xml_error is not None:
        raise xml_error
    return response.body


_MRSS_ERROR = re.compile(rb"\s*(?:<\?xml[^>]*\?>\s*)?<mrss>\s*<error>(.*?)</error>\s*</mrss>\s*", re.DOTALL)


def decode_serve_log(response: Response) -> bytes:
    """``serveLog``'s body; a not-ready ``<mrss><error>`` raises :class:`BulkUploadLogNotReadyError`."""
    body = decode_file(response)
    if len(body) < 65536:
        match = _MRSS_ERROR.fullmatch(body)
        if match:
            message = redact(html.unescape(match.group(1).decode("utf-8", errors="replace")))
            if message.lower().startswith("log file is not ready"):
                raise BulkUploadLogNotReadyError(message)
            raise KalturaResponseError(f"serveLog returned an error document: {message}")
    return body

"""The error channels of a Kaltura response, each turned into the typed error it carries.

A Kaltura server signals a failure in one of several ways (docs/kaltura-api.md#responses-and-errors):

* an HTTP 200 JSON body ``{"objectType": "KalturaAPIException", "code", "message", "args"}``;
  ``args`` is a name -> value map, or ``[]`` when empty (PHP's empty array);
* for file actions whose action itself failed, headers only: ``X-Kaltura: error- {CODE}`` and
  ``X-Kaltura-App: exiting on error {CODE} - {message}``, empty body. Other Kaltura front ends use
  ``X-Kaltura-Error-Code`` / ``X-Kaltura-Error-Msg`` / ``X-Kaltura-Error``; those are read too;
* an XML error document (``<xml><result><error>``) if the server ignored ``format=1``;
* an HTTP 4xx/5xx status: :class:`~cuepipe.kaltura.errors.KalturaHTTPError`.

These functions look at one channel each; ``responses_bodies`` applies them in order.
"""

from __future__ import annotations

import html
import http
import re
from collections.abc import Mapping
from typing import Any

from lxml import etree

from .errors import KalturaAPIError, KalturaHTTPError, api_error
from .redact import redact

API_EXCEPTION = "KalturaAPIException"
_EXCERPT = 200


def _excerpt(body: bytes) -> str:
    return redact(body[:_EXCERPT].decode("utf-8", errors="replace"))


def check_status(status: int, headers: Mapping[str, str], body: bytes = b"") -> None:
    """Raise :class:`KalturaHTTPError` unless the status is 2xx. ``headers`` must be lower-cased."""
    if 200 <= status < 300:
        return
    session = headers.get("x-kaltura-session")
    if 300 <= status < 400:
        location = headers.get("location", "(no Location header)")
        message = f"unexpected redirect to {location}; follow redirects for serve actions"
    else:
        try:
            message = http.HTTPStatus(status).phrase
        except ValueError:
            message = "unexpected HTTP status"
    raise KalturaHTTPError(status, message, body_excerpt=_excerpt(body), session_id=session)


def error_args(raw: Any) -> dict[str, str]:
    """The ``args`` of an error object as a dict: a map, ``[]`` (no args), or a list of name/value items."""
    if isinstance(raw, Mapping):
        return {str(k): "" if v is None else str(v) for k, v in raw.items()}
    if isinstance(raw, list):
        out: dict[str, str] = {}
        for item in raw:
            if isinstance(item, Mapping) and "name" in item:
                out[str(item["name"])] = "" if item.get("value") is None else str(item.get("value"))
        return out
    return {}


def raise_for_api_error(data: Any) -> None:
    """Raise the typed error if ``data`` is a ``KalturaAPIException`` object."""
    if isinstance(data, Mapping) and data.get("objectType") == API_EXCEPTION:
        raise api_error(str(data.get("code") or ""), str(data.get("message") or ""), error_args(data.get("args")))


_HEADER_CODE = re.compile(r"\s*error-\s*(\S+)")
_HEADER_APP = re.compile(r"\s*exiting on error\s+(\S+)\s+-\s?(.*)", re.DOTALL)


def api_error_from_headers(headers: Mapping[str, str]) -> KalturaAPIError | None:
    """The error a file action signalled in ``X-Kaltura*`` headers, or None. ``headers`` lower-cased."""
    code_match = _HEADER_CODE.match(headers.get("x-kaltura", ""))
    app_match = _HEADER_APP.match(headers.get("x-kaltura-app", ""))
    code = (code_match.group(1) if code_match else None) or headers.get("x-kaltura-error-code")
    if not code and app_match:
        code = app_match.group(1)
    if not code:
        return None
    message = app_match.group(2).strip() if app_match else ""
    message = message or headers.get("x-kaltura-error-msg") or headers.get("x-kaltura-error") or ""
    return api_error(code.strip(), html.unescape(message))


_XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def xml_api_error(body: bytes) -> KalturaAPIError | None:
    """The error in an XML-format response (``<xml><result><error>``, docs/kaltura-api.md#xml-responses), or None."""
    head = body.lstrip()[:512]
    if not (head.startswith(b"<?xml") or head.startswith(b"<xml")) or b"<xml" not in head:
        return None
    try:
        root = etree.fromstring(body, parser=_XML_PARSER)
    except etree.XMLSyntaxError:
        return None
    error = root.find("result/error")
    if root.tag != "xml" or error is None:
        return None
    args = {(item.findtext("name") or ""): (item.findtext("value") or "") for item in error.findall("args/item")}
    return api_error(error.findtext("code") or "", error.findtext("message") or "", args)

"""Response bodies: JSON (``format=1``) and the default XML format, plus file-action error headers.

Errors are ``KalturaAPIException`` objects with HTTP 200. Objects arrive here with every property
of their class (``None`` where the server has no value). JSON drops the nulls and keeps ``objectType``
as the last key; XML (``KalturaXmlSerializer``) wraps everything in ``<xml><result>..</result>
<executionTime>..</executionTime></xml>``, writes ``objectType`` first, booleans as 1/0, and every
null property as an empty element (unless the request says ``ignoreNull=1``), which the official
clients read as ``None``/``''``. A multirequest's results are ``<item>`` elements, one per call.
File actions (serveBulk, serve, serveLog) that fail *inside* the action answer with headers only
(``kRendererDieError``): ``X-Kaltura: error- CODE`` and ``X-Kaltura-App: exiting on error CODE - msg``.
"""

from __future__ import annotations

import json
from typing import Any
from xml.sax.saxutils import escape

from starlette.responses import Response

from .errors import ApiError

FORMAT_JSON = 1
FORMAT_XML = 2
KNOWN_FORMATS = frozenset({1, 2, 3, 4, 7, 8, 9})  # KalturaResponseType; 3/4/7/8/9 are answered as XML


def error_object(err: ApiError) -> dict[str, Any]:
    """``KalturaSerializer::convertExceptionsToPhpArrays``: args is ``[]`` (a PHP empty array) when none."""
    return {
        "code": err.code,
        "message": err.message,
        "objectType": "KalturaAPIException",
        "args": dict(err.args_map) if err.args_map else [],
    }


#: Value types that hold nothing to drop (checked all at once per object, in C, before looking closer).
_SCALARS = frozenset({type(None), str, int, float, bool})


def _drop_nulls(value: Any) -> Any:
    """The JSON serializer's view: null properties are left out, at every depth.

    A list page holds hundreds of objects of scalars only; each is filtered in one comprehension,
    and only an object holding something else is walked value by value.
    """
    if isinstance(value, dict):
        out = {k: v for k, v in value.items() if v is not None}
        if not _SCALARS.issuperset(map(type, out.values())):
            for k, v in out.items():
                if isinstance(v, dict | list):
                    out[k] = _drop_nulls(v)
        return out
    if isinstance(value, list):
        return [_drop_nulls(v) if isinstance(v, dict | list) else v for v in value]
    return value


def _xml_value(value: Any, ignore_null: bool = False) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, dict):
        if value.get("objectType") == "KalturaAPIException":
            args = "".join(
                f"<item><objectType>KalturaApiExceptionArg</objectType><name>{escape(k)}</name>"
                f"<value>{escape(str(v))}</value></item>"
                for k, v in (value["args"] or {}).items()
            )
            return (
                f"<error><code>{escape(value['code'])}</code><message>{escape(value['message'])}</message>"
                f"<objectType>KalturaAPIException</objectType><args>{args}</args></error>"
            )
        parts = []
        if "objectType" in value:
            parts.append(f"<objectType>{escape(str(value['objectType']))}</objectType>")
        for key, item in value.items():
            if key != "objectType" and not (ignore_null and item is None):
                parts.append(f"<{key}>{_xml_value(item, ignore_null)}</{key}>")
        return "".join(parts)
    if isinstance(value, list):
        return "".join(f"<item>{_xml_value(item, ignore_null)}</item>" for item in value)
    return escape(str(value))


def render(result: Any, fmt: int, elapsed: float, *, ignore_null: bool = False) -> Response:
    """Serialize an action result (or an error object) in the requested format."""
    if fmt == FORMAT_JSON:
        body = json.dumps(_drop_nulls(result), ensure_ascii=False, separators=(",", ":"))
        return Response(body, media_type="application/json")
    xml = (
        f'<?xml version="1.0" encoding="utf-8"?><xml><result>{_xml_value(result, ignore_null)}</result>'
        f"<executionTime>{elapsed:.4f}</executionTime></xml>"
    )
    return Response(xml, media_type="text/xml")


def die_error(err: ApiError) -> Response:
    """``kRendererDieError``: an empty body; the error travels in X-Kaltura headers."""

    def latin1(text: str) -> str:  # HTTP header values are latin-1, one line
        return text.encode("latin-1", "replace").decode("latin-1").replace("\r", " ").replace("\n", " ")

    headers = {
        "X-Kaltura": latin1(f"error- {err.code}"),
        "X-Kaltura-App": latin1(f"exiting on error {err.code} - {err.message}"),
    }
    return Response(b"", status_code=200, headers=headers, media_type="text/plain")

"""Decode Kaltura responses (JSON, ``format=1``) into plain Python data, raising typed errors.

Error channels (api.md §2.1–§2.4):

* an HTTP 200 body ``{"objectType": "KalturaAPIException", "code", "message", "args"}``;
  ``args`` is a name -> value map, or ``[]`` when empty (PHP's empty array);
* for file actions whose action itself failed, headers only: ``X-Kaltura: error- {CODE}`` and
  ``X-Kaltura-App: exiting on error {CODE} - {message}``, empty body (``kRendererDieError``).
  Other Kaltura front ends use ``X-Kaltura-Error-Code`` / ``X-Kaltura-Error-Msg`` /
  ``X-Kaltura-Error``; those are read too;
* errors raised before a file action runs (bad KS, missing param) come as a normal JSON error body;
* an XML error document (``<xml><result><error>``) if the server ignored ``format=1``;
* HTTP 4xx/5xx or an unexpected body: :class:`~cuepipe.kaltura.errors.KalturaHTTPError` /
  :class:`~cuepipe.kaltura.errors.KalturaResponseError`.

[ambiguous, api.md §7] Whether NullableBoolean fields come back as ``true``/``false`` or ``1``/``0``
in JSON is unverified; records keep whatever the server sent.
"""

from __future__ import annotations

import datetime as dt
import enum
import html
import http
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from lxml import etree

from .. import vocabulary as voc
from ..vocabulary import (
    BATCH_JOB_DONE_STATUSES,
    BatchJobErrorType,
    BatchJobStatus,
    BulkUploadAction,
    BulkUploadObjectType,
    BulkUploadResultStatus,
    BulkUploadType,
)
from .errors import (
    BulkUploadLogNotReadyError,
    KalturaAPIError,
    KalturaHTTPError,
    KalturaResponseError,
    api_error,
)
from .redact import redact
from .request import Request

T = TypeVar("T")
E = TypeVar("E", bound=enum.Enum)

API_EXCEPTION = "KalturaAPIException"
_EXCERPT = 200


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


def _excerpt(body: bytes) -> str:
    return redact(body[:_EXCERPT].decode("utf-8", errors="replace"))


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------


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
    """The error in an XML-format response (``<xml><result><error>``, api.md §2.2), or None."""
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


# ---------------------------------------------------------------------------------------------
# Bodies
# ---------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------
# Typed results
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ListPage(Generic[T]):
    """One page of a list response: the objects and the total across all pages."""

    objects: list[T]
    total_count: int
    object_type: str = ""


def _expect_object(data: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise KalturaResponseError(f"expected a {what} object, got {type(data).__name__}")
    return data


def _to_int(value: Any, what: str) -> int:
    if isinstance(value, bool):
        raise KalturaResponseError(f"expected an integer {what}, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    raise KalturaResponseError(f"expected an integer {what}, got {value!r}")


def _opt_int(value: Any, what: str) -> int | None:
    return None if value is None or value == "" else _to_int(value, what)


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _enum_or_raw(cls: type[E], value: Any) -> E | Any:
    if value is None:
        return None
    for candidate in (value, str(value)) if issubclass(cls, str) else (value,):
        try:
            return cls(candidate)
        except ValueError:
            pass
    if issubclass(cls, int) and isinstance(value, str) and re.fullmatch(r"-?\d+", value):
        try:
            return cls(int(value))
        except ValueError:
            pass
    return value


def decode_list(data: Any, item: Callable[[Any], T] | None = None) -> ListPage[T]:
    """A ``...ListResponse``: ``objects`` (absent when empty) and ``totalCount``."""
    obj = _expect_object(data, "list response")
    raw = obj.get("objects") or []
    if not isinstance(raw, list):
        raise KalturaResponseError(f"list response 'objects' is {type(raw).__name__}, not a list")
    objects = [item(x) for x in raw] if item is not None else list(raw)
    total = _to_int(obj.get("totalCount", len(objects)), "totalCount")
    return ListPage(objects=objects, total_count=total, object_type=str(obj.get("objectType", "")))


def decode_count(data: Any) -> int:
    """A bare integer result (``count``, ``updateBulkUploadResults``)."""
    return _to_int(data, "result")


def decode_void(data: Any) -> None:
    """A void action's result: JSON ``null`` (api.md §2.1)."""
    if data not in (None, "", {}, []):
        raise KalturaResponseError(f"expected no result, got {type(data).__name__}")


def decode_ks(data: Any) -> str:
    """``session.start``'s result: the KS string."""
    if not isinstance(data, str) or not data.strip():
        raise KalturaResponseError(f"expected a KS string, got {type(data).__name__}")
    return data.strip()


_BY_API_CLASS = {info.api_class: info for info in voc.TYPES}
_COLUMN_ORDER = {name: index for index, name in enumerate(voc.COLUMN_NAMES)}


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items() if k != "objectType"}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def cue_point_record(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A cue point API object as a record: ``cuePointType`` from the vocabulary, other fields by API name.

    The type comes from ``objectType`` (``KalturaAnnotation`` -> ``annotation.Annotation``), or from
    ``cuePointType`` for subclasses the vocabulary does not name. Vocabulary columns come first, in
    the vocabulary's order; nested objects lose their ``objectType``.
    """
    obj = _expect_object(obj, "cue point")
    object_type = obj.get("objectType")
    info = _BY_API_CLASS.get(str(object_type)) or voc.BY_API_TYPE.get(str(obj.get("cuePointType")))
    if info is None:
        raise KalturaResponseError(
            f"not a cue point object: objectType {object_type!r}, cuePointType {obj.get('cuePointType')!r}"
        )
    fields = {k: _plain(v) for k, v in obj.items() if k not in ("objectType", "cuePointType")}
    fields["cuePointType"] = info.api_type.value
    ordered = sorted(fields, key=lambda k: (_COLUMN_ORDER.get(k, len(_COLUMN_ORDER)),))
    return {k: fields[k] for k in ordered}


def decode_cue_point(data: Any) -> dict[str, Any]:
    return cue_point_record(data)


def decode_cue_point_list(data: Any) -> ListPage[dict[str, Any]]:
    return decode_list(data, cue_point_record)


@dataclass(frozen=True, slots=True)
class BulkUploadResult:
    """One line of a bulk upload (``KalturaBulkUploadResult`` and subclasses).

    ``extra`` holds subclass fields (e.g. ``entryId`` of ``KalturaBulkUploadResultEntry``); it is left
    out of ``repr`` because some subclasses carry credentials (``sshPrivateKey``).
    """

    id: int | None
    bulk_upload_job_id: int | None
    line_index: int | None
    status: BulkUploadResultStatus | Any
    action: BulkUploadAction | Any
    object_id: str | None
    object_status: int | None
    object_type: BulkUploadObjectType | Any
    error_description: str | None
    error_code: str | None
    error_type: int | None
    object_error_description: str | None
    row_data: str | None
    partner_data: str | None
    partner_id: int | None
    plugins_data: dict[str, str]
    result_type: str
    extra: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.status == BulkUploadResultStatus.OK


_RESULT_FIELDS = frozenset(
    {
        "id",
        "bulkUploadJobId",
        "lineIndex",
        "status",
        "action",
        "objectId",
        "objectStatus",
        "bulkUploadResultObjectType",
        "errorDescription",
        "errorCode",
        "errorType",
        "objectErrorDescription",
        "rowData",
        "partnerData",
        "partnerId",
        "pluginsData",
        "objectType",
    }
)


def decode_bulk_upload_result(data: Any) -> BulkUploadResult:
    obj = _expect_object(data, "bulk upload result")
    plugins = {}
    for item in obj.get("pluginsData") or []:
        if isinstance(item, Mapping) and "field" in item:
            plugins[str(item["field"])] = "" if item.get("value") is None else str(item["value"])
    return BulkUploadResult(
        id=_opt_int(obj.get("id"), "id"),
        bulk_upload_job_id=_opt_int(obj.get("bulkUploadJobId"), "bulkUploadJobId"),
        line_index=_opt_int(obj.get("lineIndex"), "lineIndex"),
        status=_enum_or_raw(BulkUploadResultStatus, obj.get("status")),
        action=_enum_or_raw(BulkUploadAction, obj.get("action")),
        object_id=_opt_str(obj.get("objectId")),
        object_status=_opt_int(obj.get("objectStatus"), "objectStatus"),
        object_type=_enum_or_raw(BulkUploadObjectType, obj.get("bulkUploadResultObjectType")),
        error_description=_opt_str(obj.get("errorDescription")),
        error_code=_opt_str(obj.get("errorCode")),
        error_type=_opt_int(obj.get("errorType"), "errorType"),
        object_error_description=_opt_str(obj.get("objectErrorDescription")),
        row_data=_opt_str(obj.get("rowData")),
        partner_data=_opt_str(obj.get("partnerData")),
        partner_id=_opt_int(obj.get("partnerId"), "partnerId"),
        plugins_data=plugins,
        result_type=str(obj.get("objectType", "")),
        extra={k: _plain(v) for k, v in obj.items() if k not in _RESULT_FIELDS},
    )


def decode_bulk_upload_result_or_none(data: Any) -> BulkUploadResult | None:
    return None if data is None else decode_bulk_upload_result(data)


@dataclass(frozen=True, slots=True)
class BulkUpload:
    """A bulk upload job (``KalturaBulkUpload``, api.md §5.2).

    ``log_file_url`` / ``bulk_file_url`` embed the KS (the server builds them with it), so they and
    ``raw`` are kept out of ``repr``; pass them through :func:`~cuepipe.kaltura.redact.redact` before
    logging.
    """

    id: int
    status: BatchJobStatus | Any
    uploaded_on: int | None
    uploaded_by: str | None
    uploaded_by_user_id: str | None
    bulk_upload_type: BulkUploadType | Any
    bulk_upload_object_type: BulkUploadObjectType | Any
    file_name: str | None
    description: str | None
    num_of_entries: int | None
    num_of_objects: int | None
    error: str | None
    error_type: BatchJobErrorType | Any
    error_number: int | None
    results: tuple[BulkUploadResult, ...] = ()
    log_file_url: str | None = field(default=None, repr=False)
    bulk_file_url: str | None = field(default=None, repr=False)
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def done(self) -> bool:
        """True once the job can no longer change (finished, failed, aborted, ...)."""
        return self.status in BATCH_JOB_DONE_STATUSES

    @property
    def succeeded(self) -> bool:
        return self.status == BatchJobStatus.FINISHED

    @property
    def uploaded_at(self) -> dt.datetime | None:
        return None if self.uploaded_on is None else dt.datetime.fromtimestamp(self.uploaded_on, dt.UTC)


def decode_bulk_upload(data: Any) -> BulkUpload:
    obj = _expect_object(data, "bulk upload")
    if obj.get("id") is None:
        raise KalturaResponseError("bulk upload object without an id")
    results = obj.get("results") or []
    return BulkUpload(
        id=_to_int(obj["id"], "id"),
        status=_enum_or_raw(BatchJobStatus, obj.get("status")),
        uploaded_on=_opt_int(obj.get("uploadedOn"), "uploadedOn"),
        uploaded_by=_opt_str(obj.get("uploadedBy")),
        uploaded_by_user_id=_opt_str(obj.get("uploadedByUserId")),
        bulk_upload_type=_enum_or_raw(BulkUploadType, obj.get("bulkUploadType")),
        bulk_upload_object_type=_enum_or_raw(BulkUploadObjectType, obj.get("bulkUploadObjectType")),
        file_name=_opt_str(obj.get("fileName")),
        description=_opt_str(obj.get("description")),
        num_of_entries=_opt_int(obj.get("numOfEntries"), "numOfEntries"),
        num_of_objects=_opt_int(obj.get("numOfObjects"), "numOfObjects"),
        error=_opt_str(obj.get("error")),
        error_type=_enum_or_raw(BatchJobErrorType, obj.get("errorType")),
        error_number=_opt_int(obj.get("errorNumber"), "errorNumber"),
        results=tuple(decode_bulk_upload_result(r) for r in results if isinstance(r, Mapping)),
        log_file_url=_opt_str(obj.get("logFileUrl")),
        bulk_file_url=_opt_str(obj.get("bulkFileUrl") or obj.get("csvFileUrl")),
        raw=dict(obj),
    )


def decode_bulk_upload_list(data: Any) -> ListPage[BulkUpload]:
    return decode_list(data, decode_bulk_upload)


def decode_key_value_counts(data: Any) -> dict[str, int]:
    """``countBulkUploadEntries``: a ``KalturaKeyValue`` array -> ``{"created": n, "error": m}``."""
    items: Iterable[Any]
    if isinstance(data, Mapping) and isinstance(data.get("objects"), list):
        items = data["objects"]
    elif isinstance(data, list):
        items = data
    else:
        raise KalturaResponseError(f"expected a key/value array, got {type(data).__name__}")
    out: dict[str, int] = {}
    for item in items:
        if not isinstance(item, Mapping) or "key" not in item:
            raise KalturaResponseError("key/value array item without a key")
        out[str(item["key"])] = _to_int(item.get("value", 0), f"value of {item['key']!r}")
    return out


def decode_entry(data: Any) -> dict[str, Any]:
    """``media.get``: a ``KalturaMediaEntry`` object, as a dict of its API fields."""
    if not isinstance(data, Mapping) or not isinstance(data.get("id"), str):
        raise KalturaResponseError(f"expected an entry object with an id, got {type(data).__name__}")
    return dict(data)


_DECODERS: dict[str, Callable[[Any], Any]] = {
    "cue_point": decode_cue_point,
    "cue_point_list": decode_cue_point_list,
    "count": decode_count,
    "int": decode_count,
    "void": decode_void,
    "ks": decode_ks,
    "bulk_upload": decode_bulk_upload,
    "bulk_upload_list": decode_bulk_upload_list,
    "bulk_upload_result": decode_bulk_upload_result,
    "bulk_upload_result_or_none": decode_bulk_upload_result_or_none,
    "key_value_counts": decode_key_value_counts,
    "entry": decode_entry,
}


def decode_result(request: Request, response: Response) -> Any:
    """Decode ``response`` as what ``request``'s action returns (see ``Request.result``)."""
    if request.result == "file":
        return decode_file(response)
    if request.result == "serve_log":
        return decode_serve_log(response)
    return _DECODERS[request.result](decode_json(response))

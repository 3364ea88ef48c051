"""Request builders: one pure function per API action this project uses (docs/kaltura-api.md#sessionstart, #addfrombulk,
#bulk-upload-services).

Each takes a :class:`~cuepipe.kaltura.request.Context` (partner id, KS, client tag) and the action's
arguments, checks them, and returns a :class:`~cuepipe.kaltura.request.Request` whose ``result``
names the decoder for its response. Service ids and parameter names are the wire ones:
``cuepoint_cuepoint``, ``annotation_annotation``, ``bulkupload_bulk`` (plugin), ``bulkupload``
(core, deprecated), ``session``, ``media``, ``batch``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from enum import Enum
from typing import Any, Final, Literal, TypeVar, cast

from ..vocabulary import TYPES, BulkUploadObjectType, BulkUploadType, SessionType
from .bulk import (
    KalturaBulkUploadEntryData,
    KalturaBulkUploadJobData,
    KalturaBulkUploadPluginData,
    KalturaBulkUploadResult,
)
from .errors import KalturaParamError, KalturaParamTypeError
from .filters import (
    KalturaAnnotationFilter,
    KalturaBulkUploadFilter,
    KalturaCuePointFilter,
    KalturaFilterPager,
)
from .ks import DEFAULT_EXPIRY, Privileges, privileges_string
from .objects import KalturaObject
from .params import NULL, flatten
from .request import Context, FilePart, Request, ResultKind

CUE_POINT_SERVICE: Final = "cuepoint_cuepoint"
ANNOTATION_SERVICE: Final = "annotation_annotation"
BULK_SERVICE: Final = "bulkupload_bulk"
CORE_BULK_SERVICE: Final = "bulkupload"
SESSION_SERVICE = "session"
MEDIA_SERVICE = "media"
BASE_ENTRY_SERVICE = "baseentry"
BATCH_SERVICE = "batch"

CuePointService = Literal["cuepoint_cuepoint", "annotation_annotation"]
BulkUploadService = Literal["bulkupload_bulk", "bulkupload"]

E = TypeVar("E", bound=Enum)

FileContent = bytes | bytearray | memoryview | Iterable[bytes]


def build(
    ctx: Context,
    service: str,
    action: str,
    params: Mapping[str, Any],
    result: ResultKind,
    *,
    files: Sequence[FilePart] = (),
    include_ks: bool = True,
) -> Request:
    """Any action: common params from ``ctx`` plus ``params`` (flattened; ``None`` values are omitted)."""
    flat = ctx.common_params(include_ks=include_ks)
    flat.update(flatten({k: v for k, v in params.items() if v is not None}))
    return Request(service=service, action=action, params=flat, result=result, files=tuple(files))


# ---------------------------------------------------------------------------------------------
# Argument checks
# ---------------------------------------------------------------------------------------------


def _cue_point_service(service: str) -> CuePointService:
    if service not in (CUE_POINT_SERVICE, ANNOTATION_SERVICE):
        raise KalturaParamError(
            f"cue point service must be {CUE_POINT_SERVICE!r} or {ANNOTATION_SERVICE!r}, not {service!r}"
        )
    return cast(CuePointService, service)


def _cue_point_filter(service: str, flt: Any) -> KalturaCuePointFilter | None:
    if flt is None:
        return None
    if not isinstance(flt, KalturaCuePointFilter):
        raise KalturaParamTypeError(
            f"filter must be a cue point filter (KalturaCuePointFilter or a subclass), not {type(flt).__name__}"
        )
    if service == ANNOTATION_SERVICE and type(flt) not in (KalturaCuePointFilter, KalturaAnnotationFilter):
        raise KalturaParamError(
            f"{ANNOTATION_SERVICE} declares KalturaAnnotationFilter; a {type(flt).__name__} would be read as "
            "one and its type-specific fields dropped. Use KalturaAnnotationFilter or the cuepoint_cuepoint "
            "service."
        )
    return flt


def _pager(pager: Any) -> KalturaFilterPager | None:
    if pager is not None and not isinstance(pager, KalturaFilterPager):
        raise KalturaParamTypeError(f"pager must be a KalturaFilterPager, not {type(pager).__name__}")
    return pager


def _string_id(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise KalturaParamTypeError(f"{name} must be a non-empty str, got {value!r}")
    return value


def _int_id(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise KalturaParamTypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    return value


def _enum(name: str, cls: type[E], value: Any) -> E:
    try:
        return cls(value)
    except ValueError:
        valid = ", ".join(f"{m.name}={m.value!r}" for m in cls)
        raise KalturaParamError(f"{name}: {value!r} is not a {cls.__name__} ({valid})") from None


def _object(name: str, value: Any, cls: type[KalturaObject]) -> Any:
    if value is not None and not isinstance(value, cls):
        raise KalturaParamTypeError(f"{name} must be a {cls.__name__}, not {type(value).__name__}")
    return value


def file_part(
    field: str, content: FileContent, filename: str, *, size: int | None = None, content_type: str = ""
) -> FilePart:
    """A :class:`FilePart`; ``content`` is bytes-like or an iterable of byte chunks (streamed)."""
    if not filename:
        raise KalturaParamError("an upload needs a filename (the server records it)")
    data = bytes(content) if isinstance(content, bytearray | memoryview) else content
    return FilePart(field=field, filename=filename, content=data, content_type=content_type, size=size)


# ---------------------------------------------------------------------------------------------
# Cue points: cuepoint_cuepoint / annotation_annotation
# ---------------------------------------------------------------------------------------------

#: API classes of the cue point types, by class name and by ``cuePointType`` value.
CUE_POINT_CLASSES: frozenset[str] = frozenset(t.api_class for t in TYPES)
_CLASS_BY_TYPE: dict[str, str] = {t.api_type.value: t.api_class for t in TYPES}


def _typed_cue_point(cue_point: Any, service: str, *, update: bool) -> dict[str, Any]:
    """The ``cuePoint`` object parameter: its ``objectType`` checked (or derived from ``cuePointType``).

    The server deserializes the parameter into the class ``objectType`` names and refuses anything
    that is not a concrete cue point class (``OBJECT_TYPE_ABSTRACT``), so the class is required here.
    ``cuePointType`` is read-only on the server and is never sent. For an add, ``None`` values are
    left out; for an update ``None`` (or :data:`~cuepipe.kaltura.params.NULL`) clears the field.
    """
    if not isinstance(cue_point, Mapping):
        raise KalturaParamTypeError(f"cue_point must be a mapping of API fields, not {type(cue_point).__name__}")
    fields = dict(cue_point)
    given_type = fields.pop("cuePointType", None)
    cls = fields.pop("objectType", None) or _CLASS_BY_TYPE.get(str(given_type or ""))
    if cls not in CUE_POINT_CLASSES:
        known = ", ".join(sorted(CUE_POINT_CLASSES))
        raise KalturaParamError(
            f"cue_point needs objectType (or cuePointType) of a cue point class ({known}), not {cls!r}"
        )
    if given_type is not None and _CLASS_BY_TYPE.get(str(given_type)) != cls:
        raise KalturaParamError(f"cue_point: cuePointType {given_type!r} does not match objectType {cls!r}")
    if service == ANNOTATION_SERVICE and cls != "KalturaAnnotation":
        raise KalturaParamError(f"the annotation service writes KalturaAnnotation objects only, not {cls}")
    for key in fields:
        if not isinstance(key, str) or not key:
            raise KalturaParamTypeError(f"cue_point field names must be non-empty str, got {key!r}")
    if update:
        body = {k: (NULL if v is None else v) for k, v in fields.items()}
    else:
        body = {k: v for k, v in fields.items() if v is not None and v is not NULL}
    return {"objectType": cls, **body}


def cue_point_add_from_bulk(
    ctx: Context,
    content: FileContent,
    *,
    filename: str = "cue_points.xml",
    size: int | None = None,
    service: CuePointService = CUE_POINT_SERVICE,
    keys_only: bool = False,
) -> Request:
    """``addFromBulk(fileData)``: ingest XML; the response lists the created/updated cue points.

    ``keys_only``: decode each of them to its type and identifying fields alone
    (:func:`~cuepipe.kaltura.cue_point_keys`), all a push needs to match the answer to its rows.
    """
    part = file_part("fileData", content, filename, size=size)
    result: ResultKind = "cue_point_keys" if keys_only else "cue_point_list"
    return build(ctx, _cue_point_service(service), "addFromBulk", {}, result, files=[part])


def cue_point_serve_bulk(
    ctx: Context,
    filter: KalturaCuePointFilter | None = None,
    pager: KalturaFilterPager | None = None,
    *,
    service: CuePointService = CUE_POINT_SERVICE,
) -> Request:
    """``serveBulk(filter?, pager?)``: serve XML as a raw body; errors arrive in ``X-Kaltura`` headers."""
    service = _cue_point_service(service)
    params = {"filter": _cue_point_filter(service, filter), "pager": _pager(pager)}
    return build(ctx, service, "serveBulk", params, "file")


def cue_point_list(
    ctx: Context,
    filter: KalturaCuePointFilter | None = None,
    pager: KalturaFilterPager | None = None,
    *,
    service: CuePointService = CUE_POINT_SERVICE,
) -> Request:
    """``list(filter?, pager?)``. The server needs an id or entry id filter (``has_required_for_list``)."""
    service = _cue_point_service(service)
    params = {"filter": _cue_point_filter(service, filter), "pager": _pager(pager)}
    return build(ctx, service, "list", params, "cue_point_list")


def cue_point_count(
    ctx: Context, filter: KalturaCuePointFilter | None = None, *, service: CuePointService = CUE_POINT_SERVICE
) -> Request:
    """``count(filter?)`` -> int."""
    service = _cue_point_service(service)
    return build(ctx, service, "count", {"filter": _cue_point_filter(service, filter)}, "count")


def cue_point_get(ctx: Context, id: str, *, service: CuePointService = CUE_POINT_SERVICE) -> Request:
    """``get(id)`` -> one cue point."""
    return build(ctx, _cue_point_service(service), "get", {"id": _string_id("id", id)}, "cue_point")


def cue_point_delete(ctx: Context, id: str, *, service: CuePointService = CUE_POINT_SERVICE) -> Request:
    """``delete(id)``: soft delete (status DELETED); void."""
    return build(ctx, _cue_point_service(service), "delete", {"id": _string_id("id", id)}, "void")


def cue_point_add(
    ctx: Context, cue_point: Mapping[str, Any], *, service: CuePointService = CUE_POINT_SERVICE
) -> Request:
    """``add(cuePoint)`` -> the new cue point.

    ``cue_point`` maps API field names to values, with ``objectType`` (``KalturaThumbCuePoint``...)
    or ``cuePointType``. Unlike ``addFromBulk``, the API keeps every field of the type (a thumb cue
    point's title, description and sub-type), validates the object, and refuses a system name that
    already exists on the entry (``CUE_POINT_SYSTEM_NAME_EXISTS``).
    """
    service = _cue_point_service(service)
    return build(ctx, service, "add", {"cuePoint": _typed_cue_point(cue_point, service, update=False)}, "cue_point")


def cue_point_update(
    ctx: Context, id: str, cue_point: Mapping[str, Any], *, service: CuePointService = CUE_POINT_SERVICE
) -> Request:
    """``update(id, cuePoint)`` -> the updated cue point.

    Only the fields given are changed; ``None``/``NULL`` clears one. The server refuses read-only
    fields and changed insert-only ones (``entryId``, an annotation's ``parentId``) with
    ``PROPERTY_VALIDATION_NOT_UPDATABLE``, so pass only what should change.
    """
    service = _cue_point_service(service)
    params = {"id": _string_id("id", id), "cuePoint": _typed_cue_point(cue_point, service, update=True)}
    return build(ctx, service, "update", params, "cue_point")


# ---------------------------------------------------------------------------------------------
# Session
# ---------------------------------------------------------------------------------------------


def session_start(
    ctx: Context,
    secret: str,
    *,
    partner_id: int | None = None,
    user_id: str = "",
    type: SessionType | int = SessionType.USER,
    expiry: int | dt.timedelta = DEFAULT_EXPIRY,
    privileges: Privileges = None,
) -> Request:
    """``session.start(secret, userId, type, partnerId, expiry, privileges)`` -> KS string.

    The secret is the admin secret for ``type=ADMIN`` and the user secret for ``USER``
    (docs/kaltura-api.md#sessionstart).
    ``partner_id`` defaults to the context's. No KS is sent (the action ignores it).
    """
    if not isinstance(secret, str) or not secret:
        raise KalturaParamTypeError("secret must be a non-empty str")
    pid = ctx.partner_id if partner_id is None else partner_id
    if pid is None:
        raise KalturaParamError("session.start needs a partner id (argument or context)")
    if isinstance(expiry, dt.timedelta):
        expiry = round(expiry.total_seconds())
    params: dict[str, Any] = {
        "secret": secret,
        "userId": user_id,
        "type": _int_id("type", int(type)),
        "partnerId": _int_id("partner_id", pid),
        "expiry": _int_id("expiry", expiry),
    }
    privs = privileges_string(privileges)
    if privs:
        params["privileges"] = privs
    return build(ctx, SESSION_SERVICE, "start", params, "ks", include_ks=False)


# ---------------------------------------------------------------------------------------------
# Bulk upload: plugin bulkupload_bulk (and the deprecated core bulkupload)
# ---------------------------------------------------------------------------------------------


def _bulk_service(service: str) -> BulkUploadService:
    if service not in (BULK_SERVICE, CORE_BULK_SERVICE):
        raise KalturaParamError(f"bulk upload service must be {BULK_SERVICE!r} or {CORE_BULK_SERVICE!r}")
    return cast(BulkUploadService, service)


def bulk_upload_get(ctx: Context, id: int, *, service: BulkUploadService = BULK_SERVICE) -> Request:
    """``get(id)`` -> bulk upload job."""
    return build(ctx, _bulk_service(service), "get", {"id": _int_id("id", id)}, "bulk_upload")


def bulk_upload_abort(ctx: Context, id: int, *, service: BulkUploadService = BULK_SERVICE) -> Request:
    """``abort(id)``: abort the job and its children -> bulk upload job."""
    return build(ctx, _bulk_service(service), "abort", {"id": _int_id("id", id)}, "bulk_upload")


def bulk_upload_serve(ctx: Context, id: int, *, service: BulkUploadService = BULK_SERVICE) -> Request:
    """``serve(id)``: the originally uploaded file (may redirect to another data center)."""
    return build(ctx, _bulk_service(service), "serve", {"id": _int_id("id", id)}, "file")


def bulk_upload_serve_log(ctx: Context, id: int, *, service: BulkUploadService = BULK_SERVICE) -> Request:
    """``serveLog(id)``: the result log (for XML jobs, the result MRSS)."""
    return build(ctx, _bulk_service(service), "serveLog", {"id": _int_id("id", id)}, "serve_log")


def bulk_upload_list(
    ctx: Context,
    filter: KalturaBulkUploadFilter | None = None,
    pager: KalturaFilterPager | None = None,
    *,
    service: BulkUploadService = BULK_SERVICE,
) -> Request:
    """``list``: plugin ``list(bulkUploadFilter?, pager?)``; core ``list(pager?)`` has no filter."""
    service = _bulk_service(service)
    _object("filter", filter, KalturaBulkUploadFilter)
    if service == CORE_BULK_SERVICE and filter is not None:
        raise KalturaParamError("the core bulkupload.list takes no filter; use the bulkupload_bulk service")
    params = {"bulkUploadFilter": filter, "pager": _pager(pager)}
    return build(ctx, service, "list", params, "bulk_upload_list")


def bulk_upload_add_entries(
    ctx: Context,
    content: FileContent,
    *,
    filename: str,
    size: int | None = None,
    job_data: KalturaBulkUploadJobData | None = None,
    entry_data: KalturaBulkUploadEntryData | None = None,
    via_media_alias: bool = False,
) -> Request:
    """``bulkupload_bulk.addEntries(fileData, bulkUploadData?, bulkUploadEntryData?)`` -> bulk upload job.

    For an XML (MRSS) ingest give ``job_data=KalturaBulkUploadXmlJobData()``: the job data class
    picks the engine. ``via_media_alias`` sends the same call as ``media.bulkUploadAdd``, the alias
    the server resolves to this action (docs/kaltura-api.md#action-aliases).
    """
    _object("job_data", job_data, KalturaBulkUploadJobData)
    _object("entry_data", entry_data, KalturaBulkUploadEntryData)
    part = file_part("fileData", content, filename, size=size)
    params = {"bulkUploadData": job_data, "bulkUploadEntryData": entry_data}
    if via_media_alias:
        return build(ctx, MEDIA_SERVICE, "bulkUploadAdd", params, "bulk_upload", files=[part])
    return build(ctx, BULK_SERVICE, "addEntries", params, "bulk_upload", files=[part])


def base_entry_get(ctx: Context, entry_id: str) -> Request:
    """``baseEntry.get(entryId)`` -> the entry (any type) as a dict of API fields (``msDuration``...)."""
    return build(ctx, BASE_ENTRY_SERVICE, "get", {"entryId": _string_id("entry_id", entry_id)}, "entry")


def media_bulk_upload_add(
    ctx: Context,
    content: FileContent,
    *,
    filename: str,
    size: int | None = None,
    job_data: KalturaBulkUploadJobData | None = None,
    entry_data: KalturaBulkUploadEntryData | None = None,
) -> Request:
    """``media.bulkUploadAdd``: the alias of ``bulkupload_bulk.addEntries``."""
    return bulk_upload_add_entries(
        ctx,
        content,
        filename=filename,
        size=size,
        job_data=job_data,
        entry_data=entry_data,
        via_media_alias=True,
    )


def core_bulk_upload_add(
    ctx: Context,
    content: FileContent,
    *,
    filename: str,
    size: int | None = None,
    conversion_profile_id: int = -1,
    bulk_upload_type: BulkUploadType | None = None,
    uploaded_by: str | None = None,
    file_name: str | None = None,
) -> Request:
    """Deprecated core ``bulkupload.add``.

    Parameters: ``conversionProfileId``, ``csvFileData``, ``bulkUploadType?``, ``uploadedBy?``, ``fileName?``.

    ``conversion_profile_id=-1`` means the partner default.
    """
    part = file_part("csvFileData", content, filename, size=size)
    params: dict[str, Any] = {
        "conversionProfileId": _int_id("conversion_profile_id", conversion_profile_id),
        "bulkUploadType": None
        if bulk_upload_type is None
        else _enum("bulk_upload_type", BulkUploadType, bulk_upload_type),
        "uploadedBy": uploaded_by,
        "fileName": file_name,
    }
    return build(ctx, CORE_BULK_SERVICE, "add", params, "bulk_upload", files=[part])


# ---------------------------------------------------------------------------------------------
# batch (internal; the server allows it only for the batch partner -1)
# ---------------------------------------------------------------------------------------------


def batch_add_bulk_upload_result(
    ctx: Context,
    result: KalturaBulkUploadResult,
    plugin_data: Sequence[KalturaBulkUploadPluginData] | None = None,
) -> Request:
    """``batch.addBulkUploadResult(bulkUploadResult, pluginDataArray?)`` -> the stored result."""
    if not isinstance(result, KalturaBulkUploadResult):
        raise KalturaParamTypeError(f"result must be a KalturaBulkUploadResult, not {type(result).__name__}")
    items = None
    if plugin_data is not None:
        items = list(plugin_data)
        for item in items:
            _object("plugin_data item", item, KalturaBulkUploadPluginData)
    params = {"bulkUploadResult": result, "pluginDataArray": items}
    return build(ctx, BATCH_SERVICE, "addBulkUploadResult", params, "bulk_upload_result")


def batch_count_bulk_upload_entries(
    ctx: Context,
    bulk_upload_job_id: int,
    bulk_upload_object_type: BulkUploadObjectType = BulkUploadObjectType.ENTRY,
) -> Request:
    """``batch.countBulkUploadEntries(bulkUploadJobId, bulkUploadObjectType)`` -> created/error counts."""
    params = {
        "bulkUploadJobId": _int_id("bulk_upload_job_id", bulk_upload_job_id),
        "bulkUploadObjectType": _enum("bulk_upload_object_type", BulkUploadObjectType, bulk_upload_object_type),
    }
    return build(ctx, BATCH_SERVICE, "countBulkUploadEntries", params, "key_value_counts")


def batch_get_bulk_upload_last_result(ctx: Context, bulk_upload_job_id: int) -> Request:
    """``batch.getBulkUploadLastResult(bulkUploadJobId)`` -> the last result, or None."""
    params = {"bulkUploadJobId": _int_id("bulk_upload_job_id", bulk_upload_job_id)}
    return build(ctx, BATCH_SERVICE, "getBulkUploadLastResult", params, "bulk_upload_result_or_none")


def batch_update_bulk_upload_results(ctx: Context, bulk_upload_job_id: int) -> Request:
    """``batch.updateBulkUploadResults(bulkUploadJobId)`` -> number of results still in progress."""
    params = {"bulkUploadJobId": _int_id("bulk_upload_job_id", bulk_upload_job_id)}
    return build(ctx, BATCH_SERVICE, "updateBulkUploadResults", params, "int")

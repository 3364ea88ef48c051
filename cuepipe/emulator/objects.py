"""Stored rows -> API objects (dicts whose last key is ``objectType``, docs/kaltura-api.md#json-responses,
#cue-point-objects, #bulk-upload-objects).

Nulls are left out (the JSON serializer drops them anyway). Field names are the API's; for cue points
the per-type fields come from the vocabulary, so a field added there shows up here too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .. import vocabulary as voc
from .context import Context
from .store import CUE_POINT_COLUMNS

_BASE_CUE_POINT_FIELDS = (
    "id",
    "intId",
    "cuePointType",
    "status",
    "entryId",
    "partnerId",
    "createdAt",
    "updatedAt",
    "triggeredAt",
    "tags",
    "startTime",
    "userId",
    "partnerData",
    "partnerSortValue",
    "forceStop",
    "thumbOffset",
    "systemName",
)
# Read-only / derived fields some API classes add after their own (docs/kaltura-api.md#cue-point-objects).
_EXTRA_FIELDS: dict[voc.CuePointType, tuple[str, ...]] = {
    voc.CuePointType.ANNOTATION: (
        "duration",
        "depth",
        "childrenCount",
        "directChildrenCount",
        "isPublic",
        "searchableOnEntry",
    ),
    voc.CuePointType.AD: ("duration",),
    voc.CuePointType.CODE: ("duration",),
    voc.CuePointType.SESSION: ("duration",),
    voc.CuePointType.QUIZ_ANSWER: ("isCorrect", "correctAnswerKeys", "explanation"),
}
# NullableBoolean kept as PHP bool (docs/kaltura-api.md#json-responses)
_BOOLEAN_FIELDS = frozenset({"isPublic", "searchableOnEntry"})


def _api_fields(info: voc.CuePointTypeInfo) -> tuple[str, ...]:
    own = tuple(f.column for f in info.fields if f.column in CUE_POINT_COLUMNS and f.kind != "custom")
    own += tuple(col for col in info.serve_quirks.values() if col in CUE_POINT_COLUMNS and col not in own)
    extra = tuple(f for f in _EXTRA_FIELDS.get(info.api_type, ()) if f not in own)
    return _BASE_CUE_POINT_FIELDS + own + extra


_FIELDS_BY_TYPE = {t.api_type.value: _api_fields(t) for t in voc.TYPES}


def cue_point(row: Mapping[str, Any]) -> dict[str, Any]:
    """A ``KalturaAnnotation`` / ``KalturaAdCuePoint`` / ... object."""
    info = voc.type_info(row["cuePointType"])
    out: dict[str, Any] = {}
    for name in _FIELDS_BY_TYPE[info.api_type.value]:
        if name == "duration":
            value = (row["endTime"] - row["startTime"]) if row.get("endTime") is not None else None
        elif name == "optionalAnswers":
            value = [dict(a, objectType="KalturaOptionalAnswer") for a in row.get(name) or []] or None
        elif name == "correctAnswerKeys":
            keys = row.get(name)
            value = [{"value": k, "objectType": "KalturaString"} for k in keys.split(",") if k] if keys else None
        elif name in _BOOLEAN_FIELDS:
            value = None if row.get(name) is None else bool(row[name])
        else:
            value = row.get(name)
        if value is not None:
            out[name] = value
    out["objectType"] = info.api_class
    return out


def list_response(objects: list[dict[str, Any]], total: int, cls: str) -> dict[str, Any]:
    return {"objects": objects, "totalCount": total, "objectType": cls}


def entry(row: Mapping[str, Any], cls: str = "KalturaMediaEntry") -> dict[str, Any]:
    out = {
        "id": row["id"],
        "name": row["name"],
        "description": row["description"],
        "partnerId": row["partnerId"],
        "userId": row["userId"],
        "tags": row["tags"],
        "referenceId": row["referenceId"],
        "status": row["status"],
        "type": row["type"],
        "mediaType": row["mediaType"],
        "createdAt": row["createdAt"],
        "updatedAt": row["updatedAt"],
    }
    out = {k: v for k, v in out.items() if v not in (None, "")}
    out["objectType"] = cls
    return out


def bulk_upload(row: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    """``KalturaBulkUpload`` built from the job, with the log/file URLs carrying the caller's KS."""
    job_id = row["id"]
    base = f"{ctx.base_url}/api_v3/service/bulkUpload/action"
    file_url = f"{base}/serve/id/{job_id}/ks/{ctx.ks_string}" if row["fileData"] is not None else None
    out = {
        "id": job_id,
        "uploadedBy": row["uploadedBy"],
        "uploadedByUserId": row["userId"],
        "uploadedOn": row["createdAt"],
        "numOfEntries": row["numOfEntries"],
        "status": row["status"],
        "logFileUrl": f"{base}/serveLog/id/{job_id}/ks/{ctx.ks_string}",
        "csvFileUrl": file_url,
        "bulkFileUrl": file_url,
        "bulkUploadType": row["bulkUploadType"],
        "error": row["message"],
        "errorType": row["errorType"],
        "errorNumber": row["errorNumber"],
        "fileName": row["fileName"],
        "description": row["description"],
        "numOfObjects": row["numOfObjects"],
        "bulkUploadObjectType": row["bulkUploadObjectType"],
    }
    out = {k: v for k, v in out.items() if v is not None}
    out["objectType"] = "KalturaBulkUpload"
    return out


RESULT_FIELDS = (  # KalturaBulkUploadResult: keys first, then the values a result carries
    "id",
    "bulkUploadJobId",
    "lineIndex",
    "partnerId",
    "status",
    "action",
    "objectId",
    "objectStatus",
    "bulkUploadResultObjectType",
    "rowData",
    "partnerData",
    "objectErrorDescription",
    "errorDescription",
    "errorCode",
    "errorType",
    "entryId",
    "title",
    "description",
    "tags",
    "referenceId",
)


def bulk_upload_result(row: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: row[k] for k in RESULT_FIELDS if row[k] is not None}
    if row["pluginsData"]:
        out["pluginsData"] = json.loads(row["pluginsData"])
    out["objectType"] = row["objectType"] or "KalturaBulkUploadResultEntry"
    return out

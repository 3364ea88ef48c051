"""Stored rows -> API objects: dicts with every property of the API class, ``objectType`` last.

Every property of the class is present, in the server's order (:mod:`.classes`), with ``None`` where
the server has no value: the XML renderer writes those as empty elements, as the server does, and
the JSON renderer leaves them out, as the server's JSON serializer does. For cue points the stored
columns are the API field names (the vocabulary's), so most properties are a plain column read.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from operator import itemgetter
from typing import Any

from .. import vocabulary as voc
from .classes import properties
from .context import Context
from .store import CUE_POINT_COLUMNS

# NullableBoolean kept as PHP bool (docs/kaltura-api.md#json-responses)
_BOOLEAN_FIELDS = frozenset({"isPublic", "searchableOnEntry"})
# getIsMomentary(): false on the base model, true for quiz questions and answers.
_MOMENTARY = frozenset({voc.CuePointType.QUIZ_QUESTION.value, voc.CuePointType.QUIZ_ANSWER.value})


def _fill(cls: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """Every property of ``cls`` from ``values`` (missing -> None), then ``objectType``."""
    props = properties(cls)
    if props is None:
        raise KeyError(f"no API class table for {cls}")
    out = {p.name: values.get(p.name) for p in props}
    out["objectType"] = cls
    return out


def cue_point_value(row: Mapping[str, Any], name: str) -> Any:
    """One API property of a stored cue point (derived ones computed as the model's getters do)."""
    if name == "duration":
        return (row["endTime"] - row["startTime"]) if row.get("endTime") is not None else None
    if name == "optionalAnswers":
        answers = row.get(name)
        if answers is None:
            return None
        return [_fill("KalturaOptionalAnswer", a) for a in answers]
    if name == "correctAnswerKeys":
        keys = row.get(name)
        return [_fill("KalturaString", {"value": k}) for k in keys.split(",") if k] if keys else None
    if name in _BOOLEAN_FIELDS:
        return None if row.get(name) is None else bool(row[name])
    if name == "isMomentary":
        return row.get("cuePointType") in _MOMENTARY
    return row.get(name)


# Properties cue_point_value derives; every other one is a plain column read (or None).
_DERIVED = frozenset({"duration", "optionalAnswers", "correctAnswerKeys", "isMomentary"} | _BOOLEAN_FIELDS)


@dataclass(frozen=True)
class _Plan:
    """How one class's cue point objects are built (see :func:`cue_point`)."""

    names: tuple[str, ...]  # every property, in the class's order
    derived: tuple[str, ...]  # computed by cue_point_value
    template: dict[str, Any]  # every property -> None, in order
    columns: tuple[str, ...]  # the other properties that are stored columns
    read: Callable[[Mapping[str, Any]], tuple[Any, ...]] | None  # their values at once
    absent: frozenset[str]  # the rest: no column holds them (None unless a row carries them)


@cache
def _cue_point_plan(cls: str) -> _Plan:
    props = properties(cls)
    if props is None:
        raise KeyError(f"no API class table for {cls}")
    names = tuple(p.name for p in props)
    derived = tuple(n for n in names if n in _DERIVED)
    plain = [n for n in names if n not in _DERIVED and n != "relatedObjects"]
    columns = tuple(n for n in plain if n in CUE_POINT_COLUMNS)
    return _Plan(
        names,
        derived,
        dict.fromkeys(names),
        columns,
        itemgetter(*columns) if len(columns) > 1 else None,  # (one name would give a value, not a tuple)
        frozenset(plain) - set(columns),
    )


def cue_point(row: Mapping[str, Any], cls: str | None = None) -> dict[str, Any]:
    """A ``KalturaAnnotation`` / ``KalturaAdCuePoint`` / ... object (``cls``: answer as another class).

    The same object as ``_fill(cls, {p: cue_point_value(row, p) ...})``, built from a per-class plan
    (list pages build hundreds of these per request). A stored row holds every column and none of
    the other properties: its object is a copy of the class's all-None template with the columns
    read at once (C-level) and the few derived properties computed; any other row is read property
    by property.
    """
    cls = cls or voc.type_info(row["cuePointType"]).api_class
    plan = _cue_point_plan(cls)
    values: tuple[Any, ...] | None = None
    if plan.read is not None and row.keys().isdisjoint(plan.absent):
        try:
            values = plan.read(row)
        except KeyError:  # a row without some column: read property by property
            values = None
    if values is not None:
        out = plan.template.copy()
        out.update(zip(plan.columns, values, strict=True))
    else:
        out = dict(zip(plan.names, map(row.get, plan.names), strict=True))
        if "relatedObjects" in out:
            out["relatedObjects"] = None
    for name in plan.derived:
        out[name] = cue_point_value(row, name)
    out["objectType"] = cls
    return out


def list_response(objects: list[dict[str, Any]], total: int, cls: str) -> dict[str, Any]:
    return _fill(cls, {"objects": objects, "totalCount": total})


def entry(row: sqlite3.Row | Mapping[str, Any], cls: str = "KalturaMediaEntry") -> dict[str, Any]:
    """A ``KalturaMediaEntry`` / ``KalturaBaseEntry`` from a stored entry."""
    values = {k: row[k] for k in row.keys()}  # noqa: SIM118 - sqlite3.Row iterates values
    if values.get("msDuration") is not None:  # the model's getDuration: whole seconds, rounded
        values["duration"] = int(values["msDuration"] / 1000 + 0.5)
    return _fill(cls, values)


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
    return _fill("KalturaBulkUpload", out)


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
    out = {k: row[k] for k in RESULT_FIELDS}
    if row["pluginsData"]:
        out["pluginsData"] = json.loads(row["pluginsData"])
    cls = row["objectType"] if properties(row["objectType"] or "") else "KalturaBulkUploadResultEntry"
    return _fill(cls, out)

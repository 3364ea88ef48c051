"""Bulk upload jobs and their result lines (``KalturaBulkUpload``, ``KalturaBulkUploadResult``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..vocabulary import (
    BATCH_JOB_DONE_STATUSES,
    BatchJobErrorType,
    BatchJobStatus,
    BulkUploadAction,
    BulkUploadObjectType,
    BulkUploadResultStatus,
    BulkUploadType,
)
from .errors import KalturaResponseError
from .responses_values import ListPage, _enum_or_raw, _expect_object, _opt_int, _opt_str, _plain, _to_int, decode_list


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
    """A bulk upload job (``KalturaBulkUpload``, docs/kaltura-api.md#bulk-upload-objects).

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

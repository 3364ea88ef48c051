"""Bulk upload jobs, the service side: the job store, the ``batch`` result logic, and the logs.

What the API actions (``bulkUpload``/``bulk``: add, get, list, abort, serve, serveLog; ``batch``:
addBulkUploadResult, countBulkUploadEntries, ...) read and write. The worker that runs a job (the
batch server's bulk upload engines and closer) is :mod:`.bulk_worker`. Job statuses, upload types,
result statuses and actions are the vocabulary's enums (``cuepipe.vocabulary``), the same ones the
library's client reads, so both sides speak one vocabulary.

``serveLog`` follows the engines' log writers: the XML plugin's MRSS (one ``<item>`` per result, an
empty ``<result/>`` for a result without error) or, before any result exists, ``<error>Log file is
not ready: <job message></error>``; the CSV plugin's CSV (the row's values, then result status,
object id, object status and error) or the bare text "Log file is not ready".
"""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Mapping
from typing import Any

from .. import vocabulary as voc
from .context import Context
from .errors import BULK_UPLOAD_NOT_FOUND, ApiError
from .objects import RESULT_FIELDS
from .query import php_int, relative_time
from .serve import escape_attr, escape_text
from .store import Store, now

log = logging.getLogger(__name__)

Status = voc.BatchJobStatus
#: Job states after which a job never changes (the server's "done" states).
FINAL_STATES: frozenset[int] = frozenset(int(s) for s in voc.BATCH_JOB_DONE_STATUSES)
TYPE_XML, TYPE_CSV = voc.BulkUploadType.XML.value, voc.BulkUploadType.CSV.value
OBJECT_ENTRY = voc.BulkUploadObjectType.ENTRY.value
RESULT_ERROR, RESULT_OK, RESULT_IN_PROGRESS = (
    voc.BulkUploadResultStatus.ERROR.value,
    voc.BulkUploadResultStatus.OK.value,
    voc.BulkUploadResultStatus.IN_PROGRESS.value,
)
ACTION_ADD, ACTION_UPDATE, ACTION_DELETE = (
    voc.BulkUploadAction.ADD.value,
    voc.BulkUploadAction.UPDATE.value,
    voc.BulkUploadAction.DELETE.value,
)
_ACTION_NAMES = {ACTION_ADD: "add", ACTION_UPDATE: "update", ACTION_DELETE: "delete"}
# KalturaEntryStatus values the emulator's entries use (entries have no media of their own)
ENTRY_ERROR_IMPORTING, ENTRY_READY, ENTRY_DELETED, ENTRY_NO_CONTENT = -1, 2, 3, 7


# ---------------------------------------------------------------------------- batch result logic


_RESULT_COLUMNS = RESULT_FIELDS[RESULT_FIELDS.index("status") :]  # what a result says, without its keys


def add_result(store: Store, result: Mapping[str, Any], plugins_data: Any = None) -> dict[str, Any]:
    """``batch.addBulkUploadResult``: upsert by (job, lineIndex); the action defaults to ADD."""
    job_id = php_int(result.get("bulkUploadJobId"))
    line = php_int(result.get("lineIndex"))
    job = store.query_one("SELECT partnerId FROM bulk_jobs WHERE id = ?", (job_id,))
    partner = job["partnerId"] if job else php_int(result.get("partnerId"))
    values: dict[str, Any] = {c: result.get(c) for c in _RESULT_COLUMNS if result.get(c) not in (None, "")}
    values.setdefault("action", ACTION_ADD)
    if values.get("objectId") and not values.get("entryId"):
        values["entryId"] = values["objectId"]
    objtype = result.get("objectType") if isinstance(result.get("objectType"), str) else None
    ts = now()
    with store.transaction() as c:
        row = c.execute(
            "SELECT id FROM bulk_results WHERE bulkUploadJobId = ? AND lineIndex = ?", (job_id, line)
        ).fetchone()
        data = {
            **values,
            "partnerId": partner,
            "objectType": objtype or "KalturaBulkUploadResultEntry",
            "pluginsData": json.dumps(plugins_data) if plugins_data else None,
            "updatedAt": ts,
        }
        if row is None:
            data.update(bulkUploadJobId=job_id, lineIndex=line, createdAt=ts)
            cols = ", ".join(f'"{k}"' for k in data)
            c.execute(
                f"INSERT INTO bulk_results ({cols}) VALUES ({', '.join('?' * len(data))})",
                tuple(data.values()),
            )
        else:
            sets = ", ".join(f'"{k}" = ?' for k in data)
            c.execute(f"UPDATE bulk_results SET {sets} WHERE id = ?", (*data.values(), row["id"]))
    return dict(_one(store, "SELECT * FROM bulk_results WHERE bulkUploadJobId = ? AND lineIndex = ?", (job_id, line)))


def _one(store: Store, sql: str, args: tuple[Any, ...] | list[Any]) -> Any:
    """A query that always has a row (counts, a row just written)."""
    row = store.query_one(sql, args)
    if row is None:
        raise LookupError(f"no row for {sql}")
    return row


def last_result(store: Store, job_id: int) -> dict[str, Any] | None:
    """``batch.getBulkUploadLastResult``."""
    row = store.query_one(
        "SELECT * FROM bulk_results WHERE bulkUploadJobId = ? ORDER BY lineIndex DESC LIMIT 1", (job_id,)
    )
    return dict(row) if row else None


def count_entries(store: Store, job_id: int) -> list[dict[str, Any]]:
    """``batch.countBulkUploadEntries``: created (results with an object, not in error) and error."""
    created = _one(
        store,
        "SELECT COUNT(*) AS n FROM bulk_results WHERE bulkUploadJobId = ? AND objectId IS NOT NULL AND status != ?",
        (job_id, RESULT_ERROR),
    )["n"]
    error = _one(
        store,
        "SELECT COUNT(*) AS n FROM bulk_results WHERE bulkUploadJobId = ? AND status = ?",
        (job_id, RESULT_ERROR),
    )["n"]
    return [
        {"key": "created", "value": str(created), "objectType": "KalturaKeyValue"},
        {"key": "error", "value": str(error), "objectType": "KalturaKeyValue"},
    ]


def update_results(store: Store, job_id: int) -> int:
    """``batch.updateBulkUploadResults``: refresh result statuses from their entries, store the counts.

    Entries have no media in the emulator, so an existing entry (ready or without content) makes its
    result OK; returns how many results are still IN_PROGRESS.
    """
    rows = store.query("SELECT id, status, objectId, action FROM bulk_results WHERE bulkUploadJobId = ?", (job_id,))
    with store.transaction() as c:
        for r in rows:
            if r["status"] != RESULT_IN_PROGRESS or not r["objectId"]:
                continue
            entry = c.execute("SELECT status FROM entries WHERE id = ?", (r["objectId"],)).fetchone()
            if entry is None:
                continue
            ok = entry["status"] in (ENTRY_READY, ENTRY_NO_CONTENT) or r["action"] == ACTION_DELETE
            c.execute(
                "UPDATE bulk_results SET status = ?, objectStatus = ?, updatedAt = ? WHERE id = ?",
                (RESULT_OK if ok else RESULT_ERROR, entry["status"], now(), r["id"]),
            )
        counts = c.execute(
            "SELECT SUM(status = ?) AS ok, SUM(status = ?) AS err, SUM(status = ?) AS prog FROM bulk_results "
            "WHERE bulkUploadJobId = ?",
            (RESULT_OK, RESULT_ERROR, RESULT_IN_PROGRESS, job_id),
        ).fetchone()
        c.execute(
            "UPDATE bulk_jobs SET numOfObjects = ?, numOfErrorObjects = ?, updatedAt = ? WHERE id = ?",
            (counts["ok"] or 0, counts["err"] or 0, now(), job_id),
        )
    return int(counts["prog"] or 0)


# ---------------------------------------------------------------------------- jobs


def get_job(store: Store, partner_id: int | None, job_id: Any) -> dict[str, Any]:
    row = store.query_one("SELECT * FROM bulk_jobs WHERE id = ? AND partnerId = ?", (php_int(job_id), partner_id))
    if row is None:
        raise ApiError(BULK_UPLOAD_NOT_FOUND, job_id)
    return dict(row)


def list_jobs(
    store: Store, partner_id: int | None, flt: Mapping[str, Any] | None, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """Jobs of the partner, newest first, aborted ones excluded (BulkService::listAction)."""
    where = ["partnerId = ?", "abort = 0"]
    args: list[Any] = [partner_id]
    flt = flt or {}
    for prop, column, op in (
        ("uploadedOnGreaterThanOrEqual", "createdAt", ">="),
        ("uploadedOnLessThanOrEqual", "createdAt", "<="),
        ("uploadedOnEqual", "createdAt", "="),
    ):
        if flt.get(prop) not in (None, ""):
            where.append(f"{column} {op} ?")
            args.append(relative_time(flt[prop]))
    for prop, column, cast in (
        ("statusEqual", "status", php_int),
        ("bulkUploadObjectTypeEqual", "bulkUploadObjectType", str),
    ):
        if flt.get(prop) not in (None, ""):
            where.append(f"{column} = ?")
            args.append(cast(flt[prop]))
    for prop, column, cast in (
        ("statusIn", "status", php_int),
        ("bulkUploadObjectTypeIn", "bulkUploadObjectType", str),
    ):
        items = [cast(v) for v in str(flt.get(prop) or "").split(",") if v]
        if items:
            where.append(f"{column} IN ({', '.join('?' * len(items))})")
            args += items
    sql_where = " AND ".join(where)
    total = _one(store, f"SELECT COUNT(*) AS n FROM bulk_jobs WHERE {sql_where}", args)["n"]
    rows = store.query(
        f"SELECT * FROM bulk_jobs WHERE {sql_where} ORDER BY id DESC LIMIT ? OFFSET ?", [*args, limit, offset]
    )
    return [dict(r) for r in rows], int(total)


def serve_log(store: Store, job: Mapping[str, Any], host: str) -> tuple[bytes, str]:
    """The job's log and its content type: the XML plugin's MRSS or the CSV plugin's CSV."""
    results = store.query("SELECT * FROM bulk_results WHERE bulkUploadJobId = ? ORDER BY lineIndex", (job["id"],))
    if job["bulkUploadType"] != TYPE_XML:
        return _csv_log(results), "text/csv; charset=UTF-8"
    if not results:  # the job's message, unescaped, as the plugin echoes it
        message = job["message"] or ""
        text = f'<?xml version="1.0" encoding="UTF-8"?><mrss><error>Log file is not ready: {message}</error></mrss>'
        return text.encode(), "text/xml; charset=UTF-8"
    items = []
    for r in results:
        error = "".join(ch for ch in (r["errorDescription"] or "") if ch not in "*/[]")  # stringToSafeXml
        parts = [
            f"<result>{_el('errorDescription', error)}</result>" if error else "<result/>",
            f"<action>{_ACTION_NAMES.get(r['action'] or '', 'add')}</action>",
        ]
        entry = store.query_one(
            "SELECT * FROM entries WHERE id = ? AND status != ?", (r["objectId"] or "", ENTRY_DELETED)
        )
        if entry is not None:
            parts.append(_entry_mrss(entry, host))
        items.append("<item>" + "".join(parts) + "</item>")
    doc = (
        '<mrss xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" version="2.0"><channel>'
        + "".join(items)
        + "</channel></mrss>"
    )
    return f'<?xml version="1.0"?>\n{doc}\n'.encode(), "text/xml; charset=UTF-8"


def _csv_log(results: list[Any]) -> bytes:
    """``BulkUploadCsvPlugin``: each row's values, then status, object id, object status, error."""
    if not results:
        return b"Log file is not ready"
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for r in results:
        values = next(csv.reader([r["rowData"] or ""]), [])
        values += [r["status"], r["objectId"] or "", "" if r["objectStatus"] is None else r["objectStatus"]]
        if r["errorDescription"]:
            values.append(r["errorDescription"])
        writer.writerow(values)
    return out.getvalue().encode()


def _el(tag: str, text: Any) -> str:
    text = "" if text is None else str(text)
    return f"<{tag}>{escape_text(text)}</{tag}>" if text else f"<{tag}/>"


def _entry_mrss(entry: Any, host: str) -> str:
    """The leading part of ``kMrssManager::getEntryMrssXml`` (no flavors, thumbs or contributors)."""
    pid = entry["partnerId"]
    thumb = f"http://{host}/p/{pid}/sp/{pid}00/thumbnail/entry_id/{entry['id']}/version/0"
    parts = [_el("entryId", entry["id"])]
    if entry["referenceId"]:
        parts.append(_el("referenceID", entry["referenceId"]))
    parts += [
        _el("createdAt", entry["createdAt"]),
        _el("updatedAt", entry["updatedAt"]),
        _el("title", entry["name"]),
        _el("type", entry["type"]),
        _el("licenseType", None),
        _el("userId", entry["userId"]),
        _el("name", entry["name"]),
        _el("status", entry["status"]),
        _el("description", entry["description"]),
        f'<thumbnailUrl url="{escape_attr(thumb)}"/>',
    ]
    tags = entry["tags"] or ""
    if tags.strip(" \r\n\t"):
        parts.append("<tags>" + "".join(_el("tag", t) for t in tags.split(",")) + "</tags>")
    parts.append(_el("partnerData", entry["partnerData"]))
    return "".join(parts)


def new_job(
    store: Store,
    ctx: Context,
    *,
    data: bytes,
    file_name: str,
    bulk_type: str,
    conversion_profile_id: int | None = None,
    uploaded_by: str | None = None,
) -> dict[str, Any]:
    """Create a PENDING bulk upload job owned by the caller's partner."""
    ts = now()
    with store.transaction() as c:
        cur = c.execute(
            "INSERT INTO bulk_jobs (partnerId, status, abort, bulkUploadType, bulkUploadObjectType, "
            "fileName, fileData, uploadedBy, userId, numOfEntries, numOfObjects, conversionProfileId, "
            "runAsAdmin, createdAt, updatedAt) VALUES (?, ?, 0, ?, ?, ?, ?, ?, ?, 0, 0, ?, ?, ?, ?)",
            (
                ctx.partner_id,
                int(Status.PENDING),
                bulk_type,
                OBJECT_ENTRY,
                file_name,
                data,
                uploaded_by or ctx.user,
                ctx.user,
                conversion_profile_id,
                1 if ctx.is_admin else 0,
                ts,
                ts,
            ),
        )
        job_id = cur.lastrowid
    return get_job(store, ctx.partner_id, job_id)


def abort_job(store: Store, ctx: Context, job_id: Any) -> dict[str, Any]:
    """``kJobsManager::abortJob``: flag it; a job not yet final becomes ABORTED at once."""
    job = get_job(store, ctx.partner_id, job_id)
    with store.transaction() as c:
        c.execute(
            "UPDATE bulk_jobs SET abort = 1, status = CASE WHEN status IN (?, ?, ?, ?, ?, ?) THEN status "
            "ELSE ? END, updatedAt = ? WHERE id = ?",
            (*sorted(FINAL_STATES), int(Status.ABORTED), now(), job["id"]),
        )
    return get_job(store, ctx.partner_id, job["id"])


__all__ = [
    "abort_job",
    "add_result",
    "count_entries",
    "get_job",
    "last_result",
    "list_jobs",
    "new_job",
    "serve_log",
    "update_results",
]

"""Bulk upload jobs (docs/kaltura-api.md#bulk-upload-jobs): the job store, the batch result logic and the XML bulk
worker.

Lifecycle (``KalturaBatchJobStatus``): a job is created PENDING; the worker thread moves it to QUEUED
and PROCESSING, handles the ``<mrss><channel><item>`` items in order (recording one result per item
through the same functions the ``batch`` service actions call), then ALMOST_DONE, and the closer
finishes it as ``KAsyncBulkUploadCloser`` does: FINISHED when no result is an error, else
FINISHED_PARTIALLY when some objects were created, else FAILED. Jobs left unfinished by a previous
run of a file database are picked up again at start.

Failures follow ``BulkUploadEngineXml``: a file that fails validation fails the job ("Validate files
failed on job [id], ..", APP error 72); an unsupported item action (77), a missing ``entryId`` on
update/delete (78), an unknown entry or a failing cue point abort the job (FAILED, messages prefixed
``Error: `` as the batch worker does) after the earlier items' results were recorded. Abort is
checked before each item.

Deliberate simplifications (see docs/emulator.md): only XML bulk uploads are processed (other types
fail the job); the ``mrss`` envelope is checked structurally and only ``<scenes>`` blocks are
validated, against ``ingest.xsd`` with the item's entry injected (the bulk schema's scene types are
the ingest ones without ``entryId``); item content/assets are ignored, entries have no media and count
as ready; scenes are applied with the addFromBulk field rules in the bulk handler's add/update flow.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Mapping
from copy import deepcopy
from typing import Any

from lxml import etree

from .context import Context
from .errors import BULK_UPLOAD_NOT_FOUND, ApiError
from .ingest import IngestMode, Node, apply_scenes, decode
from .ks import SESSION_ADMIN, KsInfo
from .objects import RESULT_FIELDS
from .query import php_int, relative_time
from .serve import escape_attr, escape_text
from .store import Store, now

log = logging.getLogger(__name__)

# KalturaBatchJobStatus
PENDING, QUEUED, PROCESSING, FINISHED, FAILED, ABORTED, ALMOST_DONE, FINISHED_PARTIALLY = (
    0,
    1,
    2,
    5,
    6,
    7,
    8,
    12,
)
FINAL_STATES = frozenset({FINISHED, FAILED, ABORTED, 10, 11, FINISHED_PARTIALLY})
# KalturaBulkUploadType / ObjectType / ResultStatus / Action
TYPE_XML, TYPE_CSV = "bulkUploadXml.XML", "bulkUploadCsv.CSV"
OBJECT_ENTRY = "1"
RESULT_ERROR, RESULT_OK, RESULT_IN_PROGRESS = "1", "2", "3"
ACTION_ADD, ACTION_UPDATE, ACTION_DELETE = "1", "2", "3"
_ACTION_NAMES = {ACTION_ADD: "add", ACTION_UPDATE: "update", ACTION_DELETE: "delete"}
# KalturaBatchJobErrorTypes and KalturaBatchJobAppErrors
ERR_APP, ERR_RUNTIME, ERR_KALTURA_API = 0, 1, 4
BULK_VALIDATION_FAILED, BULK_ACTION_NOT_SUPPORTED, BULK_MISSING_MANDATORY_PARAMETER = 72, 77, 78
# Entry statuses
ENTRY_READY, ENTRY_DELETED, ENTRY_NO_CONTENT = 2, 3, 7

_PLACEHOLDER_ENTRY = "0_bulkitem"


class JobFailure(Exception):
    """A batch exception that closes the job as FAILED with an error type and number."""

    def __init__(self, message: str, error_type: int, error_number: int = 0) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.error_number = error_number


class JobAborted(Exception):
    pass


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
    return dict(
        store.query_one("SELECT * FROM bulk_results WHERE bulkUploadJobId = ? AND lineIndex = ?", (job_id, line))
    )


def last_result(store: Store, job_id: int) -> dict[str, Any] | None:
    """``batch.getBulkUploadLastResult``."""
    row = store.query_one(
        "SELECT * FROM bulk_results WHERE bulkUploadJobId = ? ORDER BY lineIndex DESC LIMIT 1", (job_id,)
    )
    return dict(row) if row else None


def count_entries(store: Store, job_id: int) -> list[dict[str, Any]]:
    """``batch.countBulkUploadEntries``: created (results with an object, not in error) and error."""
    created = store.query_one(
        "SELECT COUNT(*) AS n FROM bulk_results WHERE bulkUploadJobId = ? AND objectId IS NOT NULL AND status != ?",
        (job_id, RESULT_ERROR),
    )["n"]
    error = store.query_one(
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
    where, args = ["partnerId = ?", "abort = 0"], [partner_id]
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
    total = store.query_one(f"SELECT COUNT(*) AS n FROM bulk_jobs WHERE {sql_where}", args)["n"]
    rows = store.query(
        f"SELECT * FROM bulk_jobs WHERE {sql_where} ORDER BY id DESC LIMIT ? OFFSET ?", [*args, limit, offset]
    )
    return [dict(r) for r in rows], int(total)


def serve_log(store: Store, job: Mapping[str, Any], host: str) -> bytes:
    """``BulkUploadXmlPlugin::getBulkUploadMrssXml``: one ``<item>`` per result, then the entry's MRSS."""
    results = store.query("SELECT * FROM bulk_results WHERE bulkUploadJobId = ? ORDER BY lineIndex", (job["id"],))
    if not results:
        return b'<?xml version="1.0" encoding="UTF-8"?><mrss><error>Log file is not ready</error></mrss>'
    items = []
    for r in results:
        error = "".join(ch for ch in (r["errorDescription"] or "") if ch not in "*/[]")  # stringToSafeXml
        parts = [
            f"<result>{_el('errorDescription', error)}</result>",
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
    return f'<?xml version="1.0"?>\n{doc}\n'.encode()


def _el(tag: str, text: Any) -> str:
    text = "" if text is None else str(text)
    return f"<{tag}>{escape_text(text)}</{tag}>" if text else f"<{tag}/>"


def _entry_mrss(entry: Mapping[str, Any], host: str) -> str:
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


class BulkWorker:
    """One background thread that runs queued jobs in order (the batch scheduler)."""

    def __init__(self, store: Store, *, step_delay: float = 0.0) -> None:
        self.store = store
        self.step_delay = step_delay
        self._queue: queue.Queue[int | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="cuepipe-emulator-bulk", daemon=True)
        self._thread.start()
        for row in self.store.query(
            "SELECT id FROM bulk_jobs WHERE status IN (?, ?, ?, ?) ORDER BY id",
            (PENDING, QUEUED, PROCESSING, ALMOST_DONE),
        ):
            self._queue.put(row["id"])

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=10)
            self._thread = None

    def submit(self, job_id: int) -> None:
        self._queue.put(job_id)

    def _run(self) -> None:
        while True:
            job_id = self._queue.get()
            if job_id is None:
                return
            try:
                self.process(job_id)
            except Exception:  # the worker must survive anything a job does
                log.exception("bulk upload job %s crashed", job_id)
                self._close(job_id, FAILED, "Error: internal emulator error", ERR_RUNTIME, 0)

    # ------------------------------------------------------------------ job processing

    def _set(self, job_id: int, **values: Any) -> None:
        sets = ", ".join(f'"{k}" = ?' for k in values)
        with self.store.transaction() as c:
            c.execute(f"UPDATE bulk_jobs SET {sets}, updatedAt = ? WHERE id = ?", (*values.values(), now(), job_id))

    def _close(
        self,
        job_id: int,
        status: int,
        message: str | None,
        error_type: int | None = None,
        error_number: int | None = None,
    ) -> None:
        row = self.store.query_one("SELECT status, abort FROM bulk_jobs WHERE id = ?", (job_id,))
        if row is None or row["status"] == ABORTED:
            return
        self._set(job_id, status=status, message=message, errorType=error_type, errorNumber=error_number)

    def _step(self, job_id: int, status: int) -> None:
        if self.step_delay:
            time.sleep(self.step_delay)
        self._check_abort(job_id)
        self._set(job_id, status=status)

    def _check_abort(self, job_id: int) -> None:
        row = self.store.query_one("SELECT abort FROM bulk_jobs WHERE id = ?", (job_id,))
        if row is None or row["abort"]:
            raise JobAborted

    def process(self, job_id: int) -> None:
        job = self.store.query_one("SELECT * FROM bulk_jobs WHERE id = ?", (job_id,))
        if job is None or job["status"] in FINAL_STATES:
            return
        try:
            self._step(job_id, QUEUED)
            self._step(job_id, PROCESSING)
            if job["bulkUploadType"] != TYPE_XML:
                raise JobFailure(
                    f"Error: bulk upload type [{job['bulkUploadType']}] is not supported by the cuepipe emulator",
                    ERR_APP,
                    0,
                )
            items = self._validate(job)
            ctx = Context(
                partner_id=job["partnerId"],
                ks=KsInfo(
                    partner_id=job["partnerId"],
                    valid_until=2**31,
                    type=SESSION_ADMIN,
                    user=job["userId"] or "",
                ),
            )
            for line, item in enumerate(items, start=1):
                self._check_abort(job_id)
                self._item(ctx, job_id, line, item)
                if self.step_delay:
                    time.sleep(self.step_delay)
            self._step(job_id, ALMOST_DONE)
        except JobAborted:
            return
        except JobFailure as exc:
            self._close(job_id, FAILED, str(exc), exc.error_type, exc.error_number)
            return
        self._finish(job_id)

    def _finish(self, job_id: int) -> None:
        """``KAsyncBulkUploadCloser``: refresh results, then pick the final state from the counts."""
        if update_results(self.store, job_id):
            return  # objects still in progress: stays ALMOST_DONE (cannot happen without media)
        counts = {kv["key"]: int(kv["value"]) for kv in count_entries(self.store, job_id)}
        if counts["error"] == 0:
            self._close(job_id, FINISHED, "Finished successfully")
        elif counts["created"] > 0:
            self._close(job_id, FINISHED_PARTIALLY, "Finished, but with some errors")
        else:
            self._close(job_id, FAILED, "Failed to create objects")

    def _validate(self, job: Mapping[str, Any]) -> list[tuple[etree._Element, Node | None, str | None]]:
        """Whole-file validation before any item runs; returns (item, decoded scenes, scenes action)."""

        def fail(detail: str) -> JobFailure:
            return JobFailure(
                f"Error: Validate files failed on job [{job['id']}], {detail}",
                ERR_APP,
                BULK_VALIDATION_FAILED,
            )

        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
        try:
            root = etree.fromstring(job["fileData"] or b"", parser)
        except etree.XMLSyntaxError as exc:
            raise fail(str(exc)) from exc
        if root.getroottree().docinfo.doctype or root.tag != "mrss" or root.find("channel") is None:
            raise fail("the document is not an mrss bulk upload file")
        out = []
        for item in root.iterfind("channel/item"):
            scenes = item.find("scenes")
            decoded, action = None, None
            if scenes is not None:
                children = [c for c in scenes if isinstance(c.tag, str)]
                if children and children[0].tag == "action":
                    action = (children[0].text or "").strip()
                    children = children[1:]
                if children:
                    doc = etree.Element("scenes")
                    for child in children:
                        if "entryId" in child.attrib:
                            raise fail(f"attribute entryId is not allowed on {child.tag} in a bulk upload")
                        copy = deepcopy(child)
                        copy.set("entryId", _PLACEHOLDER_ENTRY)
                        doc.append(copy)
                    try:
                        decoded = decode(etree.tostring(doc))
                    except ApiError as exc:
                        raise fail("invalid scenes element") from exc
            out.append((item, decoded, action))
        return out

    def _item(
        self, ctx: Context, job_id: int, line: int, parsed: tuple[etree._Element, Node | None, str | None]
    ) -> None:
        item, scenes, scenes_action = parsed
        action = (item.findtext("action") or "add").strip().lower()
        entry_id = (item.findtext("entryId") or "").strip()
        store = self.store
        try:
            if action == "add":
                entry_id = store.add_entry(
                    ctx.partner_id or 0, **_entry_fields(item, ctx.user), status=ENTRY_NO_CONTENT
                )
                if scenes is not None:
                    apply_scenes(
                        store,
                        ctx,
                        scenes,
                        IngestMode(force_insert=True, unique_system_name=True),
                        entry_override=entry_id,
                    )
                code = ACTION_ADD
            elif action in ("update", "delete"):
                if not entry_id:
                    raise JobFailure("Error: Missing entry id element", ERR_APP, BULK_MISSING_MANDATORY_PARAMETER)
                if store.entry(ctx.partner_id or 0, entry_id) is None:
                    raise JobFailure(f'Error: Entry id "{entry_id}" not found', ERR_KALTURA_API, 0)
                if action == "delete":
                    store.update_entry(entry_id, {"status": ENTRY_DELETED})
                    code = ACTION_DELETE
                else:
                    store.update_entry(entry_id, _entry_updates(item))
                    if scenes is not None:
                        if scenes_action is not None and scenes_action.lower() != "update":
                            raise JobFailure(
                                f"Error: scenes->action: {scenes_action.lower()} is not supported",
                                ERR_APP,
                                BULK_ACTION_NOT_SUPPORTED,
                            )
                        apply_scenes(store, ctx, scenes, IngestMode(scene_id_must_exist=True), entry_override=entry_id)
                    code = ACTION_UPDATE
            else:
                raise JobFailure(f"Error: Action: {action} is not supported", ERR_APP, BULK_ACTION_NOT_SUPPORTED)
        except ApiError as exc:
            raise JobFailure(f"Error: {exc.message or exc.code}", ERR_RUNTIME, 0) from exc
        entry = store.query_one("SELECT * FROM entries WHERE id = ?", (entry_id,))
        add_result(
            store,
            {
                "bulkUploadJobId": job_id,
                "lineIndex": line,
                "action": code,
                "objectId": entry_id,
                "status": RESULT_OK if code == ACTION_DELETE else RESULT_IN_PROGRESS,
                "objectStatus": entry["status"] if entry else None,
                "bulkUploadResultObjectType": OBJECT_ENTRY,
                "rowData": etree.tostring(item, encoding="unicode"),
                "title": entry["name"] if entry else None,
                "description": entry["description"] if entry else None,
                "tags": entry["tags"] if entry else None,
                "referenceId": entry["referenceId"] if entry else None,
            },
        )


def _entry_updates(item: etree._Element) -> dict[str, Any]:
    """``baseEntry.update`` with the item's entry elements that are present (others keep their value)."""
    out: dict[str, Any] = {}
    for element, column in (
        ("name", "name"),
        ("description", "description"),
        ("referenceId", "referenceId"),
        ("userId", "userId"),
    ):
        if item.find(element) is not None:
            out[column] = item.findtext(element) or ""
    if item.find("tags") is not None:
        out["tags"] = ",".join(t.text for t in item.iterfind("tags/tag") if t.text)
    return out


def _entry_fields(item: etree._Element, default_user: str | None) -> dict[str, Any]:
    tags = [t.text or "" for t in item.iterfind("tags/tag")]
    type_text = (item.findtext("type") or "").strip()
    media_type = (item.findtext("media/mediaType") or "").strip()
    return {
        "name": item.findtext("name") or "",
        "description": item.findtext("description") or "",
        "tags": ",".join(t for t in tags if t),
        "reference_id": item.findtext("referenceId"),
        "user_id": item.findtext("userId") or default_user or "",
        "entry_type": php_int(type_text) if type_text else 1,
        "media_type": php_int(media_type) if media_type else None,
    }


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
                PENDING,
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
            (*sorted(FINAL_STATES), ABORTED, now(), job["id"]),
        )
    return get_job(store, ctx.partner_id, job["id"])


__all__ = [
    "BulkWorker",
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

"""Bulk upload jobs, the worker side: the batch server's engines and closer, on one thread.

Lifecycle (``KalturaBatchJobStatus``): a job is created PENDING; the worker moves it to QUEUED and
PROCESSING, runs the engine of its type, then ALMOST_DONE, and the closer finishes it as
``KAsyncBulkUploadCloser`` does: FINISHED when no result is an error, FINISHED_PARTIALLY when some
objects were created, else FAILED ("Failed to create objects"). Jobs left unfinished by a previous
run of a file database are picked up again at start. Abort is checked before each item.

XML engine (``BulkUploadEngineXml``): the whole file is validated first (a bad file fails the job:
"Validate files failed on job [id], ..", APP error 72). Then each ``<channel><item>`` is one result,
and a bad item does not stop the job (``handleChannel``): its result is an ERROR with the message
(an unsupported action, "Missing entry id element", "Entry id [x] not found", a cue point the API
refused...). The action is ``<action>``, else update when the item has ``<entryId>`` (or a
``<referenceId>`` of an existing entry), else add. Scenes go through the cue point bulk handlers
(``CuePointBulkUploadXmlHandler``), which call ``cuePoint.add`` / ``cuePoint.update`` in one
multirequest per item: every scene is tried, each under the API's rules (:mod:`.cuepoints`: typed
validation, duplicate system names refused, a thumb keeps its title, description and sub-type), and
the first refusal becomes the item's error while the other scenes stay saved. On update a scene
with ``sceneId`` updates that cue point, one whose system name exists on the entry updates it, any
other is added. Only the types with a bulk handler are ingested (annotation, ad, code, thumb);
quiz and session scenes are skipped, as on the server.

CSV engine (``BulkUploadEntryEngineCsv``), also used when ``addEntries`` gets no job data: each line
with other than 5 or 12 values is an ERROR "Wrong number of values on line N" (so an XML file sent
without XML job data fails, as on the server); lines of the right shape are refused with a clear
message because the emulator does not create entries from CSV (see docs/emulator.md).

Simplifications (docs/emulator.md): item content and assets are ignored, entries have no media and
count as ready; the ``mrss`` envelope is checked structurally and ``<scenes>`` against the ingest
schema.
"""

from __future__ import annotations

import csv
import io
import logging
import queue
import threading
import time
from collections.abc import Mapping
from copy import deepcopy
from typing import Any

from lxml import etree

from .. import vocabulary as voc
from . import cuepoints
from .bulk import (
    ACTION_ADD,
    ACTION_DELETE,
    ACTION_UPDATE,
    ENTRY_DELETED,
    ENTRY_ERROR_IMPORTING,
    ENTRY_NO_CONTENT,
    FINAL_STATES,
    OBJECT_ENTRY,
    RESULT_ERROR,
    RESULT_IN_PROGRESS,
    RESULT_OK,
    TYPE_CSV,
    TYPE_XML,
    Status,
    add_result,
    count_entries,
    update_results,
)
from .context import Context
from .errors import ApiError
from .ingest import Node, decode
from .ks import SESSION_ADMIN, KsInfo
from .query import php_int
from .store import Store, now
from .timecode import time_to_integer

log = logging.getLogger(__name__)

ErrorType = voc.BatchJobErrorType
# KalturaBatchJobAppErrors
BULK_VALIDATION_FAILED, BULK_ACTION_NOT_SUPPORTED, BULK_MISSING_MANDATORY_PARAMETER = 72, 77, 78
CSV_VALUES_COUNTS = (5, 12)  # BulkUploadEntryEngineCsv::VALUES_COUNT_V1 / V2
_PLACEHOLDER_ENTRY = "0_bulkitem"
# Scene elements with a bulk upload handler, and their API classes (quiz and session have none).
_HANDLED = {
    "scene-annotation": "KalturaAnnotation",
    "scene-ad-cue-point": "KalturaAdCuePoint",
    "scene-code-cue-point": "KalturaCodeCuePoint",
    "scene-thumb-cue-point": "KalturaThumbCuePoint",
}


class JobFailure(Exception):
    """A batch exception that closes the whole job as FAILED with an error type and number."""

    def __init__(self, message: str, error_type: int, error_number: int = 0) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.error_number = error_number


class ItemFailure(Exception):
    """One item failed: recorded as an ERROR result, the job goes on (``handleChannel``)."""


class JobAborted(Exception):
    pass


Parsed = tuple[etree._Element, Node | None, str | None]


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
        unfinished = (Status.PENDING, Status.QUEUED, Status.PROCESSING, Status.ALMOST_DONE)
        for row in self.store.query(
            "SELECT id FROM bulk_jobs WHERE status IN (?, ?, ?, ?) ORDER BY id", tuple(int(s) for s in unfinished)
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
                self._close(job_id, Status.FAILED, "Error: internal emulator error", ErrorType.RUNTIME, 0)

    # ------------------------------------------------------------------ job state

    def _set(self, job_id: int, **values: Any) -> None:
        sets = ", ".join(f'"{k}" = ?' for k in values)
        with self.store.transaction() as c:
            c.execute(f"UPDATE bulk_jobs SET {sets}, updatedAt = ? WHERE id = ?", (*values.values(), now(), job_id))

    def _close(
        self,
        job_id: int,
        status: Status,
        message: str | None,
        error_type: int | None = None,
        error_number: int | None = None,
    ) -> None:
        row = self.store.query_one("SELECT status FROM bulk_jobs WHERE id = ?", (job_id,))
        if row is None or row["status"] == Status.ABORTED:
            return
        self._set(job_id, status=int(status), message=message, errorType=error_type, errorNumber=error_number)

    def _step(self, job_id: int, status: Status) -> None:
        if self.step_delay:
            time.sleep(self.step_delay)
        self._check_abort(job_id)
        self._set(job_id, status=int(status))

    def _check_abort(self, job_id: int) -> None:
        row = self.store.query_one("SELECT abort FROM bulk_jobs WHERE id = ?", (job_id,))
        if row is None or row["abort"]:
            raise JobAborted

    def process(self, job_id: int) -> None:
        job = self.store.query_one("SELECT * FROM bulk_jobs WHERE id = ?", (job_id,))
        if job is None or job["status"] in FINAL_STATES:
            return
        try:
            self._step(job_id, Status.QUEUED)
            self._step(job_id, Status.PROCESSING)
            if job["bulkUploadType"] == TYPE_XML:
                self._xml_engine(job)
            elif job["bulkUploadType"] == TYPE_CSV:
                self._csv_engine(job)
            else:
                raise JobFailure(
                    f"Error: bulk upload type [{job['bulkUploadType']}] is not supported by the cuepipe emulator",
                    ErrorType.APP,
                    0,
                )
            self._step(job_id, Status.ALMOST_DONE)
        except JobAborted:
            return
        except JobFailure as exc:
            self._close(job_id, Status.FAILED, str(exc), exc.error_type, exc.error_number)
            return
        self._finish(job_id)

    def _finish(self, job_id: int) -> None:
        """``KAsyncBulkUploadCloser``: refresh results, then pick the final state from the counts."""
        if update_results(self.store, job_id):
            return  # objects still in progress: stays ALMOST_DONE (cannot happen without media)
        counts = {kv["key"]: int(kv["value"]) for kv in count_entries(self.store, job_id)}
        if counts["error"] == 0:
            self._close(job_id, Status.FINISHED, "Finished successfully")
        elif counts["created"] > 0:
            self._close(job_id, Status.FINISHED_PARTIALLY, "Finished, but with some errors")
        else:
            self._close(job_id, Status.FAILED, "Failed to create objects")

    def _error_result(self, job_id: int, line: int, action: str, row_data: str, message: str) -> None:
        add_result(
            self.store,
            {
                "bulkUploadJobId": job_id,
                "lineIndex": line,
                "action": action,
                "status": RESULT_ERROR,
                "errorDescription": message,
                "objectStatus": ENTRY_ERROR_IMPORTING,
                "bulkUploadResultObjectType": OBJECT_ENTRY,
                "rowData": row_data,
            },
        )

    # ------------------------------------------------------------------ CSV engine

    def _csv_engine(self, job: Any) -> None:
        text = (job["fileData"] or b"").decode("utf-8", "replace").removeprefix("\ufeff")
        line = 0
        for values in csv.reader(io.StringIO(text)):
            if not values or not "".join(values).strip():
                continue
            first = values[0].strip()[:1]
            if first in ("#", "*"):  # remarks and column headers
                continue
            line += 1
            self._check_abort(job["id"])
            row = ",".join(values)
            if len(values) not in CSV_VALUES_COUNTS:
                self._error_result(job["id"], line, ACTION_ADD, row, f"Wrong number of values on line {line}")
            else:
                self._error_result(
                    job["id"], line, ACTION_ADD, row, "CSV entry lines are not processed by the cuepipe emulator"
                )

    # ------------------------------------------------------------------ XML engine

    def _xml_engine(self, job: Any) -> None:
        items = self._validate(job)
        ctx = Context(
            partner_id=job["partnerId"],
            ks=KsInfo(partner_id=job["partnerId"], valid_until=2**31, type=SESSION_ADMIN, user=job["userId"] or ""),
        )
        for line, parsed in enumerate(items, start=1):
            self._check_abort(job["id"])
            item = parsed[0]
            action = ACTION_ADD
            try:
                action = self._item_action(ctx, item)
                self._item(ctx, job["id"], line, parsed, action)
            except (ItemFailure, JobFailure) as exc:
                self._error_result(job["id"], line, action, etree.tostring(item, encoding="unicode"), str(exc))
            if self.step_delay:
                time.sleep(self.step_delay)

    def _validate(self, job: Mapping[str, Any]) -> list[Parsed]:
        """Whole-file validation before any item runs; returns (item, decoded scenes, scenes action)."""

        def fail(detail: str) -> JobFailure:
            return JobFailure(
                f"Error: Validate files failed on job [{job['id']}], {detail}", ErrorType.APP, BULK_VALIDATION_FAILED
            )

        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
        try:
            root = etree.fromstring(job["fileData"] or b"", parser)
        except etree.XMLSyntaxError as exc:
            raise fail(str(exc)) from exc
        docinfo: Any = root.getroottree().docinfo
        if docinfo.doctype or root.tag != "mrss" or root.find("channel") is None:
            raise fail("the document is not an mrss bulk upload file")
        out: list[Parsed] = []
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

    def _by_reference(self, ctx: Context, reference: str) -> str | None:
        row = self.store.query_one(
            'SELECT id FROM entries WHERE partnerId = ? AND "referenceId" = ? AND status != ? ORDER BY intId LIMIT 1',
            (ctx.partner_id, reference, ENTRY_DELETED),
        )
        return row["id"] if row else None

    def _item_action(self, ctx: Context, item: etree._Element) -> str:
        """``handleChannel``: <action>, else update for an <entryId> or a known <referenceId>, else add."""
        if item.find("action") is not None:
            name = (item.findtext("action") or "").strip().lower()
            codes = {"add": ACTION_ADD, "update": ACTION_UPDATE, "delete": ACTION_DELETE}
            if name not in codes:
                raise ItemFailure(f"Action: {name} is not supported")
            return codes[name]
        if item.find("entryId") is not None:
            return ACTION_UPDATE
        reference = item.findtext("referenceId")
        if reference is not None and self._by_reference(ctx, reference):
            return ACTION_UPDATE
        return ACTION_ADD

    def _target_entry(self, ctx: Context, item: etree._Element) -> str:
        if item.find("entryId") is not None:
            entry_id = (item.findtext("entryId") or "").strip()
            if self.store.entry(ctx.partner_id or 0, entry_id) is None:
                raise ItemFailure(f"Entry id [{entry_id}] not found")
            return entry_id
        if item.find("referenceId") is not None:
            reference = item.findtext("referenceId") or ""
            found = self._by_reference(ctx, reference)
            if found is None:
                raise ItemFailure(f"Reference id [{reference}] not found")
            return found
        raise ItemFailure("Missing entry id element")

    def _item(self, ctx: Context, job_id: int, line: int, parsed: Parsed, action: str) -> None:
        item, scenes, scenes_action = parsed
        store = self.store
        if action == ACTION_ADD:
            entry_id = store.add_entry(ctx.partner_id or 0, **_entry_fields(item, ctx.user), status=ENTRY_NO_CONTENT)
            if scenes is not None:
                _ingest_scenes(store, ctx, scenes, entry_id, update=False)
        elif action == ACTION_DELETE:
            entry_id = self._target_entry(ctx, item)
            store.update_entry(entry_id, {"status": ENTRY_DELETED})
        else:
            entry_id = self._target_entry(ctx, item)
            store.update_entry(entry_id, _entry_updates(item))
            if scenes is not None:
                if scenes_action is not None and scenes_action.lower() != "update":
                    raise ItemFailure(f"scenes->action: {scenes_action.lower()} is not supported")
                _ingest_scenes(store, ctx, scenes, entry_id, update=True)
        entry = store.query_one("SELECT * FROM entries WHERE id = ?", (entry_id,))
        add_result(
            store,
            {
                "bulkUploadJobId": job_id,
                "lineIndex": line,
                "action": action,
                "objectId": entry_id,
                "status": RESULT_OK if action == ACTION_DELETE else RESULT_IN_PROGRESS,
                "objectStatus": entry["status"] if entry else None,
                "bulkUploadResultObjectType": OBJECT_ENTRY,
                "rowData": etree.tostring(item, encoding="unicode"),
                "title": entry["name"] if entry else None,
                "description": entry["description"] if entry else None,
                "tags": entry["tags"] if entry else None,
                "referenceId": entry["referenceId"] if entry else None,
            },
        )


# ---------------------------------------------------------------------------- scenes


def _scene_object(scene: Node, cls: str, ingested: Mapping[str, str]) -> dict[str, Any]:
    """The typed object a scene handler's ``parseCuePoint`` builds (values as the batch client sends them)."""
    obj: dict[str, Any] = {"objectType": cls}
    system_name = str(scene.attrs.get("systemName") or "")
    if system_name:
        obj["systemName"] = system_name
    obj["startTime"] = time_to_integer(scene.text("sceneStartTime") or "") or 0
    tags = scene.first("tags")
    if tags is not None:
        obj["tags"] = ",".join(str(t.value) for t in tags.all("tag") if t.value not in (None, "", "0"))
    end = scene.text("sceneEndTime")
    if cls == "KalturaAnnotation":
        if end is not None:
            obj["endTime"] = time_to_integer(end)
        if scene.text("sceneText") is not None:
            obj["text"] = scene.text("sceneText")
        if scene.text("parentId") is not None:
            obj["parentId"] = scene.text("parentId")
        elif scene.text("parent") is not None and scene.text("parent") in ingested:
            obj["parentId"] = ingested[scene.text("parent") or ""]  # an earlier scene of this item
    elif cls == "KalturaAdCuePoint":
        if end is not None:
            obj["endTime"] = time_to_integer(end)
        for element, prop in (("sceneTitle", "title"), ("sourceUrl", "sourceUrl")):
            if scene.text(element) is not None:
                obj[prop] = scene.text(element)
        obj["adType"] = scene.text("adType") or ""
        obj["protocolType"] = scene.text("protocolType") or ""
    elif cls == "KalturaCodeCuePoint":
        if end is not None:
            obj["endTime"] = time_to_integer(end)
        for element in ("code", "description"):
            if scene.text(element) is not None:
                obj[element] = scene.text(element)
    elif cls == "KalturaThumbCuePoint":
        obj["title"] = scene.text("title") or ""
        obj["description"] = scene.text("description") or ""
        sub_type = scene.text("subType")
        obj["subType"] = sub_type if sub_type is not None else str(int(voc.ThumbCuePointSubType.SLIDE))
    return obj


def _existing_by_system_name(store: Store, ctx: Context, entry_id: str) -> dict[str, str]:
    """``getExistingCuePointsBySystemName``: the entry's first 500 cue points by system name."""
    rows = store.query(
        'SELECT id, "systemName" FROM cue_points WHERE partnerId = ? AND "entryId" = ? AND status != ? '
        "ORDER BY intId LIMIT 500",
        (ctx.partner_id, entry_id, int(voc.CuePointStatus.DELETED)),
    )
    return {r["systemName"]: r["id"] for r in rows if r["systemName"]}


def _ingest_scenes(store: Store, ctx: Context, scenes: Node, entry_id: str, *, update: bool) -> None:
    """Every handled scene through cuePoint.add/update; the first refusal fails the item."""
    existing = _existing_by_system_name(store, ctx, entry_id) if update else {}
    ingested: dict[str, str] = {}
    first_error: str | None = None
    for scene in scenes.children:
        cls = _HANDLED.get(scene.tag)
        if cls is None:
            continue
        raw = _scene_object(scene, cls, ingested)
        scene_id = str(scene.attrs.get("sceneId") or "")
        try:
            if update and scene_id:
                row = cuepoints.update(store, ctx, scene_id, cuepoints.deserialize(raw, frozenset()))
            elif update and raw.get("systemName") in existing:
                if cls == "KalturaAdCuePoint":
                    raw.pop("protocolType", None)  # removeNonUpdatbleFields
                target = existing[raw["systemName"]]
                row = cuepoints.update(store, ctx, target, cuepoints.deserialize(raw, frozenset()))
            else:
                raw["entryId"] = entry_id
                row = cuepoints.add(store, ctx, cuepoints.deserialize(raw, frozenset()))
        except ApiError as err:
            first_error = first_error or err.message
            if raw.get("systemName"):
                ingested[raw["systemName"]] = ""  # a reference to a failed call resolves to ''
            continue
        if raw.get("systemName"):
            ingested[raw["systemName"]] = row["id"]
    if first_error is not None:
        raise ItemFailure(first_error)


# ---------------------------------------------------------------------------- entries


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

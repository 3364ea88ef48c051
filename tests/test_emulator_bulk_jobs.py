"""Bulk upload jobs as the batch server runs them.

Server sources: ``plugins/bulk_upload/xml/batch/BulkUploadEngineXml.php`` (``handleChannel``: a bad
item is an ERROR result and the job goes on; the action defaults to update for an item with
``<entryId>``), ``KAsyncBulkUploadCloser.class.php`` (FINISHED / FINISHED_PARTIALLY / FAILED),
``plugins/cue_points/base/batch/CuePointBulkUploadXmlHandler.php`` (scenes through cuePoint.add /
update), ``plugins/bulk_upload/BulkService.php`` and ``BulkUploadCsvPlugin::loadObject`` (no job
data: a CSV job), ``plugins/bulk_upload/xml/BulkUploadXmlPlugin.php`` (the MRSS log).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from cuepipe.emulator import create_app
from cuepipe.emulator.app import Partner
from cuepipe.vocabulary import BatchJobStatus

PARTNER, ADMIN = 610, "bulk-jobs-admin"
XML_JOB = {"objectType": "KalturaBulkUploadXmlJobData"}


class Api:
    def __init__(self, http: TestClient) -> None:
        self.http, self.ks = http, ""

    def call(self, service: str, action: str, files: Any = None, **params: Any) -> Any:
        data: dict[str, str] = {"format": "1", "ks": self.ks}
        for key, value in params.items():
            if isinstance(value, dict):
                data.update({f"{key}[{k}]": str(v) for k, v in value.items()})
            else:
                data[key] = str(value)
        response = self.http.post(f"/api_v3/service/{service}/action/{action}", data=data, files=files)
        assert response.status_code == 200
        return response if action.lower() in ("servelog", "serve") else response.json()

    def submit(self, mrss: str, **params: Any) -> dict[str, Any]:
        files = {"fileData": ("bulk.xml", mrss.encode(), "application/xml")}
        job = self.call("bulkupload_bulk", "addEntries", files=files, **params)
        assert job["objectType"] == "KalturaBulkUpload", job
        return job

    def wait(self, job_id: int) -> dict[str, Any]:
        deadline = time.monotonic() + 60
        while True:
            job = self.call("bulkupload_bulk", "get", id=job_id)
            if job["status"] in (5, 6, 7, 10, 11, 12) or time.monotonic() > deadline:
                return job
            time.sleep(0.02)


@pytest.fixture(scope="module")
def api() -> Iterator[Api]:
    app = create_app(partners=[Partner(PARTNER, ADMIN)], entries=[(PARTNER, "0_known")], batch_secret="batch-secret")
    with TestClient(app) as http:
        client = Api(http)
        client.ks = client.call("session", "start", secret=ADMIN, type=2, partnerId=PARTNER)
        yield client


def _mrss(*items: str) -> str:
    return '<?xml version="1.0"?><mrss version="1.0"><channel>' + "".join(items) + "</channel></mrss>"


def _add_item(name: str, scenes: str = "") -> str:
    body = f"<scenes>{scenes}</scenes>" if scenes else ""
    media = "<media><mediaType>1</mediaType></media>"
    return f"<item><action>add</action><type>1</type><name>{name}</name>{media}{body}</item>"


def _code(start: str, code: str, system_name: str = "") -> str:
    attr = f' systemName="{system_name}"' if system_name else ""
    inner = f"<sceneStartTime>{start}</sceneStartTime><code>{code}</code>"
    return f"<scene-code-cue-point{attr}>{inner}</scene-code-cue-point>"


def _log(api: Api, job_id: int) -> str:
    return api.call("bulkupload_bulk", "serveLog", id=job_id).text


def _cue_points(api: Api, entry_id: str) -> list[dict[str, Any]]:
    return api.call("cuepoint_cuepoint", "list", filter={"entryIdEqual": entry_id})["objects"]


def test_a_bad_item_is_an_error_result_and_the_job_goes_on(api: Api) -> None:
    job = api.submit(
        _mrss(
            _add_item("first", _code("00:00:01", "a")),
            "<item><action>update</action><entryId>0_nosuch</entryId></item>",
            "<item><action>frobnicate</action></item>",
            _add_item("last", _code("00:00:02", "b")),
        ),
        bulkUploadData=XML_JOB,
    )
    final = api.wait(job["id"])
    assert final["status"] == BatchJobStatus.FINISHED_PARTIALLY
    assert final["error"] == "Finished, but with some errors"
    log = _log(api, job["id"])
    assert log.count("<item>") == 4
    assert "<errorDescription>Entry id 0_nosuch not found</errorDescription>" in log  # stringToSafeXml drops []
    assert "<errorDescription>Action: frobnicate is not supported</errorDescription>" in log
    assert log.count("<result/>") == 2
    # the last item ran although earlier ones failed
    assert "<title>last</title>" in log


def test_nothing_succeeded_fails_the_job(api: Api) -> None:
    job = api.submit(_mrss("<item><action>delete</action></item>"), bulkUploadData=XML_JOB)
    final = api.wait(job["id"])
    assert (final["status"], final["error"]) == (BatchJobStatus.FAILED, "Failed to create objects")
    assert "<errorDescription>Missing entry id element</errorDescription>" in _log(api, job["id"])


def test_an_item_with_entry_id_and_no_action_is_an_update(api: Api) -> None:
    scenes = _code("00:00:03", "u", "upd1")
    item = f"<item><entryId>0_known</entryId><description>changed</description><scenes>{scenes}</scenes></item>"
    job = api.submit(_mrss(item), bulkUploadData=XML_JOB)
    final = api.wait(job["id"])
    assert final["status"] == BatchJobStatus.FINISHED
    log = _log(api, job["id"])
    assert "<action>update</action>" in log and "<entryId>0_known</entryId>" in log
    assert [c["code"] for c in _cue_points(api, "0_known") if c.get("systemName") == "upd1"] == ["u"]
    # the same scene again updates the cue point found by its system name
    job = api.submit(_mrss(item.replace("<code>u</code>", "<code>u2</code>")), bulkUploadData=XML_JOB)
    assert api.wait(job["id"])["status"] == BatchJobStatus.FINISHED
    assert [c["code"] for c in _cue_points(api, "0_known") if c.get("systemName") == "upd1"] == ["u2"]


def test_without_xml_job_data_the_server_makes_a_csv_job(api: Api) -> None:
    job = api.submit(_mrss(_add_item("x")))
    assert job["bulkUploadType"] == "bulkUploadCsv.CSV"
    final = api.wait(job["id"])
    assert (final["status"], final["error"]) == (BatchJobStatus.FAILED, "Failed to create objects")
    assert "Wrong number of values on line 1" in _log(api, job["id"])


def test_scenes_follow_the_cue_point_api_rules(api: Api) -> None:
    """Scenes are cuePoint.add calls: a thumb keeps title, description and sub-type (addFromBulk drops
    them), a duplicate system name is refused; the other scenes of the failed item stay saved."""
    entry = api.call("media", "add", entry={"objectType": "KalturaMediaEntry", "name": "rules", "mediaType": 1})["id"]
    thumb = (
        '<scene-thumb-cue-point systemName="ch"><sceneStartTime>00:00:05</sceneStartTime>'
        "<title>Chapter one</title><description>Opening</description><subType>2</subType></scene-thumb-cue-point>"
    )
    scenes = thumb + _code("00:00:01", "first", "dup") + _code("00:00:02", "second", "dup")
    item = f"<item><action>update</action><entryId>{entry}</entryId><scenes>{scenes}</scenes></item>"
    job = api.submit(_mrss(item, _add_item("fine")), bulkUploadData=XML_JOB)
    final = api.wait(job["id"])
    assert final["status"] == BatchJobStatus.FINISHED_PARTIALLY
    assert "<errorDescription>Cue point system name already exists dup with id " in _log(api, job["id"])
    by_name = {c["systemName"]: c for c in _cue_points(api, entry)}
    assert set(by_name) == {"ch", "dup"}
    chapter = by_name["ch"]
    assert (chapter["title"], chapter["description"], chapter["subType"], chapter["status"]) == (
        "Chapter one",
        "Opening",
        2,
        1,
    )
    assert by_name["dup"]["code"] == "first"


def test_log_before_any_result_says_why(api: Api) -> None:
    job = api.submit(
        "<mrss><channel><item><scenes><nonsense/></scenes></item></channel></mrss>", bulkUploadData=XML_JOB
    )
    final = api.wait(job["id"])
    assert final["status"] == BatchJobStatus.FAILED
    assert _log(api, job["id"]) == (
        f'<?xml version="1.0" encoding="UTF-8"?><mrss><error>Log file is not ready: {final["error"]}</error></mrss>'
    )

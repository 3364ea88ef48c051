"""The official Kaltura Python client (``KalturaApiClient`` on PyPI, unchanged) against the emulator.

It speaks XML (``format=2``) and multirequests, and fills its objects from every element the server
writes, so this suite checks the emulator's responses as a real client reads them: null properties
arrive as ``None``/``''`` (never the client's ``NotImplemented`` placeholder), typed objects come back
as their classes, errors raise ``KalturaException`` with the server's code. Install the extra to run
it: ``pip install -e '.[kaltura]'``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from cuepipe.emulator import EmulatorServer

KalturaClientModule = pytest.importorskip(
    "KalturaClient", reason="the official client (extra 'kaltura') is not installed"
)

from KalturaClient import KalturaClient, KalturaConfiguration  # noqa: E402
from KalturaClient.exceptions import KalturaException  # noqa: E402
from KalturaClient.Plugins.AdCuePoint import KalturaAdCuePoint, KalturaAdProtocolType  # noqa: E402
from KalturaClient.Plugins.Annotation import KalturaAnnotation, KalturaAnnotationFilter  # noqa: E402
from KalturaClient.Plugins.BulkUploadXml import KalturaBulkUploadXmlJobData  # noqa: E402
from KalturaClient.Plugins.CodeCuePoint import KalturaCodeCuePoint  # noqa: E402
from KalturaClient.Plugins.Core import (  # noqa: E402
    KalturaBatchJobStatus,
    KalturaFilterPager,
    KalturaMediaEntry,
    KalturaMediaType,
    KalturaSessionType,
)
from KalturaClient.Plugins.CuePoint import KalturaCuePointFilter  # noqa: E402
from KalturaClient.Plugins.Quiz import KalturaAnswerCuePoint, KalturaOptionalAnswer, KalturaQuestionCuePoint  # noqa: E402
from KalturaClient.Plugins.ThumbCuePoint import KalturaThumbCuePoint, KalturaThumbCuePointSubType  # noqa: E402

from .helpers import EmulatorFactory  # noqa: E402

PARTNER, ADMIN, USER_SECRET = 520, "official-admin", "official-user"
ENTRY = "0_official"
SCENES = (
    '<?xml version="1.0" encoding="UTF-8"?><scenes>'
    f'<scene-code-cue-point entryId="{ENTRY}" systemName="bulk1"><sceneStartTime>00:00:02</sceneStartTime>'
    "<code>from-bulk</code></scene-code-cue-point>"
    f'<scene-annotation entryId="{ENTRY}"><sceneStartTime>00:00:03</sceneStartTime>'
    "<sceneEndTime>00:00:04</sceneEndTime><sceneText>note</sceneText></scene-annotation></scenes>"
)


@pytest.fixture(scope="module")
def server(start_emulator: EmulatorFactory) -> EmulatorServer:
    return start_emulator(
        partner_id=PARTNER, admin_secret=ADMIN, user_secret=USER_SECRET, entries=[ENTRY], bulk_step_delay=0.01
    )


@pytest.fixture(scope="module")
def client(server: EmulatorServer) -> KalturaClient:
    kaltura = KalturaClient(KalturaConfiguration(serviceUrl=server.url))
    kaltura.setKs(kaltura.session.start(ADMIN, "owner@x", KalturaSessionType.ADMIN, PARTNER))
    return kaltura


def _complete(obj: Any) -> None:
    """Every property was in the response: the client leaves ``NotImplemented`` where an element is
    missing, and the server writes every property (nulls as empty elements)."""
    # multiLingual_<name> exist only in the generated clients: the server writes the plain <name>.
    missing = [k for k, v in vars(obj).items() if v is NotImplemented and not k.startswith("multiLingual_")]
    assert not missing, f"{type(obj).__name__} lacks {missing}"
    for value in vars(obj).values():
        for item in value if isinstance(value, list) else [value]:
            if hasattr(item, "toParams"):
                _complete(item)


def _enum(value: Any) -> Any:
    return value.getValue() if hasattr(value, "getValue") else value


def test_plugins_the_suite_needs_are_in_the_package() -> None:
    import KalturaClient.Plugins as plugins

    names = {p.stem for p in Path(plugins.__file__).parent.glob("*.py")}
    assert {"CuePoint", "Annotation", "ThumbCuePoint", "AdCuePoint", "CodeCuePoint", "Quiz", "BulkUpload"} <= names
    assert {"BulkUploadXml", "EventCuePoint", "SessionCuePoint"} <= names


def test_sessions_admin_and_user(server: EmulatorServer, client: KalturaClient) -> None:
    other = KalturaClient(KalturaConfiguration(serviceUrl=server.url))
    ks = other.session.start(USER_SECRET, "viewer", KalturaSessionType.USER, PARTNER)
    assert isinstance(ks, str) and len(ks) > 20
    with pytest.raises(KalturaException) as caught:
        other.session.start("wrong", "x", KalturaSessionType.ADMIN, PARTNER)
    assert caught.value.code == "START_SESSION_ERROR"


def test_add_get_update_list_count_delete(client: KalturaClient) -> None:
    service = client.cuePoint.cuePoint
    chapter = service.add(
        KalturaThumbCuePoint(
            entryId=ENTRY,
            startTime=5000,
            title="Intro",
            description="Opening",
            subType=KalturaThumbCuePointSubType.CHAPTER,
        )
    )
    assert isinstance(chapter, KalturaThumbCuePoint)
    assert (chapter.title, chapter.description, _enum(chapter.subType)) == ("Intro", "Opening", 2)
    # null properties arrive as None / '' (the server writes them as empty elements), never NotImplemented
    assert chapter.partnerSortValue is None and chapter.systemName == "" and chapter.assetId == ""
    assert chapter.userId == "owner@x" and chapter.isMomentary is False
    _complete(chapter)

    note = service.add(KalturaAnnotation(entryId=ENTRY, startTime=1000, endTime=2000, text="hello", tags="a,b"))
    assert isinstance(note, KalturaAnnotation) and note.duration == 1000 and note.depth == 0
    child = service.add(KalturaAnnotation(entryId=ENTRY, parentId=note.id, text="child"))
    assert (child.startTime, child.endTime, child.depth) == (1000, 2000, 1)

    got = service.get(note.id)
    assert isinstance(got, KalturaAnnotation) and got.text == "hello" and got.childrenCount == 1

    updated = service.update(note.id, KalturaAnnotation(text="changed"))
    assert updated.text == "changed" and updated.tags == "a,b"

    ad = service.add(
        KalturaAdCuePoint(entryId=ENTRY, startTime=7000, protocolType=KalturaAdProtocolType.VAST, title="ad")
    )
    assert ad.endTime == 7000

    listed = service.list(KalturaCuePointFilter(entryIdEqual=ENTRY), KalturaFilterPager(pageSize=500))
    kinds = {type(o).__name__ for o in listed.objects}
    assert {"KalturaThumbCuePoint", "KalturaAnnotation", "KalturaAdCuePoint"} <= kinds
    assert listed.totalCount == len(listed.objects)
    _complete(listed)
    assert service.count(KalturaCuePointFilter(entryIdEqual=ENTRY)) == listed.totalCount

    annotations = client.annotation.annotation.list(KalturaAnnotationFilter(entryIdEqual=ENTRY))
    assert {type(o).__name__ for o in annotations.objects} == {"KalturaAnnotation"}

    service.delete(ad.id)
    with pytest.raises(KalturaException) as caught:
        service.get(ad.id)
    assert caught.value.code == "INVALID_CUE_POINT_ID"


def test_server_errors_reach_the_client_with_their_codes(client: KalturaClient) -> None:
    service = client.cuePoint.cuePoint
    service.add(KalturaCodeCuePoint(entryId=ENTRY, code="x", systemName="unique-name"))
    with pytest.raises(KalturaException) as caught:
        service.add(KalturaCodeCuePoint(entryId=ENTRY, code="y", systemName="unique-name"))
    assert caught.value.code == "CUE_POINT_SYSTEM_NAME_EXISTS"
    with pytest.raises(KalturaException) as caught:
        service.add(KalturaAnnotation(entryId="0_missing"))
    assert caught.value.code == "ENTRY_ID_NOT_FOUND"


def test_quiz_question_and_answer(client: KalturaClient) -> None:
    service = client.cuePoint.cuePoint
    question = service.add(
        KalturaQuestionCuePoint(
            entryId=ENTRY,
            question="2+2?",
            optionalAnswers=[
                KalturaOptionalAnswer(key="a", text="4", isCorrect=1),
                KalturaOptionalAnswer(key="b", text="5"),
            ],
        )
    )
    assert [a.key for a in question.optionalAnswers] == ["a", "b"] and question.optionalAnswers[0].weight == 1.0
    answer = service.add(KalturaAnswerCuePoint(entryId=ENTRY, parentId=question.id, quizUserEntryId="9", answerKey="a"))
    assert isinstance(answer, KalturaAnswerCuePoint) and [k.value for k in answer.correctAnswerKeys] == ["a"]
    _complete(question)
    _complete(answer)


def test_add_from_bulk_and_serve_bulk(client: KalturaClient, tmp_path: Path) -> None:
    path = tmp_path / "scenes.xml"
    path.write_text(SCENES)
    with path.open("rb") as handle:
        result = client.cuePoint.cuePoint.addFromBulk(handle)
    assert [type(o).__name__ for o in result.objects] == ["KalturaCodeCuePoint", "KalturaAnnotation"]
    url = client.cuePoint.cuePoint.serveBulk(KalturaCuePointFilter(entryIdEqual=ENTRY, systemNameEqual="bulk1"))
    served = httpx.get(url)
    assert served.status_code == 200 and served.headers["content-type"].startswith("text/xml")
    assert b"<code>from-bulk</code>" in served.content


def test_bulk_upload_job(client: KalturaClient, tmp_path: Path) -> None:
    mrss = (
        '<?xml version="1.0"?><mrss version="1.0"><channel><item><action>add</action><type>1</type>'
        "<name>From the job</name><media><mediaType>1</mediaType></media>"
        "<scenes><scene-code-cue-point><sceneStartTime>00:00:01</sceneStartTime><code>job</code>"
        "</scene-code-cue-point></scenes></item></channel></mrss>"
    )
    path = tmp_path / "sub" / "bulk.xml"
    path.parent.mkdir()
    path.write_text(mrss)
    with path.open("rb") as handle:
        job = client.media.bulkUploadAdd(handle, KalturaBulkUploadXmlJobData())
    assert job.fileName == "bulk.xml"  # the server keeps the base name only
    deadline = time.monotonic() + 60
    while _enum(job.status) not in (5, 6, 7, 12) and time.monotonic() < deadline:
        time.sleep(0.05)
        job = client.bulkUpload.bulk.get(job.id)
    assert _enum(job.status) == KalturaBatchJobStatus.FINISHED
    _complete(job)
    log = httpx.get(client.bulkUpload.bulk.serveLog(job.id))
    assert b"<item><result/><action>add</action>" in log.content  # <result/>: the item had no error
    listed = client.bulkUpload.bulk.list()
    assert job.id in [j.id for j in listed.objects]


def test_multirequest_with_references(client: KalturaClient) -> None:
    entry = client.media.add(KalturaMediaEntry(name="multi", mediaType=KalturaMediaType.VIDEO))
    _complete(entry)
    client.startMultiRequest()
    added = client.cuePoint.cuePoint.add(KalturaCodeCuePoint(entryId=entry.id, code="m1", startTime=10))
    client.cuePoint.cuePoint.get(added.id)
    client.cuePoint.cuePoint.get("0_nope")
    client.cuePoint.cuePoint.count(KalturaCuePointFilter(entryIdEqual=entry.id))
    first, again, missing, count = client.doMultiRequest()
    assert isinstance(first, KalturaCodeCuePoint) and again.id == first.id and again.code == "m1"
    assert isinstance(missing, KalturaException) and missing.code == "INVALID_CUE_POINT_ID"
    assert int(count) == 1


def test_multirequest_with_an_upload_and_a_reference(client: KalturaClient, tmp_path: Path) -> None:
    """Files in a multirequest travel as ``N:fileData``; a later call reads the first one's result."""
    entry = client.media.add(KalturaMediaEntry(name="multi-upload", mediaType=KalturaMediaType.VIDEO))
    path = tmp_path / "multi.xml"
    path.write_text(SCENES.replace(ENTRY, entry.id).replace('systemName="bulk1"', 'systemName="mu1"'))
    client.startMultiRequest()
    with path.open("rb") as handle:
        uploaded = client.cuePoint.cuePoint.addFromBulk(handle)
        client.cuePoint.cuePoint.get(uploaded.objects[0].id)  # the client sends {1:result:objects:0:id}
        listed, first = client.doMultiRequest()
    assert [type(o).__name__ for o in listed.objects] == ["KalturaCodeCuePoint", "KalturaAnnotation"]
    assert isinstance(first, KalturaCodeCuePoint) and first.id == listed.objects[0].id and first.systemName == "mu1"

"""cuePoint.add / cuePoint.update with typed objects, checked against the server's rules.

Server sources: ``plugins/cue_points/base/services/CuePointService.php`` (addAction, updateAction),
``plugins/cue_points/base/lib/api/KalturaCuePoint.php`` (validateForInsert/Update, start and end
time checks), the type classes ``KalturaAnnotation.php``, ``KalturaThumbCuePoint.php``,
``KalturaAdCuePoint.php``, ``KalturaCodeCuePoint.php``, ``KalturaAnswerCuePoint.php``, the models'
``preInsert`` hooks (``ThumbCuePoint.php``, ``AnswerCuePoint.php``) and
``api_v3/lib/types/KalturaObject.php`` (read-only and insert-only properties).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from cuepipe.emulator import create_app
from cuepipe.emulator.app import Partner

PARTNER, ADMIN, USER_SECRET = 300, "add-update-admin", "add-update-user"


def _flatten(value: Any, prefix: str = "") -> dict[str, str]:
    if not isinstance(value, dict):
        return {prefix: "" if value is None else str(value)}
    out: dict[str, str] = {}
    for key, item in value.items():
        out.update(_flatten(item, f"{prefix}[{key}]" if prefix else key))
    return out


class Api:
    def __init__(self, http: TestClient, ks: str = "") -> None:
        self.http, self.ks = http, ks

    def call(self, service: str, action: str, **params: Any) -> Any:
        data = _flatten({"format": 1, "ks": self.ks, **params})
        response = self.http.post(f"/api_v3/service/{service}/action/{action}", data=data)
        assert response.status_code == 200
        return response.json()

    def ok(self, service: str, action: str, **params: Any) -> Any:
        result = self.call(service, action, **params)
        assert not (isinstance(result, dict) and result.get("objectType") == "KalturaAPIException"), result
        return result

    def err(self, service: str, action: str, **params: Any) -> tuple[str, str]:
        result = self.call(service, action, **params)
        assert isinstance(result, dict) and result.get("objectType") == "KalturaAPIException", result
        return result["code"], result["message"]

    def add(self, obj: dict[str, Any]) -> Any:
        return self.ok("cuepoint_cuepoint", "add", cuePoint=obj)


@pytest.fixture(scope="module")
def http() -> Iterator[TestClient]:
    app = create_app(partners=[Partner(PARTNER, ADMIN, USER_SECRET)])
    with TestClient(app) as client:
        yield client


@pytest.fixture(scope="module")
def admin(http: TestClient) -> Api:
    api = Api(http)
    api.ks = api.ok("session", "start", secret=ADMIN, type=2, partnerId=PARTNER, userId="admin@x")
    return api


@pytest.fixture
def entry(admin: Api) -> str:
    return admin.ok("media", "add", entry={"objectType": "KalturaMediaEntry", "name": "e", "mediaType": 1})["id"]


def test_thumb_keeps_title_description_and_sub_type(admin: Api, entry: str) -> None:
    """Unlike addFromBulk (ThumbCuePointPlugin::parseXml sets base fields only), the API keeps them;
    a chapter stays READY, a slide (the default sub-type) waits PENDING (ThumbCuePoint::preInsert)."""
    chapter = admin.add(
        {
            "objectType": "KalturaThumbCuePoint",
            "entryId": entry,
            "startTime": 5000,
            "title": "Intro",
            "description": "The opening",
            "subType": 2,
            "systemName": "ch1",
        }
    )
    assert (chapter["title"], chapter["description"], chapter["subType"]) == ("Intro", "The opening", 2)
    assert chapter["status"] == 1 and chapter["cuePointType"] == "thumbCuePoint.Thumb"
    slide = admin.add({"objectType": "KalturaThumbCuePoint", "entryId": entry, "startTime": 1, "title": "S"})
    assert slide["subType"] == 1 and slide["status"] == 4
    got = admin.ok("cuepoint_cuepoint", "get", id=chapter["id"])
    assert got["title"] == "Intro" and got["userId"] == "admin@x"


def test_thumb_title_is_cut_to_255_bytes_and_asset_ids_are_checked(admin: Api, entry: str) -> None:
    long_title = "é" * 200  # 400 bytes: cut on a character boundary
    cue = admin.add({"objectType": "KalturaThumbCuePoint", "entryId": entry, "title": long_title})
    assert cue["title"] == "é" * 127
    code, message = admin.err(
        "cuepoint_cuepoint", "add", cuePoint={"objectType": "KalturaThumbCuePoint", "entryId": entry, "assetId": "0_x"}
    )
    assert code == "ASSET_ID_NOT_FOUND" and "0_x" in message


def test_duplicate_system_name_on_the_entry_is_refused(admin: Api, entry: str) -> None:
    first = admin.add({"objectType": "KalturaCodeCuePoint", "entryId": entry, "code": "a", "systemName": "dup"})
    code, message = admin.err(
        "cuepoint_cuepoint",
        "add",
        cuePoint={"objectType": "KalturaAnnotation", "entryId": entry, "systemName": "dup"},
    )
    assert code == "CUE_POINT_SYSTEM_NAME_EXISTS"
    assert message == f"Cue point system name already exists [dup] with id [{first['id']}]"
    other = admin.add({"objectType": "KalturaAnnotation", "entryId": entry, "systemName": "other"})
    code, _ = admin.err(
        "cuepoint_cuepoint", "update", id=other["id"], cuePoint={"objectType": "KalturaAnnotation", "systemName": "dup"}
    )
    assert code == "CUE_POINT_SYSTEM_NAME_EXISTS"
    # its own name again is fine
    admin.ok(
        "cuepoint_cuepoint",
        "update",
        id=first["id"],
        cuePoint={"objectType": "KalturaCodeCuePoint", "systemName": "dup"},
    )


def test_object_type_must_be_concrete(admin: Api, entry: str) -> None:
    for obj in ({"entryId": entry}, {"objectType": "KalturaCuePoint", "entryId": entry}, {"objectType": "KalturaX"}):
        code, message = admin.err("cuepoint_cuepoint", "add", cuePoint=obj)
        assert (code, message) == (
            "OBJECT_TYPE_ABSTRACT",
            'The object type "KalturaCuePoint" is abstract, use one of the object implementations',
        )
    assert admin.err("cuepoint_cuepoint", "add")[0] == "MISSING_MANDATORY_PARAMETER"


def test_insert_checks_in_the_servers_order(admin: Api, entry: str) -> None:
    def err(obj: dict[str, Any]) -> tuple[str, str]:
        return admin.err("cuepoint_cuepoint", "add", cuePoint=obj)

    assert err({"objectType": "KalturaAnnotation", "entryId": entry, "id": "x"}) == (
        "PROPERTY_VALIDATION_NOT_UPDATABLE",
        'The property "KalturaAnnotation::id" cannot be updated',
    )
    assert err({"objectType": "KalturaAnnotation"})[1] == 'The property "KalturaAnnotation::entryId" cannot be null'
    assert err({"objectType": "KalturaAnnotation", "entryId": "0_nope"})[0] == "ENTRY_ID_NOT_FOUND"
    assert err({"objectType": "KalturaAnnotation", "entryId": entry, "endTime": 5})[0] == "END_TIME_WITHOUT_START_TIME"
    assert err({"objectType": "KalturaAnnotation", "entryId": entry, "startTime": -1})[0] == (
        "START_TIME_CANNOT_BE_LESS_THAN_0"
    )
    assert err({"objectType": "KalturaAnnotation", "entryId": entry, "tags": "t" * 256}) == (
        "PROPERTY_VALIDATION_MAX_LENGTH",
        'The property "KalturaAnnotation::tags" cannot have more than 255 characters',
    )
    assert err({"objectType": "KalturaCodeCuePoint", "entryId": entry})[0] == "PROPERTY_VALIDATION_CANNOT_BE_NULL"
    assert err({"objectType": "KalturaAdCuePoint", "entryId": entry, "startTime": 10, "endTime": 5})[0] == (
        "END_TIME_CANNOT_BE_LESS_THAN_START_TIME"
    )
    assert err({"objectType": "KalturaAdCuePoint", "entryId": entry, "adType": "9"}) == (
        "INVALID_ENUM_VALUE",
        'Invalid enumeration value "9" for parameter "adType", expecting enumeration type "KalturaAdType"',
    )
    assert err({"objectType": "KalturaThumbCuePoint", "entryId": entry, "subType": 7})[0] == "INVALID_ENUM_VALUE"


def test_end_time_defaults_to_start_time_for_ad_code_session(admin: Api, entry: str) -> None:
    """updateEndTimeAndDuration: a missing end time becomes the start time (an annotation without a
    parent is not validated, so its end time stays empty)."""
    ad = admin.add({"objectType": "KalturaAdCuePoint", "entryId": entry, "startTime": 3000, "protocolType": "1"})
    assert ad["endTime"] == 3000 and ad["duration"] == 0
    note = admin.add({"objectType": "KalturaAnnotation", "entryId": entry, "startTime": 3000})
    assert "endTime" not in note and note["isPublic"] is False and note["searchableOnEntry"] is True
    assert note["parentId"] == "0" and note["depth"] == 0  # "backward compatibility patch"


def test_annotation_parents(admin: Api, entry: str) -> None:
    parent = admin.add({"objectType": "KalturaAnnotation", "entryId": entry, "startTime": 1000, "endTime": 9000})
    child = admin.add({"objectType": "KalturaAnnotation", "entryId": entry, "parentId": parent["id"]})
    # a child without times takes its parent's (KalturaAnnotation::toInsertableObject)
    assert (child["startTime"], child["endTime"], child["depth"]) == (1000, 9000, 1)
    got = admin.ok("cuepoint_cuepoint", "get", id=parent["id"])
    assert (got["childrenCount"], got["directChildrenCount"]) == (1, 1)
    assert admin.err(
        "cuepoint_cuepoint", "add", cuePoint={"objectType": "KalturaAnnotation", "entryId": entry, "parentId": "0_no"}
    ) == ("PARENT_ANNOTATION_NOT_FOUND", "Parent annotation id [0_no] not found")
    other = admin.ok("media", "add", entry={"objectType": "KalturaMediaEntry", "name": "o", "mediaType": 1})["id"]
    code, _ = admin.err(
        "cuepoint_cuepoint",
        "add",
        cuePoint={"objectType": "KalturaAnnotation", "entryId": other, "parentId": parent["id"]},
    )
    assert code == "PARENT_ANNOTATION_DO_NOT_BELONG_TO_THE_SAME_ENTRY"
    # parentId is insert-only, and a descendant can never become the parent
    code, _ = admin.err(
        "cuepoint_cuepoint",
        "update",
        id=parent["id"],
        cuePoint={"objectType": "KalturaAnnotation", "parentId": child["id"]},
    )
    assert code == "PARENT_ANNOTATION_IS_DESCENDANT"


def test_update_changes_only_what_is_given_and_null_clears(admin: Api, entry: str) -> None:
    cue = admin.add(
        {
            "objectType": "KalturaCodeCuePoint",
            "entryId": entry,
            "code": "c",
            "description": "d",
            "startTime": 100,
            "tags": "a,b",
        }
    )
    updated = admin.ok(
        "cuepoint_cuepoint",
        "update",
        id=cue["id"],
        cuePoint={"objectType": "KalturaCodeCuePoint", "code": "c2", "description__null": ""},
    )
    assert updated["code"] == "c2" and "description" not in updated and updated["tags"] == "a,b"
    assert updated["startTime"] == 100 and updated["updatedAt"] >= cue["updatedAt"]


def test_update_refuses_read_only_and_changed_insert_only_properties(admin: Api, entry: str) -> None:
    cue = admin.add({"objectType": "KalturaAnnotation", "entryId": entry, "startTime": 1})
    # unchanged insert-only / read-only values pass (validateForUpdate compares with the stored value)
    admin.ok(
        "cuepoint_cuepoint",
        "update",
        id=cue["id"],
        cuePoint={"objectType": "KalturaAnnotation", "entryId": entry, "id": cue["id"]},
    )
    other = admin.ok("media", "add", entry={"objectType": "KalturaMediaEntry", "name": "o", "mediaType": 1})["id"]
    assert admin.err(
        "cuepoint_cuepoint", "update", id=cue["id"], cuePoint={"objectType": "KalturaAnnotation", "entryId": other}
    ) == ("CANNOT_UPDATE_ENTRY_ID", "Cannot update cue point's entry id")
    # createdAt's getter gives a date string, so a timestamp never matches: always refused
    assert admin.err(
        "cuepoint_cuepoint",
        "update",
        id=cue["id"],
        cuePoint={"objectType": "KalturaAnnotation", "createdAt": cue["createdAt"]},
    ) == ("PROPERTY_VALIDATION_NOT_UPDATABLE", 'The property "KalturaAnnotation::createdAt" cannot be updated')
    assert admin.err("cuepoint_cuepoint", "update", id="0_none", cuePoint={"objectType": "KalturaAnnotation"}) == (
        "INVALID_CUE_POINT_ID",
        "Invalid cue point id [0_none]",
    )


def test_quiz_answer_parent_checks_and_correctness(admin: Api, entry: str) -> None:
    question = admin.add(
        {
            "objectType": "KalturaQuestionCuePoint",
            "entryId": entry,
            "question": "2+2?",
            "questionType": 1,
            "optionalAnswers": {
                "0": {"objectType": "KalturaOptionalAnswer", "key": "a", "text": "4", "isCorrect": 1},
                "1": {"objectType": "KalturaOptionalAnswer", "key": "b", "text": "5", "isCorrect": 0},
            },
        }
    )
    assert question["questionType"] == 1 and [a["key"] for a in question["optionalAnswers"]] == ["a", "b"]
    answer_obj = {"objectType": "KalturaAnswerCuePoint", "entryId": entry, "quizUserEntryId": "7", "answerKey": "a"}
    assert admin.err("cuepoint_cuepoint", "add", cuePoint=answer_obj)[0] == "PARENT_ID_IS_MISSING"
    note = admin.add({"objectType": "KalturaAnnotation", "entryId": entry})
    assert (
        admin.err("cuepoint_cuepoint", "add", cuePoint={**answer_obj, "parentId": note["id"]})[0] == "WRONG_PARENT_TYPE"
    )
    answer = admin.add({**answer_obj, "parentId": question["id"]})
    assert answer["isCorrect"] == 1 and [k["value"] for k in answer["correctAnswerKeys"]] == ["a"]
    assert admin.err("cuepoint_cuepoint", "add", cuePoint={**answer_obj, "parentId": question["id"]})[0] == (
        "ANSWER_ALREADY_EXISTS"
    )
    changed = admin.ok(
        "cuepoint_cuepoint",
        "update",
        id=answer["id"],
        cuePoint={"objectType": "KalturaAnswerCuePoint", "entryId": entry, "answerKey": "b"},
    )
    assert changed["isCorrect"] == 0  # AnswerCuePoint::preUpdate


def test_annotation_service_forces_its_type(admin: Api, entry: str) -> None:
    code_cue = admin.add({"objectType": "KalturaCodeCuePoint", "entryId": entry, "code": "x"})
    assert (
        admin.err(
            "annotation_annotation",
            "update",
            id=code_cue["id"],
            cuePoint={"objectType": "KalturaAnnotation", "text": "t"},
        )[0]
        == "INVALID_CUE_POINT_ID"
    )
    note = admin.ok(
        "annotation_annotation", "add", cuePoint={"objectType": "KalturaAnnotation", "entryId": entry, "text": "t"}
    )
    assert note["objectType"] == "KalturaAnnotation"


def test_user_session_owns_what_it_adds_and_cannot_name_another_owner(http: TestClient, admin: Api, entry: str) -> None:
    user = Api(http)
    user.ks = user.ok("session", "start", secret=USER_SECRET, type=0, partnerId=PARTNER, userId="u1")
    cue = user.ok(
        "cuepoint_cuepoint",
        "add",
        cuePoint={"objectType": "KalturaCodeCuePoint", "entryId": entry, "code": "u", "userId": "boss"},
    )
    assert cue["userId"] == "u1"
    named = admin.add({"objectType": "KalturaCodeCuePoint", "entryId": entry, "code": "a", "userId": "someone"})
    assert named["userId"] == "someone"


def test_event_and_session_cue_points_keep_their_api_only_fields(admin: Api, entry: str) -> None:
    event = admin.add({"objectType": "KalturaEventCuePoint", "entryId": entry, "startTime": 0, "eventType": "1"})
    assert (event["cuePointType"], event["eventType"]) == ("eventCuePoint.Event", "1")
    session = admin.add(
        {"objectType": "KalturaSessionCuePoint", "entryId": entry, "startTime": 10, "name": "S", "sessionOwner": "me"}
    )
    assert (session["name"], session["sessionOwner"], session["endTime"]) == ("S", "me", 10)
    assert admin.err(
        "cuepoint_cuepoint", "add", cuePoint={"objectType": "KalturaEventCuePoint", "entryId": entry, "eventType": "7"}
    )[0] == ("INVALID_ENUM_VALUE")


def test_a_limit_entry_session_writes_that_entry_only(http: TestClient, admin: Api, entry: str) -> None:
    """CuePointService::addAction / updateAction: ``limitentry`` privilege -> NO_PERMISSION_ON_ENTRY.

    The privilege name is matched exactly (``kSessionBase::parsePrivileges`` keys by the text as given;
    ``PRIVILEGE_LIMIT_ENTRY = "limitentry"``), so a camel-case ``limitEntry`` limits nothing.
    """
    other = admin.ok("media", "add", entry={"objectType": "KalturaMediaEntry", "name": "o", "mediaType": 1})["id"]
    limited = Api(http)
    limited.ks = limited.ok(
        "session", "start", secret=ADMIN, type=2, partnerId=PARTNER, privileges=f"limitentry:{entry}"
    )
    limited.ok(
        "cuepoint_cuepoint", "add", cuePoint={"objectType": "KalturaCodeCuePoint", "entryId": entry, "code": "ok"}
    )
    assert limited.err(
        "cuepoint_cuepoint", "add", cuePoint={"objectType": "KalturaCodeCuePoint", "entryId": other, "code": "no"}
    ) == ("NO_PERMISSION_ON_ENTRY", f"No permissions to insert or update cue points for entry [{other}]")
    camel = Api(http)
    camel.ks = camel.ok("session", "start", secret=ADMIN, type=2, partnerId=PARTNER, privileges=f"limitEntry:{entry}")
    camel.ok("cuepoint_cuepoint", "add", cuePoint={"objectType": "KalturaCodeCuePoint", "entryId": other, "code": "x"})

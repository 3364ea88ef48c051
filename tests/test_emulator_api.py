"""The emulator over a real socket, called with plain httpx (no cuepipe API client involved)."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from typing import Any

import httpx
import pytest

from cuepipe.emulator import EmulatorServer

from .helpers import EmulatorFactory

PARTNER, ADMIN, USER_SECRET = 100, "adm1n-secret", "us3r-secret"
BATCH_SECRET = "batch-secret"
E1, E2, E3 = "0_entry001", "0_entry002", "0_entry003"


def flatten(value: Any, prefix: str = "") -> dict[str, str]:
    """Nested params -> ``filter[entryIdEqual]`` form fields."""
    if not isinstance(value, dict):
        return {prefix: str(value)}
    out: dict[str, str] = {}
    for key, item in value.items():
        out.update(flatten(item, f"{prefix}[{key}]" if prefix else key))
    return out


class Api:
    """A minimal hand-written caller of one emulator."""

    def __init__(self, url: str, ks: str | None = None) -> None:
        self.url = url
        self.ks = ks
        self.http = httpx.Client(timeout=60)

    def raw(self, service: str, action: str, files: dict[str, Any] | None = None, **params: Any) -> httpx.Response:
        data = {"format": "1", **({"ks": self.ks} if self.ks else {}), **params}
        return self.http.post(f"{self.url}/api_v3/service/{service}/action/{action}", data=flatten(data), files=files)

    def call(self, service: str, action: str, files: dict[str, Any] | None = None, **params: Any) -> Any:
        response = self.raw(service, action, files, **params)
        assert response.status_code == 200
        return response.json()

    def ok(self, service: str, action: str, files: dict[str, Any] | None = None, **params: Any) -> Any:
        result = self.call(service, action, files, **params)
        assert not (isinstance(result, dict) and result.get("objectType") == "KalturaAPIException"), result
        return result

    def upload(self, xml: str, service: str = "cuepoint_cuepoint") -> Any:
        return self.call(service, "addFromBulk", files={"fileData": ("cues.xml", xml.encode(), "application/xml")})

    def serve(self, **params: Any) -> httpx.Response:
        query = flatten({**({"ks": self.ks} if self.ks else {}), **params})
        return self.http.get(f"{self.url}/api_v3/service/cuepoint_cuepoint/action/serveBulk", params=query)

    def session(self, secret: str = ADMIN, session_type: int = 2, partner: int = PARTNER, **extra: Any) -> str:
        return self.ok("session", "start", secret=secret, type=session_type, partnerId=partner, **extra)


def scenes(*items: str) -> str:
    return '<?xml version="1.0" encoding="UTF-8"?><scenes>' + "".join(items) + "</scenes>"


def annotation(
    entry: str = E1,
    start: str = "00:00:01",
    end: str = "00:00:02",
    *,
    attrs: str = "",
    text: str | None = None,
    tags: tuple[str, ...] = (),
    extra: str = "",
) -> str:
    tag_xml = "<tags>" + "".join(f"<tag>{t}</tag>" for t in tags) + "</tags>" if tags else ""
    text_xml = f"<sceneText>{text}</sceneText>" if text is not None else ""
    return (
        f'<scene-annotation entryId="{entry}" {attrs}><sceneStartTime>{start}</sceneStartTime>{tag_xml}'
        f"<sceneEndTime>{end}</sceneEndTime>{text_xml}{extra}</scene-annotation>"
    )


def code(entry: str = E1, start: str = "00:00:01", *, attrs: str = "", value: str = "C", tags=()) -> str:
    tag_xml = "<tags>" + "".join(f"<tag>{t}</tag>" for t in tags) + "</tags>" if tags else ""
    return (
        f'<scene-code-cue-point entryId="{entry}" {attrs}><sceneStartTime>{start}</sceneStartTime>{tag_xml}'
        f"<code>{value}</code></scene-code-cue-point>"
    )


def error(result: Any) -> tuple[str, str]:
    assert result["objectType"] == "KalturaAPIException", result
    return result["code"], result["message"]


@pytest.fixture(scope="module")
def server(start_emulator: EmulatorFactory) -> EmulatorServer:
    return start_emulator(
        partner_id=PARTNER,
        admin_secret=ADMIN,
        user_secret=USER_SECRET,
        entries=[E1, E2, E3],
        batch_secret=BATCH_SECRET,
        bulk_step_delay=0.05,
    )


@pytest.fixture(scope="module")
def admin(server: EmulatorServer) -> Api:
    api = Api(server.url)
    api.ks = api.session()
    return api


@pytest.fixture
def entry(admin: Api) -> str:
    """A fresh entry per test, so tests do not see each other's cue points."""
    return admin.ok("media", "add", entry={"objectType": "KalturaMediaEntry", "name": "t", "mediaType": 1})["id"]


def count(api: Api, entry_id: str) -> int:
    return api.ok("cuepoint_cuepoint", "count", filter={"entryIdEqual": entry_id})


# ------------------------------------------------------------------------------------ sessions and KS


def test_session_start_user_and_admin(server: EmulatorServer) -> None:
    api = Api(server.url)
    assert base64.urlsafe_b64decode(api.session()).startswith(b"v2|100|")
    code_, message = error(api.call("session", "start", secret="wrong", type=2, partnerId=PARTNER))
    assert (code_, message) == ("START_SESSION_ERROR", "Error while starting session for partner [100]")
    # the user secret does not open an admin session; the admin secret opens both (Partner::validateSecret)
    assert error(api.call("session", "start", secret=USER_SECRET, type=2, partnerId=PARTNER))[0] == (
        "START_SESSION_ERROR"
    )
    assert isinstance(api.call("session", "start", secret=ADMIN, type=0, partnerId=PARTNER), str)
    assert isinstance(api.session(USER_SECRET, 0, userId="bob"), str)


def _v1(secret: str, partner: int, expires: int, session_type: int = 2, user: str = "") -> str:
    info = f"{partner};{partner};{expires};{session_type};42;{user};"
    return base64.b64encode((hashlib.sha1((secret + info).encode()).hexdigest() + "|" + info).encode()).decode()


def test_ks_errors_have_the_server_codes(server: EmulatorServer, entry: str) -> None:
    api = Api(server.url)
    good = _v1(ADMIN, PARTNER, int(time.time()) + 60)
    api.ks = good
    assert count(api, entry) == 0  # a hand-made v1 KS works

    bad_signature = _v1("not-the-secret", PARTNER, int(time.time()) + 60)
    result = Api(server.url, bad_signature).call("cuepoint_cuepoint", "count", filter={"entryIdEqual": entry})
    assert result == {
        "code": "INVALID_KS",
        "message": f'Invalid KS "{bad_signature}", Error "-1,INVALID_STR"',
        "objectType": "KalturaAPIException",
        "args": {"KSID": bad_signature, "ERR_CODE": "-1", "ERR_DESC": "INVALID_STR"},
    }

    expired = _v1(ADMIN, PARTNER, int(time.time()) - 5)
    result = Api(server.url, expired).call("cuepoint_cuepoint", "count", filter={"entryIdEqual": entry})
    assert error(result) == ("INVALID_KS", 'Invalid KS "EXPIRED", Error "-1,INVALID_STR"')

    unknown_partner = _v1(ADMIN, 999, int(time.time()) + 60)
    result = Api(server.url, unknown_partner).call("cuepoint_cuepoint", "count", filter={"entryIdEqual": entry})
    assert error(result) == ("INVALID_KS", f'Invalid KS "{unknown_partner}", Error "-1,INVALID_STR"')

    tampered_v2 = api.session()[:-8] + "AAAAAAA="
    assert error(Api(server.url, tampered_v2).call("cuepoint_cuepoint", "count"))[0] == "INVALID_KS"

    wrong_partner = api.call("cuepoint_cuepoint", "count", partnerId=200, filter={"entryIdEqual": entry})
    assert error(wrong_partner) == (
        "SERVICE_FORBIDDEN",
        "The access to service [cuePoint_cuepoint->count] is forbidden",
    )
    # neither KS nor partner: partner 0 with the no-session role (KalturaBaseService::initService)
    assert error(Api(server.url).call("cuepoint_cuepoint", "count")) == (
        "SERVICE_FORBIDDEN",
        "The access to service [cuePoint_cuepoint->count] is forbidden",
    )


def test_unknown_service_and_action(admin: Api) -> None:
    assert error(admin.call("nosuch", "list")) == (
        "SERVICE_DOES_NOT_EXISTS",
        'Service "nosuch" does not exists',
    )
    assert error(admin.call("cuepoint_cuepoint", "frobnicate")) == (
        "ACTION_DOES_NOT_EXISTS",
        'Action "frobnicate" does not exists for service "cuepoint_cuepoint"',
    )


def test_errors_in_xml_format_and_http_200(admin: Api) -> None:
    response = admin.raw("cuepoint_cuepoint", "list", format="2")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/xml")
    assert "<code>PROPERTY_VALIDATION_CANNOT_BE_NULL</code>" in response.text
    assert "<objectType>KalturaAPIException</objectType>" in response.text


# ------------------------------------------------------------------------------------ request encodings


def test_json_body_multipart_json_part_and_path_params(server: EmulatorServer, admin: Api, entry: str) -> None:
    admin.upload(scenes(code(entry)))
    url = f"{server.url}/api_v3/service/cuepoint_cuepoint/action/count"
    body = {
        "ks": admin.ks,
        "format": 1,
        "filter": {"objectType": "KalturaCuePointFilter", "entryIdEqual": entry},
    }
    assert httpx.post(url, json=body).json() == 1
    # "; charset=utf-8" disables the JSON-body rule (docs/kaltura-api.md#body-encodings)
    as_text = httpx.post(url, content=json.dumps(body), headers={"content-type": "application/json; charset=utf-8"})
    assert "SERVICE_FORBIDDEN" in as_text.text  # the body was not read: no KS
    multipart = httpx.post(url, data={"json": json.dumps(body), "ks": "ignored"}, files={"x": ("x", b"")})
    assert multipart.json() == 1
    path = f"{server.url}/api_v3/service/cuepoint_cuepoint/action/count/ks/{admin.ks}/format/1"
    assert httpx.get(path, params={"filter:entryIdEqual": entry}).json() == 1


# ------------------------------------------------------------------------------------ addFromBulk


def test_add_from_bulk_get_list_count_delete(admin: Api, entry: str) -> None:
    result = admin.upload(
        scenes(
            annotation(
                entry,
                "00:00:12.5",
                "00:01:00",
                attrs='systemName="CH1"',
                text="Opening &amp; agenda",
                tags=("lecture", "intro"),
            ),
            f'<scene-ad-cue-point entryId="{entry}"><sceneStartTime>00:05:00</sceneStartTime>'
            "<sceneTitle>Mid</sceneTitle>"
            "<adType>1</adType><protocolType>2</protocolType></scene-ad-cue-point>",
            code(entry, "00:07:15.2", value="SHOW_POLL"),
        )
    )
    assert result["objectType"] == "KalturaCuePointListResponse" and result["totalCount"] == 3
    ann, ad, cue = result["objects"]
    assert ann["objectType"] == "KalturaAnnotation" and ann["text"] == "Opening & agenda"
    assert (ann["startTime"], ann["endTime"], ann["tags"], ann["systemName"]) == (
        12500,
        60000,
        "lecture,intro",
        "CH1",
    )
    assert (ad["objectType"], ad["title"], ad["adType"], ad["protocolType"]) == (
        "KalturaAdCuePoint",
        "Mid",
        "1",
        "2",
    )
    assert (cue["code"], cue["startTime"], cue["status"]) == ("SHOW_POLL", 435200, 1)
    assert admin.ok("cuepoint_cuepoint", "get", id=ad["id"])["id"] == ad["id"]
    listed = admin.ok("cuepoint_cuepoint", "list", filter={"entryIdEqual": entry})
    assert [o["id"] for o in listed["objects"]] == [ann["id"], ad["id"], cue["id"]]
    # annotation service: annotations only, and a non-annotation id is "invalid"
    anns = admin.ok("annotation_annotation", "list", filter={"entryIdEqual": entry})
    assert anns["objectType"] == "KalturaAnnotationListResponse" and anns["totalCount"] == 1
    assert error(admin.call("annotation_annotation", "get", id=ad["id"]))[0] == "INVALID_CUE_POINT_ID"

    assert admin.call("cuepoint_cuepoint", "delete", id=ad["id"]) is None
    assert error(admin.call("cuepoint_cuepoint", "get", id=ad["id"])) == (
        "INVALID_CUE_POINT_ID",
        f"Invalid cue point id [{ad['id']}]",
    )
    assert count(admin, entry) == 2
    assert ad["id"] not in admin.serve(filter={"entryIdEqual": entry}).text


def test_xml_invalid_writes_nothing(admin: Api, entry: str) -> None:
    invalid = scenes(
        code(entry),
        code(entry),
        f'<scene-code-cue-point entryId="{entry}"><code>no start</code></scene-code-cue-point>',
    )
    assert error(admin.upload(invalid)) == ("XML_INVALID", "XML is invalid")
    assert error(admin.upload("<scenes><unclosed></scenes>"))[0] == "XML_INVALID"
    hostile = (
        '<?xml version="1.0"?><!DOCTYPE scenes [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        + scenes(code(entry, value="&x;")).split("?>", 1)[1]
    )
    assert error(admin.upload(hostile))[0] == "XML_INVALID"
    assert error(admin.upload(scenes(code(entry, start="00:00:05 "))))[0] == "XML_INVALID"  # libxml2's verdict
    assert count(admin, entry) == 0
    assert error(admin.call("cuepoint_cuepoint", "addFromBulk")) == (
        "MISSING_MANDATORY_PARAMETER",
        'Missing parameter "fileData"',
    )


def test_update_by_scene_id_and_by_system_name(admin: Api, entry: str) -> None:
    first = admin.upload(
        scenes(code(entry, attrs='systemName="A"', value="one", tags=("t1",)), code(entry, value="two"))
    )["objects"]
    # by systemName on the same entry: an update, tags omitted -> cleared
    again = admin.upload(scenes(code(entry, "00:00:09", attrs='systemName="A"', value="one-b")))["objects"][0]
    assert again["id"] == first[0]["id"] and (again["code"], again["startTime"], again["tags"]) == (
        "one-b",
        9000,
        "",
    )
    # by sceneId; entryId moves with the update
    moved = admin.upload(scenes(code(E3, attrs=f'sceneId="{first[1]["id"]}"', value="moved")))["objects"][0]
    assert (moved["id"], moved["entryId"], moved["code"]) == (first[1]["id"], E3, "moved")
    admin.ok("cuepoint_cuepoint", "delete", id=moved["id"])
    # an unknown sceneId falls through to insert with a fresh id
    fresh = admin.upload(scenes(code(entry, attrs='sceneId="0_doesnotex"')))["objects"][0]
    assert fresh["id"] != "0_doesnotex"
    # a match of another type is silently skipped
    skipped = admin.upload(scenes(annotation(entry, attrs=f'sceneId="{first[0]["id"]}"')))
    assert skipped["totalCount"] == 0
    assert count(admin, entry) == 2


def test_thumb_parser_ignores_title_description_and_sub_type(admin: Api, entry: str) -> None:
    thumb = admin.upload(
        scenes(
            f'<scene-thumb-cue-point entryId="{entry}"><sceneStartTime>00:00:03</sceneStartTime>'
            "<title>T</title>"
            "<description>D</description><subType>2</subType></scene-thumb-cue-point>"
        )
    )["objects"][0]
    assert thumb["objectType"] == "KalturaThumbCuePoint"
    assert (thumb["subType"], thumb["status"]) == (1, 4)  # SLIDE, PENDING
    assert "title" not in thumb and "description" not in thumb


def test_parent_resolves_only_against_earlier_scenes_on_the_same_entry(admin: Api, entry: str) -> None:
    objs = admin.upload(
        scenes(
            annotation(entry, extra="<parent>P</parent>"),  # parent not saved yet -> none
            annotation(entry, attrs='systemName="P"'),
            annotation(entry, extra="<parent>P</parent>"),  # earlier scene -> resolved
            annotation(E2, extra="<parent>P</parent>"),  # other entry -> none
        )
    )["objects"]
    assert "parentId" not in objs[0] and "parentId" not in objs[3]
    assert objs[2]["parentId"] == objs[1]["id"] and objs[2]["depth"] == 1
    by_id = admin.upload(scenes(annotation(entry, extra=f"<parentId>{objs[1]['id']}</parentId>")))["objects"][0]
    assert by_id["parentId"] == objs[1]["id"]


def test_partial_failure_keeps_earlier_scenes(admin: Api, entry: str) -> None:
    result = admin.upload(
        scenes(code(entry, value="kept"), code("0_unknown01", value="boom"), code(entry, value="never"))
    )
    assert result == {
        "code": "INVALID_ENTRY_ID",
        "message": "",
        "objectType": "KalturaAPIException",
        "args": [],
    }
    listed = admin.ok("cuepoint_cuepoint", "list", filter={"entryIdEqual": entry})
    assert [o["code"] for o in listed["objects"]] == ["kept"]


def test_quiz_answer_needs_an_existing_question(admin: Api, entry: str) -> None:
    question = admin.upload(
        scenes(
            f'<scene-question-cue-point entryId="{entry}"><sceneStartTime>00:00:01</sceneStartTime>'
            "<question>Q?</question>"
            "<optionalAnswers><optionalAnswer><key>1</key><text>yes</text><isCorrect>1</isCorrect></optionalAnswer>"
            "<optionalAnswer><key>2</key><text>no</text><weight>0.5</weight></optionalAnswer></optionalAnswers>"
            "</scene-question-cue-point>"
        )
    )["objects"][0]
    assert [a["key"] for a in question["optionalAnswers"]] == ["1", "2"]
    answer = (
        f'<scene-answer-cue-point entryId="{entry}"><sceneStartTime>00:00:02</sceneStartTime><answerKey>1'
        "</answerKey><quizUserEntryId>77</quizUserEntryId><parentId>{}</parentId></scene-answer-cue-point>"
    )
    ok = admin.upload(scenes(answer.format(question["id"])))["objects"][0]
    assert ok["isCorrect"] == 1 and ok["correctAnswerKeys"] == [{"value": "1", "objectType": "KalturaString"}]
    assert error(admin.upload(scenes(answer.format("0_missing00"))))[0] == "INTERNAL_SERVERL_ERROR"


# ------------------------------------------------------------------------------------ list, filters, paging


def test_list_without_id_or_entry_filter(admin: Api) -> None:
    names = "/".join(f"KalturaCuePointFilter::{p}" for p in ("idEqual", "idIn", "entryIdEqual", "entryIdIn"))
    assert admin.call("cuepoint_cuepoint", "list", filter={"tagsLike": "x"}) == {
        "code": "PROPERTY_VALIDATION_CANNOT_BE_NULL",
        "message": f'The property "{names}" cannot be null',
        "objectType": "KalturaAPIException",
        "args": {"PROP_NAME": names},
    }
    ann = admin.call("annotation_annotation", "list")
    assert "KalturaAnnotationFilter::idEqual/" in error(ann)[1]
    # count takes any filter, or none (CuePointService::countAction)
    assert isinstance(admin.call("cuepoint_cuepoint", "count", filter={"objectType": "KalturaCodeCuePointFilter"}), int)


def test_paging_past_500(admin: Api, entry: str) -> None:
    admin.upload(scenes(*(code(entry, f"00:{i // 60:02d}:{i % 60:02d}", value=f"c{i}") for i in range(650))))
    flt = {"entryIdEqual": entry}
    page = admin.ok("cuepoint_cuepoint", "list", filter=flt, pager={"pageSize": 1000})
    assert (len(page["objects"]), page["totalCount"]) == (500, 650)
    page2 = admin.ok("cuepoint_cuepoint", "list", filter=flt, pager={"pageSize": 500, "pageIndex": 2})
    assert len(page2["objects"]) == 150 and page2["objects"][0]["code"] == "c500"
    assert len(admin.ok("cuepoint_cuepoint", "list", filter=flt)["objects"]) == 500  # no pager: 500
    assert len(admin.ok("cuepoint_cuepoint", "list", filter=flt, pager={"pageIndex": 3})["objects"]) == 30
    assert admin.serve(filter=flt).text.count("<scene-code-cue-point") == 650
    assert admin.serve(filter=flt, pager={"pageSize": 10, "pageIndex": 65}).text.count("<scene-") == 10


def test_filter_operators(admin: Api, entry: str) -> None:
    objs = admin.upload(
        scenes(
            code(entry, "00:00:01", attrs='systemName="s1"', value="alpha", tags=("red", "big")),
            code(entry, "00:00:02", attrs='systemName="s2"', value="beta", tags=("blue",)),
            annotation(entry, "00:00:03", "00:00:09", text="hello world", tags=("red",)),
        )
    )["objects"]

    def ids(service: str = "cuepoint_cuepoint", **flt: Any) -> list[str]:
        result = admin.ok(service, "list", filter={"entryIdEqual": entry, **flt})
        return [o["id"] for o in result["objects"]]

    a, b, c = (o["id"] for o in objs)
    assert ids(systemNameEqual="s2") == [b]
    assert ids(idIn=f"{a},{c}") == [a, c]
    assert ids(tagsLike="re") == [a, c]
    assert ids(tagsMultiLikeOr="blue,big") == [a, b]
    assert ids(tagsMultiLikeOr="blue big") == []  # one value: commas separate, spaces do not
    assert ids(tagsMultiLikeAnd="red,big") == [a]
    assert ids(startTimeGreaterThanOrEqual=2000) == [b, c]
    assert ids(startTimeLessThanOrEqual=2000) == [a, b]
    assert ids(cuePointTypeEqual="annotation.Annotation") == [c]
    assert ids(cuePointTypeIn="codeCuePoint.Code,adCuePoint.Ad") == [a, b]
    assert ids(objectType="KalturaAnnotationFilter", textLike="world", durationGreaterThanOrEqual=6000) == [c]
    assert ids(objectType="KalturaCodeCuePointFilter", codeMultiLikeOr="alp") == [a]
    assert ids(textLike="zzz") == [a, b, c]  # not a KalturaCuePointFilter property: ignored
    assert ids(orderBy="-startTime") == [c, b, a]
    assert (
        error(admin.call("cuepoint_cuepoint", "list", filter={"entryIdEqual": entry, "cuePointTypeEqual": "x"}))[1]
        == 'Invalid enumeration value "x" for parameter "cuePointTypeEqual", expecting enumeration type '
        '"KalturaCuePointType"'
    )
    assert error(admin.call("cuepoint_cuepoint", "list", filter={"entryIdIn": entry, "userIdEqual": "ghost"})) == (
        "INVALID_USER_ID",
        "Invalid user id",
    )


def test_user_sessions_see_only_their_own_cue_points(server: EmulatorServer, admin: Api, entry: str) -> None:
    admin.upload(scenes(code(entry, value="by-admin")))
    bob = Api(server.url)
    bob.ks = bob.session(USER_SECRET, 0, userId="bob")
    bob.upload(scenes(code(entry, value="by-bob")))
    assert [o["code"] for o in bob.ok("cuepoint_cuepoint", "list", filter={"entryIdEqual": entry})["objects"]] == [
        "by-bob"
    ]
    assert count(admin, entry) == 2
    seeing = Api(server.url, bob.session(USER_SECRET, 0, userId="bob", privileges="list:*"))
    assert count(seeing, entry) == 2


# ------------------------------------------------------------------------------------ serveBulk


def _served(prefix_host: str, body: str) -> bytes:
    return (
        b'<?xml version="1.0"?>\n<scenes xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        b'xsi:noNamespaceSchemaLocation="http://'
        + prefix_host.encode()
        + b'/api_v3/service/schema/action/serve/type/cuePoint.serveAPI">'
        + body.encode()
        + b"</scenes>\n"
    )


def test_serve_bulk_exact_bytes_with_and_without_the_server_bugs(admin: Api, entry: str) -> None:
    objs = admin.upload(
        scenes(
            annotation(
                entry,
                "00:00:05.96",
                "00:00:07.04",
                attrs='systemName="A&amp;B"',
                text="x &lt; y",
                tags=("a", "b"),
            ),
            code(entry, "00:00:01.25", value=""),
        )
    )["objects"]
    ann, cue = objs
    host = admin.url.removeprefix("http://")
    response = admin.serve(filter={"entryIdEqual": entry})
    assert response.headers["content-type"] == "text/xml; charset=UTF-8"
    assert response.content == _served(
        host,
        (
            f'<scene-annotation sceneId="{ann["id"]}" entryId="{entry}" systemName="A&amp;amp;B">'
            "<sceneStartTime>00:00:05.10</sceneStartTime><tags><tag>a</tag><tag>b</tag></tags>"
            "<sceneEndTime>00:00:07</sceneEndTime><sceneText>x &lt; y</sceneText></scene-annotation>"
            f'<scene-code-cue-point sceneId="{cue["id"]}" entryId="{entry}">'
            "<sceneStartTime>00:00:01.3</sceneStartTime>"
            "<code/></scene-code-cue-point>"
        ),
    )
    assert b"\n" not in response.content.split(b"\n", 1)[1].rstrip(b"\n")  # one line
    with EmulatorServer(partner_id=1, admin_secret="x", entries=["0_e"], server_bugs=False, cdn_host="cdn.test") as s:
        api = Api(s.url)
        api.ks = api.session("x", partner=1)
        ids = [
            o["id"]
            for o in api.upload(scenes(annotation("0_e", "00:00:05.96", "00:00:07.04", attrs='systemName="A&amp;B"')))[
                "objects"
            ]
        ]
        assert api.serve(filter={"entryIdEqual": "0_e"}).content == _served(
            "cdn.test",
            (
                f'<scene-annotation sceneId="{ids[0]}" entryId="0_e" systemName="A&amp;B">'
                "<sceneStartTime>00:00:06</sceneStartTime><sceneEndTime>00:00:07</sceneEndTime></scene-annotation>"
            ),
        )
        api.upload(
            scenes(
                '<scene-thumb-cue-point entryId="0_e"><sceneStartTime>00:00:03</sceneStartTime>'
                "<title>T</title>"
                "<description>D</description></scene-thumb-cue-point>"
                '<scene-question-cue-point entryId="0_e"><sceneStartTime>00:00:04</sceneStartTime><question>Q'
                "</question><optionalAnswers><optionalAnswer><key>1</key><isCorrect>1</isCorrect></optionalAnswer>"
                "</optionalAnswers></scene-question-cue-point>"
            )
        )
        valid = api.serve(filter={"entryIdEqual": "0_e"}).text
        assert "<title/><description/><subType>1</subType></scene-thumb-cue-point>" in valid
        assert (
            "<optionalAnswers><optionalAnswer><key>1</key><weight>1</weight><isCorrect>1</isCorrect>"
            "</optionalAnswer></optionalAnswers>"
        ) in valid
        empty = api.serve(filter={"entryIdEqual": "0_none"}).content
        assert empty.endswith(b'cuePoint.serveAPI"/>\n')


def test_serve_bulk_fails_for_thumbs_and_answered_questions(admin: Api, entry: str) -> None:
    admin.upload(
        scenes(
            f'<scene-thumb-cue-point entryId="{entry}"><sceneStartTime>00:00:03</sceneStartTime>'
            "<title>T</title><description>D</description></scene-thumb-cue-point>"
        )
    )
    response = admin.serve(filter={"entryIdEqual": entry}, format=1)
    assert response.headers["content-type"] == "application/json"
    assert response.json()["code"] == "INTERNAL_SERVERL_ERROR"
    assert response.json()["message"] == "Internal server error occurred"
    admin.upload(
        scenes(
            f'<scene-question-cue-point entryId="{E2}"><sceneStartTime>00:00:04</sceneStartTime><question>Q'
            "</question><optionalAnswers><optionalAnswer><key>1</key></optionalAnswer></optionalAnswers>"
            "</scene-question-cue-point>"
        )
    )
    assert admin.serve(filter={"entryIdEqual": E2}, format=1).json()["code"] == "INTERNAL_SERVERL_ERROR"
    # annotation-only serve: the default deployment has no permission item for it
    # (deployment/permissions/service.annotation.annotation.ini; tests/test_emulator_permissions.py)
    ann = admin.http.get(
        f"{admin.url}/api_v3/service/annotation_annotation/action/serveBulk",
        params={"ks": admin.ks, "filter[entryIdEqual]": entry, "format": 1},
    )
    assert ann.json()["code"] == "SERVICE_FORBIDDEN"


def test_file_action_errors_travel_in_headers(admin: Api) -> None:
    # a deserializer error (before the action) is still a normal error body
    assert error(admin.call("bulkupload_bulk", "serveLog"))[0] == "MISSING_MANDATORY_PARAMETER"
    response = admin.raw("bulkupload_bulk", "serveLog", id=987654)
    assert response.content == b""
    assert response.headers["X-Kaltura"] == "error- BULK_UPLOAD_NOT_FOUND"
    assert (
        response.headers["X-Kaltura-App"] == 'exiting on error BULK_UPLOAD_NOT_FOUND - Bulk upload id "987654" '
        "not found"
    )


# ------------------------------------------------------------------------------------ bulk upload jobs


def _wait(api: Api, job_id: int, final: tuple[int, ...] = (5, 6, 7, 12)) -> tuple[dict[str, Any], list[int]]:
    seen: list[int] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        job = api.ok("bulkupload_bulk", "get", id=job_id)
        if not seen or seen[-1] != job["status"]:
            seen.append(job["status"])
        if job["status"] in final:
            return job, seen
        time.sleep(0.01)
    raise AssertionError(f"job {job_id} did not finish: {seen}")


def test_bulk_upload_job_lifecycle(admin: Api, entry: str) -> None:
    scene = code(entry, "00:00:08", value="upd").replace(f'entryId="{entry}"', "")
    mrss = (
        '<?xml version="1.0"?><mrss version="1.0"><channel>'
        "<item><action>add</action><type>1</type><name>New one</name><media><mediaType>1</mediaType></media>"
        '<scenes><scene-code-cue-point systemName="K"><sceneStartTime>00:00:04</sceneStartTime>'
        "<code>new</code>"
        "</scene-code-cue-point></scenes></item>"
        f"<item><action>update</action><entryId>{entry}</entryId><description>changed</description>"
        f"<scenes><action>update</action>{scene}</scenes></item></channel></mrss>"
    )
    files = {"fileData": ("bulk.xml", mrss.encode(), "application/xml")}
    job = admin.ok("media", "bulkUploadAdd", files=files, bulkUploadData={"objectType": "KalturaBulkUploadXmlJobData"})
    assert (job["objectType"], job["status"], job["bulkUploadType"]) == (
        "KalturaBulkUpload",
        0,
        "bulkUploadXml.XML",
    )
    assert job["logFileUrl"].endswith(f"/api_v3/service/bulkUpload/action/serveLog/id/{job['id']}/ks/{admin.ks}")
    final, seen = _wait(admin, job["id"])
    assert final["status"] == 5 and final["error"] == "Finished successfully" and final["numOfObjects"] == 2
    assert set(seen) <= {0, 1, 2, 8, 5} and seen[-1] == 5 and len(seen) >= 2
    assert [o["code"] for o in admin.ok("cuepoint_cuepoint", "list", filter={"entryIdEqual": entry})["objects"]] == [
        "upd"
    ]
    # serveLog through the URL the server wrote (path params, core service id)
    log = httpx.get(final["logFileUrl"])
    assert log.headers["content-type"] == "text/xml; charset=UTF-8"
    assert log.text.startswith(
        '<?xml version="1.0"?>\n<mrss xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'version="2.0"><channel><item><result/><action>add</action>'
        "<entryId>"
    )
    assert "<action>update</action>" in log.text and f"<entryId>{entry}</entryId>" in log.text
    assert "<description>changed</description>" in log.text
    assert httpx.get(final["bulkFileUrl"]).content == mrss.encode()
    listed = admin.ok("bulkupload_bulk", "list")
    assert listed["objects"][0]["id"] == job["id"]
    assert admin.ok("bulkupload", "get", id=job["id"])["id"] == job["id"]


def test_bulk_upload_validation_failure_and_abort(admin: Api) -> None:
    bad = (
        b"<mrss><channel><item><scenes><scene-code-cue-point><code>x</code></scene-code-cue-point></scenes></item>"
        b"</channel></mrss>"
    )
    xml_job = {"objectType": "KalturaBulkUploadXmlJobData"}
    job = admin.ok(
        "bulkupload_bulk", "addEntries", files={"fileData": ("b.xml", bad, "text/xml")}, bulkUploadData=xml_job
    )
    final, _ = _wait(admin, job["id"])
    assert (final["status"], final["errorType"], final["errorNumber"]) == (6, 0, 72)
    assert final["error"].startswith(f"Error: Validate files failed on job [{job['id']}]")
    assert admin.http.get(final["logFileUrl"]).text.endswith(
        f"<error>Log file is not ready: {final['error']}</error></mrss>"
    )

    many = "".join(f"<item><name>n{i}</name></item>" for i in range(200)).encode()
    job = admin.ok(
        "bulkupload_bulk",
        "addEntries",
        files={"fileData": ("m.xml", b"<mrss><channel>" + many + b"</channel></mrss>", "text/xml")},
        bulkUploadData=xml_job,
    )
    aborted = admin.ok("bulkupload_bulk", "abort", id=job["id"])
    assert aborted["status"] == 7
    time.sleep(0.3)
    assert admin.ok("bulkupload_bulk", "get", id=job["id"])["status"] == 7
    assert job["id"] not in [j["id"] for j in admin.ok("bulkupload_bulk", "list")["objects"]]


def test_batch_actions_are_for_the_batch_partner_only(server: EmulatorServer, admin: Api) -> None:
    refused = admin.call("batch", "addBulkUploadResult", bulkUploadResult={"bulkUploadJobId": 1, "lineIndex": 1})
    assert error(refused) == (
        "SERVICE_FORBIDDEN",
        "The access to service [batch->addBulkUploadResult] is forbidden",
    )
    batch = Api(server.url)
    batch.ks = batch.session(BATCH_SECRET, 2, partner=-1)
    job = admin.ok(
        "bulkupload_bulk",
        "addEntries",
        files={"fileData": ("e.xml", b"<mrss><channel/></mrss>", "x")},
        bulkUploadData={"objectType": "KalturaBulkUploadXmlJobData"},
    )
    _wait(admin, job["id"])
    added = batch.ok(
        "batch",
        "addBulkUploadResult",
        bulkUploadResult={
            "objectType": "KalturaBulkUploadResultEntry",
            "bulkUploadJobId": job["id"],
            "lineIndex": 1,
            "status": "1",
            "errorDescription": "broken [row] */x",
        },
    )
    assert (added["action"], added["partnerId"], added["status"]) == ("1", PARTNER, "1")
    again = batch.ok(
        "batch",
        "addBulkUploadResult",
        bulkUploadResult={
            "bulkUploadJobId": job["id"],
            "lineIndex": 1,
            "status": "1",
            "errorDescription": "still broken",
        },
    )
    assert again["id"] == added["id"]  # upsert by (job, lineIndex)
    assert batch.ok("batch", "getBulkUploadLastResult", bulkUploadJobId=job["id"])["errorDescription"] == "still broken"
    assert batch.ok("batch", "countBulkUploadEntries", bulkUploadJobId=job["id"]) == [
        {"key": "created", "value": "0", "objectType": "KalturaKeyValue"},
        {"key": "error", "value": "1", "objectType": "KalturaKeyValue"},
    ]
    assert batch.ok("batch", "updateBulkUploadResults", bulkUploadJobId=job["id"]) == 0
    assert (
        "<errorDescription>still broken</errorDescription>"
        in admin.raw("bulkupload_bulk", "serveLog", id=job["id"]).text
    )


# ------------------------------------------------------------------------------------ persistence, scale


def test_persistence_across_restart(tmp_path) -> None:
    db = str(tmp_path / "emu.db")
    with EmulatorServer(db=db, partner_id=7, admin_secret="p", entries=["0_keep"], ks_version=1) as srv:
        api = Api(srv.url)
        api.ks = api.session("p", partner=7)
        kept = api.upload(scenes(code("0_keep", value="persisted")))["objects"][0]
    with EmulatorServer(db=db, partner_id=7, admin_secret="p") as srv:
        api2 = Api(srv.url, api.ks)  # the old KS is still valid: same partner secret
        assert api2.ok("cuepoint_cuepoint", "get", id=kept["id"])["code"] == "persisted"


def test_ten_thousand_scenes_ingest_in_seconds(admin: Api, entry: str) -> None:
    xml = scenes(
        *(
            code(entry, f"{i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}", value=f"c{i}", tags=("t",))
            for i in range(10_000)
        )
    )
    started = time.monotonic()
    result = admin.upload(xml)
    elapsed = time.monotonic() - started
    assert result["totalCount"] == 10_000
    assert elapsed < 30, elapsed

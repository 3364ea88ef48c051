"""Sessions and what a session sees, as on the server (docs/emulator.md, "Sessions and visibility")."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from cuepipe.emulator import EmulatorServer
from cuepipe.emulator.context import Context, check_limit_entry
from cuepipe.emulator.errors import ApiError
from cuepipe.emulator.ks import KsInfo, parse_privileges
from cuepipe.emulator.store import Store

PARTNER, ADMIN, USER_SECRET = 100, "admin-secret", "user-secret"
E1, E2 = "0_vis1", "0_vis2"
CODE, ANN, THUMB = "codeCuePoint.Code", "annotation.Annotation", "thumbCuePoint.Thumb"


def put(store: Store, cid: str, entry: str, kind: str, user: str = "", public: int = 0) -> None:
    with store.transaction() as c:
        store.insert_cue_point(
            c,
            {
                "id": cid,
                "partnerId": PARTNER,
                "cuePointType": kind,
                "status": 1,
                "createdAt": 1_700_000_000,
                "updatedAt": 1_700_000_000,
                "entryId": entry,
                "startTime": 0,
                "userId": user,
                "isPublic": public,
            },
        )


class Api:
    def __init__(self, url: str, ks: str = "") -> None:
        self.url, self.ks = url, ks

    def call(self, service: str, action: str, **params: Any) -> Any:
        body = {"format": 1, **params}
        if self.ks:
            body["ks"] = self.ks
        return httpx.post(f"{self.url}/api_v3/service/{service}/action/{action}", json=body, timeout=30).json()

    def start(self, secret: str, kind: int, **extra: Any) -> Any:
        return self.call("session", "start", secret=secret, type=kind, partnerId=PARTNER, **extra)

    def ids(self, **flt: Any) -> list[str]:
        result = self.call("cuepoint_cuepoint", "list", filter=flt)
        assert "objects" in result, result
        return sorted(o["id"] for o in result["objects"])


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(partner_id=PARTNER, admin_secret=ADMIN, user_secret=USER_SECRET, entries=[E1, E2]) as srv:
        store = srv.app.state.emulator.store
        for uid in ("bob", "eve"):
            store.ensure_user(PARTNER, uid)
        put(store, "0_bob_ann", E1, ANN, user="bob")
        put(store, "0_eve_ann", E1, ANN, user="eve")
        put(store, "0_eve_pub", E1, ANN, user="eve", public=1)
        put(store, "0_eve_code", E1, CODE, user="eve")
        put(store, "0_eve_e2", E2, ANN, user="eve")
        yield srv


def as_user(server: EmulatorServer, user: str, **extra: Any) -> Api:
    api = Api(server.url)
    api.ks = api.start(USER_SECRET, 0, userId=user, **extra)
    return api


def test_a_user_session_sees_its_own_and_public_cue_points(server: EmulatorServer) -> None:
    """CuePointPeer::setDefaultCriteriaFilter: (own kuser OR is_public OR type thumb/code/ad OR the
    first list: entry), then filterSelectResults drops what is not own, public or on that entry
    (plugins/cue_points/base/lib/model/CuePointPeer.php); CuePointService::initService turns this on
    for sessions that are not admin and lack list:*."""
    bob = as_user(server, "bob")
    assert bob.ids(entryIdEqual=E1) == ["0_bob_ann", "0_eve_pub"]
    # another user's code cue point passes the criteria (so count counts it) but is never returned
    assert bob.call("cuepoint_cuepoint", "count", filter={"entryIdEqual": E1}) == 3
    listed = bob.call("cuepoint_cuepoint", "list", filter={"entryIdEqual": E1})
    assert listed["totalCount"] == 2  # filterSelectResults lowers the count by what it removed
    assert bob.call("cuepoint_cuepoint", "get", id="0_eve_ann")["code"] == "INVALID_CUE_POINT_ID"
    assert bob.call("cuepoint_cuepoint", "get", id="0_eve_pub")["id"] == "0_eve_pub"


def test_list_privileges_grant_an_entry(server: EmulatorServer) -> None:
    """CuePointService::resetUserContentFilter: ks->verifyPrivileges('list', entryIdEqual, else the
    entryIdIn text) lifts the user filter; the default criteria also admit the first list: value's
    entry (CuePointPeer.php); kSessionUtils::verifyPrivileges searches the privilege text."""
    granted = as_user(server, "bob", privileges=f"list:{E1}")
    every_e1 = ["0_bob_ann", "0_eve_ann", "0_eve_code", "0_eve_pub"]
    assert granted.ids(entryIdEqual=E1) == every_e1
    assert granted.ids(entryIdIn=E1) == every_e1
    # E2 is not granted: own and public only, but E1's rows stay visible through the first list value
    assert granted.ids(entryIdIn=f"{E1},{E2}") == every_e1
    assert as_user(server, "bob", privileges="list:*").ids(entryIdIn=f"{E1},{E2}") == sorted([*every_e1, "0_eve_e2"])


def test_a_user_session_without_a_user_id_sees_public_cue_points_only(server: EmulatorServer) -> None:
    """CuePointPeer::setDefaultCriteriaFilter: no ks user -> is_public only."""
    anonymous = as_user(server, "")
    assert anonymous.ids(entryIdIn=f"{E1},{E2}") == ["0_eve_pub"]


def test_session_start_accepts_the_admin_secret_for_a_user_session(server: EmulatorServer) -> None:
    """Partner::validateSecret (alpha/lib/model/Partner.php): the admin secret validates for any
    type, the user secret for USER sessions only."""
    api = Api(server.url)
    user_ks = api.start(ADMIN, 0, userId="bob")
    assert isinstance(user_ks, str)
    assert Api(server.url, user_ks).ids(entryIdEqual=E1) == ["0_bob_ann", "0_eve_pub"]  # still a user session
    assert api.start(USER_SECRET, 2)["code"] == "START_SESSION_ERROR"


@pytest.mark.parametrize("expiry", [0, -60])
def test_expiry_zero_or_negative_gives_an_expired_ks(server: EmulatorServer, expiry: int) -> None:
    """kSessionUtils::startKSession/calculateExpiry only caps the expiry at the partner maximum;
    createKSession sets valid_until = now + expiry, and kSessionBase::isValidBase refuses
    valid_until <= now."""
    api = Api(server.url)
    api.ks = api.start(ADMIN, 2, expiry=expiry)
    result = api.call("cuepoint_cuepoint", "count")
    assert (result["code"], result["message"]) == ("INVALID_KS", 'Invalid KS "EXPIRED", Error "-1,INVALID_STR"')


def test_expiry_is_capped_at_the_partner_maximum(server: EmulatorServer) -> None:
    api = Api(server.url)
    api.ks = api.start(ADMIN, 2, expiry=10 * 86400)
    info = server.app.state.emulator.verifier.verify(api.ks)
    assert info.valid_until <= time.time() + 86400 + 5


def test_service_forbidden_names_the_service_id_and_action(server: EmulatorServer) -> None:
    """KalturaBaseService::initService: SERVICE_FORBIDDEN with serviceId->actionName, the service id
    of a plugin service being <plugin>_<service> (KalturaServicesMap); no KS and no partner run as
    partner 0 with the no-session role (kPermissionManager::getRoleIds)."""
    for params in ({}, {"partnerId": PARTNER}):
        result = Api(server.url).call("cuepoint_cuepoint", "addFromBulk", **params)
        assert (result["code"], result["message"]) == (
            "SERVICE_FORBIDDEN",
            "The access to service [cuePoint_cuepoint->addFromBulk] is forbidden",
        )
    assert Api(server.url).call("bulkupload_bulk", "serveLog")["args"] == {"SERVICE": "bulkUpload_bulk->serveLog"}
    assert Api(server.url).call("media", "bulkUploadAdd")["args"] == {"SERVICE": "bulkUpload_bulk->addEntries"}


def test_verify_privileges_is_a_substring_search() -> None:
    """kSessionUtils::verifyPrivileges (alpha/apps/kaltura/lib/webservices/kSessionUtils.class.php):
    strpos of "name:value" in the privilege string, or name:* / "*"."""
    ks = KsInfo(PARTNER, 0, 0, "bob", parse_privileges("list:0_abc,edit:1"), privileges_text="list:0_abc,edit:1")
    assert ks.verify_privileges("list", "0_abc") and ks.verify_privileges("list", "0_ab")  # a prefix passes
    assert not ks.verify_privileges("list", "0_b") and not ks.verify_privileges("list", "*")
    star = KsInfo(PARTNER, 0, 0, "bob", parse_privileges("list:*"), privileges_text="list:*")
    assert star.verify_privileges("list", "anything")


def test_limit_entry_refuses_writes_to_other_entries() -> None:
    """CuePointService::addAction/updateAction: NO_PERMISSION_ON_ENTRY for an entry outside the KS's
    limitentry (plugins/cue_points/base/errors/KalturaCuePointErrors.php)."""
    ks = KsInfo(PARTNER, 0, 0, "bob", parse_privileges("limitentry:0_a1"), privileges_text="limitentry:0_a1")
    ctx = Context(PARTNER, ks)
    check_limit_entry(ctx, "0_a1")
    with pytest.raises(ApiError) as info:
        check_limit_entry(ctx, "0_a2")
    assert (info.value.code, info.value.message) == (
        "NO_PERMISSION_ON_ENTRY",
        "No permissions to insert or update cue points for entry [0_a2]",
    )
    check_limit_entry(Context(PARTNER, None), "0_a2")  # no KS limit, no refusal


def test_add_from_bulk_does_not_check_limit_entry(server: EmulatorServer) -> None:
    """kCuePointManager::addFromXml has no limitentry check (only add/update in CuePointService):
    a limitentry:E1 session may add to E2 through addFromBulk, on the server as here."""
    api = Api(server.url)
    api.ks = api.start(ADMIN, 2, privileges=f"limitentry:{E1}")
    xml = (
        '<?xml version="1.0"?><scenes xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f'<scene-code-cue-point entryId="{E2}"><sceneStartTime>00:00:01</sceneStartTime><code>x</code>'
        "</scene-code-cue-point></scenes>"
    )
    result = httpx.post(
        f"{server.url}/api_v3/service/cuepoint_cuepoint/action/addFromBulk",
        data={"ks": api.ks, "format": 1},
        files={"fileData": ("s.xml", xml.encode(), "text/xml")},
        timeout=30,
    ).json()
    assert result["totalCount"] == 1 and result["objects"][0]["entryId"] == E2


def test_user_id_in_keeps_the_last_user_in_list(server: EmulatorServer) -> None:
    """KalturaCuePointFilter::translateUserIds overwrites $kuserIds on each user: userIdIn matches the
    last user only in list (server_bugs=True, the default). countAction and serveBulkAction never call
    translateUserIds: the partner's user ids are compared with internal kuser ids and match nothing."""
    admin = Api(server.url)
    admin.ks = admin.start(ADMIN, 2)
    assert admin.ids(entryIdEqual=E1, userIdIn="bob,eve") == ["0_eve_ann", "0_eve_code", "0_eve_pub"]
    assert admin.ids(entryIdEqual=E1, userIdIn="eve,bob") == ["0_bob_ann"]
    assert admin.call("cuepoint_cuepoint", "list", filter={"entryIdEqual": E1, "userIdIn": "bob,ghost"})["code"] == (
        "INVALID_USER_ID"
    )
    assert admin.call("cuepoint_cuepoint", "count", filter={"entryIdEqual": E1, "userIdIn": "bob,eve"}) == 0
    assert admin.call("cuepoint_cuepoint", "count", filter={"entryIdEqual": E1, "userIdEqual": "bob"}) == 0

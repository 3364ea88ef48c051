"""Roles and permission items (docs/emulator.md, "Permissions"): refused in rehearsal as in production.

The server's items are in deployment/permissions/service.*.ini and its roles in
deployment/base/scripts/init_data/03.UserRole.ini (kaltura/server).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from cuepipe.emulator import EmulatorServer
from cuepipe.emulator.app import Partner
from cuepipe.emulator.roles import Permissions

from .helpers import EmulatorFactory

ADMIN, USER_SECRET = "admin-secret", "user-secret"
DEFAULT, CUSTOM = 100, 200
E1, E2 = "0_perm1", "0_perm2"
SCENES = (
    b'<?xml version="1.0"?><scenes xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
    b'<scene-annotation entryId="ENTRY"><sceneStartTime>00:00:01</sceneStartTime>'
    b"<sceneEndTime>00:00:02</sceneEndTime><sceneText>t</sceneText></scene-annotation></scenes>"
)


@pytest.fixture(scope="module")
def server(start_emulator: EmulatorFactory) -> EmulatorServer:
    custom = Permissions.build(
        user=("BASE_USER_SESSION_PERMISSION", "CONTENT_INGEST_BULK_UPLOAD"),  # a user role with ingest rights
        items={"annotation_annotation.addfrombulk": ["CONTENT_MANAGE_ANNOTATION"]},
        revoked=["cuepoint_cuepoint.delete"],
    )
    return start_emulator(
        partners=[
            Partner(DEFAULT, ADMIN, USER_SECRET),
            Partner(CUSTOM, ADMIN, USER_SECRET, permissions=custom),
        ],
        entries=[(DEFAULT, E1), (CUSTOM, E2)],
    )


def ks(server: EmulatorServer, partner: int, kind: int, user: str = "") -> str:
    secret = ADMIN if kind == 2 else USER_SECRET
    body = {"format": 1, "secret": secret, "type": kind, "partnerId": partner, "userId": user}
    result = httpx.post(f"{server.url}/api_v3/service/session/action/start", json=body, timeout=30).json()
    assert isinstance(result, str), result
    return result


def call(server: EmulatorServer, key: str, service: str, action: str, files: Any = None, **params: Any) -> Any:
    url = f"{server.url}/api_v3/service/{service}/action/{action}"
    data = {"ks": key, "format": 1, **params}
    response = httpx.post(url, data=data, files=files, timeout=30)
    try:
        return response.json()
    except ValueError:
        return response


def scenes(entry: str) -> dict[str, Any]:
    return {"fileData": ("s.xml", SCENES.replace(b"ENTRY", entry.encode()), "text/xml")}


def forbidden(result: Any) -> str | None:
    if isinstance(result, dict) and result.get("code") == "SERVICE_FORBIDDEN":
        return str(result["args"]["SERVICE"])
    return None


def test_default_roles_refuse_annotation_bulk_actions(server: EmulatorServer) -> None:
    """service.annotation.annotation.ini has items for add/delete/get/list/update/clone only: the
    addFromBulk, serveBulk and count actions the annotation service inherits are refused to every
    role, the partner admin's '*' included."""
    admin = ks(server, DEFAULT, 2)
    assert forbidden(call(server, admin, "annotation_annotation", "addFromBulk", files=scenes(E1))) == (
        "annotation_annotation->addFromBulk"
    )
    assert forbidden(call(server, admin, "annotation_annotation", "count")) == "annotation_annotation->count"
    served = httpx.get(
        f"{server.url}/api_v3/service/annotation_annotation/action/serveBulk", params={"ks": admin, "format": 1}
    )
    assert forbidden(served.json()) == "annotation_annotation->serveBulk"
    assert call(server, admin, "annotation_annotation", "list", **{"filter[entryIdEqual]": E1})["totalCount"] == 0


def test_core_bulk_upload_needs_ingest_permissions(server: EmulatorServer) -> None:
    """service.bulkupload.ini: add needs CONTENT_INGEST_BULK_UPLOAD, abort BULK_LOG_DELETE; a user
    session (BASE_USER_SESSION_PERMISSION only) may use neither. The plugin service
    (service.bulkupload.bulk.ini) grants BASE_USER_SESSION_PERMISSION."""
    user = ks(server, DEFAULT, 0, "bob")
    assert forbidden(call(server, user, "bulkupload", "add", conversionProfileId=1)) == "bulkUpload->add"
    assert forbidden(call(server, user, "bulkupload", "abort", id=1)) == "bulkUpload->abort"
    assert forbidden(call(server, user, "bulkupload", "list")) == "bulkUpload->list"
    assert "objects" in call(server, user, "bulkupload_bulk", "list")
    admin = ks(server, DEFAULT, 2)
    assert call(server, admin, "bulkupload", "abort", id=987)["code"] == "BULK_UPLOAD_NOT_FOUND"  # permitted


def test_a_user_session_may_write_cue_points_as_on_the_server(server: EmulatorServer) -> None:
    """service.cuepoint.cuepoint.ini grants addFromBulk, delete, add and update to
    BASE_USER_SESSION_PERMISSION, the permission of BASE_USER_SESSION_ROLE that user sessions get
    (kPermissionManager::getRoleIds): the audit's "a user KS without privileges cannot write" does
    not hold for the default deployment."""
    user = ks(server, DEFAULT, 0, "bob")
    added = call(server, user, "cuepoint_cuepoint", "addFromBulk", files=scenes(E1))
    assert added["totalCount"] == 1 and added["objects"][0]["userId"] == "bob"
    assert call(server, user, "cuepoint_cuepoint", "delete", id=added["objects"][0]["id"]) is None
    # no session at all: the no-session role may only start sessions
    assert forbidden(call(server, "", "cuepoint_cuepoint", "list")) == "cuePoint_cuepoint->list"


def test_permissions_are_configurable_per_partner(server: EmulatorServer) -> None:
    """Accounts differ from the deployment defaults (custom user roles, extra items): Partner(...,
    permissions=Permissions.build(...)) changes one partner only."""
    user = ks(server, CUSTOM, 0, "bob")
    assert forbidden(call(server, user, "bulkupload", "add", conversionProfileId=1)) is None
    admin = ks(server, CUSTOM, 2)
    assert call(server, admin, "annotation_annotation", "addFromBulk", files=scenes(E2))["totalCount"] == 1
    assert forbidden(call(server, admin, "cuepoint_cuepoint", "delete", id="0_x")) == "cuePoint_cuepoint->delete"
    other = ks(server, DEFAULT, 2)
    assert forbidden(call(server, other, "annotation_annotation", "addFromBulk", files=scenes(E1))) is not None


def test_permission_table_allows_unmodelled_services_and_checks_aliases() -> None:
    """A service the table does not model is left to its own checks; an @actionAlias is checked as
    the action it stands for (media.bulkUploadAdd -> bulkUpload_bulk.addEntries)."""
    perms = Permissions()
    assert perms.allows("multirequest", "null", has_ks=False, is_admin=False)
    assert perms.allows("media", "bulkuploadadd", has_ks=True, is_admin=False)
    assert not perms.allows("media", "bulkuploadadd", has_ks=False, is_admin=False)
    assert not perms.allows("cuepoint_cuepoint", "updatestatus", has_ks=True, is_admin=False)
    assert perms.allows("cuepoint_cuepoint", "updatestatus", has_ks=True, is_admin=True)

"""Roles and permissions: which session may call which action (docs/emulator.md, "Permissions").

The server decides in ``KalturaBaseService::initService`` -> ``kPermissionManager``: a request's role
comes from the KS (``kPermissionManager::getRoleIds``): no KS -> ``NO_SESSION_ROLE``; an admin KS ->
the partner's admin role (``PARTNER_ADMIN_ROLE``, permission ``*``); a user KS -> the partner's user
session role (``BASE_USER_SESSION_ROLE``, permission ``BASE_USER_SESSION_PERMISSION``), unless the
user has roles of its own. An action is allowed when one of the role's permissions is listed on the
action's permission item (``deployment/permissions/service.*.ini``); an action without an item is
refused to everyone. The refusal is ``SERVICE_FORBIDDEN`` naming ``serviceId->action``, where a
plugin service's id is ``<pluginName>_<service>`` (``KalturaServicesMap``), e.g.
``cuePoint_cuepoint->list``.

The items below are copied from those files for the actions the emulator serves. Accounts differ
(custom roles, extra permission items): :class:`Permissions` lets each partner change them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

ALWAYS_ALLOWED = "ALWAYS_ALLOWED_ACTIONS"
BASE_USER_SESSION = "BASE_USER_SESSION_PERMISSION"
WIDGET_SESSION = "WIDGET_SESSION_PERMISSION"
ALL = "*"

_ANN = ("CONTENT_MANAGE_ANNOTATION", BASE_USER_SESSION)
_BULK_PLUGIN = ("CONTENT_INGEST_BULK_UPLOAD", "CONTENT_INGEST_UPLOAD", BASE_USER_SESSION)

_ITEMS: dict[str, dict[str, tuple[str, ...]]] = {
    "cuepoint_cuepoint": {  # service.cuepoint.cuepoint.ini
        "add": ("cuePoint.MANAGE", BASE_USER_SESSION, "PLAYBACK_BASE_PERMISSION", WIDGET_SESSION),
        "addfrombulk": ("cuePoint.MANAGE", BASE_USER_SESSION),
        "count": ("CONTENT_MODERATE_BASE", "CONTENT_MANAGE_BASE", BASE_USER_SESSION, WIDGET_SESSION),
        "delete": ("cuePoint.MANAGE", BASE_USER_SESSION),
        "get": ("CONTENT_MANAGE_BASE", BASE_USER_SESSION, WIDGET_SESSION),
        "list": ("CONTENT_MODERATE_BASE", "CONTENT_MANAGE_BASE", BASE_USER_SESSION, WIDGET_SESSION),
        "servebulk": ("CONTENT_MANAGE_BASE", BASE_USER_SESSION, WIDGET_SESSION),
        "update": ("cuePoint.MANAGE", BASE_USER_SESSION, "PLAYBACK_BASE_PERMISSION", WIDGET_SESSION),
        "updatestatus": ("WEBCAST_PRODUCER_PERMISSION",),
        "clone": ("CONTENT_MANAGE_BASE", BASE_USER_SESSION, WIDGET_SESSION),
        "updatecuepointstimes": ("WEBCAST_PRODUCER_PERMISSION", BASE_USER_SESSION),
    },
    # service.annotation.annotation.ini: no item for addFromBulk, serveBulk or count, which the
    # annotation service inherits from CuePointService: nobody may call them by default.
    "annotation_annotation": {
        "add": (*_ANN, WIDGET_SESSION, "PLAYBACK_BASE_PERMISSION"),
        "delete": _ANN,
        "get": (*_ANN, WIDGET_SESSION),
        "list": (*_ANN, WIDGET_SESSION),
        "update": (*_ANN, "PLAYBACK_BASE_PERMISSION"),
        "clone": (*_ANN, "CONTENT_MANAGE_BASE", WIDGET_SESSION),
    },
    "bulkupload": {  # service.bulkupload.ini: ingest permissions only, abort its own
        "abort": ("BULK_LOG_DELETE",),
        "add": ("CONTENT_INGEST_BULK_UPLOAD",),
        "delete": ("CONTENT_INGEST_BULK_UPLOAD",),
        "get": ("CONTENT_INGEST_BASE", "CONTENT_INGEST_BULK_UPLOAD"),
        "list": ("CONTENT_INGEST_BASE", "CONTENT_INGEST_BULK_UPLOAD"),
        "serve": ("CONTENT_INGEST_BASE", "BULK_LOG_DOWNLOAD", "BULK_LOG_DOWNLOAD_EMAIL"),
        "servelog": ("CONTENT_INGEST_BASE", "BULK_LOG_DOWNLOAD", "BULK_LOG_DOWNLOAD_EMAIL"),
    },
    "bulkupload_bulk": {  # service.bulkupload.bulk.ini
        action: _BULK_PLUGIN for action in ("abort", "addentries", "get", "list", "serve", "servelog")
    },
    "media": {  # service.media.ini
        "add": (
            "CONTENT_INGEST_ORPHAN_VIDEO",
            "CONTENT_INGEST_ORPHAN_AUDIO",
            "LIVE_STREAM_ADD",
            "CONTENT_INGEST_UPLOAD",
            "CONTENT_MANAGE_BASE",
            BASE_USER_SESSION,
            "CAPTURE_DEVICE_PERMISSION",
        ),
        "get": ("CONTENT_MANAGE_BASE", BASE_USER_SESSION, WIDGET_SESSION),
    },
    "baseentry": {  # service.baseentry.ini
        "add": ("CONTENT_INGEST_UPLOAD", BASE_USER_SESSION, "CAPTURE_DEVICE_PERMISSION"),
        "get": (
            "CONTENT_MANAGE_BASE",
            "KMC_READ_ONLY",
            BASE_USER_SESSION,
            WIDGET_SESSION,
            "PLAYBACK_BASE_PERMISSION",
            "CAPTURE_DEVICE_PERMISSION",
        ),
    },
    "session": {"start": (ALWAYS_ALLOWED, BASE_USER_SESSION, WIDGET_SESSION)},
}

#: (service id as requested, lower case) -> action (lower case) -> permissions on its item.
PERMISSION_ITEMS: dict[str, dict[str, frozenset[str]]] = {
    service: {action: frozenset(perms) for action, perms in actions.items()} for service, actions in _ITEMS.items()
}

#: ``@actionAlias``: an alias is checked (and named in errors) as the action it stands for.
ALIASES: dict[tuple[str, str], tuple[str, str]] = {("media", "bulkuploadadd"): ("bulkupload_bulk", "addentries")}

#: The service id the server names in SERVICE_FORBIDDEN (``KalturaServicesMap``: plugin name + "_" +
#: service name for plugin services, the ``@service`` name for core ones).
SERVICE_IDS: dict[str, str] = {
    "cuepoint_cuepoint": "cuePoint_cuepoint",
    "annotation_annotation": "annotation_annotation",
    "bulkupload_bulk": "bulkUpload_bulk",
    "bulkupload": "bulkUpload",
    "media": "media",
    "baseentry": "baseEntry",
    "session": "session",
    "batch": "batch",
}

#: Actions as their ``@action`` tags spell them (the request's are matched case-insensitively).
ACTION_NAMES: dict[str, str] = {
    name.lower(): name
    for name in (
        "addFromBulk",
        "serveBulk",
        "serveLog",
        "addEntries",
        "bulkUploadAdd",
        "updateStatus",
        "updateCuePointsTimes",
        "addBulkUploadResult",
        "getBulkUploadLastResult",
        "countBulkUploadEntries",
        "updateBulkUploadResults",
    )
}


def forbidden_name(service: str, action: str) -> str:
    """``serviceId->actionName`` as the server writes it in ``SERVICE_FORBIDDEN``."""
    service, action = ALIASES.get((service, action), (service, action))
    return f"{SERVICE_IDS.get(service, service)}->{ACTION_NAMES.get(action, action)}"


@dataclass(frozen=True)
class Permissions:
    """One partner's roles and permission items.

    ``admin`` / ``user`` are the permissions of the admin-session and user-session roles (``*``: every
    permission). ``items`` adds permissions to actions' items, keyed ``"service.action"`` (lower case,
    e.g. ``"annotation_annotation.addfrombulk"``), for accounts where Kaltura added items the
    default deployment lacks; ``revoked`` removes actions entirely.
    """

    admin: frozenset[str] = frozenset({ALL})
    user: frozenset[str] = frozenset({BASE_USER_SESSION})
    items: Mapping[str, frozenset[str]] = field(default_factory=dict)
    revoked: frozenset[str] = frozenset()

    @classmethod
    def build(
        cls,
        *,
        admin: Iterable[str] = (ALL,),
        user: Iterable[str] = (BASE_USER_SESSION,),
        items: Mapping[str, Iterable[str]] | None = None,
        revoked: Iterable[str] = (),
    ) -> Permissions:
        return cls(
            frozenset(admin),
            frozenset(user),
            {k.lower(): frozenset(v) for k, v in (items or {}).items()},
            frozenset(r.lower() for r in revoked),
        )

    def with_items(self, items: Mapping[str, Iterable[str]]) -> Permissions:
        merged = dict(self.items)
        for key, perms in items.items():
            merged[key.lower()] = merged.get(key.lower(), frozenset()) | frozenset(perms)
        return Permissions(self.admin, self.user, merged, self.revoked)

    def item(self, service: str, action: str) -> frozenset[str] | None:
        """The permissions on an action's item; None when the action has no item (nobody may call it)."""
        key = f"{service}.{action}"
        if key in self.revoked:
            return None
        base = PERMISSION_ITEMS.get(service, {}).get(action)
        extra = self.items.get(key)
        if base is None and extra is None:
            return None
        return (base or frozenset()) | (extra or frozenset())

    def allows(self, service: str, action: str, *, has_ks: bool, is_admin: bool) -> bool:
        """``kPermissionManager::isActionPermitted`` for the role the session gets."""
        service, action = ALIASES.get((service, action), (service, action))
        if service not in PERMISSION_ITEMS and f"{service}.{action}" not in self.items:
            return True  # a service this table does not model (checked elsewhere, e.g. batch)
        item = self.item(service, action)
        if item is None:
            return False
        role = (self.admin if is_admin else self.user) if has_ks else frozenset({ALWAYS_ALLOWED})
        return ALL in role or bool(role & item)


DEFAULT_PERMISSIONS = Permissions()

#: Items that make ``annotation.addFromBulk``/``serveBulk``/``count`` callable like ``annotation.list``
#: (the emulator's ``annotation_bulk_permitted=True``).
ANNOTATION_BULK_ITEMS: dict[str, frozenset[str]] = {
    f"annotation_annotation.{action}": frozenset(_ANN) for action in ("addfrombulk", "servebulk", "count")
}

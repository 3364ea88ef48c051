"""The API surface: service/action table, session and permission checks, and every action.

Dispatch follows ``KalturaDispatcher::dispatch`` (docs/kaltura-api.md#services-and-actions, #sessions): resolve service
and action (case-insensitive), verify the KS, pick the partner, run the service's init checks, call the action. Errors
raised before or inside an action come back as error bodies with HTTP 200, except a
``KalturaAPIException`` raised inside a file action (serveBulk, serve, serveLog), which becomes a
header-only ``kRendererDieError`` (docs/kaltura-api.md#http-status-and-headers).

Permissions follow the deployment's roles (:mod:`.roles`): no KS, a user KS and an admin KS each get
their role's actions, anything else is ``SERVICE_FORBIDDEN`` naming ``serviceId->action``; user
sessions see the cue points ``CuePointPeer``'s default criteria let them see (:mod:`.query`); the
``batch`` service is allowed for the batch partner (-1) only, as ``KalturaBatchService`` does.
"""

from __future__ import annotations

import builtins
import logging
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.responses import Response

from .. import vocabulary as voc
from . import bulk, cuepoints, multirequest, objects
from .bulk_worker import BulkWorker
from .context import BATCH_PARTNER_ID, Context
from .errors import (
    ACTION_DOES_NOT_EXISTS,
    ENTRY_ID_NOT_FOUND,
    FILE_DOESNT_EXIST,
    INTERNAL_SERVERL_ERROR,
    INVALID_CUE_POINT_ID,
    INVALID_ENUM_VALUE,
    INVALID_KS,
    MISSING_MANDATORY_PARAMETER,
    OBJECT_TYPE_ABSTRACT,
    SERVICE_DOES_NOT_EXISTS,
    SERVICE_FORBIDDEN,
    SERVICE_NOT_SPECIFIED,
    START_SESSION_ERROR,
    UNKNOWN_RESPONSE_FORMAT,
    ApiError,
    CoreError,
)
from .faults import Faults, action_key
from .ingest import Node, apply_scenes, decode
from .ks import SESSION_ADMIN, SESSION_USER, KsVerifier, generate_v1, generate_v2
from .params import RequestParams, UploadedFile
from .query import (
    BASE_FILTER_CLASS,
    build_cue_point_query,
    count_cue_points,
    pager_window,
    php_int,
    select_cue_points,
    user_content_filter,
)
from .render import FORMAT_XML, KNOWN_FORMATS, die_error, error_object, render
from .roles import ANNOTATION_BULK_ITEMS, DEFAULT_PERMISSIONS, Permissions, forbidden_name
from .serve import SERVE_COLUMNS, ServeWriter, validate_served
from .store import Store, now, q

log = logging.getLogger(__name__)
_ANNOTATION = voc.BY_NAME["annotation"]


@dataclass(frozen=True)
class Options:
    """Behaviour switches of one emulator instance."""

    server_bugs: bool = True
    cdn_host: str | None = None  # host written into served XML; default: the request's Host
    annotation_bulk_permitted: bool = False  # the default deployment has no item for them (.roles)
    #: Seed of the order of rows with equal sort keys (None: a random seed per emulator).
    tie_seed: int | None = None
    #: Roles and permission items per partner id (others: the deployment's defaults, .roles).
    permissions: Mapping[int, Permissions] = field(default_factory=dict)


class Args:
    """Typed access to one request's params (``KalturaRequestDeserializer`` casting rules)."""

    def __init__(self, request: RequestParams) -> None:
        self.params = request.params
        self.files = request.files
        self.nulls = request.nulls

    def raw(self, name: str) -> Any:
        return self.params.get(name)

    def str(self, name: builtins.str, default: builtins.str | None = None) -> builtins.str | None:
        value = self.params.get(name)
        if value is None or isinstance(value, dict | list):
            return default
        if isinstance(value, bool):
            return "1" if value else ""
        return str(value)

    def required(self, name: builtins.str) -> builtins.str:
        value = self.str(name)
        if value is None:  # raised by the deserializer, before the action runs
            raise CoreError(MISSING_MANDATORY_PARAMETER, name)
        return value

    def required_file(self, name: builtins.str) -> UploadedFile:
        upload = self.files.get(name)
        if upload is None:
            raise CoreError(MISSING_MANDATORY_PARAMETER, name)
        return upload

    def int(self, name: builtins.str, default: builtins.int | None = None) -> builtins.int | None:
        value = self.str(name)
        return default if value in (None, "") else php_int(value)

    def obj(self, name: builtins.str) -> dict[builtins.str, Any] | None:
        value = self.params.get(name)
        return value if isinstance(value, dict) else None

    def file(self, name: builtins.str) -> UploadedFile | None:
        return self.files.get(name)

    def nulled(self, name: builtins.str) -> frozenset[builtins.str]:
        """Properties of object parameter ``name`` sent as ``name[prop]__null`` (explicit nulls)."""
        return frozenset(p[1] for p in self.nulls if len(p) == 2 and p[0] == name)


Handler = Callable[[Context, Args], Any]


@dataclass(frozen=True)
class Action:
    handler: Handler
    returns_file: bool = False
    ks_ignored: bool = False


class Emulator:
    """All state of one emulator: storage, KS verifier, bulk worker and options."""

    def __init__(self, store: Store, worker: BulkWorker, options: Options, faults: Faults | None = None) -> None:
        self.store = store
        self.worker = worker
        self.options = options
        self.faults = faults  # fault injection (.faults); None: off
        self.verifier = KsVerifier(self._admin_secrets)
        self.tie_seed = options.tie_seed if options.tie_seed is not None else secrets.randbelow(2**31)
        cue = self._cue_point_actions(None)
        ann = self._cue_point_actions(_ANNOTATION.api_type.value)
        bulk_common = {
            "get": Action(self.bulk_get),
            "abort": Action(self.bulk_abort),
            "serve": Action(self.bulk_serve, returns_file=True),
            "servelog": Action(self.bulk_serve_log, returns_file=True),
        }
        # service id -> (the service's @service name used in SERVICE_FORBIDDEN, actions by lower-case name)
        self.services: dict[str, tuple[str, dict[str, Action]]] = {
            "session": ("session", {"start": Action(self.session_start, ks_ignored=True)}),
            "cuepoint_cuepoint": ("cuePoint", cue),
            "annotation_annotation": ("annotation", ann),
            "bulkupload": (
                "bulkUpload",
                {"add": Action(self.bulk_add_core), "list": Action(self.bulk_list), **bulk_common},
            ),
            "bulkupload_bulk": (
                "bulk",
                {"addentries": Action(self.bulk_add_entries), "list": Action(self.bulk_list), **bulk_common},
            ),
            "media": (
                "media",
                {
                    "add": Action(self.entry_add),
                    "get": Action(self.entry_get),
                    "bulkuploadadd": Action(self.bulk_add_entries),
                },
            ),
            "baseentry": ("baseEntry", {"add": Action(self.entry_add), "get": Action(self.entry_get)}),
            "batch": (
                "batch",
                {
                    "addbulkuploadresult": Action(self.batch_add_result),
                    "getbulkuploadlastresult": Action(self.batch_last_result),
                    "countbulkuploadentries": Action(self.batch_count_entries),
                    "updatebulkuploadresults": Action(self.batch_update_results),
                },
            ),
        }

    def _admin_secrets(self, partner: str) -> list[str] | None:
        try:
            row = self.store.partner(int(partner))
        except ValueError:
            return None
        return [s for s in row["adminSecret"].split(",") if s] if row else None

    # ------------------------------------------------------------------ dispatch

    def handle(self, request: RequestParams, host: str, scheme: str = "http") -> Response:
        started = time.perf_counter()
        p = request.params
        fmt = php_int(p["format"]) if isinstance(p.get("format"), str | int) and str(p["format"]) else FORMAT_XML
        ignore_null = str(p.get("ignoreNull") or "") in ("1", "true", "True")
        try:
            if fmt not in KNOWN_FORMATS:
                bad, fmt = fmt, FORMAT_XML
                raise ApiError(UNKNOWN_RESPONSE_FORMAT, bad)
            if str(p.get("service") or "").lower() == "multirequest":
                result = multirequest.run(request, lambda call: self._dispatch(call, host, scheme))
            else:
                result = self._dispatch(request, host, scheme)
        except ApiError as err:
            return render(error_object(err), fmt, time.perf_counter() - started)
        if isinstance(result, Response):
            return result
        return render(result, fmt, time.perf_counter() - started, ignore_null=ignore_null)

    def _dispatch(self, request: RequestParams, host: str, scheme: str) -> Any:
        """One service action: its result, a file :class:`Response`, or an :class:`ApiError` raised.

        A PHP fatal on the server becomes a generic error body, never an HTTP 500.
        """
        p = request.params
        action_info: Action | None = None
        try:
            service = str(p.get("service") or "").lower()
            action = str(p.get("action") or "").lower()
            if not service:
                raise ApiError(SERVICE_NOT_SPECIFIED)
            if service not in self.services:
                raise ApiError(SERVICE_DOES_NOT_EXISTS, service)
            service_name, actions = self.services[service]
            if action not in actions:
                raise ApiError(ACTION_DOES_NOT_EXISTS, action, service)
            action_info = actions[action]
            ctx = self._context(Args(request), host, scheme, action_info.ks_ignored)
            if (
                self.faults is not None
                and ctx.ks is not None
                and self.faults.session_expired(action_key(service, action), ctx.ks_string)
            ):
                raise ApiError(INVALID_KS, "EXPIRED", -1, "INVALID_STR")  # as ks.check_valid words it
            self._init_service(ctx, service, service_name, action, action_info)
            try:
                return action_info.handler(ctx, Args(request))
            except ApiError as err:
                if action_info.returns_file and not isinstance(err, CoreError):
                    return die_error(err)
                raise
        except ApiError:
            raise
        except Exception as exc:
            log.exception("emulator action failed")
            raise ApiError(INTERNAL_SERVERL_ERROR) from exc

    def _context(self, args: Args, host: str, scheme: str, ks_ignored: bool) -> Context:
        ks_str = args.str("ks") or ""
        requested = args.str("p") or args.str("partnerId")
        if ks_ignored:
            return Context(partner_id=php_int(requested) if requested else None, host=host, scheme=scheme)
        if not ks_str and not requested:
            # KalturaBaseService::initService: no session and no partner -> partner 0
            return Context(partner_id=0, host=host, scheme=scheme)
        if ks_str:
            info = self.verifier.verify(ks_str)
            if requested not in (None, "") and php_int(requested) != info.partner_id:
                # kPermissionManager: the KS partner may not act as another partner
                return Context(partner_id=None, ks=info, ks_string=ks_str, host=host, scheme=scheme)
            self.store.ensure_user(info.partner_id, info.user)
            return Context(partner_id=info.partner_id, ks=info, ks_string=ks_str, host=host, scheme=scheme)
        return Context(partner_id=php_int(requested) if requested else None, host=host, scheme=scheme)

    def permissions_for(self, partner_id: int | None) -> Permissions:
        """The partner's roles (the deployment's defaults unless configured)."""
        perms = self.options.permissions.get(partner_id or 0, DEFAULT_PERMISSIONS)
        if self.options.annotation_bulk_permitted:
            perms = perms.with_items(ANNOTATION_BULK_ITEMS)
        return perms

    def _init_service(self, ctx: Context, service: str, name: str, action: str, info: Action) -> None:
        """``KalturaBaseService::initService``: is the action permitted to this session's role?"""
        if info.ks_ignored:
            return
        forbidden = ApiError(SERVICE_FORBIDDEN, forbidden_name(service, action))
        if ctx.partner_id is None:
            raise forbidden  # a KS used with another partner: partner access denied
        if service == "batch":  # KalturaBatchService::initService
            if ctx.partner_id != BATCH_PARTNER_ID:
                raise forbidden
            return
        if not self.permissions_for(ctx.partner_id).allows(
            service, action, has_ks=ctx.ks is not None, is_admin=ctx.is_admin
        ):
            raise forbidden

    # ------------------------------------------------------------------ session

    def session_start(self, ctx: Context, a: Args) -> str:
        """``SessionService::startAction`` -> ``kSessionUtils::startKSession``.

        ``Partner::validateSecret``: an admin secret opens any session type, the user secret only a
        USER one. ``calculateExpiry`` caps the expiry at the partner's maximum and nothing else, so
        ``expiry=0`` or a negative expiry gives a KS that is already expired.
        """
        secret = a.required("secret")
        session_type = a.int("type", SESSION_USER)
        if session_type not in (SESSION_USER, SESSION_ADMIN):
            raise ApiError(INVALID_ENUM_VALUE, a.str("type"), "type", "KalturaSessionType")
        pid_text = a.str("partnerId") or a.str("p") or ""
        partner = self.store.partner(php_int(pid_text)) if pid_text else None
        if partner is None:
            raise ApiError(START_SESSION_ERROR, pid_text)
        admin_secrets = [s for s in partner["adminSecret"].split(",") if s]
        user_secrets = [s for s in partner["secret"].split(",") if s] if session_type == SESSION_USER else []
        if secret not in admin_secrets and secret not in user_secrets:
            raise ApiError(START_SESSION_ERROR, partner["id"])
        expiry = a.int("expiry", 86400)
        expiry = 86400 if expiry is None else expiry
        expiry = min(expiry, partner["ksMaxExpiry"] or 86400)
        make = generate_v2 if partner["ksVersion"] == 2 else generate_v1
        return make(
            secret if secret in admin_secrets else admin_secrets[0],
            partner["id"],
            a.str("userId") or "",
            session_type,
            int(time.time()) + expiry,
            a.str("privileges") or "",
        )

    # ------------------------------------------------------------------ cue points

    def _cue_point_actions(self, forced_type: str | None) -> dict[str, Action]:
        declared = _ANNOTATION.filter_class if forced_type else BASE_FILTER_CLASS
        list_class = "KalturaAnnotationListResponse" if forced_type else "KalturaCuePointListResponse"

        def list_(ctx: Context, a: Args) -> dict[str, Any]:
            # CuePointService::listAction: no pager -> a page of getMaxInValues() = 500
            query = build_cue_point_query(
                self.store,
                ctx,
                a.obj("filter"),
                declared=declared,
                forced_type=forced_type,
                server_bugs=self.options.server_bugs,
            )
            page = pager_window(a.obj("pager"), default_size=500)
            rows, total = select_cue_points(self.store, query, page, seed=self.tie_seed)
            return objects.list_response([objects.cue_point(r) for r in rows], total, list_class)

        def count(ctx: Context, a: Args) -> int:
            # countAction: any filter (or none), and a type-specific class does not restrict the type
            query = build_cue_point_query(
                self.store,
                ctx,
                a.obj("filter"),
                declared=declared,
                forced_type=forced_type,
                require_id_or_entry=False,
                restrict_class_type=False,
                server_bugs=self.options.server_bugs,
                translate_user_ids=False,
            )
            return count_cue_points(self.store, query)

        def get(ctx: Context, a: Args) -> dict[str, Any]:
            return objects.cue_point(self._find_cue_point(ctx, a.required("id"), forced_type))

        def delete(ctx: Context, a: Args) -> None:
            row = self._find_cue_point(ctx, a.required("id"), forced_type)
            self._delete_cue_point(row["id"])

        def add_from_bulk(ctx: Context, a: Args) -> dict[str, Any]:
            upload = a.required_file("fileData")
            root = decode(upload.data)
            commit = (
                self.faults.partial_commit(action_key(a.str("service") or "", "addfrombulk"))
                if self.faults is not None
                else None
            )
            # fault: the first scenes are saved, then the request dies (docs/format-notes.md#partial-failure)
            if commit is not None:
                apply_scenes(self.store, ctx, Node(root.tag, root.attrs, root.value, root.children[:commit]))
                raise ApiError(INTERNAL_SERVERL_ERROR)
            ids = apply_scenes(self.store, ctx, root)
            rows = {r["id"]: r for r in self._rows_by_id(ids)}
            found = [objects.cue_point(rows[i]) for i in ids if i in rows]
            return objects.list_response(found, len(found), "KalturaCuePointListResponse")

        def serve_bulk(ctx: Context, a: Args) -> Response:
            query = build_cue_point_query(
                self.store,
                ctx,
                a.obj("filter"),
                declared=declared,
                forced_type=forced_type,
                require_id_or_entry=False,
                restrict_class_type=False,  # serveBulkAction: toObject()->attachToCriteria, no type
                server_bugs=self.options.server_bugs,
                translate_user_ids=False,
            )
            pager = a.obj("pager")
            page = pager_window(pager, default_size=None)
            rows, _ = select_cue_points(self.store, query, page, seed=self.tie_seed, columns=SERVE_COLUMNS)
            parent_ids = sorted({str(r["parentId"]) for r in rows if r.get("parentId")})
            parents = {r["id"]: r for r in self._rows_by_id(parent_ids, partner_id=ctx.partner_id)}
            writer = ServeWriter(server_bugs=self.options.server_bugs, cdn_host=self.options.cdn_host or ctx.host)
            document = writer.document(rows, parents)
            validate_served(document)
            return Response(document, media_type="text/xml; charset=UTF-8")

        def add(ctx: Context, a: Args) -> dict[str, Any]:
            obj = cuepoints.deserialize(a.raw("cuePoint"), a.nulled("cuePoint"))
            return objects.cue_point(cuepoints.add(self.store, ctx, obj, forced_type))

        def update(ctx: Context, a: Args) -> dict[str, Any]:
            cue_point_id = a.required("id")
            obj = cuepoints.deserialize(a.raw("cuePoint"), a.nulled("cuePoint"))
            row = cuepoints.update(self.store, ctx, cue_point_id, obj, forced_type)
            return objects.cue_point(row, obj.cls)  # fromObject into the request's class

        return {
            "add": Action(add),
            "update": Action(update),
            "list": Action(list_),
            "count": Action(count),
            "get": Action(get),
            "delete": Action(delete),
            "addfrombulk": Action(add_from_bulk),
            "servebulk": Action(serve_bulk, returns_file=True),
        }

    def _rows_by_id(self, ids: list[str], partner_id: int | None = None) -> list[dict[str, Any]]:
        """Live cue points by id (chunked to stay under SQLite's parameter limit)."""
        out: list[dict[str, Any]] = []
        unique = list(dict.fromkeys(ids))
        for i in range(0, len(unique), 500):
            chunk = unique[i : i + 500]
            sql = f"SELECT * FROM cue_points WHERE id IN ({', '.join('?' * len(chunk))}) AND status != 2"
            args: list[Any] = list(chunk)
            if partner_id is not None:
                sql += " AND partnerId = ?"
                args.append(partner_id)
            out += self.store.cue_point_rows(sql, args)
        return out

    def _find_cue_point(self, ctx: Context, cue_point_id: str, forced_type: str | None) -> dict[str, Any]:
        """``CuePointPeer::retrieveByPK`` under the service's default criteria (user sessions: see query)."""
        sql = "SELECT * FROM cue_points WHERE id = ? AND partnerId = ? AND status != ?"
        args: list[Any] = [cue_point_id, ctx.partner_id, int(voc.CuePointStatus.DELETED)]
        visibility, vis_args, post = user_content_filter(ctx, {})
        if visibility is not None:
            sql += f" AND {visibility}"
            args += vis_args
        row = self.store.query_one(sql, args)
        decoded = Store.decode_cue_point(row) if row is not None else None
        if (
            decoded is None
            or (post is not None and not post.visible(decoded))
            or (forced_type and decoded["cuePointType"] != forced_type)
        ):
            raise ApiError(INVALID_CUE_POINT_ID, cue_point_id)
        return decoded

    def _delete_cue_point(self, cue_point_id: str) -> None:
        """Soft delete (status DELETED) of the cue point and, as the action's docs say, its children."""
        deleted = int(voc.CuePointStatus.DELETED)
        with self.store.transaction() as c:
            pending, seen = [cue_point_id], set()
            while pending:
                current = pending.pop()
                if current in seen:
                    continue
                seen.add(current)
                c.execute("UPDATE cue_points SET status = ?, updatedAt = ? WHERE id = ?", (deleted, now(), current))
                pending += [
                    r["id"]
                    for r in c.execute(
                        f"SELECT id FROM cue_points WHERE {q('parentId')} = ? AND status != ?",
                        (current, deleted),
                    )
                ]

    # ------------------------------------------------------------------ entries

    def entry_add(self, ctx: Context, a: Args) -> dict[str, Any]:
        entry = a.obj("entry")
        if entry is None:
            raise CoreError(MISSING_MANDATORY_PARAMETER, "entry")
        media_type = entry.get("mediaType")
        entry_id = self.store.add_entry(
            ctx.partner_id or 0,
            name=str(entry.get("name") or ""),
            description=str(entry.get("description") or ""),
            tags=str(entry.get("tags") or ""),
            reference_id=entry.get("referenceId"),
            user_id=str(entry.get("userId") or ctx.user),
            entry_type=php_int(entry.get("type") or 1),
            media_type=php_int(media_type) if media_type not in (None, "") else None,
            status=bulk.ENTRY_NO_CONTENT,
        )
        cls = str(entry.get("objectType"))
        if cls not in ("KalturaMediaEntry", "KalturaBaseEntry"):
            cls = "KalturaMediaEntry"
        row = self.store.entry(ctx.partner_id or 0, entry_id)
        assert row is not None  # just added
        return objects.entry(row, cls)

    def entry_get(self, ctx: Context, a: Args) -> dict[str, Any]:
        entry_id = a.required("entryId")
        row = self.store.entry(ctx.partner_id or 0, entry_id)
        if row is None:
            raise ApiError(ENTRY_ID_NOT_FOUND, entry_id)
        return objects.entry(row)

    # ------------------------------------------------------------------ bulk upload

    def _new_job(
        self,
        ctx: Context,
        upload: UploadedFile,
        bulk_type: str,
        file_name: str | None,
        conversion_profile: int | None,
        uploaded_by: str | None,
    ) -> dict[str, Any]:
        job = bulk.new_job(
            self.store,
            ctx,
            data=upload.data,
            file_name=file_name or upload_base_name(upload.name),
            bulk_type=bulk_type,
            conversion_profile_id=conversion_profile,
            uploaded_by=uploaded_by,
        )
        self.worker.submit(job["id"])
        return objects.bulk_upload(job, ctx)

    def bulk_add_entries(self, ctx: Context, a: Args) -> dict[str, Any]:
        upload = a.required_file("fileData")
        data = a.obj("bulkUploadData") or {}
        cls = data.get("objectType")
        if cls == "KalturaBulkUploadJobData":
            raise ApiError(OBJECT_TYPE_ABSTRACT, "KalturaBulkUploadJobData")
        if cls == "KalturaBulkUploadXmlJobData":
            bulk_type = bulk.TYPE_XML
        elif cls == "KalturaBulkUploadCsvJobData":
            bulk_type = bulk.TYPE_CSV
        else:  # no job data: the server makes a CSV job, whatever the file holds (a CSV job of an XML file fails)
            bulk_type = bulk.TYPE_CSV
        entry_data = a.obj("bulkUploadEntryData") or {}
        profile = entry_data.get("conversionProfileId")
        return self._new_job(
            ctx,
            upload,
            bulk_type,
            data.get("fileName"),
            php_int(profile) if profile not in (None, "") else None,
            None,
        )

    def bulk_add_core(self, ctx: Context, a: Args) -> dict[str, Any]:
        upload = a.required_file("csvFileData")
        profile = php_int(a.required("conversionProfileId"))
        return self._new_job(
            ctx,
            upload,
            a.str("bulkUploadType") or bulk.TYPE_CSV,
            a.str("fileName"),
            profile,
            a.str("uploadedBy"),
        )

    def bulk_get(self, ctx: Context, a: Args) -> dict[str, Any]:
        return objects.bulk_upload(bulk.get_job(self.store, ctx.partner_id, a.required("id")), ctx)

    def bulk_list(self, ctx: Context, a: Args) -> dict[str, Any]:
        page = pager_window(a.obj("pager") or {}, default_size=30)
        limit = page.limit or 500
        jobs, total = bulk.list_jobs(self.store, ctx.partner_id, a.obj("bulkUploadFilter"), limit, page.offset)
        return objects.list_response(
            [objects.bulk_upload(j, ctx) for j in jobs], total, "KalturaBulkUploadListResponse"
        )

    def bulk_abort(self, ctx: Context, a: Args) -> dict[str, Any]:
        return objects.bulk_upload(bulk.abort_job(self.store, ctx, a.required("id")), ctx)

    def bulk_serve(self, ctx: Context, a: Args) -> Response:
        job = bulk.get_job(self.store, ctx.partner_id, a.required("id"))
        if job["fileData"] is None:
            raise ApiError(FILE_DOESNT_EXIST)
        return Response(job["fileData"], media_type="text/plain; charset=UTF-8")

    def bulk_serve_log(self, ctx: Context, a: Args) -> Response:
        job = bulk.get_job(self.store, ctx.partner_id, a.required("id"))
        body, media_type = bulk.serve_log(self.store, job, ctx.host)
        return Response(body, media_type=media_type)

    # ------------------------------------------------------------------ batch (partner -1 only)

    def batch_add_result(self, ctx: Context, a: Args) -> dict[str, Any]:
        result = a.obj("bulkUploadResult")
        if result is None:
            raise CoreError(MISSING_MANDATORY_PARAMETER, "bulkUploadResult")
        plugins = a.raw("pluginDataArray")
        return objects.bulk_upload_result(bulk.add_result(self.store, result, _as_list(plugins)))

    def batch_last_result(self, ctx: Context, a: Args) -> dict[str, Any] | None:
        row = bulk.last_result(self.store, php_int(a.required("bulkUploadJobId")))
        return objects.bulk_upload_result(row) if row else None

    def batch_count_entries(self, ctx: Context, a: Args) -> list[dict[str, Any]]:
        return bulk.count_entries(self.store, php_int(a.required("bulkUploadJobId")))

    def batch_update_results(self, ctx: Context, a: Args) -> int:
        return bulk.update_results(self.store, php_int(a.required("bulkUploadJobId")))


def upload_base_name(name: str) -> str:
    """The uploaded file's name as PHP gives it (``$_FILES[..]["name"]``): the part after the last
    ``/`` or ``\\``, so a client that sends its whole local path leaves only the base name."""
    return name.replace("\\", "/").rsplit("/", 1)[-1]


def _as_list(value: Any) -> list[Any] | None:
    if isinstance(value, Mapping):
        return [value[k] for k in sorted(value, key=lambda k: php_int(k)) if k != "-"]
    return value if isinstance(value, list) else None

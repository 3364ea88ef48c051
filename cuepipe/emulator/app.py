"""The ASGI application: Starlette glue between HTTP and :class:`~.services.Emulator`.

Requests are parsed here (path pairs, query, form / multipart-with-``json`` / JSON body, files) and
handed to the emulator in a worker thread, so the event loop never waits on SQLite or XML work.
"""

from __future__ import annotations

import contextlib
import json
import secrets
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.to_thread
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .bulk_worker import BulkWorker
from .context import BATCH_PARTNER_ID
from .faults import ADMIN_PATH, Fault, Faults, FaultSpecError
from .params import (
    MAX_INPUT_VARS,
    MAX_JSON_DEPTH,
    RequestParams,
    UploadedFile,
    depth_within,
    json_body,
    merge,
    nest_flat,
    null_paths,
    path_pairs,
    strip_nulls,
)
from .roles import Permissions
from .services import Emulator, Options
from .store import Store

#: Actions run at the same time (see create_app).
HANDLER_THREADS = 2

#: Largest request body read (PHP ``post_max_size``-like; bulk uploads stay far below it).
DEFAULT_MAX_BODY_BYTES = 512 * 1024 * 1024

_CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, GET, HEAD, OPTIONS",
    "Access-Control-Expose-Headers": "Server, Content-Length, Content-Range, Date, X-Kaltura, X-Kaltura-Session, X-Me",
}


@dataclass(frozen=True)
class Partner:
    """A partner account: id, admin secret, user secret, KS version and the longest KS it issues."""

    id: int
    admin_secret: str
    user_secret: str = ""
    ks_version: int = 2
    ks_max_expiry: int = 86400
    name: str = ""
    #: Roles and permission items of this account (None: the deployment's defaults, see .roles).
    permissions: Permissions | None = None

    def __repr__(self) -> str:  # never show secrets in logs or tracebacks
        return f"Partner(id={self.id}, ks_version={self.ks_version})"


EntrySeed = str | tuple[int, str] | tuple[int, str, int | None]  # (partner, entry id, msDuration)
FaultRules = Faults | Sequence[Fault | str | dict[str, Any]] | None


class EmulatorApp(Starlette):
    """The Starlette app with the fault layer (when enabled) outermost.

    Outermost, so that it receives the server's own ``send`` (which lets a ``reset`` fault abort the
    very TCP connection) and so that no Starlette middleware turns an injected failure into a 500.
    """

    faults: Faults | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self.faults is None:
            await super().__call__(scope, receive, send)
            return
        await self.faults.asgi(scope, receive, send, super().__call__)


def create_app(
    db: str = ":memory:",
    partners: Sequence[Partner] = (),
    entries: Iterable[EntrySeed] = (),
    *,
    server_bugs: bool = True,
    cdn_host: str | None = None,
    annotation_bulk_permitted: bool = False,
    batch_secret: str | None = None,
    bulk_step_delay: float = 0.0,
    data_center: int = 0,
    faults: FaultRules = None,
    fault_admin: bool = False,
    fault_seed: int | None = None,
    tie_seed: int | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> EmulatorApp:
    """Build the emulator app.

    ``partners`` are created or updated in the database; ``entries`` are entry ids created for the
    first partner (or ``(partner_id, entry_id)`` pairs). The batch partner (-1) always exists, with
    ``batch_secret`` (random unless given) as its admin secret. ``server_bugs`` reproduces the
    server's serve bugs (see :mod:`.serve`); ``bulk_step_delay`` slows the bulk worker between
    states so tests can watch a job move.

    Fault injection (:mod:`.faults`) is off unless ``faults`` (rules, or a :class:`Faults`) or
    ``fault_admin`` is given; ``fault_admin`` also routes ``/_emulator/faults`` (GET the rules and
    their counters, POST more rules as JSON, DELETE them all). ``fault_seed`` seeds the
    probabilistic rules. The :class:`Faults` object is ``app.state.faults`` (None when off).

    ``tie_seed`` fixes the order in which rows with equal sort keys come back (random per app
    otherwise, as the server's search index gives no stable order). A partner's ``permissions``
    replace the deployment's default roles for it. ``max_body_bytes`` bounds the body read.
    """
    fault_layer: Faults | None = None
    if isinstance(faults, Faults):
        fault_layer = faults
    elif faults or fault_admin:
        fault_layer = Faults(faults or (), seed=fault_seed)
    store = Store(db, data_center=data_center)
    for partner in partners:
        store.upsert_partner(
            partner.id,
            partner.admin_secret,
            partner.user_secret or secrets.token_hex(16),
            partner.ks_version,
            partner.ks_max_expiry,
            partner.name,
        )
    batch = batch_secret or secrets.token_hex(16)
    store.upsert_partner(BATCH_PARTNER_ID, batch, batch, 2, 86400, "batch")
    for seed in entries:
        partner_id, entry_id, *rest = seed if isinstance(seed, tuple) else (partners[0].id if partners else 0, seed)
        if store.entry(partner_id, entry_id) is None:
            store.add_entry(partner_id, entry_id=entry_id, name=entry_id, ms_duration=rest[0] if rest else None)
    worker = BulkWorker(store, step_delay=bulk_step_delay)
    emulator = Emulator(
        store,
        worker,
        Options(
            server_bugs=server_bugs,
            cdn_host=cdn_host,
            annotation_bulk_permitted=annotation_bulk_permitted,
            tie_seed=tie_seed,
            permissions={p.id: p.permissions for p in partners if p.permissions is not None},
        ),
        faults=fault_layer,
    )

    # At most HANDLER_THREADS actions run at once (in worker threads); more requests wait their turn
    # in the event loop. The actions are CPU work under the GIL behind one SQLite lock: more threads
    # only add GIL hand-offs (a third of the CPU with four concurrent uploads).
    handlers = anyio.CapacityLimiter(HANDLER_THREADS)

    async def api(request: Request) -> Response:
        if request.method == "OPTIONS":
            return Response(b"", headers=_CORS)
        params = await read_params(request, max_body_bytes)
        host = request.headers.get("host") or f"{request.url.hostname}:{request.url.port}"
        response = await anyio.to_thread.run_sync(emulator.handle, params, host, request.url.scheme, limiter=handlers)
        response.headers["X-Me"] = "cuepipe-emulator"
        response.headers["Access-Control-Allow-Origin"] = "*"
        return response

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        worker.start()
        try:
            yield
        finally:
            await run_in_threadpool(worker.stop)
            store.close()

    routes = [Route("/api_v3/{rest:path}", api, methods=["GET", "POST", "HEAD", "OPTIONS"])]
    if fault_admin and fault_layer is not None:
        routes.append(Route(ADMIN_PATH, _fault_admin(fault_layer), methods=["GET", "POST", "DELETE"]))
    app = EmulatorApp(routes=routes, lifespan=lifespan)
    app.faults = fault_layer
    app.state.emulator = emulator
    app.state.faults = fault_layer
    return app


def _fault_admin(faults: Faults) -> Any:
    """``/_emulator/faults``: GET the rules with their counters; POST a rule, a list of rules, or
    ``{"faults": [...], "replace": true}``; DELETE every rule (and forget expired sessions)."""

    async def endpoint(request: Request) -> Response:
        if request.method == "DELETE":
            faults.clear()
        elif request.method == "POST":
            try:
                data = json.loads(await request.body() or b"null")
            except (ValueError, RecursionError):  # RecursionError: nested too deep for the decoder
                return JSONResponse({"error": "the body must be JSON (nested at most 512 levels)"}, status_code=400)
            if not depth_within(data, MAX_JSON_DEPTH):
                return JSONResponse({"error": "the body must be JSON (nested at most 512 levels)"}, status_code=400)
            replace = isinstance(data, dict) and "faults" in data and bool(data.get("replace"))
            rules = data.get("faults") if isinstance(data, dict) and "faults" in data else data
            rules = rules if isinstance(rules, list) else [rules]
            try:
                if replace:
                    faults.replace(rules)
                else:
                    faults.add(*rules)
            except FaultSpecError as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse(faults.describe())

    return endpoint


async def _body_within(request: Request, limit: int) -> bool:
    """Whether the body is at most ``limit`` bytes; reads it (into Starlette's cache) only then."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                return False
        except ValueError:
            return False
    if declared is None:  # chunked: read up to the limit, never more
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                return False
            chunks.append(chunk)
        request._body = b"".join(chunks)  # what request.body()/form() read from now on
    return True


async def read_params(request: Request, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> RequestParams:
    """Merge path > query > body params the way ``infraRequestUtils::getRequestParams`` does.

    A body over ``max_body_bytes``, a form Starlette refuses (too many fields or files), a JSON body
    nested too deep: the body is ignored, as PHP ignores what it cannot take (see .params).
    """
    ctype = request.headers.get("content-type", "")
    lowered = ctype.lower()
    body: dict[str, Any] = {}
    files: dict[str, UploadedFile] = {}
    query = nest_flat(request.query_params.multi_items())
    if not await _body_within(request, max_body_bytes):
        return RequestParams(strip_nulls(merge(query, path_pairs(request.url.path))), {})
    if lowered.startswith("multipart/form-data") or lowered.startswith("application/x-www-form-urlencoded"):
        try:
            form = await request.form(max_files=100, max_fields=MAX_INPUT_VARS, max_part_size=64 * 1024 * 1024)
        except HTTPException:  # Starlette's 400 for a malformed or oversized form
            return RequestParams(strip_nulls(merge(query, path_pairs(request.url.path))), {})
        plain: list[tuple[str, Any]] = []
        json_field: str | None = None
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                files[key] = UploadedFile(value.filename or "", await value.read(), value.content_type or "")
            elif key == "json" and lowered.startswith("multipart/form-data"):
                json_field = value
            else:
                plain.append((key, value))
        await form.close()
        decoded = json_body("application/json", json_field.encode()) if json_field is not None else None
        body = decoded if decoded is not None else nest_flat(plain)
    else:
        raw = await request.body()
        body = json_body(ctype, raw) or {}
    params = merge(body, query)
    params = merge(params, path_pairs(request.url.path))
    return RequestParams(strip_nulls(params), files, null_paths(params))

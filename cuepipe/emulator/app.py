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

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .bulk import BulkWorker
from .context import BATCH_PARTNER_ID
from .faults import ADMIN_PATH, Fault, Faults, FaultSpecError
from .params import RequestParams, UploadedFile, json_body, merge, nest_flat, null_paths, path_pairs, strip_nulls
from .services import Emulator, Options
from .store import Store

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
    annotation_bulk_permitted: bool = True,
    batch_secret: str | None = None,
    bulk_step_delay: float = 0.0,
    data_center: int = 0,
    faults: FaultRules = None,
    fault_admin: bool = False,
    fault_seed: int | None = None,
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
        Options(server_bugs=server_bugs, cdn_host=cdn_host, annotation_bulk_permitted=annotation_bulk_permitted),
        faults=fault_layer,
    )

    async def api(request: Request) -> Response:
        if request.method == "OPTIONS":
            return Response(b"", headers=_CORS)
        params = await read_params(request)
        host = request.headers.get("host") or f"{request.url.hostname}:{request.url.port}"
        response = await run_in_threadpool(emulator.handle, params, host, request.url.scheme)
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
            except ValueError:
                return JSONResponse({"error": "the body must be JSON"}, status_code=400)
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


async def read_params(request: Request) -> RequestParams:
    """Merge path > query > body params the way ``infraRequestUtils::getRequestParams`` does."""
    ctype = request.headers.get("content-type", "")
    lowered = ctype.lower()
    body: dict[str, Any] = {}
    files: dict[str, UploadedFile] = {}
    if lowered.startswith("multipart/form-data") or lowered.startswith("application/x-www-form-urlencoded"):
        form = await request.form(max_files=100, max_fields=10_000, max_part_size=64 * 1024 * 1024)
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
        decoded = None
        if json_field is not None:
            with contextlib.suppress(ValueError):
                decoded = json.loads(json_field)
        body = decoded if isinstance(decoded, dict) else nest_flat(plain)
    else:
        raw = await request.body()
        body = json_body(ctype, raw) or {}
    params = merge(body, nest_flat(request.query_params.multi_items()))
    params = merge(params, path_pairs(request.url.path))
    return RequestParams(strip_nulls(params), files, null_paths(params))

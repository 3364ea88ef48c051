"""Running the emulator: in a background thread for tests and demos, or in the foreground for the CLI."""

from __future__ import annotations

import gc
import socket
import threading
import time
from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import Any

import uvicorn

from .app import EntrySeed, Partner, create_app
from .faults import Faults


class EmulatorServer:
    """Context manager serving the emulator with uvicorn on a background thread.

    ``port=0`` picks a free port (the socket is bound here, so :attr:`url` is known before the first
    request). A single partner is configured from ``partner_id``/``admin_secret``/``user_secret``;
    pass ``partners=[Partner(..), ..]`` for more. Remaining keyword arguments go to
    :func:`~.app.create_app` (``server_bugs``, ``cdn_host``, ``batch_secret``, ``bulk_step_delay``,
    ``faults``, ``fault_admin``...); :attr:`faults` then changes the fault rules while it runs::

        with EmulatorServer(partner_id=100, admin_secret="s3cret", entries=["0_abc"]) as srv:
            httpx.post(srv.url + "/api_v3/service/session/action/start", data={...})
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        db: str = ":memory:",
        *,
        partner_id: int | None = None,
        admin_secret: str | None = None,
        user_secret: str = "",
        ks_version: int = 2,
        entries: Iterable[EntrySeed] = (),
        partners: Sequence[Partner] = (),
        **app_options: Any,
    ) -> None:
        configured = list(partners)
        if partner_id is not None:
            if not admin_secret:
                raise ValueError("admin_secret is required with partner_id")
            configured.insert(0, Partner(partner_id, admin_secret, user_secret, ks_version))
        self.host = host
        self.port = port
        self.app = create_app(db, configured, entries, **app_options)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def faults(self) -> Faults | None:
        """The fault rules (:mod:`.faults`), or None when fault injection is off for this server."""
        faults: Faults | None = self.app.state.faults
        return faults

    @property
    def url(self) -> str:
        """Service URL, e.g. ``http://127.0.0.1:54321`` (append ``/api_v3/service/...``)."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> EmulatorServer:
        sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Accepted connections inherit TCP_NODELAY; without it Nagle's algorithm and the client's
        # delayed ACK add ~40 ms to every answer on a kept-alive connection (headers and body are
        # separate writes).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        self._socket = sock
        config = uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="on")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="cuepipe-emulator", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the emulator did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=15)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def run(
    host: str = "127.0.0.1",
    port: int = 8080,
    db: str = "cuepipe-emulator.db",
    *,
    partner_id: int,
    admin_secret: str,
    user_secret: str = "",
    ks_version: int = 2,
    entries: Iterable[EntrySeed] = (),
    partners: Sequence[Partner] = (),
    **app_options: Any,
) -> None:
    """Serve in the foreground until interrupted (what ``cuepipe emulator`` calls); ``partners`` are more accounts."""
    first = Partner(partner_id, admin_secret, user_secret, ks_version)
    app = create_app(db, [first, *partners], entries, **app_options)
    tune_gc()
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=False)


def tune_gc() -> None:
    """Garbage collection for a process that serves the emulator and nothing else.

    Each request allocates tens of thousands of short-lived objects (decoded scenes, row dicts, API
    objects) and almost no reference cycles; with the default thresholds the collector ran every
    700 allocations and its full passes walked every module loaded at start-up, about a third of
    addFromBulk's CPU. What start-up loaded is frozen (never collected) and collections are rarer.
    Only the foreground server (``cuepipe emulator``) does this: :class:`EmulatorServer` runs inside
    someone else's process and leaves its collector alone.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)

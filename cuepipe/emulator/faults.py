"""Fault injection: make the emulator fail the way a remote service fails during a long migration.

Off by default: an app built without faults has no fault layer at all. Switched on by passing rules
to :func:`~.app.create_app` / :class:`~.server.EmulatorServer` (``faults=[...]``), by ``cuepipe
emulator --fault SPEC``, or at run time through the admin endpoint ``/_emulator/faults`` (only routed
when the app is built with ``fault_admin=True`` / ``--fault-admin``).

A rule (:class:`Fault`) names a ``kind``, the requests it applies to (``action``, a pattern such as
``cuepoint.addFromBulk``, ``cuepoint.*`` or ``*``), and when it fires: it lets the first ``after``
matching requests through, then hits ``times`` of them (``None``: every one), each with
``probability`` (drawn from a seeded generator, so a run can be repeated). Kinds:

``error``
    answer an HTTP ``status`` (500, 502, 503, 429...) instead of the API's answer. ``phase="before"``:
    the action never runs; ``"after"``: it ran and committed, and its answer is replaced (the client
    cannot tell the two apart, which is the point).
``slow``
    hold the request ``delay`` seconds: ``phase="before"``: the request is read, then held before
    the action runs (so it runs even if the client gave up meanwhile: a late write), ``"after"``:
    after the action ran (the answer comes too late). ``until`` releases it on an event instead,
    ``delay`` then being the longest hold: ``until=next`` when the next request matching the rule
    arrives (the held request and that one then run side by side: the race of a late write with a
    re-send, made certain), ``until=release`` when :meth:`Faults.release` is called (a test lets a
    late write run after the client has moved on). :meth:`Faults.wait_held` and
    :meth:`Faults.wait_idle` let a test wait for these moments instead of sleeping.
``reset``
    cut the TCP connection with a reset (``SO_LINGER`` 0): ``phase="before"`` after reading
    ``at_bytes`` of the request body, i.e. in the middle of an upload, nothing applied; ``"after"``:
    the action ran, the answer is lost.
``partial``
    ``addFromBulk`` commits the first ``commit`` scenes, then fails with ``INTERNAL_SERVERL_ERROR``:
    the server's real non-transactional behaviour (docs/format-notes.md#partial-failure) on demand.
``expire_ks``
    when it fires, every KS presented so far is expired: the request (and any later one with such a
    KS) is refused with ``INVALID_KS`` ``EXPIRED``, as a session that runs out mid-migration is. A KS
    made afterwards works.
``rate_limit``
    a token bucket of ``rate`` requests per second (``burst`` deep) over the matching requests;
    requests beyond it get HTTP 429 with ``Retry-After`` before anything runs.

Specs for the command line: ``KIND[:key=value,...]``, e.g. ``error:status=503,action=cuepoint.list``,
``slow:delay=3,phase=after``, ``partial:commit=5``, ``rate_limit:rate=20,burst=5``,
``expire_ks:after=30``. Several action patterns are separated by ``|``.
"""

from __future__ import annotations

import asyncio
import fnmatch
import hashlib
import json
import logging
import math
import random
import socket
import struct
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal
from urllib.parse import parse_qsl

log = logging.getLogger(__name__)

Kind = Literal["error", "slow", "reset", "partial", "expire_ks", "rate_limit"]
Phase = Literal["before", "after"]
KINDS: tuple[str, ...] = ("error", "slow", "reset", "partial", "expire_ks", "rate_limit")
_HTTP_KINDS = frozenset({"error", "slow", "reset", "rate_limit"})
_DEFAULT_TIMES = -1  # resolved in __post_init__: 1, or unlimited for rate_limit

#: Where the admin endpoint lives (never subject to faults itself).
ADMIN_PATH = "/_emulator/faults"

# Short service names accepted in patterns, as the client API spells them.
_SERVICE_ALIASES = {
    "cuepoint": "cuepoint_cuepoint",
    "annotation": "annotation_annotation",
    "bulk": "bulkupload_bulk",
}

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class FaultSpecError(ValueError):
    """A fault rule or spec that cannot be understood."""


def _normalize_pattern(pattern: str) -> str:
    pattern = pattern.strip().lower()
    if pattern in ("", "*"):
        return "*"
    service, _, action = pattern.partition(".")
    service = _SERVICE_ALIASES.get(service, service)
    return f"{service}.{action or '*'}"


def action_key(service: str, action: str) -> str:
    """``cuepoint_cuepoint.addfrombulk``: what patterns are matched against."""
    return f"{service.lower()}.{action.lower()}"


@dataclass
class Fault:
    """One fault rule; see the module docstring for the kinds. ``seen``/``hits`` count its matches."""

    kind: Kind
    action: str = "*"
    after: int = 0
    times: int | None = _DEFAULT_TIMES
    probability: float = 1.0
    status: int = 503
    phase: Phase = "before"
    delay: float = 5.0
    at_bytes: int = 0
    commit: int = 1
    rate: float = 10.0
    burst: int = 10
    retry_after: float | None = None
    until: str = ""
    seen: int = field(default=0, compare=False)
    hits: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise FaultSpecError(f"unknown fault kind {self.kind!r}; expected one of {', '.join(KINDS)}")
        if self.times == _DEFAULT_TIMES:
            self.times = None if self.kind == "rate_limit" else 1
        if self.phase not in ("before", "after"):
            raise FaultSpecError(f"phase must be 'before' or 'after', not {self.phase!r}")
        if self.kind in ("partial", "expire_ks", "rate_limit") and self.phase != "before":
            raise FaultSpecError(f"{self.kind} faults have no phase")
        checks = [
            (self.after >= 0, "after must be >= 0"),
            (self.times is None or self.times >= 0, "times must be >= 0 (or None for every request)"),
            (0.0 <= self.probability <= 1.0, "probability must be between 0 and 1"),
            (400 <= self.status <= 599, "status must be an HTTP error status (400-599)"),
            (self.delay >= 0, "delay must be >= 0"),
            (self.at_bytes >= 0, "at_bytes must be >= 0"),
            (self.commit >= 0, "commit must be >= 0"),
            (self.rate > 0, "rate must be > 0"),
            (self.burst >= 1, "burst must be >= 1"),
            (self.retry_after is None or self.retry_after >= 0, "retry_after must be >= 0"),
            (self.until in ("", "next", "release"), "until must be 'next' or 'release'"),
            (not self.until or self.kind == "slow", "only slow faults take until"),
        ]
        for ok, message in checks:
            if not ok:
                raise FaultSpecError(f"{self.kind} fault: {message}")
        self._patterns = [_normalize_pattern(p) for p in str(self.action).split("|")]
        self._tokens = float(self.burst)
        self._refilled = time.monotonic()

    def matches(self, key: str) -> bool:
        return any(p == "*" or fnmatch.fnmatchcase(key, p) for p in self._patterns)

    def describe(self) -> dict[str, Any]:
        """The rule as JSON-able data (what the admin endpoint shows), counters included."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Fault:
        known = {f.name for f in fields(cls)} - {"seen", "hits"}
        unknown = set(data) - known
        if unknown:
            raise FaultSpecError(f"unknown fault option(s): {', '.join(sorted(unknown))}")
        if "kind" not in data:
            raise FaultSpecError("a fault needs a kind")
        try:
            return cls(**{k: _coerce(k, v) for k, v in data.items()})
        except (TypeError, ValueError) as exc:
            if isinstance(exc, FaultSpecError):
                raise
            raise FaultSpecError(f"bad fault {dict(data)!r}: {exc}") from None

    def _take_token(self, now: float) -> float:
        """0 when a request may pass (a token is used), else the seconds until the next token."""
        self._tokens = min(float(self.burst), self._tokens + (now - self._refilled) * self.rate)
        self._refilled = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return 0.0
        return (1.0 - self._tokens) / self.rate


_INTS = {"after", "status", "at_bytes", "commit", "burst"}
_FLOATS = {"probability", "delay", "rate"}


def _coerce(name: str, value: Any) -> Any:
    """Values from specs and JSON: numbers given as text, ``none`` for unlimited ``times``."""
    if name == "times":
        if value is None or (isinstance(value, str) and value.lower() in ("none", "all", "inf", "")):
            return None
        return int(value)
    if name == "retry_after":
        return None if value in (None, "") else float(value)
    if isinstance(value, bool):
        raise FaultSpecError(f"{name} takes a number, not {value!r}")
    if name in _INTS:
        return int(value)
    if name in _FLOATS:
        return float(value)
    return value


def parse_fault(spec: str) -> Fault:
    """``KIND[:key=value,...]`` (the ``--fault`` option) -> :class:`Fault`."""
    kind, _, rest = spec.strip().partition(":")
    data: dict[str, Any] = {"kind": kind.strip()}
    for part in filter(None, (p.strip() for p in rest.split(","))):
        key, sep, value = part.partition("=")
        if not sep:
            raise FaultSpecError(f"fault option {part!r} must be key=value (in {spec!r})")
        data[key.strip()] = value.strip()
    return Fault.from_dict(data)


def _as_fault(item: Fault | str | Mapping[str, Any]) -> Fault:
    if isinstance(item, Fault):
        return item
    if isinstance(item, str):
        return parse_fault(item)
    if isinstance(item, Mapping):
        return Fault.from_dict(item)
    raise FaultSpecError(f"a fault is a Fault, a spec string or a dict, not {type(item).__name__}")


@dataclass(frozen=True)
class Decision:
    """What the HTTP layer does to one request."""

    throttle: float | None = None  # 429 with this Retry-After
    before: tuple[Fault, ...] = ()
    after: tuple[Fault, ...] = ()


class Faults:
    """The rules of one emulator, their counters and the expired sessions; thread-safe.

    The HTTP layer (:meth:`asgi`) handles ``error``/``slow``/``reset``/``rate_limit``; the emulator
    asks :meth:`partial_commit` in ``addFromBulk`` and :meth:`session_expired` for every KS.
    """

    def __init__(self, rules: Iterable[Fault | str | Mapping[str, Any]] = (), *, seed: int | None = None) -> None:
        self._lock = threading.Lock()
        self._rules: list[Fault] = [_as_fault(r) for r in rules]
        self._seed = seed
        self._random = random.Random(seed)
        self._seen_ks: set[bytes] = set()
        self._expired_ks: set[bytes] = set()
        # Requests held by a slow fault with ``until`` (each waits for its event) and the number of
        # requests inside the fault layer right now (held or running).
        self._held: list[tuple[Fault, threading.Event]] = []
        self._active = 0
        self._changed = threading.Condition(self._lock)

    # -- rules -------------------------------------------------------------------------------

    @property
    def rules(self) -> list[Fault]:
        with self._lock:
            return list(self._rules)

    def add(self, *rules: Fault | str | Mapping[str, Any]) -> list[Fault]:
        parsed = [_as_fault(r) for r in rules]
        with self._lock:
            self._rules.extend(parsed)
        return parsed

    def replace(self, rules: Iterable[Fault | str | Mapping[str, Any]]) -> None:
        parsed = [_as_fault(r) for r in rules]
        with self._lock:
            self._rules = parsed

    def clear(self) -> None:
        """Remove every rule and forget expired sessions (the emulator is healthy again)."""
        with self._lock:
            self._rules = []
            self._seen_ks.clear()
            self._expired_ks.clear()
        self.release()

    def hits(self, kind: str | None = None) -> int:
        with self._lock:
            return sum(r.hits for r in self._rules if kind is None or r.kind == kind)

    def describe(self) -> dict[str, Any]:
        with self._lock:
            return {"seed": self._seed, "faults": [r.describe() for r in self._rules]}

    def __repr__(self) -> str:
        with self._lock:
            return f"<Faults {[r.kind for r in self._rules]}>"

    # -- decisions ---------------------------------------------------------------------------

    def _fires(self, rule: Fault) -> bool:
        """Count a matching request; True when the rule hits it (caller holds the lock)."""
        rule.seen += 1
        if rule.seen <= rule.after:
            return False
        if rule.times is not None and rule.hits >= rule.times:
            return False
        if rule.probability < 1.0 and self._random.random() >= rule.probability:
            return False
        rule.hits += 1
        return True

    def release(self) -> int:
        """Let every request held by an ``until=release`` (or ``next``) slow fault go on; returns how many."""
        with self._lock:
            held, self._held = self._held, []
            for _, event in held:
                event.set()
            self._changed.notify_all()
            return len(held)

    def wait_held(self, count: int = 1, timeout: float = 30.0) -> bool:
        """Block until ``count`` requests are held by ``until`` slow faults (False on timeout)."""
        with self._changed:
            return self._changed.wait_for(lambda: len(self._held) >= count, timeout)

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until no request is inside the fault layer (held, or running after a hold)."""
        with self._changed:
            return self._changed.wait_for(lambda: self._active == 0, timeout)

    def _hold(self, rule: Fault) -> threading.Event:
        event = threading.Event()
        with self._lock:
            self._held.append((rule, event))
            self._changed.notify_all()
        return event

    def _unhold(self, event: threading.Event) -> None:
        with self._lock:
            self._held = [(r, e) for r, e in self._held if e is not event]
            self._changed.notify_all()

    def _enter(self) -> None:
        with self._lock:
            self._active += 1

    def _leave(self) -> None:
        with self._lock:
            self._active -= 1
            self._changed.notify_all()

    def decide(self, key: str) -> Decision:
        """The HTTP-level faults for one request to ``service.action``."""
        now = time.monotonic()
        with self._lock:
            # A request matching a rule that holds earlier ones ``until=next`` releases them.
            for rule, event in [(r, e) for r, e in self._held if r.until == "next" and r.matches(key)]:
                event.set()
                self._held.remove((rule, event))
                self._changed.notify_all()
            for rule in self._rules:
                if rule.kind != "rate_limit" or not rule.matches(key):
                    continue
                rule.seen += 1
                if rule.seen <= rule.after or (rule.times is not None and rule.hits >= rule.times):
                    continue
                wait = rule._take_token(now)
                if wait > 0:
                    rule.hits += 1
                    return Decision(throttle=rule.retry_after if rule.retry_after is not None else wait)
            chosen = [
                r for r in self._rules if r.kind in _HTTP_KINDS - {"rate_limit"} and r.matches(key) and self._fires(r)
            ]
        return Decision(
            before=tuple(r for r in chosen if r.phase == "before"), after=tuple(r for r in chosen if r.phase == "after")
        )

    def partial_commit(self, key: str) -> int | None:
        """For ``addFromBulk``: how many scenes to commit before failing, or None (no fault)."""
        with self._lock:
            for rule in self._rules:
                if rule.kind == "partial" and rule.matches(key) and self._fires(rule):
                    return rule.commit
        return None

    def session_expired(self, key: str, ks: str) -> bool:
        """Remember ``ks``; True when it has been expired (now, by a firing ``expire_ks`` rule, or before)."""
        digest = hashlib.sha256(ks.encode("utf-8", "surrogatepass")).digest()
        with self._lock:
            rules = [r for r in self._rules if r.kind == "expire_ks"]
            if not rules and not self._expired_ks:
                return False
            self._seen_ks.add(digest)
            if any(r.matches(key) and self._fires(r) for r in rules):
                self._expired_ks |= self._seen_ks
                self._seen_ks = set()
            return digest in self._expired_ks

    # -- the HTTP layer ----------------------------------------------------------------------

    async def asgi(self, scope: Scope, receive: Receive, send: Send, app: ASGIApp) -> None:
        """Run one HTTP request through the fault rules, then (maybe) through ``app``."""
        if scope.get("type") != "http" or scope.get("path", "").startswith(ADMIN_PATH):
            await app(scope, receive, send)
            return
        self._enter()
        try:
            await self._handle(scope, receive, send, app)
        finally:
            self._leave()

    async def _handle(self, scope: Scope, receive: Receive, send: Send, app: ASGIApp) -> None:
        decision = self.decide(request_key(scope))
        if decision.throttle is not None:
            await _drain(receive)
            retry = max(1, math.ceil(decision.throttle))
            await _plain_response(
                send, 429, b"Too Many Requests (cuepipe emulator fault)", [(b"retry-after", str(retry).encode())]
            )
            return
        for rule in decision.before:
            if rule.kind == "slow":
                # The server has the request and sits on it: read it all first, so that it is still
                # processed when the client has given up in the meantime (uvicorn would otherwise
                # report the disconnect instead of the body).
                buffered = await _read_all(receive)
                if buffered is None:
                    return
                if rule.until:
                    await self._wait_event(rule)
                else:
                    await asyncio.sleep(rule.delay)
                receive = _replay(buffered, receive)
            elif rule.kind == "error":
                await _drain(receive)
                await _error_response(send, rule)
                return
            elif rule.kind == "reset":
                await _read_some(receive, rule.at_bytes)
                await _reset(send, receive)
                return
        if not decision.after:
            await app(scope, receive, send)
            return
        held: list[Message] = []

        async def hold(message: Message) -> None:
            held.append(message)

        await app(scope, receive, hold)
        for rule in decision.after:
            if rule.kind == "slow":
                if rule.until:
                    await self._wait_event(rule)
                else:
                    await asyncio.sleep(rule.delay)
            elif rule.kind == "error":
                await _error_response(send, rule)
                return
            elif rule.kind == "reset":
                await _reset(send, receive)
                return
        for message in held:
            await send(message)

    async def _wait_event(self, rule: Fault) -> None:
        """Hold until the rule's event (or ``delay`` seconds at most), without blocking the loop."""
        event = self._hold(rule)
        deadline = time.monotonic() + rule.delay
        try:
            while not event.is_set() and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
        finally:
            self._unhold(event)


def request_key(scope: Scope) -> str:
    """``service.action`` of a request from its path (``/api_v3/service/X/action/Y``) or query string."""
    parts = [p for p in scope.get("path", "").split("/") if p]
    pairs: dict[str, str] = {}
    for i in range(len(parts) - 1):
        if parts[i].lower() in ("service", "action") and parts[i].lower() not in pairs:
            pairs[parts[i].lower()] = parts[i + 1]
    if len(pairs) < 2:
        query = scope.get("query_string", b"").decode("latin-1")
        for k, v in parse_qsl(query):
            pairs.setdefault(k.lower(), v)
    return action_key(pairs.get("service", ""), pairs.get("action", ""))


async def _drain(receive: Receive) -> None:
    """Read the rest of the request body (so the connection stays usable), discarding it."""
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return


async def _read_all(receive: Receive) -> list[Message] | None:
    """The whole request body as ASGI messages; None if the client went away first."""
    messages: list[Message] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        messages.append(message)
        if not message.get("more_body", False):
            return messages


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """A ``receive`` that hands out ``messages`` first, then defers to the server's."""
    pending = list(messages)

    async def replayed() -> Message:
        return pending.pop(0) if pending else await receive()

    return replayed


async def _read_some(receive: Receive, limit: int) -> None:
    """Read at least ``limit`` body bytes (or the whole body if shorter), leaving the rest unread."""
    got = 0
    while got < limit:
        message = await receive()
        if message["type"] != "http.request":
            return
        got += len(message.get("body", b""))
        if not message.get("more_body", False):
            return


async def _plain_response(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _error_response(send: Send, rule: Fault) -> None:
    headers = []
    if rule.retry_after is not None:
        headers.append((b"retry-after", str(max(0, math.ceil(rule.retry_after))).encode()))
    body = json.dumps({"error": f"HTTP {rule.status} injected by the cuepipe emulator"}).encode()
    await _plain_response(send, rule.status, body, headers)


class _ConnectionReset(Exception):
    """Raised to make the server drop a connection when its transport cannot be reached directly."""


async def _reset(send: Send, receive: Receive) -> None:
    """Abort the connection with a TCP reset.

    uvicorn's ``send`` is a method of the request cycle, which holds the asyncio transport: with
    ``SO_LINGER`` 0, aborting it sends RST, and whatever the client is still uploading is refused.
    Elsewhere (another server, a wrapped ``send``), start a response and raise, which makes the
    server close the connection with the answer incomplete.
    """
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None or not hasattr(transport, "abort"):
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1000")]})
        raise _ConnectionReset("connection reset by a cuepipe emulator fault")
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:  # pragma: no cover - the socket is already gone
            pass
    transport.abort()
    # Let the server see the disconnect before the app returns (so it does not try to answer).
    for _ in range(100):
        message = await receive()
        if message["type"] == "http.disconnect":
            return


__all__ = [
    "ADMIN_PATH",
    "KINDS",
    "Decision",
    "Fault",
    "FaultSpecError",
    "Faults",
    "action_key",
    "parse_fault",
    "request_key",
]

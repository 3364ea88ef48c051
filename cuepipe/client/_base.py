"""The logic shared by :class:`~cuepipe.client.Client` and :class:`~cuepipe.client.AsyncClient`.

Every operation (push, pull, jobs...) is written once, as a generator that *yields commands* and
receives their results, in the sans-IO style of the protocol layer:

* an operation yields :class:`Call` (one API action, with how safe it is to repeat), :class:`Sleep`
  and :class:`Emit` (a value for the caller of a streaming operation such as ``iter_pull``);
* :meth:`Engine.interpret` turns each :class:`Call` into :class:`Send` commands, adding the session
  (KS renewal, ``session.start``), retries with backoff where a repeat is safe, redirects for file
  actions and error decoding;
* the sync and async clients only carry out :class:`Send` (one HTTP exchange) and :class:`Sleep`.

So the retry rules, the KS handling and the push/pull algorithms are the same code for both clients.
"""

from __future__ import annotations

import itertools
import logging
import random
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol
from urllib.parse import urljoin, urlsplit

import httpx

from ..kaltura import (
    ANNOTATION_SERVICE,
    CUE_POINT_SERVICE,
    Context,
    InvalidKSError,
    KalturaCuePointFilter,
    KalturaHTTPError,
    Request,
    Response,
    decode_result,
)
from ..kaltura.redact import redact, scrub
from ._auth import Auth
from ._errors import OutcomeUnknownError, TransportError, describe

log = logging.getLogger("cuepipe.client")

# ---------------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Call:
    """One API action. ``build`` makes the request from the current session context, so a repeat
    after a KS renewal carries the new KS and a fresh (re-streamed) upload body.

    ``write``: the action changes data. ``replay_safe``: for a write, a repeat cannot duplicate
    anything (updates by systemName/id, abort, delete), so it may be repeated when its outcome is
    unknown. ``what`` names the call in messages; ``rows``/``entry_id``/``upload`` tie a push
    upload's failure to the input. ``settle_unknown``: when a write's answer is lost, hand the
    failure back to the operation at once instead of repeating it (the request may still be running
    on the server, and a repeat would race it); it is still repeated when it certainly did not run.
    """

    build: Callable[[Context], Request]
    write: bool = False
    replay_safe: bool = False
    what: str = "request"
    rows: tuple[Any, ...] = ()
    entry_id: str | None = None
    upload: int | None = None
    unsafe_reason: str = ""
    settle_unknown: bool = False


@dataclass(frozen=True, slots=True)
class Send:
    """Send ``request`` to ``url`` and return the :class:`Response` (body fully read)."""

    request: Request
    url: str


@dataclass(frozen=True, slots=True)
class Sleep:
    seconds: float


@dataclass(frozen=True, slots=True)
class Emit:
    """A value for the consumer of a streaming operation."""

    value: Any


@dataclass(frozen=True, slots=True)
class Parallel:
    """Run several operations at once; the result is one :class:`Outcome` per operation, in order.

    ``ops`` may be lazy (a generator of operations): an operation is created only when a place is
    free, so nothing of it (an upload's rendering, say) happens earlier than needed. At most
    ``limit`` operations run at a time, each with one request (or sleep) in flight; their code still
    runs in the caller's thread, one step at a time, so the state they share needs no lock.
    ``stop_on_error``: after an operation raises, no new one is started (those running finish).
    A :class:`Parallel` inside one of the operations runs its own operations one after another.
    """

    ops: Iterable[Op]
    limit: int
    stop_on_error: bool = True


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one operation of a :class:`Parallel` ended with: its value, its exception, or not started."""

    value: Any = None
    error: BaseException | None = None
    started: bool = True


@dataclass(frozen=True, slots=True)
class Start:
    """Driver command: start ``command`` (a :class:`Send` or :class:`Sleep`) without waiting for it."""

    key: int
    command: Send | Sleep


@dataclass(frozen=True, slots=True)
class Next:
    """Driver command: wait until one started command is done; the answer is ``(key, value, error)``."""


Op = Generator[Any, Any, Any]

#: The most requests one operation keeps in flight (``concurrency=``), and the automatic choice.
MAX_CONCURRENCY = 16
AUTO_CONCURRENCY = 4
#: An automatic push prepares one upload ahead of the one being written: that hides the client's
#: own work (lookups, rendering, decoding) behind the server's; preparing more ahead only puts more
#: lookups beside the write on the server (measured: benchmarks/results/analysis.md).
AUTO_PUSH_CONCURRENCY = 2
#: An automatic push runs its uploads one at a time below this many cue points: overlapping a
#: couple of uploads saves a fraction of a second, and one at a time creates them in input order.
AUTO_MIN_PUSH = 2_000


def check_concurrency(value: Any) -> int | None:
    """``concurrency=``: ``"auto"`` (None: chosen per operation) or an integer from 1 to :data:`MAX_CONCURRENCY`."""
    if isinstance(value, str) and value == "auto":
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_CONCURRENCY:
        raise ValueError(
            f"concurrency must be 'auto' or an integer from 1 to {MAX_CONCURRENCY} (requests in flight at once), "
            f"not {value!r}"
        )
    return value


#: What ``pull``/``iter_pull``/``count`` accept: a typed filter, a dict of its fields, or None.
Filter = KalturaCuePointFilter | dict[str, Any] | None


class Runner(Protocol):
    """What runs an operation to its result: :class:`~cuepipe.client.Client`. Helpers such as
    ``client.bulk_uploads`` hold one of these rather than the client class, so the modules that
    define operations never import the clients that run them (no import cycle)."""

    def _run(self, op: Op) -> Any: ...


class AsyncRunner(Protocol):
    """The awaitable :class:`Runner`: :class:`~cuepipe.client.AsyncClient`."""

    async def _run(self, op: Op) -> Any: ...


@dataclass(frozen=True, slots=True)
class Progress:
    """What a progress callback receives.

    ``phase`` is ``"push"`` (``done``/``total`` count cue points), ``"pull"`` (cue points fetched;
    ``total`` from the server's ``totalCount`` when known) or ``"wait"`` (polls; ``detail`` is the
    job status). The CLI turns these into rich progress bars. ``entry`` names the entry the step
    was about where there is one (a push upload holds the cue points of one entry), so a caller can
    show progress per entry.
    """

    phase: Literal["push", "pull", "wait"]
    done: int
    total: int | None = None
    detail: str = ""
    entry: str | None = None


ProgressCallback = Callable[[Progress], None]


# ---------------------------------------------------------------------------------------------
# Retries
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Retries:
    """How often and how patiently to repeat a call that may succeed the next time.

    ``max_retries`` repeats after the first attempt; the wait before repeat *n* is a random value
    up to ``backoff * 2**n`` seconds (full jitter), capped at ``max_backoff``.
    """

    max_retries: int = 3
    backoff: float = 0.5
    max_backoff: float = 30.0

    def delay(self, attempt: int) -> float:
        return random.uniform(0, min(self.max_backoff, self.backoff * (2**attempt)))


#: How a failure relates to the server's state.
#: ``not_sent``: the request never reached the server; ``throttled``: refused unprocessed (429);
#: ``unknown``: it may have been processed (timeout, dropped connection, 5xx); ``fatal``: repeating
#: cannot help (4xx, API errors, malformed answers).
Failure = Literal["not_sent", "throttled", "unknown", "fatal"]


def retry_after(response: Response, cap: float) -> float:
    """Seconds a 429/503 asks the client to wait (``Retry-After`` in seconds; dates are ignored), capped."""
    value = response.header("retry-after")
    try:
        seconds = float(value) if value is not None else 0.0
    except ValueError:
        return 0.0
    return min(max(seconds, 0.0), cap) if seconds == seconds else 0.0  # NaN -> 0


def classify(exc: BaseException) -> Failure:
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return "not_sent"
    if isinstance(exc, httpx.TimeoutException | httpx.NetworkError | httpx.RemoteProtocolError):
        return "unknown"
    if isinstance(exc, KalturaHTTPError):
        if exc.status == 429:
            return "throttled"
        return "unknown" if exc.retryable else "fatal"
    return "fatal"


# ---------------------------------------------------------------------------------------------
# Services and URLs
# ---------------------------------------------------------------------------------------------

_SERVICES = {
    "cuepoint": CUE_POINT_SERVICE,
    "cuePoint": CUE_POINT_SERVICE,
    CUE_POINT_SERVICE: CUE_POINT_SERVICE,
    "annotation": ANNOTATION_SERVICE,
    ANNOTATION_SERVICE: ANNOTATION_SERVICE,
}


def cue_point_service(service: str) -> Any:
    """``"cuepoint"`` / ``"annotation"`` (or the wire ids) -> the wire service id."""
    try:
        return _SERVICES[service]
    except (KeyError, TypeError):
        raise ValueError(f"service must be 'cuepoint' or 'annotation', not {service!r}") from None


def normalize_service_url(url: str | None) -> str:
    """``https://www.kaltura.com`` (a trailing ``/`` or ``/api_v3`` is dropped)."""
    from ._errors import ConfigurationError

    if not isinstance(url, str) or not url.strip():
        raise ConfigurationError("service_url is required, e.g. https://www.kaltura.com")
    url = url.strip().rstrip("/")
    if url.endswith("/api_v3"):
        url = url[: -len("/api_v3")]
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(f"service_url must be an http(s) URL, got {redact(url)!r}")
    if parts.query or parts.fragment:
        raise ConfigurationError("service_url must not carry a query string or fragment")
    return url


_REDIRECTS = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 3


def strip_ks_from_url(url: str) -> str:
    """Drop ``/ks/<value>`` path pairs and ``ks=`` query params: the KS then travels in the body."""
    parts = urlsplit(url)
    segments = parts.path.split("/")
    kept: list[str] = []
    i = 0
    while i < len(segments):
        if segments[i].lower() == "ks" and i + 1 < len(segments) and i > 0:
            i += 2
            continue
        kept.append(segments[i])
        i += 1
    query = "&".join(p for p in parts.query.split("&") if p and p.split("=", 1)[0].lower() != "ks")
    return parts._replace(path="/".join(kept), query=query).geturl()


def redirect_target(current_url: str, response: Response) -> str:
    """Where a file action's redirect points (another data center, docs/kaltura-api.md#file-actions), KS removed.

    Refuses a move from https to http, which would send the KS in clear text.
    """
    location = response.header("location")
    if not location:
        raise TransportError(f"HTTP {response.status} redirect without a Location header", sent=True)
    target = urljoin(current_url, location)
    if urlsplit(target).scheme not in ("http", "https"):
        raise TransportError(f"refusing to follow a redirect to {redact(target)}", sent=True)
    if urlsplit(current_url).scheme == "https" and urlsplit(target).scheme != "https":
        raise TransportError(f"refusing to follow a redirect from https to {redact(target)}", sent=True)
    return strip_ks_from_url(target)


# ---------------------------------------------------------------------------------------------
# The engine
# ---------------------------------------------------------------------------------------------


@dataclass
class Engine:
    """Session handling, retries and decoding for :class:`Call` commands (shared by both clients)."""

    service_url: str
    auth: Auth
    retries: Retries = field(default_factory=Retries)

    def scrub(self, text: str) -> str:
        return scrub(text, *self.auth.secrets())

    def interpret(self, op: Op, *, nested: bool = False) -> Generator[Send | Sleep | Emit | Start | Next, Any, Any]:
        """Run an operation, turning its :class:`Call` commands into sends; pass the rest through.

        A :class:`Parallel` becomes :class:`Start`/:class:`Next` commands for the driver (or, inside
        an operation that already runs in parallel, ``nested``, a plain sequence)."""
        value: Any = None
        error: BaseException | None = None
        try:
            while True:
                try:
                    command = op.throw(error) if error is not None else op.send(value)
                except StopIteration as stop:
                    return stop.value
                value, error = None, None
                if isinstance(command, Call):
                    try:
                        value = yield from self.execute(command)
                    except Exception as exc:  # handed to the operation, which may report or re-raise
                        error = exc
                elif isinstance(command, Parallel):
                    if nested or command.limit <= 1:
                        value = yield from self._sequence(command, nested)
                    else:
                        value = yield from self._parallel(command)
                elif isinstance(command, Sleep | Emit):
                    yield command
                else:  # pragma: no cover - programming error inside this package
                    raise TypeError(f"unknown command {command!r}")
        finally:
            op.close()

    def _sequence(self, par: Parallel, nested: bool) -> Generator[Any, Any, list[Outcome]]:
        """A :class:`Parallel` one operation after another (``limit`` 1, or inside a parallel operation)."""
        outcomes: list[Outcome] = []
        failed = False
        for op in par.ops:
            if failed:
                op.close()
                outcomes.append(Outcome(started=False))
                continue
            try:
                outcomes.append(Outcome((yield from self.interpret(op, nested=nested))))
            except Exception as exc:
                outcomes.append(Outcome(error=exc))
                failed = par.stop_on_error
        return outcomes

    def _parallel(self, par: Parallel) -> Generator[Any, Any, list[Outcome]]:
        """Up to ``par.limit`` operations at once: each one's next request is started (:class:`Start`)
        and whichever finishes first (:class:`Next`) moves its operation on to its next request."""
        outcomes: dict[int, Outcome] = {}
        running: dict[int, tuple[Generator[Any, Any, Any], int]] = {}
        keys = itertools.count()
        todo = enumerate(par.ops)
        failed = False

        def step(steps: Generator[Any, Any, Any], index: int, value: Any, error: BaseException | None) -> Any:
            """Drive one operation to its next request (passing its emits up); None when it ended."""
            while True:
                try:
                    command = steps.throw(error) if error is not None else steps.send(value)
                except StopIteration as stop:
                    outcomes[index] = Outcome(stop.value)
                    return None
                except Exception as exc:
                    outcomes[index] = Outcome(error=exc)
                    return None
                value, error = None, None
                if isinstance(command, Emit):
                    yield command
                    continue
                return command

        def advance(steps: Generator[Any, Any, Any], index: int, value: Any, error: BaseException | None) -> Any:
            """Move one operation on: start its next request, or note how it ended (True: it failed
            and ``stop_on_error`` says nothing more may start)."""
            command = yield from step(steps, index, value, error)
            if command is not None:
                key = next(keys)
                running[key] = (steps, index)
                yield Start(key, command)
                return False
            return outcomes[index].error is not None and par.stop_on_error

        try:
            while True:
                while len(running) < par.limit and not failed:
                    nxt = next(todo, None)
                    if nxt is None:
                        break
                    index, op = nxt
                    stopped = yield from advance(self.interpret(op, nested=True), index, None, None)
                    failed = failed or stopped
                if not running:
                    break
                key, value, error = yield Next()
                steps, index = running.pop(key)
                stopped = yield from advance(steps, index, value, error)
                failed = failed or stopped
        finally:
            for steps, _ in running.values():
                steps.close()
        for index, op in todo:  # not started (after a failure)
            op.close()
            outcomes[index] = Outcome(started=False)
        return [outcomes[i] for i in range(len(outcomes))]

    def _ensure_session(self) -> Generator[Send | Sleep, Any, None]:
        auth = self.auth
        if not auth.needs_session():
            return
        if auth.refresh_locally():
            log.debug("built a new KS locally for partner %s", auth.partner_id)
            return
        start = Call(build=lambda _ctx: auth.start_request(), what="session.start")
        ks = yield from self._attempts(start, session=False)
        auth.accept(ks)
        log.debug("started a new session for partner %s", auth.partner_id)

    def execute(self, call: Call) -> Generator[Send | Sleep, Any, Any]:
        """One call: session first, then attempts with renewal on ``INVALID_KS`` and retries."""
        yield from self._ensure_session()
        return (yield from self._attempts(call, session=True))

    def _attempts(self, call: Call, *, session: bool) -> Generator[Send | Sleep, Any, Any]:
        attempt = 0
        renewed = False
        while True:
            ctx = self.auth.context() if session else Context()
            request = call.build(ctx)
            response: Response | None = None
            try:
                response = yield from self._send(request)
                return decode_result(request, response)
            except InvalidKSError as exc:
                # Refused before the action ran: nothing was written, so a repeat is always safe.
                if not session or renewed or not self.auth.can_renew:
                    raise
                log.info("the server refused the KS (%s); getting a new one", exc.reason or exc.code)
                renewed = True
                self.auth.invalidate()
                yield from self._ensure_session()
                continue
            except Exception as exc:
                kind = classify(exc)
                delay = self._retry_delay(call, kind, attempt)
                if delay is not None and response is not None:
                    delay = max(delay, retry_after(response, self.retries.max_backoff))
                if delay is None:
                    final = self._final_error(call, kind, exc)
                    if final is exc:
                        raise
                    raise final from exc
                attempt += 1
                log.warning(
                    "%s failed (%s); retry %d of %d in %.1f s",
                    call.what,
                    self.scrub(describe(exc)),
                    attempt,
                    self.retries.max_retries,
                    delay,
                )
                yield Sleep(delay)

    def _retry_delay(self, call: Call, kind: Failure, attempt: int) -> float | None:
        if kind == "fatal" or attempt >= self.retries.max_retries:
            return None
        # A 429 says "not processed", but a write is repeated only where a repeat cannot duplicate
        # anything, in case something between us and the API answered it after passing it on.
        if kind in ("unknown", "throttled") and call.write and not call.replay_safe:
            return None
        if kind == "unknown" and call.write and call.settle_unknown:
            return None
        return self.retries.delay(attempt)

    def _final_error(self, call: Call, kind: Failure, exc: Exception) -> Exception:
        if kind == "unknown" and call.write:
            reason = (
                call.unsafe_reason
                if not call.replay_safe
                else "the server may still be applying it"
                if call.settle_unknown
                else "retries exhausted"
            )
            return OutcomeUnknownError(
                call.what, exc, rows=call.rows, entry_id=call.entry_id, upload=call.upload, reason=self.scrub(reason)
            )
        if isinstance(exc, httpx.HTTPError):
            return TransportError(self.scrub(f"{call.what} failed: {describe(exc)}"), sent=kind != "not_sent")
        return exc

    def _send(self, request: Request) -> Generator[Send | Sleep, Any, Response]:
        url = request.url(self.service_url)
        for _ in range(MAX_REDIRECTS + 1):
            response: Response = yield Send(request, url)
            if request.returns_file and response.status in _REDIRECTS:
                url = redirect_target(url, response)
                log.debug("following a redirect to %s", redact(url))
                continue
            return response
        raise TransportError(f"more than {MAX_REDIRECTS} redirects for {request.service}.{request.action}", sent=True)

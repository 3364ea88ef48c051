"""The synchronous client."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from concurrent import futures
from typing import Any, Literal

import httpx
import pandas as pd

from .._version import __version__
from ..kaltura import SessionType
from ..kaltura.ks import DEFAULT_EXPIRY, Privileges
from ..kaltura.request import DEFAULT_CLIENT_TAG
from ._base import MAX_CONCURRENCY, Emit, Filter, Next, Op, ProgressCallback, Retries, Send, Sleep, Start
from ._config import ClientBase, settings_from_env
from ._dedupe import dedupe_op
from ._jobs import BulkUploads
from ._pull import Precision, Unservable, pull_op
from ._push import Errors, JournalPath, SettleArg, Unsupported, prepare_push, push_op
from ._transport import DEFAULT_LIMITS, DEFAULT_TIMEOUT, send_sync


class Client(ClientBase):
    """Talk to the Kaltura API about cue points: push, pull, count, get, delete, bulk upload jobs.

    Credentials, one of:

    * ``ks=``: a KS you already have (used as is, never renewed);
    * ``partner_id=`` + ``admin_secret=``: a KS is built locally (no round trip) and rebuilt
      before it expires or when the server refuses it;
    * ``partner_id=`` + ``secret=`` + ``use_session_start=True``: the server's ``session.start``
      makes the KS (admin secret for ``session_type=ADMIN``, user secret for ``USER``).

    ``session_type`` defaults to ADMIN (an admin session sees every user's cue points);
    ``privileges`` (e.g. ``"disableentitlement"``), ``user_id`` and ``session_expiry`` (seconds)
    shape the generated KS. ``timeout``/``limits``/``transport``/``verify`` go to ``httpx.Client``
    (a ``transport=httpx.MockTransport(...)`` makes a test double). ``retries`` is the number of
    repeats of a failed call where repeating is safe, or a :class:`Retries`.

    ``concurrency``: requests a push or pull keeps in flight, ``"auto"`` or 1 to 16. A push writes
    its uploads one at a time, in order (exactly once and ``errors="raise"`` work as without it),
    while the next ``concurrency - 1`` are looked up and rendered beside it; a pull walks that many
    entries (or ``createdAt`` ranges of one entry) at once; its rows come entry by entry (one entry:
    in the sequential order).
    ``"auto"``: 2 for a push of 2,000 cue points or more (one upload prepared ahead), 4 for a pull
    of more than a few pages, else 1 (docs/performance.md#through-the-api).

    The KS and secrets never appear in ``repr``, logs or exception messages. Use as a context
    manager, or call :meth:`close`.
    """

    def __init__(
        self,
        service_url: str,
        *,
        ks: str | None = None,
        partner_id: int | None = None,
        admin_secret: str | None = None,
        secret: str | None = None,
        use_session_start: bool = False,
        user_id: str = "",
        session_type: SessionType | int = SessionType.ADMIN,
        session_expiry: int = DEFAULT_EXPIRY,
        privileges: Privileges = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        limits: httpx.Limits = DEFAULT_LIMITS,
        retries: int | Retries = 3,
        transport: httpx.BaseTransport | None = None,
        verify: bool | str = True,
        client_tag: str = DEFAULT_CLIENT_TAG,
        concurrency: int | Literal["auto"] = "auto",
    ) -> None:
        super().__init__(
            service_url,
            ks=ks,
            partner_id=partner_id,
            admin_secret=admin_secret,
            secret=secret,
            use_session_start=use_session_start,
            user_id=user_id,
            session_type=session_type,
            session_expiry=session_expiry,
            privileges=privileges,
            retries=retries,
            client_tag=client_tag,
            concurrency=concurrency,
        )
        self._http = httpx.Client(
            timeout=timeout,
            limits=limits,
            transport=transport,
            verify=verify,
            follow_redirects=False,
            headers={"User-Agent": f"cuepipe/{__version__}"},
        )
        self._pool: futures.ThreadPoolExecutor | None = None
        self.bulk_uploads = BulkUploads(self)

    @classmethod
    def from_env(cls, **kwargs: Any) -> Client:
        """A client from ``KALTURA_SERVICE_URL``, ``KALTURA_PARTNER_ID`` and ``KALTURA_KS`` or
        ``KALTURA_ADMIN_SECRET``; keyword arguments (not None) override them. A missing or malformed
        variable raises :class:`ConfigurationError` naming it."""
        return cls(**settings_from_env(**kwargs))

    # -- cue points ---------------------------------------------------------------------------

    def push(
        self,
        data: Any,
        *,
        service: str = "cuepoint",
        chunk_size: int = 500,
        unsupported: Unsupported = "error",
        errors: Errors = "raise",
        detect_actions: bool = True,
        progress: ProgressCallback | None = None,
        journal: JournalPath = None,
        settle: SettleArg = None,
    ) -> pd.DataFrame:
        """Create or update cue points with ``addFromBulk``; return one result row per input row.

        ``data``: a DataFrame, an iterable of records (dicts keyed by API field names), a path to an
        XML/CSV/Parquet/JSON Lines file, or XML bytes. Each upload holds at most ``chunk_size`` cue
        points of a single entry (parents and their ``parentSystemName`` children stay together).
        A cue point with a ``systemName`` (or the ``id`` of an existing one) updates it, otherwise
        a new one is created (docs/format-notes.md#insert-or-update).

        The result is indexed like the input and has ``cuePointType``, ``entryId``, ``systemName``,
        ``startTime``, the server ``id``, ``action`` (created, updated, skipped, failed, unknown,
        not_sent), ``upload`` (number) and ``error``. ``detect_actions`` looks the names and ids up
        before each upload (one ``list`` call) to tell created from updated and to know when a
        repeat is safe.

        ``errors="raise"`` stops at the first failed upload with :class:`PushError` (its
        ``.rows``, ``.result``); ``"collect"`` records the failure in the rows and goes on.
        An upload whose outcome is unknown is sent again only when that cannot duplicate anything
        (every cue point has a systemName or a known id); otherwise :class:`OutcomeUnknownError`.
        Input values the ingest format cannot carry raise :class:`~cuepipe.CuePointValueError`
        before anything is sent (``unsupported="ignore"`` leaves such values out instead).

        An upload whose answer is lost (timeout, dropped connection, HTTP 5xx) is never simply sent
        again: the request may still be running on the server and would race the repeat. The entry
        is watched with ``list`` until the upload's cue points stop changing for ``settle`` seconds
        (default 10; a number or a :class:`~cuepipe.client.Settle`), only the cue points that did not
        land are sent again, and copies a racing request inserted are deleted (the oldest is kept).
        ``result.attrs["recoveries"]`` says per upload what had landed, what was re-sent and what was
        deleted; ``attrs["unsettled_entries"]`` lists entries where a watch gave up while the entry was
        still changing (late duplicates possible: ``dedupe`` finds them). An upload the server stops
        part-way (an error after K scenes) raises :class:`PushError` with ``saved_rows``,
        ``failed_row``, ``reason`` and ``unsaved_rows`` / ``unknown_rows``.

        ``journal``: a file path (SQLite) that makes the push resumable and exactly once. Every
        upload's state is recorded durably before it is sent and when it is confirmed; running the
        same push again with the same journal (after a crash, ``kill -9``, a lost connection or an
        expired KS) skips confirmed uploads, finds out with ``list`` what an interrupted one wrote,
        and sends only the rest. It needs a ``systemName`` (or an existing ``id``) on every cue
        point, and it belongs to one input and one target: a journal written for different data
        (values, order, ``chunk_size``...) or another service URL/partner raises
        :class:`~cuepipe.client.JournalMismatchError` before anything is sent. One journal file
        per concurrent push (a second opener gets :class:`~cuepipe.client.JournalBusyError`); a
        journal turns ``detect_actions`` on (the lookups are what an interrupted upload is checked against).
        ``result.attrs`` has ``uploads``, ``resumed`` (taken from the journal) and ``recovered``.
        """
        plan, opened = prepare_push(
            self._engine,
            data,
            service=service,
            chunk_size=chunk_size,
            unsupported=unsupported,
            errors=errors,
            detect_actions=detect_actions,
            journal=journal,
            settle=settle,
            concurrency=self._concurrency,
        )
        try:
            return self._run(push_op(plan, progress, opened))
        finally:
            if opened is not None:
                opened.close()

    def iter_pull(
        self,
        filter: Filter = None,
        *,
        service: str = "cuepoint",
        precision: Precision = "tenths",
        page_size: int = 500,
        unservable: Unservable = "error",
        extra_columns: bool = False,
        progress: ProgressCallback | None = None,
    ) -> Iterator[pd.DataFrame]:
        """Like :meth:`pull`, one DataFrame per page, fetched as you iterate."""
        spec = self._pull_spec(filter, service, precision, page_size, unservable, extra_columns)
        return self._iterate(pull_op(spec, progress))

    def pull(
        self,
        filter: Filter = None,
        *,
        service: str = "cuepoint",
        precision: Precision = "tenths",
        page_size: int = 500,
        unservable: Unservable = "error",
        extra_columns: bool = False,
        progress: ProgressCallback | None = None,
    ) -> pd.DataFrame:
        """Every cue point matching ``filter``, as a DataFrame with cuepipe's columns.

        ``filter``: a typed filter (:class:`~cuepipe.kaltura.KalturaAnnotationFilter`, ...) or a dict
        of its fields, e.g. ``{"entryIdEqual": "0_abc"}``. ``precision="tenths"`` reads ``serveBulk``
        (what the server serves: tenths of a second; thumb cue points, questions with answers and
        event cue points cannot be served, see ``unservable``: ``"error"``, ``"skip"``, or
        ``"list"`` to take them from ``list``); ``"ms"`` reads ``list`` (exact milliseconds; needs an
        entry or id filter; ``extra_columns=True`` adds status, createdAt, ...).

        Paging: the 500-per-page cap is passed by reading ``list`` in a fixed order
        (``+createdAt,+intId``) with a moving ``createdAtGreaterThanOrEqual`` bound, dropping
        repeats by id; tenths then serve each page's ids. With the client's ``concurrency``, several
        entries (rows then come entry by entry) or creation-time ranges of one entry (same order) are
        walked at once. Pages are separate requests, not a
        snapshot: cue points created, updated or deleted while a pull runs may appear in their old
        or new state or not at all (never twice). Pause writers to the entries for an exact copy.
        """
        return self._concat(
            list(
                self.iter_pull(
                    filter,
                    service=service,
                    precision=precision,
                    page_size=page_size,
                    unservable=unservable,
                    extra_columns=extra_columns,
                    progress=progress,
                )
            )
        )

    def count(self, filter: Filter = None, *, service: str = "cuepoint") -> int:
        """How many cue points match (any filter; none counts the whole partner)."""
        return self._run(self._count_op(filter, service))

    def get(self, id: str, *, service: str = "cuepoint") -> dict[str, Any]:
        """One cue point as a record (API field names, exact milliseconds)."""
        return self._run(self._get_op(id, service))

    def delete(self, ids: str | Iterable[str], *, service: str = "cuepoint", missing_ok: bool = False) -> list[str]:
        """Delete cue points (a soft delete on the server); returns the ids deleted.

        ``missing_ok`` ignores ids that do not exist (or were already deleted).
        """
        return self._run(self._delete_op(ids, service, missing_ok))

    # -- lifecycle ----------------------------------------------------------------------------

    def dedupe(self, entry_ids: str | Iterable[str], *, dry_run: bool = True) -> pd.DataFrame:
        """Find cue points that share a systemName on an entry and, with ``dry_run=False``, delete the copies.

        Per key the oldest copy is kept (the one the server resolves the systemName to); copies of
        another type or with children are left and reported; a key with one cue point is never
        touched. Returns one row per cue point of a duplicated key: ``entryId``, ``systemName``,
        ``cuePointType``, ``id``, ``intId``, ``createdAt``, ``action`` (keep, delete in a dry run,
        deleted, left) and ``reason``. CLI: ``cuepipe dedupe --entry-id ... [--yes]``.
        """
        return self._run(dedupe_op(entry_ids, dry_run=dry_run))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the driver ---------------------------------------------------------------------------

    def _perform(self, command: Send | Sleep) -> Any:
        if isinstance(command, Send):
            return send_sync(self._http, command)
        time.sleep(command.seconds)
        return None

    def _iterate(self, op: Op) -> Iterator[Any]:
        steps = self._engine.interpret(op)
        value: Any = None
        error: BaseException | None = None
        started: dict[futures.Future[Any], int] = {}  # commands of parallel operations, in worker threads
        try:
            while True:
                try:
                    command = steps.throw(error) if error is not None else steps.send(value)
                except StopIteration as stop:
                    return stop.value
                value, error = None, None
                if isinstance(command, Send):
                    try:
                        value = send_sync(self._http, command)
                    except httpx.HTTPError as exc:
                        error = exc
                elif isinstance(command, Sleep):
                    time.sleep(command.seconds)
                elif isinstance(command, Emit):
                    yield command.value
                elif isinstance(command, Start):
                    started[self._workers().submit(self._perform, command.command)] = command.key
                elif isinstance(command, Next):
                    done = next(iter(futures.wait(started, return_when=futures.FIRST_COMPLETED).done))
                    key = started.pop(done)
                    failure = done.exception()
                    if failure is None:
                        value = (key, done.result(), None)
                    elif isinstance(failure, httpx.HTTPError):
                        value = (key, None, failure)
                    else:
                        raise failure
        finally:
            steps.close()
            for future in started:  # an HTTP exchange under way cannot be taken back: let it end
                future.cancel()

    def _workers(self) -> futures.ThreadPoolExecutor:
        """Threads that carry out the requests of parallel operations (only the HTTP exchange runs
        there; the operations' own code stays in the calling thread)."""
        if self._pool is None:
            self._pool = futures.ThreadPoolExecutor(max_workers=MAX_CONCURRENCY, thread_name_prefix="cuepipe-http")
        return self._pool

    def _run(self, op: Op) -> Any:
        steps = self._iterate(op)
        while True:
            try:
                next(steps)
            except StopIteration as stop:
                return stop.value

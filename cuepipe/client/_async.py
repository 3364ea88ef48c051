"""The asynchronous client: the same operations as :class:`~cuepipe.client.Client`, awaitable."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from typing import Any, Literal

import httpx
import pandas as pd

from .._version import __version__
from ..kaltura import SessionType
from ..kaltura.ks import DEFAULT_EXPIRY, Privileges
from ..kaltura.request import DEFAULT_CLIENT_TAG
from ._base import Emit, Filter, Next, Op, ProgressCallback, Retries, Send, Sleep, Start
from ._config import ClientBase, settings_from_env
from ._dedupe import dedupe_op
from ._jobs import AsyncBulkUploads
from ._pull import Precision, Unservable, pull_op
from ._push import Errors, JournalPath, SettleArg, Unsupported, prepare_push, push_op
from ._transport import DEFAULT_LIMITS, DEFAULT_TIMEOUT, send_async


class AsyncClient(ClientBase):
    """:class:`~cuepipe.client.Client` for asyncio: the same arguments and methods, awaitable;
    :meth:`iter_pull` is an async iterator. Use ``async with``, or ``await client.aclose()``.

    Preparing a push (reading and converting the whole input) runs in a worker thread; rendering one
    upload's XML and parsing one page of served XML are done on the event loop, an upload or a page
    at a time.
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
        transport: httpx.AsyncBaseTransport | None = None,
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
        self._http = httpx.AsyncClient(
            timeout=timeout,
            limits=limits,
            transport=transport,
            verify=verify,
            follow_redirects=False,
            headers={"User-Agent": f"cuepipe/{__version__}"},
        )
        self.bulk_uploads = AsyncBulkUploads(self)

    @classmethod
    def from_env(cls, **kwargs: Any) -> AsyncClient:
        """See :meth:`Client.from_env`."""
        return cls(**settings_from_env(**kwargs))

    async def push(
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
        """See :meth:`Client.push` (``journal`` included: its small SQLite writes run on the event loop).

        Reading the input, checking and converting every record and sizing the uploads is CPU and
        file work proportional to the whole input, so it runs in a worker thread: the event loop
        keeps serving other tasks meanwhile. Do not change ``data`` from another task until the
        push returns.
        """
        plan, opened = await asyncio.to_thread(
            prepare_push,
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
            return await self._run(push_op(plan, progress, opened))
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
    ) -> AsyncIterator[pd.DataFrame]:
        """See :meth:`Client.iter_pull`; ``async for frame in client.iter_pull(...)``."""
        spec = self._pull_spec(filter, service, precision, page_size, unservable, extra_columns)
        return self._iterate(pull_op(spec, progress))

    async def pull(
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
        """See :meth:`Client.pull`."""
        pages = [
            frame
            async for frame in self.iter_pull(
                filter,
                service=service,
                precision=precision,
                page_size=page_size,
                unservable=unservable,
                extra_columns=extra_columns,
                progress=progress,
            )
        ]
        return self._concat(pages)

    async def count(self, filter: Filter = None, *, service: str = "cuepoint") -> int:
        """See :meth:`Client.count`."""
        return await self._run(self._count_op(filter, service))

    async def get(self, id: str, *, service: str = "cuepoint") -> dict[str, Any]:
        """See :meth:`Client.get`."""
        return await self._run(self._get_op(id, service))

    async def delete(
        self, ids: str | Iterable[str], *, service: str = "cuepoint", missing_ok: bool = False
    ) -> list[str]:
        """See :meth:`Client.delete`."""
        return await self._run(self._delete_op(ids, service, missing_ok))

    async def dedupe(self, entry_ids: str | Iterable[str], *, dry_run: bool = True) -> pd.DataFrame:
        """See :meth:`Client.dedupe`."""
        return await self._run(dedupe_op(entry_ids, dry_run=dry_run))

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- the driver ---------------------------------------------------------------------------

    async def _perform(self, command: Send | Sleep) -> Any:
        if isinstance(command, Send):
            return await send_async(self._http, command)
        await asyncio.sleep(command.seconds)
        return None

    async def _step(self, command: Any, started: dict[asyncio.Task[Any], int]) -> tuple[Any, BaseException | None]:
        if isinstance(command, Send):
            try:
                return await send_async(self._http, command), None
            except httpx.HTTPError as exc:
                return None, exc
        if isinstance(command, Sleep):
            await asyncio.sleep(command.seconds)
        elif isinstance(command, Start):
            started[asyncio.ensure_future(self._perform(command.command))] = command.key
        elif isinstance(command, Next):
            finished, _ = await asyncio.wait(started, return_when=asyncio.FIRST_COMPLETED)
            done = next(iter(finished))
            key = started.pop(done)
            failure = done.exception()
            if failure is None:
                return (key, done.result(), None), None
            if isinstance(failure, httpx.HTTPError):
                return (key, None, failure), None
            raise failure
        return None, None

    @staticmethod
    async def _cancel(started: dict[asyncio.Task[Any], int]) -> None:
        for task in started:
            task.cancel()
        if started:
            await asyncio.gather(*started, return_exceptions=True)

    async def _iterate(self, op: Op) -> AsyncIterator[Any]:
        steps = self._engine.interpret(op)
        value: Any = None
        error: BaseException | None = None
        started: dict[asyncio.Task[Any], int] = {}  # commands of parallel operations
        try:
            while True:
                try:
                    command = steps.throw(error) if error is not None else steps.send(value)
                except StopIteration:
                    return
                if isinstance(command, Emit):
                    value, error = None, None
                    yield command.value
                else:
                    value, error = await self._step(command, started)
        finally:
            steps.close()
            await self._cancel(started)

    async def _run(self, op: Op) -> Any:
        steps = self._engine.interpret(op)
        value: Any = None
        error: BaseException | None = None
        started: dict[asyncio.Task[Any], int] = {}
        try:
            while True:
                try:
                    command = steps.throw(error) if error is not None else steps.send(value)
                except StopIteration as stop:
                    return stop.value
                value, error = await self._step(command, started)
        finally:
            steps.close()
            await self._cancel(started)

"""Bulk upload jobs (``bulkupload_bulk``): submit an XML (MRSS) bulk file, follow the job, read its log.

``client.bulk_uploads`` is a :class:`BulkUploads` (``AsyncBulkUploads`` on the async client); the
operations are written once here and run by either client.

Submitting is never repeated automatically once the request may have reached the server: a second
``addEntries`` would start a second job. Reads (``get``/``list``/``serve``/``serveLog``) retry on
connection errors, 5xx and 429; ``abort`` too (aborting twice is harmless).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping
from typing import Any, Literal

from ..kaltura import (
    BULK_SERVICE,
    BulkUpload,
    KalturaBulkUploadFilter,
    KalturaBulkUploadJobData,
    KalturaBulkUploadXmlJobData,
    KalturaFilterPager,
    ListPage,
    bulk_upload_abort,
    bulk_upload_add_entries,
    bulk_upload_get,
    bulk_upload_list,
    bulk_upload_serve,
    bulk_upload_serve_log,
)
from ..kaltura.filters import MAX_PAGE_SIZE
from ._base import AsyncRunner, Call, Op, Progress, ProgressCallback, Runner, Sleep
from ._errors import JobTimeoutError

Via = Literal["bulk", "media"]
_CHUNK = 1 << 16


def _job_id(value: Any) -> int:
    if isinstance(value, BulkUpload):
        return value.id
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"a bulk upload id is an int, got {type(value).__name__} {value!r}")
    return value


def _file_chunks(path: str) -> Iterator[bytes]:
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            yield chunk


def submit_op(
    source: str | os.PathLike[str] | bytes, *, filename: str | None, job_data: KalturaBulkUploadJobData | None, via: Via
) -> Op:
    if via not in ("bulk", "media"):
        raise ValueError(
            f"via must be 'bulk' (bulkupload_bulk.addEntries) or 'media' (media.bulkUploadAdd), not {via!r}"
        )
    data = job_data if job_data is not None else KalturaBulkUploadXmlJobData()
    if isinstance(source, str | os.PathLike):
        path = os.fspath(source)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"no such file: {path}")
        size: int | None = os.path.getsize(path)
        name = filename or os.path.basename(path)

        def content() -> Any:
            return _file_chunks(path)
    elif isinstance(source, bytes | bytearray | memoryview):
        payload = bytes(source)
        size, name = len(payload), filename or "bulk_upload.xml"

        def content() -> Any:
            return payload
    else:
        raise TypeError(f"submit takes a path or bytes, not {type(source).__name__}")
    job: BulkUpload = yield Call(
        build=lambda ctx: bulk_upload_add_entries(
            ctx, content(), filename=name, size=size, job_data=data, via_media_alias=via == "media"
        ),
        write=True,
        replay_safe=False,
        what=f"bulk upload of {name}",
        unsafe_reason="sending it again could start a second job; look for it with bulk_uploads.list()",
    )
    return job


def get_op(job_id: int) -> Op:
    job: BulkUpload = yield Call(build=lambda ctx: bulk_upload_get(ctx, job_id), what=f"{BULK_SERVICE}.get")
    return job


def list_op(flt: Any, page_size: int, page_index: int) -> Op:
    if isinstance(flt, Mapping):
        flt = KalturaBulkUploadFilter(**flt)
    if flt is not None and not isinstance(flt, KalturaBulkUploadFilter):
        raise TypeError(f"filter must be a KalturaBulkUploadFilter or a dict of its fields, not {type(flt).__name__}")
    pager = KalturaFilterPager(pageSize=page_size, pageIndex=page_index)
    page: ListPage[BulkUpload] = yield Call(
        build=lambda ctx: bulk_upload_list(ctx, flt, pager), what=f"{BULK_SERVICE}.list"
    )
    return page


def abort_op(job_id: int) -> Op:
    job: BulkUpload = yield Call(
        build=lambda ctx: bulk_upload_abort(ctx, job_id), write=True, replay_safe=True, what=f"{BULK_SERVICE}.abort"
    )
    return job


def serve_op(job_id: int, log: bool) -> Op:
    build = bulk_upload_serve_log if log else bulk_upload_serve
    body: bytes = yield Call(
        build=lambda ctx: build(ctx, job_id), what=f"{BULK_SERVICE}.{'serveLog' if log else 'serve'}"
    )
    return body


def wait_op(job_id: int, timeout: float, poll_interval: float, progress: ProgressCallback | None) -> Op:
    if timeout <= 0 or poll_interval <= 0:
        raise ValueError("timeout and poll_interval must be positive")
    deadline = time.monotonic() + timeout
    polls = 0
    while True:
        job: BulkUpload = yield from get_op(job_id)
        polls += 1
        if progress is not None:
            progress(Progress("wait", polls, None, str(getattr(job.status, "name", job.status))))
        if job.done:
            return job
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise JobTimeoutError(job_id, timeout, job)
        yield Sleep(min(poll_interval, remaining))


_PAGE = "page_size must be 1..500"


class BulkUploads:
    """Bulk upload jobs through :class:`~cuepipe.client.Client` (``client.bulk_uploads``)."""

    def __init__(self, client: Runner) -> None:
        self._client = client

    def submit(
        self,
        source: str | os.PathLike[str] | bytes,
        *,
        filename: str | None = None,
        job_data: KalturaBulkUploadJobData | None = None,
        via: Via = "bulk",
    ) -> BulkUpload:
        """Start a job from an XML bulk file (path, streamed) or bytes; returns it (usually PENDING).

        ``job_data`` defaults to :class:`~cuepipe.kaltura.KalturaBulkUploadXmlJobData` (the XML engine);
        ``via="media"`` sends the same call as ``media.bulkUploadAdd``, its alias (docs/kaltura-api.md#action-aliases).
        """
        return self._client._run(submit_op(source, filename=filename, job_data=job_data, via=via))

    def get(self, job_id: int) -> BulkUpload:
        return self._client._run(get_op(_job_id(job_id)))

    def list(
        self,
        filter: KalturaBulkUploadFilter | Mapping[str, Any] | None = None,
        *,
        page_size: int = 30,
        page_index: int = 1,
    ) -> ListPage[BulkUpload]:
        """One page of jobs, newest first (the server leaves aborted jobs out)."""
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(_PAGE)
        return self._client._run(list_op(filter, page_size, page_index))

    def wait(
        self,
        job_id: int,
        *,
        timeout: float = 600.0,
        poll_interval: float = 2.0,
        progress: ProgressCallback | None = None,
    ) -> BulkUpload:
        """Poll until the job reaches a final state and return it; check ``.succeeded`` / ``.status``.

        Raises :class:`~cuepipe.client.JobTimeoutError` (with ``.job``, the last state) after ``timeout``.
        """
        return self._client._run(wait_op(_job_id(job_id), timeout, poll_interval, progress))

    def abort(self, job_id: int) -> BulkUpload:
        return self._client._run(abort_op(_job_id(job_id)))

    def serve(self, job_id: int) -> bytes:
        """The file that was uploaded."""
        return self._client._run(serve_op(_job_id(job_id), log=False))

    def serve_log(self, job_id: int) -> bytes:
        """The job's result log (the result MRSS for XML jobs); ``BulkUploadLogNotReadyError`` before any result."""
        return self._client._run(serve_op(_job_id(job_id), log=True))


class AsyncBulkUploads:
    """The same as :class:`BulkUploads`, awaitable (``AsyncClient.bulk_uploads``)."""

    def __init__(self, client: AsyncRunner) -> None:
        self._client = client

    async def submit(
        self,
        source: str | os.PathLike[str] | bytes,
        *,
        filename: str | None = None,
        job_data: KalturaBulkUploadJobData | None = None,
        via: Via = "bulk",
    ) -> BulkUpload:
        return await self._client._run(submit_op(source, filename=filename, job_data=job_data, via=via))

    async def get(self, job_id: int) -> BulkUpload:
        return await self._client._run(get_op(_job_id(job_id)))

    async def list(
        self,
        filter: KalturaBulkUploadFilter | Mapping[str, Any] | None = None,
        *,
        page_size: int = 30,
        page_index: int = 1,
    ) -> ListPage[BulkUpload]:
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(_PAGE)
        return await self._client._run(list_op(filter, page_size, page_index))

    async def wait(
        self,
        job_id: int,
        *,
        timeout: float = 600.0,
        poll_interval: float = 2.0,
        progress: ProgressCallback | None = None,
    ) -> BulkUpload:
        return await self._client._run(wait_op(_job_id(job_id), timeout, poll_interval, progress))

    async def abort(self, job_id: int) -> BulkUpload:
        return await self._client._run(abort_op(_job_id(job_id)))

    async def serve(self, job_id: int) -> bytes:
        return await self._client._run(serve_op(_job_id(job_id), log=False))

    async def serve_log(self, job_id: int) -> bytes:
        return await self._client._run(serve_op(_job_id(job_id), log=True))

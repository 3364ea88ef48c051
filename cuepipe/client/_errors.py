"""Errors the client raises on top of the protocol layer's (:mod:`cuepipe.kaltura.errors`).

Every message here is built from redacted parts: no KS, admin secret or secret-bearing URL ever
reaches ``str(exc)`` or ``repr(exc)``.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING

from ..kaltura.errors import KalturaError
from ..kaltura.redact import redact

if TYPE_CHECKING:
    import pandas as pd

    from ..kaltura.responses import BulkUpload


class ClientError(KalturaError):
    """Base class of the errors the HTTP client adds (configuration, transport, push, jobs)."""


class ConfigurationError(ClientError, ValueError):
    """The client was built with missing or contradictory settings (service URL, credentials)."""


class FilterError(ClientError, ValueError):
    """A filter the server would refuse for this action, caught before any request is sent."""


class TransportError(ClientError):
    """The server could not be reached or the connection broke; ``__cause__`` is the httpx error.

    ``sent`` is False when the request certainly never reached the server (connect failure).
    """

    def __init__(self, message: str, *, sent: bool) -> None:
        self.sent = sent
        super().__init__(redact(message))


def _rows_text(rows: Sequence[Hashable]) -> str:
    shown = ", ".join(str(r) for r in rows[:10])
    return shown + (f" and {len(rows) - 10} more" if len(rows) > 10 else "")


class OutcomeUnknownError(ClientError):
    """A write was sent but its answer never arrived: the server may or may not have applied it.

    Raised instead of retrying when a repeat could create duplicates (cue points without a
    ``systemName`` or an id known to the server; a bulk upload job). ``rows`` are the input rows
    of the affected upload, when the write was a push.
    """

    def __init__(
        self,
        what: str,
        cause: BaseException,
        *,
        rows: Sequence[Hashable] = (),
        entry_id: str | None = None,
        upload: int | None = None,
        reason: str = "",
    ) -> None:
        self.what = what
        self.rows = list(rows)
        self.entry_id = entry_id
        self.upload = upload
        detail = f" ({reason})" if reason else ""
        text = f"outcome of {what} is unknown: {type(cause).__name__}: {cause}{detail}."
        if self.rows:
            text += (
                f" Input rows {_rows_text(self.rows)} may or may not have been written; check with pull() "
                "before sending them again, or give every cue point a systemName so a repeat updates instead "
                "of duplicating"
            )
        super().__init__(redact(text))


class PushError(ClientError):
    """One upload of a push failed. ``rows``: its input rows; ``result``: the push result so far.

    ``cause`` is the underlying error (an API error such as ``INVALID_ENTRY_ID``, or
    :class:`OutcomeUnknownError`). Rows of earlier uploads that succeeded are in ``result`` with
    their server ids; rows of later uploads have action ``not_sent``.
    """

    def __init__(
        self,
        upload: int,
        entry_id: str,
        rows: Sequence[Hashable],
        cause: BaseException,
        result: pd.DataFrame | None = None,
    ) -> None:
        self.upload = upload
        self.entry_id = entry_id
        self.rows = list(rows)
        self.cause = cause
        self.result = result
        super().__init__(
            redact(f"upload {upload} (entry {entry_id}, input rows {_rows_text(self.rows)}) failed: {cause}")
        )


class JobTimeoutError(ClientError, TimeoutError):
    """A bulk upload job did not reach a final state in time; ``job`` is its last known state."""

    def __init__(self, job_id: int, timeout: float, job: BulkUpload | None) -> None:
        self.job_id = job_id
        self.job = job
        self.timeout = timeout
        status = getattr(job.status, "name", job.status) if job is not None else "unknown"
        super().__init__(f"bulk upload {job_id} is still {status} after {timeout:g} s")


class UnservableError(ClientError):
    """``serveBulk`` cannot serve some of the requested cue points (docs/format-notes.md#what-servebulk-cannot-serve).

    ``counts`` maps cue point type to how many were found. Pull them with ``precision="ms"``, or
    pass ``unservable="skip"`` / ``"list"``.
    """

    def __init__(self, counts: dict[str, int], *, example_ids: Sequence[str] = ()) -> None:
        self.counts = dict(counts)
        self.example_ids = list(example_ids)
        listing = ", ".join(f"{n} {t}" for t, n in sorted(counts.items()))
        super().__init__(
            f"serveBulk cannot serve {listing} cue point(s): the server's serve output fails its own schema for "
            "thumb cue points and quiz questions with answers, and leaves event cue points out "
            "(docs/format-notes.md#what-servebulk-cannot-serve). "
            "Use precision='ms', or unservable='skip' (leave them out) or 'list' (take them from list, exact "
            "milliseconds)"
        )


def describe(exc: BaseException) -> str:
    """``Type: message`` for logs, redacted."""
    return redact(f"{type(exc).__name__}: {exc}")


__all__ = [
    "ClientError",
    "ConfigurationError",
    "FilterError",
    "JobTimeoutError",
    "OutcomeUnknownError",
    "PushError",
    "TransportError",
    "UnservableError",
    "describe",
]

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


def row_ranges(rows: Sequence[Hashable], limit: int = 10) -> str:
    """``0-39, 41, 45-99`` for runs of consecutive integers; other labels listed; at most ``limit`` parts."""
    parts: list[str] = []
    run: list[int] = []

    def flush() -> None:
        if run:
            parts.append(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}")
            run.clear()

    for row in rows:
        if isinstance(row, int) and not isinstance(row, bool) and run and row == run[-1] + 1:
            run.append(row)
            continue
        flush()
        if isinstance(row, int) and not isinstance(row, bool):
            run.append(row)
        else:
            parts.append(str(row))
    flush()
    shown = ", ".join(parts[:limit])
    return shown + (f" and {len(parts) - limit} more ranges" if len(parts) > limit else "")


class UploadFailedError(ClientError):
    """The server stopped part-way through an upload: what is known about each of its rows.

    Raised inside a push (and wrapped in :class:`PushError`, which carries the same fields).
    ``saved_rows`` were saved (``saved_ids``: their server ids where known), ``failed_row`` is the
    row the server stopped at (``failed_type``, and ``reason`` when a usual cause was found on the
    server), ``unsaved_rows`` were not saved, ``unknown_rows`` may or may not have been.
    """

    def __init__(
        self,
        cause: BaseException,
        *,
        saved_rows: Sequence[Hashable] = (),
        saved_ids: dict[Hashable, str] | None = None,
        failed_row: Hashable | None = None,
        failed_type: str | None = None,
        reason: str | None = None,
        unsaved_rows: Sequence[Hashable] = (),
        unknown_rows: Sequence[Hashable] = (),
    ) -> None:
        self.cause = cause
        self.saved_rows = list(saved_rows)
        self.saved_ids = dict(saved_ids or {})
        self.failed_row = failed_row
        self.failed_type = failed_type
        self.reason = reason
        self.unsaved_rows = list(unsaved_rows)
        self.unknown_rows = list(unknown_rows)
        self.__cause__ = cause
        super().__init__(redact("; ".join(self.lines())))

    def lines(self) -> list[str]:
        """One line per fact, each of bounded length (what the CLI prints)."""
        out = [f"the server answered {describe(self.cause)}"]
        if self.failed_row is None:
            out.append(
                f"outcome unknown for rows {row_ranges(self.unknown_rows)}: they may or may not have been saved; "
                "check with pull() before sending them again, or give every cue point a systemName so a repeat "
                "updates instead of duplicating"
            )
            return out
        saved = row_ranges(self.saved_rows) if self.saved_rows else "none"
        out.append(f"saved: {len(self.saved_rows)} row(s) before it ({saved})")
        kind = f" ({self.failed_type})" if self.failed_type else ""
        why = self.reason or "no usual cause found (question or parent missing); check its values"
        out.append(f"failed: row {self.failed_row}{kind}: {why}")
        if self.unsaved_rows:
            out.append(f"not saved: {len(self.unsaved_rows)} row(s) after it ({row_ranges(self.unsaved_rows)})")
        return out


class PushError(ClientError):
    """One upload of a push failed. ``rows``: its input rows; ``result``: the push result so far.

    ``cause`` is the underlying error (an API error such as ``INVALID_ENTRY_ID``,
    :class:`OutcomeUnknownError`, or :class:`UploadFailedError` when the server stopped part-way).
    Rows of earlier uploads that succeeded are in ``result`` with their server ids; rows of later
    uploads have action ``not_sent``. What is known of this upload's rows: ``saved_rows``,
    ``failed_row`` (with ``reason`` when a usual cause was found), ``unsaved_rows`` and
    ``unknown_rows`` (may or may not have been written).
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
        detail = cause if isinstance(cause, UploadFailedError) else None
        self.saved_rows: list[Hashable] = detail.saved_rows if detail else []
        self.failed_row: Hashable | None = detail.failed_row if detail else None
        self.reason: str | None = detail.reason if detail else None
        self.unsaved_rows: list[Hashable] = detail.unsaved_rows if detail else []
        if detail is not None:
            self.unknown_rows: list[Hashable] = detail.unknown_rows
        elif isinstance(cause, OutcomeUnknownError):
            self.unknown_rows = list(cause.rows) or list(rows)
        else:
            self.unknown_rows = []
        super().__init__(redact(f"{self.headline()}: {cause}"))

    def headline(self) -> str:
        return f"upload {self.upload} (entry {self.entry_id}, input rows {row_ranges(self.rows, limit=4)}) failed"

    def lines(self) -> list[str]:
        """The error as short lines: the headline, then one line per fact (what the CLI prints)."""
        if isinstance(self.cause, UploadFailedError):
            out = [self.headline(), *(redact(line) for line in self.cause.lines())]
        else:
            out = [redact(f"{self.headline()}: {self.cause}")]
        if self.result is not None and "action" in self.result:
            later = int((self.result["action"] == "not_sent").sum())
            if later:
                out.append(f"not sent: {later} row(s) of later uploads (nothing was sent for them)")
        return out


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
    "UploadFailedError",
    "describe",
    "row_ranges",
]

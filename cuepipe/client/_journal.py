"""The push journal: a small SQLite file that makes ``push(..., journal=PATH)`` resumable, exactly once.

A migration runs for hours; the process may be killed at any moment. The journal records, durably
and *before* the effect it describes, where every upload of the push stands:

``pending``
    planned, never sent;
``sending``
    the intent to send, written (with what the pre-upload ``list`` found: ``before``) before the
    first byte goes out. An upload found in this state by the next run was in flight when the
    previous one stopped: it may or may not have landed, in whole or in part;
``confirmed``
    the server's answer arrived; the server ids and actions of its cue points are stored, so a re-run
    returns them without asking the server again;
``failed``
    refused in a way that wrote nothing (an unknown entry, an invalid file): tried again next run.

**Someone else's file.** A path that already holds something else (another application's SQLite
database, any other file) is refused *before* anything is written to it: the file is first looked at
read-only (:func:`cuepipe._sqlite.inspect`: SQLite header, ``application_id``, tables), and only a
journal (``application_id`` :data:`APPLICATION_ID`, or a journal written before it was set) or an
empty database is opened read-write.

Schema (``PRAGMA user_version`` = :data:`FORMAT`, ``PRAGMA application_id`` = :data:`APPLICATION_ID`)::

    meta(key TEXT PRIMARY KEY, value TEXT)           -- fingerprint, target, uploads, created, cuepipe
    uploads(number INTEGER PRIMARY KEY, entry_id, digest, cue_points, state, attempts,
            before JSON, result JSON, error, updated_at)

**Input changes.** The journal belongs to one input and one target. Its *fingerprint* is the SHA-256
of the service and of every planned upload (number, entry, cue point count and the SHA-256 of the
exact XML that is sent), so any change of a value, of the row order, of ``chunk_size`` or of
``unsupported`` changes it; the *target* is the service URL and partner id. Opening a journal with a
different fingerprint or target raises :class:`JournalMismatchError` and touches nothing: confirmed
uploads of another input must not be skipped, nor uploads confirmed on another server. Finish (or
delete) the old journal, or use a new path.

**Concurrency.** One journal file belongs to one push at a time: it is opened in SQLite's exclusive
locking mode, so a second process (or thread) opening the same file gets :class:`JournalBusyError`
at once, and the lock disappears with the process that held it, however it ended. Pushes with
*different* journal files (e.g. one per Dask partition) share nothing and run in parallel freely.

**Durability.** WAL with ``synchronous=FULL``: a state written is on disk before the request it
announces is sent (or, for ``confirmed``, before the push moves on), so a ``kill -9`` or a power cut
loses at most the knowledge that an in-flight upload landed, which the next run recovers with a
``list`` check (see :mod:`._push`).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .._sqlite import NotSQLiteError, inspect
from .._version import __version__
from ._errors import ClientError

FORMAT = 1
#: ``PRAGMA application_id`` of a push journal ("cpjl"): tells a journal from other SQLite files.
APPLICATION_ID = 0x63706A6C
_TABLES = frozenset({"meta", "uploads"})
State = Literal["pending", "sending", "confirmed", "failed"]

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS uploads (
        number INTEGER PRIMARY KEY,
        entry_id TEXT NOT NULL,
        digest TEXT NOT NULL,
        cue_points INTEGER NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'sending', 'confirmed', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        before TEXT,
        result TEXT,
        error TEXT,
        updated_at REAL NOT NULL
    )""",
)


class JournalError(ClientError):
    """The push journal cannot be used (see the message for why and what to do)."""


class JournalMismatchError(JournalError, ValueError):
    """The journal was written for another input or another target: nothing was sent."""


class JournalBusyError(JournalError):
    """Another push holds this journal file right now."""


@dataclass(frozen=True, slots=True)
class PlannedUpload:
    """What the journal knows of an upload before anything is sent."""

    number: int
    entry_id: str
    digest: str
    cue_points: int


@dataclass(frozen=True, slots=True)
class UploadRecord:
    """One upload's row: its state and what was learnt about it."""

    number: int
    state: State
    attempts: int
    before: dict[str, Any] | None
    result: list[tuple[str | None, str | None]] | None
    error: str | None


def fingerprint(service: str, uploads: Iterable[PlannedUpload]) -> str:
    """SHA-256 over the service and every upload's number, entry, size in cue points and XML digest."""
    h = hashlib.sha256(f"cuepipe-journal/{FORMAT}\0{service}\0".encode())
    for u in uploads:
        h.update(f"{u.number}\0{u.entry_id}\0{u.cue_points}\0{u.digest}\n".encode())
    return h.hexdigest()


class Journal:
    """An open journal file; see the module docstring. Use :meth:`open`, then :meth:`close`."""

    def __init__(self, path: str, conn: sqlite3.Connection) -> None:
        self.path = path
        self._conn = conn
        #: Uploads that were already confirmed when the journal was opened (a resumed run).
        self.resumed = 0

    @classmethod
    def open(
        cls, path: str | os.PathLike[str], *, service: str, target: str, uploads: Sequence[PlannedUpload]
    ) -> Journal:
        """Open or create the journal for this plan; refuse one written for other input or target."""
        if isinstance(path, bool) or not isinstance(path, str | os.PathLike):
            raise TypeError(f"journal must be a path (str or os.PathLike) or None, not {type(path).__name__}")
        path = os.fspath(path)
        if os.path.isdir(path):
            raise JournalError(f"journal {path!r} is a directory; give a file path, e.g. push.journal")
        cls._check_owner(path)
        try:
            conn = sqlite3.connect(path, timeout=0, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise JournalError(f"cannot open journal {path!r}: {exc}") from None
        try:
            conn.execute("PRAGMA locking_mode=EXCLUSIVE")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("BEGIN IMMEDIATE")  # takes (and, in exclusive mode, keeps) the write lock
            journal = cls(path, conn)
            journal._prepare(service, target, uploads)
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            conn.close()
            if isinstance(exc, sqlite3.OperationalError) and ("locked" in str(exc) or "busy" in str(exc)):
                raise JournalBusyError(
                    f"journal {path!r} is in use by another push (one journal file per push; give each "
                    "concurrent push its own file)"
                ) from None
            raise JournalError(f"journal {path!r} is not a usable cuepipe journal: {exc}") from None
        except BaseException:
            conn.close()
            raise
        return journal

    @staticmethod
    def _check_owner(path: str) -> None:
        """Refuse, without writing anything, a file that is not a journal (or an empty database)."""
        try:
            info = inspect(path)
        except NotSQLiteError:
            raise JournalError(
                f"{path!r} is not a cuepipe push journal (it is not an SQLite database); refusing to change it. "
                "Give a new file path for the journal"
            ) from None
        except sqlite3.Error as exc:
            if isinstance(exc, sqlite3.OperationalError) and ("locked" in str(exc) or "busy" in str(exc)):
                raise JournalBusyError(
                    f"journal {path!r} is in use by another push (one journal file per push; give each "
                    "concurrent push its own file)"
                ) from None
            raise JournalError(f"cannot read journal {path!r}: {exc}") from None
        except OSError as exc:
            raise JournalError(f"cannot read journal {path!r}: {exc.strerror or exc}") from None
        if info is None:
            return
        if info.application_id == APPLICATION_ID:
            return
        legacy = info.user_version == FORMAT and info.tables == _TABLES
        empty = info.user_version == 0 and not info.tables
        if info.application_id == 0 and (legacy or empty):
            return
        raise JournalError(
            f"{path!r} is not a cuepipe push journal (SQLite application id {info.application_id:#x}, format "
            f"{info.user_version}, tables {sorted(info.tables)}); refusing to change it. Give a new file path"
        )

    def _prepare(self, service: str, target: str, uploads: Sequence[PlannedUpload]) -> None:
        c = self._conn
        version = c.execute("PRAGMA user_version").fetchone()[0]
        tables = {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if version not in (0, FORMAT) or (version == 0 and tables):
            raise JournalError(
                f"{self.path!r} is not a cuepipe push journal (format {version}, tables "
                f"{sorted(tables)}); refusing to change it"
            )
        for stmt in _SCHEMA:
            c.execute(stmt)
        meta = dict(c.execute("SELECT key, value FROM meta").fetchall())
        wanted = fingerprint(service, uploads)
        if not meta:
            c.execute(f"PRAGMA user_version = {FORMAT}")
            c.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            c.executemany(
                "INSERT INTO meta VALUES (?, ?)",
                [
                    ("fingerprint", wanted),
                    ("target", target),
                    ("service", service),
                    ("uploads", str(len(uploads))),
                    ("cue_points", str(sum(u.cue_points for u in uploads))),
                    ("created", time.strftime("%Y-%m-%dT%H:%M:%S%z")),
                    ("cuepipe", __version__),
                ],
            )
            now = time.time()
            c.executemany(
                "INSERT INTO uploads (number, entry_id, digest, cue_points, state, updated_at) "
                "VALUES (?, ?, ?, ?, 'pending', ?)",
                [(u.number, u.entry_id, u.digest, u.cue_points, now) for u in uploads],
            )
            return
        if meta.get("target") != target:
            raise JournalMismatchError(
                f"journal {self.path!r} was written for {meta.get('target')}, not for {target}: its confirmed "
                "uploads say nothing about this server. Use another journal file for this target"
            )
        if meta.get("fingerprint") != wanted:
            raise JournalMismatchError(
                f"journal {self.path!r} was written for a different input ({meta.get('uploads')} uploads, "
                f"{meta.get('cue_points')} cue points, created {meta.get('created')}): the data, its order, "
                "chunk_size, unsupported or service changed since. Re-run with the original input to finish "
                "that push, or start this one with a new journal file"
            )
        self.resumed = c.execute("SELECT COUNT(*) FROM uploads WHERE state = 'confirmed'").fetchone()[0]

    # -- reading -----------------------------------------------------------------------------

    def record(self, number: int) -> UploadRecord:
        row = self._conn.execute(
            "SELECT number, state, attempts, before, result, error FROM uploads WHERE number = ?", (number,)
        ).fetchone()
        if row is None:  # pragma: no cover - the fingerprint guarantees every upload has a row
            raise JournalError(f"journal {self.path!r} has no upload {number}")
        result = json.loads(row[4]) if row[4] else None
        return UploadRecord(
            number=row[0],
            state=row[1],
            attempts=row[2],
            before=json.loads(row[3]) if row[3] else None,
            result=[(r[0], r[1]) for r in result] if result is not None else None,
            error=row[5],
        )

    def counts(self) -> dict[str, int]:
        """Uploads per state."""
        return dict(self._conn.execute("SELECT state, COUNT(*) FROM uploads GROUP BY state").fetchall())

    # -- state changes (each one committed, durably, before the caller goes on) --------------

    def _set(self, number: int, sql: str, args: Sequence[Any]) -> None:
        with self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.execute(
                f"UPDATE uploads SET {sql}, updated_at = ? WHERE number = ?", (*args, time.time(), number)
            )

    def sending(self, number: int, before: dict[str, Any] | None) -> None:
        """About to send: remember what existed before, so a later run can tell what the upload added."""
        self._set(
            number,
            "state = 'sending', attempts = attempts + 1, before = COALESCE(before, ?), error = NULL",
            (json.dumps(before) if before is not None else None,),
        )

    def resending(self, number: int) -> None:
        """A recovery is about to send (part of) the upload again; ``before`` stays the first one."""
        self._set(number, "state = 'sending', attempts = attempts + 1", ())

    def confirmed(self, number: int, result: Sequence[tuple[str | None, str | None]]) -> None:
        """The server answered: keep ``(id, action)`` of each cue point in upload order."""
        self._set(number, "state = 'confirmed', result = ?, error = NULL", (json.dumps([list(r) for r in result]),))

    def failed(self, number: int, error: str) -> None:
        """Refused with nothing written: the next run sends it again (``before`` is looked up anew)."""
        self._set(number, "state = 'failed', before = NULL, error = ?", (error,))

    def unknown(self, number: int, error: str) -> None:
        """Still unresolved (the upload stays in ``sending``, for the next run to check)."""
        self._set(number, "error = ?", (error,))

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Journal {self.path!r}>"


__all__ = [
    "APPLICATION_ID",
    "FORMAT",
    "Journal",
    "JournalBusyError",
    "JournalError",
    "JournalMismatchError",
    "PlannedUpload",
    "UploadRecord",
    "fingerprint",
]

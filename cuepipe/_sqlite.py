"""Look at an SQLite file without changing it, before cuepipe opens it for writing.

cuepipe writes two kinds of SQLite files: push journals and the emulator's database. A path given by
mistake may be another application's database; opening it read-write would already change it
(switching to WAL rewrites its header, creating tables adds pages). :func:`inspect` reads what is
needed to decide, through a read-only SQLite connection: is it SQLite at all, its
``application_id`` and ``user_version``, and the names of its tables.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from urllib.parse import quote


class NotSQLiteError(ValueError):
    """The file exists, is not empty, and is not an SQLite database."""


@dataclass(frozen=True, slots=True)
class SQLiteInfo:
    """What an existing SQLite file holds: its ``application_id``, ``user_version`` and tables."""

    application_id: int
    user_version: int
    tables: frozenset[str]


def inspect(path: str) -> SQLiteInfo | None:
    """The file's identity, read without changing it; None when it does not exist or is empty.

    Raises :class:`NotSQLiteError` for a file that is not an SQLite database, and
    :class:`sqlite3.Error` when it cannot be read.
    """
    # Only SQLite itself touches the file: closing any other descriptor of it would drop the POSIX
    # locks this process holds on it through SQLite (e.g. a journal already open here).
    try:
        if os.path.getsize(path) == 0:
            return None
    except FileNotFoundError:
        return None
    uri = f"file:{quote(os.path.abspath(path))}?mode=ro"
    conn = sqlite3.connect(uri, uri=True, isolation_level=None)
    try:
        try:
            conn.execute("PRAGMA schema_version").fetchone()
        except sqlite3.DatabaseError as exc:
            if "not a database" in str(exc):
                raise NotSQLiteError(f"{path!r} is not an SQLite database") from None
            raise
        tables = frozenset(
            r[0]
            for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if r[0] != "sqlite_sequence"
        )
        application_id = int(conn.execute("PRAGMA application_id").fetchone()[0])
        user_version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()
    return SQLiteInfo(application_id, user_version, tables)


__all__ = ["NotSQLiteError", "SQLiteInfo", "inspect"]

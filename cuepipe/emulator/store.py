"""SQLite storage: one connection shared by the ASGI worker threads and the bulk-upload worker.

Why one connection behind a lock: SQLite serialises writers anyway, ``:memory:`` databases exist
per connection, and a single lock makes the server's non-transactional, scene-by-scene commits easy
to reproduce (each scene is its own ``BEGIN``/``COMMIT``). File databases use WAL with
``synchronous=NORMAL`` so a 10k-scene ingest commits thousands of small transactions in seconds.

The cue point table's columns are derived from :mod:`cuepipe.vocabulary` (one column per record
column, typed from the field kind) plus the bookkeeping columns the API objects expose.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import string
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, cast

from .. import vocabulary as voc

# The ingest-only ``<parent>`` element is resolved to a parentId and never stored
# (docs/format-notes.md#how-the-server-ingests).
_TRANSIENT_COLUMNS = frozenset({"parentSystemName"})

# Columns of the server's cue point model that the vocabulary (records) does not carry.
_SYSTEM_COLUMNS: dict[str, str] = {
    "intId": "INTEGER PRIMARY KEY AUTOINCREMENT",
    "id": "TEXT NOT NULL UNIQUE",
    "partnerId": "INTEGER NOT NULL",
    "cuePointType": "TEXT NOT NULL",
    "status": "INTEGER NOT NULL",
    "createdAt": "INTEGER NOT NULL",
    "updatedAt": "INTEGER NOT NULL",
    "triggeredAt": "INTEGER",
    "partnerSortValue": "INTEGER",
    "forceStop": "INTEGER",
    "thumbOffset": "INTEGER",
    "partnerData": "TEXT",
    "isPublic": "INTEGER",
    "searchableOnEntry": "INTEGER",
    "depth": "INTEGER",
    "childrenCount": "INTEGER",
    "directChildrenCount": "INTEGER",
    "isCorrect": "INTEGER",
    "correctAnswerKeys": "TEXT",
    # Set only through cuePoint.add / update (the bulk XML formats have no element for them).
    "questionType": "INTEGER",
    "presentationOrder": "INTEGER",
    "excludeFromScore": "INTEGER",
    "openAnswer": "TEXT",
    "feedback": "TEXT",
    "sessionOwner": "TEXT",
    "eventType": "TEXT",
    "originalCuePointCreateAt": "INTEGER",
}


def _sql_type(f: voc.Field) -> str:
    if f.kind in ("time", "int"):
        return "INTEGER"
    if f.kind == "float":
        return "REAL"
    if f.kind == "enum" and f.enum is not None and issubclass(f.enum, int):
        return "INTEGER"
    return "TEXT"  # str, tags, str-valued enums; answers/custom are stored as JSON text


def _cue_point_columns() -> dict[str, str]:
    cols = dict(_SYSTEM_COLUMNS)
    for f in voc.COLUMNS:
        if f.column not in cols and f.column not in _TRANSIENT_COLUMNS:
            cols[f.column] = _sql_type(f)
    return cols


#: Cue point table columns -> SQL type, derived from the vocabulary.
CUE_POINT_COLUMNS: dict[str, str] = _cue_point_columns()
#: Columns holding nested values (quiz answers, custom metadata) as JSON text.
JSON_COLUMNS: frozenset[str] = frozenset(
    f.column for f in voc.COLUMNS if f.kind in ("answers", "custom") and f.column in CUE_POINT_COLUMNS
)

_TABLES = {
    "partners": {
        "id": "INTEGER PRIMARY KEY",
        "name": "TEXT",
        "adminSecret": "TEXT NOT NULL",
        "secret": "TEXT NOT NULL",
        "ksVersion": "INTEGER NOT NULL",
        "ksMaxExpiry": "INTEGER NOT NULL",
        "createdAt": "INTEGER",
    },
    "users": {"partnerId": "INTEGER NOT NULL", "puserId": "TEXT NOT NULL", "createdAt": "INTEGER"},
    "entries": {
        "intId": "INTEGER PRIMARY KEY AUTOINCREMENT",
        "id": "TEXT NOT NULL UNIQUE",
        "partnerId": "INTEGER NOT NULL",
        "name": "TEXT",
        "description": "TEXT",
        "tags": "TEXT",
        "referenceId": "TEXT",
        "userId": "TEXT",
        "type": "INTEGER",
        "mediaType": "INTEGER",
        "status": "INTEGER NOT NULL",
        "partnerData": "TEXT",
        "msDuration": "INTEGER",
        "createdAt": "INTEGER NOT NULL",
        "updatedAt": "INTEGER NOT NULL",
    },
    "cue_points": CUE_POINT_COLUMNS,
    "bulk_jobs": {
        "id": "INTEGER PRIMARY KEY AUTOINCREMENT",
        "partnerId": "INTEGER NOT NULL",
        "status": "INTEGER NOT NULL",
        "abort": "INTEGER NOT NULL DEFAULT 0",
        "bulkUploadType": "TEXT",
        "bulkUploadObjectType": "TEXT",
        "fileName": "TEXT",
        "fileData": "BLOB",
        "uploadedBy": "TEXT",
        "userId": "TEXT",
        "message": "TEXT",
        "description": "TEXT",
        "errorType": "INTEGER",
        "errorNumber": "INTEGER",
        "numOfEntries": "INTEGER",
        "numOfObjects": "INTEGER",
        "numOfErrorObjects": "INTEGER",
        "conversionProfileId": "INTEGER",
        "runAsAdmin": "INTEGER NOT NULL DEFAULT 1",
        "createdAt": "INTEGER NOT NULL",
        "updatedAt": "INTEGER NOT NULL",
    },
    "bulk_results": {
        "id": "INTEGER PRIMARY KEY AUTOINCREMENT",
        "bulkUploadJobId": "INTEGER NOT NULL",
        "lineIndex": "INTEGER NOT NULL",
        "partnerId": "INTEGER NOT NULL",
        "status": "TEXT",
        "action": "TEXT",
        "objectId": "TEXT",
        "objectStatus": "INTEGER",
        "bulkUploadResultObjectType": "TEXT",
        "rowData": "TEXT",
        "partnerData": "TEXT",
        "objectErrorDescription": "TEXT",
        "errorDescription": "TEXT",
        "errorCode": "TEXT",
        "errorType": "INTEGER",
        "pluginsData": "TEXT",
        "entryId": "TEXT",
        "title": "TEXT",
        "description": "TEXT",
        "tags": "TEXT",
        "referenceId": "TEXT",
        "objectType": "TEXT",
        "createdAt": "INTEGER NOT NULL",
        "updatedAt": "INTEGER NOT NULL",
    },
}

_INDEXES = (
    "CREATE UNIQUE INDEX IF NOT EXISTS users_pk ON users(partnerId, puserId)",
    'CREATE INDEX IF NOT EXISTS cp_entry ON cue_points(partnerId, "entryId", "systemName")',
    'CREATE INDEX IF NOT EXISTS cp_parent ON cue_points("parentId")',
    # Covers list/count/serveBulk filters on entries and time windows (pull's paging) with the
    # default criteria, so counts and page ids come from the index alone.
    'CREATE INDEX IF NOT EXISTS cp_window ON cue_points(partnerId, "entryId", "createdAt", "startTime", status, '
    '"cuePointType")',
    "CREATE INDEX IF NOT EXISTS entries_partner ON entries(partnerId)",
    "CREATE UNIQUE INDEX IF NOT EXISTS results_line ON bulk_results(bulkUploadJobId, lineIndex)",
)

#: sqlite_stat1 rows for the cue point indexes: ids are unique, a partner has very many cue points,
#: an entry hundreds, a system name on an entry one or two, a parent a few children.
_CUE_POINT_STATS = (
    ("sqlite_autoindex_cue_points_1", "1000000 1"),
    ("cp_entry", "1000000 100000 500 2"),
    ("cp_parent", "1000000 10"),
    ("cp_window", "1000000 100000 500 20 2 2 2"),
)
#: SQLite's own tables an emulator database may hold besides the emulator's.
_SQLITE_TABLES = frozenset({"sqlite_stat1", "sqlite_stat4"})

_ID_ALPHABET = string.ascii_lowercase + string.digits
_ID_SPACE = len(_ID_ALPHABET) ** 8


def now() -> int:
    return int(time.time())


def q(name: str) -> str:
    """Quote an identifier (column names are API field names such as ``text`` or ``code``)."""
    return '"' + name.replace('"', '""') + '"'


def _refuse_foreign(path: str) -> None:
    """Refuse, before writing anything, a file that is not an emulator database (another application's
    SQLite database would be switched to WAL and get tables added)."""
    from .._sqlite import NotSQLiteError, inspect

    try:
        info = inspect(path)
    except (NotSQLiteError, sqlite3.Error) as exc:
        raise ValueError(f"--db {path!r} is not an emulator database ({exc}); refusing to change it") from None
    if info is not None and not info.tables - _SQLITE_TABLES <= set(_TABLES):
        raise ValueError(
            f"--db {path!r} is another application's database (tables {sorted(info.tables)}); refusing to change it"
        )


@lru_cache(maxsize=1024)
def _insert_sql(columns: tuple[str, ...]) -> str:
    return f"INSERT INTO cue_points ({', '.join(q(k) for k in columns)}) VALUES ({', '.join('?' * len(columns))})"


class _OneStatement:
    """The connection, allowing a single ``execute`` (what :meth:`Store.single_statement` promises)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._used = False

    def execute(self, sql: str, args: Any = ()) -> sqlite3.Cursor:
        if self._used:
            raise RuntimeError("single_statement allows one statement; use Store.transaction")
        self._used = True
        return self._conn.execute(sql, args)


class Store:
    """The database plus the one lock that serialises access to it."""

    def __init__(self, db: str = ":memory:", *, data_center: int = 0) -> None:
        self.path = db
        self.data_center = data_center
        self.lock = threading.RLock()
        if db != ":memory:" and not db.startswith("file:"):
            _refuse_foreign(db)
        self.conn = sqlite3.connect(db, check_same_thread=False, isolation_level=None)
        self.conn.row_factory = sqlite3.Row
        if db != ":memory:" and not db.startswith("file::memory:"):
            self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self._create()

    def _create(self) -> None:
        with self.transaction() as c:
            for table, columns in _TABLES.items():
                body = ", ".join(f"{q(name)} {sql}" for name, sql in columns.items())
                c.execute(f"CREATE TABLE IF NOT EXISTS {table} ({body})")
                present = {row["name"] for row in c.execute(f"PRAGMA table_info({table})")}
                for name, sql in columns.items():  # columns added to the vocabulary after the DB was made
                    if name not in present and "PRIMARY KEY" not in sql and "UNIQUE" not in sql:
                        c.execute(f"ALTER TABLE {table} ADD COLUMN {q(name)} {sql.replace(' NOT NULL', '')}")
            for stmt in _INDEXES:
                c.execute(stmt)
            # Fixed planner statistics: without any, SQLite guesses that ``partnerId = ?`` selects
            # few rows and walks a partner's every cue point for an ``id IN (500 ids)`` page (50 ms
            # at 100k cue points instead of 1 ms). Fixed rather than ANALYZE-d, so plans do not
            # depend on what the database happens to hold.
            c.execute("ANALYZE sqlite_schema")  # creates sqlite_stat1 if missing, analyses nothing
            c.execute("DELETE FROM sqlite_stat1 WHERE tbl = 'cue_points'")
            c.executemany("INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES ('cue_points', ?, ?)", _CUE_POINT_STATS)
        self.conn.execute("ANALYZE sqlite_schema")  # load them

    def close(self) -> None:
        with self.lock:
            self.conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One committed unit of work (the server's ``save()``); rolled back on error."""
        with self.lock:
            self.conn.execute("BEGIN")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    @contextmanager
    def single_statement(self) -> Iterator[sqlite3.Connection]:
        """A unit of work of ONE statement: committed on its own, as :meth:`transaction` would.

        The connection is in autocommit mode, so a lone statement is its own transaction (SQLite
        rolls it back whole when it fails); this saves the BEGIN and COMMIT round trips of
        :meth:`transaction`, which a scene-by-scene ingest pays thousands of times.
        """
        with self.lock:
            if self.conn.in_transaction:  # inside someone's transaction: just take part in it
                yield self.conn
                return
            yield cast(sqlite3.Connection, _OneStatement(self.conn))  # the same execute(), once

    def query(self, sql: str, args: tuple[Any, ...] | list[Any] = ()) -> list[sqlite3.Row]:
        with self.lock:
            return self.conn.execute(sql, args).fetchall()

    def query_one(self, sql: str, args: tuple[Any, ...] | list[Any] = ()) -> sqlite3.Row | None:
        with self.lock:
            return self.conn.execute(sql, args).fetchone()

    def cue_point_rows(self, sql: str, args: tuple[Any, ...] | list[Any] = ()) -> list[dict[str, Any]]:
        """Cue point rows as :meth:`decode_cue_point` gives them (dicts, nested columns decoded).

        Read as plain tuples and zipped with the statement's column names once per query: a
        ``sqlite3.Row`` per row, and its ``keys()`` list per decode, cost a list page of 500 rows
        as much as the SQL itself.
        """
        with self.lock:
            cursor = self.conn.cursor()
            cursor.row_factory = None
            tuples = cursor.execute(sql, args).fetchall()
            names = tuple(d[0] for d in cursor.description or ())
        out = [dict(zip(names, t, strict=True)) for t in tuples]
        nested = [k for k in JSON_COLUMNS if k in names]
        if nested:
            for row in out:
                Store._decode_nested(row, nested)
        return out

    # ------------------------------------------------------------------ ids

    def new_id(self, table: str) -> str:
        """``<dc>_<8 random chars>`` like ``CuePoint::calculateId`` / entry ids."""
        while True:
            n, chars = secrets.randbelow(_ID_SPACE), []
            for _ in range(8):  # one draw, written in base 36: the same uniform ids as 8 choices
                n, digit = divmod(n, 36)
                chars.append(_ID_ALPHABET[digit])
            candidate = f"{self.data_center}_" + "".join(chars)
            if self.query_one(f"SELECT 1 FROM {table} WHERE id = ?", (candidate,)) is None:
                return candidate

    # ------------------------------------------------------------------ partners and users

    def upsert_partner(
        self,
        partner_id: int,
        admin_secret: str,
        secret: str,
        ks_version: int,
        ks_max_expiry: int,
        name: str = "",
    ) -> None:
        with self.transaction() as c:
            c.execute(
                "INSERT INTO partners (id, name, adminSecret, secret, ksVersion, ksMaxExpiry, createdAt) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET name=excluded.name, "
                "adminSecret=excluded.adminSecret, secret=excluded.secret, ksVersion=excluded.ksVersion, "
                "ksMaxExpiry=excluded.ksMaxExpiry",
                (partner_id, name, admin_secret, secret, ks_version, ks_max_expiry, now()),
            )

    def partner(self, partner_id: int) -> sqlite3.Row | None:
        return self.query_one("SELECT * FROM partners WHERE id = ?", (partner_id,))

    def ensure_user(self, partner_id: int, puser_id: str) -> None:
        """The server creates a kuser row the first time a session user acts."""
        if not puser_id:
            return
        with self.transaction() as c:
            c.execute(
                "INSERT OR IGNORE INTO users (partnerId, puserId, createdAt) VALUES (?, ?, ?)",
                (partner_id, puser_id, now()),
            )

    def user_exists(self, partner_id: int, puser_id: str) -> bool:
        return (
            self.query_one("SELECT 1 FROM users WHERE partnerId = ? AND puserId = ?", (partner_id, puser_id))
            is not None
        )

    # ------------------------------------------------------------------ entries

    def add_entry(
        self,
        partner_id: int,
        *,
        entry_id: str | None = None,
        name: str = "",
        description: str = "",
        tags: str = "",
        reference_id: str | None = None,
        user_id: str = "",
        entry_type: int = 1,
        media_type: int | None = None,
        status: int = 2,
        ms_duration: int | None = None,
    ) -> str:
        entry_id = entry_id or self.new_id("entries")
        ts = now()
        with self.transaction() as c:
            c.execute(
                "INSERT INTO entries (id, partnerId, name, description, tags, referenceId, userId, type, "
                "mediaType, status, msDuration, createdAt, updatedAt) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(id) DO NOTHING",
                (
                    entry_id,
                    partner_id,
                    name,
                    description,
                    tags,
                    reference_id,
                    user_id,
                    entry_type,
                    media_type,
                    status,
                    ms_duration,
                    ts,
                    ts,
                ),
            )
        return entry_id

    def entry(self, partner_id: int, entry_id: str) -> sqlite3.Row | None:
        """A live entry of the partner (deleted entries, status 3, are invisible as on the server)."""
        return self.query_one(
            "SELECT * FROM entries WHERE id = ? AND partnerId = ? AND status != 3", (entry_id, partner_id)
        )

    def update_entry(self, entry_id: str, values: Mapping[str, Any]) -> None:
        if not values:
            return
        sets = ", ".join(f"{q(k)} = ?" for k in values)
        with self.transaction() as c:
            c.execute(f"UPDATE entries SET {sets}, updatedAt = ? WHERE id = ?", (*values.values(), now(), entry_id))

    # ------------------------------------------------------------------ cue points

    @staticmethod
    def encode_cue_point(values: Mapping[str, Any]) -> dict[str, Any]:
        out = {}
        for key, value in values.items():
            if key not in CUE_POINT_COLUMNS:
                raise KeyError(f"no cue point column {key!r}")
            out[key] = json.dumps(value) if key in JSON_COLUMNS and value is not None else value
        return out

    @staticmethod
    def decode_cue_point(row: sqlite3.Row) -> dict[str, Any]:
        # dict(row) of a sqlite3.Row looks each name up (7x slower); a mapping is taken as it is
        out = dict(zip(row.keys(), row, strict=True)) if isinstance(row, sqlite3.Row) else dict(row)
        return Store._decode_nested(out, JSON_COLUMNS)

    @staticmethod
    def _decode_nested(row: dict[str, Any], keys: Iterable[str]) -> dict[str, Any]:
        """The JSON-encoded columns among ``keys`` decoded in place (answers, custom data ...)."""
        for key in keys:
            if row.get(key) is not None:
                row[key] = json.loads(row[key])
        return row

    def insert_cue_point(self, c: sqlite3.Connection, values: Mapping[str, Any]) -> None:
        enc = self.encode_cue_point(values)
        c.execute(_insert_sql(tuple(enc)), tuple(enc.values()))

    def update_cue_point(self, c: sqlite3.Connection, cue_point_id: str, values: Mapping[str, Any]) -> None:
        enc = self.encode_cue_point(values)
        if enc:
            sets = ", ".join(f"{q(k)} = ?" for k in enc)
            c.execute(f"UPDATE cue_points SET {sets} WHERE id = ?", (*enc.values(), cue_point_id))

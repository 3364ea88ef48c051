"""Files that belong to someone else are refused before cuepipe changes a byte of them.

A journal path (``push --journal``) or an emulator database (``--db``) given by mistake may be
another application's SQLite database. Opening it read-write would already change it (WAL mode
rewrites the header, creating tables adds pages), so it is looked at read-only first.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from cuepipe.client import JournalError
from cuepipe.client._journal import APPLICATION_ID, Journal, PlannedUpload
from cuepipe.emulator.cli import emulator as emulator_command
from cuepipe.emulator.store import Store

PLAN = [PlannedUpload(1, "0_e", "d" * 64, 3)]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def siblings(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir() if p.name.startswith(path.name) and p != path)


def other_app_db(path: Path, *, application_id: int = 0) -> Path:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    conn.execute("INSERT INTO invoices VALUES (1, 9.5)")
    if application_id:
        conn.execute(f"PRAGMA application_id = {application_id}")
    conn.commit()
    conn.close()
    return path


def open_journal(path: Path) -> Journal:
    return Journal.open(path, service="cuepoint_cuepoint", target="http://x (partner 1)", uploads=PLAN)


@pytest.mark.parametrize("application_id", [0, 0x12345678], ids=["no-app-id", "other-app-id"])
def test_another_applications_database_is_refused_unchanged(tmp_path: Path, application_id: int) -> None:
    path = other_app_db(tmp_path / "crm.sqlite", application_id=application_id)
    before = digest(path)
    with pytest.raises(JournalError, match="not a cuepipe push journal.*refusing to change it"):
        open_journal(path)
    assert digest(path) == before  # not even the header (WAL switch) changed
    assert siblings(path) == []  # no -wal / -shm left beside it
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    conn.close()


def test_a_file_that_is_not_sqlite_is_refused_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("my notes\n" * 100)
    before = digest(path)
    with pytest.raises(JournalError, match="not an SQLite database"):
        open_journal(path)
    assert digest(path) == before and siblings(path) == []


def test_new_empty_and_existing_journals_are_accepted(tmp_path: Path) -> None:
    fresh = tmp_path / "push.journal"
    journal = open_journal(fresh)
    journal.close()
    conn = sqlite3.connect(fresh)
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    conn.close()
    open_journal(fresh).close()  # reopened: it is ours
    empty = tmp_path / "empty.journal"
    empty.touch()
    open_journal(empty).close()
    # a journal written before the application id existed (format 1, its two tables) still opens
    legacy = tmp_path / "legacy.journal"
    open_journal(legacy).close()
    conn = sqlite3.connect(legacy)
    conn.execute("PRAGMA application_id = 0")
    conn.close()
    open_journal(legacy).close()


def test_cli_push_refuses_a_foreign_journal_with_one_line(tmp_path: Path) -> None:
    from cuepipe.cli import main

    data = tmp_path / "in.csv"
    data.write_text("cuePointType,entryId,systemName,startTime,code\ncodeCuePoint.Code,0_e,a,0,x\n")
    path = other_app_db(tmp_path / "crm.sqlite")
    before = digest(path)
    env = {"KALTURA_SERVICE_URL": "http://127.0.0.1:9", "KALTURA_PARTNER_ID": "1", "KALTURA_ADMIN_SECRET": "s3"}
    res = CliRunner().invoke(main, ["push", str(data), "--journal", str(path)], env=env)
    assert res.exit_code == 1
    assert "not a cuepipe push journal" in res.output and "Traceback" not in res.output
    assert digest(path) == before


def test_emulator_database_that_belongs_to_another_application_is_refused(tmp_path: Path) -> None:
    path = other_app_db(tmp_path / "crm.sqlite")
    before = digest(path)
    with pytest.raises(ValueError, match="another application's database"):
        Store(str(path))
    res = CliRunner().invoke(emulator_command, ["--admin-secret", "s", "--db", str(path), "--port", "0"])
    assert res.exit_code == 2 and "refusing to change it" in res.output
    assert digest(path) == before and siblings(path) == []
    ours = tmp_path / "emulator.db"
    Store(str(ours)).close()
    Store(str(ours)).close()  # its own database opens again

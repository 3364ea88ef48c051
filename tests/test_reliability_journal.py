"""``push(..., journal=PATH)``: resumable and exactly once, also when the process is killed at any moment."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from cuepipe import frames, write_xml
from cuepipe.cli import main
from cuepipe.client import Client, JournalBusyError, JournalError, JournalMismatchError
from cuepipe.client._journal import Journal, PlannedUpload
from cuepipe.emulator import EmulatorServer
from cuepipe.emulator.faults import Fault
from cuepipe.errors import CuePointValueError

from .helpers import (
    ADMIN,
    PARTNER,
    QUICK,
    EmulatorFactory,
    Recorder,
    assert_exactly_once,
    cue_points,
    emulator_rows,
    reliability_client,
)

ENTRIES = [f"0_j{i:03d}" for i in range(30)]


pytestmark = pytest.mark.usefixtures("no_faults")


@pytest.fixture(scope="module")
def server(start_emulator: EmulatorFactory) -> EmulatorServer:
    return start_emulator(partner_id=PARTNER, admin_secret=ADMIN, entries=ENTRIES, fault_admin=True)


_next = iter(ENTRIES)


client = reliability_client


class Crash(httpx.HTTPTransport):
    """Dies like ``kill -9`` right after the server has processed the ``n``-th upload."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n = n
        self.uploads = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if request.url.path.endswith("/addFromBulk"):
            self.uploads += 1
            if self.uploads == self.n:
                response.read()
                raise KeyboardInterrupt  # not an Exception: nothing in cuepipe catches it
        return response


def states(path: Path) -> dict[str, int]:
    """Uploads per state (the connection is closed at once: an open one would hold the file)."""
    conn = sqlite3.connect(path)
    try:
        return dict(conn.execute("SELECT state, COUNT(*) FROM uploads GROUP BY state").fetchall())
    finally:
        conn.close()


# ---------------------------------------------------------------------------------------------
# in one process
# ---------------------------------------------------------------------------------------------


def test_a_second_run_takes_everything_from_the_journal(server: EmulatorServer, tmp_path: Path) -> None:
    expected = cue_points(next(_next), 50)
    journal = tmp_path / "push.sqlite"
    with client(server) as api:
        first = api.push(expected, chunk_size=10, journal=journal, settle=QUICK)
    recorder = Recorder()
    with client(server, transport=recorder) as api:
        again = api.push(expected, chunk_size=10, journal=str(journal), settle=QUICK)
    assert recorder.calls == []  # not even a session or a lookup
    assert again.attrs["resumed"] == first.attrs["uploads"] == 5
    assert again[["id", "action"]].equals(first[["id", "action"]])
    assert states(journal) == {"confirmed": 5}
    assert_exactly_once(server, expected, "journal: second run")


def test_an_upload_in_flight_at_a_crash_is_checked_not_resent(server: EmulatorServer, tmp_path: Path) -> None:
    expected = cue_points(next(_next), 60)
    journal = tmp_path / "push.sqlite"
    with client(server, transport=Crash(3)) as api, pytest.raises(KeyboardInterrupt):
        api.push(expected, chunk_size=10, journal=journal, settle=QUICK)
    assert states(journal) == {"confirmed": 2, "sending": 1, "pending": 3}
    assert len(emulator_rows(server, [expected[0]["entryId"]])) == 30
    recorder = Recorder()
    with client(server, transport=recorder) as api:
        result = api.push(expected, chunk_size=10, journal=journal, settle=QUICK)
    sizes = result["upload"].value_counts().sort_index().tolist()
    assert recorder.uploads() == sizes[3:]  # upload 3 had landed: the list check says so, nothing re-sent
    assert result.attrs["resumed"] == 2 and result.attrs["recovered"] == 1
    assert result["action"].eq("created").all()
    assert_exactly_once(server, expected, "journal: crash after the 3rd upload landed")


def test_a_partly_landed_upload_is_completed_on_the_next_run(server: EmulatorServer, tmp_path: Path) -> None:
    """The server committed 4 scenes and failed, and the process died before checking (retries=0
    and errors='collect' are not enough to settle it: the crash comes first)."""
    server.faults.replace([Fault("partial", commit=4, action="cuepoint.addFromBulk", after=1)])
    expected = cue_points(next(_next), 30)
    journal = tmp_path / "push.sqlite"

    class DieOnError(httpx.HTTPTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            response = super().handle_request(request)
            if b"INTERNAL_SERVERL_ERROR" in response.read():
                raise KeyboardInterrupt
            return response

    with client(server, transport=DieOnError()) as api, pytest.raises(KeyboardInterrupt):
        api.push(expected, chunk_size=10, journal=journal, settle=QUICK)
    recorder = Recorder()
    with client(server, transport=recorder) as api:
        result = api.push(expected, chunk_size=10, journal=journal, settle=QUICK)
    sizes = result["upload"].value_counts().sort_index().tolist()
    assert recorder.uploads() == [sizes[1] - 4, *sizes[2:]]
    assert_exactly_once(server, expected, "journal: crash after commit 4 then fail")


def _copy_cue_point(srv: EmulatorServer, system_name: str) -> str:
    """Insert a second cue point with the same systemName, as a late interrupted request could."""
    store = srv.app.state.emulator.store
    row = store.decode_cue_point(store.query('SELECT * FROM cue_points WHERE "systemName" = ?', [system_name])[0])
    row.pop("intId")
    row["id"] = store.new_id("cue_points")
    with store.transaction() as conn:
        store.insert_cue_point(conn, row)
    return row["id"]


def test_copies_left_by_a_late_request_are_swept_but_old_duplicates_kept(
    server: EmulatorServer, tmp_path: Path
) -> None:
    expected = cue_points(next(_next), 20)
    entry = expected[0]["entryId"]
    # old data with a duplicate, as real entries can have (docs/format-notes.md#insert-or-update)
    with client(server) as api:
        api.push(expected[:1], settle=QUICK)
    old_copy = _copy_cue_point(server, expected[0]["systemName"])
    journal = tmp_path / "push.sqlite"
    with client(server, transport=Crash(1)) as api, pytest.raises(KeyboardInterrupt):
        api.push(expected, chunk_size=10, journal=journal, settle=QUICK)
    late_copy = _copy_cue_point(server, expected[5]["systemName"])  # the crashed run's request, processed twice
    with client(server) as api:
        result = api.push(expected, chunk_size=10, journal=journal, settle=QUICK)
    ids = {r["id"] for r in emulator_rows(server, [entry])}
    assert late_copy not in ids and old_copy in ids
    assert result.attrs["recovered"] == 1 and len(ids) == 21
    with client(server) as api:
        api.delete(old_copy)  # (the old duplicate was not ours to remove; now check the rest)
    assert_exactly_once(server, expected, "late copy swept, old duplicate kept")


def test_a_changed_input_or_target_is_refused_before_anything_is_sent(server: EmulatorServer, tmp_path: Path) -> None:
    expected = cue_points(next(_next), 20)
    journal = tmp_path / "push.sqlite"
    with client(server) as api:
        api.push(expected[:10], chunk_size=10, journal=journal, settle=QUICK)
    recorder = Recorder()
    changed = [dict(r) for r in expected[:10]]
    changed[3]["startTime"] += 1
    with client(server, transport=recorder) as api:
        for data, chunk in ((changed, 10), (expected[:10], 5), (expected, 10), (list(reversed(expected[:10])), 10)):
            with pytest.raises(JournalMismatchError, match="different input"):
                api.push(data, chunk_size=chunk, journal=journal, settle=QUICK)
    assert recorder.calls == []
    with (
        EmulatorServer(partner_id=PARTNER, admin_secret=ADMIN, entries=ENTRIES) as other,
        Client(other.url, partner_id=PARTNER, admin_secret=ADMIN) as api,
        pytest.raises(JournalMismatchError, match="written for http") as info,
    ):
        api.push(expected[:10], chunk_size=10, journal=journal, settle=QUICK)
    assert server.url in str(info.value) and other.url in str(info.value) and ADMIN not in str(info.value)
    assert states(journal) == {"confirmed": 1}


def test_a_journal_needs_keys_and_a_real_journal_file(server: EmulatorServer, tmp_path: Path) -> None:
    entry = next(_next)
    unnamed = [{"cuePointType": "codeCuePoint.Code", "entryId": entry, "startTime": 1, "code": "x"}]
    journal = tmp_path / "push.sqlite"
    with client(server) as api:
        with pytest.raises(CuePointValueError, match="systemName") as info:
            api.push(cue_points(entry, 3) + unnamed, journal=journal, settle=QUICK)
        assert info.value.record == 3 and not journal.exists()
        with pytest.raises(TypeError, match="journal must be a path"):
            api.push(cue_points(entry, 3), journal=3)  # type: ignore[arg-type]
        garbage = tmp_path / "notes.txt"
        garbage.write_text("not a database, and it must stay as it is\n" * 100)
        with pytest.raises(JournalError, match="not a cuepipe push journal"):
            api.push(cue_points(entry, 3), journal=garbage, settle=QUICK)
        assert garbage.read_text().startswith("not a database")
        other_db = tmp_path / "other.sqlite"
        with sqlite3.connect(other_db) as conn:
            conn.execute("CREATE TABLE precious (x)")
        with pytest.raises(JournalError, match="not a cuepipe push journal"):
            api.push(cue_points(entry, 3), journal=other_db, settle=QUICK)
        with pytest.raises(JournalError, match="is a directory"):
            api.push(cue_points(entry, 3), journal=tmp_path, settle=QUICK)
    assert emulator_rows(server, [entry]) == []


def test_one_journal_file_serves_one_push_at_a_time(tmp_path: Path) -> None:
    plan = [PlannedUpload(1, "0_x", "d" * 64, 3)]
    with Journal.open(tmp_path / "j.sqlite", service="cuepoint_cuepoint", target="t", uploads=plan):
        with pytest.raises(JournalBusyError, match="in use by another push"):
            Journal.open(tmp_path / "j.sqlite", service="cuepoint_cuepoint", target="t", uploads=plan)
        child = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys; from cuepipe.client._journal import Journal, PlannedUpload as P\n"
                "try:\n Journal.open(sys.argv[1], service='cuepoint_cuepoint', target='t', uploads=[P(1, '0_x', "
                "'d' * 64, 3)])\nexcept Exception as e: print(type(e).__name__)",
                str(tmp_path / "j.sqlite"),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert child.stdout.strip() == "JournalBusyError"
    Journal.open(tmp_path / "j.sqlite", service="cuepoint_cuepoint", target="t", uploads=plan).close()


def test_parallel_pushes_with_their_own_journals(server: EmulatorServer, tmp_path: Path) -> None:
    """What a Dask push does (one journal per partition), here with threads and a fault or two."""
    server.faults.replace(
        [
            Fault("partial", commit=2, action="cuepoint.addFromBulk", times=3),
            Fault("reset", phase="after", action="cuepoint.addFromBulk", after=5, times=2),
        ]
    )
    parts = [cue_points(next(_next), 40) for _ in range(4)]
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            with client(server) as api:
                api.push(parts[i], chunk_size=10, journal=tmp_path / f"part-{i:05d}.sqlite", settle=QUICK)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(parts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert server.faults.hits() == 5
    assert_exactly_once(server, [r for part in parts for r in part], "four journaled pushes in parallel")


def test_cli_push_with_a_journal(server: EmulatorServer, tmp_path: Path) -> None:
    expected = cue_points(next(_next), 30)
    data = tmp_path / "cues.parquet"
    with frames.TableWriter(data) as writer:
        writer.write(frames.records_to_frame(expected))
    journal = tmp_path / "push.sqlite"
    env = {"KALTURA_SERVICE_URL": server.url, "KALTURA_PARTNER_ID": str(PARTNER), "KALTURA_ADMIN_SECRET": ADMIN}
    runner = CliRunner()
    args = ["push", str(data), "--journal", str(journal), "--chunk-size", "10"]
    first = runner.invoke(main, args, env=env)
    assert first.exit_code == 0, first.output
    second = runner.invoke(main, args, env=env)
    assert second.exit_code == 0 and "3 upload(s) taken from the journal" in second.output
    third = runner.invoke(main, ["push", str(data), "--journal", str(journal), "--chunk-size", "5"], env=env)
    assert third.exit_code == 1 and "different input" in third.output and "Traceback" not in third.output
    assert_exactly_once(server, expected, "CLI --journal")


# ---------------------------------------------------------------------------------------------
# kill -9 at random moments, in separate processes
# ---------------------------------------------------------------------------------------------

CHILD = """
import sys
from cuepipe.client import Client, Retries
journal, data = sys.argv[1:3]
print("ready", flush=True)
with Client.from_env(timeout=3.0, retries=Retries(max_retries=6, backoff=0.05, max_backoff=0.3)) as api:
    result = api.push(data, chunk_size=10, journal=journal, settle=1.0)
print("done", result.attrs["resumed"], result.attrs["recovered"], flush=True)
"""


def _start(env: dict[str, str], journal: Path, data: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(journal), str(data)],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _wait_ready(proc: subprocess.Popen[str]) -> None:
    line = proc.stdout.readline() if proc.stdout else ""
    assert line.strip() == "ready", (line, proc.stderr.read() if proc.stderr else "")


@pytest.mark.slow
def test_killed_at_random_moments_then_finished_exactly_once(tmp_path: Path) -> None:
    """Two pushes (two entries, two journals, like two Dask partitions) run as subprocesses against
    one emulator with a file database; each is killed with SIGKILL at random moments, twice per
    seed, while the emulator holds some answers back (slow faults) or commits part of an upload;
    then both are run to the end. Every cue point must be there exactly once."""
    entries = [f"0_kill{i}" for i in range(4)]
    faults = [
        Fault("slow", delay=0.3, phase="after", action="cuepoint.addFromBulk", times=None, probability=0.5),
        Fault("slow", delay=0.2, action="cuepoint.addFromBulk", times=None, probability=0.2),
        Fault("partial", commit=5, action="cuepoint.addFromBulk", times=None, probability=0.1),
    ]
    killed_in_flight = 0
    kills = 0
    with EmulatorServer(
        db=str(tmp_path / "emulator.db"),
        partner_id=PARTNER,
        admin_secret=ADMIN,
        entries=entries,
        faults=faults,
        fault_seed=11,
    ) as srv:
        env = {
            **os.environ,
            "KALTURA_SERVICE_URL": srv.url,
            "KALTURA_PARTNER_ID": str(PARTNER),
            "KALTURA_ADMIN_SECRET": ADMIN,
        }
        for seed in (1, 2):
            rng = random.Random(seed)
            parts = []
            for p in range(2):
                records = cue_points(entries[2 * (seed - 1) + p], 70)
                data = tmp_path / f"seed{seed}-part{p}.xml"  # XML: the child needs no pyarrow import
                write_xml(records, data)
                parts.append((records, data, tmp_path / f"seed{seed}-part{p}.journal"))
            for _ in range(2):
                procs = [_start(env, journal, data) for _, data, journal in parts]
                for proc in procs:
                    _wait_ready(proc)
                deadlines = sorted((rng.uniform(0.05, 1.2), i) for i in range(len(procs)))
                started = time.monotonic()
                for at, i in deadlines:
                    time.sleep(max(0.0, started + at - time.monotonic()))
                    if procs[i].poll() is None:
                        procs[i].send_signal(signal.SIGKILL)
                        kills += 1
                for proc in procs:
                    proc.wait(30)
                    proc.stdout.close()  # type: ignore[union-attr]
                    proc.stderr.close()  # type: ignore[union-attr]
                for _, _, journal in parts:
                    if journal.exists():
                        killed_in_flight += states(journal).get("sending", 0)
            procs = [_start(env, journal, data) for _, data, journal in parts]
            for proc in procs:
                out, err = proc.communicate(timeout=120)
                assert proc.returncode == 0 and "done" in out, err[-3000:]
            for _, _, journal in parts:
                assert set(states(journal)) == {"confirmed"}
            assert_exactly_once(srv, parts[0][0] + parts[1][0], f"seed {seed}: killed, then finished")
    print(f"{kills} kills, {killed_in_flight} of them with an upload in flight")
    assert kills >= 4 and killed_in_flight >= 1

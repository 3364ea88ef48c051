"""Exactly once when an upload's answer is lost while the server is still working on it.

The server's insert-or-update by systemName is a look-up followed by an insert, so a re-send that
runs while the request the client gave up on is still being applied can insert a systemName twice.
These tests sweep the server's delay around the client timeout (below, equal, above, racing the
re-send, and applied late after the client moved on), with and without a journal, and count on
the emulator's own database: every cue point exactly once, and the push's report (``attrs
["recoveries"]``) says what had landed, what was re-sent and which copies were deleted, matching
what the database shows.

Timing: no assertion depends on a tight sleep. The client timeout (3 s) is far above what an
upload of this size takes on a loaded machine; "racing" and "late" use the fault layer's events
(``until="next"``: the held request is released when the re-send arrives, so both run together;
``until="release"``: the test releases it after the push returned and waits until it is done).
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cuepipe import vocabulary as voc
from cuepipe.cli import main
from cuepipe.client import AsyncClient, Client, Retries, Settle
from cuepipe.emulator import EmulatorServer
from cuepipe.emulator.faults import Fault

from .helpers import EmulatorFactory

PARTNER, ADMIN = 5171, "exactly-once-admin-secret-k2p9"
UPLOAD = "cuepoint.addFromBulk"
TIMEOUT = 3.0
SETTLE = Settle(quiet=2.0, limit=60.0, poll=0.25)
RETRIES = Retries(max_retries=3, backoff=0.05, max_backoff=0.2)
DELETED = int(voc.CuePointStatus.DELETED)
N = 200


@pytest.fixture(scope="module")
def server(start_emulator: EmulatorFactory) -> EmulatorServer:
    entries = [f"0_x{i:03d}" for i in range(60)]
    return start_emulator(partner_id=PARTNER, admin_secret=ADMIN, entries=entries, fault_admin=True)


@pytest.fixture(autouse=True)
def healthy(server: EmulatorServer) -> Iterator[None]:
    server.faults.clear()
    yield
    server.faults.clear()
    assert server.faults.wait_idle(60)


_next = iter(range(60))


def fresh_entry() -> str:
    return f"0_x{next(_next):03d}"


def keyed(entry: str, n: int = N) -> list[dict[str, Any]]:
    """``n`` annotations and code cue points with systemNames; every fourth annotation a child."""
    out: list[dict[str, Any]] = []
    for i in range(n):
        rec: dict[str, Any] = {"entryId": entry, "systemName": f"k-{i:04d}", "startTime": i * 1000}
        if i % 2:
            rec.update(cuePointType="codeCuePoint.Code", code=f"c{i}")
        else:
            rec.update(cuePointType="annotation.Annotation", endTime=i * 1000 + 500, text=f"t{i}")
            if i % 8 == 4:
                rec["parentSystemName"] = f"k-{i - 2:04d}"
        out.append(rec)
    return out


def rows(srv: EmulatorServer, entry: str, *, deleted: bool = False) -> list[dict[str, Any]]:
    store = srv.app.state.emulator.store
    op = "=" if deleted else "!="
    return [
        dict(r)
        for r in store.query(f'SELECT * FROM cue_points WHERE "entryId" = ? AND status {op} ?', [entry, DELETED])
    ]


def assert_exactly_once(srv: EmulatorServer, expected: list[dict[str, Any]], result: Any) -> None:
    entry = expected[0]["entryId"]
    live = rows(srv, entry)
    names = Counter(r["systemName"] for r in live)
    assert {n: c for n, c in names.items() if c > 1} == {}, "duplicates left on the server"
    assert sorted(names) == sorted(r["systemName"] for r in expected)
    by_name = {r["systemName"]: r for r in live}
    for rec in expected:
        row = by_name[rec["systemName"]]
        assert row["startTime"] == rec["startTime"] and row["cuePointType"] == rec["cuePointType"]
        parent = rec.get("parentSystemName")
        if parent:
            assert row["parentId"] == by_name[parent]["id"], "a child points to a deleted copy"
    # the result names the surviving cue points
    assert sorted(result["id"]) == sorted(r["id"] for r in live)
    assert result["action"].eq("created").all()


def check_report(srv: EmulatorServer, expected: list[dict[str, Any]], result: Any) -> dict[str, Any]:
    """The report is honest: every deleted copy is in it and nothing else was deleted; counts add up."""
    recoveries = result.attrs["recoveries"]
    assert len(recoveries) == 1, recoveries
    report = recoveries[0]
    deleted = rows(srv, expected[0]["entryId"], deleted=True)
    assert sorted(i for i, _ in report["swept"]) == sorted(r["id"] for r in deleted)
    assert result.attrs["swept"] == len(deleted)
    assert report["landed"] + report["resent"] >= len(expected)
    assert report["landed"] <= len(expected) and report["settled"] and not report["kept"]
    assert result.attrs["unsettled_entries"] == []
    return report


def push(srv: EmulatorServer, data: Any, journal: Path | None, kind: str = "sync") -> Any:
    kwargs: dict[str, Any] = {"partner_id": PARTNER, "admin_secret": ADMIN, "timeout": TIMEOUT, "retries": RETRIES}
    if kind == "async":

        async def run() -> Any:
            async with AsyncClient(srv.url, **kwargs) as api:
                return await api.push(data, chunk_size=N, journal=journal, settle=SETTLE)

        return asyncio.run(run())
    with Client(srv.url, **kwargs) as api:
        return api.push(data, chunk_size=N, journal=journal, settle=SETTLE)


CASES = {
    # held for less than the client waits: the answer arrives, nothing to settle
    "below": dict(delay=TIMEOUT * 0.3),
    # held exactly as long as the client waits: it gives up as the server starts applying
    "equal": dict(delay=TIMEOUT),
    # held beyond the timeout: applied while the client watches the entry, so nothing is re-sent
    "above": dict(delay=TIMEOUT + 0.5),
    # held until the re-send arrives: both are applied side by side (copies), then swept
    "racing": dict(delay=120, until="next"),
    # held until the push has returned: applied late, it only updates
    "late": dict(delay=120, until="release"),
}


@pytest.mark.parametrize("journaled", [False, True], ids=["no-journal", "journal"])
@pytest.mark.parametrize("case", list(CASES))
def test_server_delays_around_the_client_timeout(
    server: EmulatorServer, tmp_path: Path, case: str, journaled: bool
) -> None:
    entry = fresh_entry()
    expected = keyed(entry)
    server.faults.replace([Fault("slow", action=UPLOAD, phase="before", **CASES[case])])
    result = push(server, expected, tmp_path / "push.journal" if journaled else None)
    if case == "late":
        assert server.faults.release() == 1, "the first request should still be held"
    assert server.faults.wait_idle(60)
    assert server.faults.hits("slow") == 1
    assert_exactly_once(server, expected, result)
    if case == "below":
        assert result.attrs["recoveries"] == [] and result.attrs["resent"] == 0
        return
    report = check_report(server, expected, result)
    if case in ("equal", "above"):
        # applied while the client watched: nothing sent twice, nothing to delete
        assert report["landed"] == N and report["resent"] == 0 and report["swept"] == []
    else:
        # nothing had landed when the client looked: everything was sent again
        assert report["landed"] == 0 and report["resent"] == N
    if case == "late":
        assert report["swept"] == []  # a request applied after the re-send finds every name: updates only
    print(f"[{case}, journal={journaled}] {report}")


@pytest.mark.parametrize("case", ["racing", "late"])
def test_async_client_settles_the_same_way(server: EmulatorServer, case: str) -> None:
    entry = fresh_entry()
    expected = keyed(entry)
    server.faults.replace([Fault("slow", action=UPLOAD, phase="before", **CASES[case])])
    result = push(server, expected, None, kind="async")
    if case == "late":
        assert server.faults.release() == 1
    assert server.faults.wait_idle(60)
    assert_exactly_once(server, expected, result)
    report = check_report(server, expected, result)
    assert report["resent"] == N


def test_racing_requests_do_leave_copies_that_the_sweep_deletes(server: EmulatorServer) -> None:
    """The race is real: across a few racing pushes copies appear (and all are swept), else this
    suite would not test the sweep at all."""
    swept = 0
    for _ in range(6):  # usually the first; a loaded machine may serialise a few races
        entry = fresh_entry()
        expected = keyed(entry, 300)
        server.faults.replace([Fault("slow", action=UPLOAD, phase="before", delay=120, until="next")])
        with Client(server.url, partner_id=PARTNER, admin_secret=ADMIN, timeout=TIMEOUT, retries=RETRIES) as api:
            result = api.push(expected, chunk_size=300, settle=SETTLE)
        assert server.faults.wait_idle(60)
        assert_exactly_once(server, expected, result)
        swept += result.attrs["swept"]
        if swept:
            break
    assert swept > 0


def test_cli_reports_what_was_resent_and_swept(server: EmulatorServer, tmp_path: Path) -> None:
    entry = fresh_entry()
    expected = keyed(entry)
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in expected))
    server.faults.replace([Fault("slow", action=UPLOAD, phase="before", delay=120, until="next")])
    env = {"KALTURA_SERVICE_URL": server.url, "KALTURA_PARTNER_ID": str(PARTNER), "KALTURA_ADMIN_SECRET": ADMIN}
    res = CliRunner().invoke(
        main, ["push", str(path), "--chunk-size", str(N), "--http-timeout", str(TIMEOUT), "--settle", "2"], env=env
    )
    assert server.faults.wait_idle(60)
    assert res.exit_code == 0, res.output
    assert f"pushed {N} cue points in 1 upload(s): {N} created" in res.output
    assert f"upload 1 (entry {entry}): answer lost (ReadTimeout" in res.output
    assert f"0 had landed, {N} re-sent" in res.output
    assert "duplicate(s) deleted" in res.output
    assert ADMIN not in res.output
    assert len(rows(server, entry)) == N


def test_beyond_the_bound_the_push_says_late_duplicates_are_possible_and_dedupe_cleans_up(
    server: EmulatorServer,
) -> None:
    """Something keeps writing the upload's names while the client watches (here: another writer
    adding copies of one name), so the watch never goes quiet within its limit: the push finishes,
    says the entry is unsettled, and ``dedupe`` removes what is left once the writer stops."""
    entry = fresh_entry()
    expected = keyed(entry)
    store = server.app.state.emulator.store
    stop = threading.Event()

    def add_copy() -> None:
        now = int(time.time())
        with store.transaction() as c:
            store.insert_cue_point(
                c,
                {
                    "id": store.new_id("cue_points"),
                    "partnerId": PARTNER,
                    "entryId": entry,
                    "cuePointType": "codeCuePoint.Code",
                    "systemName": "k-0001",
                    "status": int(voc.CuePointStatus.READY),
                    "startTime": 1000,
                    "code": "late copy",
                    "createdAt": now,
                    "updatedAt": now,
                },
            )

    def writer() -> None:
        while not stop.wait(0.2):
            add_copy()

    server.faults.replace([Fault("slow", action=UPLOAD, phase="before", delay=120, until="release")])
    thread = threading.Thread(target=writer)
    thread.start()
    try:
        with Client(server.url, partner_id=PARTNER, admin_secret=ADMIN, timeout=TIMEOUT, retries=RETRIES) as api:
            result = api.push(expected, chunk_size=N, settle=Settle(quiet=2.0, limit=5.0, poll=0.2))
    finally:
        stop.set()
        thread.join()
    add_copy()  # the writer is still at it after the push returned
    server.faults.release()
    assert server.faults.wait_idle(60)
    assert result.attrs["unsettled_entries"] == [entry]
    assert result.attrs["recoveries"][0]["settled"] is False
    assert Counter(r["systemName"] for r in rows(server, entry))["k-0001"] > 1  # copies made after the sweep
    with Client(server.url, partner_id=PARTNER, admin_secret=ADMIN) as api:
        cleaned = api.dedupe(entry, dry_run=False)
    assert set(cleaned["systemName"]) == {"k-0001"}
    live = rows(server, entry)
    assert sorted(r["systemName"] for r in live) == sorted(r["systemName"] for r in expected)

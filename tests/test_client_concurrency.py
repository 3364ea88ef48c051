"""``concurrency=``: a pipelined push and parallel pull keep exactly once, sync and async alike.

Push writes one upload at a time, in order, while the next ``concurrency - 1`` are prepared (their
lookups in flight, their XML rendered); pull walks several entries or ``createdAt`` ranges at once.
These tests count on the emulator's own database: every cue point exactly once whatever the
concurrency, with answers lost (``reset`` after the action ran: the push must settle, not re-send
blindly) and part-way failures injected; a pull returns the same frame, in the same order, at every
concurrency. The option is checked with one clear error on both clients and on the CLI.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from cuepipe import vocabulary as voc
from cuepipe.cli import main
from cuepipe.client import AsyncClient, Client, PushError, Retries, Settle
from cuepipe.client._base import AUTO_MIN_PUSH, AUTO_PUSH_CONCURRENCY, MAX_CONCURRENCY, Parallel, Sleep
from cuepipe.client._plan import plan_push
from cuepipe.emulator import EmulatorServer
from cuepipe.emulator.faults import Fault

from .helpers import EmulatorFactory

PARTNER, ADMIN = 5191, "concurrency-admin-secret-7q2w"
UPLOAD = "cuepoint.addFromBulk"
SETTLE = Settle(quiet=0.5, limit=30.0, poll=0.1)
RETRIES = Retries(max_retries=3, backoff=0.05, max_backoff=0.2)
DELETED = int(voc.CuePointStatus.DELETED)
_entries = (f"0_cc{i:04d}" for i in itertools.count())


@pytest.fixture(scope="module")
def server(start_emulator: EmulatorFactory) -> EmulatorServer:
    entries = [f"0_cc{i:04d}" for i in range(600)]
    return start_emulator(partner_id=PARTNER, admin_secret=ADMIN, entries=entries, fault_admin=True)


@pytest.fixture(autouse=True)
def healthy(server: EmulatorServer) -> Any:
    server.faults.clear()
    yield
    server.faults.clear()
    assert server.faults.wait_idle(60)


def fresh_entries(server: EmulatorServer, n: int) -> list[str]:
    """Entries no earlier test wrote to."""
    return [next(_entries) for _ in range(n)]


def records(entries: list[str], per_entry: int, *, named: bool = True) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for entry in entries:
        for i in range(per_entry):
            rec: dict[str, Any] = {"entryId": entry, "startTime": i * 1000}
            if named:
                rec["systemName"] = f"n-{i:05d}"
            if i % 2:
                rec.update(cuePointType="codeCuePoint.Code", code=f"c{i}")
            else:
                rec.update(cuePointType="annotation.Annotation", endTime=i * 1000 + 500, text=f"t{i}")
            out.append(rec)
    return out


def live(server: EmulatorServer, entry: str) -> list[dict[str, Any]]:
    store = server.app.state.emulator.store
    return [
        dict(r)
        for r in store.query(
            'SELECT * FROM cue_points WHERE "entryId" = ? AND status != ? ORDER BY intId', [entry, DELETED]
        )
    ]


def client(server: EmulatorServer, concurrency: int | str, **kwargs: Any) -> Client:
    return Client(
        server.url,
        partner_id=PARTNER,
        admin_secret=ADMIN,
        concurrency=concurrency,  # type: ignore[arg-type]
        retries=RETRIES,
        timeout=30,
        **kwargs,
    )


def assert_exactly_once(server: EmulatorServer, entries: list[str], per_entry: int) -> None:
    for entry in entries:
        names = [r["systemName"] for r in live(server, entry)]
        assert sorted(names) == [f"n-{i:05d}" for i in range(per_entry)], entry


# ---------------------------------------------------------------------------------------------
# the option
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [0, -1, MAX_CONCURRENCY + 1, True, 2.5, "many", "", None])
@pytest.mark.parametrize("cls", [Client, AsyncClient])
def test_concurrency_is_checked_with_one_clear_error(cls: type, bad: Any) -> None:
    with pytest.raises(ValueError, match=rf"concurrency must be 'auto' or an integer from 1 to {MAX_CONCURRENCY}"):
        cls("http://127.0.0.1:9", partner_id=1, admin_secret="s", concurrency=bad)


@pytest.mark.parametrize("good", ["auto", 1, MAX_CONCURRENCY])
def test_both_clients_take_the_same_values(good: Any) -> None:
    Client("http://127.0.0.1:9", partner_id=1, admin_secret="s", concurrency=good).close()
    asyncio.run(AsyncClient("http://127.0.0.1:9", partner_id=1, admin_secret="s", concurrency=good).aclose())


@pytest.mark.parametrize("bad", ["0", "17", "lots"])
def test_cli_refuses_a_bad_concurrency_as_usage_error(bad: str) -> None:
    result = CliRunner().invoke(
        main,
        ["pull", "--entry-id", "0_x", "--service-url", "http://127.0.0.1:9", "--partner-id", "1"]
        + ["--admin-secret", "s", "--concurrency", bad],
    )
    assert result.exit_code == 2
    assert "concurrency must be 'auto' or an integer from 1 to" in result.output


@pytest.mark.parametrize(
    ("items", "chunk", "want"),
    [(10, 500, 1), (AUTO_MIN_PUSH - 1, 100, 1), (AUTO_MIN_PUSH, 100, AUTO_PUSH_CONCURRENCY), (AUTO_MIN_PUSH, 2000, 1)],
)
def test_auto_push_concurrency_is_bounded(items: int, chunk: int, want: int) -> None:
    """Automatic: one at a time for small pushes, never more than AUTO_PUSH_CONCURRENCY nor than the uploads."""
    recs = records(["0_auto"], items)
    plan = plan_push(
        recs, service="cuepoint_cuepoint", chunk_size=chunk, unsupported="error", errors="raise",
        detect_actions=True, concurrency=None,
    )  # fmt: skip
    assert plan.concurrency == want <= AUTO_PUSH_CONCURRENCY <= MAX_CONCURRENCY


# ---------------------------------------------------------------------------------------------
# push: exactly once at every concurrency, with answers lost
# ---------------------------------------------------------------------------------------------


@settings(
    max_examples=4,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    concurrency=st.integers(1, 6),
    lost=st.lists(st.integers(0, 11), min_size=0, max_size=3, unique=True),
    detect=st.booleans(),
)
def test_push_is_exactly_once_at_any_concurrency_with_lost_answers(
    server: EmulatorServer, concurrency: int, lost: list[int], detect: bool
) -> None:
    """12 uploads over 3 entries; the answers of some are lost after the server applied them."""
    server.faults.clear()
    entries = fresh_entries(server, 3)
    per_entry = 200
    server.faults.replace([Fault("reset", action=UPLOAD, phase="after", after=k, times=1) for k in sorted(lost)[:1]])
    with client(server, concurrency) as api:
        result = api.push(records(entries, per_entry), chunk_size=50, settle=SETTLE, detect_actions=detect)
    assert_exactly_once(server, entries, per_entry)
    # without lookups the action cannot tell created from updated; nothing failed in any case
    assert result["action"].eq("created").all() if detect else not result["action"].isin(["failed", "not_sent"]).any()
    assert result["id"].notna().all() and result["id"].is_unique
    assert len(result.attrs["recoveries"]) == len(sorted(lost)[:1])
    server.faults.clear()
    assert server.faults.wait_idle(30)


@pytest.mark.parametrize("concurrency", [1, 4])
def test_a_part_way_failure_stops_the_push_with_nothing_after_it_sent(server: EmulatorServer, concurrency: int) -> None:
    """``errors="raise"``: uploads are written in order, so nothing after the failed one is written,
    even though the next ones were already prepared (looked up, rendered) beside it."""
    entries = fresh_entries(server, 2)
    server.faults.replace([Fault("partial", commit=7, action=UPLOAD, after=2)])
    with client(server, concurrency) as api, pytest.raises(PushError) as info:
        api.push(records(entries, 100, named=False), chunk_size=25, settle=SETTLE)
    err = info.value
    assert err.upload == 3
    assert err.saved_rows == list(range(50, 57))
    assert len(live(server, entries[0])) == 57 and live(server, entries[1]) == []
    result = err.result
    assert result is not None
    assert result["action"][75:].eq("not_sent").all()


@pytest.mark.parametrize("concurrency", [1, 3])
def test_sync_and_async_push_the_same(server: EmulatorServer, concurrency: int) -> None:
    sync_entries = fresh_entries(server, 2)
    async_entries = fresh_entries(server, 2)
    server.faults.replace([Fault("reset", action=UPLOAD, phase="after", after=1, times=1)])
    with client(server, concurrency) as api:
        sync_result = api.push(records(sync_entries, 150), chunk_size=40, settle=SETTLE)
    server.faults.replace([Fault("reset", action=UPLOAD, phase="after", after=1, times=1)])

    async def run() -> Any:
        async with AsyncClient(
            server.url, partner_id=PARTNER, admin_secret=ADMIN, concurrency=concurrency, retries=RETRIES, timeout=30
        ) as api:
            return await api.push(records(async_entries, 150), chunk_size=40, settle=SETTLE)

    async_result = asyncio.run(run())
    assert_exactly_once(server, sync_entries, 150)
    assert_exactly_once(server, async_entries, 150)
    for frame in (sync_result, async_result):
        assert frame["action"].eq("created").all()
        assert frame.attrs["uploads"] == 8 and frame.attrs["recovered"] == 1
    assert list(sync_result["upload"]) == list(async_result["upload"])


# ---------------------------------------------------------------------------------------------
# pull: the same frame, in the same order, at every concurrency
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pulled_entries(server: EmulatorServer) -> list[str]:
    entries = fresh_entries(server, 4)
    with client(server, 1) as api:
        for entry in entries:  # one entry after another: several creation seconds overall
            api.push(records([entry], 600), chunk_size=100)
    return entries


@pytest.mark.parametrize("concurrency", [2, 4, MAX_CONCURRENCY])
@pytest.mark.parametrize("precision", ["ms", "tenths"])
def test_parallel_pull_equals_the_sequential_pull(
    server: EmulatorServer, pulled_entries: list[str], concurrency: int, precision: str
) -> None:
    flt = {"entryIdIn": pulled_entries}
    with client(server, 1) as api:
        sequential = api.pull(flt, precision=precision, page_size=100)  # type: ignore[arg-type]
    with client(server, concurrency) as api:
        parallel = api.pull(flt, precision=precision, page_size=100)  # type: ignore[arg-type]
        # 24 pages of 25: more than two ranges' worth, so one entry is cut into createdAt ranges
        one_entry = api.pull({"entryIdEqual": pulled_entries[0]}, precision=precision, page_size=25)  # type: ignore[arg-type]
    assert len(parallel) == 4 * 600
    assert parallel.groupby("entryId")["systemName"].apply(lambda s: s.is_unique).all()
    key = ["entryId", "systemName"]
    assert sorted(map(tuple, parallel[key].to_numpy())) == sorted(map(tuple, sequential[key].to_numpy()))
    same = parallel.sort_values(key, ignore_index=True)
    assert same.equals(sequential.sort_values(key, ignore_index=True))
    assert len(one_entry) == 600 and one_entry["systemName"].is_unique
    want_one = sequential[sequential["entryId"] == pulled_entries[0]].reset_index(drop=True)
    assert list(one_entry["systemName"]) == list(want_one["systemName"])  # ranges come out in order


def test_parallel_pull_survives_dropped_answers(server: EmulatorServer, pulled_entries: list[str]) -> None:
    """Reads whose answer is lost are repeated; every cue point still comes back once."""
    server.faults.replace([Fault("reset", action="cuepoint.list", phase="after", after=3, times=2)])
    with client(server, 4) as api:
        frame = api.pull({"entryIdIn": pulled_entries}, precision="ms", page_size=100)
    assert len(frame) == 4 * 600
    assert not frame.duplicated(["entryId", "systemName"]).any()


def test_async_parallel_pull_equals_sync(server: EmulatorServer, pulled_entries: list[str]) -> None:
    with client(server, 3) as api:
        sync_frame = api.pull({"entryIdIn": pulled_entries}, precision="ms", page_size=100)

    async def run() -> Any:
        async with AsyncClient(server.url, partner_id=PARTNER, admin_secret=ADMIN, concurrency=3) as api:
            return await api.pull({"entryIdIn": pulled_entries}, precision="ms", page_size=100)

    assert asyncio.run(run()).equals(sync_frame)


# ---------------------------------------------------------------------------------------------
# the engine's Parallel command, on both drivers
# ---------------------------------------------------------------------------------------------


def _op(value: int, sleeps: int, fail: bool = False) -> Any:
    for _ in range(sleeps):
        yield Sleep(0.01)
    if fail:
        raise RuntimeError(f"op {value} failed")
    return value


def _parent(limit: int, stop: bool) -> Any:
    ops = (_op(i, 1 + i % 3, fail=i == 5) for i in range(12))
    outcomes = yield Parallel(ops, limit=limit, stop_on_error=stop)
    return [(o.value, type(o.error).__name__ if o.error else None, o.started) for o in outcomes]


class _Tracker:
    """Counts the commands a driver has under way at once."""

    def __init__(self, perform: Any, is_async: bool) -> None:
        import threading

        self.perform, self.now, self.most = perform, 0, 0
        self.is_async = is_async
        self._lock = threading.Lock()

    def enter(self) -> None:
        self.now += 1
        self.most = max(self.most, self.now)

    def sync(self, command: Any) -> Any:
        with self._lock:
            self.enter()
        try:
            return self.perform(command)
        finally:
            with self._lock:
                self.now -= 1

    async def run(self, command: Any) -> Any:
        self.enter()
        try:
            return await self.perform(command)
        finally:
            self.now -= 1


@pytest.mark.parametrize("limit", [1, 3, 5])
@pytest.mark.parametrize("stop", [False, True])
def test_parallel_runs_at_most_limit_and_keeps_outcomes_in_order(limit: int, stop: bool) -> None:
    with Client("http://127.0.0.1:9", partner_id=1, admin_secret="s") as sync_client:
        tracker = _Tracker(sync_client._perform, False)
        sync_client._perform = tracker.sync  # type: ignore[method-assign]
        sync_out = sync_client._run(_parent(limit, stop))
    assert tracker.most <= limit

    async def run() -> Any:
        async with AsyncClient("http://127.0.0.1:9", partner_id=1, admin_secret="s") as api:
            atracker = _Tracker(api._perform, True)
            api._perform = atracker.run  # type: ignore[method-assign]
            out = await api._run(_parent(limit, stop))
            # tasks started together begin together: exactly ``limit`` under way (none for limit 1,
            # which runs its operations inline)
            assert atracker.most == (limit if limit > 1 else 0)
            return out

    async_out = asyncio.run(run())
    assert [o[0] for o in sync_out[:5]] == [0, 1, 2, 3, 4]
    assert sync_out[5] == (None, "RuntimeError", True)
    if not stop:
        assert sync_out == async_out
        assert [o[0] for o in sync_out[6:]] == list(range(6, 12))
    else:  # nothing starts after the failure; what was under way finished
        for out in (sync_out, async_out):
            started = [o[2] for o in out]
            assert started == sorted(started, reverse=True)  # the ones not started are the last
            assert all(o == (i, None, True) for i, o in enumerate(out) if o[2] and i != 5)
            assert all(o == (None, None, False) for o in out if not o[2])
        if limit == 1:
            assert sync_out[6:] == [(None, None, False)] * 6

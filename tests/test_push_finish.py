"""A pipelined push maps an upload's answer while the next upload is on its way (``_PushRun.finish``).

So for a moment a journal shows two uploads as ``sending``: the one the server answered, not yet
confirmed, and the next one. A run that dies there must settle both on resume and send nothing twice.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from cuepipe.client._journal import Journal
from cuepipe.emulator import EmulatorServer

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

ENTRIES = [f"0_f{i:03d}" for i in range(6)]


@pytest.fixture(scope="module")
def server(start_emulator: EmulatorFactory) -> EmulatorServer:
    return start_emulator(partner_id=PARTNER, admin_secret=ADMIN, entries=ENTRIES)


def _states(path: Path) -> dict[int, str]:
    conn = sqlite3.connect(path)
    try:
        return dict(conn.execute("SELECT number, state FROM uploads").fetchall())
    finally:
        conn.close()


def test_a_run_that_dies_while_an_answer_is_mapped_is_settled_on_resume(
    server: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = cue_points(ENTRIES[0], 60)
    journal = tmp_path / "push.sqlite"
    confirm = Journal.confirmed
    calls = 0

    def dies_on_the_second(self: Journal, number: int, result: object) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise KeyboardInterrupt  # like kill -9 between the next upload's send and this confirmation
        confirm(self, number, result)  # type: ignore[arg-type]

    monkeypatch.setattr(Journal, "confirmed", dies_on_the_second)
    with reliability_client(server, concurrency=4) as api, pytest.raises(KeyboardInterrupt):
        api.push(expected, chunk_size=10, journal=journal, settle=QUICK)
    monkeypatch.setattr(Journal, "confirmed", confirm)
    # upload 2 was answered, and upload 3 was on its way before upload 2's confirmation was written
    states = _states(journal)
    assert states == {1: "confirmed", 2: "sending", 3: "sending", 4: "pending", 5: "pending", 6: "pending"}
    assert len(emulator_rows(server, [ENTRIES[0]])) >= 20

    recorder = Recorder()
    with reliability_client(server, transport=recorder) as api:
        result = api.push(expected, chunk_size=10, journal=journal, settle=QUICK)
    assert result.attrs["resumed"] == 1 and result.attrs["recovered"] == 2
    sizes = result["upload"].value_counts().sort_index().tolist()
    # upload 2 had landed and is not sent again; upload 3 (under way when the run died) is sent again
    # only if it had not landed by the time the resume looked
    assert sum(recorder.uploads()) in (sum(sizes[3:]), sum(sizes[3:]) + 10)
    assert result["action"].isin(["created"]).all()
    assert_exactly_once(server, expected, "died while an answer was being mapped")
    assert set(_states(journal).values()) == {"confirmed"}


@pytest.mark.parametrize("concurrency", [1, 4])
def test_every_upload_is_mapped_and_confirmed_at_the_end(
    server: EmulatorServer, tmp_path: Path, concurrency: int
) -> None:
    entry = ENTRIES[1 + concurrency // 4]
    expected = cue_points(entry, 45)
    journal = tmp_path / "push.sqlite"
    with reliability_client(server, concurrency=concurrency) as api:
        result = api.push(expected, chunk_size=10, journal=journal, settle=QUICK)
    assert result["action"].eq("created").all() and result["id"].notna().all()
    assert set(_states(journal).values()) == {"confirmed"} and len(_states(journal)) == 5
    assert_exactly_once(server, expected, f"concurrency {concurrency}")

"""``Client.dedupe`` / ``cuepipe dedupe``: find and remove cue points that share a systemName on an entry.

Duplicates are made the way they happen (two requests applied at once), or written straight into
the emulator's database for exact control over which copy is older and which has children.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from cuepipe import vocabulary as voc
from cuepipe.cli import main
from cuepipe.client import AsyncClient, Client
from cuepipe.client._dedupe import plan_dedupe
from cuepipe.emulator import EmulatorServer

from .helpers import EmulatorFactory

PARTNER, ADMIN = 5191, "dedupe-admin-secret-r4m8"
DELETED = int(voc.CuePointStatus.DELETED)


@pytest.fixture(scope="module")
def server(start_emulator: EmulatorFactory) -> EmulatorServer:
    return start_emulator(partner_id=PARTNER, admin_secret=ADMIN, entries=[f"0_u{i:03d}" for i in range(20)])


_next = iter(range(20))


def fresh_entry() -> str:
    return f"0_u{next(_next):03d}"


def client(srv: EmulatorServer) -> Client:
    return Client(srv.url, partner_id=PARTNER, admin_secret=ADMIN)


def live(srv: EmulatorServer, entry: str) -> list[dict[str, Any]]:
    store = srv.app.state.emulator.store
    return [
        dict(r)
        for r in store.query(
            'SELECT * FROM cue_points WHERE "entryId" = ? AND status != ? ORDER BY intId', [entry, DELETED]
        )
    ]


def copy_rows(srv: EmulatorServer, entry: str, name: str, times: int) -> None:
    """Insert ``times`` more copies of the cue point ``name`` straight into the database (newer ones)."""
    store = srv.app.state.emulator.store
    (row,) = [r for r in live(srv, entry) if r["systemName"] == name]
    for _ in range(times):
        values = {k: v for k, v in row.items() if k != "intId"}
        values["id"] = store.new_id("cue_points")
        with store.transaction() as c:
            store.insert_cue_point(c, store.decode_cue_point(values))


def seed(srv: EmulatorServer, entry: str, n: int = 6) -> list[dict[str, Any]]:
    records = [
        {
            "cuePointType": "codeCuePoint.Code",
            "entryId": entry,
            "systemName": f"s-{i}",
            "startTime": i * 100,
            "code": "x",
        }
        for i in range(n)
    ]
    with client(srv) as api:
        api.push(records)
    return records


def test_dry_run_lists_and_deletes_nothing_then_yes_keeps_the_oldest(server: EmulatorServer) -> None:
    entry = fresh_entry()
    seed(server, entry)
    copy_rows(server, entry, "s-1", 2)
    copy_rows(server, entry, "s-4", 1)
    before = live(server, entry)
    oldest = {r["systemName"]: r["id"] for r in reversed(before)}  # ORDER BY intId: the first wins
    with client(server) as api:
        dry = api.dedupe(entry)
        assert len(live(server, entry)) == len(before) == 9  # nothing deleted
        assert Counter(dry["action"]) == {"keep": 2, "delete": 3}
        assert set(dry.loc[dry["action"] == "keep", "id"]) == {oldest["s-1"], oldest["s-4"]}
        assert "s-0" not in set(dry["systemName"])  # a key with one cue point is not even listed
        done = api.dedupe([entry], dry_run=False)
    assert Counter(done["action"]) == {"keep": 2, "deleted": 3}
    after = live(server, entry)
    assert sorted(r["systemName"] for r in after) == [f"s-{i}" for i in range(6)]
    assert {r["id"] for r in after} >= {oldest["s-1"], oldest["s-4"]}
    with client(server) as api:
        assert api.dedupe(entry).empty  # nothing left to do


def test_copies_with_children_or_of_another_type_are_left(server: EmulatorServer) -> None:
    entry = fresh_entry()
    ann = {"cuePointType": "annotation.Annotation", "entryId": entry, "startTime": 0, "endTime": 5}
    with client(server) as api:
        api.push(
            [
                dict(ann, systemName="p"),
                {"cuePointType": "codeCuePoint.Code", "entryId": entry, "systemName": "q", "startTime": 0, "code": "c"},
                dict(ann, systemName="r"),
            ]
        )
    copy_rows(server, entry, "p", 1)
    store = server.app.state.emulator.store
    newer_p = live(server, entry)[-1]
    with store.transaction() as c:
        # the newer copy of "p" has a child; "r" (an annotation, newer than the code "q") is renamed "q"
        c.execute('UPDATE cue_points SET "directChildrenCount" = 1 WHERE id = ?', (newer_p["id"],))
        c.execute('UPDATE cue_points SET "systemName" = ? WHERE "entryId" = ? AND "systemName" = ?', ("q", entry, "r"))
    with client(server) as api:
        result = api.dedupe(entry, dry_run=False)
    assert Counter(result["action"]) == {"keep": 2, "left": 2}
    left = result[result["action"] == "left"]
    assert sorted(left["reason"]) == ["another type than the kept codeCuePoint.Code", "has 1 child cue point(s)"]
    assert len(live(server, entry)) == 4  # nothing deleted


def test_async_client_and_the_race_it_cleans_up(server: EmulatorServer) -> None:
    entry = fresh_entry()
    seed(server, entry, 3)
    copy_rows(server, entry, "s-2", 3)

    async def run() -> pd.DataFrame:
        async with AsyncClient(server.url, partner_id=PARTNER, admin_secret=ADMIN) as api:
            return await api.dedupe(entry, dry_run=False)

    result = asyncio.run(run())
    assert Counter(result["action"]) == {"keep": 1, "deleted": 3}
    assert len(live(server, entry)) == 3


def test_many_cue_points_are_paged_past_the_page_cap(server: EmulatorServer) -> None:
    entry = fresh_entry()
    seed(server, entry, 1200)
    copy_rows(server, entry, "s-1199", 1)
    with client(server) as api:
        result = api.dedupe(entry)
    assert list(result["systemName"]) == ["s-1199", "s-1199"] and list(result["action"]) == ["keep", "delete"]


def test_cli_dry_run_then_yes(server: EmulatorServer, tmp_path: Path) -> None:
    entry = fresh_entry()
    seed(server, entry, 4)
    copy_rows(server, entry, "s-3", 2)
    env = {"KALTURA_SERVICE_URL": server.url, "KALTURA_PARTNER_ID": str(PARTNER), "KALTURA_ADMIN_SECRET": ADMIN}
    report = tmp_path / "dups.csv"
    dry = CliRunner().invoke(main, ["dedupe", "--entry-id", entry, "--report", str(report)], env=env)
    assert dry.exit_code == 1, dry.output
    assert "would delete 2 cue point(s)" in dry.output and "--yes" in dry.output
    assert len(live(server, entry)) == 6 and len(pd.read_csv(report)) == 3
    yes = CliRunner().invoke(main, ["dedupe", "--entry-id", entry, "--yes"], env=env)
    assert yes.exit_code == 0, yes.output and "deleted 2 cue point(s)" in yes.output
    assert len(live(server, entry)) == 4
    again = CliRunner().invoke(main, ["dedupe", "--entry-id", entry], env=env)
    assert again.exit_code == 0 and "0 systemName(s) with copies" in again.output
    assert ADMIN not in dry.output + yes.output


_copy = st.fixed_dictionaries(
    {
        "systemName": st.sampled_from(["a", "b", "c"]),
        "cuePointType": st.sampled_from(["codeCuePoint.Code", "annotation.Annotation"]),
        "directChildrenCount": st.sampled_from([0, 0, 0, 1]),
    }
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_copy, max_size=12))
def test_plan_never_deletes_a_lone_key_a_parent_or_the_kept_copy(copies: list[dict[str, Any]]) -> None:
    objs = [dict(c, id=f"0_{i:04d}", intId=i, createdAt=1000 + i, entryId="0_e") for i, c in enumerate(copies)]
    rows = plan_dedupe(objs)
    deleted = {r["id"] for r in rows if r["action"] == "delete"}
    by_id = {o["id"]: o for o in objs}
    names = Counter(o["systemName"] for o in objs)
    for cue_point_id in deleted:
        obj = by_id[cue_point_id]
        assert names[obj["systemName"]] > 1 and not obj["directChildrenCount"]
        oldest = min((o for o in objs if o["systemName"] == obj["systemName"]), key=lambda o: o["intId"])
        assert oldest["id"] != cue_point_id and oldest["cuePointType"] == obj["cuePointType"]
    # every key keeps exactly one copy marked keep, and it is its oldest
    keeps = [r for r in rows if r["action"] == "keep"]
    assert sorted(r["systemName"] for r in keeps) == sorted(n for n, c in names.items() if c > 1)

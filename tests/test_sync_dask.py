"""cuepipe.dask.sync / cuepipe.dask.copy: partitioned by entry, one journal per partition, resumable."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path

import dask
import pandas as pd
import pytest

import cuepipe.dask
from cuepipe.client import Client, Retries
from cuepipe.emulator import EmulatorServer
from cuepipe.emulator.app import Partner
from cuepipe.emulator.faults import Fault

from .helpers import EmulatorFactory

SRC, DST = 701, 702


@pytest.fixture(scope="module")
def server(start_emulator: EmulatorFactory) -> EmulatorServer:
    entries = [(SRC, f"0_ds{i:02d}") for i in range(20)] + [(DST, f"0_dt{i:02d}") for i in range(20)]
    return start_emulator(
        partners=[Partner(SRC, "secret-a"), Partner(DST, "secret-b")], entries=entries, fault_admin=True
    )


@pytest.fixture(autouse=True)
def synchronous() -> Iterator[None]:
    # One task at a time: a failed compute then leaves no task running that still holds its journal.
    with dask.config.set(scheduler="synchronous"):
        yield


def factory(srv: EmulatorServer, partner: int, secret: str) -> functools.partial[Client]:
    return functools.partial(Client, srv.url, partner_id=partner, admin_secret=secret, retries=Retries(max_retries=0))


def desired(entries: list[str], text: str) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "cuePointType": "annotation.Annotation",
                "entryId": e,
                "systemName": f"K{i}",
                "startTime": i,
                "endTime": i + 1,
                "text": f"{text}{i}",
            }
            for e in entries
            for i in range(30)
        ]
    )


def test_sync_partitioned_by_entry_converges_and_resumes_after_a_failed_partition(
    server: EmulatorServer, tmp_path: Path
) -> None:
    entries = [f"0_ds{i:02d}" for i in range(6)]
    make = factory(server, SRC, "secret-a")
    summary = cuepipe.dask.sync(desired(entries, "v1"), make, journal_dir=tmp_path, npartitions=3)
    assert summary["create"].sum() == 180 and sorted(summary["entryId"]) == entries
    assert list(tmp_path.iterdir()) == []  # finished partitions leave no plan or journal behind
    # Now the server fails every upload after the first (a 503 after committing): partitions fail.
    server.faults.replace(
        [Fault("error", status=503, phase="after", action="cuepoint.addFromBulk", after=1, times=None)]
    )
    with pytest.raises(Exception):  # noqa: B017 - whatever the failure, the re-run must finish it
        cuepipe.dask.sync(desired(entries, "v2"), make, journal_dir=tmp_path, npartitions=3)
    server.faults.clear()
    assert any(p.name.endswith(".plan.json") for p in tmp_path.iterdir())
    again = cuepipe.dask.sync(desired(entries, "v2"), make, journal_dir=tmp_path, npartitions=3)
    assert list(tmp_path.iterdir()) == []
    with make() as api:
        got = api.pull({"entryIdIn": entries}, precision="ms")
    assert len(got) == 180 and set(got["text"].str[:2]) == {"v2"}
    last = cuepipe.dask.sync(desired(entries, "v2"), make, journal_dir=tmp_path, npartitions=3)
    assert last[["create", "update", "delete"]].to_numpy().sum() == 0 and (last["unchanged"] == 30).all()
    assert again["update"].sum() + summary["update"].sum() <= 180


def test_copy_partitioned_between_partners(server: EmulatorServer, tmp_path: Path) -> None:
    src_entries = [f"0_ds{i:02d}" for i in range(10, 16)]
    with factory(server, SRC, "secret-a")() as api:
        api.push(desired(src_entries, "c"))
    mapping = {s: s.replace("ds", "dt") for s in src_entries}
    report = cuepipe.dask.copy(
        mapping,
        factory(server, SRC, "secret-a"),
        factory(server, DST, "secret-b"),
        npartitions=3,
        journal_dir=tmp_path,
        shift_ms=1000,
    )
    assert len(report) == 180 and set(report["action"]) == {"created"} and set(report["partition"]) == {0, 1, 2}
    with factory(server, DST, "secret-b")() as api:
        got = api.pull({"entryIdIn": list(mapping.values())}, precision="ms")
    assert len(got) == 180 and got["startTime"].min() == 1000
    again = cuepipe.dask.copy(
        mapping,
        factory(server, SRC, "secret-a"),
        factory(server, DST, "secret-b"),
        npartitions=3,
        journal_dir=tmp_path,
        shift_ms=1000,
    )
    assert set(again["action"]) == {"unchanged"}

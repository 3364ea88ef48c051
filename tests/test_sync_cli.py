"""``cuepipe plan`` / ``apply`` / ``sync``: exit codes, readable output, no traceback, kill -9 then re-run."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from cuepipe import frames
from cuepipe.cli import main
from cuepipe.client import Client
from cuepipe.emulator import EmulatorServer

from .helpers import EmulatorFactory

PARTNER, ADMIN = 322, "sync-cli-secret"
ENTRIES = [f"0_sc{i:03d}" for i in range(40)]
_pool = iter(ENTRIES)


@pytest.fixture(scope="module")
def server(start_emulator: EmulatorFactory) -> EmulatorServer:
    return start_emulator(partner_id=PARTNER, admin_secret=ADMIN, entries=ENTRIES)


def env(srv: EmulatorServer) -> dict[str, str]:
    return {"KALTURA_SERVICE_URL": srv.url, "KALTURA_PARTNER_ID": str(PARTNER), "KALTURA_ADMIN_SECRET": ADMIN}


def rows(entry: str, n: int, text: str = "t") -> list[dict[str, object]]:
    return [
        {
            "cuePointType": "annotation.Annotation",
            "entryId": entry,
            "systemName": f"K{i:05d}",
            "startTime": i * 1000,
            "endTime": i * 1000 + 500,
            "text": f"{text} {i}",
        }
        for i in range(n)
    ]


def test_plan_apply_and_detailed_exit_codes(server: EmulatorServer, tmp_path: Path) -> None:
    entry = next(_pool)
    csv = tmp_path / "desired.csv"
    pd.DataFrame(rows(entry, 3)).to_csv(csv, index=False)
    runner = CliRunner()
    plan_file = tmp_path / "plan.json"
    res = runner.invoke(main, ["plan", str(csv), "-o", str(plan_file), "--detailed-exitcode"], env=env(server))
    assert res.exit_code == 2, res.output
    assert "+ Annotation 'K00000'" in res.stdout and "Plan: 3 to create" in res.stdout
    assert plan_file.is_file() and ADMIN not in plan_file.read_text()
    res = runner.invoke(main, ["apply", str(plan_file)], env=env(server))
    assert res.exit_code == 0, res.output
    assert "Applied: 3 created, 0 updated, 0 deleted" in res.stderr
    res = runner.invoke(main, ["plan", str(csv), "--detailed-exitcode"], env=env(server))
    assert res.exit_code == 0 and "No changes." in res.stdout, res.output
    # The same plan file again is stale now? No: its cue points are as planned *after*, so it is a no-op.
    res = runner.invoke(main, ["apply", str(plan_file)], env=env(server))
    assert res.exit_code == 0, res.output


def test_sync_asks_refuses_without_a_terminal_and_applies_with_yes(server: EmulatorServer, tmp_path: Path) -> None:
    entry = next(_pool)
    csv = tmp_path / "desired.csv"
    pd.DataFrame(rows(entry, 2)).to_csv(csv, index=False)
    runner = CliRunner()
    res = runner.invoke(main, ["sync", str(csv)], env=env(server), input="y\n")
    assert res.exit_code == 2 and "pass --yes" in res.output, res.output
    assert "Traceback" not in res.output
    with Client(server.url, partner_id=PARTNER, admin_secret=ADMIN) as api:
        assert api.count({"entryIdEqual": entry}) == 0
    res = runner.invoke(main, ["sync", str(csv), "--yes"], env=env(server))
    assert res.exit_code == 0 and "Applied: 2 created" in res.stderr, res.output
    pd.DataFrame(rows(entry, 1, "changed")).to_csv(csv, index=False)
    res = runner.invoke(main, ["sync", str(csv), "--prune", "--yes"], env=env(server))
    assert res.exit_code == 0, res.output
    assert "~ Annotation 'K00000'" in res.stdout and "- Annotation 'K00001'" in res.stdout
    assert "Applied: 0 created, 1 updated, 1 deleted" in res.stderr


def test_bad_input_is_one_line_without_traceback(server: EmulatorServer, tmp_path: Path) -> None:
    runner = CliRunner()
    bad = tmp_path / "bad.csv"
    bad.write_text("cuePointType,entryId,systemName,startTime\nannotation.Annotation,0_x,A,notatime\n")
    res = runner.invoke(main, ["plan", str(bad)], env=env(server))
    assert res.exit_code == 1 and res.output.count("\n") <= 3 and "Traceback" not in res.output, res.output
    damaged = tmp_path / "plan.json"
    damaged.write_text("{")
    res = runner.invoke(main, ["apply", str(damaged)], env=env(server))
    assert res.exit_code == 1 and res.output.startswith("error: ") and "not a readable plan" in res.output
    res = runner.invoke(main, ["apply", str(tmp_path / "missing.json")], env=env(server))
    assert res.exit_code == 2
    # A plan with errors prints them with the row, exits 1, and apply refuses it.
    entry = next(_pool)
    dup = tmp_path / "dup.csv"
    pd.DataFrame(rows(entry, 1) * 2).to_csv(dup, index=False)
    res = runner.invoke(main, ["plan", str(dup), "-o", str(tmp_path / "dup.json")], env=env(server))
    assert res.exit_code == 1 and "error: row 1, entry" in res.stdout and "duplicate key" in res.stdout
    res = runner.invoke(main, ["apply", str(tmp_path / "dup.json")], env=env(server))
    assert res.exit_code == 1 and "cannot be applied" in res.output


CHILD = [sys.executable, "-m", "cuepipe.cli", "apply"]
# uploads of two cue points: an apply then lasts longer than the longest wait before a kill, even on
# a fast machine (with uploads of 10 it sometimes finished first, and the kill hit nothing)
CHUNK = "2"


@pytest.mark.slow
def test_apply_killed_at_random_moments_then_finished_exactly_once(server: EmulatorServer, tmp_path: Path) -> None:
    """`cuepipe apply --journal` is killed with SIGKILL at random moments, then run to the end:
    every cue point of the table is there once, with the table's values."""
    rng = random.Random(11)
    killed_running = 0
    for round_ in range(3):
        entries = [next(_pool), next(_pool)]
        desired = [r for e in entries for r in rows(e, 300, f"r{round_}")]
        with Client(server.url, partner_id=PARTNER, admin_secret=ADMIN) as api:
            api.push(rows(entries[0], 100, "old"))  # some updates, most creates
        csv = tmp_path / f"desired{round_}.csv"
        pd.DataFrame(desired).to_csv(csv, index=False)
        plan_file, journal = tmp_path / f"plan{round_}.json", tmp_path / f"journal{round_}.sqlite"
        res = CliRunner().invoke(main, ["plan", str(csv), "-o", str(plan_file)], env=env(server))
        assert res.exit_code == 0, res.output
        child_env = {**os.environ, **env(server)}
        for _ in range(2):
            proc = subprocess.Popen(
                [*CHILD, str(plan_file), "--journal", str(journal), "--chunk-size", CHUNK],
                env=child_env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(rng.uniform(0.5, 2.5))
            proc.send_signal(signal.SIGKILL)
            killed_running += proc.poll() is None or proc.wait() == -signal.SIGKILL
            proc.wait()
        done = subprocess.run(
            [*CHILD, str(plan_file), "--journal", str(journal), "--chunk-size", CHUNK],
            env=child_env,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
        with Client(server.url, partner_id=PARTNER, admin_secret=ADMIN) as api:
            got = api.pull({"entryIdIn": entries}, precision="ms")
        assert len(got) == len(desired) and not got.duplicated(["entryId", "systemName"]).any()
        table = frames.records_to_frame(desired).set_index(["entryId", "systemName"])
        mine = got.set_index(["entryId", "systemName"]).loc[table.index]
        assert list(mine["text"]) == list(table["text"])
    assert killed_running >= 3  # most kills hit a running apply, not a finished one

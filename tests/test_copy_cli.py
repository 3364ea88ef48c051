"""``cuepipe copy``: two partners from environment prefixes, entry map CSV, shift/keep, report, errors."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from cuepipe.cli import main
from cuepipe.client import Client
from cuepipe.emulator import EmulatorServer
from cuepipe.emulator.app import Partner

from .helpers import EmulatorFactory

SRC, DST = 501, 502


@pytest.fixture(scope="module")
def server(start_emulator: EmulatorFactory) -> EmulatorServer:
    entries = [(SRC, "0_from1"), (SRC, "0_from2"), (DST, "0_to1"), (DST, "0_to2")]
    return start_emulator(partners=[Partner(SRC, "s-secret"), Partner(DST, "t-secret")], entries=entries)


def env(srv: EmulatorServer) -> dict[str, str]:
    return {
        "OLD_SERVICE_URL": srv.url,
        "OLD_PARTNER_ID": str(SRC),
        "OLD_ADMIN_SECRET": "s-secret",
        "NEW_SERVICE_URL": srv.url,
        "NEW_PARTNER_ID": str(DST),
        "NEW_ADMIN_SECRET": "t-secret",
    }


def test_copy_between_partners_with_a_map_a_shift_and_a_report(server: EmulatorServer, tmp_path: Path) -> None:
    with Client(server.url, partner_id=SRC, admin_secret="s-secret") as src:
        src.push(
            [
                {
                    "cuePointType": "annotation.Annotation",
                    "entryId": e,
                    "systemName": f"A{i}",
                    "startTime": i * 60_000,
                    "endTime": i * 60_000 + 500,
                    "text": str(i),
                }
                for e in ("0_from1", "0_from2")
                for i in range(8)
            ]
        )
    (tmp_path / "map.csv").write_text("source,target\n0_from1,0_to1\n0_from2,0_to2\n")
    args = ["copy", "--from-env", "OLD", "--to-env", "NEW", "--entry-map", str(tmp_path / "map.csv")]
    args += ["--shift", "1.5s", "--keep", "0:00-5:00,7:00-20:00", "--report", str(tmp_path / "ids.csv")]
    res = CliRunner().invoke(main, args, env=env(server))
    assert res.exit_code == 0, res.output
    assert "Copied: 12 created, 0 updated, 0 unchanged, 4 skipped (of 16 read)" in res.stdout
    assert "inside a part the target media cut" in res.stdout
    assert "s-secret" not in res.output and "t-secret" not in res.output
    ids = pd.read_csv(tmp_path / "ids.csv", dtype=str)
    assert len(ids) == 16 and (ids["action"] == "created").sum() == 12
    with Client(server.url, partner_id=DST, admin_secret="t-secret") as dst:
        got = dst.pull({"entryIdEqual": "0_to1"}, precision="ms").set_index("systemName")
    # A7 at 7:00 is the first ms of the second kept part: 5:00 + 1.5 s
    assert got.loc["A7", "startTime"] == 300_000 + 1_500 and got.loc["A0", "startTime"] == 1_500
    again = CliRunner().invoke(main, args, env=env(server))
    assert again.exit_code == 0 and "Copied: 0 created, 0 updated, 12 unchanged" in again.stdout


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--entry", "nonsense"], "expected SRC=DST"),
        (["--entry", "0_from1=0_to1", "--shift", "soon"], "not a duration"),
        (["--entry", "0_from1=0_to1", "--keep", "5:00-1:00"], "start < end"),
        (["--entry", "0_from1=0_to1", "--report", "ids.txt"], "--report takes"),
        ([], "nothing to copy"),
        (["--entry", "0_from1=0_missing"], "0_missing"),
    ],
)
def test_bad_input_is_one_line(server: EmulatorServer, extra: list[str], message: str) -> None:
    res = CliRunner().invoke(main, ["copy", "--from-env", "OLD", "--to-env", "NEW", *extra], env=env(server))
    assert res.exit_code in (1, 2) and message in res.output, res.output
    assert "Traceback" not in res.output


def test_a_bad_entry_map_names_its_line(server: EmulatorServer, tmp_path: Path) -> None:
    (tmp_path / "map.csv").write_text("0_from1,0_to1\n0_from2\n")
    res = CliRunner().invoke(
        main,
        ["copy", "--from-env", "OLD", "--to-env", "NEW", "--entry-map", str(tmp_path / "map.csv")],
        env=env(server),
    )
    assert res.exit_code == 2 and "line 2: expected two columns" in res.output

"""cuepipe.check / `cuepipe check`: per-row errors and warnings, with and without a server;
the emulator's entry durations and several partners from its command line."""

from __future__ import annotations

from pathlib import Path

import click
import pandas as pd
import pytest
from click.testing import CliRunner

from cuepipe.cli import main
from cuepipe.client import Client
from cuepipe.emulator import EmulatorServer
from cuepipe.emulator.app import Partner
from cuepipe.emulator.cli import parse_entries, parse_partners
from cuepipe.sync import check
from cuepipe.sync.check import entry_durations

from .helpers import EmulatorFactory

PARTNER, SECRET = 601, "check-secret"
ANN = {"cuePointType": "annotation.Annotation", "entryId": "0_chk1"}


@pytest.fixture(scope="module")
def server(start_emulator: EmulatorFactory) -> EmulatorServer:
    seeds = parse_entries("0_chk1:10m,0_chk2,602/0_other:1.5s", PARTNER)
    return start_emulator(partners=[Partner(PARTNER, SECRET), Partner(602, "x")], entries=seeds)


def codes(report: object) -> list[tuple[object, str, str]]:
    return [(i.row, i.severity, i.code) for i in report.issues]  # type: ignore[attr-defined]


def test_each_surprise_is_named_with_its_row() -> None:
    rows = [
        {**ANN, "systemName": "CH1", "startTime": 0, "endTime": 60_000, "tags": "chaptering", "text": "One"},
        {**ANN, "systemName": "CH2", "startTime": 30_000, "endTime": 90_000, "tags": "chaptering", "text": "Two"},
        {**ANN, "systemName": "CH3", "startTime": 30_000, "endTime": 40_000, "tags": "chaptering", "text": "Three"},
        {**ANN, "systemName": "KID", "parentSystemName": "LATER", "startTime": 1, "endTime": 2, "text": "k"},
        {**ANN, "systemName": "LATER", "startTime": 100, "endTime": 50, "text": "l"},
        {**ANN, "systemName": "CH1", "startTime": 5, "endTime": 6, "text": "again"},
        {**ANN, "systemName": "ORPHAN", "parentSystemName": "NOBODY", "startTime": 1, "endTime": 2, "text": "o"},
        {**ANN, "startTime": 7, "endTime": 8, "text": "same"},
        {**ANN, "startTime": 7, "endTime": 8, "text": "same"},
        {**ANN, "systemName": "TIME", "startTime": 90_000_000, "endTime": 90_000_001, "text": "too late"},
        {
            "cuePointType": "thumbCuePoint.Thumb",
            "entryId": "0_chk1",
            "startTime": 0,
            "subType": 2,
            "title": "a",
            "description": "",
        },
        {
            "cuePointType": "thumbCuePoint.Thumb",
            "entryId": "0_chk1",
            "startTime": 0,
            "subType": 2,
            "title": "b",
            "description": "",
        },
    ]
    report = check(pd.DataFrame(rows))
    found = codes(report)
    assert (1, "warning", "chapter-overlap") in found
    assert (2, "warning", "chapter-duplicate") in found
    assert (3, "warning", "parent-later") in found
    assert (4, "error", "end-before-start") in found
    assert (5, "error", "system-name") in found
    assert (6, "warning", "parent-missing") in found
    assert (8, "warning", "duplicate") in found
    assert (9, "error", "value") in found
    assert (11, "warning", "chapter-duplicate") in found
    assert not report.ok and len(report.errors) == 3
    text = str(report)
    assert "row 5, 0_chk1: systemName 'CH1' is also on row 0" in text
    assert text.endswith("12 cue points checked: 3 error(s), 6 warning(s)")
    assert list(report.to_frame().columns) == ["severity", "code", "row", "entryId", "message"]
    clean = check([{**ANN, "systemName": "A", "startTime": 0, "endTime": 1, "text": "fine"}])
    assert clean.ok and not clean.issues


def test_with_a_client_entries_durations_and_parents_come_from_the_server(server: EmulatorServer) -> None:
    with Client(server.url, partner_id=PARTNER, admin_secret=SECRET) as api:
        assert entry_durations(api, ["0_chk1", "0_chk2", "0_other", "0_nope"]) == {"0_chk1": 600_000, "0_chk2": None}
        api.push([{**ANN, "systemName": "THERE", "startTime": 0, "endTime": 1, "text": "parent on the server"}])
        rows = [
            {
                **ANN,
                "systemName": "IN",
                "startTime": 599_000,
                "endTime": 601_000,
                "text": "ends late",
                "parentSystemName": "THERE",
            },
            {**ANN, "systemName": "OUT", "startTime": 700_000, "endTime": 700_001, "text": "starts late"},
            {**ANN, "systemName": "LOST", "parentSystemName": "GHOST", "startTime": 1, "endTime": 2, "text": "x"},
            {
                **ANN,
                "entryId": "0_chk2",
                "systemName": "NODUR",
                "startTime": 9_000_000,
                "endTime": 9_000_001,
                "text": "?",
            },
            {**ANN, "entryId": "0_other", "systemName": "X", "startTime": 0, "endTime": 1, "text": "other partner's"},
        ]
        report = check(rows, api)
    found = codes(report)
    assert (0, "warning", "past-end") in found and (1, "warning", "past-end") in found
    assert (2, "error", "parent-missing") in found
    assert (4, "error", "entry") in found
    assert not any(r == 0 and c == "parent-missing" for r, _, c in found)  # THERE is on the entry
    assert not any(r == 3 for r, _, _ in found)  # no duration known: nothing claimed
    assert "after the entry ends (10:00.000)" in str(report)


def test_cli_check_exit_codes(server: EmulatorServer, tmp_path: Path) -> None:
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    pd.DataFrame([{**ANN, "systemName": "A", "startTime": 0, "endTime": 1, "text": "a"}]).to_csv(good, index=False)
    pd.DataFrame([{**ANN, "systemName": "A", "startTime": 5, "endTime": 1, "text": "a"}] * 2).to_csv(bad, index=False)
    runner = CliRunner()
    res = runner.invoke(main, ["check", str(good)])
    assert res.exit_code == 0 and "0 error(s), 0 warning(s)" in res.stdout
    res = runner.invoke(main, ["check", str(bad)])
    assert res.exit_code == 1 and "end-before-start" in res.stdout and "Traceback" not in res.output
    env = {"KALTURA_SERVICE_URL": server.url, "KALTURA_PARTNER_ID": str(PARTNER), "KALTURA_ADMIN_SECRET": SECRET}
    late = tmp_path / "late.csv"
    pd.DataFrame([{**ANN, "systemName": "L", "startTime": 700_000, "endTime": 700_001, "text": "a"}]).to_csv(
        late, index=False
    )
    res = runner.invoke(main, ["check", str(late), "--server"], env=env)
    assert res.exit_code == 0 and "past-end" in res.stdout, res.output
    res = runner.invoke(main, ["check", str(late), "--server", "--strict"], env=env)
    assert res.exit_code == 1


def test_emulator_command_line_partners_and_entry_durations() -> None:
    assert parse_entries("0_a, 0_b:600s,200/0_c:1.5m,0_d:250ms,0_e:90", 100) == [
        (100, "0_a", None),
        (100, "0_b", 600_000),
        (200, "0_c", 90_000),
        (100, "0_d", 250),
        (100, "0_e", 90_000),
    ]
    for bad in ("0_a:soon", "x/0_a", "0_" + "a" * 30):
        with pytest.raises(click.BadParameter):
            parse_entries(bad, 100)
    assert [(p.id, p.admin_secret) for p in parse_partners(("200:s2", "300:s3,400:s4"))] == [
        (200, "s2"),
        (300, "s3"),
        (400, "s4"),
    ]
    with pytest.raises(click.BadParameter, match="ID:ADMIN_SECRET"):
        parse_partners(("200",))
    res = CliRunner().invoke(main, ["emulator", "--admin-secret", "s", "--partner", "100:t"])
    assert res.exit_code == 2 and "each partner id may appear once" in res.output

"""An upload the server stops part-way through: which rows were saved, which row failed and why.

The server applies an upload scene by scene and stops at the first failing one, keeping what it
saved before (docs/kaltura-api.md). The push then finds out how many landed (by systemName, or by
the entry's count when there are none), names the first row that did not land, checks it for the
usual causes (a quiz answer whose question is missing), and says so in :class:`PushError`'s fields
and in a readable CLI message.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from cuepipe import vocabulary as voc
from cuepipe.cli import main
from cuepipe.client import Client, PushError, Retries, UploadFailedError
from cuepipe.emulator import EmulatorServer
from cuepipe.emulator.faults import Fault

from .helpers import EmulatorFactory

PARTNER, ADMIN = 5183, "diagnosis-admin-secret-v7c1"
DELETED = int(voc.CuePointStatus.DELETED)
RETRIES = Retries(max_retries=2, backoff=0.05, max_backoff=0.2)


@pytest.fixture(scope="module")
def server(start_emulator: EmulatorFactory) -> EmulatorServer:
    entries = [f"0_d{i:03d}" for i in range(20)]
    return start_emulator(partner_id=PARTNER, admin_secret=ADMIN, entries=entries, fault_admin=True)


@pytest.fixture(autouse=True)
def healthy(server: EmulatorServer) -> Iterator[None]:
    server.faults.clear()
    yield
    server.faults.clear()


_next = iter(range(20))


def fresh_entry() -> str:
    return f"0_d{next(_next):03d}"


def api(srv: EmulatorServer) -> Client:
    return Client(srv.url, partner_id=PARTNER, admin_secret=ADMIN, timeout=30.0, retries=RETRIES)


def live(srv: EmulatorServer, entry: str) -> list[dict[str, Any]]:
    store = srv.app.state.emulator.store
    return [
        dict(r)
        for r in store.query(
            'SELECT * FROM cue_points WHERE "entryId" = ? AND status != ? ORDER BY intId', [entry, DELETED]
        )
    ]


def codes(entry: str, n: int, *, named: bool = False) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        rec: dict[str, Any] = {
            "cuePointType": "codeCuePoint.Code",
            "entryId": entry,
            "startTime": i * 10,
            "code": f"c{i}",
        }
        if named:
            rec["systemName"] = f"n-{i:05d}"
        out.append(rec)
    return out


def mixed(entry: str, n: int, bad_answer_at: int, *, named: bool = False) -> list[dict[str, Any]]:
    """Annotations, ads, code cue points and quiz questions; one quiz answer whose question is not on the entry."""
    out: list[dict[str, Any]] = []
    for i in range(n):
        start = i * 7
        kind = i % 4
        if i == bad_answer_at:
            rec: dict[str, Any] = {
                "cuePointType": "quiz.QUIZ_ANSWER",
                "parentId": "0_nosuchq1",
                "answerKey": "1",
                "quizUserEntryId": "0_user0001",
            }
        elif kind == 0:
            rec = {"cuePointType": "annotation.Annotation", "endTime": start + 5, "text": f"note {i}"}
        elif kind == 1:
            rec = {"cuePointType": "adCuePoint.Ad", "adType": "VIDEO", "protocolType": "VAST_2_0", "title": f"ad {i}"}
        elif kind == 2:
            rec = {"cuePointType": "codeCuePoint.Code", "code": f"c{i}"}
        else:
            rec = {
                "cuePointType": "quiz.QUIZ_QUESTION",
                "question": f"q {i}?",
                "optionalAnswers": [{"key": "1", "text": "yes", "isCorrect": 1}],
            }
        rec.update(entryId=entry, startTime=start)
        if named:
            rec["systemName"] = f"m-{i:05d}"
        out.append(rec)
    return out


# ---------------------------------------------------------------------------------------------
# without systemNames: 40 of 100 saved, then INTERNAL_SERVERL_ERROR
# ---------------------------------------------------------------------------------------------


def test_partial_commit_without_system_names_says_which_rows_were_saved(server: EmulatorServer) -> None:
    entry = fresh_entry()
    server.faults.replace([Fault("partial", commit=40, action="cuepoint.addFromBulk")])
    with api(server) as client, pytest.raises(PushError) as info:
        client.push(codes(entry, 100))
    err = info.value
    saved = live(server, entry)
    assert len(saved) == 40
    assert err.saved_rows == list(range(40)) and err.failed_row == 40 and err.unsaved_rows == list(range(41, 100))
    assert err.unknown_rows == [] and err.reason is None
    assert isinstance(err.cause, UploadFailedError)
    result = err.result
    assert result is not None
    assert list(result["id"][:40]) == [r["id"] for r in saved]  # the saved rows carry their server ids
    assert result["action"][:40].eq("created").all() and result["action"][40:].eq("failed").all()
    text = str(err)
    assert "INTERNAL_SERVERL_ERROR" in text and "saved: 40 row(s) before it (0-39)" in text
    assert "failed: row 40" in text and "not saved: 59 row(s) after it (41-99)" in text


def test_partial_commit_without_system_names_and_no_way_to_check_says_unknown(server: EmulatorServer) -> None:
    """Without the pre-upload count (detect_actions=False) nothing can be learnt: every row is unknown."""
    entry = fresh_entry()
    server.faults.replace([Fault("partial", commit=40, action="cuepoint.addFromBulk")])
    with api(server) as client, pytest.raises(PushError) as info:
        client.push(codes(entry, 100), detect_actions=False)
    err = info.value
    assert err.unknown_rows == list(range(100)) and err.saved_rows == [] and err.failed_row is None
    assert "outcome unknown for rows 0-99" in str(err) and "may or may not have been saved" in str(err)
    assert err.result is not None and err.result["action"].eq("unknown").all()
    assert len(live(server, entry)) == 40


class Intruder(httpx.HTTPTransport):
    """Before our upload goes out, someone else adds cue points to the same entry."""

    def __init__(self, srv: EmulatorServer, entry: str) -> None:
        super().__init__()
        self.srv, self.entry, self.done = srv, entry, False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/addFromBulk") and not self.done:
            self.done = True
            with api(self.srv) as other:
                other.push(codes(self.entry, 10))
        return super().handle_request(request)


def test_another_writer_on_the_entry_makes_the_count_inconclusive(server: EmulatorServer) -> None:
    """If the newest cue points on the entry are not the upload's first rows, nothing is claimed."""
    entry = fresh_entry()
    server.faults.replace([Fault("partial", commit=10, action="cuepoint.addFromBulk", after=1)])
    records = codes(entry, 30)
    for rec in records:
        rec["startTime"] += 5_000  # differs from the other writer's cue points
    with (
        Client(server.url, partner_id=PARTNER, admin_secret=ADMIN, transport=Intruder(server, entry)) as client,
        pytest.raises(PushError) as info,
    ):
        client.push(records)
    err = info.value
    assert len(live(server, entry)) == 20
    assert err.failed_row is None and err.unknown_rows == list(range(30))
    assert "outcome unknown for rows 0-29" in str(err)


# ---------------------------------------------------------------------------------------------
# a quiz answer whose question is not on the entry, in 20,000 mixed cue points
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("named", [False, True], ids=["no-system-names", "system-names"])
def test_a_bad_quiz_answer_is_named_with_its_cause(server: EmulatorServer, named: bool) -> None:
    entry = fresh_entry()
    records = mixed(entry, 20_000, bad_answer_at=250, named=named)
    with api(server) as client, pytest.raises(PushError) as info:
        client.push(records)
    err = info.value
    assert err.upload == 1 and err.failed_row == 250
    assert err.saved_rows == list(range(250)) and err.unsaved_rows == list(range(251, 500))
    assert err.reason is not None and "0_nosuchq1" in err.reason and "does not exist" in err.reason
    assert len(live(server, entry)) == 250
    result = err.result
    assert result is not None
    assert result["action"][:250].eq("created").all() and result["id"][:250].notna().all()
    assert result["action"][250:500].eq("failed").all() and result["action"][500:].eq("not_sent").all()
    assert "question 0_nosuchq1" in result["error"][250]


def test_cli_message_is_one_line_per_fact_and_bounded(server: EmulatorServer, tmp_path: Path) -> None:
    entry = fresh_entry()
    path = tmp_path / "mixed.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in mixed(entry, 20_000, bad_answer_at=250)))
    env = {"KALTURA_SERVICE_URL": server.url, "KALTURA_PARTNER_ID": str(PARTNER), "KALTURA_ADMIN_SECRET": ADMIN}
    report = tmp_path / "report.csv"
    res = CliRunner().invoke(main, ["push", str(path), "--report", str(report)], env=env)
    assert res.exit_code == 1, res.output
    lines = [line for line in res.output.splitlines() if line.startswith("error:")]
    assert lines[0].startswith(f"error: upload 1 (entry {entry}, input rows 0-499) failed")
    assert any("INTERNAL_SERVERL_ERROR" in line for line in lines)
    assert "error: saved: 250 row(s) before it (0-249)" in lines
    assert any(line.startswith("error: failed: row 250 (quiz.QUIZ_ANSWER): its question 0_nosuchq1") for line in lines)
    assert "error: not saved: 249 row(s) after it (251-499)" in lines
    assert all(len(line) <= 300 for line in lines) and len(lines) <= 6
    assert "Traceback" not in res.output and ADMIN not in res.output
    assert report.exists()

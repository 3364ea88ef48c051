"""``cuepipe copy`` per entry: progress reported per source entry (a bar each on a terminal, nothing
when piped); faults injected into the copy's writes, then a re-run with the same journal; and the
command killed with SIGKILL at random moments, then run to the end. Every time: every cue point
arrives exactly once, parents and quiz answers linked to the target's ids."""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cuepipe import _console
from cuepipe.cli import main
from cuepipe.client import Client, Retries
from cuepipe.emulator import EmulatorServer
from cuepipe.emulator.app import Partner
from cuepipe.emulator.faults import Fault
from cuepipe.sync import copy

from .helpers import EmulatorFactory

SRC, DST = 611, 612
SRC_SECRET, DST_SECRET = "pf-source-secret", "pf-target-secret"
PAIRS = [(f"0_pfs{i:03d}", f"0_pft{i:03d}") for i in range(80)]
_pool = iter(PAIRS)
UPLOAD = "cuepoint.addFromBulk"
FAST = Retries(max_retries=4, backoff=0.01, max_backoff=0.05)


@pytest.fixture(scope="module")
def server(start_emulator: EmulatorFactory) -> EmulatorServer:
    entries = [(SRC, s) for s, _ in PAIRS] + [(DST, t) for _, t in PAIRS]
    partners = [Partner(SRC, SRC_SECRET), Partner(DST, DST_SECRET)]
    return start_emulator(partners=partners, entries=entries, fault_admin=True)


def clients(srv: EmulatorServer, retries: Retries = FAST) -> tuple[Client, Client]:
    return (
        Client(srv.url, partner_id=SRC, admin_secret=SRC_SECRET, retries=retries),
        Client(srv.url, partner_id=DST, admin_secret=DST_SECRET, retries=retries),
    )


def env(srv: EmulatorServer) -> dict[str, str]:
    return {
        "OLD_SERVICE_URL": srv.url,
        "OLD_PARTNER_ID": str(SRC),
        "OLD_ADMIN_SECRET": SRC_SECRET,
        "NEW_SERVICE_URL": srv.url,
        "NEW_PARTNER_ID": str(DST),
        "NEW_ADMIN_SECRET": DST_SECRET,
    }


def seed(api: Client, entry: str, n: int) -> None:
    """``n`` chapters, each with a child note and an unkeyed grandchild, and a quiz question with an
    answer: parents to relink, keys to derive, answers written after their question."""
    ann = {"cuePointType": "annotation.Annotation", "entryId": entry}
    rows: list[dict[str, Any]] = []
    for i in range(n):
        t = i * 10_000
        rows += [
            {**ann, "systemName": f"CH{i}", "startTime": t, "endTime": t + 9_000, "text": f"chapter {i}"},
            {
                **ann,
                "systemName": f"N{i}",
                "parentSystemName": f"CH{i}",
                "startTime": t + 1,
                "endTime": t + 2,
                "text": f"n{i}",
            },
        ]
    rows.append(
        {
            "cuePointType": "quiz.QUIZ_QUESTION",
            "entryId": entry,
            "systemName": "Q",
            "startTime": 5,
            "question": "Why?",
            "optionalAnswers": [{"key": "1", "text": "yes", "isCorrect": 1}],
        }
    )
    api.push(rows)
    got = api.pull({"entryIdEqual": entry}, precision="ms").set_index("systemName")
    api.push(
        [
            {
                **ann,
                "parentId": str(got.loc[f"N{i}", "id"]),
                "startTime": i * 10_000 + 2,
                "endTime": i * 10_000 + 3,
                "text": "x",
            }
            for i in range(n)
        ]
    )
    api.push(
        [
            {
                "cuePointType": "quiz.QUIZ_ANSWER",
                "entryId": entry,
                "systemName": "A",
                "startTime": 6,
                "parentId": str(got.loc["Q", "id"]),
                "answerKey": "1",
                "quizUserEntryId": "77",
            }
        ]
    )


def assert_copied_once(src: Client, dst: Client, pairs: list[tuple[str, str]]) -> None:
    """Every source cue point is on its target entry exactly once, with its parent remapped to the
    copy of its source parent (same text/time), and nothing else is there."""
    for s_entry, t_entry in pairs:
        source = src.pull({"entryIdEqual": s_entry}, precision="ms").set_index("id")
        target = dst.pull({"entryIdEqual": t_entry}, precision="ms").set_index("id")
        assert len(target) == len(source), (len(target), len(source))
        assert target["systemName"].is_unique
        key = {
            sid: (r["systemName"] if isinstance(r["systemName"], str) else f"cuepipe-src:{sid}")
            for sid, r in source.iterrows()
        }
        by_key = target.reset_index().set_index("systemName")
        assert sorted(by_key.index) == sorted(key.values())
        for sid, rec in source.iterrows():
            copied = by_key.loc[key[sid]]
            assert int(copied["startTime"]) == int(rec["startTime"])
            parent = rec["parentId"]
            if isinstance(parent, str) and parent not in ("", "0"):
                assert copied["parentId"] == by_key.loc[key[parent], "id"], (sid, parent)
            else:
                assert not isinstance(copied["parentId"], str) or copied["parentId"] in ("", "0")


# ---------------------------------------------------------------------------------------------
# Progress per entry
# ---------------------------------------------------------------------------------------------


def test_progress_is_reported_per_source_entry(server: EmulatorServer) -> None:
    pairs = [next(_pool) for _ in range(3)]
    src, dst = clients(server)
    calls: list[tuple[str, int, int]] = []
    with src, dst:
        for i, (s, _) in enumerate(pairs[:2]):
            seed(src, s, 3 + 4 * i)  # the third source entry is empty
        report = copy(
            src,
            dst,
            entry_map=dict(pairs),
            answers="copy",
            chunk_size=4,
            entry_progress=lambda e, d, t: calls.append((e, d, t)),
        )
    per_entry = {s: [(d, t) for e, d, t in calls if e == s] for s, _ in pairs}
    rows = report.to_frame()
    for s, _ in pairs:
        seen = per_entry[s]
        expected = int(((rows["sourceEntryId"] == s) & (rows["action"] != "skipped")).sum())
        assert seen[0] == (0, expected) and seen[-1] == (expected, expected)
        assert all(t == expected for _, t in seen)
        assert [d for d, _ in seen] == sorted(d for d, _ in seen)  # never goes back
    # the chunked uploads of the bigger entry moved its count in steps, not in one jump at the end
    assert len(per_entry[pairs[1][0]]) > 3
    assert per_entry[pairs[2][0]] == [(0, 0)]


def visible(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)


def test_cli_shows_one_bar_per_entry_on_a_terminal_and_none_when_piped(
    server: EmulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pairs = [next(_pool) for _ in range(2)]
    src, _ = clients(server)
    with src:
        for s, _ in pairs:
            seed(src, s, 2)  # 2 chapters, 2 notes, 2 unkeyed, a question: 7 (the answer is skipped)
    args = ["copy", "--from-env", "OLD", "--to-env", "NEW", "--chunk-size", "3"]
    for s, t in pairs:
        args += ["--entry", f"{s}={t}"]
    piped = CliRunner().invoke(main, args, env={**env(server), "COLUMNS": "200"})
    assert piped.exit_code == 0, piped.output
    assert "\x1b" not in piped.stderr and "entry " not in piped.stderr and "7/7" not in piped.stderr

    monkeypatch.setattr(_console, "FORCE_TERMINAL", True)
    shown = CliRunner().invoke(main, args, env={**env(server), "COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    screen = visible(shown.stderr)
    for s, _ in pairs:
        assert re.search(rf"entry {s}\b.*\b7/7\b", screen), screen[-2000:]


# ---------------------------------------------------------------------------------------------
# Faults during the writes, then a re-run with the same journal
# ---------------------------------------------------------------------------------------------

FAULTS = {
    "partial commit": Fault("partial", commit=2, action=UPLOAD),
    "reset mid-upload": Fault("reset", at_bytes=300, action=UPLOAD),
    "reset after commit": Fault("reset", action=UPLOAD, phase="after"),
    "503 after commit": Fault("error", status=503, action=UPLOAD, phase="after", times=3),
    "partial commit, later upload": Fault("partial", commit=1, action=UPLOAD, after=2),
}


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(fault=st.sampled_from(sorted(FAULTS)), n=st.integers(1, 6), chunk=st.integers(2, 9))
def test_copy_under_faults_then_a_rerun_lands_exactly_once(
    server: EmulatorServer, fault: str, n: int, chunk: int
) -> None:
    pairs = [next(_pool)]
    journal = Path(tempfile.mkdtemp(prefix="cuepipe-copy-")) / "copy.sqlite"
    src, dst = clients(server, retries=Retries(max_retries=0))
    with src, dst:
        seed(src, pairs[0][0], n)
        server.faults.replace([FAULTS[fault]])
        try:
            copy(src, dst, entry_map=dict(pairs), answers="copy", journal=journal, chunk_size=chunk)
        except Exception:  # the fault may end the first run: that is the point
            pass
        finally:
            server.faults.clear()
    src, dst = clients(server)
    with src, dst:
        report = copy(src, dst, entry_map=dict(pairs), answers="copy", journal=journal, chunk_size=chunk)
        assert not (report.to_frame()["action"] == "skipped").any(), report
        assert_copied_once(src, dst, pairs)
        again = copy(src, dst, entry_map=dict(pairs), answers="copy")
        assert set(again.to_frame()["action"]) == {"unchanged"}


# ---------------------------------------------------------------------------------------------
# kill -9
# ---------------------------------------------------------------------------------------------

CHILD = [sys.executable, "-m", "cuepipe.cli", "copy", "--from-env", "OLD", "--to-env", "NEW", "--answers", "copy"]


@pytest.mark.slow
def test_copy_killed_at_random_moments_then_finished_exactly_once(server: EmulatorServer, tmp_path: Path) -> None:
    """`cuepipe copy --journal` is killed with SIGKILL at random moments, then run to the end."""
    rng = random.Random(23)
    killed_running = writing = 0
    for round_ in range(2):
        pairs = [next(_pool), next(_pool)]
        src, _ = clients(server)
        with src:
            for s, _ in pairs:
                seed(src, s, 250)
        journal = tmp_path / f"copy{round_}.sqlite"
        args = [*CHILD, "--journal", str(journal), "--chunk-size", "10"]
        for s, t in pairs:
            args += ["--entry", f"{s}={t}"]
        child_env = {**os.environ, **env(server)}
        for attempt in range(2):
            proc = subprocess.Popen(args, env=child_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if attempt == 0:
                time.sleep(rng.uniform(0.5, 2.5))  # any moment: start-up, reading or writing
            else:
                # the second kill lands while writing: after the journal appeared, however long the
                # start-up takes on a loaded machine (bounded, so a copy that never writes fails below)
                deadline = time.monotonic() + 60
                while not journal.exists() and proc.poll() is None and time.monotonic() < deadline:
                    time.sleep(0.05)
                time.sleep(rng.uniform(0.0, 0.8))
            proc.send_signal(signal.SIGKILL)
            killed_running += proc.poll() is None or proc.wait() == -signal.SIGKILL
            proc.wait()
        writing += journal.exists()  # a kill came after the writes had begun
        done = subprocess.run(args, env=child_env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        src, dst = clients(server)
        with src, dst:
            assert_copied_once(src, dst, pairs)
    assert killed_running >= 2 and writing >= 1  # kills hit running copies, some while writing

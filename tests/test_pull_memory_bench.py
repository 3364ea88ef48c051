"""benchmarks/run.py reports issue 13's "iter_pull of 1M: memory flat" from benchmarks/pull_memory.py
(with --full only). Tiny sizes here: the row comes out with the figures the subprocess wrote, and
without --full it says what is needed instead of inventing a result. No timing assertions."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # benchmarks/ is not part of the installed package
    sys.path.insert(0, str(ROOT))

from benchmarks import run  # noqa: E402


def test_full_run_reports_the_growth(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(run, "PULL_MEMORY_SIZES", (2_000, 6_000))
    row = run.pull_memory_target(argparse.Namespace(full=True, out=tmp_path))
    assert row["status"] in ("PASS", "MISS"), row
    assert row["measured"].endswith("x")
    assert "at 6,000 vs" in row["detail"] and "at 2,000" in row["detail"] and "requests" in row["detail"]
    assert (tmp_path / "pull_memory.json").is_file()


def test_default_run_says_it_needs_full(tmp_path: Path) -> None:
    row = run.pull_memory_target(argparse.Namespace(full=False, out=tmp_path))
    assert row["status"] == "N/A" and "FULL=1" in row["detail"]
    assert not (tmp_path / "pull_memory.json").exists()

"""Smoke test of benchmarks/api.py at a tiny size: the emulator process starts, every part runs and
checks its own answers, and the target rows come out. No timing assertions (the benchmark measures)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # benchmarks/ is not part of the installed package
    sys.path.insert(0, str(ROOT))

from benchmarks.api import report, run_api, targets  # noqa: E402

pytestmark = pytest.mark.slow


def test_the_api_benchmark_runs_end_to_end() -> None:
    result = run_api(raw_n=1000, e2e_n=1000, concurrency=(1, 2))
    assert result.errors == []
    assert set(result.raw_levels) == {"1", "2"}
    assert all(set(levels) == {"add", "list", "serve", "pull"} for levels in result.raw_levels.values())
    assert set(result.raw) == {"add", "list", "serve", "pull"}
    for key, best in result.raw.items():  # the emulator's throughput: the best level of each
        assert best["rate"] == max(levels[key]["rate"] for levels in result.raw_levels.values())
        assert best["concurrency"] in (1, 2)
    assert set(result.e2e) == {"push", "pull"}
    assert all(r["items"] == 1000 and r["seconds"] > 0 for r in [*result.raw.values(), *result.e2e.values()])
    rows = targets(result)
    assert [r["id"] for r in rows] == ["emulator_add", "emulator_list", "end_to_end"]
    assert all(r["status"] in ("PASS", "MISS") for r in rows)
    text = report(result)
    assert "| raw, 1 at a time | addFromBulk | 1,000 |" in text and "| raw, 2 at a time | addFromBulk | 1,000 |" in text

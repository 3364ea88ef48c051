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
    assert set(result.e2e) == {"push", "pull", "ref_push", "ref_pull"}
    measured = [*result.raw.values(), result.e2e["push"], result.e2e["pull"], result.e2e["ref_pull"]]
    assert all(r["items"] == 1000 and r["seconds"] > 0 for r in measured)
    assert result.e2e["ref_push"]["items"] == 2000
    # the references of the end-to-end ratios: at the best level, one window before the client's run
    # and one after it (the push's: the level's own addFromBulk window and as many fresh uploads after)
    ref_push, ref_pull = result.e2e["ref_push"], result.e2e["ref_pull"]
    assert ref_push["concurrency"] == result.raw["add"]["concurrency"]
    assert ref_pull["concurrency"] == result.raw["pull"]["concurrency"]
    assert len(ref_push["windows"]) == 2 and ref_push["windows"][0] == result.raw["add"]["rate"]
    assert len(ref_pull["windows"]) == 2
    assert ref_push["rounds"] == [] and ref_pull["rounds"] == []  # windows added up, not a best of rounds
    assert ref_push["rate"] == ref_push["items"] / ref_push["seconds"]
    rows = targets(result)
    assert [r["id"] for r in rows] == ["emulator_add", "emulator_list", "end_to_end"]
    assert all(r["status"] in ("PASS", "MISS") for r in rows)
    end_to_end = rows[2]
    assert f"{ref_push['rate']:,.0f}/s" in end_to_end["detail"] and "the same entries" in end_to_end["detail"]
    text = report(result)
    assert "(windows at " in text and "best of rounds at" not in text.split("| end to end |", 1)[1]
    assert "| raw, 1 at a time | addFromBulk | 1,000 |" in text and "| raw, 2 at a time | addFromBulk | 1,000 |" in text

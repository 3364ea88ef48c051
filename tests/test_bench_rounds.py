"""The benchmark runner's rounds: how many runs each case gets, and in what order."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # benchmarks/ is not part of the installed package
    sys.path.insert(0, str(ROOT))

from benchmarks import cases as C  # noqa: E402
from benchmarks import run as R  # noqa: E402


def _case(case_id: str, extra: int = 0) -> C.Case:
    return C.Case(
        case_id, ("read",), case_id, "subject", lambda files, workdir: None, lambda state: [], extra_runs=extra
    )


def _run(seconds: float) -> dict[str, Any]:
    """What a case's child process reports for one run."""
    return {
        "seconds": seconds,
        "cpu_seconds": seconds,
        "peak_mb": 1.0,
        "base_mb": 1.0,
        "delta_mb": 0.0,
        "maxrss_mb": 1.0,
        "peak_method": "test",
        "records": 0,
    }


def _args(repeat: int, budget: float = 1e9) -> argparse.Namespace:
    return argparse.Namespace(repeat=repeat, repeat_budget=budget, case_budget=1e9)


@pytest.mark.parametrize(
    ("n", "repeat", "extra", "wanted"), [(100_000, 3, 2, 5), (1_000_000, 1, 2, 3), (10_000, 3, 2, 3)]
)
def test_extra_runs_only_at_the_target_sizes(n: int, repeat: int, extra: int, wanted: int) -> None:
    assert R.CaseRuns(_case("x", extra), n, _args(repeat), {}).wanted == wanted


def test_rounds_interleave_cases_and_give_the_extra_runs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    order: list[str] = []

    def child(case_id: str, files: Any, workdir: Path, timeout: float) -> dict[str, Any]:
        order.append(case_id)
        return _run(0.01)

    monkeypatch.setattr(R, "_child", child)
    chosen = [_case("a", 2), _case("b"), _case("c", 2)]
    results = R.run_cases(chosen, 100_000, {}, tmp_path, _args(3), {})
    assert order == ["a", "b", "c"] * 3 + ["a", "c"] * 2
    assert [len(r["runs"]) for r in results] == [5, 3, 5]


def test_the_repeat_budget_still_caps_the_extra_runs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(R, "_child", lambda case_id, files, workdir, timeout: _run(4.0))
    results = R.run_cases([_case("slow", 2)], 100_000, {}, tmp_path, _args(3, budget=10.0), {})
    assert len(results[0]["runs"]) == 3  # 4 + 4 + 4 s reach the 10 s budget before the extra runs


def test_the_read_target_pair_gets_the_extra_runs() -> None:
    by_id = {case.id: case for case in C.CASES}
    target = next(t for t in R.RATIO_TARGETS if t.id == "read_vs_parse_2")
    assert by_id[target.subject].extra_runs > 0 and by_id[target.reference].extra_runs > 0

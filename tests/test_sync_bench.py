"""Smoke test of benchmarks/sync.py at a tiny size: every step runs and checks its own result.

No timing assertions (speed is measured by the benchmark, not by tests).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # benchmarks/ is not part of the installed package
    sys.path.insert(0, str(ROOT))

from benchmarks.sync import run, to_markdown  # noqa: E402


def test_the_sync_benchmark_runs_end_to_end() -> None:
    results = run(120, 3)
    assert [r["step"] for r in results] == [
        "plan + apply: create",
        "plan + apply: 10% updated, 1% deleted",
        "plan again (no changes)",
        "copy to a second partner (shift 1.5 s)",
        "copy again (nothing written)",
    ]
    assert all(r["reading_s"] > 0 for r in results)
    text = to_markdown(results, 120, 3, ([0.5, 0.4, 0.3], [1.5, 1.0, 0.5]))
    assert "| plan + apply: create | 120 |" in text
    assert "load average at start [0.5, 0.4, 0.3], at end [1.5, 1.0, 0.5]" in text and "share one process" in text

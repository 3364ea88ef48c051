"""Load: 20 concurrent journaled pushes, then 40 concurrent pulls, one AsyncClient, one emulator, loopback.

The same function as ``python -m benchmarks.load`` (which records ``benchmarks/results/load.md``),
at a smaller size so the suite stays quick; the throughput is printed (``pytest -s``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # benchmarks/ is not part of the installed package
    sys.path.insert(0, str(ROOT))

from benchmarks.load import report, run_load  # noqa: E402


@pytest.mark.slow
def test_concurrent_pushes_and_pulls_finish_with_all_data_and_the_emulator_still_answering() -> None:
    result = run_load(tasks=20, per_task=120, chunk_size=40)
    print(
        f"\nload: pushed {result.pushed} cue points at {result.push_rate:,.0f}/s, pulled "
        f"{result.pulled_ms + result.pulled_tenths} at {result.pull_rate:,.0f}/s"
    )
    assert result.errors == []
    assert result.pushed == 20 * 120 and result.pulled_ms == result.pulled_tenths == 20 * 120
    assert result.duplicates == 0 and result.missing == 0 and result.still_answering
    assert "cue points/s" in report(result)

"""benchmarks/api.py's rounds and re-addressed uploads: the best of the list/serveBulk rounds is
reported with every round's rate kept, and an upload re-addressed to another entry is the very
document cuepipe renders for that entry. No timing assertions (the benchmark measures)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # benchmarks/ is not part of the installed package
    sys.path.insert(0, str(ROOT))

from benchmarks.api import PER_UPLOAD, records, render_upload, render_uploads, report, run_api, targets  # noqa: E402


def test_re_addressed_uploads_equal_their_renderings() -> None:
    entries = ["0_raw1x00000", "0_raw1x00001", "0_raw4x00017", "0_e2e00003", "0_longer_id"]
    assert render_uploads(entries) == [render_upload(records(e, PER_UPLOAD)) for e in entries]
    assert render_uploads([]) == []


@pytest.mark.slow
def test_list_and_serve_report_the_best_round() -> None:
    result = run_api(raw_n=1000, e2e_n=0, concurrency=(1,), rounds=2)
    assert result.errors == [] and result.rounds == 2
    level = result.raw_levels["1"]
    for key in ("list", "serve"):
        assert len(level[key]["rounds"]) == 2
        assert level[key]["rate"] == max(level[key]["rounds"])
    for key in ("add", "pull"):
        assert level[key]["rounds"] == []
    assert "best of 2 rounds at each" in next(r for r in targets(result) if r["id"] == "emulator_list")["detail"]
    assert "(best of rounds at " in report(result)

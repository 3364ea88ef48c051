"""A Parquet file whose one value decodes to far more than it stores is refused before decoding.

pyarrow decodes a whole page at once, so a single huge, highly compressed value costs its expanded
size whatever batch size cuepipe reads with. The column chunk sizes in the file's metadata tell
before anything is decoded (``cuepipe.frames._check_parquet_expansion``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

import cuepipe

LIMIT = 2 << 20  # CUEPIPE_MAX_RECORD_BYTES in the children
WRITE = textwrap.dedent(
    """
    import sys
    import pyarrow as pa, pyarrow.parquet as pq
    size, path = int(sys.argv[1]), sys.argv[2]
    table = pa.table({"cuePointType": ["annotation.Annotation"], "entryId": ["0_bomb"], "startTime": [0],
                      "endTime": [1], "text": ["a" * size]})
    pq.write_table(table, path, compression="zstd")
    """
)
READ = textwrap.dedent(
    """
    import json, sys
    import cuepipe
    def hwm():
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    base = hwm()
    try:
        cuepipe.read_table(sys.argv[1])
        outcome = "read"
    except Exception as exc:
        outcome = f"{type(exc).__name__}: {exc}"
    print(json.dumps({"grew_mb": hwm() - base, "outcome": outcome}))
    """
)


def _run(code: str, *args: str) -> str:
    env = {**os.environ, "CUEPIPE_MAX_RECORD_BYTES": str(LIMIT)}
    done = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="peak RSS is read from /proc")
def test_a_parquet_bomb_is_refused_with_bounded_memory(tmp_path: Path) -> None:
    for size in (48 << 20, 192 << 20):
        path = tmp_path / f"bomb-{size}.parquet"
        _run(WRITE, str(size), str(path))
        assert path.stat().st_size < 1 << 20  # kilobytes on disk
        got = json.loads(_run(READ, str(path)))
        assert got["outcome"].startswith("ValueError: ") and "would expand from" in got["outcome"], got
        assert "CUEPIPE_MAX_RECORD_BYTES" in got["outcome"] and str(path) in got["outcome"]
        assert got["grew_mb"] < 40, got  # before the check: the expanded size (48 / 192 MB) and more


def test_ordinary_parquet_tables_still_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Many rows compress well too, and a value over the bound that is stored as it is passes."""
    monkeypatch.setenv("CUEPIPE_MAX_RECORD_BYTES", str(64 << 10))
    rows = 50_000
    df = pd.DataFrame(
        {
            "cuePointType": ["annotation.Annotation"] * rows,
            "entryId": [f"0_e{i % 7}" for i in range(rows)],
            "startTime": range(rows),
            "endTime": [i + 1 for i in range(rows)],
            "text": [f"chapter {i}" for i in range(rows)],
        }
    )
    df.to_parquet(tmp_path / "many.parquet", compression="zstd")
    assert len(cuepipe.read_table(tmp_path / "many.parquet")) == rows
    big = pd.DataFrame(
        {"cuePointType": ["annotation.Annotation"], "entryId": ["0_e"], "startTime": [0], "endTime": [1]}
    ).assign(text=[os.urandom(100 << 10).hex()])  # 200 KB that does not compress: over the bound, stored as is
    big.to_parquet(tmp_path / "big.parquet", compression="zstd")
    assert len(cuepipe.read_table(tmp_path / "big.parquet")) == 1

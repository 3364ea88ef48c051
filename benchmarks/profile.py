"""Profile one cuepipe benchmark case with pyinstrument.

    python -m benchmarks.profile read|chunked|write|validate [--n 100000] [--seed S] [--out DIR]

Runs the same setup (untimed) and timed body as ``benchmarks.run`` does for the cuepipe case of that
group, under pyinstrument, then prints and saves ``<out>/profile-<case>.txt``: the hottest functions
by self time (where the time is actually spent, C calls attributed to their Python caller) followed
by pyinstrument's call tree.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from . import cases as C
from .generate import DATA_DIR, DEFAULT_SEED, ensure_data
from .run import RESULTS_DIR, source_fingerprint

INTERVAL = 0.0005


def hotspots(root: Any, top: int = 15) -> list[tuple[str, float, float]]:
    """(function with location, self seconds, % of total) for the ``top`` functions by self time."""
    selfs: dict[str, float] = defaultdict(float)
    total = root.time or 1e-12
    stack = [root]
    while stack:
        frame = stack.pop()
        stack.extend(frame.children)
        if frame.is_synthetic:
            continue
        where = f"{frame.function}  ({frame.file_path_short}:{frame.line_no})"
        selfs[where] += frame.total_self_time
    ranked = sorted(selfs.items(), key=lambda kv: kv[1], reverse=True)[:top]
    return [(name, secs, 100 * secs / total) for name, secs in ranked]


def profile(
    group: str, n: int, seed: int = DEFAULT_SEED, data_dir: Path = DATA_DIR, out_dir: Path = RESULTS_DIR
) -> Path:
    """Profile the cuepipe case of ``group`` at size ``n``; return the path of the saved report."""
    from pyinstrument import Profiler

    from cuepipe.xml.schemas import schema_path

    case = C.BY_ID[C.SUBJECT[group]]
    data = ensure_data(n, seed, data_dir, verbose=True)
    files = data.as_dict() | {"ingest_xsd": str(schema_path("ingest")), "serve_xsd": str(schema_path("serve"))}
    with tempfile.TemporaryDirectory(prefix="profile-", dir=data_dir) as tmp:
        state = case.setup(files, Path(tmp))
        profiler = Profiler(interval=INTERVAL)
        t0 = time.perf_counter()
        profiler.start()
        result = case.run(state)
        profiler.stop()
        wall = time.perf_counter() - t0
        records = case.count(result)
        del result
    session = profiler.last_session
    root = session.root_frame()
    lines = [
        f"cuepipe profile: {case.id} ({case.label}), N={n:,} (records {records:,}), seed {seed}, "
        f"cuepipe source sha256 {source_fingerprint()}",
        f"wall {wall:.3f}s under pyinstrument (interval {INTERVAL * 1000:.1f} ms); "
        f"the unprofiled case is faster (see benchmarks/results/latest.md)",
        "",
        "Top functions by self time (C extension time is attributed to the calling Python function):",
        f"{'%':>6}  {'self s':>8}  function",
    ]
    if root is not None:
        for name, secs, pct in hotspots(root):
            lines.append(f"{pct:6.1f}  {secs:8.3f}  {name}")
    lines += ["", "Call tree:", profiler.output_text(unicode=True, color=False, show_all=False)]
    text = "\n".join(lines)
    print(text)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"profile-{group}.txt"
    path.write_text(text + "\n", encoding="utf-8")
    print(f"saved {path}")
    return path


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.profile", description=__doc__.splitlines()[0])
    p.add_argument("case", choices=C.GROUPS, help="which cuepipe case to profile")
    p.add_argument("--n", type=int, default=100_000, help="number of cue points (default 100000)")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    p.add_argument("--data", type=Path, default=DATA_DIR)
    p.add_argument("--out", type=Path, default=RESULTS_DIR)
    args = p.parse_args(argv)
    profile(args.case, args.n, args.seed, args.data, args.out)


if __name__ == "__main__":
    main()

"""Where the tree-free reader's time goes, step by step, in one process (pyinstrument sees one C call).

    python -m benchmarks.stages [--n 100000] [--repeat 5]

Runs a ladder of steps on the serve document of N cue points, each adding one part of
``cuepipe.read_xml`` to the one before, next to ``etree.parse`` and the ``iterparse`` floor, all in
the same process and measured in CPU seconds (``time.process_time``, best of ``--repeat``): the
machine is shared, and CPU time is what a step costs whoever else runs. Writes
``benchmarks/results/stages.md``. ``make bench`` runs each case in a fresh process instead, where
every step also pays for first-touch page faults, so its ratios are higher than these.
"""

from __future__ import annotations

import argparse
import gc
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .cases import CHUNKSIZE, SCENE_TAGS
from .generate import DATA_DIR, DEFAULT_SEED, ensure_data
from .run import RESULTS_DIR, source_fingerprint

STEPS = (
    "etree.parse (the reference; the tree is freed outside the timing)",
    "iterparse + clear (the chunked floor)",
    "libxml2 SAX2, empty callbacks (the floor of a SAX reader)",
    "SaxReader: values into the column buffers",
    "+ Arrow arrays every 4,096 cue points",
    "read_xml (+ the DataFrame)",
    f"read_xml(chunksize={CHUNKSIZE:,})",
)


def _steps(path: Path) -> list[Callable[[], Any]]:
    from lxml import etree

    import cuepipe
    from cuepipe.xml import reader as R

    speedups: Any = R._speedups
    if speedups is None or not speedups.SAX:
        raise SystemExit("the compiled tree-free reader is not available")
    data = path.read_bytes()
    blocks = [data[i : i + R._BLOCK] for i in range(0, len(data), R._BLOCK)] + [b""]

    def parse() -> Any:
        return etree.parse(str(path))

    def iterparse() -> int:
        n = 0
        for _, elem in etree.iterparse(str(path), events=("end",), tag=SCENE_TAGS):
            n += 1
            elem.clear(keep_tail=True)
            parent = elem.getparent()
            while elem.getprevious() is not None:
                del parent[0]
        return n

    def floor() -> Any:
        return speedups.sax_floor(data, R._BLOCK)

    def sax(take: bool) -> Callable[[], Any]:
        def run() -> Any:
            reader = speedups.SaxReader(R._context(), R._STORAGE)
            out = []
            for block in blocks:
                reader.feed(block)
                if take and (len(reader.run) >= R._RUN or not block):
                    out.append(reader.take())
            return reader, out

        return run

    def read() -> Any:
        return cuepipe.read_xml(path)

    def chunked() -> int:
        return sum(len(chunk) for chunk in cuepipe.read_xml(path, chunksize=CHUNKSIZE))

    return [parse, iterparse, floor, sax(False), sax(True), read, chunked]


def measure(path: Path, repeat: int) -> dict[str, float]:
    best = dict.fromkeys(STEPS, float("inf"))
    steps = _steps(path)
    for _ in range(repeat):
        for name, step in zip(STEPS, steps, strict=True):
            gc.collect()
            t0 = time.process_time()
            result = step()
            best[name] = min(best[name], time.process_time() - t0)
            del result
    return best


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.stages", description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=100_000)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    p.add_argument("--out", type=Path, default=RESULTS_DIR)
    args = p.parse_args(argv)
    files = ensure_data(args.n, args.seed, DATA_DIR)
    best = measure(files.serve_xml, args.repeat)
    ref = best[STEPS[0]]
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    lines = [
        f"# Reader steps, N={args.n:,} (CPU seconds, best of {args.repeat}, one process; "
        f"load average {load}; cuepipe source {source_fingerprint()})",
        "",
        "| step | CPU seconds | x `etree.parse` |",
        "|---|---|---|",
    ]
    lines += [f"| {name} | {secs:.3f} | {secs / ref:.2f}x |" for name, secs in best.items()]
    lines.append("")
    text = "\n".join(lines)
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "stages.md").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()

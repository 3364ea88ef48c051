"""Where the compiled reader's time goes, stage by stage (pyinstrument sees it as one C call).

    python -m benchmarks.stages [--n 100000] [--repeat 3]

Runs the steps of ``cuepipe.xml.reader.iter_columns`` on the serve document of N cue points, with
the reader's own objects (lxml's push parser, ``_speedups.harvest``, ``Run.arrays``,
``frames._ColumnChunks``), timing each step, and writes ``benchmarks/results/stages.md``. Best of
``--repeat`` runs; the machine is noisy, so compare stages within one run.
"""

from __future__ import annotations

import argparse
import gc
import time
from pathlib import Path

from .generate import DATA_DIR, DEFAULT_SEED, ensure_data
from .run import RESULTS_DIR, source_fingerprint

STAGES = (
    "parse (libxml2 builds the tree)",
    "harvest (C walk, values into Arrow buffers)",
    "free (del root[:n])",
    "Arrow arrays from run buffers",
    "DataFrame",
)


def measure(path: Path) -> dict[str, float]:
    from lxml import etree

    from cuepipe import vocabulary as voc
    from cuepipe.frames import _ColumnChunks
    from cuepipe.xml import reader as R
    from cuepipe.xml._source import document_root, push, scenes_parser

    data = path.read_bytes()
    t = dict.fromkeys(STAGES, 0.0)
    parse, harvest, free, arrays, frame = STAGES
    gc.disable()
    try:
        parser = scenes_parser()
        ctx = R._speedups.Context(
            R._SPECS,
            R._ANSWER_SPECS,
            R._CUSTOM_SPECS,
            R._as_float,
            R._read_custom_data,
            R._slow_element,
            etree.tostring,
            voc.CUSTOM_DATA_XML_KEY,
            voc.OPTIONAL_ANSWER_ITEM.encode(),
        )
        root, index, chunks, run = None, 0, _ColumnChunks(), R._speedups.Run(R._STORAGE)
        for start in range(0, len(data) + 1, R._BLOCK):
            block = data[start : start + R._BLOCK]
            t0 = time.perf_counter()
            push(parser, block)
            if root is None:
                root = document_root(parser)
                ctx.set_root(root)
            t1 = time.perf_counter()
            consumed, _ = R._speedups.harvest(root, ctx, run, index + len(run), not block)
            t2 = time.perf_counter()
            del root[:consumed]
            t3 = time.perf_counter()
            if len(run) >= R._RUN or not block:
                index += len(run)
                chunks.add(run.arrays())
                run = R._speedups.Run(R._STORAGE)
            t4 = time.perf_counter()
            t[parse] += t1 - t0
            t[harvest] += t2 - t1
            t[free] += t3 - t2
            t[arrays] += t4 - t3
        t0 = time.perf_counter()
        chunks.take()
        t[frame] = time.perf_counter() - t0
    finally:
        gc.enable()
    return t


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.stages", description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=100_000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    p.add_argument("--out", type=Path, default=RESULTS_DIR)
    args = p.parse_args(argv)
    files = ensure_data(args.n, args.seed, DATA_DIR)
    runs = [measure(files.serve_xml) for _ in range(args.repeat)]
    best = min(runs, key=lambda r: sum(r.values()))
    total = sum(best.values())
    lines = [
        f"# Reader stages, N={args.n:,} (best of {args.repeat}; cuepipe source {source_fingerprint()})",
        "",
        "| stage | seconds | share |",
        "|---|---|---|",
    ]
    lines += [f"| {name} | {secs:.3f} | {secs / total:.0%} |" for name, secs in best.items()]
    lines += [f"| total | {total:.3f} | |", ""]
    text = "\n".join(lines)
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "stages.md").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()

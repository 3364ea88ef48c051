"""Many files: the single-process loop against cuepipe.dask on a local cluster of worker processes.

    python -m benchmarks.dask_bench [--files 40] [--n 5000] [--workers 2] [--repeat 2] [--out DIR]

Inputs: ``--files`` ingest documents of ``--n`` cue points each, cut from one stream of the
harness's generator (``benchmarks.generate``), cached under ``benchmarks/data/``. Three cases, each
timed with the same inputs in the same run, best of ``--repeat``:

* **read** files -> one pandas DataFrame in this process: ``pd.concat(cuepipe.read_xml(p) ...)``
  against ``cuepipe.dask.read_xml(paths).compute()`` (includes shipping the frames back here);
* **write** DataFrames already in memory -> one ingest file each: ``cuepipe.write_xml`` per frame
  against ``cuepipe.dask.write_xml`` of a Dask DataFrame persisted on the workers;
* **convert** files -> files (read and write, nothing gathered): the loop of both against
  ``cuepipe.dask.write_xml(cuepipe.dask.read_xml(paths), out)``, the shape of a migration job.

The cluster is a ``distributed.LocalCluster`` of ``--workers`` single-threaded processes, started
and warmed up (imports, one small task per worker) before any timing; its idle workers take no CPU
while the single-process variant runs. The two variants of a case run alternately, so that both
see the same load on a shared machine, and each run records its CPU seconds and the CPU seconds
the rest of the machine used meanwhile (``/proc/stat``). Writes ``dask.json`` and ``dask.md`` to
``--out`` (default ``benchmarks/results``) with the harness's machine description
(``benchmarks.run.machine_info``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .generate import DATA_DIR, DEFAULT_SEED, GENERATOR_VERSION, generate, ingest_view
from .run import RESULTS_DIR, machine_info


def ensure_files(files: int, n: int, seed: int, data_dir: Path) -> list[Path]:
    """``files`` ingest documents of ``n`` cue points, cached per (files, n, seed, generator version)."""
    import cuepipe

    folder = data_dir / f"dask-{files}x{n}-seed{seed}-v{GENERATOR_VERSION}"
    paths = [folder / f"cues-{i:04d}.xml" for i in range(files)]
    if all(p.is_file() for p in paths):
        return paths
    t0 = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    records = [ingest_view(r, i) for i, r in enumerate(generate(files * n, seed))]
    for i, path in enumerate(paths):
        cuepipe.write_xml(records[i * n : (i + 1) * n], path)
    print(f"generated {files} files x {n:,} cue points in {time.perf_counter() - t0:.1f}s -> {folder}")
    return paths


def machine_busy_seconds() -> float | None:
    """CPU seconds all cores have spent busy since boot (Linux ``/proc/stat``), None elsewhere.

    Taken before and after a run, minus the run's own CPU seconds, it says how much other work
    competed for the cores meanwhile: this machine may be shared.
    """
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    guest = sum(fields[8:10]) if len(fields) > 9 else 0  # already counted in user/nice
    return (sum(fields) - idle - guest) / os.sysconf("SC_CLK_TCK")


class Runner:
    """Runs a case's single-process and Dask variants alternately, so that both see the same load."""

    def __init__(self, repeat: int) -> None:
        self.repeat = repeat

    def measure(self, fn: Callable[[], Any], cpu: Callable[[], float], reset: Callable[[], None]) -> dict[str, float]:
        reset()
        busy0, c0, t0 = machine_busy_seconds(), cpu(), time.perf_counter()
        fn()
        wall = time.perf_counter() - t0
        used = cpu() - c0
        busy1 = machine_busy_seconds()
        others = None if busy0 is None or busy1 is None else max(0.0, busy1 - busy0 - used)
        return {"wall": wall, "cpu": used, "others_cpu": others}

    def compare(
        self, variants: dict[str, tuple[Callable[[], Any], Callable[[], float], Callable[[], None]]]
    ) -> dict[str, Any]:
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in variants}
        for _ in range(self.repeat):
            for name, (fn, cpu, reset) in variants.items():
                runs[name].append(self.measure(fn, cpu, reset))
        out: dict[str, Any] = {}
        for name, rs in runs.items():
            best = min(rs, key=lambda r: r["wall"])
            out[name] = {
                "best": best["wall"],
                "median": statistics.median(r["wall"] for r in rs),
                "runs": [r["wall"] for r in rs],
                "cpu_best": best["cpu"],
                "others_cpu_best": best["others_cpu"],
            }
        out["speedup"] = out["single"]["best"] / out["dask"]["best"]
        return out


def clean(directory: Path) -> Callable[[], None]:
    def reset() -> None:
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)

    return reset


def nothing() -> None:
    pass


def run(args: argparse.Namespace) -> dict[str, Any]:
    import pandas as pd
    from distributed import Client, LocalCluster, wait

    import cuepipe
    import cuepipe.dask as cdask

    started = time.perf_counter()
    machine = machine_info()
    paths = ensure_files(args.files, args.n, args.seed, args.data)
    names = [str(p) for p in paths]
    for p in paths:  # page cache warm for every case
        p.read_bytes()
    size_mb = sum(p.stat().st_size for p in paths) / 1e6
    work = Path(tempfile.mkdtemp(prefix="cuepipe-dask-bench-"))
    single_out, dask_out = work / "single", work / "dask"
    runner = Runner(args.repeat)
    results: dict[str, dict[str, Any]] = {}
    print(f"{args.files} files x {args.n:,} cue points ({size_mb:.0f} MB)")
    try:
        cluster_start = time.perf_counter()
        with (
            LocalCluster(
                n_workers=args.workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.ERROR,
            ) as cluster,
            Client(cluster) as client,
        ):
            # warm-up: every worker imports cuepipe and runs the reader once (idle workers use no CPU
            # while the single-process variant runs)
            cdask.read_xml(names[: args.workers]).compute()
            startup = time.perf_counter() - cluster_start
            print(f"LocalCluster of {args.workers} worker processes ready in {startup:.1f}s")

            def cluster_cpu() -> float:  # this process and every worker process
                return time.process_time() + sum(client.run(time.process_time).values())

            def single_read() -> None:
                pd.concat([cuepipe.read_xml(p) for p in paths], ignore_index=True)

            def dask_read() -> None:
                cdask.read_xml(names).compute()

            def single_convert() -> None:
                for i, p in enumerate(paths):
                    cuepipe.write_xml(cuepipe.read_xml(p), single_out / f"part-{i:05d}.xml")

            def dask_convert() -> None:
                cdask.write_xml(cdask.read_xml(names), dask_out)

            # The Client is the default scheduler while it is open. read and convert run before the
            # persist below: persisted partitions have the same keys, and the scheduler would hand
            # them out instead of reading the files again.
            results["read"] = runner.compare(
                {"single": (single_read, time.process_time, nothing), "dask": (dask_read, cluster_cpu, nothing)}
            )
            print(f"read: {results['read']['speedup']:.2f}x")
            results["convert"] = runner.compare(
                {
                    "single": (single_convert, time.process_time, clean(single_out)),
                    "dask": (dask_convert, cluster_cpu, clean(dask_out)),
                }
            )
            print(f"convert: {results['convert']['speedup']:.2f}x")

            frames = [cuepipe.read_xml(p) for p in paths]
            persisted = client.persist(cdask.read_xml(names))
            wait(persisted)

            def single_write() -> None:
                for i, frame in enumerate(frames):
                    cuepipe.write_xml(frame, single_out / f"part-{i:05d}.xml")

            def dask_write() -> None:
                cdask.write_xml(persisted, dask_out)

            results["write"] = runner.compare(
                {
                    "single": (single_write, time.process_time, clean(single_out)),
                    "dask": (dask_write, cluster_cpu, clean(dask_out)),
                }
            )
            print(f"write: {results['write']['speedup']:.2f}x")
            same = all(
                (single_out / f"part-{i:05d}.xml").read_bytes() == (dask_out / f"part-{i:05d}.xml").read_bytes()
                for i in range(args.files)
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    machine["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": "python -m benchmarks.dask_bench " + " ".join(sys.argv[1:]),
        "files": args.files,
        "n_per_file": args.n,
        "seed": args.seed,
        "workers": args.workers,
        "repeat": args.repeat,
        "input_mb": round(size_mb, 1),
        "cluster_startup_s": round(startup, 2),
        "outputs_identical": same,
        "total_s": round(time.perf_counter() - started, 1),
        "machine": machine,
        "results": {k: results[k] for k in ("read", "write", "convert")},
    }


CASES = {
    "read": "files -> one DataFrame in this process",
    "write": "in-memory DataFrames -> one ingest file each",
    "convert": "files -> files (read + write, nothing gathered)",
}


def markdown(res: dict[str, Any]) -> str:
    m = res["machine"]
    physical = f" ({m['physical_cores']} physical)" if m["physical_cores"] else ""
    cores = f"{m['logical_cores']} logical cores{physical}"
    lines = [
        "# cuepipe.dask benchmark: many files, single process vs a local Dask cluster",
        "",
        f"- Date: {res['date']}; command: `{res['command'].strip()}`; total time {res['total_s']}s",
        f"- Input: {res['files']} ingest files x {res['n_per_file']:,} cue points "
        f"({res['files'] * res['n_per_file']:,} in all, {res['input_mb']} MB), seed {res['seed']}",
        f"- Dask: `LocalCluster(n_workers={res['workers']}, threads_per_worker=1, processes=True)`, started and "
        f"warmed up in {res['cluster_startup_s']}s before timing (not included below)",
        f"- Machine: {m['cpu']}, {cores}, {m['ram_gb']} GB RAM; {m['os']}",
        f"- Load average at start {m['loadavg_start']}, at end {m['loadavg_end']} (the machine was shared with "
        "other work; timings are noisy)",
        f"- Python {m['python']}; lxml {m['lxml']}; pandas {m['pandas']}; cuepipe {m['cuepipe']} "
        f"(git {m['git_commit']}, source {m['cuepipe_source_sha']})",
        f"- Output files of the dask and single-process writes byte-identical: {res['outputs_identical']}",
        "",
        f"Wall seconds, best of {res['repeat']} (median in brackets), the single-process and Dask variants "
        "run alternately; speed-up = single / dask. CPU s: this process (single) or this process plus every "
        "worker (dask), for the best run. Other work's CPU s: what the rest of the machine used on all cores "
        "during that run (/proc/stat busy time minus ours, so it includes the cluster's nanny processes): the "
        "machine was shared.",
        "",
        "| case | what | single process s | dask s | speed-up | CPU s single / dask | other work's CPU s "
        "single / dask |",
        "|---|---|---|---|---|---|---|",
    ]

    def num(x: float | None) -> str:
        return "n/a" if x is None else f"{x:.1f}"

    for name, case in res["results"].items():
        s, d = case["single"], case["dask"]
        lines.append(
            f"| {name} | {CASES[name]} | {s['best']:.2f} ({s['median']:.2f}) | {d['best']:.2f} "
            f"({d['median']:.2f}) | **{case['speedup']:.2f}x** | {s['cpu_best']:.1f} / {d['cpu_best']:.1f} "
            f"| {num(s['others_cpu_best'])} / {num(d['others_cpu_best'])} |"
        )
    lines += [
        "",
        "Notes: `read` includes sending every partition back to this process and concatenating it there, "
        "which the single-process loop does not pay; `convert` keeps the data on the workers. With "
        f"{res['workers']} workers the ceiling is {res['workers']}x, reached only when {res['workers']} cores are "
        f"free: a run of W wall seconds on this {m['logical_cores']}-core machine has {m['logical_cores']}W "
        "core-seconds, and other work's CPU s says how many of them were taken.",
        "",
    ]
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.dask_bench", description=__doc__.splitlines()[0])
    p.add_argument("--files", type=int, default=40)
    p.add_argument("--n", type=int, default=5000, help="cue points per file")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    p.add_argument("--data", type=Path, default=DATA_DIR)
    p.add_argument("--out", type=Path, default=RESULTS_DIR)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    res = run(args)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "dask.json").write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")
    text = markdown(res)
    (args.out / "dask.md").write_text(text, encoding="utf-8")
    print(text)
    return res


if __name__ == "__main__":
    main()

"""Syncs and copies at scale: plan + apply 100k cue points over 100 entries, then copy them.

    python -m benchmarks.sync [--cue-points 100000] [--entries 100] [--out benchmarks/results/sync.md]

Against an in-process :class:`~cuepipe.emulator.EmulatorServer` (SQLite in a temporary file, two
partners, loopback). Steps, each timed and split into **reading** (``list`` pages of the entries:
the plan's read and apply's staleness re-read), **diffing** (matching and comparing, building the
plan) and **writing** (``addFromBulk`` uploads, ``cuePoint.update``, ``cuePoint.delete``):

1. plan + apply the whole table onto empty entries (all creates);
2. plan + apply a table with 10% of the cue points changed and 1% removed (``prune``);
3. plan again: no changes (a read and a diff only);
4. copy every entry to the second partner with a time shift (all creates);
5. copy again: nothing written.

Each step checks its result (counts on the server, no changes after apply), so a fast wrong answer
cannot pass. The emulator shares the process (and the GIL) with the client: the figures are for the
whole loop on one machine, not a server benchmark.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from cuepipe.client import Client
from cuepipe.emulator import EmulatorServer
from cuepipe.emulator.app import Partner
from cuepipe.sync import copy, plan

# The package exports functions named like these modules, so take the modules themselves.
plan_mod = importlib.import_module("cuepipe.sync.plan")
apply_mod = importlib.import_module("cuepipe.sync.apply")
copy_mod = importlib.import_module("cuepipe.sync.copy")

SOURCE = Partner(9101, "bench-sync-source-secret")
TARGET = Partner(9102, "bench-sync-target-secret")

TIMES: dict[str, float] = defaultdict(float)


def _timed(phase: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            TIMES[phase] += time.perf_counter() - t0

    return wrapper


@contextmanager
def instrumented() -> Iterator[None]:
    """Time the three phases where the sync code calls them (module attributes, restored after)."""
    patches = [
        (plan_mod, "read_server", "reading"),
        (apply_mod, "read_server", "reading"),
        (copy_mod, "read_server", "reading"),
        (plan_mod, "build_plan", "diffing"),
        (copy_mod, "build_plan", "diffing"),
        (apply_mod, "write_changes", "writing"),
        (copy_mod, "write_changes", "writing"),
    ]
    saved = [(m, name, getattr(m, name)) for m, name, _ in patches]
    for m, name, phase in patches:
        setattr(m, name, _timed(phase, getattr(m, name)))
    try:
        yield
    finally:
        for m, name, fn in saved:
            setattr(m, name, fn)


def table(entries: list[str], per_entry: int, version: int = 0) -> pd.DataFrame:
    """Six types, keyed; 2% are titled chapters (thumbs), so the typed writes are measured too."""
    rows: list[dict[str, Any]] = []
    for e in entries:
        for i in range(per_entry):
            kind = 5 if i % 50 == 49 else i % 5  # 2% thumbs: each title costs a cuePoint.update request
            base = {"entryId": e, "systemName": f"K{i:06d}", "startTime": i * 1000}
            if kind == 0:
                rows.append(
                    {
                        **base,
                        "cuePointType": "annotation.Annotation",
                        "endTime": i * 1000 + 900,
                        "text": f"a{i}",
                        "tags": "chaptering",
                    }
                )
            elif kind == 1:
                rows.append(
                    {
                        **base,
                        "cuePointType": "adCuePoint.Ad",
                        "endTime": i * 1000 + 500,
                        "adType": "1",
                        "protocolType": "2",
                        "title": f"ad {i}",
                    }
                )
            elif kind == 2:
                rows.append({**base, "cuePointType": "codeCuePoint.Code", "code": f"C{i}", "description": "d"})
            elif kind == 3:
                rows.append({**base, "cuePointType": "quiz.QUIZ_QUESTION", "question": f"q{i}?", "hint": "h"})
            elif kind == 4:
                rows.append(
                    {**base, "cuePointType": "sessionCuePoint.Session", "endTime": i * 1000 + 100, "name": f"s{i}"}
                )
            else:
                rows.append(
                    {
                        **base,
                        "cuePointType": "thumbCuePoint.Thumb",
                        "title": f"slide {i}",
                        "description": "",
                        "subType": 2,
                    }
                )
    frame = pd.DataFrame(rows)
    if version:
        changed = frame.index % 10 == 3
        frame.loc[changed, "startTime"] = frame.loc[changed, "startTime"] + 1
        frame = frame[frame.index % 100 != 7]
    return frame.reset_index(drop=True)


def step(name: str, fn: Callable[[], Any], results: list[dict[str, Any]], n: int) -> Any:
    TIMES.clear()
    t0 = time.perf_counter()
    out = fn()
    total = time.perf_counter() - t0
    row = {"step": name, "cue_points": n, "total_s": round(total, 2)}
    for phase in ("reading", "diffing", "writing"):
        row[f"{phase}_s"] = round(TIMES.get(phase, 0.0), 2)
    row["other_s"] = round(total - sum(TIMES.values()), 2)
    results.append(row)
    print(
        f"{name}: {total:.1f} s  "
        + "  ".join(f"{p} {TIMES.get(p, 0.0):.1f}" for p in ("reading", "diffing", "writing")),
        flush=True,
    )
    return out


def run(cue_points: int, n_entries: int) -> list[dict[str, Any]]:
    per_entry = max(1, cue_points // n_entries)
    src_entries = [f"0_bs{i:04d}" for i in range(n_entries)]
    dst_entries = [f"0_bt{i:04d}" for i in range(n_entries)]
    total = per_entry * n_entries
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="cuepipe-bench-sync-") as tmp:
        seeds = [(SOURCE.id, e) for e in src_entries] + [(TARGET.id, e) for e in dst_entries]
        with (
            EmulatorServer(db=os.path.join(tmp, "emulator.db"), partners=[SOURCE, TARGET], entries=seeds) as srv,
            Client(srv.url, partner_id=SOURCE.id, admin_secret=SOURCE.admin_secret, timeout=600) as src,
            Client(srv.url, partner_id=TARGET.id, admin_secret=TARGET.admin_secret, timeout=600) as dst,
            instrumented(),
        ):
            first = table(src_entries, per_entry)

            def create() -> None:
                p = plan(src, first)
                assert p.counts()["create"] == total and not p.errors, str(p)[-500:]
                p.apply(src, journal=os.path.join(tmp, "apply1.sqlite"))

            step("plan + apply: create", create, results, total)
            second = table(src_entries, per_entry, version=1)

            def change() -> None:
                p = plan(src, second, prune=True)
                n = p.counts()
                assert n["update"] > 0 and n["delete"] > 0 and not p.errors, n
                p.apply(src, journal=os.path.join(tmp, "apply2.sqlite"))

            step("plan + apply: 10% updated, 1% deleted", change, results, total)

            def verify() -> None:
                p = plan(src, second, prune=True)
                assert not p.has_changes, str(p)[-500:]

            step("plan again (no changes)", verify, results, len(second))
            mapping = dict(zip(src_entries, dst_entries, strict=True))

            def copy_all() -> None:
                report = copy(src, dst, entry_map=mapping, shift_ms=1500, journal=os.path.join(tmp, "copy.sqlite"))
                assert (report.to_frame()["action"] == "created").sum() == len(second), str(report)[-500:]

            step("copy to a second partner (shift 1.5 s)", copy_all, results, len(second))

            def copy_again() -> None:
                report = copy(src, dst, entry_map=mapping, shift_ms=1500, journal=os.path.join(tmp, "copy.sqlite"))
                assert (report.to_frame()["action"] == "unchanged").sum() == len(second), str(report)[-500:]

            step("copy again (nothing written)", copy_again, results, len(second))
    return results


def to_markdown(
    results: list[dict[str, Any]], cue_points: int, n_entries: int, load: tuple[list[float], list[float]] | None = None
) -> str:
    """The report; ``load``: the machine's load averages at the start and the end of the run."""
    lines = [
        "# Sync and copy benchmark",
        "",
        f"`python -m benchmarks.sync --cue-points {cue_points} --entries {n_entries}`: cuepipe.plan + apply and "
        "cuepipe.copy against the in-process emulator (SQLite file, loopback), one process.",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
        + (f"; load average at start {load[0]}, at end {load[1]}" if load else "")
        + ". The client and the emulator share one process and its GIL: compare the figures within this table, "
        "not with the end-to-end rates of `throughput.md` (the emulator in its own process there).",
        "",
        "| step | cue points | total s | reading s | diffing s | writing s | other s | cue points/s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        rate = r["cue_points"] / r["total_s"] if r["total_s"] else 0
        lines.append(
            f"| {r['step']} | {r['cue_points']:,} | {r['total_s']} | {r['reading_s']} | {r['diffing_s']} | "
            f"{r['writing_s']} | {r['other_s']} | {rate:,.0f} |"
        )
    lines += [
        "",
        "Reading: `list` pages of every entry (a plan reads once; apply re-reads the entries it touches to check "
        "the plan is still true; a copy reads the source and the target). Diffing: matching rows to cue points, "
        "comparing values and checking that every record renders as ingest XML. Writing: `addFromBulk` uploads of "
        "500 (with the journal and the lookups push does before each upload), `cuePoint.update` for thumb titles, "
        "`cuePoint.delete`. Other: reading the table, building the report.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cue-points", type=int, default=100_000)
    parser.add_argument("--entries", type=int, default=100)
    parser.add_argument("--out", default="benchmarks/results/sync.md")
    args = parser.parse_args()
    start = [round(x, 2) for x in os.getloadavg()]
    results = run(args.cue_points, args.entries)
    end = [round(x, 2) for x in os.getloadavg()]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(to_markdown(results, args.cue_points, args.entries, (start, end)), encoding="utf-8")
    out.with_suffix(".json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

"""Run the cuepipe benchmarks: each case in a fresh subprocess, same input file per group.

    python -m benchmarks.run [--full] [--sizes 10000,100000] [--repeat K] [--out DIR] [--data DIR]

Groups (see ``benchmarks/cases.py``): read (serve XML -> DataFrame) against pandas.read_xml,
xmlschema.to_dict and two lxml floors; chunked read against the iterparse floor; write (DataFrame ->
ingest XML) against DataFrame.to_xml and an lxml xmlfile floor; validate against lxml and xmlschema.
Group ``api`` (issue 13 target 4, once per run): ``benchmarks/api.py`` against a ``cuepipe emulator``
process, 20k cue points for the raw driver and 100k end to end (``--full``: 100k and 100k).
Prints a table per size and the targets (PASS/MISS), and writes ``results-<N>.json``, ``latest.json``
and ``latest.md`` to ``--out`` (default ``benchmarks/results``).

Time budget: each case runs up to ``--repeat`` times (best time reported; the two sides of the
read-vs-``etree.parse`` target twice more at the target sizes) but stops repeating once its runs add
up to ``--repeat-budget`` seconds. The runs are made in rounds (every case once, then
again), so that a case and its references are measured over the same minutes. A peer whose
predicted time at a size exceeds ``--case-budget`` is skipped with a note (prediction: linear in N
from the largest smaller size measured in this run, else a planning rate measured on the reference
machine, times a 1.5 margin).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import cases as C
from .generate import DATA_DIR, DEFAULT_SEED, ensure_data

RESULTS_DIR = Path(__file__).resolve().parent / "results"
ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SIZES = (10_000, 100_000)
FULL_SIZES = (10_000, 100_000, 1_000_000)
#: The sizes the issue sets targets for; smaller sizes are measured and shown as information only
#: (at 10k, fixed per-call costs such as first-use initialisation weigh as much as the work).
TARGET_SIZES = (100_000, 1_000_000)

# Seconds per cue point of each peer on the reference machine (2-core AMD EPYC VM), used to decide
# whether to skip a peer when no smaller size was measured in the same run.
PLANNING_RATES: dict[str, float] = {
    "read.pandas": 75e-6,
    "read.xmlschema": 550e-6,
    "write.pandas": 140e-6,
    "validate.xmlschema": 1150e-6,
}

# Predictions are multiplied by this before comparing with --case-budget: peers scale a little worse
# than linearly and the machine is shared, so a prediction just under the budget is not good enough.
PREDICTION_MARGIN = 1.5
FLAT_GROWTH = 1.25  # "flat": the 1M figure is at most 25% above the 100k figure ...
FLAT_SLACK_MB = 10.0  # ... or at most this many MB above it
PEAK_LIMIT_MB = 200.0


@dataclass(frozen=True)
class RatioTarget:
    """``time(subject) / time(reference) <= max_ratio``."""

    id: str
    text: str
    subject: str
    reference: str
    max_ratio: float | None  # None: no target, the ratio is reported (issue 13's CSV tax)
    faster: bool = False  # phrase as "N x faster than the reference"
    metric: str = "seconds"  # or "cpu_seconds": the client cost targets count CPU, not waiting
    issue: int = 7  # the issue that set the target


RATIO_TARGETS: tuple[RatioTarget, ...] = (
    RatioTarget(
        "read_vs_pandas", "read >= 4x faster than pandas.read_xml", "read.cuepipe", "read.pandas", 0.25, faster=True
    ),
    RatioTarget("read_vs_parse", "read within 2.5x of lxml etree.parse", "read.cuepipe", "read.parse", 2.5),
    RatioTarget(
        "chunked_vs_iterparse",
        "chunked read within 1.5x of the iterparse floor",
        "chunked.cuepipe",
        "read.iterparse",
        1.5,
    ),
    RatioTarget(
        "write_vs_to_xml",
        "write >= 10x faster than DataFrame.to_xml",
        "write.cuepipe",
        "write.pandas",
        0.1,
        faster=True,
    ),
    RatioTarget(
        "write_vs_xmlfile", "write within 1.5x of the lxml xmlfile floor", "write.cuepipe", "write.xmlfile", 1.5
    ),
    RatioTarget(
        "validate_vs_lxml",
        "validate within 1.5x of lxml's own validation (parse + validate)",
        "validate.cuepipe",
        "validate.lxml",
        1.5,
    ),
    # issue 13, target 1: any input writes fast (the same output, checked by the cases)
    RatioTarget(
        "any_frame_write",
        "write of a user-built DataFrame within 1.3x of the typed frame",
        "write.user_frame",
        "write.cuepipe",
        1.3,
        issue=13,
    ),
    RatioTarget(
        "arrow_frame_write",
        "write of a user-built DataFrame with Arrow dtypes within 1.3x of the typed frame",
        "write.arrow_frame",
        "write.cuepipe",
        1.3,
        issue=13,
    ),
    RatioTarget(
        "records_write",
        "write of a list of dicts within 1.3x of the typed frame",
        "write.records",
        "write.cuepipe",
        1.3,
        issue=13,
    ),
    # issue 13, target 2: no tree
    RatioTarget("read_vs_parse_2", "read within 0.6x of lxml etree.parse", "read.cuepipe", "read.parse", 0.6, issue=13),
    RatioTarget(
        "read_one_core_vs_parse",
        "read on one core (worker thread off) vs lxml etree.parse, for reference",
        "read.cuepipe_one_core",
        "read.parse",
        None,
        issue=13,
    ),
    RatioTarget(
        "parallel_read",
        "one large document read on both cores at 0.35x etree.parse (stretch)",
        "read.cuepipe",
        "read.parse",
        0.35,
        issue=13,
    ),
    RatioTarget(
        "chunked_vs_iterparse_2",
        "chunked read within 1.0x of the iterparse floor",
        "chunked.cuepipe",
        "read.iterparse",
        1.0,
        issue=13,
    ),
    # issue 13, target 3: the CSV tax (no target, the ratio is reported)
    RatioTarget(
        "read_vs_csv",
        "CSV tax: read vs pyarrow.csv.read_csv of the same table",
        "read.cuepipe",
        "read.csv_arrow",
        None,
        issue=13,
    ),
    RatioTarget(
        "write_vs_csv",
        "CSV tax: write vs pyarrow.csv.write_csv of the same table",
        "write.cuepipe",
        "write.csv_arrow",
        None,
        issue=13,
    ),
    # issue 13, target 4: client cost (CPU per cue point, canned server answers, see benchmarks/client.py)
    RatioTarget(
        "client_pull_cpu",
        "client CPU per cue point pulled >= 3x cheaper than KalturaApiClient's list loop",
        "pull.cuepipe",
        "pull.official",
        1 / 3,
        faster=True,
        metric="cpu_seconds",
        issue=13,
    ),
    RatioTarget(
        "client_push_cpu",
        "client CPU per cue point pushed within 1.5x of KalturaApiClient's addFromBulk",
        "push.cuepipe",
        "push.official",
        1.5,
        metric="cpu_seconds",
        issue=13,
    ),
)

#: Targets of issue 13 that this benchmark does not measure yet: reported as such, never invented.
NOT_MEASURED: tuple[tuple[str, str, str, str], ...] = ()


# ---------------------------------------------------------------------------------------------------
# machine
# ---------------------------------------------------------------------------------------------------


#: The cuepipe modules the benchmarked code paths run through (CLI, API client etc. are left out).
MEASURED_SOURCES = ("xml/*.py", "xml/*.pyx", "frames.py", "values.py", "vocabulary.py", "errors.py")


def source_fingerprint() -> str:
    """Short hash of the measured cuepipe modules: which code was measured (the tree may be uncommitted)."""
    import hashlib

    import cuepipe

    h = hashlib.sha256()
    pkg = Path(cuepipe.__file__).resolve().parent
    files = sorted({f for pattern in MEASURED_SOURCES for f in pkg.glob(pattern)})
    for f in files:
        h.update(str(f.relative_to(pkg)).encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:12]


def machine_info() -> dict[str, Any]:
    """CPU, cores, RAM, OS and library versions of this machine."""
    import lxml.etree as etree
    import numpy
    import pandas
    import xmlschema

    import cuepipe

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    ram = None
    physical = None
    try:
        import psutil

        ram = psutil.virtual_memory().total
        physical = psutil.cpu_count(logical=False)
    except ImportError:
        pass
    commit = None
    with contextlib.suppress(OSError, subprocess.SubprocessError):  # read-only: HEAD's commit id
        commit = (
            subprocess.run(
                ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10
            ).stdout.strip()
            or None
        )
    return {
        "cpu": cpu,
        "logical_cores": os.cpu_count(),
        "physical_cores": physical,
        "ram_gb": None if ram is None else round(ram / 2**30, 1),
        "os": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "lxml": etree.__version__,
        "libxml2": ".".join(map(str, etree.LIBXML_VERSION)),
        "libxml2_compiled": ".".join(map(str, etree.LIBXML_COMPILED_VERSION)),
        "pandas": pandas.__version__,
        "numpy": numpy.__version__,
        "xmlschema": xmlschema.__version__,
        "cuepipe": cuepipe.__version__,
        "git_commit": commit,
        "cuepipe_source_sha": source_fingerprint(),
        "loadavg_start": [round(x, 2) for x in os.getloadavg()],
    }


# ---------------------------------------------------------------------------------------------------
# running
# ---------------------------------------------------------------------------------------------------


def _child(case_id: str, files: dict[str, Any], workdir: Path, timeout: float) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "benchmarks.cases", case_id, json.dumps(files), str(workdir)]
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    try:
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f}s"}
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-6:]
    return {"error": f"exit {proc.returncode}: " + " | ".join(tail)}


def _predict(case_id: str, n: int, measured: dict[tuple[str, int], float]) -> tuple[float | None, str]:
    smaller = [m for (c, m) in measured if c == case_id and m < n]
    if smaller:
        m = max(smaller)
        return measured[(case_id, m)] * n / m, f"{measured[(case_id, m)]:.1f}s measured at N={m:,}"
    rate = PLANNING_RATES.get(case_id)
    if rate is None:
        return None, ""
    return rate * n, "planning rate of the reference machine"


class CaseRuns:
    """One case at one size: whether it runs (a peer predicted over budget does not), its runs so far."""

    def __init__(
        self,
        case: C.Case,
        n: int,
        args: argparse.Namespace,
        measured: dict[tuple[str, int], float],
    ) -> None:
        self.case = case
        self.summary: dict[str, Any] = {
            "case": case.id,
            "label": case.label,
            "role": case.role,
            "groups": list(case.groups),
            "note": case.note,
        }
        self.runs: list[dict[str, Any]] = []
        self.wanted = args.repeat + (case.extra_runs if n in TARGET_SIZES else 0)
        self.done = False
        self.timeout = 3600.0
        if case.role == "peer":
            predicted, basis = _predict(case.id, n, measured)
            if predicted is not None and predicted * PREDICTION_MARGIN > args.case_budget:
                self.summary.update(
                    status="skipped",
                    skip_reason=(
                        f"skipped at N={n:,}: predicted ~{predicted:.0f}s ({basis}; x{PREDICTION_MARGIN} margin) "
                        f"exceeds the {args.case_budget:.0f}s per-case budget (--case-budget)"
                    ),
                )
                self.done = True
            self.timeout = max(120.0, 3 * args.case_budget + 60)

    def run_once(self, files: dict[str, Any], workdir: Path, args: argparse.Namespace) -> None:
        """One more run in a fresh process (until ``--repeat`` runs, plus the case's ``extra_runs`` at
        the target sizes, or ``--repeat-budget`` seconds)."""
        if self.done:
            return
        res = _child(self.case.id, files, workdir, self.timeout)
        if "error" in res:
            self.summary.update(status="error", error=res["error"])
            self.done = True
            return
        if not self.runs and self.case.id == "write.cuepipe":
            out = workdir / "write-cuepipe.xml"
            self.summary["output_identical_to_ingest_file"] = _same_file(out, Path(files["ingest_xml"]))
        self.runs.append(res)
        for p in workdir.iterdir():
            p.unlink()
        if len(self.runs) >= self.wanted or sum(r["seconds"] for r in self.runs) >= args.repeat_budget:
            self.done = True

    def result(self, n: int, measured: dict[tuple[str, int], float]) -> dict[str, Any]:
        summary, runs = self.summary, self.runs
        if runs:
            times = [r["seconds"] for r in runs]
            best = min(runs, key=lambda r: r["seconds"])
            summary.update(
                status=summary.get("status", "ok"),
                seconds=best["seconds"],
                seconds_median=statistics.median(times),
                runs=times,
                cpu_seconds=best["cpu_seconds"],
                peak_mb=max(r["peak_mb"] for r in runs),
                base_mb=best["base_mb"],
                delta_mb=max((r["delta_mb"] for r in runs if r["delta_mb"] is not None), default=None),
                maxrss_mb=max(r["maxrss_mb"] for r in runs),
                peak_method=best["peak_method"],
                records=best["records"],
            )
            if summary["status"] == "ok":
                measured[(self.case.id, n)] = best["seconds"]
        return summary


def run_cases(
    chosen: list[C.Case],
    n: int,
    files: dict[str, Any],
    workdir: Path,
    args: argparse.Namespace,
    measured: dict[tuple[str, int], float],
) -> list[dict[str, Any]]:
    """Run the cases at one size in rounds, one run of each case per round, so that the runs of a
    case and of the references it is compared with are spread over the same minutes: this machine's
    speed drifts by tens of percent from minute to minute, and a case whose runs all fell in a slow
    minute would be compared with references measured in a fast one."""
    # peers are planned from the smaller sizes measured before this one (their predictions)
    planned = [CaseRuns(case, n, args, measured) for case in chosen]
    for _ in range(max((one.wanted for one in planned), default=0)):
        for one in planned:
            one.run_once(files, workdir, args)
    return [one.result(n, measured) for one in planned]


def _same_file(a: Path, b: Path) -> bool | None:
    if not a.is_file() or not b.is_file():
        return None
    if a.stat().st_size != b.stat().st_size:
        return False
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            x, y = fa.read(1 << 20), fb.read(1 << 20)
            if x != y:
                return False
            if not x:
                return True


def _warm(paths: list[Path]) -> None:
    """Read the inputs once so every case starts with them in the page cache."""
    for p in paths:
        with open(p, "rb") as f:
            while f.read(1 << 23):
                pass


def add_ratios(results: list[dict[str, Any]]) -> None:
    """For every case: cuepipe's time and peak relative to it, per group it belongs to."""
    by_id = {r["case"]: r for r in results}
    for r in results:
        r["ratios"] = {}
        for g in r["groups"]:
            s = by_id.get(C.SUBJECT[g])
            if s is None or r["case"] == s["case"] or s.get("status") != "ok" or r.get("status") != "ok":
                continue
            r["ratios"][g] = {"time": s["seconds"] / r["seconds"], "peak": s["peak_mb"] / r["peak_mb"]}


# ---------------------------------------------------------------------------------------------------
# targets
# ---------------------------------------------------------------------------------------------------


def ratio_targets(n: int, results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_id = {r["case"]: r for r in results}
    out = []
    for t in RATIO_TARGETS:
        row: dict[str, Any] = {"id": t.id, "target": f"{t.text} (issue {t.issue})", "n": n, "threshold": t.max_ratio}
        s, ref = by_id.get(t.subject), by_id.get(t.reference)
        if s is None and ref is None:
            continue  # neither case ran at this size (``once`` cases, --cases)
        missing = [x for x, r in ((t.subject, s), (t.reference, ref)) if not r or r.get("status") != "ok"]
        if missing:
            why = "; ".join(
                (by_id.get(m) or {}).get("skip_reason") or (by_id.get(m) or {}).get("error") or f"{m} not run"
                for m in missing
            )
            row.update(status="N/A", measured=None, detail=why)
            out.append(row)
            continue
        assert s is not None and ref is not None
        a, b = s[t.metric], ref[t.metric]
        ratio = a / b
        unit = "s CPU" if t.metric == "cpu_seconds" else "s"
        detail = f"cuepipe {a:.3f}{unit} vs {t.reference} {b:.3f}{unit}"
        if t.metric == "cpu_seconds" and s.get("records") and ref.get("records"):
            detail += f" ({a / s['records'] * 1e6:.0f} vs {b / ref['records'] * 1e6:.0f} µs per cue point)"
        if t.max_ratio is None:
            measured = f"{ratio:.2f}x the reference's time"
            row.update(status="info", measured=measured, ratio=ratio, want="(no target: make it small)", detail=detail)
            out.append(row)
            continue
        ok = ratio <= t.max_ratio
        if t.faster:
            measured = f"{1 / ratio:.2f}x faster" if ratio < 1 else f"{ratio:.2f}x slower"
            want = f">= {1 / t.max_ratio:.0f}x faster"
        else:
            measured = f"{ratio:.2f}x the reference's time"
            want = f"<= {t.max_ratio:g}x"
        if not ok:
            miss = ratio / t.max_ratio
            detail += f"; missed by {miss:.2f}x (cuepipe must get {miss:.2f}x faster)"
        status = ("PASS" if ok else "MISS") if n in TARGET_SIZES else "info"
        if status == "info":
            detail += f" (information: targets apply at {' and '.join(f'{x:,}' for x in TARGET_SIZES)})"
        row.update(status=status, measured=measured, ratio=ratio, want=want, detail=detail)
        out.append(row)
    return out


def not_measured_targets() -> list[dict[str, Any]]:
    """Issue 13's targets this benchmark does not measure (other work streams): said, not invented."""
    return [
        {
            "id": tid,
            "target": f"{text} (issue 13, {which})",
            "n": 100_000,
            "threshold": None,
            "status": "N/A",
            "measured": "not measured yet",
            "detail": "not measured yet: no case in this benchmark measures it (see analysis.md)" + extra,
        }
        for tid, text, which, extra in NOT_MEASURED
    ]


PULL_MEMORY_SIZES = (100_000, 1_000_000)


def pull_memory_target(args: argparse.Namespace) -> dict[str, Any]:
    """Issue 13 target 5: ``iter_pull`` of 1M cue points keeps the memory of 100k (``python -m
    benchmarks.pull_memory``: the pull operation against an in-process stand-in of the search index,
    tracemalloc peak), with ``--full`` only (about a minute)."""
    small, large = PULL_MEMORY_SIZES
    row: dict[str, Any] = {
        "id": "iter_pull_flat",
        "target": "pull of 1M with iter_pull: memory flat (issue 13, target 5)",
        "n": large,
        "threshold": FLAT_GROWTH,
        "want": f"<= {FLAT_GROWTH:.2f}x or +{FLAT_SLACK_MB:.0f} MB",
        "status": "N/A",
        "measured": None,
    }
    if not args.full:
        row["detail"] = (
            "not measured: needs N=1,000,000 (make bench FULL=1 / --full); "
            "python -m benchmarks.pull_memory measures smaller sizes (results/pull_memory.md)"
        )
        return row
    out_json = args.out / "pull_memory.json"
    cmd = [sys.executable, "-m", "benchmarks.pull_memory", "--sizes", f"{small},{large}", "--json", str(out_json)]
    print(f"  [pull_memory] {' '.join(cmd[1:])}", flush=True)
    try:
        out_json.unlink(missing_ok=True)
        subprocess.run(cmd, cwd=ROOT, timeout=1200, check=False, stdout=subprocess.DEVNULL)
        rows = {r["size"]: r for r in json.loads(out_json.read_text(encoding="utf-8"))["rows"]}
        a, b = rows[small], rows[large]
    except (OSError, ValueError, KeyError, subprocess.TimeoutExpired) as exc:
        row["detail"] = f"not measured: {exc!r}"
        return row
    if b["pulled"] != large:
        row.update(status="MISS", measured="incomplete", detail=f"pulled {b['pulled']:,} of {large:,}")
        return row
    growth = b["peak_mb"] / a["peak_mb"] if a["peak_mb"] else float("inf")
    ok = growth <= FLAT_GROWTH or b["peak_mb"] - a["peak_mb"] <= FLAT_SLACK_MB
    row.update(
        status="PASS" if ok else "MISS",
        measured=f"{growth:.2f}x",
        detail=(
            f"tracemalloc peak {b['peak_mb']:.1f} MB at {large:,} vs {a['peak_mb']:.1f} MB at {small:,} "
            f"({b['requests']:,} requests; a set of every id would take {b['id_set_mb']:.0f} MB)"
        ),
    )
    return row


#: Target 4 (emulator throughput, end to end): benchmarks/api.py, run once in its own subprocess.
API_GROUP = "api"
API_SIZES = {"default": (20_000, 100_000), "full": (100_000, 100_000)}  # (raw driver N, end-to-end N)


def api_targets(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Issue 13 target 4: ``python -m benchmarks.api`` (it starts the emulator as its own process);
    writes ``throughput.md``/``throughput.json`` next to the other results and returns its PASS/MISS rows."""
    from .api import ApiResult, targets

    raw_n, e2e_n = API_SIZES["full" if args.full else "default"]
    if args.cases and API_GROUP not in {c.strip() for c in args.cases.split(",")}:
        skipped = f"not run: --cases without {API_GROUP!r}"
        return targets(ApiResult(raw_n=raw_n, e2e_n=e2e_n, concurrency=(), db="-", errors=[skipped]))
    out_json = args.out / "throughput.json"
    cmd = [sys.executable, "-m", "benchmarks.api", "--raw-n", str(raw_n), "--e2e-n", str(e2e_n)]
    cmd += ["--json", str(out_json), "--out", str(args.out / "throughput.md")]
    print(f"  [api] {' '.join(cmd[1:])}", flush=True)
    try:
        subprocess.run(cmd, cwd=ROOT, timeout=1200, check=False, stdout=subprocess.DEVNULL)
        data = json.loads(out_json.read_text(encoding="utf-8"))
    except (OSError, ValueError, subprocess.TimeoutExpired) as exc:
        data = {"raw_n": raw_n, "e2e_n": e2e_n, "concurrency": [], "db": "-", "errors": [repr(exc)]}
    data["concurrency"] = tuple(data.get("concurrency") or ())
    return targets(ApiResult(**data))


def memory_targets(by_n: dict[int, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Chunked read of 1M under 200 MB; memory flat from 100k to 1M (streaming operations)."""
    full_note = "not measured: needs N=1,000,000 (make bench FULL=1 / --full)"

    def get(n: int, case: str) -> dict[str, Any] | None:
        r = next((r for r in by_n.get(n, []) if r["case"] == case), None)
        return r if r and r.get("status") == "ok" else None

    out = []
    row: dict[str, Any] = {
        "id": "chunked_peak_1m",
        "target": f"chunked read of 1M under {PEAK_LIMIT_MB:.0f} MB peak RSS",
        "n": 1_000_000,
        "threshold": PEAK_LIMIT_MB,
        "want": f"< {PEAK_LIMIT_MB:.0f} MB",
    }
    r = get(1_000_000, "chunked.cuepipe")
    if r is None:
        row.update(status="N/A", measured=None, detail=full_note)
    else:
        ok = r["peak_mb"] < PEAK_LIMIT_MB
        detail = (
            f"peak {r['peak_mb']:.0f} MB (RSS before reading {r['base_mb']:.0f} MB: interpreter + pandas + cuepipe)"
        )
        if not ok:
            detail += f"; {r['peak_mb'] - PEAK_LIMIT_MB:.0f} MB ({r['peak_mb'] / PEAK_LIMIT_MB - 1:.0%}) over"
        row.update(status="PASS" if ok else "MISS", measured=f"{r['peak_mb']:.0f} MB", detail=detail)
    out.append(row)
    flat = (
        ("chunked.cuepipe", "peak_mb", "peak RSS"),
        ("validate.cuepipe", "peak_mb", "peak RSS"),
        ("write.cuepipe", "delta_mb", "peak RSS above the loaded DataFrame"),
    )
    for case, key, what in flat:
        row = {
            "id": f"flat_{case.split('.')[0]}",
            "target": f"memory flat 100k -> 1M: {case} {what}",
            "n": 1_000_000,
            "threshold": FLAT_GROWTH,
            "want": f"<= {FLAT_GROWTH:.2f}x or +{FLAT_SLACK_MB:.0f} MB",
        }
        a, b = get(100_000, case), get(1_000_000, case)
        if a is None or b is None:
            row.update(
                status="N/A",
                measured=None,
                detail=full_note if b is None else "not measured: needs N=100,000 in the same run",
            )
        else:
            x, y = a[key], b[key]
            ok = y <= x * FLAT_GROWTH or y - x <= FLAT_SLACK_MB
            detail = f"{x:.0f} MB at 100k -> {y:.0f} MB at 1M ({y / x:.2f}x)"
            if not ok:
                detail += f"; {y - max(x * FLAT_GROWTH, x + FLAT_SLACK_MB):.0f} MB over the allowance"
            row.update(status="PASS" if ok else "MISS", measured=f"{y / x:.2f}x", detail=detail)
        out.append(row)
    return out


# ---------------------------------------------------------------------------------------------------
# output
# ---------------------------------------------------------------------------------------------------

HEADERS = (
    "group",
    "case",
    "role",
    "best s",
    "median s",
    "runs",
    "peak MB",
    "Δ MB",
    "cuepipe/this s",
    "cuepipe/this MB",
    "notes",
)
TARGET_HEADERS = ("result", "N", "target", "measured", "wanted", "detail")


def table_rows(results: list[dict[str, Any]]) -> list[list[str]]:
    by_id = {r["case"]: r for r in results}
    rows = []
    for g in C.GROUPS:
        for case in C.CASES:
            if g not in case.groups or case.id not in by_id:
                continue
            r = by_id[case.id]
            shared = g != case.groups[0]
            if r.get("status") != "ok":
                why = r.get("skip_reason") or r.get("error") or ""
                rows.append([g, case.label, case.role, "-", "-", "0", "-", "-", "-", "-", why])
                continue
            ratio = r["ratios"].get(g)
            note = "(same run as the read group)" if shared else r.get("note", "")
            if r.get("output_identical_to_ingest_file") is not None:
                same = r["output_identical_to_ingest_file"]
                note = (note + "; " if note else "") + (
                    "output == generated ingest file" if same else "OUTPUT DIFFERS from the generated ingest file"
                )
            rows.append(
                [
                    g,
                    case.label,
                    case.role,
                    f"{r['seconds']:.3f}",
                    f"{r['seconds_median']:.3f}",
                    str(len(r["runs"])),
                    f"{r['peak_mb']:.0f}",
                    f"{r['delta_mb']:.0f}" if r.get("delta_mb") is not None else "-",
                    f"{ratio['time']:.2f}" if ratio else "—",
                    f"{ratio['peak']:.2f}" if ratio else "—",
                    note,
                ]
            )
    return rows


def target_rows(targets: list[dict[str, Any]]) -> list[list[str]]:
    return [
        [t["status"], f"{t['n']:,}", t["target"], t.get("measured") or "-", t.get("want") or "-", t["detail"]]
        for t in targets
    ]


def print_table(title: str, headers: tuple[str, ...] | list[str], rows: list[list[str]]) -> None:
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        print(f"\n{title}")
        widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=False)]
        for row in [list(headers), *rows]:
            print("  ".join(str(x).ljust(w) for x, w in zip(row, widths, strict=False)))
        return
    table = Table(title=title, show_lines=False)
    for h in headers:
        table.add_column(h, overflow="fold")
    for row in rows:
        style = {"PASS": "green", "MISS": "red"}.get(row[0])
        table.add_row(*row, style=style)
    Console(width=max(160, shutil.get_terminal_size().columns)).print(table)


def _md_table(headers: tuple[str, ...] | list[str], rows: list[list[str]]) -> str:
    def cell(x: str) -> str:
        return str(x).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(x) for x in row) + " |" for row in rows]
    return "\n".join(lines)


NOTES = (
    "Each case runs in a fresh subprocess; setup (imports, loading the DataFrame, compiling schemas, "
    "pre-formatting the floor's strings) is outside the timed region. 'best s' is the fastest of the runs "
    "(up to --repeat, fewer for slow cases), 'peak MB' the process's peak RSS during the timed region "
    "(VmHWM reset after setup), 'Δ MB' the peak minus the RSS after setup. 'cuepipe/this' < 1 means "
    "cuepipe is faster / smaller. Inputs are in the page cache (read once before the cases).",
    "Inputs: read and chunked read use the serve XML; write uses the ingest records as a DataFrame "
    "(records_to_frame) and writes ingest XML; validate uses the ingest XML against the ingest XSD. "
    "The write floor writes exactly the elements cuepipe writes (parsed from the ingest file beforehand).",
    C.PANDAS_READ_LOSSES,
    C.PANDAS_WRITE_NOTE,
    C.XMLSCHEMA_LAZY_NOTE,
    "The lxml floors and xmlschema cases do not import pandas/cuepipe, so their RSS baseline is lower; "
    "compare 'Δ MB' for the memory the operation itself needs. The write floor's peak includes its input "
    "(every element pre-built as Python tuples of strings), so only its Δ MB is comparable.",
)


def write_markdown(path: Path, run: dict[str, Any]) -> None:
    m = run["machine"]
    lines = [
        "# cuepipe benchmarks — latest run",
        "",
        f"- Date: {run['date']}",
        f"- Command: `{run['command']}`",
        f"- Total time: {run['total_seconds']:.0f}s",
        f"- Machine: {m['cpu']}, {m['logical_cores']} logical cores"
        + (f" ({m['physical_cores']} physical)" if m.get("physical_cores") else "")
        + (f", {m['ram_gb']} GB RAM" if m.get("ram_gb") else ""),
        f"- OS: {m['os']}; load average at start {m['loadavg_start']}, at end {m.get('loadavg_end')}",
        f"- Python {m['python']}; lxml {m['lxml']} (libxml2 {m['libxml2']}, compiled against "
        f"{m['libxml2_compiled']}); pandas {m['pandas']}; numpy {m['numpy']}; xmlschema {m['xmlschema']}; "
        f"cuepipe {m['cuepipe']} (git {m['git_commit']}, source sha256 {m['cuepipe_source_sha']}"
        + (
            ""
            if m.get("cuepipe_source_sha_end") in (None, m["cuepipe_source_sha"])
            else f" -> {m['cuepipe_source_sha_end']}: **source changed during the run**"
        )
        + ")",
        "",
        "## Targets",
        "",
        _md_table(TARGET_HEADERS, target_rows(run["targets"])),
    ]
    for size in run["sizes"]:
        inp = size["inputs"]
        lines += [
            "",
            f"## N = {size['n']:,}",
            "",
            f"Inputs (seed {size['seed']}): serve XML {inp['serve_xml_mb']:.1f} MB, ingest XML "
            f"{inp['ingest_xml_mb']:.1f} MB; generated in {size['generate_seconds']:.1f}s"
            + (" (cached)" if size["generate_cached"] else ""),
            "",
            _md_table(HEADERS, table_rows(size["results"])),
        ]
    lines += ["", "## Notes", ""] + [f"- {n}" for n in NOTES]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


# ---------------------------------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.splitlines()[0])
    p.add_argument("--full", action="store_true", help="also N=1,000,000")
    p.add_argument("--sizes", help="comma-separated sizes (overrides --full), e.g. 10000,100000")
    p.add_argument("--repeat", type=int, default=3, help="runs per case, best reported (default 3)")
    p.add_argument(
        "--repeat-budget",
        type=float,
        default=None,
        help="stop repeating a case once its runs add up to this many seconds (default 10; with "
        "--full 30, so that the 1M cases get more than one run on a noisy machine)",
    )
    p.add_argument(
        "--case-budget",
        type=float,
        default=None,
        help="skip a peer predicted to take longer than this at a size (default 25 s, which keeps "
        "make bench under 5 minutes: xmlschema's read is then measured at 10k only; with --full 300 s, "
        "so that the 1M targets against pandas are measured)",
    )
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="results directory (default benchmarks/results; with --full benchmarks/results/full)",
    )
    p.add_argument("--data", type=Path, default=DATA_DIR, help="generated inputs (default benchmarks/data)")
    p.add_argument("--cases", help="comma-separated case ids or groups to run (default: all)")
    args = p.parse_args(argv)
    if args.sizes:
        args.size_list = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    else:
        args.size_list = list(FULL_SIZES if args.full else DEFAULT_SIZES)
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    if args.repeat_budget is None:
        args.repeat_budget = 30.0 if args.full else 10.0
    if args.case_budget is None:
        args.case_budget = 300.0 if args.full else 25.0
    if args.out is None:
        args.out = RESULTS_DIR / "full" if args.full else RESULTS_DIR
    return args


def select_cases(spec: str | None) -> list[C.Case]:
    if not spec:
        return list(C.CASES)
    wanted = {s.strip() for s in spec.split(",") if s.strip()} - {API_GROUP}  # api: see api_targets
    unknown = wanted - set(C.BY_ID) - set(C.GROUPS)
    if unknown:
        raise SystemExit(f"unknown cases {sorted(unknown)}; known: {', '.join(C.BY_ID)} or groups {C.GROUPS}")
    return [c for c in C.CASES if c.id in wanted or wanted & set(c.groups)]


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    from cuepipe.xml.schemas import schema_path

    started = time.perf_counter()
    machine = machine_info()
    chosen = select_cases(args.cases)
    args.out.mkdir(parents=True, exist_ok=True)
    args.data.mkdir(parents=True, exist_ok=True)
    measured: dict[tuple[str, int], float] = {}
    sizes: list[dict[str, Any]] = []
    all_targets: list[dict[str, Any]] = []
    by_n: dict[int, list[dict[str, Any]]] = {}
    print(
        f"cuepipe benchmarks: sizes {', '.join(f'{n:,}' for n in args.size_list)}; repeat {args.repeat}; "
        f"{machine['cpu']}, {machine['logical_cores']} cores, Python {machine['python']}",
        flush=True,
    )
    # cases measured per cue point at one size only: the smallest target size run, else the largest
    once_at = min((n for n in args.size_list if n in TARGET_SIZES), default=max(args.size_list))
    for n in sorted(args.size_list):
        t0 = time.perf_counter()
        cached = all(p.is_file() for p in _paths(n, args))
        data = ensure_data(n, args.seed, args.data, verbose=True)
        gen_s = time.perf_counter() - t0
        files = data.as_dict() | {
            "ingest_xsd": str(schema_path("ingest")),
            "serve_xsd": str(schema_path("serve")),
            "seed": args.seed,
            "data_dir": str(args.data),
            "n": n,
        }
        _warm([data.serve_xml, data.ingest_xml, data.frame])
        workdir = Path(tempfile.mkdtemp(prefix="run-", dir=args.data))
        results = []
        try:
            for r in run_cases([c for c in chosen if not c.once or n == once_at], n, files, workdir, args, measured):
                results.append(r)
                if r.get("status") == "ok":
                    print(
                        f"  [{n:>9,}] {r['case']:22s} {r['seconds']:8.3f}s  peak {r['peak_mb']:7.0f} MB  "
                        f"({len(r['runs'])} run{'s' if len(r['runs']) > 1 else ''})",
                        flush=True,
                    )
                else:
                    why = r.get("skip_reason") or r.get("error")
                    print(f"  [{n:>9,}] {r['case']:22s} {r.get('status')}: {why}", flush=True)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        add_ratios(results)
        targets = ratio_targets(n, results)
        size = {
            "n": n,
            "seed": args.seed,
            "generate_seconds": gen_s,
            "generate_cached": cached,
            "inputs": {
                "serve_xml_mb": data.serve_xml.stat().st_size / 1e6,
                "ingest_xml_mb": data.ingest_xml.stat().st_size / 1e6,
            },
            "results": results,
            "targets": targets,
        }
        sizes.append(size)
        by_n[n] = results
        all_targets += targets
        print_table(f"N = {n:,}", HEADERS, table_rows(results))
        (args.out / f"results-{n}.json").write_text(
            json.dumps({"machine": machine, "date": _now()} | size, indent=2) + "\n", encoding="utf-8"
        )
    all_targets += memory_targets(by_n) + [pull_memory_target(args)] + api_targets(args) + not_measured_targets()
    machine["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    machine["cuepipe_source_sha_end"] = source_fingerprint()
    if machine["cuepipe_source_sha_end"] != machine["cuepipe_source_sha"]:
        print("WARNING: cuepipe's source changed during the run; the results mix code versions", flush=True)
    run = {
        "date": _now(),
        "command": "python -m benchmarks.run " + " ".join(sys.argv[1:] if argv is None else argv),
        "total_seconds": time.perf_counter() - started,
        "machine": machine,
        "targets": all_targets,
        "sizes": sizes,
        "notes": list(NOTES),
    }
    print_table("Targets", TARGET_HEADERS, target_rows(all_targets))
    print("\nNotes:\n" + "\n".join(f"- {x}" for x in NOTES[2:]))
    (args.out / "latest.json").write_text(json.dumps(run, indent=2) + "\n", encoding="utf-8")
    write_markdown(args.out / "latest.md", run)
    print(f"\nwrote {args.out}/latest.md, latest.json and results-<N>.json in {run['total_seconds']:.0f}s")
    return run


def _paths(n: int, args: argparse.Namespace) -> list[Path]:
    from .generate import data_files

    d = data_files(n, args.seed, args.data)
    return [d.ingest_xml, d.serve_xml, d.frame]


def _now() -> str:
    return dt.datetime.now(dt.UTC).astimezone().isoformat(timespec="seconds")


if __name__ == "__main__":
    main()

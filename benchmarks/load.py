"""Load: many concurrent pushes and pulls with one ``AsyncClient`` against one emulator, on loopback.

    python -m benchmarks.load [--tasks 20] [--per-task 300] [--chunk-size 100] [--out benchmarks/results/load.md]

Starts an :class:`~cuepipe.emulator.EmulatorServer` (in-memory SQLite, 127.0.0.1, a free port),
then, with one :class:`~cuepipe.client.AsyncClient`:

1. ``tasks`` concurrent ``push`` calls, one entry each, ``per_task`` cue points each (all with a
   systemName, so every push also does its ``list`` lookups), each with its own journal file;
2. ``tasks`` concurrent exact pulls (``precision="ms"``: ``list`` paging) and ``tasks`` concurrent
   served pulls (``serveBulk``, tenths of a second), one entry each.

Then it checks that every cue point is present exactly once (on the emulator's database and in
both pulls) and that the emulator still answers, and reports cue points per second. Bounded: the
work is fixed, nothing leaves the machine. The emulator runs in this process (its own thread), so
client and server share the GIL: the numbers are a floor for the client, not a server benchmark.
``tests/test_reliability_load.py`` runs the same function at the same size and checks the result.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

from cuepipe import vocabulary as voc
from cuepipe.client import AsyncClient
from cuepipe.emulator import EmulatorServer

PARTNER, ADMIN = 7070, "load-admin-secret-0b5e"


@dataclass
class LoadResult:
    tasks: int
    per_task: int
    chunk_size: int
    pushed: int
    push_seconds: float
    pulled_ms: int
    pulled_tenths: int
    pull_seconds: float
    duplicates: int
    missing: int
    still_answering: bool
    errors: list[str]

    @property
    def push_rate(self) -> float:
        return self.pushed / self.push_seconds if self.push_seconds else 0.0

    @property
    def pull_rate(self) -> float:
        return (self.pulled_ms + self.pulled_tenths) / self.pull_seconds if self.pull_seconds else 0.0

    @property
    def ok(self) -> bool:
        return not self.errors and not self.duplicates and not self.missing and self.still_answering


def records(entry: str, n: int) -> list[dict[str, Any]]:
    """Annotations and code cue points with systemNames (servable, so both pull kinds see them all)."""
    out: list[dict[str, Any]] = []
    for i in range(n):
        common = {"entryId": entry, "systemName": f"load-{entry}-{i:05d}", "startTime": i * 1000}
        if i % 2:
            out.append({"cuePointType": "codeCuePoint.Code", "code": f"c{i}", **common})
        else:
            out.append({"cuePointType": "annotation.Annotation", "endTime": i * 1000 + 400, "text": f"t{i}", **common})
    return out


async def _load(url: str, entries: list[str], per_task: int, chunk_size: int, journal_dir: str) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=len(entries), max_keepalive_connections=len(entries))
    errors: list[str] = []
    async with AsyncClient(url, partner_id=PARTNER, admin_secret=ADMIN, limits=limits, timeout=120) as api:

        async def push(entry: str) -> int:
            result = await api.push(
                records(entry, per_task), chunk_size=chunk_size, journal=os.path.join(journal_dir, f"{entry}.sqlite")
            )
            return int(result["action"].eq("created").sum())

        started = time.perf_counter()
        pushed = await asyncio.gather(*(push(e) for e in entries), return_exceptions=True)
        push_seconds = time.perf_counter() - started
        errors += [f"push: {r!r}" for r in pushed if isinstance(r, BaseException)]

        started = time.perf_counter()
        exact = [api.pull({"entryIdEqual": e}, precision="ms", page_size=100) for e in entries]
        served = [api.pull({"entryIdEqual": e}, precision="tenths", page_size=100) for e in entries]
        frames = await asyncio.gather(*exact, *served, return_exceptions=True)
        pull_seconds = time.perf_counter() - started
        errors += [f"pull: {f!r}" for f in frames if isinstance(f, BaseException)]
        ok_frames = [f for f in frames if not isinstance(f, BaseException)]
        missing = 0
        for entry, frame in zip(entries * 2, frames, strict=True):
            if isinstance(frame, BaseException):
                continue
            want = {f"load-{entry}-{i:05d}" for i in range(per_task)}
            got = list(frame["systemName"])
            missing += len(want - set(got)) + (len(got) - len(set(got)))
        still_answering = await api.count({"entryIdEqual": entries[0]}) == per_task
    return {
        "pushed": sum(r for r in pushed if isinstance(r, int)),
        "push_seconds": push_seconds,
        "pulled_ms": sum(len(f) for f in ok_frames[: len(entries)]),
        "pulled_tenths": sum(len(f) for f in ok_frames[len(entries) :]),
        "pull_seconds": pull_seconds,
        "missing": missing,
        "still_answering": still_answering,
        "errors": errors,
    }


def run_load(tasks: int = 20, per_task: int = 300, chunk_size: int = 100) -> LoadResult:
    """Run the load once (see the module docstring); the emulator is stopped afterwards."""
    entries = [f"0_load{i:03d}" for i in range(tasks)]
    with (
        tempfile.TemporaryDirectory() as journals,
        EmulatorServer(partner_id=PARTNER, admin_secret=ADMIN, entries=entries) as srv,
    ):
        numbers = asyncio.run(_load(srv.url, entries, per_task, chunk_size, journals))
        store = srv.app.state.emulator.store
        dup_rows = store.query(
            "SELECT COUNT(*) AS n FROM (SELECT 1 FROM cue_points WHERE status != ? "
            'GROUP BY "entryId", "systemName" HAVING COUNT(*) > 1)',
            [int(voc.CuePointStatus.DELETED)],
        )
        total = store.query("SELECT COUNT(*) AS n FROM cue_points")[0]["n"]
        with httpx.Client() as http:  # a plain request after the storm: the server is still there
            answer = http.post(
                srv.url + "/api_v3/service/session/action/start",
                data={"secret": ADMIN, "partnerId": PARTNER, "type": 2, "format": 1},
            )
        numbers["still_answering"] = numbers["still_answering"] and answer.status_code == 200
        numbers["missing"] += tasks * per_task - total
    return LoadResult(tasks=tasks, per_task=per_task, chunk_size=chunk_size, duplicates=dup_rows[0]["n"], **numbers)


def report(result: LoadResult) -> str:
    """The results note (Markdown)."""
    cpus = os.cpu_count()
    pulled = f"{result.pulled_ms} exact (`list`) + {result.pulled_tenths} served (`serveBulk`)"
    return f"""# Load: concurrent AsyncClient pushes and pulls against one emulator

Recorded by `python -m benchmarks.load` on {platform.system()} {platform.machine()}, {cpus} CPUs, Python
{platform.python_version()}; loopback only, emulator (in-memory SQLite) in the same process as the client.

| | |
|---|---|
| concurrent tasks | {result.tasks} (one entry each, one `AsyncClient`, up to {result.tasks} connections) |
| cue points per task | {result.per_task} (uploads of {result.chunk_size}; every push journaled) |
| pushed | {result.pushed} cue points in {result.push_seconds:.2f} s: **{result.push_rate:,.0f} cue points/s** |
| pulled | {pulled} in {result.pull_seconds:.2f} s: **{result.pull_rate:,.0f} cue points/s** |
| duplicates / missing | {result.duplicates} / {result.missing} |
| emulator answering afterwards | {"yes" if result.still_answering else "NO"} |
| errors | {len(result.errors)} |

Client and emulator share one process and its GIL here, so this is a reliability load with a rate
floor, not a server benchmark: the emulator's own throughput, in its own process, is measured by
`python -m benchmarks.api` (`benchmarks/results/throughput.md`, issue 13 target 4). Raw numbers:
`{asdict(result)}`.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--per-task", type=int, default=300)
    parser.add_argument("--chunk-size", type=int, default=100)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "load.md"))
    args = parser.parse_args(argv)
    result = run_load(args.tasks, args.per_task, args.chunk_size)
    text = report(result)
    Path(args.out).write_text(text)
    print(text)
    return 0 if result.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

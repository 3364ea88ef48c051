"""End to end probe: cuepipe ``push``/``pull`` against the emulator in its own process, next to a raw driver.

    python -m benchmarks.e2e_probe [-n 100000] [--entries 20] [--concurrency N] [--which push,pull]
    python -m benchmarks.e2e_probe -n 5000 --entries 2 --interleaved 6 --levels 1,2,4

Issue 13, target 4 ("end to end"): push and pull of ``n`` cue points must reach at least 80% of what
the emulator itself serves, measured in the same run. The emulator runs as ``cuepipe emulator`` in a
subprocess (its own interpreter and GIL), on loopback, with an in-memory database. Then:

* **raw push**: the uploads rendered beforehand (``cuepipe.write_xml``, 500 cue points of one entry
  each, outside the timing), POSTed to ``cuePoint.addFromBulk`` by plain ``httpx`` with
  ``--raw-concurrency`` requests in flight, every answer awaited and checked; what the emulator can
  take, with next to no client work;
* **cuepipe push**: ``Client.push`` of the same records (as a DataFrame) to other entries, with its
  default settings (lookups on, as users run it) unless ``--concurrency`` is given;
* **raw pull**: ``cuePoint.list`` pages of 500 (``pageIndex`` 1, 2, ... per entry, ``+intId``), the
  JSON decoded and nothing else, ``--raw-concurrency`` entries at a time;
* **cuepipe pull**: ``Client.pull({"entryIdIn": ...}, precision="ms")`` of the same entries;
* with ``--also-sequential``, cuepipe again with ``concurrency=1`` (what the client did before it
  pipelined) on a third set of entries, for a before/after in the same run.

Each is reported in cue points per second, with the client's CPU seconds (``time.process_time`` of
this process: the emulator's CPU is not in it) and CPU per cue point, and cuepipe's rate as a ratio of
the raw one. The entries keep each at ``n / entries`` cue points so that the raw driver's offset pages
stay below the server's 10,000 window. The counts are checked in the emulator afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from .api import ADMIN, PARTNER, emulator_process
from .api import records as entry_records

CHUNK = 500


@contextlib.contextmanager
def emulator(entries: list[str]) -> Iterator[str]:
    """``cuepipe emulator`` in a subprocess on a free loopback port (the one :mod:`benchmarks.api`
    starts, in-memory database); yields its URL, stops it after."""
    with emulator_process(entries, "memory") as emu:
        yield emu.url


def records(entries: list[str], per_entry: int) -> list[dict[str, Any]]:
    """Annotations, code and ad cue points with systemNames (as a migration pushes them): the
    benchmark's own data (:func:`benchmarks.api.records`), ``per_entry`` on each entry."""
    return [rec for entry in entries for rec in entry_records(entry, per_entry)]


def _ks() -> str:
    from cuepipe.kaltura import SessionType
    from cuepipe.kaltura.ks import make_ks

    return make_ks(PARTNER, ADMIN, type=SessionType.ADMIN, privileges="disableentitlement")


@dataclass
class Run:
    name: str
    count: int
    seconds: float
    cpu: float

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    def line(self) -> str:
        return (
            f"{self.name:<14} {self.count:>8} cue points in {self.seconds:7.2f} s = {self.rate:8.0f}/s; "
            f"client CPU {self.cpu:6.2f} s ({1e6 * self.cpu / max(self.count, 1):5.1f} µs per cue point)"
        )


def _timed(name: str, count: int, fn: Any) -> tuple[Run, Any]:
    cpu, wall = time.process_time(), time.perf_counter()
    value = fn()
    return Run(name, count, time.perf_counter() - wall, time.process_time() - cpu), value


def raw_push(url: str, uploads: list[bytes], concurrency: int) -> int:
    """POST every pre-rendered upload to addFromBulk, ``concurrency`` at a time; cue points saved."""
    ks = _ks()
    endpoint = url + "/api_v3/service/cuepoint_cuepoint/action/addFromBulk"

    async def main() -> int:
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(limits=limits, timeout=600) as http:
            gate = asyncio.Semaphore(concurrency)

            async def one(i: int, body: bytes) -> int:
                async with gate:
                    r = await http.post(
                        endpoint,
                        data={"ks": ks, "format": "1"},
                        files={"fileData": (f"u{i}.xml", body, "text/xml")},
                    )
                answer = r.json()
                if r.status_code != 200 or not isinstance(answer, dict) or "objects" not in answer:
                    raise RuntimeError(f"upload {i}: HTTP {r.status_code} {r.text[:300]}")
                return len(answer["objects"])

            return sum(await asyncio.gather(*(one(i, b) for i, b in enumerate(uploads))))

    return asyncio.run(main())


def raw_pull(url: str, entries: list[str], concurrency: int) -> int:
    """Every cue point of ``entries`` by ``list`` pages of 500 (pageIndex), ``concurrency`` entries at once."""
    ks = _ks()
    endpoint = url + "/api_v3/service/cuepoint_cuepoint/action/list"

    async def main() -> int:
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(limits=limits, timeout=600) as http:
            gate = asyncio.Semaphore(concurrency)

            async def entry(e: str) -> int:
                got, index = 0, 1
                async with gate:
                    while True:
                        r = await http.post(
                            endpoint,
                            data={
                                "ks": ks,
                                "format": "1",
                                "filter[objectType]": "KalturaCuePointFilter",
                                "filter[entryIdEqual]": e,
                                "filter[orderBy]": "+intId",
                                "pager[pageSize]": str(CHUNK),
                                "pager[pageIndex]": str(index),
                            },
                        )
                        page = r.json()
                        objects = page.get("objects") if isinstance(page, dict) else None
                        if objects is None:
                            raise RuntimeError(f"list {e} page {index}: {r.text[:300]}")
                        got += len(objects)
                        if got >= page["totalCount"] or not objects:
                            return got
                        index += 1

            return sum(await asyncio.gather(*(entry(e) for e in entries)))

    return asyncio.run(main())


def interleaved(rounds: int, per_entry: int, entries: int, levels: list[int], pull: bool) -> None:
    """Same-emulator A/B: per round the raw driver, then cuepipe at each of ``levels`` (order rotated
    every round), each on fresh entries; medians over the rounds. On a shared machine single runs
    drift by tens of percent; interleaving and medians keep the comparison within one moment."""
    import statistics

    import cuepipe
    from cuepipe.client import Client

    names = {k: [[f"0_{k}{r}x{i}" for i in range(entries)] for r in range(rounds)] for k in ["raw", *map(str, levels)]}
    every = [e for rows in names.values() for row in rows for e in row]
    push: dict[str, list[float]] = {k: [] for k in names}
    pulls: dict[str, list[float]] = {k: [] for k in names}
    with emulator(every) as url:
        clients = {
            str(c): Client(url, partner_id=PARTNER, admin_secret=ADMIN, timeout=600, concurrency=c) for c in levels
        }
        try:
            for api in clients.values():
                api.count({"entryIdEqual": every[0]})
            for r in range(rounds):
                recs = records(names["raw"][r], per_entry)
                ups = [cuepipe.write_xml(recs[i : i + CHUNK]) for i in range(0, len(recs), CHUNK)]
                started = time.perf_counter()
                raw_push(url, ups, max(levels))
                push["raw"].append(time.perf_counter() - started)
                order = list(clients)
                order = order[r % len(order) :] + order[: r % len(order)]
                for key in order:
                    frame = cuepipe.frames.records_to_frame(records(names[key][r], per_entry))
                    started = time.perf_counter()
                    clients[key].push(frame)
                    push[key].append(time.perf_counter() - started)
                if pull:
                    started = time.perf_counter()
                    raw_pull(url, names["raw"][r], max(levels))
                    pulls["raw"].append(time.perf_counter() - started)
                    for key in order:
                        started = time.perf_counter()
                        clients[key].pull({"entryIdIn": names[key][r]}, precision="ms")
                        pulls[key].append(time.perf_counter() - started)
        finally:
            for api in clients.values():
                api.close()
    n = per_entry * entries
    for what, runs in (("push", push), ("pull", pulls)):
        if not runs["raw"]:
            continue
        raw = statistics.median(runs["raw"])
        print(f"{what}: raw driver median {raw:.2f} s ({n / raw:.0f}/s) over {rounds} rounds of {n}")
        for key in clients:
            mid = statistics.median(runs[key])
            print(f"  concurrency={key}: median {mid:.2f} s ({n / mid:.0f}/s), ratio to raw {raw / mid:.2f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=100_000, help="cue points per side (raw and cuepipe)")
    parser.add_argument("--entries", type=int, default=20, help="entries per side")
    parser.add_argument("--raw-concurrency", type=int, default=4, help="requests the raw driver keeps in flight")
    parser.add_argument("--concurrency", default=None, help="cuepipe's concurrency= (default: its automatic choice)")
    parser.add_argument("--which", default="push,pull", help="push, pull or both")
    parser.add_argument(
        "--also-sequential",
        action="store_true",
        help="also run cuepipe with concurrency=1 (the client before pipelining) on a third set of entries",
    )
    parser.add_argument("--profile", default=None, help="write a pyinstrument profile of cuepipe's runs here")
    parser.add_argument(
        "--interleaved",
        type=int,
        default=0,
        metavar="ROUNDS",
        help="instead: ROUNDS interleaved rounds (raw, then cuepipe at each --levels), medians",
    )
    parser.add_argument("--levels", default="1,2,4", help="concurrency levels for --interleaved")
    args = parser.parse_args(argv)
    if args.interleaved:
        levels = [int(v) for v in args.levels.split(",")]
        per = max(1, args.n // args.entries)
        interleaved(args.interleaved, per, args.entries, levels, "pull" in args.which)
        return

    import cuepipe
    from cuepipe.client import Client

    per_entry = max(1, args.n // args.entries)
    raw_entries = [f"0_raw{i:04d}" for i in range(args.entries)]
    cue_entries = [f"0_cue{i:04d}" for i in range(args.entries)]
    seq_entries = [f"0_seq{i:04d}" for i in range(args.entries)] if args.also_sequential else []
    n = per_entry * args.entries
    raw_records = records(raw_entries, per_entry)
    frame = cuepipe.frames.records_to_frame(records(cue_entries, per_entry))
    seq_frame = cuepipe.frames.records_to_frame(records(seq_entries, per_entry)) if seq_entries else None
    uploads = [
        cuepipe.write_xml(raw_records[start : start + CHUNK])
        for start in range(0, len(raw_records), CHUNK)
        if len({r["entryId"] for r in raw_records[start : start + CHUNK]}) == 1
    ]
    if len(uploads) * CHUNK < len(raw_records):
        raise SystemExit(
            f"e2e_probe: each entry needs a multiple of {CHUNK} cue points for the raw driver's uploads "
            f"(got {per_entry} per entry); raise -n or lower --entries"
        )
    kwargs: dict[str, Any] = {}
    if args.concurrency is not None:
        kwargs["concurrency"] = args.concurrency if args.concurrency == "auto" else int(args.concurrency)
    which = set(args.which.split(","))
    profiler = None
    if args.profile:
        from pyinstrument import Profiler

        profiler = Profiler()

    with (
        emulator(raw_entries + cue_entries + seq_entries) as url,
        Client(url, partner_id=PARTNER, admin_secret=ADMIN, timeout=600, **kwargs) as api,
        Client(url, partner_id=PARTNER, admin_secret=ADMIN, timeout=600, concurrency=1) as seq,
    ):
        api.count({"entryIdEqual": cue_entries[0]})  # connect once before timing
        print(f"{n} cue points per side, {args.entries} entries, uploads of {CHUNK}; emulator at {url}")
        runs: dict[str, Run] = {}
        if "push" in which or "pull" in which:
            runs["raw push"], saved = _timed("raw push", n, lambda: raw_push(url, uploads, args.raw_concurrency))
            assert saved == n, (saved, n)
            print(runs["raw push"].line())
            if profiler:
                profiler.start()
            runs["cuepipe push"], result = _timed("cuepipe push", n, lambda: api.push(frame))
            if profiler:
                profiler.stop()
            assert int(result["action"].eq("created").sum()) == n, result["action"].value_counts()
            print(runs["cuepipe push"].line())
            print(f"  push ratio (cuepipe / raw): {runs['cuepipe push'].rate / runs['raw push'].rate:.2f}")
            if seq_frame is not None:
                runs["sequential push"], _ = _timed("sequential push", n, lambda: seq.push(seq_frame))
                print(runs["sequential push"].line())
                print(f"  push ratio (concurrency=1 / raw): {runs['sequential push'].rate / runs['raw push'].rate:.2f}")
        if "pull" in which:
            runs["raw pull"], got = _timed("raw pull", n, lambda: raw_pull(url, raw_entries, args.raw_concurrency))
            assert got == n, (got, n)
            print(runs["raw pull"].line())
            if profiler:
                profiler.start()
            runs["cuepipe pull"], pulled = _timed(
                "cuepipe pull",
                n,
                lambda: api.pull({"entryIdIn": cue_entries}, precision="ms"),
            )
            if profiler:
                profiler.stop()
            assert len(pulled) == n and pulled["systemName"].nunique() * args.entries >= n, len(pulled)
            print(runs["cuepipe pull"].line())
            print(f"  pull ratio (cuepipe / raw): {runs['cuepipe pull'].rate / runs['raw pull'].rate:.2f}")
            if seq_entries:
                runs["sequential pull"], back = _timed(
                    "sequential pull", n, lambda: seq.pull({"entryIdIn": seq_entries}, precision="ms")
                )
                assert len(back) == n, len(back)
                print(runs["sequential pull"].line())
                print(f"  pull ratio (concurrency=1 / raw): {runs['sequential pull'].rate / runs['raw pull'].rate:.2f}")
        total = api.count({"entryIdIn": cue_entries})
        assert total == n, (total, n)
    if profiler is not None:
        with open(args.profile, "w") as f:
            f.write(profiler.output_text(unicode=True, color=False))


if __name__ == "__main__":
    main()

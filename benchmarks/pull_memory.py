"""Peak memory of ``iter_pull`` as the number of cue points grows: it should follow the page, not the total.

    python -m benchmarks.pull_memory [--sizes 10000,100000,500000] [--burst 12000]

Drives the pull operation (``cuepipe.client._pull.pull_op``, the generator both clients run) against
an in-process stand-in for the server that behaves like its search index where it matters here:
results ordered by the requested keys with ties in a shuffled order, offsets of 10,000 and more
refused. The data set is computed on the fly (cue point ``i`` was created at second ``i // 40``,
except a burst of ``--burst`` cue points created in one second), so the stand-in holds no state
either. The consumer drops every frame, as a job writing each page out would.

Reported: the tracemalloc peak while pulling (the pull's own state and one page of objects and
frame), next to what a set of every id pulled would take (what the previous pager kept). Flat means
the peak at the largest size is close to the peak at the smallest. Not a timing benchmark.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import tracemalloc
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cuepipe.client._base import Call, Emit
from cuepipe.client._pull import make_spec, pull_op
from cuepipe.kaltura import Context
from cuepipe.kaltura.responses import ListPage

BASE = 1_600_000_000
PER_SECOND = 40
WINDOW = 10_000


class Refused(Exception):
    pass


class Dataset:
    """Cue point ``i``: created at BASE + i // 40 (a burst of ``burst`` in second 0), startTime i % 997."""

    def __init__(self, size: int, burst: int) -> None:
        self.size, self.burst = size, burst

    def created(self, i: int) -> int:
        return BASE if i < self.burst else BASE + 1 + (i - self.burst) // PER_SECOND

    def first_at(self, second: int) -> int:
        """The first index created at or after ``second`` (creation time grows with the index)."""
        if second <= BASE:
            return 0
        return min(self.size, self.burst + (second - BASE - 1) * PER_SECOND)

    def obj(self, i: int) -> dict[str, Any]:
        return {
            "id": f"0_{i:09d}",
            "intId": i + 1,
            "cuePointType": "codeCuePoint.Code",
            "entryId": "0_bench",
            "startTime": i % 997,
            "createdAt": self.created(i),
            "code": "c",
        }

    def answer(self, params: Mapping[str, str], rng: random.Random) -> ListPage[dict[str, Any]]:
        """One list page. Works on the rows of the requested seconds only, so the stand-in's own
        memory is bounded by a page plus one second's rows, whatever the data set's size."""
        f = {k[7:-1]: v for k, v in params.items() if k.startswith("filter[")}
        lo = int(f.get("createdAtGreaterThanOrEqual", BASE))
        hi = int(f.get("createdAtLessThanOrEqual", BASE + 10**9))
        start, stop = self.first_at(lo), self.first_at(hi + 1)
        size = int(params.get("pager[pageSize]", 30))
        offset = (int(params.get("pager[pageIndex]", 1)) - 1) * size
        if offset >= WINDOW:
            raise Refused("QUERY_EXCEEDED_MAX_MATCHES_ALLOWED")
        order = f.get("orderBy", "")
        if order.startswith("+createdAt") and not any(k.startswith("startTime") for k in f):
            # creation time grows with the index: read up to the end of the second holding the last row
            end = min(stop, start + offset + size)
            if end < stop:
                end = min(stop, self.first_at(self.created(end - 1) + 1))
            rows = list(range(start, end))
            total = stop - start
            groups: dict[int, list[int]] = {}
            for i in rows:
                groups.setdefault(self.created(i), []).append(i)
            rows = []
            for second in sorted(groups):
                tied = groups[second]
                rng.shuffle(tied)  # ties in no stable order
                rows += tied
        else:  # inside one second (startTime keyset, type, +intId pages): at most one second's rows
            rows = [i for i in range(start, stop) if self._matches(i, f)]
            total = len(rows)
            rng.shuffle(rows)
            rows.sort(key=(lambda i: i) if order == "+intId" else (lambda i: i % 997))
        page = rows[offset : min(offset + size, WINDOW)]
        return ListPage([self.obj(i) for i in page], total)

    @staticmethod
    def _matches(i: int, f: Mapping[str, str]) -> bool:
        start = i % 997
        if "startTimeGreaterThanOrEqual" in f and start < int(f["startTimeGreaterThanOrEqual"]):
            return False
        if "startTimeLessThanOrEqual" in f and start > int(f["startTimeLessThanOrEqual"]):
            return False
        return f.get("cuePointTypeEqual", "codeCuePoint.Code") == "codeCuePoint.Code"


def run(size: int, burst: int) -> tuple[int, float, float, int]:
    """(cue points pulled, peak MB while pulling, MB of a set of every id, requests)."""
    data = Dataset(size, burst)
    rng = random.Random(size)
    ctx = Context(partner_id=1, ks="benchmark")
    spec = make_spec(
        {"entryIdEqual": "0_bench"},
        service="cuepoint_cuepoint",
        precision="ms",
        page_size=500,
        unservable="error",
        extra_columns=False,
    )
    pulled = requests = 0
    tracemalloc.start()
    op = pull_op(spec, None)
    answer: Any = None
    try:
        while True:
            command = op.send(answer)
            answer = None
            if isinstance(command, Call):
                requests += 1
                answer = data.answer(command.build(ctx).params, rng)
            elif isinstance(command, Emit):
                pulled += len(command.value)
    except StopIteration:
        pass
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    ids = {f"0_{i:09d}" for i in range(size)}
    tracemalloc.start()
    ids = {f"0_{i:09d}" for i in range(size)}
    id_set = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del ids
    return pulled, peak / 2**20, id_set / 2**20, requests


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="20000,100000,300000")
    parser.add_argument("--burst", type=int, default=12_000, help="cue points created in one second")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here (benchmarks/run.py reads it)")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"{'cue points':>11} {'pulled':>9} {'requests':>9} {'peak MB':>8} {'id set MB':>10} {'seconds':>8}")
    peaks: list[float] = []
    rows: list[dict[str, Any]] = []
    for size in sizes:
        started = time.perf_counter()
        pulled, peak, id_set, requests = run(size, min(args.burst, size))
        elapsed = time.perf_counter() - started
        peaks.append(peak)
        print(f"{size:>11,} {pulled:>9,} {requests:>9,} {peak:>8.1f} {id_set:>10.1f} {elapsed:>8.1f}")
        rows.append({"size": size, "pulled": pulled, "requests": requests, "peak_mb": peak, "id_set_mb": id_set})
        if args.json:
            args.json.write_text(json.dumps({"burst": args.burst, "rows": rows}, indent=2) + "\n", encoding="utf-8")
        if pulled != size:
            print(f"pulled {pulled} of {size}", file=sys.stderr)
            return 1
    growth = peaks[-1] / peaks[0] if peaks[0] else float("inf")
    print(f"peak at {sizes[-1]:,} / peak at {sizes[0]:,}: {growth:.2f} (flat: close to 1)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

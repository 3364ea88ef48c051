"""Issue 13, target 4: the emulator's throughput in its own process, and cuepipe end to end against it.

    python -m benchmarks.api [--raw-n 20000] [--e2e-n 100000] [--concurrency 1,4] [--rounds 2]
                             [--db file|memory] [--json PATH] [--out benchmarks/results/throughput.md]

Starts ``cuepipe emulator`` as a subprocess on loopback (its own process, so it has the GIL to
itself), then measures in the same run:

(a) the emulator's own throughput, with a minimal raw driver (httpx, no cuepipe code on the request
    path): pre-rendered ingest uploads of 500 scenes, each for a fresh entry, sent to
    ``cuePoint.addFromBulk`` (scenes/s); then ``cuePoint.list`` pages and ``serveBulk`` pages of 500
    over those entries (cue points/s); then the pull sequence cuepipe's default pull makes (a
    ``list`` page, then ``serveBulk`` of that page's ids). Each is driven at every level of
    ``--concurrency`` (default one request at a time, then four at once) on its own entries, and the
    best rate of the levels is the emulator's throughput: the emulator's handler threads share one
    GIL and one database lock, so more requests at once is not always faster, and the client must
    be compared with the best any driver gets, not with a level that happens to suit it. ``list``
    and ``serveBulk`` take ``--rounds`` timed rounds over the same pages at each level (default 2:
    the second after the pull sequence, so one passing disturbance on this shared machine spoils
    one round, not the result), and the best round counts; each round is ``raw_n`` cue points, as
    one round was before. addFromBulk and the pull sequence are measured once: they are the
    denominators of the end-to-end ratios, which are measured once too.
(b) cuepipe end to end with default settings: ``Client.push`` of ``e2e_n`` cue points (500 per
    entry) and ``Client.pull`` of them back (default precision, one ``entryIdIn`` filter), reported
    as rates and as ratios to the raw driver at its best level, measured around each: the push
    against addFromBulk in (a)'s window and as many fresh uploads right after the push; the pull
    against the pull sequence over the same entries the client reads, half right before
    ``Client.pull`` and half right after. The speed of this shared machine drifts by a third within
    a minute (the emulator's CPU per scene measured 80-160 µs in windows a few seconds apart), so a
    reference taken in one short window before the client's run, on other entries, measured that
    drift as much as the client.

Rates are wall-clock over the timed region after a warm-up (the first uploads/pages are not
counted), so they are steady-state rates. The emulator process's CPU seconds (``/proc``) are
recorded too: on a loaded machine, cue points per emulator CPU-second says what it would sustain
with a core to itself. The data are annotations, code and ad cue points with text, tags and
systemNames (so addFromBulk looks every name up, as it does for a push) — all servable.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

PARTNER, ADMIN = 7171, "api-bench-admin-7c1d"
PER_UPLOAD = 500  # cuepipe's default chunk_size, and a list/serveBulk page
ROUNDS = 2  # timed rounds of list and serveBulk at each level; the best counts
TARGET_ADD = 5_000.0  # scenes/s
TARGET_LIST = 20_000.0  # cue points/s
TARGET_E2E = 0.80  # end to end / raw, same run
RESULTS = Path(__file__).resolve().parent / "results"
_API = "/api_v3/service/{service}/action/{action}"


# ---------------------------------------------------------------------------- the emulator process


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cpu_seconds(pid: int) -> float | None:
    """utime + stime of ``pid`` (Linux /proc), None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Emulator:
    url: str
    process: subprocess.Popen[bytes]
    log: str  # the emulator's stderr

    def log_tail(self) -> str:
        return Path(self.log).read_text(errors="replace")[-3000:]

    def cpu(self) -> float | None:
        return _cpu_seconds(self.process.pid)


@contextlib.contextmanager
def emulator_process(entries: list[str], db: str) -> Iterator[Emulator]:
    """``cuepipe emulator`` on a free loopback port, with ``entries`` created; stopped on exit."""
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="cuepipe-api-bench-") as tmp:
        db_path = ":memory:" if db == "memory" else os.path.join(tmp, "emulator.db")
        cmd = [
            sys.executable,
            "-m",
            "cuepipe.cli",
            "emulator",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--db",
            db_path,
            "--partner-id",
            str(PARTNER),
            "--entries",
            ",".join(entries),
        ]
        env = dict(os.environ, CUEPIPE_EMULATOR_ADMIN_SECRET=ADMIN)
        log = open(os.path.join(tmp, "emulator.log"), "wb")  # noqa: SIM115 - closed below
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=log)
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None:
                    err = Path(log.name).read_text(errors="replace")
                    raise RuntimeError(f"the emulator exited ({proc.returncode}): {err[-2000:]}")
                try:
                    httpx.get(url + "/api_v3/service/system/action/ping", timeout=2)
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise RuntimeError("the emulator did not start in 60 s") from None
                    time.sleep(0.1)
            yield Emulator(url, proc, log.name)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()


def _session(url: str) -> str:
    r = httpx.post(
        url + _API.format(service="session", action="start"),
        data={"secret": ADMIN, "partnerId": str(PARTNER), "type": "2", "format": "1"},
        timeout=30,
    )
    return str(r.json())


# ---------------------------------------------------------------------------- data


def records(entry: str, n: int, salt: int = 0) -> list[dict[str, Any]]:
    """``n`` cue points of one entry: annotations, code and ad cue points (servable), all named."""
    out: list[dict[str, Any]] = []
    for i in range(n):
        start = i * 1000 + (i * 7919 + salt) % 1000
        common = {"entryId": entry, "systemName": f"{entry}-{i:05d}", "startTime": start, "tags": f"t{i % 7},bench"}
        kind = i % 3
        if kind == 0:
            out.append(
                {
                    "cuePointType": "annotation.Annotation",
                    "endTime": start + 500 + i % 5000,
                    "text": f"note {i} — café «{salt}» & <more>",
                    **common,
                }
            )
        elif kind == 1:
            out.append({"cuePointType": "codeCuePoint.Code", "code": f"c{i}", "description": "d", **common})
        else:
            out.append(
                {
                    "cuePointType": "adCuePoint.Ad",
                    "protocolType": "1",
                    "adType": "1",
                    "sourceUrl": f"https://ads.example.com/vast?i={i}",
                    "title": f"ad {i}",
                    "endTime": start + 15000,
                    **common,
                }
            )
    return out


def render_upload(recs: list[dict[str, Any]]) -> bytes:
    """The ingest document cuepipe would send for these records (rendered before timing)."""
    import cuepipe

    buf = io.BytesIO()
    cuepipe.write_xml(recs, buf, kind="ingest")
    return buf.getvalue()


def render_uploads(entries: list[str]) -> list[bytes]:
    """``render_upload(records(e, PER_UPLOAD))`` of each entry, rendered once and re-addressed.

    The records of two entries differ only in the entry id (``entryId``, and the ``systemName``
    prefix), so the document of each is the first one with its entry id replaced (ids of the same
    length, as this module's entry ids are; checked against a real render of the last entry).
    """
    if not entries:
        return []
    first = render_upload(records(entries[0], PER_UPLOAD))
    out = [first]
    for entry in entries[1:]:
        if len(entry) != len(entries[0]):
            out.append(render_upload(records(entry, PER_UPLOAD)))
        else:
            out.append(first.replace(entries[0].encode(), entry.encode()))
    if len(entries) > 1 and out[-1] != render_upload(records(entries[-1], PER_UPLOAD)):
        raise RuntimeError("re-addressed upload differs from its rendering")
    return out


# ---------------------------------------------------------------------------- (a) raw driver


@dataclass
class Rate:
    what: str
    items: int
    seconds: float
    cpu_seconds: float | None  # the emulator process's CPU over the timed region
    rounds: list[float] = field(default_factory=list)  # rates of every timed round, when best of several
    windows: list[float] = field(default_factory=list)  # rates of the windows, when several are added up

    @property
    def rate(self) -> float:
        return self.items / self.seconds if self.seconds else 0.0

    @property
    def cpu_rate(self) -> float | None:
        return self.items / self.cpu_seconds if self.cpu_seconds else None


async def _gather_limited(n: int, jobs: list[Any]) -> list[Any]:
    sem = asyncio.Semaphore(n)

    async def one(job: Any) -> Any:
        async with sem:
            return await job()

    return await asyncio.gather(*(one(j) for j in jobs))


def _timed(emu: Emulator, what: str, items: int, run: Any) -> Rate:
    cpu0, t0 = emu.cpu(), time.perf_counter()
    run()
    seconds = time.perf_counter() - t0
    cpu1 = emu.cpu()
    return Rate(what, items, seconds, (cpu1 - cpu0) if cpu0 is not None and cpu1 is not None else None)


def _best_round(rounds: list[Rate]) -> Rate:
    best = max(rounds, key=lambda r: r.rate)
    return Rate(best.what, best.items, best.seconds, best.cpu_seconds, [r.rate for r in rounds])


class RawDriver:
    """The minimal httpx driver: pre-rendered uploads and bare list/serveBulk requests, ``concurrency``
    at a time, no cuepipe code on the request path."""

    def __init__(self, emu: Emulator, concurrency: int) -> None:
        self.emu = emu
        self.concurrency = concurrency
        self.ks = _session(emu.url)

    def run(self, fn: Any, items: list[Any]) -> None:
        limits = httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency)

        async def session() -> list[Any]:
            async with httpx.AsyncClient(base_url=self.emu.url, limits=limits, timeout=300) as http:
                return await _gather_limited(self.concurrency, [lambda i=i: fn(http, i) for i in items])

        asyncio.run(session())

    async def add(self, http: httpx.AsyncClient, upload: bytes) -> int:
        r = await http.post(
            _API.format(service="cuepoint_cuepoint", action="addFromBulk"),
            data={"ks": self.ks, "format": "1"},
            files={"fileData": ("cues.xml", upload, "text/xml")},
        )
        body = r.json()
        if body.get("totalCount") != PER_UPLOAD:
            raise RuntimeError(f"addFromBulk answered {str(body)[:300]}")
        return PER_UPLOAD

    async def list_page(self, http: httpx.AsyncClient, entry: str) -> list[str]:
        r = await http.post(
            _API.format(service="cuepoint_cuepoint", action="list"),
            data={
                "ks": self.ks,
                "format": "1",
                "filter[objectType]": "KalturaCuePointFilter",
                "filter[entryIdEqual]": entry,
                "filter[orderBy]": "+createdAt",
                "pager[pageSize]": str(PER_UPLOAD),
                "pager[pageIndex]": "1",
            },
        )
        objects = r.json().get("objects") or []
        if len(objects) != PER_UPLOAD:
            raise RuntimeError(f"list of {entry} gave {len(objects)} cue points")
        return [o["id"] for o in objects]

    async def serve(self, http: httpx.AsyncClient, flt: dict[str, str]) -> int:
        r = await http.post(
            _API.format(service="cuepoint_cuepoint", action="serveBulk"),
            data={"ks": self.ks, **{f"filter[{k}]": v for k, v in flt.items()}, "pager[pageSize]": str(PER_UPLOAD)},
        )
        count = r.content.count(b"sceneId=")
        if count != PER_UPLOAD:
            raise RuntimeError(f"serveBulk gave {count} cue points: {r.headers.get('X-Kaltura-App')}")
        return count

    async def pull_page(self, http: httpx.AsyncClient, entry: str) -> int:
        ids = await self.list_page(http, entry)
        return await self.serve(http, {"objectType": "KalturaCuePointFilter", "idIn": ",".join(ids)})

    def timed_add(self, uploads: list[bytes]) -> Rate:
        return _timed(self.emu, "addFromBulk", len(uploads) * PER_UPLOAD, lambda: self.run(self.add, uploads))

    def timed_pull(self, entries: list[str]) -> Rate:
        what = "list + serveBulk of its ids"
        return _timed(self.emu, what, len(entries) * PER_UPLOAD, lambda: self.run(self.pull_page, entries))


def raw(emu: Emulator, entries: list[str], warm: int, concurrency: int, rounds: int = ROUNDS) -> dict[str, Rate]:
    """addFromBulk, list, serveBulk and the pull sequence over ``entries`` (the first ``warm`` not timed);
    list and serveBulk: the best of ``rounds`` timed rounds."""
    driver = RawDriver(emu, concurrency)
    run = driver.run
    uploads = render_uploads(entries)
    timed = entries[warm:]
    n = len(timed) * PER_UPLOAD
    run(driver.add, uploads[:warm])
    add_rate = driver.timed_add(uploads[warm:])
    run(driver.list_page, entries[:warm])
    lists = [_timed(emu, "list", n, lambda: run(driver.list_page, timed))]
    by_entry = [{"objectType": "KalturaCuePointFilter", "entryIdEqual": e} for e in entries]
    run(driver.serve, by_entry[:warm])
    serves = [_timed(emu, "serveBulk", n, lambda: run(driver.serve, by_entry[warm:]))]
    pull = driver.timed_pull(timed)
    for _ in range(rounds - 1):
        lists.append(_timed(emu, "list", n, lambda: run(driver.list_page, timed)))
        serves.append(_timed(emu, "serveBulk", n, lambda: run(driver.serve, by_entry[warm:])))
    return {"add": add_rate, "list": _best_round(lists), "serve": _best_round(serves), "pull": pull}


def _combined(what: str, windows: list[Rate]) -> Rate:
    """One rate over several timed windows (all their items over all their seconds)."""
    cpus = [w.cpu_seconds for w in windows]
    return Rate(
        what,
        sum(w.items for w in windows),
        sum(w.seconds for w in windows),
        None if any(c is None for c in cpus) else sum(c for c in cpus if c is not None),
        windows=[w.rate for w in windows],
    )


# ---------------------------------------------------------------------------- (b) end to end


def end_to_end(
    emu: Emulator,
    entries: list[str],
    push_ref: tuple[RawDriver, list[bytes], Rate] | None = None,
    pull_ref: RawDriver | None = None,
) -> dict[str, Rate]:
    """cuepipe ``Client.push`` then ``Client.pull`` of every cue point on ``entries``, default settings.

    With ``push_ref`` (the raw driver at its best level for addFromBulk, fresh uploads, and its
    window before), the raw driver uploads those right after the push, and ``ref_push`` is the rate
    of both windows together. With ``pull_ref`` (the raw driver at its best level for the pull
    sequence), it pulls the first half of ``entries`` before ``Client.pull`` and the second half
    after, and ``ref_pull`` is the rate of both halves: the same cue points the client reads, as
    warm or cold as they are for it, measured around it so that a change in the machine's speed
    during the run falls on both sides.
    """
    from cuepipe.client import Client

    recs = [r for e in entries for r in records(e, PER_UPLOAD, salt=1)]
    n = len(recs)
    out: dict[str, Rate] = {}
    with Client(emu.url, partner_id=PARTNER, admin_secret=ADMIN) as client:
        pushed: list[Any] = []
        out["push"] = _timed(emu, "Client.push", n, lambda: pushed.append(client.push(recs)))
        created = int((pushed[0]["action"] == "created").sum())
        if created != n:
            raise RuntimeError(f"push created {created} of {n}")
        if push_ref is not None:
            driver, uploads, before = push_ref
            after = driver.timed_add(uploads)
            level = f"{driver.concurrency} at a time"
            out["ref_push"] = _combined(
                f"addFromBulk ({level}; a window before and one after Client.push)", [before, after]
            )
        half = len(entries) // 2
        pull_windows: list[Rate] = []
        if pull_ref is not None and half:
            pull_windows.append(pull_ref.timed_pull(entries[:half]))
        pulled: list[Any] = []
        out["pull"] = _timed(
            emu, "Client.pull", n, lambda: pulled.append(client.pull({"entryIdIn": ",".join(entries)}))
        )
        if len(pulled[0]) != n or pulled[0]["systemName"].nunique() != n:
            raise RuntimeError(f"pull gave {len(pulled[0])} rows for {n} cue points")
        if pull_windows and pull_ref is not None:
            pull_windows.append(pull_ref.timed_pull(entries[half:]))
            level = f"{pull_ref.concurrency} at a time"
            out["ref_pull"] = _combined(
                f"list + serveBulk of the same entries ({level}; half before, half after Client.pull)", pull_windows
            )
    return out


# ---------------------------------------------------------------------------- run and report


@dataclass
class ApiResult:
    raw_n: int
    e2e_n: int
    concurrency: tuple[int, ...]
    db: str
    rounds: int = 1  # timed rounds of list and serveBulk per level (best counts)
    raw: dict[str, dict[str, Any]] = field(default_factory=dict)  # the best level of each measurement
    raw_levels: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # every level
    e2e: dict[str, dict[str, Any]] = field(default_factory=dict)
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)


def _rate_dict(r: Rate) -> dict[str, Any]:
    return asdict(r) | {"rate": r.rate, "cpu_rate": r.cpu_rate}


def _best(levels: dict[int, dict[str, Rate]]) -> dict[str, dict[str, Any]]:
    """Per measurement, the best rate over the concurrency levels (its level named in ``what``)."""
    out: dict[str, dict[str, Any]] = {}
    for key in next(iter(levels.values())):
        level, rate = max(((c, rates[key]) for c, rates in levels.items()), key=lambda cr: cr[1].rate)
        out[key] = _rate_dict(rate) | {"what": f"{rate.what} ({level} at a time)", "concurrency": level}
    return out


def run_api(
    raw_n: int = 20_000,
    e2e_n: int = 100_000,
    concurrency: tuple[int, ...] = (1, 4),
    db: str = "memory",
    rounds: int = ROUNDS,
) -> ApiResult:
    """Both parts against one emulator process (raw entries and end-to-end entries kept apart)."""
    started = time.perf_counter()
    warm = 2
    per_level = warm + max(1, raw_n // PER_UPLOAD)
    raw_sets = {c: [f"0_raw{c}x{i:05d}" for i in range(per_level)] for c in concurrency}
    raw_entries = [e for entries in raw_sets.values() for e in entries]
    e2e_entries = [f"0_e2e{i:05d}" for i in range(max(1, e2e_n // PER_UPLOAD))]
    after_entries = [f"0_rawpx{i:05d}" for i in range(per_level - warm)]  # the raw uploads after the push
    result = ApiResult(
        raw_n=(per_level - warm) * PER_UPLOAD,
        e2e_n=len(e2e_entries) * PER_UPLOAD,
        concurrency=concurrency,
        db=db,
        rounds=rounds,
    )
    with emulator_process(raw_entries + e2e_entries + after_entries, db) as emu:
        try:
            levels = {c: raw(emu, raw_sets[c], warm, c, rounds) for c in concurrency}
            result.raw_levels = {str(c): {k: _rate_dict(v) for k, v in rates.items()} for c, rates in levels.items()}
            result.raw = _best(levels)
        except Exception as exc:  # reported, never hidden
            result.errors.append(f"raw: {exc!r}")
            print(emu.log_tail(), file=sys.stderr)
        if e2e_n:
            try:
                push_ref = pull_ref = None
                if result.raw:
                    add_level = int(result.raw["add"]["concurrency"])
                    before = levels[add_level]["add"]
                    push_ref = (RawDriver(emu, add_level), render_uploads(after_entries), before)
                    pull_ref = RawDriver(emu, int(result.raw["pull"]["concurrency"]))
                rates = end_to_end(emu, e2e_entries, push_ref, pull_ref)
                result.e2e = {k: _rate_dict(v) for k, v in rates.items()}
                for key, driver in (("ref_push", push_ref[0] if push_ref else None), ("ref_pull", pull_ref)):
                    if key in result.e2e and driver is not None:
                        result.e2e[key]["concurrency"] = driver.concurrency
            except Exception as exc:
                result.errors.append(f"end to end: {exc!r}")
    result.seconds = time.perf_counter() - started
    return result


def targets(result: ApiResult) -> list[dict[str, Any]]:
    """Target rows for benchmarks/run.py (PASS/MISS with the measured rate or ratio)."""
    raw, e2e = result.raw, result.e2e
    rows: list[dict[str, Any]] = []

    def row(tid: str, text: str, n: int, ok: bool | None, measured: str, want: str, detail: str) -> None:
        status = "N/A" if ok is None else ("PASS" if ok else "MISS")
        rows.append(
            {
                "id": tid,
                "target": f"{text} (issue 13, target 4)",
                "n": n,
                "threshold": None,
                "status": status,
                "measured": measured,
                "want": want,
                "detail": detail,
            }
        )

    def cpu_note(r: dict[str, Any]) -> str:
        return f"; {r['cpu_rate']:,.0f}/s per emulator CPU-second" if r.get("cpu_rate") else ""

    errs = "; ".join(result.errors) or "not run"
    levels = ", ".join(str(c) for c in result.concurrency)
    how = f"raw httpx driver, best of {levels} request(s) at a time, own process, db {result.db}"
    rounds_note = f", best of {result.rounds} rounds at each" if result.rounds > 1 else ""
    if "add" in raw:
        a = raw["add"]
        row(
            "emulator_add",
            "emulator addFromBulk >= 5,000 scenes/s in its own process",
            result.raw_n,
            a["rate"] >= TARGET_ADD,
            f"{a['rate']:,.0f} scenes/s",
            ">= 5,000 scenes/s",
            f"{a['items']:,} scenes in uploads of {PER_UPLOAD} in {a['seconds']:.2f}s ({how}){cpu_note(a)}",
        )
    else:
        row(
            "emulator_add",
            "emulator addFromBulk >= 5,000 scenes/s in its own process",
            result.raw_n,
            None,
            "not measured",
            ">= 5,000 scenes/s",
            errs,
        )
    if "list" in raw and "serve" in raw:
        lo = min(raw["list"]["rate"], raw["serve"]["rate"])
        row(
            "emulator_list",
            "emulator list/serveBulk >= 20,000 cue points/s in its own process",
            result.raw_n,
            lo >= TARGET_LIST,
            f"list {raw['list']['rate']:,.0f}/s, serveBulk {raw['serve']['rate']:,.0f}/s",
            ">= 20,000 cue points/s each",
            f"pages of {PER_UPLOAD} ({how}{rounds_note}); list{cpu_note(raw['list'])}; "
            f"serveBulk{cpu_note(raw['serve'])}",
        )
    else:
        row(
            "emulator_list",
            "emulator list/serveBulk >= 20,000 cue points/s in its own process",
            result.raw_n,
            None,
            "not measured",
            ">= 20,000 cue points/s",
            errs,
        )
    text = "push and pull of 100k against the emulator at >= 80% of its throughput"
    if e2e.get("push") and e2e.get("pull") and e2e.get("ref_push") and e2e.get("ref_pull"):
        ref_push, ref_pull = e2e["ref_push"], e2e["ref_pull"]
        push_ratio = e2e["push"]["rate"] / ref_push["rate"]
        pull_ratio = e2e["pull"]["rate"] / ref_pull["rate"]

        def windows(r: dict[str, Any]) -> str:
            return " and ".join(f"{x:,.0f}/s" for x in r.get("windows") or [])

        row(
            "end_to_end",
            text,
            result.e2e_n,
            min(push_ratio, pull_ratio) >= TARGET_E2E,
            f"push {push_ratio:.0%}, pull {pull_ratio:.0%}",
            ">= 80% each",
            f"Client.push {e2e['push']['rate']:,.0f}/s vs raw addFromBulk {ref_push['rate']:,.0f}/s "
            f"({ref_push['concurrency']} at a time, {ref_push['items']:,} scenes in a window before and one after "
            f"the push: {windows(ref_push)}); Client.pull {e2e['pull']['rate']:,.0f}/s vs raw list+serveBulk of "
            f"the same entries {ref_pull['rate']:,.0f}/s ({ref_pull['concurrency']} at a time, half before and "
            f"half after the pull: {windows(ref_pull)}) (default settings, same emulator, same run)",
        )
    else:
        row("end_to_end", text, result.e2e_n, None, "not measured", ">= 80% each", errs)
    return rows


def report(result: ApiResult) -> str:
    lines = [
        "# Emulator throughput (issue 13, target 4)",
        "",
        f"Recorded by `python -m benchmarks.api` on {platform.system()} {platform.machine()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}; emulator in its own process "
        f"(`cuepipe emulator`, db {result.db}), loopback; {result.seconds:.0f}s in total.",
        "",
        "| part | what | cue points | seconds | per second | per emulator CPU-second |",
        "|---|---|---:|---:|---:|---:|",
    ]
    parts = [(f"raw, {c} at a time", rates) for c, rates in result.raw_levels.items()]
    for part, rates in [*parts, ("end to end", result.e2e)]:
        for r in rates.values():
            cpu = f"{r['cpu_rate']:,.0f}" if r.get("cpu_rate") else "-"
            rounds = r.get("rounds") or []
            windows = r.get("windows") or []
            what = r["what"] + (
                f" (best of rounds at {', '.join(f'{x:,.0f}' for x in rounds)}/s)" if len(rounds) > 1 else ""
            )
            if windows:
                what += f" (windows at {' and '.join(f'{x:,.0f}' for x in windows)}/s)"
            lines.append(f"| {part} | {what} | {r['items']:,} | {r['seconds']:.2f} | {r['rate']:,.0f} | {cpu} |")
    lines += ["", "| result | target | measured | detail |", "|---|---|---|---|"]
    for t in targets(result):
        lines.append(f"| {t['status']} | {t['target']} | {t['measured']} | {t['detail']} |")
    if result.errors:
        lines += ["", "Errors: " + "; ".join(result.errors)]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.api", description=__doc__.splitlines()[0])
    p.add_argument("--raw-n", type=int, default=20_000, help="cue points for the raw driver (default 20,000)")
    p.add_argument("--e2e-n", type=int, default=100_000, help="cue points pushed and pulled by cuepipe (0: skip)")
    p.add_argument(
        "--concurrency",
        type=lambda v: tuple(int(x) for x in v.split(",")),
        default=(1, 4),
        help="the raw driver's levels of concurrent requests, comma-separated; the best counts (default 1,4)",
    )
    p.add_argument(
        "--rounds", type=int, default=ROUNDS, help=f"timed rounds of list and serveBulk per level (default {ROUNDS})"
    )
    p.add_argument("--db", choices=("memory", "file"), default="memory", help="the emulator's --db (default memory)")
    p.add_argument("--json", type=Path, help="also write the raw result as JSON here")
    p.add_argument("--out", type=Path, help="write the Markdown report here (e.g. benchmarks/results/throughput.md)")
    args = p.parse_args(argv)
    result = run_api(args.raw_n, args.e2e_n, args.concurrency, args.db, max(1, args.rounds))
    text = report(result)
    print(text)
    if args.json:
        args.json.write_text(json.dumps(asdict(result), indent=2) + "\n", encoding="utf-8")
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    return 1 if result.errors else 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Client cost: the CPU a client spends per cue point pushed and pulled, with canned server answers.

Issue 13, target 4 (first bullet): cuepipe's :class:`~cuepipe.client.Client` against the official
Kaltura Python client (``KalturaApiClient``, extra ``kaltura``), side by side in one run:

* pull: cuepipe ``Client.pull(precision="ms")`` (``list`` paging into a typed DataFrame) against the
  official client's ``cuePoint.list`` paging loop (``pageIndex`` 1, 2, ... of 500), its objects
  turned into a DataFrame;
* push: cuepipe ``Client.push(frame)`` (renders the XML from the DataFrame, uploads it with
  ``addFromBulk``, reads the results) against the official ``cuePoint.addFromBulk`` of the same
  upload files, already rendered.

The server's answers are recorded once (per N and seed, cached in ``benchmarks/data``) from the
emulator over a real socket, each client asking in its own way (cuepipe JSON, the official client
XML), then replayed without a network: cuepipe through ``httpx.MockTransport``, the official client by
overriding its request layer (``openRequestUrl``). Both replays still build the request bodies the
real transports would send (JSON, multipart), and each answer is checked against the action the
client asked for, so a client that changed its calls fails loudly instead of reading the wrong page.
What is timed is the client's own work: building requests, decoding answers, building the frame.
"""

from __future__ import annotations

import json
import os
import pickle
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

#: Bump when what is recorded changes, so stale tapes are not replayed.
TAPE_VERSION = 1
PARTNER, ADMIN = 4242, "bench-admin-secret-7e1d"
ENTRY_CUEPIPE, ENTRY_OFFICIAL = "0_benchcue", "0_benchoff"
CHUNK = 500  # cue points per upload and per page, both clients


@dataclass
class Tapes:
    """Recorded answers: ``(path, status, headers, body)`` per request, in order."""

    n: int
    frame: Any  # the pushed DataFrame (cuepipe's columns)
    upload_files: list[bytes]  # the XML uploads cuepipe rendered, for the official client's push
    push_cuepipe: list[tuple[str, int, dict[str, str], bytes]]
    pull_cuepipe: list[tuple[str, int, dict[str, str], bytes]]
    push_official: list[tuple[str, int, dict[str, str], bytes]]
    pull_official: list[tuple[str, int, dict[str, str], bytes]]


def records(n: int, seed: int) -> list[dict[str, Any]]:
    """``n`` cue points of one entry: annotations, code and ad cue points with text, tags, times."""
    rnd = random.Random(seed)
    out: list[dict[str, Any]] = []
    for i in range(n):
        start = i * 1000 + rnd.randrange(1000)
        kind = i % 3
        if kind == 0:
            rec = {
                "cuePointType": "annotation.Annotation",
                "startTime": start,
                "endTime": start + 500 + rnd.randrange(5000),
                "text": f"note {i} — café «{rnd.randrange(10**6)}» & <more>",
                "tags": f"t{i % 7},chapter",
            }
        elif kind == 1:
            rec = {"cuePointType": "codeCuePoint.Code", "startTime": start, "code": f"c{i}", "description": "d"}
        else:
            rec = {
                "cuePointType": "adCuePoint.Ad",
                "startTime": start,
                "protocolType": "1",
                "adType": "1",
                "sourceUrl": f"https://ads.example.com/vast?i={i}",
                "title": f"ad {i}",
                "endTime": start + 15000,
            }
        rec["entryId"] = ENTRY_CUEPIPE
        out.append(rec)
    return out


class _Recorder(httpx.BaseTransport):
    """An httpx transport that forwards to the network and keeps every answer."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.tape: list[tuple[str, int, dict[str, str], bytes]] = []

    def close(self) -> None:
        self.inner.close()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        body = response.read()
        headers = {k: v for k, v in response.headers.items() if k.lower() not in ("content-encoding", "content-length")}
        self.tape.append((request.url.path, response.status_code, headers, body))
        return httpx.Response(response.status_code, headers=headers, content=body)


def _official_client(url: str, tape: list[Any] | None, replay: list[Any] | None) -> Any:
    """The official client; its request layer records answers into ``tape`` or replays ``replay``."""
    import requests
    from KalturaClient import KalturaClient, KalturaConfiguration
    from KalturaClient.Client import _get_file_params
    from requests_toolbelt.multipart.encoder import MultipartEncoder  # type: ignore[import-untyped]

    class _Canned:
        def __init__(self, status: int, headers: dict[str, str], content: bytes) -> None:
            self.status_code = status
            self.headers = requests.structures.CaseInsensitiveDict(headers)
            self.content = content

    class Recording(KalturaClient):
        @staticmethod
        def openRequestUrl(url: str, params: Any, files: Any, headers: Any, timeout: Any) -> Any:  # noqa: N802
            path = url.split("://", 1)[-1].split("/", 1)[-1]
            path = "/" + path
            if replay is None:
                r = KalturaClient.openRequestUrl(url, params, files, headers, timeout)
                assert tape is not None
                tape.append((path, r.status_code, dict(r.headers), r.content))
                return r
            # what requests would do to send it: encode the body (multipart or JSON)
            if files:
                fields = {"json": params.toJson()}
                fields.update(_get_file_params(files))
                MultipartEncoder(fields=fields).to_string()
            else:
                json.dumps(params.get())
            want, status, got_headers, body = replay.pop(0)
            if want != path:
                raise AssertionError(f"the official client asked for {path}, the tape has {want}")
            return _Canned(status, got_headers, body)

    return Recording(KalturaConfiguration(serviceUrl=url))


def _cuepipe_client(url: str, transport: Any) -> Any:
    from cuepipe.client import Client

    return Client(url, partner_id=PARTNER, admin_secret=ADMIN, transport=transport, retries=0)


def record(n: int, seed: int) -> Tapes:
    """Run both clients against the emulator over a socket and keep every answer."""
    from KalturaClient.Plugins.Core import KalturaSessionType

    from cuepipe.emulator import EmulatorServer
    from cuepipe.frames import records_to_frame

    frame = records_to_frame(records(n, seed))
    uploads = []
    for start in range(0, n, CHUNK):
        part = frame.iloc[start : start + CHUNK].copy()
        part["entryId"] = ENTRY_OFFICIAL
        uploads.append(_render(part))
    with EmulatorServer(
        partner_id=PARTNER, admin_secret=ADMIN, entries=[ENTRY_CUEPIPE, ENTRY_OFFICIAL], bulk_step_delay=0.0
    ) as server:
        rec = _Recorder()
        with _cuepipe_client(server.url, rec) as client:
            client.push(frame, chunk_size=CHUNK)
            push_cuepipe, rec.tape = rec.tape, []
            pulled = client.pull({"entryIdEqual": ENTRY_CUEPIPE}, precision="ms", page_size=CHUNK)
            pull_cuepipe = rec.tape
        if len(pulled) != n:
            raise AssertionError(f"recording: cuepipe pulled {len(pulled)} of {n} cue points")
        tape: list[Any] = []
        official = _official_client(server.url, tape, None)
        official.setKs(official.session.start(ADMIN, "bench", KalturaSessionType.ADMIN, PARTNER))
        tape.clear()
        _official_push(official, uploads)
        push_official, tape[:] = list(tape), []
        # the official client pulls what cuepipe pushed: the same cue points, its own answers
        objects = _official_pull(official)
        if len(objects) != n:
            raise AssertionError(f"recording: the official client listed {len(objects)} of {n} cue points")
        pull_official = list(tape)
    return Tapes(n, frame, uploads, push_cuepipe, pull_cuepipe, push_official, pull_official)


def _render(part: Any) -> bytes:
    from cuepipe import write_xml

    return bytes(write_xml(part, kind="ingest"))


def _official_push(official: Any, uploads: list[bytes]) -> int:
    import io

    n = 0
    for i, data in enumerate(uploads):
        handle = io.BytesIO(data)
        handle.name = f"upload-{i}.xml"
        n += len(official.cuePoint.cuePoint.addFromBulk(handle).objects)
    return n


def _official_pull(official: Any) -> list[Any]:
    """The official client's paging loop: ``list`` page by page until a short page."""
    from KalturaClient.Plugins.Core import KalturaFilterPager
    from KalturaClient.Plugins.CuePoint import KalturaCuePointFilter

    flt = KalturaCuePointFilter(entryIdEqual=ENTRY_CUEPIPE)
    objects: list[Any] = []
    page = 1
    while True:
        got = official.cuePoint.cuePoint.list(flt, KalturaFilterPager(pageSize=CHUNK, pageIndex=page)).objects
        objects += got
        if len(got) < CHUNK:
            return objects
        page += 1


def official_frame(objects: list[Any]) -> Any:
    """What a user of the official client does next: one row per object, its plain properties."""
    import pandas as pd

    rows = []
    for o in objects:
        row = {"objectType": type(o).__name__}
        for k, v in vars(o).items():
            if v is NotImplemented or k.startswith("multiLingual_"):
                continue
            row[k] = v.getValue() if hasattr(v, "getValue") else v
        rows.append(row)
    return pd.DataFrame(rows)


def _recorder_fingerprint() -> str:
    """Short hash of the code that decides which requests are made and what is answered (the
    client, the protocol, the emulator): a tape recorded by other code would replay answers to
    requests the client no longer makes (the replay checks only the action), so it is recorded again."""
    import hashlib

    import cuepipe

    pkg = Path(cuepipe.__file__).resolve().parent
    h = hashlib.sha256()
    for f in sorted(p for d in ("client", "kaltura", "emulator") for p in (pkg / d).rglob("*.py")):
        h.update(str(f.relative_to(pkg)).encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:10]


def tapes(n: int, seed: int, data_dir: Path) -> Tapes:
    """The recorded answers for ``n`` cue points, recorded once and cached under ``data_dir``."""
    path = data_dir / f"client-{n}-seed{seed}-v{TAPE_VERSION}-{_recorder_fingerprint()}.tapes.pkl"
    if path.is_file():
        with open(path, "rb") as f:
            cached: Tapes = pickle.load(f)  # noqa: S301 - our own cache file
            return cached
    got = record(n, seed)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        pickle.dump(got, f)
    os.replace(tmp, path)
    return got


def cuepipe_replay(tape: list[Any]) -> Any:
    """An ``httpx.MockTransport`` answering from ``tape``; it reads each request's body, as a real
    transport would send it, and checks the action asked for."""
    answers = list(tape)

    def handle(request: httpx.Request) -> httpx.Response:
        request.read()
        want, status, headers, body = answers.pop(0)
        if want != request.url.path:
            raise AssertionError(f"cuepipe asked for {request.url.path}, the tape has {want}")
        return httpx.Response(status, headers=headers, content=body)

    return httpx.MockTransport(handle)


# ---------------------------------------------------------------------------------------------------
# the cases (setup untimed, run timed), used by benchmarks/cases.py
# ---------------------------------------------------------------------------------------------------

#: Cue points per client cost case (at most: fewer when the run's N is smaller). The cost is
#: reported per cue point, and recording the answers through the emulator is the slow part of setup.
CLIENT_N = 5_000


def _tapes(files: dict[str, Any]) -> Tapes:
    return tapes(min(CLIENT_N, int(files["n"])), int(files["seed"]), Path(files["data_dir"]))


def setup_pull_cuepipe(files: dict[str, Any], _: Path) -> Any:
    t = _tapes(files)
    client = _cuepipe_client("http://canned.invalid", cuepipe_replay(t.pull_cuepipe))
    return client


def run_pull_cuepipe(client: Any) -> Any:
    with client:
        return client.pull({"entryIdEqual": ENTRY_CUEPIPE}, precision="ms", page_size=CHUNK)


def setup_pull_official(files: dict[str, Any], _: Path) -> Any:
    t = _tapes(files)
    official = _official_client("http://canned.invalid", None, list(t.pull_official))
    official.setKs("canned-ks")
    return official


def run_pull_official(official: Any) -> Any:
    return official_frame(_official_pull(official))


def setup_push_cuepipe(files: dict[str, Any], _: Path) -> Any:
    t = _tapes(files)
    return _cuepipe_client("http://canned.invalid", cuepipe_replay(t.push_cuepipe)), t.frame


def run_push_cuepipe(state: Any) -> Any:
    client, frame = state
    with client:
        result = client.push(frame, chunk_size=CHUNK)
    if (result["action"] != "created").any():
        raise AssertionError("replayed push did not create every cue point")
    return result


def setup_push_official(files: dict[str, Any], _: Path) -> Any:
    t = _tapes(files)
    official = _official_client("http://canned.invalid", None, list(t.push_official))
    official.setKs("canned-ks")
    return official, t.upload_files


def run_push_official(state: Any) -> int:
    official, uploads = state
    return _official_push(official, uploads)

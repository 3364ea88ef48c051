"""Helpers shared by several test modules (imported as ``from .helpers import ...``).

Test modules never import each other: what two of them need lives here (data builders, checks on the
emulator's database, recording transports, hostile documents), and fixtures live in ``conftest.py``.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Protocol

import httpx

from cuepipe import vocabulary as voc
from cuepipe.client import Client, Retries, Settle
from cuepipe.emulator import EmulatorServer


class EmulatorFactory(Protocol):
    """The type of the ``start_emulator`` fixture (conftest.py): ``EmulatorServer`` options in, a running server out."""

    def __call__(self, **options: Any) -> EmulatorServer: ...


# ---------------------------------------------------------------------------------------------
# the reliability tests: one partner, fast retries
# ---------------------------------------------------------------------------------------------

PARTNER, ADMIN = 5150, "reliability-admin-secret-q8w7"
FAST = Retries(max_retries=4, backoff=0.05, max_backoff=0.2)
# Watch a lost answer for 1 s of quiet, not the default 10: the emulator lists what it saved at once.
QUICK = Settle(quiet=1.0, limit=30.0, poll=0.2)
DELETED = int(voc.CuePointStatus.DELETED)


def reliability_client(srv: EmulatorServer, **kwargs: Any) -> Client:
    """A client of ``srv`` as the reliability partner, with fast retries unless ``retries=`` says otherwise."""
    kwargs.setdefault("retries", FAST)
    return Client(srv.url, partner_id=PARTNER, admin_secret=ADMIN, **kwargs)


def cue_points(entry: str, n: int, prefix: str = "cp") -> list[dict[str, Any]]:
    """``n`` cue points on ``entry``, all with a systemName: annotations (every third one a child of
    the one before, by ``parentSystemName``) and code cue points."""
    out: list[dict[str, Any]] = []
    for i in range(n):
        name = f"{prefix}-{entry}-{i:05d}"
        if i % 2 == 0:
            rec: dict[str, Any] = {
                "cuePointType": "annotation.Annotation",
                "entryId": entry,
                "systemName": name,
                "startTime": i * 1000,
                "endTime": i * 1000 + 500,
                "text": f"note {i} <&>",
            }
            if i % 6 == 4:
                rec["parentSystemName"] = f"{prefix}-{entry}-{i - 2:05d}"
        else:
            rec = {
                "cuePointType": "codeCuePoint.Code",
                "entryId": entry,
                "systemName": name,
                "startTime": i * 1000,
                "code": f"code {i}",
            }
        out.append(rec)
    return out


def emulator_rows(srv: EmulatorServer, entries: list[str]) -> list[dict[str, Any]]:
    """The live cue points of these entries, straight from the emulator's database."""
    store = srv.app.state.emulator.store
    marks = ", ".join("?" * len(entries))
    rows = store.query(f'SELECT * FROM cue_points WHERE "entryId" IN ({marks}) AND status != ?', [*entries, DELETED])
    return [dict(r) for r in rows]


def assert_exactly_once(srv: EmulatorServer, expected: list[dict[str, Any]], label: str = "") -> dict[str, int]:
    """Every expected cue point is on the emulator exactly once with its values; returns count per entry."""
    entries = sorted({r["entryId"] for r in expected})
    rows = emulator_rows(srv, entries)
    names = Counter((r["entryId"], r["systemName"]) for r in rows)
    dups = {k: n for k, n in names.items() if n > 1}
    want = Counter(r["entryId"] for r in expected)
    got = Counter(r["entryId"] for r in rows)
    print(f"[{label}] expected per entry {dict(want)}; on the emulator {dict(got)}; duplicates {len(dups)}")
    assert not dups, f"duplicate systemNames: {dups}"
    assert got == want
    by_key = {(r["entryId"], r["systemName"]): r for r in rows}
    ids = {k: r["id"] for k, r in by_key.items()}
    for rec in expected:
        row = by_key[(rec["entryId"], rec["systemName"])]
        assert row["startTime"] == rec["startTime"] and row["cuePointType"] == rec["cuePointType"], rec
        if rec["cuePointType"] == "codeCuePoint.Code":
            assert row["code"] == rec["code"]
        else:
            assert row["text"] == rec["text"]
            parent = rec.get("parentSystemName")
            assert row["parentId"] == (ids[(rec["entryId"], parent)] if parent else None), rec
    return dict(got)


class Recorder(httpx.HTTPTransport):
    """Records each request's action and, for uploads, how many scenes it carried."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, int]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        action = request.url.path.rsplit("/", 1)[-1]
        self.calls.append((action, body.count(b"<scene-") if action == "addFromBulk" else 0))
        return super().handle_request(request)

    def uploads(self) -> list[int]:
        return [n for action, n in self.calls if action == "addFromBulk"]


# ---------------------------------------------------------------------------------------------
# hostile XML: refused by the reader, the validator, the CLI, the client and the emulator alike
# ---------------------------------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<scenes><scene-code-cue-point entryId="e"><sceneStartTime>00:00:01</sceneStartTime>
<description>&lol9;</description></scene-code-cue-point></scenes>"""

XXE_FILE = b"""<?xml version="1.0"?>
<!DOCTYPE scenes [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<scenes><scene-code-cue-point entryId="e"><sceneStartTime>00:00:01</sceneStartTime>
<description>&xxe;</description></scene-code-cue-point></scenes>"""

PLAIN_DTD = b'<!-- c --><?pi x?>\n<!DOCTYPE scenes SYSTEM "scenes.dtd">\n<scenes/>'

"""The HTTP client against an in-memory fake server (httpx.MockTransport): no network.

Every behaviour is checked for the sync and the async client alike (``mode`` fixture).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pandas as pd
import pytest

from cuepipe import DTYPES, iter_cue_points, write_xml
from cuepipe.client import (
    AsyncClient,
    Client,
    ConfigurationError,
    FilterError,
    JobTimeoutError,
    OutcomeUnknownError,
    PushError,
    Retries,
    TransportError,
    UnservableError,
)
from cuepipe.client._base import strip_ks_from_url
from cuepipe.client._config import settings_from_env
from cuepipe.client._push import make_items, plan_uploads
from cuepipe.errors import CuePointValueError
from cuepipe.kaltura import (
    InvalidEntryIdError,
    InvalidKSError,
    KalturaNotFoundError,
    SessionType,
    make_ks,
    parse_ks,
)

URL = "https://kaltura.test"
PID = 4321
SECRET = "very-secret-admin-0123456789"
E1, E2 = "0_entry001", "0_entry002"
NOW = 1_790_000_000

CLASSES = {
    "annotation.Annotation": "KalturaAnnotation",
    "adCuePoint.Ad": "KalturaAdCuePoint",
    "codeCuePoint.Code": "KalturaCodeCuePoint",
    "thumbCuePoint.Thumb": "KalturaThumbCuePoint",
    "eventCuePoint.Event": "KalturaEventCuePoint",
    "quiz.QUIZ_QUESTION": "KalturaQuestionCuePoint",
}


def api_error(code: str, message: str = "", args: dict[str, str] | None = None) -> dict[str, Any]:
    return {"code": code, "message": message, "objectType": "KalturaAPIException", "args": args or []}


def parse_body(request: httpx.Request) -> tuple[dict[str, str], dict[str, bytes]]:
    """Form fields and uploaded files of a request the client sent."""
    body = request.content
    kind = request.headers.get("content-type", "")
    if kind.startswith("multipart/form-data"):
        boundary = kind.split("boundary=", 1)[1].encode()
        fields: dict[str, str] = {}
        files: dict[str, bytes] = {}
        for part in body.split(b"--" + boundary)[1:-1]:
            head, _, content = part.strip(b"\r\n").partition(b"\r\n\r\n")
            name = re.search(rb'name="([^"]+)"', head).group(1).decode()
            if b"filename=" in head:
                files[name] = content
            else:
                fields[name] = content.decode()
        return fields, files
    return dict(parse_qsl(body.decode(), keep_blank_values=True)), {}


class FakeKaltura:
    """Just enough of the cue point and bulk upload services to exercise the client's logic.

    ``hooks[action]`` runs before the action with the parsed params and may return an
    ``httpx.Response`` or raise; ``lose[action]`` applies the action and then drops the answer
    (the connection breaks after the server did its work).
    """

    def __init__(self) -> None:
        self.entries = {E1, E2}
        self.cue_points: list[dict[str, Any]] = []
        self.calls: list[tuple[str, dict[str, str]]] = []
        self.uploads: list[list[dict[str, Any]]] = []
        self.hooks: dict[str, Callable[[dict[str, str]], httpx.Response | None]] = {}
        self.lose: dict[str, int] = {}
        self.now = NOW
        self.jobs: dict[int, dict[str, Any]] = {}
        self.job_statuses: list[int] = []

    # -- plumbing -------------------------------------------------------------------------------

    def __call__(self, request: httpx.Request) -> httpx.Response:
        match = re.match(r"/api_v3/service/([^/]+)/action/([^/]+)", request.url.path)
        assert match, request.url
        service, action = match.groups()
        params, files = parse_body(request)
        self.calls.append((action, params))
        hook = self.hooks.get(action)
        if hook is not None:
            answer = hook(params)
            if answer is not None:
                return answer
        result = getattr(self, f"do_{action}")(params, files)
        if self.lose.get(action):
            self.lose[action] -= 1
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        if isinstance(result, httpx.Response):
            return result
        return httpx.Response(200, content=json.dumps(result).encode(), headers={"content-type": "application/json"})

    def count_calls(self, action: str) -> int:
        return sum(1 for a, _ in self.calls if a == action)

    def add(
        self,
        entry: str,
        kind: str = "annotation.Annotation",
        *,
        start: int = 0,
        name: str | None = None,
        created: int | None = None,
    ) -> dict[str, Any]:
        int_id = len(self.cue_points) + 1
        obj: dict[str, Any] = {
            "id": f"0_{int_id:07d}",
            "intId": int_id,
            "cuePointType": kind,
            "status": 1,
            "entryId": entry,
            "partnerId": PID,
            "createdAt": created or self.now,
            "updatedAt": created or self.now,
            "startTime": start,
            "tags": "",
            "objectType": CLASSES[kind],
        }
        if kind == "annotation.Annotation":
            obj["endTime"] = start + 1000
        if kind == "codeCuePoint.Code":
            obj["code"] = "C"
        if name is not None:
            obj["systemName"] = name
        self.cue_points.append(obj)
        return obj

    # -- filters -----------------------------------------------------------------------------

    def select(self, params: dict[str, str], *, require_entry: bool) -> tuple[list[dict[str, Any]], int]:
        f = {k[len("filter[") : -1]: v for k, v in params.items() if k.startswith("filter[")}
        if require_entry and not any(k in f for k in ("idEqual", "idIn", "entryIdEqual", "entryIdIn")):
            raise LookupError
        out = []
        for obj in self.cue_points:
            if "entryIdEqual" in f and obj["entryId"] != f["entryIdEqual"]:
                continue
            if "entryIdIn" in f and obj["entryId"] not in f["entryIdIn"].split(","):
                continue
            if "idIn" in f and obj["id"] not in f["idIn"].split(","):
                continue
            if "systemNameIn" in f and obj.get("systemName") not in f["systemNameIn"].split(","):
                continue
            if "createdAtGreaterThanOrEqual" in f and obj["createdAt"] < int(f["createdAtGreaterThanOrEqual"]):
                continue
            if "cuePointTypeEqual" in f and obj["cuePointType"] != f["cuePointTypeEqual"]:
                continue
            if "createdAtLessThanOrEqual" in f and obj["createdAt"] > int(f["createdAtLessThanOrEqual"]):
                continue
            if "startTimeGreaterThanOrEqual" in f and obj.get("startTime", 0) < int(f["startTimeGreaterThanOrEqual"]):
                continue
            if "startTimeLessThanOrEqual" in f and obj.get("startTime", 0) > int(f["startTimeLessThanOrEqual"]):
                continue
            out.append(obj)
        orders = {"+createdAt,+intId": ("createdAt", "intId"), "+startTime,+intId": ("startTime", "intId")}
        if f.get("orderBy") in orders:
            keys = orders[f["orderBy"]]
            out.sort(key=lambda o: tuple(o.get(k, 0) for k in keys))
        elif f.get("orderBy") == "+intId":
            out.sort(key=lambda o: o["intId"])
        size = min(int(params.get("pager[pageSize]", 30)), 500)
        index = int(params.get("pager[pageIndex]", 1))
        return out[(index - 1) * size : index * size], len(out)

    # -- actions -----------------------------------------------------------------------------

    def do_list(self, params: dict[str, str], files: dict[str, bytes]) -> Any:
        try:
            objects, total = self.select(params, require_entry=True)
        except LookupError:
            return api_error("PROPERTY_VALIDATION_CANNOT_BE_NULL", "The property cannot be null")
        return {"objects": objects, "totalCount": total, "objectType": "KalturaCuePointListResponse"}

    def do_count(self, params: dict[str, str], files: dict[str, bytes]) -> Any:
        return self.select(params, require_entry=False)[1]

    def do_get(self, params: dict[str, str], files: dict[str, bytes]) -> Any:
        for obj in self.cue_points:
            if obj["id"] == params["id"]:
                return obj
        return api_error("INVALID_CUE_POINT_ID", f"Invalid cue point id [{params['id']}]", {"ID": params["id"]})

    def do_delete(self, params: dict[str, str], files: dict[str, bytes]) -> Any:
        for obj in self.cue_points:
            if obj["id"] == params["id"]:
                self.cue_points.remove(obj)
                return None
        return api_error("INVALID_CUE_POINT_ID", "Invalid cue point id", {"ID": params["id"]})

    def do_serveBulk(self, params: dict[str, str], files: dict[str, bytes]) -> Any:
        objects, _ = self.select(params, require_entry=False)
        records = []
        for obj in objects:
            rec = {
                k: obj[k]
                for k in ("id", "cuePointType", "entryId", "startTime", "endTime", "systemName", "code")
                if k in obj
            }
            records.append(rec)
        body = write_xml(records, kind="serve") if records else b'<?xml version="1.0"?>\n<scenes/>\n'
        return httpx.Response(200, content=body, headers={"content-type": "text/xml; charset=UTF-8"})

    def do_addFromBulk(self, params: dict[str, str], files: dict[str, bytes]) -> Any:
        scenes = list(iter_cue_points(files["fileData"]))
        self.uploads.append(scenes)
        touched = []
        for scene in scenes:
            if scene["entryId"] not in self.entries:
                return api_error("INVALID_ENTRY_ID")
            target = None
            if scene.get("id"):
                target = next((o for o in self.cue_points if o["id"] == scene["id"]), None)
            if target is None and scene.get("systemName"):
                target = next(
                    (
                        o
                        for o in self.cue_points
                        if o.get("systemName") == scene["systemName"] and o["entryId"] == scene["entryId"]
                    ),
                    None,
                )
            if target is not None and target["cuePointType"] != scene["cuePointType"]:
                continue  # docs/format-notes.md#insert-or-update: a match of another type is skipped silently
            if target is None:
                target = self.add(
                    scene["entryId"], scene["cuePointType"], start=scene["startTime"], name=scene.get("systemName")
                )
            target.update({k: v for k, v in scene.items() if k not in ("id", "parentSystemName")})
            target["updatedAt"] = self.now
            touched.append(target)
        return {"objects": touched, "totalCount": len(touched), "objectType": "KalturaCuePointListResponse"}

    def do_start(self, params: dict[str, str], files: dict[str, bytes]) -> Any:
        if params.get("secret") != SECRET:
            return api_error("START_SESSION_ERROR", f"Error while starting session for partner [{PID}]")
        return make_ks(PID, SECRET, type=int(params["type"]), expiry=int(params["expiry"]), now=self.now)

    def job(self, job_id: int, status: int) -> dict[str, Any]:
        return {
            "id": job_id,
            "status": status,
            "objectType": "KalturaBulkUpload",
            "fileName": "b.xml",
            "logFileUrl": f"{URL}/api_v3/service/bulkUpload/action/serveLog/id/{job_id}/ks/SECRETKS",
        }

    def do_addEntries(self, params: dict[str, str], files: dict[str, bytes]) -> Any:
        job_id = 100 + len(self.jobs)
        self.jobs[job_id] = {"file": files["fileData"]}
        return self.job(job_id, 0)

    def do_get_job(self, job_id: int) -> Any:
        status = self.job_statuses.pop(0) if len(self.job_statuses) > 1 else self.job_statuses[0]
        return self.job(job_id, status)


class Runner:
    """Call the same method on the sync or the async client."""

    def __init__(
        self,
        mode: str,
        fake: FakeKaltura,
        handler: Callable[[httpx.Request], httpx.Response] | None = None,
        **kwargs: Any,
    ) -> None:
        self.mode = mode
        options: dict[str, Any] = {"partner_id": PID, "admin_secret": SECRET, "retries": Retries(3, backoff=0)}
        options.update(kwargs)
        transport = httpx.MockTransport(handler or fake)
        cls = Client if mode == "sync" else AsyncClient
        self.client: Any = cls(URL, transport=transport, **options)
        self.loop = asyncio.new_event_loop() if mode == "async" else None

    def __call__(self, name: str, *args: Any, **kwargs: Any) -> Any:
        target = self.client
        for part in name.split("."):
            target = getattr(target, part)
        result = target(*args, **kwargs)
        if self.loop is None:
            return list(result) if name == "iter_pull" else result
        if name == "iter_pull":

            async def collect() -> list[Any]:
                return [frame async for frame in result]

            return self.loop.run_until_complete(collect())
        return self.loop.run_until_complete(result)

    def close(self) -> None:
        if self.loop is None:
            self.client.close()
        else:
            self.loop.run_until_complete(self.client.aclose())
            self.loop.close()


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def fake() -> FakeKaltura:
    return FakeKaltura()


@pytest.fixture
def run(mode: str, fake: FakeKaltura):
    runners: list[Runner] = []

    def make(**kwargs: Any) -> Runner:
        runner = Runner(mode, fake, **kwargs)
        runners.append(runner)
        return runner

    yield make
    for runner in runners:
        runner.close()


def plain(series: pd.Series) -> list[Any]:
    """Values with None for missing ones (pandas NA does not compare)."""
    return [None if pd.isna(v) else v for v in series]


def ann(entry: str, start: int, name: str | None = None, **extra: Any) -> dict[str, Any]:
    rec = {"cuePointType": "annotation.Annotation", "entryId": entry, "startTime": start, "endTime": start + 500}
    if name is not None:
        rec["systemName"] = name
    rec.update(extra)
    return rec


# =============================================================================================
# Planning: per-entry uploads, families, input checks (pure)
# =============================================================================================


def _plan(records: list[dict[str, Any]], chunk_size: int) -> list[tuple[str, list[int]]]:
    items = make_items(list(range(len(records))), records)
    return [(u.entry_id, [i.row for i in u.items]) for u in plan_uploads(items, chunk_size)]


def test_uploads_never_mix_entries_and_keep_families_together_parents_first() -> None:
    records = [
        ann(E1, 0, "C1", parentSystemName="P"),  # a child before its parent in the input
        ann(E1, 1, "X"),
        ann(E1, 2, "P"),
        ann(E2, 3, "Y"),
        ann(E1, 4, "Z"),
    ]
    assert _plan(records, 2) == [(E1, [1]), (E1, [2, 0]), (E1, [4]), (E2, [3])]
    assert _plan(records, 10) == [(E1, [1, 2, 0, 4]), (E2, [3])]
    # a family larger than chunk_size is one upload of its own, never split
    family = [ann(E1, 0, "P")] + [ann(E1, i, f"c{i}", parentSystemName="P") for i in range(1, 5)]
    assert _plan(family + [ann(E1, 9, "Q")], 2) == [(E1, [0, 1, 2, 3, 4]), (E1, [5])]
    # a parent that is not in the input (already on the server) links nothing
    assert _plan([ann(E1, 0, "A", parentSystemName="ON_SERVER"), ann(E1, 1, "B")], 1) == [(E1, [0]), (E1, [1])]


@pytest.mark.parametrize(
    ("records", "field", "row"),
    [
        ([ann(E1, 0, "A"), ann(E1, 1, "A")], "systemName", 1),
        ([ann(E1, 0, "A", parentSystemName="B"), ann(E1, 1, "B", parentSystemName="A")], "parentSystemName", 0),
        ([ann(E1, 0, "A"), {"cuePointType": "annotation.Annotation", "startTime": 0}], "entryId", 1),
        ([ann(E1, 0, id="0_x"), ann(E2, 0, id="0_x")], "id", 1),
    ],
)
def test_planning_refuses_ambiguous_input(records: list[dict[str, Any]], field: str, row: int) -> None:
    with pytest.raises(CuePointValueError) as info:
        _plan(records, 10)
    assert (info.value.field, info.value.record) == (field, row)


def test_same_system_name_on_two_entries_is_fine() -> None:
    assert _plan([ann(E1, 0, "A"), ann(E2, 0, "A")], 10) == [(E1, [0]), (E2, [1])]


# =============================================================================================
# push
# =============================================================================================


def test_push_chunks_per_entry_and_maps_ids(run, fake: FakeKaltura) -> None:
    df = pd.DataFrame(
        [
            ann(E1, 0, "C1", parentSystemName="P"),
            ann(E1, 1000, "X"),
            ann(E1, 2000, "P"),
            ann(E2, 3000),
            ann(E1, 4000, "Z"),
        ],
        index=[10, 11, 12, 13, 14],
    )
    client = run()
    seen: list[Any] = []
    result = client("push", df, chunk_size=2, progress=seen.append)
    assert [{s["entryId"] for s in upload} for upload in fake.uploads] == [{E1}, {E1}, {E1}, {E2}]
    assert [[s.get("systemName") for s in upload] for upload in fake.uploads] == [["X"], ["P", "C1"], ["Z"], [None]]
    assert fake.uploads[1][1]["parentSystemName"] == "P"
    assert list(result.index) == [10, 11, 12, 13, 14]
    by_name = {o.get("systemName"): o["id"] for o in fake.cue_points}
    assert result.loc[[10, 11, 12, 14], "id"].tolist() == [by_name["C1"], by_name["X"], by_name["P"], by_name["Z"]]
    assert result.loc[13, "id"] == next(o["id"] for o in fake.cue_points if o["entryId"] == E2)
    assert result["action"].tolist() == ["created"] * 5
    assert result["upload"].tolist() == [2, 1, 2, 4, 3]
    assert result["error"].isna().all()
    assert seen[0].done == 0 and seen[-1].done == seen[-1].total == 5
    # uploads are streamed with their exact size (Content-Length, not chunked encoding)
    assert fake.count_calls("addFromBulk") == 4


def test_second_push_updates_by_system_name(run, fake: FakeKaltura) -> None:
    client = run()
    records = [ann(E1, 0, "A"), ann(E1, 1000, "B")]
    first = client("push", records)
    second = client("push", [ann(E1, 0, "A", text="changed"), ann(E1, 1000, "B")])
    assert second["id"].tolist() == first["id"].tolist()
    assert second["action"].tolist() == ["updated", "updated"]
    assert len(fake.cue_points) == 2 and fake.cue_points[0]["text"] == "changed"


def test_skipped_scene_is_matched_by_keys_not_position(run, fake: FakeKaltura) -> None:
    fake.add(E1, "codeCuePoint.Code", start=5, name="TAKEN")  # an annotation named TAKEN will be skipped
    client = run()
    result = client("push", [ann(E1, 100, "A"), ann(E1, 200, "TAKEN"), ann(E1, 300), ann(E1, 400)])
    created = {o["startTime"]: o["id"] for o in fake.cue_points if o["cuePointType"] == "annotation.Annotation"}
    assert plain(result["action"]) == ["created", "skipped", "created", "created"]
    assert plain(result["id"]) == [created[100], None, created[300], created[400]]
    assert "another type" in result.loc[1, "error"]
    # without the lookup the result is still matched by keys (the action of named rows is then unknown)
    again = client("push", [ann(E1, 100, "A"), ann(E1, 200, "TAKEN"), ann(E1, 300)], detect_actions=False)
    assert plain(again["id"])[:2] == [created[100], None]
    assert plain(again["action"]) == [None, "skipped", "created"]


def test_input_errors_name_the_row_before_anything_is_sent(run, fake: FakeKaltura) -> None:
    records = [ann(E1, 0, "A"), ann(E2, 0, "B"), ann(E2, 0, "C", userId="someone")]
    with pytest.raises(CuePointValueError) as info:
        run()("push", records, chunk_size=1)
    assert (info.value.record, info.value.field) == (2, "userId")
    assert fake.calls == []


def test_unknown_entry_fails_one_upload_with_its_rows(run, fake: FakeKaltura) -> None:
    records = [ann(E1, 0, "A"), ann("0_missing", 0, "B"), ann("0_missing", 1, "C"), ann(E2, 0, "D")]
    client = run()
    with pytest.raises(PushError) as info:
        client("push", records)
    exc = info.value
    assert isinstance(exc.cause, InvalidEntryIdError)
    assert (exc.upload, exc.entry_id, exc.rows) == (2, "0_missing", [1, 2])
    assert exc.result["action"].tolist() == ["created", "failed", "failed", "not_sent"]
    collected = client("push", records, errors="collect")
    assert collected["action"].tolist() == ["updated", "failed", "failed", "created"]
    assert "INVALID_ENTRY_ID" in collected.loc[1, "error"]


# =============================================================================================
# Retries: only where a repeat cannot duplicate
# =============================================================================================


def test_dropped_connection_after_upload_is_settled_when_every_cue_point_has_a_system_name(
    run, fake: FakeKaltura
) -> None:
    fake.lose["addFromBulk"] = 1  # the server stores the scenes, then the answer is lost
    result = run()("push", [ann(E1, 0, "A"), ann(E1, 1000, "B")], settle=0.2)
    # not repeated blindly: the entry is watched, both had landed, nothing is sent again
    assert fake.count_calls("addFromBulk") == 1
    assert len(fake.cue_points) == 2
    assert result.attrs["recoveries"][0]["landed"] == 2 and result.attrs["resent"] == 0
    assert result["id"].tolist() == [o["id"] for o in fake.cue_points]
    assert result["action"].tolist() == ["created", "created"]


def test_dropped_connection_without_system_names_is_not_retried(run, fake: FakeKaltura) -> None:
    fake.lose["addFromBulk"] = 1
    client = run()
    with pytest.raises(PushError) as info:
        client("push", [ann(E1, 0, "A"), ann(E1, 1000)])
    cause = info.value.cause
    assert isinstance(cause, OutcomeUnknownError)
    assert fake.count_calls("addFromBulk") == 1 and len(fake.cue_points) == 2
    assert cause.rows == [0, 1] and "outcome of upload 1" in str(cause) and "unknown" in str(cause)
    assert "neither a systemName nor an id known to the server" in str(cause)
    assert info.value.result["action"].tolist() == ["unknown", "unknown"]


def test_an_id_unknown_to_the_server_does_not_make_a_repeat_safe(run, fake: FakeKaltura) -> None:
    fake.lose["addFromBulk"] = 1
    with pytest.raises(PushError) as info:
        run()("push", [ann(E1, 0, id="0_notthere")])
    assert isinstance(info.value.cause, OutcomeUnknownError) and fake.count_calls("addFromBulk") == 1


def test_connect_failure_is_retried_even_for_new_cue_points(run, fake: FakeKaltura) -> None:
    failures = [httpx.ConnectError("connection refused")]

    def refuse(params: dict[str, str]) -> None:
        if failures:
            raise failures.pop()

    fake.hooks["addFromBulk"] = refuse
    result = run()("push", [ann(E1, 0)])
    assert fake.count_calls("addFromBulk") == 2 and len(fake.cue_points) == 1
    assert result["action"].tolist() == ["created"]


def test_reads_retry_5xx_and_429_then_give_up(run, fake: FakeKaltura) -> None:
    fake.add(E1)
    statuses = [503, 429]
    fake.hooks["count"] = lambda p: httpx.Response(statuses.pop(0)) if statuses else None
    client = run()
    assert client("count", {"entryIdEqual": E1}) == 1
    assert fake.count_calls("count") == 3
    fake.hooks["count"] = lambda p: httpx.Response(502)
    with pytest.raises(Exception) as info:
        client("count", {"entryIdEqual": E1})
    assert getattr(info.value, "status", None) == 502
    assert fake.count_calls("count") == 3 + 4  # first attempt and 3 retries
    fake.hooks["count"] = lambda p: (_ for _ in ()).throw(httpx.ReadTimeout("timed out"))
    with pytest.raises(TransportError):
        client("count", {"entryIdEqual": E1})


def test_bulk_submit_is_never_repeated_when_its_outcome_is_unknown(run, fake: FakeKaltura) -> None:
    fake.lose["addEntries"] = 1
    with pytest.raises(OutcomeUnknownError) as info:
        run()("bulk_uploads.submit", b"<mrss/>")
    assert fake.count_calls("addEntries") == 1 and "second job" in str(info.value)


# =============================================================================================
# Sessions
# =============================================================================================


def test_ks_is_renewed_before_it_expires(run, fake: FakeKaltura) -> None:
    fake.add(E1)
    client = run(session_expiry=600)
    clock = [time.time()]
    client.client._engine.auth.clock = lambda: clock[0]
    client("count", {"entryIdEqual": E1})
    client("count", {"entryIdEqual": E1})
    first, second = (p["ks"] for a, p in fake.calls if a == "count")
    assert first == second
    info = parse_ks(first, SECRET)
    assert info.partner_id == PID and info.type == SessionType.ADMIN
    clock[0] += 545  # inside the renewal margin (a tenth of 600 s)
    client("count", {"entryIdEqual": E1})
    third = fake.calls[-1][1]["ks"]
    assert third != first and parse_ks(third, SECRET).expires_at > info.expires_at


def test_expired_ks_is_renewed_once_and_static_ks_is_not(run, fake: FakeKaltura) -> None:
    fake.add(E1)
    refusals = [1]

    def expire(params: dict[str, str]) -> httpx.Response | None:
        if refusals:
            refusals.pop()
            return httpx.Response(
                200,
                json=api_error(
                    "INVALID_KS",
                    'Invalid KS "EXPIRED", Error "-1,INVALID_STR"',
                    {"KSID": "EXPIRED", "ERR_CODE": "-1", "ERR_DESC": "INVALID_STR"},
                ),
            )
        return None

    fake.hooks["count"] = expire
    client = run()
    assert client("count", {"entryIdEqual": E1}) == 1
    kss = [p["ks"] for a, p in fake.calls if a == "count"]
    assert len(kss) == 2 and kss[0] != kss[1]

    static = run(ks=make_ks(PID, SECRET, type=2), partner_id=None, admin_secret=None)
    refusals.append(1)
    with pytest.raises(InvalidKSError) as info:
        static("count", {"entryIdEqual": E1})
    assert info.value.expired


def test_session_start_is_used_and_repeated_near_expiry(run, fake: FakeKaltura, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    fake.add(E1)
    client = run(admin_secret=None, secret=SECRET, use_session_start=True, session_expiry=1000)
    clock = [float(NOW)]
    client.client._engine.auth.clock = lambda: clock[0]
    assert client.client.session is None  # no I/O in the constructor
    client("count", {"entryIdEqual": E1})
    client("count", {"entryIdEqual": E1})
    assert fake.count_calls("start") == 1
    start_params = next(p for a, p in fake.calls if a == "start")
    assert "ks" not in start_params and start_params["type"] == "2"
    assert fake.calls[-1][1]["ks"] == client.client.session.ks
    clock[0] += 950
    fake.now += 950
    client("count", {"entryIdEqual": E1})
    assert fake.count_calls("start") == 2
    assert "session/action/start" in caplog.text and SECRET not in caplog.text


def test_configuration_errors() -> None:
    with pytest.raises(ConfigurationError, match="service_url"):
        Client("", partner_id=1, admin_secret="x")
    with pytest.raises(ConfigurationError, match="credentials missing"):
        Client(URL, partner_id=1)
    with pytest.raises(ConfigurationError, match="not both"):
        Client(URL, ks=make_ks(1, "s"), admin_secret="s")
    with pytest.raises(ConfigurationError, match="use_session_start"):
        Client(URL, partner_id=1, secret="s")
    with pytest.raises(ConfigurationError, match="partner 1"):
        Client(URL, ks=make_ks(1, "s"), partner_id=2)
    client = Client(URL + "/api_v3/", partner_id=1, admin_secret="s")
    assert client.service_url == URL
    client.close()


def test_settings_from_env_prefers_explicit_values() -> None:
    env = {"KALTURA_SERVICE_URL": URL, "KALTURA_PARTNER_ID": "7", "KALTURA_ADMIN_SECRET": "a"}
    assert settings_from_env(env) == {"service_url": URL, "partner_id": 7, "admin_secret": "a"}
    assert settings_from_env(env, admin_secret="b") == {"service_url": URL, "partner_id": 7, "admin_secret": "b"}
    assert settings_from_env({**env, "KALTURA_KS": ""}) == {"service_url": URL, "partner_id": 7, "admin_secret": "a"}
    with pytest.raises(ConfigurationError):
        settings_from_env({"KALTURA_PARTNER_ID": "x"})


# =============================================================================================
# pull
# =============================================================================================


def test_pull_pages_past_500_in_order_without_repeats(run, fake: FakeKaltura) -> None:
    for i in range(700):  # 700 cue points created in the same second: one second spans two pages
        fake.add(E1, start=i, created=NOW)
    for i in range(500):
        fake.add(E1, start=1000 + i, created=NOW + 1 + i // 300)
    client = run()
    progress: list[Any] = []
    frames = client("iter_pull", {"entryIdEqual": E1}, precision="ms", progress=progress.append)
    frame = pd.concat(frames, ignore_index=True)
    assert len(frame) == 1200 and frame["id"].is_unique
    assert frame["id"].tolist() == [o["id"] for o in fake.cue_points]
    lists = [p for a, p in fake.calls if a == "list"]
    assert all(p["pager[pageSize]"] == "500" and p["pager[pageIndex]"] == "1" for p in lists)  # no offsets
    # the second with 700 cue points is read by startTime within it
    assert {p["filter[orderBy]"] for p in lists} == {"+createdAt,+intId", "+startTime,+intId"}
    assert progress[-1].done == 1200 and progress[0].total == 1200
    assert list(frame.columns) == list(DTYPES)
    extra = client("pull", {"entryIdEqual": E1}, precision="ms", extra_columns=True, page_size=400)
    assert len(extra) == 1200 and extra["createdAt"].dtype == "Int64" and extra["status"].eq(1).all()


def test_pull_tenths_serves_list_pages_by_id(run, fake: FakeKaltura) -> None:
    for i in range(7):
        fake.add(E1, "codeCuePoint.Code", start=1234 + i, name=f"c{i}")
    frame = run()("pull", {"entryIdEqual": E1}, page_size=3)
    assert frame["id"].tolist() == [o["id"] for o in fake.cue_points]
    assert frame["startTime"].tolist() == [1200] * 7  # tenths of a second, as served
    serves = [p for a, p in fake.calls if a == "serveBulk"]
    sizes = [len(p["filter[idIn]"].split(",")) for p in serves]
    assert sum(sizes) == 7 and max(sizes) <= 3  # one serveBulk per list window, by id


def test_pull_tenths_and_unservable_cue_points(run, fake: FakeKaltura) -> None:
    fake.add(E1, start=100, name="A")
    fake.add(E1, "thumbCuePoint.Thumb", start=2000)
    client = run()
    with pytest.raises(UnservableError, match="1 thumbCuePoint.Thumb"):
        client("pull", {"entryIdEqual": E1})
    skipped = client("pull", {"entryIdEqual": E1}, unservable="skip")
    assert skipped["cuePointType"].tolist() == ["annotation.Annotation"]
    mixed = client("pull", {"entryIdEqual": E1}, unservable="list")
    assert mixed["cuePointType"].tolist() == ["annotation.Annotation", "thumbCuePoint.Thumb"]


def test_pull_tenths_without_entry_filter_uses_counted_windows(run, fake: FakeKaltura) -> None:
    for i in range(5):
        fake.add(E1 if i % 2 else E2, start=i * 1000)
    frame = run()("pull", None, page_size=2)
    assert sorted(frame["id"]) == sorted(o["id"] for o in fake.cue_points)
    # every window is served in one page, never past the first
    assert {p["pager[pageIndex]"] for a, p in fake.calls if a == "serveBulk"} == {"1"}


def test_list_and_count_without_entry_filter_fail_before_sending(run, fake: FakeKaltura) -> None:
    client = run()
    with pytest.raises(FilterError, match="entryIdEqual"):
        client("pull", {"tagsLike": "x"}, precision="ms")
    with pytest.raises(FilterError, match="orderBy"):
        client("pull", {"entryIdEqual": E1, "orderBy": "+startTime"})
    with pytest.raises(ValueError, match="precision"):
        client("pull", {"entryIdEqual": E1}, precision="seconds")
    assert fake.calls == []


def test_api_errors_are_typed(run, fake: FakeKaltura) -> None:
    client = run()
    with pytest.raises(KalturaNotFoundError) as info:
        client("get", "0_nope")
    assert info.value.args == {"ID": "0_nope"}
    fake.hooks["serveBulk"] = lambda p: httpx.Response(
        200,
        headers={
            "X-Kaltura": "error- SERVICE_FORBIDDEN",
            "X-Kaltura-App": "exiting on error SERVICE_FORBIDDEN - The access to service [x] is forbidden",
        },
    )
    from cuepipe.kaltura import ServiceForbiddenError

    obj = fake.add(E1, name="A")  # something to serve (empty windows are not served)
    with pytest.raises(ServiceForbiddenError):
        client("pull", None)
    assert client("get", obj["id"])["systemName"] == "A"
    assert client("delete", [obj["id"]]) == [obj["id"]]
    assert client("delete", [obj["id"]], missing_ok=True) == []
    with pytest.raises(KalturaNotFoundError):
        client("delete", obj["id"])


# =============================================================================================
# Bulk upload jobs, redirects
# =============================================================================================


def test_bulk_upload_submit_wait_and_timeout(run, fake: FakeKaltura, tmp_path) -> None:
    path = tmp_path / "bulk.xml"
    path.write_bytes(b"<mrss><channel/></mrss>")
    fake.hooks["get"] = lambda p: httpx.Response(200, json=fake.do_get_job(int(p["id"])))
    client = run()
    job = client("bulk_uploads.submit", path)
    assert job.id == 100 and fake.jobs[100]["file"] == path.read_bytes()
    params = next(p for a, p in fake.calls if a == "addEntries")
    assert params["bulkUploadData[objectType]"] == "KalturaBulkUploadXmlJobData"
    fake.job_statuses = [0, 1, 2, 5]
    polls: list[Any] = []
    done = client("bulk_uploads.wait", job.id, poll_interval=0.01, progress=polls.append)
    assert done.succeeded and [p.detail for p in polls] == ["PENDING", "QUEUED", "PROCESSING", "FINISHED"]
    fake.job_statuses = [2]
    with pytest.raises(JobTimeoutError) as info:
        client("bulk_uploads.wait", job.id, timeout=0.05, poll_interval=0.01)
    assert info.value.job is not None and info.value.job.status == 2 and "PROCESSING" in str(info.value)


def test_file_action_redirect_is_followed_without_the_ks_in_the_url(run, fake: FakeKaltura) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "kaltura.test":
            return httpx.Response(
                302,
                headers={
                    "Location": "https://dc2.kaltura.test/api_v3/service/bulkupload_bulk/action/serveLog/id/5/ks/LEAK"
                },
            )
        return httpx.Response(200, content=b"<mrss>log</mrss>", headers={"content-type": "text/xml"})

    client = run(handler=handler)
    assert client("bulk_uploads.serve_log", 5) == b"<mrss>log</mrss>"
    assert str(seen[1].url) == "https://dc2.kaltura.test/api_v3/service/bulkupload_bulk/action/serveLog/id/5"
    assert "ks=" in seen[1].content.decode() and "LEAK" not in str(seen[1].url)
    assert strip_ks_from_url("http://h/a/ks/XYZ/id/3?ks=1&b=2") == "http://h/a/id/3?b=2"


# =============================================================================================
# Secrets never leak
# =============================================================================================


def test_secrets_are_absent_from_reprs_logs_and_errors(run, fake: FakeKaltura, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    fake.add(E1)
    client = run()
    client("count", {"entryIdEqual": E1})
    ks = client.client.session.ks
    texts = [repr(client.client), str(client.client.session), repr(client.client._engine.auth)]
    # an INVALID_KS answer that echoes the KS, a retried 503, a lost upload, a failed job wait
    fake.hooks["count"] = lambda p: httpx.Response(
        200,
        json=api_error(
            "INVALID_KS", f'Invalid KS "{p["ks"]}", Error "-1,INVALID_STR"', {"KSID": p["ks"], "ERR_CODE": "-1"}
        ),
    )
    static = run(ks=ks, partner_id=None, admin_secret=None)
    errors: list[BaseException] = []
    for call in (
        lambda: static("count", {"entryIdEqual": E1}),
        lambda: client("push", [ann(E1, 0)]),
        lambda: client("bulk_uploads.get", 1),
    ):
        fake.lose["addFromBulk"] = 1
        fake.hooks["get"] = lambda p: httpx.Response(500, content=f"trace ks={ks} secret={SECRET}".encode())
        try:
            call()
        except Exception as exc:
            errors.append(exc)
    assert len(errors) == 3
    for exc in errors:
        texts += [str(exc), repr(exc), str(getattr(exc, "cause", ""))]
        if exc.__cause__ is not None:
            texts.append(str(exc.__cause__))
    texts.append(caplog.text)
    assert "INVALID_KS" in texts[3] and "retry" in caplog.text
    for text in texts:
        assert ks not in text and SECRET not in text, text
    assert json.dumps([str(e) for e in errors]).count("***") >= 2

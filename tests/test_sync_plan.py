"""plan/apply against the emulator: random server states and random desired tables converge.

Property: for any server state and any desired table over several entries and the types bulk XML
can write, ``plan`` then ``apply`` leaves the server holding exactly the table (for its columns),
and planning the same table again shows no changes. Also with faults injected during apply
(partial commit, connection reset, HTTP 5xx) followed by a re-run with the journal.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cuepipe import frames
from cuepipe.client import Client, Retries
from cuepipe.emulator import EmulatorServer
from cuepipe.emulator.faults import Fault
from cuepipe.sync import Plan, PlanError, StalePlanError, plan
from cuepipe.sync import _fields as F

from .helpers import EmulatorFactory

PARTNER, ADMIN = 321, "sync-secret"
ENTRIES = [f"0_sp{i:04d}" for i in range(600)]
FAST = Retries(max_retries=4, backoff=0.01, max_backoff=0.05)
UPLOAD = "cuepoint.addFromBulk"

TYPES = [
    "annotation.Annotation",
    "adCuePoint.Ad",
    "codeCuePoint.Code",
    "quiz.QUIZ_QUESTION",
    "sessionCuePoint.Session",
    "thumbCuePoint.Thumb",
]
COLUMNS = [
    "cuePointType",
    "entryId",
    "systemName",
    "startTime",
    "endTime",
    "tags",
    "text",
    "parentSystemName",
    "title",
    "sourceUrl",
    "adType",
    "protocolType",
    "code",
    "description",
    "question",
    "hint",
    "explanation",
    "name",
    "subType",
]


@pytest.fixture(scope="module")
def server(start_emulator: EmulatorFactory) -> EmulatorServer:
    return start_emulator(partner_id=PARTNER, admin_secret=ADMIN, entries=ENTRIES, fault_admin=True)


_pool = iter(ENTRIES)


def fresh(n: int) -> list[str]:
    return [next(_pool) for _ in range(n)]


def client(srv: EmulatorServer, **kwargs: Any) -> Client:
    kwargs.setdefault("retries", FAST)
    return Client(srv.url, partner_id=PARTNER, admin_secret=ADMIN, **kwargs)


words = st.sampled_from(["a", "b", "Chapter & <one>", "été", "日本", "x y"])
times = st.integers(min_value=0, max_value=600_000)


@st.composite
def values(draw: st.DrawFn, cue_type: str) -> dict[str, Any]:
    """Managed values of one cue point; fields addFromBulk cannot clear always get a value."""
    rec: dict[str, Any] = {"startTime": draw(times), "tags": draw(st.sampled_from([None, "t1", "t1,t2"]))}
    if cue_type == "annotation.Annotation":
        rec.update(endTime=draw(times), text=draw(words))
    elif cue_type == "adCuePoint.Ad":
        rec.update(
            endTime=draw(times),
            title=draw(words),
            sourceUrl=draw(st.sampled_from(["https://a.example/v", "https://b.example/v?x=1&y=2"])),
            adType=draw(st.sampled_from(["1", "2"])),
            protocolType=draw(st.sampled_from(["0", "1", "2", "3"])),
        )
    elif cue_type == "codeCuePoint.Code":
        rec.update(endTime=draw(times), code=draw(words), description=draw(words))
    elif cue_type == "thumbCuePoint.Thumb":  # title etc. travel through cuePoint.update
        rec.update(title=draw(words), description=draw(words), subType=draw(st.sampled_from([1, 2])))
    elif cue_type == "quiz.QUIZ_QUESTION":
        rec.update(question=draw(words), hint=draw(words), explanation=draw(words))
    else:
        rec.update(endTime=draw(times), name=draw(words))
    return rec


@st.composite
def scenario(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]], bool]:
    """(server keyed records, server unkeyed records, desired rows, prune) over three fresh entries."""
    entries = fresh(3)
    server: list[dict[str, Any]] = []
    unkeyed: list[dict[str, Any]] = []
    desired: list[dict[str, Any]] = []
    for entry in entries:
        n_server = draw(st.integers(0, 5))
        for i in range(n_server):
            t = draw(st.sampled_from(TYPES))
            server.append({"cuePointType": t, "entryId": entry, "systemName": f"S{i}", **draw(values(t))})
        for _ in range(draw(st.integers(0, 1))):
            unkeyed.append(
                {"cuePointType": "annotation.Annotation", "entryId": entry, **draw(values("annotation.Annotation"))}
            )
        for rec in [r for r in server if r["entryId"] == entry]:
            fate = draw(st.sampled_from(["drop", "same", "modify", "modify"]))
            if fate == "same":
                desired.append(dict(rec))
            elif fate == "modify":
                desired.append(
                    {
                        **{k: rec[k] for k in ("cuePointType", "entryId", "systemName")},
                        **draw(values(rec["cuePointType"])),
                    }
                )
        for i in range(draw(st.integers(0, 4))):
            t = draw(st.sampled_from(TYPES))
            desired.append({"cuePointType": t, "entryId": entry, "systemName": f"N{i}", **draw(values(t))})
        # Children: new annotations under another annotation of the table.
        names = [
            r["systemName"] for r in desired if r["entryId"] == entry and r["cuePointType"] == "annotation.Annotation"
        ]
        if names and draw(st.booleans()):
            desired.append(
                {
                    "cuePointType": "annotation.Annotation",
                    "entryId": entry,
                    "systemName": "CHILD",
                    "parentSystemName": draw(st.sampled_from(names)),
                    **draw(values("annotation.Annotation")),
                }
            )
    return server, unkeyed, desired, draw(st.booleans())


def table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame([{c: r.get(c) for c in COLUMNS} for r in rows], columns=COLUMNS)


def server_state(api: Client, entries: list[str]) -> list[dict[str, Any]]:
    return list(frames.frame_to_records(api.pull({"entryIdIn": entries}, precision="ms")))


def assert_holds_exactly(
    api: Client, entries: list[str], desired: list[dict[str, Any]], before: list[dict[str, Any]], prune: bool
) -> None:
    now = server_state(api, entries)
    keyed = {(r["entryId"], r["systemName"]): r for r in now if r.get("systemName")}
    assert len(keyed) == sum(1 for r in now if r.get("systemName")), "a key is on the server twice"
    for want in desired:
        got = keyed.get((want["entryId"], want["systemName"]))
        assert got is not None, want
        assert got["cuePointType"] == want["cuePointType"]
        for column in F.managed_fields(want["cuePointType"]):
            if column in COLUMNS and column not in ("parentId",):
                assert plain(got.get(column)) == plain(want.get(column)), (column, want, got)
    wanted = {(r["entryId"], r["systemName"]) for r in desired}
    old_keyed = {(r["entryId"], r["systemName"]) for r in before if r.get("systemName")}
    extra = set(keyed) - wanted
    assert extra == (set() if prune else old_keyed - wanted)
    assert sum(1 for r in now if not r.get("systemName")) == sum(1 for r in before if not r.get("systemName"))


def plain(value: Any) -> Any:
    """A value compared independently of the code under test: missing and "" are None, numbers as text."""
    if value is None or value is pd.NA or value == "":
        return None
    return str(value)


def entries_of(rows: list[dict[str, Any]]) -> list[str]:
    return sorted({r["entryId"] for r in rows})


def seed(api: Client, server: list[dict[str, Any]], unkeyed: list[dict[str, Any]]) -> None:
    if server or unkeyed:
        api.push(server + unkeyed)


SETTINGS = settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


@SETTINGS
@given(case=scenario())
def test_plan_then_apply_makes_the_server_hold_the_table(server: EmulatorServer, case: Any) -> None:
    keyed, unkeyed, desired, prune = case
    entries = sorted({r["entryId"] for r in keyed + unkeyed + desired}) or fresh(1)
    with client(server) as api:
        seed(api, keyed, unkeyed)
        before = server_state(api, entries)
        p = plan(api, table(desired), entries=entries, prune=prune)
        assert not p.errors, str(p)
        p.apply(api)
        assert_holds_exactly(api, entries, desired, before, prune)
        again = plan(api, table(desired), entries=entries, prune=prune)
        assert not again.has_changes and not again.errors, str(again)


FAULTS = {
    "partial commit": Fault("partial", commit=2, action=UPLOAD),
    "reset mid-upload": Fault("reset", at_bytes=300, action=UPLOAD),
    "reset after commit": Fault("reset", action=UPLOAD, phase="after"),
    "503 after commit": Fault("error", status=503, action=UPLOAD, phase="after", times=3),
    "500 on delete": Fault("error", status=500, action="cuepoint.delete", phase="after"),
}


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(case=scenario(), fault=st.sampled_from(sorted(FAULTS)))
def test_apply_under_faults_then_a_rerun_converges(server: EmulatorServer, case: Any, fault: str) -> None:
    keyed, unkeyed, desired, prune = case
    entries = sorted({r["entryId"] for r in keyed + unkeyed + desired}) or fresh(1)
    journal = Path(tempfile.mkdtemp(prefix="cuepipe-sync-")) / "apply.sqlite"
    with client(server, retries=Retries(max_retries=0)) as api:
        seed(api, keyed, unkeyed)
        before = server_state(api, entries)
        p = plan(api, table(desired), entries=entries, prune=prune)
        assert not p.errors, str(p)
        server.faults.replace([FAULTS[fault]])
        try:
            p.apply(api, journal=journal)
        except Exception as exc:  # the fault may end the first run: that is the point
            assert not isinstance(exc, StalePlanError), exc
        finally:
            server.faults.clear()
    with client(server) as api:
        p.apply(api, journal=journal)  # the same plan again: finishes what the fault interrupted
        assert_holds_exactly(api, entries, desired, before, prune)
        again = plan(api, table(desired), entries=entries, prune=prune)
        assert not again.has_changes, str(again)


# ---------------------------------------------------------------------------------------------
# Plans: staleness, problems, display, files
# ---------------------------------------------------------------------------------------------


def test_a_cue_point_changed_after_planning_stops_apply_before_any_write(server: EmulatorServer) -> None:
    (entry,) = fresh(1)
    rows = [
        {
            "cuePointType": "annotation.Annotation",
            "entryId": entry,
            "systemName": "A",
            "startTime": 0,
            "endTime": 5,
            "text": "a",
        },
        {
            "cuePointType": "annotation.Annotation",
            "entryId": entry,
            "systemName": "B",
            "startTime": 9,
            "endTime": 9,
            "text": "b",
        },
    ]
    with client(server) as api:
        api.push(rows)
        want = [dict(rows[0], text="new A"), dict(rows[1], text="new B"), dict(rows[0], systemName="C")]
        p = plan(api, want)
        assert p.counts() == {"create": 1, "update": 2, "delete": 0, "unchanged": 0}
        api.push([dict(rows[1], text="someone else")])  # a colleague edits B meanwhile
        before = server_state(api, [entry])
        with pytest.raises(StalePlanError, match="key 'B'.*someone else") as info:
            p.apply(api)
        assert [k for _, k, _ in info.value.changes] == ["B"]
        assert server_state(api, [entry]) == before  # nothing written, also not A or C
        # A cue point created meanwhile under a planned new key stops it too.
        p2 = plan(api, [dict(rows[0], systemName="D")])
        api.push([dict(rows[0], systemName="D", text="theirs")])
        with pytest.raises(StalePlanError, match="planned as new"):
            p2.apply(api)


def test_problems_name_their_rows(server: EmulatorServer) -> None:
    e1, e2 = fresh(2)
    base = {"cuePointType": "annotation.Annotation", "startTime": 0, "endTime": 1}
    with client(server) as api:
        api.push(
            [
                {**base, "entryId": e1, "systemName": "TXT", "text": "keep me"},
                {
                    **base,
                    "entryId": e1,
                    "systemName": "AD",
                    "cuePointType": "adCuePoint.Ad",
                    "adType": "1",
                    "protocolType": "1",
                    "text": None,
                },
                {**base, "entryId": e1},  # no key
            ]
        )
        desired = pd.DataFrame(
            [
                {**base, "entryId": e1, "systemName": "DUP", "text": "1"},
                {**base, "entryId": e1, "systemName": "DUP", "text": "2"},
                {**base, "entryId": e1, "systemName": "TXT", "text": None},
                {**base, "entryId": e1, "systemName": "AD", "text": "now an annotation"},
                {**base, "entryId": e1, "systemName": "KID", "parentSystemName": "NOBODY", "text": "x"},
                {**base, "entryId": e2, "text": "no key"},
                {**base, "entryId": e2, "systemName": "BAD", "startTime": -5, "text": "x"},
            ]
        )
        p = plan(api, desired)
    errors = {(e.row, e.message.split(" ")[0]) for e in p.errors}
    by_row = {e.row: e.message for e in p.errors}
    assert "duplicate key" in by_row[1]
    assert "cannot clear 'text'" in by_row[2]
    assert "adCuePoint.Ad" in by_row[3] and "skips" in by_row[3]
    assert "parent 'NOBODY' will not exist" in by_row[4]
    assert "neither a systemName nor an id" in by_row[5]
    assert "startTime" in by_row[6]
    assert len(errors) == 6
    assert p.unkeyed == {e1: 1}
    with client(server) as api, pytest.raises(PlanError, match="6 error"):
        p.apply(api)


def test_duplicates_on_the_server_and_columns_left_alone(server: EmulatorServer) -> None:
    (entry,) = fresh(1)
    ann = {"cuePointType": "annotation.Annotation", "entryId": entry, "startTime": 0, "endTime": 10}
    with client(server) as api:
        api.push([{**ann, "systemName": "ONE", "text": "old text", "tags": "keep,these"}])
        # The table has no tags column: tags stay although addFromBulk clears absent tags.
        p = plan(api, [{**ann, "systemName": "ONE", "text": "new text"}])
        assert [(c.action, list(c.diff)) for c in p.changes] == [("update", ["text"])]
        p.apply(api)
        (got,) = server_state(api, [entry])
        assert got["text"] == "new text" and got["tags"] == "keep,these"
        # Old data can hold one systemName twice: planning that key is an error, other keys warn.
        api.push([{**ann, "systemName": "TWICE", "text": "1"}])
        api.push([{**ann, "systemName": "TWICE_TMP", "text": "2"}])
        tmp = [r for r in server_state(api, [entry]) if r["systemName"] == "TWICE_TMP"][0]
        api.push([{**ann, "id": tmp["id"], "systemName": "TWICE", "text": "2"}])  # an update by id renames it
        p = plan(api, [{**ann, "systemName": "TWICE", "text": "3"}])
        assert any("already has 2 cue points" in e.message for e in p.errors), str(p)
        p = plan(api, [{**ann, "systemName": "ONE", "text": "new text"}])
        assert not p.errors and any("2 cue points with this systemName" in w.message for w in p.warnings)


def test_plan_shows_itself_and_round_trips_through_a_file(server: EmulatorServer, tmp_path: Path) -> None:
    (entry,) = fresh(1)
    ann = {"cuePointType": "annotation.Annotation", "entryId": entry, "startTime": 0, "endTime": 10}
    with client(server) as api:
        api.push(
            [
                {**ann, "systemName": "KEEP", "text": "k"},
                {**ann, "systemName": "EDIT", "text": "old"},
                {**ann, "systemName": "GONE", "text": "g"},
            ]
        )
        desired = [
            {**ann, "systemName": "KEEP", "text": "k"},
            {**ann, "systemName": "EDIT", "text": "new"},
            {**ann, "systemName": "NEW", "text": "n"},
        ]
        p = plan(api, desired, prune=True)
        text = str(p)
        assert f"entry {entry}:" in text
        assert "+ Annotation 'NEW'" in text and "~ Annotation 'EDIT'" in text and "- Annotation 'GONE'" in text
        assert 'text: "old" -> "new"' in text
        assert "Plan: 1 to create, 1 to update, 1 to delete, 1 unchanged" in text
        summary = p.summary()
        assert summary.to_dict("records") == [
            {"entryId": entry, "create": 1, "update": 1, "delete": 1, "unchanged": 1, "unkeyed": 0}
        ]
        frame = p.to_frame()
        assert list(frame["action"]) == ["update", "create", "delete"]
        assert frame.loc[frame["action"] == "update", "diff"].item() == 'text: "old" -> "new"'
        saved = p.save(tmp_path / "plan.json")
        loaded = Plan.load(saved)
        assert loaded.fingerprint == p.fingerprint and loaded.entries == [entry]
        assert str(loaded) == text
        loaded.apply(api)
        assert not plan(api, desired, prune=True).has_changes
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(PlanError, match="not a readable plan"):
        Plan.load(tmp_path / "bad.json")
    (tmp_path / "other.json").write_text('{"format": "something else"}')
    with pytest.raises(PlanError, match="not a cuepipe plan"):
        Plan.load(tmp_path / "other.json")


def test_a_plan_belongs_to_its_server_and_partner(server: EmulatorServer) -> None:
    (entry,) = fresh(1)
    ann = {"cuePointType": "annotation.Annotation", "entryId": entry, "systemName": "X", "startTime": 0, "endTime": 1}
    with client(server) as api:
        p = plan(api, [ann])
    p.partner_id = PARTNER + 1
    with client(server) as api, pytest.raises(PlanError, match=f"partner {PARTNER + 1}"):
        p.apply(api)


def test_an_entry_that_does_not_exist_is_a_plan_error(server: EmulatorServer) -> None:
    (entry,) = fresh(1)
    ann = {"cuePointType": "annotation.Annotation", "startTime": 0, "endTime": 1, "text": "x"}
    with client(server) as api:
        p = plan(api, [{**ann, "entryId": entry, "systemName": "A"}, {**ann, "entryId": "0_nosuch", "systemName": "B"}])
    assert [(e.row, e.message) for e in p.errors] == [(1, "entry 0_nosuch does not exist for this partner")]

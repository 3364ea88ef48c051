"""cuepipe.copy between two partners of the emulator: every type once, parents and answers relinked,
times shifted and cut, re-runs write nothing new, skips reported with reasons, resumable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cuepipe.client import Client, Retries
from cuepipe.emulator import EmulatorServer
from cuepipe.emulator.app import Partner
from cuepipe.sync import CopyError, CopyReport, TimeMap, TimeMapError, copy, parse_duration_ms, parse_segments
from cuepipe.sync.copy import stable_key
from cuepipe.sync.typed import TypedWrite, write_typed

from .helpers import EmulatorFactory

SRC, DST = 401, 402
SRC_SECRET, DST_SECRET = "source-secret", "target-secret"
PAIRS = [(f"0_cs{i:03d}", f"0_ct{i:03d}") for i in range(150)]
_pool = iter(PAIRS)


@pytest.fixture(scope="module")
def server(start_emulator: EmulatorFactory) -> EmulatorServer:
    entries = [(SRC, s) for s, _ in PAIRS] + [(DST, t) for _, t in PAIRS]
    return start_emulator(partners=[Partner(SRC, SRC_SECRET), Partner(DST, DST_SECRET)], entries=entries)


def clients(srv: EmulatorServer, **kwargs: Any) -> tuple[Client, Client]:
    kwargs.setdefault("retries", Retries(max_retries=3, backoff=0.01, max_backoff=0.05))
    return (
        Client(srv.url, partner_id=SRC, admin_secret=SRC_SECRET, **kwargs),
        Client(srv.url, partner_id=DST, admin_secret=DST_SECRET, **kwargs),
    )


def pull(api: Client, entry: str) -> pd.DataFrame:
    return api.pull({"entryIdEqual": entry}, precision="ms")


def every_type(api: Client, entry: str) -> None:
    """One cue point of each type bulk XML writes, with parents, an unkeyed one and a titled chapter."""
    ann = {"cuePointType": "annotation.Annotation", "entryId": entry}
    api.push(
        [
            {**ann, "systemName": "CH1", "startTime": 0, "endTime": 60_000, "text": "chapter", "tags": "chaptering"},
            {**ann, "systemName": "NOTE", "parentSystemName": "CH1", "startTime": 1_000, "endTime": 2_000, "text": "n"},
            {**ann, "systemName": "SUB", "parentSystemName": "NOTE", "startTime": 1_500, "endTime": 1_800, "text": "s"},
            {
                "cuePointType": "adCuePoint.Ad",
                "entryId": entry,
                "systemName": "AD",
                "startTime": 5_000,
                "endTime": 35_000,
                "adType": "1",
                "protocolType": "2",
                "title": "mid",
                "sourceUrl": "https://ads.example/v?a=1&b=2",
            },
            {
                "cuePointType": "codeCuePoint.Code",
                "entryId": entry,
                "systemName": "CODE",
                "startTime": 7_000,
                "code": "X",
            },
            {
                "cuePointType": "thumbCuePoint.Thumb",
                "entryId": entry,
                "systemName": "SLIDE",
                "startTime": 9_000,
                "title": "ignored by bulk",
                "description": "ignored",
            },
            {
                "cuePointType": "quiz.QUIZ_QUESTION",
                "entryId": entry,
                "systemName": "Q",
                "startTime": 11_000,
                "question": "Why?",
                "optionalAnswers": [{"key": "1", "text": "yes", "isCorrect": 1}, {"key": "2", "text": "no"}],
            },
            {
                "cuePointType": "sessionCuePoint.Session",
                "entryId": entry,
                "systemName": "S",
                "startTime": 0,
                "endTime": 90_000,
                "name": "s",
            },
            {**ann, "startTime": 13_000, "endTime": 14_000, "text": "no system name"},
        ]
    )
    got = pull(api, entry).set_index("systemName", drop=False)
    slide = str(got.loc["SLIDE", "id"])
    write_typed(api, [TypedWrite(slide, "thumbCuePoint.Thumb", {"title": "Intro", "description": "d", "subType": 2})])
    question = str(got.loc["Q", "id"])
    api.push(
        [
            {
                "cuePointType": "quiz.QUIZ_ANSWER",
                "entryId": entry,
                "systemName": "A1",
                "startTime": 12_000,
                "parentId": question,
                "answerKey": "1",
                "quizUserEntryId": "77",
            }
        ]
    )


MANAGED = [
    "cuePointType",
    "startTime",
    "endTime",
    "text",
    "tags",
    "title",
    "description",
    "subType",
    "code",
    "question",
    "name",
]


def test_every_type_arrives_once_linked_and_a_rerun_writes_nothing(server: EmulatorServer) -> None:
    s_entry, t_entry = next(_pool)
    src, dst = clients(server)
    with src, dst:
        every_type(src, s_entry)
        source = pull(src, s_entry)
        report = copy(src, dst, entry_map={s_entry: t_entry}, answers="copy")
        target = pull(dst, t_entry)
        assert len(target) == len(source) == 10
        assert target["systemName"].is_unique
        frame = report.to_frame()
        assert set(frame["action"]) == {"created"}, frame
        ids = report.id_map
        assert set(ids) == set(source["id"]) and set(ids.values()) == set(target["id"])
        # The unkeyed source cue point got the documented stable key.
        unkeyed = source[source["systemName"].isna()]["id"].item()
        assert target.set_index("id").loc[ids[unkeyed], "systemName"] == f"cuepipe-src:{unkeyed}"
        # Values, by key, and parents relinked to the target's ids.
        s = source.assign(systemName=source["systemName"].fillna("cuepipe-src:" + source["id"])).set_index("systemName")
        t = target.set_index("systemName")
        for column in MANAGED:
            assert (
                s[column].astype("string").fillna("-").to_dict()
                == t.loc[s.index, column].astype("string").fillna("-").to_dict()
            ), column
        assert t.loc["SLIDE", "title"] == "Intro" and t.loc["SLIDE", "subType"] == 2  # not lost by addFromBulk
        assert t.loc["NOTE", "parentId"] == t.loc["CH1", "id"] and t.loc["SUB", "parentId"] == t.loc["NOTE", "id"]
        assert t.loc["A1", "parentId"] == t.loc["Q", "id"] and t.loc["A1", "parentId"] != s.loc["A1", "parentId"]
        assert t.loc["Q", "optionalAnswers"] == s.loc["Q", "optionalAnswers"]
        # A re-run: everything unchanged, nothing new, same ids.
        again = copy(src, dst, entry_map={s_entry: t_entry}, answers="copy")
        assert set(again.to_frame()["action"]) == {"unchanged"}
        assert again.id_map == ids
        assert len(pull(dst, t_entry)) == 10
        assert "Copied: 0 created, 0 updated, 10 unchanged, 0 skipped (of 10 read)" in str(again)


def test_skips_are_reported_with_reasons(server: EmulatorServer, tmp_path: Path) -> None:
    s_entry, t_entry = next(_pool)
    src, dst = clients(server)
    with src, dst:
        every_type(src, s_entry)
        report = copy(src, dst, entry_map={s_entry: t_entry}, thumbs="skip", types=None)
        frame = report.to_frame().set_index("systemName", drop=False)
        skipped = report.skipped
        assert sorted(skipped["cuePointType"]) == ["quiz.QUIZ_ANSWER", "thumbCuePoint.Thumb"]
        assert skipped["reason"].str.contains("quizUserEntryId").sum() == 1
        assert skipped["reason"].str.contains("thumbnail assets").sum() == 1
        assert len(pull(dst, t_entry)) == 8
        summary = report.summary().set_index("cuePointType")
        assert summary.loc["annotation.Annotation", "created"] == 4
        assert summary.loc["quiz.QUIZ_ANSWER", "skipped"] == 1
        report.to_csv(tmp_path / "ids.csv")
        back = pd.read_csv(tmp_path / "ids.csv", dtype=str)
        assert list(back.columns) == list(frame.columns) and len(back) == 10
        report.to_parquet(tmp_path / "ids.parquet")
        assert len(pd.read_parquet(tmp_path / "ids.parquet")) == 10
        # types= narrows; the rest is reported as not selected
        (s2, t2) = next(_pool)
        every_type(src, s2)
        only = copy(src, dst, entry_map={s2: t2}, types=["annotation"])
        assert (only.to_frame()["action"] == "created").sum() == 4
        assert set(only.skipped["reason"]) == {"type not selected"}


def test_times_shifted_and_cut_parts_dropped(server: EmulatorServer) -> None:
    s_entry, t_entry = next(_pool)
    src, dst = clients(server)
    ann = {"cuePointType": "annotation.Annotation", "entryId": s_entry}
    with src, dst:
        src.push(
            [
                {**ann, "systemName": "EARLY", "startTime": 5_000, "endTime": 6_000, "text": "kept"},
                {**ann, "systemName": "LONG", "startTime": 8_000, "endTime": 25_000, "text": "clipped"},
                {**ann, "systemName": "CUT", "startTime": 15_000, "endTime": 16_000, "text": "in the cut"},
                {
                    **ann,
                    "systemName": "CUTKID",
                    "parentSystemName": "CUT",
                    "startTime": 25_000,
                    "endTime": 26_000,
                    "text": "kid",
                },
                {**ann, "systemName": "LATE", "startTime": 25_000, "endTime": 30_000, "text": "moved back"},
            ]
        )
        report = copy(src, dst, entry_map={s_entry: t_entry}, shift_ms=1_500, keep=[(0, 10_000), (20_000, 40_000)])
        t = pull(dst, t_entry).set_index("systemName")
        assert sorted(t.index) == ["EARLY", "LATE", "LONG"]
        assert (t.loc["EARLY", "startTime"], t.loc["EARLY", "endTime"]) == (6_500, 7_500)
        assert (t.loc["LONG", "startTime"], t.loc["LONG", "endTime"]) == (9_500, 11_500)
        assert (t.loc["LATE", "startTime"], t.loc["LATE", "endTime"]) == (16_500, 21_500)
        rows = report.to_frame().set_index("systemName", drop=False)
        reasons = report.skipped.set_index("sourceId")["reason"].tolist()
        assert any("inside a part the target media cut" in r for r in reasons)
        assert any("its parent" in r and "was not copied" in r for r in reasons)
        assert rows.loc["LONG", "note"] == "end time clipped to the end of the kept segment"


def test_more_than_a_thousand_cue_points_and_a_copy_inside_one_partner(server: EmulatorServer) -> None:
    s_entry, t_entry = next(_pool)
    other, _ = next(_pool)
    src, _dst = clients(server)
    n = 1_234
    with src, _dst:
        src.push(
            [
                {
                    "cuePointType": "codeCuePoint.Code",
                    "entryId": s_entry,
                    "systemName": f"C{i:05d}",
                    "startTime": i * 10,
                    "code": str(i),
                }
                for i in range(n)
            ],
            chunk_size=500,
        )
        report = copy(src, src, entry_map={s_entry: other})  # same partner: entry to entry
        assert (report.to_frame()["action"] == "created").sum() == n
        got = pull(src, other)
        assert len(got) == n and got["systemName"].is_unique
        assert sorted(got["startTime"]) == [i * 10 for i in range(n)]


class Crash(httpx.HTTPTransport):
    """Dies like kill -9 right after the server processed the n-th upload (nothing in cuepipe catches it)."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n, self.uploads = n, 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if request.url.path.endswith("/addFromBulk"):
            self.uploads += 1
            if self.uploads == self.n:
                response.read()
                raise KeyboardInterrupt
        return response


def test_a_crashed_copy_resumes_from_its_journal_exactly_once(server: EmulatorServer, tmp_path: Path) -> None:
    s_entry, t_entry = next(_pool)
    src, dst = clients(server)
    journal = tmp_path / "copy.sqlite"
    with src:
        src.push(
            [
                {
                    "cuePointType": "annotation.Annotation",
                    "entryId": s_entry,
                    "startTime": i,
                    "endTime": i + 1,
                    "text": f"{i}",
                }
                for i in range(120)
            ]
        )
        crashing = Client(server.url, partner_id=DST, admin_secret=DST_SECRET, transport=Crash(3))
        with crashing, pytest.raises(KeyboardInterrupt):  # uploads 1-3 of 5 landed, 3 unconfirmed
            copy(src, crashing, entry_map={s_entry: t_entry}, journal=journal, chunk_size=25)
        with dst:
            report = copy(src, dst, entry_map={s_entry: t_entry}, journal=journal, chunk_size=25)
            got = pull(dst, t_entry)
    assert len(got) == 120 and got["systemName"].is_unique
    assert report.result.resumed == 2  # uploads 1 and 2 taken from the journal, 3 checked, 4-5 sent
    actions = report.to_frame()["action"].value_counts().to_dict()
    assert report.result.created == 45 and actions == {"unchanged": 75, "created": 45}
    assert len(report.id_map) == 120


def test_bad_arguments_fail_clearly(server: EmulatorServer) -> None:
    src, dst = clients(server)
    with src, dst:
        with pytest.raises(CopyError, match="empty"):
            copy(src, dst, entry_map={})
        with pytest.raises(CopyError, match="answers must be"):
            copy(src, dst, entry_map={"0_a": "0_b"}, answers="maybe")  # type: ignore[arg-type]
        with pytest.raises(CopyError, match="unknown cue point type"):
            copy(src, dst, entry_map={"0_a": "0_b"}, types=["chapter"])
        with pytest.raises(TimeMapError, match="overlaps"):
            copy(src, dst, entry_map={"0_a": "0_b"}, keep=[(0, 10), (5, 20)])


def test_stable_keys_fit_120_characters() -> None:
    assert stable_key({"id": "0_abc", "systemName": "KEEP"}) == "KEEP"
    assert stable_key({"id": "0_abc", "systemName": None}) == "cuepipe-src:0_abc"
    long = stable_key({"id": "x" * 200})
    assert len(long) <= 120 and long.startswith("cuepipe-src:sha256:")
    assert long == stable_key({"id": "x" * 200}) != stable_key({"id": "x" * 199 + "y"})


segments = st.lists(st.tuples(st.integers(0, 50_000), st.integers(1, 20_000)), min_size=1, max_size=5).map(
    lambda gaps: [(a, a + n) for a, n in _layout(gaps)]
)


def _layout(gaps: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out, t = [], 0
    for gap, length in gaps:
        t += gap
        out.append((t, length))
        t += length
    return out


@settings(max_examples=200, deadline=None)
@given(keep=segments, shift=st.integers(-5_000, 5_000), times=st.lists(st.integers(0, 200_000), max_size=30))
def test_time_map_keeps_order_and_drops_exactly_the_cut_parts(
    keep: list[tuple[int, int]], shift: int, times: list[int]
) -> None:
    tm = TimeMap(shift, keep)
    total = sum(b - a for a, b in keep)
    mapped = []
    for t in sorted(times):
        m = tm.map(t, t + 1_000)
        inside = any(a <= t < b for a, b in keep)
        if not inside:
            assert m.dropped and "cut" in m.dropped
            continue
        if m.dropped:
            assert "before the target's start" in m.dropped and m.start is None
            continue
        assert m.start is not None and m.end is not None
        assert 0 <= m.start < total + shift and m.start <= m.end <= total + shift
        mapped.append(m.start)
    assert mapped == sorted(mapped)


def test_durations_and_segments_parse_or_say_why() -> None:
    assert parse_duration_ms("1500ms") == 1500 == parse_duration_ms("1.5s")
    assert parse_duration_ms("-2s") == -2000 and parse_duration_ms("1:30") == 90_000
    assert parse_segments("0:00-5:00,7:30-20:00") == [(0, 300_000), (450_000, 1_200_000)]
    for bad in ("soon", "1.5", "1:99"):
        with pytest.raises(TimeMapError):
            parse_duration_ms(bad)
    with pytest.raises(TimeMapError, match="START-END"):
        parse_segments("0:00")
    with pytest.raises(TimeMapError, match="start < end"):
        parse_segments("5:00-1:00")


def test_report_is_a_plain_object() -> None:
    assert str(CopyReport()).startswith("Copied: 0 created")


@pytest.mark.slow
def test_more_than_ten_thousand_cue_points_on_one_entry(server: EmulatorServer) -> None:
    """Past the list window of 10,000 (see docs/emulator.md): all arrive once, a re-run adds nothing."""
    s_entry, t_entry = next(_pool)
    src, dst = clients(server)
    n = 10_050
    with src, dst:
        src.push(
            [
                {
                    "cuePointType": "adCuePoint.Ad",
                    "entryId": s_entry,
                    "systemName": f"A{i:06d}",
                    "startTime": i,
                    "adType": "1",
                    "protocolType": "1",
                }
                for i in range(n)
            ]
        )
        report = copy(src, dst, entry_map={s_entry: t_entry}, shift_ms=250)
        got = pull(dst, t_entry)
        assert len(got) == n and got["systemName"].is_unique
        assert sorted(got["startTime"]) == [i + 250 for i in range(n)]
        assert (report.to_frame()["action"] == "created").sum() == n
        again = copy(src, dst, entry_map={s_entry: t_entry}, shift_ms=250)
        assert (again.to_frame()["action"] == "unchanged").sum() == n
        assert dst.count({"entryIdEqual": t_entry}) == n


@st.composite
def copy_case(draw: st.DrawFn) -> tuple[list[dict[str, Any]], int, list[tuple[int, int]] | None]:
    """A source entry's cue points (annotations with parents, ads, codes, unkeyed ones) and a remap."""
    n = draw(st.integers(1, 12))
    recs: list[dict[str, Any]] = []
    for i in range(n):
        start = draw(st.integers(0, 100_000))
        kind = draw(st.sampled_from(["annotation.Annotation", "adCuePoint.Ad", "codeCuePoint.Code"]))
        rec: dict[str, Any] = {
            "cuePointType": kind,
            "startTime": start,
            "systemName": draw(st.sampled_from([f"K{i}", None])),
        }
        if kind == "annotation.Annotation":
            rec.update(endTime=start + draw(st.integers(0, 30_000)), text=f"t{i}")
            names = [r["systemName"] for r in recs if r["cuePointType"] == kind and r["systemName"]]
            if names and draw(st.booleans()):
                rec["parentSystemName"] = draw(st.sampled_from(names))
        elif kind == "adCuePoint.Ad":
            rec.update(endTime=start + 500, adType="1", protocolType="1", title=f"ad{i}")
        else:
            rec.update(code=f"c{i}")
        recs.append(rec)
    keep = draw(st.one_of(st.none(), st.just([(0, 40_000), (60_000, 90_000)]), st.just([(10_000, 100_001)])))
    return recs, draw(st.integers(-2_000, 2_000)), keep


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=copy_case())
def test_random_copies_land_once_with_mapped_times_and_links(server: EmulatorServer, case: Any) -> None:
    recs, shift, keep = case
    s_entry, t_entry = next(_pool)
    src, dst = clients(server)
    tm = TimeMap(shift, keep)
    with src, dst:
        src.push([{**r, "entryId": s_entry} for r in recs])
        source = pull(src, s_entry)
        report = copy(src, dst, entry_map={s_entry: t_entry}, shift_ms=shift, keep=keep)
        target = pull(dst, t_entry).set_index("id")
        rows = report.to_frame().set_index("sourceId")
        by_id = source.set_index("id")
        copied = rows[rows["action"] == "created"]
        assert len(target) == len(copied) and target["systemName"].is_unique
        for sid, row in rows.iterrows():
            rec = by_id.loc[sid]
            moved = tm.map(int(rec["startTime"]), None if pd.isna(rec["endTime"]) else int(rec["endTime"]))
            parent = rec["parentId"]
            if moved.dropped:
                assert row["action"] == "skipped" and row["reason"] == moved.dropped
                continue
            if not pd.isna(parent) and rows.loc[parent, "action"] == "skipped":
                assert row["action"] == "skipped" and "its parent" in row["reason"]
                continue
            got = target.loc[row["targetId"]]
            assert got["startTime"] == moved.start
            if moved.end is not None:
                assert got["endTime"] == moved.end
            if not pd.isna(parent):
                assert got["parentId"] == rows.loc[parent, "targetId"]
        again = copy(src, dst, entry_map={s_entry: t_entry}, shift_ms=shift, keep=keep)
        assert (again.to_frame()["action"] == "created").sum() == 0
        assert len(pull(dst, t_entry)) == len(target)

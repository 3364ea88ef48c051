"""Any input writes the same document: typed frames, user-built frames of every dtype family, dicts.

``write_xml`` of the frame ``read_xml`` returns, of the DataFrame a user builds from the same records
(object or ``str`` columns, float64 times with NaN, int64, pandas' ``string`` and Arrow dtypes, tags
as lists) and of the records themselves must give the same bytes; a value the format cannot carry
must give the same error (message, record, field) on the compiled path as on the pure-Python one
(``writer._speedups`` set to None here; ``make test`` also runs this module with
``CUEPIPE_NO_EXTENSIONS=1``). The compiled writer takes more shapes than it used to (whole float
times, tag lists, dict records column-wise: issue 13); these tests cover each new shape, its
edges, and what it must still hand to the Python renderer.
"""

from __future__ import annotations

import collections
import collections.abc
import os
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cuepipe
from cuepipe import frames
from cuepipe import vocabulary as voc
from cuepipe.errors import CuePointValueError
from cuepipe.values import DAY_MS
from cuepipe.xml import writer

from .strategies import records

PURE_RUN = os.environ.get("CUEPIPE_NO_EXTENSIONS") == "1"
TEXT_COLUMNS = [c for c, d in frames.DTYPES.items() if d == "string" and c != "tags"]
TIME_COLUMNS = [f.column for f in voc.COLUMNS if f.kind == "time"]


def outcome(data: Any, monkeypatch: pytest.MonkeyPatch, compiled: bool, **kw: Any) -> Any:
    with monkeypatch.context() as m:
        if not compiled:
            m.setattr(writer, "_speedups", None)
        try:
            return cuepipe.write_xml(data, **kw)
        except CuePointValueError as exc:
            return ("error", str(exc), exc.record, exc.field)


def same_both_ways(data: Any, monkeypatch: pytest.MonkeyPatch, **kw: Any) -> Any:
    """The compiled and the pure-Python writer give the same bytes, or the same error.

    An iterator is copied first: each path gets its own (equal) records.
    """
    if isinstance(data, collections.abc.Iterator):
        data = list(data)
        fast = outcome(iter(data), monkeypatch, True, **kw)
        slow = outcome(iter(data), monkeypatch, False, **kw)
    else:
        fast = outcome(data, monkeypatch, True, **kw)
        slow = outcome(data, monkeypatch, False, **kw)
    assert fast == slow
    return fast


def _present(df: pd.DataFrame, columns: list[str]) -> list[str]:
    return [c for c in columns if c in df.columns]


def user_frames(recs: list[dict[str, Any]]) -> dict[str, pd.DataFrame]:
    """The records as users build frames of them, one per dtype family."""
    default = pd.DataFrame(recs)  # pandas picks: str, int64, float64 with NaN, object
    text = _present(default, TEXT_COLUMNS)
    times = _present(default, TIME_COLUMNS)
    listed = [dict(r, tags=r["tags"].split(",")) if r.get("tags") else r for r in recs]
    tupled = [dict(r, tags=tuple(r["tags"].split(","))) if r.get("tags") else r for r in recs]
    out = {
        "object": pd.DataFrame(recs, dtype=object),
        "default": default,
        "string": default.astype(dict.fromkeys(text, "string")),
        "string[pyarrow]": default.astype(dict.fromkeys(text, "string[pyarrow]")),
        "arrow": default.convert_dtypes(dtype_backend="pyarrow"),
        "float times": default.astype(dict.fromkeys(times, "float64")),
        "Float64 times": default.astype(dict.fromkeys(times, "Float64")),
        "arrow float times": default.astype(dict.fromkeys(times, pd.ArrowDtype(pa.float64()))),
        "tag lists": pd.DataFrame(listed),
        "tag tuples": pd.DataFrame(tupled),
    }
    if "tags" in default.columns:
        tags = [r["tags"].split(",") if r.get("tags") else None for r in recs]
        arrow_tags = pd.Series(tags, dtype=pd.ArrowDtype(pa.list_(pa.string())))
        out["arrow tag lists"] = default.assign(tags=arrow_tags)
    return out


def assert_every_input_writes_the_same(recs: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch, **kw: Any):
    typed = frames.records_to_frame(recs)
    expected = same_both_ways(typed, monkeypatch, **kw)
    assert isinstance(expected, bytes)
    assert same_both_ways(recs, monkeypatch, **kw) == expected, "list of dicts"
    assert same_both_ways(iter(recs), monkeypatch, **kw) == expected, "iterator of dicts"
    # DataFrame.to_dict("records"): every column in every record, NA (typed) or NaN (default) where missing
    assert same_both_ways(typed.to_dict("records"), monkeypatch, **kw) == expected, "typed frame's dicts"
    assert same_both_ways(pd.DataFrame(recs).to_dict("records"), monkeypatch, **kw) == expected, "frame's dicts"
    for label, df in user_frames(recs).items():
        assert same_both_ways(df, monkeypatch, **kw) == expected, label
    return expected


# ------------------------------------------------------------------------------------------------
# the same bytes from every input
# ------------------------------------------------------------------------------------------------


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)
@given(kind=st.sampled_from(["ingest", "serve"]), data=st.data())
def test_generated_records_write_the_same_from_every_input(kind, monkeypatch, data):
    recs = data.draw(st.lists(records(kind), min_size=1, max_size=10))
    assert_every_input_writes_the_same(recs, monkeypatch, kind=kind)


@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
@pytest.mark.parametrize("info", voc.XML_TYPES, ids=lambda t: t.name)
@pytest.mark.parametrize("kind", ["ingest", "serve"])
def test_every_type_writes_the_same_from_every_input(info, kind, monkeypatch, data):
    """Each type alone (its own columns only), and between annotations that leave its columns missing."""
    recs = data.draw(st.lists(records(kind, (info,)), min_size=1, max_size=3))
    assert_every_input_writes_the_same(recs, monkeypatch, kind=kind)
    ann = {"cuePointType": "annotation.Annotation", "id": "1_a", "entryId": "0_e", "startTime": 0, "endTime": 10}
    assert_every_input_writes_the_same([ann, *recs, ann], monkeypatch, kind=kind, unsupported="ignore")


EDGE_TIMES = [0, 1, 49, 50, 949, 950, 999, 1000, 59_999, DAY_MS - 51, DAY_MS - 1000, DAY_MS - 1]


@pytest.mark.parametrize("kind", ["ingest", "serve"])
def test_edge_times_unicode_and_empty_values_write_the_same(kind, monkeypatch):
    recs = []
    for i, t in enumerate(EDGE_TIMES):
        if kind == "serve" and t >= DAY_MS - 50:
            continue
        rec = {"cuePointType": "annotation.Annotation", "entryId": f"0_{i}", "startTime": t, "id": f"1_{i}"}
        rec["endTime"] = t
        if i % 3 == 0:  # a code cue point without an end: endTime is float64 with NaN in a user's frame
            rec.update(cuePointType=voc.CuePointType.CODE.value, code="c")
            del rec["endTime"]
        if i % 2:
            rec["text" if "endTime" in rec else "description"] = ["", "é & <b>", "日本 \U0001f600", "a\r\nb\t"][i % 4]
            rec["tags"] = ["x", "é" * 30, "a&b,<c>", "日本,\U0001f600"][i % 4]
        recs.append(rec)
    if kind == "serve":
        for rec in recs:
            rec["userId"] = "u"
    assert_every_input_writes_the_same(recs, monkeypatch, kind=kind)


def test_the_benchmark_frame_shapes_write_the_typed_frames_bytes(monkeypatch):
    """What benchmarks/cases.py measures, in small: pd.DataFrame(records) with every other row's tags
    as a list, and the same with Arrow dtypes."""
    import sys
    from pathlib import Path

    root = str(Path(__file__).resolve().parent.parent)
    if root not in sys.path:
        sys.path.insert(0, root)
    from benchmarks.generate import generate, ingest_view

    recs = [ingest_view(r, i) for i, r in enumerate(generate(400, seed=3))]
    expected = same_both_ways(frames.records_to_frame(recs), monkeypatch)
    user = [dict(r, tags=r["tags"].split(",")) if i % 2 and "tags" in r else r for i, r in enumerate(recs)]
    df = pd.DataFrame(user)
    assert df["endTime"].dtype == np.float64 and df["endTime"].isna().any()
    assert same_both_ways(df, monkeypatch) == expected
    assert same_both_ways(df.convert_dtypes(dtype_backend="pyarrow"), monkeypatch) == expected
    assert same_both_ways(recs, monkeypatch) == expected


# ------------------------------------------------------------------------------------------------
# values the new compiled shapes must write, or hand back to the Python renderer
# ------------------------------------------------------------------------------------------------

ANN = {"cuePointType": "annotation.Annotation", "entryId": "0_abc", "startTime": 1500, "endTime": 2000}
AD = {"cuePointType": "adCuePoint.Ad", "entryId": "e", "startTime": 0, "adType": "1", "protocolType": "2"}
THUMB = {"cuePointType": "thumbCuePoint.Thumb", "entryId": "e", "startTime": 0, "title": "t", "description": "d"}

ODD = {
    "whole float time": (ANN, {"startTime": 1500.0}),
    "negative zero time": (ANN, {"startTime": -0.0}),
    "fractional time": (ANN, {"startTime": 1500.5}),
    "tiny fraction": (ANN, {"startTime": 1e-300}),
    "NaN required time": (ANN, {"startTime": float("nan")}),
    "NaN optional time": (ANN, {"endTime": float("nan")}),
    "infinite time": (ANN, {"startTime": float("inf")}),
    "negative float time": (ANN, {"startTime": -1.0}),
    "float time at a day": (ANN, {"startTime": float(DAY_MS)}),
    "float time just under a day": (ANN, {"startTime": float(DAY_MS - 1), "endTime": float(DAY_MS - 50)}),
    "huge float time": (ANN, {"startTime": 1e300}),
    "numpy float time": (ANN, {"startTime": np.float64(1500.0)}),
    "numpy int time": (ANN, {"startTime": np.int64(1500)}),
    "bool time": (ANN, {"startTime": True}),
    "float subType": (THUMB, {"subType": 2.0}),
    "fractional subType": (THUMB, {"subType": 1.5}),
    "bool enum": (AD, {"adType": True}),
    "numpy bool enum": (AD, {"adType": np.True_}),
    "enum member": (AD, {"adType": voc.AdType.VIDEO}),
    "float enum": (AD, {"protocolType": 2.0}),
    "tag list": (ANN, {"tags": ["a", "b&c", "<d>"]}),
    "tag tuple": (ANN, {"tags": ("a", "b")}),
    "tag array": (ANN, {"tags": np.array(["a", "b"], dtype=object)}),
    "0-d tag array": (ANN, {"tags": np.array("a", dtype=object)}),
    "2-d tag array": (ANN, {"tags": np.array([["a"], ["b"]], dtype=object)}),
    "empty tag list": (ANN, {"tags": []}),
    "tag list with an empty tag": (ANN, {"tags": ["a", ""]}),
    "tag list with a comma": (ANN, {"tags": ["a,b"]}),
    "tag list with a long tag": (ANN, {"tags": ["x" * 31]}),
    "tag list at the limit": (ANN, {"tags": ["é" * 30, "\U0001f600" * 30]}),
    "tag list with a number": (ANN, {"tags": ["a", 1]}),
    "tag list with None": (ANN, {"tags": ["a", None]}),
    "tag list with a str subclass": (ANN, {"tags": [np.str_("a")]}),
    "tag list with a control character": (ANN, {"tags": ["a\x07"]}),
    "tag list with a lone surrogate": (ANN, {"tags": ["a\ud800"]}),
    "tag set": (ANN, {"tags": {"a"}}),
    "nested tag list": (ANN, {"tags": [["a"]]}),
}


@pytest.mark.parametrize("kind", ["ingest", "serve"])
@pytest.mark.parametrize("base, change", ODD.values(), ids=ODD.keys())
def test_odd_values_write_the_same_on_both_paths(base, change, kind, monkeypatch):
    recs = [dict(base, id="1_a"), {**base, "id": "1_b", **change}, dict(base, id="1_c")]
    if kind == "serve":
        recs = [dict(r, userId="u") for r in recs]
    by_records = same_both_ways(recs, monkeypatch, kind=kind)
    frame = pd.DataFrame([{k: None for k in r} for r in recs], dtype=object)
    for i, r in enumerate(recs):  # cell by cell: the values exactly as given (lists stay lists)
        for k, v in r.items():
            frame.at[i, k] = v
    by_frame = same_both_ways(frame, monkeypatch, kind=kind)
    if not (isinstance(change.get("adType"), bool | np.bool_)):  # frames refuse booleans in enums up front
        assert by_frame == by_records


# ------------------------------------------------------------------------------------------------
# errors: the same text naming the same record and field, in the same order, from every input
# ------------------------------------------------------------------------------------------------


def _bad_records(n: int, k: int, change: dict[str, Any]) -> list[dict[str, Any]]:
    recs = [{**ANN, "startTime": i * 10, "id": f"1_{i}", "tags": "a,b"} for i in range(n)]
    recs[k] = {**recs[k], **change}
    return recs


BAD = {
    "fractional float time": {"startTime": 2.5},
    "negative time": {"startTime": -5},
    "time past a day": {"endTime": float(DAY_MS)},
    "text where a time belongs": {"startTime": "00:00:01"},
    "number where text belongs": {"entryId": 7},
    "too long": {"entryId": "x" * 21},
    "empty tag in a list": {"tags": ["a", ""]},
    "empty tag in text": {"tags": "a,,b"},
    "control character": {"text": "\x00"},
    "unknown type": {"cuePointType": "annotation.Annotaton"},
    "no XML form": {"cuePointType": "eventCuePoint.EventCuePoint"},
    "missing required": {"entryId": None},
    "a field the type cannot carry": {"code": "x"},
    "choice conflict": {"parentId": "1_p", "parentSystemName": "p"},
}


@pytest.mark.parametrize("k", [0, 5, 6, 13])
@pytest.mark.parametrize("change", BAD.values(), ids=BAD.keys())
def test_a_bad_value_in_row_k_is_the_same_error_on_both_paths(change, k, monkeypatch):
    monkeypatch.setattr(writer, "_BATCH", 6)  # k = 6 starts a batch, 13 is inside the third
    monkeypatch.setattr(writer, "_FRAME_BLOCK", 6)
    recs = _bad_records(15, k, change)
    err = same_both_ways(recs, monkeypatch)
    assert err[0] == "error" and err[2] == k, err
    assert err[3] == next(iter(change)) or change.get("cuePointType") or "parent" in next(iter(change))
    assert same_both_ways(iter(recs), monkeypatch) == err
    frame = same_both_ways(pd.DataFrame(recs), monkeypatch)
    assert frame[0] == "error" and frame[2] == k and frame[3] == err[3]
    assert frame == err or change.get("cuePointType") or next(iter(change)) == "code"


def test_the_first_bad_record_is_reported_whatever_check_it_fails(monkeypatch):
    """Records are checked one at a time: a render error in record 3 comes before an unknown key in 4."""
    monkeypatch.setattr(writer, "_BATCH", 10)
    recs = _bad_records(8, 3, {"startTime": 1.5})
    recs[4] = {**recs[4], "startTme": 5}
    recs[5] = "not a dict"
    assert same_both_ways(recs, monkeypatch)[2:] == (3, "startTime")
    recs[3] = {**recs[3], "startTime": 1}
    assert same_both_ways(recs, monkeypatch)[2:] == (4, "startTme")
    del recs[4]["startTme"]
    err = same_both_ways(recs, monkeypatch)
    assert err == ("error", "record 5: expected a dict, got str", 5, None)


@pytest.mark.parametrize(
    "rec",
    [
        collections.OrderedDict(ANN),  # a dict subclass: the Python path takes it
        collections.ChainMap(dict(ANN)),  # a Mapping that is not a dict
        {**ANN, "code": float("nan")},  # a field the type cannot carry, missing as NaN: fine
        {**ANN, "code": pd.NA},
        {**ANN, "text": None, "tags": None},
        {**ANN, "cuePointType": voc.CuePointType.ANNOTATION},
        {**ANN, "cuePointType": "annotation"},
    ],
    ids=["OrderedDict", "ChainMap", "NaN unsupported", "NA unsupported", "None values", "enum type", "short type"],
)
def test_records_the_compiled_checks_hand_back_write_the_same(rec, monkeypatch):
    monkeypatch.setattr(writer, "_BATCH", 3)
    recs = [dict(ANN, id=f"1_{i}") for i in range(7)]
    recs[4] = rec
    out = same_both_ways(recs, monkeypatch)
    assert isinstance(out, bytes)
    assert out == same_both_ways(frames.records_to_frame([dict(r) for r in recs]), monkeypatch)


def test_unsupported_fields_are_refused_or_ignored_alike(monkeypatch):
    recs = [dict(ANN), {**AD, "text": "not an ad's"}, dict(ANN)]
    err = same_both_ways(recs, monkeypatch)
    assert err[2:] == (1, "text")
    assert isinstance(same_both_ways(recs, monkeypatch, unsupported="ignore"), bytes)
    serve_only = [{**ANN, "id": "1_a", "userId": "u"}]
    assert same_both_ways(serve_only, monkeypatch)[3] == "userId"
    assert same_both_ways(serve_only, monkeypatch, kind="serve") == cuepipe.write_xml(
        frames.records_to_frame(serve_only), kind="serve"
    )


def test_records_that_are_not_many_records_are_refused(monkeypatch):
    for compiled in (True, False):
        with monkeypatch.context() as m:
            if not compiled:
                m.setattr(writer, "_speedups", None)
            with pytest.raises(TypeError, match="many records"):
                cuepipe.write_xml(dict(ANN))
            with pytest.raises(ValueError, match="kind must be"):  # the arguments are checked first
                cuepipe.write_xml(dict(ANN), kind="bogus")
            with pytest.raises(CuePointValueError, match="at least one cue point"):
                cuepipe.write_xml([])
            assert cuepipe.write_xml([], kind="serve") == same_both_ways([], monkeypatch, kind="serve")


def _chunks(data: Any, monkeypatch: pytest.MonkeyPatch, compiled: bool) -> list[Any]:
    """Every chunk iter_xml_chunks yields, then the error it ends with (or None)."""
    out: list[Any] = []
    with monkeypatch.context() as m:
        if not compiled:
            m.setattr(writer, "_speedups", None)
        try:
            for chunk in writer.iter_xml_chunks(data):
                out.append(chunk)
        except (CuePointValueError, RuntimeError) as exc:
            out.append(("error", type(exc).__name__, str(exc)))
        else:
            out.append(None)
    return out


def test_records_are_taken_and_yielded_a_batch_at_a_time_alike(monkeypatch):
    """The same chunks come out before an error, and a generator is consumed as lazily."""
    monkeypatch.setattr(writer, "_BATCH", 4)
    recs = [dict(ANN, id=f"1_{i}", startTime=i) for i in range(11)]
    assert _chunks(recs, monkeypatch, True) == _chunks(recs, monkeypatch, False)
    bad = [dict(r) for r in recs]
    bad[9]["startTime"] = 0.5
    fast, slow = _chunks(bad, monkeypatch, True), _chunks(bad, monkeypatch, False)
    assert fast == slow and len(fast) == 3 and fast[-1][0] == "error"

    def generator(pulled: list[int]):
        for i, r in enumerate(recs):
            pulled.append(i)
            if i == 6:
                raise RuntimeError("the source failed")
            yield r

    for compiled in (True, False):
        pulled: list[int] = []
        with monkeypatch.context() as m:
            if not compiled:
                m.setattr(writer, "_speedups", None)
            chunks = writer.iter_xml_chunks(generator(pulled))
            next(chunks)
            assert pulled == [0, 1, 2, 3]  # one batch, nothing more
            with pytest.raises(RuntimeError, match="the source failed"):
                next(chunks)


@pytest.mark.skipif(PURE_RUN, reason="about the compiled writer")
def test_ordinary_user_inputs_do_not_fall_back(monkeypatch):
    """The compiled writer writes the new shapes itself (else they would be the slow path in disguise)."""
    calls: list[Any] = []
    original = writer._Renderer.render
    monkeypatch.setattr(writer._Renderer, "render", lambda self, *a: calls.append(a) or original(self, *a))
    recs = [
        {**ANN, "tags": "a,b&c", "text": "x < y", "systemName": "s"},
        {"cuePointType": voc.CuePointType.CODE.value, "entryId": "e", "startTime": 7, "code": "c", "tags": ["a", "b"]},
        {**AD, "endTime": 5, "title": "t", "sourceUrl": "http://x?a=1&b=2"},
        {**THUMB, "subType": 2},
        {**ANN, "startTime": 0, "tags": []},
    ]
    cuepipe.write_xml(recs)
    df = pd.DataFrame(recs)
    assert df["endTime"].dtype == np.float64 and df["subType"].dtype == np.float64
    cuepipe.write_xml(df)
    cuepipe.write_xml(df.convert_dtypes(dtype_backend="pyarrow"))
    cuepipe.write_xml(df.to_dict("records"))  # NaN where missing
    cuepipe.write_xml(frames.records_to_frame(recs).to_dict("records"))  # NA where missing
    cuepipe.write_xml(
        df.assign(tags=pd.Series([["a"], ["b"], None, None, []], dtype=pd.ArrowDtype(pa.list_(pa.string()))))
    )
    assert calls == []


@pytest.mark.slow
def test_the_benchmark_cases_run_and_write_the_typed_frames_bytes(tmp_path):
    """The write cases of target 1 run, and each one's output is checked against the typed frame's."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    cases = "write.cuepipe,write.user_frame,write.arrow_frame,write.records"
    cmd = [sys.executable, "-m", "benchmarks.run", "--sizes", "300", "--repeat", "1", "--cases", cases]
    cmd += ["--out", str(tmp_path / "results"), "--data", str(tmp_path / "data")]
    proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run = json.loads((tmp_path / "results" / "results-300.json").read_text(encoding="utf-8"))
    results = {r["case"]: r for r in run["results"]}
    for case in cases.split(","):
        assert results[case]["status"] == "ok", results[case]
        assert results[case]["records"] == 300
    targets = {t["id"]: t for t in run["targets"]}
    for target in ("any_frame_write", "arrow_frame_write", "records_write"):
        assert targets[target]["status"] == "info" and targets[target]["ratio"] > 0  # targets apply from 100k

"""Silent coercions (issue 14 §2): a value becomes what it says, by a documented conversion, or an error.

Before: a Parquet ``startTime`` of type bool became 1 ms, a Parquet ``tags`` list<string> became the
tag ``"['a' 'b']"``, JSON Lines ``"text": true`` became ``"True"`` and ``"entryId": 123`` became
``"123"``; records with ``startTime=1.5`` became 1 ms. Now a list of tags is accepted everywhere
records are (joined with commas), and every other mismatch is an error naming file, row and field.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cuepipe
from cuepipe import frames
from cuepipe.cli import main
from cuepipe.errors import CuePointValueError

from . import strategies

BASE = {"cuePointType": "annotation.Annotation", "entryId": "0_abc", "startTime": 1000, "endTime": 2000}


def _parquet(path: Path, columns: dict[str, Any]) -> Path:
    pq.write_table(pa.table(columns), path)
    return path


def _jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def _read(path: Path, chunksize: int | None = None) -> pd.DataFrame:
    return pd.concat(list(frames.read_table(path, chunksize=chunksize)), ignore_index=True)


# ------------------------------------------------------------------------------------------------
# the tester's cases
# ------------------------------------------------------------------------------------------------


def test_parquet_bool_start_time_is_an_error(tmp_path: Path) -> None:
    path = _parquet(
        tmp_path / "b.parquet",
        {"cuePointType": ["annotation.Annotation"] * 2, "entryId": ["0_a", "0_b"], "startTime": [False, True]},
    )
    with pytest.raises(ValueError, match=r"b\.parquet: column 'startTime', row 0: the boolean False where an integer"):
        _read(path)


def test_parquet_list_of_tags_is_joined(tmp_path: Path) -> None:
    path = _parquet(
        tmp_path / "t.parquet",
        {
            "cuePointType": ["annotation.Annotation"] * 3,
            "entryId": ["0_a"] * 3,
            "startTime": [0, 1, 2],
            "tags": [["a", "b"], [], None],
        },
    )
    df = _read(path)
    assert df["tags"].tolist()[:2] == ["a,b", ""] and df["tags"].isna().tolist() == [False, False, True]
    assert str(df["tags"].dtype) == "string"


def test_parquet_tag_lists_that_would_change_are_errors(tmp_path: Path) -> None:
    for tags, message in (([["a,b"]], "contains a comma"), ([["a", ""]], "empty tag")):
        path = _parquet(tmp_path / "bad.parquet", {"cuePointType": ["annotation.Annotation"], "tags": tags})
        with pytest.raises(ValueError, match=rf"column 'tags', row 0: .*{message}"):
            _read(path)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("text", True, "the boolean True where text belongs"),
        ("entryId", 123, "the number 123 where text belongs"),
        ("systemName", 1.5, "the number 1.5 where text belongs"),
        ("startTime", True, "the boolean True where an integer belongs"),
        ("startTime", 1.5, "the number 1.5 is not a whole number"),
        ("startTime", "soon", "'soon' is not an integer"),
        ("tags", 5, "the number 5.0 where text belongs"),  # pandas reads a number column with a gap as floats
        ("tags", ["a", 1], "a list of tags holds the number 1"),
        ("optionalAnswers", {"key": "1"}, "where a list of dicts belongs"),
        ("cuePointType", 1, "the number 1 where text belongs"),
    ],
)
def test_jsonl_values_of_the_wrong_kind_are_errors(tmp_path: Path, field: str, value: Any, message: str) -> None:
    rows = [dict(BASE), dict(BASE, **{field: value})]
    path = _jsonl(tmp_path / "in.jsonl", rows)
    with pytest.raises(ValueError) as info:
        _read(path)
    text = str(info.value)
    assert f"in.jsonl: column '{field}', row 1: " in text and message in text


def test_jsonl_documented_conversions(tmp_path: Path) -> None:
    rows = [
        dict(BASE, startTime="1500", endTime=2000.0, tags=["x", "y"]),
        dict(BASE, tags="p,q", optionalAnswers='[{"key": "1", "text": "A"}]'),
    ]
    df = _read(_jsonl(tmp_path / "ok.jsonl", rows))
    assert df["startTime"].tolist() == [1500, 1000]
    assert df["endTime"].tolist() == [2000, 2000]
    assert df["tags"].tolist() == ["x,y", "p,q"]
    assert df["optionalAnswers"].tolist()[1] == [{"key": "1", "text": "A"}]


def test_csv_errors_name_the_row_in_the_file_not_in_the_chunk(tmp_path: Path) -> None:
    lines = ["cuePointType,entryId,startTime"] + [f"annotation.Annotation,0_a,{i}" for i in range(7)]
    lines[6] = "annotation.Annotation,0_a,true"  # data row 5
    path = tmp_path / "in.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=r"column 'startTime', row 5: 'true' is not an integer"):
        _read(path, chunksize=2)


# ------------------------------------------------------------------------------------------------
# records and DataFrames
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("startTime", True, "the boolean True where an integer belongs"),
        ("startTime", np.True_, "the boolean True where an integer belongs"),
        ("startTime", 1.5, "1.5 is not a whole number"),  # Arrow would have truncated it to 1
        ("adType", True, "the boolean True"),
        ("adType", 7, "the number 7 where text belongs"),  # 1 and 2 are AdType values, 7 is not
        ("startTime", 2**70, "beyond the 64-bit integer range"),
        ("text", 7, "the number 7 where text belongs"),
        ("entryId", b"0_abc", "where text belongs"),
        ("tags", ["a,b"], "contains a comma"),
    ],
)
def test_records_to_frame_refuses_values_it_would_change(field: str, value: Any, message: str) -> None:
    records = [dict(BASE), dict(BASE, **{field: value})]
    with pytest.raises(CuePointValueError) as info:
        cuepipe.records_to_frame(records)
    assert info.value.record == 1 and info.value.field == field
    assert message in str(info.value)


def test_records_to_frame_conversions() -> None:
    df = cuepipe.records_to_frame(
        [
            dict(BASE, tags=["a", "b"], startTime=5.0),
            dict(BASE, tags=("c",), startTime=dt.timedelta(seconds=2), endTime=pd.Timedelta(milliseconds=2500)),
            dict(BASE, tags=np.array(["d", "e"]), startTime=np.int32(7)),
        ]
    )
    assert df["tags"].tolist() == ["a,b", "c", "d,e"]
    assert df["startTime"].tolist() == [5, 2000, 7]
    assert df["endTime"].tolist() == [2000, 2500, 2000]
    with pytest.raises(CuePointValueError, match="sub-millisecond"):
        cuepipe.records_to_frame([dict(BASE, startTime=dt.timedelta(microseconds=1500))])


@pytest.mark.parametrize("path", ["records", "frame", "arrow-frame"])
def test_write_xml_takes_lists_of_tags_everywhere(path: str) -> None:
    records = [dict(BASE, tags=["a", "b"]), dict(BASE, tags="c")]
    data: Any = records
    if path == "frame":
        data = pd.DataFrame(records)
    elif path == "arrow-frame":
        data = pd.DataFrame(records).astype({"entryId": "string[pyarrow]"})
        data["tags"] = pd.Series([["a", "b"], ["c"]], dtype=pd.ArrowDtype(pa.list_(pa.string())))
    xml = cuepipe.write_xml(data)
    assert [r["tags"] for r in cuepipe.iter_cue_points(xml)] == ["a,b", "c"]


@pytest.mark.parametrize("dtype", ["bool", "boolean", "bool[pyarrow]"])
@pytest.mark.parametrize("column", ["startTime", "adType", "sourceUrl"])
def test_boolean_frame_columns_are_refused_by_the_writer(dtype: str, column: str) -> None:
    row = {
        "cuePointType": "adCuePoint.Ad",
        "entryId": "0_abc",
        "startTime": 1000,
        "adType": 1,
        "protocolType": "VAST_2_0",
        "sourceUrl": "u",
    }
    df = pd.DataFrame([row, row])
    df[column] = pd.Series([True, True], dtype=dtype)
    with pytest.raises(CuePointValueError) as info:
        cuepipe.write_xml(df)
    assert info.value.field == column and info.value.record == 0


def test_arrow_backed_frames_through_conform() -> None:
    df = pd.DataFrame(
        {
            "cuePointType": pd.Series(["annotation.Annotation"], dtype="string[pyarrow]"),
            "startTime": pd.Series([1000], dtype="int64[pyarrow]"),
            "tags": pd.Series([["a", "b"]], dtype=pd.ArrowDtype(pa.list_(pa.string()))),
            "endTime": pd.Series([pd.Timedelta(seconds=3)], dtype=pd.ArrowDtype(pa.duration("ms"))),
        }
    )
    out = frames.conform(df)
    assert out.loc[0, "tags"] == "a,b" and out.loc[0, "startTime"] == 1000 and out.loc[0, "endTime"] == 3000
    bad = df.assign(startTime=pd.Series([True], dtype="bool[pyarrow]"))
    with pytest.raises(ValueError, match="column 'startTime', row 0: the boolean True"):
        frames.conform(bad)
    dates = df.assign(startTime=pd.Series([pd.Timestamp("2024-01-01")]))
    with pytest.raises(ValueError, match="column 'startTime', row 0: .* where an integer belongs"):
        frames.conform(dates)


# ------------------------------------------------------------------------------------------------
# the CLI and round trips
# ------------------------------------------------------------------------------------------------


def test_cli_convert_names_file_row_and_field(tmp_path: Path) -> None:
    src = _parquet(
        tmp_path / "in.parquet",
        {"cuePointType": ["annotation.Annotation"], "entryId": ["0_a"], "startTime": [True], "endTime": [5]},
    )
    out = tmp_path / "out.xml"
    result = CliRunner().invoke(main, ["convert", str(src), str(out)])
    assert result.exit_code == 1 and not out.exists()
    assert f"error: {src}: column 'startTime', row 0: the boolean True where an integer belongs" in result.output


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(recs=st.lists(strategies.records("serve"), min_size=1, max_size=5), as_list=st.booleans())
def test_tags_as_lists_round_trip_through_every_table_format(
    tmp_path_factory: pytest.TempPathFactory, recs: list[dict[str, Any]], as_list: bool
) -> None:
    """Records with tags as lists or text give the same frame, and that frame survives CSV/Parquet/JSONL."""
    if as_list:
        recs = [dict(r, tags=r["tags"].split(",")) if r.get("tags") else r for r in recs]
    df = cuepipe.records_to_frame(recs)
    expected_tags = [",".join(r["tags"]) if isinstance(r.get("tags"), list) else r.get("tags") for r in recs]
    assert [None if pd.isna(t) else t for t in df["tags"]] == expected_tags
    folder = tmp_path_factory.mktemp("rt")
    for name in ("t.parquet", "t.jsonl", "t.jsonl.gz"):
        with frames.TableWriter(folder / name) as w:
            w.write(df)
        back = _read(folder / name)
        pd.testing.assert_frame_equal(back, df, check_dtype=True)


@settings(max_examples=200, deadline=None)
@given(
    n=st.integers(min_value=-(2**53), max_value=2**53),
    spelling=st.sampled_from(["int", "float", "text", "np.int64", "np.float64", "text float"]),
)
def test_an_integer_means_the_same_in_every_spelling(n: int, spelling: str) -> None:
    from cuepipe import coercion

    value = {
        "int": n,
        "float": float(n),
        "text": str(n),
        "np.int64": np.int64(n),
        "np.float64": np.float64(n),
        "text float": f"{n}.0",
    }[spelling]
    for dtype in (object, "string") if spelling.startswith("text") else (object,):
        assert coercion.to_integer_column(pd.Series([value, None], dtype=dtype)).tolist()[0] == n
        assert coercion.to_time_column(pd.Series([value], dtype=dtype)).tolist() == [n]


@settings(max_examples=100, deadline=None)
@given(
    value=st.one_of(
        st.booleans(), st.floats().filter(lambda f: f != int(f) if f == f and abs(f) != float("inf") else True)
    )
)
def test_booleans_and_fractions_never_become_integers(value: Any) -> None:
    from cuepipe import coercion

    for series in (pd.Series([value], dtype=object), pd.Series([value])):
        if not isinstance(value, bool) and value != value:
            continue  # NaN is missing, not a value
        with pytest.raises(coercion.ColumnValueError):
            coercion.to_integer_column(series)
        if isinstance(value, bool):
            with pytest.raises(coercion.ColumnValueError):
                coercion.to_number_column(series)
            with pytest.raises(coercion.ColumnValueError):
                coercion.to_text_column(series)

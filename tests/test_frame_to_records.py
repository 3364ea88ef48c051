"""``frame_to_records`` builds records column by column; it must give what the row-by-row walk gave.

The row-by-row walk (``_by_rows`` below, the implementation before issue 13's push measurements) is
the reference: every non-missing cell, as ``_plain`` makes it, in column order. The column-wise
version takes shortcuts for NumPy numbers and bools, pandas' ``string``/``str`` and masked
``Int``/``Float``/``boolean`` columns, and ``object`` columns; these tests put every such dtype, and
the ones that take the cell-by-cell path (datetimes, categoricals, Arrow types), through both, with
missing values of every spelling, duplicate column names, and blocks of every size.
"""

from __future__ import annotations

import collections
import datetime as dt
import json
from collections.abc import Iterator
from typing import Any, cast

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cuepipe import frames
from cuepipe.values import is_missing, plain

from .strategies import records


def _is_left_out(v: Any) -> bool:
    return not isinstance(v, list | tuple | np.ndarray | dict) and is_missing(v)


def _plain(v: Any, tuples: bool = False) -> Any:
    """The conversion of one cell, written the plain way (values.plain takes shortcuts)."""
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    if isinstance(v, np.ndarray):
        return [_plain(x, tuples) for x in v.tolist()]
    if isinstance(v, list) or (tuples and isinstance(v, tuple)):
        return [_plain(x, tuples) for x in v]
    if isinstance(v, dict):
        return {k: _plain(x, tuples) for k, x in v.items() if not _is_left_out(x)}
    return v


def _by_rows(df: pd.DataFrame) -> Iterator[dict[str, Any]]:
    columns = list(df.columns)
    for row in df.itertuples(index=False, name=None):
        yield {c: _plain(v) for c, v in zip(columns, row, strict=True) if not _is_left_out(v)}


def _same(df: pd.DataFrame) -> list[dict[str, Any]]:
    expected = list(_by_rows(df))
    got = list(frames.frame_to_records(df))
    # repr tells 1 from 1.0 and True from 1, and dict order is part of a record's repr
    assert repr(got) == repr(expected)
    return got


@pytest.fixture(params=[1, 3, 8192], ids=["block1", "block3", "block8192"])
def block(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(frames, "_RECORDS_BLOCK", request.param)
    return int(request.param)


_missing = st.sampled_from([None, np.nan, pd.NA, pd.NaT, np.float32("nan"), np.datetime64("NaT"), float("nan")])
_object_cells = st.one_of(
    _missing,
    st.text(max_size=4),
    st.integers(-(2**70), 2**70),
    st.floats(),
    st.booleans(),
    st.sampled_from([np.int64(7), np.float64(2.5), np.bool_(True), np.float32(1.5), np.uint8(3)]),
    st.lists(st.one_of(st.integers(), st.text(max_size=3), _missing), max_size=3),
    st.dictionaries(
        st.text(max_size=3), st.one_of(st.integers(), _missing, st.sampled_from([np.int64(1)])), max_size=3
    ),
    st.lists(st.integers(-5, 5), max_size=3).map(np.array),
    st.tuples(st.integers()),
    st.lists(
        st.dictionaries(
            st.sampled_from(["key", "text", "weight", "isCorrect"]),
            st.one_of(st.text(max_size=3), st.floats(), st.booleans(), _missing, st.sampled_from([np.float64(0.5)])),
            max_size=4,
        ),
        max_size=3,
    ),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2).map(collections.OrderedDict),
    st.lists(st.integers(), max_size=2).map(collections.UserList),
)


def _column(kind: str, n: int, draw: Any) -> Any:
    array: Any = pd.array  # the stubs know no overload for a list holding None and a dtype name
    present = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    if kind == "object":
        return draw(st.lists(_object_cells, min_size=n, max_size=n))
    if kind in ("Int64", "UInt8"):
        vals = draw(st.lists(st.integers(0, 200), min_size=n, max_size=n))
        return array([v if p else None for v, p in zip(vals, present, strict=True)], dtype=kind)
    if kind == "Float64":
        vals = draw(st.lists(st.one_of(st.floats(allow_nan=False), st.just(float("nan"))), min_size=n, max_size=n))
        return array([v if p else None for v, p in zip(vals, present, strict=True)], dtype=kind)
    if kind == "boolean":
        vals = draw(st.lists(st.booleans(), min_size=n, max_size=n))
        return array([v if p else None for v, p in zip(vals, present, strict=True)], dtype=kind)
    if kind in ("string", "str", "string[python]"):
        vals = draw(st.lists(st.text(max_size=4), min_size=n, max_size=n))
        return array([v if p else None for v, p in zip(vals, present, strict=True)], dtype=kind)
    if kind == "int64":
        return np.array(draw(st.lists(st.integers(-(2**63), 2**63 - 1), min_size=n, max_size=n)), dtype=np.int64)
    if kind == "float64":
        return np.array(draw(st.lists(st.floats(), min_size=n, max_size=n)), dtype=np.float64)
    if kind == "bool":
        return np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
    if kind == "datetime":
        day = dt.datetime(2020, 1, 1)
        return pd.to_datetime(cast(Any, [day + dt.timedelta(days=i) if p else None for i, p in enumerate(present)]))
    if kind == "category":
        return pd.Categorical([f"c{i % 3}" if p else None for i, p in enumerate(present)])
    if kind == "arrow_list":
        return pd.Series(
            [[f"t{i}"] * (i % 3) if p else None for i, p in enumerate(present)],
            dtype=pd.ArrowDtype(pa.list_(pa.string())),
        ).array
    raise AssertionError(kind)


_KINDS = (
    "object",
    "Int64",
    "UInt8",
    "Float64",
    "boolean",
    "string",
    "str",
    "string[python]",
    "int64",
    "float64",
    "bool",
    "datetime",
    "category",
    "arrow_list",
)


@st.composite
def any_frame(draw: Any) -> pd.DataFrame:
    n = draw(st.integers(0, 9))
    kinds = draw(st.lists(st.sampled_from(_KINDS), max_size=6))
    names = draw(
        st.lists(st.sampled_from(["a", "b", "c", "startTime", "tags"]), min_size=len(kinds), max_size=len(kinds))
    )
    df = pd.DataFrame(index=range(n))
    columns = [pd.Series(_column(k, n, draw)) for k in kinds]
    if columns:
        df = pd.concat(columns, axis=1, ignore_index=True)
        df.columns = names  # duplicates allowed: the later non-missing value wins, at the first one's place
    return df


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(df=any_frame())
def test_any_frame_gives_what_the_row_walk_gave(df: pd.DataFrame, block: int) -> None:
    _same(df)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(recs=st.lists(records("serve"), max_size=12))
def test_typed_and_user_built_frames_of_cue_points(recs: list[dict[str, Any]], block: int) -> None:
    typed = frames.records_to_frame(recs)
    _same(typed)
    if recs:
        _same(pd.DataFrame(recs))  # object columns, float64 times with NaN where a type has none


def test_a_frame_without_columns_gives_one_empty_record_per_row(block: int) -> None:
    assert list(frames.frame_to_records(pd.DataFrame(index=range(4)))) == [{}, {}, {}, {}]
    assert list(frames.frame_to_records(pd.DataFrame())) == []


def test_numpy_scalars_come_out_as_python_values_json_can_write(block: int) -> None:
    df = pd.DataFrame(
        {
            "flag": pd.array([True, None], dtype="boolean"),
            "obj": [np.bool_(False), {"w": np.float64(1.5), "n": np.int64(2), "gone": np.nan}],
            "n": np.array([1, 2], dtype=np.int32),
        }
    )
    got = _same(df)
    assert got == [{"flag": True, "obj": False, "n": 1}, {"obj": {"w": 1.5, "n": 2}, "n": 2}]
    assert type(got[0]["flag"]) is bool and type(got[0]["obj"]) is bool and type(got[1]["n"]) is int
    json.dumps(got)


def test_records_are_built_a_block_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """The generator holds the Python values of one block, not the whole frame's."""
    monkeypatch.setattr(frames, "_RECORDS_BLOCK", 4)
    seen: list[int] = []
    real = frames._fill_column

    def spy(records: list[dict[str, Any]], column: Any, series: pd.Series) -> None:
        seen.append(len(records))
        real(records, column, series)

    monkeypatch.setattr(frames, "_fill_column", spy)
    out = frames.frame_to_records(pd.DataFrame({"a": range(10), "b": ["x"] * 10}))
    first = next(out)
    assert first == {"a": 0, "b": "x"} and seen == [4, 4]
    assert len(list(out)) == 9 and seen == [4, 4, 4, 4, 2, 2]


@given(cell=_object_cells, tuples=st.booleans())
def test_plain_converts_any_cell_as_the_plain_chain_does(cell: Any, tuples: bool) -> None:
    """The shared conversion (``frames`` keeps tuples, ``coercion``'s nested columns make them lists)."""
    assert repr(plain(cell, tuple_as_list=tuples)) == repr(_plain(cell, tuples))

"""Chunked reads with less memory, the same frames (issue 13, target 5).

What changed, and what each test here holds it to:

* ``Run.arrays`` gives a column without a value in the run slices of one shared buffer of zeros
  (offsets and validity bitmap), not buffers of its own;
* ``Run.arrays`` hands the run's buffers to the run created after it (the tree-free reader's next
  run), which fills them instead of allocating its own; the run handed over takes no more rows;
* ``frames._from_arrow`` copies Int64/Float64 chunks straight into the pandas arrays (no
  ``pa.concat_arrays``, no allocation in Arrow's memory pool);
* ``frames._frame`` lets each column's chunks go as soon as that column is built.

The frames are compared with frames built independently of ``frames._from_arrow``/``_frame``
(pandas' own constructors over the pure-Python reader's rows): dtypes, values, index and the column
Index, chunk by chunk. The structure tests assert on buffers and allocations, not on RSS or time
(``benchmarks/run.py``'s ``chunked.cuepipe`` case measures those).
"""

from __future__ import annotations

import random
import threading

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cuepipe
from cuepipe import frames
from cuepipe import vocabulary as voc
from cuepipe.xml import reader

from .strategies import records

SAX = reader._speedups is not None and reader._speedups.SAX
compiled_only = pytest.mark.skipif(reader._speedups is None, reason="the compiled core is not in this run")
SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)


def pure_rows(source) -> list[list]:
    """Full-width rows (COLUMN_NAMES order) from the pure-Python reader."""
    return [reader._full_row(plan, row) for plan, row in reader.iter_rows(source)]


def independent_frame(rows: list[list]) -> pd.DataFrame:
    """The frame read_xml documents, built by pandas' and pyarrow's own constructors."""
    columns = {}
    for i, column in enumerate(reader.COLUMN_NAMES):
        values = [row[i] for row in rows]
        dtype = frames.DTYPES[column]
        if dtype == "string":
            columns[column] = pd.arrays.ArrowStringArray(pa.array(values, type=pa.large_string()))
        elif dtype == "object":
            array = np.empty(len(values), dtype=object)
            array[:] = values
            columns[column] = array
        else:
            columns[column] = pd.array(values, dtype=dtype)
    return pd.DataFrame(columns, columns=list(reader.COLUMN_NAMES))


def assert_identical(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert list(got.dtypes.astype(str)) == list(expected.dtypes.astype(str))
    assert got.columns.dtype == expected.columns.dtype
    assert type(got.index) is type(expected.index) and got.index.equals(expected.index)
    for column in got.columns:
        a, b = got[column].array, expected[column].array
        assert type(a) is type(b), column
        if isinstance(a, pd.arrays.ArrowStringArray):
            assert a._pa_array.type == pa.large_string()
        if frames.DTYPES[column] == "object":  # nested values: same types all the way down
            assert [repr(v) for v in a] == [repr(v) for v in b], column
        if isinstance(a, pd.arrays.IntegerArray | pd.arrays.FloatingArray):
            assert a._data.flags.writeable and a._mask.flags.writeable  # users edit their frames
            assert not a._data[a._mask].any()


def assert_chunks(source, chunksize: int) -> None:
    rows = pure_rows(source)
    chunks = list(cuepipe.read_xml(source, chunksize=chunksize))
    assert [len(c) for c in chunks] == [min(chunksize, len(rows) - at) for at in range(0, len(rows), chunksize)]
    for at, chunk in zip(range(0, len(rows), chunksize), chunks, strict=True):
        assert_identical(chunk, independent_frame(rows[at : at + chunksize]))


# --- the same frames --------------------------------------------------------------------------------


@SETTINGS
@given(
    kind=st.sampled_from(["ingest", "serve"]),
    run=st.sampled_from([1, 2, 3, 7, 4096]),
    chunksize=st.integers(1, 9),
    data=st.data(),
)
def test_chunks_of_every_type_are_the_frames_pandas_builds(kind, run, chunksize, data, monkeypatch):
    """Every cue point type in any order, runs of 1-7 cue points (columns missing in whole runs,
    set only in some) and chunks of 1-9 rows (cut inside runs)."""
    monkeypatch.setattr(reader, "_RUN", run)
    recs = data.draw(st.lists(records(kind), min_size=1, max_size=20))
    source = cuepipe.write_xml(recs, kind=kind)
    assert_chunks(source, chunksize)
    assert_identical(cuepipe.read_xml(source), independent_frame(pure_rows(source)))


@SETTINGS
@given(kind=st.sampled_from(["ingest", "serve"]), data=st.data())
def test_runs_of_one_type_then_another(kind, data, monkeypatch):
    """Cue points grouped by type (a column missing in run after run, then set), chunked."""
    monkeypatch.setattr(reader, "_RUN", data.draw(st.sampled_from([1, 3, 5])))
    groups = data.draw(st.lists(st.tuples(st.sampled_from(voc.XML_TYPES), st.integers(1, 12)), min_size=1, max_size=5))
    recs = [data.draw(records(kind, types=(info,))) for info, count in groups for _ in range(count)]
    source = cuepipe.write_xml(recs, kind=kind)
    assert_chunks(source, data.draw(st.integers(1, 9)))


def _grouped_document(n: int, seed: int) -> bytes:
    """``n`` generated cue points (the benchmark's generator): the first half grouped by type, so that
    most columns are missing in whole runs, the second half in the generator's mixed order."""
    from benchmarks.generate import generate

    recs = generate(n, seed)
    half = n // 2
    recs[:half] = sorted(recs[:half], key=lambda r: r["cuePointType"])
    return cuepipe.write_xml(recs, kind="serve")


@pytest.mark.slow
def test_chunks_of_fifty_thousand():
    """The benchmark's chunk size over 110,000 cue points: three chunks, the last one short."""
    source = _grouped_document(110_000, 7)
    assert_chunks(source, 50_000)


# --- the structure that saves the memory --------------------------------------------------------------


@compiled_only
def test_columns_missing_in_a_run_share_one_buffer():
    """Every all-missing Arrow chunk of every column points into one buffer of zeros: their memory
    does not grow with how many there are (each had (rows + 1) * 8 bytes of offsets of its own)."""
    source = _grouped_document(30_000, 3)
    # the shared buffer is replaced by a larger one when a run needs more zeros than it holds: a read
    # first, so that a smaller one left by an earlier test's reads is not what the first runs get
    list(cuepipe.read_xml(source, chunksize=30_000))
    frame = next(cuepipe.read_xml(source, chunksize=30_000))
    missing = [
        chunk
        for column in frame.columns
        if frames.DTYPES[column] == "string"
        for chunk in frame[column].array._pa_array.chunks
        if len(chunk) and chunk.null_count == len(chunk)
    ]
    assert len(missing) > 20
    offsets = {chunk.buffers()[1].address for chunk in missing}
    bitmaps = {chunk.buffers()[0].address for chunk in missing}
    assert offsets == bitmaps and len(offsets) == 1
    assert all(chunk.buffers()[2].size == 0 for chunk in missing)
    assert all(chunk.equals(pa.nulls(len(chunk), pa.large_string())) for chunk in missing)
    # columns with values have buffers of their own, as before
    present = frame["cuePointType"].array._pa_array.chunks
    assert not {chunk.buffers()[1].address for chunk in present} & offsets


def code_row(code: str, start: int | None = None) -> list:
    """A full-width row of one code cue point, for ``Run.append_row``."""
    row = [None] * len(reader._STORAGE)
    row[reader._TYPE_SLOT] = "codeCuePoint.Code"
    row[reader._GLOBAL["code"]] = code
    if start is not None:
        row[reader._GLOBAL["startTime"]] = start
    return row


@compiled_only
def test_a_run_hands_its_buffers_to_the_next_run():
    kinds = reader._STORAGE
    row = code_row("c", 5)
    first = reader._speedups.Run(kinds, 4)
    for _ in range(6):  # grown once
        first.append_row(row)
    second = reader._speedups.Run(kinds, 4)  # the run after it, still empty, as SaxReader.take makes it
    arrays = first.arrays(second)
    assert len(arrays[reader._GLOBAL["code"]]) == 6 and arrays[reader._GLOBAL["code"]].to_pylist() == ["c"] * 6
    assert len(first) == 6  # (reader._tree_columns counts the rows after handing them over)
    with pytest.raises(RuntimeError, match="handed over"):
        first.append_row(row)
    with pytest.raises(RuntimeError, match="handed over"):
        first.arrays()
    for _ in range(9):  # the second run fills the first one's blocks, and grows them as its own
        second.append_row(row)
    again = second.arrays()
    assert again[reader._GLOBAL["code"]].to_pylist() == ["c"] * 9
    assert again[reader._GLOBAL["startTime"]].to_pylist() == [5] * 9
    assert again[reader._GLOBAL["title"]].null_count == 9
    # the arrays handed out before are copies: the second run's rows did not change them
    assert arrays[reader._GLOBAL["startTime"]].to_pylist() == [5] * 6


@compiled_only
def test_a_run_keeps_its_buffers_without_an_empty_run_after_it():
    kinds = reader._STORAGE
    row = code_row("x")
    busy = reader._speedups.Run(kinds, 4)
    run = reader._speedups.Run(kinds, 4)
    busy.append_row(row)
    run.append_row(row)
    assert run.arrays()[reader._GLOBAL["code"]].to_pylist() == ["x"]  # no run after it
    busy_arrays = busy.arrays(run)  # the run after it already has rows (and buffers): nothing given
    assert busy_arrays[reader._GLOBAL["code"]].to_pylist() == ["x"]
    run.append_row(row)  # neither was handed over: both still take rows
    busy.append_row(row)
    assert len(run) == 2 and len(busy) == 2


@compiled_only
def test_concurrent_reads_each_reuse_only_their_own_run_buffers():
    """Runs pass their buffers to the run the same reader made after them, never to another read's
    (reads in several threads interleave their runs)."""
    data = [
        cuepipe.write_xml(
            pd.DataFrame(
                [
                    {"cuePointType": "codeCuePoint.Code", "entryId": f"e{t}", "startTime": i, "code": f"{t}-{i}"}
                    for i in range(3000)
                ]
            )
        )
        for t in range(4)
    ]
    results: dict[int, list[str]] = {}

    def read(t: int) -> None:
        results[t] = [c for chunk in cuepipe.read_xml(data[t], chunksize=700) for c in chunk["code"]]

    threads = [threading.Thread(target=read, args=(t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {t: [f"{t}-{i}" for i in range(3000)] for t in range(4)}


def test_number_columns_are_copied_without_arrow_allocations():
    """Int64 chunks go straight into the pandas array: no concatenated copy in Arrow's memory pool."""
    rng = random.Random(5)
    chunks = []
    for size in (4096, 5000, 17, 1):
        arr = pa.array([rng.choice([None, rng.randrange(-(2**63), 2**63)]) for _ in range(size)], type=pa.int64())
        chunks.append(arr[rng.randrange(0, 3) :])
    expected = pd.array(pa.chunked_array(chunks).to_pylist(), dtype="Int64")
    pool = pa.default_memory_pool()
    before = pool.num_allocations()
    got = frames._from_arrow("startTime", chunks)
    assert pool.num_allocations() == before
    pd.testing.assert_extension_array_equal(got, expected)


def test_a_frame_lets_go_of_each_columns_chunks():
    """``_frame`` empties the dict it is given: a column's chunks are referenced by nothing else once
    the column is built (the caller keeps no second reference either, see _ColumnChunks.take)."""
    chunks = frames._ColumnChunks()
    n = 3
    columns = [["annotation.Annotation"] * n if c == "cuePointType" else [None] * n for c in reader.COLUMN_NAMES]
    chunks.add(columns)
    taken = {c: [frames._to_arrow(c, frames._as_values(c, [None] * n))] for c in reader.COLUMN_NAMES}
    frame = frames._frame(taken)
    assert taken == {} and len(frame) == n and list(frame.columns) == list(frames.DTYPES)
    assert len(chunks.take()) == n and chunks.n == 0 and chunks.parts == []

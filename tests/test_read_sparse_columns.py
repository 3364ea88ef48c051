"""Round 2 of the tree-free reader: the paths it added, compared with the pure-Python reader.

* ``Run`` writes a column's missing values lazily, a stretch at a time (``Run._fill``), instead of
  one store per column per cue point: columns set only now and then, first or last in a run, or
  never in a run, across run and chunk boundaries;
* element and attribute names are looked up by libxml2's interned pointer (``_Names.find_interned``):
  known and unknown names in any order, many documents one after the other in one process;
* whitespace between elements skips the text callback's work (only its length counts);
* ``frames._from_arrow`` builds Int64 columns with one copy (sliced Arrow chunks with offsets, nulls
  anywhere, the extremes of int64), still writable;
* ``_source._Prefixed`` reads straight into the caller's buffer for the standard streams; a
  stream with only ``read()`` still works.

Every comparison is against ``reader.iter_rows`` (the pure-Python reader), value for value and error
for error. In the pure-Python run (``CUEPIPE_NO_EXTENSIONS=1``) the tests that do not need the
compiled core still run: there both sides are Python, and ``_from_arrow``/``_Prefixed`` are shared.
"""

from __future__ import annotations

import io

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
from .test_speedups import META, assert_same, code, doc, outcome, slow_frame

# every test here runs with the tree-free reader fed directly and from a worker thread
pytestmark = pytest.mark.usefixtures("sax_feed")

SAX = reader._speedups is not None and reader._speedups.SAX
compiled_only = pytest.mark.skipif(not SAX, reason="the compiled tree-free reader is not in this run")
SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)


def stops(source) -> bool:
    return any(run is None for run in reader._sax_columns(source))


def same_chunks(source, chunksize: int) -> None:
    """read_xml(chunksize=...) gives the pure-Python frame, cut where asked, or its error."""
    slow = outcome(slow_frame, source)
    try:
        chunks = list(cuepipe.read_xml(source, chunksize=chunksize))
    except cuepipe.XMLFormatError as exc:
        fast = ("error", str(exc), exc.line, exc.record, exc.element)
        assert fast == slow
        return
    assert not isinstance(slow, tuple), slow
    assert all(len(c) == chunksize for c in chunks[:-1])
    pd.testing.assert_frame_equal(pd.concat(chunks, ignore_index=True), slow)


# --- columns set now and then, across runs and chunks --------------------------------------------


@SETTINGS
@given(
    kind=st.sampled_from(["ingest", "serve"]),
    run=st.sampled_from([1, 2, 3, 7]),
    block=st.sampled_from([53, 512, 1 << 17]),
    chunksize=st.integers(1, 9),
    data=st.data(),
)
def test_sparse_columns_across_runs_and_chunks(kind, run, block, chunksize, data, monkeypatch):
    """Every cue point type in any order: each type sets its own columns, so most columns are missing
    in most rows, and a run may end before, after or between the rows that set one."""
    monkeypatch.setattr(reader, "_RUN", run)
    monkeypatch.setattr(reader, "_BLOCK", block)
    recs = data.draw(st.lists(records(kind), min_size=1, max_size=14))
    source = cuepipe.write_xml(recs, kind=kind)
    if SAX:
        assert not stops(source)
    assert_same(source)
    same_chunks(source, chunksize)


@pytest.mark.parametrize("run", [1, 2, 4096])
def test_a_column_set_only_in_the_last_cue_point(run, monkeypatch):
    monkeypatch.setattr(reader, "_RUN", run)
    plain = "".join(code(f"<sceneStartTime>00:00:{i:02d}</sceneStartTime>") for i in range(9))
    last = code("<sceneStartTime>23:59:59.999</sceneStartTime><code>é😀</code><description></description>")
    df = assert_same(doc(plain + last))
    assert df["code"].isna().sum() == 9 and df["code"].iloc[-1] == "é😀" and df["description"].iloc[-1] == ""
    assert df["startTime"].iloc[-1] == 86_399_999


def test_every_type_with_every_field_empty_or_at_its_extremes():
    """Empty values ("" for text) and the first and last time of the day in every cue point type."""
    for kind in ("ingest", "serve"):
        day_end = 86_399_999 if kind == "ingest" else 86_399_900  # serve times are in tenths
        recs = []
        for info in voc.XML_TYPES:
            excluded = {c for group in info.ingest_choices for c in group[1:]} if kind == "ingest" else set()
            for t in (0, day_end):
                rec = {"cuePointType": info.api_type.value}
                for f in info.fields_for(kind):
                    if f.column in excluded:
                        continue
                    if f.kind == "time":
                        rec[f.column] = t
                    elif f.kind == "str":
                        rec[f.column] = "" if f.occurs(kind) != "required" else "é😀"
                    elif f.kind == "enum" and f.occurs(kind) == "required":
                        assert f.enum is not None
                        rec[f.column] = next(iter(f.enum)).value
                recs.append(rec)
        df = assert_same(cuepipe.write_xml(recs, kind=kind))
        assert len(df) == len(recs) and (df["startTime"] == [0, day_end] * len(voc.XML_TYPES)).all()


# --- names by pointer ------------------------------------------------------------------------------

_KNOWN = ["sceneStartTime", "code", "description", "tags", "sceneEndTime", "title"]
_UNKNOWN = ["codes", "cod", "Code", "sceneStartTim", "x", "scene-code-cue-point"]


@SETTINGS
@given(
    names=st.lists(st.sampled_from(_KNOWN + _UNKNOWN), min_size=1, max_size=8),
    attr=st.sampled_from(["entryId", "systemName", "entryid", "id2", "tags"]),
)
def test_known_and_unknown_names_in_any_order(names, attr):
    """Unknown names (near misses of known ones too) must reach the tree path's error every time,
    however often the known ones were seen before in the same document."""
    inner = "".join(
        f"<{n}><tag>t</tag></{n}>" if n == "tags" else f"<{n}>{'00:00:01' if 'Time' in n else 'v'}</{n}>" for n in names
    )
    good = code("<sceneStartTime>00:00:02</sceneStartTime><code>c</code>")
    assert_same(doc(good + code(inner, attrs=f'{attr}="e"') + good))


def test_many_documents_one_after_another():
    """Each reader has its own parser context, so its own name dictionary: a pointer cached for one
    document must not answer for another whose dictionary reuses the memory."""
    for i in range(30):
        names = ["code", "description", "title", "sceneEndTime"]
        first = names[i % 4]
        value = "00:00:03" if first == "sceneEndTime" else f"v{i}"
        body = code(f"<sceneStartTime>00:00:01</sceneStartTime><{first}>{value}</{first}>")
        if i % 5 == 0:
            body += code("<sceneStartTime>00:00:01</sceneStartTime><nope/>")
        assert_same(doc(body))


# --- whitespace between elements -------------------------------------------------------------------


@pytest.mark.parametrize("space", ["", " ", "\n\t  \n", "\r\n" * 50, " " * 70_000])
def test_whitespace_between_and_inside_cue_points(space):
    body = (
        code(
            f"{space}<sceneStartTime>00:00:01</sceneStartTime>{space}<code>{space}c{space}</code>{space}"
            f"<tags>{space}<tag>a</tag>{space}<tag>b</tag>{space}</tags>{space}"
            + META.format(f"{space}<metadata>{space}<A>{space}1</A>{space}</metadata>{space}")
        )
        + space
    )
    source = doc(space + body + space + body)
    if SAX:
        assert not stops(source)
    assert_same(source)


# --- errors in generated documents -----------------------------------------------------------------

_CORRUPT = {
    "bad time": ("<sceneStartTime>", "<sceneStartTime>99:"),
    "bad int": ("<isCorrect>", "<isCorrect>x"),
    "unknown element": ("<sceneStartTime>", "<bogus/><sceneStartTime>"),
    "unknown attribute": (' entryId="', ' bogus="1" entryId="'),
    "not well-formed": ("</sceneStartTime>", "</sceneStartTime><"),
    "entity": ("<sceneStartTime>", "<sceneStartTime>&nbsp;"),
}


@SETTINGS
@given(
    kind=st.sampled_from(["ingest", "serve"]),
    how=st.sampled_from(sorted(_CORRUPT)),
    run=st.sampled_from([1, 3, 4096]),
    data=st.data(),
)
def test_errors_in_generated_documents_are_the_pure_readers(kind, how, run, data, monkeypatch):
    monkeypatch.setattr(reader, "_RUN", run)
    recs = data.draw(st.lists(records(kind), min_size=2, max_size=8))
    text = cuepipe.write_xml(recs, kind=kind)
    old, new = (s.encode() for s in _CORRUPT[how])
    places = [i for i in range(len(text)) if text.startswith(old, i)]
    if not places:
        return
    at = data.draw(st.sampled_from(places))
    source = text[:at] + new + text[at + len(old) :]
    result = assert_same(source)
    same_chunks(source, 2)
    if how in ("bad time", "unknown element", "not well-formed", "entity", "unknown attribute"):
        assert isinstance(result, tuple), result


# --- frames._from_arrow -----------------------------------------------------------------------------

_INT64 = st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1), st.sampled_from([0, -1, 2**63 - 1, -(2**63)]))


@settings(max_examples=100, deadline=None)
@given(parts=st.lists(st.lists(_INT64, max_size=9), min_size=1, max_size=4), cut=st.integers(0, 5), data=st.data())
def test_integer_columns_from_arrow_chunks(parts, cut, data):
    """Sliced chunks (an offset into their buffers, as ``_ColumnChunks.take`` makes), nulls anywhere:
    the values and the mask pandas would get from Arrow, in writable arrays, 0 under the mask."""
    chunks = []
    for values in parts:
        arr = pa.array(values, type=pa.int64())
        start = min(cut, len(arr))
        stop = data.draw(st.integers(start, len(arr)))
        chunks.append(arr[start:stop])
    got = frames._from_arrow("startTime", chunks)
    expected = pd.array(pa.chunked_array(chunks, type=pa.int64()).to_pylist(), dtype="Int64")
    pd.testing.assert_extension_array_equal(got, expected)
    assert got._data.flags.writeable and got._mask.flags.writeable
    assert not got._data[got._mask].any()
    got[0:1] = 5 if len(got) else None  # users edit their frames


# --- streams ---------------------------------------------------------------------------------------


class _ReadOnly(io.RawIOBase):
    """A user's stream that implements read() only (RawIOBase's inherited readinto calls nothing)."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        return self._data.read(size)


@pytest.mark.parametrize("wrap", ["bytes", "BytesIO", "read-only", "gzip"])
def test_stream_kinds_read_the_same(wrap, tmp_path):
    import gzip

    source = doc(
        "".join(code(f"<sceneStartTime>00:00:{i % 60:02d}</sceneStartTime><code>{'é' * i}</code>") for i in range(300))
    )
    expected = slow_frame(source)
    if wrap == "bytes":
        given_source = source
    elif wrap == "BytesIO":
        given_source = io.BytesIO(source)
    elif wrap == "read-only":
        given_source = _ReadOnly(source)
    else:
        path = tmp_path / "a.xml.gz"
        path.write_bytes(gzip.compress(source))
        given_source = path
    pd.testing.assert_frame_equal(cuepipe.read_xml(given_source), expected)


def test_numpy_arrays_are_not_shared_between_frames():
    source = doc(code("<sceneStartTime>00:00:01</sceneStartTime>") * 3)
    a, b = cuepipe.read_xml(source), cuepipe.read_xml(source)
    a.loc[0, "startTime"] = 7
    assert b.loc[0, "startTime"] == 1000 and isinstance(a["startTime"].array, pd.arrays.IntegerArray)


@pytest.mark.parametrize(
    "inner",
    [
        code("<sceneStartTime>00:00:01</sceneStartTime>"),
        "<code>" + code("<sceneStartTime>00:00:01</sceneStartTime>") + "</code>",
        code(code("<sceneStartTime>00:00:01</sceneStartTime>")) + code("<sceneStartTime>00:00:01</sceneStartTime>"),
        "<bogus/>" + code("<sceneStartTime>00:00:01</sceneStartTime>"),
        META.format("<metadata>" + code("<sceneStartTime>00:00:01</sceneStartTime>") + "</metadata>"),
    ],
    ids=["cue point in a cue point", "in a value", "two levels", "after an unknown element", "in custom metadata"],
)
def test_cue_points_inside_cue_points_fail_as_the_pure_reader_does(inner):
    """The pure reader meets the innermost cue point element first (it reads at end tags) and says
    where it was found; the compiled paths used to report the outer one's unexpected child."""
    good = code("<sceneStartTime>00:00:02</sceneStartTime>")
    assert_same(doc(good + code("<sceneStartTime>00:00:01</sceneStartTime>" + inner) + good))

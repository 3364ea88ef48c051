"""Less memory per chunk, the same frames (issue 13, target 5; the earlier steps: test_chunk_memory.py).

* Every frame the reader builds shares one columns Index (``frames._columns``), made over bytes of
  its own: a read allocates nothing in Arrow's memory pool, which pandas 3 used for each frame's
  Index of names (that alone started mimalloc: 4 MB of huge pages for a 1M chunked read). The
  Index must be exactly the one pandas builds from the names.
* The tree-free reader makes one object of equal custom metadata documents and of equal answer
  weights within a read (``_Strings.text`` / ``_Strings.number`` in ``_speedups_sax.pxi``): values
  the pure reader's, NaN weights never shared (sharing would make ``[nan] == [nan]`` true).

Structure and values are asserted here; RSS is measured by ``benchmarks/run.py`` (``chunked.cuepipe``).
"""

from __future__ import annotations

import math

import pandas as pd
import pyarrow as pa
import pytest

import cuepipe
from cuepipe import frames
from cuepipe.xml import reader

from .test_speedups import doc, slow_frame

SAX = reader._speedups is not None and reader._speedups.SAX
sax_only = pytest.mark.skipif(not SAX, reason="the compiled tree-free reader is not in this run")


def answers_doc(weights: list[str], notes: list[str]) -> bytes:
    """A question with one answer of each weight and a code cue point with each custom metadata note,
    alternating (rows 2i and 2i + 1)."""
    body = []
    for i, (weight, note) in enumerate(zip(weights, notes, strict=True)):
        body.append(
            f'<scene-question-cue-point entryId="e{i % 3}"><sceneStartTime>00:00:{i % 60:02d}</sceneStartTime>'
            f"<question>q{i}</question><optionalAnswers><optionalAnswer><key>1</key><text>t</text>"
            f"<weight>{weight}</weight></optionalAnswer></optionalAnswers></scene-question-cue-point>"
            f'<scene-code-cue-point entryId="e{i % 3}"><sceneStartTime>00:00:{i % 60:02d}</sceneStartTime>'
            f'<code>c{i}</code><scene-customData metadataId="7" metadataVersion="1" metadataProfileId="12" '
            f'metadataProfileVersion="3" metadataProfileName="p"><metadata><Note>{note}</Note>'
            f"<Rating>{i % 2}</Rating></metadata></scene-customData></scene-code-cue-point>"
        )
    return doc("".join(body))


def test_the_shared_column_index_is_the_one_pandas_builds():
    built = frames._columns()
    pd.testing.assert_index_equal(built, pd.Index(list(frames.DTYPES)), exact=True)
    assert built.dtype == pd.DataFrame({c: [] for c in frames.DTYPES}).columns.dtype
    assert frames._columns() is built


def test_frames_share_the_index_and_equal_frames_built_by_pandas():
    weights = ["1", "0.5", "2.0"] * 7
    source = answers_doc(weights, [f"n{i % 4}" for i in range(len(weights))])
    chunks = list(cuepipe.read_xml(source, chunksize=9))
    assert len(chunks) == 5
    assert all(chunk.columns is chunks[0].columns for chunk in chunks)
    whole = cuepipe.read_xml(source)
    # the same frame under an Index pandas builds itself: columns, dtypes and values all equal
    rebuilt = pd.DataFrame({c: whole[c].array for c in frames.DTYPES})
    pd.testing.assert_frame_equal(whole, rebuilt, check_column_type=True, check_exact=True)
    pd.testing.assert_frame_equal(pd.concat(chunks, ignore_index=True), whole, check_exact=True)
    # a frame whose columns are renamed or added to leaves the shared Index as it was
    chunks[0]["extra"] = 1
    chunks[1].columns = ["ID", *chunks[1].columns[1:]]
    pd.testing.assert_index_equal(chunks[2].columns, pd.Index(list(frames.DTYPES)), exact=True)
    assert "startTime" in chunks[3].columns and list(chunks[3]["code"].dropna()) == ["c13", "c14", "c15", "c16", "c17"]


@sax_only
def test_a_read_allocates_nothing_in_arrows_memory_pool():
    pool = pa.default_memory_pool()
    weights = ["1"] * 40
    source = answers_doc(weights, [f"n{i}" for i in range(40)])
    list(cuepipe.read_xml(source, chunksize=7))  # first reads: module-level work done
    before = pool.num_allocations()
    for chunk in cuepipe.read_xml(source, chunksize=7):
        chunk["startTime"]  # looking a column up by name uses the shared Index's table, outside the pool too
    cuepipe.read_xml(source)
    assert pool.num_allocations() == before


@sax_only
def test_equal_weights_and_custom_metadata_are_one_object_each():
    notes = [f"note {i % 3} &amp; é" + "x" * 40 for i in range(30)]  # longer than the short-string table's 32 bytes
    weights = ["1", "0.5", "-0.0", "0.0", "nan", "1e0"] * 5
    source = answers_doc(weights, notes)
    fast = cuepipe.read_xml(source)
    slow = slow_frame(source)
    for column in ("optionalAnswers", "customData"):
        for got, want in zip(fast[column], slow[column], strict=True):
            if not isinstance(want, list):
                assert not isinstance(got, list)
                continue
            assert len(got) == len(want)
            for g, w in zip(got, want, strict=True):
                assert g.keys() == w.keys()
                for key in g:
                    if isinstance(w[key], float) and math.isnan(w[key]):
                        assert math.isnan(g[key])
                    else:
                        assert g[key] == w[key] and type(g[key]) is type(w[key])
                        if isinstance(w[key], float):
                            assert math.copysign(1, g[key]) == math.copysign(1, w[key])
    weight = [cell[0]["weight"] for cell in fast["optionalAnswers"].dropna()]
    xml = [cell[0]["xml"] for cell in fast["customData"].dropna()]
    assert xml[0] is xml[6] and xml[0] is not xml[1] and xml[0] is not xml[3]
    assert weight[0] is weight[6] and weight[0] is weight[5]  # 1 and 1e0: the same bits
    assert weight[2] is weight[8] and weight[2] is not weight[3]  # -0.0 and 0.0 differ
    assert weight[4] is not weight[10]  # NaN: never shared
    assert fast["optionalAnswers"][8] != fast["optionalAnswers"][20]  # as with the pure reader
    assert slow["optionalAnswers"][8] != slow["optionalAnswers"][20]


@sax_only
def test_more_distinct_documents_than_the_table_holds():
    notes = [f"a distinct note number {i} " + "é" * (i % 50) for i in range(2500)]
    source = answers_doc(["1"] * 2500, notes)
    fast = cuepipe.read_xml(source)
    slow = slow_frame(source)
    assert [cell[0]["xml"] for cell in fast["customData"].dropna()] == [
        cell[0]["xml"] for cell in slow["customData"].dropna()
    ]


def test_the_reader_keeps_no_frame_it_has_handed_over(monkeypatch):
    """A caller that lets a chunk go before asking for the next gets its memory back while the next
    one is built: the generator holds no reference to it then."""
    import gc
    import weakref

    source = answers_doc(["1"] * 20, [f"n{i}" for i in range(20)])
    seen: list[bool] = []
    build = frames._frame

    def frame(columns):
        gc.collect()
        seen.append(gone() is None)
        return build(columns)

    chunks = cuepipe.read_xml(source, chunksize=8)
    first = next(chunks)
    gone = weakref.ref(first)
    del first
    monkeypatch.setattr(frames, "_frame", frame)
    assert len(next(chunks)) == 8
    assert seen == [True]

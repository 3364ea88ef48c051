"""The tree-free reader on two cores: libxml2 in a worker thread (``_speedups.SaxPipe``).

The sameness of what it reads is covered where the other reader paths are compared with the
pure-Python reader: ``test_speedups.py``, ``test_speedups_sax.py`` and ``test_read_sparse_columns.py``
run every test with the reader fed directly and from the worker (the ``sax_feed`` fixture). This file
covers what only the worker has: when ``read_xml`` uses it, that its thread always ends (a whole
read, an abandoned chunked read, a document it stops on, a failing stream, a ``MemoryError`` or
``KeyboardInterrupt`` in the middle), and that it really is what reads the documents those tests
give it.
"""

from __future__ import annotations

import gzip
import io
import threading
import time

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cuepipe
from cuepipe.xml import reader

from .strategies import records
from .test_speedups import doc, slow_frame

pytestmark = pytest.mark.skipif(
    reader._speedups is None or not reader._speedups.SAX, reason="the compiled tree-free reader is not in this run"
)

WORKER = "cuepipe-xml-parser"
QUESTION = (
    '<scene-question-cue-point entryId="e"><sceneStartTime>00:00:01</sceneStartTime><question>q</question>'
    "<optionalAnswers><optionalAnswer><key>1</key><text>t</text><weight>1.5</weight></optionalAnswer>"
    "</optionalAnswers></scene-question-cue-point>"
)


def code_point(i: int) -> str:
    return (
        f'<scene-code-cue-point entryId="e"><sceneStartTime>00:00:{i % 60:02d}</sceneStartTime>'
        f"<code>c{i}</code></scene-code-cue-point>"
    )


def big_doc(n: int = 3000) -> bytes:
    return doc("\n".join(code_point(i) if i % 7 else QUESTION for i in range(n)))


def workers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == WORKER]


def no_worker_left() -> None:
    """Every worker thread ends (they end on their own once told to: wait a little for that)."""
    deadline = time.monotonic() + 10
    while workers() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert workers() == []


@pytest.fixture
def piped(monkeypatch):
    """The worker for every document, in blocks small enough for many hand-overs; counts the pipes."""
    made = []
    real = reader._speedups.SaxPipe

    def counting(sax_reader):
        pipe = real(sax_reader)
        made.append(pipe)
        return pipe

    monkeypatch.setattr(reader._speedups, "SaxPipe", counting)
    monkeypatch.setattr(reader, "_PIPE_MIN_BYTES", 0)
    monkeypatch.setattr(reader, "_cores", lambda: 2)
    monkeypatch.setattr(reader, "_BLOCK", 1000)
    monkeypatch.setattr(reader, "_RUN", 20)  # runs handed on while the worker is still parsing
    return made


def test_sax_feed_fixtures_worker_run_reads_through_the_worker(piped):
    data = big_doc(200)
    frame = cuepipe.read_xml(data)
    assert len(piped) == 1 and len(frame) == 200
    no_worker_left()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(["ingest", "serve"]), block=st.integers(1, 700), data=st.data())
def test_any_block_size_reads_what_the_pure_reader_reads(kind, block, data, piped, monkeypatch):
    """Blocks down to one byte: a start tag, a text or an attribute value cut anywhere."""
    monkeypatch.setattr(reader, "_BLOCK", block)
    recs = data.draw(st.lists(records(kind), min_size=0, max_size=6))
    source = cuepipe.write_xml(pd.DataFrame(recs), kind=kind) if recs else doc("")
    pd.testing.assert_frame_equal(cuepipe.read_xml(source), slow_frame(source))
    no_worker_left()


def test_large_documents_use_the_worker_on_two_cores_only(tmp_path, monkeypatch):
    path = tmp_path / "big.xml"
    data = big_doc(3000)
    path.write_bytes(data)
    monkeypatch.setattr(reader, "_PIPE_MIN_BYTES", 1000)
    monkeypatch.setattr(reader, "_cores", lambda: 2)
    # an eighth of the document, between _BLOCK and _BLOCK * _PIPE_BLOCKS
    expected = min(reader._BLOCK * reader._PIPE_BLOCKS, max(reader._BLOCK, len(data) // 8))
    assert reader._pipe_block(path) == reader._pipe_block(str(path)) == expected
    assert reader._pipe_block(b"<scenes/>") is None  # below the size
    with open(path, "rb") as f:
        assert reader._pipe_block(f) == expected
        f.seek(path.stat().st_size - 10)
        assert reader._pipe_block(f) is None  # what is left to read counts
        assert f.tell() == path.stat().st_size - 10  # and the stream is left where it was
    big = b" " * (20 * reader._BLOCK * reader._PIPE_BLOCKS)
    assert reader._pipe_block(big) == reader._BLOCK * reader._PIPE_BLOCKS  # at most 512 KB
    monkeypatch.setattr(reader, "_cores", lambda: 1)
    assert reader._pipe_block(path) is None
    monkeypatch.setattr(reader, "_cores", lambda: 2)
    monkeypatch.setattr(reader, "_PIPE_MIN_BYTES", None)
    assert reader._pipe_block(path) is None


def test_sizes_of_sources():
    assert reader._size_of(b"abc") == 3
    assert reader._size_of(io.BytesIO(b"abcdef")) == 6

    class Unseekable(io.RawIOBase):
        def readable(self):
            return True

    assert reader._size_of(Unseekable()) is None


def test_a_whole_read_ends_the_worker(piped, tmp_path):
    path = tmp_path / "big.xml.gz"
    path.write_bytes(gzip.compress(big_doc()))
    frame = cuepipe.read_xml(path)
    assert len(frame) == 3000 and len(piped) == 1
    pd.testing.assert_frame_equal(frame, slow_frame(path))
    no_worker_left()


def test_an_abandoned_chunked_read_ends_the_worker(piped):
    chunks = cuepipe.read_xml(big_doc(), chunksize=10)
    first = next(chunks)
    assert len(first) == 10 and workers()
    chunks.close()
    no_worker_left()


def test_a_chunked_read_dropped_without_close_ends_the_worker(piped):
    chunks = cuepipe.read_xml(big_doc(), chunksize=10)
    next(chunks)
    del chunks
    no_worker_left()


def test_a_document_the_reader_stops_on_ends_the_worker_and_reads_the_same(piped):
    """A comment inside a value in the last cue point: the tree harvest reads the document again."""
    last = (
        b"<scene-code-cue-point entryId='e'><sceneStartTime>00:00:01</sceneStartTime>"
        b"<code>a<!-- c -->b</code></scene-code-cue-point></scenes>"
    )
    data = big_doc(500)[: -len("</scenes>")] + last
    frame = cuepipe.read_xml(data)
    assert frame["code"].iloc[-1] == "ab" and len(frame) == 501
    pd.testing.assert_frame_equal(frame, slow_frame(data))
    no_worker_left()


def test_a_malformed_document_fails_as_before_and_ends_the_worker(piped):
    data = big_doc(500)[:-20]  # cut inside the last cue point
    with pytest.raises(cuepipe.XMLFormatError) as fast:
        cuepipe.read_xml(data)
    with pytest.raises(cuepipe.XMLFormatError) as slow:
        slow_frame(data)
    assert (str(fast.value), fast.value.line, fast.value.record) == (
        str(slow.value),
        slow.value.line,
        slow.value.record,
    )
    no_worker_left()


def test_a_stream_that_fails_midway_ends_the_worker(piped):
    class Failing(io.BytesIO):
        def read(self, size=-1):
            if self.tell() > 20_000:
                raise OSError("disk gone")
            return super().read(size)

    with pytest.raises(cuepipe.XMLFormatError, match="disk gone"):
        cuepipe.read_xml(Failing(big_doc()))
    no_worker_left()


@pytest.mark.parametrize("error", [MemoryError, KeyboardInterrupt])
def test_memory_errors_and_interrupts_in_the_callbacks_propagate_and_end_the_worker(error, piped, monkeypatch):
    """As when the reader is fed directly: these are raised, not turned into a second read."""

    def failing(text):
        raise error()

    monkeypatch.setattr(reader, "_as_float", failing)  # the answers' <weight> (with spaces: Python's float())
    with pytest.raises(error):
        cuepipe.read_xml(big_doc(100).replace(b"<weight>1.5</weight>", b"<weight> 1.5 </weight>"))
    no_worker_left()


def test_many_reads_in_threads_at_once(piped):
    """Each read has its own worker and parser: reads in several threads do not mix."""
    docs = [big_doc(50 + i) for i in range(6)]
    results: dict[int, int] = {}

    def read(i: int) -> None:
        results[i] = len(cuepipe.read_xml(docs[i]))

    threads = [threading.Thread(target=read, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {i: 50 + i for i in range(6)}
    no_worker_left()


def test_one_core_turns_the_worker_off_in_its_context_only(piped):
    with reader.one_core():
        cuepipe.read_xml(big_doc(100))
        assert piped == []
        seen: list[bool] = []
        thread = threading.Thread(target=lambda: seen.append(reader._pipe_block(big_doc(100)) is not None))
        thread.start()
        thread.join()
        assert seen == [True]  # another thread has its own context
    cuepipe.read_xml(big_doc(100))
    assert len(piped) == 1
    no_worker_left()


def test_dask_partitions_are_read_on_one_core_each(piped, tmp_path):
    dd = pytest.importorskip("cuepipe.dask")
    path = tmp_path / "big.xml"
    path.write_bytes(big_doc(3000))
    frame = dd.read_xml(str(path), blocksize=20_000).compute(scheduler="threads")
    assert len(frame) == 3000 and piped == []


def test_a_thread_that_cannot_start_leaves_the_read_to_the_calling_thread(piped, monkeypatch):
    """At a thread limit ``Thread.start`` raises RuntimeError: the read goes on without a worker."""

    class NoThreads:
        def __init__(self, **kwargs):
            pass

        def start(self):
            raise RuntimeError("can't start new thread")

    monkeypatch.setattr(reader._speedups, "threading", type("threading", (), {"Thread": NoThreads}))
    data = big_doc(300)
    pd.testing.assert_frame_equal(cuepipe.read_xml(data), slow_frame(data))
    assert piped == []  # the counting wrapper saw the constructor fail

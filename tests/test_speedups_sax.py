"""The tree-free reader (``_speedups.SaxReader``, libxml2's SAX2 callbacks) and its hand-over.

``read_xml`` now reads re-readable sources (paths, bytes, seekable files) with the tree-free reader;
on anything it does not read itself it stops, and the tree harvest reads the document again,
skipping the cue points already delivered. ``tests/test_speedups.py`` compares that default path
with the pure-Python reader; this file runs the same shapes through the tree harvest alone (so both
compiled paths stay covered), checks that ordinary documents never make the tree-free reader stop
(otherwise it would silently become the slow path), and covers the hand-over itself: stopping
after runs were delivered, streams that cannot be read again, and the escapes SAX2 hands over.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cuepipe
from cuepipe.xml import reader

from .strategies import records
from .test_speedups import BAD, META, SHAPES, assert_same, code, doc, outcome, slow_frame

pytestmark = [
    pytest.mark.usefixtures("sax_feed"),
    pytest.mark.skipif(
        os.environ.get("CUEPIPE_NO_EXTENSIONS") == "1" or reader._speedups is None or not reader._speedups.SAX,
        reason="the compiled tree-free reader is not in this run",
    ),
]


@pytest.fixture
def tree_only(monkeypatch):
    """read_xml through the tree harvest alone (what a non-seekable stream gets)."""
    monkeypatch.setattr(reader, "_reopener", lambda source: None)


def stops(source) -> bool:
    """True if the tree-free reader hands this document over to the tree harvest."""
    return any(run is None for run in reader._sax_columns(source))


@pytest.mark.parametrize("body", SHAPES.values(), ids=SHAPES.keys())
def test_shapes_read_the_same_through_the_tree_harvest(body, tree_only):
    assert_same(doc(body))


@pytest.mark.parametrize("body", BAD.values(), ids=BAD.keys())
def test_bad_cue_points_raise_the_same_error_through_the_tree_harvest(body, tree_only):
    good = code("<sceneStartTime>00:00:09</sceneStartTime>")
    assert isinstance(assert_same(doc(good + "\n" + body + "\n" + good)), tuple)


# Shapes the tree-free reader reads itself (everything else is handed over, by design)
OWN_SHAPES = (
    "plain",
    "empty values",
    "PI and comment between cue points",
    "text between cue points",
    "entities",
    "custom metadata holding <scenes>",
    "two custom metadata",
    "question",
    "question, two answer lists",
    "thumb quirks",
    "one line, many",
)


@pytest.mark.parametrize("name", OWN_SHAPES)
def test_common_shapes_are_read_without_the_tree(name):
    source = doc(SHAPES[name])
    assert not stops(source), f"the tree-free reader handed {name!r} over"
    assert_same(source)


def test_xsi_attributes_under_the_servers_root_are_read_without_the_tree():
    xsi = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
    body = code("<sceneStartTime xsi:nil='false'>00:00:01</sceneStartTime>", attrs='entryId="e" xsi:type="x"')
    source = doc(body + SHAPES["custom metadata holding <scenes>"], root=f"<scenes {xsi}>")
    assert not stops(source)
    assert_same(source)


@pytest.mark.parametrize("body", BAD.values(), ids=BAD.keys())
def test_the_tree_free_reader_never_reports_an_error_itself(body):
    assert stops(doc(code("<sceneStartTime>00:00:09</sceneStartTime>") + body))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(kind=st.sampled_from(["ingest", "serve"]), data=st.data())
def test_generated_documents_are_read_without_the_tree(kind, data):
    recs = data.draw(st.lists(records(kind), min_size=1, max_size=10))
    source = cuepipe.write_xml(recs, kind=kind)
    assert not stops(source)
    assert_same(source)


_text = st.text(st.sampled_from(list("ab &<>\"'\t\n\r;#38é😀")), max_size=12)


@settings(max_examples=80, deadline=None)
@given(name=_text, note=_text, profile=_text)
def test_escapes_in_attributes_and_custom_metadata(name, note, profile):
    """SAX2 hands attribute values over with '&' as '&#38;' and the tree serializes custom metadata
    with its own escaping: both reproduced, or handed over (tab/newline/CR), never different."""

    def attr(s: str) -> str:
        return s.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;").replace("\r", "&#13;")

    def text(s: str) -> str:
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")

    meta = (
        f'<scene-customData metadataId="7" metadataVersion="1" metadataProfileId="12" metadataProfileVersion="3" '
        f'metadataProfileName="{attr(profile)}"><metadata><Note a="{attr(note)}">{text(note)}</Note></metadata>'
        "</scene-customData>"
    )
    body = code(f"<sceneStartTime>00:00:01</sceneStartTime><code>{text(note)}</code>{meta}", f'entryId="{attr(name)}"')
    assert_same(doc(body))


def test_hand_over_after_runs_were_delivered(monkeypatch):
    """Stopping late: the runs already delivered stay, the tree harvest delivers the rest once."""
    monkeypatch.setattr(reader, "_BLOCK", 97)
    monkeypatch.setattr(reader, "_RUN", 3)
    skipped: list[int] = []
    original = reader._skip_rows
    monkeypatch.setattr(reader, "_skip_rows", lambda runs, skip: skipped.append(skip) or original(runs, skip))
    good = "".join(code(f"<sceneStartTime>00:00:{i:02d}</sceneStartTime><code>c{i}</code>") for i in range(20))
    source = doc(good + SHAPES["comment and CDATA in a value"] + good)
    assert_same(source)
    assert skipped and skipped[0] >= 18, skipped
    chunks = list(cuepipe.read_xml(source, chunksize=7))
    pd.testing.assert_frame_equal(pd.concat(chunks, ignore_index=True), slow_frame(source))


def test_error_after_runs_were_delivered(monkeypatch):
    monkeypatch.setattr(reader, "_BLOCK", 64)
    monkeypatch.setattr(reader, "_RUN", 2)
    good = "".join(code(f"<sceneStartTime>00:00:{i:02d}</sceneStartTime>") for i in range(9))
    source = doc(good + BAD["bad time"] + good)
    assert isinstance(assert_same(source), tuple)
    delivered = []
    with pytest.raises(cuepipe.XMLFormatError) as caught:
        for chunk in cuepipe.read_xml(source, chunksize=4):
            delivered.append(chunk)
    assert sum(map(len, delivered)) == 9 and caught.value.record == 9


class _OneWay(io.RawIOBase):
    """A stream that cannot seek (a pipe, a socket)."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # type: ignore[no-untyped-def]
        return self._data.readinto(b)


def test_streams_that_cannot_be_read_again_use_the_tree_harvest(monkeypatch):
    source = doc(SHAPES["plain"] + SHAPES["comment and CDATA in a value"])
    called = []
    monkeypatch.setattr(reader, "_sax_columns", lambda s: called.append(s) or iter(()))
    pd.testing.assert_frame_equal(cuepipe.read_xml(_OneWay(source)), slow_frame(source))
    assert not called


def test_seekable_file_objects_are_read_again_from_where_they_were(tmp_path):
    source = doc(SHAPES["plain"] + SHAPES["comment and CDATA in a value"] + SHAPES["question"])
    path = tmp_path / "a.xml"
    path.write_bytes(b"JUNK" + source)
    with open(path, "rb") as f:
        f.seek(4)
        pd.testing.assert_frame_equal(cuepipe.read_xml(f), slow_frame(source))


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "iso-8859-1"])
def test_declared_encodings_and_doctypes(encoding):
    body = code("<sceneStartTime>00:00:01</sceneStartTime><code>é ü</code>")
    text = f'<?xml version="1.0" encoding="{encoding}"?>\n<scenes>{body}</scenes>'
    assert_same(text.encode(encoding))
    dtd = f'<?xml version="1.0" encoding="{encoding}"?>\n<!DOCTYPE scenes [<!ENTITY e "x">]><scenes>{body}</scenes>'
    fast, slow = outcome(cuepipe.read_xml, dtd.encode(encoding)), outcome(slow_frame, dtd.encode(encoding))
    assert type(fast) is type(slow)


def test_custom_metadata_text_matches_lxml_serialization():
    body = code(
        "<sceneStartTime>00:00:01</sceneStartTime>"
        + META.format('<metadata><A b="x&amp;y &lt; &gt; &quot;z&apos;">1 &lt; 2 &amp; 3 &gt; 0 "q"</A><B/></metadata>')
    )
    source = doc(body)
    assert not stops(source)
    df = assert_same(source)
    assert df["customData"][0][0]["xml"] == (
        '<metadata><A b="x&amp;y &lt; &gt; &quot;z\'">1 &lt; 2 &amp; 3 &gt; 0 "q"</A><B/></metadata>'
    )


@pytest.mark.parametrize(
    "body",
    [
        code("<sceneStartTime>00:00:01</sceneStartTime><code>" + "x" * 10_000_001 + "</code>"),
        code("<sceneStartTime>00:00:01</sceneStartTime>") + "y" * 10_000_001,
        code("<sceneStartTime>00:00:01</sceneStartTime><code>" + "x" * 9_999_999 + "</code>"),
    ],
    ids=["value", "between cue points", "just under"],
)
def test_text_nodes_over_libxml2s_limit_fail_as_the_tree_does(body):
    """libxml2's tree builder refuses a text node over 10,000,000 bytes (no huge_tree); SAX2 has no
    such limit, so the tree-free reader stops there and the tree path reports it."""
    assert_same(doc(body))


@pytest.mark.parametrize("depth", [150, 255, 256, 257, 5000])
def test_deep_custom_metadata_fails_as_the_tree_does(depth):
    """libxml2's tree builder refuses nesting deeper than 256; its SAX2 parser alone does not."""
    body = code("<sceneStartTime>00:00:01</sceneStartTime>" + META.format("<a>" * depth + "</a>" * depth))
    assert_same(doc(body))


@pytest.mark.parametrize(
    "body",
    [
        code("<sceneStartTime>00:00:01</sceneStartTime><k:code>c</k:code>"),
        code("<sceneStartTime>00:00:01</sceneStartTime>", attrs="entryId='e' k:x='1'"),
        code("<sceneStartTime>00:00:01</sceneStartTime>", attrs="entryId='e' a:q='1' b:q='2'"),
        code("<sceneStartTime>00:00:01</sceneStartTime>" + META.format("<metadata><k:N/></metadata>")),
    ],
    ids=["undefined element prefix", "undefined attribute prefix", "attribute redefined", "in custom metadata"],
)
def test_namespace_errors_fail_as_the_tree_does(body):
    """Namespace errors are not fatal to libxml2's parser, but lxml raises on them."""
    source = doc(body, root="<scenes xmlns:a='urn:u' xmlns:b='urn:u'>")
    assert stops(source)
    assert isinstance(assert_same(source), tuple)


# The real server's files, when present next to the repository (never copied into it)
FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "kaltura" / "fixtures"


@pytest.mark.skipif(not FIXTURES.is_dir(), reason="shared fixtures not available")
def test_the_servers_files_are_read_without_the_tree():
    files = sorted(FIXTURES.glob("*.xml"))
    assert files
    for path in files:
        assert not stops(path), path.name
        assert_same(path)


def test_the_benchmarks_sax_floor_parses_and_refuses_like_libxml2():
    """``sax_floor`` (the bench's read.sax_floor) runs the same parser with empty callbacks."""
    speedups = reader._speedups
    assert speedups is not None
    assert speedups.sax_floor(doc(SHAPES["plain"] * 50), 64)
    assert not speedups.sax_floor(doc(SHAPES["plain"])[:-5], 64)
    assert not speedups.sax_floor(b"<scenes><a></scenes>", 7)

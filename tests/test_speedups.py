"""The compiled reader (``cuepipe/xml/_speedups.pyx``) gives what the pure-Python reader gives.

``read_xml`` goes through ``reader.iter_columns``: lxml's push parser plus a compiled harvest that
hands anything unusual back to ``reader._read_row``. These tests compare it, value for value and
error for error, with the pure-Python path (``reader.iter_rows``), on generated documents, on
documents shaped to hit every hand-back, and with tiny parser blocks so that cue points straddle
block and run boundaries.
"""

from __future__ import annotations

import gzip
import io
import os

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cuepipe
from cuepipe import frames
from cuepipe.errors import XMLFormatError
from cuepipe.xml import reader

from .strategies import records

# every test here runs with the tree-free reader fed directly and from a worker thread
pytestmark = pytest.mark.usefixtures("sax_feed")

PURE_RUN = os.environ.get("CUEPIPE_NO_EXTENSIONS") == "1"  # make test's pure-Python run: both paths are Python


@pytest.mark.skipif(PURE_RUN, reason="pure-Python run asked for")
def test_extension_is_built():
    """make test must exercise the compiled reader; a silent fallback would hide its bugs."""
    assert reader.SPEEDUPS, "cuepipe.xml._speedups did not import: reinstall (pip install -e .)"


def slow_frame(source) -> pd.DataFrame:
    chunks = frames._ColumnChunks()
    for columns in reader._columns_from_rows(reader.iter_rows(source)):
        chunks.add(columns)
    return chunks.take()


def outcome(fn, source):
    try:
        return fn(source)
    except XMLFormatError as exc:
        return ("error", str(exc), exc.line, exc.record, exc.element)


def assert_same(source):
    slow = outcome(slow_frame, source)
    fast = outcome(cuepipe.read_xml, source)
    if isinstance(slow, tuple) or isinstance(fast, tuple):
        assert isinstance(fast, tuple) and isinstance(slow, tuple) and fast == slow, (fast, slow)
    else:
        pd.testing.assert_frame_equal(fast, slow)
    return fast


@pytest.fixture(params=[None, (61, 2), (4096, 5)], ids=["default-blocks", "tiny-blocks", "small-blocks"])
def blocks(request, monkeypatch):
    """Parser block size and run length: the defaults, and tiny ones that cut cue points apart."""
    if request.param:
        monkeypatch.setattr(reader, "_BLOCK", request.param[0])
        monkeypatch.setattr(reader, "_RUN", request.param[1])
    return request.param


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(kind=st.sampled_from(["ingest", "serve"]), data=st.data())
def test_generated_documents_read_the_same(kind, data):
    recs = data.draw(st.lists(records(kind), min_size=1, max_size=12))
    assert_same(cuepipe.write_xml(recs, kind=kind))


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_generated_documents_read_the_same_across_block_boundaries(blocks, data):
    recs = data.draw(st.lists(records("serve"), max_size=8))
    assert_same(cuepipe.write_xml(recs, kind="serve"))


XSI = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
META = (
    '<scene-customData metadataId="7" metadataVersion="1" metadataProfileId="12" metadataProfileVersion="3">'
    "{}</scene-customData>"
)


def doc(body: str, root: str = "<scenes>", end: str = "</scenes>") -> bytes:
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{root}\n{body}\n{end}'.encode()


def code(inner: str, attrs: str = 'entryId="e"') -> str:
    return f"<scene-code-cue-point {attrs}>{inner}</scene-code-cue-point>"


SHAPES = {
    "plain": code("<sceneStartTime>00:00:01.5</sceneStartTime><code>c</code><description>d</description>"),
    "empty values": code("<sceneStartTime>00:00:01</sceneStartTime><code/><description></description>"),
    "comment and CDATA in a value": code(
        "<sceneStartTime>00:00:01</sceneStartTime><code>a<!-- c -->b<![CDATA[<&>]]>c</code><description/>"
    ),
    "PI and comment between cue points": code("<sceneStartTime>00:00:01</sceneStartTime>")
    + "<!-- between --><?pi data?>"
    + code("<sceneStartTime>00:00:02</sceneStartTime>"),
    "text between cue points": "loose text" + code("<sceneStartTime>00:00:01</sceneStartTime>") + "more",
    "entities": code(
        "<sceneStartTime>00:00:01</sceneStartTime><code>&lt;&amp;&gt;&#x1F600;&#233;</code>",
        attrs='entryId="a&amp;b&#10;c" systemName="  s  "',
    ),
    "whitespace around values": code("<sceneStartTime> 00:00:01 </sceneStartTime><code> c </code>"),
    "general time shapes": code("<sceneStartTime>1:2:3</sceneStartTime>")
    + code("<sceneStartTime>00:00:01.1234</sceneStartTime>")
    + code("<sceneStartTime>00:00:05.10</sceneStartTime>")
    + code("<sceneStartTime>99:59:59.9</sceneStartTime>")
    + code("<sceneStartTime>00:00:01.</sceneStartTime>"),
    "lenient integers": '<scene-thumb-cue-point entryId="e"><sceneStartTime>00:00:01</sceneStartTime>'
    "<subType> 1 </subType></scene-thumb-cue-point>"
    '<scene-thumb-cue-point entryId="e"><sceneStartTime>00:00:01</sceneStartTime><subType>+2</subType>'
    '</scene-thumb-cue-point><scene-thumb-cue-point entryId="e"><sceneStartTime>00:00:01</sceneStartTime>'
    "<subType>-0</subType></scene-thumb-cue-point>",
    "long integer": '<scene-thumb-cue-point entryId="e"><sceneStartTime>00:00:01</sceneStartTime>'
    "<subType>0000000000000000000001</subType></scene-thumb-cue-point>",
    "xsi attributes": code("<sceneStartTime>00:00:01</sceneStartTime>", attrs=f'entryId="e" {XSI} xsi:type="x"'),
    "tags with comments and whitespace": code(
        "<sceneStartTime>00:00:01</sceneStartTime><tags>\n <tag>a</tag><!-- x --><tag/><tag>b&amp;c</tag>\n</tags>"
    ),
    "custom metadata": code(
        "<sceneStartTime>00:00:01</sceneStartTime>"
        + META.format(
            '<metadata><Note a="1&quot;&lt;&#10;">x &amp; y &gt; z</Note><Empty></Empty><Rating>4</Rating></metadata>'
        )
    ),
    "custom metadata, namespaced": code(
        "<sceneStartTime>00:00:01</sceneStartTime>"
        + META.format('<metadata xmlns:k="urn:k"><k:Note>x</k:Note></metadata>')
    ),
    "custom metadata, unused declaration": code(
        "<sceneStartTime>00:00:01</sceneStartTime>" + META.format('<metadata xmlns:k="urn:k"><Note>x</Note></metadata>')
    ),
    "custom metadata with comments": code(
        "<sceneStartTime>00:00:01</sceneStartTime>"
        + META.format("<metadata><!-- c --><Note>x<![CDATA[y]]></Note></metadata>")
    ),
    "custom metadata holding <scenes>": code(
        "<sceneStartTime>00:00:01</sceneStartTime>"
        + META.format("<metadata><scenes><scene-annotation/></scenes></metadata>")
    ),
    "two custom metadata": code(
        "<sceneStartTime>00:00:01</sceneStartTime>"
        + META.format("<metadata/>")
        + META.format("<metadata><A/></metadata>")
    ),
    "question": '<scene-question-cue-point entryId="e"><sceneStartTime>00:00:01</sceneStartTime>'
    "<question>q</question><optionalAnswers><optionalAnswer><key>1</key><text>t</text><weight> 1.5 </weight>"
    "<isCorrect>1</isCorrect></optionalAnswer><optionalAnswer/></optionalAnswers></scene-question-cue-point>",
    "question, two answer lists": '<scene-question-cue-point entryId="e"><sceneStartTime>00:00:01</sceneStartTime>'
    "<optionalAnswers><optionalAnswer><key>1</key></optionalAnswer></optionalAnswers>"
    "<optionalAnswers><optionalAnswer><key>2</key></optionalAnswer></optionalAnswers></scene-question-cue-point>",
    "question, the server's loose layout": '<scene-question-cue-point sceneId="q" entryId="e">'
    "<sceneStartTime>00:00:01</sceneStartTime><question>q</question><optionalAnswers><optionalAnswer/>"
    "<optionalAnswer/></optionalAnswers><key>1</key><text>a</text><weight>1</weight><isCorrect>1</isCorrect>"
    "<key>2</key><text>b</text></scene-question-cue-point>",
    "thumb quirks": '<scene-thumb-cue-point sceneId="t" entryId="e"><sceneStartTime>00:00:01</sceneStartTime>'
    "<sceneEndTime>00:00:02</sceneEndTime><thumbAssetId>a</thumbAssetId></scene-thumb-cue-point>",
    "one line, many": "".join(code(f"<sceneStartTime>00:00:0{i}</sceneStartTime>") for i in range(10)),
}


@pytest.mark.parametrize("body", SHAPES.values(), ids=SHAPES.keys())
def test_shapes_read_the_same(body, blocks):
    assert_same(doc(body))


def test_shapes_read_the_same_under_a_namespaced_root():
    for body in SHAPES.values():
        assert_same(doc(body, root=f"<scenes {XSI} xsi:noNamespaceSchemaLocation='x.xsd'>"))


def test_custom_metadata_drops_the_roots_namespace_declarations():
    body = code("<sceneStartTime>00:00:01</sceneStartTime>" + META.format("<metadata><Note>x</Note></metadata>"))
    df = assert_same(doc(body, root=f'<scenes {XSI} xmlns:k="urn:k">'))
    assert df["customData"][0][0]["xml"] == "<metadata><Note>x</Note></metadata>"


BAD = {
    "unknown child of scenes": code("<sceneStartTime>00:00:01</sceneStartTime>") + "<bogus/>",
    "unknown element in a cue point": code("<sceneStartTime>00:00:01</sceneStartTime><bogus>1</bogus>"),
    "unknown attribute": code("<sceneStartTime>00:00:01</sceneStartTime>", attrs='entryId="e" bogus="1"'),
    "namespaced element": code('<sceneStartTime>00:00:01</sceneStartTime><k:code xmlns:k="urn:k">c</k:code>'),
    "default namespace on a cue point": code(
        "<sceneStartTime>00:00:01</sceneStartTime>", attrs='entryId="e" xmlns="urn:x"'
    ),
    "cue point inside a wrapper": "<wrapper>" + code("<sceneStartTime>00:00:01</sceneStartTime>") + "</wrapper>",
    "element inside a value": code("<sceneStartTime>00:00:01</sceneStartTime><code>a<b/>c</code>"),
    "bad time": code("<sceneStartTime>soon</sceneStartTime>"),
    "short time": code("<sceneStartTime>00:01</sceneStartTime>"),
    "bad integer": '<scene-thumb-cue-point entryId="e"><sceneStartTime>00:00:01</sceneStartTime>'
    "<subType>one</subType></scene-thumb-cue-point>",
    "empty integer": '<scene-thumb-cue-point entryId="e"><sceneStartTime>00:00:01</sceneStartTime>'
    "<subType/></scene-thumb-cue-point>",
    "bad weight": '<scene-question-cue-point entryId="e"><sceneStartTime>00:00:01</sceneStartTime>'
    "<optionalAnswers><optionalAnswer><weight>heavy</weight></optionalAnswer></optionalAnswers>"
    "</scene-question-cue-point>",
    "bad answer element": '<scene-question-cue-point entryId="e"><sceneStartTime>00:00:01</sceneStartTime>'
    "<optionalAnswers><answer/></optionalAnswers></scene-question-cue-point>",
    "custom metadata, two elements": code("<sceneStartTime>00:00:01</sceneStartTime>" + META.format("<a/><b/>")),
    "custom metadata, bad attribute": code(
        '<sceneStartTime>00:00:01</sceneStartTime><scene-customData metadataId="x"><m/></scene-customData>'
    ),
}


@pytest.mark.parametrize("body", BAD.values(), ids=BAD.keys())
def test_bad_cue_points_raise_the_same_error(body, blocks):
    good = code("<sceneStartTime>00:00:09</sceneStartTime>")
    result = assert_same(doc(good + "\n" + good + "\n" + body + "\n" + good))
    assert isinstance(result, tuple), "expected an error"


@pytest.mark.parametrize(
    "source",
    [
        b"",
        b"<?xml version='1.0'?>",
        b"<other/>",
        b"<k:scenes xmlns:k='urn:k'/>",
        b"<scenes xmlns='urn:x'/>",
        b"<scene-annotation entryId='e'><sceneStartTime>00:00:01</sceneStartTime></scene-annotation>",
        b"<scenes/>",
        b"<scenes></scenes>",
        b"<scenes>\n</scenes>",
    ],
    ids=[
        "empty",
        "prolog only",
        "other root",
        "prefixed root",
        "default namespace root",
        "cue point as root",
        "empty root",
        "empty root pair",
        "blank root",
    ],
)
def test_document_level_cases_read_the_same(source):
    assert_same(source)


@pytest.mark.parametrize("cut", [10, 60, 200, 333, -30, -9])
def test_truncated_documents_fail_alike(cut):
    body = "".join(code(f"<sceneStartTime>00:00:0{i}</sceneStartTime><code>x</code>") for i in range(6))
    source = doc(body)[:cut]
    slow, fast = outcome(slow_frame, source), outcome(cuepipe.read_xml, source)
    assert isinstance(fast, tuple) and isinstance(slow, tuple)
    # the message and position are libxml2's in both; the compiled path counts every cue point
    # finished before the error, the pure-Python one those iterparse delivered before raising
    assert fast[1].split(" (")[0].split(": ", 1)[-1] == slow[1].split(" (")[0].split(": ", 1)[-1]
    assert fast[2] == slow[2]
    assert fast[3] is not None and slow[3] is not None and fast[3] >= slow[3]


def test_every_source_kind(tmp_path):
    source = doc(SHAPES["plain"] + SHAPES["custom metadata"])
    expected = cuepipe.read_xml(source)
    path = tmp_path / "a.xml.gz"
    path.write_bytes(gzip.compress(source))
    for src in (path, str(path), io.BytesIO(source), io.BytesIO(gzip.compress(source)), bytearray(source)):
        pd.testing.assert_frame_equal(cuepipe.read_xml(src), expected)


def test_chunks_are_cut_at_the_asked_size(monkeypatch):
    monkeypatch.setattr(reader, "_BLOCK", 200)
    monkeypatch.setattr(reader, "_RUN", 3)
    source = doc("".join(code(f"<sceneStartTime>00:00:{i:02d}</sceneStartTime>") for i in range(23)))
    sizes = [len(c) for c in cuepipe.read_xml(source, chunksize=5)]
    assert sizes == [5, 5, 5, 5, 3]
    whole = pd.concat(cuepipe.read_xml(source, chunksize=5), ignore_index=True)
    pd.testing.assert_frame_equal(whole, cuepipe.read_xml(source))


def test_pure_python_fallback_reads_the_same(monkeypatch):
    source = doc("".join(SHAPES.values()))
    expected = cuepipe.read_xml(source)
    monkeypatch.setattr(reader, "_speedups", None)
    pd.testing.assert_frame_equal(cuepipe.read_xml(source), expected)


def records_outcome(source, compiled: bool, monkeypatch):
    """iter_cue_points as a list of (key order, record), and the error if one ends it."""
    out: list = []
    with monkeypatch.context() as m:
        if not compiled:
            m.setattr(reader, "_speedups", None)
        try:
            for rec in cuepipe.iter_cue_points(source):
                out.append((list(rec), rec))
        except XMLFormatError as exc:
            out.append(("error", str(exc), exc.line, exc.record))
    return out


@pytest.mark.parametrize("body", [*SHAPES.values(), *BAD.values()], ids=[*SHAPES.keys(), *BAD.keys()])
def test_records_are_the_same(body, blocks, monkeypatch):
    good = code("<sceneStartTime>00:00:09</sceneStartTime>")
    source = doc(good + body + good)
    fast, slow = records_outcome(source, True, monkeypatch), records_outcome(source, False, monkeypatch)
    if slow and slow[-1][0] == "error":
        # Same error; the pure-Python reader notices an unknown child of <scenes> only when it next
        # sweeps, after yielding the cue points that follow it, the compiled one where it stands.
        assert fast[-1] == slow[-1] and fast[:-1] == slow[: len(fast) - 1]
    else:
        assert fast == slow


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)
@given(kind=st.sampled_from(["ingest", "serve"]), data=st.data())
def test_generated_records_are_the_same(kind, monkeypatch, data):
    recs = data.draw(st.lists(records(kind), min_size=1, max_size=8))
    source = cuepipe.write_xml(recs, kind=kind)
    assert records_outcome(source, True, monkeypatch) == records_outcome(source, False, monkeypatch)


def test_cue_points_before_a_bad_one_are_delivered(monkeypatch):
    monkeypatch.setattr(reader, "_RUN", 1000)
    body = "".join(code(f"<sceneStartTime>00:00:{i:02d}</sceneStartTime>") for i in range(5))
    out = records_outcome(doc(body + BAD["unknown attribute"]), True, monkeypatch)
    assert len(out) == 6 and out[-1][0] == "error" and out[-1][3] == 5
    chunks = []
    with pytest.raises(XMLFormatError):
        for chunk in cuepipe.read_xml(doc(body + BAD["unknown attribute"]), chunksize=2):
            chunks.append(len(chunk))
    assert chunks == [2, 2, 1]


# ------------------------------------------------------------------------------------------------
# writer: the compiled path (DataFrames) against the pure-Python renderer
# ------------------------------------------------------------------------------------------------

from cuepipe.errors import CuePointValueError  # noqa: E402
from cuepipe.frames import records_to_frame  # noqa: E402
from cuepipe.values import DAY_MS  # noqa: E402
from cuepipe.xml import writer  # noqa: E402


def write_outcome(df, monkeypatch, compiled: bool, **kw):
    with monkeypatch.context() as m:
        if not compiled:
            m.setattr(writer, "_speedups", None)
        try:
            return cuepipe.write_xml(df, **kw)
        except CuePointValueError as exc:
            return ("error", str(exc), exc.record, exc.field)


def assert_same_write(df, monkeypatch, **kw):
    fast = write_outcome(df, monkeypatch, True, **kw)
    slow = write_outcome(df, monkeypatch, False, **kw)
    assert fast == slow
    return fast


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)
@given(kind=st.sampled_from(["ingest", "serve"]), data=st.data())
def test_generated_frames_write_the_same(kind, monkeypatch, data):
    recs = data.draw(st.lists(records(kind), min_size=1, max_size=12))
    out = assert_same_write(records_to_frame(recs), monkeypatch, kind=kind)
    assert isinstance(out, bytes)


ANN = {"cuePointType": "annotation.Annotation", "entryId": "0_abc", "startTime": 1500, "endTime": 2000}
QUESTION = {"cuePointType": "quiz.QUIZ_QUESTION", "entryId": "e", "startTime": 0, "question": "q?"}
AD = {"cuePointType": "adCuePoint.Ad", "entryId": "e", "startTime": 0, "adType": "1", "protocolType": "2"}
METADATA = {"metadataProfileId": 3, "xml": "<metadata><A>1</A></metadata>"}

CHANGES = {
    "time at a day": (ANN, {"startTime": DAY_MS}),
    "negative time": (ANN, {"startTime": -1}),
    "fractional time": (ANN, {"startTime": 1.5}),
    "whole float time": (ANN, {"startTime": 1500.0}),
    "time as text": (ANN, {"startTime": "00:00:01"}),
    "time as bool": (ANN, {"startTime": True}),
    "time as numpy": (ANN, {"startTime": np.int64(5)}),
    "time near the end of the day": (ANN, {"startTime": DAY_MS - 1, "endTime": DAY_MS - 51}),
    "missing required": (ANN, {"endTime": None}),
    "NaN required": (ANN, {"entryId": float("nan")}),
    "NA optional": (ANN, {"text": pd.NA}),
    "too long attribute": (ANN, {"entryId": "x" * 21}),
    "long unicode attribute": (ANN, {"entryId": "é" * 20, "systemName": "😀" * 120}),
    "attribute escaping": (ANN, {"systemName": 'a&b<c>d"e\tf\ng\rh'}),
    "text escaping": (ANN, {"text": 'a&b<c>d"e\tf\ng\rh]]>'}),
    "empty text": (ANN, {"text": ""}),
    "text as number": (ANN, {"text": 42}),
    "control character": (ANN, {"text": "bell \x07"}),
    "U+FFFE": (ANN, {"text": "x\ufffey"}),
    "lone surrogate": (ANN, {"text": "lone \ud800"}),
    "empty tag": (ANN, {"tags": "a,,b"}),
    "long tag": (ANN, {"tags": "x" * 31}),
    "tags with spaces": (ANN, {"tags": " a , b "}),
    "tags escaping": (ANN, {"tags": "a&b,<c>,d\re"}),
    "tags at the limit": (ANN, {"tags": "é" * 30 + ",x"}),
    "empty tags": (ANN, {"tags": ""}),
    "tags as list": (ANN, {"tags": ["a", "b"]}),
    "choice conflict": (ANN, {"parentId": "1_p", "parentSystemName": "P"}),
    "enum by name": (AD, {"adType": "VIDEO", "protocolType": "vast_2_0"}),
    "enum as int": (AD, {"adType": 1, "protocolType": 2}),
    "enum with spaces": (AD, {"adType": " 1 "}),
    "bad enum": (AD, {"adType": "3"}),
    "answers": (
        QUESTION,
        {"optionalAnswers": [{"key": "1", "text": "a&<", "weight": 0.1, "isCorrect": 1}, {}, {"weight": 2.0}]},
    ),
    "answers with odd values": (QUESTION, {"optionalAnswers": [{"key": "1", "weight": 1, "isCorrect": True}]}),
    "answers with missing values": (QUESTION, {"optionalAnswers": [{"key": None, "text": float("nan")}]}),
    "answers with special floats": (QUESTION, {"optionalAnswers": [{"weight": float("inf")}, {"weight": 1e300}]}),
    "answers with a big int": (QUESTION, {"optionalAnswers": [{"isCorrect": 2**31}]}),
    "answers with an unknown key": (QUESTION, {"optionalAnswers": [{"kee": "1"}]}),
    "answers as tuple": (QUESTION, {"optionalAnswers": ({"key": "1"},)}),
    "empty answers": (QUESTION, {"optionalAnswers": []}),
    "answers not a list": (QUESTION, {"optionalAnswers": "1,2"}),
    "custom metadata": (ANN, {"customData": [METADATA, {**METADATA, "metadataId": 5}]}),
    "custom metadata escaping": (ANN, {"customData": [{**METADATA, "metadataProfile": 'a"&<'}]}),
    "custom metadata, serve-only key": (ANN, {"customData": [{**METADATA, "metadataVersion": 1}]}),
    "custom metadata, missing xml": (ANN, {"customData": [{"metadataProfileId": 3}]}),
    "custom metadata, blank xml": (ANN, {"customData": [{**METADATA, "xml": "  "}]}),
    "custom metadata, bad xml": (ANN, {"customData": [{**METADATA, "xml": "<a>"}]}),
    "custom metadata, None value": (ANN, {"customData": [{**METADATA, "metadataId": None}]}),
    "custom metadata, id as text": (ANN, {"customData": [{**METADATA, "metadataId": "7"}]}),
    "custom metadata not a list": (ANN, {"customData": {"xml": "<a/>"}}),
}


@pytest.mark.parametrize("kind", ["ingest", "serve"])
@pytest.mark.parametrize("base, change", CHANGES.values(), ids=CHANGES.keys())
def test_odd_values_write_the_same(base, change, kind, monkeypatch):
    recs = [dict(base, id="1_a"), {**base, "id": "1_b", **change}, dict(base, id="1_c")]
    df = pd.DataFrame(recs, dtype=object)  # object columns: any Python value reaches the writer as it is
    assert_same_write(df, monkeypatch, kind=kind)
    assert_same_write(df, monkeypatch, kind=kind, unsupported="ignore")


def test_unknown_and_mixed_types_write_the_same(monkeypatch):
    df = pd.DataFrame([ANN, {**ANN, "cuePointType": "annotation.Annotaton"}])
    assert assert_same_write(df, monkeypatch)[0] == "error"
    df = pd.DataFrame([ANN, AD, QUESTION, {**ANN, "cuePointType": "annotation"}])
    assert isinstance(assert_same_write(df, monkeypatch), bytes)
    df = pd.DataFrame([ANN, {**ANN, "cuePointType": ["x"]}])
    assert assert_same_write(df, monkeypatch)[0] == "error"


def test_large_frames_write_the_same_across_blocks(monkeypatch):
    monkeypatch.setattr(writer, "_FRAME_BLOCK", 7)
    recs = [{**ANN, "startTime": i * 37, "endTime": i * 37 + 5, "text": f"t{i}é"} for i in range(30)]
    recs[23]["text"] = "\x00"
    assert assert_same_write(pd.DataFrame(recs), monkeypatch)[2] == 23
    recs[23]["text"] = "ok"
    assert isinstance(assert_same_write(pd.DataFrame(recs), monkeypatch), bytes)


@pytest.mark.skipif(PURE_RUN, reason="about the compiled writer")
def test_plain_frames_do_not_fall_back(monkeypatch):
    """The compiled writer writes ordinary values itself (else it would be the slow path in disguise)."""
    calls = []
    original = writer._Renderer.render
    monkeypatch.setattr(writer._Renderer, "render", lambda self, *a: calls.append(a) or original(self, *a))
    recs = [
        {**ANN, "tags": "a,b&c", "text": "x < y", "systemName": "s", "customData": [METADATA]},
        {**AD, "endTime": 5, "title": "t", "sourceUrl": "http://x?a=1&b=2"},
        {**QUESTION, "optionalAnswers": [{"key": "1", "text": "a", "weight": 1.0, "isCorrect": 1}], "hint": ""},
    ]
    out = cuepipe.write_xml(records_to_frame(recs))
    assert calls == [] and cuepipe.validate(out).ok

"""Validation: same verdicts as the schema, errors with line, record, element path and a plain message."""

from __future__ import annotations

import io

import pytest
from lxml import etree

import cuepipe
from cuepipe.xml.schemas import load_schema

CODE = "<scene-code-cue-point entryId='e'><sceneStartTime>00:00:01</sceneStartTime></scene-code-cue-point>"


def doc(*scenes: str) -> bytes:
    return ("<?xml version='1.0'?>\n<scenes>\n" + "\n".join(scenes) + "\n</scenes>").encode()


def test_valid_document():
    report = cuepipe.validate(doc(CODE, CODE))
    assert report.ok and bool(report)
    assert report.records == 2
    assert "valid ingest document, 2 cue points" in str(report)


def test_errors_carry_line_record_path_and_message():
    bad_time = "<scene-code-cue-point entryId='e'><sceneStartTime>25:00:00</sceneStartTime></scene-code-cue-point>"
    missing_end = "<scene-annotation entryId='e'><sceneStartTime>00:00:01</sceneStartTime></scene-annotation>"
    report = cuepipe.validate(doc(CODE, bad_time, missing_end))
    assert not report.ok
    first, second = report.errors
    assert (first.line, first.record) == (4, 1)
    assert first.element == "/scenes/scene-code-cue-point[1]/sceneStartTime"
    assert "25:00:00" in first.message and "xs:time" in first.message
    assert (second.line, second.record) == (5, 2)
    assert "missing a required child" in second.message and "<sceneEndTime>" in second.message
    text = str(report)
    assert "line 4, record 1, /scenes/scene-code-cue-point[1]/sceneStartTime" in text
    with pytest.raises(cuepipe.XMLFormatError, match="and 1 more"):
        report.raise_for_errors()


def test_attribute_errors_name_the_attribute():
    report = cuepipe.validate(
        doc(
            "<scene-code-cue-point entryId='" + "x" * 21 + "'><sceneStartTime>00:00:01"
            "</sceneStartTime></scene-code-cue-point>"
        )
    )
    (err,) = report.errors
    assert err.message.startswith("attribute 'entryId'")


def test_kind_matters():
    served = cuepipe.write_xml(
        [{"cuePointType": "codeCuePoint.Code", "entryId": "e", "startTime": 0, "id": "1_a", "userId": "u"}],
        kind="serve",
    )
    assert cuepipe.validate(served, kind="serve").ok
    report = cuepipe.validate(served, kind="ingest")
    assert not report.ok and "userId" in report.errors[0].message


def test_root_level_problems():
    assert "at least one cue point" in str(cuepipe.validate(b"<scenes/>"))
    assert cuepipe.validate(b"<scenes/>", kind="serve").ok
    assert "root element must be <scenes>" in str(cuepipe.validate(b"<other/>"))
    r = cuepipe.validate(doc(CODE, "<scene-event entryId='e'/>"))
    assert r.errors[0].record == 1 and "not a cue point element" in r.errors[0].message
    r = cuepipe.validate(doc(CODE + "stray text"))
    assert "text is not allowed" in r.errors[0].message


def test_not_well_formed_is_reported_not_raised():
    r = cuepipe.validate(b"<scenes><scene-code-cue-point entryId='e'>")
    assert not r.ok and "truncated" in r.errors[0].message


def test_max_errors():
    bad = "<scene-code-cue-point entryId='e'><sceneStartTime>x</sceneStartTime></scene-code-cue-point>"
    r = cuepipe.validate(doc(*[bad] * 20), max_errors=5)
    assert len(r.errors) == 5 and r.truncated


def test_seekable_file_object_is_read_twice(tmp_path):
    bad = "<scene-code-cue-point entryId='e'><sceneStartTime>x</sceneStartTime></scene-code-cue-point>"
    with open(tmp_path.joinpath("a.xml"), "wb") as f:
        f.write(doc(CODE, bad))
    with open(tmp_path.joinpath("a.xml"), "rb") as f:
        r = cuepipe.validate(f)
    assert r.errors[0].record == 1


CASES = [
    doc(CODE),
    doc(
        "<scene-thumb-cue-point entryId='e'><sceneStartTime>00:00:01</sceneStartTime><title/><description/>"
        "<subType> 2 </subType></scene-thumb-cue-point>"
    ),
    doc(
        "<scene-ad-cue-point entryId='e'><sceneStartTime>00:00:01</sceneStartTime><adType> 1</adType>"
        "<protocolType>1</protocolType></scene-ad-cue-point>"
    ),
    doc(
        "<scene-annotation entryId='e'><sceneStartTime>00:00:01</sceneStartTime><sceneEndTime>00:00:01"
        "</sceneEndTime><parent>a</parent><parentId>b</parentId></scene-annotation>"
    ),
    doc("<scene-code-cue-point entryId='e'><sceneStartTime>00:00:05Z</sceneStartTime></scene-code-cue-point>"),
    doc("<scene-code-cue-point entryId='e'><sceneStartTime>0:00:05</sceneStartTime></scene-code-cue-point>"),
    doc(
        "<scene-code-cue-point entryId='e'><sceneStartTime>00:00:01</sceneStartTime><scene-customData>"
        "<a/><b/></scene-customData></scene-code-cue-point>"
    ),
    doc(
        "<scene-code-cue-point entryId='e'><sceneStartTime>00:00:01</sceneStartTime><scene-customData>"
        "<m/></scene-customData></scene-code-cue-point>"
    ),
    doc(
        "<scene-question-cue-point entryId='e'><sceneStartTime>00:00:01</sceneStartTime><question/>"
        "<optionalAnswers><optionalAnswer/></optionalAnswers><key>1</key></scene-question-cue-point>"
    ),
    doc("<scene-code-cue-point entryId='e'><sceneStartTime>00:00:01</sceneStartTime><tags/></scene-code-cue-point>"),
    doc(
        "<scene-code-cue-point entryId='e'><sceneStartTime>00:00:01</sceneStartTime><tags><tag/></tags>"
        "</scene-code-cue-point>"
    ),
]


@pytest.mark.parametrize("kind", ["ingest", "serve"])
@pytest.mark.parametrize("data", CASES)
def test_same_verdict_as_the_schema_itself(kind, data):
    expected = load_schema(kind).validate(etree.parse(io.BytesIO(data)))
    assert cuepipe.validate(data, kind=kind).ok == expected


@pytest.fixture(params=[None, 50, 700], ids=["default-blocks", "tiny-blocks", "small-blocks"])
def blocks(request, monkeypatch):
    """The first pass validates a block at a time; tiny blocks cut cue points (and errors) apart."""
    if request.param:
        import importlib

        monkeypatch.setattr(importlib.import_module("cuepipe.xml.validate"), "_BLOCK", request.param)
    return request.param


def many(*bodies: str, root: str = "<scenes>") -> bytes:
    return ('<?xml version="1.0"?>\n' + root + "\n" + "\n".join(bodies) + "\n</scenes>").encode()


GOOD = (
    "<scene-code-cue-point entryId='e'><sceneStartTime>00:00:01</sceneStartTime><code>c</code></scene-code-cue-point>"
)
BLOCK_CASES = {
    "all good": many(*[GOOD] * 30),
    "bad first": many(GOOD.replace("00:00:01", "soon"), *[GOOD] * 29),
    "bad in the middle": many(*[GOOD] * 15, GOOD.replace("entryId='e'", ""), *[GOOD] * 14),
    "bad last": many(*[GOOD] * 29, GOOD.replace("<code>c</code>", "<bogus/>")),
    "long cue point": many(GOOD, GOOD.replace("<code>c</code>", "<code>" + "x" * 5000 + "</code>"), GOOD),
    "comments and PIs": many(GOOD, "<!-- c -->", "<?pi x?>", GOOD),
    "text between": many(GOOD, "stray text", GOOD),
    "root attributes": many(
        GOOD,
        root="<scenes xmlns:xsi='http://www.w3.org/2001/XMLSchema-instance' xsi:noNamespaceSchemaLocation='x.xsd'>",
    ),
    "bad root attribute": many(GOOD, root="<scenes bogus='1'>"),
    "empty root": b"<scenes></scenes>",
    "other root": b"<other/>",
    "unknown element": many(*[GOOD] * 10, "<other/>", GOOD),
}


@pytest.mark.parametrize("kind", ["ingest", "serve"])
@pytest.mark.parametrize("data", BLOCK_CASES.values(), ids=BLOCK_CASES.keys())
def test_block_wise_first_pass_gives_the_whole_document_verdict(kind, data, blocks):
    expected = load_schema(kind).validate(etree.parse(io.BytesIO(data)))
    report = cuepipe.validate(data, kind=kind)
    assert report.ok == expected
    if expected:
        assert report.records == data.count(b"<scene-code-cue-point")
    else:
        assert report.errors


def test_truncated_document_is_reported(blocks):
    data = many(*[GOOD] * 30)
    for cut in (len(data) // 2, len(data) - 5):
        report = cuepipe.validate(data[:cut])
        assert not report.ok and "not well-formed" in report.errors[0].message

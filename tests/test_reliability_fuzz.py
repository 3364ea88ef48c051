"""Fuzzing the reader and the validator: whatever the bytes, only cuepipe's own documented errors escape.

Documented: ``iter_cue_points``/``read_xml`` raise :class:`~cuepipe.errors.XMLFormatError` (its
subclass ``UnsafeXMLError`` for DTDs) for a document they cannot read; ``validate`` never raises for a
bad document (it reports it). Any other exception (an lxml error, ``UnicodeDecodeError``,
``KeyError``, ``IndexError``, ``OverflowError``...) is a bug. Also: a document the schema accepts
must be readable, and reading never loses a cue point the validator counted.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import cuepipe
from cuepipe import vocabulary as voc
from cuepipe.errors import XMLFormatError

from .strategies import records

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SNIPPETS = [
    b"<!DOCTYPE scenes [<!ENTITY a 'b'>]>",
    b"&a;",
    b"&amp;",
    b"&#0;",
    b"&#x1F;",
    b"&#xD800;",
    b"&#65536;",
    b"\x00",
    b"\x01",
    b"\x0b",
    b"\xff",
    b"\xc3",
    b"\xed\xa0\x80",
    b"\xef\xbb\xbf",
    b"<![CDATA[x]]>",
    b"]]>",
    b"<?pi x?>",
    b"<!-- c -->",
    b"<scenes>",
    b"</scenes>",
    b"<scene-annotation entryId='e'>",
    b"</scene-annotation>",
    b"<sceneStartTime>",
    b"</sceneStartTime>",
    b"<tags><tag>t</tag></tags>",
    b' xmlns:x="urn:x"',
    b' xsi:type="x"',
    b' xsi:nil="true"',
    b" sceneId=''",
    b" entryId='e' entryId='f'",
    b"99999999999999999999999999",
    b"-1",
    b"24:00:00",
    b"99:99:99.9999999",
    b"00:00:01Z",
    b"NaN",
    b"1e400",
    b"inf",
    b"\xe2\x80\xae",
    b"<x:y xmlns:x='urn:x'/>",
    b"<optionalAnswers><optionalAnswer/></optionalAnswers>",
    b"<scene-customData metadataId='x'><a/></scene-customData>",
    b"<weight>nan</weight>",
    b"<isCorrect>9e9</isCorrect>",
    b"<key>k</key>",
    b"<" * 40,
    b"\r\n",
    b"\x1f\x8b",
]


def documents(kind: voc.Kind) -> st.SearchStrategy[bytes]:
    """Valid documents of the kind, written by cuepipe's own writer."""
    return st.lists(records(kind), min_size=1, max_size=4).map(
        lambda recs: b"".join(cuepipe.iter_xml_chunks([{**r, "entryId": "0_e"} for r in recs], kind=kind))
    )


@st.composite
def mutated(draw: Any) -> bytes:
    """A valid document with a few random edits: snippets spliced in, bytes flipped, ranges cut or
    repeated, the end chopped off."""
    data = bytearray(draw(st.one_of(documents("ingest"), documents("serve"))))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(["snippet", "flip", "cut", "repeat", "truncate", "bytes"]))
        if op == "snippet":
            data[at:at] = draw(st.sampled_from(SNIPPETS))
        elif op == "flip" and at < len(data):
            data[at] ^= draw(st.integers(1, 255))
        elif op == "cut":
            del data[at : at + draw(st.integers(1, 40))]
        elif op == "repeat":
            data[at:at] = data[at : at + draw(st.integers(1, 200))]
        elif op == "truncate":
            del data[at:]
        else:
            data[at:at] = draw(st.binary(max_size=8))
    return bytes(data)


SCENES = sorted(voc.BY_ELEMENT)
FIELDS = sorted({f.xml for t in voc.TYPES for f in t.all_fields if not f.attribute} | {"x", "scene-customData"})
INNER = sorted({"tag", "optionalAnswer", "key", "text", "weight", "isCorrect", "metadata", "x"})
ATTRS = sorted({f.xml for t in voc.TYPES for f in t.all_fields if f.attribute} | {"x"})
VALUES = ["", "x", "0_e", "00:00:01", "00:00:01.5", "1", "-3", "2.5", "true", "ad", "&lt;", "&amp;amp;", " 1 "]


def _leaf(name: str, text: str, inner: list[tuple[str, str]]) -> str:
    return f"<{name}>{text}" + "".join(f"<{n}>{t}</{n}>" for n, t in inner) + f"</{name}>"


_inner = st.lists(st.tuples(st.sampled_from(INNER), st.sampled_from(VALUES)), max_size=3)
_attrs = st.lists(st.tuples(st.sampled_from(ATTRS), st.sampled_from(VALUES)), max_size=3, unique_by=lambda a: a[0])


@st.composite
def _scene(draw: Any) -> str:
    """A cue point element, mostly with its own type's fields (so it gets past the reader's checks)."""
    tag = draw(st.sampled_from(SCENES))
    own = sorted({f.xml for f in voc.BY_ELEMENT[tag].all_fields if not f.attribute})
    names = st.one_of(st.sampled_from(own), st.sampled_from(own), st.sampled_from(FIELDS))
    fields = draw(
        st.lists(st.builds(_leaf, names, st.sampled_from(VALUES), st.one_of(st.just([]), _inner)), max_size=6)
    )
    attrs = draw(st.one_of(st.just([("entryId", "0_e")]), _attrs))
    return f"<{tag}" + "".join(f' {a}="{v}"' for a, v in attrs) + ">" + "".join(fields) + f"</{tag}>"


#: Documents made of the vocabulary's element and attribute names with plausible and odd values, so
#: that they get past the parser and deep into the reader's and the validator's per-field code.
structured = st.lists(_scene(), min_size=1, max_size=4).map(
    lambda els: ("<scenes>" + "".join(els) + "</scenes>").encode()
)


def read_everything(data: bytes) -> int | None:
    """Run every reader; return the cue point count, None when the document was refused (documented)."""
    try:
        count = sum(1 for _ in cuepipe.iter_cue_points(data))
        frame = cuepipe.read_xml(data)
        chunks = list(cuepipe.read_xml(data, chunksize=2))  # type: ignore[arg-type]
    except XMLFormatError as exc:
        assert str(exc) and exc.reason
        return None
    assert len(frame) == count == sum(len(c) for c in chunks)
    return count


def check(data: bytes) -> None:
    count = read_everything(data)
    for kind in ("ingest", "serve"):
        report = cuepipe.validate(data, kind=kind)  # type: ignore[arg-type]
        assert isinstance(report.ok, bool) and str(report)
        for issue in report.errors:
            assert issue.message and str(issue)
        if report.ok:
            assert count == report.records, (kind, count, report.records)


@FUZZ
@given(st.binary(max_size=600))
@example(b"")
@example(b"\x1f\x8b\x08\x00")  # a gzip header and nothing else
@example(b"\x1f\x8b" + b"\x00" * 30)
@example(b"\xff\xfe<\x00s\x00")  # UTF-16 with a BOM, cut short
@example(b"<scenes" + b"\x00" * 10)
def test_arbitrary_bytes(data: bytes) -> None:
    check(data)


@settings(FUZZ, max_examples=100)
@given(mutated())
def test_mutated_valid_documents(data: bytes) -> None:
    check(data)


@FUZZ
@given(structured)
def test_documents_built_from_the_vocabulary(data: bytes) -> None:
    check(data)


@settings(max_examples=25, deadline=None)
@given(st.one_of(documents("ingest"), documents("serve")))
def test_valid_documents_read_and_count_the_same(data: bytes) -> None:
    count = read_everything(data)
    assert count is not None and count >= 1
    check(data)


def test_wrong_argument_types_raise_type_error() -> None:
    import pytest

    for bad in (3, None, 2.5, ["<scenes/>"], object()):
        for call in (
            lambda b=bad: list(cuepipe.iter_cue_points(b)),
            lambda b=bad: cuepipe.validate(b),
            lambda b=bad: cuepipe.read_xml(b),
        ):
            with pytest.raises(TypeError):
                call()

"""Hypothesis strategies for cue point records, derived from the vocabulary (not a second copy of it)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from lxml import etree

from cuepipe import vocabulary as voc
from cuepipe.values import DAY_MS, TAG_MAX_LENGTH, find_bad_xml_char, round_to_tenths

# Characters XML 1.0 can carry, biased towards the ones that break naive writers.
_tricky = st.sampled_from(
    [
        "&",
        "<",
        ">",
        '"',
        "'",
        "\r",
        "\n",
        "\t",
        " ",
        "\u00a0",
        "]]>",
        "\u05e9\u05dc\u05d5\u05dd",
        "\u0645\u0631\u062d\u0628\u0627",
        "\U0001d11e",
        "\U0001f600",
        "\u200f",
        "\ufeff",
        "é",
        "日本",
    ]
)
_char = st.characters(codec="utf-8").filter(lambda c: find_bad_xml_char(c) < 0)
xml_text = st.lists(st.one_of(_char.map(str), _tricky), max_size=12).map("".join)


def bounded_text(max_length: int | None) -> st.SearchStrategy[str]:
    s = xml_text
    if max_length is not None:
        s = s.map(lambda t: t[:max_length])
    return s


def times(kind: voc.Kind) -> st.SearchStrategy[int]:
    edge = st.sampled_from(
        [0, 1, 49, 50, 949, 950, 999, 1000, 5950, 5999, 59_999, 3_599_999, DAY_MS - 1000, DAY_MS - 51, DAY_MS - 1]
    )
    any_time = st.integers(min_value=0, max_value=DAY_MS - 1)
    s = st.one_of(edge, any_time)
    if kind == "serve":
        s = s.filter(lambda t: round_to_tenths(t) < DAY_MS)
    return s


tag = st.text(_char.filter(lambda c: c != ","), min_size=1, max_size=TAG_MAX_LENGTH)
tags = st.lists(tag, min_size=1, max_size=5).map(",".join)

answer = st.fixed_dictionaries(
    {},
    optional={
        "key": xml_text,
        "text": xml_text,
        "weight": st.floats(allow_nan=False, width=32),
        "isCorrect": st.integers(min_value=-(2**31), max_value=2**31 - 1),
    },
)
answers = st.lists(answer, max_size=4)


@st.composite
def metadata_xml(draw: Any) -> str:
    root = etree.Element("metadata")
    for _ in range(draw(st.integers(0, 3))):
        child = etree.SubElement(root, draw(st.sampled_from(["Note", "Reviewer", "Layout"])))
        child.text = draw(xml_text.filter(lambda t: "\r" not in t))
    return etree.tostring(root, encoding="unicode")


def custom_data(kind: voc.Kind) -> st.SearchStrategy[list[dict[str, Any]]]:
    int32 = st.integers(min_value=-(2**31), max_value=2**31 - 1)
    required = {f.column: int32 for f in voc.CUSTOM_DATA_ATTRIBUTES if f.occurs(kind) == "required"}
    optional = {
        f.column: (int32 if f.kind == "int" else xml_text)
        for f in voc.CUSTOM_DATA_ATTRIBUTES
        if f.occurs(kind) == "optional"
    }
    item = st.fixed_dictionaries({**required, voc.CUSTOM_DATA_XML_KEY: metadata_xml()}, optional=optional)
    return st.lists(item, min_size=1, max_size=2)  # [] writes nothing: same as missing


def value_for(field: voc.Field, kind: voc.Kind) -> st.SearchStrategy[Any]:
    if field.kind == "time":
        return times(kind)
    if field.kind == "tags":
        return tags
    if field.kind == "enum":
        assert field.enum is not None
        return st.sampled_from([m.value for m in field.enum])
    if field.kind == "answers":
        return answers
    if field.kind == "custom":
        return custom_data(kind)
    return bounded_text(field.max_length)


@st.composite
def records(draw: Any, kind: voc.Kind, types: tuple[voc.CuePointTypeInfo, ...] = voc.XML_TYPES) -> dict:
    info = draw(st.sampled_from(types))
    rec: dict[str, Any] = {"cuePointType": info.api_type.value}
    excluded: set[str] = set()
    if kind == "ingest":
        for group in info.ingest_choices:
            keep = draw(st.sampled_from(group))
            excluded |= set(group) - {keep}
    for f in info.fields_for(kind):
        if f.column in excluded:
            continue
        if f.occurs(kind) == "required" or draw(st.booleans()):
            rec[f.column] = draw(value_for(f, kind))
    return rec


def expected_after_round_trip(rec: dict[str, Any], kind: voc.Kind) -> dict[str, Any]:
    """What reading a written record gives back: identical, but serve times are in tenths."""
    out = dict(rec)
    if kind == "serve":
        for k in ("startTime", "endTime"):
            if k in out:
                out[k] = round_to_tenths(out[k])
    return out


#: Any JSON value a server may put in a field of an API object: scalars, lists, and nested objects
#: that may carry their own ``objectType`` (decoders drop it).
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=8))
api_json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["objectType", "key", "text", "weight", "x"]), inner, max_size=4),
    ),
    max_leaves=8,
)

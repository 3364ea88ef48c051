"""The vocabulary must say exactly what the XSDs say: elements, order, occurrence, lengths, enums."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lxml import etree

from cuepipe import vocabulary as voc
from cuepipe.frames import DTYPES
from cuepipe.xml.schemas import schema_path

XS = "{http://www.w3.org/2001/XMLSchema}"


class Xsd:
    """Just enough of an XSD reader to compare content models with the vocabulary."""

    def __init__(self, kind: str) -> None:
        self.root = etree.parse(str(schema_path(kind))).getroot()
        self.types = {t.get("name"): t for t in self.root if t.tag in (XS + "complexType", XS + "simpleType")}
        self.elements = {e.get("name"): e for e in self.root.iter(XS + "element") if e.getparent() is self.root}

    def max_length(self, type_name: str | None) -> int | None:
        t = self.types.get(type_name or "")
        if t is None:
            return None
        facet = t.find(f"{XS}restriction/{XS}maxLength")
        return int(facet.get("value")) if facet is not None else None

    def enum_values(self, type_name: str) -> list[str]:
        return [e.get("value") for e in self.types[type_name].iter(XS + "enumeration")]

    def content(self, type_name: str) -> list[tuple[str, str, str | None]]:
        """(name, occurs, type) of each attribute and element of a type, base first, in order."""
        t = self.types[type_name]
        out: list[tuple[str, str, str | None]] = []
        ext = t.find(f"{XS}complexContent/{XS}extension")
        if ext is not None:
            out += self.content(ext.get("base"))
            t = ext
        for a in t.findall(XS + "attribute"):
            out.append(("@" + a.get("name"), "required" if a.get("use") == "required" else "optional", a.get("type")))
        seq = t.find(XS + "sequence")
        if seq is not None:
            for item in seq:
                if item.tag == XS + "choice":
                    for e in item.findall(XS + "element"):
                        out.append((e.get("name"), "choice", e.get("type")))
                    continue
                name = item.get("name") or item.get("ref") or "#any"
                occurs = "optional" if item.get("minOccurs") == "0" else "required"
                out.append((name, occurs, item.get("type")))
        return out


@pytest.fixture(scope="module", params=voc.KINDS)
def xsd(request):
    return request.param, Xsd(request.param)


def test_every_scene_element_is_in_the_vocabulary(xsd):
    kind, x = xsd
    in_schema = {n for n, e in x.elements.items() if e.get("substitutionGroup") == "scene"}
    assert in_schema == set(voc.BY_ELEMENT)


@pytest.mark.parametrize("info", voc.XML_TYPES, ids=lambda t: t.name)
def test_type_fields_match_schema(xsd, info):
    kind, x = xsd
    element = x.elements[info.element]
    content = x.content(element.get("type"))
    # attributes in the vocabulary, with occurrence and length
    attrs = {n[1:]: (occ, typ) for n, occ, typ in content if n.startswith("@")}
    voc_attrs = {f.xml: f for f in info.fields_for(kind) if f.attribute}
    assert set(attrs) == set(voc_attrs)
    for name, (occ, typ) in attrs.items():
        assert voc_attrs[name].occurs(kind) == occ, name
        assert voc_attrs[name].max_length == x.max_length(typ), name
    # elements, in order
    elements = [(n, occ, typ) for n, occ, typ in content if not n.startswith("@")]
    voc_elements = [f for f in info.fields_for(kind) if not f.attribute]
    schema_names = ["scene-customData" if n == "scene-extension" else n for n, _, _ in elements]
    assert schema_names == [f.xml for f in voc_elements]
    for (name, occ, typ), f in zip(elements, voc_elements, strict=True):
        if occ == "choice":
            assert kind == "ingest"
            assert any(f.column in group for group in info.ingest_choices), name
            assert f.occurs(kind) == "optional"
        else:
            assert f.occurs(kind) == occ, (info.name, name)
        if f.kind == "time":
            assert typ == "xs:time"
        elif f.kind == "tags":
            assert typ == "T_tags"
        elif f.kind == "enum":
            assert f.enum is not None
            assert sorted(x.enum_values(typ)) == sorted(str(m.value) for m in f.enum)
        elif f.kind == "str":
            assert f.max_length == x.max_length(typ), (info.name, name)


def test_custom_data_attributes_match_schema(xsd):
    kind, x = xsd
    content = {n[1:]: (occ, typ) for n, occ, typ in x.content("T_customData") if n.startswith("@")}
    voc_attrs = {f.xml: f for f in voc.CUSTOM_DATA_ATTRIBUTES if f.occurs(kind) is not None}
    assert set(content) == set(voc_attrs)
    for name, (occ, typ) in content.items():
        assert voc_attrs[name].occurs(kind) == occ
        assert (voc_attrs[name].kind == "int") == (typ == "xs:int")


def test_optional_answer_fields_match_schema(xsd):
    _, x = xsd
    content = x.content("T_optionalAnswer")
    assert [n for n, _, _ in content] == [f.xml for f in voc.OPTIONAL_ANSWER_FIELDS]
    kinds = {"xs:string": "str", "xs:float": "float", "xs:int": "int"}
    assert [kinds[t] for _, _, t in content] == [f.kind for f in voc.OPTIONAL_ANSWER_FIELDS]


def test_tag_length_matches_schema(xsd):
    from cuepipe.values import TAG_MAX_LENGTH

    _, x = xsd
    assert x.max_length(x.content("T_tags")[0][2]) == TAG_MAX_LENGTH


def test_columns_are_unique_and_cover_every_field():
    assert len(voc.COLUMN_NAMES) == len(set(voc.COLUMN_NAMES))
    for info in voc.XML_TYPES:
        for f in info.all_fields:
            assert f.column in voc.COLUMN_BY_NAME
            assert voc.COLUMN_BY_NAME[f.column].kind == f.kind, f.column


def test_type_lookup_by_every_name():
    for info in voc.TYPES:
        assert voc.type_info(info.api_type) is info
        assert voc.type_info(info.api_type.value) is info
        assert voc.type_info(info.name) is info
        if info.element:
            assert voc.type_info(info.element) is info
    with pytest.raises(KeyError, match="annotation.Annotation"):
        voc.type_info("annotation.Annotaton")


def test_readme_column_table_lists_every_column_in_order():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    listed = re.findall(r"^\| `([A-Za-z]+)` \| (\w+) \|", readme, re.M)
    assert listed == list(DTYPES.items())

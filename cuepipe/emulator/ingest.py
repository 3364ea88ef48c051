"""``addFromBulk``: understand an uploaded ingest document and apply it the way the server does.

Understanding (independent of ``cuepipe.xml``): the upload is parsed by a hardened lxml parser (no
DTD, no entities, no network: a document with a DOCTYPE is refused as ``XML_INVALID``, like a
hardened server would), validated by libxml2 against ``schemas/ingest.xsd`` (the server's own
validator engine, whose verdicts differ from other engines on details such as whitespace around
``xs:time``) and decoded, element order preserved. Any failure is ``XML_INVALID`` and nothing is written.

Decoding: the reference decoder is the ``xmlschema`` package against the same XSD (typed values,
``JsonMLConverter``). It costs ~0.4 ms per scene, more than everything else addFromBulk does, so a
document libxml2 has already validated is decoded straight from the lxml tree when it is plain
(elements and text only, no extension elements): in a valid plain document every element's type
follows from its name (``_INT_ELEMENTS``, ``_FLOAT_ELEMENTS``, ``_TIME_ELEMENTS``, strings
otherwise). Anything else goes to ``xmlschema`` as before: comments or processing instructions
(which it refuses inside simple content), namespace declarations or ``xsi:`` attributes,
``scene-customData`` and ``scene-extension`` (skipped or ``anyType`` content, integer attributes),
numbers or times in any but the plain lexical forms. ``tests/test_emulator_decode.py`` checks both
decoders give the same tree or the same refusal, over every cue point type.

Applying (docs/format-notes.md#server-behaviour): scenes are handled in document order and each is committed on its
own; the first failure (unknown entry -> ``INVALID_ENTRY_ID`` with an empty message; a quiz answer
whose question does not exist -> ``INTERNAL_SERVERL_ERROR``, the documented intent of the PHP fatal)
aborts the rest and earlier scenes stay saved. Insert vs update: ``sceneId`` first, then
``systemName`` on the scene's entry; a match of another type is silently skipped. Which fields each
type's parser sets follows docs/format-notes.md#how-the-server-ingests (thumb sets only base fields; tags are always
overwritten; ``entryId`` moves on update; annotation ``<parent>`` resolves only against cue points already saved
on the same entry, i.e. earlier scenes). Ambiguities resolved: new non-thumb cue points get status
READY; a start time the server cannot parse (time-zone suffix) is stored as 0; ``scene-customData``
is ignored because the emulator has no custom-metadata profiles (the server ignores it then too).
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import xmlschema
from lxml import etree

from .. import vocabulary as voc
from ..xml.schemas import schema_dir
from .context import Context
from .errors import (
    INTERNAL_SERVERL_ERROR,
    INVALID_ENTRY_ID,
    XML_INVALID,
    ApiError,
)
from .store import Store, now, q
from .timecode import time_to_integer

_SCHEMA_LOCK = threading.Lock()


@dataclass
class Node:
    """One decoded element: tag, attributes, decoded simple value, children in document order."""

    tag: str
    attrs: dict[str, Any] = field(default_factory=dict)
    value: Any = None
    children: list[Node] = field(default_factory=list)

    def first(self, tag: str) -> Node | None:
        return next((c for c in self.children if c.tag == tag), None)

    def all(self, tag: str) -> list[Node]:
        return [c for c in self.children if c.tag == tag]

    def text(self, tag: str) -> str | None:
        child = self.first(tag)
        if child is None:
            return None
        return "" if child.value is None else str(child.value)


def _from_jsonml(item: list[Any]) -> Node:
    node = Node(item[0])
    rest = item[1:]
    if rest and isinstance(rest[0], dict):
        node.attrs = rest[0]
        rest = rest[1:]
    for part in rest:
        if isinstance(part, list):
            node.children.append(_from_jsonml(part))
        elif node.value is None:
            node.value = part
    return node


@cache
def _libxml_schema() -> etree.XMLSchema:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.XMLSchema(etree.parse(str(schema_dir() / "ingest.xsd"), parser))


@cache
def _xmlschema() -> xmlschema.XMLSchema:
    """The reference decoder's schema (built on first use: ~0.25 s, only unusual documents need it)."""
    return xmlschema.XMLSchema(str(schema_dir() / "ingest.xsd"))


def _schemas() -> tuple[xmlschema.XMLSchema, etree.XMLSchema]:
    return _xmlschema(), _libxml_schema()


def _hardened_parse(data: bytes) -> etree._Element:
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=False,
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise ApiError(XML_INVALID) from exc
    docinfo: Any = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise ApiError(XML_INVALID)  # DTDs (and so entity declarations) are refused outright
    return root


# Element names of the ingest schema whose simple type is not a string (outside scene-customData,
# which the plain decoder never sees): xs:int (KalturaThumbCuePointSubType restricts it), xs:float,
# xs:time (whitespace collapsed; libxml2 refuses any around a time anyway).
_INT_ELEMENTS = frozenset({"subType", "isCorrect"})
_FLOAT_ELEMENTS = frozenset({"weight"})
_TIME_ELEMENTS = frozenset({"sceneStartTime", "sceneEndTime"})
# Elements of complex type (element-only content: whitespace between children is not a value).
_COMPLEX_ELEMENTS = frozenset({"scenes", "tags", "optionalAnswers", "optionalAnswer"}) | {
    info.element for info in voc.TYPES if info.element
}


# Lexical forms the plain decoder converts itself (ASCII only; anything else goes to the reference).
_PLAIN_INT = re.compile(r"[+-]?[0-9]+", re.ASCII)
_PLAIN_FLOAT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)
_PLAIN_TIME = re.compile(r"[0-9:.+Z-]+", re.ASCII)


# Extension elements: anyType content (scene-extension) or skipped content with integer attributes
# (scene-customData), which the reference decoder represents its own way.
_REFERENCE_ONLY = frozenset({"scene-customData", "scene-extension"})


class _NotPlain(Exception):
    """The document has something only the reference decoder handles exactly."""


def _plain_node(el: etree._Element) -> Node:
    """A complex element and everything under it (leaves inline: most nodes are leaves)."""
    tag = el.tag
    if tag not in _COMPLEX_ELEMENTS:
        raise _NotPlain  # a comment, a PI, or an element of another kind as the root
    children: list[Node] = []
    for child in el:
        ctag = child.tag
        if ctag in _COMPLEX_ELEMENTS or len(child):
            children.append(_plain_node(child))
            continue
        if not isinstance(ctag, str) or ctag in _REFERENCE_ONLY:
            raise _NotPlain
        text = child.text
        value: Any
        if text is None:
            value = None
        elif ctag in _TIME_ELEMENTS:
            if not _PLAIN_TIME.fullmatch(text):
                raise _NotPlain  # whitespace to collapse, or a form only the reference should judge
            value = text
        elif ctag in _INT_ELEMENTS:
            if not _PLAIN_INT.fullmatch(text):
                raise _NotPlain
            value = int(text)
        elif ctag in _FLOAT_ELEMENTS:
            if not _PLAIN_FLOAT.fullmatch(text):
                raise _NotPlain  # INF, NaN, whitespace: left to the reference decoder
            value = float(text)
        else:
            value = text
        children.append(Node(ctag, dict(child.items()), value))  # type: ignore[arg-type]
    return Node(tag, dict(el.items()), None, children)  # type: ignore[arg-type]


def _decode_plain(data: bytes, root: etree._Element) -> Node | None:
    """The validated tree as :class:`Node`, or None when the reference decoder must do it."""
    if b"xmlns" in data:  # namespace declarations: xsi:type, xsi:nil, prefixed attributes
        return None
    try:
        return _plain_node(root)
    except _NotPlain:
        return None


def decode(data: bytes) -> Node:
    """Parse, validate and decode an ingest document; ``XML_INVALID`` on any problem."""
    if not data or not data.strip():
        raise ApiError(XML_INVALID)
    root = _hardened_parse(data)
    with _SCHEMA_LOCK:  # also around the first build: concurrent first uploads must not build it twice
        valid = _libxml_schema().validate(root)
    if not valid:
        raise ApiError(XML_INVALID)
    plain = _decode_plain(data, root)
    if plain is not None:
        return plain
    return _decode_reference(root)


def _decode_reference(root: etree._Element) -> Node:
    """The ``xmlschema`` decode of a validated tree (the reference the plain decoder must match)."""
    xsd = _xmlschema()
    try:
        decoded = xsd.to_dict(
            xmlschema.XMLResource(root, defuse="always", allow="none"),
            converter=xmlschema.JsonMLConverter,
            validation="strict",
        )
    except (xmlschema.XMLSchemaValidationError, xmlschema.XMLResourceError, ValueError) as exc:
        raise ApiError(XML_INVALID) from exc
    if not isinstance(decoded, list):
        raise ApiError(XML_INVALID)
    return _from_jsonml(decoded)


# ---------------------------------------------------------------------------- applying scenes

# Types whose parser sets nothing beyond the base fields (ThumbCuePointPlugin::parseXml,
# docs/format-notes.md#how-the-server-ingests).
_BASE_ONLY = frozenset({voc.CuePointType.THUMB})
# Fields a parser sets even when the element is absent (annotation endTime := parsed sceneEndTime).
_ALWAYS_SET = {(voc.CuePointType.ANNOTATION, "endTime")}
# Annotation references, resolved to a parentId by lookup rather than copied (AnnotationPlugin::parseXml).
_RESOLVED = {(voc.CuePointType.ANNOTATION, "parentSystemName"), (voc.CuePointType.ANNOTATION, "parentId")}
_READY, _DELETED, _PENDING = (
    int(voc.CuePointStatus.READY),
    int(voc.CuePointStatus.DELETED),
    int(voc.CuePointStatus.PENDING),
)


def _visible(ctx: Context) -> tuple[str, list[Any]]:
    """Default criteria used by lookups: partner, not deleted, own cue points for user sessions."""
    clause = "partnerId = ? AND status != ?"
    args: list[Any] = [ctx.partner_id, _DELETED]

    ks = ctx.ks
    if not ctx.is_admin and not (ks is not None and ks.has_privilege("list", "*")):
        clause += f" AND COALESCE({q('userId')}, '') = ?"
        args.append(ctx.user)
    return clause, args


def by_id(store: Store, ctx: Context, cue_point_id: str) -> dict[str, Any] | None:
    clause, args = _visible(ctx)
    row = store.query_one(f"SELECT * FROM cue_points WHERE id = ? AND {clause}", [cue_point_id, *args])
    return Store.decode_cue_point(row) if row else None


def by_system_name(store: Store, ctx: Context, entry_id: str, name: str) -> dict[str, Any] | None:
    clause, args = _visible(ctx)
    row = store.query_one(
        f"SELECT * FROM cue_points WHERE {q('entryId')} = ? AND {q('systemName')} = ? AND {clause} "
        "ORDER BY intId LIMIT 1",
        [entry_id, name, *args],
    )
    return Store.decode_cue_point(row) if row else None


def _convert(f: voc.Field, text: str) -> Any:
    if f.kind == "time":
        return time_to_integer(text)
    if f.kind == "int":
        return int(float(text))
    if f.kind == "float":
        return float(text)
    if f.kind == "enum" and f.enum is not None and issubclass(f.enum, int):
        return int(text)
    return text


def _answers(scene: Node) -> list[dict[str, Any]] | None:
    """The first ``optionalAnswers`` wrapper replaces the whole list (QuizPlugin::parseXml)."""
    wrapper = scene.first("optionalAnswers")
    if wrapper is None:
        return None
    out = []
    for node in wrapper.all("optionalAnswer"):
        answer: dict[str, Any] = {}
        for f in voc.OPTIONAL_ANSWER_FIELDS:
            value = node.text(f.xml)
            if value is not None:
                answer[f.column] = float(value) if f.kind == "float" else int(value) if f.kind == "int" else value
        answer.setdefault("weight", 1.0)
        out.append(answer)
    return out


def scene_values(store: Store, ctx: Context, scene: Node, info: voc.CuePointTypeInfo, entry_id: str) -> dict[str, Any]:
    """The columns this scene's parser sets (docs/format-notes.md#how-the-server-ingests)."""
    tags = [n.value for n in (scene.first("tags") or Node("tags")).all("tag")]
    values: dict[str, Any] = {
        "startTime": time_to_integer(scene.text("sceneStartTime") or "") or 0,
        "tags": ",".join(str(t) for t in tags if t not in (None, "", "0")),  # PHP-falsy tags are dropped
        "entryId": entry_id,
    }
    if "systemName" in scene.attrs:
        values["systemName"] = str(scene.attrs["systemName"])
    if info.api_type in _BASE_ONLY:
        return values
    by_column = {f.column: f for f in info.fields}
    for f in info.fields:
        if f.kind == "custom" or (info.api_type, f.column) in _RESOLVED:
            continue
        if f.kind == "answers":
            answers = _answers(scene)
            if answers is not None:
                values[f.column] = answers
            continue
        text = scene.text(f.xml)
        if text is not None:
            values[f.column] = _convert(f, text)
        elif (info.api_type, f.column) in _ALWAYS_SET:
            values[f.column] = None
    if info.api_type == voc.CuePointType.ANNOTATION:
        parent: dict[str, Any] | None = None
        parent_ref, by_name = scene.text(by_column["parentId"].xml), scene.text(by_column["parentSystemName"].xml)
        if parent_ref is not None:
            parent = by_id(store, ctx, parent_ref)
        elif by_name is not None:  # looked up on the scene's own entry
            parent = by_system_name(store, ctx, entry_id, by_name)
        if parent is not None:  # not found: silently left unchanged
            values["parentId"] = parent["id"]
            values["depth"] = (parent.get("depth") or 0) + 1
    return values


def on_answer_insert(store: Store, ctx: Context, values: dict[str, Any]) -> None:
    """``AnswerCuePoint::preInsert``: derive correctness from the parent question (which must exist)."""
    question = by_id(store, ctx, str(values.get("parentId") or ""))
    if question is None or question["cuePointType"] != voc.CuePointType.QUIZ_QUESTION.value:
        raise ApiError(INTERNAL_SERVERL_ERROR)
    correct = [
        str(a.get("key")) for a in question.get("optionalAnswers") or [] if a.get("isCorrect") not in (None, 0, "0", "")
    ]
    values["correctAnswerKeys"] = ",".join(correct)
    values["isCorrect"] = 1 if str(values.get("answerKey")) in correct else 0
    values["explanation"] = question.get("explanation")


def count_child(c: Any, parent_id: str) -> None:
    """``Annotation::postInsert``: bump the parent's direct count and every ancestor's total count."""
    c.execute(
        "UPDATE cue_points SET directChildrenCount = COALESCE(directChildrenCount, 0) + 1 WHERE id = ?",
        (parent_id,),
    )
    seen: set[str] = set()
    current: str | None = parent_id
    while current and current not in seen:
        seen.add(current)
        c.execute("UPDATE cue_points SET childrenCount = COALESCE(childrenCount, 0) + 1 WHERE id = ?", (current,))
        row = c.execute(f"SELECT {q('parentId')} AS p FROM cue_points WHERE id = ?", (current,)).fetchone()
        current = row["p"] if row else None


def apply_scenes(store: Store, ctx: Context, root: Node) -> list[str]:
    """Apply every cue point element under ``root`` (``addFromBulk``); returns the ids touched, in order."""
    touched: list[str] = []
    known_entries: set[str] = set()
    for scene in root.children:
        info = voc.BY_ELEMENT.get(scene.tag)
        if info is None:
            continue  # not a cue point element (e.g. a lone <scene-annotation> used as the root)
        entry_id = str(scene.attrs.get("entryId", ""))
        if entry_id not in known_entries:
            if store.entry(ctx.partner_id or 0, entry_id) is None:
                raise ApiError(INVALID_ENTRY_ID)
            known_entries.add(entry_id)
        existing: dict[str, Any] | None = None
        scene_id = str(scene.attrs.get("sceneId") or "")
        if scene_id:
            existing = by_id(store, ctx, scene_id)
        system_name = str(scene.attrs.get("systemName") or "")
        if existing is None and system_name:
            existing = by_system_name(store, ctx, entry_id, system_name)
        if existing is not None and existing["cuePointType"] != info.api_type.value:
            continue  # the type plugin returns null: silently skipped
        values = scene_values(store, ctx, scene, info, entry_id)
        touched.append(_save(store, ctx, info, existing, values))
    return touched


def _save(
    store: Store,
    ctx: Context,
    info: voc.CuePointTypeInfo,
    existing: dict[str, Any] | None,
    values: dict[str, Any],
) -> str:
    ts = now()
    if existing is not None:
        values["updatedAt"] = ts
        with store.single_statement() as c:
            store.update_cue_point(c, existing["id"], values)
        return str(existing["id"])
    if info.api_type == voc.CuePointType.QUIZ_ANSWER:
        on_answer_insert(store, ctx, values)
    values.update(
        id=store.new_id("cue_points"),
        partnerId=ctx.partner_id,
        cuePointType=info.api_type.value,
        status=_READY,
        createdAt=ts,
        updatedAt=ts,
        userId=ctx.user or None,
    )
    if info.api_type == voc.CuePointType.THUMB:  # ThumbCuePoint::preInsert
        values.update(status=_PENDING, subType=int(voc.ThumbCuePointSubType.SLIDE))
    if info.api_type == voc.CuePointType.ANNOTATION:
        values.setdefault("depth", 0)
    if info.api_type == voc.CuePointType.ANNOTATION and values.get("parentId"):
        with store.transaction() as c:
            store.insert_cue_point(c, values)
            count_child(c, values["parentId"])
    else:
        with store.single_statement() as c:
            store.insert_cue_point(c, values)
    return str(values["id"])

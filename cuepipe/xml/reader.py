"""Streaming reader: ingest or serve XML -> records (dicts keyed by API field names).

The reader walks ``etree.iterparse`` events for cue point elements only and clears each element as
soon as it has been turned into a record, so memory does not grow with the document. It reads what
the real server writes, quirks included (format.md §3.1, §3.2, §4.6, §4.7):

* times with tenths (``00:00:05.3``) and the server's ``.10`` bug (read as .10 s = 100 ms, as the
  server itself would read it back);
* ``thumbAssetId`` and ``sceneEndTime`` on thumb cue points (columns ``assetId`` and ``endTime``);
* the broken question layout: empty ``<optionalAnswer/>`` placeholders followed by ``key``/``text``/
  ``weight``/``isCorrect`` siblings directly inside the question;
* empty elements (``<code/>`` reads as ``""``), one-line documents, ``xsi:`` attributes anywhere.

Values the server loses or changes, which no reader can restore, are listed in ``docs/format-notes.md``.

The reader does not validate; use :func:`cuepipe.validate` for that. It raises
:class:`~cuepipe.errors.XMLFormatError` for documents it cannot interpret (not well-formed, wrong
root, unknown elements or attributes, unreadable values), naming the line and record.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

from lxml import etree

from .. import vocabulary as voc
from ..errors import XMLFormatError
from ..values import join_tags, parse_time
from ._source import PARSER_OPTIONS, Source, open_source, syntax_error

Record = dict[str, Any]

_ANSWER_ORDER = {f.xml: i for i, f in enumerate(voc.OPTIONAL_ANSWER_FIELDS)}
_ANSWER_COLUMN = {f.xml: f.column for f in voc.OPTIONAL_ANSWER_FIELDS}
_CUSTOM_ATTRS = {f.xml: f for f in voc.CUSTOM_DATA_ATTRIBUTES}


def _as_str(text: str | None) -> str:
    return "" if text is None else text


def _as_time(text: str | None) -> int:
    return parse_time(text or "")


def _as_int(text: str | None) -> int:
    return int(text or "")


def _as_float(text: str | None) -> float:
    return float((text or "").strip())


def _converter(field: voc.Field) -> Callable[[str | None], Any]:
    if field.kind == "time":
        return _as_time
    if field.kind == "int":
        return _as_int
    if field.kind == "float":
        return _as_float
    if field.kind == "enum" and field.enum is not None and issubclass(field.enum, int):
        return _as_int
    return _as_str


class _TypePlan:
    """How to read one cue point element: attribute and child element lookup tables."""

    __slots__ = ("info", "api_type", "attrs", "children", "question")

    def __init__(self, info: voc.CuePointTypeInfo) -> None:
        self.info = info
        self.api_type = info.api_type.value
        self.attrs: dict[str, str] = {}
        self.children: dict[str, tuple[str, str, Callable[[str | None], Any]]] = {}
        for f in info.all_fields:
            if f.attribute:
                self.attrs[f.xml] = f.column
            else:
                self.children[f.xml] = (f.column, f.kind, _converter(f))
        for xml, column in info.serve_quirks.items():
            f = voc.COLUMN_BY_NAME[column]
            self.children.setdefault(xml, (column, f.kind, _converter(f)))
        self.question = info.api_type is voc.CuePointType.QUIZ_QUESTION


_PLANS: dict[str, _TypePlan] = {el: _TypePlan(info) for el, info in voc.BY_ELEMENT.items()}
_SCENE_TAGS = tuple(_PLANS)


def _read_answers(wrapper: Any) -> list[dict[str, Any]]:
    answers = []
    for opt in wrapper:
        tag = opt.tag
        if not isinstance(tag, str):
            continue
        if tag != "optionalAnswer":
            raise XMLFormatError(f"unexpected <{tag}> inside <optionalAnswers>", line=opt.sourceline,
                                 element=tag)
        answer: dict[str, Any] = {}
        for part in opt:
            ptag = part.tag
            if not isinstance(ptag, str):
                continue
            _set_answer_value(answer, ptag, part)
        answers.append(answer)
    return answers


def _set_answer_value(answer: dict[str, Any], tag: str, el: Any) -> None:
    column = _ANSWER_COLUMN.get(tag)
    if column is None:
        raise XMLFormatError(f"unexpected <{tag}> in an optional answer", line=el.sourceline, element=tag)
    text = el.text
    if column == "weight":
        answer[column] = _as_float(text)
    elif column == "isCorrect":
        answer[column] = _as_int(text)
    else:
        answer[column] = _as_str(text)


def _read_custom_data(el: Any) -> dict[str, Any]:
    item: dict[str, Any] = {}
    for name, value in el.attrib.items():
        if name[0] == "{":
            continue
        f = _CUSTOM_ATTRS.get(name)
        if f is None:
            raise XMLFormatError(f"unexpected attribute {name!r} on <scene-customData>", line=el.sourceline,
                                 element="scene-customData")
        item[f.column] = int(value) if f.kind == "int" else value
    children = [c for c in el if isinstance(c.tag, str)]
    if len(children) != 1:
        raise XMLFormatError(
            f"<scene-customData> must hold exactly one element, found {len(children)}",
            line=el.sourceline, element="scene-customData",
        )
    metadata = copy.deepcopy(children[0])
    etree.cleanup_namespaces(metadata)  # drop declarations inherited from <scenes> (e.g. xmlns:xsi)
    item[voc.CUSTOM_DATA_XML_KEY] = etree.tostring(metadata, encoding="unicode", with_tail=False)
    return item


def _read_scene(elem: Any, plan: _TypePlan) -> Record:
    rec: Record = {"cuePointType": plan.api_type}
    attrs = plan.attrs
    for name, value in elem.attrib.items():
        column = attrs.get(name)
        if column is None:
            if name[0] == "{":  # xsi:type, xsi:nil ... are allowed anywhere
                continue
            raise XMLFormatError(f"unexpected attribute {name!r}", line=elem.sourceline, element=elem.tag)
        rec[column] = value
    children = plan.children
    quirk_answers: list[dict[str, Any]] | None = None
    for child in elem:
        tag = child.tag
        if not isinstance(tag, str):
            continue  # comment or processing instruction
        spec = children.get(tag)
        if spec is None:
            if plan.question and tag in _ANSWER_ORDER:
                # serve quirk: answer values as siblings after empty <optionalAnswer/> placeholders
                if quirk_answers is None:
                    quirk_answers = [{}]
                current = quirk_answers[-1]
                if current and max(_ANSWER_ORDER[k] for k in current) >= _ANSWER_ORDER[tag]:
                    current = {}
                    quirk_answers.append(current)
                _set_answer_value(current, tag, child)
                continue
            if tag[0] == "{":
                raise XMLFormatError(f"unexpected namespaced element {tag}", line=child.sourceline)
            raise XMLFormatError(f"unexpected element <{tag}> in <{elem.tag}>", line=child.sourceline,
                                 element=tag)
        column, kind, conv = spec
        try:
            if kind == "tags":
                rec[column] = join_tags(_as_str(t.text) for t in child if isinstance(t.tag, str))
            elif kind == "answers":
                rec[column] = rec.get(column, []) + _read_answers(child)
            elif kind == "custom":
                rec.setdefault(column, []).append(_read_custom_data(child))
            else:
                if len(child):
                    raise XMLFormatError(f"<{tag}> holds elements; it takes text only", line=child.sourceline,
                                         element=tag)
                rec[column] = conv(child.text)
        except ValueError as exc:
            if isinstance(exc, XMLFormatError):
                raise
            raise XMLFormatError(f"cannot read <{tag}>: {exc}", line=child.sourceline, element=tag) from None
    if quirk_answers is not None:
        placeholders = rec.get("optionalAnswers") or []
        if any(placeholders):
            raise XMLFormatError("a question has both filled optional answers and loose answer values",
                                 line=elem.sourceline, element=elem.tag)
        rec["optionalAnswers"] = quirk_answers + [{} for _ in range(len(placeholders) - len(quirk_answers))]
    return rec


def _check_parent(elem: Any) -> Any:
    parent = elem.getparent()
    if parent is None or parent.tag != "scenes" or parent.getparent() is not None:
        where = "the document root" if parent is None else f"<{parent.tag}>"
        raise XMLFormatError(f"<{elem.tag}> found in {where}; cue points must be children of <scenes>",
                             line=elem.sourceline, element=elem.tag)
    return parent


def _check_skipped(parent: Any, upto: Any) -> None:
    """Raise on elements under <scenes> that are not cue points (they would otherwise be lost)."""
    for sib in parent:
        if sib is upto:
            return
        tag = sib.tag
        if isinstance(tag, str) and tag not in _PLANS:
            raise XMLFormatError(
                f"unexpected element <{tag}> in <scenes>; cue point elements are: {', '.join(_SCENE_TAGS)}",
                line=sib.sourceline, element=tag,
            )


def iter_cue_points(source: Source) -> Iterator[Record]:
    """Yield one record (a dict keyed by API field names) per cue point in an ingest or serve document.

    ``source`` is a path, bytes, or a binary file object; gzip is detected automatically. Fields the
    element does not carry are absent from the record; empty elements give ``""``.
    """
    with open_source(source) as stream:
        events = etree.iterparse(stream, events=("end",), tag=(*_SCENE_TAGS, "scenes"), **PARSER_OPTIONS)
        index = 0
        try:
            for _, elem in events:
                tag = elem.tag
                if tag == "scenes":
                    if elem.getparent() is None:
                        _check_skipped(elem, None)
                    continue
                parent = _check_parent(elem)
                if elem.getprevious() is not None:
                    _check_skipped(parent, elem)
                    while elem.getprevious() is not None:
                        del parent[0]
                try:
                    rec = _read_scene(elem, _PLANS[tag])
                except XMLFormatError as exc:
                    if exc.record is None:
                        exc = XMLFormatError(exc.reason, line=exc.line, column=exc.column, record=index,
                                             element=exc.element)
                    raise exc from None
                elem.clear(keep_tail=True)
                yield rec
                index += 1
        except etree.XMLSyntaxError as exc:
            raise syntax_error(exc, index) from None
        root = events.root
        if root is None:
            raise XMLFormatError("the document is empty")
        if root.tag != "scenes":
            raise XMLFormatError(f"the root element is <{root.tag}>; cue point documents start with <scenes>",
                                 line=root.sourceline, element=str(root.tag))

"""``serveBulk``: the server's serve XML, byte for byte (docs/format-notes.md#serve-output-and-escaping,
#how-the-server-serves, #what-servebulk-cannot-serve).

Output is what PHP SimpleXML ``asXML()`` prints: ``<?xml version="1.0"?>``, a newline, the whole
document on one line, a trailing newline; empty elements self-close; text escapes ``& < >`` and
attributes also ``" \\n \\r \\t`` (libxml2's serializer).

The document is then validated against ``schemas/serve.xsd`` with libxml2, as the server does, and
an invalid document fails the call with ``INTERNAL_SERVERL_ERROR`` (#what-servebulk-cannot-serve).

Server bugs reproduced while ``server_bugs`` is on (the default), all switched off together:

* times with a 950-999 ms remainder are written ``SS.10`` (#time-values);
* thumb cue points are written with ``sceneEndTime``/``thumbAssetId``, which the serve schema does not
  allow, so any thumb in the result fails the call (#what-servebulk-cannot-serve);
* quiz answers are written as empty ``<optionalAnswer/>`` elements followed by loose
  ``key``/``text``/``weight``/``isCorrect`` siblings, so a question with answers fails the call;
* ``systemName`` is XML-escaped twice (``A&B`` is served as ``A&amp;amp;B``).

With ``server_bugs=False`` the same data is written in the schema-valid shape (times rounded to the
nearest tenth with carry, thumbs as title/description/subType, answers nested, one escaping).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from lxml import etree

from .. import vocabulary as voc
from ..xml.schemas import schema_dir
from .errors import INTERNAL_SERVERL_ERROR, CoreError
from .timecode import integer_to_time

_SCHEMA_LOCK = threading.Lock()
XSI = "http://www.w3.org/2001/XMLSchema-instance"


@cache
def _serve_schema() -> etree.XMLSchema:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.XMLSchema(etree.parse(str(schema_dir() / "serve.xsd"), parser))


_ATTR_SPECIAL = re.compile(r'[&<>"\n\r\t]')


def escape_text(value: str) -> str:
    if "&" not in value and "<" not in value and ">" not in value and "\r" not in value:
        return value  # most values have nothing to escape
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def escape_attr(value: str) -> str:
    if _ATTR_SPECIAL.search(value) is None:
        return value
    return (
        value.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("\n", "&#10;")
        .replace("\r", "&#13;")
        .replace("\t", "&#9;")
    )


def php_xml_encode(value: str) -> str:
    """``kString::xmlEncode``: the pre-escaping the server applies before SimpleXML sees a value."""
    if "&" not in value and '"' not in value and "<" not in value and ">" not in value and "'" not in value:
        return value  # most names have nothing to encode
    return (
        value.replace("&", "&amp;")
        .replace('"', "&quot;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("'", "&apos;")
    )


def php_truthy(value: Any) -> bool:
    """PHP truthiness of a stored value: null, '', '0', 0 and 0.0 are false."""
    return value not in (None, "", "0", 0, 0.0, False)


def php_float(value: Any) -> str:
    """PHP float-to-string (precision 14): 1.0 -> '1', 0.5 -> '0.5'."""
    text = f"{float(value):.14G}"
    return text.replace("E", ".0E") if "E" in text and "." not in text else text


def _el(tag: str, text: str | None = None) -> str:
    return f"<{tag}/>" if not text else f"<{tag}>{escape_text(text)}</{tag}>"


def _xml_name(info: voc.CuePointTypeInfo, column: str) -> str:
    """The element name of a record column for this type, from the vocabulary (looked up once)."""
    return _xml_name_of(info.name, column)


@cache
def _xml_name_of(type_name: str, column: str) -> str:
    info = voc.BY_NAME[type_name]
    for f in info.all_fields:
        if f.column == column:
            return f.xml
    for element, col in info.serve_quirks.items():
        if col == column:
            return element
    raise KeyError(f"{info.name} has no field {column!r}")


#: Every column of a cue point row that :class:`ServeWriter` reads (serveBulk reads no others): the
#: row's type, the fields of the types it writes (from the vocabulary; custom metadata is not part of
#: a scene it writes), and a thumb's ``assetId``, which the server's own serializer adds (server_bugs).
#: Names that are not stored columns (``parentSystemName``) are left out by the query.
SERVE_COLUMNS = tuple(
    dict.fromkeys(
        [
            "cuePointType",
            *(f.column for info in voc.TYPES if info.element for f in info.all_fields if f.kind != "custom"),
            "assetId",
        ]
    )
)


class _ElementNames(dict[str, str]):
    """Record column -> element name for one type, each looked up in the vocabulary on first use."""

    def __init__(self, type_name: str) -> None:
        super().__init__()
        self.type_name = type_name

    def __missing__(self, column: str) -> str:
        name = self[column] = _xml_name_of(self.type_name, column)
        return name


@cache
def _element_names(type_name: str) -> _ElementNames:
    return _ElementNames(type_name)


class ServeWriter:
    """Builds serve documents; ``parents`` resolves an annotation's parent (live cue points only)."""

    def __init__(self, *, server_bugs: bool, cdn_host: str) -> None:
        self.server_bugs = server_bugs
        self.cdn_host = cdn_host

    def time(self, ms: int | None) -> str:
        return integer_to_time(ms, server_bugs=self.server_bugs)

    def document(self, rows: Iterable[Mapping[str, Any]], parents: Mapping[str, Mapping[str, Any]]) -> bytes:
        head = (
            f'<scenes xmlns:xsi="{XSI}" xsi:noNamespaceSchemaLocation="http://{escape_attr(self.cdn_host)}'
            '/api_v3/service/schema/action/serve/type/cuePoint.serveAPI"'
        )
        body = "".join(self.scene(row, parents) for row in rows)
        root = f"{head}>{body}</scenes>" if body else f"{head}/>"
        return f'<?xml version="1.0"?>\n{root}\n'.encode()

    def scene(self, row: Mapping[str, Any], parents: Mapping[str, Mapping[str, Any]]) -> str:
        info = voc.type_info(row["cuePointType"])
        if info.element is None:
            return ""  # event cue points: no plugin writes them
        get = row.get
        attrs = f' sceneId="{escape_attr(str(row["id"]))}" entryId="{escape_attr(str(row["entryId"]))}"'
        name = get("systemName")
        if php_truthy(name):
            name = str(name)
            attrs += f' systemName="{escape_attr(php_xml_encode(name) if self.server_bugs else name)}"'
        # a time is never empty and holds nothing to escape: its element is written as it is
        start = integer_to_time(get("startTime"), server_bugs=self.server_bugs)
        parts = [f"<sceneStartTime>{start}</sceneStartTime>"]
        if get("userId"):
            parts.append(_el("userId", str(row["userId"])))
        tags = str(get("tags") or "")
        if tags.strip(" \r\n\t"):
            parts.append("<tags>" + "".join([_el("tag", t) for t in tags.split(",")]) + "</tags>")
        parts += self._type_elements(info, row, parents)
        return f"<{info.element}{attrs}>{''.join(parts)}</{info.element}>"

    def _time_el(self, tag: str, ms: int | None) -> str:
        return f"<{tag}>{integer_to_time(ms, server_bugs=self.server_bugs)}</{tag}>"

    def _type_elements(
        self, info: voc.CuePointTypeInfo, row: Mapping[str, Any], parents: Mapping[str, Mapping[str, Any]]
    ) -> list[str]:
        t = voc.CuePointType
        x = _element_names(info.name)  # record column -> this type's element name
        get = row.get
        end = get("endTime")
        out: list[str] = []
        kind = info.api_type
        if kind == t.ANNOTATION:
            out.append(self._time_el(x["endTime"], end))
            text = get("text")
            if php_truthy(text):
                out.append(_el(x["text"], str(text)))
            parent = parents.get(str(get("parentId"))) if get("parentId") else None
            if parent is not None:
                if php_truthy(parent.get("systemName")):
                    out.append(_el(x["parentSystemName"], str(parent["systemName"])))
                out.append(_el(x["parentId"], str(parent["id"])))
        elif kind == t.AD:
            if php_truthy(end):
                out.append(self._time_el(x["endTime"], end))
            for column in ("title", "sourceUrl"):
                value = get(column)
                if php_truthy(value):
                    out.append(_el(x[column], str(value)))
            out += [
                _el(x["adType"], _text(get("adType"))),
                _el(x["protocolType"], _text(get("protocolType"))),
            ]
        elif kind == t.CODE:
            if php_truthy(end):
                out.append(self._time_el(x["endTime"], end))
            out.append(_el(x["code"], _text(get("code"))))
            description = get("description")
            if php_truthy(description):
                out.append(_el(x["description"], str(description)))
        elif kind == t.THUMB:
            if self.server_bugs:
                if php_truthy(end):
                    out.append(self._time_el(x["endTime"], end))
                out += [_el(x[c], _text(get(c))) for c in ("title", "description", "subType", "assetId")]
            else:
                out += [
                    _el(x["title"], _text(get("title"))),
                    _el(x["description"], _text(get("description"))),
                ]
                if get("subType") is not None:
                    out.append(_el(x["subType"], _text(row["subType"])))
        elif kind == t.QUIZ_QUESTION:
            for column in ("question", "hint", "explanation"):
                if php_truthy(get(column)):
                    out.append(_el(x[column], str(row[column])))
            out += self._answers(info, get("optionalAnswers") or [])
        elif kind == t.QUIZ_ANSWER:
            for column in ("answerKey", "quizUserEntryId", "parentId"):
                if php_truthy(get(column)):
                    out.append(_el(x[column], str(row[column])))
        elif kind == t.SESSION:
            if php_truthy(end):
                out.append(self._time_el(x["endTime"], end))
            if php_truthy(get("name")):
                out.append(_el(x["name"], str(row["name"])))
        return out

    def _answers(self, info: voc.CuePointTypeInfo, answers: list[Mapping[str, Any]]) -> list[str]:
        if not answers:
            return []
        wrapper = _xml_name(info, "optionalAnswers")
        fields = voc.OPTIONAL_ANSWER_FIELDS

        def values(answer: Mapping[str, Any]) -> str:
            return "".join(
                _el(f.xml, php_float(answer[f.column]) if f.kind == "float" else str(answer[f.column]))
                for f in fields
                if php_truthy(answer.get(f.column))
            )

        if self.server_bugs:  # QuizPlugin::generateXml adds the values to the question, not the answer
            return [
                f"<{wrapper}>" + "<optionalAnswer/>" * len(answers) + f"</{wrapper}>",
                *(values(a) for a in answers),
            ]
        inner = "".join(
            f"<optionalAnswer>{values(a)}</optionalAnswer>" if values(a) else "<optionalAnswer/>" for a in answers
        )
        return [f"<{wrapper}>{inner}</{wrapper}>"]


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def validate_served(document: bytes) -> None:
    """``kCuePointManager::generateXml`` re-validates its output; failure -> INTERNAL_SERVERL_ERROR."""
    try:
        root = etree.fromstring(document, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        raise CoreError(INTERNAL_SERVERL_ERROR) from exc
    with _SCHEMA_LOCK:
        ok = _serve_schema().validate(root)
    if not ok:
        raise CoreError(INTERNAL_SERVERL_ERROR)

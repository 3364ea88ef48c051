"""Streaming writer: records or DataFrames -> ingest or serve XML that always validates.

Each record is checked against the vocabulary and rendered to text in one pass; text is written in
batches, so memory does not grow with the number of records. A record the format cannot carry
raises :class:`~cuepipe.errors.CuePointValueError` naming the record index and field; nothing is
silently dropped or altered. When writing to a path, output goes to a temporary file that replaces
the target only on success, so a failed write never leaves a partial file behind.
"""

from __future__ import annotations

import difflib
import gzip
import io
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import IO, Any, Literal

import numpy as np

from .. import vocabulary as voc
from ..errors import CuePointValueError
from ..values import (
    describe_char,
    enum_lookup,
    find_bad_xml_char,
    format_serve_time,
    format_time,
    is_missing,
    split_tags,
    to_milliseconds,
)

Unsupported = Literal["error", "ignore"]
_BATCH = 2000


def _esc_text(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def _esc_attr(s: str) -> str:
    return (
        s.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")
        .replace("\t", "&#9;").replace("\n", "&#10;").replace("\r", "&#13;")
    )


class _Fail(Exception):
    """Internal: a value problem, turned into CuePointValueError with record and field attached."""


def _require_str(value: Any, max_length: int | None) -> str:
    if not isinstance(value, str):
        raise _Fail(f"expected text, got {type(value).__name__} {value!r}")
    if max_length is not None and len(value) > max_length:
        raise _Fail(f"is {len(value)} characters long; the format allows at most {max_length}")
    return value


def _int_value(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer | float | np.floating):
        if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
            return int(value)
        raise _Fail(f"expected an integer, got {type(value).__name__} {value!r}")
    if isinstance(value, float | np.floating) and value != int(value):
        raise _Fail(f"expected an integer, got {value!r}")
    v = int(value)
    if not -(2**31) <= v < 2**31:
        raise _Fail(f"{v} is outside the xs:int range")
    return v


def _float_text(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | np.integer | float | np.floating):
        raise _Fail(f"expected a number, got {type(value).__name__} {value!r}")
    v = float(value)
    if v != v:
        return "NaN"
    if v in (float("inf"), float("-inf")):
        return "INF" if v > 0 else "-INF"
    return repr(v)


def _is_sequence(value: Any) -> bool:
    return isinstance(value, list | tuple | np.ndarray)


class _Step:
    """One field of one type in one kind: how to check it and render it."""

    __slots__ = ("field", "column", "xml", "required", "render", "attribute")

    def __init__(self, field: voc.Field, kind: voc.Kind, render: Callable[[Any], str]) -> None:
        self.field = field
        self.column = field.column
        self.xml = field.xml
        self.required = field.occurs(kind) == "required"
        self.render = render
        self.attribute = field.attribute


def _make_renderer(field: voc.Field, kind: voc.Kind) -> Callable[[Any], str]:
    xml = field.xml
    open_tag, close_tag = f"<{xml}>", f"</{xml}>"
    max_length = field.max_length
    if field.attribute:
        prefix = f' {xml}="'

        def render_attr(v: Any) -> str:
            return prefix + _esc_attr(_require_str(v, max_length)) + '"'

        return render_attr
    if field.kind == "time":
        fmt = format_time if kind == "ingest" else format_serve_time

        def render_time(v: Any) -> str:
            try:
                return open_tag + fmt(to_milliseconds(v)) + close_tag
            except (TypeError, ValueError) as exc:
                raise _Fail(str(exc)) from None

        return render_time
    if field.kind == "enum":
        assert field.enum is not None
        table = enum_lookup(field.enum)
        allowed = ", ".join(f"{m.value} ({m.name})" for m in field.enum)

        def render_enum(v: Any) -> str:
            try:
                text = table.get(v)
            except TypeError:
                text = None
            if text is None and isinstance(v, str):
                text = table.get(v.strip())
            if text is None:
                raise _Fail(f"{v!r} is not a valid {field.enum.__name__}; expected one of {allowed}")
            return open_tag + text + close_tag

        return render_enum
    if field.kind == "tags":

        def render_tags(v: Any) -> str:
            try:
                tags = split_tags(v)
            except (TypeError, ValueError) as exc:
                raise _Fail(str(exc)) from None
            if not tags:
                return ""
            return "<tags>" + "".join(f"<tag>{_esc_text(t)}</tag>" for t in tags) + "</tags>"

        return render_tags
    if field.kind == "answers":
        return _render_answers
    if field.kind == "custom":
        return _custom_renderer(kind)

    def render_str(v: Any) -> str:
        s = _require_str(v, max_length)
        return open_tag + _esc_text(s) + close_tag if s else f"<{xml}/>"

    return render_str


_ANSWER_KEYS = {f.column for f in voc.OPTIONAL_ANSWER_FIELDS}


def _render_answers(value: Any) -> str:
    if isinstance(value, str) or not _is_sequence(value):
        raise _Fail(f"expected a list of answer dicts, got {type(value).__name__}")
    out = ["<optionalAnswers>"]
    for i, answer in enumerate(value):
        if not isinstance(answer, Mapping):
            raise _Fail(f"answer {i} is {type(answer).__name__}, expected a dict")
        unknown = set(answer) - _ANSWER_KEYS
        if unknown:
            raise _Fail(f"answer {i} has unknown keys {sorted(unknown)}; allowed: key, text, weight, isCorrect")
        out.append("<optionalAnswer>")
        for f in voc.OPTIONAL_ANSWER_FIELDS:
            v = answer.get(f.column)
            if is_missing(v):
                continue
            if f.kind == "float":
                text = _float_text(v)
            elif f.kind == "int":
                text = str(_int_value(1 if v is True else 0 if v is False else v))
            else:
                text = _esc_text(_require_str(v, None))
            out.append(f"<{f.xml}>{text}</{f.xml}>")
        out.append("</optionalAnswer>")
    out.append("</optionalAnswers>")
    return "".join(out)


def _custom_renderer(kind: voc.Kind) -> Callable[[Any], str]:
    attrs = [f for f in voc.CUSTOM_DATA_ATTRIBUTES if f.occurs(kind) is not None]
    known = {f.column for f in attrs} | {voc.CUSTOM_DATA_XML_KEY}
    every = {f.column for f in voc.CUSTOM_DATA_ATTRIBUTES} | {voc.CUSTOM_DATA_XML_KEY}

    def render_custom(value: Any) -> str:
        if isinstance(value, str) or not _is_sequence(value):
            raise _Fail(f"expected a list of custom metadata dicts, got {type(value).__name__}")
        out = []
        for i, item in enumerate(value):
            if not isinstance(item, Mapping):
                raise _Fail(f"custom metadata {i} is {type(item).__name__}, expected a dict")
            present = {k for k, v in item.items() if not is_missing(v)}
            extra = present - known
            if extra:
                why = "not carried by the " + kind + " format" if extra <= every else "unknown"
                raise _Fail(f"custom metadata {i} has keys {sorted(extra)} ({why})")
            parts = ["<scene-customData"]
            for f in attrs:
                v = item.get(f.column)
                if is_missing(v):
                    if f.occurs(kind) == "required":
                        raise _Fail(f"custom metadata {i} needs {f.column!r} in the {kind} format")
                    continue
                text = str(_int_value(v)) if f.kind == "int" else _esc_attr(_require_str(v, None))
                parts.append(f' {f.xml}="{text}"')
            parts.append(">")
            parts.append(_metadata_xml(item.get(voc.CUSTOM_DATA_XML_KEY), i))
            parts.append("</scene-customData>")
            out.append("".join(parts))
        return "".join(out)

    return render_custom


def _metadata_xml(xml: Any, i: int) -> str:
    """Check that the custom metadata is exactly one un-namespaced element, and return it as text."""
    from lxml import etree

    from ._source import PARSER_OPTIONS

    if not isinstance(xml, str) or not xml.strip():
        raise _Fail(f"custom metadata {i} needs 'xml': the metadata document as text, e.g. '<metadata>…</metadata>'")
    parser = etree.XMLParser(**PARSER_OPTIONS)
    try:
        el = etree.fromstring(xml.encode("utf-8"), parser)
    except etree.XMLSyntaxError as exc:
        raise _Fail(f"custom metadata {i} is not well-formed XML: {exc.msg}") from None
    if el.getroottree().docinfo.doctype:
        raise _Fail(f"custom metadata {i} must not carry a document type declaration")
    if isinstance(el.tag, str) and el.tag.startswith("{"):
        raise _Fail(f"custom metadata {i}: the root element must not be in a namespace (the schema takes ##local)")
    return etree.tostring(el, encoding="unicode")


class _Plan:
    __slots__ = ("info", "element", "attrs", "elements", "allowed", "choices", "open", "close")

    def __init__(self, info: voc.CuePointTypeInfo, kind: voc.Kind) -> None:
        assert info.element is not None
        self.info = info
        self.element = info.element
        fields = info.fields_for(kind)
        self.attrs = [_Step(f, kind, _make_renderer(f, kind)) for f in fields if f.attribute]
        self.elements = [_Step(f, kind, _make_renderer(f, kind)) for f in fields if not f.attribute]
        self.allowed = {f.column for f in fields} | {"cuePointType"}
        self.choices = info.ingest_choices if kind == "ingest" else ()
        self.open = "<" + info.element
        self.close = f"</{info.element}>"


_PLANS: dict[voc.Kind, dict[str, _Plan]] = {
    kind: {t.api_type.value: _Plan(t, kind) for t in voc.XML_TYPES} for kind in voc.KINDS
}


def _resolve_type(value: Any) -> str:
    if is_missing(value):
        raise _Fail("cuePointType is missing; every record needs one, e.g. 'annotation.Annotation'")
    try:
        info = voc.type_info(value)
    except KeyError as exc:
        raise _Fail(str(exc.args[0])) from None
    if info.element is None:
        raise _Fail(f"{info.api_type.value} cue points have no XML form; the bulk formats cannot carry them")
    return info.api_type.value


def _unknown_key_message(key: str) -> str:
    close = difflib.get_close_matches(key, voc.COLUMN_NAMES, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown field{hint} Known fields: {', '.join(voc.COLUMN_NAMES)}"


class _Renderer:
    def __init__(self, kind: voc.Kind, unsupported: Unsupported) -> None:
        if kind not in voc.KINDS:
            raise ValueError(f"kind must be 'ingest' or 'serve', not {kind!r}")
        if unsupported not in ("error", "ignore"):
            raise ValueError(f"unsupported must be 'error' or 'ignore', not {unsupported!r}")
        self.kind = kind
        self.plans = _PLANS[kind]
        self.ignore = unsupported == "ignore"
        self._type_cache: dict[Any, str] = {}

    def render(self, rec: Mapping[str, Any], index: int) -> str:
        field = "cuePointType"
        try:
            t = rec.get("cuePointType")
            try:
                api_type = self._type_cache.get(t)
            except TypeError:
                api_type = None
            if api_type is None:
                api_type = _resolve_type(t)
                try:
                    self._type_cache[t] = api_type
                except TypeError:
                    pass
            plan = self.plans[api_type]
            allowed = plan.allowed
            for key, value in rec.items():
                if key not in allowed and not is_missing(value):
                    field = key
                    if key not in voc.COLUMN_BY_NAME:
                        raise _Fail(_unknown_key_message(str(key)))
                    if not self.ignore:
                        raise _Fail(
                            f"{plan.info.api_type.value} cue points cannot carry {key!r} in the {self.kind} "
                            "format (pass unsupported='ignore' to leave such fields out)"
                        )
            for group in plan.choices:
                present = [c for c in group if not is_missing(rec.get(c))]
                if len(present) > 1:
                    field = present[1]
                    raise _Fail(f"the {self.kind} format takes only one of {', '.join(group)}")
            parts = [plan.open]
            for step in plan.attrs:
                field = step.column
                value = rec.get(field)
                if is_missing(value):
                    if step.required:
                        raise _Fail(f"is required for {plan.element} in the {self.kind} format")
                    continue
                parts.append(step.render(value))
            parts.append(">")
            for step in plan.elements:
                field = step.column
                value = rec.get(field)
                if is_missing(value):
                    if step.required:
                        raise _Fail(f"is required for {plan.element} in the {self.kind} format")
                    continue
                parts.append(step.render(value))
            parts.append(plan.close)
        except _Fail as exc:
            raise CuePointValueError(str(exc), record=index, field=field) from None
        text = "".join(parts)
        bad = find_bad_xml_char(text)
        if bad >= 0:
            raise self._bad_char_error(rec, index, text[bad])
        return text

    def _bad_char_error(self, rec: Mapping[str, Any], index: int, ch: str) -> CuePointValueError:
        field = next((k for k, v in rec.items() if isinstance(v, str) and ch in v), None)
        return CuePointValueError(
            f"contains the character {describe_char(ch)}, which XML 1.0 cannot carry", record=index, field=field
        )


def _iter_records(data: Any) -> Iterator[Mapping[str, Any]]:
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        unknown = [c for c in data.columns if c not in voc.COLUMN_BY_NAME]
        if unknown:
            raise CuePointValueError(_unknown_key_message(str(unknown[0])), field=str(unknown[0]))
        columns = list(data.columns)
        for row in data.itertuples(index=False, name=None):
            yield dict(zip(columns, row, strict=True))
        return
    if isinstance(data, Mapping):
        raise TypeError("write_xml takes many records: pass a list of dicts, an iterable of dicts or a DataFrame")
    for i, rec in enumerate(data):
        if not isinstance(rec, Mapping):
            raise CuePointValueError(f"expected a dict, got {type(rec).__name__}", record=i)
        yield rec


HEADER = '<?xml version="1.0" encoding="UTF-8"?>\n<scenes>\n'
FOOTER = "</scenes>\n"


def iter_xml_chunks(
    data: Iterable[Mapping[str, Any]] | Any, *, kind: voc.Kind = "ingest", unsupported: Unsupported = "error"
) -> Iterator[bytes]:
    """Yield the document as UTF-8 byte chunks, one batch of records at a time (for uploads and pipes)."""
    renderer = _Renderer(kind, unsupported)
    count = 0
    batch: list[str] = [HEADER]
    for index, rec in enumerate(_iter_records(data)):
        batch.append(renderer.render(rec, index))
        batch.append("\n")
        count += 1
        if len(batch) >= _BATCH:
            yield "".join(batch).encode("utf-8")
            batch = []
    if count == 0 and kind == "ingest":
        raise CuePointValueError("an ingest document needs at least one cue point; the input is empty")
    if count == 0:
        batch[-1] = batch[-1].replace("<scenes>\n", "<scenes/>\n")
        yield "".join(batch).encode("utf-8")
        return
    batch.append(FOOTER)
    yield "".join(batch).encode("utf-8")


def write_xml(
    data: Iterable[Mapping[str, Any]] | Any,
    dest: str | os.PathLike[str] | IO[bytes] | None = None,
    *,
    kind: voc.Kind = "ingest",
    unsupported: Unsupported = "error",
) -> bytes | int:
    """Write cue points as an ingest (``addFromBulk``) or serve (``serveBulk``) document.

    ``data`` is a DataFrame or any iterable of dicts keyed by API field names (see the column table
    in the README). ``dest`` is a path (``.gz`` for gzip), a binary file object, or ``None`` to get
    the document back as bytes. Returns the bytes, or the number of cue points written.

    ``unsupported="ignore"`` leaves out values a type cannot carry in this kind (e.g. ``userId`` on
    ingest, ``assetId`` anywhere) instead of raising; unknown field names are always an error.
    Writing to a path is atomic: on error no file is left behind.
    """
    if dest is None:
        buf = io.BytesIO()
        for chunk in iter_xml_chunks(data, kind=kind, unsupported=unsupported):
            buf.write(chunk)
        return buf.getvalue()
    if isinstance(dest, str | os.PathLike):
        path = os.fspath(dest)
        directory = os.path.dirname(os.path.abspath(path))
        fd, tmp = tempfile.mkstemp(prefix=".cuepipe-", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(fd, "wb") as raw:
                if path.endswith(".gz"):
                    with gzip.GzipFile(fileobj=raw, mode="wb", filename="") as gz:
                        count = _write_stream(data, gz, kind, unsupported)
                else:
                    count = _write_stream(data, raw, kind, unsupported)
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise
        return count
    if isinstance(dest, io.TextIOBase):
        raise TypeError("open the destination in binary mode ('wb'): cuepipe writes UTF-8 bytes")
    return _write_stream(data, dest, kind, unsupported)


def _write_stream(data: Any, out: IO[bytes], kind: voc.Kind, unsupported: Unsupported) -> int:
    counter = _Counter(data)
    for chunk in iter_xml_chunks(counter, kind=kind, unsupported=unsupported):
        out.write(chunk)
    return counter.count


class _Counter:
    """Pass records through, counting them."""

    def __init__(self, data: Any) -> None:
        self.data = data
        self.count = 0

    def __iter__(self) -> Iterator[Mapping[str, Any]]:
        for rec in _iter_records(self.data):
            self.count += 1
            yield rec

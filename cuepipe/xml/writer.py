"""Streaming writer: records or DataFrames -> ingest or serve XML that always validates.

Each record is checked against the vocabulary and rendered to text in one pass; text is written in
batches, so memory does not grow with the number of records. A record the format cannot carry
raises :class:`~cuepipe.errors.CuePointValueError` naming the record index and field; nothing is
silently dropped or altered. When writing to a path, output goes to a temporary file that replaces
the target only on success, so a failed write never leaves a partial file behind.
"""

from __future__ import annotations

import difflib
import functools
import io
import itertools
import operator
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import IO, Any, Literal, Protocol, overload

import numpy as np
import pandas as pd

from .. import vocabulary as voc
from .._files import AtomicOutput
from ..errors import CuePointValueError
from ..values import (
    TAG_MAX_LENGTH,
    describe_char,
    enum_lookup,
    find_bad_xml_char,
    format_serve_time,
    format_time,
    is_missing,
    split_tags,
    to_milliseconds,
)
from ._layout import (
    AnswerField,
    AnswerKind,
    AnswerMarkup,
    AnswersAux,
    BoundSpec,
    CustomAttr,
    CustomAux,
    StepKind,
    TagsMarkup,
    WriteSpec,
    WriteStep,
    load_speedups,
)

_speedups = load_speedups()  # None in a pure-Python build or run (CUEPIPE_NO_EXTENSIONS=1)

Unsupported = Literal["error", "ignore"]
_BATCH = 2000


def _esc_text(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def _esc_attr(s: str) -> str:
    return (
        s.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace('"', "&quot;")
        .replace("\t", "&#9;")
        .replace("\n", "&#10;")
        .replace("\r", "&#13;")
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


def _make_renderer(field: voc.Field, kind: voc.Kind, ignore: bool = False) -> Callable[[Any], str]:
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
                return open_tag + fmt(v if v.__class__ is int else to_milliseconds(v)) + close_tag
            except (TypeError, ValueError) as exc:
                raise _Fail(str(exc)) from None

        return render_time
    if field.kind == "enum":
        assert field.enum is not None
        table = enum_lookup(field.enum)
        allowed = ", ".join(f"{m.value} ({m.name})" for m in field.enum)
        enum_name = field.enum.__name__

        def render_enum(v: Any) -> str:
            if isinstance(v, bool | np.bool_):  # True == 1 would find the member whose value is 1
                raise _Fail(f"{v!r} is a boolean, not a valid {enum_name}; expected one of {allowed}")
            try:
                text = table.get(v)
            except TypeError:
                text = None
            if text is None and isinstance(v, str):
                text = table.get(v.strip())
            if text is None:
                raise _Fail(f"{v!r} is not a valid {enum_name}; expected one of {allowed}")
            return open_tag + text + close_tag

        return render_enum
    if field.kind == "tags":
        item_open, item_close = f"<{voc.TAG_ITEM}>", f"</{voc.TAG_ITEM}>"
        first, between, last = open_tag + item_open, item_close + item_open, item_close + close_tag

        def render_tags(v: Any) -> str:
            if v.__class__ is str and v:
                pieces = v.split(",")
                lengths = list(map(len, pieces))
                if min(lengths) > 0 and max(lengths) <= TAG_MAX_LENGTH:
                    # escaping never adds a comma, so escape once and split again
                    return first + _esc_text(v).replace(",", between) + last
            try:
                tags = split_tags(v)  # the general path, with its precise errors
            except (TypeError, ValueError) as exc:
                raise _Fail(str(exc)) from None
            if not tags:
                return ""
            return open_tag + "".join(item_open + _esc_text(t) + item_close for t in tags) + close_tag

        return render_tags
    if field.kind == "answers":
        return functools.partial(_render_answers, _answer_markup(field))
    if field.kind == "custom":
        return _custom_renderer(field, kind, ignore)

    empty = f"<{xml}/>"

    def render_str(v: Any) -> str:
        if v.__class__ is not str or (max_length is not None and len(v) > max_length):
            _require_str(v, max_length)  # raises with the precise reason
        if not v:
            return empty
        return (
            open_tag
            + v.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
            + close_tag
        )

    return render_str


_ANSWER_KEYS = {f.column for f in voc.OPTIONAL_ANSWER_FIELDS}


def _answer_markup(field: voc.Field) -> tuple[str, str, str, str]:
    """The tags around a list of answers and around each answer."""
    item = voc.OPTIONAL_ANSWER_ITEM
    return f"<{field.xml}>", f"<{item}>", f"</{item}>", f"</{field.xml}>"


def _render_answers(markup: tuple[str, str, str, str], value: Any) -> str:
    if isinstance(value, str) or not _is_sequence(value):
        raise _Fail(f"expected a list of answer dicts, got {type(value).__name__}")
    out = [markup[0]]
    for i, answer in enumerate(value):
        if not isinstance(answer, Mapping):
            raise _Fail(f"answer {i} is {type(answer).__name__}, expected a dict")
        unknown = set(answer) - _ANSWER_KEYS
        if unknown:
            raise _Fail(f"answer {i} has unknown keys {sorted(unknown)}; allowed: key, text, weight, isCorrect")
        out.append(markup[1])
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
        out.append(markup[2])
    out.append(markup[3])
    return "".join(out)


def _custom_renderer(field: voc.Field, kind: voc.Kind, ignore: bool) -> Callable[[Any], str]:
    """``ignore``: leave out metadata attributes the kind has no place for (e.g. versions on ingest)."""
    attrs = [f for f in voc.CUSTOM_DATA_ATTRIBUTES if f.occurs(kind) is not None]
    every = {f.column for f in voc.CUSTOM_DATA_ATTRIBUTES} | {voc.CUSTOM_DATA_XML_KEY}
    known = every if ignore else {f.column for f in attrs} | {voc.CUSTOM_DATA_XML_KEY}

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
            parts = ["<" + field.xml]
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
            parts.append(f"</{field.xml}>")
            out.append("".join(parts))
        return "".join(out)

    return render_custom


def _metadata_xml(xml: Any, i: int) -> str:
    """Check that the custom metadata is exactly one un-namespaced element, and return it as text."""
    if not isinstance(xml, str) or not xml.strip():
        raise _Fail(f"custom metadata {i} needs 'xml': the metadata document as text, e.g. '<metadata>…</metadata>'")
    try:
        return _checked_metadata(xml)
    except ValueError as exc:
        raise _Fail(f"custom metadata {i} {exc}") from None


@functools.lru_cache(maxsize=4096)
def _checked_metadata(xml: str) -> str:
    """Parse once per distinct document (metadata often repeats); re-serialized so output is canonical."""
    from lxml import etree

    from ._source import PARSER_OPTIONS

    parser = etree.XMLParser(**PARSER_OPTIONS)
    try:
        el = etree.fromstring(xml.encode("utf-8"), parser)
    except etree.XMLSyntaxError as exc:
        raise ValueError(f"is not well-formed XML: {exc.msg}") from None
    if el.getroottree().docinfo.doctype:  # type: ignore[union-attr]  # lxml-stubs' DocInfo lacks doctype
        raise ValueError("must not carry a document type declaration")
    if isinstance(el.tag, str) and el.tag.startswith("{"):
        raise ValueError("has its root element in a namespace; the schema takes only un-namespaced (##local) content")
    return etree.tostring(el, encoding="unicode")


class _Plan:
    __slots__ = ("info", "element", "attrs", "elements", "allowed", "choices", "open", "close")

    def __init__(self, info: voc.CuePointTypeInfo, kind: voc.Kind, ignore: bool) -> None:
        assert info.element is not None
        self.info = info
        self.element = info.element
        fields = info.fields_for(kind)
        self.attrs = [_Step(f, kind, _make_renderer(f, kind, ignore)) for f in fields if f.attribute]
        self.elements = [_Step(f, kind, _make_renderer(f, kind, ignore)) for f in fields if not f.attribute]
        self.allowed = {f.column for f in fields} | {"cuePointType"}
        self.choices = info.ingest_choices if kind == "ingest" else ()
        self.open = "<" + info.element
        self.close = f"</{info.element}>"


# Per (kind, unsupported == "ignore"): how to write each type.
_PLANS: dict[tuple[voc.Kind, bool], dict[str, _Plan]] = {
    (kind, ignore): {t.api_type.value: _Plan(t, kind, ignore) for t in voc.XML_TYPES}
    for kind in voc.KINDS
    for ignore in (False, True)
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


_ALL_COLUMNS: tuple[str, ...] = voc.COLUMN_NAMES
_KNOWN = frozenset(_ALL_COLUMNS)


def _missing(v: Any) -> bool:
    return v is None or (v.__class__ is not str and is_missing(v))


class _Bound:
    """A type's plan bound to one column layout: where each step's value sits in a row tuple."""

    __slots__ = ("plan", "steps", "disallowed", "choices")

    def __init__(self, plan: _Plan, layout: dict[str, int]) -> None:
        self.plan = plan
        # attributes, then None (close the start tag), then child elements, each with its row position
        self.steps: list[tuple[_Step | None, int]] = [
            *((step, layout.get(step.column, -1)) for step in plan.attrs),
            (None, -1),
            *((step, layout.get(step.column, -1)) for step in plan.elements),
        ]
        self.disallowed = [(c, i) for c, i in layout.items() if c not in plan.allowed]
        self.choices = [tuple((c, layout.get(c, -1)) for c in group) for group in plan.choices]


class _Renderer:
    """Renders row tuples (values in ``columns`` order, None = missing) to cue point elements."""

    def __init__(self, kind: voc.Kind, unsupported: Unsupported, columns: tuple[str, ...]) -> None:
        if kind not in voc.KINDS:
            raise ValueError(f"kind must be 'ingest' or 'serve', not {kind!r}")
        if unsupported not in ("error", "ignore"):
            raise ValueError(f"unsupported must be 'error' or 'ignore', not {unsupported!r}")
        self.kind = kind
        self.ignore = unsupported == "ignore"
        self.plans = _PLANS[kind, self.ignore]
        self.columns = columns
        self.layout = {c: i for i, c in enumerate(columns)}
        self.type_pos = self.layout.get("cuePointType", -1)
        self._bound: dict[Any, _Bound] = {}

    def bound(self, type_value: Any, index: int) -> _Bound:
        """The bound plan for a raw ``cuePointType`` value (cached per distinct value)."""
        try:
            b = self._bound.get(type_value)
        except TypeError:
            b = None
        if b is None:
            try:
                api_type = _resolve_type(type_value)
            except _Fail as exc:
                raise CuePointValueError(str(exc), record=index, field="cuePointType") from None
            b = _Bound(self.plans[api_type], self.layout)
            try:
                self._bound[type_value] = b
            except TypeError:
                pass
        return b

    def check_row(self, b: _Bound, row: Any, index: int) -> None:
        """Per-row check that fields the type cannot carry are empty (DataFrames do this vectorized)."""
        if self.ignore:
            return
        for column, pos in b.disallowed:
            if not _missing(row[pos]):
                raise CuePointValueError(self._unsupported_message(b, column), record=index, field=column)

    def _unsupported_message(self, b: _Bound, column: str) -> str:
        return (
            f"{b.plan.info.api_type.value} cue points cannot carry {column!r} in the {self.kind} format "
            "(pass unsupported='ignore' to leave such fields out)"
        )

    def render(self, b: _Bound, row: Any, index: int) -> str:
        plan = b.plan
        field = "cuePointType"
        try:
            for group in b.choices:
                present = [c for c, pos in group if pos >= 0 and not _missing(row[pos])]
                if len(present) > 1:
                    field = present[1]
                    raise _Fail(f"the {self.kind} format takes only one of {', '.join(c for c, _ in group)}")
            parts = [plan.open]
            for step, pos in b.steps:
                if step is None:  # between the attributes and the child elements
                    parts.append(">")
                    continue
                value = row[pos] if pos >= 0 else None
                if value is None or (value.__class__ is not str and is_missing(value)):
                    if step.required:
                        field = step.column
                        raise _Fail(f"is required for {plan.element} in the {self.kind} format")
                    continue
                field = step.column
                parts.append(step.render(value))
            parts.append(plan.close)
        except _Fail as exc:
            raise CuePointValueError(str(exc), record=index, field=field) from None
        text = "".join(parts)
        bad = find_bad_xml_char(text)
        if bad >= 0:
            ch = text[bad]
            column = next((c for c, v in zip(self.columns, row, strict=False) if isinstance(v, str) and ch in v), None)
            raise CuePointValueError(
                f"contains the character {describe_char(ch)}, which XML 1.0 cannot carry", record=index, field=column
            )
        return text


def _record_rows(data: Any, renderer: _Renderer, first: int = 0) -> Iterator[tuple[_Bound, tuple[Any, ...], int]]:
    """Dict records -> (bound plan, row tuple, index), checking every record as it comes.

    ``first``: the index of the first record (the compiled path hands over the rest of a batch).
    """
    get_row = operator.itemgetter(*_ALL_COLUMNS)
    type_pos = renderer.type_pos
    for i, rec in enumerate(data, first):
        if not isinstance(rec, Mapping):
            raise CuePointValueError(f"expected a dict, got {type(rec).__name__}", record=i)
        if not rec.keys() <= _KNOWN:
            key = next(k for k in rec if k not in _KNOWN)
            raise CuePointValueError(_unknown_key_message(str(key)), record=i, field=str(key))
        row = get_row(_Defaulted(rec))
        b = renderer.bound(row[type_pos], i)
        renderer.check_row(b, row, i)
        yield b, row, i


class _Defaulted(dict[str, Any]):
    """A view of a record whose missing keys read as None (for itemgetter)."""

    __slots__ = ()

    def __init__(self, rec: Mapping[str, Any]) -> None:
        super().__init__(rec)

    def __missing__(self, key: str) -> None:
        return None


_FRAME_BLOCK = 20_000  # rows converted to Python values at a time: memory stays flat on large frames


def _frame_blocks(df: Any, renderer: _Renderer) -> Iterator[tuple[int, list[list[Any]], list[Any], dict[Any, _Bound]]]:
    """DataFrame -> ``(first row index, columns as Python lists, cuePointType values, bound plans)``.

    Columns are converted to Python values a block at a time (iterating pandas' Arrow-backed string
    arrays row by row is the slow path), so memory stays flat; the type and unsupported-field checks
    run per block, vectorized.
    """
    if renderer.type_pos < 0:
        raise CuePointValueError("the DataFrame has no 'cuePointType' column", field="cuePointType")
    bounds: dict[Any, _Bound] = {}
    for start in range(0, len(df), _FRAME_BLOCK):
        block = df.iloc[start : start + _FRAME_BLOCK]
        columns = [block[c].to_numpy(dtype=object, na_value=None).tolist() for c in renderer.columns]
        types = columns[renderer.type_pos]
        try:
            distinct = list(dict.fromkeys(types))  # first-seen order, so errors name the first bad row
        except TypeError:  # an unhashable cuePointType value: the row loop reports it
            distinct = []
        for t in distinct:
            if t not in bounds:
                bounds[t] = renderer.bound(t, start + types.index(t))
        if not renderer.ignore:
            _check_unsupported(block, types, bounds, renderer, start)
        _check_enum_booleans(columns, renderer, start)
        yield start, columns, types, bounds


_ENUM_COLUMNS = frozenset(f.column for f in voc.COLUMNS if f.kind == "enum" and f.column != "cuePointType")


def _check_enum_booleans(columns: list[list[Any]], renderer: _Renderer, offset: int) -> None:
    """Refuse a boolean in an enum column before the compiled writer looks it up (True == 1 finds a member).

    The classes in a column are collected at C speed; only a column that holds a boolean is walked.
    """
    for column, values in zip(renderer.columns, columns, strict=True):
        if column in _ENUM_COLUMNS and not _BOOLEANS.isdisjoint(map(type, values)):
            for i, v in enumerate(values):
                if v.__class__ is bool or isinstance(v, np.bool_):
                    raise CuePointValueError(f"{v!r} is a boolean, not a valid value", record=offset + i, field=column)


_BOOLEANS = frozenset({bool, np.bool_})


def _frame_rows(df: Any, renderer: _Renderer) -> Iterator[tuple[_Bound, tuple[Any, ...], int]]:
    """DataFrame -> (bound plan, row tuple, index): the pure-Python path."""
    for start, columns, _types, bounds in _frame_blocks(df, renderer):
        for i, row in enumerate(zip(*columns, strict=True), start):
            t = row[renderer.type_pos]
            try:
                b = bounds[t]
            except (KeyError, TypeError):
                b = renderer.bound(t, i)
            yield b, row, i


# What the compiled writer (_speedups_writer.pxi) takes: tuples laid out as the named tuples of _layout.py
_ANSWER_KIND = {"float": AnswerKind.FLOAT, "int": AnswerKind.INT}
_ANSWER_SPEC = tuple(
    tuple(
        AnswerField(
            f.column, int(_ANSWER_KIND.get(f.kind, AnswerKind.TEXT)), f"<{f.xml}>".encode(), f"</{f.xml}>".encode()
        )
    )
    for f in voc.OPTIONAL_ANSWER_FIELDS
)
_END_OF_ATTRIBUTES = tuple(WriteStep(int(StepKind.END_OF_ATTRIBUTES), -1, False, b"", b"", b"", -1, None))


def _custom_spec(field: voc.Field, kind: voc.Kind, ignore: bool) -> tuple[Any, ...]:
    """What the compiled writer needs to write custom metadata as _custom_renderer does."""
    attrs = tuple(
        tuple(CustomAttr(f.column, f' {f.xml}="'.encode(), f.kind == "int", f.occurs(kind) == "required"))
        for f in voc.CUSTOM_DATA_ATTRIBUTES
        if f.occurs(kind) is not None
    )
    every = {f.column for f in voc.CUSTOM_DATA_ATTRIBUTES} | {voc.CUSTOM_DATA_XML_KEY}
    known = (
        every
        if ignore
        else {f.column for f in voc.CUSTOM_DATA_ATTRIBUTES if f.occurs(kind) is not None} | {voc.CUSTOM_DATA_XML_KEY}
    )
    return tuple(
        CustomAux(
            attrs,
            frozenset(known),
            _checked_metadata,
            voc.CUSTOM_DATA_XML_KEY,
            f"<{field.xml}".encode(),
            f"</{field.xml}>".encode(),
        )
    )


def _fast_spec(b: _Bound, kind: voc.Kind, ignore: bool) -> tuple[Any, ...]:
    """A bound plan as the compiled writer takes it; the same steps, in the same order."""
    steps: list[tuple[Any, ...]] = []
    for step, pos in b.steps:
        if step is None:
            steps.append(_END_OF_ATTRIBUTES)
            continue
        f = step.field
        xml = f.xml
        aux: Any = None
        if f.attribute:
            code, open_tag = StepKind.ATTR, f' {xml}="'
        elif f.kind == "time":
            code, open_tag = StepKind.TIME, f"<{xml}>"
        elif f.kind == "enum":
            assert f.enum is not None
            code, open_tag, aux = StepKind.ENUM, f"<{xml}>", enum_lookup(f.enum)
        elif f.kind == "tags":
            item_open, item_close = f"<{voc.TAG_ITEM}>", f"</{voc.TAG_ITEM}>"
            code, open_tag = StepKind.TAGS, ""
            aux = tuple(
                TagsMarkup(
                    f"<{xml}>{item_open}".encode(), (item_close + item_open).encode(), f"{item_close}</{xml}>".encode()
                )
            )
        elif f.kind == "answers":
            markup = tuple(AnswerMarkup(*(m.encode() for m in _answer_markup(f))))
            code, open_tag, aux = StepKind.ANSWERS, "", tuple(AnswersAux(_ANSWER_SPEC, markup))
        elif f.kind == "custom":
            code, open_tag, aux = StepKind.CUSTOM, "", _custom_spec(f, kind, ignore)
        else:
            code, open_tag = StepKind.STR, f"<{xml}>"
        max_length = TAG_MAX_LENGTH if f.kind == "tags" else -1 if f.max_length is None else f.max_length
        steps.append(
            tuple(
                WriteStep(
                    int(code),
                    pos,
                    step.required,
                    open_tag.encode(),
                    f"</{xml}>".encode(),
                    f"<{xml}/>".encode(),
                    max_length,
                    aux,
                )
            )
        )
    choices = [tuple(pos for _, pos in group) for group in b.choices]
    return tuple(WriteSpec(b.plan.open.encode(), b.plan.close.encode(), steps, choices))


def _compiled_frame_chunks(df: Any, renderer: _Renderer) -> Iterator[tuple[bytes, int]]:
    """DataFrame -> (UTF-8 of a block of cue point elements, each followed by a newline; count)."""
    compiled = _speedups
    assert compiled is not None, "only called when the compiled writer is loaded"
    specs: dict[Any, tuple[Any, ...]] = {}  # cuePointType -> BoundSpec
    render = renderer.render

    def fallback(b: _Bound | None, row: tuple[Any, ...], index: int) -> str:
        return render(b if b is not None else renderer.bound(row[renderer.type_pos], index), row, index)

    serve = renderer.kind == "serve"
    for start, columns, types, bounds in _frame_blocks(df, renderer):
        for t, b in bounds.items():
            if t not in specs:
                specs[t] = tuple(BoundSpec(b, _fast_spec(b, renderer.kind, renderer.ignore)))
        yield compiled.render_block(columns, types, specs, fallback, start, serve), len(types)


_NA_NAT = (pd.NA, pd.NaT)


def _compiled_record_chunks(data: Any, renderer: _Renderer) -> Iterator[tuple[bytes, int]]:
    """Dict records -> (UTF-8 of a batch of cue point elements, each followed by a newline; count).

    Records are taken ``_BATCH`` at a time, as the pure-Python path takes them, so a generator is
    consumed as lazily and the same chunks come out before an error. The compiled core turns a batch
    into columns, making the checks :func:`_record_rows` makes (``records_to_columns``), and renders
    them as it renders DataFrame blocks; from the first record that fails a check on, the batch goes
    through :func:`_record_rows` and the Python renderer, which raise the error or write the record.
    """
    compiled = _speedups
    assert compiled is not None, "only called when the compiled writer is loaded"
    specs: dict[Any, tuple[Any, ...]] = {}  # cuePointType -> BoundSpec
    allowed: dict[Any, frozenset[str]] = {}  # cuePointType -> the columns it may carry (filled by the core)
    every = frozenset(_ALL_COLUMNS)
    render = renderer.render

    def allowed_for(type_value: Any, index: int) -> frozenset[str] | None:
        try:
            b = renderer.bound(type_value, index)
        except CuePointValueError:
            return None  # the Python path raises it, in its place among the record's checks
        specs[type_value] = tuple(BoundSpec(b, _fast_spec(b, renderer.kind, renderer.ignore)))
        return every if renderer.ignore else frozenset(b.plan.allowed)

    def fallback(b: _Bound | None, row: tuple[Any, ...], index: int) -> str:
        return render(b if b is not None else renderer.bound(row[renderer.type_pos], index), row, index)

    serve = renderer.kind == "serve"
    records = iter(data)
    first = 0
    while batch := list(itertools.islice(records, _BATCH)):
        columns, types, checked = compiled.records_to_columns(
            batch, renderer.layout, "cuePointType", allowed, allowed_for, first, _NA_NAT
        )
        chunk = b""
        if checked:
            chunk = compiled.render_block(columns, types[:checked], specs, fallback, first, serve)
        if checked < len(batch):
            rest = batch[checked:]
            text = "".join(render(b, row, i) + "\n" for b, row, i in _record_rows(rest, renderer, first + checked))
            chunk += text.encode("utf-8")
        yield chunk, len(batch)
        first += len(batch)


def _check_unsupported(
    block: Any, types: list[Any], bounds: dict[Any, _Bound], renderer: _Renderer, offset: int
) -> None:
    """Raise for the first row holding a value its type cannot carry, checked column-wise."""
    checked = {t: b for t, b in bounds.items() if b.disallowed}
    if not checked:
        return
    columns = sorted({c for b in checked.values() for c, _ in b.disallowed})
    present = block[columns].notna().to_numpy()  # one vectorized pass over every column any type forbids
    where = {c: j for j, c in enumerate(columns)}
    type_array = np.array(types, dtype=object)
    first: tuple[int, str, _Bound] | None = None
    for t, b in checked.items():
        rows = (type_array == t).nonzero()[0]
        if not len(rows):
            continue
        sub = present[np.ix_(rows, [where[c] for c, _ in b.disallowed])]
        if sub.any():
            r, c = divmod(int(sub.argmax()), sub.shape[1])
            index = int(rows[r])
            if first is None or index < first[0]:
                first = (index, b.disallowed[c][0], b)
    if first is not None:
        index, column, b = first
        raise CuePointValueError(renderer._unsupported_message(b, column), record=offset + index, field=column)


def _rows(data: Any, kind: voc.Kind, unsupported: Unsupported) -> tuple[_Renderer, Iterator[Any] | _CompiledFrame]:
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        unknown = [c for c in data.columns if c not in _KNOWN]
        if unknown:
            raise CuePointValueError(_unknown_key_message(str(unknown[0])), field=str(unknown[0]))
        renderer = _Renderer(kind, unsupported, tuple(data.columns))
        if _speedups is not None:
            return renderer, _CompiledFrame(_compiled_frame_chunks(data, renderer))
        return renderer, _frame_rows(data, renderer)
    renderer = _Renderer(kind, unsupported, _ALL_COLUMNS)  # checks kind and unsupported first
    if isinstance(data, Mapping):
        raise TypeError("write_xml takes many records: pass a list of dicts, an iterable of dicts or a DataFrame")
    if _speedups is not None:
        return renderer, _CompiledFrame(_compiled_record_chunks(data, renderer))
    return renderer, _record_rows(data, renderer)


HEADER = '<?xml version="1.0" encoding="UTF-8"?>\n<scenes>'
FOOTER = "</scenes>\n"


class _CompiledFrame:
    """Blocks of rendered cue points from the compiled writer (see _compiled_frame_chunks)."""

    def __init__(self, chunks: Iterator[tuple[bytes, int]]) -> None:
        self.chunks = chunks


def _iter_compiled(rows: _CompiledFrame, kind: voc.Kind, counter: list[int] | None) -> Iterator[bytes]:
    """iter_xml_chunks for the compiled writer: the same bytes, a block at a time."""
    count = 0
    head = (HEADER + "\n").encode()
    for chunk, n in rows.chunks:
        count += n
        if n:
            yield head + chunk
            head = b""
    yield _document_end(count, kind, counter)


def _document_end(count: int, kind: voc.Kind, counter: list[int] | None) -> bytes:
    """What closes a document of ``count`` cue points: the footer, or the whole empty serve document."""
    if counter is not None:
        counter[:] = [count]
    if count == 0 and kind == "ingest":
        raise CuePointValueError("an ingest document needs at least one cue point; the input is empty")
    if count == 0:
        return (HEADER.removesuffix("<scenes>") + "<scenes/>\n").encode("utf-8")
    return FOOTER.encode("utf-8")


def iter_xml_chunks(
    data: Iterable[Mapping[str, Any]] | Any,
    *,
    kind: voc.Kind = "ingest",
    unsupported: Unsupported = "error",
    counter: list[int] | None = None,
) -> Iterator[bytes]:
    """Yield the document as UTF-8 byte chunks, one batch of records at a time (for uploads and pipes).

    ``counter``, if given, is a one-element list that receives the number of cue points written.
    """
    renderer, rows = _rows(data, kind, unsupported)
    if isinstance(rows, _CompiledFrame):
        yield from _iter_compiled(rows, kind, counter)
        return
    render = renderer.render
    count = 0
    batch: list[str] = [HEADER]
    for b, row, index in rows:
        batch.append(render(b, row, index))
        count += 1
        if count % _BATCH == 0:
            batch.append("")
            yield "\n".join(batch).encode("utf-8")
            batch = []
    end = _document_end(count, kind, counter)
    if count and batch:
        yield ("\n".join(batch) + "\n").encode("utf-8")
    yield end


@overload
def write_xml(
    data: Iterable[Mapping[str, Any]] | Any,
    dest: None = None,
    *,
    kind: voc.Kind = "ingest",
    unsupported: Unsupported = "error",
) -> bytes: ...
@overload
def write_xml(
    data: Iterable[Mapping[str, Any]] | Any,
    dest: str | os.PathLike[str] | IO[bytes],
    *,
    kind: voc.Kind = "ingest",
    unsupported: Unsupported = "error",
) -> int: ...
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
        with AtomicOutput(dest) as out:  # a temporary file renamed into place when complete; .gz compresses
            return _write_stream(data, out.file, kind, unsupported)
    if isinstance(dest, io.TextIOBase):
        raise TypeError("open the destination in binary mode ('wb'): cuepipe writes UTF-8 bytes")
    return _write_stream(data, dest, kind, unsupported)


class _Writable(Protocol):
    """Where a document is written: a binary file, a GzipFile, a socket's makefile('wb')..."""

    def write(self, data: bytes, /) -> object: ...


def _write_stream(data: Any, out: _Writable, kind: voc.Kind, unsupported: Unsupported) -> int:
    counter = [0]
    for chunk in iter_xml_chunks(data, kind=kind, unsupported=unsupported, counter=counter):
        out.write(chunk)
    return counter[0]

"""Streaming reader: ingest or serve XML -> records (dicts keyed by API field names).

The reader walks ``etree.iterparse`` events for cue point elements only and clears each element as
soon as it has been turned into a record, so memory does not grow with the document. It reads what
the real server writes, quirks included (docs/format-notes.md#time-values, #serve-output-and-escaping,
#how-the-server-serves, #what-servebulk-cannot-serve):

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

import contextvars
import copy
import io
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, Any, cast

from lxml import etree

from .. import vocabulary as voc
from ..errors import XMLFormatError
from ..values import parse_time
from ._layout import ReadAnswer, ReadChild, ReadCustomAttr, ReadSpec, Storage, ValueKind, load_speedups
from ._source import (
    _PROLOG_LIMIT,
    PARSER_OPTIONS,
    Budget,
    Source,
    _Prefixed,
    document_root,
    open_source,
    progress_of,
    push,
    refuse_dtd,
    scenes_parser,
    syntax_error,
)

Record = dict[str, Any]

_ANSWER_ORDER = {f.xml: i for i, f in enumerate(voc.OPTIONAL_ANSWER_FIELDS)}
_ANSWER_COLUMN = {f.xml: f.column for f in voc.OPTIONAL_ANSWER_FIELDS}
_CUSTOM_ATTRS = {f.xml: f for f in voc.CUSTOM_DATA_ATTRIBUTES}


def _as_str(text: str | None) -> str:
    return "" if text is None else text


def _as_int(text: str | None) -> int:
    return int(text or "")


def _as_float(text: str | None) -> float:
    return float((text or "").strip())


def _as_time(text: str | None) -> int:
    """Fast path for the shapes writers emit (``HH:MM:SS``, ``HH:MM:SS.f``..); else the general parser."""
    if text is not None and len(text) <= 12 and text.isascii():
        parts = text.split(":")
        if len(parts) == 3:
            h, m, sec = parts
            if len(h) == 2 and len(m) == 2 and h.isdigit() and m.isdigit():
                ms = int(h) * 3_600_000 + int(m) * 60_000
                if len(sec) == 2 and sec.isdigit():
                    return ms + int(sec) * 1000
                if len(sec) > 3 and sec[2] == "." and sec[:2].isdigit() and sec[3:].isdigit():
                    return ms + int(sec[:2]) * 1000 + int(sec[3:].ljust(3, "0"))
    return parse_time(text or "")


# How a child element's text becomes a value; one small int per value kind, checked in order of frequency.
_STR, _TIME, _INT, _FLOAT, _TAGS, _ANSWERS, _CUSTOM = (
    int(k)
    for k in (
        ValueKind.STR,
        ValueKind.TIME,
        ValueKind.INT,
        ValueKind.FLOAT,
        ValueKind.TAGS,
        ValueKind.ANSWERS,
        ValueKind.CUSTOM,
    )
)
_CODES = {
    "str": _STR,
    "time": _TIME,
    "int": _INT,
    "float": _FLOAT,
    "tags": _TAGS,
    "answers": _ANSWERS,
    "custom": _CUSTOM,
}


def _code(field: voc.Field) -> int:
    if field.kind == "enum":
        return _INT if field.enum is not None and issubclass(field.enum, int) else _STR
    return _CODES[field.kind]


class _TypePlan:
    """How to read one cue point element into a row: one slot per column the type can hold.

    Rows are plain lists in ``columns`` order (``None`` = not present), so that a chunk of rows of one
    type can be transposed in one step when building a DataFrame.
    """

    __slots__ = ("info", "api_type", "element", "columns", "attrs", "children", "question", "width")

    def __init__(self, info: voc.CuePointTypeInfo) -> None:
        self.info = info
        self.api_type = info.api_type.value
        self.element: str = info.element or ""  # every planned type has an element (BY_ELEMENT)
        fields = list(info.all_fields)
        for column in info.serve_quirks.values():
            if all(f.column != column for f in fields):
                fields.append(voc.COLUMN_BY_NAME[column])
        self.columns: tuple[str, ...] = tuple(f.column for f in fields)
        self.width = len(self.columns)
        slot = {c: i for i, c in enumerate(self.columns)}
        self.attrs: dict[str, int] = {f.xml: slot[f.column] for f in info.all_fields if f.attribute}
        self.children: dict[str, tuple[int, int]] = {
            f.xml: (slot[f.column], _code(f)) for f in info.all_fields if not f.attribute
        }
        for xml, column in info.serve_quirks.items():
            self.children.setdefault(xml, (slot[column], _code(voc.COLUMN_BY_NAME[column])))
        self.question = info.api_type is voc.CuePointType.QUIZ_QUESTION


_PLANS: dict[str, _TypePlan] = {el: _TypePlan(info) for el, info in voc.BY_ELEMENT.items()}
_SCENE_TAGS = tuple(_PLANS)


def _read_answers(wrapper: Any) -> list[dict[str, Any]]:
    answers = []
    for opt in wrapper:
        tag = opt.tag
        if not isinstance(tag, str):
            continue
        if tag != voc.OPTIONAL_ANSWER_ITEM:
            raise XMLFormatError(f"unexpected <{tag}> inside <optionalAnswers>", line=opt.sourceline, element=tag)
        answer: dict[str, Any] = {}
        for part in opt:
            ptag = part.tag
            if not isinstance(ptag, str):
                continue
            _set_answer_value(answer, ptag, part)
        answers.append(answer)
    return answers


def _text_of(el: Any) -> str | None:
    """The value of a text-only element. Comments and processing instructions inside it are not part
    of the value (the schema allows them there), but the text on both sides of them is."""
    if not len(el):
        return el.text  # the common case
    if any(isinstance(c.tag, str) for c in el):
        raise XMLFormatError(f"<{el.tag}> holds elements; it takes text only", line=el.sourceline, element=el.tag)
    return (el.text or "") + "".join(c.tail or "" for c in el)


def _set_answer_value(answer: dict[str, Any], tag: str, el: Any) -> None:
    column = _ANSWER_COLUMN.get(tag)
    if column is None:
        raise XMLFormatError(f"unexpected <{tag}> in an optional answer", line=el.sourceline, element=tag)
    text = _text_of(el)
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
            raise XMLFormatError(
                f"unexpected attribute {name!r} on <scene-customData>", line=el.sourceline, element="scene-customData"
            )
        item[f.column] = int(value) if f.kind == "int" else value
    children = [c for c in el if isinstance(c.tag, str)]
    if len(children) != 1:
        raise XMLFormatError(
            f"<scene-customData> must hold exactly one element, found {len(children)}",
            line=el.sourceline,
            element="scene-customData",
        )
    metadata = copy.deepcopy(children[0])
    etree.cleanup_namespaces(metadata)  # drop declarations inherited from <scenes> (e.g. xmlns:xsi)
    item[voc.CUSTOM_DATA_XML_KEY] = etree.tostring(metadata, encoding="unicode", with_tail=False)
    return item


def _read_row(elem: Any, plan: _TypePlan) -> list[Any]:
    """One cue point element -> a row in ``plan.columns`` order. The hot loop of the reader."""
    row: list[Any] = [None] * plan.width
    attrs = plan.attrs
    for name, value in elem.items():
        slot = attrs.get(name)
        if slot is None:
            if name[0] == "{":  # xsi:type, xsi:nil ... are allowed anywhere
                continue
            raise XMLFormatError(f"unexpected attribute {name!r}", line=elem.sourceline, element=elem.tag)
        row[slot] = value
    children = plan.children
    quirk_answers: list[dict[str, Any]] | None = None
    for child in elem:
        tag = child.tag
        spec = children.get(tag)
        if spec is None:
            if not isinstance(tag, str):
                continue  # comment or processing instruction
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
            raise XMLFormatError(f"unexpected element <{tag}> in <{elem.tag}>", line=child.sourceline, element=tag)
        slot, code = spec
        try:
            if code <= _INT:
                text = child.text if not len(child) else _text_of(child)
                if code == _STR:
                    row[slot] = "" if text is None else text
                elif code == _TIME:
                    row[slot] = _as_time(text)
                else:
                    row[slot] = _as_int(text)
            elif code == _TAGS:
                row[slot] = ",".join([_text_of(t) or "" for t in child if isinstance(t.tag, str)])
            elif code == _ANSWERS:
                row[slot] = (row[slot] or []) + _read_answers(child)
            elif code == _CUSTOM:
                if row[slot] is None:
                    row[slot] = []
                row[slot].append(_read_custom_data(child))
            else:
                row[slot] = _as_float(_text_of(child))
        except ValueError as exc:
            if isinstance(exc, XMLFormatError):
                raise
            raise XMLFormatError(f"cannot read <{tag}>: {exc}", line=child.sourceline, element=tag) from None
    if quirk_answers is not None:
        slot = plan.children["optionalAnswers"][0]
        placeholders = row[slot] or []
        if any(placeholders):
            raise XMLFormatError(
                "a question has both filled optional answers and loose answer values",
                line=elem.sourceline,
                element=elem.tag,
            )
        row[slot] = quirk_answers + [{} for _ in range(len(placeholders) - len(quirk_answers))]
    return row


def row_to_record(plan: _TypePlan, row: list[Any]) -> Record:
    rec: Record = {"cuePointType": plan.api_type}
    for column, value in zip(plan.columns, row, strict=True):
        if value is not None:
            rec[column] = value
    return rec


def _check_skipped(parent: Any, upto: Any) -> int:
    """Count the elements under <scenes> before ``upto``; raise on any that is not a cue point.

    Unknown elements would otherwise be lost silently.
    """
    n = 0
    for sib in parent:
        if sib is upto:
            break
        n += 1
        tag = sib.tag
        if isinstance(tag, str) and tag not in _PLANS:
            raise XMLFormatError(
                f"unexpected element <{tag}> in <scenes>; cue point elements are: {', '.join(_SCENE_TAGS)}",
                line=sib.sourceline,
                element=tag,
            )
    return n


def _in_custom_data(elem: Any) -> bool:
    return any(a.tag == "scene-customData" for a in elem.iterancestors())


_SWEEP = 512  # consumed elements are removed from the tree in batches of this size


def iter_rows(source: Source) -> Iterator[tuple[_TypePlan, list[Any]]]:
    """Yield ``(plan, row)`` per cue point: the fast core under :func:`iter_cue_points` and ``read_xml``."""
    with open_source(source) as stream:
        events = etree.iterparse(stream, events=("end",), tag=(*_SCENE_TAGS, "scenes"), **PARSER_OPTIONS)
        progress = progress_of(stream)
        index = 0
        root = None
        plans = _PLANS
        try:
            for _, elem in events:
                parent = elem.getparent()
                if parent is not root or root is None:
                    if index == 0:
                        refuse_dtd(elem)  # before anything is handed on, whatever the encoding
                    if elem.tag == "scenes":
                        if parent is None:
                            _check_skipped(elem, None)
                        continue
                    if _in_custom_data(elem):
                        continue  # custom metadata is free-form XML: not a cue point
                    if parent is None or parent.tag != "scenes" or parent.getparent() is not None:
                        where = "the document root" if parent is None else f"<{parent.tag}>"
                        raise XMLFormatError(
                            f"<{elem.tag}> found in {where}; cue points must be children of <scenes>",
                            line=elem.sourceline,
                            element=elem.tag,
                            record=index,
                        )
                    root = parent
                plan = plans[elem.tag]
                try:
                    row = _read_row(elem, plan)
                except XMLFormatError as exc:
                    if exc.record is None:
                        exc = XMLFormatError(
                            exc.reason, line=exc.line, column=exc.column, record=index, element=exc.element
                        )
                    raise exc from None
                progress(index, elem.sourceline)
                yield plan, row
                index += 1
                elem.clear(keep_tail=True)
                if index % _SWEEP == 0:
                    del root[: _check_skipped(root, elem)]
        except etree.XMLSyntaxError as exc:
            raise syntax_error(exc, index) from None
        top = events.root
        if top is None:
            raise XMLFormatError("the document is empty")
        refuse_dtd(top)
        if top.tag != "scenes":
            raise XMLFormatError(
                f"the root element is <{top.tag}>; cue point documents start with <scenes>",
                line=top.sourceline,
                element=str(top.tag),
            )


def iter_cue_points(source: Source) -> Iterator[Record]:
    """Yield one record (a dict keyed by API field names) per cue point in an ingest or serve document.

    ``source`` is a path, bytes, or a binary file object; gzip is detected automatically. Fields the
    element does not carry are absent from the record; empty elements give ``""``.
    """
    if _speedups is None:
        for plan, row in iter_rows(source):
            yield row_to_record(plan, row)
        return
    for run in iter_columns(source):
        # Python lists (pure path), pyarrow arrays, NumPy object arrays (nested columns)
        columns = [c if isinstance(c, list) else c.to_pylist() if hasattr(c, "to_pylist") else c.tolist() for c in run]
        for i, api_type in enumerate(columns[_TYPE_SLOT]):
            rec: Record = {"cuePointType": api_type}
            for column, slot in _RECORD_ORDER[api_type]:
                value = columns[slot][i]
                if value is not None:
                    rec[column] = value
            yield rec


# ------------------------------------------------------------------------------------------------
# Column harvest: the fast path under read_xml, through the compiled ``_speedups`` module
# ------------------------------------------------------------------------------------------------

# None in a pure-Python build or run (CUEPIPE_NO_EXTENSIONS=1): iter_columns falls back to iter_rows
_speedups = load_speedups()

#: Whether the compiled reader is available (``False`` in a pure-Python build).
SPEEDUPS = _speedups is not None

COLUMN_NAMES: tuple[str, ...] = tuple(f.column for f in voc.COLUMNS)
_GLOBAL = {c: i for i, c in enumerate(COLUMN_NAMES)}
_TYPE_SLOT = _GLOBAL["cuePointType"]
_BLANK: list[Any] = [None] * len(COLUMN_NAMES)
_ANSWER_SPECS = {f.xml.encode(): tuple(ReadAnswer(f.column, _code(f))) for f in voc.OPTIONAL_ANSWER_FIELDS}
_BLOCK = 1 << 17  # bytes fed to the parser between harvests (small: the tree of one block is in memory)
#: Documents at least this large are parsed in a worker thread when a second core is there (``None``:
#: never); see ``_pipe_block``.
_PIPE_MIN_BYTES: int | None = 4 * _BLOCK
_PIPE_BLOCKS = 4  # the worker parses _BLOCK * _PIPE_BLOCKS bytes at a time
_RUN = 4096  # cue points per run of columns handed on (measured: larger runs raise peak memory, not speed)
_CUSTOM_SPECS = {f.xml.encode(): tuple(ReadCustomAttr(f.column, f.kind == "int")) for f in voc.CUSTOM_DATA_ATTRIBUTES}


def _storage(field: voc.Field) -> int:
    """How ``_speedups.Run`` stores a column (text, integer, float, or Python objects)."""
    code = _code(field)
    storage = {_STR: Storage.STR, _TIME: Storage.INT, _INT: Storage.INT, _FLOAT: Storage.FLOAT, _TAGS: Storage.STR}
    return int(storage.get(code, Storage.OBJ))


_STORAGE = [_storage(f) for f in voc.COLUMNS]
_SLOTS: dict[str, tuple[int, ...]] = {name: tuple(_GLOBAL[c] for c in plan.columns) for name, plan in _PLANS.items()}
# element name -> ReadSpec (key, api_type, attribute name -> column, child name -> ReadChild), for _speedups
_SPECS: dict[bytes, tuple[Any, ...]] = {
    name.encode(): tuple(
        ReadSpec(
            name,
            plan.api_type.encode(),
            {a.encode(): _SLOTS[name][slot] for a, slot in plan.attrs.items()},
            {c.encode(): tuple(ReadChild(_SLOTS[name][slot], code)) for c, (slot, code) in plan.children.items()},
        )
    )
    for name, plan in _PLANS.items()
}
assert all(_STORAGE[slot] == Storage.STR for spec in _SPECS.values() for slot in ReadSpec(*spec).attrs.values())


# api type -> (column, slot) in the order iter_rows' records have them
_RECORD_ORDER = {plan.api_type: tuple(zip(plan.columns, _SLOTS[name], strict=True)) for name, plan in _PLANS.items()}


def _full_row(plan: _TypePlan, row: list[Any]) -> list[Any]:
    full = _BLANK[:]
    full[_TYPE_SLOT] = plan.api_type
    for slot, value in zip(_SLOTS[plan.element], row, strict=True):
        full[slot] = value
    return full


def _first_nested(elem: Any) -> Any:
    """The cue point element below ``elem`` (outside custom metadata) whose end tag comes first:
    the one :func:`iter_rows` meets first, since it reads an element at its end tag."""
    found = None
    below = elem
    while True:
        below = next((e for e in below.iter(*_SCENE_TAGS) if e is not below and not _in_custom_data(e)), None)
        if below is None:
            return found
        found = below


def _slow_element(elem: Any, key: str | None, index: int) -> list[Any]:
    """The pure-Python reader for one child of <scenes> that the compiled code hands back."""
    nested = _first_nested(elem)
    if nested is not None:  # the error iter_rows raises before it reads ``elem`` itself
        raise XMLFormatError(
            f"<{nested.tag}> found in <{nested.getparent().tag}>; cue points must be children of <scenes>",
            line=nested.sourceline,
            element=nested.tag,
            record=index,
        )
    if key is None:  # not a cue point element: the error iter_rows would raise
        _check_skipped(elem.getparent(), elem.getnext())
        raise AssertionError(f"unexpected child of <scenes>: {elem.tag!r}")  # pragma: no cover
    plan = _PLANS[key]
    try:
        return _full_row(plan, _read_row(elem, plan))
    except XMLFormatError as exc:
        if exc.record is None:
            exc = XMLFormatError(exc.reason, line=exc.line, column=exc.column, record=index, element=exc.element)
        raise exc from None


def iter_columns(source: Source) -> Iterator[list[Any]]:
    """Yield the cue points of a document as columns, in :data:`COLUMN_NAMES` order, a run of cue
    points per yield: pyarrow arrays (NumPy object arrays for nested columns) from the compiled
    reader, Python lists from the pure-Python one. Same values and errors as :func:`iter_rows`.

    The compiled reader feeds libxml2's SAX2 callbacks and copies values straight into column
    buffers, with no tree and no Python object per value; on anything it does not read itself it
    stops, and the tree harvest (:func:`_tree_columns`) reads the document again and decides.
    """
    if _speedups is None:
        yield from _columns_from_rows(iter_rows(source))
        return
    reopen = _reopener(source) if _speedups.SAX else None
    if reopen is None:
        yield from _tree_columns(source)
        return
    delivered = 0
    for run in _sax_columns(source):
        if run is None:  # the tree-free reader stopped: the tree harvest reads the document again
            yield from _skip_rows(_tree_columns(reopen()), delivered)
            return
        delivered += len(run[_TYPE_SLOT])
        yield run


def _reopener(source: Source) -> Callable[[], Source] | None:
    """How to read ``source`` again from its start, if it can be: paths and bytes always, binary
    file objects if seekable (from where they are now). None for other streams."""
    if isinstance(source, str | os.PathLike | bytes | bytearray | memoryview):
        return lambda: source
    stream: Any = source
    try:
        if isinstance(stream, io.TextIOBase) or not stream.seekable():
            return None
        start = stream.tell()
    except (AttributeError, OSError, ValueError):
        return None

    def rewound() -> Source:
        stream.seek(start)
        return stream

    return rewound


def _sax_columns(source: Source) -> Iterator[list[Any] | None]:
    """Runs of columns from the tree-free reader (``_speedups.SaxReader``, libxml2's SAX2 callbacks);
    ``None`` last if it stopped before the end (content it does not read, or any error), in which
    case the caller reads the document again with the tree harvest, which decides."""
    speedups = _compiled()
    pipe_block = _pipe_block(source)
    piped = pipe_block is not None
    size = pipe_block or _BLOCK
    with open_source(source) as stream:
        progress = progress_of(stream)  # the per-cue-point byte bound counts from each completed one
        # runs are handed on at _RUN cue points or a block later: sized so that they never regrow
        reader = speedups.SaxReader(_context(), _STORAGE, _RUN + _RUN // 4)
        # on two cores libxml2 parses the next block in a worker thread while this one is read
        parser = reader
        if piped:
            try:
                parser = speedups.SaxPipe(reader)
            except RuntimeError:  # "can't start new thread" (a thread limit): read in this one
                piped = False
                size = _BLOCK
        # the worker reads one buffer while the next block is read into the other (no new memory
        # per block: fresh pages cost a page fault each, measured at about 10% of a first read's faults)
        buffers = (bytearray(size), bytearray(size)) if piped else ()
        which = 0
        try:
            while True:
                try:
                    if piped:
                        which ^= 1
                        block: Any = memoryview(buffers[which])[: cast(Any, stream).readinto(buffers[which]) or 0]
                    else:
                        block = stream.read(size)
                except Exception:  # the byte bound, a corrupt gzip ...: the tree path meets it and reports it
                    yield None
                    return
                if not parser.feed(block):
                    yield None
                    return
                if reader.records:
                    progress(reader.records - 1, reader.line or None)
                if len(reader.run) >= _RUN or (not len(block) and len(reader.run)):
                    yield reader.take()
                if not len(block):
                    return
        finally:
            if piped:
                parser.close()


#: False inside :func:`one_core` (``contextvars``: per thread and per task).
_WORKER_THREAD: contextvars.ContextVar[bool] = contextvars.ContextVar("cuepipe_xml_worker_thread", default=True)


@contextmanager
def one_core() -> Iterator[None]:
    """Read without the worker thread in this context: for callers that already keep every core
    busy with reads of their own (the Dask reader's partitions), where a second thread per read
    would only add its hand-overs (about 10% more CPU in all)."""
    token = _WORKER_THREAD.set(False)
    try:
        yield
    finally:
        _WORKER_THREAD.reset(token)


def _pipe_block(source: Source) -> int | None:
    """The block size to parse ``source`` with in a worker thread (``_speedups.SaxPipe``), or None
    to parse it in this one: a worker needs a second core to run on, and a document of at least
    :data:`_PIPE_MIN_BYTES` (a thread is not worth it for a few blocks); never inside :func:`one_core`.

    The worker's blocks are larger, for fewer hand-overs between the threads (measured: 512 KB blocks
    read the 100k serve document in 0.19 s of wall time, 128 KB ones in 0.21 s), but at least eight
    per document, so that parsing and reading overlap for most of it."""
    if _PIPE_MIN_BYTES is None or not _WORKER_THREAD.get() or _cores() < 2:
        return None
    size = _size_of(source)
    if size is not None and size < _PIPE_MIN_BYTES:
        return None
    return min(_BLOCK * _PIPE_BLOCKS, max(_BLOCK, (size or 0) // 8))


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


def _size_of(source: Source) -> int | None:
    """The bytes left to read in ``source`` (compressed, for gzip), or None if unknown."""
    if isinstance(source, bytes | bytearray | memoryview):
        return len(source)
    try:
        if isinstance(source, str | os.PathLike):
            return os.stat(source).st_size
        stream: Any = source
        if not stream.seekable():
            return None
        here = stream.tell()
        end = stream.seek(0, io.SEEK_END)
        stream.seek(here)
        return int(end - here)
    except (AttributeError, OSError, TypeError, ValueError, io.UnsupportedOperation):
        return None


def _skip_rows(runs: Iterator[list[Any]], skip: int) -> Iterator[list[Any]]:
    """``runs`` without their first ``skip`` cue points (already delivered)."""
    for run in runs:
        n = len(run[_TYPE_SLOT])
        if skip >= n:
            skip -= n
            continue
        if skip:
            run = [column[skip:] for column in run]
            skip = 0
        yield run


def _compiled() -> Any:
    """The compiled module, in the functions only called when it is there."""
    assert _speedups is not None
    return _speedups


def _context() -> Any:
    return _compiled().Context(
        _SPECS,
        _ANSWER_SPECS,
        _CUSTOM_SPECS,
        _as_float,
        _read_custom_data,
        _slow_element,
        etree.tostring,
        voc.CUSTOM_DATA_XML_KEY,
        voc.OPTIONAL_ANSWER_ITEM.encode(),
    )


def _tree_columns(source: Source) -> Iterator[list[Any]]:
    """The compiled harvest of lxml's tree: lxml's push parser builds the tree a block at a time,
    ``_speedups.harvest`` copies finished cue points into column buffers, then they are deleted."""
    speedups = _compiled()
    with open_source(source) as stream:
        parser = scenes_parser()
        seen: list[bytes] = []  # bytes fed before <scenes> started, for handing over to iter_rows
        root = None
        index = 0
        ctx = _context()
        run = speedups.Run(_STORAGE)
        harvest = speedups.harvest
        progress = progress_of(stream)
        while True:
            block = stream.read(_BLOCK)
            try:
                push(parser, block)
                if root is None:
                    root = document_root(parser)
                    if root is not None:
                        ctx.set_root(root)
            except etree.XMLSyntaxError as exc:
                if root is None:
                    seen.append(block)
                    _hand_over(stream)
                    yield from _columns_from_rows(iter_rows(cast(IO[bytes], _Prefixed(b"".join(seen), stream))))
                    return
                harvest(root, ctx, run, index + len(run), False)
                if len(run):
                    yield run.arrays()
                raise syntax_error(exc, index + len(run)) from None
            if root is None:
                seen.append(block)
                if not block or sum(map(len, seen)) > _PROLOG_LIMIT:  # no plain <scenes> root: the slow path
                    _hand_over(stream)
                    yield from _columns_from_rows(iter_rows(cast(IO[bytes], _Prefixed(b"".join(seen), stream))))
                    return
                continue
            seen.clear()
            try:
                consumed, _ = harvest(root, ctx, run, index + len(run), not block)
            except XMLFormatError:
                if len(run):  # the cue points before the bad one, as iter_rows would have yielded them
                    yield run.arrays()
                raise
            if consumed:
                progress(index + len(run) - 1, root[consumed - 1].sourceline)
                del root[:consumed]
            for _ in parser.read_events():  # <scenes> nested in custom metadata: not the root
                pass
            if len(run) >= _RUN or (not block and len(run)):
                index += len(run)
                after = speedups.Run(_STORAGE)
                columns = run.arrays(after)  # ``after`` takes the run's buffers (no new ones per run)
                run = after
                yield columns
            if not block:
                return


def _hand_over(stream: Any) -> None:
    """The stream goes on to :func:`iter_rows`, whose own :class:`Budget` counts from here."""
    if isinstance(stream, Budget):
        stream.unbounded()


def _columns_from_rows(rows: Iterator[tuple[_TypePlan, list[Any]]], size: int = 4096) -> Iterator[list[Any]]:
    columns: list[list[Any]] = [[] for _ in COLUMN_NAMES]
    try:
        for plan, row in rows:
            for values, value in zip(columns, _full_row(plan, row), strict=True):
                values.append(value)
            if len(columns[0]) >= size:
                yield columns
                columns = [[] for _ in COLUMN_NAMES]
    except XMLFormatError:
        if columns[0]:  # the cue points before the bad one, as the compiled path delivers them
            yield columns
        raise
    if columns[0]:
        yield columns

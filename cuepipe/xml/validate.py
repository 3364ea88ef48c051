"""Validation against the server-equivalent XSDs, streaming, with errors a person can act on.

A first pass parses a block at a time and validates the cue points finished so far with libxml2's
tree validator, then drops them, so memory stays flat. Only if that pass finds a problem does a
second pass validate each cue point element on its own, which yields line numbers, the record index
and the element path for every error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, cast

from lxml import etree

from .. import vocabulary as voc
from ..errors import XMLFormatError
from ._source import (
    _PROLOG_LIMIT,
    PARSER_OPTIONS,
    Source,
    document_root,
    open_source,
    progress_of,
    push,
    refuse_dtd,
    scenes_parser,
    source_name,
    syntax_error,
)
from .schemas import load_schema

_SCENE_TAGS = tuple(voc.BY_ELEMENT)


@dataclass(frozen=True)
class ValidationIssue:
    """One problem: where it is (line, column, 0-based record index, element path) and what is wrong."""

    message: str
    line: int | None = None
    column: int | None = None
    record: int | None = None
    element: str | None = None

    def __str__(self) -> str:
        where = []
        if self.line:
            where.append(f"line {self.line}")
        if self.record is not None:
            where.append(f"record {self.record}")
        if self.element:
            where.append(self.element)
        return (", ".join(where) + ": " if where else "") + self.message


@dataclass
class ValidationReport:
    """The outcome of :func:`validate`. ``ok`` is true when there are no errors."""

    kind: voc.Kind
    source: str
    records: int = 0
    errors: list[ValidationIssue] = field(default_factory=list)
    truncated: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        if self.ok:
            return f"{self.source}: valid {self.kind} document, {self.records} cue points"
        lines = [f"{self.source}: invalid {self.kind} document ({len(self.errors)} errors)"]
        lines += [f"  {e}" for e in self.errors]
        if self.truncated:
            lines.append("  ... more errors not shown")
        return "\n".join(lines)

    def raise_for_errors(self) -> None:
        """Raise :class:`XMLFormatError` describing the first error, if any."""
        if self.errors:
            e = self.errors[0]
            more = f" (and {len(self.errors) - 1} more)" if len(self.errors) > 1 else ""
            raise XMLFormatError(e.message + more, line=e.line, column=e.column, record=e.record)


_ATTRIBUTE = re.compile(r"^Element '([^']*)', attribute '([^']*)': (.*)$", re.S)
_ELEMENT = re.compile(r"^Element '([^']*)': (.*)$", re.S)
_EXPECTED = re.compile(r"Expected is (?:one of )?\( (.*) \)\.")


def _plain(message: str) -> str:
    """libxml2's message, phrased for a person: element names as <tags>, expected names as a list."""
    message = message.strip()
    m = _ATTRIBUTE.match(message)
    if m:
        return f"attribute {m.group(2)!r} of <{m.group(1)}>: {m.group(3)}"
    m = _ELEMENT.match(message)
    if not m:
        return message
    name, rest = m.groups()
    expected = _EXPECTED.search(rest)
    names = ""
    if expected:
        names = ", ".join(f"<{n.strip()}>" for n in expected.group(1).split(",") if n.strip() != "scene-extension")
    if rest.startswith("This element is not expected"):
        return f"<{name}> is not allowed here" + (f"; expected {names}" if names else "")
    if rest.startswith("Missing child element"):
        return f"<{name}> is missing a required child; expected {names}"
    return f"<{name}>: {rest}"


def validate(source: Source, *, kind: voc.Kind = "ingest", max_errors: int = 100) -> ValidationReport:
    """Validate a cue point document against the ``kind`` schema ("ingest" or "serve").

    Streams: memory stays flat on large files. Hostile XML (DTDs, entity declarations, external
    references) is refused as an error in the report, never expanded or fetched. Returns a
    :class:`ValidationReport`; it never raises for a bad document (only for a missing file or a bad
    argument).
    """
    schema = load_schema(kind)
    report = ValidationReport(kind=kind, source=source_name(source))
    data = _rewindable(source)
    try:
        fast_ok, count = _fast_pass(data, schema)
    except XMLFormatError as exc:
        report.errors.append(ValidationIssue(exc.reason, exc.line, exc.column, exc.record, exc.element))
        return report
    report.records = count
    if fast_ok:
        return report
    _detailed_pass(data, schema, kind, report, max_errors)
    if not report.errors:
        # The streaming validator saw something the per-element pass cannot place.
        for entry in cast(Any, schema.error_log):
            report.errors.append(ValidationIssue(_plain(entry.message)))
        if not report.errors:
            report.errors.append(ValidationIssue("document is invalid"))
    return report


def _rewindable(source: Source) -> Any:
    """The detailed pass reads the source a second time; file objects must be seekable for that."""
    if hasattr(source, "read") and not isinstance(source, bytes | bytearray | memoryview):
        try:
            pos = source.tell()  # type: ignore[union-attr]
            return _Rewind(source, pos)
        except (OSError, AttributeError, ValueError):
            return source.read()
    return source


class _Rewind:
    def __init__(self, f: Any, pos: int) -> None:
        self.f, self.pos, self.name = f, pos, getattr(f, "name", "<stream>")

    def read(self, n: int = -1) -> bytes:
        return self.f.read(n)

    def rewind(self) -> _Rewind:
        self.f.seek(self.pos)
        return self


def _open(data: Any) -> Any:
    return open_source(cast(Source, data.rewind()) if isinstance(data, _Rewind) else data)


_BLOCK = 1 << 20  # bytes parsed between two validations of the cue points parsed so far


def _fast_pass(data: Any, schema: etree.XMLSchema) -> tuple[bool, int]:
    """Parse a block at a time and validate the finished cue points with libxml2's tree validator.

    After each block the document holds only the cue points parsed since the last validation (the
    last one, which the parser may still be filling, is set aside while the rest are validated),
    so memory stays flat, and tree validation is faster than libxml2's streaming validator. The
    schemas have no identity constraints or IDs, so validating the cue points block by block gives
    the verdict validating the whole document would.
    """
    count = 0
    with _open(data) as stream:
        parser = scenes_parser()
        progress = progress_of(stream)
        root = None
        seen = 0
        validated = False
        while True:
            block = stream.read(_BLOCK)
            try:
                push(parser, block)
            except etree.XMLSyntaxError as exc:
                raise syntax_error(exc, count + (_children(root) if root is not None else 0)) from None
            if root is None:
                root = document_root(parser)
                if root is None:
                    seen += len(block)
                    if not block or seen > _PROLOG_LIMIT:
                        return False, 0  # no plain <scenes> root: the detailed pass says what it is
                    continue
            for _ in parser.read_events():  # a <scenes> inside custom metadata: not the root
                pass
            last = None
            if block and len(root):
                last = root[-1]  # may be unfinished: validated with the next block
                root.remove(last)
            n = _children(root)
            if n or (not block and not validated):
                if not _schema_ok(schema, root):
                    return False, count
                validated = True
            if n:
                progress(count + n - 1, root[n - 1].sourceline)
            count += n
            del root[:]
            if last is not None:
                root.append(last)
            if not block:
                return True, count


def _schema_ok(schema: etree.XMLSchema, elem: Any) -> bool:
    """``schema.validate``, with libxml2's internal errors (it raised one on entity reference nodes)
    reported as invalid instead of escaping as a traceback."""
    try:
        return bool(schema.validate(elem))
    except etree.XMLSchemaValidateError:
        return False


def _children(root: Any) -> int:
    return int(root.xpath("count(*)"))


def _is_schema_error(exc: etree.XMLSyntaxError) -> bool:
    log: Any = exc.error_log
    last = log.last_error if log else None
    return last is not None and last.domain == etree.ErrorDomains.SCHEMASV


def _detailed_pass(
    data: Any, schema: etree.XMLSchema, kind: voc.Kind, report: ValidationReport, max_errors: int
) -> None:
    errors = report.errors
    count = 0

    def add(issue: ValidationIssue) -> bool:
        if len(errors) >= max_errors:
            report.truncated = True
            return False
        errors.append(issue)
        return True

    with _open(data) as stream:
        it = etree.iterparse(stream, events=("start", "end"), **PARSER_OPTIONS)
        progress = progress_of(stream)
        root = None
        depth = 0
        try:
            for event, elem in it:
                if event == "start":
                    depth += 1
                    if depth == 1:
                        root = elem
                        try:
                            refuse_dtd(elem)
                        except XMLFormatError as exc:
                            add(ValidationIssue(exc.reason, exc.line, exc.column, element=f"/{elem.tag}"))
                            return
                        if elem.tag != "scenes":
                            add(
                                ValidationIssue(
                                    f"the root element must be <scenes>, not <{elem.tag}>",
                                    elem.sourceline,
                                    element=f"/{elem.tag}",
                                )
                            )
                            return
                    continue
                depth -= 1
                if depth != 1:
                    continue
                # a direct child of <scenes>, complete
                path = f"/scenes/{elem.tag}[{count}]"
                if not isinstance(elem.tag, str):
                    continue
                if elem.tag not in _SCENE_TAGS:
                    ok = add(
                        ValidationIssue(
                            f"<{elem.tag}> is not a cue point element; expected one of {', '.join(_SCENE_TAGS)}",
                            elem.sourceline,
                            record=count,
                            element=path,
                        )
                    )
                elif not _schema_ok(schema, elem):
                    ok = True
                    if not len(cast(Any, schema.error_log)):  # libxml2 failed without saying why
                        ok = add(
                            ValidationIssue(
                                "the schema validator could not check this cue point (libxml2 internal error)",
                                elem.sourceline,
                                record=count,
                                element=path,
                            )
                        )
                    for entry in cast(Any, schema.error_log):
                        sub = entry.path or ""
                        sub = sub[len("/" + elem.tag) :] if sub.startswith("/" + elem.tag) else sub
                        ok = add(
                            ValidationIssue(
                                _plain(entry.message),
                                entry.line or elem.sourceline,
                                entry.column or None,
                                count,
                                path + sub,
                            )
                        )
                        if not ok:
                            break
                else:
                    ok = True
                if elem.tail and elem.tail.strip():
                    ok = (
                        add(
                            ValidationIssue(
                                "text is not allowed between cue point elements",
                                elem.sourceline,
                                record=count,
                                element="/scenes",
                            )
                        )
                        and ok
                    )
                progress(count, elem.sourceline)
                count += 1
                elem.clear(keep_tail=False)
                while elem.getprevious() is not None:
                    assert root is not None
                    del root[0]
                if not ok:
                    return
        except etree.XMLSyntaxError as exc:
            err = syntax_error(exc, count)
            add(ValidationIssue(err.reason, err.line, err.column, count))
            return
        except XMLFormatError as exc:  # a construct over the size bound (see max_record_bytes)
            add(ValidationIssue(exc.reason, exc.line, exc.column, exc.record))
            return
        if root is not None:
            if root.text and root.text.strip():
                add(ValidationIssue("text is not allowed directly inside <scenes>", root.sourceline, element="/scenes"))
            if kind == "ingest" and count == 0:
                add(
                    ValidationIssue(
                        "an ingest document needs at least one cue point element", root.sourceline, element="/scenes"
                    )
                )

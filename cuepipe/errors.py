"""Exceptions cuepipe raises. Every one names what a person needs to fix the input."""

from __future__ import annotations

from collections.abc import Hashable


class CuepipeError(Exception):
    """Base class of every error cuepipe raises on purpose."""


class CuePointValueError(CuepipeError, ValueError):
    """A record holds a value the target format cannot carry.

    ``record`` is the 0-based index of the record in the input (for a DataFrame pushed to the API,
    its index label), ``field`` the column.
    """

    def __init__(self, message: str, *, record: Hashable | None = None, field: str | None = None) -> None:
        self.record = record
        self.field = field
        self.reason = message
        where = []
        if record is not None:
            where.append(f"record {record}")
        if field is not None:
            where.append(f"field {field!r}")
        prefix = f"{', '.join(where)}: " if where else ""
        super().__init__(prefix + message)


class XMLFormatError(CuepipeError, ValueError):
    """A document could not be read: not well-formed, or content the reader cannot interpret."""

    def __init__(
        self,
        message: str,
        *,
        line: int | None = None,
        column: int | None = None,
        record: int | None = None,
        element: str | None = None,
    ) -> None:
        self.line = line
        self.column = column
        self.record = record
        self.element = element
        self.reason = message
        where = []
        if line is not None:
            where.append(f"line {line}" + (f", column {column}" if column else ""))
        if record is not None:
            where.append(f"record {record}")
        if element is not None:
            where.append(f"<{element}>")
        prefix = f"{', '.join(where)}: " if where else ""
        super().__init__(prefix + message)


class UnsafeXMLError(XMLFormatError):
    """A document uses a feature cuepipe refuses for safety: DTDs, entity declarations, external references."""


def describe_os_error(exc: OSError) -> str:
    """An operating system error as one line naming the file involved (no ``[Errno n]`` noise)."""
    text = exc.strerror or str(exc)
    for name in (exc.filename, exc.filename2):
        if name is not None and str(name) not in text:
            text = f"{name}: {text}"
    return text

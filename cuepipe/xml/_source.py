"""Opening documents safely: paths, bytes, binary file objects, gzip; DTDs refused up front.

Every parser in cuepipe reads through :func:`open_source` and :func:`parser_options`, so no code
path can resolve entities, load a DTD or touch the network.
"""

from __future__ import annotations

import gzip
import io
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any, Union

from ..errors import UnsafeXMLError, XMLFormatError

Source = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, IO[bytes]]

_GZIP_MAGIC = b"\x1f\x8b"
_PROLOG_LIMIT = 1 << 20  # a prolog longer than this is not a cue point document

# lxml parser options used everywhere: no entity expansion, no DTD, no network, default size limits.
PARSER_OPTIONS: dict[str, Any] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "dtd_validation": False,
    "huge_tree": False,
    "remove_comments": False,
}


class _Prefixed(io.RawIOBase):
    """A binary stream that first returns already-read bytes, then the rest of ``raw``."""

    def __init__(self, head: bytes, raw: IO[bytes]) -> None:
        self._head = head
        self._raw = raw

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        if self._head:
            n = min(len(b), len(self._head))
            b[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._raw.read(len(b))
        if not data:
            return 0
        n = len(data)
        b[:n] = data
        return n

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            rest = self._raw.read()
            out, self._head = self._head + rest, b""
            return out
        if self._head:
            out, self._head = self._head[:size], self._head[size:]
            return out
        return self._raw.read(size)


_MARKUP = re.compile(rb"\s*(<\?.*?\?>|<!--.*?-->)", re.S)


def _check_prolog(head: bytes, complete: bool) -> bool:
    """Scan the prolog (before the root start tag). True once the root is reached.

    Raises UnsafeXMLError on a document type declaration: cue point documents never need one, and
    DTDs are how entity-expansion and external-entity attacks arrive.
    """
    text = head
    if text.startswith(b"\xef\xbb\xbf"):
        text = text[3:]
    elif text[:2] in (b"\xff\xfe", b"\xfe\xff"):
        # UTF-16: decode what we have (an even number of bytes) and scan that.
        enc = "utf-16-le" if text[:2] == b"\xff\xfe" else "utf-16-be"
        body = text[2:]
        body = body[: len(body) - len(body) % 2]
        text = body.decode(enc, errors="replace").encode("utf-8")
    pos = 0
    while True:
        m = _MARKUP.match(text, pos)
        if m is None:
            break
        pos = m.end()
    rest = text[pos:].lstrip()
    if rest.startswith(b"<!DOCTYPE") or rest.startswith(b"<!ENTITY"):
        line = text[: len(text) - len(rest)].count(b"\n") + 1
        raise UnsafeXMLError(
            "document type declarations (DTDs) are not allowed in cue point documents; "
            "they can expand entities or fetch external files",
            line=line,
        )
    if rest.startswith(b"<") and len(rest) > 1 and rest[1:2] not in (b"?", b"!"):
        return True
    if not complete and len(rest) < 16:
        return False
    if rest.startswith(b"<!--") or rest.startswith(b"<?") or rest.startswith(b"<!"):
        return complete  # unterminated markup: let the parser report it
    return True  # text before the root: the parser reports the syntax error


def syntax_error(exc: Any, record: int | None) -> XMLFormatError:
    """An lxml syntax error as an XMLFormatError with the real cause and position.

    iterparse sometimes reports only "no element found" at line 0; the error log holds the cause.
    """
    line, column = exc.position if exc.position else (0, 0)
    msg = exc.msg or str(exc)
    last = exc.error_log.last_error if exc.error_log else None
    if (line == 0 or msg == "no element found") and last is not None:
        msg, line, column = last.message, last.line, last.column
    msg = re.sub(r"\s*\n\s*", " ", msg.strip()).replace(" ,", ",")  # libxml2 messages end in a newline
    if "premature end" in msg.lower() or (msg == "no element found" and not line):
        msg = f"the document ends before its root element is closed (truncated?): {msg}"
    return XMLFormatError(f"not well-formed XML: {msg}", line=line or None, column=column or None, record=record)


def scenes_parser() -> Any:
    """lxml's push parser with cuepipe's safe options, reporting only where a <scenes> starts."""
    from lxml import etree

    return etree.XMLPullParser(events=("start",), tag="scenes", **PARSER_OPTIONS)


def push(parser: Any, block: bytes) -> None:
    """Feed a block to a push parser; an empty block ends the document (and checks it is complete)."""
    if block:
        parser.feed(block)
    else:
        parser.close()


def document_root(parser: Any) -> Any:
    """The root element if a <scenes> start reported by ``parser`` is the root, else None."""
    for _, elem in parser.read_events():
        if elem.getparent() is None:
            return elem
    return None


def guard_stream(raw: IO[bytes]) -> IO[bytes]:
    """Return a stream equivalent to ``raw`` after refusing documents with a DTD."""
    head = b""
    while True:
        chunk = raw.read(65536)
        if not head and not chunk:
            raise XMLFormatError("the document is empty")
        head += chunk
        if _check_prolog(head, complete=not chunk):
            break
        if not chunk:
            break
        if len(head) > _PROLOG_LIMIT:
            raise XMLFormatError("no root element found in the first megabyte of the document")
    return io.BufferedReader(_Prefixed(head, raw), buffer_size=65536)  # type: ignore[arg-type]


def _peek_gzip(stream: IO[bytes]) -> tuple[bool, IO[bytes]]:
    head = stream.read(2)
    return head == _GZIP_MAGIC, io.BufferedReader(_Prefixed(head, stream), buffer_size=65536)  # type: ignore[arg-type]


def source_name(source: Source) -> str:
    if isinstance(source, str | os.PathLike):
        return os.fspath(source)
    if isinstance(source, bytes | bytearray | memoryview):
        return "<bytes>"
    return getattr(source, "name", None) or "<stream>"


@contextmanager
def open_source(source: Source) -> Iterator[IO[bytes]]:
    """Open any accepted source as a guarded binary stream (gzip detected by magic bytes)."""
    to_close: list[IO[bytes]] = []
    try:
        if isinstance(source, str | os.PathLike):
            path = os.fspath(source)
            if isinstance(path, str) and path.lstrip().startswith("<") and not os.path.exists(path):
                raise TypeError("a str source is a path; pass literal XML as bytes (e.g. text.encode())")
            raw: IO[bytes] = open(path, "rb")  # noqa: SIM115 - closed below
            to_close.append(raw)
        elif isinstance(source, bytes | bytearray | memoryview):
            raw = io.BytesIO(bytes(source))
        elif isinstance(source, io.TextIOBase):
            raise TypeError("open the file in binary mode ('rb'): cuepipe reads XML as bytes")
        elif hasattr(source, "read"):
            raw = source  # type: ignore[assignment]
        else:
            raise TypeError(f"cannot read XML from {type(source).__name__}; pass a path, bytes or a binary file object")
        is_gz, stream = _peek_gzip(raw)
        if is_gz:
            stream = gzip.GzipFile(fileobj=stream, mode="rb")  # type: ignore[assignment]
            to_close.append(stream)
        yield guard_stream(stream)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise XMLFormatError(f"cannot read {source_name(source)}: {exc}") from exc
    finally:
        for f in reversed(to_close):
            f.close()

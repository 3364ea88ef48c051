"""Opening documents safely: paths, bytes, binary file objects, gzip; DTDs refused up front.

Every parser in cuepipe reads through :func:`open_source` and :func:`parser_options`, so no code
path can resolve entities, load a DTD or touch the network.
"""

from __future__ import annotations

import codecs
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


DTD_REFUSED = (
    "document type declarations (DTDs) are not allowed in cue point documents; "
    "they can expand entities or fetch external files"
)


def refuse_dtd(elem: Any) -> None:
    """Raise UnsafeXMLError if the document ``elem`` belongs to has a document type declaration.

    Asked of the parser itself (its document info), once per document before any cue point is
    handed on, so no encoding trick that hides ``<!DOCTYPE`` from the byte scan gets past it.
    """
    tree = elem.getroottree()
    info = tree.docinfo
    if info.doctype or info.internalDTD is not None:
        root = tree.getroot()
        line = root.sourceline if root is not None else None
        where = f" (declared before the root element on line {line})" if line else ""
        raise UnsafeXMLError(DTD_REFUSED + where)


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
        if type(self._raw) in _READINTO:  # straight into the caller's buffer: one copy less
            return self._raw.readinto(b) or 0  # type: ignore[attr-defined]
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


# streams whose readinto is known to fill the buffer as read() would return the bytes (a user's
# stream may only implement read())
_READINTO = (io.BufferedReader, io.FileIO, io.BytesIO, gzip.GzipFile, _Prefixed)


_MARKUP = re.compile(rb"\s*(<\?.*?\?>|<!--.*?-->)", re.S)


# What libxml2 detects from the first four bytes (XML 1.0 appendix F), with or without a byte order mark.
_SIGNATURES: tuple[tuple[bytes, str, int], ...] = (
    (b"\x00\x00\xfe\xff", "utf-32-be", 4),
    (b"\xff\xfe\x00\x00", "utf-32-le", 4),
    (b"\xef\xbb\xbf", "utf-8", 3),
    (b"\xfe\xff", "utf-16-be", 2),
    (b"\xff\xfe", "utf-16-le", 2),
    (b"\x00\x00\x00\x3c", "utf-32-be", 0),
    (b"\x3c\x00\x00\x00", "utf-32-le", 0),
    (b"\x00\x3c\x00\x3f", "utf-16-be", 0),
    (b"\x3c\x00\x3f\x00", "utf-16-le", 0),
    (b"\x4c\x6f\xa7\x94", "cp037", 0),  # EBCDIC "<?xm"
)
_DECLARED = re.compile(rb"<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z][A-Za-z0-9._-]*)[\"']")


def _head_as_utf8(head: bytes) -> bytes:
    """The start of a document re-encoded as UTF-8, decoded the way libxml2 would decode it.

    The encoding comes from the first bytes (byte order marks, or the shape of ``<?xml`` in UTF-16,
    UCS-4 and EBCDIC), then from the XML declaration's ``encoding=``. An encoding Python does not
    know is left as is: the parser-level check (:func:`refuse_dtd`) still refuses the DTD.
    """
    encoding, skip = "utf-8", 0
    for signature, name, size in _SIGNATURES:
        if head.startswith(signature):
            encoding, skip = name, size
            break
    width = {"utf-32-be": 4, "utf-32-le": 4, "utf-16-be": 2, "utf-16-le": 2}.get(encoding, 1)
    body = head[skip:]
    body = body[: len(body) - len(body) % width]
    text = body.decode(encoding, errors="replace")
    declared = _DECLARED.match(text.encode("utf-8", errors="replace"))
    if declared and width == 1:
        name = declared.group(1).decode("ascii")
        try:
            if codecs.lookup(name).name not in ("utf-8", codecs.lookup(encoding).name):
                text = body.decode(name, errors="replace")
        except (LookupError, UnicodeError):
            pass
    return text.encode("utf-8", errors="replace")


def _check_prolog(head: bytes, complete: bool) -> bool:
    """Scan the prolog (before the root start tag). True once the root is reached.

    Raises UnsafeXMLError on a document type declaration: cue point documents never need one, and
    DTDs are how entity-expansion and external-entity attacks arrive. This early scan gives the
    line of the declaration; :func:`refuse_dtd` is the check that cannot be bypassed by an encoding.
    """
    text = _head_as_utf8(head)
    pos = 0
    while True:
        m = _MARKUP.match(text, pos)
        if m is None:
            break
        pos = m.end()
    rest = text[pos:].lstrip()
    if rest.startswith(b"<!DOCTYPE") or rest.startswith(b"<!ENTITY"):
        line = text[: len(text) - len(rest)].count(b"\n") + 1
        raise UnsafeXMLError(DTD_REFUSED, line=line)
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
    # libxml2 keeps positions in C ints: on a line of gigabytes the column wraps to a negative number
    line = line if isinstance(line, int) and line > 0 else 0
    column = column if isinstance(column, int) and 0 < column < 2**31 - 1 else 0
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
            refuse_dtd(elem)
            return elem
    return None


def guard_stream(raw: IO[bytes]) -> IO[bytes]:
    """Return a stream equivalent to ``raw`` after refusing documents with a DTD, wrapped in a
    :class:`Budget` (readers call its ``progress`` as cue points complete)."""
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
    stream = io.BufferedReader(_Prefixed(head, raw), buffer_size=65536)
    return Budget(stream, max_record_bytes())  # type: ignore[return-value]


#: Environment variable that sets :func:`max_record_bytes` (a number of bytes, e.g. ``67108864``).
MAX_RECORD_BYTES_ENV = "CUEPIPE_MAX_RECORD_BYTES"
DEFAULT_MAX_RECORD_BYTES = 16 << 20


def max_record_bytes() -> int:
    """The most document bytes read without a cue point element being completed (16 MiB by default).

    libxml2 holds an unterminated comment, CDATA section, attribute or start tag in memory until it
    ends, so a 2 MB gzip file that expands to gigabytes of one comment would otherwise need gigabytes
    of memory. No genuine cue point comes near this size (libxml2 itself refuses a text node over
    10 MB); set ``CUEPIPE_MAX_RECORD_BYTES`` to raise or lower the bound.
    """
    text = os.environ.get(MAX_RECORD_BYTES_ENV, "").strip()
    if not text:
        return DEFAULT_MAX_RECORD_BYTES
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"{MAX_RECORD_BYTES_ENV} must be a positive number of bytes, not {text!r}")
    return value


class Budget(io.RawIOBase):
    """A document stream that refuses to hand out more than ``limit`` bytes between two cue points.

    Readers call :meth:`progress` whenever a cue point element is complete; the count of bytes read
    since then is what the limit bounds (plus the blocks a reader has read ahead, at most 1 MiB),
    so memory depends on the largest single construct, never on how far a compressed document
    expands. Raised from ``read``, the error stops any parser.
    """

    def __init__(self, raw: IO[bytes], limit: int) -> None:
        self._raw = raw
        self.limit: int | None = limit
        self.total = 0  # bytes handed out
        self._since = 0  # bytes handed out since the last progress
        self._record = 0  # cue points completed (the index of the one being read)
        self._line: int | None = None  # line of the last complete cue point

    def readable(self) -> bool:
        return True

    def progress(self, record: int, line: int | None = None) -> None:
        """A cue point (0-based ``record`` was the last) is complete: the count starts again."""
        self._since = 0
        self._record = record + 1
        if line:
            self._line = line

    def unbounded(self) -> None:
        """Stop counting (the stream is handed to a reader that applies its own budget)."""
        self.limit = None

    def _count(self, n: int) -> None:
        # checked before adding this read: a reader's block (at most 1 MiB) may straddle the bound
        if self.limit is not None and self._since > self.limit:
            where = f" after the cue point ending on line {self._line}" if self._line else ""
            raise XMLFormatError(
                f"more than {self.limit} bytes of the document{where} (byte {self.total - self._since} onwards) "
                "hold no complete cue point: a comment, CDATA section, attribute, tag or element this large "
                f"is refused to bound memory (a compression bomb?); set {MAX_RECORD_BYTES_ENV} to allow more",
                record=self._record,
            )
        self.total += n
        self._since += n

    def readinto(self, b: Any) -> int:
        self._count(0)
        n = self._raw.readinto(b) or 0  # type: ignore[attr-defined]
        self._count(n)
        return n

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            chunks = []
            while chunk := self.read(1 << 20):
                chunks.append(chunk)
            return b"".join(chunks)
        self._count(0)
        data = self._raw.read(size)
        self._count(len(data))
        return data


def progress_of(stream: Any) -> Any:
    """The ``progress`` callback of a stream from :func:`open_source` (a no-op for other streams)."""
    return stream.progress if isinstance(stream, Budget) else _no_progress


def _no_progress(record: int, line: int | None = None) -> None:
    pass


def _peek_gzip(stream: IO[bytes]) -> tuple[bool, IO[bytes]]:
    head = stream.read(2)
    return head == _GZIP_MAGIC, io.BufferedReader(_Prefixed(head, stream), buffer_size=65536)


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
            raw = source
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

"""Byte-level splitting of one cue point document into blocks that parse on their own.

``cuepipe.dask.read_xml(blocksize=...)`` reads a large uncompressed document as many partitions:
each task reads only its own byte range, finds where the first cue point of its block starts and
where the next block's first one starts, and parses that range wrapped in the file's own prolog and
``<scenes>`` start tag. Nothing here parses XML: it finds likely element boundaries in bytes, and the
reader (which parses the assembled block) proves them. A boundary that fell somewhere else (inside a
comment, CDATA section or custom metadata that looks like a start tag) makes the block not
well-formed, so it fails loudly instead of losing or duplicating a cue point.
"""

from __future__ import annotations

import os
import re
from typing import IO, Literal, NamedTuple

from .. import vocabulary as voc
from ..errors import XMLFormatError
from ._source import MAX_RECORD_BYTES_ENV, max_record_bytes

_SCENE_ELEMENTS = tuple(voc.BY_ELEMENT)
# The start tag of a cue point element: where a block may begin. Nested elements (scene-customData,
# tags, ...) never match; a match inside a comment, CDATA section or custom metadata is caught below.
_SYNC = re.compile(b"<(?:" + b"|".join(re.escape(e.encode()) for e in _SCENE_ELEMENTS) + rb")[\s/>]")
_SYNC_KEEP = max(len(e) for e in _SCENE_ELEMENTS) + 2
_AFTER_END_TAG = re.compile(b"</(?:" + b"|".join(re.escape(e.encode()) for e in _SCENE_ELEMENTS) + rb")\s*>\s*\Z")
_LOOKBACK = 256
_PROLOG_ITEM = re.compile(rb"\s*(?:<\?.*?\?>|<!--.*?-->)", re.S)
_ROOT_START = re.compile(rb"\s*<scenes(?=[\s/>])(?:[^>\"']|\"[^\"]*\"|'[^']*')*>", re.S)
_HEAD_LIMIT = 1 << 20
_READ_STEP = 1 << 16
_GZIP_MAGIC = b"\x1f\x8b"


def root_end(head: bytes) -> int | None:
    """Offset just after the ``<scenes ...>`` start tag, or None when the document cannot be split by bytes.

    Byte splitting needs an ASCII-compatible encoding and a root with content; anything else (gzip,
    UTF-16, a DTD, ``<scenes/>``, a root not found in the head) is read whole by one task, so the
    reader reports any problem exactly as :func:`cuepipe.read_xml` would.
    """
    if head.startswith(_GZIP_MAGIC):
        return None
    pos = 3 if head.startswith(b"\xef\xbb\xbf") else 0
    while True:
        m = _PROLOG_ITEM.match(head, pos)
        if m is None:
            break
        pos = m.end()
    m = _ROOT_START.match(head, pos)
    if m is None or m.group().endswith(b"/>"):
        return None
    return m.end()


def find_start(f: IO[bytes], offset: int) -> int | None:
    """File offset of the first likely top-level cue point start tag at or after ``offset``; None if none.

    "Likely": the tag follows the end tag of a cue point (whitespace between), as in every document
    cuepipe or the server writes. That skips look-alikes in comments and CDATA sections and keeps
    blocks from failing needlessly; it cannot prove the tag is top level (a comment may hold both
    tags), which is why each block is parsed as a document of its own (:func:`block_document`),
    which checks both its boundaries. Skipping a real start tag is harmless: the block just grows.
    Deterministic in ``offset``, so the two tasks that share a boundary agree on it.
    """
    begin = max(0, offset - _LOOKBACK)
    f.seek(begin)
    buf_start = begin
    buf = f.read(_READ_STEP + offset - begin)
    limit = max_record_bytes()
    while buf:
        for m in _SYNC.finditer(buf):
            if buf_start + m.start() >= offset and _AFTER_END_TAG.search(buf, max(0, m.start() - _LOOKBACK), m.start()):
                return buf_start + m.start()
        chunk = f.read(_READ_STEP)
        if not chunk:
            return None
        if buf_start + len(buf) - offset > limit:  # one construct beyond the reader's bound: stop scanning
            raise XMLFormatError(
                f"more than {limit} bytes after byte {offset} hold no cue point start tag: a comment, CDATA "
                f"section, attribute or element this large is refused to bound memory; set {MAX_RECORD_BYTES_ENV} "
                "to allow more"
            )
        carry = buf[-(_LOOKBACK + _SYNC_KEEP) :]
        buf_start += len(buf) - len(carry)
        buf = carry + chunk
    return None


def read_head(f: IO[bytes]) -> bytes:
    head = f.read(_READ_STEP)
    while head and root_end(head) is None and len(head) < _HEAD_LIMIT and not head.startswith(_GZIP_MAGIC):
        more = f.read(_READ_STEP)
        if not more:
            break
        head += more
    return head


class BlockDocument(NamedTuple):
    """The cue points whose start tag lies in one byte block, as a document of their own."""

    text: bytes  # prolog and <scenes> of the file (blocks after the first), the block, </scenes> (before the last)
    begin: int  # file offset of the first cue point taken
    stop: int  # file offset where the block's bytes end


def block_document(
    f: IO[bytes], block: int, start: int, next_start: int | None
) -> BlockDocument | Literal["whole"] | None:
    """Block ``block`` of the file (bytes ``start``..``next_start``, to the end when None) as a document.

    Returns ``"whole"`` when the file cannot be split by bytes (see :func:`root_end`): block 0 must
    read it whole and the others are empty (None). None also when no cue point starts in the block.
    """
    head = read_head(f)
    end_of_root = root_end(head)
    if end_of_root is None:
        return "whole" if block == 0 else None
    f.seek(0, os.SEEK_END)
    size = f.tell()
    begin = 0 if block == 0 else find_start(f, max(start, end_of_root))
    end = None if next_start is None else find_start(f, max(next_start, end_of_root))
    if begin is None or (end is not None and end <= begin):
        return None
    stop = size if end is None else end
    if next_start is not None:
        # a block may run past its end only to the next cue point; a longer run is one construct beyond
        # the reader's bound (max_record_bytes), and would be read into memory whole
        limit = max_record_bytes()
        if stop - max(begin, next_start) > limit:
            raise XMLFormatError(
                f"more than {limit} bytes after byte {next_start} hold no cue point start tag: a comment, "
                "CDATA section, attribute or element this large is refused to bound memory; "
                f"set {MAX_RECORD_BYTES_ENV} to allow more"
            )
    f.seek(begin)
    body = f.read(stop - begin)
    # Blocks after the first get the file's own prolog and root start tag (namespace declarations,
    # encoding); blocks before the last get the closing tag. If a boundary is not between two
    # top-level elements, the block before it is not well-formed and fails.
    text = (head[:end_of_root] if block else b"") + body + (b"" if end is None else b"</scenes>")
    return BlockDocument(text, begin, stop)

# Types of the compiled core (cuepipe/xml/_speedups.pyx and its .pxi parts), for the type checker.
# Tuples are laid out as the named tuples of cuepipe/xml/_layout.py (checked by tests/test_speedups_layout.py).

from collections.abc import Callable, Sequence
from typing import Any

from lxml import etree

CODES: dict[str, dict[str, int]]
LAYOUTS: dict[str, dict[str, int]]
COLUMN_SLOTS: dict[str, int]

class Run:
    """Column buffers for a run of cue points (one storage code per column: _layout.Storage)."""

    def __init__(self, kinds: Sequence[int], capacity: int = 1024) -> None: ...
    def __len__(self) -> int: ...
    def arrays(self, nxt: Run | None = None) -> list[Any]: ...
    def append_row(self, row: list[Any]) -> None: ...

class Context:
    def __init__(
        self,
        specs: dict[bytes, tuple[Any, ...]],
        answer_fields: dict[bytes, tuple[Any, ...]],
        custom_attrs: dict[bytes, tuple[Any, ...]],
        as_float: Callable[[str], float],
        custom: Callable[..., Any],
        slow: Callable[[Any, str | None, int], list[Any]],
        tostring: Callable[..., Any],
        xml_key: str,
        answer_item: bytes,
    ) -> None: ...
    def set_root(self, root: etree._Element) -> None: ...

def harvest(root: etree._Element, ctx: Context, run: Run, index: int, final: bool) -> tuple[int, int]: ...
def render_block(
    columns: list[list[Any]],
    types: list[Any],
    specs: dict[Any, tuple[Any, ...]],
    fallback: Callable[[Any, tuple[Any, ...], int], str],
    first: int,
    serve: bool,
) -> bytes: ...
def records_to_columns(
    records: list[Any],
    positions: dict[str, int],
    type_key: str,
    allowed: dict[Any, frozenset[str]],
    allowed_for: Callable[[Any, int], frozenset[str] | None],
    first: int,
    missing: tuple[Any, Any],
) -> tuple[list[list[Any]], list[Any], int]: ...

#: Whether the tree-free reader can run (libxml2's push parser was found in lxml's module).
SAX: bool

class SaxReader:
    """The tree-free reader: libxml2's SAX2 callbacks fill ``run``; it stops (``aborted``) on
    anything it does not read itself, and never raises a reader error."""

    run: Run
    records: int
    line: int
    aborted: bool
    def __init__(self, ctx: Context, kinds: list[int], capacity: int = 1024) -> None: ...
    def feed(self, block: bytes) -> bool: ...
    def take(self) -> list[Any]: ...

class SaxPipe:
    """``reader`` fed by libxml2 running in a worker thread: ``feed`` answers as
    ``SaxReader.feed`` does, one block late."""

    reader: SaxReader
    def __init__(self, reader: SaxReader) -> None: ...
    def feed(self, block: bytes) -> bool: ...
    def close(self) -> None: ...

def sax_floor(data: bytes, block: int) -> bool: ...

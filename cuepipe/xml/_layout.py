"""The Python side of the compiled core (``_speedups``): loading it, and the integer codes and tuple
layouts it shares with the Python reader and writer.

:func:`load_speedups` is the one place that decides whether the compiled core is used: not in a
pure-Python build (``CUEPIPE_NO_EXTENSIONS=1`` at install time), and not when
``CUEPIPE_NO_EXTENSIONS=1`` is set at run time, which makes the Python side ignore a built extension
(``make test`` runs the reader and writer tests that way too, so the pure-Python path stays tested).

The compiled reader and writer take their tables as plain tuples and switch on small integers, for
speed. Both sides must agree on what each number means and where each field sits in a tuple; they
are defined here for Python, and in ``_speedups_codes.pxi`` for Cython (which needs them as
compile-time constants). The extension exports its constants as ``_speedups.CODES`` and
``_speedups.LAYOUTS``, and ``tests/test_speedups_layout.py`` checks them against these classes, so
a change on one side without the other fails a test rather than silently mis-reading a column.

The Python side builds every tuple it hands over through these named tuples (then ``tuple(...)``:
the compiled code takes exact tuples), so field order is never written twice.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Callable
from types import ModuleType
from typing import Any, NamedTuple

#: The environment variable that asks for pure Python, at build time and at run time.
NO_EXTENSIONS = "CUEPIPE_NO_EXTENSIONS"


def load_speedups() -> ModuleType | None:
    """The compiled core, or None when it is not built or ``CUEPIPE_NO_EXTENSIONS=1`` says not to use it."""
    if os.environ.get(NO_EXTENSIONS) == "1":
        return None
    try:
        from . import _speedups
    except ImportError:  # a pure-Python build
        return None
    return _speedups


# ------------------------------------------------------------------------------------------------
# integer codes
# ------------------------------------------------------------------------------------------------


class ValueKind(enum.IntEnum):
    """How an element's text becomes a value (the reader's ``_code``; numbered by frequency)."""

    STR = 0
    TIME = 1
    INT = 2
    FLOAT = 3
    TAGS = 4
    ANSWERS = 5
    CUSTOM = 6


class Storage(enum.IntEnum):
    """How the compiled reader's ``Run`` stores a column."""

    STR = 0
    INT = 1
    FLOAT = 2
    OBJ = 3


class StepKind(enum.IntEnum):
    """What one step of the compiled writer writes (``writer._fast_spec``)."""

    END_OF_ATTRIBUTES = -1
    ATTR = 0
    STR = 1
    TIME = 2
    ENUM = 3
    PY = 4
    TAGS = 5
    ANSWERS = 6
    CUSTOM = 7


class AnswerKind(enum.IntEnum):
    """The value type of one field of a quiz answer, for the compiled writer."""

    TEXT = 0
    FLOAT = 1
    INT = 2


# ------------------------------------------------------------------------------------------------
# tuple layouts: reader
# ------------------------------------------------------------------------------------------------


class ReadChild(NamedTuple):
    """A child element of a cue point: the column slot and the :class:`ValueKind` of its text."""

    slot: int
    kind: int


class ReadSpec(NamedTuple):
    """One cue point element, for ``_speedups.Context``: attribute name -> slot, child name -> ReadChild."""

    key: str
    api_type: bytes
    attrs: dict[bytes, int]
    children: dict[bytes, tuple[int, ...]]  # ReadChild tuples


class ReadAnswer(NamedTuple):
    """A field of a quiz answer: its column and :class:`ValueKind`."""

    column: str
    kind: int


class ReadCustomAttr(NamedTuple):
    """An attribute of ``<customData>``: its column and whether it holds an integer."""

    column: str
    is_int: bool


# ------------------------------------------------------------------------------------------------
# tuple layouts: writer
# ------------------------------------------------------------------------------------------------


class WriteStep(NamedTuple):
    """One field of a cue point element as the compiled writer writes it."""

    kind: int  # StepKind
    pos: int  # the column, -1 for none
    required: bool
    open: bytes
    close: bytes
    empty: bytes  # the element written for an empty string
    max_length: int  # -1: no limit
    aux: Any  # enum table, TagsMarkup, AnswersAux, CustomAux or the Python step, by kind


class WriteSpec(NamedTuple):
    """One bound cue point type: what opens and closes its element, its steps, its choice groups."""

    open: bytes
    close: bytes
    steps: list[tuple[Any, ...]]  # WriteStep tuples
    choices: list[tuple[int, ...]]  # column positions of which at most one may be set


class BoundSpec(NamedTuple):
    """A value of ``render_block``'s ``specs``: the Python renderer's bound plan and its WriteSpec."""

    bound: Any
    spec: tuple[Any, ...]


class TagsMarkup(NamedTuple):
    open: bytes  # opens the list and the first tag
    separator: bytes  # closes a tag and opens the next
    close: bytes  # closes the last tag and the list


class AnswerField(NamedTuple):
    column: str
    kind: int  # AnswerKind
    open: bytes
    close: bytes


class AnswerMarkup(NamedTuple):
    list_open: bytes
    item_open: bytes
    item_close: bytes
    list_close: bytes


class AnswersAux(NamedTuple):
    fields: tuple[tuple[Any, ...], ...]  # AnswerField tuples
    markup: tuple[bytes, ...]  # AnswerMarkup


class CustomAttr(NamedTuple):
    column: str
    name: bytes  # ' name="'
    is_int: bool
    required: bool


class CustomAux(NamedTuple):
    attrs: tuple[tuple[Any, ...], ...]  # CustomAttr tuples
    known: frozenset[str]
    checked: Callable[[str], str]  # validates and canonicalizes one metadata document
    xml_key: str
    open: bytes
    close: bytes


CODES: dict[str, type[enum.IntEnum]] = {c.__name__: c for c in (ValueKind, Storage, StepKind, AnswerKind)}
LAYOUTS: dict[str, type[tuple[Any, ...]]] = {
    c.__name__: c
    for c in (
        ReadChild,
        ReadSpec,
        ReadAnswer,
        ReadCustomAttr,
        WriteStep,
        WriteSpec,
        BoundSpec,
        TagsMarkup,
        AnswerField,
        AnswerMarkup,
        AnswersAux,
        CustomAttr,
        CustomAux,
    )
}

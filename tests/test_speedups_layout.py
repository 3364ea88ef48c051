"""The compiled core and the Python side agree on their integer codes and tuple layouts.

``cuepipe/xml/_layout.py`` defines them for Python; ``_speedups_codes.pxi`` for the extension, which
exports what it was compiled with (``CODES``, ``LAYOUTS``, ``COLUMN_SLOTS``). A mismatch would make
the compiled reader or writer read the wrong field, so it is checked here, not by comments.
"""

from __future__ import annotations

import os

import pytest

from cuepipe.xml import _layout, reader, writer

speedups = pytest.importorskip(
    "cuepipe.xml._speedups",
    reason="pure-Python build: no compiled core to check",
)
pytestmark = pytest.mark.skipif(os.environ.get("CUEPIPE_NO_EXTENSIONS") == "1", reason="pure-Python run")


@pytest.mark.parametrize("name", sorted(_layout.CODES))
def test_integer_codes_agree(name: str) -> None:
    assert {m.name: int(m) for m in _layout.CODES[name]} == speedups.CODES[name]


@pytest.mark.parametrize("name", sorted(_layout.LAYOUTS))
def test_tuple_layouts_agree(name: str) -> None:
    assert {field: i for i, field in enumerate(_layout.LAYOUTS[name]._fields)} == speedups.LAYOUTS[name]


def test_nothing_is_defined_on_one_side_only() -> None:
    assert set(speedups.CODES) == set(_layout.CODES)
    assert set(speedups.LAYOUTS) == set(_layout.LAYOUTS)


def test_the_type_column_is_where_the_compiled_reader_writes_it() -> None:
    assert {c: reader.COLUMN_NAMES.index(c) for c in speedups.COLUMN_SLOTS} == speedups.COLUMN_SLOTS


def test_python_side_builds_its_tables_from_the_layouts() -> None:
    """The tables handed to the extension have the shapes the layouts describe (exact tuples)."""
    spec = next(iter(reader._SPECS.values()))
    assert type(spec) is tuple and len(spec) == len(_layout.ReadSpec._fields)
    read = _layout.ReadSpec(*spec)
    assert all(type(c) is tuple and len(c) == len(_layout.ReadChild._fields) for c in read.children.values())
    assert {_layout.ReadChild(*c).kind for c in read.children.values()} <= {int(k) for k in _layout.ValueKind}
    assert set(reader._STORAGE) <= {int(s) for s in _layout.Storage}
    for field in writer._ANSWER_SPEC:
        assert type(field) is tuple and _layout.AnswerField(*field).kind in {int(k) for k in _layout.AnswerKind}

"""A push's planning: the shortcuts for the common case give what the general planning gives.

``plan_uploads`` skips the ordering of families (a question before its answers) for an entry where no
cue point names a parent on it, and ``make_items`` reads plain text values and cue point types by a
short path. Each is checked here against the general code or the rule it keeps, on any input
hypothesis finds.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from cuepipe import vocabulary as voc
from cuepipe.client import _plan
from cuepipe.client._plan import Item, Upload, make_items, plan_uploads, text_or_none
from cuepipe.errors import CuePointValueError


def _general(items: list[Item], chunk_size: int) -> list[Upload]:
    """plan_uploads without the shortcut: every entry through the ordering and the families."""
    _plan._check_ids(items)
    groups: dict[str, list[Item]] = {}
    for item in items:
        groups.setdefault(item.entry_id, []).append(item)
    uploads: list[Upload] = []
    for entry, group in groups.items():
        by_name = _plan._check_unique(group, entry)
        ordered = _plan._order(group, by_name)
        rank = {item.position: i for i, item in enumerate(ordered)}
        current: list[Item] = []
        for family in _plan._families(ordered, by_name):
            if current and len(current) + len(family) > chunk_size:
                uploads.append(Upload(len(uploads) + 1, entry, sorted(current, key=lambda it: rank[it.position])))
                current = []
            current.extend(family)
        if current:
            uploads.append(Upload(len(uploads) + 1, entry, sorted(current, key=lambda it: rank[it.position])))
    return uploads


def _shape(uploads: list[Upload]) -> list[tuple[int, str, list[int]]]:
    return [(u.number, u.entry_id, [item.position for item in u.items]) for u in uploads]


_NAMES = st.sampled_from(["q1", "q2", "a1", "a2", "a3", "x", "é"])


@st.composite
def _items(draw: Any) -> list[Item]:
    n = draw(st.integers(0, 14))
    items = []
    used: set[tuple[str, str]] = set()
    for position in range(n):
        entry = draw(st.sampled_from(["0_a", "0_b", "0_c"]))
        name = draw(st.none() | _NAMES)
        if name is not None and (entry, name) in used:
            name = None  # systemNames are unique per entry (that check has its own tests)
        if name is not None:
            used.add((entry, name))
        parent = draw(st.none() | _NAMES | st.just("missing"))
        items.append(Item(position, position, {}, "quiz.Answer", entry, name, None, parent))
    return items


@settings(max_examples=300, deadline=None)
@given(_items(), st.integers(1, 5))
def test_plan_uploads_gives_what_the_general_planning_gives(items: list[Item], chunk_size: int) -> None:
    try:
        expected = _shape(_general(items, chunk_size))
    except CuePointValueError as exc:  # a cycle of parents: both must refuse it the same way
        try:
            plan_uploads(items, chunk_size)
        except CuePointValueError as got:
            assert str(got) == str(exc)
            return
        raise AssertionError("plan_uploads accepted what the general planning refuses") from exc
    assert _shape(plan_uploads(items, chunk_size)) == expected


def test_plan_uploads_shortcut_keeps_input_order_and_chunks() -> None:
    items = [Item(i, i, {}, "annotation.Annotation", "0_a" if i % 3 else "0_b", f"n{i}", None, None) for i in range(10)]
    assert _shape(plan_uploads(items, 3)) == [
        (1, "0_b", [0, 3, 6]),
        (2, "0_b", [9]),
        (3, "0_a", [1, 2, 4]),
        (4, "0_a", [5, 7, 8]),
    ]


class _Text(str):
    pass


_VALUES = st.one_of(
    st.none(),
    st.just(""),
    st.text(max_size=5),
    st.integers(-5, 5),
    st.floats(allow_nan=True),
    st.just(pd.NA),
    st.just(pd.NaT),
    st.just(_Text("sub")),
    st.just(_Text("")),
)


@settings(max_examples=300, deadline=None)
@given(_VALUES)
def test_text_or_none_keeps_text_and_drops_what_is_missing(value: Any) -> None:
    got = text_or_none(value)
    missing = value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value))
    if missing or (isinstance(value, str) and value == ""):
        assert got is None
    elif isinstance(value, str):
        assert got is value  # text, a subclass of str too, is kept as it is
    else:
        assert got == str(value) and type(got) is str


@given(st.sampled_from([t.api_type.value for t in voc.TYPES] + [t.name for t in voc.TYPES] + ["nope", "", None, 3]))
def test_type_of_is_the_vocabulary_lookup(value: Any) -> None:
    try:
        want: str | None = voc.type_info(value).api_type.value
    except KeyError:
        want = None
    assert _plan._type_of(value) == want


def test_make_items_reads_plain_and_unusual_values_alike() -> None:
    records: list[dict[str, Any]] = [
        {
            "entryId": "0_a",
            "cuePointType": "annotation.Annotation",
            "systemName": "s",
            "id": "",
            "parentSystemName": None,
        },
        {
            "entryId": "0_a",
            "cuePointType": "scene-annotation",
            "systemName": 7,
            "id": math.nan,
            "parentSystemName": "p",
        },
        {"entryId": _Text("0_b"), "cuePointType": "nope", "systemName": pd.NA},
    ]
    items = make_items([10, 11, 12], records)
    assert [(i.row, i.type, i.entry_id, i.system_name, i.id, i.parent_name) for i in items] == [
        (10, "annotation.Annotation", "0_a", "s", None, None),
        (11, "annotation.Annotation", "0_a", "7", None, "p"),
        (12, None, "0_b", None, None, None),
    ]


def test_make_items_still_refuses_a_missing_or_non_text_entry() -> None:
    for entry, message in ((None, "entryId is required"), ("", "entryId is required"), (5, "expected text")):
        try:
            make_items([0], [{"entryId": entry}])
        except CuePointValueError as exc:
            assert message in str(exc)
        else:
            raise AssertionError(f"entryId {entry!r} was accepted")

"""The emulator's shortcuts (issue 13, target 4) against the code they replace.

Each shortcut is compared with the straightforward version it stands for: the integer time
arithmetic with the PHP float arithmetic, the per-class cue point plan with filling every property
through ``cue_point_value``, row decoding with ``dict(row)``, and ids drawn once with ids drawn
character by character (same alphabet, length and prefix).
"""

from __future__ import annotations

import re
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from cuepipe import vocabulary as voc
from cuepipe.emulator import objects
from cuepipe.emulator.classes import properties
from cuepipe.emulator.render import _drop_nulls
from cuepipe.emulator.store import Store
from cuepipe.emulator.timecode import integer_to_time, php_round, php_time_to_integer, time_to_integer

digits = st.text("0123456789", min_size=1, max_size=5)


@st.composite
def times(draw: st.DrawFn) -> str:
    h, m, s = draw(digits), draw(digits), draw(digits)
    text = f"{h}:{m}:{s}"
    frac = draw(st.one_of(st.none(), st.text("0123456789", min_size=0, max_size=5)))
    if frac is not None:
        text += "." + frac
    return text + draw(st.sampled_from(["", "", "Z", " ", "+01:00"]))


@settings(max_examples=2000, deadline=None)
@given(st.one_of(times(), st.text(max_size=14)))
def test_time_shortcut_equals_the_php_arithmetic(text: str) -> None:
    assert time_to_integer(text) == php_time_to_integer(text)


def test_time_shortcut_edges() -> None:
    for text in ["00:00:05.0005", "9999:9999:9999.999", "0:0:0", "00:00:05.95", "1:2:3.", "12:00:00.1"]:
        assert time_to_integer(text) == php_time_to_integer(text), text


@settings(max_examples=500, deadline=None)
@given(st.integers(-(10**9), 10**10), st.booleans())
def test_integer_to_time_tenths_table_is_php_round(ms: int, bugs: bool) -> None:
    t = ms if bugs else php_round(ms / 100) * 100
    rest = t % 1000
    text = integer_to_time(ms, server_bugs=bugs)
    tenths = php_round(rest / 100)
    assert text.endswith(f".{tenths}") if tenths else "." not in text.rsplit(":", 1)[1]


def _reference_cue_point(row: dict[str, Any], cls: str | None = None) -> dict[str, Any]:
    """The object as objects.cue_point built it before its per-class plan."""
    cls = cls or voc.type_info(row["cuePointType"]).api_class
    props = properties(cls) or ()
    values = {p.name: objects.cue_point_value(row, p.name) for p in props if p.name != "relatedObjects"}
    out = {p.name: values.get(p.name) for p in props}
    out["objectType"] = cls
    return out


values = st.one_of(st.none(), st.integers(-5, 5), st.text(max_size=5), st.just("1,2"))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([t for t in voc.TYPES]), st.data())
def test_cue_point_objects_equal_the_property_by_property_build(
    info: voc.CuePointTypeInfo, data: st.DataObject
) -> None:
    props = properties(info.api_class) or ()
    row: dict[str, Any] = {p.name: data.draw(values) for p in props}
    row.update(cuePointType=info.api_type.value, startTime=data.draw(st.integers(0, 10**6)))
    if row.get("endTime") is not None and not isinstance(row["endTime"], int):
        row["endTime"] = None
    row["optionalAnswers"] = data.draw(st.one_of(st.none(), st.just([{"key": "1", "weight": 1.0}])))
    row["correctAnswerKeys"] = data.draw(st.one_of(st.none(), st.just("1,2"), st.just("")))
    for name in ("isPublic", "searchableOnEntry"):
        row[name] = data.draw(st.one_of(st.none(), st.integers(0, 1)))
    assert list(objects.cue_point(row).items()) == list(_reference_cue_point(row).items())


def _reference_drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _reference_drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_reference_drop_nulls(v) for v in value]
    return value


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=3)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=2), inner, max_size=3)),
    max_leaves=20,
)


@given(json_values)
def test_drop_nulls_equals_the_recursive_version(value: Any) -> None:
    assert _drop_nulls(value) == _reference_drop_nulls(value)


def test_decoded_rows_equal_dict_of_row() -> None:
    store = Store(":memory:")
    store.conn.execute(
        'INSERT INTO cue_points (id, partnerId, cuePointType, status, createdAt, updatedAt, "optionalAnswers") '
        "VALUES ('0_a', 1, 'x', 1, 2, 3, '[{\"key\": \"1\"}]')"
    )
    row = store.conn.execute("SELECT * FROM cue_points").fetchone()
    decoded = Store.decode_cue_point(row)
    expected = dict(row)
    expected["optionalAnswers"] = [{"key": "1"}]
    assert list(decoded.items()) == list(expected.items())
    # a plain mapping (tests hand in rows they changed) decodes as before too
    assert list(Store.decode_cue_point(dict(row)).items()) == list(expected.items())  # type: ignore[arg-type]


def test_new_ids_keep_the_server_shape() -> None:
    store = Store(":memory:", data_center=1)
    ids = {store.new_id("cue_points") for _ in range(2000)}
    assert len(ids) == 2000
    assert all(re.fullmatch(r"1_[a-z0-9]{8}", i) for i in ids)
    # every character position uses the whole alphabet
    for pos in range(2, 10):
        assert len({i[pos] for i in ids}) == 36


@given(st.text(alphabet=st.sampled_from(list("ab&<>\"\n\r\t'é ")), max_size=12) | st.text(max_size=12))
def test_serve_escapes_equal_the_replace_chains(value: str) -> None:
    from cuepipe.emulator.serve import escape_attr, escape_text

    text = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    attr = (
        value.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("\n", "&#10;")
        .replace("\r", "&#13;")
        .replace("\t", "&#9;")
    )
    assert escape_text(value) == text
    assert escape_attr(value) == attr

"""Numbers in the tree-free reader: the answers' ``<weight>`` (the one float field).

``_speedups._float`` converts plain decimal and exponent notation itself, with the function
Python's ``float()`` calls, and hands everything else (whitespace, underscores, ``inf``, ``nan``,
anything invalid) to the pure reader's conversion. Whatever the text, a read must give what the
pure-Python reader gives: the same float (bit for bit, sign of zero included) or the same error.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import cuepipe
from cuepipe.xml import reader

from .test_speedups import doc, outcome, slow_frame

pytestmark = [
    pytest.mark.usefixtures("sax_feed"),
    pytest.mark.skipif(
        reader._speedups is None or not reader._speedups.SAX, reason="the compiled tree-free reader is not in this run"
    ),
]


def question(weight: str) -> bytes:
    return doc(
        '<scene-question-cue-point entryId="e"><sceneStartTime>00:00:01</sceneStartTime><question>q</question>'
        f"<optionalAnswers><optionalAnswer><key>1</key><weight>{weight}</weight></optionalAnswer>"
        "</optionalAnswers></scene-question-cue-point>"
    )


def weight_of(source: bytes):
    got = outcome(lambda s: cuepipe.read_xml(s), source)
    if isinstance(got, tuple):
        return got
    return got["optionalAnswers"].iloc[0][0]["weight"]


def same_weight(text: str) -> None:
    source = question(text)
    fast = weight_of(source)
    slow = outcome(slow_frame, source)
    if isinstance(slow, tuple):
        assert fast == slow
        return
    want = slow["optionalAnswers"].iloc[0][0]["weight"]
    assert isinstance(fast, float)
    assert fast == want or (math.isnan(fast) and math.isnan(want))
    assert math.copysign(1, fast) == math.copysign(1, want)


NUMBER_CHARS = st.text(alphabet="0123456789.eE+-", min_size=1, max_size=45)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.one_of(
        st.floats(allow_nan=False).map(repr),
        st.floats(allow_nan=False).map(lambda f: f"{f:.17e}"),
        st.floats(allow_nan=False, allow_infinity=False).map(lambda f: f"{f:f}"),
        st.integers(-(10**30), 10**30).map(str),
        NUMBER_CHARS,
        st.text(alphabet="0123456789.eE+-_ \t\ninfaINFA", min_size=0, max_size=12),
    )
)
@example("1.5")
@example("-0.0")
@example("1e999")
@example("-1e999")
@example("4.9e-324")
@example("1e-400")
@example(" 1.5 ")
@example("1_0.5")
@example("inf")
@example("nan")
@example("1.2.3")
@example("e5")
@example("-")
@example("1" * 40)
@example("1" * 41)
@example("0." + "3" * 38)
def test_weights_read_as_the_pure_reader_reads_them(text):
    same_weight(text)


def test_repeated_short_values_are_one_object_and_equal_to_the_pure_readers():
    """Answer parts and custom metadata attributes that repeat share one ``str`` (_Strings); the
    values are the pure reader's, however many distinct ones there are (more than the table holds)."""
    answers = "".join(
        f"<optionalAnswer><key>{i % 1500}</key><text>{'T' if i % 2 else 'F'}{'é' * (i % 40)}</text></optionalAnswer>"
        for i in range(3000)
    )
    source = doc(
        '<scene-question-cue-point entryId="e"><sceneStartTime>00:00:01</sceneStartTime><question>q</question>'
        f"<optionalAnswers>{answers}</optionalAnswers></scene-question-cue-point>"
    )
    fast = cuepipe.read_xml(source)["optionalAnswers"].iloc[0]
    slow = slow_frame(source)["optionalAnswers"].iloc[0]
    assert list(fast) == list(slow)
    assert fast[1]["text"] is fast[41]["text"]  # the same "Té": decoded once

"""Value codecs: time codes, tags, enums, characters — exhaustively where the domain allows."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cuepipe import vocabulary as voc
from cuepipe.values import (
    DAY_MS,
    enum_lookup,
    find_bad_xml_char,
    format_serve_time,
    format_time,
    is_missing,
    parse_time,
    round_to_tenths,
    server_time_text,
    split_tags,
    to_milliseconds,
)
from cuepipe.xml.reader import _as_time


def test_every_millisecond_of_the_first_minute_and_the_last_minute_round_trips():
    for ms in [*range(0, 60_000), *range(DAY_MS - 60_000, DAY_MS)]:
        text = format_time(ms)
        assert parse_time(text) == ms
        assert _as_time(text) == ms  # the reader's fast path agrees with the general parser


@given(st.integers(0, DAY_MS - 1))
def test_any_time_round_trips(ms):
    assert parse_time(format_time(ms)) == ms


def test_format_time_shapes():
    assert format_time(0) == "00:00:00"
    assert format_time(5_300) == "00:00:05.300"
    assert format_time(DAY_MS - 1) == "23:59:59.999"
    for bad in (-1, DAY_MS, 90_061_000):
        with pytest.raises(ValueError, match="xs:time"):
            format_time(bad)


# docs/format-notes.md#time-values: what the server's integerToTime writes
SERVER_TABLE = [
    (0, "00:00:00"),
    (49, "00:00:00"),
    (50, "00:00:00.1"),
    (149, "00:00:00.1"),
    (5_300, "00:00:05.3"),
    (1_250, "00:00:01.3"),
    (5_949, "00:00:05.9"),
    (5_950, "00:00:05.10"),
    (5_999, "00:00:05.10"),
    (86_400_000, "24:00:00"),
    (90_061_000, "25:01:01"),
    (360_000_000, "100:00:00"),
]


@pytest.mark.parametrize("ms, text", SERVER_TABLE)
def test_server_time_text_reproduces_the_server(ms, text):
    assert server_time_text(ms) == text


def test_serve_times_round_half_away_from_zero_and_carry():
    assert round_to_tenths(1_250) == 1_300
    assert round_to_tenths(1_249) == 1_200
    assert format_serve_time(5_950) == "00:00:06"
    assert format_serve_time(59_999) == "00:01:00"
    with pytest.raises(ValueError, match="rounds to"):
        format_serve_time(DAY_MS - 50)


@given(st.integers(0, DAY_MS - 51))
def test_serve_time_reads_back_as_the_rounded_value(ms):
    assert parse_time(format_serve_time(ms)) == round_to_tenths(ms)


def test_parse_time_follows_the_server_reader():
    assert parse_time("00:00:05.0005") == 5_001
    assert parse_time("00:00:05.123456") == 5_123
    assert parse_time("00:00:05.10") == 5_100  # the .10 bug reads back as 100 ms, as on the server
    assert parse_time(" 01:02:03.45 ") == 3_723_450
    for bad in ("00:00:05Z", "00:00:05+02:00", "5", "aa:bb:cc", "", "00:00"):
        with pytest.raises(ValueError):
            parse_time(bad)


def test_to_milliseconds():
    assert to_milliseconds(5) == 5
    assert to_milliseconds(np.int32(7)) == 7
    assert to_milliseconds(5.0) == 5
    assert to_milliseconds(dt.timedelta(minutes=1, milliseconds=2)) == 60_002
    assert to_milliseconds(np.timedelta64(3, "s")) == 3_000
    for bad, exc in [
        (True, TypeError),
        ("5", TypeError),
        (5.5, ValueError),
        (float("nan"), ValueError),
        (dt.timedelta(microseconds=1), ValueError),
    ]:
        with pytest.raises(exc):
            to_milliseconds(bad)


def test_tags():
    assert split_tags("") == []
    assert split_tags("a,b c, d") == ["a", "b c", " d"]  # verbatim, no trimming (as the server stores them)
    assert split_tags(["a", "b"]) == ["a", "b"]
    for bad in ("a,,b", ",", "x" * 31):
        with pytest.raises(ValueError):
            split_tags(bad)
    with pytest.raises(ValueError, match="comma"):
        split_tags(["a,b"])
    with pytest.raises(TypeError):
        split_tags(5)


def test_enum_lookup_accepts_values_names_and_members():
    table = enum_lookup(voc.AdProtocolType)
    for spelling in ("2", 2, "VAST_2_0", "vast_2_0", voc.AdProtocolType.VAST_2_0):
        assert table[spelling] == "2"
    sub = enum_lookup(voc.ThumbCuePointSubType)
    assert sub[2] == sub["CHAPTER"] == sub["2"] == "2"


def test_missing_and_characters():
    import pandas as pd

    assert all(is_missing(v) for v in (None, pd.NA, pd.NaT, float("nan"), np.float64("nan")))
    assert not any(is_missing(v) for v in ("", 0, [], "NA"))
    assert find_bad_xml_char("fine \t\n\r é 𝄞") == -1
    assert find_bad_xml_char("a\x00b") == 1
    assert find_bad_xml_char("\ufffe") == 0
    assert find_bad_xml_char("\ud800") == 0

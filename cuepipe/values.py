"""Value codecs: times, tags, enums and missing values. Pure functions, no XML here.

Times are integer milliseconds everywhere in cuepipe; only this module turns them into ``xs:time``
text (``HH:MM:SS.mmm``) and back, following the server's own arithmetic (docs/format-notes.md#time-values).
"""

from __future__ import annotations

import datetime as _dt
import enum
import functools
import math
import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

DAY_MS = 86_400_000
_NA = pd.NA
_NAT = pd.NaT


def is_missing(value: object) -> bool:
    """None, pandas NA/NaT and float NaN all mean 'no value'."""
    return value is None or value is _NA or value is _NAT or (isinstance(value, float) and value != value)


def is_missing_cell(value: object) -> bool:
    """:func:`is_missing` for a cell that may hold a list, tuple, array or dict (never missing)."""
    return not isinstance(value, list | tuple | np.ndarray | dict) and is_missing(value)


#: Types :func:`plain` returns as they are (exact types: no subclasses, no NumPy scalars).
PLAIN_SCALARS = frozenset({str, int, float, bool})


def plain(value: object, *, tuple_as_list: bool = False) -> object:
    """NumPy scalars and arrays -> Python values (what users and JSON expect), inside lists and dicts
    too; a dict leaves out its missing values. ``tuple_as_list``: tuples become lists as well.

    Plain ``str``/``int``/``float``/``bool`` values, and dicts and lists of them (the answers and
    custom data of a cue point, as they usually are), take a short path: frames of 100k cue points
    hold hundreds of thousands of them."""
    kind = type(value)
    if kind in PLAIN_SCALARS:
        return value
    if kind is dict:
        out = {}
        for k, x in value.items():  # type: ignore[attr-defined]
            inner = type(x)
            if inner is str or inner is int or inner is bool:
                out[k] = x
            elif x is not None and not is_missing_cell(x):
                out[k] = plain(x, tuple_as_list=tuple_as_list)
        return out
    if kind is list:
        return [x if type(x) in PLAIN_SCALARS else plain(x, tuple_as_list=tuple_as_list) for x in value]  # type: ignore[attr-defined]
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray):
        return [plain(x, tuple_as_list=tuple_as_list) for x in value.tolist()]
    if isinstance(value, list) or (tuple_as_list and isinstance(value, tuple)):
        return [plain(x, tuple_as_list=tuple_as_list) for x in value]
    if isinstance(value, dict):
        return {k: plain(x, tuple_as_list=tuple_as_list) for k, x in value.items() if not is_missing_cell(x)}
    return value


# ------------------------------------------------------------------------------------------------
# times
# ------------------------------------------------------------------------------------------------


def to_milliseconds(value: object) -> int:
    """Coerce a time value to integer milliseconds.

    Accepts ints (Python or NumPy), floats holding a whole number, ``datetime.timedelta`` and
    ``pandas.Timedelta``. Raises ``TypeError``/``ValueError`` with a plain message otherwise.
    """
    if isinstance(value, bool):
        raise TypeError("expected integer milliseconds, got a boolean")
    if isinstance(value, np.timedelta64):  # before np.integer: NumPy makes it a subclass of signedinteger
        return to_milliseconds(pd.Timedelta(value))
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        if not math.isfinite(value) or value != int(value):
            raise ValueError(f"expected whole milliseconds, got {value!r}")
        return int(value)
    if isinstance(value, _dt.timedelta):  # includes pandas.Timedelta
        us = (value.days * 86_400 + value.seconds) * 1_000_000 + value.microseconds
        if isinstance(value, pd.Timedelta) and value.nanoseconds:
            raise ValueError(f"time {value} has sub-millisecond precision")
        if us % 1000:
            raise ValueError(f"time {value} has sub-millisecond precision")
        return us // 1000
    raise TypeError(f"expected integer milliseconds, got {type(value).__name__} {value!r}")


def format_time(ms: int) -> str:
    """Milliseconds -> ``xs:time`` with millisecond precision; the fraction is left out when zero.

    Only 0 <= ms < 24 h can be written: ``xs:time`` has no room for more, and the server would
    reject a wrapped value as something else.
    """
    if ms < 0 or ms >= DAY_MS:
        raise ValueError(f"time {ms} ms is outside what xs:time can carry (0 to 23:59:59.999, i.e. < {DAY_MS} ms)")
    clock, millis, _ = _clock_tables()
    s, frac = divmod(ms, 1000)
    return clock[s] + millis[frac]


@functools.cache
def _clock_tables() -> tuple[list[str], list[str], list[str]]:
    """``HH:MM:SS`` for every second of a day, and the ``.mmm`` / ``.d`` suffixes (empty for zero).

    Writers format millions of times; two list lookups beat arithmetic and string formatting.
    Built on first use (about 5 MB).
    """
    clock = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(DAY_MS // 1000)]
    millis = [""] + [f".{f:03d}" for f in range(1, 1000)]
    tenths = [""] + [f".{d}" for d in range(1, 10)]
    return clock, millis, tenths


def round_to_tenths(ms: int) -> int:
    """Round milliseconds to the nearest tenth of a second, half away from zero (the server's ``round``)."""
    return (ms + 50) // 100 * 100 if ms >= 0 else -((-ms + 50) // 100 * 100)


def format_serve_time(ms: int) -> str:
    """Milliseconds -> ``xs:time`` as ``serveBulk`` writes it: tenths of a second at most.

    Unlike the real server (docs/format-notes.md#time-values) a remainder of 950-999 ms carries into the next second
    instead of producing the ``.10`` bug, so what cuepipe writes always means what it says.
    """
    if ms < 0:
        raise ValueError(f"time {ms} ms is negative")
    rounded = round_to_tenths(ms)
    if rounded >= DAY_MS:
        raise ValueError(f"time {ms} ms rounds to {rounded} ms, outside what xs:time can carry (< {DAY_MS} ms)")
    clock, _, tenths = _clock_tables()
    s, frac = divmod(rounded, 1000)
    return clock[s] + tenths[frac // 100]


_TIME_RE = re.compile(r"\s*(\d+):(\d+):(\d+)(?:\.(\d*))?\s*")


def parse_time(text: str) -> int:
    """``xs:time`` text -> integer milliseconds, as the server's ``kXml::timeToInteger`` reads it.

    Fractions are rounded half away from zero to whole milliseconds (``00:00:05.0005`` -> 5001), and
    ``SS.10`` is 10.1 s: that is how the server itself reads the ``.10`` values its serve writer
    emits for 950-999 ms remainders (docs/format-notes.md#time-values). A time-zone suffix is refused: the server
    turns such a time into null.
    """
    m = _TIME_RE.fullmatch(text)
    if m is None:
        raise ValueError(f"{text!r} is not a time of the form HH:MM:SS[.fff] (time zones are not supported)")
    h, mi, s, frac = m.groups()
    ms = int(h) * 3_600_000 + int(mi) * 60_000 + int(s) * 1000
    if frac:
        ms += int(frac[:3].ljust(3, "0"))
        if len(frac) > 3 and frac[3] >= "5":
            ms += 1
    return ms


def server_time_text(ms: int) -> str:
    """Exactly what the server's ``kXml::integerToTime`` writes, bugs included (docs/format-notes.md#time-values).

    Tenths at most; the remainder 950-999 ms gives ``.10``; hours are not wrapped; negative input
    produces the server's garbage. Used where byte-for-byte fidelity to the server is the point.
    """
    h = math.floor(ms / 3_600_000)
    rest = ms - h * 3_600_000
    m = math.floor(rest / 60_000)
    rest -= m * 60_000
    s = math.floor(rest / 1000)
    d = _php_round((rest % 1000) / 100)
    text = f"{h:02d}:{m:02d}:{s:02d}"
    return f"{text}.{d}" if d else text


def _php_round(x: float) -> int:
    return int(math.floor(x + 0.5)) if x >= 0 else -int(math.floor(-x + 0.5))


# ------------------------------------------------------------------------------------------------
# tags
# ------------------------------------------------------------------------------------------------

TAG_MAX_LENGTH = 30


def split_tags(value: object) -> list[str]:
    """Comma-joined tags (or a list of tags) -> list of tag strings, verbatim (no trimming).

    An empty string means no tags. An empty piece (``"a,,b"``) is an error: the server would drop it,
    so writing it would silently change the data.
    """
    if isinstance(value, str):
        if value == "":
            return []
        pieces = value.split(",")
    elif isinstance(value, Iterable) and not isinstance(value, bytes | dict):
        pieces = list(value)
        for p in pieces:
            if not isinstance(p, str):
                raise TypeError(f"tags must be strings, got {type(p).__name__} {p!r}")
            if "," in p:
                raise ValueError(f"tag {p!r} contains a comma, which the server uses to join tags")
    else:
        raise TypeError(f"tags must be a comma-joined string or a list of strings, got {type(value).__name__}")
    for i, p in enumerate(pieces):
        if p == "":
            raise ValueError(f"tag {i + 1} of {value!r} is empty; the server would drop it")
        if len(p) > TAG_MAX_LENGTH:
            raise ValueError(f"tag {p!r} is {len(p)} characters; the format allows {TAG_MAX_LENGTH}")
    return pieces


def join_tags(tags: Iterable[str]) -> str:
    """List of tags -> the comma-joined string the API stores."""
    return ",".join(tags)


# ------------------------------------------------------------------------------------------------
# enums
# ------------------------------------------------------------------------------------------------


def enum_lookup(enum_cls: type[enum.Enum]) -> dict[object, str]:
    """Every spelling a user may give for an enum member -> the text the XML carries.

    Values (``"1"`` or ``1``), member names in any case (``"VAST_2_0"``, ``"vast_2_0"``) and the members
    themselves are accepted.
    """
    table: dict[object, str] = {}
    for member in enum_cls:
        text = str(member.value)
        table[member.value] = text
        table[text] = text
        table[member.name] = text
        table[member.name.lower()] = text
        if isinstance(member.value, str) and member.value.isdigit():
            table[int(member.value)] = text
    return table


# ------------------------------------------------------------------------------------------------
# characters
# ------------------------------------------------------------------------------------------------

# Characters XML 1.0 cannot hold (not even as character references), plus lone surrogates.
_BAD_XML_CHARS = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def find_bad_xml_char(text: str) -> int:
    """Index of the first character XML 1.0 cannot carry, or -1."""
    m = _BAD_XML_CHARS.search(text)
    return -1 if m is None else m.start()


def describe_char(ch: str) -> str:
    return f"U+{ord(ch):04X}"

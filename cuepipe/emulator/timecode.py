"""The server's time arithmetic: ``kXml::timeToInteger`` and ``kXml::integerToTime`` (docs/format-notes.md#time-values).

Written independently of ``cuepipe.values`` on purpose: the emulator must disagree with cuepipe's
client-side codec wherever cuepipe gets the server wrong.
"""

from __future__ import annotations

import math
import re
from decimal import ROUND_HALF_UP, Decimal

# PHP is_numeric: optional surrounding whitespace, sign, digits with optional fraction, exponent.
_PHP_NUMERIC = re.compile(r"^[ \t\n\r\v\f]*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?[ \t\n\r\v\f]*$")


def php_round(value: float) -> int:
    """PHP 5.3-8.3 ``round()``: pre-round to 15 significant digits, then half away from zero.

    The pre-rounding is what makes ``00:00:05.0005`` give 5001 ms although 5.0005 * 1000 is
    5000.4999... in binary floating point (docs/format-notes.md#time-values, verified on PHP 8.2).
    """
    if not math.isfinite(value):
        raise ValueError("not a finite number")
    pre = Decimal(format(value, ".15g"))
    return int(pre.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _php_intval(text: str) -> int:
    match = re.match(r"\s*([+-]?\d+)", text)
    return int(match.group(1)) if match else 0


# ``H:M:S[.fff]`` with short ASCII parts: the PHP float arithmetic below gives exactly the integer
# milliseconds here (the total stays far below 15 significant digits), so it is computed as integers.
_SHORT_TIME = re.compile(r"([0-9]{1,4}):([0-9]{1,4}):([0-9]{1,4})(?:\.([0-9]{1,3}))?", re.ASCII)


def time_to_integer(text: str) -> int | None:
    """``kXml::timeToInteger``: ``HH:MM:SS.fff`` -> milliseconds, or None when a part is not numeric.

    A time-zone suffix (``00:00:05Z``) is valid ``xs:time`` but makes the seconds part non-numeric,
    so the server gets null here (docs/format-notes.md#time-values). Short plain times take an
    integer shortcut (checked equal to the PHP arithmetic in tests/test_emulator_speed_paths.py).
    """
    short = _SHORT_TIME.fullmatch(text)
    if short is not None:
        h, m, sec, frac = short.groups()
        return int(h) * 3_600_000 + int(m) * 60_000 + int(sec) * 1000 + (int(frac.ljust(3, "0")) if frac else 0)
    return php_time_to_integer(text)


def php_time_to_integer(text: str) -> int | None:
    """The PHP arithmetic of ``kXml::timeToInteger`` for any text (what the shortcut must equal)."""
    parts = text.split(":")
    if not _PHP_NUMERIC.match(parts[0]):
        return None
    total: float = _php_intval(parts[0]) * 3_600_000
    if len(parts) > 1:
        if not _PHP_NUMERIC.match(parts[1]):
            return None
        total += _php_intval(parts[1]) * 60_000
        if len(parts) > 2:
            if not _PHP_NUMERIC.match(parts[2]):
                return None
            total += float(parts[2].strip()) * 1000
    return php_round(total)


def integer_to_time(ms: int | None, *, server_bugs: bool = True) -> str:
    """``kXml::integerToTime``: milliseconds -> ``HH:MM:SS[.t]`` with tenths of a second at most.

    With ``server_bugs`` the remainder 950-999 ms is written as ``.10`` (ten tenths), exactly as the
    server does; without it the value is first rounded to the nearest 100 ms so the carry reaches the
    seconds (``00:00:05.95`` -> ``00:00:06``). Null is written as ``00:00:00``; negative input gives
    the same garbage the PHP arithmetic gives (floor division).
    """
    t = int(ms or 0)
    if not server_bugs:
        t = php_round(t / 100) * 100
    hours, rest = divmod(t, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, rest = divmod(rest, 1000)
    tenths = _TENTHS[rest]
    text = f"{hours:02d}:{minutes:02d}:{seconds:02d}"
    if tenths:
        text += f".{tenths}"
    return text


#: ``php_round(rest / 100)`` for every millisecond remainder 0-999 (computed by it, once).
_TENTHS: tuple[int, ...] = tuple(php_round(r / 100) for r in range(1000))

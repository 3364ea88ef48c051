"""Time remapping for copies to edited media: a shift, and the segments of the source the target kept.

``keep=[(start_ms, end_ms), ...]`` lists, in order, the parts of the source media that the target
media consists of (a trim keeps one segment, cutting a middle part keeps two). A source time ``t``
inside kept segment *i* (``start_i <= t < end_i``) lands at ``offset_i + (t - start_i)``, where
``offset_i`` is the total length of the segments before it; then ``shift_ms`` is added.

* a cue point whose start lies in a cut part is dropped (reported, never silently);
* one whose start lands before 0 after the shift is dropped too;
* an end time is clipped to the end of the segment its start lies in (a chapter running into a cut
  part now ends where the kept part ends), then mapped and shifted like a start.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..errors import CuepipeError


class TimeMapError(CuepipeError, ValueError):
    """Segments or a shift that do not describe an edit (overlapping, reversed, unparsable)."""


@dataclass(frozen=True)
class Mapped:
    """Where a cue point goes: ``start``/``end`` in target time, or ``dropped`` with the reason."""

    start: int | None
    end: int | None
    dropped: str | None = None
    clipped: bool = False


class TimeMap:
    """``shift_ms`` plus optional kept segments; :meth:`map` moves one cue point."""

    def __init__(self, shift_ms: int = 0, keep: Iterable[tuple[int, int]] | None = None) -> None:
        if isinstance(shift_ms, bool) or not isinstance(shift_ms, int):
            raise TimeMapError(f"shift_ms must be an int (milliseconds), not {shift_ms!r}")
        self.shift = shift_ms
        segments = [(int(a), int(b)) for a, b in keep] if keep is not None else None
        if segments is not None:
            if not segments:
                raise TimeMapError("keep needs at least one (start_ms, end_ms) segment")
            previous_end = -1
            for a, b in segments:
                if a < 0 or b <= a:
                    raise TimeMapError(f"segment {a}-{b} ms: a segment needs 0 <= start < end")
                if a < previous_end:
                    raise TimeMapError(f"segment {a}-{b} ms overlaps or precedes the one before it")
                previous_end = b
        self.segments = segments
        self._starts = [a for a, _ in segments] if segments else []
        offsets, total = [], 0
        for a, b in segments or ():
            offsets.append(total)
            total += b - a
        self._offsets = offsets

    @property
    def identity(self) -> bool:
        return self.shift == 0 and self.segments is None

    def map(self, start: int, end: int | None = None) -> Mapped:
        if self.identity:
            return Mapped(start, end)
        clipped = False
        if self.segments is not None:
            i = bisect.bisect_right(self._starts, start) - 1
            if i < 0 or start >= self.segments[i][1]:
                return Mapped(None, None, dropped=f"starts at {_fmt(start)}, inside a part the target media cut")
            seg_start, seg_end = self.segments[i]
            new_start = self._offsets[i] + start - seg_start
            new_end = None
            if end is not None:
                if end > seg_end:
                    end, clipped = seg_end, True
                new_end = self._offsets[i] + max(end, seg_start) - seg_start
        else:
            new_start, new_end = start, end
        new_start += self.shift
        if new_start < 0:
            return Mapped(None, None, dropped=f"starts at {_fmt(start)}: before the target's start after the shift")
        if new_end is not None:
            new_end += self.shift
        return Mapped(new_start, new_end, clipped=clipped)


def _fmt(ms: int) -> str:
    seconds, millis = divmod(ms, 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}.{millis:03d}" if hours else f"{minutes}:{seconds:02d}.{millis:03d}"


_DURATION = re.compile(r"^\s*(-?)(\d+(?:\.\d+)?)\s*(ms|s|m|min|h)?\s*$")


def parse_duration_ms(text: str) -> int:
    """``1500ms``, ``1.5s``, ``-2s``, ``3m``, ``1h``, or a clock ``1:02:03.5``/``-0:01`` -> milliseconds."""
    raw = text.strip()
    if ":" in raw:
        negative = raw.startswith("-")
        return (-1 if negative else 1) * parse_clock_ms(raw.lstrip("-"))
    m = _DURATION.match(raw)
    if not m:
        raise TimeMapError(f"not a duration: {text!r} (write e.g. 1500ms, 1.5s, 2m, 1:30)")
    minus, number, unit = m.groups()
    factor = {"ms": 1, None: 1, "s": 1000, "m": 60_000, "min": 60_000, "h": 3_600_000}[unit]
    if unit is None and "." in number:
        raise TimeMapError(f"not a duration: {text!r} (milliseconds are whole; add a unit such as s)")
    value = round(float(number) * factor)
    return -value if minus else value


def parse_clock_ms(text: str) -> int:
    """``5:00``, ``1:02:03``, ``7:30.250`` -> milliseconds."""
    parts = text.strip().split(":")
    if not 1 <= len(parts) <= 3 or any(p.strip() == "" for p in parts):
        raise TimeMapError(f"not a time: {text!r} (write e.g. 7:30 or 1:02:03.5)")
    try:
        seconds = float(parts[-1])
        whole = [int(p) for p in parts[:-1]]
    except ValueError:
        raise TimeMapError(f"not a time: {text!r} (write e.g. 7:30 or 1:02:03.5)") from None
    if seconds < 0 or any(w < 0 for w in whole) or (len(parts) > 1 and seconds >= 60):
        raise TimeMapError(f"not a time: {text!r}")
    total = 0
    for w in whole:
        total = total * 60 + w
    return round((total * 60 + seconds) * 1000)


def parse_segments(text: str) -> list[tuple[int, int]]:
    """``0:00-5:00,7:30-20:00`` -> ``[(0, 300000), (450000, 1200000)]`` (checked by :class:`TimeMap`)."""
    out: list[tuple[int, int]] = []
    for part in text.split(","):
        if not part.strip():
            continue
        bounds = part.split("-")
        if len(bounds) != 2:
            raise TimeMapError(f"not a segment: {part.strip()!r} (write START-END, e.g. 0:00-5:00)")
        out.append((_time(bounds[0]), _time(bounds[1])))
    TimeMap(0, out)
    return out


def _time(text: str) -> int:
    return parse_clock_ms(text) if ":" in text else parse_duration_ms(text)


def check_segments(keep: Sequence[tuple[int, int]] | None) -> None:
    TimeMap(0, keep)

"""Interchange formats beyond Kaltura's own: WebVTT, SRT, YouTube chapters, FFmpeg metadata,
OpenTimelineIO, Podcasting 2.0 chapters and VMAP.

Every ``read_<fmt>`` returns the typed DataFrame of :func:`cuepipe.read_xml`; every
``write_<fmt>`` takes records or a DataFrame and returns a :class:`LossReport` counting, per cue
point type and field, the values the format could not carry (``strict=True`` raises instead).
Which cue points are chapters and slides: :mod:`cuepipe.formats.conventions`. What each format
carries: ``docs/formats.md``. Needs the ``formats`` extra (``pip install 'cuepipe[formats]'``)
for WebVTT, SRT and OpenTimelineIO; the others are plain text, JSON or XML.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ._common import FormatLossError, FormatReadError, LossReport
from .conventions import DEFAULT as DEFAULT_CONVENTIONS
from .conventions import Conventions
from .ffmeta import read_ffmeta, write_ffmeta
from .otio import read_otio, write_otio
from .podcast import read_podcast, write_podcast
from .srt_format import read_srt, write_srt
from .vmap import read_vmap, write_vmap
from .vtt import read_vtt, write_vtt
from .youtube import check_rules, read_youtube, write_youtube


@dataclass(frozen=True)
class FormatInfo:
    """One interchange format: its name (``--to``), file name endings, reader and writer."""

    name: str
    extensions: tuple[str, ...]
    read: Callable[..., Any]
    write: Callable[..., LossReport]
    chapters: bool  # a chapter format: takes duration=, conventions=, one entry per file


FORMATS: dict[str, FormatInfo] = {
    f.name: f
    for f in (
        FormatInfo("vtt", (".vtt",), read_vtt, write_vtt, True),
        FormatInfo("srt", (".srt",), read_srt, write_srt, False),
        FormatInfo("youtube", (".youtube.txt",), read_youtube, write_youtube, True),
        FormatInfo("ffmeta", (".ffmeta", ".ffmetadata"), read_ffmeta, write_ffmeta, True),
        FormatInfo("otio", (".otio",), read_otio, write_otio, False),
        FormatInfo("podcast", (".chapters.json",), read_podcast, write_podcast, False),
        FormatInfo("vmap", (".vmap",), read_vmap, write_vmap, False),
    )
}


def format_for_path(path: str) -> FormatInfo | None:
    """The interchange format a file name ends with (longest ending first), or None."""
    lower = path.lower()
    matches = [(len(ext), f) for f in FORMATS.values() for ext in f.extensions if lower.endswith(ext)]
    return max(matches, key=lambda m: m[0])[1] if matches else None


__all__ = [
    "DEFAULT_CONVENTIONS",
    "FORMATS",
    "Conventions",
    "FormatInfo",
    "FormatLossError",
    "FormatReadError",
    "LossReport",
    "check_rules",
    "format_for_path",
    "read_ffmeta",
    "read_otio",
    "read_podcast",
    "read_srt",
    "read_vmap",
    "read_vtt",
    "read_youtube",
    "write_ffmeta",
    "write_otio",
    "write_podcast",
    "write_srt",
    "write_vmap",
    "write_vtt",
    "write_youtube",
]

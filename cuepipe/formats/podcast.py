"""Podcasting 2.0 JSON chapters (``application/json+chapters``, version 1.2.0).

Chapters become ``{"startTime": seconds, "endTime": seconds, "title": ...}`` entries. Slides
(thumb cue points of sub-type SLIDE) become silent entries (``"toc": false``) that show an image:
``img`` is the slide's picture where a URL is known, from ``image_url`` (a template such as
``"https://cdn.example.com/p/123/thumbAsset/{assetId}.jpg"`` filled from the record's fields, or a
function of the record). A slide without a known URL is still written, without ``img``. Times are
seconds with millisecond fractions, so they read back exactly. System names, descriptions, tags
and the entry id have no place in the format and are counted as lost.
"""

from __future__ import annotations

import json
import math
import string
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

from ..tabular import TableOptions
from . import _common as c
from .conventions import DEFAULT, Conventions

VERSION = "1.2.0"
ImageUrl = str | Callable[[Mapping[str, Any]], str | None] | None


def _image(image_url: ImageUrl, record: Mapping[str, Any]) -> str | None:
    if image_url is None:
        return None
    if callable(image_url):
        return image_url(record)
    names = {f for _, f, _, _ in string.Formatter().parse(image_url) if f}
    if any(record.get(n) in (None, "") for n in names):
        return None  # the URL needs a value this record does not have
    return image_url.format(**{n: record[n] for n in names})


def _seconds(ms: int) -> int | float:
    return ms // 1000 if ms % 1000 == 0 else ms / 1000


def write_podcast(
    data: c.Data,
    dest: c.Dest = None,
    *,
    image_url: ImageUrl = None,
    title: str | None = None,
    conventions: Conventions | None = None,
    strict: bool = False,
    options: TableOptions | None = None,
) -> c.LossReport:
    """Write chapters and slides as Podcasting 2.0 JSON chapters; return the loss report."""
    conv = conventions or DEFAULT
    records = c.to_records(data, options)
    report = c.LossReport("Podcasting 2.0 chapters")
    c.single_entry(records, "Podcasting 2.0 chapters")
    chapters = c.select_chapters(records, report, conv, roles=("chapter", "slide"))
    items = []
    for ch in chapters:
        item: dict[str, Any] = {"startTime": _seconds(ch.start)}
        if ch.title:
            item["title"] = ch.title
        has_end = ch.end is not None and ch.end >= ch.start
        if has_end:
            assert ch.end is not None
            item["endTime"] = _seconds(ch.end)
        if ch.role == "slide":
            item["toc"] = False
            url = _image(image_url, ch.record)
            if url:
                item["img"] = url  # the picture, for players; reading gives no assetId back
        c.account_chapter(report, ch, conv, end=has_end, entry=False)
        items.append(item)
    report.written = len(items)
    doc: dict[str, Any] = {"version": VERSION}
    if title is not None:
        doc["title"] = title
    doc["chapters"] = items
    payload = json.dumps(doc, ensure_ascii=False, indent=2) + "\n"
    return c.finish(report, payload.encode("utf-8"), dest, strict=strict)


def read_podcast(source: c.Source, *, entry: str | None = None, conventions: Conventions | None = None) -> pd.DataFrame:
    """Read Podcasting 2.0 JSON chapters: ``toc: false`` entries are slides, the rest chapters."""
    conv = conventions or DEFAULT
    try:
        doc = json.loads(c.read_source(source))
    except json.JSONDecodeError as exc:
        raise c.FormatReadError(f"not JSON: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("chapters"), list):
        raise c.FormatReadError('not Podcasting 2.0 chapters: expected an object with a "chapters" list')
    records = []
    for n, item in enumerate(doc["chapters"]):
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("startTime"), int | float)
            or isinstance(item.get("startTime"), bool)
        ):
            raise c.FormatReadError(f"chapter {n}: needs a numeric startTime (seconds)")
        start = _ms(item["startTime"], n)
        end = _ms(item["endTime"], n) if isinstance(item.get("endTime"), int | float) else None
        slide = item.get("toc") is False  # a silent marker: cuepipe writes slides so
        records.append(
            conv.chapter_record(
                start=start,
                end=end,
                title=str(item.get("title", "")),
                entry=entry,
                role="slide" if slide else "chapter",
            )
        )
    return c.records_frame(records)


def _ms(seconds: float, n: int) -> int:
    if not math.isfinite(seconds) or seconds < 0:
        raise c.FormatReadError(f"chapter {n}: {seconds!r} is not a time")
    return round(seconds * 1000)

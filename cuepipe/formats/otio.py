"""OpenTimelineIO: cue points as markers on a timeline, lossless both ways.

Every cue point becomes a marker on the timeline's top-level stack: its range is the cue point's
start and length (milliseconds, rate 1000), its name the title (or text, name, code, question), and
its metadata holds the whole record under ``metadata["cuepipe"]``, so reading the file gives back
exactly what was written, for every type. Markers written by other tools (without that metadata)
are read as chapters (see :mod:`.conventions`), from the stack, its tracks and their clips, in
timeline time. Uses the ``opentimelineio`` package (the ``formats`` extra).
"""

from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd

from .. import vocabulary as voc
from ..frames import NESTED_COLUMNS as NESTED
from ..tabular import TableOptions
from . import _common as c
from .conventions import DEFAULT, Conventions

KEY = "cuepipe"
_NAME_FIELDS = ("title", "text", "name", "code", "question", "answerKey", "systemName")
_COLOR = {
    voc.CuePointType.THUMB.value: "GREEN",
    voc.CuePointType.ANNOTATION.value: "YELLOW",
    voc.CuePointType.AD.value: "RED",
    voc.CuePointType.CODE.value: "CYAN",
    voc.CuePointType.QUIZ_QUESTION.value: "PURPLE",
    voc.CuePointType.QUIZ_ANSWER.value: "PINK",
    voc.CuePointType.SESSION.value: "BLUE",
}


def _otio() -> Any:
    try:
        import opentimelineio
    except ImportError:  # pragma: no cover
        raise c.MissingExtraError(
            "OpenTimelineIO needs the opentimelineio package: pip install 'cuepipe[formats]'"
        ) from None
    return opentimelineio


def write_otio(
    data: c.Data,
    dest: c.Dest = None,
    *,
    name: str | None = None,
    strict: bool = False,
    options: TableOptions | None = None,
) -> c.LossReport:
    """Write every cue point as an OTIO marker (``.otio`` JSON); return the (empty) loss report."""
    otio = _otio()
    records = c.to_records(data, options)
    report = c.LossReport("OpenTimelineIO")
    entries = sorted({str(r["entryId"]) for r in records if "entryId" in r})
    timeline = otio.schema.Timeline(name=name if name is not None else ", ".join(entries))
    for rec in records:
        start = rec["startTime"]
        end = rec.get("endTime")
        length = end - start if end is not None and end > start else 0
        label = next((str(rec[f]) for f in _NAME_FIELDS if rec.get(f) not in (None, "")), rec["cuePointType"])
        marker = otio.schema.Marker(
            name=label,
            marked_range=otio.opentime.TimeRange(
                otio.opentime.RationalTime(start, 1000), otio.opentime.RationalTime(length, 1000)
            ),
            color=_COLOR.get(rec["cuePointType"], "WHITE"),
            metadata={KEY: _to_any(rec)},  # nested values as JSON text: OTIO's JSON rounds floats
        )
        timeline.tracks.markers.append(marker)
    report.written = len(records)
    text = otio.adapters.write_to_string(timeline, "otio_json")
    return c.finish(report, text.encode("utf-8"), dest, strict=strict)


def _to_any(rec: dict[str, Any]) -> dict[str, Any]:
    """A record for OTIO metadata: plain values as they are, nested ones (quiz answers with float
    weights, custom metadata) as JSON text, as in CSV: OTIO's JSON writer drops a float's last digit."""
    return {k: json.dumps(v, ensure_ascii=False) if k in NESTED else v for k, v in rec.items()}


def _plain(value: Any) -> Any:
    """OTIO's AnyDictionary / AnyVector -> dicts and lists."""
    if hasattr(value, "items"):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, str | bytes):
        return value
    if hasattr(value, "__iter__"):
        return [_plain(v) for v in value]
    return value


def read_otio(source: c.Source, *, entry: str | None = None, conventions: Conventions | None = None) -> pd.DataFrame:
    """Read the markers of an OTIO file into cue points (cuepipe's own markers exactly, others as chapters)."""
    otio = _otio()
    text = c.read_source(source)
    try:
        obj = otio.adapters.read_from_string(text, "otio_json")
    except Exception as exc:  # OTIO raises its own exception types for malformed files
        raise c.FormatReadError(f"not an OpenTimelineIO file: {exc}") from None
    if not isinstance(obj, otio.schema.Timeline | otio.core.Item):
        raise c.FormatReadError(f"not an OpenTimelineIO file with markers: it holds a {type(obj).__name__}")
    conv = conventions or DEFAULT
    records: list[dict[str, Any]] = []
    for marker, offset in _markers(otio, obj):
        meta = marker.metadata.get(KEY) if hasattr(marker.metadata, "get") else None
        if meta is not None:
            rec = _plain(meta)
            if not isinstance(rec, dict):
                raise c.FormatReadError(f"marker {marker.name!r}: its cuepipe metadata is not a record")
            for k in NESTED:
                if isinstance(rec.get(k), str):
                    try:
                        rec[k] = json.loads(rec[k])
                    except json.JSONDecodeError as exc:
                        raise c.FormatReadError(f"marker {marker.name!r}: {k} is not JSON ({exc})") from None
            _follow_edits(rec, marker.marked_range, offset)
            records.append(rec)
            continue
        rng = marker.marked_range
        start = _ms(rng.start_time, offset)
        length = _ms(rng.duration, None)
        records.append(
            conv.chapter_record(
                start=start, end=start + length if length else None, title=str(marker.name), entry=entry
            )
        )
    if entry is not None:
        for rec in records:
            rec.setdefault("entryId", entry)
    try:
        return c.records_frame(records)
    except (KeyError, TypeError, ValueError) as exc:
        raise c.FormatReadError(f"the markers' metadata are not cue points: {exc}") from None


def _follow_edits(rec: dict[str, Any], rng: Any, offset: Any) -> None:
    """A marker moved or stretched in an editor: its range wins over the times in its metadata."""
    start, length = _ms(rng.start_time, offset), _ms(rng.duration, None)
    if isinstance(rec.get("startTime"), int) and start != rec["startTime"]:
        rec["startTime"] = start
    end = rec.get("endTime")
    if isinstance(end, int) and length and end != start + length:
        rec["endTime"] = start + length


def _ms(t: Any, offset: Any) -> int:
    seconds = t.to_seconds() if offset is None else (t + offset).to_seconds()
    if not math.isfinite(seconds):
        raise c.FormatReadError(f"a marker's time is {seconds!r}")
    return max(0, round(seconds * 1000))


def _markers(otio: Any, obj: Any) -> list[tuple[Any, Any]]:
    """(marker, offset to timeline time) of a timeline's stack, tracks and clips, or of any composable."""
    out: list[tuple[Any, Any]] = []
    stack = obj.tracks if isinstance(obj, otio.schema.Timeline) else obj
    zero = otio.opentime.RationalTime(0, 1000)
    out += [(m, None) for m in getattr(stack, "markers", [])]
    for track in stack if hasattr(stack, "__iter__") else []:
        out += [(m, None) for m in getattr(track, "markers", [])]
        if not hasattr(track, "__iter__"):
            continue
        for item in track:
            markers = getattr(item, "markers", [])
            if not markers:
                continue
            try:
                # marker times are in the item's own (source) time; move them to the track's
                item_range = item.trimmed_range()
                in_track = track.range_of_child(item)
                offset = in_track.start_time - item_range.start_time
            except Exception:
                offset = zero
            out += [(m, offset) for m in markers]
    return out

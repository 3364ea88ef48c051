"""Lossless formats round-trip every cue point type exactly: OpenTimelineIO markers, WebVTT metadata tracks."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cuepipe
from cuepipe import frames
from tests.strategies import records

pytest.importorskip("webvtt")
pytest.importorskip("opentimelineio")

# every XML type, in both document kinds (serve adds id, userId, thumb endTime/assetId)
any_records = st.lists(st.one_of(records("ingest"), records("serve")), max_size=8)


def _same(written: list[dict[str, Any]], back: Any) -> None:
    expected = list(frames.frame_to_records(frames.records_to_frame(written)))
    assert list(frames.frame_to_records(back)) == expected


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(any_records)
def test_otio_markers_are_lossless_for_every_type(recs: list[dict[str, Any]]) -> None:
    report = cuepipe.write_otio(recs)
    assert report.ok and not report.lost and report.written == len(recs)
    assert report.output is not None
    _same(recs, cuepipe.read_otio(report.output))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(any_records)
def test_webvtt_metadata_tracks_are_lossless_for_every_type(recs: list[dict[str, Any]]) -> None:
    report = cuepipe.write_vtt(recs, kind="metadata")
    assert report.ok and report.written == len(recs)
    assert report.output is not None
    _same(recs, cuepipe.read_vtt(report.output))


def test_infinite_quiz_weights_survive_both_lossless_formats() -> None:
    rec = {
        "cuePointType": "quiz.QUIZ_QUESTION",
        "entryId": "0_a",
        "startTime": 0,
        "question": "q",
        "optionalAnswers": [{"key": "1", "weight": float("inf")}, {"key": "2", "weight": float("-inf")}],
    }
    _same([rec], cuepipe.read_otio(cuepipe.write_otio([rec]).output))
    _same([rec], cuepipe.read_vtt(cuepipe.write_vtt([rec], kind="metadata").output))


def test_a_marker_moved_in_an_editor_keeps_its_new_time() -> None:
    import opentimelineio as otio

    rec = {"cuePointType": "annotation.Annotation", "entryId": "0_a", "startTime": 1000, "endTime": 3000, "text": "x"}
    timeline = otio.adapters.read_from_string(cuepipe.write_otio([rec]).output.decode(), "otio_json")
    marker = timeline.tracks.markers[0]
    marker.marked_range = otio.opentime.TimeRange(
        otio.opentime.RationalTime(5000, 1000), otio.opentime.RationalTime(2500, 1000)
    )
    back = cuepipe.read_otio(otio.adapters.write_to_string(timeline, "otio_json").encode())
    assert back.loc[0, "startTime"] == 5000 and back.loc[0, "endTime"] == 7500 and back.loc[0, "text"] == "x"

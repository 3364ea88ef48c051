"""Real consumers read what cuepipe writes: the ffmpeg binary, an independent WebVTT parser, OTIO's own reader."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

import cuepipe

E = "0_consumer1"
CHAPTERS = [
    {
        "cuePointType": "thumbCuePoint.Thumb",
        "entryId": E,
        "startTime": 0,
        "title": "Intro",
        "description": "",
        "subType": 2,
    },
    {
        "cuePointType": "thumbCuePoint.Thumb",
        "entryId": E,
        "startTime": 1500,
        "title": "Müller & Söhne; a=b",
        "description": "",
        "subType": 2,
    },
    {
        "cuePointType": "annotation.Annotation",
        "entryId": E,
        "startTime": 3250,
        "endTime": 4000,
        "text": "Old <style>",
        "tags": "chaptering",
    },
]


@pytest.mark.slow
def test_ffmpeg_puts_the_chapters_into_a_video_and_reads_them_back(tmp_path: Path) -> None:
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    video, out, meta = tmp_path / "video.mp4", tmp_path / "out.mp4", tmp_path / "chapters.ffmeta"
    run = lambda *args: subprocess.run(
        [ffmpeg, "-hide_banner", "-loglevel", "error", *args], capture_output=True, check=True, timeout=120
    )  # noqa: E731
    run("-f", "lavfi", "-i", "color=c=black:s=64x64:d=5:r=10", "-c:v", "mpeg4", "-y", str(video))
    report = cuepipe.write_ffmeta(CHAPTERS, meta, duration="5s")
    assert report.written == 3
    # the command line the docs give
    run("-i", str(video), "-i", str(meta), "-map_metadata", "1", "-codec", "copy", "-y", str(out))
    dumped = run("-i", str(out), "-f", "ffmetadata", "-").stdout
    back = cuepipe.read_ffmeta(dumped, entry=E)
    assert back["title"].tolist() == ["Intro", "Müller & Söhne; a=b", "Old <style>"]
    assert back["startTime"].tolist() == [0, 1500, 3250]


def test_an_independent_webvtt_parser_reads_chapter_and_metadata_tracks() -> None:
    pytest.importorskip("webvtt")
    pycaption = pytest.importorskip("pycaption")
    chapters = cuepipe.write_vtt(CHAPTERS, duration=5000).output.decode()
    captions = pycaption.WebVTTReader().read(chapters)
    cues = captions.get_captions(captions.get_languages()[0])
    assert [c.start for c in cues] == [0, 1_500_000, 3_250_000]  # microseconds
    assert [c.get_text() for c in cues] == ["Intro", "Müller & Söhne; a=b", "Old <style>"]
    meta = cuepipe.write_vtt(CHAPTERS, kind="metadata").output.decode()
    mcaptions = pycaption.WebVTTReader().read(meta)
    mcues = mcaptions.get_captions(mcaptions.get_languages()[0])
    assert len(mcues) == 3 and all(c.get_text().startswith('{"cuePointType"') for c in mcues)


def test_opentimelineio_reads_the_file_with_its_own_reader(tmp_path: Path) -> None:
    otio = pytest.importorskip("opentimelineio")
    path = tmp_path / "cues.otio"
    cuepipe.write_otio(CHAPTERS, path)
    timeline = otio.adapters.read_from_file(str(path))
    markers = list(timeline.tracks.markers)
    assert [m.name for m in markers] == ["Intro", "Müller & Söhne; a=b", "Old <style>"]
    assert markers[1].marked_range.start_time.to_seconds() == 1.5
    assert markers[2].marked_range.duration.to_seconds() == 0.75
    assert dict(markers[0].metadata["cuepipe"])["subType"] == 2


def test_foreign_otio_markers_on_clips_are_read_as_chapters_in_timeline_time() -> None:
    otio = pytest.importorskip("opentimelineio")
    rt = otio.opentime.RationalTime
    timeline = otio.schema.Timeline(name="edit")
    track = otio.schema.Track()
    timeline.tracks.append(track)
    first = otio.schema.Clip(name="a", source_range=otio.opentime.TimeRange(rt(0, 25), rt(250, 25)))
    second = otio.schema.Clip(name="b", source_range=otio.opentime.TimeRange(rt(100, 25), rt(250, 25)))
    second.markers.append(
        otio.schema.Marker(name="Second act", marked_range=otio.opentime.TimeRange(rt(125, 25), rt(0, 25)))
    )
    track.extend([first, second])
    track.markers.append(otio.schema.Marker(name="Opening", marked_range=otio.opentime.TimeRange(rt(0, 25), rt(0, 25))))
    back = cuepipe.read_otio(otio.adapters.write_to_string(timeline, "otio_json").encode(), entry=E)
    assert back["title"].tolist() == ["Opening", "Second act"]
    assert back["startTime"].tolist() == [0, 11_000]  # clip b starts at 10 s; its marker is 1 s into it

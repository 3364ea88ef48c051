"""Lossy formats: exactly what each loses, and that the loss report counts it; strict mode; conventions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import cuepipe
from cuepipe.cli import main
from cuepipe.formats import Conventions, FormatLossError
from cuepipe.formats._common import RECORD

pytest.importorskip("webvtt")
pytest.importorskip("srt")

E = "0_fmt00001"
THUMB, ANN, AD = "thumbCuePoint.Thumb", "annotation.Annotation", "adCuePoint.Ad"


def chapter(start: int, title: str, **extra: Any) -> dict[str, Any]:
    return {
        "cuePointType": THUMB,
        "entryId": E,
        "startTime": start,
        "title": title,
        "description": "",
        "subType": 2,
    } | extra


MIXED = [
    chapter(0, "Intro", systemName="ch-1"),
    chapter(60_000, "Middle", description="has a description"),
    {
        "cuePointType": THUMB,
        "entryId": E,
        "startTime": 30_000,
        "title": "Slide",
        "description": "",
        "subType": 1,
        "assetId": "0_asset1",
    },
    {
        "cuePointType": AD,
        "entryId": E,
        "startTime": 45_000,
        "adType": "1",
        "protocolType": "2",
        "sourceUrl": "https://ads.example.com/v?a=1&b=2",
    },
    {"cuePointType": ANN, "entryId": E, "startTime": 5_000, "endTime": 8_000, "text": "a note", "tags": "x,y"},
]


def lost(report: cuepipe.LossReport) -> dict[tuple[str, str], int]:
    return dict(report.lost)


def test_vtt_chapters_carry_start_title_system_name_and_entry_and_count_the_rest() -> None:
    report = cuepipe.write_vtt(MIXED, duration="00:02:00")
    assert report.written == 2
    assert lost(report) == {
        (THUMB, "description"): 2,  # the non-empty one (an empty one reads back as ""), and the slide's
        (THUMB, RECORD): 1,
        (THUMB, "entryId"): 1,
        (THUMB, "startTime"): 1,
        (THUMB, "title"): 1,
        (THUMB, "subType"): 1,
        (THUMB, "assetId"): 1,  # the slide: not a chapter
        (AD, RECORD): 1,
        (AD, "entryId"): 1,
        (AD, "startTime"): 1,
        (AD, "adType"): 1,
        (AD, "protocolType"): 1,
        (AD, "sourceUrl"): 1,
        (ANN, RECORD): 1,
        (ANN, "entryId"): 1,
        (ANN, "startTime"): 1,
        (ANN, "endTime"): 1,
        (ANN, "text"): 1,
        (ANN, "tags"): 1,
    }
    assert report.derived[(THUMB, "endTime")] == 2 and "derived from the next chapter" in report.notes[0]
    back = cuepipe.read_vtt(report.output)
    assert back["title"].tolist() == ["Intro", "Middle"] and back["systemName"].tolist()[0] == "ch-1"
    assert back["entryId"].tolist() == [E, E] and back["subType"].tolist() == [2, 2]


def test_strict_names_the_first_record_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "c.vtt"
    with pytest.raises(FormatLossError, match=r"record 1, field 'description': the WebVTT chapters format cannot"):
        cuepipe.write_vtt(MIXED[:2], out, duration=120_000, strict=True)
    assert not out.exists() and not list(tmp_path.iterdir())
    ok = cuepipe.write_vtt(MIXED[:1], out, duration=120_000, strict=True)
    assert ok.ok and out.exists()


def test_last_chapter_needs_an_end() -> None:
    with pytest.raises(cuepipe.CuePointValueError, match="record 1, field 'endTime': the last chapter has no end"):
        cuepipe.write_vtt(MIXED[:2])


def test_srt_keeps_annotation_times_and_text_only() -> None:
    recs = [
        {"cuePointType": ANN, "entryId": E, "startTime": 0, "endTime": 1500, "text": "one", "systemName": "a1"},
        {"cuePointType": ANN, "entryId": E, "startTime": 2000, "endTime": 3000, "text": "two\n\nparagraphs"},
        {"cuePointType": ANN, "entryId": E, "startTime": 4000, "endTime": 5000},  # no text: nothing to show
        chapter(0, "c"),
    ]
    report = cuepipe.write_srt(recs)
    assert report.written == 2
    assert lost(report) == {
        (ANN, "systemName"): 1,
        (ANN, "entryId"): 3,
        (ANN, "text"): 1,  # the blank line cannot be carried
        (ANN, RECORD): 1,
        (ANN, "startTime"): 1,
        (ANN, "endTime"): 1,
        (THUMB, RECORD): 1,
        (THUMB, "startTime"): 1,
        (THUMB, "title"): 1,
        (THUMB, "description"): 1,
        (THUMB, "subType"): 1,
        (THUMB, "entryId"): 1,
    }
    back = cuepipe.read_srt(report.output, entry=E)
    assert back["text"].tolist() == ["one", "two\nparagraphs"] and back["endTime"].tolist() == [1500, 3000]
    assert back["entryId"].tolist() == [E, E]


def test_youtube_rules_reported_fixed_or_enforced() -> None:
    recs = [chapter(5_000, "Start"), chapter(12_000, "Too short"), chapter(40_000, "Later"), chapter(95_500, "End")]
    report = cuepipe.write_youtube(recs, duration=200_000)
    assert report.output == b"0:05 Start\n0:12 Too short\n0:40 Later\n1:35 End\n"
    assert any("start at 0:00" in v for v in report.violations)
    assert any("chapter 1 at 0:05 lasts 7 s" in v for v in report.violations)
    assert report.lost[(THUMB, "startTime")] == 1  # 95.5 s has no place in M:SS
    assert report.lost[(THUMB, "entryId")] == 4
    with pytest.raises(cuepipe.CuePointValueError, match="break YouTube's rules"):
        cuepipe.write_youtube(recs, rules="error")
    fixed = cuepipe.write_youtube(recs, rules="fix", duration=200_000)
    # an Intro at 0:00 would last 5 s: the first chapter moves to 0:00 instead (its start counted as lost)
    assert fixed.output == b"0:00 Start\n0:12 Too short\n0:40 Later\n1:35 End\n" and not fixed.violations
    assert fixed.lost[(THUMB, "startTime")] == 2
    moved_twice = cuepipe.write_youtube([chapter(5_500, "A"), chapter(20_000, "B"), chapter(40_000, "C")], rules="fix")
    assert moved_twice.output.startswith(b"0:00 A\n") and moved_twice.lost[(THUMB, "startTime")] == 1  # counted once
    merged = cuepipe.write_youtube(
        [chapter(0, "A"), chapter(30_000, "B"), chapter(35_000, "C"), chapter(60_000, "D")], rules="fix"
    )
    assert merged.output == b"0:00 A\n0:35 C\n1:00 D\n" and merged.dropped == 1  # B lasted 5 s: merged, counted
    assert any("'B'" in n for n in merged.notes)
    assert cuepipe.formats.check_rules([int(x) for x in cuepipe.read_youtube(merged.output)["startTime"]], None) == []
    with pytest.raises(cuepipe.CuePointValueError, match="at least 3 chapters"):
        cuepipe.write_youtube(recs[:2], rules="fix")


def test_youtube_reads_descriptions_as_people_write_them() -> None:
    text = "My talk.\n\n00:00 - Intro\n(1:30) Details\n• 1:02:03 | Questions\nno time here\n"
    back = cuepipe.read_youtube(text, entry=E)
    assert back["startTime"].tolist() == [0, 90_000, 3_723_000]
    assert back["title"].tolist() == ["Intro", "Details", "Questions"] and back["subType"].tolist() == [2, 2, 2]


def test_ffmeta_escapes_and_reads_back() -> None:
    recs = [chapter(0, "a=b; c#d \\ e\nline"), chapter(1500, "Two", endTime=4000)]
    report = cuepipe.write_ffmeta(recs)
    text = report.output.decode()
    assert (
        text.startswith(";FFMETADATA1\n")
        and "TIMEBASE=1/1000" in text
        and "title=a\\=b\\; c\\#d \\\\ e\\\nline" in text
    )
    back = cuepipe.read_ffmeta(report.output)
    assert back["title"].tolist() == ["a=b; c#d \\ e\nline", "Two"] and back["startTime"].tolist() == [0, 1500]
    assert back["entryId"].tolist() == [E, E]
    assert lost(report) == {(THUMB, "endTime"): 1}  # thumbs read back without an end (ingest has none)
    other = cuepipe.read_ffmeta(b";FFMETADATA1\n[CHAPTER]\nTIMEBASE=1/90000\nSTART=90000\nEND=180000\ntitle=x\n")
    assert other["startTime"].tolist() == [1000]


def test_podcast_chapters_and_slides_with_images() -> None:
    report = cuepipe.write_podcast(MIXED, image_url="https://cdn.example.com/{assetId}.jpg")
    doc = json.loads(report.output)
    assert doc["version"] == "1.2.0"
    assert doc["chapters"][1] == {
        "startTime": 30,
        "title": "Slide",
        "toc": False,
        "img": "https://cdn.example.com/0_asset1.jpg",
    }
    assert (THUMB, "assetId") in report.lost and (THUMB, "description") in report.lost
    back = cuepipe.read_podcast(report.output)
    assert back["subType"].tolist() == [2, 1, 2] and back["startTime"].tolist() == [0, 30_000, 60_000]


def test_vmap_ad_breaks() -> None:
    ads = [
        {
            "cuePointType": AD,
            "entryId": E,
            "startTime": 0,
            "adType": "1",
            "protocolType": "2",
            "sourceUrl": "https://a/vast?x=1&y=2",
            "systemName": "pre",
        },
        {
            "cuePointType": AD,
            "entryId": E,
            "startTime": 61_500,
            "endTime": 70_000,
            "adType": "2",
            "protocolType": "3",
            "sourceUrl": "https://a/vpaid",
            "title": "t",
        },
        chapter(0, "not an ad"),
    ]
    report = cuepipe.write_vmap(ads)
    xml = report.output.decode()
    assert 'timeOffset="start"' in xml and 'breakType="linear"' in xml and 'breakId="pre"' in xml
    assert 'timeOffset="00:01:01.500"' in xml and 'breakType="nonlinear"' in xml and 'templateType="vast2"' in xml
    assert "<![CDATA[https://a/vast?x=1&y=2]]>" in xml
    assert lost(report) == {
        (AD, "entryId"): 2,
        (AD, "endTime"): 1,
        (AD, "title"): 1,
        (AD, "protocolType"): 1,  # VPAID: no template type
        (THUMB, RECORD): 1,
        (THUMB, "entryId"): 1,
        (THUMB, "startTime"): 1,
        (THUMB, "title"): 1,
        (THUMB, "description"): 1,
        (THUMB, "subType"): 1,
    }
    back = cuepipe.read_vmap(report.output, entry=E)
    assert back["startTime"].tolist() == [0, 61_500] and back["adType"].tolist() == ["1", "2"]
    assert back["protocolType"].tolist() == ["2", "0"] and back["sourceUrl"].tolist()[0] == "https://a/vast?x=1&y=2"
    assert cuepipe.validate(cuepipe.write_xml(back)).ok


def test_vmap_takes_enum_names_as_write_xml_does() -> None:
    ad = {
        "cuePointType": AD,
        "entryId": E,
        "startTime": 1000,
        "adType": "OVERLAY",
        "protocolType": "VAST_2_0",
        "sourceUrl": "u",
    }
    report = cuepipe.write_vmap([ad])
    xml = report.output.decode()
    assert 'breakType="nonlinear"' in xml and 'templateType="vast2"' in xml
    assert report.lost == {(AD, "entryId"): 1}
    with pytest.raises(cuepipe.CuePointValueError, match="record 0, field 'adType': 'BANNER' is not a known adType"):
        cuepipe.write_vmap([ad | {"adType": "BANNER"}])


def test_older_chaptering_annotations_are_chapters_and_conventions_are_configurable() -> None:
    old = {
        "cuePointType": ANN,
        "entryId": E,
        "startTime": 0,
        "endTime": 9000,
        "text": "Old chapter",
        "tags": "chaptering",
    }
    report = cuepipe.write_vtt([old])
    assert report.written == 1 and cuepipe.read_vtt(report.output)["title"].tolist() == ["Old chapter"]
    assert report.lost == {(ANN, "cuePointType"): 1, (ANN, "endTime"): 1, (ANN, "tags"): 1}  # read back as a thumb
    as_annotations = Conventions(read_chapters_as="annotation")
    report2 = cuepipe.write_vtt([old], conventions=as_annotations)
    assert report2.ok
    back = cuepipe.read_vtt(report2.output, conventions=as_annotations)
    assert back.loc[0, "tags"] == "chaptering" and back.loc[0, "endTime"] == 9000
    none = Conventions(chapter_annotation_tags=())
    assert cuepipe.write_vtt([old], conventions=none).written == 0


def test_short_type_names_are_the_same_types() -> None:
    short = chapter(0, "A") | {"cuePointType": "thumb"}
    report = cuepipe.write_vtt([short], duration=1000)
    assert report.written == 1 and report.ok
    with pytest.raises(cuepipe.CuePointValueError, match="record 0, field 'cuePointType': unknown cue point type"):
        cuepipe.write_vtt([short | {"cuePointType": "chapterz"}], duration=1000)


def test_several_entries_in_one_chapter_file_are_refused() -> None:
    with pytest.raises(cuepipe.CuePointValueError, match="2 entries"):
        cuepipe.write_vtt([chapter(0, "a"), chapter(0, "b", entryId="0_other")], duration=1000)


def test_cli_picks_formats_by_extension_and_prints_the_loss_report(tmp_path: Path) -> None:
    src = tmp_path / "cues.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in MIXED))
    runner = CliRunner()
    for name in ("c.vtt", "c.srt", "c.ffmeta", "c.otio", "c.chapters.json", "c.vmap"):
        result = runner.invoke(main, ["convert", str(src), str(tmp_path / name), "--duration", "2:00"])
        if name in ("c.otio", "c.chapters.json", "c.vmap"):
            result = runner.invoke(main, ["convert", str(src), str(tmp_path / name)])
        assert result.exit_code == 0, (name, result.output)
        assert "wrote" in result.output and (tmp_path / name).exists()
    assert "not carried" in runner.invoke(main, ["convert", str(src), str(tmp_path / "x.vmap")]).output
    yt = runner.invoke(main, ["convert", str(src), str(tmp_path / "desc.txt"), "--to", "youtube"])
    assert yt.exit_code == 0 and "rule broken" in yt.output
    assert (tmp_path / "desc.txt").read_text().startswith("0:00 Intro\n")
    strict = runner.invoke(main, ["convert", str(src), str(tmp_path / "s.vtt"), "--duration", "2:00", "--strict"])
    assert strict.exit_code == 1 and "error: record 1" in strict.output and "Traceback" not in strict.output
    assert not (tmp_path / "s.vtt").exists()
    # and back: an interchange file as input
    back = runner.invoke(main, ["convert", str(tmp_path / "c.otio"), str(tmp_path / "back.jsonl")])
    assert back.exit_code == 0, back.output
    rows = [json.loads(line) for line in (tmp_path / "back.jsonl").read_text().splitlines()]
    assert rows == [dict(r) for r in MIXED]
    vtt_in = runner.invoke(main, ["convert", str(tmp_path / "c.vtt"), str(tmp_path / "v.xml")])
    assert vtt_in.exit_code == 0, vtt_in.output and cuepipe.validate(tmp_path / "v.xml").ok


@pytest.mark.parametrize(
    ("reader", "data", "message"),
    [
        (cuepipe.read_vmap, b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>', "DTDs"),
        (cuepipe.read_vmap, b"<vmap:VMAP xmlns:vmap='http://www.iab.net/videosuite/vmap'>", "not a VMAP document"),
        (cuepipe.read_vmap, b"<other/>", "the root is <other>"),
        (cuepipe.read_vtt, b"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n\xff\xfe\n", "not UTF-8"),
        (cuepipe.read_vtt, b"not webvtt\n", "not a WebVTT file"),
        (
            cuepipe.read_vtt,
            b'WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n{"cuePointType":"x","bogus":1}\n',
            "not cue points",
        ),
        (cuepipe.read_ffmeta, b"[CHAPTER]\nSTART=1\n", "FFMETADATA1"),
        (
            cuepipe.read_ffmeta,
            b";FFMETADATA1\n[CHAPTER]\nTIMEBASE=1/3\nSTART=1\nEND=2\n",
            "whole number of milliseconds",
        ),
        (cuepipe.read_podcast, b'{"chapters": [{"title": "no start"}]}', "numeric startTime"),
        (cuepipe.read_podcast, b'{"chapters": [{"startTime": Infinity}]}', "is not a time"),
        (cuepipe.read_otio, b'{"OTIO_SCHEMA": "Nope.1"}', "not an OpenTimelineIO file"),
        (cuepipe.read_srt, b"1\n00:00:01,000 --> nonsense\nx\n", "not an SRT file"),
    ],
)
def test_bad_files_fail_with_one_clear_error(reader: Any, data: bytes, message: str) -> None:
    pytest.importorskip("opentimelineio")
    with pytest.raises(cuepipe.CuepipeError, match=message):
        reader(data)


def test_cli_reads_an_interchange_file_with_an_entry_and_fails_cleanly_on_a_bad_one(tmp_path: Path) -> None:
    src = tmp_path / "talk.vtt"
    src.write_text("WEBVTT\n\n00:00:00.000 --> 00:01:00.000\nIntro\n\n00:01:00.000 --> 00:02:00.000\nMain\n")
    out = tmp_path / "talk.xml"
    result = CliRunner().invoke(main, ["convert", str(src), str(out), "--entry", E])
    assert result.exit_code == 0, result.output
    back = cuepipe.read_xml(out)
    assert back["title"].tolist() == ["Intro", "Main"] and back["entryId"].tolist() == [E, E]
    bad = tmp_path / "bad.vmap"
    bad.write_bytes(b"<nope")
    result = CliRunner().invoke(main, ["convert", str(bad), str(tmp_path / "o.csv")])
    assert result.exit_code == 1 and "not a VMAP document" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "o.csv").exists()

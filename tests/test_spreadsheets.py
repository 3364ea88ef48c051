"""Spreadsheets as people write them: timecodes, durations, renamed columns, defaults, one-command push."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

import cuepipe
from cuepipe import frames, spreadsheets, tabular
from cuepipe.cli import main
from cuepipe.emulator import EmulatorServer
from cuepipe.tabular import AmbiguousTimeError, parse_time_text, time_value_to_ms

from .helpers import EmulatorFactory

PARTNER, ADMIN = 2031, "sheets-admin-secret-91c2"
ENTRY = "0_sheet001"

# The shape a published university toolkit reads: entry id, timecode HH:MM:SS, chapter title.
TOOLKIT_CSV = (
    "entry_id,timecode,chapter_title\n"
    f"{ENTRY},00:00:00,Welcome\n"
    f"{ENTRY},00:01:30,The problem\n"
    f'{ENTRY},00:12:05,"Results, and what they mean"\n'
    f"{ENTRY},01:02:03,Questions\n"
)
TOOLKIT_COLUMNS = "entry_id=entryId,timecode=startTime,chapter_title=title"


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("00:01:30", 90_000),
        ("1:30", 90_000),
        ("01:02:03", 3_723_000),
        ("1:02:03.5", 3_723_500),
        ("00:00:01,250", 1250),  # SRT's comma
        ("90:00", 5_400_000),  # minutes may exceed 59 without hours
        ("00:00:00.1230000", 123),  # trailing zeros beyond a millisecond are exact
        ("90s", 90_000),
        ("1.5 s", 1500),
        ("1m30s", 90_000),
        ("1h 2m 3.5s", 3_723_500),
        ("1500ms", 1500),
        ("2 min", 120_000),
        ("PT1M30S", 90_000),
        ("pt0.25s", 250),
        ("90000", 90_000),  # a bare integer: milliseconds, the column's documented unit
    ],
)
def test_times_as_people_write_them(text: str, ms: int) -> None:
    assert parse_time_text(text)[0] == ms


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1.5", "is not an integer: milliseconds have no fraction"),
        ("01:02:03:04", "frame timecode"),
        ("00:61:00", "go up to 59"),
        ("00:00:75", "go up to 59"),
        ("0.0005s", "more precise than a millisecond"),
        ("00:00:00.0005", "more precise than a millisecond"),
        ("-5", "negative"),
        ("soon", "is not an integer"),
        ("5 parsecs", "is not an integer"),
        ("", "empty"),
    ],
)
def test_bad_times_are_errors_never_guesses(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_time_text(text)


def test_timedelta_values_and_dtypes() -> None:
    assert time_value_to_ms(dt.timedelta(minutes=1, milliseconds=5)) == (60_005, "timedelta")
    assert time_value_to_ms(pd.Timedelta("1.5s"))[0] == 1500
    assert time_value_to_ms(np.timedelta64(2, "s"))[0] == 2000
    with pytest.raises(ValueError, match="sub-millisecond precision"):
        time_value_to_ms(pd.Timedelta(microseconds=1))
    with pytest.raises(ValueError, match="negative"):
        time_value_to_ms(dt.timedelta(seconds=-1))
    with pytest.raises(TypeError, match="boolean"):
        time_value_to_ms(True)
    df = pd.DataFrame(
        {
            "cuePointType": ["annotation", "annotation"],
            "entryId": ["0_a", "0_a"],
            "startTime": pd.to_timedelta(["0s", "90s"]),  # timedelta64 dtype
            "endTime": [dt.timedelta(seconds=90), "00:03:00"],  # object: timedelta and a timecode
        }
    )
    out = spreadsheets.prepare_frame(df)
    assert out["startTime"].tolist() == [0, 90_000] and str(out["startTime"].dtype) == "Int64"
    assert out["endTime"].tolist() == [90_000, 180_000]


def test_a_bare_number_among_timecodes_is_ambiguous_and_named() -> None:
    df = pd.DataFrame({"cuePointType": ["annotation"] * 3, "startTime": ["00:00:00", "00:01:00", "90"]})
    with pytest.raises(AmbiguousTimeError, match=r"column 'startTime', row 2: '90' is a bare number .*\(row 0"):
        spreadsheets.prepare_frame(df)
    # a column of bare integers alone is milliseconds, as documented (existing files keep working)
    ok = spreadsheets.prepare_frame(pd.DataFrame({"cuePointType": ["annotation"], "startTime": ["90"]}))
    assert ok["startTime"].tolist() == [90]


@given(st.integers(min_value=0, max_value=100 * 3_600_000 - 1))
def test_timecodes_round_trip_every_millisecond(ms: int) -> None:
    s, frac = divmod(ms, 1000)
    text = f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}.{frac:03d}"
    assert parse_time_text(text) == (ms, "timecode")
    assert parse_time_text(f"{ms}ms") == (ms, "units")


def test_renaming_and_defaults_in_python(tmp_path: Path) -> None:
    path = tmp_path / "chapters.csv"
    path.write_text(TOOLKIT_CSV)
    df = cuepipe.read_table(path, columns=TOOLKIT_COLUMNS, type="chapter")
    assert df["cuePointType"].unique().tolist() == ["thumbCuePoint.Thumb"]
    assert df["subType"].tolist() == [2] * 4 and df["description"].tolist() == [""] * 4
    assert df["startTime"].tolist() == [0, 90_000, 725_000, 3_723_000]
    assert df["title"].tolist()[2] == "Results, and what they mean"
    # a dict works too, and entry= fills a file without an entry column
    no_entry = tmp_path / "no_entry.csv"
    no_entry.write_text("start,name\n0:00,Intro\n1:30,Next\n")
    df2 = cuepipe.read_table(no_entry, columns={"start": "startTime", "name": "text"}, type="annotation", entry="0_x")
    assert df2["entryId"].tolist() == ["0_x", "0_x"] and df2["cuePointType"].tolist() == ["annotation.Annotation"] * 2
    # defaults fill gaps, never overwrite a value the file has
    mixed = tmp_path / "mixed.csv"
    mixed.write_text("entryId,startTime,title\n0_own,0:00,A\n,0:10,B\n")
    df3 = cuepipe.read_table(mixed, type="chapter", entry="0_default")
    assert df3["entryId"].tolist() == ["0_own", "0_default"]


def test_option_errors_name_the_problem(tmp_path: Path) -> None:
    path = tmp_path / "chapters.csv"
    path.write_text(TOOLKIT_CSV)
    with pytest.raises(ValueError, match="'timcode', not a column of the file"):
        cuepipe.read_table(path, columns={"timcode": "startTime"})
    with pytest.raises(ValueError, match="unknown cue point type 'chaptr'"):
        cuepipe.read_table(path, type="chaptr")
    with pytest.raises(ValueError, match="SOURCE=TARGET"):
        tabular.parse_column_map("entry_id")
    with pytest.raises(ValueError, match="unknown columns 'chapter_title'"):
        cuepipe.read_table(path, columns={"entry_id": "entryId", "timecode": "startTime"}, type="chapter")
    with pytest.raises(ValueError, match="two columns the name 'startTime'"):
        cuepipe.read_table(path, columns={"entry_id": "startTime", "timecode": "startTime"})


def test_type_names_include_kalturas_chapter_conventions() -> None:
    assert tabular.resolve_type("chapter").values["subType"] == 2
    assert tabular.resolve_type("slide").values["subType"] == 1
    assert tabular.resolve_type("chapter-annotation").values == {
        "cuePointType": "annotation.Annotation",
        "tags": "chaptering",
    }
    assert tabular.resolve_type("thumbCuePoint.Thumb").values == {"cuePointType": "thumbCuePoint.Thumb"}
    assert tabular.resolve_type("AD").values == {"cuePointType": "adCuePoint.Ad"}


def test_convert_spreadsheet_to_valid_ingest_xml_in_one_command(tmp_path: Path) -> None:
    src = tmp_path / "chapters.csv"
    src.write_text(TOOLKIT_CSV)
    out = tmp_path / "chapters.xml"
    result = CliRunner().invoke(
        main, ["convert", str(src), str(out), "--type", "chapter", "--columns", TOOLKIT_COLUMNS]
    )
    assert result.exit_code == 0, result.output
    report = cuepipe.validate(out)
    assert report.ok, str(report)
    back = cuepipe.read_xml(out)
    assert back["startTime"].tolist() == [0, 90_000, 725_000, 3_723_000]
    assert back["subType"].tolist() == [2] * 4 and back["entryId"].unique().tolist() == [ENTRY]


def test_without_options_the_cli_says_what_is_missing(tmp_path: Path) -> None:
    src = tmp_path / "chapters.csv"
    src.write_text(TOOLKIT_CSV)
    out = tmp_path / "chapters.xml"
    result = CliRunner().invoke(main, ["convert", str(src), str(out)])
    assert result.exit_code == 1 and "unknown columns 'entry_id'" in result.output and "Traceback" not in result.output
    assert not out.exists()
    bad = tmp_path / "bad.csv"
    bad.write_text("entry_id,timecode,chapter_title\n0_a,00:00:00,A\n0_a,90,B\n")
    result = CliRunner().invoke(
        main, ["convert", str(bad), str(out), "--type", "chapter", "--columns", TOOLKIT_COLUMNS]
    )
    assert result.exit_code == 1, result.output
    assert "column 'startTime', row 1: '90' is a bare number" in result.output and not out.exists()


@pytest.fixture(scope="module")
def server(start_emulator: EmulatorFactory) -> EmulatorServer:
    return start_emulator(partner_id=PARTNER, admin_secret=ADMIN, entries=[ENTRY])


def test_toolkit_spreadsheet_pushes_to_the_emulator_with_one_command(server: EmulatorServer, tmp_path: Path) -> None:
    """addFromBulk keeps an annotation's text but ignores a thumb cue point's title and sub-type
    (docs/format-notes.md), so chapters travel as annotations tagged 'chaptering', the older player
    convention; each ends where the next starts, the last at --duration."""
    src = tmp_path / "chapters.csv"
    src.write_text(TOOLKIT_CSV)
    env = {"KALTURA_SERVICE_URL": server.url, "KALTURA_PARTNER_ID": str(PARTNER), "KALTURA_ADMIN_SECRET": ADMIN}
    columns = "entry_id=entryId,timecode=startTime,chapter_title=text"
    args = ["push", str(src), "--type", "chapter-annotation", "--columns", columns, "--duration", "1:10:00"]
    result = CliRunner().invoke(main, args, env=env)
    assert result.exit_code == 0, result.output
    assert "pushed 4 cue points" in result.output and "4 created" in result.output
    assert "4 chapter end time(s) derived" in result.output
    with cuepipe.Client(server.url, partner_id=PARTNER, admin_secret=ADMIN) as kaltura:
        pulled = kaltura.pull({"entryIdEqual": ENTRY}, precision="ms")
    pulled = pulled.sort_values("startTime").reset_index(drop=True)
    assert pulled["cuePointType"].unique().tolist() == ["annotation.Annotation"]
    assert pulled["startTime"].tolist() == [0, 90_000, 725_000, 3_723_000]
    assert pulled["endTime"].tolist() == [90_000, 725_000, 3_723_000, 4_200_000]
    assert pulled["text"].tolist() == ["Welcome", "The problem", "Results, and what they mean", "Questions"]
    assert pulled["tags"].unique().tolist() == ["chaptering"]


def test_thumb_chapters_push_with_their_titles(server: EmulatorServer, tmp_path: Path) -> None:
    """--type chapter makes thumb cue points of sub-type CHAPTER, Kaltura's own chapter convention.
    addFromBulk drops their title and sub-type; push writes those with cuePoint.update afterwards."""
    src = tmp_path / "chapters.csv"
    src.write_text(TOOLKIT_CSV)
    env = {"KALTURA_SERVICE_URL": server.url, "KALTURA_PARTNER_ID": str(PARTNER), "KALTURA_ADMIN_SECRET": ADMIN}
    result = CliRunner().invoke(main, ["push", str(src), "--type", "chapter", "--columns", TOOLKIT_COLUMNS], env=env)
    assert result.exit_code == 0 and "4 created" in result.output, result.output
    with cuepipe.Client(server.url, partner_id=PARTNER, admin_secret=ADMIN) as kaltura:
        pulled = kaltura.pull({"entryIdEqual": ENTRY, "cuePointTypeEqual": "thumbCuePoint.Thumb"}, precision="ms")
    pulled = pulled.sort_values("startTime").reset_index(drop=True)
    assert pulled["startTime"].tolist() == [0, 90_000, 725_000, 3_723_000]
    assert pulled["title"].tolist() == ["Welcome", "The problem", "Results, and what they mean", "Questions"]
    assert pulled["subType"].tolist() == [2, 2, 2, 2]


def test_last_chapter_annotation_without_duration_is_an_error_naming_the_row(tmp_path: Path) -> None:
    src = tmp_path / "chapters.csv"
    src.write_text(TOOLKIT_CSV)
    with pytest.raises(ValueError, match=r"row 3: the last chapter of entry '0_sheet001' has no end time"):
        cuepipe.read_table(
            src, type="chapter-annotation", columns="entry_id=entryId,timecode=startTime,chapter_title=text"
        )


def test_every_tabular_format_takes_timecodes(tmp_path: Path) -> None:
    df = pd.DataFrame(
        {
            "cuePointType": ["annotation"] * 2,
            "entryId": ["0_a"] * 2,
            "startTime": ["0:00", "1:30.25"],
            "endTime": ["90s", "2m"],
        }
    )
    for name in ("t.csv", "t.jsonl", "t.parquet"):
        path = tmp_path / name
        if name.endswith(".csv"):
            df.to_csv(path, index=False)
        elif name.endswith(".jsonl"):
            df.to_json(path, orient="records", lines=True)
        else:
            df.to_parquet(path, index=False)
        back = pd.concat(list(frames.read_table(path)), ignore_index=True)
        assert back["startTime"].tolist() == [0, 90_250], name
        assert back["endTime"].tolist() == [90_000, 120_000], name

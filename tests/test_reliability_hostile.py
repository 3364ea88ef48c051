"""Hostile and broken input, end to end: a clear one-line error, nothing sent, no partial output file.

``test_hostile.py`` covers the reader and the validator on hostile XML; here the same inputs (and
broken tables) go through the command line and the client, and the emulator gets them as uploads.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from cuepipe import frames
from cuepipe.cli import main
from cuepipe.client import Client, PushError
from cuepipe.emulator import EmulatorServer
from cuepipe.emulator.faults import Fault
from cuepipe.errors import CuePointValueError, UnsafeXMLError, XMLFormatError

from .helpers import (
    ADMIN,
    BILLION_LAUGHS,
    PARTNER,
    PLAIN_DTD,
    XXE_FILE,
    EmulatorFactory,
    Recorder,
    cue_points,
    emulator_rows,
)

SCENE = "<scene-code-cue-point entryId='0_h0'><sceneStartTime>00:00:01</sceneStartTime>{}</scene-code-cue-point>"


def doc(inner: str = "") -> bytes:
    return ("<scenes>" + SCENE.format(inner) + "</scenes>").encode()


HOSTILE_XML: dict[str, tuple[bytes, str]] = {
    "external entity": (XXE_FILE, "DTD"),
    "billion laughs": (BILLION_LAUGHS, "DTD"),
    "DTD": (PLAIN_DTD, "DTD"),
    "deep nesting": (doc("<scene-customData>" + "<a>" * 3000 + "</a>" * 3000 + "</scene-customData>"), "depth"),
    "huge text node": (doc("<code>" + "x" * 10_500_000 + "</code>"), "not well-formed"),
    "invalid UTF-8": (doc("<code>a").replace(b"<code>a", b"<code>a\xc3\x28"), "not well-formed"),
    "NUL character": (doc("<code>a\x00b</code>"), "Char 0x0"),
    "NUL reference": (doc("<code>a&#0;b</code>"), "invalid xmlChar value 0"),
    "control character": (doc("<code>a\x01b</code>"), "invalid Char value 1"),
    "truncated": (doc("<code>abc</code>")[: -len(b"</scene-code-cue-point></scenes>")], "truncated"),
    "cut mid-tag": (doc("<code>abc</code>")[:-25], "not well-formed"),
    "wrong root": (b"<mrss><scenes/></mrss>", "root element is <mrss>"),
    "not XML": (b"cuePointType,entryId\nx,y\n", "not well-formed"),
    "empty": (b"", "empty"),
}

H = "cuePointType,entryId,startTime,endTime,systemName,text\n"
#: Errors of the table itself (any output); the rest are values the ingest XML cannot carry (XML output only).
XML_ONLY = {
    "missing column",
    "unknown cue point type",
    "time past 24 h",
    "NUL in a value",
    "control character in a value",
}
BROKEN_CSV: dict[str, tuple[bytes, str]] = {
    "missing column": (b"cuePointType,startTime,endTime\nannotation.Annotation,1,2\n", "entryId"),
    "misspelled column": (
        b"cuePointType,entryID,startTime,endTime\nannotation.Annotation,0_h,1,2\n",
        "did you mean 'entryId'",
    ),
    "no type column": (b"entryId,startTime\n0_h,1\n", "'cuePointType' is required"),
    "wrong type": ((H + "annotation.Annotation,0_h,soon,2,a,t\n").encode(), "'soon' is not an integer"),
    "fraction for an integer": ((H + "annotation.Annotation,0_h,1.5,2,a,t\n").encode(), "is not an integer"),
    "integer beyond 64 bits": (
        (H + "annotation.Annotation,0_h,99999999999999999999999,2,a,t\n").encode(),
        "is not an integer",
    ),
    "unknown cue point type": ((H + "annotation.Bogus,0_h,1,2,a,t\n").encode(), "unknown cue point type"),
    "time past 24 h": ((H + "annotation.Annotation,0_h,90000000,90000001,a,t\n").encode(), "xs:time"),
    "row longer than the header": (
        (H + "annotation.Annotation,0_h,1,2,a,t,extra\n").encode(),
        "more fields than the header",
    ),
    "later row longer": (
        (H + "annotation.Annotation,0_h,1,2,a,t\nannotation.Annotation,0_h,1,2,b,t,x\n").encode(),
        "Expected 6 fields",
    ),
    "unclosed quote": ((H + 'annotation.Annotation,0_h,1,2,a,"t\n').encode(), "not a readable CSV"),
    "invalid UTF-8": ((H + "annotation.Annotation,0_h,1,2,a,").encode() + b"\xff\xfe\n", "not UTF-8"),
    "NUL in a value": ((H + "annotation.Annotation,0_h,1,2,a,t\x00t\n").encode(), "XML"),
    "control character in a value": ((H + "annotation.Annotation,0_h,1,2,a,t\x07t\n").encode(), "XML"),
    "bad JSON": (
        b"cuePointType,entryId,startTime,question,optionalAnswers\nquiz.QUIZ_QUESTION,0_h,1,q,[oops\n",
        "not valid JSON",
    ),
    "empty file": (b"", "not a readable CSV"),
}


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env=env)
    return result.exit_code, result.output


@pytest.mark.parametrize("name", list(HOSTILE_XML))
def test_convert_refuses_hostile_xml_and_writes_nothing(tmp_path: Path, name: str) -> None:
    data, message = HOSTILE_XML[name]
    src = tmp_path / "in.xml"
    src.write_bytes(data)
    for dest in ("out.csv", "out.parquet", "out.xml"):
        code, output = run("convert", str(src), str(tmp_path / dest))
        assert code == 1, output
        assert output.startswith("error: ") and message in output and "Traceback" not in output
        assert output.count("\n") == 1, output
        assert sorted(p.name for p in tmp_path.iterdir()) == ["in.xml"]  # no output, no temporary file
    code, output = run("validate", str(src))
    assert code == 1 and "INVALID" in output and "Traceback" not in output


@pytest.mark.parametrize("name", list(BROKEN_CSV))
def test_convert_refuses_broken_tables_and_writes_nothing(tmp_path: Path, name: str) -> None:
    data, message = BROKEN_CSV[name]
    src = tmp_path / "in.csv"
    src.write_bytes(data)
    for dest in ("out.xml", "out.parquet"):
        code, output = run("convert", str(src), str(tmp_path / dest))
        if dest == "out.parquet" and name in XML_ONLY:  # a table to a table: nothing an XML rule refuses
            assert code == 0, output
            (tmp_path / dest).unlink()
            continue
        assert code == 1, output
        assert output.startswith("error: ") and message in output and "Traceback" not in output, output
        assert output.count("\n") == 1
        assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


def test_xml_reader_and_validator_errors_are_cuepipe_errors() -> None:
    import cuepipe

    for name, (data, _) in HOSTILE_XML.items():
        with pytest.raises(XMLFormatError):
            list(cuepipe.iter_cue_points(data))
        assert not cuepipe.validate(data).ok, name
    with pytest.raises(UnsafeXMLError):
        cuepipe.read_xml(BILLION_LAUGHS)


# ---------------------------------------------------------------------------------------------
# through the client and the emulator
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(start_emulator: EmulatorFactory) -> EmulatorServer:
    return start_emulator(
        partner_id=PARTNER, admin_secret=ADMIN, entries=[f"0_h{i}" for i in range(6)], fault_admin=True
    )


def test_push_refuses_bad_input_before_sending_anything(server: EmulatorServer, tmp_path: Path) -> None:
    good = cue_points("0_h1", 6)
    duplicate = [*good, dict(good[2], startTime=99_000)]
    control = [*good, dict(good[1], systemName="zz", code="bell\x07")]
    hostile = tmp_path / "hostile.xml"
    hostile.write_bytes(XXE_FILE)
    cases = [
        (duplicate, CuePointValueError, "also used by row 2"),
        (control, CuePointValueError, "record 6"),
        ([dict(good[0], cuePointType="nope")], CuePointValueError, "unknown cue point type"),
        ([dict(good[0], entryId=None)], CuePointValueError, "entryId is required"),
        (hostile, UnsafeXMLError, "DTD"),
        (BILLION_LAUGHS, UnsafeXMLError, "DTD"),
        ({"not": "a list"}, TypeError, "many cue points"),
    ]
    recorder = Recorder()
    with Client(server.url, partner_id=PARTNER, admin_secret=ADMIN, transport=recorder) as api:
        for data, error, message in cases:
            with pytest.raises(error, match=message):
                api.push(data)
    assert recorder.calls == [] and emulator_rows(server, ["0_h1"]) == []
    src = tmp_path / "dup.csv"
    with frames.TableWriter(src) as writer:
        writer.write(frames.records_to_frame(duplicate))
    env = {"KALTURA_SERVICE_URL": server.url, "KALTURA_PARTNER_ID": str(PARTNER), "KALTURA_ADMIN_SECRET": ADMIN}
    code, output = run("push", str(src), env=env)
    assert code == 1 and "systemName" in output and "Traceback" not in output
    assert emulator_rows(server, ["0_h1"]) == []


@pytest.mark.parametrize(
    "name",
    [
        "external entity",
        "billion laughs",
        "DTD",
        "deep nesting",
        "invalid UTF-8",
        "NUL character",
        "truncated",
        "wrong root",
        "empty",
    ],
)
def test_emulator_refuses_hostile_uploads_and_writes_nothing(server: EmulatorServer, name: str) -> None:
    data = HOSTILE_XML[name][0].replace(b"entryId='e'", b"entryId='0_h2'").replace(b'entryId="e"', b'entryId="0_h2"')
    with Client(server.url, partner_id=PARTNER, admin_secret=ADMIN) as api:
        ks = api.session.ks if api.session else None
        api.count({"entryIdEqual": "0_h2"})
        ks = api.session.ks
    answer = httpx.post(
        server.url + "/api_v3/service/cuepoint_cuepoint/action/addFromBulk",
        data={"ks": ks, "format": "1"},
        files={"fileData": ("x.xml", data, "text/xml")},
    )
    assert answer.status_code == 200 and answer.json()["code"] in ("XML_INVALID", "MISSING_MANDATORY_PARAMETER")
    assert emulator_rows(server, ["0_h2"]) == []


@pytest.mark.parametrize("dest", ["out.parquet", "out.csv", "out.xml"])
def test_pull_that_fails_midway_leaves_no_partial_file(server: EmulatorServer, tmp_path: Path, dest: str) -> None:
    with Client(server.url, partner_id=PARTNER, admin_secret=ADMIN) as api:
        if not emulator_rows(server, ["0_h3"]):
            api.push(cue_points("0_h3", 60))
    # 400: not retried, so the test is quick; what matters is the page that never comes
    server.faults.replace([Fault("error", status=400, action="cuepoint.list", after=2, times=None)])
    env = {"KALTURA_SERVICE_URL": server.url, "KALTURA_PARTNER_ID": str(PARTNER), "KALTURA_ADMIN_SECRET": ADMIN}
    try:
        code, output = run("pull", "--entry-id", "0_h3", "--page-size", "10", "-o", str(tmp_path / dest), env=env)
    finally:
        server.faults.clear()
    assert code == 1 and "400" in output and "Traceback" not in output
    assert list(tmp_path.iterdir()) == []


def test_push_report_is_complete_even_when_an_upload_fails(server: EmulatorServer, tmp_path: Path) -> None:
    recs = cue_points("0_h4", 10) + [dict(r, entryId="0_nosuch") for r in cue_points("0_nosuch", 4)]
    src = tmp_path / "in.parquet"
    with frames.TableWriter(src) as writer:
        writer.write(frames.records_to_frame(recs))
    env = {"KALTURA_SERVICE_URL": server.url, "KALTURA_PARTNER_ID": str(PARTNER), "KALTURA_ADMIN_SECRET": ADMIN}
    code, output = run("push", str(src), "--report", str(tmp_path / "report.csv"), env=env)
    assert code == 1 and "INVALID_ENTRY_ID" in output
    report = frames.pd.read_csv(tmp_path / "report.csv")
    assert len(report) == 14 and report["action"].tolist() == ["created"] * 10 + ["failed"] * 4
    with Client(server.url, partner_id=PARTNER, admin_secret=ADMIN) as api, pytest.raises(PushError):
        api.push(recs[10:])

"""Reader: server quirks, sources, and clear errors for documents it cannot interpret."""

from __future__ import annotations

import gzip
import io

import pytest

import cuepipe
from cuepipe import XMLFormatError

SERVE_HEAD = (
    '<?xml version="1.0"?>\n<scenes xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xsi:noNamespaceSchemaLocation="http://cdn.example.com/api_v3/service/schema/action/serve/type/'
    'cuePoint.serveAPI">'
)


def read(text: str) -> list[dict]:
    return list(cuepipe.iter_cue_points(text.encode()))


def test_server_one_line_serve_output_with_tenths_and_dot_ten_bug():
    doc = (
        SERVE_HEAD + '<scene-code-cue-point sceneId="1_a" entryId="1_e"><sceneStartTime>00:00:05.10</sceneStartTime>'
        "<userId>u@example.com</userId><sceneEndTime>00:00:07.3</sceneEndTime><code/></scene-code-cue-point>"
        "</scenes>\n"
    )
    (rec,) = read(doc)
    # the server wrote 5950..5999 ms as "05.10"; read as the server itself would: 5.1 s
    assert rec == {
        "cuePointType": "codeCuePoint.Code",
        "id": "1_a",
        "entryId": "1_e",
        "startTime": 5100,
        "userId": "u@example.com",
        "endTime": 7300,
        "code": "",
    }


def test_thumb_serve_quirks_are_read():
    doc = (
        SERVE_HEAD + '<scene-thumb-cue-point sceneId="1_t" entryId="1_e"><sceneStartTime>00:01:00</sceneStartTime>'
        "<sceneEndTime>00:01:05</sceneEndTime><title/><description>d</description><subType>2</subType>"
        "<thumbAssetId>1_asset</thumbAssetId></scene-thumb-cue-point></scenes>"
    )
    (rec,) = read(doc)
    assert rec["assetId"] == "1_asset"
    assert rec["endTime"] == 65_000
    assert rec["title"] == "" and rec["subType"] == 2


def test_question_layout_the_server_writes():
    doc = (
        SERVE_HEAD + '<scene-question-cue-point sceneId="1_q" entryId="1_e"><sceneStartTime>00:12:00</sceneStartTime>'
        "<question>Q</question><optionalAnswers><optionalAnswer/><optionalAnswer/><optionalAnswer/>"
        "</optionalAnswers><key>1</key><text>A</text><weight>1</weight><isCorrect>1</isCorrect>"
        "<key>2</key><text>B</text><weight>0.5</weight><key>3</key><text>C</text>"
        "</scene-question-cue-point></scenes>"
    )
    (rec,) = read(doc)
    assert rec["optionalAnswers"] == [
        {"key": "1", "text": "A", "weight": 1.0, "isCorrect": 1},
        {"key": "2", "text": "B", "weight": 0.5},
        {"key": "3", "text": "C"},
    ]


def test_question_well_formed_answers():
    doc = (
        "<scenes><scene-question-cue-point entryId='e'><sceneStartTime>00:00:01</sceneStartTime>"
        "<question>Q</question><optionalAnswers><optionalAnswer><key>1</key><isCorrect>0</isCorrect>"
        "</optionalAnswer></optionalAnswers><optionalAnswers/></scene-question-cue-point></scenes>"
    )
    assert read(doc)[0]["optionalAnswers"] == [{"key": "1", "isCorrect": 0}]


def test_pretty_printed_with_comments_and_xsi_attributes():
    doc = """<?xml version="1.0" encoding="UTF-8"?>
<!-- exported -->
<scenes xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <!-- first -->
  <scene-annotation entryId="0_x" xsi:type="T_scene_annotation">
    <sceneStartTime> 00:00:01.5 </sceneStartTime>
    <?pi ignored?>
    <sceneEndTime>00:00:02</sceneEndTime>
    <sceneText>  keep my spaces  </sceneText>
  </scene-annotation>
</scenes>
"""
    (rec,) = read(doc)
    assert rec["startTime"] == 1500
    assert rec["text"] == "  keep my spaces  "


def test_time_rounding_follows_the_server():
    def start(t: str) -> int:
        doc = (
            f"<scenes><scene-code-cue-point entryId='e'><sceneStartTime>{t}</sceneStartTime>"
            "</scene-code-cue-point></scenes>"
        )
        return read(doc)[0]["startTime"]

    assert start("00:00:05.3") == 5300
    assert start("00:00:05.0005") == 5001
    assert start("00:00:05.123456") == 5123
    assert start("01:02:03.45") == 3_723_450
    assert start("00:00:59.9995") == 60_000
    with pytest.raises(XMLFormatError, match="time zones"):
        start("00:00:05Z")


def test_sources_path_bytes_fileobj_gzip(tmp_path):
    xml = cuepipe.write_xml([{"cuePointType": "codeCuePoint.Code", "entryId": "e", "startTime": 1}])
    p = tmp_path / "a.xml"
    p.write_bytes(xml)
    gz = tmp_path / "a.xml.gz"
    gz.write_bytes(gzip.compress(xml))
    odd = tmp_path / "gzipped-without-suffix"
    odd.write_bytes(gzip.compress(xml))
    expected = list(cuepipe.iter_cue_points(xml))
    for src in (p, str(p), gz, odd, io.BytesIO(xml), bytearray(xml), memoryview(xml)):
        assert list(cuepipe.iter_cue_points(src)) == expected
    with open(p, "rb") as f:
        assert list(cuepipe.iter_cue_points(f)) == expected
    with pytest.raises(TypeError, match="binary mode"):
        list(cuepipe.iter_cue_points(io.StringIO(xml.decode())))
    with pytest.raises(TypeError, match="pass literal XML as bytes"):
        list(cuepipe.iter_cue_points(xml.decode()))
    with pytest.raises(FileNotFoundError):
        list(cuepipe.iter_cue_points(tmp_path / "missing.xml"))


@pytest.mark.parametrize(
    "doc, message, line",
    [
        ("<scenes><scene-annotation entryId='e'>", "truncated", 1),
        ("<root/>", "root element is <root>", 1),
        ("", "empty", None),
        (
            "<scenes>\n<scene-event entryId='e'/>\n<scene-code-cue-point entryId='e'><sceneStartTime>00:00:01"
            "</sceneStartTime></scene-code-cue-point></scenes>",
            "unexpected element <scene-event>",
            2,
        ),
        (
            "<scenes><scene-code-cue-point entryId='e' bogus='1'><sceneStartTime>00:00:01</sceneStartTime>"
            "</scene-code-cue-point></scenes>",
            "unexpected attribute 'bogus'",
            1,
        ),
        (
            "<scenes><scene-code-cue-point entryId='e'>\n<sceneStartTime>00:00:01</sceneStartTime>\n<oops/>"
            "</scene-code-cue-point></scenes>",
            "unexpected element <oops>",
            3,
        ),
        (
            "<scenes><scene-code-cue-point entryId='e'><sceneStartTime>soon</sceneStartTime>"
            "</scene-code-cue-point></scenes>",
            "cannot read <sceneStartTime>",
            1,
        ),
        (
            "<scenes><x><scene-code-cue-point entryId='e'><sceneStartTime>00:00:01</sceneStartTime>"
            "</scene-code-cue-point></x></scenes>",
            "must be children of <scenes>",
            1,
        ),
        (
            "<scenes><scene-code-cue-point entryId='e'><sceneStartTime>00:00:01</sceneStartTime>"
            "</scene-code-cue-point>&undefined;</scenes>",
            "Entity 'undefined' not defined",
            1,
        ),
        (b"<scenes><scene-code-cue-point entryId='\xff'/></scenes>", "not well-formed", 1),
    ],
)
def test_unreadable_documents(doc, message, line):
    data = doc if isinstance(doc, bytes) else doc.encode()
    with pytest.raises(XMLFormatError, match=message) as info:
        list(cuepipe.iter_cue_points(data))
    assert info.value.line == line


def test_error_names_the_record_index():
    good = "<scene-code-cue-point entryId='e'><sceneStartTime>00:00:01</sceneStartTime></scene-code-cue-point>"
    bad = "<scene-code-cue-point entryId='e'><sceneStartTime>x</sceneStartTime></scene-code-cue-point>"
    with pytest.raises(XMLFormatError) as info:
        list(cuepipe.iter_cue_points(f"<scenes>{good}{good}{bad}</scenes>".encode()))
    assert info.value.record == 2


def test_reader_releases_elements_as_it_goes():
    """Memory stays flat: after a record is read, its element has been removed from the tree."""
    recs = [{"cuePointType": "codeCuePoint.Code", "entryId": "e", "startTime": i} for i in range(5000)]
    it = cuepipe.xml.reader.iter_rows(cuepipe.write_xml(recs))
    gen_frame = it.gi_frame
    for _ in range(4000):
        next(it)
    root = gen_frame.f_locals["root"]
    assert len(root) < 1500  # parser read-ahead plus one sweep batch, not the 4000 already consumed

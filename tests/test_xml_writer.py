"""Writer: what it emits, and every record the format cannot carry fails with record and field named."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import os

import numpy as np
import pandas as pd
import pytest

import cuepipe
from cuepipe import CuePointValueError
from cuepipe.values import DAY_MS

ANN = {"cuePointType": "annotation.Annotation", "entryId": "0_abc", "startTime": 1500, "endTime": 2000}


def one(rec, **kw):
    return cuepipe.write_xml([rec], **kw).decode()


def test_ingest_document_shape():
    text = one({**ANN, "systemName": "S1", "tags": "a,b", "text": "x & y < z"})
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<scenes>\n')
    assert (
        '<scene-annotation systemName="S1" entryId="0_abc"><sceneStartTime>00:00:01.500</sceneStartTime>'
        "<tags><tag>a</tag><tag>b</tag></tags><sceneEndTime>00:00:02</sceneEndTime>"
        "<sceneText>x &amp; y &lt; z</sceneText></scene-annotation>"
    ) in text
    assert text.endswith("</scenes>\n")


def test_serve_times_are_tenths_with_correct_carry():
    rec = {**ANN, "id": "1_x", "startTime": 5950, "endTime": 1249}
    text = one(rec, kind="serve")
    assert "<sceneStartTime>00:00:06</sceneStartTime>" in text  # not the server's 00:00:05.10
    assert "<sceneEndTime>00:00:01.2</sceneEndTime>" in text


def test_empty_serve_document():
    assert cuepipe.write_xml([], kind="serve").decode().endswith("<scenes/>\n")
    assert cuepipe.validate(cuepipe.write_xml([], kind="serve"), kind="serve").ok


def test_empty_ingest_is_an_error():
    with pytest.raises(CuePointValueError, match="at least one cue point"):
        cuepipe.write_xml([])


@pytest.mark.parametrize(
    "change, field, message",
    [
        ({"startTime": DAY_MS}, "startTime", "outside what xs:time can carry"),
        ({"startTime": -1}, "startTime", "outside"),
        ({"startTime": 1.5}, "startTime", "whole milliseconds"),
        ({"startTime": "00:00:01"}, "startTime", "expected integer milliseconds"),
        ({"startTime": True}, "startTime", "boolean"),
        ({"endTime": None}, "endTime", "is required"),
        ({"entryId": None}, "entryId", "is required"),
        ({"entryId": "x" * 21}, "entryId", "at most 20"),
        ({"systemName": "s" * 121}, "systemName", "at most 120"),
        ({"text": 42}, "text", "expected text"),
        ({"text": "bell \x07"}, "text", r"U\+0007"),
        ({"text": "lone \ud800"}, "text", r"U\+D800"),
        ({"tags": "a,,b"}, "tags", "empty"),
        ({"tags": "x" * 31}, "tags", "30"),
        ({"cuePointType": "annotation.Annotaton"}, "cuePointType", "unknown cue point type"),
        ({"cuePointType": None}, "cuePointType", "missing"),
        ({"cuePointType": "eventCuePoint.Event"}, "cuePointType", "no XML form"),
        ({"startTme": 5}, "startTme", "did you mean 'startTime'"),
        ({"code": "c"}, "code", "cannot carry 'code'"),
        ({"userId": "u"}, "userId", "cannot carry 'userId' in the ingest format"),
        ({"parentId": "1_p", "parentSystemName": "P"}, "parentId", "only one of"),
    ],
)
def test_bad_records_name_record_and_field(change, field, message):
    recs = [dict(ANN), {**ANN, **change}]
    with pytest.raises(CuePointValueError, match=message) as info:
        cuepipe.write_xml(recs)
    assert info.value.record == 1
    assert info.value.field == field
    assert "record 1" in str(info.value)


def test_ad_enums_accept_values_names_and_members():
    base = {"cuePointType": "adCuePoint.Ad", "entryId": "e", "startTime": 0}
    for ad_type, protocol in [
        ("1", "2"),
        (1, 2),
        ("VIDEO", "VAST_2_0"),
        ("overlay", "vpaid"),
        (cuepipe.vocabulary.AdType.OVERLAY, cuepipe.vocabulary.AdProtocolType.CUSTOM),
    ]:
        assert cuepipe.validate(cuepipe.write_xml([{**base, "adType": ad_type, "protocolType": protocol}])).ok
    with pytest.raises(CuePointValueError, match=r"not a valid AdType; expected one of 1 \(VIDEO\)"):
        cuepipe.write_xml([{**base, "adType": "3", "protocolType": "1"}])


def test_unsupported_ignore_leaves_out_what_the_kind_cannot_carry():
    rec = {**ANN, "userId": "someone", "assetId": "1_a"}
    text = one(rec, unsupported="ignore")
    assert "someone" not in text and "1_a" not in text
    with pytest.raises(CuePointValueError, match="unknown field"):
        one({**ANN, "bogus": 1}, unsupported="ignore")


def test_times_accept_timedelta_and_numpy():
    rec = {**ANN, "startTime": dt.timedelta(seconds=1, milliseconds=5), "endTime": np.int64(2000)}
    assert "<sceneStartTime>00:00:01.005</sceneStartTime>" in one(rec)
    assert "00:00:01.005" in one({**ANN, "startTime": pd.Timedelta("1.005s")})
    with pytest.raises(CuePointValueError, match="sub-millisecond"):
        one({**ANN, "startTime": dt.timedelta(microseconds=1500)})


def test_characters_that_need_references_survive():
    text = "line1\r\nline2\rend\t"
    name = "tab\tnew\nline\r&\"quote'"
    xml = cuepipe.write_xml([{**ANN, "text": text, "systemName": name}])
    rec = next(cuepipe.iter_cue_points(xml))
    assert rec["text"] == text
    assert rec["systemName"] == name


def test_dataframe_with_unknown_column_is_refused():
    df = pd.DataFrame([{**ANN, "entryID": "x"}])
    with pytest.raises(CuePointValueError, match="did you mean 'entryId'"):
        cuepipe.write_xml(df)


def test_write_to_path_gzip_and_file_object(tmp_path):
    recs = [ANN, {**ANN, "startTime": 3000}]
    p = tmp_path / "out.xml.gz"
    assert cuepipe.write_xml(recs, p) == 2
    with gzip.open(p) as f:
        assert f.read() == cuepipe.write_xml(recs)
    assert len(cuepipe.read_xml(p)) == 2
    buf = io.BytesIO()
    assert cuepipe.write_xml(recs, buf) == 2
    assert buf.getvalue() == cuepipe.write_xml(recs)
    with pytest.raises(TypeError, match="binary mode"):
        cuepipe.write_xml(recs, io.StringIO())


def test_failed_write_leaves_no_file_and_keeps_old_one(tmp_path):
    p = tmp_path / "out.xml"
    p.write_bytes(b"old")
    with pytest.raises(CuePointValueError):
        cuepipe.write_xml([ANN, {**ANN, "startTime": -5}], p)
    assert p.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["out.xml"]


def test_streaming_writer_consumes_a_generator_lazily():
    seen = []

    def gen():
        for i in range(10_000):
            seen.append(i)
            yield {**ANN, "startTime": i}

    chunks = cuepipe.iter_xml_chunks(gen())
    next(chunks)
    assert len(seen) < 10_000  # the first chunk came before the whole input was read
    rest = b"".join(chunks)
    assert rest.endswith(b"</scenes>\n")


def test_custom_metadata_must_be_one_plain_element():
    base = {**ANN}
    for bad, msg in [
        ("<a/><b/>", "not well-formed"),
        ("text", "not well-formed"),
        ('<m:a xmlns:m="urn:x"/>', "namespace"),
        ("", "needs 'xml'"),
    ]:
        with pytest.raises(CuePointValueError, match=msg):
            one({**base, "customData": [{"metadataProfileId": 1, "xml": bad}]})
    with pytest.raises(CuePointValueError, match="needs 'metadataVersion'"):
        one(
            {
                **base,
                "id": "1_x",
                "customData": [{"metadataId": 1, "metadataProfileId": 2, "metadataProfileVersion": 1, "xml": "<m/>"}],
            },
            kind="serve",
        )


def test_unsupported_ignore_drops_serve_only_metadata_attributes():
    rec = {
        **ANN,
        "customData": [
            {
                "metadataId": 5,
                "metadataVersion": 1,
                "metadataProfileId": 12,
                "metadataProfileVersion": 3,
                "xml": "<metadata><Note>x</Note></metadata>",
            }
        ],
    }
    with pytest.raises(CuePointValueError, match="not carried by the ingest format"):
        one(rec)
    text = one(rec, unsupported="ignore")
    assert 'metadataId="5"' in text and "metadataVersion" not in text and "metadataProfileVersion" not in text
    assert cuepipe.validate(text.encode()).ok


def test_files_get_the_usual_mode(tmp_path):
    p = tmp_path / "out.xml"
    cuepipe.write_xml([ANN], p)
    umask = os.umask(0o022)
    os.umask(umask)
    assert p.stat().st_mode & 0o777 == 0o666 & ~umask

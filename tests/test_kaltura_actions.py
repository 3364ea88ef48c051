"""Request builders: exact paths and params for every action; body encodings; the httpx adapter."""

from __future__ import annotations

import email.parser
import email.policy
import json
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from cuepipe.kaltura import (
    Context,
    FilePart,
    KalturaAdCuePointFilter,
    KalturaAnnotationFilter,
    KalturaBulkUploadEntryData,
    KalturaBulkUploadFilter,
    KalturaBulkUploadPluginData,
    KalturaBulkUploadResult,
    KalturaBulkUploadXmlJobData,
    KalturaCuePointFilter,
    KalturaFilterPager,
    Response,
    batch_add_bulk_upload_result,
    batch_count_bulk_upload_entries,
    batch_get_bulk_upload_last_result,
    batch_update_bulk_upload_results,
    bulk_upload_abort,
    bulk_upload_add_entries,
    bulk_upload_get,
    bulk_upload_list,
    bulk_upload_serve,
    bulk_upload_serve_log,
    core_bulk_upload_add,
    cue_point_add_from_bulk,
    cue_point_count,
    cue_point_delete,
    cue_point_get,
    cue_point_list,
    cue_point_serve_bulk,
    decode_result,
    encode_body,
    media_bulk_upload_add,
    session_start,
    unflatten,
)
from cuepipe.kaltura._httpx import from_httpx, to_httpx
from cuepipe.kaltura.errors import KalturaParamError, KalturaParamTypeError
from cuepipe.vocabulary import (
    BatchJobStatus,
    BulkUploadObjectType,
    BulkUploadResultStatus,
    BulkUploadType,
    SessionType,
)

KS = "djJ8MTIzfFRFU1RLU1RFU1RLU1RFU1RLUw=="
CTX = Context(partner_id=123, ks=KS)
COMMON = {"format": "1", "clientTag": "cuepipe", "apiVersion": "23.3.0", "partnerId": "123", "ks": KS}
FLT = KalturaAnnotationFilter(entry_id_equal="0_e")
FLT_PARAMS = {"filter[objectType]": "KalturaAnnotationFilter", "filter[entryIdEqual]": "0_e"}
PAGER = KalturaFilterPager(page_size=100, page_index=2)
PAGER_PARAMS = {"pager[objectType]": "KalturaFilterPager", "pager[pageSize]": "100", "pager[pageIndex]": "2"}


def _check(request, service, action, params, result, *, files=()):
    assert request.method == "POST"
    assert request.path == f"/api_v3/service/{service}/action/{action}"
    assert dict(request.params) == {**COMMON, **params}
    assert request.result == result
    assert [(f.field, f.filename) for f in request.files] == list(files)


# ------------------------------------------------------------------------------------------------
# Cue point services
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("service", ["cuepoint_cuepoint", "annotation_annotation"])
def test_cue_point_builders(service):
    kw = {"service": service}
    _check(
        cue_point_list(CTX, FLT, PAGER, **kw),
        service,
        "list",
        {**FLT_PARAMS, **PAGER_PARAMS},
        "cue_point_list",
    )
    _check(cue_point_list(CTX, **kw), service, "list", {}, "cue_point_list")
    _check(
        cue_point_serve_bulk(CTX, FLT, PAGER, **kw),
        service,
        "serveBulk",
        {**FLT_PARAMS, **PAGER_PARAMS},
        "file",
    )
    _check(cue_point_serve_bulk(CTX, **kw), service, "serveBulk", {}, "file")
    _check(cue_point_count(CTX, FLT, **kw), service, "count", FLT_PARAMS, "count")
    _check(cue_point_get(CTX, "0_cp", **kw), service, "get", {"id": "0_cp"}, "cue_point")
    _check(cue_point_delete(CTX, "0_cp", **kw), service, "delete", {"id": "0_cp"}, "void")
    request = cue_point_add_from_bulk(CTX, b"<scenes/>", **kw)
    _check(request, service, "addFromBulk", {}, "cue_point_list", files=[("fileData", "cue_points.xml")])
    assert request.files[0].content_type in ("application/xml", "text/xml")
    assert request.files[0].size == 9
    assert cue_point_get(CTX, "0_cp", **kw).returns_file is False
    assert cue_point_serve_bulk(CTX, **kw).returns_file is True


def test_cue_point_builder_argument_checks():
    with pytest.raises(KalturaParamError, match="cue point service"):
        cue_point_list(CTX, service="cuepoint")  # type: ignore[arg-type]
    with pytest.raises(KalturaParamTypeError, match="cue point filter"):
        cue_point_list(CTX, KalturaBulkUploadFilter())  # type: ignore[arg-type]
    with pytest.raises(KalturaParamError, match="type-specific fields dropped"):
        cue_point_list(CTX, KalturaAdCuePointFilter(entry_id_equal="0_e"), service="annotation_annotation")
    cue_point_list(CTX, KalturaCuePointFilter(entry_id_equal="0_e"), service="annotation_annotation")
    with pytest.raises(KalturaParamTypeError, match="KalturaFilterPager"):
        cue_point_list(CTX, FLT, {"pageSize": 5})  # type: ignore[arg-type]
    with pytest.raises(KalturaParamTypeError, match="id must be a non-empty str"):
        cue_point_get(CTX, "")
    with pytest.raises(KalturaParamTypeError, match="id must be a non-empty str"):
        cue_point_delete(CTX, 5)  # type: ignore[arg-type]
    with pytest.raises(KalturaParamError, match="filename"):
        cue_point_add_from_bulk(CTX, b"x", filename="")
    with pytest.raises(KalturaParamTypeError, match="not str"):
        cue_point_add_from_bulk(CTX, "<scenes/>")  # type: ignore[arg-type]


def test_context_without_ks_or_partner():
    request = cue_point_get(Context(), "0_cp")
    assert dict(request.params) == {
        "format": "1",
        "clientTag": "cuepipe",
        "apiVersion": "23.3.0",
        "id": "0_cp",
    }
    ctx = Context(partner_id=5, client_tag="tool", api_version="1.0", language="en").with_ks("k")
    assert cue_point_count(ctx).params == {
        "format": "1",
        "clientTag": "tool",
        "apiVersion": "1.0",
        "language": "en",
        "partnerId": "5",
        "ks": "k",
    }


# ------------------------------------------------------------------------------------------------
# Session
# ------------------------------------------------------------------------------------------------


def test_session_start():
    request = session_start(
        CTX,
        "s3cret",
        user_id="u@x",
        type=SessionType.ADMIN,
        expiry=3600,
        privileges={"disableentitlement": None, "sview": "0_e"},
    )
    assert request.path == "/api_v3/service/session/action/start"
    assert dict(request.params) == {
        "format": "1",
        "clientTag": "cuepipe",
        "apiVersion": "23.3.0",
        "partnerId": "123",
        "secret": "s3cret",
        "userId": "u@x",
        "type": "2",
        "expiry": "3600",
        "privileges": "disableentitlement,sview:0_e",
    }
    assert request.result == "ks"
    plain = session_start(Context(), "s", partner_id=7)
    assert dict(plain.params) == {
        "format": "1",
        "clientTag": "cuepipe",
        "apiVersion": "23.3.0",
        "secret": "s",
        "userId": "",
        "type": "0",
        "partnerId": "7",
        "expiry": "86400",
    }
    with pytest.raises(KalturaParamError, match="needs a partner id"):
        session_start(Context(), "s")
    with pytest.raises(KalturaParamTypeError, match="secret"):
        session_start(CTX, "")


# ------------------------------------------------------------------------------------------------
# Bulk upload
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("service", ["bulkupload_bulk", "bulkupload"])
def test_bulk_upload_job_builders(service):
    kw = {"service": service}
    _check(bulk_upload_get(CTX, 42, **kw), service, "get", {"id": "42"}, "bulk_upload")
    _check(bulk_upload_abort(CTX, 42, **kw), service, "abort", {"id": "42"}, "bulk_upload")
    _check(bulk_upload_serve(CTX, 42, **kw), service, "serve", {"id": "42"}, "file")
    _check(bulk_upload_serve_log(CTX, 42, **kw), service, "serveLog", {"id": "42"}, "serve_log")
    _check(bulk_upload_list(CTX, pager=PAGER, **kw), service, "list", PAGER_PARAMS, "bulk_upload_list")
    with pytest.raises(KalturaParamTypeError, match="id must be an int"):
        bulk_upload_get(CTX, "42", **kw)  # type: ignore[arg-type]
    with pytest.raises(KalturaParamTypeError):
        bulk_upload_get(CTX, True, **kw)


def test_bulk_upload_list_with_filter():
    flt = KalturaBulkUploadFilter(status_in=[BatchJobStatus.FINISHED], bulk_upload_object_type_equal="1")
    _check(
        bulk_upload_list(CTX, flt),
        "bulkupload_bulk",
        "list",
        {
            "bulkUploadFilter[objectType]": "KalturaBulkUploadFilter",
            "bulkUploadFilter[statusIn]": "5",
            "bulkUploadFilter[bulkUploadObjectTypeEqual]": "1",
        },
        "bulk_upload_list",
    )
    with pytest.raises(KalturaParamError, match="core bulkupload.list takes no filter"):
        bulk_upload_list(CTX, flt, service="bulkupload")
    with pytest.raises(KalturaParamTypeError, match="KalturaBulkUploadFilter"):
        bulk_upload_list(CTX, FLT)  # type: ignore[arg-type]
    with pytest.raises(KalturaParamError, match="bulk upload service"):
        bulk_upload_get(CTX, 1, service="bulk")  # type: ignore[arg-type]


def test_add_entries_and_its_media_alias():
    job = KalturaBulkUploadXmlJobData(file_name="cues.xml")
    entry = KalturaBulkUploadEntryData(conversion_profile_id=-1)
    expected = {
        "bulkUploadData[objectType]": "KalturaBulkUploadXmlJobData",
        "bulkUploadData[fileName]": "cues.xml",
        "bulkUploadEntryData[objectType]": "KalturaBulkUploadEntryData",
        "bulkUploadEntryData[conversionProfileId]": "-1",
    }
    files = [("fileData", "mrss.xml")]
    request = bulk_upload_add_entries(CTX, b"<mrss/>", filename="mrss.xml", job_data=job, entry_data=entry)
    _check(request, "bulkupload_bulk", "addEntries", expected, "bulk_upload", files=files)
    alias = media_bulk_upload_add(CTX, b"<mrss/>", filename="mrss.xml", job_data=job, entry_data=entry)
    _check(alias, "media", "bulkUploadAdd", expected, "bulk_upload", files=files)
    bare = bulk_upload_add_entries(CTX, b"x", filename="a.csv")
    _check(bare, "bulkupload_bulk", "addEntries", {}, "bulk_upload", files=[("fileData", "a.csv")])
    with pytest.raises(KalturaParamTypeError, match="job_data must be a KalturaBulkUploadJobData"):
        bulk_upload_add_entries(CTX, b"x", filename="a", job_data=entry)  # type: ignore[arg-type]


def test_core_bulk_upload_add():
    request = core_bulk_upload_add(
        CTX,
        b"a,b\n",
        filename="in.csv",
        bulk_upload_type=BulkUploadType.CSV,
        uploaded_by="me",
        file_name="renamed.csv",
    )
    _check(
        request,
        "bulkupload",
        "add",
        {
            "conversionProfileId": "-1",
            "bulkUploadType": "bulkUploadCsv.CSV",
            "uploadedBy": "me",
            "fileName": "renamed.csv",
        },
        "bulk_upload",
        files=[("csvFileData", "in.csv")],
    )
    minimal = core_bulk_upload_add(CTX, b"", filename="in.csv", conversion_profile_id=7)
    assert minimal.params["conversionProfileId"] == "7" and "bulkUploadType" not in minimal.params
    with pytest.raises(KalturaParamError, match="is not a BulkUploadType"):
        core_bulk_upload_add(CTX, b"", filename="in.csv", bulk_upload_type="CSV")  # type: ignore[arg-type]


def test_batch_builders():
    result = KalturaBulkUploadResult(bulk_upload_job_id=9, line_index=1, status=BulkUploadResultStatus.OK)
    plugin = [KalturaBulkUploadPluginData(field="f", value="v")]
    _check(
        batch_add_bulk_upload_result(CTX, result, plugin),
        "batch",
        "addBulkUploadResult",
        {
            "bulkUploadResult[objectType]": "KalturaBulkUploadResult",
            "bulkUploadResult[bulkUploadJobId]": "9",
            "bulkUploadResult[lineIndex]": "1",
            "bulkUploadResult[status]": "2",
            "pluginDataArray[0][objectType]": "KalturaBulkUploadPluginData",
            "pluginDataArray[0][field]": "f",
            "pluginDataArray[0][value]": "v",
        },
        "bulk_upload_result",
    )
    empty = batch_add_bulk_upload_result(CTX, result, [])
    assert empty.params["pluginDataArray[-]"] == ""
    _check(
        batch_count_bulk_upload_entries(CTX, 9),
        "batch",
        "countBulkUploadEntries",
        {"bulkUploadJobId": "9", "bulkUploadObjectType": "1"},
        "key_value_counts",
    )
    _check(
        batch_count_bulk_upload_entries(CTX, 9, BulkUploadObjectType.CATEGORY),
        "batch",
        "countBulkUploadEntries",
        {"bulkUploadJobId": "9", "bulkUploadObjectType": "2"},
        "key_value_counts",
    )
    _check(
        batch_get_bulk_upload_last_result(CTX, 9),
        "batch",
        "getBulkUploadLastResult",
        {"bulkUploadJobId": "9"},
        "bulk_upload_result_or_none",
    )
    _check(
        batch_update_bulk_upload_results(CTX, 9),
        "batch",
        "updateBulkUploadResults",
        {"bulkUploadJobId": "9"},
        "int",
    )
    with pytest.raises(KalturaParamTypeError):
        batch_add_bulk_upload_result(CTX, {"lineIndex": 1})  # type: ignore[arg-type]
    with pytest.raises(KalturaParamTypeError):
        batch_add_bulk_upload_result(CTX, result, [{"field": "f"}])  # type: ignore[list-item]
    with pytest.raises(KalturaParamError, match="not a BulkUploadObjectType"):
        batch_count_bulk_upload_entries(CTX, 9, "ENTRY")  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------------
# Request value and bodies
# ------------------------------------------------------------------------------------------------


def test_request_is_immutable_and_its_url_forms():
    request = cue_point_get(CTX, "0_cp")
    with pytest.raises(TypeError):
        request.params["id"] = "x"  # type: ignore[index]
    with pytest.raises(AttributeError):
        request.method = "GET"  # type: ignore[misc]
    assert request.url("https://h.example/") == "https://h.example/api_v3/service/cuepoint_cuepoint/action/get"
    query = dict(parse_qsl(urlsplit(request.url("https://h.example", query=True)).query))
    assert query == dict(request.params)
    assert request.as_get().method == "GET"
    assert request.with_params(id="0_x").params["id"] == "0_x"
    assert request.replayable
    with pytest.raises(KalturaParamError, match="must be POSTed"):
        cue_point_add_from_bulk(CTX, b"x").as_get()


def test_form_and_json_bodies():
    request = cue_point_list(CTX, FLT, PAGER)
    form = encode_body(request)
    assert form.content_type == "application/x-www-form-urlencoded"
    assert isinstance(form.content, bytes) and form.length == len(form.content)
    assert dict(parse_qsl(form.content.decode())) == dict(request.params)
    body = encode_body(request, encoding="json")
    assert body.content_type == "application/json"  # exactly: a charset suffix disables JSON on the server
    assert isinstance(body.content, bytes)
    assert json.loads(body.content) == unflatten(request.params)


def _parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, tuple[str, str, bytes]]]:
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    fields, files = {}, {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        filename = part.get_filename()
        payload = part.get_payload(decode=True)
        if filename is None:
            fields[name] = payload.decode()
        else:
            files[name] = (filename, part.get_content_type(), payload)
    return fields, files


def test_multipart_with_bytes_has_fields_and_file():
    request = cue_point_add_from_bulk(CTX, b"<scenes>\r\n</scenes>", filename='a"b.xml')
    body = encode_body(request, boundary="BOUNDARY")
    assert body.content_type == "multipart/form-data; boundary=BOUNDARY"
    assert isinstance(body.content, bytes) and body.length == len(body.content)
    fields, files = _parse_multipart(body.content_type, body.content)
    assert fields == dict(request.params)
    assert files == {"fileData": ("a%22b.xml", "application/xml", b"<scenes>\r\n</scenes>")}


def test_multipart_json_field_layout_like_the_official_client():
    request = cue_point_add_from_bulk(CTX, b"<scenes/>")
    body = encode_body(request, encoding="json", boundary="B")
    fields, files = _parse_multipart(body.content_type, body.content)
    assert list(fields) == ["json"]
    assert json.loads(fields["json"]) == dict(request.params)
    assert files["fileData"][2] == b"<scenes/>"


def test_multipart_streams_iterator_content_and_knows_length_when_given():
    chunks = [b"<scenes>", bytearray(b"<scene-annotation/>"), b"", b"</scenes>"]
    size = sum(len(c) for c in chunks)
    request = cue_point_add_from_bulk(CTX, iter(chunks), size=size)
    assert not request.replayable
    body = encode_body(request, boundary="S")
    assert not isinstance(body.content, bytes)
    data = b"".join(body.content)
    assert body.length == len(data)
    _, files = _parse_multipart(body.content_type, data)
    assert files["fileData"][2] == b"<scenes><scene-annotation/></scenes>"

    unknown = encode_body(cue_point_add_from_bulk(CTX, iter([b"a", b"b"])), boundary="S")
    assert unknown.length is None and "Content-Length" not in unknown.headers()
    assert b"".join(unknown.content).count(b"ab") == 1


def test_streamed_content_is_checked():
    wrong_size = encode_body(cue_point_add_from_bulk(CTX, iter([b"abc"]), size=5))
    with pytest.raises(KalturaParamError, match="streamed 3 bytes but size said 5"):
        b"".join(wrong_size.content)
    wrong_type = encode_body(cue_point_add_from_bulk(CTX, iter(["text"])))  # type: ignore[list-item]
    with pytest.raises(KalturaParamTypeError, match="chunks must be bytes"):
        b"".join(wrong_type.content)
    with pytest.raises(KalturaParamError, match="does not match"):
        FilePart("fileData", "a", b"abc", size=2)
    assert (
        repr(FilePart("fileData", "a.xml", b"secret bytes")) == "FilePart(field='fileData', filename='a.xml', size=12)"
    )


# ------------------------------------------------------------------------------------------------
# httpx adapter, through MockTransport
# ------------------------------------------------------------------------------------------------


def test_httpx_round_trip_for_a_form_request():
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen["url"] = str(request.url)
        seen["params"] = unflatten(dict(parse_qsl(request.read().decode())))
        seen["content_type"] = request.headers["content-type"]
        body = {
            "objects": [{"id": "0_c", "entryId": "0_e", "startTime": 5, "objectType": "KalturaAnnotation"}],
            "totalCount": 1,
            "objectType": "KalturaAnnotationListResponse",
        }
        return httpx.Response(200, json=body)

    request = cue_point_list(CTX, FLT, service="annotation_annotation")
    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        response = from_httpx(client.send(to_httpx(request, "https://kaltura.test")))
    assert seen["url"] == "https://kaltura.test/api_v3/service/annotation_annotation/action/list"
    assert seen["content_type"] == "application/x-www-form-urlencoded"
    assert seen["params"]["filter"] == {"objectType": "KalturaAnnotationFilter", "entryIdEqual": "0_e"}
    assert seen["params"]["ks"] == KS and seen["params"]["format"] == "1"
    page = decode_result(request, response)
    assert page.total_count == 1
    assert page.objects == [{"id": "0_c", "entryId": "0_e", "cuePointType": "annotation.Annotation", "startTime": 5}]


def test_httpx_streams_a_multipart_upload():
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen["headers"] = dict(request.headers)
        fields, files = _parse_multipart(request.headers["content-type"], request.read())
        seen["fields"], seen["files"] = fields, files
        return httpx.Response(200, json={"objects": [], "totalCount": 0, "objectType": "KalturaCuePointListResponse"})

    chunks = [b"<scenes>", b"</scenes>"]
    request = cue_point_add_from_bulk(CTX, iter(chunks), size=17)
    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        response = from_httpx(client.send(to_httpx(request, "https://kaltura.test")))
    assert seen["headers"]["content-length"] == str(int(seen["headers"]["content-length"]))
    assert "transfer-encoding" not in seen["headers"]
    assert seen["fields"]["ks"] == KS
    assert seen["files"]["fileData"] == ("cue_points.xml", "application/xml", b"<scenes></scenes>")
    assert decode_result(request, response).total_count == 0


def test_httpx_get_puts_params_in_the_query():
    httpx_request = to_httpx(cue_point_serve_bulk(CTX, FLT).as_get(), "https://kaltura.test")
    assert httpx_request.method == "GET"
    assert dict(httpx_request.url.params)["filter[entryIdEqual]"] == "0_e"


def test_from_httpx_keeps_repeated_headers():
    response = from_httpx(httpx.Response(200, headers=[("X-A", "1"), ("x-a", "2")], content=b"{}"))
    assert response.header("X-A") == "1, 2"
    assert isinstance(response, Response)

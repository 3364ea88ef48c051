"""Response decoding: HTTP-200 API errors, X-Kaltura headers, HTTP failures, typed results, redaction."""

from __future__ import annotations

import json
import pickle

import pytest

from cuepipe import vocabulary as voc
from cuepipe.kaltura import (
    API_ERRORS,
    BulkUploadLogNotReadyError,
    Context,
    InvalidEntryIdError,
    InvalidKSError,
    KalturaAPIError,
    KalturaHTTPError,
    KalturaInvalidRequestError,
    KalturaNotFoundError,
    KalturaPermissionError,
    KalturaResponseError,
    KalturaServerError,
    KalturaSessionError,
    PropertyCannotBeNullError,
    Response,
    ServiceForbiddenError,
    XMLInvalidError,
    api_error,
    api_error_from_headers,
    batch_count_bulk_upload_entries,
    batch_get_bulk_upload_last_result,
    batch_update_bulk_upload_results,
    bulk_upload_get,
    bulk_upload_list,
    bulk_upload_serve_log,
    cue_point_count,
    cue_point_delete,
    cue_point_get,
    cue_point_record,
    cue_point_serve_bulk,
    decode_file,
    decode_json,
    decode_list,
    decode_result,
    file_body_is_error,
    redact,
    redact_params,
    session_start,
)
from cuepipe.kaltura.errors import KalturaError
from cuepipe.vocabulary import BatchJobErrorType, BatchJobStatus, BulkUploadObjectType, BulkUploadResultStatus

CTX = Context(partner_id=1, ks="djJ8MXxTRUNSRVRTRUNSRVRTRUNSRVQ=")
KS = "djJ8MTIzfFRFU1RLU1RFU1RLU1RFU1RLUw=="


def ok(data, **headers) -> Response:
    return Response(200, {"Content-Type": "application/json", **headers}, json.dumps(data).encode())


def error_body(code, message, args) -> dict:
    return {"code": code, "message": message, "objectType": "KalturaAPIException", "args": args}


# ------------------------------------------------------------------------------------------------
# HTTP-200 API errors
# ------------------------------------------------------------------------------------------------


def test_api_exception_with_http_200_raises_typed_error():
    response = ok(error_body("INVALID_CUE_POINT_ID", "Invalid cue point id [0_x]", {"ID": "0_x"}))
    with pytest.raises(KalturaNotFoundError) as info:
        decode_json(response)
    error = info.value
    assert (error.code, error.message, error.args) == (
        "INVALID_CUE_POINT_ID",
        "Invalid cue point id [0_x]",
        {"ID": "0_x"},
    )
    assert str(error) == "INVALID_CUE_POINT_ID: Invalid cue point id [0_x]"
    assert isinstance(error, KalturaAPIError) and isinstance(error, KalturaError)


def test_empty_args_arrive_as_a_php_empty_array():
    with pytest.raises(KalturaSessionError) as info:
        decode_json(ok(error_body("MISSING_KS", "Missing KS, session not established", [])))
    assert info.value.args == {}


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        ("INVALID_KS", InvalidKSError),
        ("MISSING_KS", KalturaSessionError),
        ("XML_INVALID", XMLInvalidError),
        ("INVALID_ENTRY_ID", InvalidEntryIdError),
        ("PROPERTY_VALIDATION_CANNOT_BE_NULL", PropertyCannotBeNullError),
        ("SERVICE_FORBIDDEN", ServiceForbiddenError),
        ("FEATURE_FORBIDDEN", KalturaPermissionError),
        ("BULK_UPLOAD_NOT_FOUND", KalturaNotFoundError),
        ("INVALID_ENUM_VALUE", KalturaInvalidRequestError),
        ("INTERNAL_SERVERL_ERROR", KalturaServerError),
        ("SOMETHING_NEW", KalturaAPIError),
    ],
)
def test_error_code_lookup(code, cls):
    error = api_error(code, "m", {})
    assert type(error) is cls
    assert API_ERRORS.get(code, KalturaAPIError) is cls


def test_expired_ks_and_property_names():
    expired = api_error(
        "INVALID_KS",
        'Invalid KS "EXPIRED", Error "-1,INVALID_STR"',
        {"KSID": "EXPIRED", "ERR_CODE": "-1", "ERR_DESC": "INVALID_STR"},
    )
    assert isinstance(expired, InvalidKSError) and expired.expired and expired.reason == "EXPIRED"
    assert expired.message == 'Invalid KS "EXPIRED", Error "-1,INVALID_STR"'
    garbled = api_error("INVALID_KS", f'Invalid KS "{KS}"', {"KSID": KS, "ERR_CODE": "-1"})
    assert not garbled.expired and garbled.reason is None and KS not in str(garbled)
    null = api_error(
        "PROPERTY_VALIDATION_CANNOT_BE_NULL",
        "x",
        {
            "PROP_NAME": "KalturaAnnotationFilter::idEqual/KalturaAnnotationFilter::idIn/"
            "KalturaAnnotationFilter::entryIdEqual/KalturaAnnotationFilter::entryIdIn"
        },
    )
    assert null.property_names[0] == "KalturaAnnotationFilter::idEqual" and len(null.property_names) == 4


def test_bare_code_error_and_pickling():
    # addFromBulk rewraps it with no message (docs/kaltura-api.md#addfrombulk)
    error = api_error("INVALID_ENTRY_ID", "", [])
    assert str(error) == "INVALID_ENTRY_ID" and isinstance(error, InvalidEntryIdError)
    copy = pickle.loads(pickle.dumps(api_error("XML_INVALID", "XML is invalid", {"A": "1"})))
    assert type(copy) is XMLInvalidError and copy.args == {"A": "1"} and copy.message == "XML is invalid"
    assert repr(copy) == "XMLInvalidError(code='XML_INVALID', message='XML is invalid', args={'A': '1'})"


def test_xml_format_error_document_is_understood():
    body = (
        b'<?xml version="1.0" encoding="utf-8"?><xml><result><error><code>INVALID_CUE_POINT_ID</code>'
        b"<message>Invalid cue point id [0_x]</message><objectType>KalturaAPIException</objectType>"
        b"<args><item><objectType>KalturaApiExceptionArg</objectType><name>ID</name><value>0_x</value>"
        b"</item></args></error></result><executionTime>0.01</executionTime></xml>"
    )
    with pytest.raises(KalturaNotFoundError) as info:
        decode_json(Response(200, {"Content-Type": "text/xml"}, body))
    assert info.value.args == {"ID": "0_x"}


# ------------------------------------------------------------------------------------------------
# File actions: X-Kaltura headers
# ------------------------------------------------------------------------------------------------


def test_file_action_error_headers():
    headers = {
        "X-Kaltura": "error- INVALID_CUE_POINT_ID",
        "X-Kaltura-App": "exiting on error INVALID_CUE_POINT_ID - Invalid cue point id [0_x]",
    }
    response = Response(200, headers, b"")
    with pytest.raises(KalturaNotFoundError) as info:
        decode_result(cue_point_serve_bulk(CTX), response)
    assert info.value.code == "INVALID_CUE_POINT_ID"
    assert info.value.message == "Invalid cue point id [0_x]"
    with pytest.raises(KalturaNotFoundError):
        file_body_is_error(200, response.headers)


@pytest.mark.parametrize(
    ("headers", "code", "message"),
    [
        ({"X-Kaltura": "error-XML_INVALID"}, "XML_INVALID", ""),
        (
            {"x-kaltura-app": "exiting on error FILE_DOESNT_EXIST - File doesnt exist"},
            "FILE_DOESNT_EXIST",
            "File doesnt exist",
        ),
        (
            {"X-Kaltura-Error-Code": "SERVICE_FORBIDDEN", "X-Kaltura-Error-Msg": "no"},
            "SERVICE_FORBIDDEN",
            "no",
        ),
        ({"X-Kaltura": "error-6", "X-Kaltura-Error": "flavor &amp; stuff"}, "6", "flavor & stuff"),
    ],
)
def test_error_header_variants(headers, code, message):
    error = api_error_from_headers(Response(200, headers).headers)
    assert error is not None and (error.code, error.message) == (code, message)


def test_non_error_x_kaltura_header_is_ignored_and_file_returned():
    response = Response(
        200, {"X-Kaltura": "cached-dispatcher", "Content-Type": "text/xml; charset=UTF-8"}, b"<scenes/>"
    )
    assert api_error_from_headers(response.headers) is None
    assert decode_result(cue_point_serve_bulk(CTX), response) == b"<scenes/>"


def test_pre_action_error_on_a_file_action_comes_as_json():
    response = ok(error_body("INVALID_KS", 'Invalid KS "EXPIRED"', {"KSID": "EXPIRED", "ERR_CODE": "-1"}))
    assert file_body_is_error(200, response.headers) is True
    with pytest.raises(InvalidKSError):
        decode_file(response)
    with pytest.raises(KalturaResponseError, match="expected a file"):
        decode_file(ok({"objects": []}))


def test_serve_log_not_ready_and_ready():
    request = bulk_upload_serve_log(CTX, 7)
    not_ready = Response(
        200,
        {"Content-Type": "text/xml"},
        b'<?xml version="1.0"?>\n<mrss><error>Log file is not ready: job 7 pending</error></mrss>',
    )
    with pytest.raises(BulkUploadLogNotReadyError, match="job 7 pending"):
        decode_result(request, not_ready)
    log = b'<?xml version="1.0"?><mrss><channel><item><result>OK</result></item></channel></mrss>'
    assert decode_result(request, Response(200, {}, log)) == log


# ------------------------------------------------------------------------------------------------
# HTTP-level failures
# ------------------------------------------------------------------------------------------------


def test_http_5xx_is_an_http_error_and_retryable():
    response = Response(503, {"X-Kaltura-Session": "123, 456"}, b"<html>down for ks=" + KS.encode() + b"</html>")
    with pytest.raises(KalturaHTTPError) as info:
        decode_result(cue_point_count(CTX), response)
    error = info.value
    assert error.status == 503 and error.retryable and error.session_id == "123, 456"
    assert "Service Unavailable" in str(error) and KS not in str(error) and "ks=***" in error.body_excerpt


def test_http_4xx_and_redirect():
    with pytest.raises(KalturaHTTPError) as info:
        decode_json(Response(404, {}, b"not found"))
    assert not info.value.retryable and "Not Found" in str(info.value)
    with pytest.raises(KalturaHTTPError, match="unexpected redirect") as redirect:
        decode_file(Response(302, {"Location": f"https://dc2/api_v3/service/bulkUpload/action/serve/ks/{KS}"}))
    assert KS not in str(redirect.value)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty body"),
        (b"<html>proxy error</html>", "expected a JSON body"),
        (b'{"objects": [', "expected a JSON body"),
    ],
)
def test_non_json_bodies(body, message):
    with pytest.raises(KalturaResponseError, match=message):
        decode_json(Response(200, {"Content-Type": "text/html"}, body))


# ------------------------------------------------------------------------------------------------
# Typed results
# ------------------------------------------------------------------------------------------------


ANNOTATION = {
    "id": "0_abc",
    "intId": 7,
    "cuePointType": "annotation.Annotation",
    "status": 1,
    "entryId": "0_e",
    "partnerId": 123,
    "createdAt": 1700000000,
    "startTime": 1000,
    "text": "hi",
    "endTime": 2000,
    "isPublic": False,
    "systemName": "intro",
    "objectType": "KalturaAnnotation",
}


def test_cue_point_record_uses_vocabulary_columns_first():
    record = cue_point_record(ANNOTATION)
    assert record["cuePointType"] == "annotation.Annotation"
    assert "objectType" not in record
    assert record["intId"] == 7 and record["isPublic"] is False
    known = [k for k in record if k in voc.COLUMN_NAMES]
    assert known == [c for c in voc.COLUMN_NAMES if c in record]  # vocabulary order...
    assert list(record)[: len(known)] == known  # ...and before the other API fields
    assert list(record)[len(known) :] == ["intId", "status", "partnerId", "createdAt", "isPublic"]


@pytest.mark.parametrize("info", voc.TYPES, ids=lambda i: i.name)
def test_every_api_class_maps_to_its_type(info):
    record = cue_point_record({"id": "0_x", "objectType": info.api_class})
    assert record["cuePointType"] == info.api_type.value


def test_cue_point_record_nested_values_and_fallback_to_cue_point_type():
    question = cue_point_record(
        {
            "id": "0_q",
            "objectType": "KalturaQuestionCuePoint",
            "question": "?",
            "optionalAnswers": [
                {"key": "1", "text": "a", "weight": 1, "isCorrect": 1, "objectType": "KalturaOptionalAnswer"}
            ],
        }
    )
    assert question["optionalAnswers"] == [{"key": "1", "text": "a", "weight": 1, "isCorrect": 1}]
    custom = cue_point_record({"id": "0_c", "objectType": "KalturaCustomAd", "cuePointType": "adCuePoint.Ad"})
    assert custom["cuePointType"] == "adCuePoint.Ad"
    with pytest.raises(KalturaResponseError, match="not a cue point object"):
        cue_point_record({"id": "x", "objectType": "KalturaMediaEntry"})
    with pytest.raises(KalturaResponseError):
        cue_point_record(["not", "a", "dict"])  # type: ignore[arg-type]


def test_list_count_get_delete_results():
    page = decode_result(cue_point_count(CTX), ok(7))
    assert page == 7
    assert decode_result(cue_point_count(CTX), ok("7")) == 7
    assert decode_result(cue_point_get(CTX, "0_abc"), ok(ANNOTATION))["text"] == "hi"
    assert decode_result(cue_point_delete(CTX, "0_abc"), ok(None)) is None
    empty = decode_list({"totalCount": 0, "objectType": "KalturaCuePointListResponse"})
    assert empty.objects == [] and empty.total_count == 0
    with pytest.raises(KalturaResponseError, match="integer"):
        decode_result(cue_point_count(CTX), ok("seven"))
    with pytest.raises(KalturaResponseError, match="no result"):
        decode_result(cue_point_delete(CTX, "0_abc"), ok({"id": "x"}))
    with pytest.raises(KalturaResponseError, match="not a list"):
        decode_list({"objects": {"a": 1}, "totalCount": 1})


def test_session_start_result():
    request = session_start(CTX, "secret")
    assert decode_result(request, ok(KS)) == KS
    with pytest.raises(KalturaResponseError, match="KS string"):
        decode_result(request, ok(None))


BULK = {
    "id": 42,
    "uploadedBy": "me",
    "uploadedByUserId": "me@x",
    "uploadedOn": 1700000000,
    "numOfEntries": 1,
    "status": 5,
    "logFileUrl": f"https://h/api_v3/service/bulkUpload/action/serveLog/id/42/ks/{KS}",
    "bulkFileUrl": f"https://h/api_v3/service/bulkUpload/action/serve/id/42/ks/{KS}",
    "bulkUploadType": "bulkUploadXml.XML",
    "fileName": "cues.xml",
    "numOfObjects": 3,
    "bulkUploadObjectType": "1",
    "errorType": 4,
    "results": [
        {
            "id": 1,
            "bulkUploadJobId": 42,
            "lineIndex": 0,
            "status": "2",
            "action": "1",
            "objectId": "0_e",
            "bulkUploadResultObjectType": "1",
            "pluginsData": [{"field": "f", "value": "v", "objectType": "KalturaBulkUploadPluginData"}],
            "entryId": "0_e",
            "sshPrivateKey": "PRIVATE",
            "objectType": "KalturaBulkUploadResultEntry",
        }
    ],
    "objectType": "KalturaBulkUpload",
}


def test_bulk_upload_decoding():
    job = decode_result(bulk_upload_get(CTX, 42), ok(BULK))
    assert job.id == 42 and job.status is BatchJobStatus.FINISHED and job.done and job.succeeded
    assert job.bulk_upload_type is voc.BulkUploadType.XML
    assert job.bulk_upload_object_type is BulkUploadObjectType.ENTRY
    assert job.error_type is BatchJobErrorType.KALTURA_API
    assert job.uploaded_at is not None and job.uploaded_at.year == 2023
    result = job.results[0]
    assert result.ok and result.status is BulkUploadResultStatus.OK and result.plugins_data == {"f": "v"}
    assert result.extra == {"entryId": "0_e", "sshPrivateKey": "PRIVATE"}
    assert result.result_type == "KalturaBulkUploadResultEntry"
    text = repr(job)
    assert KS not in text and "PRIVATE" not in text and "logFileUrl" not in text
    assert redact(job.log_file_url) == "https://h/api_v3/service/bulkUpload/action/serveLog/id/42/ks/***"
    running = decode_result(bulk_upload_get(CTX, 42), ok({**BULK, "status": 1, "results": []}))
    assert not running.done
    odd = decode_result(bulk_upload_get(CTX, 42), ok({"id": "43", "status": 99, "objectType": "KalturaBulkUpload"}))
    assert odd.id == 43 and odd.status == 99 and not odd.done
    with pytest.raises(KalturaResponseError, match="without an id"):
        decode_result(bulk_upload_get(CTX, 42), ok({"status": 1}))


def test_bulk_upload_list_and_batch_results():
    page = decode_result(
        bulk_upload_list(CTX),
        ok({"objects": [BULK], "totalCount": 9, "objectType": "KalturaBulkUploadListResponse"}),
    )
    assert page.total_count == 9 and page.objects[0].id == 42
    assert page.object_type == "KalturaBulkUploadListResponse"
    counts = [
        {"key": "created", "value": "3", "objectType": "KalturaKeyValue"},
        {"key": "error", "value": 1, "objectType": "KalturaKeyValue"},
    ]
    assert decode_result(batch_count_bulk_upload_entries(CTX, 42), ok(counts)) == {"created": 3, "error": 1}
    assert decode_result(batch_get_bulk_upload_last_result(CTX, 42), ok(None)) is None
    last = decode_result(batch_get_bulk_upload_last_result(CTX, 42), ok(BULK["results"][0]))
    assert last.line_index == 0
    assert decode_result(batch_update_bulk_upload_results(CTX, 42), ok(2)) == 2
    with pytest.raises(KalturaResponseError, match="key/value"):
        decode_result(batch_count_bulk_upload_entries(CTX, 42), ok(5))


# ------------------------------------------------------------------------------------------------
# Redaction
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            f"https://h/api_v3/service/x/action/y?ks={KS}&id=1",
            "https://h/api_v3/service/x/action/y?ks=***&id=1",
        ),
        (f"format=1&ks={KS}", "format=1&ks=***"),
        (f"filter[ks]={KS}", "filter[ks]=***"),
        ("secret=abc&partnerId=1", "secret=***&partnerId=1"),
        (f"/serveLog/id/7/ks/{KS}?a=b", "/serveLog/id/7/ks/***?a=b"),
        (f'{{"ks": "{KS}", "format": "1"}}', '{"ks": "***", "format": "1"}'),
        (f"Invalid KS {KS} used", "Invalid KS *** used"),
        ("tasks=4&books=2", "tasks=4&books=2"),
    ],
)
def test_redact(text, expected):
    assert redact(text) == expected


def test_redact_params():
    params = {
        "ks": KS,
        "secret": "s",
        "filter[entryIdEqual]": "0_e",
        "nested": {"adminSecret": "x", "a": "b"},
        "url": f"https://h/x?ks={KS}",
    }
    assert redact_params(params) == {
        "ks": "***",
        "secret": "***",
        "filter[entryIdEqual]": "0_e",
        "nested": {"adminSecret": "***", "a": "b"},
        "url": "https://h/x?ks=***",
    }


def test_response_repr_is_short():
    assert repr(Response(200, {"Content-Type": "application/json; charset=utf-8"}, b"{}")) == (
        "Response(status=200, content_type='application/json', length=2)"
    )

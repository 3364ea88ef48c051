"""Decode Kaltura responses (JSON, ``format=1``) into plain Python data, raising typed errors.

:func:`decode_result` is the entry point: it decodes a response as what the request's action returns
(``Request.result``). The work is split by concern:

* ``responses_errors``: the error channels (JSON error objects, ``X-Kaltura`` headers, XML error
  documents, HTTP statuses), each turned into its typed error;
* ``responses_bodies``: :class:`Response` and the body decoders (JSON, files, bulk upload logs);
* ``responses_values``: list pages, counts, void and KS results, and the value checks they share;
* ``responses_cue_points``: cue point objects as records;
* ``responses_bulk``: bulk upload jobs and their result lines.

Every name is importable from here (and the public ones from :mod:`cuepipe.kaltura`).

[ambiguous, docs/kaltura-api.md#open-questions] Whether NullableBoolean fields come back as
``true``/``false`` or ``1``/``0`` in JSON is unverified; records keep whatever the server sent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .errors import KalturaResponseError
from .request import Request
from .responses_bodies import Response, decode_file, decode_json, decode_serve_log, file_body_is_error
from .responses_bulk import (
    BulkUpload,
    BulkUploadResult,
    decode_bulk_upload,
    decode_bulk_upload_list,
    decode_bulk_upload_result,
    decode_bulk_upload_result_or_none,
)
from .responses_cue_points import (
    KEY_FIELDS,
    cue_point_keys,
    cue_point_record,
    decode_cue_point,
    decode_cue_point_keys,
    decode_cue_point_list,
)
from .responses_errors import (
    API_EXCEPTION,
    api_error_from_headers,
    check_status,
    error_args,
    raise_for_api_error,
    xml_api_error,
)
from .responses_values import ListPage, decode_count, decode_key_value_counts, decode_ks, decode_list, decode_void

__all__ = [
    "API_EXCEPTION",
    "KEY_FIELDS",
    "BulkUpload",
    "BulkUploadResult",
    "ListPage",
    "Response",
    "api_error_from_headers",
    "check_status",
    "cue_point_keys",
    "cue_point_record",
    "decode_bulk_upload",
    "decode_bulk_upload_list",
    "decode_bulk_upload_result",
    "decode_bulk_upload_result_or_none",
    "decode_count",
    "decode_cue_point",
    "decode_cue_point_keys",
    "decode_cue_point_list",
    "decode_file",
    "decode_json",
    "decode_key_value_counts",
    "decode_ks",
    "decode_list",
    "decode_result",
    "decode_serve_log",
    "decode_void",
    "error_args",
    "file_body_is_error",
    "raise_for_api_error",
    "xml_api_error",
]


def decode_entry(data: Any) -> dict[str, Any]:
    """``media.get``: a ``KalturaMediaEntry`` object, as a dict of its API fields."""
    if not isinstance(data, Mapping) or not isinstance(data.get("id"), str):
        raise KalturaResponseError(f"expected an entry object with an id, got {type(data).__name__}")
    return dict(data)


_DECODERS: dict[str, Callable[[Any], Any]] = {
    "cue_point": decode_cue_point,
    "cue_point_list": decode_cue_point_list,
    "cue_point_keys": decode_cue_point_keys,
    "count": decode_count,
    "int": decode_count,
    "void": decode_void,
    "ks": decode_ks,
    "bulk_upload": decode_bulk_upload,
    "bulk_upload_list": decode_bulk_upload_list,
    "bulk_upload_result": decode_bulk_upload_result,
    "bulk_upload_result_or_none": decode_bulk_upload_result_or_none,
    "key_value_counts": decode_key_value_counts,
    "entry": decode_entry,
}


def decode_result(request: Request, response: Response) -> Any:
    """Decode ``response`` as what ``request``'s action returns (see ``Request.result``)."""
    if request.result == "file":
        return decode_file(response)
    if request.result == "serve_log":
        return decode_serve_log(response)
    return _DECODERS[request.result](decode_json(response))

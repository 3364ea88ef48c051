"""API errors as the server defines them: ``"CODE;ARG_NAMES;message with @ARG@"`` (docs/kaltura-api.md#json-responses).

Every error the emulator returns is built from one of these templates, so codes, argument names and
messages match the server's ``KalturaErrors`` / ``APIErrors`` / ``KalturaCuePointErrors`` text.
"""

from __future__ import annotations

INTERNAL_SERVERL_ERROR = "INTERNAL_SERVERL_ERROR;;Internal server error occurred"
MISSING_KS = "MISSING_KS;;Missing KS, session not established"
INVALID_KS = 'INVALID_KS;KSID,ERR_CODE,ERR_DESC;Invalid KS "@KSID@", Error "@ERR_CODE@,@ERR_DESC@"'
SERVICE_NOT_SPECIFIED = "SERVICE_NOT_SPECIFIED;;Service name was not specified, please specify one"
SERVICE_DOES_NOT_EXISTS = 'SERVICE_DOES_NOT_EXISTS;SRV_NAME;Service "@SRV_NAME@" does not exists'
ACTION_DOES_NOT_EXISTS = (
    'ACTION_DOES_NOT_EXISTS;ACTION_NAME,SERVICE_NAME;Action "@ACTION_NAME@" does not exists for service '
    '"@SERVICE_NAME@"'
)
MISSING_MANDATORY_PARAMETER = 'MISSING_MANDATORY_PARAMETER;PARAM_NAME;Missing parameter "@PARAM_NAME@"'
INVALID_ENUM_VALUE = (
    'INVALID_ENUM_VALUE;ENUM_VAL,PARAM_NAME,ENUM_TYPE;Invalid enumeration value "@ENUM_VAL@" for parameter '
    '"@PARAM_NAME@", expecting enumeration type "@ENUM_TYPE@"'
)
OBJECT_TYPE_ABSTRACT = (
    'OBJECT_TYPE_ABSTRACT;OBJ_TYPE;The object type "@OBJ_TYPE@" is abstract, use one of the object implementations'
)
PROPERTY_VALIDATION_CANNOT_BE_NULL = (
    'PROPERTY_VALIDATION_CANNOT_BE_NULL;PROP_NAME;The property "@PROP_NAME@" cannot be null'
)
INVALID_USER_ID = "INVALID_USER_ID;;Invalid user id"
SERVICE_FORBIDDEN = "SERVICE_FORBIDDEN;SERVICE;The access to service [@SERVICE@] is forbidden"
START_SESSION_ERROR = "START_SESSION_ERROR;PID;Error while starting session for partner [@PID@]"
UNKNOWN_RESPONSE_FORMAT = (
    "UNKNOWN_RESPONSE_FORMAT;FORMAT;Response format provided [@FORMAT@] is not recognized by server"
)
UPLOAD_ERROR = "UPLOAD_ERROR;;Upload failed"
# KalturaErrors::SPHINX_CRITERIA_EXCEEDED_MAX_MATCHES_ALLOWED: an offset of 10,000 or more on the search
# index (SphinxCriteria::applyFilters throws kCoreException, KalturaFrontController maps it to this).
QUERY_EXCEEDED_MAX_MATCHES_ALLOWED = (
    "QUERY_EXCEEDED_MAX_MATCHES_ALLOWED;;Unable to generate list. max matches value was reached"
)
ENTRY_ID_NOT_FOUND = 'ENTRY_ID_NOT_FOUND;ENTRY_ID;Entry id "@ENTRY_ID@" not found'
BULK_UPLOAD_NOT_FOUND = 'BULK_UPLOAD_NOT_FOUND;ID;Bulk upload id "@ID@" not found'
FILE_DOESNT_EXIST = "FILE_DOESNT_EXIST;;File doesnt exist"
INVALID_OBJECT_ID = "INVALID_OBJECT_ID;ID;Invalid object id [@ID@]"
# Cue point plugin (KalturaCuePointErrors / kCuePointErrors, docs/format-notes.md#error-codes,
# docs/kaltura-api.md#cue-point-objects)
INVALID_CUE_POINT_ID = "INVALID_CUE_POINT_ID;ID;Invalid cue point id [@ID@]"
CUE_POINT_SYSTEM_NAME_EXISTS = (
    "CUE_POINT_SYSTEM_NAME_EXISTS;NAME,ID;Cue point system name already exists [@NAME@] with id [@ID@]"
)
XML_INVALID = "XML_INVALID;;XML is invalid"
# CuePointService::addAction / updateAction with a ``limitentry`` KS on another entry.
NO_PERMISSION_ON_ENTRY = "NO_PERMISSION_ON_ENTRY;ID;No permissions to insert or update cue points for entry [@ID@]"
# kCoreException re-wrapped by addFromBulk: a bare code and an empty message (docs/format-notes.md#insert-or-update).
INVALID_ENTRY_ID = "INVALID_ENTRY_ID;;"


class ApiError(Exception):
    """A ``KalturaAPIException``: symbolic code, formatted message and named arguments."""

    def __init__(self, template: str, *args: object) -> None:
        code, names, message = template.split(";", 2)
        arg_names = [n for n in names.split(",") if n]
        values = [_arg_text(a) for a in args]
        self.code = code
        self.args_map: dict[str, str] = {}
        for i, name in enumerate(arg_names):
            value = values[i] if i < len(values) else "N/A"
            self.args_map[name] = value
            message = message.replace(f"@{name}@", value)
        self.message = message
        super().__init__(f"{code}: {message}")


class CoreError(ApiError):
    """An error that does not leave the action as a ``KalturaAPIException`` of the action itself.

    Core exceptions (``kCuePointException``) and request-deserialization errors (raised before the
    action runs) reach the front controller and come back as a normal error body, even for file
    actions, whose own ``KalturaAPIException``s become header-only responses
    (docs/format-notes.md#what-servebulk-cannot-serve).
    """


def _arg_text(value: object) -> str:
    """PHP stringification of an argument (``strip_tags`` is irrelevant for our values)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else ""
    return str(value)

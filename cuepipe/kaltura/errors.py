"""Errors of the Kaltura protocol layer.

Kaltura reports API errors with HTTP 200 and a ``KalturaAPIException`` body (docs/kaltura-api.md#json-responses), or,
for file actions, in ``X-Kaltura`` headers (#http-status-and-headers). Both become :class:`KalturaAPIError`; a few codes
a caller reacts to differently (renew the session, fix the input, stop retrying) get subclasses, looked up by
:func:`api_error`. Transport-level trouble (HTTP 4xx/5xx, a body that is not what the action returns) is
:class:`KalturaHTTPError` / :class:`KalturaResponseError`.

No message built here ever contains a KS or a secret: ``INVALID_KS`` echoes the offending KS in its
``KSID`` argument and message, so :func:`api_error` masks it, and every text passes through
:func:`cuepipe.kaltura.redact.redact`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

from ..errors import CuepipeError
from .redact import MASK, redact


class KalturaError(CuepipeError):
    """Base class of everything the Kaltura protocol layer raises."""


class KalturaParamError(KalturaError, ValueError):
    """A request parameter or object field the server would reject or silently misread."""


class KalturaParamTypeError(KalturaParamError, TypeError):
    """A request parameter or object field of the wrong Python type."""


class KSError(KalturaError, ValueError):
    """A KS could not be built, decoded or verified. The message never contains the KS."""


class KalturaAPIError(KalturaError):
    """An error the Kaltura API returned: ``code`` (symbolic, e.g. ``INVALID_KS``), ``message``, ``args``.

    ``args`` is the server's argument map (name -> string value), for example ``{"ID": "0_x"}``.
    It shadows :attr:`BaseException.args` on purpose: that is what the Kaltura API calls it.
    """

    #: Codes this class stands for in :data:`API_ERRORS`; filled by subclasses.
    CODES: ClassVar[tuple[str, ...]] = ()

    def __init__(self, code: str, message: str = "", args: Mapping[str, str] | None = None) -> None:
        self.code = code
        self.message = message
        self._args: dict[str, str] = dict(args or {})
        super().__init__(f"{code}: {message}" if message and message != code else code)

    @property  # type: ignore[override]  # a dict of named args, not BaseException's tuple: what callers read
    def args(self) -> dict[str, str]:
        return self._args

    @args.setter
    def args(self, value: Any) -> None:  # BaseException.__init__ never calls this; kept for safety
        self._args = dict(value) if isinstance(value, Mapping) else {}

    def __reduce__(self) -> tuple[Any, ...]:
        return (self.__class__, (self.code, self.message, self._args))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r}, args={self._args!r})"


class KalturaSessionError(KalturaAPIError):
    """The session is missing, invalid or expired, or could not be started: get a new KS."""

    CODES: ClassVar[tuple[str, ...]] = ("MISSING_KS", "START_SESSION_ERROR")


class InvalidKSError(KalturaSessionError):
    """``INVALID_KS``: args ``KSID``, ``ERR_CODE``, ``ERR_DESC`` (docs/kaltura-api.md#ks-errors).

    The server puts the string ``EXPIRED`` (or another reason word) in ``KSID`` when it knows why,
    and the KS itself otherwise; the latter is masked.
    """

    CODES = ("INVALID_KS",)

    @property
    def reason(self) -> str | None:
        """The reason word the server gave (``EXPIRED``, ``LOGOUT``...), if any."""
        ksid = self.args.get("KSID", "")
        return ksid if _REASON_WORD.fullmatch(ksid) else None

    @property
    def expired(self) -> bool:
        return self.reason == "EXPIRED" or self.args.get("ERR_CODE") == "-5"


class KalturaPermissionError(KalturaAPIError):
    """The session may not do this: a different KS type, privilege or partner feature is needed."""

    CODES: ClassVar[tuple[str, ...]] = (
        "FEATURE_FORBIDDEN",
        "NO_PERMISSION_ON_ENTRY",
        "USER_KS_CANNOT_LIST_RELATED_CUE_POINTS",
        "ACTION_FORBIDDEN",
        "ACTION_BLOCKED",
        "ANONYMOUS_ACCESS_FORBIDDEN",
        "PROPERTY_VALIDATION_ADMIN_PROPERTY",
        "CANNOT_RETRIEVE_ANOTHER_USER_USING_NON_ADMIN_SESSION",
    )


class ServiceForbiddenError(KalturaPermissionError):
    """``SERVICE_FORBIDDEN``: e.g. the internal ``batch`` service with a non-batch partner
    (docs/kaltura-api.md#bulk-upload-services)."""

    CODES = ("SERVICE_FORBIDDEN",)


class KalturaNotFoundError(KalturaAPIError):
    """The object the request names does not exist (or is not visible to this partner)."""

    CODES: ClassVar[tuple[str, ...]] = (
        "INVALID_CUE_POINT_ID",
        "BULK_UPLOAD_NOT_FOUND",
        "FILE_DOESNT_EXIST",
        "ENTRY_ID_NOT_FOUND",
        "CONVERSION_PROFILE_ID_NOT_FOUND",
        "XML_FILE_NOT_FOUND",
    )


class InvalidEntryIdError(KalturaNotFoundError):
    """``INVALID_ENTRY_ID``; ``addFromBulk`` may send it as a bare code with no message
    (docs/kaltura-api.md#addfrombulk)."""

    CODES = ("INVALID_ENTRY_ID",)


class KalturaInvalidRequestError(KalturaAPIError):
    """The request itself is wrong: fix the input; repeating it cannot succeed."""

    CODES: ClassVar[tuple[str, ...]] = (
        "MISSING_MANDATORY_PARAMETER",
        "INVALID_ENUM_VALUE",
        "OBJECT_TYPE_ABSTRACT",
        "INVALID_OBJECT_TYPE",
        "INVALID_PARAMETER_CHAR",
        "END_TIME_CANNOT_BE_LESS_THAN_START_TIME",
        "START_TIME_CANNOT_BE_LESS_THAN_0",
        "CUE_POINT_SYSTEM_NAME_EXISTS",
        "PARENT_ANNOTATION_NOT_FOUND",
        "FILE_CONTENT_NOT_SECURE",
        "UPLOAD_ERROR",
        "BULK_UPLOAD_BULK_UPLOAD_TYPE_NOT_VALID",
        "BULK_ACTION_NOT_SUPPORTED",
        "UNKNOWN_RESPONSE_FORMAT",
        "SERVICE_NOT_SPECIFIED",
        "ACTION_NOT_SPECIFIED",
        "SERVICE_DOES_NOT_EXISTS",
        "ACTION_DOES_NOT_EXISTS",
        "INVALID_USER_ID",
        "INVALID_PARTNER_ID",
        "PROPERTY_VALIDATION_ALL_MUST_BE_NULL_BUT_ONE",
        "PROPERTY_VALIDATION_MIN_LENGTH",
        "PROPERTY_VALIDATION_MAX_LENGTH",
        "PROPERTY_VALIDATION_NUMERIC_VALUE",
        "PROPERTY_VALIDATION_WRONG_FORMAT",
        "PROPERTY_VALIDATION_MIN_VALUE",
        "PROPERTY_VALIDATION_MAX_VALUE",
        "PROPERTY_VALIDATION_NOT_UPDATABLE",
        "PROPERTY_VALIDATION_ENTRY_STATUS",
    )


class XMLInvalidError(KalturaInvalidRequestError):
    """``XML_INVALID``: an uploaded cue point XML failed the server's ingest schema."""

    CODES = ("XML_INVALID",)


class PropertyCannotBeNullError(KalturaInvalidRequestError):
    """``PROPERTY_VALIDATION_CANNOT_BE_NULL``: e.g. ``list`` without an id/entry filter
    (docs/kaltura-api.md#list-needs-an-id-or-entry-filter)."""

    CODES = ("PROPERTY_VALIDATION_CANNOT_BE_NULL",)

    @property
    def property_names(self) -> list[str]:
        """The properties of which one is required, e.g. ``['KalturaAnnotationFilter::idEqual', ...]``."""
        return [p for p in self.args.get("PROP_NAME", "").split("/") if p]


class KalturaServerError(KalturaAPIError):
    """The server failed internally (``INTERNAL_SERVERL_ERROR`` is its own spelling); a retry may work."""

    CODES = ("INTERNAL_SERVERL_ERROR", "LOCK_TIMED_OUT")


def _register() -> dict[str, type[KalturaAPIError]]:
    table: dict[str, type[KalturaAPIError]] = {}
    pending: list[type[KalturaAPIError]] = [KalturaAPIError]
    while pending:
        cls = pending.pop()
        for code in cls.__dict__.get("CODES", ()):
            table[code] = cls
        pending.extend(cls.__subclasses__())
    return table


#: Error code -> exception class. Codes not listed raise plain :class:`KalturaAPIError`.
API_ERRORS: dict[str, type[KalturaAPIError]] = _register()

_REASON_WORD = re.compile(r"[A-Z][A-Z_]{1,40}")


def api_error(code: str, message: str = "", args: Mapping[str, Any] | None = None) -> KalturaAPIError:
    """Build the exception for a server error, masking any KS it echoes.

    ``args`` values are stringified (the server sends strings). For ``INVALID_KS`` the ``KSID``
    argument is masked unless it is a reason word such as ``EXPIRED``, and the same text is removed
    from the message.
    """
    code = str(code or "UNKNOWN_ERROR")
    clean: dict[str, str] = {}
    secrets: list[str] = []
    for name, value in (args or {}).items():
        text = "" if value is None else str(value)
        if str(name).upper() == "KSID" and text and not _REASON_WORD.fullmatch(text):
            secrets.append(text)
            text = MASK
        clean[str(name)] = redact(text)
    message = str(message or "")
    for secret in secrets:
        message = message.replace(secret, MASK)
    cls = API_ERRORS.get(code, KalturaAPIError)
    return cls(code, redact(message), clean)


class KalturaHTTPError(KalturaError):
    """The HTTP exchange failed: a 4xx/5xx status or an unexpected redirect.

    ``body_excerpt`` is the start of the body, redacted; ``retryable`` says whether the same request
    may succeed later (gateway errors, overload, rate limiting).
    """

    RETRYABLE_STATUSES: ClassVar[frozenset[int]] = frozenset({408, 429, 500, 502, 503, 504})

    def __init__(self, status: int, message: str, *, body_excerpt: str = "", session_id: str | None = None) -> None:
        self.status = status
        self.body_excerpt = redact(body_excerpt)
        self.session_id = session_id
        detail = f" (server session {session_id})" if session_id else ""
        text = f"HTTP {status}: {redact(message)}{detail}"
        if self.body_excerpt:
            text += f"; body starts: {self.body_excerpt!r}"
        super().__init__(text)

    @property
    def retryable(self) -> bool:
        return self.status in self.RETRYABLE_STATUSES


class KalturaResponseError(KalturaError, ValueError):
    """The body is not what the action returns: not JSON, or JSON of an unexpected shape."""


class BulkUploadLogNotReadyError(KalturaError):
    """``serveLog`` answered ``<mrss><error>Log file is not ready...`` (docs/kaltura-api.md#file-actions): ask again
    later."""

"""Remove secrets (KS, partner secrets, passwords) from text and parameters before they are logged.

A KS is a bearer credential: whoever holds it acts as the partner until it expires. It travels in
params (``ks=``), in URL paths the server builds itself (``.../serveLog/id/7/ks/<KS>``,
docs/kaltura-api.md#bulk-upload-objects) and in ``INVALID_KS`` error messages. Everything in :mod:`cuepipe.kaltura` that
renders text for a human (``repr``, exception messages) goes through this module.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

MASK = "***"

# Parameter names whose value is a credential, compared lower-cased on the innermost key
# (``filter[ks]`` and ``ks`` both count). ``sshPrivateKey``/``sshKeyPassphrase`` are fields of
# KalturaBulkUploadResultEntry.
SECRET_KEYS: frozenset[str] = frozenset(
    {
        "ks",
        "secret",
        "adminsecret",
        "usersecret",
        "password",
        "newpassword",
        "oldpassword",
        "sshprivatekey",
        "sshkeypassphrase",
        "token",
        "tokenhash",
    }
)

_KEY_ALTERNATION = "|".join(sorted(SECRET_KEYS, key=len, reverse=True))
# key=value in query strings and form bodies, also when the key is bracketed (filter[ks]=...).
_QUERY = re.compile(rf"(?i)((?:^|[?&;\s\[\"'])(?:{_KEY_ALTERNATION})(?:\]|%5D)?=)[^&#\s\"']*")
# .../ks/<value> path pairs (docs/kaltura-api.md#services-and-actions: the path is read as key/value pairs).
_PATH = re.compile(rf"(?i)(/(?:{_KEY_ALTERNATION})/)[^/?#\s\"']+")
# "ks": "..." in JSON text.
_JSON = re.compile(rf"(?i)(\"(?:{_KEY_ALTERNATION})\"\s*:\s*\")(?:[^\"\\]|\\.)*(\")")
# A bare KS v2 token: base64 of "v2|" is "djJ8" (docs/kaltura-api.md#ks-version-2).
_KS_V2 = re.compile(r"djJ8[A-Za-z0-9+/_\-]{8,}={0,2}")


def redact(text: str) -> str:
    """Mask credentials in a URL, query string, JSON text or message.

    >>> redact("https://h/api_v3/service/bulkUpload/action/serveLog/id/7/ks/djJ8MTIzfABCDEFGH")
    'https://h/api_v3/service/bulkUpload/action/serveLog/id/7/ks/***'
    """
    text = _QUERY.sub(lambda m: m.group(1) + MASK, text)
    text = _PATH.sub(lambda m: m.group(1) + MASK, text)
    text = _JSON.sub(lambda m: m.group(1) + MASK + m.group(2), text)
    return _KS_V2.sub(MASK, text)


def is_secret_key(key: str) -> bool:
    """True when a (possibly bracketed, flat) parameter name holds a credential."""
    inner = key.rsplit("[", 1)[-1].rstrip("]").rsplit(":", 1)[-1]
    return inner.lower().removesuffix("__null") in SECRET_KEYS


def redact_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of flat or nested params with every credential value replaced by ``***``."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        if is_secret_key(str(key)):
            out[key] = MASK
        elif isinstance(value, Mapping):
            out[key] = redact_params(value)
        elif isinstance(value, str):
            out[key] = redact(value)
        else:
            out[key] = value
    return out


def scrub(text: str, *secrets: str | None) -> str:
    """Replace each known secret value in ``text`` (and then any recognisable credential) by the mask."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    return redact(text)

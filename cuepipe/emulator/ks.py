"""Kaltura sessions (KS v1 and v2): creation for ``session.start`` and server-side verification.

Implemented from docs/kaltura-api.md#sessions (``kSessionBase::parseKS`` / ``isValidBase`` / ``ks::getErrorStr``):

* A KS that does not decode, has no known partner, or whose signature (v1: SHA-1 of secret + info;
  v2: AES-128-CBC with a SHA-1 check) does not match any admin secret of its partner is rejected with
  ``INVALID_KS`` whose ``KSID`` is the KS string itself (``kCurrentContext::initKsPartnerUser``).
* A parsed KS that is expired (``valid_until <= now``) is rejected with ``INVALID_KS`` whose ``KSID`` is
  the literal ``EXPIRED`` (``kPermissionManager::errorIfKsNotValid`` passes ``ks::getErrorStr``).
* In both cases the front controller fills ``ERR_CODE=-1`` and ``ERR_DESC=INVALID_STR``.

The KS string is never logged.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field

from . import aes
from .errors import INVALID_KS, ApiError

SESSION_USER = 0
SESSION_ADMIN = 2

# Looks up the admin secrets of a partner id (as written in the KS); None if the partner is unknown.
SecretLookup = Callable[[str], "list[str] | None"]


@dataclass(frozen=True)
class KsInfo:
    """What a verified KS says."""

    partner_id: int
    valid_until: int
    type: int
    user: str
    privileges: dict[str, list[str]] = field(default_factory=dict)
    version: int = 1
    #: The privileges as the server holds them in ``ks::$privileges``: v1 the raw text, v2 rebuilt as
    #: ``name:v1/v2,name2`` (``kSessionBase::parseKsV2``). ``verify_privileges`` searches this text.
    privileges_text: str = ""

    @property
    def is_admin(self) -> bool:
        """``kSessionBase::isAdmin``: any type >= 1 (widget sessions count, as on the server)."""
        return self.type >= 1

    @property
    def is_anonymous(self) -> bool:
        """``kSessionBase::isAnonymousSession``: no user, or the user ``"0"``."""
        return self.user in ("", "0")

    @property
    def limit_entry(self) -> str | None:
        """``ks::getLimitEntry``: the first value of ``limitentry`` (None without one)."""
        values = self.privileges.get("limitentry") or []
        return values[0] if values else None

    def privilege_values(self, name: str) -> list[str]:
        """``ks::getPrivilegeValues``."""
        return list(self.privileges.get(name, []))

    def verify_privileges(self, name: str, value: str | None = None) -> bool:
        """``ks::verifyPrivileges`` as the server writes it: a *substring* search of the privilege text.

        So ``list:0_abc`` also verifies ``list`` for ``0_ab`` (a prefix), and the whole string ``*``
        or ``name:*`` anywhere verifies every value. Kept that loose on purpose: a rehearsal must
        grant what production grants.
        """
        text = self.privileges_text
        if not value:
            return name in text
        if text == "*" or f"{name}:*" in text or f"{name}:{value}" in text:
            return True
        return "*" in self.privileges or value in self.privileges.get(name, [])

    def has_privilege(self, name: str, value: str | None = None) -> bool:
        if name not in self.privileges:
            return False
        if value is None:
            return True
        values = self.privileges[name]
        return "*" in values or value in values


def parse_privileges(text: str) -> dict[str, list[str]]:
    """``kSessionBase::parsePrivileges``: ``name:v1/v2,name2`` -> {name: [v1, v2], name2: []}."""
    out: dict[str, list[str]] = {}
    for item in text.split(","):
        name, _, value = item.partition(":")
        out.setdefault(name, [])
        if value:
            out[name].extend(value.split("/"))
    return out


def _b64decode_lenient(text: str) -> bytes | None:
    """PHP ``base64_decode(strtr($ks, '-_', '+/'), true)``: strict alphabet, padding optional."""
    text = text.replace("-", "+").replace("_", "/")
    stripped = text.rstrip("=")
    try:
        return base64.b64decode(stripped + "=" * (-len(stripped) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def _sha1(data: bytes) -> bytes:
    return hashlib.sha1(data).digest()


def _invalid(ks: str) -> ApiError:
    return ApiError(INVALID_KS, ks, -1, "INVALID_STR")


def _parse_v1(decoded: bytes, lookup: SecretLookup) -> KsInfo | None:
    sig, sep, info_bytes = decoded.partition(b"|")
    if not sep:
        return None
    info = info_bytes.decode("utf-8", "replace")
    parts = info.split(";")
    if len(parts) < 3:
        return None
    secrets = lookup(parts[0])
    if not secrets:
        return None
    signature = sig.decode("latin-1")
    if not any(hashlib.sha1(s.encode() + info_bytes).hexdigest() == signature for s in secrets):
        return None
    parts += [""] * (7 - len(parts))
    return KsInfo(
        partner_id=_php_int(parts[0]),
        valid_until=_php_int(parts[2]),
        type=_php_int(parts[3]),
        user=parts[5],
        privileges=parse_privileges(parts[6]) if parts[6] else {},
        version=1,
        privileges_text=parts[6],
    )


def _parse_v2(decoded: bytes, lookup: SecretLookup) -> KsInfo | None:
    pieces = decoded.split(b"|", 2)
    if len(pieces) != 3:
        return None
    partner, encrypted = pieces[1].decode("latin-1"), pieces[2]
    secrets = lookup(partner)
    if not secrets or not encrypted or len(encrypted) % 16:
        return None
    for secret in secrets:
        plain = aes.cbc_decrypt(_sha1(secret.encode())[:16], b"\0" * 16, encrypted).rstrip(b"\0")
        digest, rest = plain[:20], plain[20:]
        if len(plain) > 36 and _sha1(rest) == digest:
            break
    else:
        return None
    fields = urllib.parse.parse_qsl(rest[16:].decode("utf-8", "replace"), keep_blank_values=True)
    values: dict[str, str] = {}
    privileges: dict[str, list[str]] = {}
    for name, value in fields:
        if name in ("_e", "_t", "_u", "_m", "_d"):
            values[name] = value
        else:
            privileges[name] = value.split("/") if value else []
    return KsInfo(
        partner_id=_php_int(partner),
        valid_until=_php_int(values.get("_e", "0")),
        type=_php_int(values.get("_t", "0")),
        user=values.get("_u", ""),
        privileges=privileges,
        version=2,
        privileges_text=",".join(f"{k}:{'/'.join(v)}" if v else k for k, v in privileges.items()),
    )


def crack(ks: str, lookup: SecretLookup) -> KsInfo:
    """Decode and check the signature; raises the server's ``INVALID_KS`` (KSID = the KS)."""
    decoded = _b64decode_lenient(ks)
    if not decoded:
        raise _invalid(ks)
    info = _parse_v2(decoded, lookup) if decoded.startswith(b"v2|") else _parse_v1(decoded, lookup)
    if info is None:
        raise _invalid(ks)
    return info


def check_valid(info: KsInfo, now: float | None = None) -> None:
    """``isValidBase``: an expired KS gives ``INVALID_KS`` with KSID ``EXPIRED``."""
    if info.valid_until <= (time.time() if now is None else now):
        raise ApiError(INVALID_KS, "EXPIRED", -1, "INVALID_STR")


class KsVerifier:
    """Cracks KS strings once and remembers the result (partners' secrets do not change at runtime)."""

    def __init__(self, lookup: SecretLookup, cache_size: int = 4096) -> None:
        self._lookup = lookup
        self._cache: dict[str, KsInfo] = {}
        self._cache_size = cache_size

    def verify(self, ks: str, now: float | None = None) -> KsInfo:
        info = self._cache.get(ks)
        if info is None:
            info = crack(ks, self._lookup)
            if len(self._cache) >= self._cache_size:
                self._cache.clear()
            self._cache[ks] = info
        check_valid(info, now)
        return info


def generate_v1(
    admin_secret: str, partner_id: int, user: str, session_type: int, valid_until: int, privileges: str = ""
) -> str:
    """``generateKsV1``: base64(sha1_hex(secret + info) + '|' + info)."""
    rand = f"{time.time():.4f}"
    info = ";".join([str(partner_id), str(partner_id), str(valid_until), str(session_type), rand, user, privileges])
    signature = hashlib.sha1((admin_secret + info).encode()).hexdigest()
    return base64.b64encode(f"{signature}|{info}".encode()).decode()


def generate_v2(
    admin_secret: str, partner_id: int, user: str, session_type: int, valid_until: int, privileges: str = ""
) -> str:
    """``generateKsV2``: AES-128-CBC(sha1(secret)[:16], zero IV) of sha1 + random + query string."""
    fields: list[tuple[str, str]] = []
    for raw in privileges.split(","):
        item = raw.strip()
        if not item:
            continue
        if item == "*":
            item = "all:*"
        name, sep, value = item.partition(":")
        fields.append((name, value if sep else ""))
    fields += [("_e", str(valid_until)), ("_t", str(session_type)), ("_u", user)]
    body = os.urandom(16) + urllib.parse.urlencode(fields).encode()
    body = _sha1(body) + body
    body += b"\0" * (-len(body) % 16)
    encrypted = aes.cbc_encrypt(_sha1(admin_secret.encode())[:16], b"\0" * 16, body)
    return base64.urlsafe_b64encode(f"v2|{partner_id}|".encode() + encrypted).decode()


def _php_int(text: str) -> int:
    """PHP ``(int)`` cast of a string: leading optional sign and digits, else 0."""
    text = text.strip()
    sign = -1 if text.startswith("-") else 1
    digits = ""
    for ch in text.lstrip("+-"):
        if not ch.isdigit():
            break
        digits += ch
    return sign * int(digits) if digits else 0

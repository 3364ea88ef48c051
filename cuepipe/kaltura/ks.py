"""Build and read KS (Kaltura Session) strings locally, v1 and v2, and the :class:`Session` value.

Layouts, from ``kSessionBase`` (docs/kaltura-api.md#ks-version-1, #ks-version-2):

* **v1**: ``base64(sha1_hex(secret + info) + "|" + info)`` with standard base64 and
  ``info = "{pid};{pid};{expires_at};{type};{rand};{user_id};{privileges}"``. The server's own
  generator always appends ``;{master_partner_id};{additional_data}`` (empty when null); the
  official Python client never does. Both verify, since the hash covers whatever ``info`` is; we
  append the two fields only when one is given.
* **v2**: fields = the privileges (``*`` -> ``all:*``; ``name:value``; bare ``name`` -> ``""``), then
  ``_e`` (expiry, unix seconds), ``_t`` (type), ``_u`` (user id), then ``_m``/``_d`` when given;
  form-urlencoded like PHP ``http_build_query`` (``+`` for space, everything but ``A-Za-z0-9-_.``
  percent-encoded); prefixed with 16 random bytes, then with the 20-byte binary SHA-1 of that;
  zero-padded to 16 bytes; AES-128-CBC with key ``sha1(secret)[:16]`` and a zero IV, no PKCS
  padding; ``"v2|{pid}|" + ciphertext``; URL-safe base64 keeping ``=`` (what PHP and the Python
  client both emit).

Reading mirrors the server: base64 after mapping ``-_`` to ``+/``; ``v2|`` selects v2; a v1 KS is
readable without the secret (unverified), a v2 KS needs it. A comma-separated secret string is
tried secret by secret, as the server does for partners with several admin secrets.

Nothing here puts a KS or a secret into an exception message or a ``repr``.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import secrets as _secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote_plus

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from ..vocabulary import SessionType
from .errors import KSError
from .redact import MASK

KS_V1 = 1
KS_V2 = 2
RANDOM_SIZE = 16
SHA1_SIZE = 20
AES_BLOCK = 16
#: ``session.start``'s default expiry, seconds.
DEFAULT_EXPIRY = 86_400
#: Renew a session this many seconds before it expires, by default.
DEFAULT_RENEW_MARGIN = 300

FIELD_EXPIRY = "_e"
FIELD_TYPE = "_t"
FIELD_USER = "_u"
FIELD_MASTER_PARTNER_ID = "_m"
FIELD_ADDITIONAL_DATA = "_d"
RESERVED_FIELDS = frozenset({FIELD_EXPIRY, FIELD_TYPE, FIELD_USER, FIELD_MASTER_PARTNER_ID, FIELD_ADDITIONAL_DATA})

Privileges = str | Mapping[str, "str | Sequence[str] | None"] | None


# ---------------------------------------------------------------------------------------------
# Privileges
# ---------------------------------------------------------------------------------------------


def privileges_string(privileges: Privileges) -> str:
    """Normalise privileges to the comma string the server stores: ``{"sview": "0_e"}`` -> ``sview:0_e``.

    Mapping values may be a str, a sequence (joined with ``/``, the server's value delimiter) or
    ``None``/``""`` for a bare privilege name.
    """
    if privileges is None:
        return ""
    if isinstance(privileges, str):
        return privileges
    parts: list[str] = []
    for name, value in privileges.items():
        if not isinstance(name, str) or not name or any(c in name for c in ",:"):
            raise KSError(f"invalid privilege name {name!r}")
        if value is None or value == "":
            parts.append(name)
            continue
        text = value if isinstance(value, str) else "/".join(str(v) for v in value)
        if "," in text:
            raise KSError(f"privilege {name!r}: values cannot contain ','; separate several with '/'")
        parts.append(f"{name}:{text}")
    return ",".join(parts)


def privilege_fields(privileges: Privileges) -> dict[str, str]:
    """The v2 field dict for privileges, exactly as ``generateKsV2`` builds it (later names win)."""
    fields: dict[str, str] = {}
    for raw in privileges_string(privileges).split(","):
        item = raw.strip()
        if not item:
            continue
        if item == "*":
            item = "all:*"
        name, sep, value = item.partition(":")
        fields[name] = value if sep else ""
    return fields


def parse_privileges(privileges: str) -> dict[str, list[str]]:
    """The server's ``parsePrivileges``: name -> list of ``/``-separated values (empty for a bare name)."""
    parsed: dict[str, list[str]] = {}
    for item in privileges.split(","):
        name, sep, value = item.partition(":")
        values = parsed.setdefault(name, [])
        if sep and value:
            values.extend(value.split("/"))
    return parsed


# ---------------------------------------------------------------------------------------------
# Building
# ---------------------------------------------------------------------------------------------


def _php_urlencode(text: str) -> str:
    # PHP urlencode(): like quote_plus but '~' is encoded too.
    return quote_plus(text, safe="").replace("~", "%7E")


def _expiry_seconds(expiry: int | dt.timedelta) -> int:
    if isinstance(expiry, dt.timedelta):
        expiry = round(expiry.total_seconds())
    if isinstance(expiry, bool) or not isinstance(expiry, int) or expiry <= 0:
        raise KSError("expiry must be a positive number of seconds (int) or a timedelta")
    return expiry


def _check_partner(partner_id: int) -> int:
    if isinstance(partner_id, bool) or not isinstance(partner_id, int):
        raise KSError(f"partner id must be an int, got {type(partner_id).__name__}")
    return partner_id


def _aes_key(secret: str) -> bytes:
    return hashlib.sha1(secret.encode("utf-8")).digest()[:AES_BLOCK]


def _aes(secret: str, data: bytes, *, encrypt: bool) -> bytes:
    cipher = Cipher(algorithms.AES(_aes_key(secret)), modes.CBC(b"\0" * AES_BLOCK))
    worker = cipher.encryptor() if encrypt else cipher.decryptor()
    return worker.update(data) + worker.finalize()


def make_ks(
    partner_id: int,
    admin_secret: str,
    *,
    user_id: str = "",
    type: SessionType | int = SessionType.USER,
    expiry: int | dt.timedelta = DEFAULT_EXPIRY,
    privileges: Privileges = None,
    version: int = KS_V2,
    now: float | None = None,
    random_bytes: bytes | None = None,
    rand: int | str | None = None,
    master_partner_id: int | None = None,
    additional_data: str | None = None,
) -> str:
    """Build a KS the server will accept for ``partner_id`` signed with ``admin_secret``.

    ``now`` (unix seconds), ``random_bytes`` (v2, 16 bytes) and ``rand`` (v1) make the output
    deterministic for tests; by default they come from the clock and :mod:`secrets`.
    """
    _check_partner(partner_id)
    if not isinstance(admin_secret, str) or not admin_secret:
        raise KSError("the admin secret must be a non-empty str")
    if not isinstance(user_id, str):
        raise KSError(f"user id must be a str, got {_type_name(user_id)}")
    for label, text in (
        ("admin secret", admin_secret),
        ("user id", user_id),
        ("privileges", privileges_string(privileges)),
        ("additional data", additional_data or ""),
    ):
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise KSError(f"the {label} is not valid Unicode text (lone surrogate)") from None
    session_type = int(type)
    expires_at = int(time.time() if now is None else now) + _expiry_seconds(expiry)
    if version == KS_V1:
        return _make_v1(
            partner_id,
            admin_secret,
            user_id,
            session_type,
            expires_at,
            privileges,
            rand,
            master_partner_id,
            additional_data,
        )
    if version == KS_V2:
        return _make_v2(
            partner_id,
            admin_secret,
            user_id,
            session_type,
            expires_at,
            privileges,
            random_bytes,
            master_partner_id,
            additional_data,
        )
    raise KSError(f"unknown KS version {version!r}; use 1 or 2")


def _type_name(value: object) -> str:
    return type(value).__name__


def _make_v1(
    partner_id: int,
    secret: str,
    user_id: str,
    session_type: int,
    expires_at: int,
    privileges: Privileges,
    rand: int | str | None,
    master: int | None,
    additional: str | None,
) -> str:
    privs = privileges_string(privileges)
    for label, text in (("user id", user_id), ("privileges", privs), ("additional data", additional or "")):
        if ";" in text:
            raise KSError(f"a KS v1 {label} cannot contain ';' (the field separator); use KS v2")
    if rand is None:
        rand = _secrets.randbelow(0x10000)
    fields = [str(partner_id), str(partner_id), str(expires_at), str(session_type), str(rand), user_id, privs]
    if master is not None or additional is not None:
        fields += ["" if master is None else str(master), additional or ""]
    info = ";".join(fields)
    signature = hashlib.sha1((secret + info).encode("utf-8")).hexdigest()
    return base64.b64encode(f"{signature}|{info}".encode()).decode("ascii")


def _make_v2(
    partner_id: int,
    secret: str,
    user_id: str,
    session_type: int,
    expires_at: int,
    privileges: Privileges,
    random_bytes: bytes | None,
    master: int | None,
    additional: str | None,
) -> str:
    fields = privilege_fields(privileges)
    clash = RESERVED_FIELDS.intersection(fields)
    if clash:
        raise KSError(f"privilege names {sorted(clash)} are reserved for KS v2 fields")
    fields[FIELD_EXPIRY] = str(expires_at)
    fields[FIELD_TYPE] = str(session_type)
    fields[FIELD_USER] = user_id
    if master is not None:
        fields[FIELD_MASTER_PARTNER_ID] = str(master)
    if additional is not None:
        fields[FIELD_ADDITIONAL_DATA] = additional
    encoded = "&".join(f"{_php_urlencode(k)}={_php_urlencode(v)}" for k, v in fields.items()).encode("utf-8")
    if random_bytes is None:
        random_bytes = _secrets.token_bytes(RANDOM_SIZE)
    if len(random_bytes) != RANDOM_SIZE:
        raise KSError(f"random_bytes must be {RANDOM_SIZE} bytes")
    body = random_bytes + encoded
    plain = hashlib.sha1(body).digest() + body
    plain += b"\0" * (-len(plain) % AES_BLOCK)
    decoded = f"v2|{partner_id}|".encode("ascii") + _aes(secret, plain, encrypt=True)
    return base64.urlsafe_b64encode(decoded).decode("ascii")


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KSInfo:
    """The fields of a KS. ``verified`` is False for a v1 KS read without its secret."""

    version: int
    partner_id: int
    expires_at: int
    type: SessionType | int
    user_id: str
    privileges: str
    rand: str
    master_partner_id: str | None = None
    additional_data: str | None = None
    verified: bool = False

    @property
    def privilege_map(self) -> dict[str, str]:
        """Privileges as the v2 field dict (``*`` -> ``all: "*"``)."""
        return privilege_fields(self.privileges)

    @property
    def parsed_privileges(self) -> dict[str, list[str]]:
        return parse_privileges(self.privileges)

    def expired(self, now: float | None = None) -> bool:
        """The server's rule: invalid once ``valid_until <= time()``."""
        return self.expires_at <= (time.time() if now is None else now)


def _b64decode(ks: str) -> bytes:
    if not isinstance(ks, str) or not ks.strip():
        raise KSError("a KS must be a non-empty str")
    text = ks.strip().translate(str.maketrans("-_", "+/"))
    text += "=" * (-len(text) % 4)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise KSError("not a KS: it is not valid base64") from None


def _session_type(value: str) -> SessionType | int:
    try:
        number = int(value)
    except ValueError:
        raise KSError("malformed KS: the session type is not a number") from None
    try:
        return SessionType(number)
    except ValueError:
        return number


def _candidates(secret: str | Sequence[str]) -> list[str]:
    items = secret.split(",") if isinstance(secret, str) else list(secret)
    return [s for s in items if isinstance(s, str) and s]


def ks_version(ks: str) -> int:
    """1 or 2, readable without the secret."""
    return KS_V2 if _b64decode(ks).startswith(b"v2|") else KS_V1


def ks_partner_id(ks: str) -> int:
    """The partner id in plain text at the start of every KS, readable without the secret."""
    decoded = _b64decode(ks)
    if decoded.startswith(b"v2|"):
        raw = decoded.split(b"|", 2)[1] if decoded.count(b"|") >= 2 else b""
    else:
        raw = decoded.partition(b"|")[2].split(b";", 1)[0]
    try:
        return int(raw.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        raise KSError("malformed KS: no numeric partner id") from None


def parse_ks(ks: str, secret: str | Sequence[str] | None = None) -> KSInfo:
    """Decode a KS; verify it when ``secret`` (the admin secret, or several) is given.

    Raises :class:`KSError` for anything malformed, a signature that does not match, or a v2 KS
    without a secret (its fields are encrypted).
    """
    decoded = _b64decode(ks)
    if decoded.startswith(b"v2|"):
        return _parse_v2(decoded, secret)
    return _parse_v1(decoded, secret)


def _parse_v1(decoded: bytes, secret: str | Sequence[str] | None) -> KSInfo:
    signature, sep, real = decoded.partition(b"|")
    if not sep:
        raise KSError("malformed KS v1: no '|' separator")
    try:
        info = real.decode("utf-8")
        digest = signature.decode("ascii")
    except UnicodeDecodeError:
        raise KSError("malformed KS v1: not UTF-8 text") from None
    parts = info.split(";")
    if len(parts) < 3:
        raise KSError("malformed KS v1: fewer than 3 ';'-separated fields")
    verified = False
    if secret is not None:
        for candidate in _candidates(secret):
            expected = hashlib.sha1((candidate + info).encode("utf-8")).hexdigest()
            if hmac.compare_digest(expected, digest):
                verified = True
                break
        else:
            raise KSError("KS v1 signature does not match the given secret")
    try:
        partner_id = int(parts[0])
        expires_at = int(parts[2])
    except ValueError:
        raise KSError("malformed KS v1: partner id or expiry is not a number") from None

    def part(index: int) -> str | None:
        return parts[index] if len(parts) > index else None

    return KSInfo(
        version=KS_V1,
        partner_id=partner_id,
        expires_at=expires_at,
        type=_session_type(part(3) or "0"),
        user_id=part(5) or "",
        privileges=part(6) or "",
        rand=part(4) or "",
        master_partner_id=part(7) or None,
        additional_data=part(8) or None,
        verified=verified,
    )


def _parse_v2(decoded: bytes, secret: str | Sequence[str] | None) -> KSInfo:
    pieces = decoded.split(b"|", 2)
    if len(pieces) != 3:
        raise KSError("malformed KS v2: not enough '|' delimiters")
    _, raw_partner, encrypted = pieces
    try:
        partner_id = int(raw_partner.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        raise KSError("malformed KS v2: the partner id is not a number") from None
    if secret is None:
        raise KSError("a KS v2 is encrypted; reading it needs the partner's admin secret")
    if not encrypted or len(encrypted) % AES_BLOCK:
        raise KSError("malformed KS v2: the encrypted part is not a whole number of AES blocks")
    body: bytes | None = None
    for candidate in _candidates(secret):
        plain = _aes(candidate, encrypted, encrypt=False).rstrip(b"\0")
        digest, rest = plain[:SHA1_SIZE], plain[SHA1_SIZE:]
        if hmac.compare_digest(digest, hashlib.sha1(rest).digest()):
            body = rest
            break
    if body is None:
        raise KSError("KS v2 signature does not match the given secret")
    random_part, encoded = body[:RANDOM_SIZE], body[RANDOM_SIZE:]
    fields = dict(parse_qsl(encoded.decode("latin-1"), keep_blank_values=True, encoding="utf-8"))
    try:
        expires_at = int(fields.pop(FIELD_EXPIRY))
    except (KeyError, ValueError):
        raise KSError("malformed KS v2: missing or non-numeric expiry") from None
    session_type = _session_type(fields.pop(FIELD_TYPE, "0") or "0")
    user_id = fields.pop(FIELD_USER, "")
    master = fields.pop(FIELD_MASTER_PARTNER_ID, None)
    additional = fields.pop(FIELD_ADDITIONAL_DATA, None)
    privileges = ",".join(f"{k}:{v}" if v else k for k, v in fields.items())
    if privileges == "all:*":
        privileges = "*"
    return KSInfo(
        version=KS_V2,
        partner_id=partner_id,
        expires_at=expires_at,
        type=session_type,
        user_id=user_id,
        privileges=privileges,
        rand=random_part.hex(),
        master_partner_id=master or None,
        additional_data=additional or None,
        verified=True,
    )


# ---------------------------------------------------------------------------------------------
# Session
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, repr=False)
class Session:
    """A KS with what is known about it. ``repr``/``str`` mask the KS.

    ``expires_at`` is unix seconds, or ``None`` when unknown (a v2 KS from ``session.start`` read
    without the admin secret); then :meth:`needs_renewal` cannot tell and answers False, and the
    caller renews on ``INVALID_KS`` instead.
    """

    ks: str
    partner_id: int
    expires_at: int | None = None
    type: SessionType | int | None = None
    user_id: str | None = None
    privileges: str | None = None

    def __repr__(self) -> str:
        kind = self.type.name if isinstance(self.type, SessionType) else self.type
        return (
            f"Session(partner_id={self.partner_id}, type={kind}, user_id={self.user_id!r}, "
            f"expires_at={self.expires_at}, ks={MASK!r})"
        )

    __str__ = __repr__

    def expires_in(self, now: float | None = None) -> float | None:
        """Seconds until expiry (negative once expired), or None when unknown."""
        if self.expires_at is None:
            return None
        return self.expires_at - (time.time() if now is None else now)

    def needs_renewal(self, margin: float | dt.timedelta = DEFAULT_RENEW_MARGIN, now: float | None = None) -> bool:
        """True when the KS expires within ``margin`` seconds (or already has)."""
        remaining = self.expires_in(now)
        if remaining is None:
            return False
        if isinstance(margin, dt.timedelta):
            margin = margin.total_seconds()
        return remaining <= margin

    @classmethod
    def generate(
        cls,
        partner_id: int,
        admin_secret: str,
        *,
        user_id: str = "",
        type: SessionType | int = SessionType.USER,
        expiry: int | dt.timedelta = DEFAULT_EXPIRY,
        privileges: Privileges = None,
        version: int = KS_V2,
        now: float | None = None,
    ) -> Session:
        """A session from a KS built locally with the admin secret (no server round trip)."""
        now = time.time() if now is None else now
        ks = make_ks(
            partner_id,
            admin_secret,
            user_id=user_id,
            type=type,
            expiry=expiry,
            privileges=privileges,
            version=version,
            now=now,
        )
        info = parse_ks(ks, admin_secret)
        return cls.from_info(ks, info)

    @classmethod
    def from_info(cls, ks: str, info: KSInfo) -> Session:
        return cls(
            ks=ks,
            partner_id=info.partner_id,
            expires_at=info.expires_at,
            type=info.type,
            user_id=info.user_id,
            privileges=info.privileges,
        )

    @classmethod
    def from_ks(cls, ks: str, secret: str | Sequence[str] | None = None) -> Session:
        """A session for an existing KS, learning what can be read from it.

        v1 is readable without the secret; v2 only with it (otherwise only the partner id is known).
        """
        if secret is not None or ks_version(ks) == KS_V1:
            return cls.from_info(ks, parse_ks(ks, secret))
        return cls(ks=ks, partner_id=ks_partner_id(ks))

    @classmethod
    def from_session_start(
        cls,
        ks: str,
        *,
        partner_id: int,
        expiry: int | dt.timedelta = DEFAULT_EXPIRY,
        user_id: str = "",
        type: SessionType | int = SessionType.USER,
        privileges: Privileges = None,
        secret: str | Sequence[str] | None = None,
        now: float | None = None,
    ) -> Session:
        """The session a ``session.start`` call returned.

        The partner's maximum expiry can shorten the requested one (docs/kaltura-api.md#sessionstart), so the KS is read
        when possible (v1 always; v2 with the admin secret). Otherwise the expiry is estimated as
        ``now + expiry``, an upper bound.
        """
        info: KSInfo | None = None
        if secret is not None:
            try:
                info = parse_ks(ks, secret)
            except KSError:  # e.g. a user session started with the user secret: not the signing key
                info = None
        if info is None and ks_version(ks) == KS_V1:
            info = parse_ks(ks)
        if info is not None:
            if info.partner_id != partner_id:
                raise KSError(f"session.start returned a KS for partner {info.partner_id}, not {partner_id}")
            return cls.from_info(ks, info)
        now = time.time() if now is None else now
        return cls(
            ks=ks,
            partner_id=partner_id,
            expires_at=int(now) + _expiry_seconds(expiry),
            type=_session_type(str(int(type))),
            user_id=user_id,
            privileges=privileges_string(privileges),
        )

"""KS v1/v2 creation and parsing (docs/kaltura-api.md#ks-version-1, #ks-version-2), sessions, and secrecy of KS and
secrets."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import pickle

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given
from hypothesis import strategies as st

from cuepipe.kaltura import (
    KS_V1,
    KS_V2,
    Context,
    KSError,
    Session,
    api_error,
    ks_partner_id,
    ks_version,
    make_ks,
    parse_ks,
    session_start,
)
from cuepipe.kaltura.ks import parse_privileges, privilege_fields, privileges_string
from cuepipe.vocabulary import SessionType

SECRET = "a1b2c3d4e5f6"
PARTNER = 12345
EXPIRES = 1_795_908_138
EXPIRY = 86_400
NOW = EXPIRES - EXPIRY
RANDOM = bytes(range(16))

# Known answers, computed outside cuepipe with hashlib/base64/cryptography from the documented layout.
V1_KS = (
    "ZTNlNDcxZjAwZmI4MDllYjdkMTEyNzJjN2IwYmEwYTg5ZmNmMDVhYnwxMjM0NTsxMjM0NTsxNzk1OTA4MTM4OzI7MTQ4MDM7dXNl"
    "ckB4LmNvbTtkaXNhYmxlZW50aXRsZW1lbnQ="
)
V2_KS = (
    "djJ8MTIzNDV8kPVEVG15F3YGFAceCxW0mOqs_LctNZvsEDrm4o1UOLllQ93ftHK0WIL1k3LzthilTyoaTHdWsfiboysWyeOwXXjJo-ak"
    "bMZbUCPGxTY1dHym7dwnPzP6Vn7aa1hjBwdVk39Ilc9e_wIJkks-S_XnHZt3SXnIen5dOyF1zEYibz0="
)


def _aes_decrypt(secret: str, data: bytes) -> bytes:
    key = hashlib.sha1(secret.encode()).digest()[:16]
    decryptor = Cipher(algorithms.AES(key), modes.CBC(b"\0" * 16)).decryptor()
    return decryptor.update(data) + decryptor.finalize()


# ------------------------------------------------------------------------------------------------
# Known answers
# ------------------------------------------------------------------------------------------------


def test_v1_matches_the_documented_formula():
    ks = make_ks(
        PARTNER,
        SECRET,
        user_id="user@x.com",
        type=SessionType.ADMIN,
        expiry=EXPIRY,
        privileges="disableentitlement",
        version=KS_V1,
        now=NOW,
        rand=14803,
    )
    assert ks == V1_KS
    # Recompute independently: base64(sha1_hex(secret + info) + "|" + info), standard alphabet.
    info = f"{PARTNER};{PARTNER};{EXPIRES};2;14803;user@x.com;disableentitlement"
    signature = hashlib.sha1((SECRET + info).encode()).hexdigest()
    assert base64.b64decode(ks) == f"{signature}|{info}".encode()


def test_v2_matches_the_documented_layout():
    ks = make_ks(
        PARTNER,
        SECRET,
        user_id="user@x.com",
        type=SessionType.ADMIN,
        expiry=EXPIRY,
        privileges="disableentitlement,privacycontext:abc,sview:*",
        now=NOW,
        random_bytes=RANDOM,
    )
    assert ks == V2_KS
    decoded = base64.urlsafe_b64decode(ks)
    assert decoded.startswith(b"v2|12345|")
    encrypted = decoded[len(b"v2|12345|") :]
    assert len(encrypted) % 16 == 0
    plain = _aes_decrypt(SECRET, encrypted).rstrip(b"\0")
    digest, rest = plain[:20], plain[20:]
    assert digest == hashlib.sha1(rest).digest()
    assert rest[:16] == RANDOM
    # The field string docs/kaltura-api.md#ks-version-2 records from the official client, byte for byte.
    assert rest[16:] == b"disableentitlement=&privacycontext=abc&sview=%2A&_e=1795908138&_t=2&_u=user%40x.com"


def test_v2_encodes_fields_like_php_http_build_query():
    ks = make_ks(
        1,
        SECRET,
        user_id="a b~c&d",
        privileges={"edit": ["0_a", "0_b"]},
        now=NOW,
        random_bytes=RANDOM,
        master_partner_id=7,
        additional_data="x",
    )
    plain = _aes_decrypt(SECRET, base64.urlsafe_b64decode(ks)[len(b"v2|1|") :]).rstrip(b"\0")
    assert plain[36:] == f"edit=0_a%2F0_b&_e={EXPIRES}&_t=0&_u=a+b%7Ec%26d&_m=7&_d=x".encode()


def test_v2_without_padding_when_the_plaintext_fills_whole_blocks():
    # 20 (hash) + 16 (random) + len(fields) == 64 needs 28 bytes of fields: "_e=NNNNNNNNNN&_t=0&_u=" is 22.
    ks = make_ks(1, SECRET, user_id="abcdef", now=NOW, random_bytes=RANDOM)
    encrypted = base64.urlsafe_b64decode(ks)[len(b"v2|1|") :]
    assert len(encrypted) == 64
    assert parse_ks(ks, SECRET).user_id == "abcdef"


# ------------------------------------------------------------------------------------------------
# Parsing
# ------------------------------------------------------------------------------------------------


def test_parse_known_v1_and_v2():
    v1 = parse_ks(V1_KS, SECRET)
    assert (v1.version, v1.partner_id, v1.expires_at, v1.type, v1.user_id, v1.privileges, v1.rand) == (
        KS_V1,
        PARTNER,
        EXPIRES,
        SessionType.ADMIN,
        "user@x.com",
        "disableentitlement",
        "14803",
    )
    assert v1.verified
    v2 = parse_ks(V2_KS, SECRET)
    assert (v2.version, v2.partner_id, v2.expires_at, v2.type, v2.user_id) == (
        KS_V2,
        PARTNER,
        EXPIRES,
        SessionType.ADMIN,
        "user@x.com",
    )
    assert v2.privileges == "disableentitlement,privacycontext:abc,sview:*"
    assert v2.parsed_privileges == {"disableentitlement": [], "privacycontext": ["abc"], "sview": ["*"]}
    assert v2.rand == RANDOM.hex() and v2.verified


def test_v1_is_readable_without_the_secret_but_unverified():
    info = parse_ks(V1_KS)
    assert info.partner_id == PARTNER and not info.verified


def test_v1_server_layout_with_master_partner_and_additional_data():
    ks = make_ks(5, SECRET, now=NOW, rand=1, version=KS_V1, master_partner_id=99, additional_data="extra")
    assert base64.b64decode(ks).decode().endswith(f"|5;5;{EXPIRES};0;1;;;99;extra")
    info = parse_ks(ks, SECRET)
    assert (info.master_partner_id, info.additional_data) == ("99", "extra")


def test_several_comma_separated_secrets_are_tried_like_the_server():
    assert parse_ks(V2_KS, "old-secret," + SECRET).verified
    assert parse_ks(V1_KS, ["nope", SECRET]).verified


@pytest.mark.parametrize("ks", [V1_KS, V2_KS])
def test_wrong_secret_fails_without_revealing_anything(ks):
    with pytest.raises(KSError, match="signature does not match") as info:
        parse_ks(ks, "wrong-secret")
    text = str(info.value) + repr(info.value)
    assert ks not in text and ks[:20] not in text and "wrong-secret" not in text


def test_v2_needs_the_secret():
    with pytest.raises(KSError, match="needs the partner's admin secret"):
        parse_ks(V2_KS)


@pytest.mark.parametrize(
    ("ks", "message"),
    [
        ("", "non-empty"),
        ("%%%not base64%%%", "not valid base64"),
        (base64.b64encode(b"no separator").decode(), "no '|' separator"),
        (base64.b64encode(b"abc|1;2").decode(), "fewer than 3"),
        (base64.b64encode(b"abc|x;x;y").decode(), "not a number"),
        (base64.urlsafe_b64encode(b"v2|12").decode(), "not enough '|'"),
        (base64.urlsafe_b64encode(b"v2|x|" + b"\0" * 16).decode(), "partner id is not a number"),
        (base64.urlsafe_b64encode(b"v2|1|" + b"\0" * 15).decode(), "whole number of AES blocks"),
    ],
)
def test_malformed_ks(ks, message):
    with pytest.raises(KSError, match=message):
        parse_ks(ks, SECRET if ks.startswith("djJ8") else None)


def test_ks_version_and_partner_without_secret():
    assert ks_version(V1_KS) == KS_V1 and ks_version(V2_KS) == KS_V2
    assert ks_partner_id(V1_KS) == PARTNER == ks_partner_id(V2_KS)
    # Unpadded and standard-alphabet forms are accepted, as the server maps -_ to +/.
    assert ks_partner_id(V2_KS.rstrip("=")) == PARTNER
    assert ks_partner_id(V2_KS.replace("-", "+").replace("_", "/")) == PARTNER


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"user_id": "a;b", "version": KS_V1}, "cannot contain ';'"),
        ({"privileges": "x;y", "version": KS_V1}, "cannot contain ';'"),
        ({"privileges": "_e:1"}, "reserved"),
        ({"expiry": 0}, "positive"),
        ({"expiry": -dt.timedelta(seconds=1)}, "positive"),
        ({"version": 3}, "unknown KS version"),
        ({"random_bytes": b"short"}, "16 bytes"),
        ({"user_id": 5}, "user id must be a str"),
        ({"privileges": {"a,b": ""}}, "invalid privilege name"),
        ({"privileges": {"sview": "a,b"}}, "cannot contain ','"),
        ({"user_id": "\ud800"}, "not valid Unicode"),
    ],
)
def test_invalid_ks_inputs(kwargs, message):
    with pytest.raises(KSError, match=message):
        make_ks(1, SECRET, **kwargs)
    with pytest.raises(KSError):
        make_ks(True, SECRET)  # type: ignore[arg-type]
    with pytest.raises(KSError):
        make_ks(1, "")


def test_privileges_helpers():
    assert privileges_string({"sview": "0_e", "list": ["a", "b"], "disableentitlement": None}) == (
        "sview:0_e,list:a/b,disableentitlement"
    )
    assert privilege_fields(" *, sview:0_e ,edit,, privacycontext:a:b") == {
        "all": "*",
        "sview": "0_e",
        "edit": "",
        "privacycontext": "a:b",
    }
    assert parse_privileges("list:*,edit:a/b,edit:c") == {"list": ["*"], "edit": ["a", "b", "c"]}
    star = parse_ks(make_ks(1, SECRET, privileges="*", now=NOW), SECRET)
    assert star.privileges == "*" and star.privilege_map == {"all": "*"}


# ------------------------------------------------------------------------------------------------
# Round trips (hypothesis)
# ------------------------------------------------------------------------------------------------

privilege_names = st.from_regex(r"[a-z][a-z0-9]{0,11}", fullmatch=True).filter(lambda n: n not in ("all",))
privilege_values = st.one_of(
    st.none(), st.text(st.characters(blacklist_characters=",", blacklist_categories=("Cs",)), max_size=12)
)
privilege_maps = st.dictionaries(privilege_names, privilege_values, max_size=4)
secrets_ = st.text(st.characters(blacklist_characters=",", blacklist_categories=("Cs",)), min_size=1, max_size=40)


@given(
    user_id=st.text(st.characters(blacklist_categories=("Cs",)), max_size=30),
    privileges=privilege_maps,
    secret=secrets_,
    session_type=st.sampled_from([SessionType.USER, SessionType.ADMIN]),
    partner=st.integers(min_value=-1, max_value=10**9),
    expiry=st.integers(min_value=1, max_value=10**8),
)
def test_v2_round_trip(user_id, privileges, secret, session_type, partner, expiry):
    ks = make_ks(partner, secret, user_id=user_id, type=session_type, expiry=expiry, privileges=privileges, now=NOW)
    info = parse_ks(ks, secret)
    assert (info.partner_id, info.user_id, info.type, info.expires_at) == (
        partner,
        user_id,
        session_type,
        NOW + expiry,
    )
    assert info.privilege_map == privilege_fields(privileges)
    assert info.verified


@given(
    user_id=st.text(st.characters(blacklist_characters=";", blacklist_categories=("Cs",)), max_size=30),
    privileges=privilege_maps.filter(lambda m: all(";" not in (v or "") for v in m.values())),
    secret=secrets_,
    partner=st.integers(min_value=-1, max_value=10**9),
)
def test_v1_round_trip(user_id, privileges, secret, partner):
    ks = make_ks(
        partner,
        secret,
        user_id=user_id,
        type=SessionType.ADMIN,
        privileges=privileges,
        version=KS_V1,
        now=NOW,
    )
    info = parse_ks(ks, secret)
    assert (info.partner_id, info.user_id, info.type, info.expires_at) == (
        partner,
        user_id,
        SessionType.ADMIN,
        NOW + 86_400,
    )
    assert info.privileges == privileges_string(privileges)
    assert info.verified


# ------------------------------------------------------------------------------------------------
# Session
# ------------------------------------------------------------------------------------------------


def test_session_generate_and_renewal_margin():
    session = Session.generate(PARTNER, SECRET, type=SessionType.ADMIN, expiry=3600, now=NOW)
    assert session.expires_at == NOW + 3600
    assert session.type is SessionType.ADMIN
    assert not session.needs_renewal(now=NOW)
    assert not session.needs_renewal(margin=3599, now=NOW)
    assert session.needs_renewal(margin=3600, now=NOW)
    assert session.needs_renewal(margin=dt.timedelta(minutes=5), now=NOW + 3400)
    assert session.needs_renewal(now=NOW + 4000)
    assert session.expires_in(now=NOW + 600) == 3000
    assert Session.generate(PARTNER, SECRET, version=KS_V1, now=NOW).expires_at == NOW + 86_400


def test_session_from_ks():
    assert Session.from_ks(V1_KS).expires_at == EXPIRES
    v2 = Session.from_ks(V2_KS)
    assert v2.partner_id == PARTNER and v2.expires_at is None and not v2.needs_renewal()
    assert Session.from_ks(V2_KS, SECRET).user_id == "user@x.com"


def test_session_from_session_start_reads_or_estimates_expiry():
    # A v2 user session cannot be read with the user secret: the expiry is estimated.
    estimated = Session.from_session_start(V2_KS, partner_id=PARTNER, expiry=600, secret="user-secret", now=NOW)
    assert estimated.expires_at == NOW + 600 and estimated.type is SessionType.USER
    # With the admin secret the real (possibly shortened) expiry is read.
    assert Session.from_session_start(V2_KS, partner_id=PARTNER, secret=SECRET).expires_at == EXPIRES
    assert Session.from_session_start(V1_KS, partner_id=PARTNER).expires_at == EXPIRES
    with pytest.raises(KSError, match="for partner 12345, not 1"):
        Session.from_session_start(V1_KS, partner_id=1)


# ------------------------------------------------------------------------------------------------
# Secrecy: nothing that renders text shows a KS or a secret
# ------------------------------------------------------------------------------------------------


def _assert_hidden(text: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in text
        assert secret[:12] not in text


def test_session_and_context_repr_mask_the_ks():
    session = Session.from_ks(V2_KS, SECRET)
    for text in (repr(session), str(session), repr(Context(partner_id=1, ks=V2_KS)), f"{session}"):
        _assert_hidden(text, V2_KS)
        assert "***" in text


def test_session_start_request_repr_masks_secret_and_ks():
    request = session_start(Context(partner_id=PARTNER, ks=V1_KS), SECRET, type=SessionType.ADMIN)
    assert request.params["secret"] == SECRET and "ks" not in request.params
    _assert_hidden(repr(request), SECRET)
    _assert_hidden(str(request), SECRET)


def test_invalid_ks_error_masks_the_ks_in_args_and_message():
    error = api_error(
        "INVALID_KS",
        f'Invalid KS "{V1_KS}", Error "-1,INVALID_STR"',
        {"KSID": V1_KS, "ERR_CODE": "-1", "ERR_DESC": "INVALID_STR"},
    )
    for text in (str(error), repr(error), error.message, str(error.args)):
        _assert_hidden(text, V1_KS)
    assert error.args["KSID"] == "***" and error.args["ERR_DESC"] == "INVALID_STR"
    _assert_hidden(str(pickle.loads(pickle.dumps(error))), V1_KS)


def test_ks_errors_never_echo_input():
    for bad in ("djJ8" + "A" * 40 + "!", V2_KS[:-8] + "AAAAAAA="):
        with pytest.raises(KSError) as info:
            parse_ks(bad, SECRET)
        _assert_hidden(str(info.value), bad)

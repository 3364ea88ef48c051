"""Unit tests of the emulator's pure parts: server time arithmetic, AES, KS, request params."""

from __future__ import annotations

import ast
import base64
import hashlib
import time
from pathlib import Path

import pytest

from cuepipe.emulator import aes, ks
from cuepipe.emulator.errors import ApiError
from cuepipe.emulator.params import nest_flat, path_pairs, split_key
from cuepipe.emulator.timecode import integer_to_time, php_round, time_to_integer


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (0, "00:00:00"),
        (None, "00:00:00"),
        (49, "00:00:00"),
        (50, "00:00:00.1"),
        (149, "00:00:00.1"),
        (5300, "00:00:05.3"),
        (1250, "00:00:01.3"),
        (5949, "00:00:05.9"),
        (5950, "00:00:05.10"),
        (5999, "00:00:05.10"),
        (86_400_000, "24:00:00"),
        (90_061_000, "25:01:01"),
        (360_000_000, "100:00:00"),
        (-500, "-1:59:59.5"),
    ],
)
def test_integer_to_time_matches_format_notes(ms: int | None, text: str) -> None:
    assert integer_to_time(ms) == text


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (5950, "00:00:06"),
        (59_999, "00:01:00"),
        (3_599_960, "01:00:00"),
        (5940, "00:00:05.9"),
        (1250, "00:00:01.3"),
    ],
)
def test_integer_to_time_without_the_bug_carries(ms: int, text: str) -> None:
    assert integer_to_time(ms, server_bugs=False) == text


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("00:00:05.3", 5300),
        ("00:00:05.0005", 5001),
        ("00:00:05.123456", 5123),
        ("01:02:03.45", 3_723_450),
        ("24:00:00", 86_400_000),
        ("00:00:05Z", None),
        ("00:00:05+02:00", None),
        ("00:00:05.10", 5100),
    ],
)
def test_time_to_integer_matches_format_notes(text: str, ms: int | None) -> None:
    assert time_to_integer(text) == ms


def test_php_round_is_half_away_from_zero_with_pre_rounding() -> None:
    assert [php_round(v) for v in (0.5, 1.5, 2.5, -0.5, 5.0005 * 1000)] == [1, 2, 3, -1, 5001]


def test_aes_known_answers() -> None:
    # SP 800-38A F.2.1 (CBC-AES128): the wrapper uses the key, IV and mode the KS format needs
    key = bytes.fromhex("2b7e151628aed2a6abf7158809cf4f3c")
    plain = bytes.fromhex("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51")
    cipher = aes.cbc_encrypt(key, bytes(range(16)), plain)
    assert cipher.hex() == "7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2"
    assert aes.cbc_decrypt(key, bytes(range(16)), cipher) == plain
    with pytest.raises(ValueError, match="16-byte blocks"):
        aes.cbc_encrypt(key, bytes(16), b"short")


def _lookup(partner: str) -> list[str] | None:
    return ["s3cret", "other"] if partner == "100" else None


@pytest.mark.parametrize("make", [ks.generate_v1, ks.generate_v2])
def test_ks_round_trip(make) -> None:
    token = make("s3cret", 100, "alice@example.com", 2, int(time.time()) + 60, "list:*,disableentitlement")
    info = ks.crack(token, _lookup)
    assert (info.partner_id, info.type, info.user, info.is_admin) == (100, 2, "alice@example.com", True)
    assert info.has_privilege("list", "0_x") and info.has_privilege("disableentitlement")


def test_ks_v1_written_by_hand_is_accepted() -> None:
    """The client-side recipe of docs/kaltura-api.md#ks-version-1, written independently of the emulator's generator."""
    info = f"100;100;{int(time.time()) + 60};0;1234;bob;"
    signature = hashlib.sha1(("other" + info).encode()).hexdigest()  # the second admin secret
    token = base64.b64encode(f"{signature}|{info}".encode()).decode()
    assert ks.crack(token, _lookup).user == "bob"


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not base64 !",
        base64.b64encode(b"no separator").decode(),
        base64.b64encode(b"0" * 40 + b"|100;100;9999999999;2;1;u;").decode(),
        base64.b64encode(b"v2|100|" + b"x" * 32).decode(),
    ],
)
def test_ks_rejections_carry_the_ks(token: str) -> None:
    with pytest.raises(ApiError) as err:
        ks.crack(token, _lookup)
    assert err.value.code == "INVALID_KS"
    assert err.value.message == f'Invalid KS "{token}", Error "-1,INVALID_STR"'


def test_expired_ks() -> None:
    info = ks.crack(ks.generate_v2("s3cret", 100, "", 2, int(time.time()) - 1), _lookup)
    with pytest.raises(ApiError) as err:
        ks.check_valid(info)
    assert err.value.message == 'Invalid KS "EXPIRED", Error "-1,INVALID_STR"'
    assert err.value.args_map == {"KSID": "EXPIRED", "ERR_CODE": "-1", "ERR_DESC": "INVALID_STR"}


def test_params_nesting() -> None:
    assert split_key("filter[advancedSearch][items][0]") == ["filter", "advancedSearch", "items", "0"]
    assert split_key("filter:objectType") == ["filter", "objectType"]
    assert nest_flat([("filter[entryIdEqual]", "0_a"), ("pager:pageSize", "5")]) == {
        "filter": {"entryIdEqual": "0_a"},
        "pager": {"pageSize": "5"},
    }
    assert path_pairs("/api_v3/service/bulkUpload/action/serveLog/id/12/ks/abc") == {
        "service": "bulkUpload",
        "action": "serveLog",
        "id": "12",
        "ks": "abc",
    }


def _imported_modules(path: Path) -> set[str]:
    """Absolute names of every module a source file of cuepipe.emulator imports."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = ["cuepipe", "emulator"][: 2 - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            out.add(module)
            out.update(f"{module}.{alias.name}" for alias in node.names)
    return out


def test_the_emulator_understands_uploads_on_its_own() -> None:
    """Independence: no cuepipe reader, writer, frames or values in the emulator's imports."""
    import cuepipe.emulator

    forbidden = {
        "cuepipe.xml.reader",
        "cuepipe.xml.writer",
        "cuepipe.frames",
        "cuepipe.values",
        "cuepipe.xml",
    }
    for path in Path(cuepipe.emulator.__file__).parent.glob("*.py"):
        imported = _imported_modules(path)
        assert not imported & forbidden, (path.name, imported & forbidden)
        assert not any(m.startswith("cuepipe.kaltura") for m in imported), path.name


def test_cli_command_options() -> None:
    from click.testing import CliRunner

    from cuepipe.emulator.cli import emulator

    result = CliRunner().invoke(emulator, ["--help"])
    assert result.exit_code == 0
    for option in ("--host", "--port", "--db", "--partner-id", "--admin-secret", "--entries"):
        assert option in result.output


def test_partner_repr_hides_secrets() -> None:
    from cuepipe.emulator import Partner

    assert "s3cret" not in repr(Partner(5, "s3cret", "us3r"))

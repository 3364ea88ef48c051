"""``Client.from_env`` / ``AsyncClient.from_env`` and the CLI: every missing or malformed variable is
one :class:`ConfigurationError` naming the variable (never a ``TypeError``), and secrets stay out of it."""

from __future__ import annotations

import asyncio

import pytest
from click.testing import CliRunner

from cuepipe.cli import main
from cuepipe.client import AsyncClient, Client, ConfigurationError
from cuepipe.kaltura import make_ks

URL = "https://kaltura.example.com"
SECRET = "a-very-secret-admin-secret"
KS = make_ks(7, SECRET)
VARIABLES = ("KALTURA_SERVICE_URL", "KALTURA_PARTNER_ID", "KALTURA_ADMIN_SECRET", "KALTURA_KS")


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch):
    """A clean KALTURA_* environment; the test sets what it needs."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)

    def set_env(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, value)

    return set_env


# (environment, the variable the message must name, another phrase it must contain)
BAD = [
    ({}, "KALTURA_SERVICE_URL", "not set"),
    ({"KALTURA_SERVICE_URL": "  "}, "KALTURA_SERVICE_URL", "empty"),
    ({"KALTURA_SERVICE_URL": "www.kaltura.com"}, "KALTURA_SERVICE_URL", "http(s) URL"),
    ({"KALTURA_SERVICE_URL": URL}, "KALTURA_KS", "credentials are missing"),
    ({"KALTURA_SERVICE_URL": URL, "KALTURA_PARTNER_ID": "7"}, "KALTURA_ADMIN_SECRET", "credentials are missing"),
    ({"KALTURA_SERVICE_URL": URL, "KALTURA_ADMIN_SECRET": SECRET}, "KALTURA_PARTNER_ID", "not set"),
    (
        {"KALTURA_SERVICE_URL": URL, "KALTURA_PARTNER_ID": "7x", "KALTURA_ADMIN_SECRET": SECRET},
        "KALTURA_PARTNER_ID",
        "integer",
    ),
    (
        {"KALTURA_SERVICE_URL": URL, "KALTURA_PARTNER_ID": "7", "KALTURA_ADMIN_SECRET": SECRET, "KALTURA_KS": KS},
        "KALTURA_ADMIN_SECRET",
        "both",
    ),
    ({"KALTURA_SERVICE_URL": URL, "KALTURA_KS": "not-a-ks"}, "KALTURA_KS", "not a usable KS"),
    ({"KALTURA_SERVICE_URL": URL, "KALTURA_KS": KS, "KALTURA_PARTNER_ID": "8"}, "KALTURA_PARTNER_ID", "partner 7"),
]


@pytest.mark.parametrize(("values", "variable", "phrase"), BAD)
@pytest.mark.parametrize("cls", [Client, AsyncClient])
def test_from_env_names_the_variable(env, cls, values, variable, phrase) -> None:
    env(**values)
    with pytest.raises(ConfigurationError) as caught:
        cls.from_env()
    message = str(caught.value)
    assert variable in message and phrase in message
    assert SECRET not in message and KS not in message


def test_from_env_builds_clients_from_good_settings(env) -> None:
    env(KALTURA_SERVICE_URL=URL + "/api_v3/", KALTURA_PARTNER_ID=" 7 ", KALTURA_ADMIN_SECRET=SECRET)
    with Client.from_env() as client:
        assert (client.service_url, client.partner_id, client._engine.auth.kind) == (URL, 7, "admin_secret")
    env(KALTURA_ADMIN_SECRET="")
    env(KALTURA_KS=KS)
    with Client.from_env() as client:
        assert client.partner_id == 7 and client._engine.auth.kind == "ks"

    async def build() -> int:
        async with AsyncClient.from_env() as client:
            return client.partner_id

    assert asyncio.run(build()) == 7


def test_arguments_override_the_environment(env) -> None:
    env(KALTURA_PARTNER_ID="7x", KALTURA_KS="garbage", KALTURA_ADMIN_SECRET="other")
    # Everything the environment gets wrong is overridden, so nothing of it is read.
    with Client.from_env(service_url=URL, partner_id=9, admin_secret=SECRET) as client:
        assert (client.partner_id, client._engine.auth.kind) == (9, "admin_secret")


@pytest.mark.parametrize(("values", "variable", "phrase"), [b for b in BAD if b[0]])
def test_cli_shows_one_line(env, values, variable, phrase) -> None:
    env(**values)
    result = CliRunner().invoke(main, ["pull", "--entry-id", "0_a", "-o", "out.csv"])
    assert result.exit_code in (1, 2)
    assert "Traceback" not in result.output and not isinstance(result.exception, TypeError)
    errors = [line for line in result.stderr.splitlines() if "rror" in line]
    assert len(errors) == 1, result.stderr
    assert variable in errors[0] or variable.lower().replace("kaltura_", "--").replace("_", "-") in errors[0]
    assert SECRET not in result.output and KS not in result.output

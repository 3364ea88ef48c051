"""No KS and no secret in logs, exception texts, reprs, journal files or CLI output, on success and on errors.

Everything is run against the emulator with DEBUG logging on for httpx, httpcore, cuepipe and uvicorn,
and every text produced is searched for the admin secret, the user secret and every KS the clients
held (they change: sessions are renewed and started again on the way).
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cuepipe import frames
from cuepipe.cli import main
from cuepipe.client import AsyncClient, Client, PushError, Retries
from cuepipe.emulator import EmulatorServer
from cuepipe.emulator.faults import Fault
from cuepipe.kaltura import Session, SessionType
from cuepipe.kaltura.redact import MASK

from .helpers import EmulatorFactory, cue_points

PARTNER = 6161
ADMIN = "s3cr3t-admin-7f1c2b9e44aa0d1e"
USER = "s3cr3t-user-c0ffee1234567890ab"
ENTRIES = [f"0_s{i:02d}" for i in range(12)]
KS_SHAPE = re.compile(r"djJ8[A-Za-z0-9+/_\-]{20,}")
LOGGERS = ("httpx", "httpcore", "cuepipe", "uvicorn", "uvicorn.error", "uvicorn.access", "starlette")
MRSS = (
    b'<?xml version="1.0"?><mrss version="1.0"><channel><item><action>update</action><entryId>0_s11</entryId>'
    b'<scenes><action>update</action><scene-code-cue-point systemName="K1"><sceneStartTime>00:00:04'
    b"</sceneStartTime><code>bulk</code></scene-code-cue-point></scenes></item></channel></mrss>"
)


class Texts:
    """Everything a person or a log collector could see, and every secret that must not be in it."""

    def __init__(self) -> None:
        self.texts: list[tuple[str, str]] = []
        self.secrets: set[str] = {ADMIN, USER}

    def add(self, where: str, *values: Any) -> None:
        for value in values:
            self.texts.append((where, value if isinstance(value, str) else repr(value)))

    def error(self, where: str, exc: BaseException) -> None:
        seen: set[int] = set()
        current: BaseException | None = exc
        while current is not None and id(current) not in seen:  # the whole chain, as a traceback shows it
            seen.add(id(current))
            self.add(where, str(current), repr(current), str(getattr(current, "cause", "")))
            result = getattr(current, "result", None)
            if result is not None:
                self.add(where, result.to_string())
            current = current.__cause__ or current.__context__

    def keep_ks(self, api: Any) -> None:
        session = api.session
        if session is not None:
            self.secrets.add(session.ks)
            self.add("session repr", session, str(session))
        self.add("client repr", api, api._engine.auth)

    def check(self) -> None:
        """No known secret, no 24-character piece of one, and nothing shaped like a KS (v2 KSs start with
        ``djJ8``, base64 of ``v2|``; that also covers the KSs the CLI made internally)."""
        assert len(self.secrets) >= 4
        for where, text in self.texts:
            for secret in self.secrets:
                assert secret not in text, f"secret found in {where}: ...{text[max(0, text.find(secret) - 80) :][:200]}"
                assert secret[-24:] not in text, f"part of a secret found in {where}"
            found = KS_SHAPE.search(text)
            assert found is None, f"a KS in {where}: ...{text[max(0, found.start() - 80) :][:200]}"


@pytest.fixture(scope="module")
def server(start_emulator: EmulatorFactory) -> EmulatorServer:
    return start_emulator(partner_id=PARTNER, admin_secret=ADMIN, user_secret=USER, entries=ENTRIES, fault_admin=True)


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """DEBUG from every library on the way, also from loggers that do not propagate (uvicorn's)."""
    saved = {name: (logging.getLogger(name).level, logging.getLogger(name).propagate) for name in LOGGERS}
    caplog.set_level(logging.DEBUG)
    for name in LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(logging.DEBUG)
        logger.addHandler(caplog.handler)
    yield caplog
    for name, (level, _) in saved.items():
        logging.getLogger(name).setLevel(level)
        logging.getLogger(name).removeHandler(caplog.handler)


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def test_no_secret_in_logs_errors_reprs_or_journal(server: EmulatorServer, logs, tmp_path: Path) -> None:
    texts = Texts()
    fast = Retries(max_retries=2, backoff=0.01, max_backoff=0.02)
    journal = tmp_path / "push.sqlite"

    # success paths, three ways to get a KS; renewals on the way
    with Client(server.url, partner_id=PARTNER, admin_secret=ADMIN, retries=fast) as api:
        texts.keep_ks(api)
        server.faults.replace([Fault("expire_ks", after=3)])
        result = api.push(cue_points(ENTRIES[0], 30), chunk_size=10, journal=journal)
        texts.keep_ks(api)
        texts.add("push result", result.to_string(), result.attrs)
        texts.add(
            "pull",
            api.pull({"entryIdEqual": ENTRIES[0]}, precision="ms").to_string(),
            api.pull({"entryIdEqual": ENTRIES[0]}).to_string(),
        )
        cue_point = api.get(result["id"].iloc[0])
        texts.add("get", cue_point)
        texts.add("delete", api.delete([result["id"].iloc[1]]))
        job = api.bulk_uploads.submit(MRSS, filename="cues.xml")
        final = api.bulk_uploads.wait(job.id, timeout=30, poll_interval=0.05)
        texts.add("jobs", job, final, api.bulk_uploads.list(), api.bulk_uploads.get(job.id))  # (not .raw: documented)
        assert final.log_file_url and "/ks/" in final.log_file_url  # the server builds it with the KS...
        texts.add("job log", api.bulk_uploads.serve_log(job.id).decode())
        texts.keep_ks(api)
    with Client(server.url, partner_id=PARTNER, secret=ADMIN, use_session_start=True, retries=fast) as api:
        api.count({"entryIdEqual": ENTRIES[0]})
        texts.keep_ks(api)
    with Client(
        server.url,
        partner_id=PARTNER,
        secret=USER,
        use_session_start=True,
        session_type=SessionType.USER,
        user_id="ann",
        retries=fast,
    ) as api:
        api.count({"entryIdEqual": ENTRIES[0]})
        texts.keep_ks(api)

    async def async_side() -> None:
        async with AsyncClient(server.url, partner_id=PARTNER, admin_secret=ADMIN, retries=fast) as api:
            await api.push(cue_points(ENTRIES[1], 10))
            texts.keep_ks(api)

    asyncio.run(async_side())

    # error paths
    fixed = Session.generate(PARTNER, ADMIN, type=SessionType.ADMIN).ks
    texts.secrets.add(fixed)
    forged = Session.generate(PARTNER, "not-the-secret", type=SessionType.ADMIN).ks
    texts.secrets.add(forged)
    failures: list[tuple[str, Any]] = [
        ("wrong admin secret", lambda: Client(server.url, partner_id=PARTNER, admin_secret=ADMIN[::-1], retries=fast)),
        (
            "wrong session.start secret",
            lambda: Client(server.url, partner_id=PARTNER, secret="nope" + USER, use_session_start=True, retries=fast),
        ),
        ("forged KS (echoed by INVALID_KS)", lambda: Client(server.url, ks=forged, retries=fast)),
        ("server down", lambda: Client(closed_port_url(), partner_id=PARTNER, admin_secret=ADMIN, retries=fast)),
    ]
    for where, make in failures:
        with make() as api:
            with pytest.raises(Exception) as info:
                api.push(cue_points(ENTRIES[2], 5))
            texts.error(where, info.value)
            texts.keep_ks(api)
    server.faults.replace([Fault("expire_ks", after=1)])
    with Client(server.url, ks=fixed, retries=fast) as api, pytest.raises(PushError) as info:
        api.push(cue_points(ENTRIES[3], 20), chunk_size=5)
    texts.error("expired fixed KS", info.value)
    server.faults.replace([Fault("reset", phase="after", action="cuepoint.addFromBulk", times=None)])
    unnamed = [{"cuePointType": "codeCuePoint.Code", "entryId": ENTRIES[4], "startTime": 1, "code": "c"}]
    with Client(server.url, partner_id=PARTNER, admin_secret=ADMIN, retries=fast) as api:
        with pytest.raises(PushError) as info:
            api.push(unnamed)
        texts.error("outcome unknown", info.value)
        server.faults.add(Fault("error", status=503, action="cuepoint.list", after=1, times=None))
        with pytest.raises(PushError) as info:
            api.push(cue_points(ENTRIES[5], 5))  # lands, but neither the answer nor the list check comes back
        texts.error("outcome still unknown after recovery", info.value)
        texts.keep_ks(api)
    server.faults.clear()

    texts.add("journal file", journal.read_bytes().decode("latin-1"))
    texts.add("logs", logs.text)
    texts.add("emulator reprs", server.faults, server.app.state.emulator.options)
    assert "***" in logs.text or MASK in logs.text  # the KS was there, masked
    assert "INVALID_KS" in logs.text or any("INVALID_KS" in t for _, t in texts.texts)
    texts.check()


def test_no_secret_in_cli_output_on_success_or_error(server: EmulatorServer, logs, tmp_path: Path) -> None:
    texts = Texts()
    runner = CliRunner()
    source = tmp_path / "cues.csv"
    with frames.TableWriter(source) as writer:
        writer.write(frames.records_to_frame(cue_points(ENTRIES[6], 12)))
    env = {"KALTURA_SERVICE_URL": server.url, "KALTURA_PARTNER_ID": str(PARTNER), "KALTURA_ADMIN_SECRET": ADMIN}
    fixed = Session.generate(PARTNER, ADMIN, type=SessionType.ADMIN).ks
    forged = Session.generate(PARTNER, "forged", type=SessionType.ADMIN).ks
    texts.secrets |= {fixed, forged}
    report = tmp_path / "report.csv"
    runs: list[tuple[str, list[str], dict[str, str], int]] = [
        ("push", ["push", str(source), "--journal", str(tmp_path / "j.sqlite"), "--report", str(report)], env, 0),
        ("push again", ["push", str(source), "--journal", str(tmp_path / "j.sqlite")], env, 0),
        ("pull", ["pull", "--entry-id", ENTRIES[6], "-o", str(tmp_path / "out.xml")], env, 0),
        (
            "pull with --ks",
            ["pull", "--entry-id", ENTRIES[6], "--ks", fixed, "-o", str(tmp_path / "o.csv")],
            {"KALTURA_SERVICE_URL": server.url},
            0,
        ),
        ("jobs list", ["jobs", "list"], env, 0),
        ("jobs submit", ["jobs", "submit", str(tmp_path / "bulk.xml"), "--wait", "--poll-interval", "0.05"], env, 0),
        ("wrong secret", ["push", str(source)], {**env, "KALTURA_ADMIN_SECRET": "x" + ADMIN}, 1),
        (
            "wrong secret as an option",
            ["pull", "--entry-id", ENTRIES[6], "-o", str(tmp_path / "x.csv"), "--admin-secret", ADMIN + "x"],
            {"KALTURA_SERVICE_URL": server.url, "KALTURA_PARTNER_ID": str(PARTNER)},
            1,
        ),
        ("forged KS", ["push", str(source), "--ks", forged], {"KALTURA_SERVICE_URL": server.url}, 1),
        (
            "server down",
            ["push", str(source), "--http-timeout", "2"],
            {**env, "KALTURA_SERVICE_URL": closed_port_url()},
            1,
        ),
        ("bad fault spec", ["emulator", "--admin-secret", ADMIN, "--fault", "nope"], {}, 2),
    ]
    (tmp_path / "bulk.xml").write_bytes(MRSS.replace(b"0_s11", ENTRIES[7].encode()))
    for where, args, run_env, code in runs:
        result = runner.invoke(main, args, env=run_env)
        assert result.exit_code == code, (where, result.output)
        texts.add(f"CLI {where}", result.output)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            texts.error(f"CLI {where} exception", result.exception)
    job_id = next(
        word for where, text in texts.texts if where == "CLI jobs submit" for word in text.split() if word.isdigit()
    )
    for args in (["jobs", "get", job_id], ["jobs", "log", job_id]):
        result = runner.invoke(main, args, env=env)
        assert result.exit_code == 0, result.output
        texts.add(f"CLI {args[1]}", result.output)
    texts.add("report", report.read_text())
    texts.add("logs", logs.text)
    texts.check()

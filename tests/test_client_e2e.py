"""The client and the CLI against the real emulator over a socket (cuepipe.emulator.EmulatorServer)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner

from cuepipe import frames, read_xml
from cuepipe.cli import main
from cuepipe.cli_api import COMMANDS
from cuepipe.client import AsyncClient, Client, PushError, UnservableError
from cuepipe.demo import sample_path
from cuepipe.emulator import EmulatorServer
from cuepipe.kaltura import InvalidEntryIdError, InvalidKSError
from cuepipe.values import is_missing_cell, parse_time, server_time_text
from cuepipe.vocabulary import BatchJobStatus

from .helpers import EmulatorFactory

PARTNER, ADMIN = 2024, "e2e-admin-secret-7f3a"
ENTRIES = [f"0_{mode}{i}" for mode in ("sync", "async", "cli", "job") for i in (1, 2)]

for command in COMMANDS:  # the registration cuepipe/cli.py performs
    main.add_command(command)


@pytest.fixture(scope="module")
def server(start_emulator: EmulatorFactory) -> EmulatorServer:
    return start_emulator(partner_id=PARTNER, admin_secret=ADMIN, entries=ENTRIES)


def sample(entry1: str, entry2: str) -> pd.DataFrame:
    """The bundled sample, moved to the given entries."""
    df = pd.concat(list(frames.read_table(sample_path())), ignore_index=True)
    df["entryId"] = df["entryId"].map({"0_demo0001": entry1, "0_demo0002": entry2}).astype("string")
    return df


class Both:
    """The sync or async client with one interface (a persistent event loop for the async one)."""

    def __init__(self, mode: str, url: str, **kwargs: Any) -> None:
        self.loop = asyncio.new_event_loop() if mode == "async" else None
        cls = Client if mode == "sync" else AsyncClient
        self.client: Any = cls(url, partner_id=PARTNER, admin_secret=ADMIN, **kwargs)

    def __call__(self, name: str, *args: Any, **kwargs: Any) -> Any:
        target = self.client
        for part in name.split("."):
            target = getattr(target, part)
        result = target(*args, **kwargs)
        return result if self.loop is None else self.loop.run_until_complete(result)

    def close(self) -> None:
        if self.loop is None:
            self.client.close()
        else:
            self.loop.run_until_complete(self.client.aclose())
            self.loop.close()


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_push_pull_both_precisions_and_update_by_system_name(server: EmulatorServer, mode: str) -> None:
    e1, e2 = f"0_{mode}1", f"0_{mode}2"
    df = sample(e1, e2)
    api = Both(mode, server.url)
    try:
        result = api("push", df, chunk_size=3)
        assert result["action"].tolist() == ["created"] * len(df) and result["id"].is_unique
        assert result.groupby("upload")["entryId"].nunique().eq(1).all()
        assert api("count", {"entryIdIn": [e1, e2]}) == len(df)

        flt = {"entryIdIn": [e1, e2]}
        exact = api("pull", flt, precision="ms").set_index("systemName")
        source = df.set_index("systemName")
        assert exact.loc[source.index, "id"].tolist() == result["id"].tolist()
        # addFromBulk drops a thumb's title/description/subType (docs/format-notes.md#how-the-server-ingests);
        # push writes them with cuePoint.update, so every field comes back as pushed. The emulator has
        # no metadata profiles, so customData is not stored.
        assert result.attrs["typed_updates"] == (source["cuePointType"] == "thumbCuePoint.Thumb").sum()
        for name, row in source.iterrows():
            for column, value in row.items():
                if column in ("customData",) or is_missing_cell(value):
                    continue
                assert exact.loc[name, column] == value, (name, column)
        assert exact.loc["CH1_NOTE", "parentId"] == exact.loc["CH1", "id"]

        with pytest.raises(UnservableError, match="thumbCuePoint.Thumb"):
            api("pull", flt)
        served = api("pull", flt, unservable="skip").set_index("systemName")
        assert set(served.index) == set(source.index) - {"SLIDE_2", "Q1"}
        for name in served.index:
            for column in ("startTime", "endTime"):
                ms = exact.loc[name, column]
                expected = pd.NA if pd.isna(ms) else parse_time(server_time_text(int(ms)))
                assert served.loc[name, column] is expected or served.loc[name, column] == expected, (name, column)
        assert served.loc["POLL_3", "startTime"] == 435300  # 435.25 s served as 435.3 s
        assert served.loc["CH1_NOTE", "parentSystemName"] == "CH1"
        for column in ("text", "tags", "title", "sourceUrl", "code", "name", "id"):
            assert served[column].equals(exact.loc[served.index, column]), column

        changed = df.copy()
        changed.loc[changed["systemName"] == "CH2", "text"] = "renamed"
        again = api("push", changed)
        assert again["action"].tolist() == ["updated"] * len(df)
        assert again["id"].tolist() == result["id"].tolist()
        assert api("count", {"entryIdIn": [e1, e2]}) == len(df)
        assert api("get", again.loc[2, "id"])["text"] == "renamed"
    finally:
        api.close()


def test_push_errors_against_the_emulator(server: EmulatorServer) -> None:
    with Client(server.url, partner_id=PARTNER, admin_secret=ADMIN) as client:
        records = [{"cuePointType": "codeCuePoint.Code", "entryId": "0_nosuch", "startTime": 0, "code": "x"}]
        with pytest.raises(PushError) as info:
            client.push(records)
        assert isinstance(info.value.cause, InvalidEntryIdError) and info.value.rows == [0]
    with Client(server.url, partner_id=PARTNER, admin_secret="wrong-secret") as client:
        with pytest.raises(InvalidKSError) as bad:
            client.count({"entryIdEqual": ENTRIES[0]})
        assert "wrong-secret" not in str(bad.value) and client.session.ks not in str(bad.value)


def test_bulk_upload_job_to_a_final_state_with_its_log(server: EmulatorServer) -> None:
    entry = "0_job1"
    mrss = (
        '<?xml version="1.0"?><mrss version="1.0"><channel>'
        f"<item><action>update</action><entryId>{entry}</entryId><scenes><action>update</action>"
        '<scene-code-cue-point systemName="K1"><sceneStartTime>00:00:04</sceneStartTime><code>bulk</code>'
        "</scene-code-cue-point></scenes></item></channel></mrss>"
    ).encode()
    with Client(server.url, partner_id=PARTNER, admin_secret=ADMIN) as client:
        job = client.bulk_uploads.submit(mrss, filename="cues.xml", via="media")
        polls: list[Any] = []
        final = client.bulk_uploads.wait(job.id, timeout=30, poll_interval=0.05, progress=polls.append)
        assert final.status == BatchJobStatus.FINISHED and final.done and polls[-1].detail == "FINISHED"
        log = client.bulk_uploads.serve_log(job.id)
        assert f"<entryId>{entry}</entryId>".encode() in log
        assert client.bulk_uploads.serve(job.id) == mrss
        assert job.id in [j.id for j in client.bulk_uploads.list().objects]
        assert client.pull({"entryIdEqual": entry}, precision="ms")["code"].tolist() == ["bulk"]


def test_cli_push_pull_and_jobs_with_env_vars(server: EmulatorServer, tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"KALTURA_SERVICE_URL": server.url, "KALTURA_PARTNER_ID": str(PARTNER), "KALTURA_ADMIN_SECRET": ADMIN}
    source = tmp_path / "cues.csv"
    df = sample("0_cli1", "0_cli2")
    with frames.TableWriter(source) as writer:
        writer.write(df)

    pushed = runner.invoke(
        main, ["push", str(source), "--chunk-size", "4", "--report", str(tmp_path / "r.csv")], env=env
    )
    assert pushed.exit_code == 0, pushed.output
    assert f"pushed {len(df)} cue points" in pushed.output and f"{len(df)} created" in pushed.output
    report = pd.read_csv(tmp_path / "r.csv")
    assert report["action"].eq("created").all() and report["id"].notna().all()

    out = tmp_path / "out.parquet"
    pulled = runner.invoke(main, ["pull", "--entry-id", "0_cli1", "--entry-id", "0_cli2", "-o", str(out)], env=env)
    assert pulled.exit_code == 0, pulled.output
    back = pd.concat(list(frames.read_table(out)), ignore_index=True)
    assert sorted(back["systemName"]) == sorted(df["systemName"])
    xml_out = tmp_path / "ann.xml"
    pulled = runner.invoke(
        main,
        ["pull", "--entry-id", "0_cli1", "--type", "annotation", "--precision", "tenths", "-o", str(xml_out)],
        env=env,
    )
    assert pulled.exit_code == 0, pulled.output
    assert sorted(read_xml(xml_out)["systemName"]) == ["CH1", "CH1_NOTE", "CH2"]

    again = runner.invoke(main, ["push", str(source)], env=env)
    assert again.exit_code == 0 and f"{len(df)} updated" in again.output

    mrss = tmp_path / "bulk.xml"
    mrss.write_text(
        '<?xml version="1.0"?><mrss><channel><item><action>update</action><entryId>0_job2</entryId>'
        "<scenes><action>update</action><scene-code-cue-point><sceneStartTime>00:00:01</sceneStartTime>"
        "<code>c</code></scene-code-cue-point></scenes></item></channel></mrss>"
    )
    submitted = runner.invoke(main, ["jobs", "submit", str(mrss), "--wait", "--poll-interval", "0.05"], env=env)
    assert submitted.exit_code == 0, submitted.output
    job_id = submitted.stdout.strip().splitlines()[0]
    assert job_id.isdigit() and "FINISHED" in submitted.output
    for args in (
        ["jobs", "get", job_id],
        ["jobs", "list", "--json"],
        ["jobs", "wait", job_id],
        ["jobs", "log", job_id],
    ):
        done = runner.invoke(main, args, env=env)
        assert done.exit_code == 0, (args, done.output)
        assert ADMIN not in done.output and "/ks/" not in done.output
    assert "<entryId>0_job2</entryId>" in runner.invoke(main, ["jobs", "log", job_id], env=env).stdout

    # exit codes: 1 for data/API errors (one line), 2 for usage
    bad = tmp_path / "bad.csv"
    bad.write_text("cuePointType,entryId,startTime,code\ncodeCuePoint.Code,0_nosuch,0,x\n")
    failed = runner.invoke(main, ["push", str(bad)], env=env)
    assert failed.exit_code == 1 and "INVALID_ENTRY_ID" in failed.output and "Traceback" not in failed.output
    unsafe = runner.invoke(
        main, ["pull", "--entry-id", "0_cli1", "--precision", "tenths", "-o", str(tmp_path / "x.csv")], env=env
    )
    assert unsafe.exit_code == 1 and "serveBulk cannot serve" in unsafe.output
    usage = runner.invoke(
        main,
        ["pull", "--entry-id", "0_cli1", "-o", str(tmp_path / "y.csv")],
        env={"KALTURA_SERVICE_URL": "", "KALTURA_ADMIN_SECRET": ADMIN},
    )
    assert usage.exit_code == 2 and "service URL" in usage.output
    wrong = runner.invoke(main, ["jobs", "list"], env={**env, "KALTURA_ADMIN_SECRET": "nope-not-it"})
    assert wrong.exit_code == 1 and "INVALID_KS" in wrong.output and "nope-not-it" not in wrong.output


def test_user_session_without_user_id_sees_public_cue_points_only():
    """A user session without a user id sees public cue points only, not even what it created
    (CuePointPeer::setDefaultCriteriaFilter, plugins/cue_points/base/lib/model/CuePointPeer.php)."""
    from cuepipe.kaltura import SessionType, make_ks

    with EmulatorServer(partner_id=300, admin_secret="s3", entries=["0_u"]) as srv:
        ks = make_ks(300, "s3", type=SessionType.USER, user_id="")
        with Client(srv.url, ks=ks) as kaltura:
            kaltura.push(
                [
                    {
                        "cuePointType": "codeCuePoint.Code",
                        "entryId": "0_u",
                        "systemName": "C1",
                        "startTime": 1000,
                        "code": "x",
                    }
                ]
            )
            assert kaltura.count({"entryIdEqual": "0_u"}) == 0
            assert kaltura.pull({"entryIdEqual": "0_u"}, precision="ms").empty

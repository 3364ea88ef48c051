"""CLI output: one result per line, never wrapped, no markup or escape codes when the stream is not a
terminal (pipes, log files, CI), whatever ``COLUMNS`` says and however long the paths are; rich output
and progress bars on a terminal (forced through ``cuepipe._console.FORCE_TERMINAL``)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner, Result

import cuepipe
from cuepipe import _console, frames
from cuepipe.cli import main
from cuepipe.demo import sample_path
from cuepipe.emulator import EmulatorServer

from .helpers import EmulatorFactory

PARTNER, ADMIN = 3131, "cli-output-admin-secret-9c2e"
ENTRY1, ENTRY2 = "0_out00001", "0_out00002"
ESCAPE = "\x1b"
WIDTHS = [None, "20", "1000"]  # COLUMNS unset, small, large: the output must not change


@pytest.fixture
def deep(tmp_path: Path) -> Path:
    """A folder whose path alone is far wider than any terminal."""
    folder = tmp_path / ("a-long-folder-name-" * 4) / ("another-long-folder-name-" * 4) / "cue [points] :x:"
    folder.mkdir(parents=True)
    assert len(str(folder)) > 200
    return folder


def _sample() -> pd.DataFrame:
    df = pd.concat(list(frames.read_table(sample_path())), ignore_index=True)
    df["entryId"] = df["entryId"].map({"0_demo0001": ENTRY1, "0_demo0002": ENTRY2}).astype("string")
    return df


def invoke(args: list[str], columns: str | None, **env: str) -> Result:
    environment: dict[str, str | None] = {"COLUMNS": columns, "LINES": None, **env}
    result = CliRunner().invoke(main, args, env=environment)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def lines(text: str) -> list[str]:
    assert ESCAPE not in text, repr(text)
    assert text == "" or text.endswith("\n"), repr(text)
    return text.splitlines()


@pytest.mark.parametrize("columns", WIDTHS)
def test_validate_prints_one_line_per_result(deep: Path, columns: str | None) -> None:
    good, bad = deep / "good.ingest.xml", deep / "bad [1].xml"
    cuepipe.write_xml(_sample(), good)
    bad.write_text(
        "<scenes>\n<scene-code-cue-point entryId='e'><sceneStartTime>99:00:00</sceneStartTime>"
        "</scene-code-cue-point>\n</scenes>"
    )
    result = invoke(["validate", str(good), str(bad)], columns)
    assert result.exit_code == 1
    out = lines(result.stdout)
    assert out[0] == f"OK      {good}: 9 cue points, valid ingest document"
    assert out[1] == f"INVALID {bad}: {len(out) - 2} error(s)"
    assert len(out) > 2 and all(line.startswith("  line ") for line in out[2:])
    assert any("99:00:00" in line for line in out[2:])
    assert lines(result.stderr) == []  # no progress bar when stderr is not a terminal


@pytest.mark.parametrize("columns", WIDTHS)
def test_convert_reports_on_one_line(deep: Path, columns: str | None) -> None:
    xml = deep / "converted from the sample.xml.gz"
    result = invoke(["convert", str(sample_path()), str(xml)], columns)
    assert result.exit_code == 0
    assert lines(result.stdout) == []
    assert lines(result.stderr) == [f"wrote 9 cue points to {xml}"]
    parquet = deep / "and back.parquet"
    result = invoke(["convert", str(xml), str(parquet)], columns)
    assert lines(result.stderr) == [f"wrote 9 cue points to {parquet}"]
    broken = deep / "broken.csv"
    broken.write_text("cuePointType,entryId,startTime\nannotation.Annotation,e,90000000\n")
    result = invoke(["convert", str(broken), str(deep / "never.xml")], columns)
    assert result.exit_code == 1
    (error,) = lines(result.stderr)
    assert error.startswith("error: ") and "record 0, field 'startTime'" in error


@pytest.fixture(scope="module")
def server(start_emulator: EmulatorFactory) -> EmulatorServer:
    return start_emulator(partner_id=PARTNER, admin_secret=ADMIN, entries=[ENTRY1, ENTRY2])


@pytest.mark.parametrize("columns", WIDTHS)
def test_push_pull_and_jobs_print_one_line_per_result(server: EmulatorServer, deep: Path, columns: str | None) -> None:
    env = {"KALTURA_SERVICE_URL": server.url, "KALTURA_PARTNER_ID": str(PARTNER), "KALTURA_ADMIN_SECRET": ADMIN}
    source, report = deep / "to push.csv", deep / "push report.csv"
    with frames.TableWriter(source) as writer:
        writer.write(_sample())

    pushed = invoke(["push", str(source), "--chunk-size", "4", "--report", str(report)], columns, **env)
    assert pushed.exit_code == 0
    assert lines(pushed.stdout) == []
    (summary,) = lines(pushed.stderr)
    assert re.fullmatch(r"pushed 9 cue points in \d+ upload\(s\): 9 (created|updated)", summary), summary

    out = deep / "pulled back.jsonl"
    pulled = invoke(["pull", "--entry-id", ENTRY1, "--entry-id", ENTRY2, "-o", str(out)], columns, **env)
    assert pulled.exit_code == 0
    assert lines(pulled.stdout) == []
    (summary,) = lines(pulled.stderr)  # 9, plus the cue points earlier runs' bulk jobs added
    assert re.fullmatch(rf"pulled \d+ cue points to {re.escape(str(out))}", summary), summary

    mrss = deep / "bulk upload with a long name.xml"
    mrss.write_text(
        f'<?xml version="1.0"?><mrss><channel><item><action>update</action><entryId>{ENTRY2}</entryId>'
        "<scenes><action>update</action><scene-code-cue-point><sceneStartTime>00:00:01</sceneStartTime>"
        "<code>c</code></scene-code-cue-point></scenes></item></channel></mrss>"
    )
    submitted = invoke(["jobs", "submit", str(mrss), "--wait", "--poll-interval", "0.05"], columns, **env)
    assert submitted.exit_code == 0
    (job_id,) = lines(submitted.stdout)
    assert job_id.isdigit()
    assert lines(submitted.stderr) == [f"bulk upload {job_id}: FINISHED (Finished successfully)"]

    listed = invoke(["jobs", "list"], columns, **env)
    table = lines(listed.stdout)
    assert table[0].split("\t") == ["id", "status", "uploaded", "fileName", "numOfObjects", "error"]
    rows = [row.split("\t") for row in table[1:]]
    assert all(len(row) == 6 for row in rows) and [job_id, "FINISHED"] in [row[:2] for row in rows]
    assert mrss.name in [row[3] for row in rows if row[0] == job_id]
    (title,) = lines(listed.stderr)
    assert re.fullmatch(r"\d+ of \d+ bulk upload job\(s\)", title)

    got = invoke(["jobs", "get", job_id], columns, **env)
    fields = dict(line.split(": ", 1) for line in lines(got.stdout))
    assert fields["id"] == job_id and fields["status"] == "FINISHED" and fields["fileName"] == mrss.name

    as_json = invoke(["jobs", "list", "--json"], columns, **env)
    assert all(line.startswith("{") and line.endswith("}") for line in lines(as_json.stdout))

    waited = invoke(["jobs", "wait", job_id], columns, **env)
    assert waited.exit_code == 0 and lines(waited.stdout) == []
    assert lines(waited.stderr) == [f"bulk upload {job_id}: FINISHED (Finished successfully)"]

    bad = deep / "unknown entry.csv"
    bad.write_text("cuePointType,entryId,startTime,code\ncodeCuePoint.Code,0_nosuch,0,x\n")
    failed = invoke(["push", str(bad)], columns, **env)
    assert failed.exit_code == 1 and lines(failed.stdout) == []
    (error,) = lines(failed.stderr)
    assert error.startswith("error: upload 1 (entry 0_nosuch, input rows 0) failed") and "INVALID_ENTRY_ID" in error


def test_a_pipe_gets_plain_lines_from_a_real_process(deep: Path) -> None:
    """The same through a real pipe (not click's test runner), with a tiny COLUMNS."""
    good = deep / "good.xml"
    cuepipe.write_xml(_sample(), good)
    env = {**os.environ, "COLUMNS": "20"}
    proc = subprocess.run(
        [sys.executable, "-m", "cuepipe.cli", "validate", str(good)], capture_output=True, text=True, env=env
    )
    assert proc.returncode == 0, proc.stderr
    assert lines(proc.stdout) == [f"OK      {good}: 9 cue points, valid ingest document"] and proc.stderr == ""


def test_a_reader_that_stops_early_gets_no_traceback(deep: Path) -> None:
    """``cuepipe validate *.xml | head -1``: the pipe closes while cuepipe still writes."""
    good = deep / "good.xml"
    cuepipe.write_xml(_sample(), good)
    proc = subprocess.Popen(
        [sys.executable, "-m", "cuepipe.cli", "validate", *[str(good)] * 200],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # long before the first result is written
    stderr = proc.stderr.read().decode()
    assert proc.wait() == 141
    assert stderr == ""


# ---------------------------------------------------------------------------------------------
# On a terminal
# ---------------------------------------------------------------------------------------------


def visible(text: str) -> str:
    """What a terminal shows of ``text``, roughly: escape sequences removed."""
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_console, "FORCE_TERMINAL", True)


def test_validate_on_a_terminal_shows_colour_and_progress(terminal: None, deep: Path) -> None:
    good = deep / "good.xml"
    cuepipe.write_xml(_sample(), good)
    result = invoke(["validate", str(good)], "200")
    assert result.exit_code == 0
    assert ESCAPE in result.stdout and "OK" in result.stdout
    size = good.stat().st_size
    assert ESCAPE in result.stderr and "validate good.xml" in visible(result.stderr)
    assert f"{size / 1000:.1f}/{size / 1000:.1f} kB" in visible(result.stderr)  # the bar reached the file's size


def test_convert_on_a_terminal_shows_progress(terminal: None, deep: Path) -> None:
    xml = deep / "out.xml"
    result = invoke(["convert", str(sample_path()), str(xml)], "200")
    assert result.exit_code == 0
    assert ESCAPE in result.stderr
    assert "convert cue_points.csv" in visible(result.stderr) and "9/? cue points" in visible(result.stderr)
    result = invoke(["convert", str(xml), str(deep / "out.parquet")], "200")
    size = xml.stat().st_size
    assert "convert out.xml" in visible(result.stderr)
    assert f"{size / 1000:.1f}/{size / 1000:.1f} kB" in visible(result.stderr)


def test_tables_on_a_terminal_are_rich(terminal: None, capsys: pytest.CaptureFixture[str]) -> None:
    _console.console().table(("a", "b"), [("1", ("two", "green")), (None, "x\ty")], title="t")
    out = capsys.readouterr().out
    assert "┃" in out or "│" in out


def test_plain_output_never_splits_a_value(capsys: pytest.CaptureFixture[str]) -> None:
    out = _console.console()
    out.table(("a", "b"), [("1", ("two", "green")), (None, "x\ty\nz")])
    out.line("file ", ("name\nwith a break", "red"), " [not markup] :smile:")
    out.print("[green]OK[/] done", markup=True)
    assert capsys.readouterr().out.splitlines() == [
        "a\tb",
        "1\ttwo",
        "\tx y z",
        "file name with a break [not markup] :smile:",
        "OK done",
    ]


def test_every_command_gets_its_console_from_the_factory() -> None:
    """Only cuepipe/_console.py talks to rich, so no command can bypass the plain-output rule."""
    package = Path(cuepipe.__file__).parent
    offenders = [
        str(path.relative_to(package))
        for path in sorted(package.rglob("*.py"))
        if path.name != "_console.py" and re.search(r"^\s*(from|import) rich\b", path.read_text(), re.MULTILINE)
    ]
    assert offenders == []

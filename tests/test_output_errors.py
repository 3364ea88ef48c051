"""Outputs (issue 14 §2): every format honours ``.gz``; environmental errors are one line, never partial files.

Before: ``cuepipe convert ok.csv out.jsonl.gz`` wrote plain text under a ``.gz`` name; an output in a
missing folder and a full disk ended in tracebacks (FileNotFoundError on the temporary file, ENOSPC).
"""

from __future__ import annotations

import errno
import gzip
import io
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner

import cuepipe
import cuepipe._files as files
from cuepipe import frames
from cuepipe.cli import main
from cuepipe.cli_api import write_report

FORMATS = ["csv", "csv.gz", "parquet", "jsonl", "jsonl.gz", "xml", "xml.gz"]


@pytest.fixture
def source(tmp_path: Path) -> Path:
    rows = "".join(f"annotation.Annotation,0_abc,{i * 10},{i * 10 + 5},t{i % 7},text {i}\n" for i in range(3000))
    path = tmp_path / "in.csv"
    path.write_text("cuePointType,entryId,startTime,endTime,tags,text\n" + rows)
    return path


def _leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith(".cuepipe-")]


@pytest.mark.parametrize("ext", FORMATS)
def test_every_format_honours_gz_and_reads_back(source: Path, tmp_path: Path, ext: str) -> None:
    out = tmp_path / f"out.{ext}"
    result = CliRunner().invoke(main, ["convert", str(source), str(out)])
    assert result.exit_code == 0, result.output
    head = out.read_bytes()[:2]
    assert (head == b"\x1f\x8b") == ext.endswith(".gz")
    back = cuepipe.read_xml(out) if ext.startswith("xml") else pd.concat(frames.read_table(out))
    assert len(back) == 3000 and back["text"].iloc[-1] == "text 2999"
    again = tmp_path / "again.csv"
    assert CliRunner().invoke(main, ["convert", str(out), str(again)]).exit_code == 0


def test_parquet_gz_is_refused_not_written(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.parquet.gz"
    result = CliRunner().invoke(main, ["convert", str(source), str(out)])
    assert result.exit_code == 1 and "cannot tell the format" in result.output
    assert not out.exists() and not _leftovers(tmp_path)


@pytest.mark.parametrize("ext", FORMATS)
def test_a_missing_output_folder_is_one_line(source: Path, tmp_path: Path, ext: str) -> None:
    out = tmp_path / "nowhere" / f"out.{ext}"
    result = CliRunner().invoke(main, ["convert", str(source), str(out)])
    assert result.exit_code == 1
    assert result.output == f"error: cannot write {out}: the folder {out.parent} does not exist\n"
    debug = CliRunner().invoke(main, ["--debug", "convert", str(source), str(out)])
    assert isinstance(debug.exception, FileNotFoundError)  # --debug lets the traceback through


def test_library_writers_name_the_missing_folder(tmp_path: Path) -> None:
    rec = [{"cuePointType": "annotation.Annotation", "entryId": "0_a", "startTime": 0, "endTime": 1}]
    with pytest.raises(FileNotFoundError, match="the folder .*nowhere does not exist"):
        cuepipe.write_xml(rec, tmp_path / "nowhere" / "x.xml")
    with pytest.raises(FileNotFoundError, match="the folder .*nowhere does not exist"):
        frames.TableWriter(tmp_path / "nowhere" / "x.csv")


class _FullDisk(io.FileIO):
    """A file on a disk that fills up after ``room`` bytes."""

    room = 0

    def write(self, b: Any) -> int:
        if len(b) > _FullDisk.room:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        _FullDisk.room -= len(b)
        return super().write(b)


@pytest.mark.parametrize("ext", FORMATS)
def test_a_full_disk_is_one_line_and_keeps_the_old_file(
    source: Path, tmp_path: Path, ext: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / f"out.{ext}"
    out.write_bytes(b"the previous version")
    _FullDisk.room = 4000
    monkeypatch.setattr(files, "open", lambda path, mode: io.BufferedWriter(_FullDisk(path, mode), 1024), raising=False)
    result = CliRunner().invoke(main, ["convert", str(source), str(out)])
    assert result.exit_code == 1
    assert result.output == f"error: cannot write {out}: No space left on device\n"
    assert out.read_bytes() == b"the previous version" and not _leftovers(tmp_path)


@pytest.mark.parametrize("ext", FORMATS)
def test_a_real_file_size_limit_is_one_line(source: Path, tmp_path: Path, ext: str) -> None:
    """The operating system refuses the write (RLIMIT_FSIZE: EFBIG), through every writer's own I/O."""
    out = tmp_path / f"out.{ext}"

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))

    proc = subprocess.run(
        [sys.executable, "-m", "cuepipe.cli", "convert", str(source), str(out)],
        capture_output=True,
        text=True,
        preexec_fn=limit,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.strip() == f"error: cannot write {out}: File too large"
    assert not out.exists() and not _leftovers(tmp_path)


def test_push_report_is_atomic_and_honours_gz(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = pd.DataFrame({"id": ["1", "2"], "action": ["created", "updated"]})
    write_report(result, str(tmp_path / "r.csv.gz"))
    assert gzip.decompress((tmp_path / "r.csv.gz").read_bytes()).startswith(b"index,id,action")
    write_report(result, str(tmp_path / "r.jsonl.gz"))
    assert len(frames.pd.read_json(tmp_path / "r.jsonl.gz", lines=True)) == 2
    with pytest.raises(FileNotFoundError, match="the folder .*nowhere does not exist"):
        write_report(result, str(tmp_path / "nowhere" / "r.csv"))
    _FullDisk.room = 10
    monkeypatch.setattr(files, "open", lambda path, mode: io.BufferedWriter(_FullDisk(path, mode), 4), raising=False)
    with pytest.raises(OSError, match="No space left"):
        write_report(result, str(tmp_path / "r.parquet"))
    assert not (tmp_path / "r.parquet").exists() and not _leftovers(tmp_path)


def test_emulator_database_in_a_missing_folder_is_one_line(tmp_path: Path) -> None:
    db = tmp_path / "nowhere" / "cues.db"
    result = CliRunner().invoke(main, ["emulator", "--db", str(db), "--admin-secret", "s3cret-long"])
    assert result.exit_code == 1
    assert result.output.strip() == f"error: cannot open the database {db}: the folder {db.parent} does not exist"


@pytest.mark.parametrize("command", ["pull", "push"])
def test_api_commands_refuse_a_missing_output_folder_before_any_request(
    command: str, source: Path, tmp_path: Path
) -> None:
    """Nothing listens on the service URL: the folder check must come first (and a push must not run)."""
    out = tmp_path / "nowhere" / "out.csv"
    args = ["--service-url", "http://127.0.0.1:9", "--partner-id", "1", "--admin-secret", "s3cret-long"]
    if command == "pull":
        args = ["pull", "--entry-id", "0_a", "-o", str(out), *args]
    else:
        args = ["push", str(source), "--report", str(out), *args]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert result.output.strip().endswith(f"error: cannot write {out}: the folder {out.parent} does not exist")
    assert "Traceback" not in result.output

"""The command line: conversions by extension, validation exit codes, readable errors."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import cuepipe
from cuepipe import frames
from cuepipe.cli import main

SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "cue_points.csv"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_convert_chain_preserves_every_value(tmp_path):
    xml, pq, jsonl, csv2, xml_gz = (tmp_path / n for n in ("a.xml", "a.parquet", "a.jsonl", "a.csv", "b.xml.gz"))
    for src, dst in [(SAMPLE, xml), (xml, pq), (pq, jsonl), (jsonl, csv2), (csv2, xml_gz)]:
        code, _, err = run("convert", str(src), str(dst), "--chunksize", "3")
        assert code == 0, err
        assert "wrote 9 cue points" in err
    original = pd.concat(list(frames.read_table(SAMPLE)), ignore_index=True)
    final = cuepipe.read_xml(xml_gz)
    assert list(frames.frame_to_records(final)) == list(frames.frame_to_records(original))


def test_convert_to_serve_and_back(tmp_path):
    served = tmp_path / "served.xml"
    df = pd.concat(list(frames.read_table(SAMPLE)), ignore_index=True)
    df["id"] = [f"1_{i:08d}" for i in range(len(df))]
    df["customData"] = None  # the sample's metadata lacks the ids and versions serve requires
    src = tmp_path / "with_ids.parquet"
    with frames.TableWriter(src) as w:
        w.write(df)
    code, _, err = run("convert", str(src), str(served), "--kind", "serve", "--unsupported", "ignore")
    assert code == 0, err
    code, out, _ = run("validate", "--kind", "serve", str(served))
    assert code == 0 and "OK" in out


def test_validate_exit_codes_and_report(tmp_path):
    good = tmp_path / "good.xml"
    cuepipe.write_xml(frames.read_table(SAMPLE).__next__(), good)
    bad = tmp_path / "bad.xml"
    bad.write_text(
        "<scenes>\n<scene-code-cue-point entryId='e'><sceneStartTime>99:00:00</sceneStartTime>"
        "</scene-code-cue-point>\n</scenes>"
    )
    code, out, _ = run("validate", str(good))
    assert code == 0 and "9 cue points" in out
    code, out, _ = run("validate", str(good), str(bad))
    assert code == 1
    assert "INVALID" in out and "line 2, record 0" in out and "99:00:00" in out
    code, _, err = run("validate", str(tmp_path / "missing.xml"))
    assert code == 2 and "does not exist" in err


def test_convert_error_is_one_line_and_leaves_no_output(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text(
        "cuePointType,entryId,startTime,endTime\nannotation.Annotation,e,1,2\nannotation.Annotation,e,90000000,2\n"
    )
    dst = tmp_path / "out.xml"
    code, _, err = run("convert", str(src), str(dst))
    assert code == 1
    assert "record 1, field 'startTime'" in err and "Traceback" not in err
    assert not dst.exists() and [p.name for p in tmp_path.iterdir()] == ["in.csv"]
    src.write_text("cuePointType,entryId,startTim\nannotation.Annotation,e,1\n")
    code, _, err = run("convert", str(src), str(dst))
    assert code == 1 and "did you mean 'startTime'" in err


def test_demo_runs(tmp_path):
    code, out, err = run("demo", "--workdir", str(tmp_path))
    assert code == 0, out + err
    assert "round trip: every value came back" in out
    assert "no duplicates" in out


@pytest.mark.skipif(
    shutil.which("cuepipe", path=str(Path(sys.executable).parent)) is None, reason="console script not installed"
)
def test_console_script_is_installed():
    exe = shutil.which("cuepipe", path=str(Path(sys.executable).parent))
    proc = subprocess.run([exe, "--help"], capture_output=True, text=True, check=True)
    for command in ("convert", "validate", "demo", "emulator", "push", "pull", "jobs"):
        assert command in proc.stdout

"""Smoke tests for the benchmark suite: generated data is valid and covers every type; the runner runs.

No timing assertions: these only check that ``benchmarks/`` works end to end at a tiny size.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree

import cuepipe
from cuepipe import vocabulary as voc

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # benchmarks/ is not part of the installed package
    sys.path.insert(0, str(ROOT))

from benchmarks.generate import DataFiles, data_files, ensure_data, generate, ingest_view  # noqa: E402

XML_ELEMENTS = {t.element for t in voc.XML_TYPES}


@pytest.fixture(scope="module")
def small_data(tmp_path_factory: pytest.TempPathFactory) -> DataFiles:
    return ensure_data(300, seed=7, data_dir=tmp_path_factory.mktemp("bench-data"))


@pytest.mark.parametrize("kind", ["ingest", "serve"])
def test_generated_documents_validate_and_cover_every_type(small_data: DataFiles, kind: str) -> None:
    path = small_data.ingest_xml if kind == "ingest" else small_data.serve_xml
    report = cuepipe.validate(path, kind=kind)
    assert report.ok, str(report)
    assert report.records == 300
    root = etree.parse(str(path)).getroot()
    assert {el.tag for el in root} == XML_ELEMENTS
    annotations = root.findall("scene-annotation")
    assert any(a.find("parent") is not None for a in annotations), "no parent by system name"
    assert any(a.find("parentId") is not None for a in annotations), "no parent by id"
    assert root.find("scene-question-cue-point/optionalAnswers/optionalAnswer") is not None
    assert root.find("*/scene-customData/metadata") is not None
    assert root.find("*/tags/tag") is not None
    if kind == "serve":
        assert root.find("*/userId") is not None
    else:
        assert root.find("*/userId") is None


def test_generated_text_is_hard_unicode_and_xml_special(small_data: DataFiles) -> None:
    text = small_data.serve_xml.read_text(encoding="utf-8")
    for needle in ("é", "日本語", "🎬", "שלום", "مرحبا", "&amp;", "&lt;", "'", '"'):
        assert needle in text, needle


def test_generator_is_seeded_prefix_stable_and_every_type_early() -> None:
    a, b = generate(40, seed=3), generate(400, seed=3)
    assert a == b[:40]
    assert generate(40, seed=4) != a
    first = {r["cuePointType"].value for r in generate(11, seed=3)}
    assert first == {t.api_type.value for t in voc.XML_TYPES}
    assert all(0 <= r["startTime"] < 86_400_000 for r in b)
    assert all(r.get("endTime", 0) < 86_400_000 for r in b)


def test_frame_round_trips_to_the_ingest_file(small_data: DataFiles) -> None:
    import pandas as pd

    df = pd.read_pickle(small_data.frame)
    assert len(df) == 300
    assert cuepipe.write_xml(df, kind="ingest") == small_data.ingest_xml.read_bytes()


def test_ingest_view_drops_what_ingest_cannot_carry() -> None:
    for i, rec in enumerate(generate(300, seed=5)):
        view = ingest_view(rec, i)
        assert "userId" not in view
        if view["cuePointType"] == voc.CuePointType.ANNOTATION:
            assert not ("parentSystemName" in view and "parentId" in view)
        for item in view.get("customData", []):
            assert "metadataVersion" not in item


def test_data_files_are_keyed_by_n_and_seed(tmp_path: Path) -> None:
    a, b, c = data_files(10, 1, tmp_path), data_files(10, 2, tmp_path), data_files(11, 1, tmp_path)
    assert len({a.ingest_xml, b.ingest_xml, c.ingest_xml}) == 3


@pytest.mark.slow
@pytest.mark.timeout(660)  # about two minutes alone; under pytest-xdist it shares the cores with other tests
def test_runner_end_to_end(tmp_path: Path) -> None:
    out, data = tmp_path / "results", tmp_path / "data"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.run",
            "--sizes",
            "200",
            "--repeat",
            "1",
            "--out",
            str(out),
            "--data",
            str(data),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    per_size = json.loads((out / "results-200.json").read_text(encoding="utf-8"))
    assert per_size["n"] == 200
    results = {r["case"]: r for r in per_size["results"]}
    assert {"read.cuepipe", "chunked.cuepipe", "write.cuepipe", "validate.cuepipe"} <= set(results)
    for case in (
        "read.cuepipe",
        "chunked.cuepipe",
        "write.cuepipe",
        "validate.cuepipe",
        "read.parse",
        "read.iterparse",
        "write.xmlfile",
        "validate.lxml",
    ):
        assert results[case]["status"] == "ok", results[case]
        assert results[case]["seconds"] > 0 and results[case]["peak_mb"] > 0
    assert results["read.cuepipe"]["records"] == 200
    assert results["write.cuepipe"]["output_identical_to_ingest_file"] is True
    run = json.loads((out / "latest.json").read_text(encoding="utf-8"))
    assert {t["status"] for t in run["targets"]} <= {"PASS", "MISS", "N/A", "info"}
    assert run["machine"]["cpu"]
    md = (out / "latest.md").read_text(encoding="utf-8")
    assert "## Targets" in md and "N = 200" in md

"""The wheel works outside the repository: XSDs, the sample and the compiled core travel inside it."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# builds wheels, runs subprocesses. A build takes about 40 s alone (it compiles the extension), longer
# when it shares the cores with other tests (make test runs them in several processes).
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def _build_wheel(out: Path, **env: str) -> Path:
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
    )
    if proc.returncode != 0:
        pytest.fail(f"building the wheel failed:\n{proc.stderr[-2000:]}")
    (whl,) = out.glob("cuepipe-*.whl")
    return whl


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    return _build_wheel(tmp_path_factory.mktemp("wheel"))


# Reads and writes a document with custom metadata and answers (the DataFrame goes through the writer's
# compiled path when it is there), and says whether the compiled reader and writer did it.
ROUND_TRIP = (
    "import cuepipe, sys\n"
    "from cuepipe.xml import reader\n"
    "recs = [{'cuePointType': 'quiz.QUIZ_QUESTION', 'entryId': 'e', 'startTime': 1500, 'question': 'q & a?',\n"
    "         'optionalAnswers': [{'key': '1', 'text': 'yes', 'weight': 1.0, 'isCorrect': 1}]},\n"
    "        {'cuePointType': 'annotation.Annotation', 'entryId': 'e', 'startTime': 0, 'endTime': 1,\n"
    "         'customData': [{'metadataProfileId': 3, 'xml': '<metadata><A>1</A></metadata>'}]}]\n"
    "df = cuepipe.read_xml(cuepipe.write_xml(recs))\n"
    "back = cuepipe.read_xml(cuepipe.write_xml(df))\n"
    "assert back['question'][0] == 'q & a?' and back['startTime'][0] == 1500, back\n"
    "assert back['optionalAnswers'][0] == recs[0]['optionalAnswers'], back['optionalAnswers'][0]\n"
    "assert back['customData'][1] == [{'metadataProfileId': 3, 'xml': '<metadata><A>1</A></metadata>'}]\n"
    "from cuepipe.xml import writer\n"
    "print(reader.SPEEDUPS, writer._speedups is not None, reader.__file__)\n"
)


def _run_from(site: Path, script: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(site)}
    proc = subprocess.run([sys.executable, "-c", script], cwd="/", env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_wheel_carries_the_compiled_reader_and_writer(wheel, tmp_path):
    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.startswith("cuepipe/xml/_speedups.") and n.endswith((".so", ".pyd")) for n in names), names
    assert not any(n.endswith(".c") for n in names)
    assert "-py3-none-any" not in wheel.name  # platform-specific, since it holds a compiled module
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    read_fast, write_fast, where = _run_from(site, ROUND_TRIP).split()
    assert read_fast == write_fast == "True" and where.startswith(str(site))


def test_pure_python_build_works_without_the_extension(tmp_path):
    whl = _build_wheel(tmp_path / "pure", CUEPIPE_NO_EXTENSIONS="1")
    names = zipfile.ZipFile(whl).namelist()
    assert not any("_speedups." in n and not n.endswith((".pyx", ".pyi")) for n in names), names
    assert "cuepipe/py.typed" in names
    assert whl.name.endswith("-py3-none-any.whl")
    site = tmp_path / "site"
    zipfile.ZipFile(whl).extractall(site)
    read_fast, write_fast, where = _run_from(site, ROUND_TRIP).split()
    assert read_fast == write_fast == "False" and where.startswith(str(site))


def test_wheel_version_is_the_package_version(wheel):
    """One source: the wheel's metadata and ``cuepipe.__version__`` both come from cuepipe/_version.py."""
    import cuepipe

    with zipfile.ZipFile(wheel) as whl:
        (meta,) = [n for n in whl.namelist() if n.endswith(".dist-info/METADATA")]
        fields = dict(line.split(": ", 1) for line in whl.read(meta).decode().splitlines() if ": " in line)
    assert fields["Version"] == cuepipe.__version__
    assert wheel.name.startswith(f"cuepipe-{cuepipe.__version__}-")


def test_wheel_is_typed(wheel):
    """PEP 561: the marker that makes type checkers read cuepipe's annotations, and the extension's stub."""
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"cuepipe/py.typed", "cuepipe/xml/_speedups.pyi"} <= names


def test_wheel_contains_schemas_and_sample(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"cuepipe/schemas/ingest.xsd", "cuepipe/schemas/serve.xsd", "cuepipe/samples/cue_points.csv"} <= names


def test_installed_wheel_works_from_another_directory(wheel, tmp_path):
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    script = (
        "import cuepipe, sys\n"
        "from cuepipe.xml.schemas import schema_dir\n"
        f"assert cuepipe.__file__.startswith({str(site)!r}), cuepipe.__file__\n"
        f"assert str(schema_dir()).startswith({str(site)!r}), schema_dir()\n"
        "xml = cuepipe.write_xml([{'cuePointType': 'codeCuePoint.Code', 'entryId': 'e', 'startTime': 1}])\n"
        "assert cuepipe.validate(xml).ok and cuepipe.validate(xml, kind='serve').errors\n"
        "from cuepipe.demo import sample_path\n"
        f"assert str(sample_path()).startswith({str(site)!r})\n"
        "print('ok')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    proc = subprocess.run([sys.executable, "-c", script], cwd="/", env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"


def test_format_work_does_not_load_the_http_client():
    script = (
        "import sys, cuepipe\n"
        "cuepipe.write_xml([{'cuePointType': 'codeCuePoint.Code', 'entryId': 'e', 'startTime': 1}])\n"
        "assert 'httpx' not in sys.modules and 'cuepipe.client' not in sys.modules\n"
        "assert cuepipe.Client.__name__ == 'Client' and 'httpx' in sys.modules\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr

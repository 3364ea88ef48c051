"""The wheel works outside the repository: XSDs and the sample travel inside it."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(ROOT)],
        capture_output=True, text=True,
    )
    if proc.returncode != 0:
        pytest.fail(f"building the wheel failed:\n{proc.stderr[-2000:]}")
    (whl,) = out.glob("cuepipe-*.whl")
    return whl


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
    script = ("import sys, cuepipe\n"
              "cuepipe.write_xml([{'cuePointType': 'codeCuePoint.Code', 'entryId': 'e', 'startTime': 1}])\n"
              "assert 'httpx' not in sys.modules and 'cuepipe.client' not in sys.modules\n"
              "assert cuepipe.Client.__name__ == 'Client' and 'httpx' in sys.modules\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr

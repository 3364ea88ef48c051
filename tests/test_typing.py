"""The type information cuepipe ships is what callers get: mypy, run on code that uses the public
API (``tests/typecheck/``), with the project's settings. Slow (mypy loads pandas' stubs)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def mypy(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--no-error-summary", "--follow-imports=silent", *map(str, paths)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )


def test_overloads_give_precise_return_types() -> None:
    proc = mypy(ROOT / "tests" / "typecheck" / "overloads.py")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_a_wrong_expectation_is_reported(tmp_path: Path) -> None:
    """The check can fail: a union where the overload gives one type is an error."""
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from typing import assert_type\nimport cuepipe\nassert_type(cuepipe.write_xml([], 'out.xml'), bytes | int)\n"
    )
    proc = mypy(bad)
    assert proc.returncode == 1 and "[assert-type]" in proc.stdout, proc.stdout + proc.stderr

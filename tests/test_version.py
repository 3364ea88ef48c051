"""The version is written once (cuepipe/_version.py) and no module imports the package root for it."""

from __future__ import annotations

import ast
import importlib.metadata
import tomllib
from pathlib import Path

import cuepipe
from cuepipe._version import __version__

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "cuepipe"


def test_pyproject_takes_the_version_from_the_package():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"], "the version is written in pyproject.toml too"
    assert "version" in project["project"]["dynamic"]
    assert project["tool"]["hatch"]["version"]["path"] == "cuepipe/_version.py"


def test_installed_metadata_and_package_agree():
    assert cuepipe.__version__ == __version__
    assert importlib.metadata.version("cuepipe") == __version__


def _upward_version_imports(path: Path) -> list[str]:
    """``from .. import __version__`` / ``from cuepipe import __version__`` and the like in one module."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(node, ast.ImportFrom) or not any(a.name == "__version__" for a in node.names):
            continue
        relative_root = node.level > 0 and not node.module and len(path.relative_to(PACKAGE).parts) == node.level
        if relative_root or node.module == "cuepipe":
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_no_module_imports_the_package_root_for_the_version():
    offenders = [hit for p in sorted(PACKAGE.rglob("*.py")) for hit in _upward_version_imports(p)]
    assert offenders == [], "import __version__ from cuepipe._version instead"

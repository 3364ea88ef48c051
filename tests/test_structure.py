"""The shape of the package, read from its import statements (``ast``, nothing is imported).

* No import cycle between modules of ``cuepipe/``: every import counts, also the ones under
  ``if TYPE_CHECKING:`` and inside functions, since a cycle hidden that way is still two modules that
  cannot be understood (or split, or tested) one without the other.
* No upward import: a module does not import a *name* from the ``__init__`` of a package it belongs
  to (``from .. import __version__``, ``from cuepipe import frames_helper``). Such an import ties the
  module to everything that ``__init__`` loads and turns into a cycle as soon as the ``__init__``
  imports the module back. Importing a sibling *submodule* (``from .. import frames``) is fine.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "cuepipe"


@dataclass(frozen=True)
class Import:
    source: str  # importing module
    target: str  # imported module (a package stands for its __init__)
    name: str | None  # what is taken from ``target``'s namespace (not a submodule); "*" for ``import target``
    line: int


def module_names(root: Path = ROOT, package: str = PACKAGE) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` file of the package (a package is its ``__init__``)."""
    out: dict[str, Path] = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def compiled_modules(root: Path = ROOT, package: str = PACKAGE) -> set[str]:
    """Extension modules (``.pyx``): import targets too, though they import nothing from the package."""
    return {".".join(p.relative_to(root).with_suffix("").parts) for p in (root / package).rglob("*.pyx")}


def _absolute(module: str, is_package: bool, level: int, name: str | None) -> str:
    if level == 0:
        return name or ""
    base = module.split(".")
    if not is_package:
        base.pop()
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join([*base, name] if name else base)


def imports(modules: dict[str, Path], extra: Iterable[str] = ()) -> list[Import]:
    """Every import statement between modules of the package, wherever it is in the file."""
    known = set(modules) | set(extra)
    found: list[Import] = []
    for module, path in modules.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in known:  # ``import pkg`` then uses names of pkg's __init__
                        is_init = modules.get(alias.name, Path()).name == "__init__.py"
                        found.append(Import(module, alias.name, "*" if is_init else None, node.lineno))
            elif isinstance(node, ast.ImportFrom):
                target = _absolute(module, is_package, node.level, node.module)
                if target not in known:
                    continue
                for alias in node.names:
                    sub = f"{target}.{alias.name}"
                    if sub in known:
                        found.append(Import(module, sub, None, node.lineno))
                    else:
                        found.append(Import(module, target, alias.name, node.lineno))
    return found


def cycles(edges: list[Import]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    graph: dict[str, set[str]] = {}
    for e in edges:
        if e.source != e.target:
            graph.setdefault(e.source, set()).add(e.target)
            graph.setdefault(e.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def upward(edges: list[Import], modules: dict[str, Path]) -> list[Import]:
    """Imports of a name from the ``__init__`` of a package that contains the importing module."""
    bad = []
    for e in edges:
        if e.name is None or modules.get(e.target, Path()).name != "__init__.py":
            continue
        if e.source.startswith(e.target + ".") and e.source != e.target:
            bad.append(e)
    return bad


def _describe(component: list[str], edges: list[Import], modules: dict[str, Path]) -> str:
    inside = set(component)
    lines = [" <-> ".join(component)]
    for e in edges:
        if e.source in inside and e.target in inside and e.source != e.target:
            where = modules[e.source].relative_to(ROOT)
            lines.append(f"    {where}:{e.line}: imports {e.target}" + (f" ({e.name})" if e.name else ""))
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# the package
# ---------------------------------------------------------------------------------------------

MODULES = module_names()
EDGES = imports(MODULES, compiled_modules())


def test_the_graph_is_read() -> None:
    """The reader of the graph sees the imports it must see (else the checks below prove nothing)."""
    pairs = {(e.source, e.target) for e in EDGES}
    assert ("cuepipe.client._sync", "cuepipe.client._base") in pairs
    assert ("cuepipe.frames", "cuepipe.xml.reader") in pairs
    assert ("cuepipe.xml._layout", "cuepipe.xml._speedups") in pairs  # an extension module, by name
    assert ("cuepipe", "cuepipe.client") in pairs  # lazy, inside cuepipe.__getattr__
    assert len(MODULES) > 50


def test_no_import_cycle() -> None:
    found = cycles(EDGES)
    assert not found, "import cycles in cuepipe/:\n" + "\n".join(_describe(c, EDGES, MODULES) for c in found)


def test_no_upward_import() -> None:
    found = upward(EDGES, MODULES)
    assert not found, "modules importing a name from a parent package's __init__:\n" + "\n".join(
        f"    {MODULES[e.source].relative_to(ROOT)}:{e.line}: {e.name} from {e.target}" for e in found
    )


# ---------------------------------------------------------------------------------------------
# the checks themselves, on a made-up package: they fail where they must
# ---------------------------------------------------------------------------------------------


def _package(tmp_path: Path, files: dict[str, str]) -> tuple[dict[str, Path], list[Import]]:
    for name, text in files.items():
        path = tmp_path / "pkg" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    modules = module_names(tmp_path, "pkg")
    return modules, imports(modules)


@pytest.mark.parametrize(
    "files",
    [
        {"__init__.py": "", "a.py": "from . import b\n", "b.py": "from .a import x\n"},
        {  # hidden under TYPE_CHECKING, as client/_jobs.py had it
            "__init__.py": "",
            "a.py": "from .b import x\n",
            "b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .a import y\n",
        },
        {  # three modules, one of the imports inside a function
            "__init__.py": "",
            "sub/__init__.py": "from .c import z\n",
            "sub/c.py": "def f():\n    from ..a import x\n",
            "a.py": "import pkg.b\n",
            "b.py": "from pkg.sub import z\n",
        },
    ],
    ids=["two modules", "type checking", "three modules"],
)
def test_a_cycle_is_found(tmp_path: Path, files: dict[str, str]) -> None:
    _, edges = _package(tmp_path, files)
    assert cycles(edges)


def test_an_upward_import_is_found_and_a_sibling_submodule_is_not(tmp_path: Path) -> None:
    modules, edges = _package(
        tmp_path,
        {
            "__init__.py": "__version__ = '1'\nfrom . import other\n",
            "other.py": "",
            "sub/__init__.py": "",
            "sub/a.py": "from .. import __version__\nfrom .. import other\nfrom pkg import other as o2\n",
            "sub/b.py": "import pkg\nimport pkg.other\n",
        },
    )
    assert sorted((e.source, e.name) for e in upward(edges, modules)) == [
        ("pkg.sub.a", "__version__"),
        ("pkg.sub.b", "*"),
    ]
    assert not cycles(edges)

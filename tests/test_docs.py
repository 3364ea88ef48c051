"""The docs stand on their own: code, tests and docs cite only the project's docs, every cited section
exists, the API reference is generated from the current docstrings, and the changelog is kept."""

from __future__ import annotations

import importlib
import importlib.util
import re
from pathlib import Path

import pytest

import cuepipe

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SCANNED = [ROOT / "cuepipe", ROOT / "tests", ROOT / "docs", ROOT / "README.md"]

# The rule of the issue: grep for the names of the two research notes (the API notes and the format
# notes) and for the shared folder over cuepipe, tests, docs and README.md finds only the project's
# own docs. The same regular expression as that grep; written in pieces so this file does not match.
FORBIDDEN = re.compile("api" + ".md|" + "format" + ".md|" + "shared" + "/")
# The exceptions, explicitly:
# * the project's own API reference, docs/kaltura-api.md (its name ends in the forbidden pattern);
# * tests may read the real server's files from ../shared/kaltura/fixtures when present: a data
#   path (the test skips without it), not a citation.
ALLOWED = re.compile("kaltura-api" + r"\.md|\.\./" + "shared" + "/kaltura/fixtures")


def _text_files() -> list[Path]:
    # ".new": the extension a wheel build stages next to its source before renaming it over the old one
    # (hatch_build.py); tests/test_packaging.py may be building one in another process right now
    files: list[Path] = []
    for top in SCANNED:
        for path in [top] if top.is_file() else sorted(top.rglob("*")):
            if (
                not path.is_file()
                or "__pycache__" in path.parts
                or path.suffix in (".so", ".pyd", ".pyc", ".c", ".new")
            ):
                continue
            files.append(path)
    return files


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return None


def test_no_citations_of_files_users_do_not_have() -> None:
    offenders = []
    for path in _text_files():
        text = _read(path)
        if text is None:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            allowed = [m.span() for m in ALLOWED.finditer(line)]
            for match in FORBIDDEN.finditer(line):
                if not any(start <= match.start() < end for start, end in allowed):
                    offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:100]}")
    assert offenders == [], "cite docs/kaltura-api.md or docs/format-notes.md instead:\n" + "\n".join(offenders)


def test_the_rule_catches_what_it_should() -> None:
    """The check above can fail: the patterns match the citations the issue names, and only those."""
    bad = ["(api" + ".md §1.2)", "format" + ".md §4.1", "`" + "shared" + "/kaltura/x`"]
    good = ["docs/kaltura-api.md#body-encodings", "../" + "shared" + "/kaltura/fixtures/a.xml", "format-notes.md"]
    for line in bad:
        assert any(not ALLOWED.search(line[m.start() :]) for m in FORBIDDEN.finditer(line)), line
    for line in good:
        allowed = [m.span() for m in ALLOWED.finditer(line)]
        assert all(any(s <= m.start() < e for s, e in allowed) for m in FORBIDDEN.finditer(line)), line


def github_anchors(markdown: str) -> set[str]:
    """The anchors GitHub gives a document's headings (duplicates get -1, -2, ...)."""
    anchors: set[str] = set()
    in_code = False
    for line in markdown.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        if in_code or not line.startswith("#"):
            continue
        title = line.lstrip("#").strip()
        slug = re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")
        candidate, n = slug, 0
        while candidate in anchors:
            n += 1
            candidate = f"{slug}-{n}"
        anchors.add(candidate)
    return anchors


# "docs/<page>.md#anchor, #anchor" or "(<page>.md#anchor)" in code, tests and docs
CITATION = re.compile(r"(?:docs/)?([\w-]+\.md)((?:#[\w-]+)(?:,\s*#[\w-]+)*)")


def test_every_cited_section_exists() -> None:
    anchors = {p.name: github_anchors(p.read_text()) for p in DOCS.glob("*.md")}
    missing = []
    for path in _text_files():
        text = _read(path)
        if text is None:
            continue
        for match in CITATION.finditer(text):
            doc = match.group(1)
            if doc not in anchors:
                continue  # e.g. README.md#performance: not one of the docs/ pages
            for anchor in re.findall(r"#([\w-]+)", match.group(2)):
                if anchor not in anchors[doc]:
                    missing.append(f"{path.relative_to(ROOT)}: {doc}#{anchor}")
    assert missing == []
    assert {"body-encodings", "sessionstart", "ks-errors", "addfrombulk", "open-questions"} <= anchors["kaltura-api.md"]


def _generator():
    spec = importlib.util.spec_from_file_location("gen_api_reference", DOCS / "gen_api_reference.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_api_reference_is_current() -> None:
    generated = _generator().render()
    assert (DOCS / "api-reference.md").read_text() == generated, "docs/api-reference.md is out of date: run make docs"


def test_api_reference_covers_every_public_name() -> None:
    page = (DOCS / "api-reference.md").read_text()
    gen = _generator()
    for module_name in gen.MODULES:
        module = importlib.import_module(module_name)
        for name in gen.public_names(module):
            assert f"`{module_name}.{name}`" in page, f"{module_name}.{name}"


@pytest.mark.parametrize("heading", ["## Unreleased", f"## {cuepipe.__version__}"])
def test_changelog_has_the_release_and_an_unreleased_section(heading: str) -> None:
    lines = (ROOT / "CHANGELOG.md").read_text().splitlines()
    assert heading in lines

"""The XSDs (``schemas/ingest.xsd``, ``schemas/serve.xsd``), found in the wheel or the source tree."""

from __future__ import annotations

import functools
from pathlib import Path

from lxml import etree

from .. import vocabulary as voc


def schema_dir() -> Path:
    """Where the XSDs live: ``cuepipe/schemas`` in an installed wheel, ``schemas/`` in a checkout."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "schemas", package.parent / "schemas"):
        if (candidate / "ingest.xsd").is_file():
            return candidate
    raise FileNotFoundError("cuepipe's XSDs are missing: reinstall cuepipe (they ship inside the wheel)")


def schema_path(kind: voc.Kind) -> Path:
    if kind not in voc.KINDS:
        raise ValueError(f"kind must be 'ingest' or 'serve', not {kind!r}")
    return schema_dir() / f"{kind}.xsd"


@functools.cache
def load_schema(kind: voc.Kind) -> etree.XMLSchema:
    """The compiled lxml schema for a document kind (compiled once per process)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.XMLSchema(etree.parse(str(schema_path(kind)), parser))

"""Cue point bulk XML: streaming writer, streaming reader, XSD validation."""

from .reader import SPEEDUPS, iter_cue_points
from .schemas import load_schema, schema_path
from .validate import ValidationIssue, ValidationReport, validate
from .writer import iter_xml_chunks, write_xml

__all__ = [
    "SPEEDUPS",
    "ValidationIssue",
    "ValidationReport",
    "iter_cue_points",
    "iter_xml_chunks",
    "load_schema",
    "schema_path",
    "validate",
    "write_xml",
]

"""cuepipe: move Kaltura cue points between DataFrames, CSV and the cue point bulk XML formats.

The public face is small; everything else lives in private modules behind it::

    import cuepipe
    xml = cuepipe.write_xml(records)                 # ingest XML for cuePoint.addFromBulk
    df = cuepipe.read_xml("served.xml")              # ingest or serve XML -> DataFrame
    report = cuepipe.validate("file.xml", kind="ingest")
    with cuepipe.Client(url, partner_id=..., admin_secret=...) as kaltura:
        kaltura.push(df)                             # addFromBulk, per entry, safely retried
"""

from . import vocabulary
from ._version import __version__ as __version__
from .errors import CuepipeError, CuePointValueError, UnsafeXMLError, XMLFormatError
from .formats import (
    Conventions,
    FormatLossError,
    LossReport,
    read_ffmeta,
    read_otio,
    read_podcast,
    read_srt,
    read_vmap,
    read_vtt,
    read_youtube,
    write_ffmeta,
    write_otio,
    write_podcast,
    write_srt,
    write_vmap,
    write_vtt,
    write_youtube,
)
from .frames import DTYPES, empty_frame, frame_to_records, read_xml, records_to_frame
from .spreadsheets import prepare_frame, read_table
from .tabular import TableOptions
from .vocabulary import CuePointType
from .xml import ValidationIssue, ValidationReport, iter_cue_points, iter_xml_chunks, validate, write_xml


def __getattr__(name: str) -> object:
    """``cuepipe.Client`` / ``cuepipe.AsyncClient`` load the HTTP layer on first use.

    Format-only work (convert, read, write, validate) then never imports httpx and the client.
    """
    if name in ("Client", "AsyncClient"):
        from . import client

        return getattr(client, name)
    if name in ("plan", "copy", "check", "Plan", "CopyReport"):  # syncs and migrations (cuepipe.sync)
        from . import sync

        return getattr(sync, name)
    raise AttributeError(f"module 'cuepipe' has no attribute {name!r}")


__all__ = [
    "DTYPES",
    "AsyncClient",
    "Client",
    "CuePointType",
    "Conventions",
    "CuePointValueError",
    "CuepipeError",
    "FormatLossError",
    "LossReport",
    "TableOptions",
    "UnsafeXMLError",
    "ValidationIssue",
    "ValidationReport",
    "XMLFormatError",
    "check",
    "copy",
    "empty_frame",
    "frame_to_records",
    "iter_cue_points",
    "iter_xml_chunks",
    "read_ffmeta",
    "read_otio",
    "read_podcast",
    "read_srt",
    "plan",
    "prepare_frame",
    "read_table",
    "read_vmap",
    "read_vtt",
    "read_xml",
    "read_youtube",
    "records_to_frame",
    "validate",
    "vocabulary",
    "write_ffmeta",
    "write_otio",
    "write_podcast",
    "write_srt",
    "write_vmap",
    "write_vtt",
    "write_xml",
    "write_youtube",
]

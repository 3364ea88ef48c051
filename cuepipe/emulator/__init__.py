"""A local, faithful emulator of the Kaltura API actions cuepipe uses (layer 7 of docs/design).

What it serves (``/api_v3/service/<service>/action/<action>``): ``session.start``; the
``cuepoint_cuepoint`` and ``annotation_annotation`` actions ``addFromBulk``, ``serveBulk``, ``list``,
``get``, ``count``, ``delete``; core ``bulkupload`` and plugin ``bulkupload_bulk`` jobs (``add``,
``addEntries``, alias ``media.bulkUploadAdd``, ``get``, ``list``, ``abort``, ``serve``, ``serveLog``)
run by a background worker; the four ``batch`` result actions (batch partner -1 only); and
``media``/``baseEntry`` ``add``/``get`` to create entries. Storage is SQLite (``:memory:`` or a file
that survives restarts).

Faithful to docs/format-notes.md#server-behaviour and docs/kaltura-api.md: KS v1/v2 verification with the server's
``INVALID_KS`` messages; errors as ``KalturaAPIException`` bodies with HTTP 200 (header-only errors for file actions);
``XML_INVALID`` with nothing written; scene-by-scene commits with the first failure aborting the rest; the per-type
field rules; list filter validation, operators and paging.

Server bugs reproduced by default and switched off with ``server_bugs=False`` (see :mod:`.serve`):
``.10`` times for 950-999 ms remainders, serveBulk failing with ``INTERNAL_SERVERL_ERROR`` for any
thumb cue point or quiz question with answers (the server's own output fails its schema), and the
double-escaped ``systemName`` attribute.

Independence: uploads are understood through the emulator's own XSD-driven path (libxml2 validation
against ``schemas/ingest.xsd``, then a decode of lxml's tree, or of ``xmlschema`` for unusual
documents), and it does its own time arithmetic and serve XML; it never imports cuepipe's XML
reader/writer, frames or values modules. Documented deviations: docs/emulator.md.
"""

from .app import Partner, create_app
from .server import EmulatorServer, run

__all__ = ["EmulatorServer", "Partner", "create_app", "run"]

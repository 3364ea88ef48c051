"""HTTP clients for the Kaltura API (layer 6): push and pull cue points, follow bulk upload jobs.

A small public face in the style of httpx; the logic lives in private modules behind it and is
shared by the sync and async clients (operations are generators of commands, see ``_base``)::

    from cuepipe.client import Client

    with Client("https://www.kaltura.com", partner_id=123, admin_secret="...") as kaltura:
        result = kaltura.push(df)                                   # one row per input row, with server ids
        frame = kaltura.pull({"entryIdEqual": "0_abc"}, precision="ms")
        job = kaltura.bulk_uploads.wait(kaltura.bulk_uploads.submit("bulk.xml").id)

``Client.from_env()`` reads ``KALTURA_SERVICE_URL``, ``KALTURA_PARTNER_ID`` and ``KALTURA_KS`` or
``KALTURA_ADMIN_SECRET``. Errors: the protocol layer's typed :class:`~cuepipe.kaltura.KalturaAPIError`
family for what the server says, plus the ones below for what the client decides.
"""

from ._async import AsyncClient
from ._base import Progress, ProgressCallback, Retries
from ._config import ENV_ADMIN_SECRET, ENV_KS, ENV_PARTNER_ID, ENV_SERVICE_URL
from ._errors import (
    ClientError,
    ConfigurationError,
    FilterError,
    JobTimeoutError,
    OutcomeUnknownError,
    PushError,
    TransportError,
    UnservableError,
    UploadFailedError,
)
from ._jobs import AsyncBulkUploads, BulkUploads
from ._journal import JournalBusyError, JournalError, JournalMismatchError
from ._push import ACTIONS, RESULT_COLUMNS, Settle
from ._sync import Client

__all__ = [
    "ACTIONS",
    "ENV_ADMIN_SECRET",
    "ENV_KS",
    "ENV_PARTNER_ID",
    "ENV_SERVICE_URL",
    "RESULT_COLUMNS",
    "AsyncBulkUploads",
    "AsyncClient",
    "BulkUploads",
    "Client",
    "ClientError",
    "ConfigurationError",
    "FilterError",
    "JobTimeoutError",
    "JournalBusyError",
    "JournalError",
    "JournalMismatchError",
    "OutcomeUnknownError",
    "Progress",
    "ProgressCallback",
    "PushError",
    "Retries",
    "Settle",
    "TransportError",
    "UnservableError",
    "UploadFailedError",
]

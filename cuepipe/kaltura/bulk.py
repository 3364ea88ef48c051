"""Request objects of the bulk upload services (docs/kaltura-api.md#bulk-upload-services, #bulk-upload-objects).

Only the fields a client may set are declared: the server ignores read-only ones on input, so
accepting them would only hide mistakes. ``KalturaBulkUploadJobData`` is abstract on the server
(``OBJECT_TYPE_ABSTRACT`` from ``addEntries``); the subclass picks the engine, so an XML cue point
ingest sends :class:`KalturaBulkUploadXmlJobData`.
"""

from __future__ import annotations

from typing import ClassVar

from ..vocabulary import BulkUploadAction, BulkUploadObjectType, BulkUploadResultStatus
from .objects import KalturaObject, Prop


class KalturaBulkUploadJobData(KalturaObject):
    """Abstract job options for ``bulkupload_bulk.addEntries`` / ``media.bulkUploadAdd``."""

    ABSTRACT: ClassVar[bool] = True
    FIELDS: ClassVar[tuple[Prop, ...]] = (
        Prop("fileName", "str", doc="Defaults to the uploaded file's name."),
        Prop("emailRecipients", "str"),
        Prop("numOfErrorObjects", "int"),
        Prop("privileges", "str"),
    )


class KalturaBulkUploadXmlJobData(KalturaBulkUploadJobData):
    """Read the upload with the XML engine (``bulkUploadXml.XML``)."""


class KalturaBulkUploadCsvJobData(KalturaBulkUploadJobData):
    """Read the upload with the CSV engine (``bulkUploadCsv.CSV``).

    ``csvVersion`` (:class:`~cuepipe.vocabulary.BulkUploadCsvVersion`) is read-only on the server, which
    detects it, and is therefore not accepted here.
    """

    FIELDS = (
        Prop("columns", "strings"),
        Prop("processObjectId", "str"),
        Prop("processObjectType", "str"),
    )


class KalturaBulkUploadEntryData(KalturaObject):
    """Per-entry options of an entry bulk upload; ``conversionProfileId=-1`` means the partner default."""

    FIELDS = (Prop("conversionProfileId", "int"),)


class KalturaBulkUploadPluginData(KalturaObject):
    """One plugin field/value pair attached to a bulk upload result."""

    FIELDS = (Prop("field", "str"), Prop("value", "str"))


class KalturaBulkUploadResult(KalturaObject):
    """One line's outcome, as the batch worker reports it (``batch.addBulkUploadResult``)."""

    FIELDS: ClassVar[tuple[Prop, ...]] = (
        Prop("bulkUploadJobId", "int"),
        Prop("lineIndex", "int"),
        Prop("partnerId", "int"),
        Prop("status", "enum", enum=BulkUploadResultStatus),
        Prop("action", "enum", enum=BulkUploadAction),
        Prop("objectId", "str"),
        Prop("objectStatus", "int"),
        Prop("bulkUploadResultObjectType", "enum", enum=BulkUploadObjectType),
        Prop("rowData", "str"),
        Prop("partnerData", "str"),
        Prop("objectErrorDescription", "str"),
        Prop("pluginsData", "objects", item=KalturaBulkUploadPluginData),
        Prop("errorDescription", "str"),
        Prop("errorCode", "str"),
        Prop("errorType", "int"),
    )


class KalturaBulkUploadResultEntry(KalturaBulkUploadResult):
    """A result line that created or updated an entry. ``ssh*`` values are masked in ``repr``."""

    FIELDS = (
        Prop("entryId", "str"),
        Prop("title", "str"),
        Prop("description", "str"),
        Prop("tags", "str"),
        Prop("url", "str"),
        Prop("contentType", "str"),
        Prop("conversionProfileId", "int"),
        Prop("accessControlProfileId", "int"),
        Prop("category", "str"),
        Prop("scheduleStartDate", "int"),
        Prop("scheduleEndDate", "int"),
        Prop("entryStatus", "int"),
        Prop("thumbnailUrl", "str"),
        Prop("thumbnailSaved", "bool"),
        Prop("sshPrivateKey", "str"),
        Prop("sshPublicKey", "str"),
        Prop("sshKeyPassphrase", "str"),
        Prop("creatorId", "str"),
        Prop("entitledUsersEdit", "str"),
        Prop("entitledUsersPublish", "str"),
        Prop("ownerId", "str"),
        Prop("referenceId", "str"),
        Prop("templateEntryId", "str"),
    )

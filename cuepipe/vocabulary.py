"""The cue point vocabulary: the one place that says which types, fields and enums exist.

Everything else derives from this module: the XML writer's element order, the reader's element
lookup, DataFrame columns and dtypes, filter field checks and the emulator's storage columns.
``tests/test_vocabulary.py`` checks it against ``schemas/ingest.xsd`` and ``schemas/serve.xsd``.

Facts come from the server's composed ``cuePoint.ingestAPI`` / ``cuePoint.serveAPI`` schemas and
its API objects (see ``docs/format-notes.md``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["ingest", "serve"]
KINDS: tuple[Kind, ...] = ("ingest", "serve")

# How a field appears in one document kind: required, optional, or not at all (None).
Occurs = Literal["required", "optional"] | None

# Value kinds. Each names one codec in ``cuepipe.values`` and one DataFrame dtype in ``cuepipe.frames``.
#   str      plain text
#   time     integer milliseconds <-> xs:time
#   int      integer (xs:int)
#   float    floating point (xs:float)
#   enum     API enum value; ``Field.enum`` names the Enum class
#   tags     comma-joined string <-> <tags><tag>..</tag></tags>
#   answers  list of dicts (quiz optional answers) <-> <optionalAnswers>
#   custom   list of dicts (custom metadata) <-> <scene-customData> elements
ValueKind = Literal["str", "time", "int", "float", "enum", "tags", "answers", "custom"]


# --------------------------------------------------------------------------------------------
# Enums (docs/kaltura-api.md#enums, docs/format-notes.md#records-and-columns)
# --------------------------------------------------------------------------------------------


class AdType(enum.StrEnum):
    """``KalturaAdType`` (a dynamic, string-valued enum)."""

    VIDEO = "1"
    OVERLAY = "2"


class AdProtocolType(enum.StrEnum):
    """``KalturaAdProtocolType`` (a dynamic, string-valued enum)."""

    CUSTOM = "0"
    VAST = "1"
    VAST_2_0 = "2"
    VPAID = "3"


class ThumbCuePointSubType(enum.IntEnum):
    """``KalturaThumbCuePointSubType``."""

    SLIDE = 1
    CHAPTER = 2


class CuePointStatus(enum.IntEnum):
    """``KalturaCuePointStatus``; ``DELETED`` cue points are hidden from list and serve."""

    READY = 1
    DELETED = 2
    HANDLED = 3
    PENDING = 4


class NullableBoolean(enum.IntEnum):
    """``KalturaNullableBoolean``."""

    NULL_VALUE = -1
    FALSE_VALUE = 0
    TRUE_VALUE = 1


class EventType(enum.StrEnum):
    """``KalturaEventType`` (event cue points)."""

    BROADCAST_START = "1"
    BROADCAST_END = "2"


class QuestionType(enum.IntEnum):
    """``KalturaQuestionType``."""

    MULTIPLE_CHOICE_ANSWER = 1
    TRUE_FALSE = 2
    REFLECTION_POINT = 3
    MULTIPLE_ANSWER_QUESTION = 4
    FILL_IN_BLANK = 5
    HOT_SPOT = 6
    GO_TO = 7
    OPEN_QUESTION = 8


class SessionType(enum.IntEnum):
    """``KalturaSessionType`` (KS privilege level)."""

    USER = 0
    ADMIN = 2


class SearchOperatorType(enum.IntEnum):
    """``KalturaSearchOperatorType``."""

    SEARCH_AND = 1
    SEARCH_OR = 2


class SearchConditionComparison(enum.StrEnum):
    """``KalturaSearchConditionComparison``."""

    EQUAL = "1"
    GREATER_THAN = "2"
    GREATER_THAN_OR_EQUAL = "3"
    LESS_THAN = "4"
    LESS_THAN_OR_EQUAL = "5"
    NOT_EQUAL = "6"


class CuePointType(enum.StrEnum):
    """``KalturaCuePointType``: the API's ``cuePointType`` values."""

    AD = "adCuePoint.Ad"
    ANNOTATION = "annotation.Annotation"
    CODE = "codeCuePoint.Code"
    EVENT = "eventCuePoint.Event"
    QUIZ_ANSWER = "quiz.QUIZ_ANSWER"
    QUIZ_QUESTION = "quiz.QUIZ_QUESTION"
    SESSION = "sessionCuePoint.Session"
    THUMB = "thumbCuePoint.Thumb"


# --------------------------------------------------------------------------------------------
# Fields
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Field:
    """One value of a cue point as it appears in records and in XML.

    ``column`` is the record key / DataFrame column (the API field name); ``xml`` is the element or
    attribute name. ``ingest`` / ``serve`` say whether the field is required, optional or absent in
    that document kind. ``max_length`` is the XSD ``maxLength`` facet, counted in characters.
    """

    column: str
    xml: str
    kind: ValueKind = "str"
    ingest: Occurs = "optional"
    serve: Occurs = "optional"
    attribute: bool = False
    max_length: int | None = None
    enum: type[enum.Enum] | None = None
    doc: str = ""

    def occurs(self, kind: Kind) -> Occurs:
        return self.ingest if kind == "ingest" else self.serve


# The base content of every cue point (``T_scene``), attributes first, then elements in order.
BASE_FIELDS: tuple[Field, ...] = (
    Field(
        "id",
        "sceneId",
        attribute=True,
        ingest="optional",
        serve="required",
        max_length=250,
        doc="Cue point id. On ingest an existing id turns the element into an update.",
    ),
    Field(
        "systemName",
        "systemName",
        attribute=True,
        max_length=120,
        doc="Partner-chosen name, unique per entry by convention; ingest updates by it.",
    ),
    Field(
        "entryId",
        "entryId",
        attribute=True,
        ingest="required",
        serve="required",
        max_length=20,
        doc="The entry the cue point belongs to.",
    ),
    Field(
        "startTime",
        "sceneStartTime",
        kind="time",
        ingest="required",
        serve="required",
        doc="Start, integer milliseconds.",
    ),
    Field("userId", "userId", ingest=None, doc="Owner; written by serve only."),
    Field("tags", "tags", kind="tags", doc="Comma-joined tags; each tag 1-30 characters."),
)

# Where custom metadata goes: ``scene-customData`` elements at the end of most types.
CUSTOM_DATA = Field(
    "customData",
    "scene-customData",
    kind="custom",
    doc="Custom metadata: list of dicts, one per scene-customData element.",
)

# Keys of one custom metadata dict, in XML attribute order, and their kinds per document kind.
CUSTOM_DATA_ATTRIBUTES: tuple[Field, ...] = (
    Field("metadataId", "metadataId", kind="int", ingest="optional", serve="required", attribute=True),
    Field("metadataVersion", "metadataVersion", kind="int", ingest=None, serve="required", attribute=True),
    Field("metadataProfileId", "metadataProfileId", kind="int", ingest="optional", serve="required", attribute=True),
    Field(
        "metadataProfileVersion", "metadataProfileVersion", kind="int", ingest=None, serve="required", attribute=True
    ),
    Field("metadataProfile", "metadataProfile", attribute=True),
    Field("metadataProfileName", "metadataProfileName", ingest=None, attribute=True),
)
# The key holding the one child element of scene-customData, as XML text.
CUSTOM_DATA_XML_KEY = "xml"

# Element names of the items inside the list-valued fields: <tags><tag>, <optionalAnswers><optionalAnswer>.
TAG_ITEM = "tag"
OPTIONAL_ANSWER_ITEM = "optionalAnswer"

# Keys of one quiz optional answer, in XML order (``T_optionalAnswer``).
OPTIONAL_ANSWER_FIELDS: tuple[Field, ...] = (
    Field("key", "key"),
    Field("text", "text"),
    Field("weight", "weight", kind="float"),
    Field("isCorrect", "isCorrect", kind="int", doc="xs:int used as a boolean: non-zero is correct."),
)


@dataclass(frozen=True, slots=True)
class CuePointTypeInfo:
    """One cue point type: names in every layer, and its own fields in XML order."""

    name: str
    api_type: CuePointType
    element: str | None  # None: the type has no XML form (event cue points)
    api_class: str
    filter_class: str
    fields: tuple[Field, ...] = ()
    custom_data: bool = False  # has the scene-extension (scene-customData) slot
    # On ingest at most one field of each group may be set (an xs:choice in the schema).
    ingest_choices: tuple[tuple[str, ...], ...] = ()
    # Elements the real server writes on serve although its schema has no place for them; the
    # reader accepts them (docs/format-notes.md#how-the-server-serves, #what-servebulk-cannot-serve).
    # Maps element name -> column.
    serve_quirks: dict[str, str] = field(default_factory=dict)
    doc: str = ""

    @property
    def all_fields(self) -> tuple[Field, ...]:
        """Base fields, own fields, then custom data where the type has it: the XML order."""
        tail = (CUSTOM_DATA,) if self.custom_data else ()
        return BASE_FIELDS + self.fields + tail

    def fields_for(self, kind: Kind) -> tuple[Field, ...]:
        return tuple(f for f in self.all_fields if f.occurs(kind) is not None)


_END_TIME = Field("endTime", "sceneEndTime", kind="time", doc="End, integer milliseconds.")

TYPES: tuple[CuePointTypeInfo, ...] = (
    CuePointTypeInfo(
        name="annotation",
        api_type=CuePointType.ANNOTATION,
        element="scene-annotation",
        api_class="KalturaAnnotation",
        filter_class="KalturaAnnotationFilter",
        fields=(
            Field(
                "endTime",
                "sceneEndTime",
                kind="time",
                ingest="required",
                serve="required",
                doc="End, integer milliseconds (required for annotations).",
            ),
            Field("text", "sceneText"),
            Field(
                "parentSystemName",
                "parent",
                max_length=120,
                doc="System name of the parent annotation, resolved on the same entry, earlier in the file.",
            ),
            Field("parentId", "parentId", max_length=250, doc="Id of the parent annotation."),
        ),
        custom_data=True,
        ingest_choices=(("parentSystemName", "parentId"),),
        doc="Annotations and chapters (annotation plugin).",
    ),
    CuePointTypeInfo(
        name="ad",
        api_type=CuePointType.AD,
        element="scene-ad-cue-point",
        api_class="KalturaAdCuePoint",
        filter_class="KalturaAdCuePointFilter",
        fields=(
            _END_TIME,
            Field("title", "sceneTitle", max_length=250),
            Field("sourceUrl", "sourceUrl"),
            Field("adType", "adType", kind="enum", enum=AdType, ingest="required", serve="required"),
            Field(
                "protocolType", "protocolType", kind="enum", enum=AdProtocolType, ingest="required", serve="required"
            ),
        ),
        custom_data=True,
        doc="Ad cue points (VAST/VPAID slots).",
    ),
    CuePointTypeInfo(
        name="code",
        api_type=CuePointType.CODE,
        element="scene-code-cue-point",
        api_class="KalturaCodeCuePoint",
        filter_class="KalturaCodeCuePointFilter",
        fields=(
            _END_TIME,
            Field("code", "code", max_length=250),
            Field("description", "description"),
        ),
        custom_data=True,
        doc="Code cue points (application-defined triggers).",
    ),
    CuePointTypeInfo(
        name="thumb",
        api_type=CuePointType.THUMB,
        element="scene-thumb-cue-point",
        api_class="KalturaThumbCuePoint",
        filter_class="KalturaThumbCuePointFilter",
        fields=(
            Field("title", "title", ingest="required", serve="required"),
            Field("description", "description", ingest="required", serve="required"),
            Field("subType", "subType", kind="enum", enum=ThumbCuePointSubType),
        ),
        custom_data=True,
        serve_quirks={"sceneEndTime": "endTime", "thumbAssetId": "assetId"},
        doc="Thumbnail cue points: slides and chapters.",
    ),
    CuePointTypeInfo(
        name="question",
        api_type=CuePointType.QUIZ_QUESTION,
        element="scene-question-cue-point",
        api_class="KalturaQuestionCuePoint",
        filter_class="KalturaQuestionCuePointFilter",
        fields=(
            Field("question", "question", ingest="required", serve="required"),
            Field("hint", "hint"),
            Field("explanation", "explanation"),
            Field(
                "optionalAnswers",
                "optionalAnswers",
                kind="answers",
                doc="List of dicts with keys key, text, weight, isCorrect.",
            ),
        ),
        doc="Quiz questions.",
    ),
    CuePointTypeInfo(
        name="answer",
        api_type=CuePointType.QUIZ_ANSWER,
        element="scene-answer-cue-point",
        api_class="KalturaAnswerCuePoint",
        filter_class="KalturaAnswerCuePointFilter",
        fields=(
            Field("answerKey", "answerKey", ingest="required", serve="required"),
            Field("quizUserEntryId", "quizUserEntryId", ingest="required", serve="required"),
            Field("parentId", "parentId", ingest="required", serve="required", doc="The question's id."),
        ),
        doc="Quiz answers.",
    ),
    CuePointTypeInfo(
        name="session",
        api_type=CuePointType.SESSION,
        element="scene-session-cue-point",
        api_class="KalturaSessionCuePoint",
        filter_class="KalturaSessionCuePointFilter",
        fields=(
            _END_TIME,
            Field("name", "sceneTitle", max_length=250),
        ),
        custom_data=True,
        doc="Session cue points (only where the server enables the SessionCuePoint plugin).",
    ),
    CuePointTypeInfo(
        name="event",
        api_type=CuePointType.EVENT,
        element=None,
        api_class="KalturaEventCuePoint",
        filter_class="KalturaEventCuePointFilter",
        doc="Event cue points: API only; no XML form, serveBulk omits them.",
    ),
)

BY_NAME: dict[str, CuePointTypeInfo] = {t.name: t for t in TYPES}
BY_API_TYPE: dict[str, CuePointTypeInfo] = {t.api_type.value: t for t in TYPES}
BY_ELEMENT: dict[str, CuePointTypeInfo] = {t.element: t for t in TYPES if t.element}
XML_TYPES: tuple[CuePointTypeInfo, ...] = tuple(t for t in TYPES if t.element)


def _columns() -> tuple[Field, ...]:
    """Every record column once, in a stable order: identity and timing first, then type fields."""
    seen: dict[str, Field] = {
        "cuePointType": Field(
            "cuePointType",
            "",
            kind="enum",
            enum=CuePointType,
            doc="API type, e.g. annotation.Annotation; decides the XML element.",
        ),
    }
    base = {f.column: f for f in BASE_FIELDS}
    for column in ("id", "entryId", "systemName", "startTime"):
        seen[column] = base[column]
    seen["endTime"] = _END_TIME
    for f in BASE_FIELDS:
        seen.setdefault(f.column, f)
    for t in XML_TYPES:
        for f in t.fields:
            seen.setdefault(f.column, f)
        for col in t.serve_quirks.values():
            seen.setdefault(col, Field(col, col, ingest=None, serve=None))
    seen[CUSTOM_DATA.column] = CUSTOM_DATA
    return tuple(seen.values())


#: Every record column / DataFrame column, in output order.
COLUMNS: tuple[Field, ...] = _columns()
COLUMN_NAMES: tuple[str, ...] = tuple(f.column for f in COLUMNS)
COLUMN_BY_NAME: dict[str, Field] = {f.column: f for f in COLUMNS}


#: Fields the server's bulk ingest ignores although the ingest format carries them (its parser reads
#: only the base fields of a thumb cue point: a chapter arrives as an untitled SLIDE). Only the typed
#: API actions (``cuePoint.add`` / ``cuePoint.update``) write them; push, apply and copy send them
#: that way after the upload (docs/format-notes.md#how-the-server-ingests).
TYPED_ONLY_FIELDS: dict[str, frozenset[str]] = {
    CuePointType.THUMB.value: frozenset({"title", "description", "subType"}),
}


def type_info(value: object) -> CuePointTypeInfo:
    """Look a type up by API value (``annotation.Annotation``), short name or XML element name."""
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, str):
        info = BY_API_TYPE.get(value) or BY_NAME.get(value) or BY_ELEMENT.get(value)
        if info is not None:
            return info
    known = ", ".join(t.api_type.value for t in TYPES)
    raise KeyError(f"unknown cue point type {value!r}; known types: {known}")


# --------------------------------------------------------------------------------------------
# Bulk upload enums (docs/kaltura-api.md#bulk-upload-objects, #bulk-upload-enums)
# --------------------------------------------------------------------------------------------


class BatchJobStatus(enum.IntEnum):
    """``KalturaBatchJobStatus``: the state of a bulk upload job."""

    PENDING = 0
    QUEUED = 1
    PROCESSING = 2
    PROCESSED = 3
    MOVEFILE = 4
    FINISHED = 5
    FAILED = 6
    ABORTED = 7
    ALMOST_DONE = 8
    RETRY = 9
    FATAL = 10
    DONT_PROCESS = 11
    FINISHED_PARTIALLY = 12
    SUSPEND = 13
    SUSPEND_ALMOST_DONE = 14


#: Job states after which the job never changes again (the server's "done" states).
BATCH_JOB_DONE_STATUSES: frozenset[BatchJobStatus] = frozenset(
    {
        BatchJobStatus.FINISHED,
        BatchJobStatus.FAILED,
        BatchJobStatus.ABORTED,
        BatchJobStatus.FATAL,
        BatchJobStatus.DONT_PROCESS,
        BatchJobStatus.FINISHED_PARTIALLY,
    }
)


class BatchJobErrorType(enum.IntEnum):
    """``KalturaBatchJobErrorTypes``: where a failed job's error came from."""

    APP = 0
    RUNTIME = 1
    HTTP = 2
    CURL = 3
    KALTURA_API = 4
    KALTURA_CLIENT = 5


class BulkUploadType(enum.StrEnum):
    """``KalturaBulkUploadType`` (dynamic): the engine that reads the uploaded file."""

    CSV = "bulkUploadCsv.CSV"
    XML = "bulkUploadXml.XML"
    FILTER = "bulkUploadFilter.FILTER"
    DROP_FOLDER_XML = "dropFolderXmlBulkUpload.DROP_FOLDER_XML"
    ICAL = "scheduleBulkUpload.ICAL"
    DROP_FOLDER_ICAL = "scheduleDropFolder.DROP_FOLDER_ICAL"


class BulkUploadObjectType(enum.StrEnum):
    """``KalturaBulkUploadObjectType`` (dynamic): what a bulk upload creates."""

    ENTRY = "1"
    CATEGORY = "2"
    USER = "3"
    CATEGORY_USER = "4"
    CATEGORY_ENTRY = "5"
    USER_ENTRY = "6"
    VENDOR_CATALOG_ITEM = "7"
    JOB = "bulkUploadFilter.JOB"
    SCHEDULE_EVENT = "scheduleBulkUpload.SCHEDULE_EVENT"
    SCHEDULE_RESOURCE = "scheduleBulkUpload.SCHEDULE_RESOURCE"


class BulkUploadResultStatus(enum.StrEnum):
    """``KalturaBulkUploadResultStatus``: the outcome of one line of a bulk upload."""

    ERROR = "1"
    OK = "2"
    IN_PROGRESS = "3"


class BulkUploadAction(enum.StrEnum):
    """``KalturaBulkUploadAction``: what one line of a bulk upload asked for."""

    ADD = "1"
    UPDATE = "2"
    DELETE = "3"
    REPLACE = "4"
    TRANSFORM_XSLT = "5"
    ADD_OR_UPDATE = "6"
    ACTIVATE = "7"
    REJECT = "8"
    UPDATE_STATUS = "9"
    CANCEL = "scheduleBulkUpload.CANCEL"


class BulkUploadCsvVersion(enum.IntEnum):
    """``KalturaBulkUploadCsvVersion`` (``KalturaBulkUploadCsvJobData.csvVersion``)."""

    V1 = 1
    V2 = 2
    V3 = 3

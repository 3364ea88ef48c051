"""``cuePoint.add`` and ``cuePoint.update`` with a typed object, as the server's API layer runs them.

Why these exist next to ``addFromBulk``: the bulk XML parsers drop fields (a thumb cue point's title,
description and sub-type; quiz question types; session owners...), so a tool that must keep them
writes those cue points one by one through the API. The order of the checks below is the server's,
so the first error a bad object gets is the one the server would answer:

1. Deserialization (``KalturaRequestDeserializer::buildObject``): ``objectType`` must name a concrete
   subclass of ``KalturaCuePoint`` (else ``OBJECT_TYPE_ABSTRACT``); values are cast by property type
   (``(int)``, relative times, enums checked with ``INVALID_ENUM_VALUE``); ``name__null`` is an
   explicit null; unknown properties are ignored.
2. ``validateForInsert`` / ``validateForUpdate`` of the object's class, then of ``KalturaCuePoint``,
   then ``KalturaObject`` (read-only properties refused with ``PROPERTY_VALIDATION_NOT_UPDATABLE``;
   on update also insert-only ones, unless the value is unchanged).
3. The action: the system name must be unique on the entry (``CUE_POINT_SYSTEM_NAME_EXISTS``), the
   owner is the session's user unless an admin names one, the status is READY, then the model's
   ``preInsert`` hooks (a thumb without sub-type is a SLIDE, and a slide waits PENDING for its image;
   an answer copies the question's correct keys) and the annotation's parent counters.

Simplifications (see docs/emulator.md, "Differences from the server"): no quiz or user-entry model,
so question and answer cue points skip the "entry is a quiz" and quiz-attempt checks; no thumbnail
assets, so any ``assetId`` on a new thumb cue point is ``ASSET_ID_NOT_FOUND``; per-property
permissions (``@requiresPermission``) are not modelled, except that only an admin session may name
another owner (``userId``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .. import vocabulary as voc
from .classes import Prop, properties, property_map
from .context import Context, check_limit_entry
from .errors import (
    CUE_POINT_SYSTEM_NAME_EXISTS,
    ENTRY_ID_NOT_FOUND,
    INVALID_CUE_POINT_ID,
    INVALID_ENUM_VALUE,
    INVALID_USER_ID,
    MISSING_MANDATORY_PARAMETER,
    OBJECT_TYPE_ABSTRACT,
    PROPERTY_VALIDATION_CANNOT_BE_NULL,
    ApiError,
    CoreError,
)
from .ingest import by_id, by_system_name, count_child, on_answer_insert
from .query import php_int, relative_time
from .store import Store, now, q

BASE_CLASS = "KalturaCuePoint"
MAX_TAGS_LENGTH = 255  # CuePointPeer::MAX_TAGS_LENGTH
MAX_TEXT_LENGTH = 32700  # CuePointPeer::MAX_TEXT_LENGTH
MAX_THUMB_TITLE_LENGTH = 255  # KalturaThumbCuePoint::MAX_TITLE_LEN (bytes, cut on a character boundary)

PROPERTY_VALIDATION_WRONG_FORMAT = (
    'PROPERTY_VALIDATION_WRONG_FORMAT;PROP_NAME,FORMAT;The property "@PROP_NAME@" must match format @FORMAT@'
)
INVALID_PARAMETER_CHAR = 'INVALID_PARAMETER_CHAR;XML_FIELD;Invalid char in "@XML_FIELD@" field'
PROPERTY_VALIDATION_MAX_LENGTH = (
    'PROPERTY_VALIDATION_MAX_LENGTH;PROP_NAME,MAX_LEN;The property "@PROP_NAME@" cannot have more than '
    "@MAX_LEN@ characters"
)
PROPERTY_VALIDATION_NOT_UPDATABLE = (
    'PROPERTY_VALIDATION_NOT_UPDATABLE;PROP_NAME;The property "@PROP_NAME@" cannot be updated'
)
ASSET_ID_NOT_FOUND = 'ASSET_ID_NOT_FOUND;ID;Asset id "@ID@" not found'
PARENT_CUE_POINT_NOT_FOUND = "PARENT_CUE_POINT_NOT_FOUND;ID;Parent cue point id [@ID@] not found"
PARENT_CUE_POINT_DO_NOT_BELONG_TO_THE_SAME_ENTRY = (
    "PARENT_CUE_POINT_DO_NOT_BELONG_TO_THE_SAME_ENTRY;;Parent cue point does not belong to the same entry"
)
# kCuePointErrors (note the server's own argument names, e.g. the start time passed as CUE_POINT_ID)
END_TIME_CANNOT_BE_LESS_THAN_START_TIME = (
    "END_TIME_CANNOT_BE_LESS_THAN_START_TIME;;End time cannot be less than start time"
)
DURATION_CANNOT_BE_LESS_THAN_START_TIME = (
    "DURATION_CANNOT_BE_LESS_THAN_START_TIME;;Duration cannot be less than start time"
)
END_TIME_WITHOUT_START_TIME = "END_TIME_WITHOUT_START_TIME;;Cannot provide end time without start time"
START_TIME_IS_BIGGER_THAN_ENTRY_END_TIME = (
    "START_TIME_IS_BIGGER_THAN_ENTRY_END_TIME;CUE_POINT_ID,END_TIME;Start time of the cue point "
    "[@CUE_POINT_ID@] cannot be bigger than entry end time [@END_TIME@]"
)
END_TIME_IS_BIGGER_THAN_ENTRY_END_TIME = (
    "END_TIME_IS_BIGGER_THAN_ENTRY_END_TIME;CUE_POINT_ID,END_TIME;End time of the cue point [@CUE_POINT_ID@] "
    "cannot be bigger than entry end time [@END_TIME@]"
)
DURATION_IS_BIGGER_THAN_ENTRY_DURATION = (
    "DURATION_IS_BIGGER_THAN_ENTRY_DURATION;CUE_POINT_ID,DURATION;Duration of the cue point [@CUE_POINT_ID@] "
    "cannot be bigger than entry duration [@DURATION@]"
)
START_TIME_CANNOT_BE_LESS_THAN_0 = "START_TIME_CANNOT_BE_LESS_THAN_0;;Start time cannot be less than 0"
CANNOT_UPDATE_ENTRY_ID = "CANNOT_UPDATE_ENTRY_ID;;Cannot update cue point's entry id"
PARENT_ANNOTATION_NOT_FOUND = "PARENT_ANNOTATION_NOT_FOUND;CUE_POINT_ID;Parent annotation id [@CUE_POINT_ID@] not found"
PARENT_ANNOTATION_DO_NOT_BELONG_TO_THE_SAME_ENTRY = (
    "PARENT_ANNOTATION_DO_NOT_BELONG_TO_THE_SAME_ENTRY;;parent annotation does not belong to current annotation"
)
PARENT_ANNOTATION_IS_DESCENDANT = (
    "PARENT_ANNOTATION_IS_DESCENDANT;PARENT_CUE_POINT_ID,CUE_POINT_ID;Parent annotation [@PARENT_CUE_POINT_ID@] "
    "is a child or a sub child of this annotation [@CUE_POINT_ID@] and therefor cannot be a parent"
)
# KalturaQuizErrors
PARENT_ID_IS_MISSING = "PARENT_ID_IS_MISSING;;Parent ID is missing"
WRONG_PARENT_TYPE = "WRONG_PARENT_TYPE;ENTRY_ID;Parent cue point id [@ENTRY_ID@] has the wrong type"
ANSWER_ALREADY_EXISTS = (
    "ANSWER_ALREADY_EXISTS;PARENT_ID,USER_ENTRY;Answer for question [@PARENT_ID@] for user entry "
    "[@USER_ENTRY@] already exists "
)

_BY_CLASS: dict[str, voc.CuePointTypeInfo] = {t.api_class.lower(): t for t in voc.TYPES}
_INT_ENUMS: dict[str, frozenset[int]] = {
    "KalturaCuePointStatus": frozenset(int(v) for v in voc.CuePointStatus),
    "KalturaNullableBoolean": frozenset(int(v) for v in voc.NullableBoolean),
    "KalturaThumbCuePointSubType": frozenset(int(v) for v in voc.ThumbCuePointSubType),
    "KalturaQuestionType": frozenset(int(v) for v in voc.QuestionType),
}
_STRING_ENUMS: dict[str, frozenset[str]] = {
    "KalturaCuePointType": frozenset(v.value for v in voc.CuePointType),
    "KalturaAdType": frozenset(v.value for v in voc.AdType),
    "KalturaAdProtocolType": frozenset(v.value for v in voc.AdProtocolType),
    "KalturaEventType": frozenset(v.value for v in voc.EventType),
}
# Properties the API object has but the model computes or the emulator does not store.
_NOT_STORED = frozenset({"relatedObjects", "cuePointType", "duration", "isMomentary", "copiedFrom", "userId"})
# XML 1.0 characters (kXml::isXMLValidContent refuses anything else).
_XML_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_NULL = object()  # a KalturaNullField: an explicit null sent as ``name__null``


@dataclass
class ApiObject:
    """A deserialized ``KalturaCuePoint`` subclass: the properties the client set, cast by type."""

    cls: str
    info: voc.CuePointTypeInfo
    values: dict[str, Any] = field(default_factory=dict)  # name -> value, or _NULL

    def has(self, name: str) -> bool:
        return name in self.props

    @property
    def props(self) -> dict[str, Prop]:
        return property_map(self.cls)

    def get(self, name: str) -> Any:
        """The value, None when unset or explicitly null (``$this->name``, with KalturaNullField as null)."""
        value = self.values.get(name)
        return None if value is _NULL else value

    def is_null(self, name: str) -> bool:
        """``KalturaObject::isNull``: not a property of the class, unset, or an explicit null."""
        return not self.has(name) or self.values.get(name, _NULL) is _NULL

    def given(self, name: str) -> bool:
        """``$this->name !== null`` (an explicit null counts: it is an object on the server)."""
        return name in self.values

    def label(self, name: str) -> str:
        return f"{self.cls}::{name}"


# ---------------------------------------------------------------------------- deserialization


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _php_float(value: Any) -> float:
    match = re.match(r"\s*[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?)", _text(value))
    return float(match.group(0)) if match else 0.0


def _cast(prop: Prop, name: str, value: Any) -> Any:
    """``KalturaRequestDeserializer``: cast one simple or enum value by the property's declared type."""
    kind = prop.type
    if kind in _INT_ENUMS:
        text = _text(value)
        if text.lower() == "true":
            text = "1"
        if text.lower() == "false" or (kind == "KalturaNullableBoolean" and text == ""):
            text = "0"
        if not re.fullmatch(r"-?\d+", text.strip()) or int(text) not in _INT_ENUMS[kind]:
            raise ApiError(INVALID_ENUM_VALUE, text, name, kind)
        number = int(text)
        if kind == "KalturaNullableBoolean":  # KalturaNullableBoolean::toBoolean
            return None if number == -1 else bool(number)
        return number
    if kind in _STRING_ENUMS:
        text = _text(value)
        if text not in _STRING_ENUMS[kind]:
            raise ApiError(INVALID_ENUM_VALUE, text, name, kind)
        return text
    if kind == "int":
        return php_int(value)
    if kind == "bigint" or kind == "float":
        return _php_float(value)
    if kind == "bool":
        text = _text(value)
        return False if text.lower() == "false" else text not in ("", "0")
    if kind == "time":
        return relative_time(value) if _text(value) != "" else 0
    text = _text(value)
    if _XML_INVALID.search(text):
        raise ApiError(INVALID_PARAMETER_CHAR, name)
    return text


def _answers(value: Any, name: str) -> list[dict[str, Any]]:
    """A ``KalturaOptionalAnswersArray``: items in key order, up to a ``-`` marker."""
    items: list[Any]
    if isinstance(value, Mapping):
        keys = sorted((k for k in value if k != "-"), key=lambda k: (php_int(k), str(k)))
        items = [value[k] for k in keys]
    elif isinstance(value, list):
        items = list(value)
    else:
        return []
    props = {p.name: p for p in properties("KalturaOptionalAnswer") or ()}
    out = []
    for item in items:
        if not isinstance(item, Mapping):
            raise CoreError(PROPERTY_VALIDATION_WRONG_FORMAT, name, "array")
        answer: dict[str, Any] = {"weight": 1.0}  # KalturaOptionalAnswer::$weight default
        for key, raw in item.items():
            if key in props and key != "relatedObjects":
                answer[key] = _cast(props[key], key, raw)
        if answer.get("isCorrect") is not None:
            answer["isCorrect"] = int(answer["isCorrect"])
        out.append(answer)
    return out


def deserialize(raw: Any, nulls: frozenset[str], param: str = "cuePoint") -> ApiObject:
    """Build the typed object a ``KalturaCuePoint $cuePoint`` parameter receives."""
    if not isinstance(raw, Mapping):
        raise CoreError(MISSING_MANDATORY_PARAMETER, param)
    given = raw.get("objectType")
    info = _BY_CLASS.get(given.lower()) if isinstance(given, str) else None
    if info is None:  # no objectType, or not a KalturaCuePoint subclass: the abstract base is used
        raise CoreError(OBJECT_TYPE_ABSTRACT, BASE_CLASS)
    obj = ApiObject(info.api_class, info)
    props = obj.props
    for name, value in raw.items():
        prop = props.get(str(name))
        if prop is None or name == "relatedObjects":
            continue
        if prop.type == "KalturaOptionalAnswersArray":
            if isinstance(value, Mapping | list):
                obj.values[name] = _answers(value, f"{param}:{name}")
            continue
        if isinstance(value, Mapping | list):
            continue
        obj.values[name] = _cast(prop, name, value)
    for name in nulls:
        prop = props.get(name)
        if prop is not None and prop.type != "KalturaOptionalAnswersArray":
            obj.values[name] = _NULL
    return obj


# ---------------------------------------------------------------------------- helpers


def _truthy(value: Any) -> bool:
    """PHP truthiness of a scalar (``"0"`` and ``""`` are false)."""
    return value not in (None, "", "0", 0, False, _NULL)


def _entry(store: Store, ctx: Context, entry_id: Any) -> Any:
    return store.entry(ctx.partner_id or 0, str(entry_id)) if entry_id not in (None, "") else None


def _entry_length(entry: Any) -> int | None:
    """The entry's length in milliseconds, where the store knows it (``getLengthInMsecs``)."""
    if entry is None:
        return None
    keys = entry.keys()
    for column in ("lengthInMsecs", "msDuration"):
        if column in keys and entry[column]:
            return int(entry[column])
    return None


def _entitled_to_edit(ctx: Context, entry: Any) -> bool:
    """``kEntitlementUtils::isEntitledForEditEntry``, reduced to admin sessions and the entry's owner."""
    return ctx.is_admin or (entry is not None and bool(ctx.user) and entry["userId"] == ctx.user)


def _max_length(obj: ApiObject, name: str, limit: int) -> None:
    value = obj.get(name)
    if value is not None and len(str(value).encode("utf-8")) > limit:
        raise ApiError(PROPERTY_VALIDATION_MAX_LENGTH, obj.label(name), limit)


def _validate_start_time(store: Store, ctx: Context, obj: ApiObject, row: Mapping[str, Any] | None) -> None:
    """``KalturaCuePoint::validateStartTime``."""
    if obj.get("startTime") is None:
        if (not _truthy(obj.get("triggeredAt")) and not obj.is_null("duration")) or not obj.is_null("endTime"):
            raise ApiError(END_TIME_WITHOUT_START_TIME)
        obj.values["startTime"] = 0
    start = obj.get("startTime")
    if start < 0:
        raise ApiError(START_TIME_CANNOT_BE_LESS_THAN_0)
    entry = _entry(store, ctx, row["entryId"] if row is not None else obj.get("entryId"))
    if entry is None:
        raise ApiError(ENTRY_ID_NOT_FOUND, obj.get("entryId"))
    length = _entry_length(entry)
    if length and length < start:
        raise ApiError(START_TIME_IS_BIGGER_THAN_ENTRY_END_TIME, start, length)


def _validate_end_time_and_duration(store: Store, ctx: Context, obj: ApiObject, row: Mapping[str, Any] | None) -> None:
    """``KalturaCuePoint::validateEndTimeAndDuration`` plus the type's ``updateEndTimeAndDuration``."""
    if obj.get("startTime") is None and row is not None and row.get("startTime"):
        obj.values["startTime"] = row["startTime"]
    if obj.get("triggeredAt") is None and row is not None and row.get("triggeredAt"):
        obj.values["triggeredAt"] = row["triggeredAt"]
    end, duration, start = obj.get("endTime"), obj.get("duration"), obj.get("startTime") or 0
    if end and end < start:
        raise ApiError(END_TIME_CANNOT_BE_LESS_THAN_START_TIME)
    if duration and duration < 0:
        raise ApiError(DURATION_CANNOT_BE_LESS_THAN_START_TIME)
    entry = _entry(store, ctx, row["entryId"] if row is not None else obj.get("entryId"))
    if entry is None:
        raise ApiError(ENTRY_ID_NOT_FOUND, obj.get("entryId"))
    length = _entry_length(entry)
    if length:
        if end and length < end:
            raise ApiError(END_TIME_IS_BIGGER_THAN_ENTRY_END_TIME, end, length)
        if duration and length < duration:
            raise ApiError(DURATION_IS_BIGGER_THAN_ENTRY_DURATION, duration, length)
    if obj.is_null("endTime") and (row is None or row.get("endTime") is None):
        obj.values["endTime"] = obj.get("startTime")
    no_duration = obj.has("duration") and obj.is_null("duration") and (row is None or row.get("endTime") is None)
    if _truthy(obj.get("triggeredAt")) and no_duration:
        obj.values["duration"] = 0


def _is_descendant(store: Store, root_id: str, candidate: str) -> bool:
    """``CuePoint::isDescendant``: the cue point itself or any live descendant."""
    pending, seen = [root_id], set()
    while pending:
        current = pending.pop()
        if current == candidate:
            return True
        if current in seen:
            continue
        seen.add(current)
        pending += [
            r["id"]
            for r in store.query(
                f"SELECT id FROM cue_points WHERE {q('parentId')} = ? AND status != ?",
                (current, int(voc.CuePointStatus.DELETED)),
            )
        ]
    return False


def _validate_annotation_parent(
    store: Store, ctx: Context, obj: ApiObject, row: Mapping[str, Any] | None
) -> dict[str, Any] | None:
    """``KalturaAnnotation::validateParentId``; returns the parent when there is one."""
    if obj.is_null("parentId"):
        obj.values["parentId"] = "0"  # the server's "backward compatibility patch": no parent is 0
    parent_id = obj.get("parentId")
    if not _truthy(parent_id):
        return None
    parent = by_id(store, ctx, str(parent_id))
    if parent is None:
        raise ApiError(PARENT_ANNOTATION_NOT_FOUND, parent_id)
    if row is not None:
        if _is_descendant(store, row["id"], str(parent_id)):
            raise ApiError(PARENT_ANNOTATION_IS_DESCENDANT, parent_id, row["id"])
        if parent["entryId"] != row["entryId"]:
            raise ApiError(PARENT_ANNOTATION_DO_NOT_BELONG_TO_THE_SAME_ENTRY)
    elif parent["entryId"] != obj.get("entryId"):
        raise ApiError(PARENT_ANNOTATION_DO_NOT_BELONG_TO_THE_SAME_ENTRY)
    return parent


def _validate_answer_parent(store: Store, ctx: Context, obj: ApiObject) -> None:
    """``KalturaAnswerCuePoint::validateParentId`` and ``validateOnlyOneAnswer``."""
    if obj.is_null("parentId"):
        raise ApiError(PARENT_ID_IS_MISSING)
    parent = by_id(store, ctx, str(obj.get("parentId")))
    if parent is None:
        raise ApiError(PARENT_CUE_POINT_NOT_FOUND, obj.get("parentId"))
    if parent["cuePointType"] != voc.CuePointType.QUIZ_QUESTION.value:
        raise ApiError(WRONG_PARENT_TYPE, obj.get("parentId"))
    if parent["entryId"] != obj.get("entryId"):
        raise ApiError(PARENT_CUE_POINT_DO_NOT_BELONG_TO_THE_SAME_ENTRY)
    duplicate = store.query_one(
        f"SELECT 1 FROM cue_points WHERE partnerId = ? AND {q('entryId')} = ? AND {q('parentId')} = ? "
        f"AND {q('quizUserEntryId')} = ? AND cuePointType = ? AND status != ?",
        (
            ctx.partner_id,
            obj.get("entryId"),
            obj.get("parentId"),
            obj.get("quizUserEntryId"),
            voc.CuePointType.QUIZ_ANSWER.value,
            int(voc.CuePointStatus.DELETED),
        ),
    )
    if duplicate is not None:
        raise ApiError(ANSWER_ALREADY_EXISTS, obj.get("parentId"), obj.get("quizUserEntryId"))


def _same(prop: Prop, given: Any, row: Mapping[str, Any]) -> bool:
    """``KalturaObject::validateForUpdate``'s "unchanged" test: the model's getter returns the same value.

    The getters of ``createdAt``/``updatedAt`` return formatted dates, so a timestamp never matches;
    an explicit null never matches either (it is an object on the server)."""
    if given is _NULL or prop.name in ("createdAt", "updatedAt"):
        return False
    current = row.get(prop.name)
    if prop.name == "duration":
        current = row["endTime"] - row["startTime"] if row.get("endTime") is not None else None
    if isinstance(given, bool):
        return current is not None and int(current) == int(given)
    return bool(current == given and type(current) is type(given))


def _check_readonly(obj: ApiObject, row: Mapping[str, Any] | None) -> None:
    for prop in properties(obj.cls) or ():
        if prop.name == "cuePointType" or not obj.given(prop.name):
            continue
        if row is None:
            if prop.readonly:
                raise ApiError(PROPERTY_VALIDATION_NOT_UPDATABLE, obj.label(prop.name))
        elif (prop.readonly or prop.insertonly) and not _same(prop, obj.values[prop.name], row):
            raise ApiError(PROPERTY_VALIDATION_NOT_UPDATABLE, obj.label(prop.name))


def _values(obj: ApiObject, target: voc.CuePointTypeInfo) -> dict[str, Any]:
    """``toObject``: the properties set on the request, as columns of the stored type (null clears)."""
    columns = {p.name for p in properties(target.api_class) or ()} - _NOT_STORED
    out: dict[str, Any] = {}
    for name, value in obj.values.items():
        if name not in columns:
            continue
        value = None if value is _NULL else value
        if isinstance(value, bool):
            value = int(value)
        out[name] = value
    if "duration" in obj.values and obj.has("duration") and "endTime" in columns:  # AdCuePoint::setDuration
        duration = obj.get("duration")
        if duration is None:
            out["endTime"] = None
        else:
            out["endTime"] = int(out.get("startTime", obj.get("startTime")) or 0) + int(duration)
    return out


# ---------------------------------------------------------------------------- add


def add(store: Store, ctx: Context, obj: ApiObject, forced_type: str | None = None) -> dict[str, Any]:
    """``CuePointService::addAction``; returns the stored row."""
    info = obj.info
    kind = info.api_type
    if kind == voc.CuePointType.THUMB and obj.get("title") is not None:  # toInsertableObject cuts the title
        obj.values["title"] = obj.get("title").encode("utf-8")[:MAX_THUMB_TITLE_LENGTH].decode("utf-8", "ignore")
    # validateForInsert: the class's own checks wrap KalturaCuePoint's, which start with KalturaObject's
    if kind == voc.CuePointType.THUMB and obj.given("assetId"):
        raise ApiError(ASSET_ID_NOT_FOUND, obj.get("assetId"))
    _check_readonly(obj, None)
    if obj.is_null("entryId"):
        raise ApiError(PROPERTY_VALIDATION_CANNOT_BE_NULL, obj.label("entryId"))
    entry = _entry(store, ctx, obj.get("entryId"))
    if entry is None:
        raise ApiError(ENTRY_ID_NOT_FOUND, obj.get("entryId"))
    tags = obj.get("tags")
    hotspots = kind == voc.CuePointType.ANNOTATION and "hotspots" in str(tags or "").split(",")
    if hotspots and not _entitled_to_edit(ctx, entry):  # validateEntryEntitlement
        raise ApiError(INVALID_USER_ID)
    _validate_start_time(store, ctx, obj, None)
    if tags not in (None, ""):  # `$this->tags != null`
        _max_length(obj, "tags", MAX_TAGS_LENGTH)
    parent: dict[str, Any] | None = None
    if kind == voc.CuePointType.ANNOTATION:
        if obj.get("text") not in (None, ""):
            _max_length(obj, "text", MAX_TEXT_LENGTH)
        parent = _validate_annotation_parent(store, ctx, obj, None)
        if parent is not None:
            _validate_end_time_and_duration(store, ctx, obj, None)
        if obj.get("isPublic") is None:
            obj.values["isPublic"] = False
        if obj.get("searchableOnEntry") is None:
            obj.values["searchableOnEntry"] = True
    elif kind == voc.CuePointType.CODE:
        if obj.is_null("code"):
            raise ApiError(PROPERTY_VALIDATION_CANNOT_BE_NULL, obj.label("code"))
        _validate_end_time_and_duration(store, ctx, obj, None)
    elif kind in (voc.CuePointType.AD, voc.CuePointType.SESSION):
        _validate_end_time_and_duration(store, ctx, obj, None)
    elif kind == voc.CuePointType.QUIZ_ANSWER:
        _validate_answer_parent(store, ctx, obj)
        if obj.get("feedback") is not None and not _entitled_to_edit(ctx, entry):
            raise ApiError(INVALID_USER_ID)
    target = voc.type_info(forced_type) if forced_type else info
    values = _values(obj, target)
    if parent is not None:  # KalturaAnnotation::toInsertableObject: a child inherits unset times
        if not values.get("startTime"):
            values["startTime"] = parent.get("startTime")
        if not values.get("endTime"):
            values["endTime"] = parent.get("endTime")
    # the action itself
    entry_id = str(obj.get("entryId"))
    check_limit_entry(ctx, entry_id)
    system_name = obj.get("systemName")
    if _truthy(system_name):
        existing = by_system_name(store, ctx, entry_id, str(system_name))
        if existing is not None:
            raise ApiError(CUE_POINT_SYSTEM_NAME_EXISTS, system_name, existing["id"])
    owner = obj.get("userId") if ctx.is_admin and obj.get("userId") is not None else ctx.user
    if owner:
        store.ensure_user(ctx.partner_id or 0, str(owner))
    ts = now()
    values.update(
        id=store.new_id("cue_points"),
        partnerId=ctx.partner_id,
        cuePointType=target.api_type.value,
        status=int(voc.CuePointStatus.READY),
        createdAt=ts,
        updatedAt=ts,
        userId=owner or None,
        childrenCount=0,
        directChildrenCount=0,
    )
    values.setdefault("tags", None)
    if target.api_type == voc.CuePointType.THUMB:  # ThumbCuePoint::preInsert
        if values.get("subType") is None:
            values["subType"] = int(voc.ThumbCuePointSubType.SLIDE)
        if values["subType"] == int(voc.ThumbCuePointSubType.SLIDE):
            values["status"] = int(voc.CuePointStatus.PENDING)
    if target.api_type == voc.CuePointType.ANNOTATION:
        values["depth"] = (int(parent.get("depth") or 0) + 1) if parent is not None else 0
    if target.api_type == voc.CuePointType.QUIZ_ANSWER:
        on_answer_insert(store, ctx, values)
    with store.transaction() as c:
        store.insert_cue_point(c, values)
        if target.api_type == voc.CuePointType.ANNOTATION and parent is not None:
            count_child(c, parent["id"])
    stored = store.query_one("SELECT * FROM cue_points WHERE id = ?", (values["id"],))
    if stored is None:  # written in the transaction above; cannot vanish
        raise ApiError(INVALID_CUE_POINT_ID, values["id"])
    return Store.decode_cue_point(stored)


# ---------------------------------------------------------------------------- update


def update(
    store: Store, ctx: Context, cue_point_id: str, obj: ApiObject, forced_type: str | None = None
) -> dict[str, Any]:
    """``CuePointService::updateAction``; returns the stored row after the update."""
    row = by_id(store, ctx, cue_point_id)
    if row is None or (forced_type and row["cuePointType"] != forced_type):
        raise ApiError(INVALID_CUE_POINT_ID, cue_point_id)
    check_limit_entry(ctx, row["entryId"])
    system_name = obj.get("systemName")
    if _truthy(system_name):
        existing = by_system_name(store, ctx, row["entryId"], str(system_name))
        if existing is not None and existing["id"] != cue_point_id:
            raise ApiError(CUE_POINT_SYSTEM_NAME_EXISTS, system_name, existing["id"])
    kind = obj.info.api_type
    # validateForUpdate of the object's class...
    if kind == voc.CuePointType.ANNOTATION:
        if not obj.is_null("text"):
            _max_length(obj, "text", MAX_TEXT_LENGTH)
        if _truthy(obj.get("parentId")):
            _validate_annotation_parent(store, ctx, obj, row)
        if _truthy(obj.get("parentId")) or _truthy(row.get("parentId")):
            _validate_end_time_and_duration(store, ctx, obj, row)
    elif kind in (voc.CuePointType.AD, voc.CuePointType.CODE, voc.CuePointType.SESSION):
        _validate_end_time_and_duration(store, ctx, obj, row)
    # ...then KalturaCuePoint's...
    if obj.given("tags") and obj.get("tags") is not None:
        _max_length(obj, "tags", MAX_TAGS_LENGTH)
    entry = _entry(store, ctx, row["entryId"])
    if obj.given("entryId"):
        if _entry(store, ctx, obj.get("entryId")) is None:
            raise ApiError(ENTRY_ID_NOT_FOUND, obj.get("entryId"))
        if obj.get("entryId") is not None and obj.get("entryId") != row["entryId"]:
            raise ApiError(CANNOT_UPDATE_ENTRY_ID)
    if kind == voc.CuePointType.ANNOTATION:
        tags = obj.get("tags") if obj.get("tags") is not None else row.get("tags")
        if "hotspots" in str(tags or "").split(",") and not _entitled_to_edit(ctx, entry):
            raise ApiError(INVALID_USER_ID)
    if obj.given("startTime") and obj.get("startTime") is not None:
        _validate_start_time(store, ctx, obj, row)
    # ...then KalturaObject's (read-only and insert-only properties must be unchanged)
    _check_readonly(obj, row)
    if kind == voc.CuePointType.QUIZ_ANSWER:
        if not _truthy(obj.get("entryId")):
            raise ApiError(PROPERTY_VALIDATION_CANNOT_BE_NULL, "KalturaAnswerCuePoint:entryId")
        if obj.get("feedback") is not None and not _entitled_to_edit(ctx, entry):
            raise ApiError(INVALID_USER_ID)
    values = _values(obj, voc.type_info(row["cuePointType"]))
    if row["cuePointType"] == voc.CuePointType.QUIZ_ANSWER.value and "answerKey" in values:  # preUpdate
        keys = [k for k in str(row.get("correctAnswerKeys") or "").split(",") if k]
        values["isCorrect"] = 1 if str(values["answerKey"]) in keys else 0
    values["updatedAt"] = now()
    with store.transaction() as c:
        store.update_cue_point(c, cue_point_id, values)
    updated = by_id(store, ctx, cue_point_id)
    if updated is None:  # the update moved it out of the session's sight (cannot happen today)
        raise ApiError(INVALID_CUE_POINT_ID, cue_point_id)
    return updated

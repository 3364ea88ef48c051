"""Which fields of each type a sync manages, how values compare, and what ``addFromBulk`` can change.

Derived from :mod:`cuepipe.vocabulary` plus the server's ingest rules (docs/format-notes.md):

* ``addFromBulk`` sets most own fields only *when the element is present*: an absent ``sceneText``
  leaves the old text in place. Such a field cannot be cleared through it (:data:`KEEPS_WHEN_ABSENT`).
* ``tags`` is always overwritten (absent tags clear them); annotation ``endTime`` is always set.
* A thumb cue point's ``title``, ``description`` and ``subType`` are ignored by the ingest parser:
  they travel through ``cuePoint.add`` / ``cuePoint.update`` (:data:`TYPED_ONLY`, see :mod:`.typed`).
* Custom metadata is created, never updated, by ingest, and ``list`` does not return it: a sync
  does not compare it (a warning says so when a table carries it).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from .. import vocabulary as voc
from ..values import is_missing

CuePointType = voc.CuePointType

#: Fields that identify a cue point rather than describe it (never diffed).
IDENTITY = frozenset({"cuePointType", "id", "entryId", "systemName"})
#: Fields a sync never writes: owner (the session user owns what it writes), thumbnail asset.
NOT_WRITABLE = frozenset({"userId", "assetId", "customData"})

#: Fields that ``addFromBulk`` sets only when the element is present (so it cannot clear them).
KEEPS_WHEN_ABSENT: dict[str, frozenset[str]] = {
    CuePointType.ANNOTATION.value: frozenset({"text", "parentSystemName", "parentId"}),
    CuePointType.AD.value: frozenset({"endTime", "title", "sourceUrl"}),
    CuePointType.CODE.value: frozenset({"endTime", "code", "description"}),
    CuePointType.QUIZ_QUESTION.value: frozenset({"hint", "explanation", "optionalAnswers"}),
    CuePointType.SESSION.value: frozenset({"endTime", "name"}),
    CuePointType.THUMB.value: frozenset({"title", "description", "subType"}),
}

#: Fields the ingest parser ignores for a type: written with cuePoint.add / cuePoint.update instead.
TYPED_ONLY: dict[str, frozenset[str]] = {
    CuePointType.THUMB.value: frozenset({"title", "description", "subType"}),
}


def managed_fields(cue_type: str) -> tuple[str, ...]:
    """The columns a sync compares and writes for ``cue_type``, in the vocabulary's order."""
    info = voc.type_info(cue_type)
    out = []
    for f in info.all_fields:
        if f.column in IDENTITY or f.column in NOT_WRITABLE:
            continue
        if f.ingest is None and f.column not in TYPED_ONLY.get(info.api_type.value, ()):
            continue
        out.append(f.column)
    return tuple(dict.fromkeys(out))


def normalize(column: str, value: Any) -> Any:
    """A value in the form both sides compare in: None for missing, ints for times/enums, plain answers.

    Tables and the server spell the same thing differently (``"1"`` and ``1`` for an ad type,
    ``""`` and missing for tags, answers' weights as text); this maps both to one form.
    """
    if isinstance(value, list | tuple):
        if column == "optionalAnswers":
            return [_answer(a) for a in value] or None
        return list(value) or None
    if is_missing(value):
        return None
    if column == "optionalAnswers" and isinstance(value, str):
        try:
            return normalize(column, json.loads(value))
        except ValueError:
            return value
    field = voc.COLUMN_BY_NAME.get(column)
    kind = field.kind if field is not None else "str"
    if column in ("startTime", "endTime", "subType"):
        try:
            return int(value)
        except (TypeError, ValueError):
            return value
    if kind == "enum" and field is not None and field.enum is not None and column in ("adType", "protocolType"):
        text = str(value.value if hasattr(value, "value") else value)
        for member in field.enum:
            if text in (member.name, str(member.value)):
                return str(member.value)
        return text
    if column == "tags":
        text = str(value)
        return text if text else None
    if isinstance(value, str):
        return value if value != "" else None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _answer(value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        return {"value": value}
    out: dict[str, Any] = {}
    key = value.get("key")
    out["key"] = None if is_missing(key) else str(key)
    text = value.get("text")
    out["text"] = None if is_missing(text) or text == "" else str(text)
    weight: Any = value.get("weight")
    w: Any
    try:
        w = 1.0 if is_missing(weight) or weight == "" else float(weight)
    except (TypeError, ValueError):
        w = weight
    out["weight"] = w if not (isinstance(w, float) and math.isnan(w)) else 1.0
    correct: Any = value.get("isCorrect")
    try:
        out["isCorrect"] = 0 if is_missing(correct) or correct == "" else int(correct)
    except (TypeError, ValueError):
        out["isCorrect"] = correct
    return out


def json_value(value: Any) -> Any:
    """A normalized value as JSON can hold it (plans are saved as JSON)."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list):
        return [json_value(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): json_value(v) for k, v in value.items()}
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def show(value: Any, limit: int = 60) -> str:
    """A value for a plan line: quoted text, bare numbers, ``(none)``; long values are cut."""
    if value is None:
        return "(none)"
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, int | float) else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"

"""Fields ``addFromBulk`` ignores, written after the upload with ``cuePoint.update``.

The server's bulk ingest keeps only the base fields of a thumb cue point, so a chapter pushed as
ingest XML arrives untitled, as a SLIDE (docs/format-notes.md#how-the-server-ingests). The typed
API action ``cuePoint.update`` keeps them. After its uploads, a push therefore sends one
``cuePoint.update`` per cue point that has such fields (:data:`cuepipe.vocabulary.TYPED_ONLY_FIELDS`),
by the id the upload returned. An update to fixed values is idempotent, so a re-run or a resumed
journal simply writes the same values again; cue points that failed or were not sent are left alone.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import Any

from .. import vocabulary as voc
from ..kaltura.actions import cue_point_update
from ..kaltura.request import Context, Request
from ..values import is_missing
from ._base import Call, Op


def _wire_value(name: str, value: Any) -> Any:
    if name == "subType":  # a value or a name of ThumbCuePointSubType (the writer checked it)
        text = str(getattr(value, "value", value)).strip()
        for member in voc.ThumbCuePointSubType:
            if text in (member.name, str(member.value)):
                return int(member.value)
        return int(float(text))
    return str(value)


def typed_fields(record: Mapping[str, Any], *, clear: bool = False) -> dict[str, Any]:
    """The record's values that only the typed API actions write (empty for most types).

    Missing and empty values are left out, or with ``clear=True`` (a sync whose table has the column)
    kept as ``None``, which ``cuePoint.update`` sends as an explicit null that clears the field.
    Raises ``KeyError`` for an unknown cue point type.
    """
    cue_type = voc.type_info(record.get("cuePointType")).api_type.value
    out: dict[str, Any] = {}
    for name in sorted(voc.TYPED_ONLY_FIELDS.get(cue_type, ())):
        if name not in record:
            continue
        value = record.get(name)
        if is_missing(value) or value == "":
            if clear:
                out[name] = None
            continue
        out[name] = _wire_value(name, value)
    return out


def _update_request(cue_point_id: str, obj: dict[str, Any], ctx: Context) -> Request:
    return cue_point_update(ctx, cue_point_id, obj)


def update_call(cue_point_id: str, cue_type: str, fields: Mapping[str, Any]) -> Call:
    """One ``cuePoint.update`` with the typed object (replay safe: it sets fixed values)."""
    obj: dict[str, Any] = {"objectType": voc.type_info(cue_type).api_class, **fields}
    return Call(
        build=functools.partial(_update_request, cue_point_id, obj),
        write=True,
        replay_safe=True,
        what=f"cuePoint.update({cue_point_id}) for the fields addFromBulk ignores",
    )


def typed_updates_op(rows: Iterable[tuple[Mapping[str, Any], str | None]]) -> Op:
    """``cuePoint.update`` for every (record, server id) whose record has typed-only fields; the count."""
    sent = 0
    for record, cue_point_id in rows:
        if cue_point_id is None or is_missing(cue_point_id):
            continue
        try:
            fields = typed_fields(record)
        except KeyError:
            continue
        if fields:
            yield update_call(str(cue_point_id), str(record.get("cuePointType")), fields)
            sent += 1
    return sent

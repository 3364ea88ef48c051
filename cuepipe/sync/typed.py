"""Fields ``addFromBulk`` ignores, written with ``cuePoint.update`` and the typed API object.

The server's ingest parser drops a thumb cue point's ``title``, ``description`` and ``subType``
(docs/format-notes.md): a chapter pushed through bulk XML arrives as an untitled SLIDE. The API action
``cuePoint.update`` takes a ``KalturaThumbCuePoint`` and keeps them. Plan/apply and copy write the
bulk part first (``addFromBulk`` by systemName: idempotent, journaled), then these fields with
``cuePoint.update`` by the server id, which is idempotent too: a re-run after a crash writes the
same values again.

:func:`typed_writes` is the hook for ``Client.push`` as well: given the records pushed and the ids
push returned, it returns what still needs ``cuePoint.update``; :func:`write_typed` sends it.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import vocabulary as voc
from ..kaltura.actions import cue_point_update
from ..kaltura.request import Context, Request
from ..values import is_missing
from . import _fields as F

if TYPE_CHECKING:
    from ..client import Client


@dataclass(frozen=True, slots=True)
class TypedWrite:
    """One ``cuePoint.update``: the server id, the API class, and the fields to set."""

    id: str
    cue_type: str
    fields: dict[str, Any]

    def api_object(self) -> dict[str, Any]:
        obj: dict[str, Any] = {"objectType": voc.type_info(self.cue_type).api_class}
        obj.update(self.fields)
        return obj


def typed_fields(record: Mapping[str, Any], *, clear: bool = False) -> dict[str, Any]:
    """The record's values that only the typed API actions can write (empty for most types).

    Missing values are left out, or with ``clear=True`` (a sync whose table has the column) kept as
    ``None``, which ``cuePoint.update`` sends as an explicit null that clears the field.
    """
    cue_type = voc.type_info(record.get("cuePointType")).api_type.value
    out = {}
    for name in sorted(F.TYPED_ONLY.get(cue_type, ())):
        if name not in record:
            continue
        value = F.normalize(name, record.get(name))
        if value is not None or clear:
            out[name] = value
    return out


def typed_writes(
    records: Iterable[Mapping[str, Any]],
    ids: Iterable[str | None],
    current: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    clear: bool = False,
) -> list[TypedWrite]:
    """What still needs ``cuePoint.update`` after ``records`` were written and got ``ids``.

    ``current`` (server id -> record as read from the server) skips values already in place; without
    it every typed value is written (harmless: an update with the same value).
    """
    out = []
    for rec, cid in zip(records, ids, strict=True):
        if cid is None or is_missing(cid):
            continue
        try:
            wanted = typed_fields(rec, clear=clear)
        except KeyError:
            continue
        if not wanted:
            continue
        if current is not None and str(cid) in current:
            have = current[str(cid)]
            wanted = {k: v for k, v in wanted.items() if F.normalize(k, have.get(k)) != v}
            if not wanted:
                continue
        out.append(TypedWrite(str(cid), voc.type_info(rec.get("cuePointType")).api_type.value, wanted))
    return out


def update_request(ctx: Context, write: TypedWrite) -> Request:
    """``cuePoint.update(id, cuePoint)`` with the typed object (``None`` clears a field)."""
    return cue_point_update(ctx, write.id, write.api_object())


def _request_for(write: TypedWrite, ctx: Context) -> Request:
    return update_request(ctx, write)


def write_typed(client: Client, writes: Iterable[TypedWrite]) -> int:
    """Send every write (each is replay safe: an update to fixed values); return how many were sent."""
    from ..client._base import Call, Op

    todo = list(writes)
    if not todo:
        return 0

    def op() -> Op:
        for w in todo:
            yield Call(
                build=functools.partial(_request_for, w),
                write=True,
                replay_safe=True,
                what=f"cuePoint.update({w.id})",
            )
        return len(todo)

    result: int = client._run(op())
    return result


def after_push(client: Client, records: Iterable[Mapping[str, Any]], result: Any) -> int:
    """The hook for ``Client.push``: write what ``addFromBulk`` ignored for the rows ``push`` just wrote.

    ``records``: the pushed records in input order; ``result``: push's result frame (its ``id``
    column, same order). Rows without an id (failed, not sent) are left alone. Returns the number of
    ``cuePoint.update`` calls. To wire it into push: after the result is built,
    ``result.attrs["typed_updates"] = after_push(self, records, result)``.
    """
    ids = [None if is_missing(v) else str(v) for v in result["id"].tolist()]
    return write_typed(client, typed_writes(list(records), ids))

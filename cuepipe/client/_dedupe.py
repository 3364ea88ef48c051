"""Find and remove duplicate cue points: more than one live cue point with one systemName on one entry.

``addFromBulk`` looks a systemName up and then inserts, which is not atomic: two requests applied at
the same time can both insert it. A push settles its own uploads (:mod:`._send`); this is the check
for everything else: a push that warned that late copies were possible, other tools writing to the
same entries, old data.

Per key (entry + systemName), the **oldest** copy is kept (lowest ``intId``, the server's insert
order): the server resolves a systemName to it, so later updates by systemName and children added by
``parentSystemName`` go to it. The others of the same type are deleted, except copies that have
children (deleting a cue point deletes its children on the server) and copies of another type (a
different cue point that happens to share the name): those are reported, never deleted. A key with
one live cue point is never touched. Dry run by default.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from ..kaltura import (
    KalturaCuePointFilter,
    KalturaNotFoundError,
)
from ..kaltura.actions import CuePointService
from ._base import Op, log
from ._pull import list_all_op
from ._send import age, children_count, delete_call

#: Columns of the :func:`dedupe_op` result.
DEDUPE_COLUMNS = ("entryId", "systemName", "cuePointType", "id", "intId", "createdAt", "action", "reason")
#: ``action`` values: kept copy, copy to delete (dry run) / deleted, copy left in place and why.
DEDUPE_ACTIONS = ("keep", "delete", "deleted", "left")

_SERVICE: CuePointService = "cuepoint_cuepoint"
_FIELDS = ("id", "systemName", "cuePointType", "intId", "createdAt", "directChildrenCount", "entryId")


def _entry_cue_points(entry_id: str) -> Op:
    """Every live cue point of the entry that has a systemName, each once (the window walk of ``pull``:
    offset paging stops at the server's 10,000-result window and ties come back in no stable order)."""
    objects = yield from list_all_op(KalturaCuePointFilter(entryIdEqual=entry_id), _SERVICE)
    out: dict[str, dict[str, Any]] = {}
    for obj in objects:
        if obj.get("systemName") not in (None, ""):
            out.setdefault(str(obj["id"]), {k: obj.get(k) for k in _FIELDS})
    return list(out.values())


def plan_dedupe(cue_points: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of the dedupe report for every key with more than one live cue point (pure)."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for obj in cue_points:
        groups.setdefault((str(obj.get("entryId")), str(obj.get("systemName"))), []).append(obj)
    rows: list[dict[str, Any]] = []
    for (entry, name), copies in sorted(groups.items()):
        if len(copies) < 2:
            continue
        ordered = sorted(copies, key=age)
        keep = ordered[0]
        rows.append(_row(entry, name, keep, "keep", "oldest copy"))
        for obj in ordered[1:]:
            if obj.get("cuePointType") != keep.get("cuePointType"):
                rows.append(_row(entry, name, obj, "left", f"another type than the kept {keep.get('cuePointType')}"))
            elif children_count(obj):
                rows.append(_row(entry, name, obj, "left", f"has {children_count(obj)} child cue point(s)"))
            else:
                rows.append(_row(entry, name, obj, "delete", f"copy of {keep.get('id')}"))
    return rows


def _row(entry: str, name: str, obj: dict[str, Any], action: str, reason: str) -> dict[str, Any]:
    return {
        "entryId": entry,
        "systemName": name,
        "cuePointType": obj.get("cuePointType"),
        "id": str(obj.get("id")),
        "intId": obj.get("intId"),
        "createdAt": obj.get("createdAt"),
        "action": action,
        "reason": reason,
    }


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(DEDUPE_COLUMNS))
    for column in ("entryId", "systemName", "cuePointType", "id", "action", "reason"):
        frame[column] = frame[column].astype("string")
    for column in ("intId", "createdAt"):
        frame[column] = pd.array(frame[column].tolist(), dtype="Int64")
    return frame


def dedupe_op(entry_ids: Iterable[str], *, dry_run: bool) -> Op:
    """Find the duplicates on these entries and (unless ``dry_run``) delete the extra copies."""
    if isinstance(entry_ids, str):
        entry_ids = [entry_ids]
    entries = list(dict.fromkeys(entry_ids))
    if not entries or not all(isinstance(e, str) and e for e in entries):
        raise ValueError("dedupe needs one or more entry ids")
    rows: list[dict[str, Any]] = []
    for entry in entries:
        found = yield from _entry_cue_points(entry)
        rows.extend(plan_dedupe(found))
    if not dry_run:
        for row in rows:
            if row["action"] != "delete":
                continue
            cue_point_id = row["id"]
            try:
                yield delete_call(cue_point_id, f"cuePoint.delete({cue_point_id}) (duplicate)")
            except KalturaNotFoundError:
                pass  # already gone
            row["action"] = "deleted"
            log.info("deleted %s, a copy of systemName %r on entry %s", cue_point_id, row["systemName"], row["entryId"])
    return _frame(rows)


__all__ = ["DEDUPE_ACTIONS", "DEDUPE_COLUMNS", "dedupe_op", "plan_dedupe"]

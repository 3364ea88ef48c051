"""Carrying out a :class:`~cuepipe.sync.plan.Plan`: check it is still true, then write exactly it.

Order of work:

1. Refuse a plan with errors, or one made for another server or partner.
2. Read the touched entries again. Every cue point the plan touches must be as planned (``before``)
   or already as it will be (``after``: a previous run of the same plan got that far). Anything else
   stops the apply with :class:`~cuepipe.sync.plan.StalePlanError` before a single write.
3. Creates and updates go through ``Client.push`` (``addFromBulk``, one entry per upload, parents
   before children, by systemName/id so a repeat is an update); with ``journal`` the push is
   resumable exactly as ``push`` is.
4. Fields only the typed API can write (thumb title/description/subType) go through
   ``cuePoint.update`` (:mod:`.typed`).
5. Deletes (``prune``) go through ``cuePoint.delete``, children before parents; an id already gone
   counts as deleted.

Every step is idempotent, so running the same plan again after a crash (with or without the journal)
finishes it; the journal additionally makes the interrupted upload's outcome certain without a
second copy.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .. import vocabulary as voc
from . import _fields as F
from ._read import read_server
from .plan import ApplyResult, Change, Plan, PlanError, StalePlanError, _text, managed_values
from .typed import typed_writes, write_typed

if TYPE_CHECKING:
    from ..client import Client, Progress


def apply_plan(
    plan: Plan,
    client: Client,
    *,
    journal: str | os.PathLike[str] | None = None,
    progress: Callable[[Progress], None] | None = None,
    chunk_size: int = 500,
) -> ApplyResult:
    """Apply ``plan`` through ``client`` (see the module docstring); returns an :class:`ApplyResult`."""
    if plan.errors:
        first = "; ".join(str(p) for p in plan.errors[:3])
        raise PlanError(f"the plan has {len(plan.errors)} error(s) and cannot be applied: {first}")
    if client.service_url.rstrip("/") != plan.service_url.rstrip("/") or (
        plan.partner_id is not None and client.partner_id != plan.partner_id
    ):
        raise PlanError(
            f"the plan was made for partner {plan.partner_id} at {plan.service_url}, not partner "
            f"{client.partner_id} at {client.service_url}"
        )
    work = [c for c in plan.changes if c.action != "unchanged"]
    result = ApplyResult()
    if not work:
        return result
    entries = list(dict.fromkeys(c.entry_id for c in work))
    server = read_server(client, entries)
    check_fresh(work, server)

    write_changes(client, work, result, journal=journal, progress=progress, chunk_size=chunk_size, current=server)
    return result


def write_changes(
    client: Client,
    changes: list[Change],
    result: ApplyResult,
    *,
    journal: str | os.PathLike[str] | None = None,
    progress: Callable[[Progress], None] | None = None,
    chunk_size: int = 500,
    current: list[dict[str, Any]] | None = None,
    push_all: bool = False,
) -> None:
    """Steps 3-5 of the module docstring for ``changes``; counts and ids go into ``result``.

    ``push_all`` pushes unchanged cue points too (updates to the same values): a copy does, so that
    the journal's input is the same on every run whatever an interrupted run already wrote.
    """
    by_id = {str(r["id"]): r for r in current or ()}
    kinds = ("create", "update", "unchanged") if push_all else ("create", "update")
    writes = _ordered([c for c in changes if c.action in kinds])
    if writes and any(c.action != "unchanged" for c in writes):
        # With push_all the input must not depend on what the target holds (the journal checks it):
        # cue points go by systemName alone, never by a target id an earlier run may have created.
        records = [{k: v for k, v in c.record.items() if k != "id"} if push_all else c.record for c in writes]
        pushed = client.push(records, journal=journal, progress=progress, chunk_size=chunk_size, errors="raise")
        ids = [None if _text(v) is None else str(v) for v in pushed["id"].tolist()]
        result.resumed += int(pushed.attrs.get("resumed", 0) or 0)
        for c, cid in zip(writes, ids, strict=True):
            if cid is not None:
                result.ids[f"{c.entry_id}/{c.key}"] = cid
                c.id = cid
            if c.action == "create":
                result.created += 1
            elif c.action == "update":
                result.updated += 1
        wanted = [c.after if c.after is not None else c.record for c in writes]
        typed = typed_writes(
            [{**w, "cuePointType": c.cue_type} for w, c in zip(wanted, writes, strict=True)],
            ids,
            current=by_id,
            clear=True,
        )
        result.typed_updates += write_typed(client, typed)
    else:
        for c in writes:
            if c.id is not None:
                result.ids[f"{c.entry_id}/{c.key}"] = c.id
    deletes = [c for c in changes if c.action == "delete"]
    if deletes:
        client.delete([str(c.id) for c in deletes], missing_ok=True)
        result.deleted += len(deletes)
        for c in deletes:
            result.ids[f"{c.entry_id}/{c.key}"] = str(c.id)


def _ordered(changes: list[Change]) -> list[Change]:
    """Parents (by systemName on the same entry) before their children; otherwise the plan's order."""
    names = {(c.entry_id, _text(c.record.get("systemName"))): c for c in changes}

    def depth(c: Change) -> int:
        d, seen = 0, set()
        parent = _text(c.record.get("parentSystemName"))
        while parent is not None and (c.entry_id, parent) in names and parent not in seen and d < 100:
            seen.add(parent)
            d += 1
            parent = _text(names[(c.entry_id, parent)].record.get("parentSystemName"))
        return d

    return sorted(changes, key=depth)


def _same(values: Mapping[str, Any] | None, record: Mapping[str, Any], cue_type: str, *, ignore_typed: bool) -> bool:
    if values is None:
        return False
    now = managed_values(record, cue_type)
    skip = F.TYPED_ONLY.get(cue_type, frozenset()) if ignore_typed else frozenset()
    for k, v in values.items():
        if k in skip:
            continue
        if k == "parentSystemName" and v is not None and now.get(k) is None:
            return False
        if now.get(k) != v:
            return False
    return True


def check_fresh(changes: list[Change], server: list[dict[str, Any]]) -> None:
    """Raise :class:`StalePlanError` unless every change finds its cue point as planned or as applied."""
    by_id = {str(r["id"]): r for r in server}
    by_name: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in server:
        name = _text(r.get("systemName"))
        if name is not None:
            by_name[(str(r.get("entryId")), name)].append(r)
    stale: list[tuple[str, str, str]] = []
    for c in changes:
        if c.action == "create":
            found = by_name.get((c.entry_id, _text(c.record.get("systemName")) or ""), [])
            if not found:
                continue
            same_type = len(found) == 1 and voc.type_info(found[0].get("cuePointType")).api_type.value == c.cue_type
            if same_type and _same(c.after, found[0], c.cue_type, ignore_typed=True):
                continue  # created by an earlier run of this plan
            stale.append((c.entry_id, c.key, f"was planned as new, but the server now has {found[0]['id']}"))
        elif c.action == "update":
            rec = by_id.get(str(c.id))
            if rec is None:
                stale.append((c.entry_id, c.key, f"cue point {c.id} was deleted"))
            elif not (
                _same(c.before, rec, c.cue_type, ignore_typed=False)
                or _same(c.after, rec, c.cue_type, ignore_typed=True)
            ):
                diff = _describe(c.before, rec, c.cue_type)
                stale.append((c.entry_id, c.key, f"cue point {c.id} changed: {diff}"))
        elif c.action == "delete":
            rec = by_id.get(str(c.id))
            if rec is not None and not _same(c.before, rec, c.cue_type, ignore_typed=False):
                stale.append((c.entry_id, c.key, f"cue point {c.id} changed: {_describe(c.before, rec, c.cue_type)}"))
    if stale:
        lines = "; ".join(f"entry {e} key {k!r}: {why}" for e, k, why in stale[:5])
        more = f" (and {len(stale) - 5} more)" if len(stale) > 5 else ""
        raise StalePlanError(
            f"the server changed since the plan was made, nothing was written: {lines}{more}. Plan again.", stale
        )


def _describe(before: Mapping[str, Any] | None, record: Mapping[str, Any], cue_type: str) -> str:
    now = managed_values(record, cue_type)
    parts = [f"{k}: {F.show(v)} -> {F.show(now.get(k))}" for k, v in (before or {}).items() if now.get(k) != v]
    return ", ".join(parts[:3]) or "it differs"

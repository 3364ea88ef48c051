"""``cuepipe.plan``: compare a table (the desired state of some entries) with what the server holds.

A :class:`Plan` lists per cue point what :meth:`Plan.apply` would do: ``create``, ``update`` (only
the fields that differ, old -> new), ``delete`` (``prune=True`` only) or ``unchanged``; plus the
:class:`Problem` s found on the way, each naming its input row. Nothing is written by planning.

What a table means (docs/migrations.md):

* a cue point is matched by its key: ``id`` where the row gives one, otherwise ``systemName`` on
  its entry (``key="systemName"``, the default); with ``key="id"`` every row must give an id;
* a column the table does not have is left alone: the server keeps its value;
* a missing value (empty CSV cell, ``None``, ``<NA>``) in a column the table has means "no value":
  the cue point should not have one. Where the server cannot clear that field through
  ``addFromBulk`` (it keeps the old value when the element is absent), the plan says so as an error
  instead of pretending;
* fields a type does not have are not compared (an ad row's empty ``text`` is fine).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from .. import vocabulary as voc
from ..errors import CuepipeError, CuePointValueError
from ..values import is_missing
from ..xml import write_xml
from . import _fields as F
from ._read import entry_durations, read_desired, read_server

if TYPE_CHECKING:
    from ..client import Client

Action = Literal["create", "update", "delete", "unchanged"]
Severity = Literal["error", "warning"]
KeyName = Literal["systemName", "id"]

PLAN_FORMAT = "cuepipe-plan/1"


class PlanError(CuepipeError):
    """A plan cannot be applied (it has errors, belongs to another server, or its file is unreadable)."""


class StalePlanError(PlanError):
    """The cue points a plan touches changed after it was made; nothing was written.

    ``.changes`` lists ``(entryId, key, what changed)``.
    """

    def __init__(self, message: str, changes: list[tuple[str, str, str]]) -> None:
        super().__init__(message)
        self.changes = changes


@dataclass(frozen=True, slots=True)
class Problem:
    """Something found at plan time. ``row`` is the input row label (None for server-side findings)."""

    severity: Severity
    message: str
    row: Hashable | None = None
    entry_id: str | None = None
    key: str | None = None

    def __str__(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.entry_id:
            where.append(f"entry {self.entry_id}")
        if self.key:
            where.append(f"key {self.key!r}")
        return f"{self.severity}: {', '.join(where) + ': ' if where else ''}{self.message}"


@dataclass(slots=True)
class Change:
    """One cue point's planned action.

    ``record`` is what apply writes (the desired values over the server's, in the ingest record
    form); ``before`` the server's managed values when planned (to detect staleness); ``after`` the
    managed values it must hold afterwards; ``diff`` field -> (old, new) for updates.
    """

    action: Action
    entry_id: str
    cue_type: str
    key: str
    id: str | None = None
    row: Hashable | None = None
    diff: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    record: dict[str, Any] = field(default_factory=dict)
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "entryId": self.entry_id,
            "cuePointType": self.cue_type,
            "key": self.key,
            "id": self.id,
            "row": F.json_value(self.row),
            "diff": {k: [F.json_value(a), F.json_value(b)] for k, (a, b) in self.diff.items()},
            "record": F.json_value(self.record),
            "before": F.json_value(self.before),
            "after": F.json_value(self.after),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Change:
        return cls(
            action=data["action"],
            entry_id=data["entryId"],
            cue_type=data["cuePointType"],
            key=data["key"],
            id=data.get("id"),
            row=data.get("row"),
            diff={k: (v[0], v[1]) for k, v in (data.get("diff") or {}).items()},
            record=dict(data.get("record") or {}),
            before=data.get("before"),
            after=data.get("after"),
        )


@dataclass
class Plan:
    """What :func:`plan` found; :meth:`apply` carries it out. Shows itself with ``str()``,
    :meth:`summary` and :meth:`to_frame`; :meth:`save` / :meth:`load` keep it in a JSON file."""

    service_url: str
    partner_id: int | None
    entries: list[str]
    key: KeyName
    prune: bool
    columns: list[str]
    changes: list[Change]
    problems: list[Problem]
    unkeyed: dict[str, int]
    fingerprint: str
    created_at: str = ""

    # -- reading a plan -----------------------------------------------------------------------

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def has_changes(self) -> bool:
        return any(c.action != "unchanged" for c in self.changes)

    def counts(self) -> dict[str, int]:
        counts = Counter(c.action for c in self.changes)
        return {a: counts.get(a, 0) for a in ("create", "update", "delete", "unchanged")}

    def summary(self) -> pd.DataFrame:
        """One row per entry: how many cue points each action touches, and unkeyed ones left alone."""
        rows: dict[str, Counter[str]] = {e: Counter() for e in self.entries}
        for c in self.changes:
            rows.setdefault(c.entry_id, Counter())[c.action] += 1
        data = [
            {
                "entryId": e,
                "create": n["create"],
                "update": n["update"],
                "delete": n["delete"],
                "unchanged": n["unchanged"],
                "unkeyed": self.unkeyed.get(e, 0),
            }
            for e, n in rows.items()
        ]
        columns = ["entryId", "create", "update", "delete", "unchanged", "unkeyed"]
        return pd.DataFrame(data, columns=columns).astype({c: "int64" for c in columns[1:]})

    def to_frame(self, *, include_unchanged: bool = False) -> pd.DataFrame:
        """One row per change: action, entry, type, key, id, input row, changed fields and ``old -> new``."""
        rows = []
        for c in self.changes:
            if c.action == "unchanged" and not include_unchanged:
                continue
            rows.append(
                {
                    "action": c.action,
                    "entryId": c.entry_id,
                    "cuePointType": c.cue_type,
                    "key": c.key,
                    "id": c.id,
                    "row": c.row,
                    "fields": ",".join(c.diff),
                    "diff": "; ".join(f"{k}: {F.show(a)} -> {F.show(b)}" for k, (a, b) in c.diff.items()),
                }
            )
        columns = ["action", "entryId", "cuePointType", "key", "id", "row", "fields", "diff"]
        return pd.DataFrame(rows, columns=columns)

    def __str__(self) -> str:
        lines: list[str] = []
        by_entry: dict[str, list[Change]] = defaultdict(list)
        for c in self.changes:
            if c.action != "unchanged":
                by_entry[c.entry_id].append(c)
        sign = {"create": "+", "update": "~", "delete": "-"}
        for entry in self.entries:
            changes = by_entry.get(entry, [])
            if not changes:
                continue
            lines.append(f"entry {entry}:")
            for c in changes:
                short = c.cue_type.rsplit(".", 1)[-1]
                where = f" (row {c.row})" if c.row is not None else ""
                ident = f" id {c.id}" if c.id and c.action != "create" else ""
                lines.append(f"  {sign[c.action]} {short} {c.key!r}{ident}{where}")
                if c.action == "create":
                    for k, (_, new) in c.diff.items():
                        lines.append(f"      {k}: {F.show(new)}")
                elif c.action == "update":
                    for k, (old, new) in c.diff.items():
                        lines.append(f"      {k}: {F.show(old)} -> {F.show(new)}")
        for p in self.problems:
            lines.append(str(p))
        n = self.counts()
        unkeyed = sum(self.unkeyed.values())
        tail = (
            f"Plan: {n['create']} to create, {n['update']} to update, {n['delete']} to delete, "
            f"{n['unchanged']} unchanged"
            + (f"; {unkeyed} cue points without a key left alone" if unkeyed else "")
            + (f"; {len(self.errors)} error(s): apply refuses this plan" if self.errors else "")
        )
        if not self.has_changes and not self.errors:
            tail = "No changes. " + tail
        lines.append(tail)
        return "\n".join(lines)

    # -- files --------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "format": PLAN_FORMAT,
            "serviceUrl": self.service_url,
            "partnerId": self.partner_id,
            "entries": self.entries,
            "key": self.key,
            "prune": self.prune,
            "columns": self.columns,
            "fingerprint": self.fingerprint,
            "createdAt": self.created_at,
            "unkeyed": self.unkeyed,
            "problems": [
                {
                    "severity": p.severity,
                    "message": p.message,
                    "row": F.json_value(p.row),
                    "entryId": p.entry_id,
                    "key": p.key,
                }
                for p in self.problems
            ],
            "changes": [c.to_json() for c in self.changes],
        }

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the plan as JSON (atomically: a temporary file renamed into place)."""
        target = Path(path)
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_text(json.dumps(self.to_json(), ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(tmp, target)
        return target

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Plan:
        """Read a plan written by :meth:`save`; a file that is not one raises :class:`PlanError`."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise PlanError(f"{path}: not a readable plan file ({exc})") from None
        if not isinstance(data, dict) or data.get("format") != PLAN_FORMAT:
            raise PlanError(f"{path}: not a cuepipe plan (expected format {PLAN_FORMAT!r})")
        try:
            return cls(
                service_url=data["serviceUrl"],
                partner_id=data["partnerId"],
                entries=list(data["entries"]),
                key=data["key"],
                prune=bool(data["prune"]),
                columns=list(data["columns"]),
                changes=[Change.from_json(c) for c in data["changes"]],
                problems=[
                    Problem(p["severity"], p["message"], p.get("row"), p.get("entryId"), p.get("key"))
                    for p in data["problems"]
                ],
                unkeyed={str(k): int(v) for k, v in data.get("unkeyed", {}).items()},
                fingerprint=data["fingerprint"],
                created_at=data.get("createdAt", ""),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise PlanError(f"{path}: a damaged plan file ({exc!r} missing or wrong)") from None

    # -- carrying it out ----------------------------------------------------------------------

    def apply(self, client: Client, journal: str | os.PathLike[str] | None = None, **options: Any) -> ApplyResult:
        """Carry out exactly this plan (see :func:`cuepipe.sync.apply.apply_plan`)."""
        from .apply import apply_plan

        return apply_plan(self, client, journal=journal, **options)


@dataclass
class ApplyResult:
    """What :meth:`Plan.apply` did: counts per action and the server id of every touched cue point."""

    created: int = 0
    updated: int = 0
    deleted: int = 0
    typed_updates: int = 0
    ids: dict[str, str] = field(default_factory=dict)  # "entryId/key" -> server id
    resumed: int = 0

    def __str__(self) -> str:
        return f"Applied: {self.created} created, {self.updated} updated, {self.deleted} deleted" + (
            f" ({self.typed_updates} written with cuePoint.update)" if self.typed_updates else ""
        )


# ---------------------------------------------------------------------------------------------
# Planning
# ---------------------------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    if is_missing(value) or value == "":
        return None
    return value if isinstance(value, str) else str(value)


def _type(value: Any) -> str | None:
    try:
        return voc.type_info(value).api_type.value
    except KeyError:
        return None


def managed_values(record: Mapping[str, Any], cue_type: str) -> dict[str, Any]:
    """The record's managed fields, normalized (what a plan compares)."""
    return {f: F.normalize(f, record.get(f)) for f in F.managed_fields(cue_type)}


def fingerprint(records: Iterable[Mapping[str, Any]]) -> str:
    """SHA-256 over the server's cue points (id, type, entry, key and managed values), order-free."""
    digests = sorted(
        json.dumps(
            [
                r.get("id"),
                r.get("cuePointType"),
                r.get("entryId"),
                _text(r.get("systemName")),
                F.json_value(managed_values(r, str(r.get("cuePointType")))) if _type(r.get("cuePointType")) else None,
            ],
            sort_keys=True,
            ensure_ascii=False,
            default=str,
        )
        for r in records
    )
    h = hashlib.sha256()
    for d in digests:
        h.update(d.encode("utf-8"))
        h.update(b"\n")
    return h.hexdigest()


@dataclass
class _Row:
    row: Hashable
    record: dict[str, Any]
    cue_type: str
    entry_id: str
    key: str
    id: str | None


def plan(
    client: Client,
    desired: Any,
    *,
    entries: Iterable[str] | None = None,
    key: KeyName = "systemName",
    prune: bool = False,
    progress: Any = None,
) -> Plan:
    """Compare ``desired`` (a DataFrame, records, a path, XML bytes) with the server; return a :class:`Plan`.

    ``entries``: the entries the table is the desired state of (default: those its rows name);
    with ``prune=True`` keyed cue points of those entries that the table does not have are deleted.
    Cue points on the server without a ``systemName`` are never touched, only counted.
    """
    if key not in ("systemName", "id"):
        raise ValueError(f"key must be 'systemName' or 'id', not {key!r}")
    labels, records, columns = read_desired(desired)
    given = set(columns)
    problems: list[Problem] = []
    rows = _desired_rows(labels, records, key, problems)
    entry_list = list(dict.fromkeys([*(entries or ()), *(r.entry_id for r in rows)]))
    if entries is not None:
        allowed = set(entries)
        for r in rows:
            if r.entry_id not in allowed:
                problems.append(
                    Problem("error", "the row's entry is not among the entries given to plan", r.row, r.entry_id, r.key)
                )
    server = read_server(client, entry_list, progress=progress)
    known = entry_durations(client, entry_list)
    for entry in entry_list:
        if entry not in known:
            first = next((r.row for r in rows if r.entry_id == entry), None)
            problems.append(Problem("error", f"entry {entry} does not exist for this partner", first, entry))
    return build_plan(
        client.service_url,
        client.partner_id,
        entry_list,
        rows,
        given,
        server,
        key=key,
        prune=prune,
        problems=problems,
        columns=list(columns),
    )


def _desired_rows(
    labels: list[Hashable], records: list[dict[str, Any]], key: KeyName, problems: list[Problem]
) -> list[_Row]:
    rows: list[_Row] = []
    for label, rec in zip(labels, records, strict=True):
        entry = _text(rec.get("entryId"))
        cue_type = _type(rec.get("cuePointType"))
        if entry is None:
            problems.append(Problem("error", "entryId is required", label))
            continue
        if cue_type is None:
            problems.append(Problem("error", f"unknown cuePointType {rec.get('cuePointType')!r}", label, entry))
            continue
        if cue_type == voc.CuePointType.EVENT.value:
            problems.append(
                Problem("error", "event cue points have no bulk XML form; addFromBulk cannot write them", label, entry)
            )
            continue
        cid = _text(rec.get("id"))
        name = _text(rec.get("systemName"))
        if key == "id" and cid is None:
            problems.append(Problem("error", "key='id' but the row has no id", label, entry))
            continue
        if cid is None and name is None:
            problems.append(
                Problem(
                    "error",
                    "the row has neither a systemName nor an id: it cannot be matched, and a re-run would "
                    "create it again",
                    label,
                    entry,
                )
            )
            continue
        rows.append(_Row(label, rec, cue_type, entry, name if name is not None else f"id:{cid}", cid))
    return rows


def build_plan(
    service_url: str,
    partner_id: int | None,
    entries: list[str],
    rows: list[_Row],
    given: set[str],
    server: list[dict[str, Any]],
    *,
    key: KeyName,
    prune: bool,
    problems: list[Problem],
    columns: list[str],
) -> Plan:
    """The pure part of :func:`plan`: desired rows against server records."""
    by_id: dict[str, dict[str, Any]] = {}
    by_name: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    unkeyed: Counter[str] = Counter()
    for rec in server:
        by_id[str(rec["id"])] = rec
        name = _text(rec.get("systemName"))
        if name is None:
            unkeyed[str(rec.get("entryId"))] += 1
        else:
            by_name[(str(rec.get("entryId")), name)].append(rec)
    duplicates_on_server = {k for k, v in by_name.items() if len(v) > 1}

    # Duplicate keys in the table.
    seen: dict[tuple[str, str], Hashable] = {}
    unique_rows: list[_Row] = []
    for r in rows:
        k = (r.entry_id, r.id) if r.id else (r.entry_id, r.key)
        if k in seen:
            problems.append(
                Problem("error", f"duplicate key in the table (also row {seen[k]})", r.row, r.entry_id, r.key)
            )
            continue
        seen[k] = r.row
        unique_rows.append(r)

    changes: list[Change] = []
    matched: set[str] = set()
    desired_names: dict[str, set[str]] = defaultdict(set)  # entry -> systemNames that will exist
    for r in unique_rows:
        name = _text(r.record.get("systemName"))
        if name is not None:
            desired_names[r.entry_id].add(name)

    for r in unique_rows:
        current: dict[str, Any] | None = None
        if r.id is not None:
            current = by_id.get(r.id)
            if current is None:
                problems.append(
                    Problem(
                        "error",
                        f"no cue point with id {r.id} on the server (ids are the server's; leave id empty to create)",
                        r.row,
                        r.entry_id,
                        r.key,
                    )
                )
                continue
            if str(current.get("entryId")) != r.entry_id:
                problems.append(
                    Problem(
                        "error",
                        f"cue point {r.id} belongs to entry {current.get('entryId')}; moving cue points between "
                        "entries is not a sync (copy it, then delete)",
                        r.row,
                        r.entry_id,
                        r.key,
                    )
                )
                continue
        else:
            found = by_name.get((r.entry_id, r.key), [])
            if (r.entry_id, r.key) in duplicates_on_server:
                ids = ", ".join(str(x["id"]) for x in found)
                problems.append(
                    Problem(
                        "error",
                        f"the server already has {len(found)} cue points with this systemName ({ids}); give the "
                        "row an id, or delete the extra ones",
                        r.row,
                        r.entry_id,
                        r.key,
                    )
                )
                matched.update(str(x["id"]) for x in found)
                continue
            current = found[0] if found else None
        if current is not None:
            matched.add(str(current["id"]))
            if _type(current.get("cuePointType")) != r.cue_type:
                problems.append(
                    Problem(
                        "error",
                        f"the server's cue point {current['id']} is a {current.get('cuePointType')}; addFromBulk "
                        f"skips an element of another type without a word, so a type cannot change (delete it "
                        "first)",
                        r.row,
                        r.entry_id,
                        r.key,
                    )
                )
                continue
        change = _diff_row(r, current, given, problems)
        if change is not None:
            changes.append(change)

    # Parents: a parent named by the table must exist after apply.
    deleting: set[str] = set()
    if prune:
        for rec in server:
            cid = str(rec["id"])
            name = _text(rec.get("systemName"))
            if cid in matched or name is None:
                continue
            deleting.add(cid)
    surviving_names: dict[str, set[str]] = defaultdict(set)
    for rec in server:
        name = _text(rec.get("systemName"))
        if name is not None and str(rec["id"]) not in deleting:
            surviving_names[str(rec.get("entryId"))].add(name)
    for c in changes:
        if c.action not in ("create", "update"):
            continue
        parent_name = _text(c.record.get("parentSystemName"))
        parent_id = _text(c.record.get("parentId"))
        if parent_name is not None and (
            parent_name not in desired_names[c.entry_id] and parent_name not in surviving_names[c.entry_id]
        ):
            problems.append(
                Problem(
                    "error",
                    f"parent {parent_name!r} will not exist on the entry (not in the table, not on the server)",
                    c.row,
                    c.entry_id,
                    c.key,
                )
            )
        if parent_id is not None and (parent_id not in by_id or parent_id in deleting):
            why = "is deleted by this plan" if parent_id in deleting else "does not exist on the server"
            problems.append(Problem("error", f"parent id {parent_id} {why}", c.row, c.entry_id, c.key))

    # Deletes, children before parents.
    if prune:
        for rec in sorted(server, key=lambda r: _depth(r, by_id), reverse=True):
            cid = str(rec["id"])
            if cid not in deleting:
                continue
            cue_type = _type(rec.get("cuePointType")) or str(rec.get("cuePointType"))
            before = managed_values(rec, cue_type) if _type(cue_type) else {}
            changes.append(
                Change(
                    "delete",
                    str(rec.get("entryId")),
                    cue_type,
                    str(rec.get("systemName")),
                    id=cid,
                    before=before,
                )
            )
    for entry, name in sorted(duplicates_on_server):
        found = by_name[(entry, name)]
        if not any(p.key == name and p.entry_id == entry for p in problems):
            ids = ", ".join(str(x["id"]) for x in found)
            problems.append(
                Problem(
                    "warning",
                    f"the server has {len(found)} cue points with this systemName ({ids})"
                    + ("; the table does not name it, so prune deletes them all" if prune else ""),
                    None,
                    entry,
                    name,
                )
            )
    if "customData" in given and any(not is_missing(r.record.get("customData")) for r in unique_rows):
        problems.append(
            Problem(
                "warning",
                "customData is written when a cue point is created but never compared or updated: list does not "
                "return custom metadata and addFromBulk never updates it",
            )
        )
    _check_renders(changes, problems)
    return Plan(
        service_url=service_url,
        partner_id=partner_id,
        entries=entries,
        key=key,
        prune=prune,
        columns=columns,
        changes=changes,
        problems=problems,
        unkeyed=dict(unkeyed),
        fingerprint=fingerprint(server),
        created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )


def _depth(rec: Mapping[str, Any], by_id: Mapping[str, Mapping[str, Any]]) -> int:
    depth, seen = 0, set()
    parent = _text(rec.get("parentId"))
    while parent is not None and parent in by_id and parent not in seen and depth < 100:
        seen.add(parent)
        depth += 1
        parent = _text(by_id[parent].get("parentId"))
    return depth


def _diff_row(r: _Row, current: dict[str, Any] | None, given: set[str], problems: list[Problem]) -> Change | None:
    fields = F.managed_fields(r.cue_type)
    info_fields = {f.column for f in voc.type_info(r.cue_type).all_fields}
    # Values the table gives for fields this type does not have.
    for col in given:
        if col in info_fields or col in F.IDENTITY or col not in voc.COLUMN_BY_NAME:
            continue
        if not is_missing(r.record.get(col)) and r.record.get(col) != "":
            problems.append(Problem("error", f"a {r.cue_type} has no field {col!r}", r.row, r.entry_id, r.key))
    desired = {f: F.normalize(f, r.record.get(f)) for f in fields if f in given}
    parent_cols = {"parentSystemName", "parentId"}
    if desired.get("parentSystemName") is not None:
        desired.pop("parentId", None)  # the parent by name; its id is the server's business
    elif desired.get("parentId") is not None:
        desired.pop("parentSystemName", None)
    elif "parentSystemName" in desired and "parentId" in desired:
        pass  # both columns given, both empty: no parent
    if current is None:
        after = dict(desired)
        record = _ingest_record(r, desired, None)
        diff = {k: (None, v) for k, v in desired.items() if v is not None}
        return Change("create", r.entry_id, r.cue_type, r.key, None, r.row, diff, record, None, after)
    now = managed_values(current, r.cue_type)
    diff = {}
    for f, new in desired.items():
        old = now.get(f)
        if old != new:
            diff[f] = (old, new)
    keeps = F.KEEPS_WHEN_ABSENT.get(r.cue_type, frozenset())
    for f, (old, new) in list(diff.items()):
        if new is None and old is not None and f in keeps and f not in F.TYPED_ONLY.get(r.cue_type, ()):
            problems.append(
                Problem(
                    "error",
                    f"cannot clear {f!r} ({F.show(old)}) through addFromBulk: the server keeps the old value "
                    "when the element is absent; give a value or drop the column",
                    r.row,
                    r.entry_id,
                    r.key,
                )
            )
            return None
    if parent_cols & diff.keys() and r.cue_type == voc.CuePointType.QUIZ_ANSWER.value:
        pass  # answers take parentId verbatim on update too
    after = {**now, **desired}
    if not diff:
        record = _ingest_record(r, desired, current)
        return Change("unchanged", r.entry_id, r.cue_type, r.key, str(current["id"]), r.row, {}, record, now, after)
    record = _ingest_record(r, desired, current)
    return Change("update", r.entry_id, r.cue_type, r.key, str(current["id"]), r.row, diff, record, now, after)


def _ingest_record(r: _Row, desired: dict[str, Any], current: Mapping[str, Any] | None) -> dict[str, Any]:
    """What apply writes: the server's values (for columns the table lacks) under the table's."""
    fields = F.managed_fields(r.cue_type)
    rec: dict[str, Any] = {"cuePointType": r.cue_type, "entryId": r.entry_id}
    name = _text(r.record.get("systemName"))
    if name is None and current is not None:
        name = _text(current.get("systemName"))
    if name is not None:
        rec["systemName"] = name
    if current is not None:
        rec["id"] = str(current["id"])
    for f in fields:
        if f in desired:
            # Answers as the table spells them (normalized answers fill in defaults for comparing).
            value = r.record.get(f) if f == "optionalAnswers" and desired[f] is not None else desired[f]
        elif current is not None:
            value = F.normalize(f, current.get(f))
        else:
            continue
        if value is not None:
            rec[f] = value
    if "customData" in r.record and current is None and not is_missing(r.record.get("customData")):
        rec["customData"] = r.record["customData"]
    # Ingest takes one parent reference: the table's choice, else the server's id.
    if rec.get("parentSystemName") is not None and rec.get("parentId") is not None:
        if "parentSystemName" in desired and desired["parentSystemName"] is not None:
            rec.pop("parentId")
        elif r.cue_type != voc.CuePointType.QUIZ_ANSWER.value:
            rec.pop("parentSystemName")
    if r.cue_type == voc.CuePointType.THUMB.value:
        # The ingest schema requires them though the parser ignores them (cuePoint.update writes them).
        rec.setdefault("title", "")
        rec.setdefault("description", "")
    return rec


def _check_renders(changes: list[Change], problems: list[Problem]) -> None:
    """Every record apply would write must be valid ingest XML: find the bad ones now, by row."""
    pending = [c for c in changes if c.action in ("create", "update")]
    for _ in range(50):
        if not pending:
            return
        try:
            write_xml([c.record for c in pending])
            return
        except CuePointValueError as exc:
            index = exc.record if isinstance(exc.record, int) and 0 <= exc.record < len(pending) else None
            if index is None:
                problems.append(Problem("error", str(exc)))
                return
            bad = pending.pop(index)
            detail = f"field {exc.field!r}: {exc.reason}" if exc.field else exc.reason
            problems.append(Problem("error", detail, bad.row, bad.entry_id, bad.key))
    problems.append(Problem("error", "more invalid rows not checked (50 reported)"))

"""The plan's data: :class:`PlanBase`, its :class:`Change` s and :class:`Problem` s, the apply result.

Planning (:mod:`.plan`) fills these, applying (:mod:`.apply`) reads them; keeping them here lets both
depend on the data without depending on each other. :class:`~cuepipe.sync.plan.Plan` (the class
users get) adds ``apply()`` on top.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Self

import pandas as pd

from .. import vocabulary as voc
from ..errors import CuepipeError
from ..values import is_missing
from . import _fields as F

if TYPE_CHECKING:
    pass

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
class PlanBase:
    """What :func:`~cuepipe.sync.plan.plan` found (:class:`~cuepipe.sync.plan.Plan` adds ``apply``).

    Shows itself with ``str()``, :meth:`summary` and :meth:`to_frame`; :meth:`save` / :meth:`load`
    keep it in a JSON file."""

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
    def load(cls, path: str | os.PathLike[str]) -> Self:
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

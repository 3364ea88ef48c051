"""The push result: which server cue point each input row became, and how (created/updated/...).

The ``addFromBulk`` response lists the created/updated cue points in document order and leaves out
scenes the server skipped (an existing cue point of another type, docs/kaltura-api.md). When the
counts agree the mapping is positional; when they differ each row is matched on type, entry,
id/systemName and start time, never by blind position.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..kaltura import (
    InvalidEntryIdError,
    KalturaAPIError,
    KalturaHTTPError,
    KalturaInvalidRequestError,
    KalturaPermissionError,
    KalturaSessionError,
)
from ..values import to_milliseconds
from ._base import log
from ._errors import OutcomeUnknownError, UploadFailedError, describe
from ._plan import Item, Upload, text_or_none

#: ``action`` values in the push result.
ACTIONS = ("created", "updated", "skipped", "failed", "unknown", "not_sent")
RESULT_COLUMNS = ("cuePointType", "entryId", "systemName", "startTime", "id", "action", "upload", "error")


@dataclass(slots=True)
class Existing:
    """What the pre-upload lookup found: id -> type, systemName -> (id, type), and every id seen.

    ``seen`` includes every cue point the lookup returned (also a second one with the same
    systemName, which old data can have), so that a duplicate sweep never touches what was there.
    """

    ids: dict[str, str] = field(default_factory=dict)
    names: dict[str, tuple[str, str]] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)

    def to_json(self) -> dict[str, Any]:
        return {"ids": self.ids, "names": {k: list(v) for k, v in self.names.items()}, "seen": sorted(self.seen)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Existing | None:
        if data is None:
            return None
        return cls(
            ids=dict(data.get("ids", {})),
            names={k: (v[0], v[1]) for k, v in data.get("names", {}).items()},
            seen=set(data.get("seen", ())),
        )


def replay_safety(upload: Upload, existing: Existing | None) -> tuple[bool, str]:
    """Whether sending the upload again cannot create duplicates, and why not."""
    unsafe = [
        item
        for item in upload.items
        if item.system_name is None and (item.id is None or (existing is not None and item.id not in existing.ids))
    ]
    if not unsafe:
        return True, ""
    return False, (
        f"{len(unsafe)} of its cue points have neither a systemName nor an id known to the server, "
        "so sending it again could create duplicates"
    )


def predict(item: Item, existing: Existing | None) -> str | None:
    """created / updated / skipped as the server will decide (docs/kaltura-api.md), or None if unknown."""
    if existing is None:
        return "created" if item.id is None and item.system_name is None else None
    target: str | None = None
    if item.id is not None and item.id in existing.ids:
        target = existing.ids[item.id]
    elif item.system_name is not None and item.system_name in existing.names:
        target = existing.names[item.system_name][1]
    if target is None:
        return "created"
    return "updated" if item.type is None or target == item.type else "skipped"


def start_ms(item: Item) -> int | None:
    try:
        return to_milliseconds(item.record.get("startTime"))
    except (TypeError, ValueError):
        return None


def matches(item: Item, obj: Mapping[str, Any], existing: Existing | None) -> bool:
    """Could ``obj`` (a created/updated cue point in the response) be the server's answer to ``item``?"""
    if obj.get("cuePointType") != item.type or obj.get("entryId") != item.entry_id:
        return False
    if item.id is not None and obj.get("id") == item.id:
        return True
    if item.id is not None and existing is not None and item.id in existing.ids:
        return False  # the server updates that id or skips the scene; another id cannot be this row's
    if item.system_name is not None:
        return obj.get("systemName") == item.system_name
    start = start_ms(item)
    got = obj.get("startTime")
    return start is not None and isinstance(got, int) and abs(got - start) <= 1


def align(
    items: list[Item], objects: list[Mapping[str, Any]], existing: Existing | None
) -> tuple[list[Mapping[str, Any] | None], list[Mapping[str, Any]]]:
    """Pair each item with its response object (None when skipped); also return unmatched objects."""
    if len(objects) == len(items) and all(
        obj.get("cuePointType") == item.type for item, obj in zip(items, objects, strict=True)
    ):
        return list(objects), []
    paired: list[Mapping[str, Any] | None] = [None] * len(items)
    j = 0
    for i, item in enumerate(items):
        if j < len(objects) and matches(item, objects[j], existing):
            paired[i] = objects[j]
            j += 1
    return paired, list(objects[j:])


@dataclass(slots=True)
class Recovery:
    """How one upload whose outcome was unknown was settled (``result.attrs["recoveries"]``).

    ``landed``: cue points an earlier attempt had saved (kept, not sent again); ``resent``: cue
    points sent again (``resent_rows``); ``swept``: ``(id, systemName)`` of copies a racing request
    inserted, deleted; ``kept``: copies that could not be deleted (they have children); ``waited``:
    seconds spent watching the entry; ``settled``: False when the entry was still changing when a
    watch gave up, so late copies are possible (``cuepipe dedupe`` finds them).
    """

    upload: int
    entry_id: str
    cause: str
    landed: int = 0
    resent: int = 0
    resent_rows: list[Any] = field(default_factory=list)
    swept: list[tuple[str, str]] = field(default_factory=list)
    kept: list[tuple[str, str]] = field(default_factory=list)
    waited: float = 0.0
    settled: bool = True

    @property
    def clean(self) -> bool:
        """Settled with no copy left behind."""
        return self.settled and not self.kept

    def to_dict(self) -> dict[str, Any]:
        return {
            "upload": self.upload,
            "entryId": self.entry_id,
            "cause": self.cause,
            "landed": self.landed,
            "resent": self.resent,
            "resent_rows": list(self.resent_rows),
            "swept": [list(s) for s in self.swept],
            "kept": [list(k) for k in self.kept],
            "waited": round(self.waited, 3),
            "settled": self.settled,
        }

    def text(self) -> str:
        """One line for people."""
        parts = [
            f"answer lost ({self.cause})",
            f"watched the entry {self.waited:.1f} s",
            f"{self.landed} cue point(s) had landed",
            f"{self.resent} re-sent",
            f"{len(self.swept)} duplicate(s) deleted",
        ]
        if self.kept:
            parts.append(f"{len(self.kept)} duplicate(s) kept because they have children")
        return "; ".join(parts)


class ResultTable:
    """The push result, filled upload by upload; one row per input row, in input order."""

    def __init__(self, items: list[Item], index: pd.Index | None) -> None:
        self.items = items
        self.index = index
        n = len(items)
        self.ids: list[str | None] = [None] * n
        self.actions: list[str | None] = ["not_sent"] * n
        self.uploads: list[int | None] = [None] * n
        self.errors: list[str | None] = [None] * n
        self.recoveries: list[Recovery] = []

    def planned(self, upload: Upload) -> None:
        for item in upload.items:
            self.uploads[item.position] = upload.number

    def fail(self, upload: Upload, action: str, message: str) -> None:
        for item in upload.items:
            self.actions[item.position] = action
            self.errors[item.position] = message

    def stopped(self, upload: Upload, exc: UploadFailedError) -> None:
        """The server stopped part-way through the upload: saved, failed, not saved or unknown, per row."""
        by_row = {item.row: item for item in upload.items}
        message = describe(exc.cause)
        for row in exc.saved_rows:
            item = by_row[row]
            if row in exc.saved_ids:
                self.ids[item.position] = exc.saved_ids[row]
            if self.actions[item.position] in (None, "not_sent", "failed", "unknown"):
                self.actions[item.position] = predict(item, None) if item.system_name is None else None
            self.errors[item.position] = None
        if exc.failed_row is not None:
            item = by_row[exc.failed_row]
            self.actions[item.position] = "failed"
            self.errors[item.position] = f"{message}: {exc.reason}" if exc.reason else message
        for row in exc.unsaved_rows:
            item = by_row[row]
            self.actions[item.position] = "failed"
            self.errors[item.position] = f"not saved: the server stopped at row {exc.failed_row}"
        for row in exc.unknown_rows:
            item = by_row[row]
            self.actions[item.position] = "unknown"
            self.errors[item.position] = f"{message}; the server may or may not have saved it"

    def apply(self, upload: Upload, objects: list[Mapping[str, Any]], existing: Existing | None) -> None:
        self.apply_items(upload.number, upload.items, objects, existing)

    def apply_items(
        self, number: int, items: list[Item], objects: list[Mapping[str, Any]], existing: Existing | None
    ) -> None:
        """Map a response to its items (all of an upload, or the part a recovery sent again)."""
        paired, extra = align(items, objects, existing)
        for item, obj in zip(items, paired, strict=True):
            pos = item.position
            self.errors[pos] = None
            if obj is None:
                self.ids[pos] = None
                self.actions[pos] = "skipped"
                self.errors[pos] = (
                    "the server skipped this cue point: the existing cue point with this "
                    "id/systemName is of another type (docs/kaltura-api.md)"
                    if predict(item, existing) == "skipped"
                    else "the server did not return this cue point"
                )
                continue
            self.ids[pos] = str(obj.get("id"))
            action = predict(item, existing)
            if action not in ("created", "updated"):  # unknown beforehand, or the prediction was wrong
                action = "updated" if item.id is not None and obj.get("id") == item.id else None
            self.actions[pos] = action
        if extra:
            log.warning(
                "upload %d: the server returned %d cue point(s) no input row matches: %s",
                number,
                len(extra),
                ", ".join(str(o.get("id")) for o in extra[:10]),
            )

    def landed(self, item: Item, cue_point_id: str) -> None:
        """A recovery found this cue point on the server, created by an earlier attempt."""
        self.ids[item.position] = cue_point_id
        self.actions[item.position] = "created"
        self.errors[item.position] = None

    def keep(self, item: Item, cue_point_id: str) -> None:
        """A duplicate sweep kept this copy of the row's systemName (the oldest)."""
        self.ids[item.position] = cue_point_id

    def outcome(self, upload: Upload) -> list[tuple[str | None, str | None]]:
        """``(id, action)`` per cue point of the upload, in upload order (what the journal keeps)."""
        return [(self.ids[item.position], self.actions[item.position]) for item in upload.items]

    def restore(self, upload: Upload, outcome: list[tuple[str | None, str | None]]) -> None:
        """Fill the rows of an upload an earlier run confirmed, from the journal."""
        for item, (cue_point_id, action) in zip(upload.items, outcome, strict=True):
            self.ids[item.position] = cue_point_id
            self.actions[item.position] = action
            self.errors[item.position] = None

    def frame(self) -> pd.DataFrame:
        starts = [start_ms(item) for item in self.items]
        data = {
            "cuePointType": pd.array(
                [item.type or text_or_none(item.record.get("cuePointType")) for item in self.items], dtype="string"
            ),
            "entryId": pd.array([item.entry_id for item in self.items], dtype="string"),
            "systemName": pd.array([item.system_name for item in self.items], dtype="string"),
            "startTime": pd.array(starts, dtype="Int64"),
            "id": pd.array(self.ids, dtype="string"),
            "action": pd.array(self.actions, dtype="string"),
            "upload": pd.array(self.uploads, dtype="Int64"),
            "error": pd.array(self.errors, dtype="string"),
        }
        index = self.index if self.index is not None else pd.RangeIndex(len(self.items), name="row")
        return pd.DataFrame(data, index=index, columns=list(RESULT_COLUMNS))


def failure_action(exc: BaseException) -> str:
    """``failed`` when the server certainly wrote nothing of the upload, else ``unknown``."""
    if isinstance(exc, OutcomeUnknownError):
        return "unknown"
    # Refused before the first scene: a bad file, an unknown entry (one entry per upload), no rights.
    if isinstance(exc, InvalidEntryIdError | KalturaInvalidRequestError | KalturaPermissionError | KalturaSessionError):
        return "failed"
    if isinstance(exc, KalturaHTTPError) and (not exc.retryable or exc.status == 429):
        return "failed"  # 429: refused unprocessed (rate limited)
    if isinstance(exc, KalturaAPIError | KalturaHTTPError):
        return "unknown"  # e.g. INTERNAL_SERVERL_ERROR after some scenes were committed (docs/kaltura-api.md)
    return "failed"

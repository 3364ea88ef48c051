"""Grouping a Dask DataFrame so that every entry's cue points are in one partition, in input order.

Shared by :mod:`cuepipe.dask` (push, per-entry writes) and :mod:`cuepipe.sync.dask` (sync, copy):
a push resolves parents and checks system names per entry only within one upload, so an entry must
never be split over partitions. Kept apart so that both can use it without importing each other.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .errors import CuepipeError

try:
    import dask
    import dask.dataframe as dd
except ImportError as exc:  # pragma: no cover - the dask extra is missing
    raise ImportError("cuepipe's Dask support needs the dask extra: pip install 'cuepipe[dask]'") from exc


class PartitionError(CuepipeError):
    """A cue point in one partition could not be read, written or pushed.

    ``partition`` is the 0-based partition index of the input Dask DataFrame (for :func:`read_xml`,
    of the DataFrame being built), ``record`` the 0-based position of the row within that partition
    (``None`` when the problem is not tied to a row), ``field`` the column when known, ``path`` the
    file involved, ``cause_type`` the name of the original exception class. For :func:`push`,
    ``push_partition`` is the partition that pushed (its journal is ``part-<push_partition>.sqlite``)
    and ``result`` that partition's push result up to the failure, when the client gave one.

    Defined with an explicit ``__reduce__`` because Dask ships exceptions from workers by pickling
    them, and the default exception pickling would call ``__init__`` with the message only.
    """

    def __init__(
        self,
        message: str,
        partition: int | None,
        record: int | None = None,
        field: str | None = None,
        *,
        path: str | None = None,
        cause_type: str | None = None,
        push_partition: int | None = None,
        result: pd.DataFrame | None = None,
    ) -> None:
        self.reason = message
        self.partition = partition
        self.record = record
        self.field = field
        self.path = path
        self.cause_type = cause_type
        self.push_partition = push_partition
        self.result = result
        where = []
        if partition is not None:
            where.append(f"partition {partition}")
        if record is not None:
            where.append(f"record {record}")
        if field is not None:
            where.append(f"field {field!r}")
        super().__init__((", ".join(where) + ": " if where else "") + message)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_partition_error, (dict(self.__dict__),))


def _rebuild_partition_error(state: dict[str, Any]) -> PartitionError:
    state = dict(state)
    err = PartitionError(
        state.pop("reason"),
        state.pop("partition"),
        state.pop("record"),
        state.pop("field"),
        path=state.pop("path"),
        cause_type=state.pop("cause_type"),
        push_partition=state.pop("push_partition"),
        result=state.pop("result"),
    )
    err.__dict__.update(state)
    return err


_PART = "_cuepipe_partition"
_POS = "_cuepipe_position"


def _no_string_conversion() -> Any:
    """Dask config that keeps object columns as objects (the nested columns hold lists of dicts)."""
    return dask.config.set({"dataframe.convert-string": False})


def _tag_rows(df: pd.DataFrame, partition_info: dict[str, Any] | None = None) -> pd.DataFrame:
    """Add each row's input partition and position; refuse rows without an entry id."""
    number = int(partition_info["number"]) if partition_info else 0
    entry = df["entryId"]
    missing = (entry.isna() | (entry.astype("string") == "")).to_numpy(dtype=bool, na_value=True)
    if missing.any():
        raise PartitionError(
            "entryId is missing; every cue point belongs to an entry",
            number,
            int(missing.argmax()),
            "entryId",
            cause_type="CuePointValueError",
        )
    out = df.copy(deep=False)
    out[_PART] = np.full(len(df), number, dtype=np.int64)
    out[_POS] = np.arange(len(df), dtype=np.int64)
    return out


def _in_input_order(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values([_PART, _POS], kind="stable")


def _tagged(ddf: dd.DataFrame) -> dd.DataFrame:
    if "entryId" not in ddf.columns:
        raise ValueError("the DataFrame has no 'entryId' column")
    meta = ddf._meta.copy()
    meta[_PART] = np.array([], dtype=np.int64)
    meta[_POS] = np.array([], dtype=np.int64)
    with _no_string_conversion():
        return ddf.map_partitions(_tag_rows, meta=meta)


def _grouped(ddf: dd.DataFrame) -> dd.DataFrame:
    """Tagged rows shuffled so that each entry lives in one partition, in input order."""
    with _no_string_conversion():
        # "tasks" shuffles pickle the partitions; the p2p shuffle goes through Arrow tables, which
        # would not give back the lists of dicts in the nested columns unchanged.
        shuffled = _tagged(ddf).shuffle(on="entryId", shuffle_method="tasks")
        return shuffled.map_partitions(_in_input_order, meta=shuffled._meta)


def group_by_entry(ddf: dd.DataFrame) -> dd.DataFrame:
    """Shuffle so that all cue points of an entry are in one partition, each entry's rows in input order.

    Why: a push resolves ``parentSystemName`` only within the cue points it sends together, and
    checks ``systemName`` uniqueness per entry only within them; an entry split over partitions
    breaks both. Cost: a full shuffle (every row is serialized and moved between workers once, and
    about one extra copy of the data is held in memory while it runs); skip it when the input is
    already one entry per file or partition. Partitions are chosen by a hash of ``entryId``, so the
    result is the same on every run with the same input and partition count (which a journal relies
    on).
    """
    grouped = _grouped(ddf)
    meta = grouped._meta.drop(columns=[_PART, _POS])
    with _no_string_conversion():
        return grouped.map_partitions(_drop_helpers, meta=meta)


def _drop_helpers(df: pd.DataFrame) -> pd.DataFrame:
    return df.drop(columns=[_PART, _POS])

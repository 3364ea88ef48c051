"""Syncs and copies partitioned by entry on Dask: ``cuepipe.dask.sync`` and ``cuepipe.dask.copy``.

Each partition is a group of whole entries and runs the ordinary job (:func:`cuepipe.sync.plan` +
``apply``, or :func:`cuepipe.sync.copy`) on a worker, with its own client from a factory (a client
holds sockets and cannot travel) and its own journal in ``journal_dir``:

* sync: partition *i* saves its plan as ``sync-00012.plan.json`` before applying it with the
  journal ``sync-00012.sqlite``; a re-run after a crash (or Dask retrying a task whose worker died)
  applies that saved plan, finishing it exactly once, instead of planning again. When a partition
  finishes, both files are removed: a later run plans afresh (and then finds nothing to change).
* copy: partition *i* copies with the journal ``copy-00012.sqlite``. A copy writes the same records
  on every run (by key), so the journal resumes it; keep the entry map and partition count the same
  between runs.

Results come back as pandas DataFrames (the work happens once, now).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

from .copy import REPORT_COLUMNS, _entry_map
from .copy import copy as copy_entries
from .plan import Plan
from .plan import plan as make_plan

if TYPE_CHECKING:
    import dask.dataframe as dd

    from ..client import Client

SYNC_COLUMNS = ("entryId", "create", "update", "delete", "unchanged", "unkeyed", "partition", "resumed")


def _paths(journal_dir: str | None, stem: str, i: int) -> tuple[str | None, str | None]:
    if journal_dir is None:
        return None, None
    base = os.path.join(journal_dir, f"{stem}-{i:05d}")
    return base + ".sqlite", base + ".plan.json"


def _sync_partition(
    df: pd.DataFrame,
    i: int,
    client_factory: Callable[[], Client],
    journal_dir: str | None,
    options: dict[str, Any],
) -> pd.DataFrame:
    journal, plan_file = _paths(journal_dir, "sync", i)
    if len(df) == 0 and not (plan_file and os.path.exists(plan_file)):
        return pd.DataFrame(columns=list(SYNC_COLUMNS))
    with client_factory() as client:
        if plan_file and os.path.exists(plan_file):
            p = Plan.load(plan_file)  # an earlier run planned this partition and may have applied part of it
        else:
            p = make_plan(client, df.reset_index(drop=True), **options)
            if p.errors:
                raise ValueError(f"sync partition {i}: the plan has errors:\n" + "\n".join(map(str, p.errors)))
            if plan_file and p.has_changes:
                p.save(plan_file)
        result = p.apply(client, journal=journal)
    for path in (plan_file, journal):
        if path and os.path.exists(path):
            os.unlink(path)
    summary = p.summary()
    summary["partition"] = i
    summary["resumed"] = result.resumed
    return summary[list(SYNC_COLUMNS)]


def sync(
    desired: dd.DataFrame | pd.DataFrame,
    client_factory: Callable[[], Client],
    *,
    journal_dir: str | os.PathLike[str] | None = None,
    prune: bool = False,
    key: str = "systemName",
    npartitions: int | None = None,
) -> pd.DataFrame:
    """Plan and apply ``desired`` entry by entry on Dask; return the per-entry summary of what changed.

    ``desired``: a Dask or pandas DataFrame (a pandas one is split into ``npartitions``, default 8).
    Rows are grouped so each entry is in one partition (:func:`cuepipe.dask.group_by_entry`); with
    ``prune`` each partition prunes only the entries its rows name. A partition whose plan has
    errors fails the job with them (other partitions keep what they applied).
    """
    import dask
    import dask.dataframe as dd

    from ..dask import group_by_entry

    ddf = (
        dd.from_pandas(desired, npartitions=min(npartitions or 8, max(len(desired), 1)))
        if isinstance(desired, pd.DataFrame)
        else desired
    )
    root = None
    if journal_dir is not None:
        root = os.path.abspath(os.fspath(journal_dir))
        os.makedirs(root, exist_ok=True)
    parts = group_by_entry(ddf).to_delayed()
    options = {"prune": prune, "key": key}
    tasks = [
        dask.delayed(_sync_partition, pure=False)(part, i, client_factory, root, options)
        for i, part in enumerate(parts)
    ]
    frames = [f for f in dask.compute(*tasks) if len(f)]
    if not frames:
        return pd.DataFrame(columns=list(SYNC_COLUMNS))
    return pd.concat(frames, ignore_index=True)


def _copy_partition(
    pairs: list[tuple[str, str]],
    i: int,
    source_factory: Callable[[], Client],
    target_factory: Callable[[], Client],
    journal_dir: str | None,
    options: dict[str, Any],
) -> pd.DataFrame:
    journal, _ = _paths(journal_dir, "copy", i)
    with source_factory() as source, target_factory() as target:
        report = copy_entries(source, target, entry_map=dict(pairs), journal=journal, **options)
    frame = report.to_frame()
    frame["partition"] = i
    return frame


def copy(
    entry_map: Mapping[str, str],
    source_factory: Callable[[], Client],
    target_factory: Callable[[], Client] | None = None,
    *,
    npartitions: int = 8,
    journal_dir: str | os.PathLike[str] | None = None,
    **options: Any,
) -> pd.DataFrame:
    """:func:`cuepipe.copy` for many entries: the entry map split into ``npartitions`` groups, one
    task (client pair, journal) each; returns the combined id map / skip report (pandas).

    ``options`` are :func:`cuepipe.copy`'s (``shift_ms``, ``keep``, ``types``, ``answers``...).
    ``target_factory`` defaults to ``source_factory`` (a copy inside one partner).
    """
    import dask

    pairs = list(_entry_map(entry_map).items())
    n = max(1, min(npartitions, len(pairs)))
    groups = [pairs[k::n] for k in range(n)]
    root = None
    if journal_dir is not None:
        root = os.path.abspath(os.fspath(journal_dir))
        os.makedirs(root, exist_ok=True)
    tasks = [
        dask.delayed(_copy_partition, pure=False)(g, i, source_factory, target_factory or source_factory, root, options)
        for i, g in enumerate(groups)
    ]
    frames = list(dask.compute(*tasks))
    if not frames:
        return pd.DataFrame(columns=[*REPORT_COLUMNS, "partition"])
    return pd.concat(frames, ignore_index=True)

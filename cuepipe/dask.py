"""Scale-out on Dask: many files and partitioned DataFrames (the optional extra ``cuepipe[dask]``).

Migration jobs hold tens of millions of cue points in thousands of files; one process is too slow.
This module puts cuepipe's reader, writer and push behind the engine data engineers already run::

    import cuepipe.dask

    ddf = cuepipe.dask.read_xml("exports/*.xml.gz")              # lazy, one partition per file
    files = cuepipe.dask.write_xml(ddf, "out/", per="entry")      # one ingest document per entry
    result = cuepipe.dask.push(ddf, functools.partial(cuepipe.Client, url, partner_id=..., admin_secret=...),
                               journal_dir="journals/")           # addFromBulk, resumable per partition

Everything runs on whatever scheduler is active: a ``distributed.Client`` if one exists, else Dask's
local threads. Parsing and writing hold the GIL most of the time, so use processes (a
``distributed.LocalCluster`` or a real cluster) to get a speed-up.

Nested columns: ``optionalAnswers`` and ``customData`` hold lists of dicts (``object`` dtype). Dask
turns object columns into pyarrow strings by default (``dataframe.convert-string``), which would turn
those lists into their repr; :func:`read_xml` builds its graph with the conversion off. If you build
a Dask DataFrame of cue points yourself (``dd.from_pandas``, ``dd.read_parquet``), do it inside
``dask.config.set({"dataframe.convert-string": False})``.

Errors raised inside a partition come back as :class:`PartitionError`, naming the partition and the
record index within it, so a bad row among millions can be found.
"""

from __future__ import annotations

import hashlib
import os
import re
import warnings
from collections.abc import Callable, Sequence
from typing import Any, Literal, NamedTuple

try:  # absolute imports: this module is cuepipe.dask, the library is dask
    import dask
    import dask.dataframe as dd
    from fsspec.core import get_fs_token_paths  # type: ignore[import-untyped]  # fsspec ships no types
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("cuepipe.dask needs Dask: pip install 'cuepipe[dask]'") from exc

import numpy as np
import pandas as pd

from . import vocabulary as voc
from ._dask_grouping import (
    _PART,
    _POS,
    PartitionError,
    _grouped,
    _no_string_conversion,
    _tagged,
    group_by_entry,
)
from .client import RESULT_COLUMNS, Client
from .errors import CuepipeError
from .frames import NESTED_COLUMNS, empty_frame
from .frames import read_xml as _read_frame
from .sync.dask import copy, sync  # syncs and copies partitioned by entry (cuepipe/sync/dask.py)
from .xml import write_xml as _write_frame
from .xml._split import block_document
from .xml.reader import one_core

__all__ = ["PartitionError", "copy", "entry_file_name", "group_by_entry", "push", "read_xml", "sync", "write_xml"]

Kind = Literal["ingest", "serve"]
Unsupported = Literal["error", "ignore"]
Errors = Literal["raise", "collect"]

#: Extra result columns of :func:`push`: input partition, position within it, partition that pushed it.
PUSH_RESULT_COLUMNS: tuple[str, ...] = (*RESULT_COLUMNS, "partition", "position", "push_partition")

# Helper columns that carry each row's place in the input through a shuffle (dropped before output).


# ------------------------------------------------------------------------------------------------
# read
# ------------------------------------------------------------------------------------------------


class _Piece(NamedTuple):
    """What one read task reads: a whole file, or the cue points starting in one byte block of it."""

    fs: Any
    path: str
    partition: int
    block: int  # index of the block within the file (0 for a whole file)
    start: int  # block start offset (0 for a whole file)
    next_start: int | None  # start of the next block; None = to the end of the file


_SPLIT_HINT = (
    "; if the whole file reads with cuepipe.read_xml, a block boundary fell inside a comment, CDATA "
    "section or custom metadata that looks like a cue point start tag: read this file with "
    "blocksize=None (line numbers here count from the start of the block)"
)


def _read_piece(piece: _Piece) -> pd.DataFrame:
    """One partition of :func:`read_xml` (runs on a worker). Partitions already keep the cores
    busy, so each is read without the reader's own worker thread (``reader.one_core``)."""
    split = ""
    try:
        with piece.fs.open(piece.path, "rb") as f, one_core():
            if piece.next_start is None and piece.block == 0:
                return _read_frame(f)
            document = block_document(f, piece.block, piece.start, piece.next_start)
            if document == "whole":  # not splittable: the first block reads it all, the others are empty
                f.seek(0)
                return _read_frame(f)
            if document is None:
                return empty_frame()
            split = f" bytes {document.begin}-{document.stop}"
            return _read_frame(document.text)
    except CuepipeError as exc:
        record = getattr(exc, "record", None)
        message = f"{piece.path}{split}: {exc}" + (_SPLIT_HINT if split else "")
        raise PartitionError(message, piece.partition, record, path=piece.path, cause_type=type(exc).__name__) from None


def read_xml(
    paths_or_glob: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    blocksize: int | str | None = None,
    storage_options: dict[str, Any] | None = None,
) -> dd.DataFrame:
    """Ingest or serve documents -> a lazy Dask DataFrame with :func:`cuepipe.read_xml`'s columns and dtypes.

    ``paths_or_glob``: a path, a glob (``"exports/*.xml"``) or a list of paths; any fsspec URL works
    (``s3://...`` with ``storage_options``). Gzip is detected by content, as in :func:`cuepipe.read_xml`.
    Building the graph lists the files (globs) but opens none of them; the meta is
    :func:`cuepipe.empty_frame`, so no partition is computed to learn it. Each partition keeps the
    reader's 0-based index, so the index is not unique across partitions.

    ``blocksize=None``: one partition per file. ``blocksize="64MB"`` (or an int) splits larger
    uncompressed files into byte blocks, one partition each, the way ``dd.read_csv`` does; a block
    holds the cue points whose start tag begins in it, and each task reads only its own bytes (plus
    a short scan past its end) instead of parsing the file from the start. Boundaries are checked:
    a block that does not end between two top-level cue points is not well-formed XML and fails
    with :class:`PartitionError`, so a split never silently loses or duplicates a cue point. Gzip
    files (named ``.gz``, or detected when read) cannot be entered in the middle, so each stays one
    partition. The number of partitions is fixed when the graph is built, so ``blocksize`` needs the
    file sizes then (a ``stat``, not a read).
    """
    if isinstance(paths_or_glob, str | os.PathLike):
        urls: Any = os.fspath(paths_or_glob)
    else:
        urls = [os.fspath(p) for p in paths_or_glob]
        if not urls:
            raise ValueError("read_xml needs at least one path")
    fs, _, paths = get_fs_token_paths(urls, mode="rb", storage_options=storage_options or {})
    if not paths:
        raise FileNotFoundError(f"no files match {urls!r}")
    size_limit = None
    if blocksize is not None:
        size_limit = dask.utils.parse_bytes(blocksize) if isinstance(blocksize, str) else blocksize
        if isinstance(size_limit, bool) or not isinstance(size_limit, int) or size_limit < 1:
            raise ValueError(f"blocksize must be a positive number of bytes, not {blocksize!r}")
    pieces: list[_Piece] = []
    for path in paths:
        if size_limit is None or path.endswith(".gz"):
            pieces.append(_Piece(fs, path, len(pieces), 0, 0, None))
            continue
        size = fs.size(path)
        starts = list(range(0, max(size, 1), size_limit))
        for block, start in enumerate(starts):
            nxt = starts[block + 1] if block + 1 < len(starts) else None
            pieces.append(_Piece(fs, path, len(pieces), block, start, nxt))
    with _no_string_conversion():
        return dd.from_map(_read_piece, pieces, meta=empty_frame(), label="cuepipe-read-xml", enforce_metadata=False)


# ------------------------------------------------------------------------------------------------
# grouping by entry
# ------------------------------------------------------------------------------------------------


# ------------------------------------------------------------------------------------------------
# write
# ------------------------------------------------------------------------------------------------


_SAFE_NAME = re.compile(r"[a-z0-9_-]{1,100}")
_WINDOWS_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}


def entry_file_name(entry_id: str) -> str:
    """A file name for an entry's document that is safe on every file system and unique per entry id.

    Kaltura ids (``0_abc123``) are used as they are. Anything else (separators, ``..``, upper case,
    which collides on case-insensitive file systems, very long ids) becomes a cleaned prefix plus a
    hash of the id; the dot before the hash keeps the two forms from ever colliding.
    """
    if _SAFE_NAME.fullmatch(entry_id) and entry_id not in _WINDOWS_RESERVED:
        return f"{entry_id}.xml"
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "_", entry_id)[:80].strip("_-") or "entry"
    digest = hashlib.sha256(entry_id.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{cleaned}.{digest}.xml"


def _checked_name(name: Any, what: str) -> str:
    """A name_function result must be a plain file name: never a path out of the target directory."""
    if not isinstance(name, str) or not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name:
        raise ValueError(f"name_function gave {name!r} for {what}; it must return a plain file name")
    return name


def _default_partition_name(i: int) -> str:
    return f"part-{i:05d}.xml"


def _write_error(exc: CuepipeError, df: pd.DataFrame, partition: int, record: int | None, path: str) -> PartitionError:
    field = getattr(exc, "field", None)
    message = f"{os.path.basename(path)}: {getattr(exc, 'reason', str(exc))}"
    if field in NESTED_COLUMNS and field in df.columns and df[field].dtype != object:
        message += (
            f" (the column has dtype {df[field].dtype}: Dask's dataframe.convert-string turned the lists "
            "into text; build the DataFrame inside dask.config.set({'dataframe.convert-string': False}))"
        )
    return PartitionError(message, partition, record, field, path=path, cause_type=type(exc).__name__)


def _write_partition(df: pd.DataFrame, path: str, partition: int, kind: Kind, unsupported: Unsupported) -> str | None:
    """One partition -> one document (runs on a worker); empty partitions write nothing."""
    if len(df) == 0:
        return None
    try:
        _write_frame(df, path, kind=kind, unsupported=unsupported)
    except CuepipeError as exc:
        raise _write_error(exc, df, partition, getattr(exc, "record", None), path) from None
    return path


def _write_entries(
    df: pd.DataFrame, directory: str, kind: Kind, unsupported: Unsupported, name_function: Callable[[str], str]
) -> list[tuple[str, str]]:
    """One shuffled partition -> one document per entry in it (runs on a worker)."""
    written = []
    for entry, group in df.groupby("entryId", sort=False, dropna=False):
        path = os.path.join(directory, _checked_name(name_function(str(entry)), f"entry {entry!r}"))
        data = group.drop(columns=[_PART, _POS])
        try:
            _write_frame(data, path, kind=kind, unsupported=unsupported)
        except CuepipeError as exc:
            record = getattr(exc, "record", None)
            if isinstance(record, int) and 0 <= record < len(group):  # the row's place in the input
                partition, position = int(group[_PART].iloc[record]), int(group[_POS].iloc[record])
                raise _write_error(exc, data, partition, position, path) from None
            raise _write_error(exc, data, int(group[_PART].iloc[0]), None, path) from None
        written.append((str(entry), path))
    return written


def write_xml(
    ddf: dd.DataFrame,
    directory: str | os.PathLike[str],
    *,
    kind: Kind = "ingest",
    per: Literal["partition", "entry"] = "partition",
    unsupported: Unsupported = "error",
    name_function: Callable[[Any], str] | None = None,
) -> list[str]:
    """Write one valid document per partition or per entry, in parallel; return the paths written.

    ``per="partition"``: file ``name_function(i)`` (default ``part-00012.xml``) for partition ``i``;
    empty partitions write no file (an ingest document needs at least one cue point). Paths come
    back in partition order.

    ``per="entry"``: one file per ``entryId``, named ``name_function(entry_id)`` (default
    :func:`entry_file_name`), holding the entry's cue points in input order (parents stay before
    the children that name them). An entry may be spread over partitions, so this shuffles first
    (see :func:`group_by_entry` for the cost). Paths come back sorted.

    Every file is written atomically by :func:`cuepipe.write_xml` (a temporary file renamed on
    success), so a failed task leaves no partial file. ``directory`` must be reachable by every
    worker under the same path (a shared file system on a multi-machine cluster); end a name with
    ``.gz`` for gzip. A value the format cannot carry raises :class:`PartitionError` with the input
    partition and the record's position in it. Runs on the active scheduler when called.
    """
    if kind not in voc.KINDS:
        raise ValueError(f"kind must be 'ingest' or 'serve', not {kind!r}")
    if unsupported not in ("error", "ignore"):
        raise ValueError(f"unsupported must be 'error' or 'ignore', not {unsupported!r}")
    target = os.path.abspath(os.fspath(directory))
    os.makedirs(target, exist_ok=True)
    if per == "partition":
        names = [
            _checked_name((name_function or _default_partition_name)(i), f"partition {i}")
            for i in range(ddf.npartitions)
        ]
        if len(set(names)) != len(names):
            raise ValueError("name_function gave the same file name to two partitions")
        with _no_string_conversion():
            parts = ddf.to_delayed()
        tasks = [
            dask.delayed(_write_partition, pure=False)(part, os.path.join(target, name), i, kind, unsupported)
            for i, (part, name) in enumerate(zip(parts, names, strict=True))
        ]
        return [p for p in dask.compute(*tasks) if p is not None]
    if per == "entry":
        namer = name_function or entry_file_name
        with _no_string_conversion():
            parts = _grouped(ddf).to_delayed()
        tasks = [dask.delayed(_write_entries, pure=False)(part, target, kind, unsupported, namer) for part in parts]
        pairs = [pair for written in dask.compute(*tasks) for pair in written]
        paths = sorted(path for _, path in pairs)
        if len(set(paths)) != len(paths):
            seen: dict[str, str] = {}
            for entry, path in pairs:
                if path in seen:
                    raise ValueError(
                        f"name_function gave {os.path.basename(path)!r} to entries {seen[path]!r} and "
                        f"{entry!r}; one file overwrote the other"
                    )
                seen[path] = entry
        return paths
    raise ValueError(f"per must be 'partition' or 'entry', not {per!r}")


# ------------------------------------------------------------------------------------------------
# push
# ------------------------------------------------------------------------------------------------


def _result_meta() -> pd.DataFrame:
    data: dict[str, Any] = {c: pd.Series([], dtype="string") for c in RESULT_COLUMNS}
    for c in ("startTime", "upload", "partition", "position", "push_partition"):
        data[c] = pd.Series([], dtype="Int64")
    return pd.DataFrame(data, columns=list(PUSH_RESULT_COLUMNS))


#: Counters the client leaves in ``result.attrs``; :func:`push` sums them over the partitions.
_COUNTERS = ("uploads", "resumed", "recovered", "resent", "swept")


def _journal_path(journal_dir: str | None, push_partition: int) -> str | None:
    return None if journal_dir is None else os.path.join(journal_dir, f"part-{push_partition:05d}.sqlite")


def _with_places(result: pd.DataFrame, df: pd.DataFrame, push_partition: int) -> pd.DataFrame:
    """A client result (indexed by position in the pushed frame) -> indexed like the input, with places."""
    positions = result.index.to_numpy(dtype=np.int64)
    out = result.reset_index(drop=True)
    out.index = df.index[positions]
    out["partition"] = pd.array(df[_PART].to_numpy()[positions], dtype="Int64")
    out["position"] = pd.array(df[_POS].to_numpy()[positions], dtype="Int64")
    out["push_partition"] = pd.array([push_partition] * len(out), dtype="Int64")
    out = out[list(PUSH_RESULT_COLUMNS)]
    out.attrs = {k: int(v) for k, v in result.attrs.items() if k in _COUNTERS and isinstance(v, int | np.integer)}
    return out


def _push_partition(
    df: pd.DataFrame,
    push_partition: int,
    client_factory: Callable[[], Client],
    journal: str | None,
    options: dict[str, Any],
) -> pd.DataFrame:
    """Push one partition through its own client (runs on a worker)."""
    if len(df) == 0:
        return _result_meta()
    data = df.drop(columns=[_PART, _POS]).reset_index(drop=True)
    client = client_factory()
    if not isinstance(client, Client):
        raise TypeError(f"client_factory must return a cuepipe.Client, not {type(client).__name__}")
    kwargs = dict(options)
    if journal is not None:
        kwargs["journal"] = journal
    try:
        with client:
            result = client.push(data, **kwargs)
    except Exception as exc:
        rows = getattr(exc, "rows", None) or []
        row = getattr(exc, "record", None)
        if row is None and rows:
            row = rows[0]
        partition = position = None
        if isinstance(row, int | np.integer) and 0 <= row < len(df):
            partition, position = int(df[_PART].iloc[row]), int(df[_POS].iloc[row])
        partial = getattr(exc, "result", None)
        where = f"push partition {push_partition}" + (f" (journal {journal})" if journal else "")
        if row is not None:
            where += "; row numbers below count within that partition"
        raise PartitionError(
            f"{type(exc).__name__} in {where}: {exc}",
            partition,
            position,
            getattr(exc, "field", None),
            cause_type=type(exc).__name__,
            push_partition=push_partition,
            result=_with_places(partial, df, push_partition) if isinstance(partial, pd.DataFrame) else None,
        ) from None
    return _with_places(result, df, push_partition)


def _check_factory(client_factory: Any) -> None:
    if isinstance(client_factory, Client):
        raise TypeError(
            "pass a factory that makes a Client (e.g. functools.partial(cuepipe.Client, url, ...) or "
            "cuepipe.Client.from_env), not a Client: a client holds open sockets and cannot be "
            "shipped to workers"
        )
    if not callable(client_factory):
        raise TypeError(f"client_factory must be a zero-argument callable, not {type(client_factory).__name__}")
    import cloudpickle  # type: ignore[import-untyped]  # cloudpickle ships no types

    try:
        cloudpickle.dumps(client_factory)
    except Exception as exc:
        raise TypeError(f"client_factory must be picklable to reach the workers: {exc}") from exc


def push(
    ddf: dd.DataFrame,
    client_factory: Callable[[], Client],
    *,
    journal_dir: str | os.PathLike[str] | None = None,
    by_entry: bool = True,
    chunk_size: int = 500,
    service: str = "cuepoint",
    unsupported: Unsupported = "error",
    errors: Errors = "raise",
    detect_actions: bool = True,
    settle: float | None = None,
) -> pd.DataFrame:
    """Push every partition through ``addFromBulk`` in parallel; return the combined result (pandas).

    ``client_factory`` is a picklable zero-argument callable that returns a :class:`cuepipe.Client`,
    e.g. ``functools.partial(cuepipe.Client, url, partner_id=..., admin_secret=...)``: a client
    holds sockets and a session, which cannot be shipped to other processes, so each partition
    builds its own on its worker and closes it when done. (The partial carries the secret in the
    task graph; ``cuepipe.Client.from_env`` keeps it out if the workers have the environment.)

    ``by_entry=True`` (default) first shuffles so that each entry is in one partition, in input
    order (:func:`group_by_entry`): a push resolves ``parentSystemName`` and checks ``systemName``
    uniqueness only among the cue points it sends, so an entry split over partitions would leave
    children without their parents and let duplicates update each other. Pass ``by_entry=False``
    when each entry is already in one partition (e.g. one file per entry) to skip the shuffle;
    entries found in several partitions are then reported with a warning after the push.

    ``journal_dir``: each partition pushes with the journal ``<journal_dir>/part-00012.sqlite``
    (``Client.push(journal=...)``), so running the same push again after a crash, or Dask
    retrying a task whose worker died, resumes instead of sending twice. The journal needs a
    ``systemName`` on every cue point; keep the input and its partitioning the same between runs
    (the partition number names the journal, and a journal refuses different data with
    ``JournalMismatchError``), and put the directory where every worker can reach it.

    The push happens now, once, so the result is a pandas DataFrame rather than a lazy Dask one
    (computing a lazy result again would push again). It has one row per input row, in input order,
    indexed by the input's index, with :data:`cuepipe.client.RESULT_COLUMNS` plus ``partition`` and
    ``position`` (where the row sits in ``ddf``) and ``push_partition`` (which partition, hence
    which journal, sent it); ``result.attrs`` sums the client's counters (``uploads``, ``resumed``
    from journals, ``recovered``, ``resent``, ``swept``) and joins ``recoveries`` and
    ``unsettled_entries`` (see ``Client.push``; ``settle`` is passed to it). Size it at roughly 100
    bytes per cue point on the driver.

    ``errors="raise"``: the first failing partition stops the computation with
    :class:`PartitionError` (``.result`` holds that partition's rows so far); partitions that
    finished keep what they wrote, and their journals let a re-run skip them. ``"collect"``: failed
    uploads are rows with action ``failed``/``unknown`` and the push goes on.
    """
    _check_factory(client_factory)
    if errors not in ("raise", "collect"):
        raise ValueError(f"errors must be 'raise' or 'collect', not {errors!r}")
    if unsupported not in ("error", "ignore"):
        raise ValueError(f"unsupported must be 'error' or 'ignore', not {unsupported!r}")
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive integer, not {chunk_size!r}")
    journal_root = None
    if journal_dir is not None:
        journal_root = os.path.abspath(os.fspath(journal_dir))
        os.makedirs(journal_root, exist_ok=True)
    options = {
        "service": service,
        "chunk_size": chunk_size,
        "unsupported": unsupported,
        "errors": errors,
        "detect_actions": detect_actions,
        "settle": settle,
    }
    with _no_string_conversion():
        prepared = _grouped(ddf) if by_entry else _tagged(ddf)
        parts = prepared.to_delayed()
    tasks = [
        dask.delayed(_push_partition, pure=False)(part, i, client_factory, _journal_path(journal_root, i), options)
        for i, part in enumerate(parts)
    ]
    results = [r for r in dask.compute(*tasks) if len(r)]
    if not results:
        return _result_meta()
    totals = {k: sum(r.attrs.get(k, 0) for r in results) for k in _COUNTERS if any(k in r.attrs for r in results)}
    combined = pd.concat(results)
    if not by_entry:
        spread = combined.groupby("entryId", observed=True)["push_partition"].nunique()
        split = spread[spread > 1]
        if len(split):
            shown = ", ".join(map(str, split.index[:5])) + (f" and {len(split) - 5} more" if len(split) > 5 else "")
            warnings.warn(
                f"entries {shown} were pushed from several partitions: parentSystemName references and "
                "systemName checks did not span partitions; use by_entry=True",
                RuntimeWarning,
                stacklevel=2,
            )
    order = np.lexsort((combined["position"].to_numpy(dtype=np.int64), combined["partition"].to_numpy(dtype=np.int64)))
    combined = combined.iloc[order]
    totals["recoveries"] = [rec for r in results for rec in r.attrs.get("recoveries", [])]
    totals["unsettled_entries"] = sorted({e for r in results for e in r.attrs.get("unsettled_entries", [])})
    combined.attrs = totals
    return combined

"""pandas interop: records <-> DataFrames with documented columns and nullable dtypes; file formats.

Columns are the API field names from :data:`cuepipe.vocabulary.COLUMNS`, always all of them and in
that order, so every chunk of every file has the same schema. Dtypes: times and integers ``Int64``,
text ``string``, nested values (``optionalAnswers``, ``customData``) ``object`` holding lists of
dicts. CSV and Parquet carry the nested values as JSON text; JSON Lines carries them natively.
In CSV an empty cell means "missing": CSV cannot tell an empty string from no value, so use
Parquet or JSON Lines where that difference matters.
"""

from __future__ import annotations

import array
import contextlib
import functools
import gc
import gzip
import io
import itertools
import json
import os
import warnings
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, overload

import numpy as np
import pandas as pd
import pyarrow as pa

from . import coercion, tabular
from . import vocabulary as voc
from ._files import AtomicOutput
from .errors import CuePointValueError
from .values import PLAIN_SCALARS, is_missing_cell, plain
from .xml._source import MAX_RECORD_BYTES_ENV, Source, max_record_bytes
from .xml.reader import COLUMN_NAMES, iter_columns

NESTED_KINDS = ("answers", "custom")


def _dtype(field: voc.Field) -> str:
    if field.kind in ("time", "int"):
        return "Int64"
    if field.kind == "float":
        return "Float64"
    if field.kind == "enum" and field.enum is not None and issubclass(field.enum, int):
        return "Int64"
    if field.kind in NESTED_KINDS:
        return "object"
    return "string"


#: DataFrame dtype of every column.
DTYPES: dict[str, str] = {f.column: _dtype(f) for f in voc.COLUMNS}
NESTED_COLUMNS: tuple[str, ...] = tuple(f.column for f in voc.COLUMNS if f.kind in NESTED_KINDS)


def empty_frame() -> pd.DataFrame:
    """A zero-row DataFrame with every column and dtype (the ``meta`` for Dask)."""
    return pd.DataFrame({c: pd.Series([], dtype=d) for c, d in DTYPES.items()})


# large_string: pandas' ArrowStringArray converts any other string type to it (a copy of all the text)
_ARROW_TYPES = {"string": pa.large_string(), "Int64": pa.int64(), "Float64": pa.float64()}


_DEFAULT_CONVERTERS = dict(coercion.CONVERTERS)  # records take the Arrow fast path while these are in place


def _to_arrow(column: str, values: np.ndarray) -> Any:
    """Python values (None = missing) -> a compact Arrow array (nested columns stay Python objects)."""
    dtype = DTYPES[column]
    if dtype == "object":
        return values
    return pa.array(values, type=_ARROW_TYPES[dtype], from_pandas=True)


def _from_arrow(column: str, chunks: list[Any]) -> Any:
    """Arrow chunks of one column -> the column's pandas array."""
    dtype = DTYPES[column]
    if dtype == "object":
        return np.concatenate(chunks) if len(chunks) != 1 else chunks[0]
    if dtype == "string":
        return pd.arrays.ArrowStringArray(pa.chunked_array(chunks, type=pa.large_string()))
    # One copy of the values and one mask, both writable (Arrow buffers are read-only, and users edit
    # their frames: df.loc[i, "startTime"] = ...); missing values hold 0, as Arrow's fill_null(0) gives.
    # Copied chunk by chunk straight into them: concatenating the chunks first (pa.concat_arrays) is
    # one more copy, made in Arrow's memory pool, whose blocks of that size cost a chunked read of 1M
    # 4 MB more peak RSS (measured; mimalloc maps its memory in huge pages).
    n = sum(len(chunk) for chunk in chunks)
    numpy_type: Any = np.int64 if dtype == "Int64" else np.float64
    values = np.empty(n, dtype=numpy_type)
    mask = np.zeros(n, dtype=bool)
    at = 0
    for chunk in chunks:
        k = len(chunk)
        if not k:
            continue
        validity, data = chunk.buffers()
        if data is None:
            values[at : at + k] = 0
        else:
            values[at : at + k] = np.frombuffer(data, dtype=numpy_type, count=k, offset=chunk.offset * 8)
        if chunk.null_count:
            bits = np.frombuffer(validity, dtype=np.uint8)
            missing = mask[at : at + k]
            missing[:] = np.unpackbits(bits, count=chunk.offset + k, bitorder="little")[chunk.offset :] == 0
            values[at : at + k][missing] = 0
        at += k
    if dtype == "Int64":
        return pd.arrays.IntegerArray(values, mask)
    return pd.arrays.FloatingArray(values, mask)


@functools.cache
def _column_index(names: tuple[str, ...], dtype: Any) -> pd.Index:
    """The columns Index of every frame the reader builds, ``dtype`` being what pandas makes of
    strings (``str``): one Index, shared (an Index is immutable; pandas' own operations share them
    between frames too).

    Built over bytes of its own instead of by pandas from the names: pandas 3 makes a string Index in
    Arrow's memory pool, and a chunked read makes no other allocation there, so each frame's Index
    was what made the process start mimalloc, whose first pages are 2 MB huge pages: 4 MB more peak
    RSS for a 1M chunked read, for 27 short names (measured; tests/test_chunk_memory_pool.py checks
    the read leaves the pool alone and that this Index equals the one pandas builds)."""
    if not (isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"):
        return pd.Index(list(names))  # pandas 2 (or string inference off): an object Index
    encoded = [name.encode() for name in names]
    # int64 offsets packed by the standard library: numpy's cumsum is code a chunked read does not
    # otherwise run, and in a freshly installed environment its first run alone maps 2 MB of numpy
    offsets = array.array("q", [0, *itertools.accumulate(len(b) for b in encoded)])
    values = pa.Array.from_buffers(
        pa.large_string(), len(encoded), [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))]
    )
    try:
        strings = pd.arrays.ArrowStringArray(values, dtype=dtype)  # type: ignore[call-arg]  # (stubs lag)
    except TypeError:  # a pandas whose ArrowStringArray takes no dtype
        return pd.Index(list(names))
    return pd.Index(strings, copy=False)


def _columns() -> pd.Index:
    """The shared columns Index (made by the first read, not at import)."""
    return _column_index(tuple(DTYPES), pd.api.types.pandas_dtype("str"))


def _frame(chunks: dict[str, list[Any]]) -> pd.DataFrame:
    """The DataFrame of ``chunks`` (column -> its Arrow chunks), which it empties: each column's chunks
    are let go as soon as the column is built, so a copied column's chunks (Int64, Float64, nested)
    are not kept alongside their copy until the whole frame is done."""
    # Built under integer keys (an int64 Index in numpy's memory), then given the shared names
    # (_column_index): naming the columns directly would build a string Index per frame, and
    # columns= would build a second one and look every column up in it.
    frame = pd.DataFrame({i: _from_arrow(c, chunks.pop(c)) for i, c in enumerate(DTYPES)}, copy=False)
    frame.columns = _columns()
    return frame


def records_to_frame(records: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Records (dicts keyed by API field names) -> DataFrame with every column and its dtype.

    Values are converted as :mod:`cuepipe.coercion` documents (a list of tags is joined with commas,
    whole floats become integers); a value a column cannot take raises
    :class:`~cuepipe.errors.CuePointValueError` naming the record and field, never a changed value.
    """
    return _records_frame(records, strict=True)


def _records_frame(records: Iterable[Mapping[str, Any]], *, strict: bool) -> pd.DataFrame:
    """:func:`records_to_frame`; without ``strict``, fields that are not columns are left out.

    One pass over the records puts each value in its column's list (a record sets a handful of the
    27 columns, so this is a few steps per record instead of one per record and column)."""
    rows = records if isinstance(records, list) else list(records)
    n = len(rows)
    columns: dict[str, list[Any]] = {c: [None] * n for c in DTYPES}
    unknown: set[str] = set()
    for i, r in enumerate(rows):
        for k, v in r.items():
            column = columns.get(k)
            if column is None:
                unknown.add(k)
            else:
                column[i] = v
    if unknown and strict:
        raise KeyError(f"unknown fields {sorted(unknown)}; known fields: {', '.join(DTYPES)}")
    return _frame({c: [_records_column(c, np.fromiter(columns.pop(c), dtype=object, count=n))] for c in DTYPES})


_EXACT: dict[str, set[type]] = {"string": {str}, "Int64": {int}, "Float64": {int, float}}


def _records_column(column: str, values: np.ndarray) -> Any:
    """One column of records as an Arrow array (nested columns: a NumPy object array), checked."""
    dtype = DTYPES[column]
    if dtype != "object" and coercion.CONVERTERS[column] is _DEFAULT_CONVERTERS[column]:
        # fast path: values of exactly the column's Python type (no bools, no fractions) are taken as is
        kinds = set(map(type, values))
        kinds.discard(type(None))
        if kinds <= _EXACT[dtype]:
            try:
                return pa.array(values, type=_ARROW_TYPES[dtype], from_pandas=True)
            except (OverflowError, pa.ArrowInvalid):
                pass  # an integer beyond 64 bits: the checked path names it
    try:
        converted = coercion.convert_column(column, pd.Series(values, dtype=object))
    except coercion.ColumnValueError as exc:
        raise CuePointValueError(exc.reason, record=exc.row, field=column) from None
    if dtype == "object":
        return converted.to_numpy(dtype=object)
    return pa.array(converted, type=_ARROW_TYPES[dtype], from_pandas=True)


#: Rows turned into records at a time by :func:`frame_to_records`: the Python values of one block of
#: every column exist at once, not the whole frame's.
_RECORDS_BLOCK = 8192


def frame_to_records(df: pd.DataFrame) -> Iterator[dict[str, Any]]:
    """DataFrame rows -> records, leaving out missing values (NA means 'not set').

    A record holds its row's cells in column order, as plain Python values: NumPy numbers and bools
    become ``int``, ``float`` and ``bool``, arrays become lists, and lists and dicts are converted
    inside. None, NA, NaT and NaN are missing. Any dtype is accepted; rows come a block at a time.
    """
    # Built column by column, a block of rows at a time: a frame of cue points is mostly missing
    # cells (each type fills a few columns), and a cell-by-cell walk of 100k rows spent about 2 s
    # before a push's first upload, most of it on cells that are left out (tests/test_frame_to_records.py
    # holds that walk as the reference).
    columns = list(df.columns)
    n = len(df)
    if not columns:
        for _ in range(n):
            yield {}
        return
    for start in range(0, n, _RECORDS_BLOCK):
        block = df.iloc[start : start + _RECORDS_BLOCK]
        with _gc_paused():  # a block's dicts are new containers the collector need not walk
            records: list[dict[str, Any]] = [{} for _ in range(len(block))]
            for position, column in enumerate(columns):
                _fill_column(records, column, block.iloc[:, position])
        yield from records
        del records


def _fill_column(records: list[dict[str, Any]], column: Any, series: pd.Series) -> None:
    """Set ``column`` in the records of the rows where ``series`` has a value, as ``values.plain`` gives it."""
    dtype = series.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in _PLAIN_KINDS:
        cells = series.to_numpy()
        scalars = True
    elif isinstance(dtype, pd.StringDtype) or isinstance(series.array, _MASKED):
        cells = series.array.to_numpy(dtype=object)  # str / int / float / bool, and the dtype's NA
        scalars = True
    elif isinstance(dtype, np.dtype) and dtype.kind == "O":
        cells = series.to_numpy()
        scalars = False
    else:  # any other dtype: its cells as iterating the column gives them, each checked
        for record, value in zip(records, series, strict=True):
            if not is_missing_cell(value):
                record[column] = plain(value)
        return
    # pd.isna finds every cell is_missing finds (and a few more, re-checked below)
    missing = pd.isna(cells)
    values = cells.tolist()
    if scalars:  # Python scalars: is_missing is exactly pd.isna here, and plain leaves them as they are
        if not missing.any():
            for record, value in zip(records, values, strict=True):
                record[column] = value
        else:
            for i in np.flatnonzero(~missing).tolist():
                records[i][column] = values[i]
        return
    for i in np.flatnonzero(~missing).tolist():
        value = values[i]
        records[i][column] = value if type(value) in PLAIN_SCALARS else plain(value)
    for i in np.flatnonzero(missing).tolist():
        value = values[i]
        if value is not None and not is_missing_cell(
            value
        ):  # NaN of another float type, NumPy's NaT: values, as before
            records[i][column] = plain(value)


#: NumPy kinds whose cells ``tolist()`` turns into plain Python scalars: bool, signed, unsigned, float.
_PLAIN_KINDS = frozenset("biuf")
_MASKED = (pd.arrays.IntegerArray, pd.arrays.FloatingArray, pd.arrays.BooleanArray)


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a batch of rows is built.

    Reading allocates one list per cue point and keeps them all until the batch becomes a DataFrame;
    generation-2 collections would walk that growing heap again and again (about 15% of read time).
    Nothing built here forms reference cycles. Never held across a ``yield`` to user code.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class _ColumnChunks:
    """Runs of cue points from :func:`iter_columns`, each turned into compact Arrow arrays as it
    arrives (Python strings live for one run only), cut into DataFrames of the rows asked for."""

    def __init__(self) -> None:
        self.parts: list[tuple[int, list[Any]]] = []
        self.n = 0

    def add(self, columns: list[Any]) -> None:
        n = len(columns[0])
        self.parts.append(
            (
                n,
                [
                    _to_arrow(c, _as_values(c, v)) if isinstance(v, list) else v
                    for c, v in zip(COLUMN_NAMES, columns, strict=True)
                ],
            )
        )
        self.n += n

    def take(self, rows: int | None = None) -> pd.DataFrame:
        """A DataFrame of the first ``rows`` rows held (all of them when None)."""
        rows = self.n if rows is None else min(rows, self.n)
        if not rows:
            return empty_frame()
        taken: list[list[Any]] = []
        need = rows
        while need:
            n, arrays = self.parts[0]
            if n <= need:
                taken.append(arrays)
                self.parts.pop(0)
                need -= n
            else:
                taken.append([a[:need] for a in arrays])
                self.parts[0] = (n - need, [a[need:] for a in arrays])
                need = 0
        self.n -= rows
        columns = {c: [part[i] for part in taken] for i, c in enumerate(COLUMN_NAMES)}
        del taken  # the columns' lists are now the only references to the runs' arrays (see _frame)
        return _frame(columns)


def _as_values(column: str, values: list[Any]) -> Any:
    if DTYPES[column] == "object":
        return np.fromiter(values, dtype=object, count=len(values))
    return values


@overload
def read_xml(source: Source, *, chunksize: None = None) -> pd.DataFrame: ...
@overload
def read_xml(source: Source, *, chunksize: int) -> Iterator[pd.DataFrame]: ...
def read_xml(source: Source, *, chunksize: int | None = None) -> pd.DataFrame | Iterator[pd.DataFrame]:
    """Read an ingest or serve document into a DataFrame.

    With ``chunksize``, return an iterator of DataFrames of at most that many rows; memory then stays
    flat however large the document is. Accepts paths, bytes, binary file objects and gzip.
    """
    if chunksize is None:
        chunks = _ColumnChunks()
        with _gc_paused():
            for columns in iter_columns(source):
                chunks.add(columns)
            return chunks.take()
    if not isinstance(chunksize, int) or isinstance(chunksize, bool) or chunksize < 1:
        raise ValueError(f"chunksize must be a positive integer, not {chunksize!r}")
    return _chunks(source, chunksize)


def _chunks(source: Source, chunksize: int) -> Iterator[pd.DataFrame]:
    runs = iter_columns(source)
    chunks = _ColumnChunks()
    failure: Exception | None = None
    while failure is None:
        with _gc_paused():
            while chunks.n < chunksize:
                try:
                    columns = next(runs, None)
                except Exception as exc:  # deliver the cue points read before the bad one, then raise
                    failure = exc
                    break
                if columns is None:
                    break
                chunks.add(columns)
            frame = chunks.take(chunksize) if chunks.n else None
        if frame is None:
            break
        short = len(frame) < chunksize
        # not held here while the next frame is built: a caller that has let it go gets its memory back
        yield frame
        del frame
        if chunks.n == 0 and failure is None and short:
            return
    while chunks.n:
        yield chunks.take(chunksize)
    if failure is not None:
        raise failure


# ------------------------------------------------------------------------------------------------
# tabular files (CSV, Parquet, JSON Lines); used by the CLI
# ------------------------------------------------------------------------------------------------


def _encode_nested(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for c in NESTED_COLUMNS:
        if c in out.columns:
            out[c] = pd.array(
                [None if is_missing_cell(v) else json.dumps(plain(v), ensure_ascii=False) for v in out[c]],
                dtype="string",
            )
    return out


def conform(df: pd.DataFrame, where: str = "input", *, offset: int = 0) -> pd.DataFrame:
    """Check a DataFrame's columns against the vocabulary and give it every column with its dtype.

    Values are converted by :mod:`cuepipe.coercion` (documented conversions only); a value a column
    cannot take is a ``ValueError`` naming ``where``, the column and the row (``offset`` + position:
    a chunk's first row is ``offset``).
    """
    unknown = [c for c in df.columns if c not in DTYPES]
    if unknown:
        import difflib

        hints = []
        for c in unknown:
            close = difflib.get_close_matches(str(c), list(DTYPES), n=1)
            hints.append(f"{c!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise ValueError(f"{where}: unknown columns {', '.join(hints)}; known columns: {', '.join(DTYPES)}")
    if "cuePointType" not in df.columns:
        raise ValueError(f"{where}: the column 'cuePointType' is required")
    out = {}
    for column, dtype in DTYPES.items():
        if column not in df.columns:  # missing: NA, or None in nested columns (as read_xml and records give)
            missing = None if dtype == "object" else pd.NA
            out[column] = pd.Series([missing] * len(df), dtype=dtype if dtype != "object" else object, index=df.index)
            continue
        values = df[column]
        if column in tabular.TIME_COLUMNS:  # timecodes, durations with units, timedeltas (cuepipe/tabular.py)
            values = tabular.parse_time_column(values, column, where, first_row=offset)
        try:
            out[column] = coercion.convert_column(column, values)
        except coercion.ColumnValueError as exc:
            raise ValueError(f"{where}: column {column!r}, row {offset + exc.row}: {exc.reason}") from None
    return pd.DataFrame(out, index=df.index).reset_index(drop=True)


#: How much larger than its stored bytes a Parquet column chunk may decode to, once it is over the
#: per-cue-point bound. Real cue point tables compress a few times to a few dozen times.
PARQUET_MAX_EXPANSION = 100


def _check_parquet_expansion(metadata: Any, path: str) -> None:
    """Refuse a Parquet file whose column chunks would decode far beyond their stored size.

    A Parquet "bomb" is a value of gigabytes that compresses to kilobytes: pyarrow decodes a whole
    page at once, so reading it costs its expanded size whatever the batch size. The file's metadata
    gives each column chunk's stored and decoded size before anything is decoded. A chunk may always
    decode to :func:`~cuepipe.xml._source.max_record_bytes`; past that, to at most
    :data:`PARQUET_MAX_EXPANSION` times its stored size, so memory stays proportional to the file,
    never to what it claims to expand to.
    """
    limit = max_record_bytes()
    for g in range(metadata.num_row_groups):
        group = metadata.row_group(g)
        for c in range(group.num_columns):
            column = group.column(c)
            expanded, stored = int(column.total_uncompressed_size), int(column.total_compressed_size)
            if expanded > limit and expanded > PARQUET_MAX_EXPANSION * max(stored, 1):
                raise ValueError(
                    f"{path}: column {column.path_in_schema!r} of row group {g} would expand from {stored:,} to "
                    f"{expanded:,} bytes (more than {PARQUET_MAX_EXPANSION}x and over {limit:,}): refused to bound "
                    f"memory (a compression bomb?); set {MAX_RECORD_BYTES_ENV} to allow more"
                )


class _RowBudget(io.RawIOBase):
    """A table file that refuses to hand out an endless row (a compression bomb, a runaway field).

    pandas keeps an unfinished row (one enormous line, or a quoted field running over many lines)
    in memory until it ends. This counts the bytes read since the last line end, and for CSV since
    the last line end outside double quotes (quote parity, as RFC 4180 quoting has it); past
    :func:`~cuepipe.xml._source.max_record_bytes` for a line, or four times that for a quoted span
    (stray quotes in unquoted fields upset the parity, hence the margin), the read fails.
    """

    def __init__(self, raw: Any, path: str, *, csv: bool) -> None:
        self._raw = raw
        self._path = path
        self._csv = csv
        self._limit = max_record_bytes()
        self._line = 0  # bytes since the last line end
        self._span = 0  # bytes since the last line end outside quotes (CSV)
        self._quoted = False  # inside a quoted field at the end of what was read (CSV)
        self.total = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        n = self._raw.readinto(b) or 0
        if n:
            self._count(bytes(memoryview(b)[:n]))
        return n

    def _count(self, data: bytes) -> None:
        last_nl = data.rfind(b"\n")
        self._line = len(data) - last_nl - 1 if last_nl >= 0 else self._line + len(data)
        if self._csv:
            if not self._quoted and b'"' not in data:
                end = last_nl
            else:
                arr = np.frombuffer(data, dtype=np.uint8)
                parity = (np.cumsum(arr == 34) + self._quoted) & 1
                ends = np.flatnonzero((arr == 10) & (parity == 0))
                end = int(ends[-1]) if len(ends) else -1
                self._quoted = bool(parity[-1])
            self._span = len(data) - end - 1 if end >= 0 else self._span + len(data)
        self.total += len(data)
        if self._line > self._limit or self._span > 4 * self._limit:
            what = "line" if self._line > self._limit else "quoted field"
            raise ValueError(
                f"{self._path}: a {what} longer than {self._limit if what == 'line' else 4 * self._limit} bytes "
                f"(before byte {self.total} of the uncompressed file) is refused to bound memory (a compression "
                f"bomb?); set {MAX_RECORD_BYTES_ENV} to allow more"
            )


@contextlib.contextmanager
def _open_table(path: str, *, csv: bool) -> Iterator[io.BufferedReader]:
    """A table file as a bounded binary stream (gzip detected by its magic bytes, as for XML)."""
    raw = open(path, "rb")  # noqa: SIM115 - closed below
    try:
        gz = raw.read(2) == b"\x1f\x8b"
        raw.seek(0)
        source: Any = gzip.GzipFile(fileobj=raw, mode="rb") if gz else raw
        yield io.BufferedReader(_RowBudget(source, path, csv=csv), buffer_size=1 << 16)
    finally:
        raw.close()


def read_table(
    path: str | os.PathLike[str], *, chunksize: int | None = None, options: tabular.TableOptions | None = None
) -> Iterator[pd.DataFrame]:
    """Read a CSV, Parquet or JSON Lines file of cue points as DataFrames (one, or chunks).

    ``options`` renames columns and fills defaults before the columns are checked (cuepipe/tabular.py).
    """
    p = os.fspath(path)
    fmt = table_format(p)
    with contextlib.ExitStack() as stack:
        yield from _read_table(p, fmt, chunksize, stack, options)


def _read_table(
    p: str, fmt: str, chunksize: int | None, stack: contextlib.ExitStack, options: tabular.TableOptions | None
) -> Iterator[pd.DataFrame]:
    shape = options.apply if options is not None else (lambda df, where: df)  # renames and defaults first
    offset = 0  # rows before the chunk: errors name the row in the file, not in the chunk
    if fmt == "csv":
        # Everything as text first, so that conform() can name the column and row of a bad number;
        # keep_default_na=False: an empty cell is missing, but the text "NA" stays text.
        # index_col=False: a row with more fields than the header is an error, never a silent shift
        # of every column by one (pandas would take the first column as the index).
        try:
            stream = stack.enter_context(_open_table(p, csv=True))
            reader = pd.read_csv(
                stream,
                encoding="utf-8",
                dtype="string",
                chunksize=chunksize or 100_000,
                keep_default_na=False,
                na_values=[""],
                index_col=False,
            )
            while True:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always", pd.errors.ParserWarning)
                    chunk = next(reader, None)
                if any(issubclass(w.category, pd.errors.ParserWarning) for w in caught):
                    raise ValueError(f"{p}: a row has more fields than the header")
                if chunk is None:
                    return
                yield conform(shape(chunk, p), p, offset=offset)
                offset += len(chunk)
        except UnicodeDecodeError as exc:
            raise ValueError(
                f"{p}: not UTF-8 text (byte {exc.object[exc.start : exc.start + 1]!r} at offset {exc.start} of a block)"
            ) from None
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise ValueError(f"{p}: not a readable CSV file: {str(exc).strip()}") from None
    elif fmt == "parquet":
        import pyarrow.parquet as pq

        f = pq.ParquetFile(p)
        _check_parquet_expansion(f.metadata, p)
        for batch in f.iter_batches(batch_size=chunksize or 100_000):
            # Arrow types kept (types_mapper): a bool or list column reaches the checks as what it is
            chunk = batch.to_pandas(types_mapper=pd.ArrowDtype)
            yield conform(shape(chunk, p), p, offset=offset)
            offset += len(chunk)
    else:
        text: Any = io.TextIOWrapper(stack.enter_context(_open_table(p, csv=False)), encoding="utf-8")
        lines = pd.read_json(text, lines=True, chunksize=chunksize or 100_000, dtype=False, precise_float=True)
        for chunk in lines:
            yield conform(shape(chunk, p), p, offset=offset)
            offset += len(chunk)


def table_format(path: str) -> str:
    lower = path.lower()
    if lower.endswith(".csv") or lower.endswith(".csv.gz"):
        return "csv"
    if lower.endswith(".parquet") or lower.endswith(".pq"):
        return "parquet"
    if lower.endswith(".jsonl") or lower.endswith(".ndjson") or lower.endswith(".jsonl.gz"):
        return "jsonl"
    if lower.endswith(".xml") or lower.endswith(".xml.gz"):
        return "xml"
    raise ValueError(f"cannot tell the format of {path!r} from its extension; use .csv, .parquet, .jsonl or .xml")


class TableWriter:
    """Append DataFrames to a CSV, Parquet or JSON Lines file; written atomically on ``close``.

    A name ending in ``.gz`` is gzip-compressed (``.csv.gz``, ``.jsonl.gz``); Parquet compresses its
    own pages, so ``.parquet.gz`` is not a name cuepipe writes (nor reads).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self.format = table_format(self.path)
        if self.format == "xml":
            raise ValueError("use cuepipe.write_xml for XML output")
        self._out = AtomicOutput(self.path, compress=None if self.format != "parquet" else False)
        self._text: Any = None if self.format == "parquet" else self._out.text()
        self._pq_writer: Any = None
        self._first = True
        self.rows = 0

    def write(self, df: pd.DataFrame) -> None:
        df = df.reset_index(drop=True)
        if self.format == "csv":
            # CRLF line ends (RFC 4180) make the csv module quote fields holding a lone \r too.
            _encode_nested(df).to_csv(self._text, header=self._first, index=False, lineterminator="\r\n")
        elif self.format == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(_encode_nested(df), schema=_arrow_schema(), preserve_index=False)
            if self._pq_writer is None:
                self._pq_writer = pq.ParquetWriter(self._out.file, _arrow_schema())
            self._pq_writer.write_table(table)
        else:
            self._text.write("".join(json.dumps(rec, ensure_ascii=False) + "\n" for rec in frame_to_records(df)))
        self.rows += len(df)
        self._first = False

    def close(self) -> None:
        try:
            if self.format == "parquet":
                import pyarrow.parquet as pq

                if self._pq_writer is None:
                    pq.write_table(_arrow_schema().empty_table(), self._out.file)
                else:
                    self._pq_writer.close()
                    self._pq_writer = None
            elif self._first and self.format == "csv":
                empty_frame().to_csv(self._text, index=False, lineterminator="\r\n")
            if self._text is not None:
                self._text.flush()
                self._text.detach()
                self._text = None
        except BaseException:
            self.abort()
            raise
        self._out.commit()

    def abort(self) -> None:
        if self._pq_writer is not None:
            with contextlib.suppress(Exception):
                self._pq_writer.close()
            self._pq_writer = None
        self._out.abort()

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(self, exc_type: Any, *_: Any) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def _arrow_schema() -> Any:
    import pyarrow as pa

    types = {"Int64": pa.int64(), "Float64": pa.float64(), "string": pa.string(), "object": pa.string()}
    return pa.schema([(c, types[d]) for c, d in DTYPES.items()])

"""How values from tables and records become column values: the documented conversions, and nothing else.

Every column has one kind (see :data:`cuepipe.frames.DTYPES`); each kind has one function here that
takes a pandas Series of whatever dtype the source produced (CSV text, Parquet/Arrow types, JSON
values, Python objects in records) and returns the column's dtype, or raises
:class:`ColumnValueError` naming the first row that cannot be converted without changing its meaning.

Conversions (docs/format-notes.md, "Values from tables and records"):

* text columns take text only: a number or a boolean where text belongs (JSON ``"entryId": 123``,
  ``"text": true``, an integer Parquet column) is an error, not ``"123"``/``"True"``;
* ``tags`` takes comma-joined text or a list of tags (Python list, JSON array, Parquet
  ``list<string>``), joined with commas; a tag that is not text, is empty or holds a comma is an error;
* integer and time columns take integers, whole floats (``5.0``) and numeric text (``"1000"``);
  time columns also take durations (``timedelta``, ``pd.Timedelta``, Arrow ``duration``), as whole
  milliseconds. Booleans, fractions (``1.5``), dates and other text are errors;
* number columns take numbers and numeric text, never booleans;
* nested columns (``optionalAnswers``, ``customData``) take lists of dicts, or the same as JSON text.

Other modules add conversions by wrapping these functions (time columns: :func:`to_time_column`).
"""

from __future__ import annotations

import enum
import functools
import json
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from . import vocabulary as voc
from .values import is_missing_cell, plain, to_milliseconds


class ColumnValueError(ValueError):
    """A value a column cannot take. ``row`` is its 0-based position in the Series given."""

    def __init__(self, row: int, value: Any, reason: str) -> None:
        self.row = row
        self.value = value
        self.reason = reason
        super().__init__(f"row {row}: {reason}")


def _describe(value: Any) -> str:
    if isinstance(value, bool | np.bool_):
        return f"the boolean {bool(value)!r}"
    if isinstance(value, int | np.integer | float | np.floating):
        return f"the number {value!r}"
    if isinstance(value, str):
        return repr(value)
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 60 else text[:57] + '...'}"


_missing = is_missing_cell


def _first_non_missing(s: pd.Series) -> tuple[int, Any]:
    for i, v in enumerate(s):
        if not _missing(v):
            return i, v
    return -1, None


def _all_missing(s: pd.Series) -> bool:
    return bool(s.isna().all())


def _is_object(dtype: Any) -> bool:
    return isinstance(dtype, np.dtype) and dtype.kind == "O"


def _is_bool_dtype(dtype: Any) -> bool:
    return pd.api.types.is_bool_dtype(dtype)


def _arrow_type(s: pd.Series) -> Any:
    dtype = s.dtype
    return dtype.pyarrow_dtype if isinstance(dtype, pd.ArrowDtype) else None


# ------------------------------------------------------------------------------------------------
# text
# ------------------------------------------------------------------------------------------------


def to_text_column(s: pd.Series) -> pd.Series:
    """Text only: a non-text value is an error (never ``str(value)``)."""
    if isinstance(s.dtype, pd.StringDtype):
        return s.astype("string")  # pandas' default "str" dtype has NaN, not NA, for missing values
    at = _arrow_type(s)
    if at is not None and (pa.types.is_string(at) or pa.types.is_large_string(at)):
        return s.astype("string")
    if not _is_object(s.dtype):
        if _all_missing(s):
            return pd.Series(pd.NA, index=s.index, dtype="string")
        i, v = _first_non_missing(s)
        raise ColumnValueError(i, v, f"{_describe(v)} where text belongs (a {s.dtype} column)")
    for i, v in enumerate(s):
        if v.__class__ is not str and not isinstance(v, str) and not _missing(v):
            raise ColumnValueError(i, v, f"{_describe(v)} where text belongs")
    return s.astype("string")


def to_enum_text_column(enum_cls: type[enum.Enum], s: pd.Series) -> pd.Series:
    """Text, or for an enum whose values are digit strings (``AdType``: "1", "2"), the integer of a value."""
    if not _is_object(s.dtype) and not pd.api.types.is_integer_dtype(s.dtype):
        return to_text_column(s)
    values = {str(m.value) for m in enum_cls}
    out: list[Any] = []
    for i, v in enumerate(s):
        if _missing(v) or isinstance(v, str):
            out.append(None if _missing(v) else v)
        elif isinstance(v, int | np.integer) and not isinstance(v, bool | np.bool_) and str(int(v)) in values:
            out.append(str(int(v)))
        else:
            raise ColumnValueError(i, v, f"{_describe(v)} where text belongs")
    return pd.Series(pd.array(out, dtype="string"), index=s.index)


def _tag_list(i: int, value: Any) -> str:
    tags = value.tolist() if isinstance(value, np.ndarray) else list(value)
    for t in tags:
        if not isinstance(t, str):
            raise ColumnValueError(i, value, f"a list of tags holds {_describe(t)}; tags are text")
        if t == "":
            raise ColumnValueError(i, value, "a list of tags holds an empty tag; the server would drop it")
        if "," in t:
            raise ColumnValueError(i, value, f"tag {t!r} contains a comma, which the server uses to join tags")
    return ",".join(tags)


def to_tags_column(s: pd.Series) -> pd.Series:
    """Comma-joined text, or a list of tags per row (joined with commas)."""
    at = _arrow_type(s)
    if at is not None and (pa.types.is_list(at) or pa.types.is_large_list(at)):
        s = s.astype(object)
    if not _is_object(s.dtype):
        return to_text_column(s)
    out: list[Any] = []
    for i, v in enumerate(s):
        if isinstance(v, str):
            out.append(v)
        elif isinstance(v, list | tuple | np.ndarray):
            out.append(_tag_list(i, v))
        elif _missing(v):
            out.append(None)
        else:
            raise ColumnValueError(i, v, f"{_describe(v)} where tags belong (comma-joined text or a list of tags)")
    return pd.Series(pd.array(out, dtype="string"), index=s.index)


# ------------------------------------------------------------------------------------------------
# numbers
# ------------------------------------------------------------------------------------------------


def _in_range(i: int, value: Any, n: int) -> int:
    if not -(2**63) <= n < 2**63:
        raise ColumnValueError(
            i, value, f"{_describe(value)} is not an integer a column can hold (beyond the 64-bit integer range)"
        )
    return n


def _whole(i: int, value: Any, f: float) -> int:
    if not math.isfinite(f) or f != int(f):
        raise ColumnValueError(i, value, f"{_describe(value)} is not a whole number")
    return _in_range(i, value, int(f))


def _integer_value(i: int, v: Any) -> int:
    if isinstance(v, bool | np.bool_):
        raise ColumnValueError(i, v, f"{_describe(v)} where an integer belongs")
    if isinstance(v, int | np.integer):
        return _in_range(i, v, int(v))
    if isinstance(v, float | np.floating):
        return _whole(i, v, float(v))
    if isinstance(v, str):
        text = v.strip()
        try:
            n = int(text)  # exact, however many digits
        except ValueError:
            pass
        else:
            return _in_range(i, v, n)
        try:
            return _whole(i, v, float(text))
        except ValueError:
            pass
    raise ColumnValueError(i, v, f"{_describe(v)} is not an integer")


def to_integer_column(s: pd.Series) -> pd.Series:
    """Integers, whole floats and numeric text -> Int64; booleans and fractions are errors."""
    dtype = s.dtype
    if _is_bool_dtype(dtype):
        if _all_missing(s):
            return pd.Series(pd.NA, index=s.index, dtype="Int64")
        i, v = _first_non_missing(s)
        raise ColumnValueError(i, v, f"{_describe(v)} where an integer belongs (a {dtype} column)")
    if pd.api.types.is_integer_dtype(dtype):
        try:
            return s.astype("Int64")
        except (TypeError, ValueError, OverflowError):  # uint64 beyond int64
            pass
    elif pd.api.types.is_float_dtype(dtype):
        values = s.dropna().to_numpy(dtype=np.float64)
        if bool((np.isfinite(values) & (values == np.trunc(values)) & (np.abs(values) < 2.0**63)).all()):
            return s.astype("Int64")
    elif not (_is_object(dtype) or isinstance(dtype, pd.StringDtype) or _arrow_type(s) is not None) and not (
        _all_missing(s)
    ):  # dates, categories...
        i, v = _first_non_missing(s)
        raise ColumnValueError(i, v, f"{_describe(v)} where an integer belongs (a {dtype} column)")
    if isinstance(dtype, pd.StringDtype):  # CSV: parse the column at once; the loop below names a bad row
        try:
            parsed = pd.to_numeric(s, errors="raise")
        except (TypeError, ValueError, OverflowError):
            parsed = None
        if parsed is not None and (
            pd.api.types.is_integer_dtype(parsed.dtype) or pd.api.types.is_float_dtype(parsed.dtype)
        ):
            try:
                return to_integer_column(parsed)
            except ColumnValueError:
                pass
    out = [None if _missing(v) else _integer_value(i, v) for i, v in enumerate(s)]
    return pd.Series(pd.array(out, dtype="Int64"), index=s.index)


def _duration_ms(i: int, value: Any) -> int:
    try:
        return to_milliseconds(value)
    except (TypeError, ValueError) as exc:
        raise ColumnValueError(i, value, str(exc)) from None


def to_time_column(s: pd.Series) -> pd.Series:
    """Integer milliseconds (as :func:`to_integer_column`), or durations as whole milliseconds."""
    dtype = s.dtype
    at = _arrow_type(s)
    if pd.api.types.is_timedelta64_dtype(dtype) or (at is not None and pa.types.is_duration(at)):
        out = [None if _missing(v) else _duration_ms(i, v) for i, v in enumerate(s)]
        return pd.Series(pd.array(out, dtype="Int64"), index=s.index)
    if _is_object(dtype):
        out = []
        for i, v in enumerate(s):
            if _missing(v):
                out.append(None)
            elif isinstance(v, pd.Timedelta | np.timedelta64) or type(v).__name__ == "timedelta":
                out.append(_duration_ms(i, v))
            else:
                out.append(_integer_value(i, v))
        return pd.Series(pd.array(out, dtype="Int64"), index=s.index)
    return to_integer_column(s)


def to_number_column(s: pd.Series) -> pd.Series:
    """Numbers and numeric text -> Float64; booleans are errors."""
    dtype = s.dtype
    if _is_bool_dtype(dtype):
        if _all_missing(s):
            return pd.Series(pd.NA, index=s.index, dtype="Float64")
        i, v = _first_non_missing(s)
        raise ColumnValueError(i, v, f"{_describe(v)} where a number belongs (a {dtype} column)")
    if pd.api.types.is_numeric_dtype(dtype):
        return s.astype("Float64")
    out: list[float | None] = []
    for i, v in enumerate(s):
        if _missing(v):
            out.append(None)
        elif isinstance(v, bool | np.bool_):
            raise ColumnValueError(i, v, f"{_describe(v)} where a number belongs")
        elif isinstance(v, int | float | np.integer | np.floating):
            out.append(float(v))
        elif isinstance(v, str):
            try:
                out.append(float(v.strip()))
            except ValueError:
                raise ColumnValueError(i, v, f"{_describe(v)} is not a number") from None
        else:
            raise ColumnValueError(i, v, f"{_describe(v)} is not a number")
    return pd.Series(pd.array(out, dtype="Float64"), index=s.index)


# ------------------------------------------------------------------------------------------------
# nested values
# ------------------------------------------------------------------------------------------------


def _plain(v: Any) -> Any:
    return plain(v, tuple_as_list=True)


def to_nested_column(s: pd.Series) -> pd.Series:
    """Lists of dicts (or JSON text of one) -> an object column of Python lists; anything else is an error."""
    out = np.empty(len(s), dtype=object)
    for i, v in enumerate(s if _is_object(s.dtype) else s.astype(object)):
        if _missing(v) or (isinstance(v, str) and v == ""):
            out[i] = None
            continue
        if isinstance(v, str):
            try:
                v = json.loads(v)
            except json.JSONDecodeError as exc:
                raise ColumnValueError(i, v, f"not valid JSON ({exc})") from None
        if not isinstance(v, list | tuple | np.ndarray):
            raise ColumnValueError(i, v, f"{_describe(v)} where a list of dicts belongs")
        items = _plain(v)
        for item in items:
            if not isinstance(item, dict):
                raise ColumnValueError(i, v, f"a list holds {_describe(item)} where a dict belongs")
        out[i] = items
    return pd.Series(out, index=s.index, dtype=object)


# ------------------------------------------------------------------------------------------------
# per column
# ------------------------------------------------------------------------------------------------

Converter = Callable[[pd.Series], pd.Series]


def _converter(field: voc.Field) -> Converter:
    if field.kind == "time":
        return to_time_column
    if field.kind == "int" or (field.kind == "enum" and field.enum is not None and issubclass(field.enum, int)):
        return to_integer_column
    if field.kind == "float":
        return to_number_column
    if field.kind == "tags":
        return to_tags_column
    if field.kind in ("answers", "custom"):
        return to_nested_column
    if field.kind == "enum" and field.enum is not None and all(str(m.value).isdigit() for m in field.enum):
        return functools.partial(to_enum_text_column, field.enum)
    return to_text_column


#: column -> the function that converts it (wrap an entry to add a conversion for that column)
CONVERTERS: dict[str, Converter] = {f.column: _converter(f) for f in voc.COLUMNS}


def convert_column(column: str, s: pd.Series) -> pd.Series:
    """Convert one column by its kind (the functions above); raises :class:`ColumnValueError`."""
    return CONVERTERS[column](s)

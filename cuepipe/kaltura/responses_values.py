"""Typed results shared by many actions: list pages, counts, void, a KS; and the checks that turn a
JSON value into an int, an optional string or an enum member (keeping unknown values as they came,
so a newer server's value is not an error).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from .errors import KalturaResponseError

T = TypeVar("T")
E = TypeVar("E", bound=enum.Enum)


@dataclass(frozen=True, slots=True)
class ListPage(Generic[T]):
    """One page of a list response: the objects and the total across all pages."""

    objects: list[T]
    total_count: int
    object_type: str = ""


def _expect_object(data: Any, what: str) -> Mapping[str, Any]:
    if type(data) is dict:  # what JSON decodes to: skip the ABC check (once per object of a list)
        return data
    if not isinstance(data, Mapping):
        raise KalturaResponseError(f"expected a {what} object, got {type(data).__name__}")
    return data


def _to_int(value: Any, what: str) -> int:
    if isinstance(value, bool):
        raise KalturaResponseError(f"expected an integer {what}, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    raise KalturaResponseError(f"expected an integer {what}, got {value!r}")


def _opt_int(value: Any, what: str) -> int | None:
    return None if value is None or value == "" else _to_int(value, what)


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _enum_or_raw(cls: type[E], value: Any) -> E | Any:
    if value is None:
        return None
    for candidate in (value, str(value)) if issubclass(cls, str) else (value,):
        try:
            return cls(candidate)
        except ValueError:
            pass
    if issubclass(cls, int) and isinstance(value, str) and re.fullmatch(r"-?\d+", value):
        try:
            return cls(int(value))
        except ValueError:
            pass
    return value


def decode_list(data: Any, item: Callable[[Any], T] | None = None) -> ListPage[T]:
    """A ``...ListResponse``: ``objects`` (absent when empty) and ``totalCount``."""
    obj = _expect_object(data, "list response")
    raw = obj.get("objects") or []
    if not isinstance(raw, list):
        raise KalturaResponseError(f"list response 'objects' is {type(raw).__name__}, not a list")
    objects = [item(x) for x in raw] if item is not None else list(raw)
    total = _to_int(obj.get("totalCount", len(objects)), "totalCount")
    return ListPage(objects=objects, total_count=total, object_type=str(obj.get("objectType", "")))


def decode_count(data: Any) -> int:
    """A bare integer result (``count``, ``updateBulkUploadResults``)."""
    return _to_int(data, "result")


def decode_void(data: Any) -> None:
    """A void action's result: JSON ``null`` (docs/kaltura-api.md#json-responses)."""
    if data not in (None, "", {}, []):
        raise KalturaResponseError(f"expected no result, got {type(data).__name__}")


def decode_ks(data: Any) -> str:
    """``session.start``'s result: the KS string."""
    if not isinstance(data, str) or not data.strip():
        raise KalturaResponseError(f"expected a KS string, got {type(data).__name__}")
    return data.strip()


# JSON scalars: values that need no conversion (checked without an ABC lookup)
_SCALAR_TYPES = frozenset((str, int, float, bool, type(None)))


def _plain(value: Any) -> Any:
    if type(value) in _SCALAR_TYPES:
        return value
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items() if k != "objectType"}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def decode_key_value_counts(data: Any) -> dict[str, int]:
    """``countBulkUploadEntries``: a ``KalturaKeyValue`` array -> ``{"created": n, "error": m}``."""
    items: Iterable[Any]
    if isinstance(data, Mapping) and isinstance(data.get("objects"), list):
        items = data["objects"]
    elif isinstance(data, list):
        items = data
    else:
        raise KalturaResponseError(f"expected a key/value array, got {type(data).__name__}")
    out: dict[str, int] = {}
    for item in items:
        if not isinstance(item, Mapping) or "key" not in item:
            raise KalturaResponseError("key/value array item without a key")
        out[str(item["key"])] = _to_int(item.get("value", 0), f"value of {item['key']!r}")
    return out

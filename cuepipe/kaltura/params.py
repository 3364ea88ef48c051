"""Turn nested request parameters into the flat form the Kaltura server parses, and back.

The server accepts three body encodings (docs/kaltura-api.md#body-encodings). The flat one is PHP bracket syntax::

    filter[objectType]=KalturaAnnotationFilter
    filter[advancedSearch][items][0][field]=...
    filter[tagsLike__null]=            # explicit null (docs/kaltura-api.md#parameter-values)
    pluginDataArray[-]=                # empty array

:func:`flatten` produces it, :func:`unflatten` reads it back (the emulator's view of a request),
:func:`nest` builds the JSON-body form (nested objects, lists, every scalar a string, nulls still
spelled ``x__null`` like the official client). Values are encoded by :func:`encode_scalar`:
booleans as ``"1"``/``"0"`` (the server casts ``"0"`` to false and accepts both for int enums),
enums by value, aware datetimes as unix seconds.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any, Protocol, runtime_checkable

from .errors import KalturaParamError, KalturaParamTypeError

NULL_SUFFIX = "__null"
EMPTY_ARRAY_KEY = "-"


class _Null:
    """The explicit-null marker: a field set to :data:`NULL` is sent as ``field__null=``."""

    _instance: _Null | None = None

    def __new__(cls) -> _Null:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NULL"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "NULL"


#: Send this as a value to clear a field on the server (``field__null``). ``None`` also means null
#: in :func:`flatten`; typed objects use ``None`` for "not set" and need :data:`NULL` instead.
NULL = _Null()


@runtime_checkable
class WireObject(Protocol):
    """Anything that knows its nested wire form (typed filters, pagers, search items)."""

    def to_dict(self) -> dict[str, Any]: ...


def encode_scalar(value: Any) -> str:
    """One parameter value as the server reads it (docs/kaltura-api.md#parameter-values)."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, enum.Enum):
        return encode_scalar(value.value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise KalturaParamError(f"cannot send the non-finite number {value!r}")
        return repr(value)
    if isinstance(value, str):
        return value
    if isinstance(value, dt.datetime):
        return str(unix_seconds(value))
    raise KalturaParamTypeError(
        f"cannot send a {type(value).__name__} as a Kaltura parameter; use str, int, float, bool, an enum, "
        "an aware datetime, a mapping or a list"
    )


def unix_seconds(value: dt.datetime) -> int:
    """Whole unix seconds of an aware datetime; naive datetimes are refused (they would mean local time)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise KalturaParamError(
            f"naive datetime {value.isoformat()} is ambiguous; give it a timezone, e.g. tzinfo=datetime.UTC"
        )
    return math.floor(value.timestamp())


_NAME = re.compile(r"[^\[\]:]+")


def _check_key(key: str) -> str:
    key = str(key)
    if not _NAME.fullmatch(key):
        raise KalturaParamError(
            f"parameter name {key!r} must be non-empty, without '[', ']' or ':' (the server splits on them)"
        )
    return key


def null_key(key: str) -> str:
    """``filter[tagsLike]`` -> ``filter[tagsLike__null]``; ``x`` -> ``x__null``."""
    if key.endswith("]"):
        return key[:-1] + NULL_SUFFIX + "]"
    return key + NULL_SUFFIX


def flatten(params: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Flatten nested params into bracket-syntax keys with string values, in insertion order.

    ``None`` and :data:`NULL` become ``key__null=""``; mappings and :class:`WireObject` recurse;
    lists and tuples are indexed from 0, an empty one is ``key[-]=""``.
    """
    out: dict[str, str] = {}
    for key, value in params.items():
        name = _check_key(key)
        _flatten_into(out, f"{prefix}[{name}]" if prefix else name, value)
    return out


def _flatten_into(out: dict[str, str], key: str, value: Any) -> None:
    if value is None or value is NULL:
        out[null_key(key)] = ""
    elif isinstance(value, WireObject) and not isinstance(value, Mapping):
        _flatten_mapping(out, key, value.to_dict())
    elif isinstance(value, Mapping):
        _flatten_mapping(out, key, value)
    elif isinstance(value, list | tuple):
        if not value:
            out[f"{key}[{EMPTY_ARRAY_KEY}]"] = ""
        for index, item in enumerate(value):
            _flatten_into(out, f"{key}[{index}]", item)
    else:
        out[key] = encode_scalar(value)


def _flatten_mapping(out: dict[str, str], key: str, value: Mapping[str, Any]) -> None:
    for sub, item in value.items():
        _flatten_into(out, f"{key}[{_check_key(sub)}]", item)


_FLAT_KEY = re.compile(r"([^\[\]]+)((?:\[[^\[\]]*\])*)")


def split_key(key: str) -> list[str]:
    """The path of a flat key: ``a[b][0]`` and the legacy ``a:b:0`` both give ``['a', 'b', '0']``."""
    match = _FLAT_KEY.fullmatch(key)
    if match is None:
        raise KalturaParamError(f"malformed parameter name {key!r}")
    head, brackets = match.groups()
    parts = head.split(":")
    parts.extend(re.findall(r"\[([^\[\]]*)\]", brackets))
    return parts


def unflatten(params: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Rebuild nested params from flat ones, the way the server's deserializer sees them.

    ``x__null`` becomes ``x: None``; ``x[-]`` an empty list; a mapping whose keys are all integers
    becomes a list ordered by key (the server ``ksort``s them).
    """
    return _listify(_build(params, decode_markers=True))


def nest(params: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, Any]:
    """The JSON-body form of flat params (docs/kaltura-api.md#body-encodings): nested objects and lists of strings.

    Markers stay as the official client sends them in JSON: ``"x__null": ""`` and ``{"-": ""}``.
    """
    return _listify(_build(params, decode_markers=False))


def _build(params: Mapping[str, str] | Iterable[tuple[str, str]], *, decode_markers: bool) -> dict[str, Any]:
    items = params.items() if isinstance(params, Mapping) else params
    root: dict[str, Any] = {}
    for key, value in items:
        path = split_key(key)
        node = root
        for part in path[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        last = path[-1]
        if decode_markers and last.endswith(NULL_SUFFIX) and len(last) > len(NULL_SUFFIX):
            node[last[: -len(NULL_SUFFIX)]] = None
        elif decode_markers and last == EMPTY_ARRAY_KEY:
            node.clear()
            node[EMPTY_ARRAY_KEY] = _EMPTY_LIST
        else:
            node[last] = value
    return root


class _EmptyList:
    """Placeholder for ``x[-]`` while building; replaced by ``[]`` in :func:`_listify`."""


_EMPTY_LIST = _EmptyList()


def _listify(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    if len(node) == 1 and node.get(EMPTY_ARRAY_KEY) is _EMPTY_LIST:
        return []
    converted = {key: _listify(value) for key, value in node.items()}
    if converted and all(re.fullmatch(r"-?\d+", key) for key in converted):
        return [converted[key] for key in sorted(converted, key=int)]
    return converted

"""Typed, immutable Kaltura request objects declared as field tables.

A subclass of :class:`KalturaObject` lists its own fields in ``FIELDS`` (a tuple of :class:`Prop`)
and inherits its parent's, mirroring the server's class hierarchy (docs/kaltura-api.md#filters-and-paging). The
constructor takes each field in Kaltura spelling (``entryIdEqual``) or snake_case (``entry_id_equal``), checks and
normalises the value once, and rejects anything the server would silently ignore or misread: an unknown field (the
server drops unknown properties, #parameter-values), a value of the wrong type, an invalid
``orderBy`` (dropped too, ``KalturaFilter::toObject``), an abstract class (``OBJECT_TYPE_ABSTRACT``).

Value kinds and how they reach the wire:

=========  =====================================================================================
str        text, as is
text       text, or a number sent as its decimal text (search condition values)
int        integer; ``min``/``max`` bounds where the server clamps
float      number
bool       ``True``/``False`` -> ``1``/``0``
time       unix seconds: int, aware ``datetime``, or ``timedelta`` = relative to now (#parameter-values)
ms         integer milliseconds, or ``timedelta`` (rounded to the millisecond)
enum       member of ``Prop.enum`` or its raw value; NullableBoolean also takes ``True``/``False``
ids        comma-joined list: a string as given, or an iterable of str/int items
enum_ids   comma-joined list of members of ``Prop.enum``
order      ``orderBy``: comma-joined values from the owner class's ``ORDER_BY``
object     a :class:`KalturaObject` of class ``Prop.item``
objects    a list of :class:`KalturaObject` of class ``Prop.item``
strings    a list of str sent as ``KalturaString`` objects (``{"value": ...}``)
=========  =====================================================================================

``None`` means "not set" (the field is omitted); :data:`~cuepipe.kaltura.params.NULL` sends an
explicit null (``field__null``).
"""

from __future__ import annotations

import datetime as dt
import difflib
import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Self

from .errors import KalturaParamError, KalturaParamTypeError
from .params import NULL, flatten, unix_seconds
from .redact import MASK, is_secret_key

Kind = Literal[
    "str",
    "text",
    "int",
    "float",
    "bool",
    "time",
    "ms",
    "enum",
    "ids",
    "enum_ids",
    "order",
    "object",
    "objects",
    "strings",
]

#: |v| at or below this many seconds is read by the server as relative to now (``max_relative_time``).
MAX_RELATIVE_TIME = 315_360_000


@dataclass(frozen=True, slots=True)
class Prop:
    """One field of a Kaltura object: its wire name, value kind and constraints."""

    name: str
    kind: Kind = "str"
    enum: type[enum.Enum] | None = None
    item: type[KalturaObject] | None = None
    alias: str | None = None  # an extra accepted Python name (``not_`` for ``not``)
    min: int | None = None
    max: int | None = None
    doc: str = ""

    @property
    def snake(self) -> str:
        return snake_case(self.name)


def snake_case(name: str) -> str:
    """``createdAtGreaterThanOrEqual`` -> ``created_at_greater_than_or_equal``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def props(*rows: tuple[Any, ...]) -> tuple[Prop, ...]:
    """Expand compact table rows into :class:`Prop` values.

    A row is ``(stem, kind, suffixes[, enum])``: one field per suffix, ``stem + suffix``. A suffix
    ``"In"`` turns the kind into a list kind (``ids``, or ``enum_ids`` when an enum is given).
    """
    out: list[Prop] = []
    for row in rows:
        stem, kind, suffixes, *rest = row
        enum_cls = rest[0] if rest else None
        for suffix in suffixes:
            field_kind = kind
            if suffix == "In":
                field_kind = "enum_ids" if enum_cls is not None else "ids"
            out.append(Prop(stem + suffix, field_kind, enum=enum_cls))
    return tuple(out)


class KalturaObject:
    """Base of typed request objects. Immutable; equal when class and values are equal."""

    OBJECT_TYPE: ClassVar[str] = ""
    #: The server refuses this class itself (``OBJECT_TYPE_ABSTRACT``); only subclasses can be built.
    ABSTRACT: ClassVar[bool] = True
    FIELDS: ClassVar[tuple[Prop, ...]] = ()
    #: Valid ``orderBy`` values, for classes with an ``order`` field.
    ORDER_BY: ClassVar[tuple[str, ...]] = ()

    _props: ClassVar[dict[str, Prop]] = {}
    _names: ClassVar[dict[str, str]] = {}

    __slots__ = ("_values",)
    _values: dict[str, Any]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "OBJECT_TYPE" not in cls.__dict__:
            cls.OBJECT_TYPE = cls.__name__
        if "ABSTRACT" not in cls.__dict__:
            cls.ABSTRACT = False
        merged = dict(cls._props)
        for prop in cls.__dict__.get("FIELDS", ()):
            if prop.name in merged:
                raise TypeError(f"{cls.__name__} redeclares inherited field {prop.name!r}")
            merged[prop.name] = prop
        cls._props = merged
        names: dict[str, str] = {}
        for prop in merged.values():
            names[prop.name] = prop.name
            names.setdefault(prop.snake, prop.name)
            if prop.alias:
                names[prop.alias] = prop.name
        cls._names = names

    def __init__(self, **fields: Any) -> None:
        cls = type(self)
        if cls.ABSTRACT:
            concrete = ", ".join(sorted(c.__name__ for c in _concrete_subclasses(cls))) or "none defined"
            raise KalturaParamTypeError(
                f"{cls.__name__} is abstract on the server (OBJECT_TYPE_ABSTRACT); use one of: {concrete}"
            )
        values: dict[str, Any] = {}
        for key, value in fields.items():
            name = cls.field_name(key)
            if name in values:
                raise KalturaParamError(f"{cls.__name__}: field {name!r} given twice (as {key!r} too)")
            if value is None:
                continue
            prop = cls._props[name]
            values[name] = NULL if value is NULL else _coerce(cls, prop, value)
        ordered = {name: values[name] for name in cls._props if name in values}
        object.__setattr__(self, "_values", ordered)
        self._check()

    def _check(self) -> None:
        """Cross-field validation hook for subclasses."""

    @classmethod
    def field_name(cls, key: str) -> str:
        """The wire name for ``key`` (Kaltura or snake_case spelling), or an error naming the nearest."""
        name = cls._names.get(key)
        if name is not None:
            return name
        snake_style = "_" in key or key.islower()
        shown: list[str] = []
        for candidate in nearest(key, list(cls._names)):
            wire = cls._names[candidate]
            label = cls._props[wire].snake if snake_style else wire
            if label not in shown:
                shown.append(label)
        if shown:
            hint = f"; did you mean {' or '.join(repr(s) for s in shown)}?"
        else:
            hint = f". Valid fields: {', '.join(cls._props) or '(none)'}"
        raise KalturaParamError(f"{cls.__name__} has no field {key!r}{hint}")

    @classmethod
    def fields(cls) -> tuple[str, ...]:
        """Every field's wire name, base class fields first."""
        return tuple(cls._props)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            wire = type(self).field_name(name)
        except KalturaParamError as exc:
            raise AttributeError(str(exc)) from None
        return self._values.get(wire)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable; use .replace({name}=...)")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def values(self) -> dict[str, Any]:
        """The set fields by wire name, in declaration order (normalised Python values)."""
        return dict(self._values)

    def replace(self, **changes: Any) -> Self:
        """A copy with some fields changed; ``None`` removes a field."""
        merged: dict[str, Any] = dict(self._values)
        for key, value in changes.items():
            merged[type(self).field_name(key)] = value
        return type(self)(**{k: v for k, v in merged.items() if v is not None})

    def to_dict(self) -> dict[str, Any]:
        """The nested wire form: ``objectType`` first, then every set field encoded for the server."""
        out: dict[str, Any] = {"objectType": self.OBJECT_TYPE}
        for name, value in self._values.items():
            out[name] = _wire(value)
        return out

    def to_params(self, prefix: str = "") -> dict[str, str]:
        """The exact flat wire parameters, e.g. ``{"filter[objectType]": ..., "filter[idEqual]": ...}``."""
        return flatten({prefix: self}) if prefix else flatten(self.to_dict())

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, KalturaObject)
        return self._values == other._values

    def __hash__(self) -> int:
        return hash((type(self), tuple((k, _hashable(v)) for k, v in self._values.items())))

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={MASK!r}" if is_secret_key(k) else f"{k}={_short(v)}" for k, v in self._values.items())
        return f"{type(self).__name__}({inner})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self._values))


def _rebuild(cls: type[KalturaObject], values: dict[str, Any]) -> KalturaObject:
    return cls(**values)


def nearest(word: str, candidates: list[str], *, limit: int = 3, cutoff: float = 0.6) -> list[str]:
    """The candidates closest to ``word`` (case-insensitively), keeping only near-ties of the best one."""
    scored = []
    for candidate in candidates:
        ratio = difflib.SequenceMatcher(None, word.lower(), candidate.lower()).ratio()
        if ratio >= cutoff:
            scored.append((ratio, candidate))
    scored.sort(key=lambda pair: -pair[0])
    if not scored:
        return []
    best = scored[0][0]
    return [candidate for ratio, candidate in scored[:limit] if ratio >= best - 0.03]


def _concrete_subclasses(cls: type[KalturaObject]) -> list[type[KalturaObject]]:
    out: list[type[KalturaObject]] = []
    for sub in cls.__subclasses__():
        if not sub.ABSTRACT:
            out.append(sub)
        out.extend(_concrete_subclasses(sub))
    return out


def _short(value: Any) -> str:
    if isinstance(value, enum.Enum):
        return f"{type(value).__name__}.{value.name}"
    return repr(value)


def _hashable(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    return value


def _wire(value: Any) -> Any:
    if value is NULL:
        return None
    if isinstance(value, KalturaObject):
        return value.to_dict()
    if isinstance(value, list):
        return [_wire(v) for v in value]
    return value


# ---------------------------------------------------------------------------------------------
# Coercion: one function per kind. Each returns the normalised Python value stored on the object.
# ---------------------------------------------------------------------------------------------


def _fail(owner: type[KalturaObject], prop: Prop, expected: str, value: Any) -> KalturaParamTypeError:
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return KalturaParamTypeError(
        f"{owner.__name__}.{prop.name}: expected {expected}, got {type(value).__name__} {shown}"
    )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _coerce(owner: type[KalturaObject], prop: Prop, value: Any) -> Any:
    return _COERCERS[prop.kind](owner, prop, value)


def _c_str(owner: type[KalturaObject], prop: Prop, value: Any) -> str:
    if not isinstance(value, str):
        raise _fail(owner, prop, "str", value)
    return value


def _c_text(owner: type[KalturaObject], prop: Prop, value: Any) -> str:
    if isinstance(value, str):
        return value
    if _is_int(value) or isinstance(value, float):
        return str(value)
    raise _fail(owner, prop, "str or number", value)


def _c_int(owner: type[KalturaObject], prop: Prop, value: Any) -> int:
    if not _is_int(value):
        raise _fail(owner, prop, "int", value)
    if prop.min is not None and value < prop.min:
        raise KalturaParamError(f"{owner.__name__}.{prop.name} must be at least {prop.min}, got {value}")
    if prop.max is not None and value > prop.max:
        raise KalturaParamError(f"{owner.__name__}.{prop.name} must be at most {prop.max}, got {value}")
    return value


def _c_float(owner: type[KalturaObject], prop: Prop, value: Any) -> float | int:
    if _is_int(value) or isinstance(value, float):
        return value
    raise _fail(owner, prop, "number", value)


def _c_bool(owner: type[KalturaObject], prop: Prop, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _fail(owner, prop, "bool", value)
    return value


def _c_time(owner: type[KalturaObject], prop: Prop, value: Any) -> int:
    if isinstance(value, dt.datetime):
        seconds = unix_seconds(value)
        if abs(seconds) <= MAX_RELATIVE_TIME:
            raise KalturaParamError(
                f"{owner.__name__}.{prop.name}: {value.isoformat()} is before 1980; the server would read "
                f"{seconds} as seconds relative to now (|v| <= {MAX_RELATIVE_TIME})"
            )
        return seconds
    if isinstance(value, dt.timedelta):
        seconds = round(value.total_seconds())
        if abs(seconds) > MAX_RELATIVE_TIME:
            raise KalturaParamError(
                f"{owner.__name__}.{prop.name}: a relative time must be within {MAX_RELATIVE_TIME} s "
                f"(about 10 years) of now, got {seconds} s"
            )
        return seconds
    if _is_int(value):
        return value
    raise _fail(owner, prop, "unix seconds (int), aware datetime, or timedelta relative to now", value)


def _c_ms(owner: type[KalturaObject], prop: Prop, value: Any) -> int:
    if isinstance(value, dt.timedelta):
        return round(value / dt.timedelta(milliseconds=1))
    if _is_int(value):
        return value
    raise _fail(owner, prop, "integer milliseconds or timedelta", value)


def _enum_member(owner: type[KalturaObject], prop: Prop, value: Any) -> enum.Enum:
    enum_cls = prop.enum
    assert enum_cls is not None, prop
    if isinstance(value, enum_cls):
        return value
    if isinstance(value, enum.Enum):
        raise _fail(owner, prop, enum_cls.__name__, value)
    if isinstance(value, bool):
        if enum_cls.__name__ == "NullableBoolean":
            return enum_cls(int(value))
        raise _fail(owner, prop, enum_cls.__name__, value)
    candidates = [value]
    if issubclass(enum_cls, int) and isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        candidates.append(int(value))
    if issubclass(enum_cls, str) and _is_int(value):
        candidates.append(str(value))
    for candidate in candidates:
        try:
            return enum_cls(candidate)
        except ValueError:
            continue
    if isinstance(value, str) and value in enum_cls.__members__:
        return enum_cls[value]
    valid = ", ".join(f"{m.name}={m.value!r}" for m in enum_cls)
    raise KalturaParamError(f"{owner.__name__}.{prop.name}: {value!r} is not a {enum_cls.__name__} ({valid})")


def _c_enum(owner: type[KalturaObject], prop: Prop, value: Any) -> enum.Enum:
    return _enum_member(owner, prop, value)


def _items(owner: type[KalturaObject], prop: Prop, value: Any) -> list[Any]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable) or isinstance(value, Mapping):
        raise _fail(owner, prop, "a comma-separated str or a list", value)
    items = list(value)
    if not items:
        raise KalturaParamError(
            f"{owner.__name__}.{prop.name}: an empty list would be sent as an empty string, which the "
            "server ignores (matching everything); leave the field unset or give at least one value"
        )
    return items


def _c_ids(owner: type[KalturaObject], prop: Prop, value: Any) -> str:
    if isinstance(value, str):
        if not value.strip():
            raise KalturaParamError(
                f"{owner.__name__}.{prop.name}: an empty string is ignored by the server (matching "
                "everything); leave the field unset or give at least one value"
            )
        return value
    parts: list[str] = []
    for item in _items(owner, prop, value):
        if isinstance(item, enum.Enum):
            item = item.value
        if _is_int(item):
            item = str(item)
        if not isinstance(item, str):
            raise _fail(owner, prop, "list items of str or int", item)
        if "," in item:
            raise KalturaParamError(f"{owner.__name__}.{prop.name}: item {item!r} contains the separator ','")
        parts.append(item)
    return ",".join(parts)


def _c_enum_ids(owner: type[KalturaObject], prop: Prop, value: Any) -> str:
    if isinstance(value, str) and not value.strip():
        raise KalturaParamError(f"{owner.__name__}.{prop.name}: empty list; leave it unset")
    raw = value.split(",") if isinstance(value, str) else _items(owner, prop, value)
    members = [_enum_member(owner, prop, item.strip() if isinstance(item, str) else item) for item in raw]
    return ",".join(str(m.value) for m in members)


def _c_order(owner: type[KalturaObject], prop: Prop, value: Any) -> str:
    raw = value.split(",") if isinstance(value, str) else _items(owner, prop, value)
    valid = owner.ORDER_BY
    parts: list[str] = []
    for item in raw:
        if isinstance(item, enum.Enum):
            item = item.value
        if not isinstance(item, str):
            raise _fail(owner, prop, "str", item)
        item = item.strip()
        if item not in valid:
            raise KalturaParamError(_order_message(owner, item))
        parts.append(item)
    return ",".join(parts)


def _order_message(owner: type[KalturaObject], item: str) -> str:
    valid = owner.ORDER_BY
    if not valid:
        return f"{owner.__name__} has no orderBy values; the server would ignore {item!r}"
    suggestions = [f"{sign}{item}" for sign in "+-" if f"{sign}{item}" in valid]
    if not suggestions:
        suggestions = nearest(item, list(valid))
    hint = f"; did you mean {' or '.join(repr(s) for s in suggestions)}?" if suggestions else ""
    return f"{owner.__name__}: invalid orderBy {item!r}{hint} Valid: {', '.join(valid)}"


def _c_object(owner: type[KalturaObject], prop: Prop, value: Any) -> KalturaObject:
    assert prop.item is not None, prop
    if not isinstance(value, prop.item):
        raise _fail(owner, prop, f"a {prop.item.__name__}", value)
    return value


def _c_objects(owner: type[KalturaObject], prop: Prop, value: Any) -> list[KalturaObject]:
    assert prop.item is not None, prop
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        raise _fail(owner, prop, f"a list of {prop.item.__name__}", value)
    items = list(value)
    for item in items:
        if not isinstance(item, prop.item):
            raise _fail(owner, prop, f"list items of type {prop.item.__name__}", item)
    return items


def _c_strings(owner: type[KalturaObject], prop: Prop, value: Any) -> list[KalturaObject]:
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        raise _fail(owner, prop, "a list of str", value)
    out: list[KalturaObject] = []
    for item in value:
        if isinstance(item, KalturaString):
            out.append(item)
        elif isinstance(item, str):
            out.append(KalturaString(value=item))
        else:
            raise _fail(owner, prop, "list items of type str", item)
    return out


_COERCERS = {
    "str": _c_str,
    "text": _c_text,
    "int": _c_int,
    "float": _c_float,
    "bool": _c_bool,
    "time": _c_time,
    "ms": _c_ms,
    "enum": _c_enum,
    "ids": _c_ids,
    "enum_ids": _c_enum_ids,
    "order": _c_order,
    "object": _c_object,
    "objects": _c_objects,
    "strings": _c_strings,
}


class KalturaString(KalturaObject):
    """``KalturaString``: the element type of string arrays (e.g. CSV job data ``columns``)."""

    FIELDS = (Prop("value", "str"),)

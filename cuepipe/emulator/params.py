"""Request parameters the way api_v3 reads them (docs/kaltura-api.md#services-and-actions, #body-encodings,
#parameter-values).

* The path after ``/api_v3/`` is alternating ``key/value`` pairs (``service/x/action/y/id/5/ks/..``).
* Precedence: path params override query params, which override the body.
* Body: a JSON object only when the content type is exactly ``application/json``; for
  ``multipart/form-data`` a ``json`` field replaces all other plain fields; otherwise the form fields.
* Flat keys nest on PHP brackets (``filter[objectType]``) and on ``:`` (``filter:objectType``).
* ``name__null`` marks a property as explicitly null; it is dropped from the params (unset), and
  its path is kept in :attr:`RequestParams.nulls` for the update actions, where null clears a value.

Bounds on the work one request can cause (the server's PHP has the same kind of limits): a JSON body
nested deeper than :data:`MAX_JSON_DEPTH` is not decoded (``json_decode``'s default depth, 512: the
server then sees no body params); a form or query key nested deeper than :data:`MAX_INPUT_NESTING`
is dropped (PHP ``max_input_nesting_level``, 64); query parameters past :data:`MAX_INPUT_VARS` are
dropped, and a form or JSON body with more is ignored as a whole; a body larger than the app's
``max_body_bytes`` is not read (PHP ``post_max_size``: the request runs with its path and query
params only). Each case ends as an ordinary API error
(a missing parameter, an unknown service...), never an HTTP 500.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

_BRACKETS = re.compile(r"\[([^\]]*)\]")

MAX_JSON_DEPTH = 512
MAX_INPUT_NESTING = 64
MAX_INPUT_VARS = 10_000


@dataclass
class UploadedFile:
    """A multipart file part (the server's ``$_FILES`` entry)."""

    name: str
    data: bytes
    content_type: str = ""


@dataclass
class RequestParams:
    """Nested params plus uploaded files, as the dispatcher sees them."""

    params: dict[str, Any] = field(default_factory=dict)
    files: dict[str, UploadedFile] = field(default_factory=dict)
    # Paths of properties sent as ``name__null`` (KalturaNullField): update actions set them to null.
    nulls: frozenset[tuple[str, ...]] = frozenset()


def split_key(key: str) -> list[str]:
    """``filter[advancedSearch][items][0]`` / ``filter:advancedSearch:items:0`` -> path parts."""
    head, _, rest = key.partition("[")
    parts = [head]
    if rest:
        parts += _BRACKETS.findall("[" + rest)
    out: list[str] = []
    for part in parts:
        out.extend(part.split(":"))
    return [p for p in out if p != ""] or [key]


def _set_path(target: dict[str, Any], path: list[str], value: Any) -> None:
    node = target
    for part in path[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[path[-1]] = value


def nest_flat(pairs: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """Build nested params from flat key/value pairs (later pairs win, like PHP).

    Keys nested deeper than :data:`MAX_INPUT_NESTING` and pairs past :data:`MAX_INPUT_VARS` are dropped.
    """
    out: dict[str, Any] = {}
    for n, (key, value) in enumerate(pairs):
        if n >= MAX_INPUT_VARS:
            break
        path = split_key(key)
        if len(path) > MAX_INPUT_NESTING:
            continue
        _set_path(out, path, value)
    return out


def depth_within(value: Any, limit: int) -> bool:
    """Whether nested dicts/lists go no deeper than ``limit`` levels (iterative: any depth is safe)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth > limit:
                return False
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return True


def count_params(value: Any) -> int:
    """Leaf values in nested params (iterative)."""
    total, stack = 0, [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
        else:
            total += 1
    return total


def merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Recursive merge where ``override`` wins (PHP ``array_merge_recursive``-like for our use)."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def path_pairs(path: str) -> dict[str, str]:
    """``/api_v3/service/x/action/y/id/5`` -> {service: x, action: y, id: 5}."""
    rest = path.split("/api_v3/", 1)[1] if "/api_v3/" in path else path
    rest = rest.removeprefix("index.php/").removeprefix("index.php")
    items = [p for p in rest.split("/") if p]
    return {items[i]: items[i + 1] for i in range(0, len(items) - 1, 2)}


def json_body(content_type: str, body: bytes) -> dict[str, Any] | None:
    """The JSON-body rule: exact ``application/json`` and a body that looks like an object."""
    if content_type.strip().lower() != "application/json":
        return None
    text = body.decode("utf-8", "replace").strip()
    if not (text.startswith("{") and text.endswith("}")):
        return None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):  # the C decoder refuses very deep nesting with RecursionError
        return None
    if not isinstance(value, dict) or not depth_within(value, MAX_JSON_DEPTH):
        return None  # json_decode($body, true, 512) returns null: no body params
    if count_params(value) > MAX_INPUT_VARS:
        return None
    return value


def null_paths(params: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> frozenset[tuple[str, ...]]:
    """Every ``x__null`` marker as a path (``("cuePoint", "text")``), for the actions that honour it."""
    out: set[tuple[str, ...]] = set()
    for key, value in params.items():
        if isinstance(key, str) and key.endswith("__null"):
            out.add((*prefix, key[: -len("__null")]))
        elif isinstance(value, Mapping):
            out |= null_paths(value, (*prefix, str(key)))
    return frozenset(out)


def strip_nulls(params: dict[str, Any]) -> dict[str, Any]:
    """Drop ``x__null`` markers and the properties they null (unset == null for every action here)."""
    out: dict[str, Any] = {}
    nulled = {k[: -len("__null")] for k in params if isinstance(k, str) and k.endswith("__null")}
    for key, value in params.items():
        if key.endswith("__null") or key in nulled:
            continue
        out[key] = strip_nulls(value) if isinstance(value, dict) else value
    return out

"""``service=multirequest``: several calls in one request, as ``KalturaFrontController::handleMultiRequest``.

The calls are the numbered parameter groups (``1:service``, ``1:action``, ``1:cuePoint:...`` or the
nested ``{"1": {...}}`` of a JSON body; the official clients number from 0 or 1). They run in index
order from ``min(1, lowest)`` and stop at the first index without both ``service`` and ``action``.
``ks``, ``partnerId`` and ``clientTag`` given outside the groups apply to every call that has none
of its own; files arrive as ``N:field``. Each call's outcome (object, value or error) is one item
of the result, so one failing call does not stop the others.

References: a parameter value holding ``{N:result}`` or ``{N:result:path:to:value}`` is replaced,
after call N (counted from 1 in execution order), by that value of N's result (``objects:0:id``
walks lists by index and objects by property); a missing value, an object, or a failed call give
the empty string, as ``getValueFromObject`` does. Only the first reference in a value is replaced.
A file action (serve, serveLog, serveBulk) in a multirequest answers with its file alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from starlette.responses import Response

from .errors import ApiError
from .params import RequestParams, UploadedFile
from .render import error_object

_REFERENCE = re.compile(r"\{[0-9]+:result:?(.*)?\}")
_ANCHORED = re.compile(r"^\{([0-9]+):result:?(.*)?\}$")
_COMMON = ("ks", "partnerId", "clientTag")

Dispatch = Callable[[RequestParams], Any]


def _index(key: Any) -> int | None:
    text = str(key)
    return int(text) if re.fullmatch(r"-?\d+", text) else None


def split(request: RequestParams) -> tuple[dict[int, dict[str, Any]], dict[str, Any]]:
    """The numbered calls and the common params."""
    calls: dict[int, dict[str, Any]] = {}
    common: dict[str, Any] = {}
    for key, value in request.params.items():
        index = _index(key)
        if index is not None and isinstance(value, Mapping):
            calls.setdefault(index, {}).update(value)
        elif index is None:
            common[key] = value
    return calls, common


def _files(request: RequestParams, index: int) -> dict[str, UploadedFile]:
    prefix = f"{index}:"
    return {k[len(prefix) :]: f for k, f in request.files.items() if k.startswith(prefix)}


def _nulls(request: RequestParams, index: int) -> frozenset[tuple[str, ...]]:
    return frozenset(p[1:] for p in request.nulls if len(p) > 1 and p[0] == str(index))


def _value_text(value: Any) -> str:
    """PHP ``str_replace`` of a scalar: true -> "1", false/null -> ""."""
    if value is None or value is False:
        return ""
    if value is True:
        return "1"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def value_at(result: Any, path: list[str]) -> Any:
    """``getValueFromObject``: follow ``path`` into a result; None where it leads nowhere."""
    if isinstance(result, dict) and result.get("objectType") == "KalturaAPIException":
        return None
    if not path or path[0] == "":
        return None if isinstance(result, dict | list) else result
    head, rest = path[0], path[1:]
    if isinstance(result, dict):
        return value_at(result[head], rest) if head in result and result[head] is not None else None
    if isinstance(result, list):
        index = _index(head)
        return value_at(result[index], rest) if index is not None and 0 <= index < len(result) else None
    return None


def _replace(params: Any, number: int, result: Any) -> Any:
    if isinstance(params, dict):
        return {k: _replace(v, number, result) for k, v in params.items()}
    if isinstance(params, list):
        return [_replace(v, number, result) for v in params]
    if not isinstance(params, str):
        return params
    found = _REFERENCE.search(params)
    if found is None:
        return params
    anchored = _ANCHORED.match(found.group(0))
    if anchored is None or int(anchored.group(1)) != number:
        return params
    value = value_at(result, (anchored.group(2) or "").split(":"))
    return params.replace(found.group(0), _value_text(value))


def run(request: RequestParams, dispatch: Dispatch) -> list[Any] | Response:
    """Run every call; the list of outcomes, or a file action's response alone."""
    calls, common = split(request)
    if not calls:
        return []
    start, end = min(1, min(calls)), max(1, max(calls))
    results: list[Any] = []
    for index in range(start, end + 1):
        params = calls.get(index, {})
        if "service" not in params or "action" not in params:
            break
        number = len(results) + 1
        merged = dict(params)
        for name in _COMMON:
            if name in common and name not in merged:
                merged[name] = common[name]
        merged.pop("format", None)
        try:
            outcome = dispatch(RequestParams(merged, _files(request, index), _nulls(request, index)))
        except ApiError as err:
            outcome = error_object(err)
        if isinstance(outcome, Response):
            return outcome
        results.append(outcome)
        for later in range(index + 1, end + 1):
            if later in calls:
                calls[later] = _replace(calls[later], number, outcome)
    return results

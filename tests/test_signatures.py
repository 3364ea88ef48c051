"""The sync and async faces of the client stay the same: ``Client`` / ``AsyncClient`` and
``BulkUploads`` / ``AsyncBulkUploads`` have the same public methods, with the same parameters (names,
kinds, defaults, annotations) and return types; the async ones are awaitable (or async iterators).

Only what must differ may differ, and it is listed here: ``close`` is ``aclose``, the context manager
protocol is the async one, the transport is httpx's async transport, and iterators are async iterators.
"""

from __future__ import annotations

import asyncio
import inspect
import re
from typing import Any

import pytest

from cuepipe.client import AsyncBulkUploads, AsyncClient, BulkUploads, Client

#: sync name -> async name, where they differ by design
RENAMED = {"close": "aclose", "__enter__": "__aenter__", "__exit__": "__aexit__"}
#: annotation text (sync) -> annotation text (async), where the types differ by design
ANNOTATIONS = [
    (r"\bhttpx\.BaseTransport\b", "httpx.AsyncBaseTransport"),
    (r"^Iterator\[", "AsyncIterator["),
    (r"^Client$", "AsyncClient"),
    (r"^BulkUploads$", "AsyncBulkUploads"),
]
PAIRS = [(Client, AsyncClient), (BulkUploads, AsyncBulkUploads)]


def public_methods(cls: type) -> dict[str, Any]:
    """Public methods (and the context-manager protocol) defined by the class or its bases."""
    out = {}
    for name in dir(cls):
        if name.startswith("_") and name not in RENAMED and name not in RENAMED.values():
            continue
        value = inspect.getattr_static(cls, name)
        if isinstance(value, classmethod | staticmethod):
            value = value.__func__
        if inspect.isfunction(value):
            out[name] = value
    return out


def as_async(annotation: Any) -> Any:
    if not isinstance(annotation, str):
        return annotation
    for pattern, replacement in ANNOTATIONS:
        annotation = re.sub(pattern, replacement, annotation)
    return annotation


def shape(fn: Any, *, to_async: bool) -> list[tuple[str, Any, Any, Any]]:
    convert = as_async if to_async else (lambda a: a)
    sig = inspect.signature(fn)
    params = [(p.name, p.kind, p.default, convert(p.annotation)) for p in sig.parameters.values()]
    return [*params, ("return", None, None, convert(sig.return_annotation))]


@pytest.mark.parametrize(("sync", "asynchronous"), PAIRS, ids=lambda c: c.__name__)
def test_same_public_methods(sync: type, asynchronous: type) -> None:
    expected = {RENAMED.get(name, name) for name in public_methods(sync)}
    assert set(public_methods(asynchronous)) == expected


@pytest.mark.parametrize(("sync", "asynchronous"), PAIRS, ids=lambda c: c.__name__)
def test_same_parameters_and_return_types(sync: type, asynchronous: type) -> None:
    async_methods = public_methods(asynchronous)
    for name, fn in public_methods(sync).items():
        other = async_methods[RENAMED.get(name, name)]
        assert shape(other, to_async=False) == shape(fn, to_async=True), f"{sync.__name__}.{name}"


@pytest.mark.parametrize(("sync", "asynchronous"), PAIRS, ids=lambda c: c.__name__)
def test_async_methods_are_awaitable(sync: type, asynchronous: type) -> None:
    for name, fn in public_methods(asynchronous).items():
        if name == "from_env":  # builds the client, no I/O
            assert not inspect.iscoroutinefunction(fn)
            continue
        if name.startswith("iter_"):  # an async iterator: ``async for page in client.iter_pull(...)``
            assert str(inspect.signature(fn).return_annotation).startswith("AsyncIterator["), name
            assert inspect.isasyncgenfunction(fn) or not inspect.iscoroutinefunction(fn), name
        else:
            assert inspect.iscoroutinefunction(fn), f"{asynchronous.__name__}.{name} is not async"


def test_the_check_sees_a_difference() -> None:
    """A parameter renamed, a default changed or a method missing on one side is caught."""

    class A:
        def pull(self, filter: Any = None, *, page_size: int = 500) -> int: ...
        def count(self) -> int: ...

    class B:
        async def pull(self, filter: Any = None, *, page_size: int = 100) -> int: ...

    assert shape(public_methods(A)["pull"], to_async=True) != shape(public_methods(B)["pull"], to_async=False)
    assert set(public_methods(A)) != set(public_methods(B))


def test_both_clients_carry_their_bulk_uploads() -> None:
    """``client.bulk_uploads`` is the matching helper on each side."""
    with Client("http://127.0.0.1:9", partner_id=1, admin_secret="secret") as sync:
        assert type(sync.bulk_uploads) is BulkUploads
    client = AsyncClient("http://127.0.0.1:9", partner_id=1, admin_secret="secret")
    assert type(client.bulk_uploads) is AsyncBulkUploads
    asyncio.run(client.aclose())

"""Fixtures shared by the test modules; plain helper functions are in ``helpers.py``.

``start_emulator`` is the one way tests get a running emulator over a socket: each module asks for
the servers it needs (``start_emulator(partner_id=..., entries=...)``) and they stop when the
module's tests are done. Tests marked ``slow`` are skipped by ``make test-fast`` (``-m "not slow"``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from cuepipe.emulator import EmulatorServer
from cuepipe.xml import reader as _reader

from .helpers import EmulatorFactory


@pytest.fixture(scope="module")
def start_emulator() -> Iterator[EmulatorFactory]:
    """Start emulators (``EmulatorServer(**options)``) that live until the module's tests are done."""
    with contextlib.ExitStack() as stack:

        def start(**options: Any) -> EmulatorServer:
            return stack.enter_context(EmulatorServer(**options))

        yield start


@pytest.fixture
def no_faults(server: EmulatorServer) -> Iterator[None]:
    """The module's ``server`` (started with ``fault_admin=True``) has no fault rules before and after
    the test: a module shares one server, so a rule a test sets must not leak into the next one.
    Use with ``pytestmark = pytest.mark.usefixtures("no_faults")``."""
    assert server.faults is not None, "no_faults needs a server started with fault_admin=True"
    server.faults.clear()
    yield
    server.faults.clear()


_SAX = _reader._speedups is not None and _reader._speedups.SAX


@pytest.fixture(params=["fed", "worker"] if _SAX else ["fed"])
def sax_feed(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a reader test twice: the tree-free reader fed in the calling thread, and fed from libxml2
    running in a worker thread (``_speedups.SaxPipe``), which ``read_xml`` uses for large documents
    when there is a second core. The "worker" run forces it on for every document, however small
    and whatever the machine's cores. Once, as it is, in a pure-Python run."""
    reader = _reader
    if request.param == "worker":
        monkeypatch.setattr(reader, "_PIPE_MIN_BYTES", 0)
        monkeypatch.setattr(reader, "_cores", lambda: 2)
    else:
        monkeypatch.setattr(reader, "_PIPE_MIN_BYTES", None)
    return str(request.param)

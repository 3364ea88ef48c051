"""``AsyncClient.push`` prepares its input (read, check, convert, size every upload) off the event loop:
other tasks keep running until the first request goes out, however large the input is."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pandas as pd
import pytest

from cuepipe.client import AsyncClient, PushError

URL = "https://kaltura.test"
ROWS = 60_000  # enough work that a loop blocked for all of it misses every tick


def _records() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "cuePointType": "annotation.Annotation",
            "entryId": [f"0_e{i % 7:07d}" for i in range(ROWS)],
            "systemName": [f"S{i}" for i in range(ROWS)],
            "startTime": range(ROWS),
            "endTime": range(1, ROWS + 1),
            "text": "chapter text & more",
        }
    )


def test_a_large_push_does_not_block_other_tasks() -> None:
    data = _records()
    ticks = 0
    at_first_request: list[int] = []

    async def answer(request: httpx.Request) -> httpx.Response:
        at_first_request.append(ticks)
        # Any first answer will do: an unknown entry ends the push with a PushError at once.
        error = {"code": "INVALID_ENTRY_ID", "message": "", "objectType": "KalturaAPIException", "args": []}
        return httpx.Response(200, json=error)

    async def ticker(stop: asyncio.Event) -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            await asyncio.sleep(0.005)

    async def main() -> Any:
        stop = asyncio.Event()
        task = asyncio.create_task(ticker(stop))
        await asyncio.sleep(0)  # the ticker has started
        started = ticks
        try:
            async with AsyncClient(
                URL, partner_id=7, admin_secret="s", retries=0, transport=httpx.MockTransport(answer)
            ) as client:
                with pytest.raises(PushError):
                    await client.push(data, detect_actions=False)
        finally:
            stop.set()
            await task
        return started

    started = asyncio.run(main())
    assert at_first_request, "no request was sent"
    # Preparing 60k cue points takes far longer than a few 5 ms ticks on any machine; a loop blocked
    # by it would show no tick at all between the call and the first request.
    assert at_first_request[0] - started >= 3, (started, at_first_request[0])


def test_input_errors_still_surface_from_the_call() -> None:
    async def main() -> None:
        async with AsyncClient(URL, partner_id=7, admin_secret="s", transport=httpx.MockTransport(lambda r: None)) as c:
            with pytest.raises(ValueError, match="startTim"):
                await c.push([{"cuePointType": "annotation.Annotation", "entryId": "0_e", "startTim": 1}])

    asyncio.run(main())

"""Push writes what addFromBulk ignores (thumb title/description/subType) with cuePoint.update."""

from __future__ import annotations

import asyncio

from cuepipe.client import AsyncClient, Client
from cuepipe.emulator import EmulatorServer
from cuepipe.sync.typed import typed_writes

RECORDS = [
    {
        "cuePointType": "thumbCuePoint.Thumb",
        "entryId": "0_ty",
        "systemName": "CH",
        "startTime": 0,
        "title": "Intro",
        "description": "first",
        "subType": 2,
    },
    {
        "cuePointType": "annotation.Annotation",
        "entryId": "0_ty",
        "systemName": "A",
        "startTime": 0,
        "endTime": 5,
        "text": "plain",
    },
]


def test_push_writes_what_add_from_bulk_ignored() -> None:
    with (
        EmulatorServer(partner_id=810, admin_secret="typed-secret", entries=["0_ty"]) as srv,
        Client(srv.url, partner_id=810, admin_secret="typed-secret") as api,
    ):
        result = api.push(RECORDS)
        assert result.attrs["typed_updates"] == 1  # one thumb, one update; the annotation needs none
        got = api.pull({"entryIdEqual": "0_ty"}, precision="ms").set_index("systemName")
        assert (got.loc["CH", "title"], got.loc["CH", "description"], got.loc["CH", "subType"]) == (
            "Intro",
            "first",
            2,
        )
        # Pushing again is an update of the same cue points: the same values are written again, nothing added.
        again = api.push(RECORDS)
        assert list(again["action"]) == ["updated", "updated"] and again.attrs["typed_updates"] == 1
        assert len(api.pull({"entryIdEqual": "0_ty"}, precision="ms")) == 2
    # Values already in place are not written again by a sync.
    current = {str(got.loc["CH", "id"]): {"title": "Intro", "description": "first", "subType": 2}}
    assert typed_writes(RECORDS, [str(got.loc["CH", "id"]), str(got.loc["A", "id"])], current) == []


def test_async_push_writes_them_too() -> None:
    async def run(url: str) -> tuple[int, dict[str, object]]:
        async with AsyncClient(url, partner_id=811, admin_secret="typed-secret") as api:
            result = await api.push([{**RECORDS[0], "entryId": "0_ta"}])
            got = (await api.pull({"entryIdEqual": "0_ta"}, precision="ms")).iloc[0]
            return int(result.attrs["typed_updates"]), {k: got[k] for k in ("title", "description", "subType")}

    with EmulatorServer(partner_id=811, admin_secret="typed-secret", entries=["0_ta"]) as srv:
        count, values = asyncio.run(run(srv.url))
    assert count == 1 and values == {"title": "Intro", "description": "first", "subType": 2}

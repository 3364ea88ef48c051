"""The push hook: thumb title/description/subType written with cuePoint.update after addFromBulk."""

from __future__ import annotations

from cuepipe.client import Client
from cuepipe.emulator import EmulatorServer
from cuepipe.sync.typed import after_push, typed_writes


def test_after_push_writes_what_add_from_bulk_ignored() -> None:
    records = [
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
    with (
        EmulatorServer(partner_id=810, admin_secret="typed-secret", entries=["0_ty"]) as srv,
        Client(srv.url, partner_id=810, admin_secret="typed-secret") as api,
    ):
        result = api.push(records)
        before = api.pull({"entryIdEqual": "0_ty"}, precision="ms").set_index("systemName")
        assert before.loc["CH", "subType"] == 1  # addFromBulk made it a SLIDE and dropped the title
        assert after_push(api, records, result) == 1  # one thumb, one update; the annotation needs none
        got = api.pull({"entryIdEqual": "0_ty"}, precision="ms").set_index("systemName")
    assert (got.loc["CH", "title"], got.loc["CH", "description"], got.loc["CH", "subType"]) == ("Intro", "first", 2)
    # Values already in place are not written again.
    current = {str(got.loc["CH", "id"]): {"title": "Intro", "description": "first", "subType": 2}}
    assert typed_writes(records, [str(got.loc["CH", "id"]), str(got.loc["A", "id"])], current) == []

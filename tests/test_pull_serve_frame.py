"""Pull reads each served page straight into the typed frame (``client._pull._serve_frame``).

What makes that the same as the record path it replaced: the compiled reader's frame of a serve
document equals ``to_frame`` of the records ``iter_cue_points`` yields from it, for every cue point
type, unicode, empty values and extreme times (hypothesis); and a pull through the emulator returns
the rows in the list page's order, whatever order the served document has.
"""

from __future__ import annotations

import io
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cuepipe import frames
from cuepipe.client import Client
from cuepipe.client._pull import to_frame
from cuepipe.emulator import EmulatorServer
from cuepipe.xml import iter_cue_points, write_xml

from . import strategies as S
from .helpers import EmulatorFactory

PARTNER, ADMIN = 5381, "serve-frame-admin-secret-q7"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(S.records("serve"), min_size=1, max_size=12))
def test_reader_frame_equals_the_record_path(records: list[dict[str, Any]]) -> None:
    buf = io.BytesIO()
    write_xml(records, buf, kind="serve")
    body = buf.getvalue()
    fast = frames.read_xml(body)
    slow = to_frame(list(iter_cue_points(body)), False)
    pd.testing.assert_frame_equal(fast, slow)


def test_pull_keeps_the_list_order(start_emulator: EmulatorFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    server: EmulatorServer = start_emulator(partner_id=PARTNER, admin_secret=ADMIN, entries=["0_sf1"])
    # start times against creation order: serveBulk answers in its own order, list in createdAt/intId
    rows = [
        {
            "entryId": "0_sf1",
            "cuePointType": "annotation.Annotation",
            "startTime": (50 - i) * 1000,
            "endTime": (50 - i) * 1000 + 500,
            "text": f"é{i}",
        }
        for i in range(40)
    ]
    with Client(server.url, partner_id=PARTNER, admin_secret=ADMIN) as api:
        api.push(rows)
        tenths = api.pull({"entryIdEqual": "0_sf1"})
        ms = api.pull({"entryIdEqual": "0_sf1"}, precision="ms")
    assert list(tenths["id"]) == list(ms["id"])
    assert sorted(tenths["text"]) == sorted(r["text"] for r in rows)
    assert list(tenths.columns) == list(frames.DTYPES)
    # the served document in the opposite order: the rows still come in the list page's order
    read = frames.read_xml
    monkeypatch.setattr(frames, "read_xml", lambda body: read(body).iloc[::-1].reset_index(drop=True))
    with Client(server.url, partner_id=PARTNER, admin_secret=ADMIN) as api:
        again = api.pull({"entryIdEqual": "0_sf1"})
    pd.testing.assert_frame_equal(again, tenths)

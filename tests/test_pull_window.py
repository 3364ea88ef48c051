"""pull returns every cue point exactly once past the server's 10,000 window and through shuffled ties.

The emulator refuses offsets of 10,000 and more and returns equal sort keys in a seeded random
order, as the server's search index does (tests/test_emulator_paging.py); these tests pull through
that, the way a migration job would after a bulk upload created thousands of cue points in one
second.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cuepipe.client import Client, ClientError
from cuepipe.emulator import EmulatorServer
from cuepipe.emulator.store import Store
from cuepipe.kaltura import KalturaAnnotationFilter

PARTNER, ADMIN = 100, "admin-secret"
SECOND = 1_700_000_000
BURST, DENSE, MANY, MIXED = "0_burst", "0_dense", "0_many", "0_mixed"
CODE, ANN, THUMB = "codeCuePoint.Code", "annotation.Annotation", "thumbCuePoint.Thumb"


def seed(store: Store, rows: list[dict[str, Any]]) -> None:
    with store.transaction() as c:
        for row in rows:
            store.insert_cue_point(
                c,
                {
                    "partnerId": PARTNER,
                    "cuePointType": CODE,
                    "status": 1,
                    "updatedAt": row["createdAt"],
                    "code": "c",
                    **row,
                },
            )


def burst_rows() -> list[dict[str, Any]]:
    """12,000 cue points created in one second (300 per startTime, and 700 of two types at one
    startTime), plus 800 spread over later seconds."""
    rows = [
        {"id": f"0_b{i:06d}", "entryId": BURST, "createdAt": SECOND, "startTime": 1000 * (i % 38)}
        for i in range(11_300)
    ]
    rows += [
        {"id": f"0_p{i:06d}", "entryId": BURST, "createdAt": SECOND, "startTime": 999_999, "cuePointType": kind}
        for i, kind in enumerate([CODE] * 400 + [ANN] * 300)
    ]
    rows += [
        {"id": f"0_s{i:06d}", "entryId": BURST, "createdAt": SECOND + 1 + i // 7, "startTime": i} for i in range(800)
    ]
    for row in rows:
        if row.get("cuePointType") == ANN:
            row.pop("code", None)
    return rows


@pytest.fixture(scope="module", params=[11])
def server(request: pytest.FixtureRequest) -> Iterator[EmulatorServer]:
    entries = [BURST, DENSE, MIXED] + [f"0_m{i:03d}" for i in range(160)]
    with EmulatorServer(partner_id=PARTNER, admin_secret=ADMIN, entries=entries, tie_seed=request.param) as srv:
        store = srv.app.state.emulator.store
        seed(store, burst_rows())
        seed(
            store,
            [{"id": f"0_d{i:06d}", "entryId": DENSE, "createdAt": SECOND, "startTime": 5} for i in range(10_001)],
        )
        seed(
            store,
            [
                {"id": f"0_m{i:06d}", "entryId": f"0_m{i % 160:03d}", "createdAt": SECOND + i % 3, "startTime": i}
                for i in range(640)
            ],
        )
        seed(
            store,
            [
                {"id": f"0_x{i:06d}", "entryId": MIXED, "createdAt": SECOND + i // 400, "startTime": i, **kind}
                for i, kind in enumerate([{"cuePointType": ANN, "text": "t"}] * 900 + [{"cuePointType": THUMB}] * 5)
            ],
        )
        yield srv


@pytest.fixture
def client(server: EmulatorServer) -> Iterator[Client]:
    with Client(server.url, partner_id=PARTNER, admin_secret=ADMIN) as c:
        yield c


def test_pull_past_10000_in_one_second_returns_each_cue_point_once(client: Client) -> None:
    """SphinxCriteria: offsets >= 10,000 refused, no stable tie order; pull uses neither."""
    expected = sorted(r["id"] for r in burst_rows())
    frames = list(client.iter_pull({"entryIdEqual": BURST}, precision="ms"))
    pulled = [i for f in frames for i in f["id"]]
    assert sorted(pulled) == expected and len(pulled) == len(expected)
    assert max(len(f) for f in frames) <= 500


def test_pull_tenths_past_10000(client: Client) -> None:
    frame = client.pull({"entryIdEqual": BURST})
    assert frame["id"].is_unique and len(frame) == 12_800


def test_more_than_10000_at_one_point_is_refused_not_truncated(client: Client) -> None:
    """10,001 cue points of one type sharing createdAt and startTime: no filter the server applies
    can split them and offsets stop at 10,000, so pull says so instead of returning part."""
    with pytest.raises(ClientError, match="more than 10,000 cue points"):
        client.pull({"entryIdEqual": DENSE}, precision="ms")


def test_long_entry_lists_are_pulled_in_chunks(client: Client) -> None:
    """SphinxCriterion::MAX_IN_VALUES: an entryIdIn of 160 entries would keep 150 on the server."""
    entries = [f"0_m{i:03d}" for i in range(160)]
    frame = client.pull({"entryIdIn": entries}, precision="ms")
    assert sorted(frame["id"]) == [f"0_m{i:06d}" for i in range(640)]


def test_typed_filters_return_their_type_on_serve_bulk_and_count(client: Client) -> None:
    """Kaltura*CuePointFilter::getTypeListResponse: the class's type applies in list only; pull and
    count add cuePointTypeEqual so an annotation filter returns annotations on serveBulk and count."""
    flt = KalturaAnnotationFilter(entryIdEqual=MIXED)
    assert client.count(flt) == 900
    served = client.pull(KalturaAnnotationFilter(textLike="t"), precision="tenths")  # no entry: serve windows
    assert set(served["cuePointType"]) == {ANN} and len(served) == 900
    assert client.count({"entryIdEqual": MIXED}) == 905


def test_serve_without_entry_filter_pages_through_counted_windows(client: Client) -> None:
    """serveBulk has no totalCount and no 10,000 escape: count-sized windows, each served once."""
    frame = client.pull({"startTimeGreaterThanOrEqual": 0, "cuePointTypeEqual": ANN})
    assert frame["id"].is_unique
    assert len(frame) == 900 + 300  # MIXED's annotations and the burst's


_examples = iter(range(10**6))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 4), st.sampled_from([CODE, ANN])), min_size=0, max_size=60
    ),
    page_size=st.integers(1, 7),
)
def test_any_distribution_is_pulled_exactly_once(
    server: EmulatorServer, client: Client, rows: list[tuple[int, int, str]], page_size: int
) -> None:
    """Whatever the ties (seconds, start times, types) and the page size, each cue point once."""
    entry = f"0_h{next(_examples):05d}"
    store = server.app.state.emulator.store
    store.add_entry(PARTNER, entry_id=entry)
    seed(
        store,
        [
            {"id": f"{entry}_{i}", "entryId": entry, "createdAt": SECOND + c, "startTime": t, "cuePointType": k}
            for i, (c, t, k) in enumerate(rows)
        ],
    )
    frame = client.pull({"entryIdEqual": entry}, precision="ms", page_size=page_size)
    pulled = list(frame["id"]) if len(frame) else []
    assert sorted(pulled) == sorted(f"{entry}_{i}" for i in range(len(rows)))


def test_user_filters_on_count_and_serve_windows_are_refused(client: Client) -> None:
    """countAction/serveBulkAction never call translateUserIds: a user id filter matches nothing there."""
    from cuepipe.client import FilterError

    with pytest.raises(FilterError, match="internal user ids"):
        client.count({"entryIdEqual": MIXED, "userIdEqual": "bob"})
    with pytest.raises(FilterError, match="internal user ids"):
        client.pull({"userIdIn": ["bob"]})


def test_parent_system_names_without_remembering_every_cue_point(server: EmulatorServer, client: Client) -> None:
    """parentSystemName comes from the page, a bounded cache of recent pages, or one list(idIn=...)."""
    entry = "0_parents"
    store = server.app.state.emulator.store
    store.add_entry(PARTNER, entry_id=entry)
    base = {"entryId": entry, "cuePointType": ANN, "text": "t"}
    seed(
        store,
        [
            {**base, "id": "0_par1", "createdAt": SECOND, "startTime": 0, "systemName": "P1"},
            {**base, "id": "0_kid1", "createdAt": SECOND + 1, "startTime": 10, "parentId": "0_par1"},
            {**base, "id": "0_kid2", "createdAt": SECOND + 2, "startTime": 20, "parentId": "0_par1"},
        ],
    )
    frame = client.pull({"entryIdEqual": entry}, precision="ms", page_size=1).set_index("id")
    assert frame.loc["0_kid1", "parentSystemName"] == frame.loc["0_kid2", "parentSystemName"] == "P1"
    later = client.pull({"entryIdEqual": entry, "startTimeGreaterThanOrEqual": 5}, precision="ms").set_index("id")
    assert list(later["parentSystemName"]) == ["P1", "P1"]  # the parent was not pulled: looked up

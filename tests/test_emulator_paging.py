"""The emulator's lists, counts and paging follow the server's search index (docs/emulator.md).

Each test names the kaltura/server source it follows. Cue points are seeded straight into the
store (thousands created in one second, as a bulk upload does) to keep the tests fast.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from cuepipe.emulator import EmulatorServer
from cuepipe.emulator.store import Store

PARTNER, ADMIN = 100, "admin-secret"
CREATED = 1_700_000_000
BIG, SMALL, TYPES = "0_big", "0_small", "0_types"
CODE, ANN, THUMB = "codeCuePoint.Code", "annotation.Annotation", "thumbCuePoint.Thumb"


def seed(
    store: Store,
    entry: str,
    n: int,
    *,
    kind: str = CODE,
    created: int = CREATED,
    start: int = 0,
    prefix: str = "",
    **extra: Any,
) -> list[str]:
    """n cue points on ``entry``, all created in the same second; returns their ids."""
    ids = [f"0_{prefix or entry[2:]}{i:06d}" for i in range(n)]
    with store.transaction() as c:
        for i, cid in enumerate(ids):
            row = {
                "id": cid,
                "partnerId": PARTNER,
                "cuePointType": kind,
                "status": 1,
                "createdAt": created,
                "updatedAt": created,
                "entryId": entry,
                "startTime": start + i,
                **extra,
            }
            store.insert_cue_point(c, row)
    return ids


class Api:
    def __init__(self, url: str, ks: str = "") -> None:
        self.url, self.ks = url, ks

    def call(self, service: str, action: str, **params: Any) -> Any:
        body = {"format": 1, **params}
        if self.ks:
            body["ks"] = self.ks
        return httpx.post(f"{self.url}/api_v3/service/{service}/action/{action}", json=body, timeout=60).json()

    def session(self, secret: str = ADMIN, kind: int = 2, **extra: Any) -> str:
        result = self.call("session", "start", secret=secret, type=kind, partnerId=PARTNER, **extra)
        assert isinstance(result, str), result
        return result

    def serve(self, **params: Any) -> httpx.Response:
        return httpx.post(
            f"{self.url}/api_v3/service/cuepoint_cuepoint/action/serveBulk",
            json={"ks": self.ks, **params},
            timeout=60,
        )


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(
        partner_id=PARTNER,
        admin_secret=ADMIN,
        entries=[BIG, SMALL, TYPES],
        tie_seed=7,
        annotation_bulk_permitted=True,  # for the annotation service's count below
    ) as srv:
        store = srv.app.state.emulator.store
        seed(store, BIG, 10_600)
        seed(store, SMALL, 1_500)
        seed(store, TYPES, 2, kind=ANN, prefix="ta")
        seed(store, TYPES, 1, kind=THUMB, prefix="tt")
        yield srv


@pytest.fixture(scope="module")
def admin(server: EmulatorServer) -> Api:
    api = Api(server.url)
    api.ks = api.session()
    return api


def page(api: Api, flt: dict[str, Any], **pager: Any) -> dict[str, Any]:
    params: dict[str, Any] = {"filter": flt}
    if pager:
        params["pager"] = pager
    return api.call("cuepoint_cuepoint", "list", **params)


def test_offsets_of_10000_and_more_are_refused(admin: Api) -> None:
    """SphinxCriteria::applyFilters (plugins/search/providers/sphinx_search/lib/SphinxCriteria.php):
    offset >= MAX_MATCHES (10,000) throws SPHINX_CRITERIA_EXCEEDED_MAX_MATCHES_ALLOWED, which
    KalturaFrontController turns into QUERY_EXCEEDED_MAX_MATCHES_ALLOWED (api_v3/lib/KalturaErrors.php)."""
    flt = {"entryIdEqual": BIG}
    last = page(admin, flt, pageSize=500, pageIndex=20)  # offset 9,500: the last page of the window
    assert len(last["objects"]) == 500 and last["totalCount"] == 10_600
    refused = page(admin, flt, pageSize=500, pageIndex=21)  # offset 10,000
    assert refused == {
        "code": "QUERY_EXCEEDED_MAX_MATCHES_ALLOWED",
        "message": "Unable to generate list. max matches value was reached",
        "objectType": "KalturaAPIException",
        "args": [],  # an empty PHP array
    }
    assert page(admin, flt, pageSize=1, pageIndex=10_001)["code"] == "QUERY_EXCEEDED_MAX_MATCHES_ALLOWED"
    served = admin.serve(filter=flt, pager={"pageSize": 500, "pageIndex": 21}, format=1)
    assert served.json()["code"] == "QUERY_EXCEEDED_MAX_MATCHES_ALLOWED"  # a core error: a normal body


def test_a_page_across_the_window_is_cut_at_10000(admin: Api) -> None:
    """SphinxCriteria::applyFilters: max_matches = min(limit + offset, 10,000), so no row past the
    10,000th; applySphinxResult then reports offset + fetched as the total for a short page."""
    cut = page(admin, {"entryIdEqual": BIG}, pageSize=30, pageIndex=334)  # offset 9,990
    assert len(cut["objects"]) == 10
    assert cut["totalCount"] == 10_000


def test_id_filters_skip_the_index_and_its_window(admin: Api) -> None:
    """SphinxCriteria::shouldSkipSphinx with CuePointIndex::getIndexSkipFieldsList (cue_point.ID):
    an idEqual/idIn query is answered by the database; baseObjectFilter::createSqlIn keeps 500 ids."""
    ids = [f"0_big{i:06d}" for i in range(600)]
    result = page(admin, {"idIn": ",".join(ids)}, pageSize=500)
    assert result["totalCount"] == 500  # the first 500 values of the list only
    assert {o["id"] for o in result["objects"]} == set(ids[:500])


def test_index_in_lists_keep_150_values(admin: Api, server: EmulatorServer) -> None:
    """SphinxCriterion::MAX_IN_VALUES = 150 (plugins/search/providers/sphinx_search/lib/SphinxCriterion.php):
    an In list on an index field keeps its first 150 values."""
    entries = [f"0_e{i:03d}" for i in range(151)]
    store = server.app.state.emulator.store
    for entry in entries:
        seed(store, entry, 1, prefix=f"in{entry[2:]}")
    result = admin.call("cuepoint_cuepoint", "count", filter={"entryIdIn": ",".join(entries)})
    assert result == 150


def test_page_size_defaults(admin: Api) -> None:
    """CuePointService::listAction: no pager -> pageSize = baseObjectFilter::getMaxInValues() (500);
    KalturaPager: pageSize 30 by default; KalturaFilterPager::calcPageSize: max(min(size, 500), 0),
    and 0 sets no limit, so the index returns KalturaCriteria::$maxRecords (1000) ids."""
    flt = {"entryIdEqual": SMALL}
    assert len(page(admin, flt)["objects"]) == 500
    assert len(page(admin, flt, pageIndex=2)["objects"]) == 30
    zero = page(admin, flt, pageSize=0, pageIndex=3)
    assert len(zero["objects"]) == 1000 and zero["totalCount"] == 1500
    assert len(page(admin, flt, pageSize=-5)["objects"]) == 1000
    assert len(page(admin, flt, pageSize=900)["objects"]) == 500
    # serveBulk attaches no pager of its own: 1000 at most
    assert admin.serve(filter=flt).text.count("<scene-code-cue-point") == 1000


def test_fields_the_index_lacks_leave_the_first_1000_ids_to_the_database(admin: Api) -> None:
    """CuePointIndex::getIndexOrderList has no triggered_at: SphinxCriteria::applyFilters then sets
    no limit on the index, which returns its first 1000 ids; the database orders and counts those."""
    result = page(admin, {"entryIdEqual": SMALL, "orderBy": "+triggeredAt"}, pageSize=500, pageIndex=3)
    assert result["totalCount"] == 1000 and result["objects"] == []
    # nor is there a 10,000 window on that path
    assert "objects" in page(admin, {"entryIdEqual": BIG, "orderBy": "-triggeredAt"}, pageSize=500, pageIndex=21)


def _order(url: str, seed_value: int) -> list[str]:
    with EmulatorServer(partner_id=PARTNER, admin_secret=ADMIN, entries=[SMALL], tie_seed=seed_value) as srv:
        seed(srv.app.state.emulator.store, SMALL, 40)
        api = Api(srv.url)
        api.ks = api.session()
        return [o["id"] for o in page(api, {"entryIdEqual": SMALL, "orderBy": "+createdAt"})["objects"]]


def test_equal_sort_keys_come_back_in_a_seeded_order(server: EmulatorServer) -> None:
    """The index has no stable order among equal sort keys (SphinxCriteria orders by the requested
    columns only): rows sharing createdAt come back shuffled by the seed, not in creation order."""
    created_order = [f"0_small{i:06d}" for i in range(40)]
    first, again, other = _order(server.url, 1), _order(server.url, 1), _order(server.url, 2)
    assert sorted(first) == created_order
    assert first == again  # the seed fixes the order
    assert first != created_order and other != first
    # without orderBy the index answers in its id order; +intId is unique, so never shuffled
    with EmulatorServer(partner_id=PARTNER, admin_secret=ADMIN, entries=[SMALL], tie_seed=3) as srv:
        seed(srv.app.state.emulator.store, SMALL, 40)
        api = Api(srv.url)
        api.ks = api.session()
        for order in (None, "+intId"):
            flt = {"entryIdEqual": SMALL, **({"orderBy": order} if order else {})}
            assert [o["id"] for o in page(api, flt)["objects"]] == created_order


def test_count_needs_no_filter(admin: Api) -> None:
    """CuePointService::countAction: a missing filter becomes new KalturaCuePointFilter() and no
    validateEntryIdFiltered runs (only listAction's doGetListResponse calls it)."""
    total = admin.call("cuepoint_cuepoint", "count")
    assert isinstance(total, int) and total >= 10_600 + 1_500 + 3
    assert admin.call("cuepoint_cuepoint", "count", filter={"tagsLike": "nothing"}) == 0


def test_a_type_specific_filter_restricts_the_type_in_list_only(admin: Api) -> None:
    """Kaltura*CuePointFilter::getTypeListResponse passes the type to doGetListResponse (list only);
    countAction/serveBulkAction call toObject()->attachToCriteria without it, while
    cuePointTypeEqual maps to _eq_type and applies everywhere (KalturaCuePointFilter.php)."""
    typed = {"objectType": "KalturaAnnotationFilter", "entryIdEqual": TYPES}
    assert page(admin, typed)["totalCount"] == 2
    assert admin.call("cuepoint_cuepoint", "count", filter=typed) == 3  # the thumb too
    explicit = {**typed, "cuePointTypeEqual": ANN}
    assert admin.call("cuepoint_cuepoint", "count", filter=explicit) == 2
    # serveBulk with the annotation filter takes the thumb too, and thumbs fail the serve schema
    assert admin.serve(filter=typed, format=1).json()["code"] == "INTERNAL_SERVERL_ERROR"
    assert admin.serve(filter=explicit).text.count("<scene-annotation") == 2
    # the annotation *service* forces its type everywhere (CuePointService::getCuePointType)
    assert admin.call("annotation_annotation", "count", filter={"entryIdEqual": TYPES}) == 2


def test_like_is_a_substring_match_with_percent_and_underscore_literal(admin: Api, server: EmulatorServer) -> None:
    """baseObjectFilter::getCriteriaOperatorFromStr (alpha/apps/kaltura/lib/model/objectfilters/
    filters.class.php): Like escapes _ and % before wrapping the value in %...%; MultiLike values
    are split on commas only (MULTI_LIKE_SEPARATOR), trimmed, and one value is matched whole."""
    store = server.app.state.emulator.store
    entry = "0_like"
    store.add_entry(PARTNER, entry_id=entry)
    seed(store, entry, 1, prefix="la", tags="100%,red")
    seed(store, entry, 1, prefix="lb", tags="a_b")
    seed(store, entry, 1, prefix="lc", tags="blue big", systemName="plain")

    def ids(**flt: Any) -> list[str]:
        return sorted(o["id"] for o in page(admin, {"entryIdEqual": entry, **flt})["objects"])

    la, lb, lc = "0_la000000", "0_lb000000", "0_lc000000"
    assert ids(tagsLike="%") == [la]
    assert ids(tagsLike="_") == [lb]
    assert ids(tagsLike="a_b") == [lb] and ids(tagsLike="axb") == []
    assert ids(freeText="%") == [la]
    assert ids(tagsMultiLikeOr="red, a_b") == [la, lb]
    assert ids(tagsMultiLikeOr="blue big") == [lc]  # one value with a space: matched whole
    assert ids(tagsMultiLikeAnd="blue,big") == [lc]
    assert ids(tagsMultiLikeAnd="red,blue") == []
    # systemNameLike is no property of KalturaCuePointFilter (Equal/In only): ignored, as the
    # deserializer ignores unknown properties, so it "matches" every row
    assert ids(systemNameLike="_") == [la, lb, lc]

"""Parameter flattening: the bracket form the server parses (docs/kaltura-api.md#requests), and back."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cuepipe.kaltura import (
    NULL,
    KalturaSearchComparableCondition,
    KalturaSearchCondition,
    KalturaSearchOperator,
    flatten,
    nest,
    unflatten,
)
from cuepipe.kaltura.errors import KalturaParamError, KalturaParamTypeError
from cuepipe.kaltura.params import encode_scalar, null_key, split_key
from cuepipe.vocabulary import CuePointStatus, CuePointType, SearchConditionComparison, SearchOperatorType


def test_nested_filter_with_advanced_search_flattens_to_bracket_keys():
    params = {
        "filter": {
            "objectType": "KalturaAnnotationFilter",
            "entryIdEqual": "0_e",
            "tagsLike": None,
            "advancedSearch": {
                "objectType": "KalturaSearchOperator",
                "type": SearchOperatorType.SEARCH_OR,
                "items": [{"objectType": "KalturaSearchCondition", "field": "a", "value": "b"}],
            },
        },
        "pager": {"objectType": "KalturaFilterPager", "pageSize": 500},
    }
    assert flatten(params) == {
        "filter[objectType]": "KalturaAnnotationFilter",
        "filter[entryIdEqual]": "0_e",
        "filter[tagsLike__null]": "",
        "filter[advancedSearch][objectType]": "KalturaSearchOperator",
        "filter[advancedSearch][type]": "2",
        "filter[advancedSearch][items][0][objectType]": "KalturaSearchCondition",
        "filter[advancedSearch][items][0][field]": "a",
        "filter[advancedSearch][items][0][value]": "b",
        "pager[objectType]": "KalturaFilterPager",
        "pager[pageSize]": "500",
    }


def test_top_level_null_empty_list_and_prefix():
    assert flatten({"x": NULL, "y": None}) == {"x__null": "", "y__null": ""}
    assert flatten({"pluginDataArray": []}) == {"pluginDataArray[-]": ""}
    assert flatten({"entryIdEqual": "0_e"}, prefix="filter") == {"filter[entryIdEqual]": "0_e"}
    assert null_key("filter[advancedSearch][value]") == "filter[advancedSearch][value__null]"


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        (True, "1"),
        (False, "0"),
        (0, "0"),
        (-1, "-1"),
        (1.5, "1.5"),
        ("text", "text"),
        (CuePointStatus.READY, "1"),
        (CuePointType.ANNOTATION, "annotation.Annotation"),
        (SearchConditionComparison.EQUAL, "1"),
        (dt.datetime(2024, 1, 1, tzinfo=dt.UTC), "1704067200"),
        (dt.datetime(2024, 1, 1, 2, tzinfo=dt.timezone(dt.timedelta(hours=2))), "1704067200"),
    ],
)
def test_scalars_are_encoded_as_the_server_casts_them(value, wire):
    assert encode_scalar(value) == wire


@pytest.mark.parametrize("value", [dt.datetime(2024, 1, 1), float("nan"), float("inf")])
def test_ambiguous_scalars_are_refused(value):
    with pytest.raises(KalturaParamError):
        encode_scalar(value)


def test_unsupported_types_are_refused_with_a_type_error():
    with pytest.raises(KalturaParamTypeError, match="bytes"):
        flatten({"x": b"raw"})
    with pytest.raises(KalturaParamTypeError):
        flatten({"x": dt.timedelta(seconds=1)})


@pytest.mark.parametrize("key", ["", "a[b]", "a:b", "x]"])
def test_keys_the_server_would_split_are_refused(key):
    with pytest.raises(KalturaParamError, match="parameter name"):
        flatten({key: "1"})


def test_typed_objects_flatten_like_their_dicts():
    operator = KalturaSearchOperator(type=SearchOperatorType.SEARCH_AND, items=[KalturaSearchCondition(field="f")])
    assert flatten({"advancedSearch": operator}) == {
        "advancedSearch[objectType]": "KalturaSearchOperator",
        "advancedSearch[type]": "1",
        "advancedSearch[items][0][objectType]": "KalturaSearchCondition",
        "advancedSearch[items][0][field]": "f",
    }


def test_unflatten_reads_brackets_legacy_colons_nulls_and_sorts_indexes():
    flat = {
        "filter:objectType": "KalturaCuePointFilter",
        "filter[advancedSearch][items][1][field]": "second",
        "filter[advancedSearch][items][0][field]": "first",
        "filter[tagsLike__null]": "",
        "list[-]": "",
        "ks": "abc",
    }
    assert unflatten(flat) == {
        "filter": {
            "objectType": "KalturaCuePointFilter",
            "advancedSearch": {"items": [{"field": "first"}, {"field": "second"}]},
            "tagsLike": None,
        },
        "list": [],
        "ks": "abc",
    }
    assert split_key("a:b[c][0]") == ["a", "b", "c", "0"]
    with pytest.raises(KalturaParamError):
        split_key("a[b")


def test_json_body_form_matches_the_official_client():
    """docs/kaltura-api.md#advanced-search's verified JSON body for an advancedSearch operator, byte for byte after
    sorting."""
    operator = KalturaSearchOperator(
        type=SearchOperatorType.SEARCH_OR,
        items=[
            KalturaSearchCondition(field="a", value="b"),
            KalturaSearchComparableCondition(field="c", value=5, comparison=SearchConditionComparison.GREATER_THAN),
        ],
    )
    expected = json.loads(
        '{"objectType":"KalturaSearchOperator","type":"2","items":[{"objectType":"KalturaSearchCondition",'
        '"field":"a","value":"b"},{"objectType":"KalturaSearchComparableCondition","field":"c","value":"5",'
        '"comparison":"2"}]}'
    )
    assert nest(flatten({"advancedSearch": operator}))["advancedSearch"] == expected


def test_json_body_form_keeps_null_and_empty_array_markers():
    assert nest(flatten({"filter": {"tagsLike": None}, "items": []})) == {
        "filter": {"tagsLike__null": ""},
        "items": {"-": ""},
    }


# ------------------------------------------------------------------------------------------------
# Property: unflatten(flatten(x)) == x for every nested structure the wire can express.
# ------------------------------------------------------------------------------------------------

names = st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,7}", fullmatch=True)
leaves = st.one_of(st.none(), st.text(max_size=12))


def _nested(children: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(
        st.dictionaries(names, children, min_size=1, max_size=4),
        st.lists(children, max_size=3),
    )


nested_values = st.recursive(leaves, _nested, max_leaves=20)
param_trees = st.dictionaries(names, nested_values, min_size=1, max_size=5)


@given(param_trees)
def test_unflatten_inverts_flatten(tree):
    assert unflatten(flatten(tree)) == tree


@given(param_trees)
def test_flat_values_are_always_strings_and_keys_parse(tree):
    flat = flatten(tree)
    assert all(isinstance(v, str) for v in flat.values())
    for key in flat:
        assert split_key(key)[0].removesuffix("__null") in tree

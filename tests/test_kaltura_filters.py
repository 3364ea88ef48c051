"""Typed filters, pager, search items and bulk upload objects (docs/kaltura-api.md#filters-and-paging,
#bulk-upload-objects)."""

from __future__ import annotations

import datetime as dt
import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cuepipe import vocabulary as voc
from cuepipe.kaltura import (
    CUE_POINT_FILTERS,
    NULL,
    KalturaAdCuePointFilter,
    KalturaAnnotationFilter,
    KalturaAnswerCuePointFilter,
    KalturaBulkUploadCsvJobData,
    KalturaBulkUploadFilter,
    KalturaBulkUploadJobData,
    KalturaBulkUploadResultEntry,
    KalturaBulkUploadXmlJobData,
    KalturaCodeCuePointFilter,
    KalturaCuePointFilter,
    KalturaEventCuePointFilter,
    KalturaFilter,
    KalturaFilterPager,
    KalturaQuestionCuePointFilter,
    KalturaSearchComparableCondition,
    KalturaSearchCondition,
    KalturaSearchItem,
    KalturaSearchMatchCondition,
    KalturaSearchOperator,
    KalturaSessionCuePointFilter,
    KalturaThumbCuePointFilter,
    cue_point_type_of,
    filter_class_for,
)
from cuepipe.kaltura.errors import KalturaParamError, KalturaParamTypeError
from cuepipe.kaltura.objects import snake_case
from cuepipe.vocabulary import (
    AdProtocolType,
    BatchJobStatus,
    BulkUploadObjectType,
    CuePointStatus,
    CuePointType,
    EventType,
    NullableBoolean,
    SearchConditionComparison,
    SearchOperatorType,
    ThumbCuePointSubType,
)

ALL_CUE_POINT_FILTERS = list(CUE_POINT_FILTERS.values())


# ------------------------------------------------------------------------------------------------
# Vocabulary link
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("info", voc.TYPES, ids=lambda i: i.name)
def test_every_vocabulary_type_has_its_filter_class(info):
    cls = filter_class_for(info.api_type)
    assert cls.__name__ == info.filter_class == cls.OBJECT_TYPE
    assert cls.CUE_POINT_TYPE is info.api_type
    assert issubclass(cls, KalturaCuePointFilter)
    assert filter_class_for(info.name) is cls


def test_filter_maps_back_to_its_type():
    assert cue_point_type_of(KalturaThumbCuePointFilter(entry_id_equal="0_e")) is CuePointType.THUMB
    assert cue_point_type_of(KalturaCuePointFilter(cue_point_type_equal="adCuePoint.Ad")) is CuePointType.AD
    assert cue_point_type_of(KalturaCuePointFilter(entry_id_equal="0_e")) is None
    assert cue_point_type_of(KalturaAnnotationFilter) is CuePointType.ANNOTATION


def test_type_filters_inherit_the_cue_point_and_base_filter_fields():
    for cls in ALL_CUE_POINT_FILTERS:
        assert issubclass(cls, KalturaFilter)
        fields = cls.fields()
        assert fields[:2] == ("orderBy", "advancedSearch")
        assert set(KalturaCuePointFilter.fields()) <= set(fields)


# The extra fields each filter adds over KalturaCuePointFilter, from docs/kaltura-api.md#type-specific-filters.
EXTRA_FIELDS = {
    KalturaAnnotationFilter: {
        "parentIdEqual",
        "parentIdIn",
        "textLike",
        "textMultiLikeOr",
        "textMultiLikeAnd",
        "endTimeGreaterThanOrEqual",
        "endTimeLessThanOrEqual",
        "durationGreaterThanOrEqual",
        "durationLessThanOrEqual",
        "isPublicEqual",
    },
    KalturaAdCuePointFilter: {
        "protocolTypeEqual",
        "protocolTypeIn",
        "titleLike",
        "titleMultiLikeOr",
        "titleMultiLikeAnd",
        "endTimeGreaterThanOrEqual",
        "endTimeLessThanOrEqual",
        "durationGreaterThanOrEqual",
        "durationLessThanOrEqual",
    },
    KalturaCodeCuePointFilter: {
        "codeLike",
        "codeMultiLikeOr",
        "codeMultiLikeAnd",
        "codeEqual",
        "codeIn",
        "descriptionLike",
        "descriptionMultiLikeOr",
        "descriptionMultiLikeAnd",
        "endTimeGreaterThanOrEqual",
        "endTimeLessThanOrEqual",
        "durationGreaterThanOrEqual",
        "durationLessThanOrEqual",
    },
    KalturaThumbCuePointFilter: {
        "descriptionLike",
        "descriptionMultiLikeOr",
        "descriptionMultiLikeAnd",
        "titleLike",
        "titleMultiLikeOr",
        "titleMultiLikeAnd",
        "subTypeEqual",
        "subTypeIn",
    },
    KalturaEventCuePointFilter: {"eventTypeEqual", "eventTypeIn"},
    KalturaSessionCuePointFilter: {
        "endTimeGreaterThanOrEqual",
        "endTimeLessThanOrEqual",
        "durationGreaterThanOrEqual",
        "durationLessThanOrEqual",
    },
    KalturaQuestionCuePointFilter: {"questionLike", "questionMultiLikeOr", "questionMultiLikeAnd"},
    KalturaAnswerCuePointFilter: {"parentIdEqual", "parentIdIn", "quizUserEntryIdEqual", "quizUserEntryIdIn"},
}


@pytest.mark.parametrize("cls", list(EXTRA_FIELDS), ids=lambda c: c.__name__)
def test_type_filter_fields_match_the_documented_tables(cls):
    assert set(cls.fields()) - set(KalturaCuePointFilter.fields()) == EXTRA_FIELDS[cls]


def test_cue_point_filter_has_the_base_and_cue_point_fields():
    expected = {
        "orderBy",
        "advancedSearch",
        "idEqual",
        "idIn",
        "cuePointTypeEqual",
        "cuePointTypeIn",
        "statusEqual",
        "statusIn",
        "entryIdEqual",
        "entryIdIn",
        "createdAtGreaterThanOrEqual",
        "createdAtLessThanOrEqual",
        "updatedAtGreaterThanOrEqual",
        "updatedAtLessThanOrEqual",
        "triggeredAtGreaterThanOrEqual",
        "triggeredAtLessThanOrEqual",
        "tagsLike",
        "tagsMultiLikeOr",
        "tagsMultiLikeAnd",
        "startTimeGreaterThanOrEqual",
        "startTimeLessThanOrEqual",
        "userIdEqual",
        "userIdIn",
        "partnerSortValueEqual",
        "partnerSortValueIn",
        "partnerSortValueGreaterThanOrEqual",
        "partnerSortValueLessThanOrEqual",
        "forceStopEqual",
        "systemNameEqual",
        "systemNameIn",
        "freeText",
        "userIdEqualCurrent",
        "userIdCurrent",
    }
    assert set(KalturaCuePointFilter.fields()) == expected


# ------------------------------------------------------------------------------------------------
# Construction, spelling and encoding
# ------------------------------------------------------------------------------------------------


def test_camel_and_snake_spellings_build_the_same_filter():
    camel = KalturaAnnotationFilter(entryIdEqual="0_e", startTimeGreaterThanOrEqual=1000, orderBy="+startTime")
    snake = KalturaAnnotationFilter(entry_id_equal="0_e", start_time_greater_than_or_equal=1000, order_by="+startTime")
    assert camel == snake
    assert hash(camel) == hash(snake)
    assert snake.entry_id_equal == snake.entryIdEqual == "0_e"
    assert snake.text_like is None


def test_to_params_gives_the_exact_wire_parameters():
    flt = KalturaAnnotationFilter(
        entry_id_in=["0_a", "0_b"],
        status_in=[CuePointStatus.READY, 3],
        cue_point_type_equal="annotation.Annotation",
        start_time_greater_than_or_equal=dt.timedelta(seconds=1, milliseconds=500),
        end_time_less_than_or_equal=90_000,
        created_at_greater_than_or_equal=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
        updated_at_greater_than_or_equal=dt.timedelta(days=-1),
        is_public_equal=True,
        force_stop_equal=NullableBoolean.FALSE_VALUE,
        tags_like=NULL,
        order_by=["+startTime", "-createdAt"],
        advanced_search=KalturaSearchMatchCondition(field="f", value="v", not_=True),
    )
    assert flt.to_params("filter") == {
        "filter[objectType]": "KalturaAnnotationFilter",
        "filter[orderBy]": "+startTime,-createdAt",
        "filter[advancedSearch][objectType]": "KalturaSearchMatchCondition",
        "filter[advancedSearch][field]": "f",
        "filter[advancedSearch][value]": "v",
        "filter[advancedSearch][not]": "1",
        "filter[cuePointTypeEqual]": "annotation.Annotation",
        "filter[statusIn]": "1,3",
        "filter[entryIdIn]": "0_a,0_b",
        "filter[createdAtGreaterThanOrEqual]": "1704067200",
        "filter[updatedAtGreaterThanOrEqual]": "-86400",
        "filter[tagsLike__null]": "",
        "filter[startTimeGreaterThanOrEqual]": "1500",
        "filter[forceStopEqual]": "0",
        "filter[endTimeLessThanOrEqual]": "90000",
        "filter[isPublicEqual]": "1",
    }


def test_to_params_without_prefix_and_to_dict():
    flt = KalturaAdCuePointFilter(protocol_type_in=[AdProtocolType.VAST, "3"], title_like="x")
    assert list(flt.to_dict().items()) == [
        ("objectType", "KalturaAdCuePointFilter"),  # objectType first, then fields in declaration order
        ("protocolTypeIn", "1,3"),
        ("titleLike", "x"),
    ]
    assert flt.to_params() == {
        "objectType": "KalturaAdCuePointFilter",
        "protocolTypeIn": "1,3",
        "titleLike": "x",
    }


@pytest.mark.parametrize(
    ("cls", "kwargs", "key", "wire"),
    [
        (KalturaThumbCuePointFilter, {"sub_type_in": [ThumbCuePointSubType.SLIDE, 2]}, "subTypeIn", "1,2"),
        (KalturaThumbCuePointFilter, {"sub_type_equal": "2"}, "subTypeEqual", "2"),
        (KalturaEventCuePointFilter, {"event_type_in": [EventType.BROADCAST_END]}, "eventTypeIn", "2"),
        (KalturaEventCuePointFilter, {"event_type_equal": 1}, "eventTypeEqual", "1"),
        (
            KalturaCuePointFilter,
            {"cue_point_type_in": [CuePointType.AD, "thumbCuePoint.Thumb"]},
            "cuePointTypeIn",
            "adCuePoint.Ad,thumbCuePoint.Thumb",
        ),
        (KalturaCuePointFilter, {"partner_sort_value_in": [1, 2]}, "partnerSortValueIn", "1,2"),
        (KalturaCuePointFilter, {"id_in": "0_a,0_b"}, "idIn", "0_a,0_b"),
        (KalturaCuePointFilter, {"status_in": "1,2"}, "statusIn", "1,2"),
        (KalturaCuePointFilter, {"status_equal": "READY"}, "statusEqual", "1"),
        (KalturaCuePointFilter, {"user_id_current": False}, "userIdCurrent", "0"),
        (
            KalturaSessionCuePointFilter,
            {"duration_less_than_or_equal": dt.timedelta(minutes=1)},
            "durationLessThanOrEqual",
            "60000",
        ),
        (
            KalturaBulkUploadFilter,
            {"status_in": [BatchJobStatus.FINISHED, BatchJobStatus.FAILED]},
            "statusIn",
            "5,6",
        ),
        (
            KalturaBulkUploadFilter,
            {"bulk_upload_object_type_equal": BulkUploadObjectType.ENTRY},
            "bulkUploadObjectTypeEqual",
            "1",
        ),
        (KalturaBulkUploadFilter, {"uploaded_on_equal": 1_700_000_000}, "uploadedOnEqual", "1700000000"),
    ],
)
def test_value_encodings(cls, kwargs, key, wire):
    assert cls(**kwargs).to_params()[key] == wire


def test_unknown_field_suggests_the_nearest_name_in_the_callers_spelling():
    with pytest.raises(KalturaParamError, match=r"has no field 'entryIdEquals'; did you mean 'entryIdEqual'\?"):
        KalturaAnnotationFilter(entryIdEquals="0_e")
    with pytest.raises(KalturaParamError, match=r"did you mean 'entry_id_equal'\?"):
        KalturaAnnotationFilter(entry_id_equals="0_e")
    with pytest.raises(KalturaParamError, match=r"did you mean 'start_time_greater_than_or_equal'"):
        KalturaCuePointFilter(start_time_greater_or_equal=1)
    with pytest.raises(KalturaParamError, match="Valid fields: orderBy, advancedSearch"):
        KalturaCuePointFilter(zzz=1)


def test_type_specific_field_on_the_wrong_filter_is_rejected():
    with pytest.raises(KalturaParamError, match="KalturaThumbCuePointFilter has no field 'textLike'"):
        KalturaThumbCuePointFilter(textLike="x")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"entry_id_equal": 5}, r"entryIdEqual: expected str, got int 5"),
        ({"start_time_greater_than_or_equal": "10"}, r"expected integer milliseconds or timedelta, got str"),
        ({"start_time_greater_than_or_equal": 1.5}, r"expected integer milliseconds"),
        ({"start_time_less_than_or_equal": True}, r"expected integer milliseconds"),
        ({"created_at_greater_than_or_equal": "2024-01-01"}, r"unix seconds"),
        ({"entry_id_in": 7}, r"comma-separated str or a list"),
        ({"entry_id_in": [1.5]}, r"list items of str or int"),
        ({"advanced_search": {"field": "x"}}, r"expected a KalturaSearchItem"),
        ({"status_equal": CuePointType.AD}, r"expected CuePointStatus"),
    ],
)
def test_wrong_value_types_fail_at_construction(kwargs, message):
    with pytest.raises(KalturaParamTypeError, match=message):
        KalturaAnnotationFilter(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"status_equal": 9}, r"9 is not a CuePointStatus \(READY=1"),
        ({"status_in": [1, 99]}, r"99 is not a CuePointStatus"),
        ({"cue_point_type_equal": "annotation"}, r"'annotation' is not a CuePointType"),
        ({"entry_id_in": []}, r"empty list"),
        ({"entry_id_in": " "}, r"empty string is ignored"),
        ({"status_in": ""}, r"empty list"),
        ({"entry_id_in": ["0_a", "0_b,0_c"]}, r"contains the separator"),
        ({"created_at_greater_than_or_equal": dt.datetime(1975, 1, 1, tzinfo=dt.UTC)}, r"before 1980"),
        ({"created_at_greater_than_or_equal": dt.datetime(2024, 1, 1)}, r"naive datetime"),
        ({"created_at_greater_than_or_equal": dt.timedelta(days=4000)}, r"within 315360000 s"),
    ],
)
def test_invalid_values_fail_at_construction(kwargs, message):
    with pytest.raises(KalturaParamError, match=message):
        KalturaAnnotationFilter(**kwargs)


@pytest.mark.parametrize(
    ("cls", "order_by", "message"),
    [
        (
            KalturaAnnotationFilter,
            "startTime",
            r"invalid orderBy 'startTime'; did you mean '\+startTime' or "
            r"'-startTime'\?",
        ),
        (KalturaAnnotationFilter, "+startTme", r"did you mean '\+startTime'\?"),
        (KalturaAnnotationFilter, "-end_time", r"did you mean '-endTime'\?"),
        (KalturaThumbCuePointFilter, "+endTime", r"KalturaThumbCuePointFilter: invalid orderBy '\+endTime'"),
        (KalturaSessionCuePointFilter, "+duration", r"invalid orderBy '\+duration'"),
        (KalturaBulkUploadFilter, "+id", r"KalturaBulkUploadFilter has no orderBy values"),
    ],
)
def test_invalid_order_by_fails_with_a_suggestion(cls, order_by, message):
    with pytest.raises(KalturaParamError, match=message):
        cls(order_by=order_by)


def test_order_by_lists_per_type():
    assert KalturaSessionCuePointFilter(order_by="-endTime").order_by == "-endTime"
    assert KalturaCodeCuePointFilter(order_by="+duration").order_by == "+duration"
    assert KalturaAnswerCuePointFilter(order_by="-intId").order_by == "-intId"
    assert KalturaCuePointFilter(order_by=" +startTime , -updatedAt").order_by == "+startTime,-updatedAt"


def test_given_twice_in_both_spellings_is_an_error():
    with pytest.raises(KalturaParamError, match="given twice"):
        KalturaCuePointFilter(entryIdEqual="a", entry_id_equal="b")


def test_type_filter_rejects_a_contradicting_type():
    with pytest.raises(KalturaParamError, match="contradicts"):
        KalturaAnnotationFilter(cue_point_type_equal=CuePointType.AD)
    assert KalturaAnnotationFilter(cue_point_type_equal=CuePointType.ANNOTATION).cue_point_type_equal is (
        CuePointType.ANNOTATION
    )


def test_list_requirement_check():
    assert not KalturaAnnotationFilter(tags_like="x").has_required_for_list()
    assert KalturaAnnotationFilter(entry_id_in=["0_a"]).has_required_for_list()
    assert KalturaCuePointFilter(id_equal="0_c").has_required_for_list()


def test_objects_are_immutable_replace_returns_a_copy_and_pickle_round_trips():
    flt = KalturaCodeCuePointFilter(entry_id_equal="0_e", code_like="x")
    with pytest.raises(AttributeError, match="immutable"):
        flt.entry_id_equal = "0_f"  # type: ignore[misc]
    changed = flt.replace(entry_id_equal="0_f", code_like=None)
    assert changed.values() == {"entryIdEqual": "0_f"}
    assert flt.values() == {"entryIdEqual": "0_e", "codeLike": "x"}
    assert pickle.loads(pickle.dumps(flt)) == flt
    assert pickle.loads(pickle.dumps(KalturaCodeCuePointFilter(code_like=NULL))).code_like is NULL
    assert repr(flt) == "KalturaCodeCuePointFilter(entryIdEqual='0_e', codeLike='x')"
    with pytest.raises(AttributeError, match="has no field 'nope'"):
        _ = flt.nope


def test_abstract_classes_cannot_be_built():
    for cls in (KalturaFilter, KalturaSearchItem, KalturaBulkUploadJobData):
        with pytest.raises(KalturaParamTypeError, match="abstract on the server"):
            cls()


# ------------------------------------------------------------------------------------------------
# Pager
# ------------------------------------------------------------------------------------------------


def test_pager_bounds_and_next_page():
    pager = KalturaFilterPager(page_size=500, page_index=1)
    assert pager.to_params("pager") == {
        "pager[objectType]": "KalturaFilterPager",
        "pager[pageSize]": "500",
        "pager[pageIndex]": "1",
    }
    assert pager.next_page() == KalturaFilterPager(pageSize=500, pageIndex=2)
    assert KalturaFilterPager().next_page().page_index == 2
    with pytest.raises(KalturaParamError, match="pageSize must be at most 500, got 501"):
        KalturaFilterPager(page_size=501)
    with pytest.raises(KalturaParamError, match="pageSize must be at least 1"):
        KalturaFilterPager(page_size=0)
    with pytest.raises(KalturaParamError, match="pageIndex must be at least 1, got 0"):
        KalturaFilterPager(page_index=0)
    with pytest.raises(KalturaParamTypeError, match="expected int"):
        KalturaFilterPager(page_size="10")


# ------------------------------------------------------------------------------------------------
# Search items and bulk upload objects
# ------------------------------------------------------------------------------------------------


def test_search_operator_tree():
    tree = KalturaSearchOperator(
        type=SearchOperatorType.SEARCH_AND,
        items=[
            KalturaSearchComparableCondition(field="n", value=5, comparison=SearchConditionComparison.LESS_THAN),
            KalturaSearchOperator(type=2, items=[KalturaSearchCondition(field="a", value=1.5)]),
        ],
    )
    assert tree.to_params("advancedSearch") == {
        "advancedSearch[objectType]": "KalturaSearchOperator",
        "advancedSearch[type]": "1",
        "advancedSearch[items][0][objectType]": "KalturaSearchComparableCondition",
        "advancedSearch[items][0][field]": "n",
        "advancedSearch[items][0][value]": "5",
        "advancedSearch[items][0][comparison]": "4",
        "advancedSearch[items][1][objectType]": "KalturaSearchOperator",
        "advancedSearch[items][1][type]": "2",
        "advancedSearch[items][1][items][0][objectType]": "KalturaSearchCondition",
        "advancedSearch[items][1][items][0][field]": "a",
        "advancedSearch[items][1][items][0][value]": "1.5",
    }
    assert KalturaSearchOperator(type=1, items=[]).to_params() == {
        "objectType": "KalturaSearchOperator",
        "type": "1",
        "items[-]": "",
    }
    with pytest.raises(KalturaParamTypeError, match="list items of type KalturaSearchItem"):
        KalturaSearchOperator(items=[{"field": "x"}])
    with pytest.raises(KalturaParamTypeError, match="expected bool"):
        KalturaSearchMatchCondition(not_=1)


def test_bulk_upload_objects():
    assert KalturaBulkUploadXmlJobData(file_name="cues.xml").to_params("bulkUploadData") == {
        "bulkUploadData[objectType]": "KalturaBulkUploadXmlJobData",
        "bulkUploadData[fileName]": "cues.xml",
    }
    csv = KalturaBulkUploadCsvJobData(columns=["title", "tags"])
    assert csv.to_params() == {
        "objectType": "KalturaBulkUploadCsvJobData",
        "columns[0][objectType]": "KalturaString",
        "columns[0][value]": "title",
        "columns[1][objectType]": "KalturaString",
        "columns[1][value]": "tags",
    }
    with pytest.raises(KalturaParamError, match="has no field 'csv_version'"):
        KalturaBulkUploadCsvJobData(csv_version=2)


def test_secret_fields_are_masked_in_repr():
    result = KalturaBulkUploadResultEntry(
        entry_id="0_e", ssh_private_key="-----BEGIN KEY-----", ssh_key_passphrase="pw"
    )
    text = repr(result)
    assert "BEGIN KEY" not in text and "pw'" not in text
    assert "sshPrivateKey='***'" in text and "entryId='0_e'" in text


# ------------------------------------------------------------------------------------------------
# Property: every field is reachable by both spellings, and encodes to a string
# ------------------------------------------------------------------------------------------------


@given(st.sampled_from(ALL_CUE_POINT_FILTERS), st.data())
def test_every_str_field_accepts_both_spellings(cls, data):
    str_fields = [p for p in cls._props.values() if p.kind == "str"]
    prop = data.draw(st.sampled_from(str_fields))
    value = data.draw(st.text(min_size=1, max_size=20))
    by_camel = cls(**{prop.name: value})
    by_snake = cls(**{snake_case(prop.name): value})
    assert by_camel == by_snake
    assert by_camel.to_params("f") == {"f[objectType]": cls.OBJECT_TYPE, f"f[{prop.name}]": value}

"""Real documents the server produced (read from ../shared, never copied into the project)."""

from __future__ import annotations

from pathlib import Path

import pytest

import cuepipe

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "kaltura" / "fixtures"
pytestmark = pytest.mark.skipif(not FIXTURES.is_dir(), reason="shared fixtures not available")

EXPECTED = {
    "ingest-2013-basic.xml": ("ingest", {"adCuePoint.Ad": 1, "annotation.Annotation": 2, "codeCuePoint.Code": 1}),
    "ingest-2013-metadata.xml": ("ingest", {"adCuePoint.Ad": 1, "annotation.Annotation": 2, "codeCuePoint.Code": 1}),
    "serve-2013-ads.xml": ("serve", {"adCuePoint.Ad": 3}),
    "serve-2013-large.xml": ("serve", {"adCuePoint.Ad": 57, "annotation.Annotation": 49, "codeCuePoint.Code": 29}),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_counts_per_type_and_validity(name):
    kind, counts = EXPECTED[name]
    df = cuepipe.read_xml(FIXTURES / name)
    assert df["cuePointType"].value_counts().to_dict() == counts
    assert cuepipe.validate(FIXTURES / name, kind=kind).ok


@pytest.mark.parametrize("name", [n for n, (k, _) in EXPECTED.items() if k == "ingest"])
def test_ingest_fixtures_rewritten_stay_valid_and_equal(name):
    records = list(cuepipe.iter_cue_points(FIXTURES / name))
    xml = cuepipe.write_xml(records)
    assert cuepipe.validate(xml).ok
    assert list(cuepipe.iter_cue_points(xml)) == records


def test_serve_fixture_details():
    df = cuepipe.read_xml(FIXTURES / "serve-2013-large.xml")
    custom = df["customData"].dropna()
    assert sum(len(c) for c in custom) == 33
    first = custom.iloc[0][0]
    assert {"metadataId", "metadataVersion", "metadataProfileId", "metadataProfileVersion", "xml"} <= set(first)
    assert first["xml"].startswith("<metadata")
    both = df[df["parentSystemName"].notna() & df["parentId"].notna()]
    assert len(both) > 0  # serve carries parent and parentId
    names = df["systemName"].dropna()
    assert names.duplicated().any()  # old data has duplicate system names; the reader keeps them
    served = cuepipe.write_xml(df, kind="serve")
    assert cuepipe.validate(served, kind="serve").ok


def test_serve_fixture_to_ingest_needs_a_choice_for_read_only_fields():
    df = cuepipe.read_xml(FIXTURES / "serve-2013-ads.xml")
    with pytest.raises(cuepipe.CuePointValueError, match="userId"):
        cuepipe.write_xml(df)
    xml = cuepipe.write_xml(df.drop(columns=["id"]), unsupported="ignore")
    assert cuepipe.validate(xml).ok

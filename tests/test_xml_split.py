"""Byte-level splitting of a document into blocks (cuepipe/xml/_split.py, under cuepipe.dask.read_xml):
the blocks read one by one give exactly the rows of the whole document, wherever the cuts fall."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cuepipe
from cuepipe.xml._split import block_document, root_end

from .strategies import records


def read_in_blocks(doc: bytes, cuts: list[int]) -> pd.DataFrame:
    starts = [0, *sorted({c for c in cuts if 0 < c < len(doc)})]
    frames = []
    for block, start in enumerate(starts):
        nxt = starts[block + 1] if block + 1 < len(starts) else None
        part = block_document(io.BytesIO(doc), block, start, nxt)
        if part == "whole":
            frames.append(cuepipe.read_xml(doc) if block == 0 else cuepipe.empty_frame())
        elif part is not None:
            frames.append(cuepipe.read_xml(part.text))
    return pd.concat(frames, ignore_index=True) if frames else cuepipe.empty_frame()


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(kind=st.sampled_from(["ingest", "serve"]), data=st.data())
def test_blocks_give_the_rows_of_the_whole_document(kind: str, data: st.DataObject) -> None:
    recs = data.draw(st.lists(records(kind), min_size=1, max_size=10))
    doc = cuepipe.write_xml(recs, kind=kind)
    cuts = data.draw(st.lists(st.integers(0, len(doc)), max_size=6))
    pd.testing.assert_frame_equal(read_in_blocks(doc, cuts), cuepipe.read_xml(doc))


def test_documents_that_cannot_be_split_are_read_whole() -> None:
    doc = cuepipe.write_xml([{"cuePointType": "codeCuePoint.Code", "entryId": "e", "startTime": 1}])
    assert root_end(doc) is not None
    for unsplittable in (b"\x1f\x8b" + doc, doc.decode().encode("utf-16"), b"<scenes/>", b"<!DOCTYPE x>" + doc):
        assert root_end(unsplittable) is None
        assert block_document(io.BytesIO(unsplittable), 0, 0, 10) == "whole"
        assert block_document(io.BytesIO(unsplittable), 1, 10, None) is None

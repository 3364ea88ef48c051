"""Checked by mypy (tests/test_typing.py), never run: the public functions whose return type depends
on an argument give callers the precise type, not a union they must narrow."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import assert_type

import pandas as pd

import cuepipe
from cuepipe import frames, xml

RECORDS = [{"cuePointType": "codeCuePoint.Code", "entryId": "e", "startTime": 1}]

assert_type(cuepipe.read_xml(b"<scenes/>"), pd.DataFrame)
assert_type(cuepipe.read_xml(b"<scenes/>", chunksize=10), Iterator[pd.DataFrame])
assert_type(frames.read_xml("x.xml", chunksize=None), pd.DataFrame)

assert_type(cuepipe.write_xml(RECORDS), bytes)
assert_type(cuepipe.write_xml(RECORDS, kind="serve"), bytes)
assert_type(cuepipe.write_xml(RECORDS, "out.xml"), int)
assert_type(xml.write_xml(RECORDS, io.BytesIO()), int)

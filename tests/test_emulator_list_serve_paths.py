"""The emulator's list and serveBulk shortcuts (issue 13, target 4) against the code they replace.

* cue point rows read as tuples and zipped with the statement's column names (``Store.cue_point_rows``)
  against ``decode_cue_point`` of ``sqlite3.Row`` objects;
* the null-dropping of JSON responses against the plain recursive version, compared as the JSON
  text the response carries (so key order counts too);
* the serve writer against the writer as it was before (kept below as the reference), on rows of
  every type with values drawn by hypothesis, with and without the server's bugs;
* whole responses (list in JSON and XML, serveBulk, count) of one emulator against the reference
  functions put back in place, byte for byte.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Mapping
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cuepipe
from cuepipe import vocabulary as voc
from cuepipe.emulator import objects, query, render, serve, services
from cuepipe.emulator.render import _drop_nulls
from cuepipe.emulator.serve import ServeWriter, _el, _text, escape_attr, php_truthy, php_xml_encode
from cuepipe.emulator.store import Store
from cuepipe.emulator.timecode import integer_to_time

# ------------------------------------------------------------------------------------ rows


def _store_with_rows() -> Store:
    store = Store(":memory:")
    rows = [
        ("0_a", "annotation.Annotation", None, '[{"key": "1", "weight": 1.0}]'),
        ("0_b", "adCuePoint.Ad", '{"x": [1, null]}', None),
        ("0_c", "codeCuePoint.Code", None, None),
    ]
    for i, (cid, kind, custom, answers) in enumerate(rows):
        store.conn.execute(
            'INSERT INTO cue_points (id, partnerId, cuePointType, status, createdAt, updatedAt, "customData", '
            '"optionalAnswers", "entryId", "text") VALUES (?, 1, ?, 1, ?, 3, ?, ?, ?, ?)',
            (cid, kind, i, custom, answers, f"0_e{i % 2}", "t & <x>" if i else None),
        )
    return store


def test_cue_point_rows_equal_decoded_sqlite_rows() -> None:
    store = _store_with_rows()
    for sql, args in [
        ("SELECT * FROM cue_points ORDER BY intId", ()),
        ('SELECT * FROM cue_points WHERE "entryId" = ? ORDER BY intId DESC', ("0_e1",)),
        ('SELECT intId, id, "optionalAnswers" FROM cue_points WHERE id IN (?, ?)', ("0_a", "0_c")),
        ("SELECT * FROM cue_points WHERE id = ?", ("nothing",)),
    ]:
        fast = store.cue_point_rows(sql, args)
        reference = [Store.decode_cue_point(r) for r in store.query(sql, args)]
        assert [list(r.items()) for r in fast] == [list(r.items()) for r in reference]
    # the connection's own rows are still sqlite3.Row (other queries index them by name)
    assert store.query("SELECT id FROM cue_points LIMIT 1")[0]["id"] == "0_a"


# ------------------------------------------------------------------------------------ JSON nulls


def _reference_drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: _reference_drop_nulls(v) if isinstance(v, dict | list) else v for k, v in value.items() if v is not None
        }
    if isinstance(value, list):
        return [_reference_drop_nulls(v) if isinstance(v, dict | list) else v for v in value]
    return value


class _Dict(dict[str, Any]):
    pass


scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=3))
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.text(max_size=2), inner, max_size=4),
        st.dictionaries(st.text(max_size=2), inner, max_size=3).map(_Dict),
    ),
    max_leaves=30,
)


def _text_of(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_dropping_nulls_gives_the_same_json_text(value: Any) -> None:
    assert _text_of(_drop_nulls(value)) == _text_of(_reference_drop_nulls(value))


def test_dropping_nulls_of_a_list_page() -> None:
    row = {"id": "0_a", "cuePointType": "annotation.Annotation", "startTime": 5, "endTime": 9, "isPublic": 0}
    answers = dict(row, cuePointType="quiz.QUIZ_QUESTION", optionalAnswers=[{"key": "1", "text": None}])
    answers["correctAnswerKeys"] = "1,2"
    page = objects.list_response([objects.cue_point(row), objects.cue_point(answers)], 2, "KalturaCuePointListResponse")
    assert _text_of(_drop_nulls(page)) == _text_of(_reference_drop_nulls(page))


# ------------------------------------------------------------------------------------ serve writer


class ReferenceServeWriter(ServeWriter):
    """``ServeWriter.scene`` as it was written before its per-type element-name tables."""

    def scene(self, row: Mapping[str, Any], parents: Mapping[str, Mapping[str, Any]]) -> str:
        info = voc.type_info(row["cuePointType"])
        if info.element is None:
            return ""
        attrs = f' sceneId="{escape_attr(str(row["id"]))}" entryId="{escape_attr(str(row["entryId"]))}"'
        if php_truthy(row.get("systemName")):
            name = str(row["systemName"])
            attrs += f' systemName="{escape_attr(_reference_xml_encode(name) if self.server_bugs else name)}"'
        parts = [_el("sceneStartTime", self.time(row.get("startTime")))]
        if row.get("userId"):
            parts.append(_el("userId", str(row["userId"])))
        tags = str(row.get("tags") or "")
        if tags.strip(" \r\n\t"):
            parts.append("<tags>" + "".join(_el("tag", t) for t in tags.split(",")) + "</tags>")
        parts += self._reference_type_elements(info, row, parents)
        return f"<{info.element}{attrs}>{''.join(parts)}</{info.element}>"

    def time(self, ms: int | None) -> str:
        return integer_to_time(ms, server_bugs=self.server_bugs)

    def _reference_type_elements(
        self, info: voc.CuePointTypeInfo, row: Mapping[str, Any], parents: Mapping[str, Mapping[str, Any]]
    ) -> list[str]:
        t = voc.CuePointType
        x = lambda column: serve._xml_name(info, column)  # noqa: E731
        end = row.get("endTime")
        out: list[str] = []
        if info.api_type == t.ANNOTATION:
            out.append(_el(x("endTime"), self.time(end)))
            if php_truthy(row.get("text")):
                out.append(_el(x("text"), str(row["text"])))
            parent = parents.get(str(row.get("parentId"))) if row.get("parentId") else None
            if parent is not None:
                if php_truthy(parent.get("systemName")):
                    out.append(_el(x("parentSystemName"), str(parent["systemName"])))
                out.append(_el(x("parentId"), str(parent["id"])))
        elif info.api_type == t.AD:
            if php_truthy(end):
                out.append(_el(x("endTime"), self.time(end)))
            for column in ("title", "sourceUrl"):
                if php_truthy(row.get(column)):
                    out.append(_el(x(column), str(row[column])))
            out += [
                _el(x("adType"), _text(row.get("adType"))),
                _el(x("protocolType"), _text(row.get("protocolType"))),
            ]
        elif info.api_type == t.CODE:
            if php_truthy(end):
                out.append(_el(x("endTime"), self.time(end)))
            out.append(_el(x("code"), _text(row.get("code"))))
            if php_truthy(row.get("description")):
                out.append(_el(x("description"), str(row["description"])))
        elif info.api_type == t.THUMB:
            if self.server_bugs:
                if php_truthy(end):
                    out.append(_el(x("endTime"), self.time(end)))
                out += [_el(x(c), _text(row.get(c))) for c in ("title", "description", "subType", "assetId")]
            else:
                out += [
                    _el(x("title"), _text(row.get("title"))),
                    _el(x("description"), _text(row.get("description"))),
                ]
                if row.get("subType") is not None:
                    out.append(_el(x("subType"), _text(row["subType"])))
        elif info.api_type == t.QUIZ_QUESTION:
            for column in ("question", "hint", "explanation"):
                if php_truthy(row.get(column)):
                    out.append(_el(x(column), str(row[column])))
            out += self._answers(info, row.get("optionalAnswers") or [])
        elif info.api_type == t.QUIZ_ANSWER:
            for column in ("answerKey", "quizUserEntryId", "parentId"):
                if php_truthy(row.get(column)):
                    out.append(_el(x(column), str(row[column])))
        elif info.api_type == t.SESSION:
            if php_truthy(end):
                out.append(_el(x("endTime"), self.time(end)))
            if php_truthy(row.get("name")):
                out.append(_el(x("name"), str(row["name"])))
        return out


def _reference_xml_encode(value: str) -> str:
    return (
        value.replace("&", "&amp;")
        .replace('"', "&quot;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("'", "&apos;")
    )


texts = st.one_of(
    st.none(),
    st.just(""),
    st.just("0"),
    st.integers(-3, 3),
    st.text(alphabet=st.sampled_from(list("ab&<>\"'\n\r\t, é")), max_size=8),
)
millis = st.one_of(st.none(), st.integers(-5000, 10**8), st.sampled_from([0, 950, 999, 5_950, 3_599_999]))
_COLUMNS = (
    "systemName",
    "userId",
    "tags",
    "text",
    "title",
    "sourceUrl",
    "adType",
    "protocolType",
    "code",
    "description",
    "subType",
    "assetId",
    "question",
    "hint",
    "explanation",
    "answerKey",
    "quizUserEntryId",
    "parentId",
    "name",
)
answers = st.lists(
    st.fixed_dictionaries(
        {"key": texts, "text": texts, "weight": st.one_of(st.none(), st.floats(0, 5)), "isCorrect": st.integers(0, 1)}
    ),
    max_size=3,
)


@st.composite
def scene_rows(draw: st.DrawFn) -> dict[str, Any]:
    info = draw(st.sampled_from(list(voc.TYPES)))
    row: dict[str, Any] = {c: draw(texts) for c in _COLUMNS}
    row.update(
        id=draw(st.sampled_from(["0_a", "0_b&<", '1_"x"'])),
        entryId="0_e",
        cuePointType=info.api_type.value,
        startTime=draw(millis),
        endTime=draw(millis),
        optionalAnswers=draw(st.one_of(st.none(), answers)),
    )
    return row


parent_rows = st.dictionaries(
    st.sampled_from(["0_a", "0_b&<", "1", "a"]),
    st.fixed_dictionaries({"id": st.sampled_from(["0_p", "0_q&"]), "systemName": texts}),
    max_size=3,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(scene_rows(), max_size=5), parent_rows, st.booleans(), st.sampled_from(["h:1", "a&b"]))
def test_serve_writer_equals_the_reference(
    rows: list[dict[str, Any]], parents: dict[str, Any], bugs: bool, host: str
) -> None:
    fast = ServeWriter(server_bugs=bugs, cdn_host=host).document(rows, parents)
    reference = ReferenceServeWriter(server_bugs=bugs, cdn_host=host).document(rows, parents)
    assert fast == reference


@settings(max_examples=300, deadline=None)
@given(st.lists(scene_rows(), max_size=4), parent_rows, st.booleans(), st.data())
def test_serve_writer_reads_only_its_columns(
    rows: list[dict[str, Any]], parents: dict[str, Any], bugs: bool, data: st.DataObject
) -> None:
    """serveBulk reads only ``SERVE_COLUMNS``: the document of the full rows is that of the rows cut to them."""
    from cuepipe.emulator.store import CUE_POINT_COLUMNS

    full = [{**{c: data.draw(texts) for c in CUE_POINT_COLUMNS if c not in row}, **row} for row in rows]
    cut = [{k: v for k, v in row.items() if k in serve.SERVE_COLUMNS} for row in full]
    writer = ServeWriter(server_bugs=bugs, cdn_host="h")
    assert writer.document(cut, parents) == writer.document(full, parents)


@given(st.text(max_size=10) | st.text(alphabet=st.sampled_from(list("&\"<>'a")), max_size=10))
def test_xml_encode_equals_the_replace_chain(value: str) -> None:
    assert php_xml_encode(value) == _reference_xml_encode(value)


# ------------------------------------------------------------------------------------ whole responses


def _reference_select(
    store: Store, sql_where: str, args: list[Any], order: str, limit: int | None, offset: int, *, columns: str = "*"
) -> list[dict[str, Any]]:
    """``query._select`` as it was: every column, ``sqlite3.Row`` objects decoded one by one."""
    sql = f"SELECT intId FROM cue_points WHERE {sql_where} ORDER BY {order}"
    all_args = list(args)
    if limit is not None:
        sql += " LIMIT ? OFFSET ?"
        all_args += [limit, offset]
    with store.lock:
        ids = [r[0] for r in store.query(sql, all_args)]
        by_id: dict[int, Any] = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            marks = ", ".join("?" * len(chunk))
            by_id.update(
                (r["intId"], r) for r in store.query(f"SELECT * FROM cue_points WHERE intId IN ({marks})", chunk)
            )
    return [Store.decode_cue_point(by_id[i]) for i in ids]


def _reference_cue_point(row: Mapping[str, Any], cls: str | None = None) -> dict[str, Any]:
    cls = cls or voc.type_info(row["cuePointType"]).api_class
    props = objects.properties(cls) or ()
    out = {p.name: objects.cue_point_value(row, p.name) if p.name != "relatedObjects" else None for p in props}
    out["objectType"] = cls
    return out


def _use_reference_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    """Puts the reference functions in place of the shortcuts (for the same emulator)."""
    monkeypatch.setattr(query, "_select", _reference_select)
    monkeypatch.setattr(objects, "cue_point", _reference_cue_point)
    monkeypatch.setattr(render, "_drop_nulls", _reference_drop_nulls)
    monkeypatch.setattr(services, "ServeWriter", ReferenceServeWriter)


def _upload(entry: str) -> bytes:
    """An ingest document of 40 annotations, codes and ads, some names and texts needing escapes."""
    records: list[dict[str, Any]] = []
    for i in range(40):
        common = {
            "entryId": entry,
            "systemName": f"n{i} & <x>" if i % 5 == 0 else f"n{i}",
            "startTime": i * 1037 % 60_000,
            "tags": "a,b & c" if i % 2 else "",
        }
        if i % 3 == 0:
            records.append(
                {"cuePointType": "annotation.Annotation", "endTime": 60_000, "text": f"t{i} é <b>", **common}
            )
        elif i % 3 == 1:
            records.append({"cuePointType": "codeCuePoint.Code", "code": f"c{i}", "description": "d", **common})
        else:
            records.append(
                {
                    "cuePointType": "adCuePoint.Ad",
                    "endTime": 120_950,
                    "title": f"ad {i}",
                    "sourceUrl": f"https://x/?a=1&b={i}",
                    "adType": "1",
                    "protocolType": "1",
                    **common,
                }
            )
    buf = io.BytesIO()
    cuepipe.write_xml(records, buf, kind="ingest")
    return buf.getvalue()


def test_responses_equal_the_reference_paths(start_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    srv = start_emulator(partner_id=4242, admin_secret="list-paths-admin", entries=["0_lsa", "0_lsb"], tie_seed=7)
    api = srv.url + "/api_v3/service/cuepoint_cuepoint/action/"
    ks = httpx.post(
        srv.url + "/api_v3/service/session/action/start",
        data={"secret": "list-paths-admin", "partnerId": "4242", "type": "2", "format": "1"},
    ).json()
    for entry in ("0_lsa", "0_lsb"):
        r = httpx.post(
            api + "addFromBulk",
            data={"ks": ks, "format": "1"},
            files={"fileData": ("c.xml", _upload(entry), "text/xml")},
        )
        assert r.json()["totalCount"] == 40, r.text[:300]
    names = ",".join(f"n{i}" for i in range(1, 40, 2))
    calls: list[tuple[str, dict[str, str]]] = []
    for fmt in ("1", "2"):
        calls += [
            ("list", {"format": fmt, "filter[entryIdEqual]": "0_lsa", "filter[orderBy]": "+createdAt"}),
            (
                "list",
                {"format": fmt, "filter[entryIdIn]": "0_lsa,0_lsb", "pager[pageSize]": "7", "pager[pageIndex]": "3"},
            ),
            ("list", {"format": fmt, "filter[entryIdEqual]": "0_lsb", "filter[systemNameIn]": names}),
            ("count", {"format": fmt, "filter[entryIdEqual]": "0_lsb", "filter[systemNameIn]": names}),
            ("list", {"format": fmt, "filter[objectType]": "KalturaAdCuePointFilter", "filter[entryIdEqual]": "0_lsa"}),
            ("list", {"format": fmt}),  # an error: no entry or id filter
        ]
    calls += [
        ("serveBulk", {"filter[entryIdEqual]": "0_lsa", "pager[pageSize]": "500"}),
        ("serveBulk", {"filter[entryIdIn]": "0_lsa,0_lsb", "filter[orderBy]": "-startTime"}),
        ("serveBulk", {"filter[entryIdEqual]": "0_lsb", "filter[systemNameIn]": names}),
    ]

    def answers() -> list[bytes]:
        out = []
        for action, params in calls:
            body = httpx.post(api + action, data={"ks": ks, **params}).content
            out.append(re.sub(rb"<executionTime>[^<]*</executionTime>", b"", body))
        return out

    fast = answers()
    _use_reference_paths(monkeypatch)
    reference = answers()
    assert len(fast) == len(calls)
    for (action, params), a, b in zip(calls, fast, reference, strict=True):
        assert a == b, (action, params)
    assert fast[0].count(b'"objectType":"KalturaAnnotation"') == 14


# ------------------------------------------------------------------------------------ objects

column_values = st.one_of(st.none(), st.integers(-5, 5), st.text(max_size=4), st.just("1,2"), st.just(""))


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(list(voc.TYPES)), st.data())
def test_cue_point_objects_of_stored_rows_equal_the_reference(info: voc.CuePointTypeInfo, data: st.DataObject) -> None:
    from cuepipe.emulator.store import CUE_POINT_COLUMNS

    row: dict[str, Any] = {c: data.draw(column_values) for c in CUE_POINT_COLUMNS}
    row.update(cuePointType=info.api_type.value, startTime=data.draw(st.integers(0, 10**6)))
    if not isinstance(row["endTime"], int):
        row["endTime"] = None
    row["optionalAnswers"] = data.draw(st.one_of(st.none(), st.just([{"key": "1", "weight": 1.0}])))
    row["correctAnswerKeys"] = data.draw(st.sampled_from([None, "", "1,2"]))
    shape = data.draw(st.sampled_from(["stored", "missing a column", "extra property", "relatedObjects"]))
    if shape == "missing a column":
        # any column but the type and the start time, which every cue point has (duration needs it:
        # without it both paths raise the same KeyError, which is not what is compared here)
        del row[
            data.draw(st.sampled_from(sorted(k for k in CUE_POINT_COLUMNS if k not in ("cuePointType", "startTime"))))
        ]
    elif shape == "extra property":
        row[data.draw(st.sampled_from(["copiedFrom", "relatedObjects", "objectType", "unknown"]))] = "x"
    elif shape == "relatedObjects":
        row["relatedObjects"] = [{"a": 1}]
    cls = data.draw(st.one_of(st.none(), st.just(info.api_class), st.just("KalturaAnnotation")))
    assert list(objects.cue_point(row, cls).items()) == list(_reference_cue_point(row, cls).items())

"""cuepipe.dask on a real local Dask cluster (two worker processes): read, write, push, errors."""

from __future__ import annotations

import functools
import gzip
import logging
import os
import pickle
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

pytest.importorskip("dask.dataframe")
pytest.importorskip("distributed")

import dask  # noqa: E402
import dask.dataframe as dd  # noqa: E402
from distributed import Client as DaskClient  # noqa: E402
from distributed import LocalCluster  # noqa: E402

import cuepipe  # noqa: E402
import cuepipe.dask as cdask  # noqa: E402
from benchmarks.generate import generate, ingest_view  # noqa: E402
from cuepipe.emulator import EmulatorServer  # noqa: E402
from cuepipe.vocabulary import CuePointType  # noqa: E402

from .helpers import EmulatorFactory  # noqa: E402

pytestmark = pytest.mark.slow  # worker processes, a cluster per module

PARTNER, ADMIN = 4242, "dask-admin-secret-19c2"


@pytest.fixture(scope="module")
def cluster() -> Iterator[DaskClient]:
    """Two single-threaded worker processes: the tasks really cross process boundaries (pickling)."""
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=logging.ERROR
        ) as lc,
        DaskClient(lc) as client,
    ):
        yield client


def ingest_records(n: int, seed: int) -> list[dict[str, Any]]:
    """Mixed cue points of every type, several entries with 50-400 each (the benchmark generator)."""
    return [ingest_view(r, i) for i, r in enumerate(generate(n, seed))]


def pushable_records(n: int, seed: int) -> list[dict[str, Any]]:
    """Records the emulator accepts as new (no ids or parentIds of cue points it never saw), each with
    a systemName, which a push with a journal needs to find out what landed."""
    out = []
    for i, rec in enumerate(generate(n, seed)):
        rec = ingest_view(rec, i)
        if rec["cuePointType"] == CuePointType.QUIZ_ANSWER:
            continue
        rec.pop("id", None)
        rec.pop("parentId", None)
        rec.setdefault("systemName", f"cue-{seed}-{i}")
        out.append(rec)
    return out


def write_files(records: list[dict[str, Any]], directory: Path, count: int, *, gz_last: bool = False) -> list[str]:
    """Split the records into ``count`` contiguous files (so entries span files)."""
    directory.mkdir(parents=True, exist_ok=True)
    size = -(-len(records) // count)
    paths = []
    for i in range(count):
        name = f"cues-{i:02d}.xml" + (".gz" if gz_last and i == count - 1 else "")
        path = directory / name
        cuepipe.write_xml(records[i * size : (i + 1) * size], path)
        paths.append(str(path))
    return paths


def single_process(paths: list[str]) -> pd.DataFrame:
    return pd.concat([cuepipe.read_xml(p) for p in paths], ignore_index=True)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    return write_files(ingest_records(1200, 3), tmp_path_factory.mktemp("in"), 5, gz_last=True)


# ---------------------------------------------------------------------------------------------------------
# read
# ---------------------------------------------------------------------------------------------------------


def test_read_many_files_equals_single_process(cluster: DaskClient, files: list[str]) -> None:
    ddf = cdask.read_xml(files)
    assert ddf.npartitions == len(files)
    assert ddf.dtypes.to_dict() == cuepipe.empty_frame().dtypes.to_dict()
    got = ddf.compute()
    expected = single_process(files)
    pd.testing.assert_frame_equal(got.reset_index(drop=True), expected)
    assert isinstance(got["customData"].dropna().iloc[0], list)  # nested values survived the trip

    by_glob = cdask.read_xml(os.path.join(os.path.dirname(files[0]), "cues-*.xml*")).compute()
    pd.testing.assert_frame_equal(by_glob.reset_index(drop=True), expected)


def test_building_the_graph_opens_no_file(cluster: DaskClient, tmp_path: Path) -> None:
    later = [str(tmp_path / f"later-{i}.xml") for i in range(3)]
    ddf = cdask.read_xml(later)  # the files do not exist yet: any open would fail here
    assert list(ddf.columns) == list(cuepipe.DTYPES)
    made = write_files(ingest_records(300, 8), tmp_path / "src", 3)
    for src, dst in zip(made, later, strict=True):
        os.replace(src, dst)
    pd.testing.assert_frame_equal(ddf.compute().reset_index(drop=True), single_process(later))
    with pytest.raises(FileNotFoundError):
        cdask.read_xml(str(tmp_path / "nothing-*.xml"))


def test_blocksize_splits_a_large_file_without_changing_the_rows(cluster: DaskClient, tmp_path: Path) -> None:
    records = ingest_records(2500, 5)
    path = tmp_path / "big.xml"
    cuepipe.write_xml(records, path)
    ddf = cdask.read_xml(str(path), blocksize=40_000)
    assert ddf.npartitions == -(-path.stat().st_size // 40_000) > 10
    pd.testing.assert_frame_equal(ddf.compute().reset_index(drop=True), cuepipe.read_xml(path))

    gz = tmp_path / "big.xml.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    assert cdask.read_xml(str(gz), blocksize=40_000).npartitions == 1  # a gzip stream cannot be entered midway
    hidden = tmp_path / "gzip-named.xml"  # gzip content under a plain name: found when read, read whole
    hidden.write_bytes(gz.read_bytes())
    split = cdask.read_xml(str(hidden), blocksize=40_000)
    assert split.npartitions > 1
    pd.testing.assert_frame_equal(split.compute().reset_index(drop=True), cuepipe.read_xml(path))


def test_a_split_is_exact_or_fails_never_wrong(tmp_path: Path) -> None:
    """Look-alike start tags in comments and CDATA: every block size gives the exact rows or an error."""
    xml = cuepipe.write_xml(ingest_records(200, 9)).decode()
    ends = xml.split("</scene-annotation>\n")
    fake = '<scene-annotation entryId="0_fake"><sceneStartTime>00:00:01</sceneStartTime></scene-annotation>'
    harmless, fooling = f"<!-- {fake} -->", f"<!-- </scene-annotation>\n{fake} -->"  # the second fools the scanner
    pieces = [ends[0]]
    for i, rest in enumerate(ends[1:]):
        decoy = fooling if i == 20 else harmless if i % 4 == 0 else ""
        pieces.append("</scene-annotation>\n" + decoy + "\n" + rest)
    data = "".join(pieces).replace("<text>", "<text><![CDATA[<scene-code-cue-point >]]>").encode()
    path = tmp_path / "decoys.xml"
    path.write_bytes(data)
    whole = cuepipe.read_xml(path)
    in_fooling = data.index(b"<!-- </scene-annotation>") + 5  # a block starting here takes the fake tag
    # in the second half, so that a block size of that many bytes makes this the only boundary:
    in_harmless = data.rindex(b"<!-- <scene-annotation") + 5  # here the scanner skips the fake tag
    in_cdata = data.rindex(b"<![CDATA[") + 3
    assert min(in_harmless, in_cdata) > len(data) // 2
    outcomes = {}
    for blocksize in [in_fooling, (in_fooling + 1) // 2, in_harmless, in_cdata, *range(1500, 9000, 700)]:
        try:
            got = cdask.read_xml(str(path), blocksize=blocksize).compute(scheduler="sync")
        except cdask.PartitionError as exc:
            assert "blocksize=None" in str(exc) and exc.path == str(path)
            outcomes[blocksize] = "failed"
            continue
        pd.testing.assert_frame_equal(got.reset_index(drop=True), whole)
        outcomes[blocksize] = "exact"
    assert outcomes[in_fooling] == outcomes[(in_fooling + 1) // 2] == "failed"
    assert outcomes[in_harmless] == outcomes[in_cdata] == "exact"
    assert list(outcomes.values()).count("exact") > 5


def test_read_error_names_partition_and_record(cluster: DaskClient, files: list[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.xml"
    text = Path(files[0]).read_text(encoding="utf-8")
    third = [i for i in range(len(text)) if text.startswith("<sceneStartTime>", i)][2]
    bad.write_text(text[:third] + "<sceneStartTime>99:99</sceneStartTime>" + text[third + 38 :], encoding="utf-8")
    with pytest.raises(cdask.PartitionError) as info:
        cdask.read_xml([files[1], str(bad)]).compute()
    assert info.value.partition == 1 and info.value.record == 2 and info.value.path == str(bad)
    assert info.value.cause_type == "XMLFormatError"


# ---------------------------------------------------------------------------------------------------------
# write
# ---------------------------------------------------------------------------------------------------------


def test_write_per_partition_gives_one_valid_document_each(
    cluster: DaskClient, files: list[str], tmp_path: Path
) -> None:
    written = cdask.write_xml(cdask.read_xml(files), tmp_path / "out")
    assert [os.path.basename(p) for p in written] == [f"part-{i:05d}.xml" for i in range(len(files))]
    for src, out in zip(files, written, strict=True):
        assert cuepipe.validate(out, kind="ingest").ok
        pd.testing.assert_frame_equal(cuepipe.read_xml(out), cuepipe.read_xml(src))

    gz = cdask.write_xml(cdask.read_xml(files[:2]), tmp_path / "gz", name_function=lambda i: f"p{i}.xml.gz")
    assert [Path(p).read_bytes()[:2] for p in gz] == [b"\x1f\x8b"] * 2
    assert all(cuepipe.validate(p, kind="ingest").ok for p in gz)


def test_write_per_entry_groups_across_partitions_in_input_order(
    cluster: DaskClient, files: list[str], tmp_path: Path
) -> None:
    expected = single_process(files)
    spread = expected.assign(part=[i for i, p in enumerate(files) for _ in range(len(cuepipe.read_xml(p)))])
    assert (spread.groupby("entryId")["part"].nunique() > 1).any()  # some entries really span files
    written = cdask.write_xml(cdask.read_xml(files), tmp_path / "entries", per="entry")
    entries = sorted(expected["entryId"].unique())
    assert written == sorted(str(tmp_path / "entries" / cdask.entry_file_name(e)) for e in entries)
    for entry, path in zip(entries, written, strict=True):
        assert cuepipe.validate(path, kind="ingest").ok
        rows = expected[expected["entryId"] == entry].reset_index(drop=True)
        pd.testing.assert_frame_equal(cuepipe.read_xml(path), rows)  # same rows, same order (parents first)


def test_group_by_entry_puts_each_entry_in_one_partition_in_input_order(cluster: DaskClient, files: list[str]) -> None:
    expected = single_process(files)
    grouped = cdask.group_by_entry(cdask.read_xml(files))
    assert grouped.dtypes.to_dict() == cuepipe.empty_frame().dtypes.to_dict()
    parts = dask.compute(*grouped.to_delayed())
    homes = {e: [i for i, part in enumerate(parts) if (part["entryId"] == e).any()] for e in expected["entryId"]}
    assert all(len(h) == 1 for h in homes.values())
    for entry, (home,) in homes.items():
        rows = parts[home][parts[home]["entryId"] == entry].reset_index(drop=True)
        pd.testing.assert_frame_equal(rows, expected[expected["entryId"] == entry].reset_index(drop=True))


def test_entry_file_names_are_safe_and_distinct() -> None:
    ids = ["0_abc123", "0_ABC123", "../../etc/passwd", "a/b", "a_b", "a\\b", "", ".", "con", "x" * 300, "é"]
    names = [cdask.entry_file_name(e) for e in ids]
    assert names[0] == "0_abc123.xml"
    assert len(set(names)) == len(names)
    for name in names:
        assert "/" not in name and "\\" not in name and not name.startswith(".") and len(name) < 130
        assert name.endswith(".xml") and name.lower() != "con.xml"
    assert cdask.entry_file_name("a/b") == cdask.entry_file_name("a/b")


def _frame_with_bad_row(records: list[dict[str, Any]], bad_at: int) -> pd.DataFrame:
    df = cuepipe.records_to_frame(records).copy()
    df.loc[bad_at, "startTime"] = 25 * 3_600_000  # ingest times are xs:time: under 24 h
    return df


def test_write_error_names_partition_and_record(cluster: DaskClient, tmp_path: Path) -> None:
    records = ingest_records(400, 4)
    df = _frame_with_bad_row(records, 250)
    with dask.config.set({"dataframe.convert-string": False}):
        ddf = dd.from_pandas(df, npartitions=4, sort=True)
    lengths = ddf.map_partitions(len).compute().tolist()
    starts = [sum(lengths[:i]) for i in range(len(lengths))]
    part = max(i for i, s in enumerate(starts) if s <= 250)
    with pytest.raises(cdask.PartitionError) as info:
        cdask.write_xml(ddf, tmp_path / "bad")
    assert (info.value.partition, info.value.record, info.value.field) == (part, 250 - starts[part], "startTime")
    assert not (tmp_path / "bad" / f"part-{part:05d}.xml").exists()  # atomic: no partial file

    with pytest.raises(cdask.PartitionError) as info:
        cdask.write_xml(ddf, tmp_path / "bad-entry", per="entry")
    assert (info.value.partition, info.value.record, info.value.field) == (part, 250 - starts[part], "startTime")


def test_nested_columns_turned_into_text_by_dask_get_a_hint(files: list[str], tmp_path: Path) -> None:
    ddf = dd.from_pandas(cuepipe.read_xml(files[0]), npartitions=2)  # dask's default string conversion
    with pytest.raises(cdask.PartitionError, match="convert-string") as info:
        cdask.write_xml(ddf, tmp_path / "text")
    assert info.value.field in ("optionalAnswers", "customData")


def test_partition_error_survives_pickling() -> None:
    err = cdask.PartitionError("boom", 3, 7, "startTime", path="/x.xml", cause_type="CuePointValueError")
    back = pickle.loads(pickle.dumps(err))
    assert (back.partition, back.record, back.field, back.path, str(back)) == (3, 7, "startTime", "/x.xml", str(err))


# ---------------------------------------------------------------------------------------------------------
# push
# ---------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def push_input(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], pd.DataFrame]:
    paths = write_files(pushable_records(900, 11), tmp_path_factory.mktemp("push"), 4)
    return paths, single_process(paths)


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory,
    push_input: tuple[list[str], pd.DataFrame],
    start_emulator: EmulatorFactory,
) -> EmulatorServer:
    db = tmp_path_factory.mktemp("emulator") / "kaltura.sqlite"
    entries = sorted(push_input[1]["entryId"].unique()) + ["0_other1", "0_resume1"]
    return start_emulator(partner_id=PARTNER, admin_secret=ADMIN, entries=entries, db=str(db))


def factory(server: EmulatorServer) -> Any:
    return functools.partial(cuepipe.Client, server.url, partner_id=PARTNER, admin_secret=ADMIN)


def counts(server: EmulatorServer, entries: list[str]) -> dict[str, int]:
    with cuepipe.Client(server.url, partner_id=PARTNER, admin_secret=ADMIN) as client:
        return {e: client.count({"entryIdEqual": e}) for e in entries}


def test_push_partitions_in_parallel_once_per_row(
    cluster: DaskClient, server: EmulatorServer, push_input: tuple[list[str], pd.DataFrame], tmp_path: Path
) -> None:
    paths, frame = push_input
    entries = sorted(frame["entryId"].unique())
    assert frame["parentSystemName"].notna().any()  # children name parents, maybe in another file
    journal_dir = tmp_path / "journals"
    result = cdask.push(cdask.read_xml(paths), factory(server), journal_dir=journal_dir, chunk_size=100)

    assert list(result.columns) == list(cdask.PUSH_RESULT_COLUMNS)
    assert result["entryId"].tolist() == frame["entryId"].tolist()  # input order
    assert result["partition"].tolist() == [i for i, p in enumerate(paths) for _ in range(len(cuepipe.read_xml(p)))]
    assert set(result["action"]) == {"created"} and result["id"].is_unique
    assert counts(server, entries) == frame["entryId"].value_counts().to_dict()
    assert result.groupby("entryId")["push_partition"].nunique().eq(1).all()  # one partition per entry

    # every child got its parent, including children whose parent is in another file (partition)
    by_name = {
        (e, n): (i, part)
        for e, n, i, part in zip(frame["entryId"], frame["systemName"], result["id"], result["partition"], strict=True)
    }
    with cuepipe.Client(server.url, partner_id=PARTNER, admin_secret=ADMIN) as client:
        parent_of = client.pull({"entryIdIn": entries}, precision="ms").set_index("id")["parentId"]
    children = frame["parentSystemName"].notna().to_numpy()
    expected = [
        by_name[(e, n)] for e, n in zip(frame["entryId"][children], frame["parentSystemName"][children], strict=True)
    ]
    assert parent_of.loc[result["id"][children]].tolist() == [i for i, _ in expected]
    assert any(part != child for (_, part), child in zip(expected, result["partition"][children], strict=True))

    journals = sorted(n for n in os.listdir(journal_dir) if n.endswith(".sqlite"))
    assert journals == sorted(f"part-{i:05d}.sqlite" for i in set(result["push_partition"]))
    assert result.attrs["uploads"] >= len(entries) and result.attrs["resumed"] == 0
    again = cdask.push(cdask.read_xml(paths), factory(server), journal_dir=journal_dir, chunk_size=100)
    assert again.attrs["resumed"] == again.attrs["uploads"] == result.attrs["uploads"]  # all from the journals
    assert set(again["action"]) == {"created"}  # a re-send would have said "updated" (systemNames match)
    assert again["id"].tolist() == result["id"].tolist()
    assert counts(server, entries) == frame["entryId"].value_counts().to_dict()


def test_push_resumes_from_the_journals_after_a_failure(
    cluster: DaskClient, server: EmulatorServer, tmp_path: Path
) -> None:
    good = write_files(on_entry(pushable_records(160, 41), "0_resume1"), tmp_path / "good", 2)
    late = write_files(on_entry(pushable_records(80, 42), "0_late1"), tmp_path / "late", 1)  # entry not there yet
    ddf = cdask.read_xml(good + late)
    journals = tmp_path / "journals"
    first = cdask.push(ddf, factory(server), journal_dir=journals, errors="collect", chunk_size=50)
    is_late = first["entryId"] == "0_late1"
    assert set(first.loc[is_late, "action"]) == {"failed"} and set(first.loc[~is_late, "action"]) == {"created"}
    done_uploads = first.loc[~is_late].groupby(["push_partition", "upload"]).ngroups

    server.app.state.emulator.store.add_entry(PARTNER, entry_id="0_late1", name="late")  # the cause is fixed
    second = cdask.push(ddf, factory(server), journal_dir=journals, errors="collect", chunk_size=50)
    assert set(second["action"]) == {"created"}
    assert second.attrs["resumed"] == done_uploads  # confirmed uploads come from the journals, unsent
    assert second.loc[~is_late, "id"].tolist() == first.loc[~is_late, "id"].tolist()
    assert counts(server, ["0_resume1", "0_late1"]) == {
        "0_resume1": int((~is_late).sum()),
        "0_late1": int(is_late.sum()),
    }


def on_entry(records: list[dict[str, Any]], entry: str) -> list[dict[str, Any]]:
    return [{**r, "entryId": entry} for r in records]


def test_push_error_names_partition(cluster: DaskClient, server: EmulatorServer, tmp_path: Path) -> None:
    ok = write_files(on_entry(pushable_records(60, 22), "0_other1"), tmp_path / "ok", 1)
    bad = write_files(on_entry(pushable_records(120, 21), "0_nosuchentry"), tmp_path / "bad", 1)
    ddf = cdask.read_xml(ok + bad)
    with pytest.raises(cdask.PartitionError) as info:
        cdask.push(ddf, factory(server), by_entry=False)
    assert info.value.partition == 1 and info.value.record == 0 and info.value.cause_type == "PushError"
    assert "0_nosuchentry" in str(info.value) and info.value.result is not None

    collected = cdask.push(ddf, factory(server), errors="collect")
    failed = collected["entryId"] == "0_nosuchentry"
    assert set(collected.loc[failed, "action"]) == {"failed"} and collected.loc[failed, "partition"].eq(1).all()
    assert set(collected.loc[~failed, "action"]) <= {"created", "updated"}


def test_push_warns_when_entries_span_partitions_without_grouping(
    cluster: DaskClient, server: EmulatorServer, tmp_path: Path
) -> None:
    records = on_entry([r for r in pushable_records(200, 31) if "parentSystemName" not in r], "0_other1")
    paths = write_files(records, tmp_path / "split", 2)
    with pytest.warns(RuntimeWarning, match="several partitions"):
        result = cdask.push(cdask.read_xml(paths), factory(server), by_entry=False)
    assert result["push_partition"].nunique() == 2


def test_push_refuses_a_client_or_an_unpicklable_factory(server: EmulatorServer, files: list[str]) -> None:
    ddf = cdask.read_xml(files)
    with (
        cuepipe.Client(server.url, partner_id=PARTNER, admin_secret=ADMIN) as client,
        pytest.raises(TypeError, match="cannot be shipped"),
    ):
        cdask.push(ddf, client)  # type: ignore[arg-type]
    with socket.socket() as sock, pytest.raises(TypeError, match="picklable"):
        cdask.push(ddf, lambda: cuepipe.Client(server.url, ks=str(sock)))

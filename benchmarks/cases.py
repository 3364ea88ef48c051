"""Benchmark cases: what each one prepares (untimed) and what it does (timed), plus the child entry point.

Every case runs in a fresh process so its peak RSS is its own, and imports only what it uses (the
lxml floors do not import pandas or cuepipe)::

    python -m benchmarks.cases CASE_ID FILES_JSON WORKDIR

``FILES_JSON`` holds the input paths (``ingest_xml``, ``serve_xml``, ``frame``, ``ingest_xsd``,
``serve_xsd``). The child prints one line ``RESULT {json}`` with wall seconds, CPU seconds and memory.

Memory: after setup the child garbage-collects, notes its RSS (``base_mb``), resets the kernel's
peak-RSS mark (``echo 5 > /proc/self/clear_refs``, Linux >= 4.0) and reads ``VmHWM`` after the timed
region (``peak_mb``: the process's absolute peak while the case ran; ``delta_mb = peak_mb - base_mb``).
Where the reset is not available ``peak_mb`` falls back to ``ru_maxrss`` (which then includes setup).
"""

from __future__ import annotations

import gc
import json
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Role = Literal["subject", "peer", "floor"]
Files = dict[str, Any]

CHUNKSIZE = 50_000
SCENE_TAGS = (
    "scene-annotation",
    "scene-ad-cue-point",
    "scene-code-cue-point",
    "scene-thumb-cue-point",
    "scene-question-cue-point",
    "scene-answer-cue-point",
    "scene-session-cue-point",
)

#: What pandas.read_xml loses on a serve document (checked on the generated data).
PANDAS_READ_LOSSES = (
    "pandas.read_xml (default xpath './*') flattens each cue point to its direct children's text and "
    "attributes and loses: (1) the element name, i.e. the cue point type (nothing says annotation vs ad); "
    "(2) all nested content: <tags>/<tag>, <optionalAnswers>/<optionalAnswer> and <scene-customData> "
    "(incl. its metadata attributes and <metadata> body) come back as all-NaN float64 columns; "
    "(3) empty elements such as <description/> become NaN (empty string and 'absent' merge); "
    "(4) mixed types: answerKey '1' and adType/protocolType '1' become float64 1.0, subType float64; "
    "(5) times stay xs:time text ('00:01:02.3'), not integer ms; (6) fields sharing an element name "
    "across types merge into one column (sceneTitle = ad title and session name; description = code "
    "and thumb)."
)
PANDAS_WRITE_NOTE = (
    "DataFrame.to_xml cannot write list-of-dict cells (optionalAnswers, customData): it raises "
    "'ValueError: The truth value of an array ... is ambiguous', so those two columns are turned into "
    "JSON text before the timed region. Its output is a flat <data><row> document, not the Kaltura "
    "format (not valid against the ingest schema)."
)
XMLSCHEMA_LAZY_NOTE = (
    "xmlschema 4.3 with XMLResource(lazy=True) (lazy depth 1) wrongly validates every <scenes> child "
    "against the abstract substitution-group head type T_scene and reports thousands of false errors "
    "('XsdComplexType(name=T_scene) is abstract'); lazy=2 validates correctly and is what is timed."
)


@dataclass(frozen=True)
class Case:
    """One measured thing. ``setup(files, workdir)`` is untimed; ``run(state)`` is timed."""

    id: str
    groups: tuple[str, ...]
    label: str
    role: Role
    setup: Callable[[Files, Path], Any]
    run: Callable[[Any], Any]
    count: Callable[[Any], int] = len
    note: str = ""
    kwargs: dict[str, Any] = field(default_factory=dict)
    once: bool = False  # run at one size only (the client cost cases: their cost is per cue point)
    #: runs beyond ``--repeat`` at the sizes targets apply to (still within ``--repeat-budget``): for
    #: the two sides of a ratio target that sits close to its bound, whose best of three moves with
    #: this machine's minute-to-minute speed more than the code's speed does (analysis.md)
    extra_runs: int = 0


# ---------------------------------------------------------------------------------------------------
# read: serve XML -> in-memory records
# ---------------------------------------------------------------------------------------------------


def _serve_path(files: Files, _: Path) -> str:
    return str(files["serve_xml"])


def _ingest_path(files: Files, _: Path) -> str:
    return str(files["ingest_xml"])


def _setup_cuepipe_read(files: Files, workdir: Path) -> str:
    import cuepipe  # noqa: F401  (import outside the timed region)

    return _serve_path(files, workdir)


def _run_cuepipe_read(path: str) -> Any:
    import cuepipe

    return cuepipe.read_xml(path)


def _setup_one_core_read(files: Files, workdir: Path) -> str:
    """read_xml with the worker thread off: libxml2 parses in the calling thread, as on one core."""
    from cuepipe.xml import reader

    reader._PIPE_MIN_BYTES = None
    return _serve_path(files, workdir)


def _setup_pandas_read(files: Files, workdir: Path) -> str:
    import lxml.etree  # noqa: F401
    import pandas  # noqa: F401

    return _serve_path(files, workdir)


def _run_pandas_read(path: str) -> Any:
    import pandas as pd

    return pd.read_xml(path, parser="lxml")


def _setup_xmlschema_read(files: Files, _: Path) -> tuple[Any, str]:
    import xmlschema

    return xmlschema.XMLSchema(str(files["serve_xsd"])), str(files["serve_xml"])


def _run_xmlschema_read(state: tuple[Any, str]) -> Any:
    schema, path = state
    return schema.to_dict(path)


def _count_xmlschema(d: Any) -> int:
    return sum(len(v) if isinstance(v, list) else 1 for k, v in d.items() if k.startswith("scene-"))


def _setup_lxml(files: Files, workdir: Path) -> str:
    import lxml.etree  # noqa: F401

    return _serve_path(files, workdir)


def _run_parse(path: str) -> Any:
    from lxml import etree

    return etree.parse(path).getroot()


def _run_iterparse(path: str) -> int:
    from lxml import etree

    n = 0
    for _, elem in etree.iterparse(path, events=("end",), tag=SCENE_TAGS):
        n += 1
        elem.clear(keep_tail=True)
        parent = elem.getparent()
        while elem.getprevious() is not None:
            del parent[0]
    return n


def _run_cuepipe_chunked(path: str) -> int:
    import cuepipe

    rows = 0
    for chunk in cuepipe.read_xml(path, chunksize=CHUNKSIZE):
        rows += len(chunk)
    return rows


def _setup_sax_floor(files: Files, workdir: Path) -> str:
    from cuepipe.xml import reader

    if reader._speedups is None or not reader._speedups.SAX:
        raise RuntimeError("the compiled tree-free reader is not available")
    return _serve_path(files, workdir)


def _run_sax_floor(path: str) -> int:
    from cuepipe.xml import reader

    with open(path, "rb") as f:
        data = f.read()
    if not reader._speedups.SAX or not reader._speedups.sax_floor(data, reader._BLOCK):  # type: ignore[union-attr]
        raise AssertionError("libxml2's SAX2 parser refused the document")
    return 0


# ---------------------------------------------------------------------------------------------------
# the CSV anchor: the same table as CSV, read and written by pyarrow.csv (issue 13, "the CSV tax")
# ---------------------------------------------------------------------------------------------------


def _csv_table(frame: Any) -> Any:
    """A typed cuepipe frame as the Arrow table a CSV file holds: nested columns (answers, custom
    metadata) as JSON text, as cuepipe's own CSV writer stores them; every other column as is."""
    import pyarrow as pa

    from cuepipe.frames import _encode_nested

    return pa.Table.from_pandas(_encode_nested(frame), preserve_index=False)


def _setup_csv_read(files: Files, _: Path) -> str:
    """The table ``read_xml`` gives for the serve document, as CSV next to it (made once, cached)."""
    import os

    import pyarrow.csv as pacsv

    path = Path(str(files["serve_xml"]) + ".csv")
    if not path.is_file():
        import cuepipe

        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        pacsv.write_csv(_csv_table(cuepipe.read_xml(files["serve_xml"])), tmp)
        os.replace(tmp, path)
    return str(path)


def _run_csv_read(path: str) -> Any:
    import pyarrow.csv as pacsv

    # text values hold line breaks (descriptions, custom metadata): the option a reader of this CSV needs
    return pacsv.read_csv(path, parse_options=pacsv.ParseOptions(newlines_in_values=True))


def _count_table(table: Any) -> int:
    return int(table.num_rows)


# ---------------------------------------------------------------------------------------------------
# write: DataFrame -> ingest XML
# ---------------------------------------------------------------------------------------------------


def _setup_cuepipe_write(files: Files, workdir: Path) -> tuple[Any, Path]:
    import pandas as pd

    import cuepipe  # noqa: F401

    return pd.read_pickle(files["frame"]), workdir / "write-cuepipe.xml"


def _run_cuepipe_write(state: tuple[Any, Path]) -> int:
    import cuepipe

    df, out = state
    return cuepipe.write_xml(df, out, kind="ingest")


def _records(files: Files) -> list[dict[str, Any]]:
    """The ingest records the typed frame and the ingest file were made from (``generate.ensure_data``),
    as plain dicts; generated once per data set and cached as a pickle next to the frame."""
    import os
    import pickle

    path = Path(str(files["frame"]) + ".records.pkl")
    if not path.is_file():
        from .generate import generate, ingest_view

        records = [ingest_view(r, i) for i, r in enumerate(generate(int(files["n"]), int(files["seed"])))]
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(pickle.dumps(records, protocol=pickle.HIGHEST_PROTOCOL))
        os.replace(tmp, path)
    with open(path, "rb") as f:
        records: list[dict[str, Any]] = pickle.load(f)
    return records


def _user_frame(files: Files) -> Any:
    """The records as a user builds a DataFrame of them: ``pd.DataFrame(records)``, with every other
    row's tags as a list. pandas picks the dtypes: ``str`` text columns (NaN where missing), int64
    ``startTime``, float64 ``endTime`` and ``subType`` (NaN where missing), object columns of lists
    (tags: text or lists; answers and custom metadata: lists of dicts, NaN where missing)."""
    import pandas as pd

    records = _records(files)
    for i, rec in enumerate(records):
        if i % 2 and "tags" in rec:
            rec["tags"] = rec["tags"].split(",")
    return pd.DataFrame(records)


def _setup_user_frame_write(files: Files, workdir: Path) -> tuple[Any, Path, str]:
    import cuepipe  # noqa: F401

    return _user_frame(files), workdir / "write-user-frame.xml", str(files["ingest_xml"])


def _setup_arrow_frame_write(files: Files, workdir: Path) -> tuple[Any, Path, str]:
    """The user's frame with pandas' Arrow dtypes (``convert_dtypes(dtype_backend="pyarrow")``:
    ``string[pyarrow]`` text, ``int64[pyarrow]`` times and subType with nulls; tags stay mixed objects)."""
    import cuepipe  # noqa: F401

    frame = _user_frame(files).convert_dtypes(dtype_backend="pyarrow")
    return frame, workdir / "write-arrow-frame.xml", str(files["ingest_xml"])


def _setup_records_write(files: Files, workdir: Path) -> tuple[Any, Path, str]:
    import cuepipe  # noqa: F401

    return _records(files), workdir / "write-records.xml", str(files["ingest_xml"])


def _run_any_write(state: tuple[Any, Path, str]) -> tuple[int, Path, str]:
    import cuepipe

    data, out, expected = state
    return cuepipe.write_xml(data, out, kind="ingest"), out, expected


def _count_same_output(result: tuple[int, Path, str]) -> int:
    """After the timed region: the output must be byte for byte the ingest file the typed frame writes
    (``write.cuepipe`` checks that one), else the case fails."""
    n, out, expected = result
    if out.read_bytes() != Path(expected).read_bytes():
        raise AssertionError(f"{out.name} differs from the ingest file the typed frame writes")
    return n


def _setup_csv_write(files: Files, workdir: Path) -> tuple[Any, Path]:
    import pandas as pd

    return _csv_table(pd.read_pickle(files["frame"])), workdir / "write-arrow.csv"


def _run_csv_write(state: tuple[Any, Path]) -> int:
    import pyarrow.csv as pacsv

    table, path = state
    pacsv.write_csv(table, path)
    return int(table.num_rows)


def _setup_pandas_write(files: Files, workdir: Path) -> tuple[Any, Path]:
    import json as _json

    import lxml.etree  # noqa: F401
    import pandas as pd

    df = pd.read_pickle(files["frame"])
    for c in ("optionalAnswers", "customData"):
        df[c] = pd.array([None if v is None else _json.dumps(v, ensure_ascii=False) for v in df[c]], dtype="string")
    return df, workdir / "write-pandas.xml"


def _run_pandas_write(state: tuple[Any, Path]) -> int:
    df, out = state
    df.to_xml(out, parser="lxml", index=False)
    return len(df)


Node = tuple[str, dict[str, str], "str | None", list[Any]]


def _setup_xmlfile(files: Files, workdir: Path) -> tuple[list[Node], Path]:
    """The exact elements cuepipe writes (parsed from the ingest file) as plain strings and tuples."""
    from lxml import etree

    def node(el: Any) -> Node:
        return el.tag, dict(el.attrib), el.text, [node(c) for c in el]

    root = etree.parse(str(files["ingest_xml"])).getroot()
    nodes = [node(el) for el in root]
    del root
    return nodes, workdir / "write-xmlfile.xml"


def _run_xmlfile(state: tuple[list[Node], Path]) -> int:
    from lxml import etree

    nodes, out = state
    element, sub = etree.Element, etree.SubElement

    def build(n: Node, parent: Any = None) -> Any:
        tag, attrib, text, children = n
        el = element(tag, attrib) if parent is None else sub(parent, tag, attrib)
        if text:
            el.text = text
        for c in children:
            build(c, el)
        return el

    with etree.xmlfile(str(out), encoding="utf-8") as xf:
        xf.write_declaration()
        with xf.element("scenes"):
            xf.write("\n")
            for n in nodes:
                xf.write(build(n))
                xf.write("\n")
    return len(nodes)


# ---------------------------------------------------------------------------------------------------
# validate: ingest XML against the ingest XSD
# ---------------------------------------------------------------------------------------------------


def _setup_cuepipe_validate(files: Files, workdir: Path) -> str:
    from cuepipe.xml.schemas import load_schema

    load_schema("ingest")  # compiled once per process; keep that out of the timed region
    return _ingest_path(files, workdir)


def _run_cuepipe_validate(path: str) -> int:
    import cuepipe

    report = cuepipe.validate(path, kind="ingest")
    if not report.ok:
        raise AssertionError(f"cuepipe.validate says the generated document is invalid: {report}")
    return report.records


def _lxml_schema(files: Files) -> Any:
    from lxml import etree

    return etree.XMLSchema(etree.parse(str(files["ingest_xsd"])))


def _setup_lxml_validate(files: Files, workdir: Path) -> tuple[Any, str]:
    return _lxml_schema(files), _ingest_path(files, workdir)


def _run_lxml_parse_validate(state: tuple[Any, str]) -> int:
    from lxml import etree

    schema, path = state
    tree = etree.parse(path)
    schema.assertValid(tree)
    return len(tree.getroot())


def _setup_lxml_validate_only(files: Files, workdir: Path) -> tuple[Any, Any]:
    from lxml import etree

    return _lxml_schema(files), etree.parse(_ingest_path(files, workdir))


def _run_lxml_validate_only(state: tuple[Any, Any]) -> int:
    schema, tree = state
    schema.assertValid(tree)
    return len(tree.getroot())


def _run_lxml_iterparse_schema(state: tuple[Any, str]) -> int:
    from lxml import etree

    schema, path = state
    n = 0
    for _, elem in etree.iterparse(path, events=("end",), tag=SCENE_TAGS, schema=schema):
        n += 1
        elem.clear(keep_tail=True)
        parent = elem.getparent()
        while elem.getprevious() is not None:
            del parent[0]
    return n


def _setup_xmlschema_validate(files: Files, workdir: Path) -> tuple[Any, str]:
    import xmlschema

    return xmlschema.XMLSchema(str(files["ingest_xsd"])), _ingest_path(files, workdir)


def _run_xmlschema_validate(state: tuple[Any, str]) -> bool:
    import xmlschema

    schema, path = state
    ok = schema.is_valid(xmlschema.XMLResource(path, lazy=2))
    if not ok:
        raise AssertionError("xmlschema says the generated document is invalid")
    return ok


def _one(_: Any) -> int:
    return 1


CASES: tuple[Case, ...] = (
    Case(
        "read.cuepipe",
        ("read",),
        "cuepipe.read_xml -> DataFrame",
        "subject",
        _setup_cuepipe_read,
        _run_cuepipe_read,
        note="default: libxml2 parses in a worker thread when there are 2 cores and 512 KB or more",
        extra_runs=2,
    ),
    Case(
        "read.cuepipe_one_core",
        ("read",),
        "cuepipe.read_xml, worker thread off (one core)",
        "subject",
        _setup_one_core_read,
        _run_cuepipe_read,
        note="the same read with libxml2 in the calling thread",
    ),
    Case(
        "read.pandas",
        ("read",),
        "pandas.read_xml (lxml)",
        "peer",
        _setup_pandas_read,
        _run_pandas_read,
        note="flattens: loses type, tags, answers, customData, empty strings; floats for enums",
    ),
    Case(
        "read.xmlschema",
        ("read",),
        "xmlschema.to_dict",
        "peer",
        _setup_xmlschema_read,
        _run_xmlschema_read,
        count=_count_xmlschema,
        note="nested dicts, not a DataFrame; schema compiled before timing",
    ),
    Case(
        "read.parse",
        ("read",),
        "lxml etree.parse (floor)",
        "floor",
        _setup_lxml,
        _run_parse,
        note="whole tree, no conversion",
        extra_runs=2,
    ),
    Case(
        "read.iterparse",
        ("read", "chunked"),
        "lxml iterparse+clear (streaming floor)",
        "floor",
        _setup_lxml,
        _run_iterparse,
        count=int,
        note="no conversion",
    ),
    Case(
        "read.sax_floor",
        ("read",),
        "libxml2 SAX2, empty callbacks (floor of a SAX reader)",
        "floor",
        _setup_sax_floor,
        _run_sax_floor,
        count=lambda _: 0,
        note="same parser, options and blocks as read_xml's tree-free reader; builds nothing",
    ),
    Case(
        "read.csv_arrow",
        ("read",),
        "pyarrow.csv.read_csv, same table as CSV (anchor)",
        "floor",
        _setup_csv_read,
        _run_csv_read,
        count=_count_table,
        note="an Arrow table, not a DataFrame; nested columns stay JSON text",
    ),
    Case(
        "chunked.cuepipe",
        ("chunked",),
        f"cuepipe.read_xml(chunksize={CHUNKSIZE:,})",
        "subject",
        _setup_cuepipe_read,
        _run_cuepipe_chunked,
        count=int,
    ),
    Case(
        "write.cuepipe",
        ("write",),
        "cuepipe.write_xml(df, kind=ingest)",
        "subject",
        _setup_cuepipe_write,
        _run_cuepipe_write,
        count=int,
    ),
    Case(
        "write.user_frame",
        ("write",),
        "cuepipe.write_xml(pd.DataFrame(records)): str, int64/float64 with NaN, object",
        "subject",
        _setup_user_frame_write,
        _run_any_write,
        count=_count_same_output,
        note="frame built by pandas from the records before timing; output checked == the typed frame's",
    ),
    Case(
        "write.arrow_frame",
        ("write",),
        "cuepipe.write_xml of that frame with Arrow dtypes",
        "subject",
        _setup_arrow_frame_write,
        _run_any_write,
        count=_count_same_output,
        note="convert_dtypes(dtype_backend='pyarrow') before timing; output checked == the typed frame's",
    ),
    Case(
        "write.records",
        ("write",),
        "cuepipe.write_xml(list of dicts)",
        "subject",
        _setup_records_write,
        _run_any_write,
        count=_count_same_output,
        note="the generated records, loaded before timing; output checked == the typed frame's",
    ),
    Case(
        "write.pandas",
        ("write",),
        "DataFrame.to_xml (lxml)",
        "peer",
        _setup_pandas_write,
        _run_pandas_write,
        count=int,
        note="nested cells pre-serialized to JSON; flat <data><row>, not Kaltura XML",
    ),
    Case(
        "write.xmlfile",
        ("write",),
        "lxml xmlfile, same elements (floor)",
        "floor",
        _setup_xmlfile,
        _run_xmlfile,
        count=int,
        note="values pre-formatted outside the timed region",
    ),
    Case(
        "write.csv_arrow",
        ("write",),
        "pyarrow.csv.write_csv, same table (anchor)",
        "floor",
        _setup_csv_write,
        _run_csv_write,
        count=int,
        note="Arrow table built from the frame before timing; nested columns as JSON text",
    ),
    Case(
        "validate.cuepipe",
        ("validate",),
        "cuepipe.validate(kind=ingest)",
        "subject",
        _setup_cuepipe_validate,
        _run_cuepipe_validate,
        count=int,
    ),
    Case(
        "validate.lxml",
        ("validate",),
        "lxml parse + XMLSchema.validate",
        "floor",
        _setup_lxml_validate,
        _run_lxml_parse_validate,
        count=int,
        note="lxml's own validation of the file (the target's reference)",
    ),
    Case(
        "validate.lxml_only",
        ("validate",),
        "lxml XMLSchema.validate only",
        "floor",
        _setup_lxml_validate_only,
        _run_lxml_validate_only,
        count=int,
        note="tree parsed before timing",
    ),
    Case(
        "validate.lxml_stream",
        ("validate",),
        "lxml iterparse(schema=) streaming",
        "floor",
        _setup_lxml_validate,
        _run_lxml_iterparse_schema,
        count=int,
        note="no error reporting pass",
    ),
    Case(
        "validate.xmlschema",
        ("validate",),
        "xmlschema is_valid(lazy=2)",
        "peer",
        _setup_xmlschema_validate,
        _run_xmlschema_validate,
        count=_one,
        note="lazy=True is broken here, see notes",
    ),
)


def _client_cases() -> tuple[Case, ...]:
    """Client cost (issue 13, target 4): canned server answers, see ``benchmarks/client.py``."""
    from . import client as K

    n = f"up to {K.CLIENT_N:,} cue points, canned answers"
    return (
        Case(
            "pull.cuepipe",
            ("pull",),
            f"cuepipe Client.pull(precision='ms') -> DataFrame ({n})",
            "subject",
            K.setup_pull_cuepipe,
            K.run_pull_cuepipe,
            once=True,
        ),
        Case(
            "pull.official",
            ("pull",),
            f"KalturaApiClient cuePoint.list paging loop -> DataFrame ({n})",
            "peer",
            K.setup_pull_official,
            K.run_pull_official,
            note="XML answers (the official client's format); objects' plain properties as columns",
            once=True,
        ),
        Case(
            "push.cuepipe",
            ("push",),
            f"cuepipe Client.push(frame): renders, uploads, reads results ({n})",
            "subject",
            K.setup_push_cuepipe,
            K.run_push_cuepipe,
            once=True,
        ),
        Case(
            "push.official",
            ("push",),
            f"KalturaApiClient cuePoint.addFromBulk of the rendered files ({n})",
            "peer",
            K.setup_push_official,
            K.run_push_official,
            count=int,
            note="upload files rendered by cuepipe before timing",
            once=True,
        ),
    )


# The client cases import benchmarks.client, which imports httpx (8 MB of RSS): built on first use of
# CASES or BY_ID (the parent process), so a read or write case's child does not carry it in its peak RSS.
_FORMAT_CASES: dict[str, Case] = {c.id: c for c in CASES}
del CASES
_ALL: list[tuple[Case, ...]] = []


def _all_cases() -> tuple[Case, ...]:
    if not _ALL:
        _ALL.append(tuple(_FORMAT_CASES.values()) + _client_cases())
    return _ALL[0]


def __getattr__(name: str) -> Any:
    """``CASES`` (every case) and ``BY_ID`` (case id -> case), built when first asked for."""
    if name == "CASES":
        return _all_cases()
    if name == "BY_ID":
        return {c.id: c for c in _all_cases()}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


GROUPS: tuple[str, ...] = ("read", "chunked", "write", "validate", "pull", "push")
SUBJECT: dict[str, str] = {
    "read": "read.cuepipe",
    "chunked": "chunked.cuepipe",
    "write": "write.cuepipe",
    "validate": "validate.cuepipe",
    "pull": "pull.cuepipe",
    "push": "push.cuepipe",
}


# ---------------------------------------------------------------------------------------------------
# measurement (child side)
# ---------------------------------------------------------------------------------------------------


def _status_kb(key: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _maxrss_mb() -> float:
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kB on Linux
    return kb / 1024 if sys.platform != "darwin" else kb / 2**20


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return _status_kb("VmHWM") is not None
    except OSError:
        return False


def measure(case: Case, files: Files, workdir: Path) -> dict[str, Any]:
    """Set the case up, then time it and record its memory high-water mark."""
    t_setup = time.perf_counter()
    state = case.setup(files, workdir)
    setup_s = time.perf_counter() - t_setup
    gc.collect()
    base_kb = _status_kb("VmRSS")
    reset = _reset_peak()
    cpu0, t0 = time.process_time(), time.perf_counter()
    result = case.run(state)
    seconds = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    hwm_kb = _status_kb("VmHWM") if reset else None
    peak_mb = hwm_kb / 1024 if hwm_kb is not None else _maxrss_mb()
    base_mb = base_kb / 1024 if base_kb is not None else None
    records = case.count(result)
    del result
    return {
        "case": case.id,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "setup_seconds": setup_s,
        "peak_mb": peak_mb,
        "base_mb": base_mb,
        "delta_mb": None if base_mb is None else peak_mb - base_mb,
        "maxrss_mb": _maxrss_mb(),
        "peak_method": "VmHWM after clear_refs" if reset else "ru_maxrss (includes setup)",
        "records": records,
    }


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 3:
        raise SystemExit("usage: python -m benchmarks.cases CASE_ID FILES_JSON WORKDIR")
    case = _FORMAT_CASES.get(args[0]) or {c.id: c for c in _all_cases()}[args[0]]
    out = measure(case, json.loads(args[1]), Path(args[2]))
    print("RESULT " + json.dumps(out), flush=True)


if __name__ == "__main__":
    main()

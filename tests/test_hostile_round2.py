"""Hostile input, round 2 (issue 14 §2): DTDs in every encoding libxml2 detects, and compression bombs.

* A DTD is refused whatever the document's encoding: UTF-16 and UCS-4 without a byte order mark,
  EBCDIC, encodings named only in the XML declaration. The byte scan names the line; the check on
  the parser's own document info refuses what the scan cannot decode.
* A small gzip file that expands to one enormous comment, CDATA section, attribute, processing
  instruction, start tag or run of whitespace is refused with a clear error after at most
  ``CUEPIPE_MAX_RECORD_BYTES`` of it, by every read path, with memory that does not depend on how far
  the file expands (measured in a fresh process per path, see ``benchmarks/bombs.py``).
"""

from __future__ import annotations

import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import cuepipe
from cuepipe import UnsafeXMLError, XMLFormatError
from cuepipe.cli import main
from cuepipe.xml import _source

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # benchmarks/ is not part of the installed package
    sys.path.insert(0, str(ROOT))

from benchmarks import bombs  # noqa: E402

BODY = (
    '<scenes><scene-annotation entryId="0_abc" systemName="&x;"><sceneStartTime>00:00:01</sceneStartTime>'
    "<tags><tag>t</tag></tags><sceneEndTime>00:00:02</sceneEndTime><sceneText>a &x; b</sceneText>"
    "</scene-annotation></scenes>\n"
)
DTD = '<!DOCTYPE scenes [<!ENTITY x "EXPANDED">]>\n'

# Python codec -> the name in the XML declaration. No byte order mark in any of these, except the
# plain "utf-16"/"utf-32" codecs, which write one.
ENCODINGS = {
    "utf-16-le": "UTF-16",
    "utf-16-be": "UTF-16",
    "utf-16": "UTF-16",
    "utf-32-le": "UCS-4",
    "utf-32-be": "UCS-4",
    "cp037": "IBM037",
    "utf-7": "UTF-7",
    "latin-1": "ISO-8859-1",
    "shift_jis": "Shift_JIS",
    "koi8-r": "KOI8-R",
    "utf-8": "UTF-8",
}


def _document(codec: str, *, dtd: bool, declaration: bool = True) -> bytes:
    decl = f'<?xml version="1.0" encoding="{ENCODINGS[codec]}"?>\n' if declaration else ""
    body = BODY if dtd else BODY.replace("&x;", "X")
    return (decl + (DTD if dtd else "") + body).encode(codec)


# libxml2 cannot decode these at all (no iconv EBCDIC table; UTF-16 without a BOM or "<?xml"):
# they must fail, but as not well-formed rather than as a DTD.
UNREADABLE = {"cp037", "utf-16-le-no-declaration", "utf-16-be-no-declaration"}
HOSTILE = [pytest.param(c, _document(c, dtd=True), id=c) for c in ENCODINGS] + [
    pytest.param(f"{c}-no-declaration", _document(c, dtd=True, declaration=False), id=f"{c}-no-declaration")
    for c in ("utf-16-le", "utf-16-be")
]


def _no_byte_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blind the byte scan, so that only the parser-level check stands between a DTD and the reader."""
    monkeypatch.setattr(_source, "_head_as_utf8", lambda head: b"<scenes>")


@pytest.mark.parametrize(("name", "data"), HOSTILE)
@pytest.mark.parametrize("scan", ["byte scan", "parser check only"])
def test_a_dtd_is_refused_in_every_encoding(name: str, data: bytes, scan: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if scan != "byte scan":
        _no_byte_scan(monkeypatch)
    expected = XMLFormatError if name in UNREADABLE else UnsafeXMLError
    for read in (
        lambda: list(cuepipe.iter_cue_points(data)),
        lambda: cuepipe.read_xml(data),
        lambda: list(cuepipe.read_xml(data, chunksize=1)),
    ):
        with pytest.raises(expected) as info:
            read()
        assert name in UNREADABLE or "DTDs) are not allowed" in str(info.value)
    report = cuepipe.validate(data)  # never a traceback ("Internal error in XML Schema validation")
    assert not report.ok
    assert name in UNREADABLE or "DTDs) are not allowed" in report.errors[0].message


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be", "utf-7", "latin-1"])
def test_the_same_documents_without_a_dtd_are_read(codec: str) -> None:
    """The guard refuses the DTD, not the encoding: each encoding above reads when it carries none."""
    data = _document(codec, dtd=False)
    assert [r["systemName"] for r in cuepipe.iter_cue_points(data)] == ["X"]
    assert cuepipe.validate(data).ok


def test_the_cli_names_the_file_and_line_and_writes_nothing(tmp_path: Path) -> None:
    src = tmp_path / "no-bom.xml"
    src.write_bytes(_document("utf-16-le", dtd=True))
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(main, ["convert", str(src), str(out)])
    assert result.exit_code == 1
    assert f"error: {src}: line 2: document type declarations (DTDs) are not allowed" in result.output
    assert "Traceback" not in result.output and not out.exists()
    result = CliRunner().invoke(main, ["validate", str(src)])
    assert result.exit_code == 1 and "line 2: document type declarations" in result.output
    assert "Internal error" not in result.output


def test_the_parser_check_says_where_the_declaration_is(monkeypatch: pytest.MonkeyPatch) -> None:
    _no_byte_scan(monkeypatch)
    with pytest.raises(UnsafeXMLError, match=r"declared before the root element on line 3"):
        list(cuepipe.iter_cue_points(_document("utf-16-le", dtd=True)))


@pytest.fixture
def listener():
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'<!ENTITY x "leaked">')

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", hits
    server.shutdown()


def test_external_entities_in_utf16_without_bom_are_never_fetched(listener, monkeypatch: pytest.MonkeyPatch) -> None:
    url, hits = listener
    doc = (
        f'<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE scenes [<!ENTITY % ext SYSTEM "{url}/dtd"> %ext;]>' + BODY
    ).encode("utf-16-le")
    for blind in (False, True):
        if blind:
            _no_byte_scan(monkeypatch)
        with pytest.raises(UnsafeXMLError):
            list(cuepipe.iter_cue_points(doc))
        assert not cuepipe.validate(doc).ok
    assert hits == []


# ------------------------------------------------------------------------------------------------
# compression bombs
# ------------------------------------------------------------------------------------------------

LIMIT = 2 << 20  # CUEPIPE_MAX_RECORD_BYTES in the measuring children: small, so each case is quick
BOUND_MB = 40.0  # peak RSS above the warmed-up process, for a 768 MB expansion (before the fix: > 768)


@pytest.mark.parametrize("path", bombs.PATHS)
def test_every_read_path_refuses_bombs_with_bounded_memory(path: str) -> None:
    """Peak RSS stays within a bound far below the expanded size, the same for 48 MB and 768 MB."""
    sizes = (24 << 20,) if path == "dask-blocks" else (48 << 20, 768 << 20)
    cases = [(shape, size) for shape in bombs.shapes_for(path) for size in sizes]
    results = bombs.measure(path, cases, limit=LIMIT)
    base = results[0]["base_mb"]
    for r in results:
        assert r["peak_mb"] - base < BOUND_MB, r
        outcome = r["outcome"]
        assert "Traceback" not in outcome
        if path in ("cli-convert", "cli-convert-table"):
            assert outcome.startswith("exit 1 error: "), r
        elif path == "cli-validate":
            assert outcome.startswith("exit 1 INVALID "), r
        elif path == "validate":
            assert outcome != "ok", r
        elif path == "read_table":
            assert outcome.startswith("ValueError"), r
        else:
            assert outcome.startswith(("XMLFormatError", "PartitionError")), r
        if path in bombs.TABLE_PATHS:
            assert (
                f"a line longer than {LIMIT} bytes" in outcome
                or f"a quoted field longer than {4 * LIMIT} bytes" in outcome
            ), r
        else:
            assert f"more than {LIMIT} bytes" in outcome, r
        assert "CUEPIPE_MAX_RECORD_BYTES" in outcome


def _gzip_bomb(shape: str, size: int) -> bytes:
    return bombs.bomb_bytes(shape, size)


def test_the_bomb_error_is_clear(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUEPIPE_MAX_RECORD_BYTES", str(1 << 20))
    with pytest.raises(XMLFormatError) as info:
        list(cuepipe.iter_cue_points(_gzip_bomb("whitespace", 8 << 20)))
    message = str(info.value)
    assert message.startswith("record 1: more than 1048576 bytes of the document after the cue point ending on line 1")
    assert "CUEPIPE_MAX_RECORD_BYTES" in message


def test_a_bad_limit_setting_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUEPIPE_MAX_RECORD_BYTES", "lots")
    with pytest.raises(ValueError, match="CUEPIPE_MAX_RECORD_BYTES must be a positive number of bytes"):
        cuepipe.read_xml(bombs.VALID)


def _many_cue_points(n: int) -> bytes:
    scene = (
        '<scene-code-cue-point entryId="0_abc"><sceneStartTime>00:00:{s:02d}</sceneStartTime>'
        "<code>{c}</code><description>{d}</description></scene-code-cue-point>\n"
    )
    return (
        b"<scenes>" + "".join(scene.format(s=i % 60, c=f"c{i}", d="d" * 500) for i in range(n)).encode() + b"</scenes>"
    )


def test_the_bound_is_per_cue_point_not_per_document(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A document many times the bound reads whole on every path, compiled and pure, gzip or not."""
    monkeypatch.setenv("CUEPIPE_MAX_RECORD_BYTES", str(16 << 10))
    data = _many_cue_points(4000)  # about 2.6 MB, 160 times the bound
    assert len(data) > 100 * (16 << 10)
    import gzip

    for doc in (data, gzip.compress(data), b"<!-- a prolog -->\n" + data):
        assert sum(1 for _ in cuepipe.iter_cue_points(doc)) == 4000
        assert len(cuepipe.read_xml(doc)) == 4000
        assert sum(len(c) for c in cuepipe.read_xml(doc, chunksize=999)) == 4000
        assert cuepipe.validate(doc).records == 4000
    import cuepipe.xml.reader as reader

    monkeypatch.setattr(reader, "_speedups", None)
    assert sum(1 for _ in cuepipe.iter_cue_points(data)) == 4000
    # an invalid document takes validate's second, detailed pass: bounded the same way
    bad = data.replace(b"<code>c3999</code>", b"<code>c3999</code><bogus/>")
    report = cuepipe.validate(bad)
    assert not report.ok and "bogus" in str(report.errors[0])
    import dask

    import cuepipe.dask as cdask

    path = tmp_path / "many.xml"
    path.write_bytes(data)
    with dask.config.set(scheduler="synchronous"):
        assert len(cdask.read_xml(str(path), blocksize=256 << 10).compute()) == 4000


def test_syntax_error_positions_are_never_negative() -> None:
    """libxml2 keeps columns in a C int: a 2 GB line wrapped it to -2080374556 in an error message."""

    class FakeError:
        position = (1, -2080374556)
        msg = "Couldn't find end of Start Tag scene-code-cue-point"
        error_log = None

    err = _source.syntax_error(FakeError(), 0)
    assert err.column is None and err.line == 1
    assert "-2080374556" not in str(err)


def test_tables_many_times_the_bound_read_whole(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The table bound is per line / quoted field: big CSV (quoted multi-line fields) and JSON Lines read."""
    monkeypatch.setenv("CUEPIPE_MAX_RECORD_BYTES", str(16 << 10))
    rows = [
        {
            "cuePointType": "annotation.Annotation",
            "entryId": "0_abc",
            "startTime": i,
            "endTime": i + 1,
            "text": f'line one\nline "two" {i}\n' + "x" * 300,
        }
        for i in range(3000)
    ]
    df = cuepipe.records_to_frame(rows)
    from cuepipe import frames

    for name in ("t.csv", "t.csv.gz", "t.jsonl", "t.jsonl.gz"):
        with frames.TableWriter(tmp_path / name) as w:
            w.write(df)
        assert (tmp_path / name).stat().st_size > 20 * (16 << 10) or name.endswith(".gz")
        back = list(frames.read_table(tmp_path / name, chunksize=500))
        assert sum(len(c) for c in back) == 3000 and back[-1]["text"].iloc[-1] == rows[-1]["text"]


def test_validate_never_lets_a_libxml2_internal_error_through(monkeypatch: pytest.MonkeyPatch) -> None:
    """With both DTD checks switched off, the entity reference nodes that crashed libxml2's schema
    validator ("Internal error in XML Schema validation") still end as a report, not a traceback."""
    validate_module = sys.modules["cuepipe.xml.validate"]  # the package's name "validate" is the function
    _no_byte_scan(monkeypatch)
    monkeypatch.setattr(validate_module, "refuse_dtd", lambda elem: None)
    monkeypatch.setattr(_source, "refuse_dtd", lambda elem: None)
    monkeypatch.setattr(_source, "document_root", _root_without_check)
    monkeypatch.setattr(validate_module, "document_root", _root_without_check)
    report = cuepipe.validate(_document("utf-16-le", dtd=True))
    assert not report.ok and report.errors


def _root_without_check(parser: Any) -> Any:
    for _, elem in parser.read_events():
        if elem.getparent() is None:
            return elem
    return None

"""Hostile XML is refused, never expanded or fetched; by the reader and by the validator alike."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

import cuepipe
from cuepipe import UnsafeXMLError, XMLFormatError

from .helpers import BILLION_LAUGHS, PLAIN_DTD, XXE_FILE

SCENE = "<scene-code-cue-point entryId='e'><sceneStartTime>00:00:01</sceneStartTime>{}</scene-code-cue-point>"


@pytest.fixture
def listener():
    """A local HTTP server that records whether anything fetched from it."""
    hits = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'<!ENTITY x "leaked">')

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", hits
    server.shutdown()


def _all_inputs(url: str) -> list[bytes]:
    xxe_http = (
        f'<!DOCTYPE scenes [<!ENTITY % ext SYSTEM "{url}/dtd"> %ext;]>'
        "<scenes>" + SCENE.format("<description>&x;</description>") + "</scenes>"
    ).encode()
    return [
        BILLION_LAUGHS,
        XXE_FILE,
        PLAIN_DTD,
        xxe_http,
        b"\xef\xbb\xbf" + PLAIN_DTD,
        "<!DOCTYPE scenes []><scenes/>".encode("utf-16"),
    ]


def test_reader_refuses_dtds_and_fetches_nothing(listener):
    url, hits = listener
    for data in _all_inputs(url):
        with pytest.raises(UnsafeXMLError, match="DTD"):
            list(cuepipe.iter_cue_points(data))
    assert hits == []


def test_validator_reports_dtds_as_errors(listener):
    url, hits = listener
    for data in _all_inputs(url):
        report = cuepipe.validate(data)
        assert not report.ok and "DTD" in report.errors[0].message
    assert hits == []


def test_xinclude_and_schema_location_are_not_followed(listener):
    url, hits = listener
    data = (
        f'<scenes xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        f'xsi:noNamespaceSchemaLocation="{url}/schema.xsd" xmlns:xi="http://www.w3.org/2001/XInclude">'
        + SCENE.format(f'<description><xi:include href="{url}/inc"/></description>')
        + "</scenes>"
    ).encode()
    with pytest.raises(XMLFormatError, match="takes text only"):
        list(cuepipe.iter_cue_points(data))  # XInclude is not processed: the element is unexpected content
    cuepipe.validate(data)
    assert hits == []


def test_deep_nesting_and_huge_text_are_refused():
    deep = (
        "<scenes>"
        + SCENE.format("<scene-customData>" + "<a>" * 5000 + "</a>" * 5000 + "</scene-customData>")
        + "</scenes>"
    ).encode()
    with pytest.raises(XMLFormatError):
        list(cuepipe.iter_cue_points(deep))
    assert not cuepipe.validate(deep).ok
    huge = ("<scenes>" + SCENE.format("<description>" + "x" * 11_000_000 + "</description>") + "</scenes>").encode()
    with pytest.raises(XMLFormatError):
        list(cuepipe.iter_cue_points(huge))

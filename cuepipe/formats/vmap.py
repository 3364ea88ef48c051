"""VMAP 1.0 (IAB Video Multiple Ad Playlist): ad cue points as ad breaks.

Each ad cue point becomes a ``<vmap:AdBreak>``: ``timeOffset`` its start (``HH:MM:SS.mmm``;
``start`` for 0), ``breakType`` ``linear`` for VIDEO ads and ``nonlinear`` for OVERLAY ads,
``breakId`` its system name, and an ``<vmap:AdSource>`` with the ad tag URL (``sourceUrl``) in
``<vmap:AdTagURI>``, whose ``templateType`` follows the protocol: VAST -> ``vast1``, VAST_2_0 ->
``vast2``, CUSTOM -> ``proprietary``. VPAID has no VMAP template type: it is written as
``proprietary`` and counted as lost (it reads back as CUSTOM). VMAP has no end time, title or
metadata for a break; those, the entry id and every other cue point type are counted as lost.
An ad without a URL is written as a break without an ad source.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from lxml import etree

from .. import vocabulary as voc
from ..errors import CuePointValueError
from ..tabular import TableOptions, parse_time_text
from ..values import describe_char, enum_lookup, find_bad_xml_char
from ..xml._source import PARSER_OPTIONS
from . import _common as c

NS = "http://www.iab.net/videosuite/vmap"
AD = voc.CuePointType.AD.value
_BREAK_TYPE = {"1": "linear", "2": "nonlinear"}
_AD_TYPE = {v: k for k, v in _BREAK_TYPE.items()}
_TEMPLATE = {"0": "proprietary", "1": "vast1", "2": "vast2", "3": "proprietary"}
_PROTOCOL = {"vast1": "1", "vast2": "2", "vast3": "1", "vast4": "1", "proprietary": "0"}
_AD_TYPES = enum_lookup(voc.AdType)
_PROTOCOLS = enum_lookup(voc.AdProtocolType)


def _enum(table: dict[object, str], rec: dict[str, Any], field: str, index: int) -> str:
    """``VIDEO``, ``1`` or ``"1"`` -> ``"1"``: the names write_xml accepts, normalised."""
    value = rec.get(field)
    try:
        return table[value]
    except (KeyError, TypeError):
        raise CuePointValueError(f"{value!r} is not a known {field}", record=index, field=field) from None


def _offset(ms: int) -> str:
    if ms == 0:
        return "start"
    s, frac = divmod(ms, 1000)
    return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}.{frac:03d}"


def write_vmap(
    data: c.Data, dest: c.Dest = None, *, strict: bool = False, options: TableOptions | None = None
) -> c.LossReport:
    """Write the ad cue points as a VMAP document; return the loss report."""
    records = c.to_records(data, options)
    report = c.LossReport("VMAP")
    c.single_entry(records, "VMAP")
    root = etree.Element(f"{{{NS}}}VMAP", nsmap={"vmap": NS}, version="1.0")
    ads = sorted(
        ((i, r) for i, r in enumerate(records) if r.get("cuePointType") == AD), key=lambda x: x[1]["startTime"]
    )
    for i, rec in enumerate(records):
        if rec.get("cuePointType") != AD:
            report.drop(rec, i)
    for n, (i, rec) in enumerate(ads):
        carried = {"cuePointType", "startTime", "adType", "protocolType", "sourceUrl"}
        ad_type = _enum(_AD_TYPES, rec, "adType", i)
        protocol = _enum(_PROTOCOLS, rec, "protocolType", i)
        if rec["adType"] != ad_type or rec["protocolType"] != protocol:
            # reading gives the numeric value back; the name is the same value, not a loss
            rec = rec | {"adType": ad_type, "protocolType": protocol}
        for field in ("sourceUrl", "systemName"):
            value = rec.get(field)
            if isinstance(value, str) and find_bad_xml_char(value) >= 0:
                bad = value[find_bad_xml_char(value)]
                raise CuePointValueError(f"holds {describe_char(bad)}, which XML cannot carry", record=i, field=field)
        brk = etree.SubElement(root, f"{{{NS}}}AdBreak", timeOffset=_offset(rec["startTime"]))
        brk.set("breakType", _BREAK_TYPE[ad_type])
        if rec.get("systemName"):
            brk.set("breakId", rec["systemName"])
            carried.add("systemName")
        if protocol == "3":
            carried.discard("protocolType")  # VPAID: VMAP has no template type for it
        url = rec.get("sourceUrl")
        if url and url == url.strip() and "\r" not in url:  # XML reads a CR in text as LF
            src = etree.SubElement(
                brk, f"{{{NS}}}AdSource", id=f"ad-{n + 1}", allowMultipleAds="true", followRedirects="true"
            )
            uri = etree.SubElement(src, f"{{{NS}}}AdTagURI", templateType=_TEMPLATE[protocol])
            uri.text = etree.CDATA(rec["sourceUrl"]) if "]]>" not in rec["sourceUrl"] else rec["sourceUrl"]
        else:  # no usable URL: no ad source, so neither the URL nor the protocol is written
            carried.discard("protocolType")
            carried.discard("sourceUrl")
        report.lose(rec, i, [k for k in rec if k not in carried])
    report.written = len(ads)
    payload = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return c.finish(report, payload, dest, strict=strict)


def read_vmap(source: c.Source, *, entry: str | None = None) -> pd.DataFrame:
    """Read a VMAP document's ad breaks as ad cue points (``entry=`` supplies the entry id).

    Breaks at ``start`` are at 0; ``end``, percentages and positions (``#1``) need the media's
    length and are refused with the break named.
    """
    text = c.read_source(source)
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise c.FormatReadError("DTDs and entity declarations are refused (they can expand or fetch content)")
    parser = etree.XMLParser(**PARSER_OPTIONS)
    try:
        root = etree.fromstring(text.encode("utf-8"), parser)
    except etree.XMLSyntaxError as exc:
        raise c.FormatReadError(f"not a VMAP document: {exc}") from None
    if root.tag != f"{{{NS}}}VMAP":
        raise c.FormatReadError(f"not a VMAP document: the root is <{etree.QName(root).localname}>")
    records = []
    for n, brk in enumerate(root.iter(f"{{{NS}}}AdBreak")):
        offset = (brk.get("timeOffset") or "").strip()
        if offset == "start":
            start = 0
        else:
            try:
                start = parse_time_text(offset)[0]
            except ValueError:
                raise c.FormatReadError(
                    f"ad break {n + 1}: timeOffset {offset!r} is not a time (end, percentages and positions "
                    "need the media's length)"
                ) from None
        rec: dict[str, Any] = {
            "cuePointType": AD,
            "startTime": start,
            "adType": _AD_TYPE.get((brk.get("breakType") or "linear").split(",")[0].strip(), "1"),
        }
        if brk.get("breakId"):
            rec["systemName"] = brk.get("breakId")
        uri = brk.find(f"{{{NS}}}AdSource/{{{NS}}}AdTagURI")
        if uri is not None and (uri.text or "").strip():
            rec["sourceUrl"] = uri.text.strip() if uri.text else ""
            rec["protocolType"] = _PROTOCOL.get(uri.get("templateType", ""), "0")
        else:
            rec["protocolType"] = "0"
        if entry is not None:
            rec["entryId"] = entry
        records.append(rec)
    return c.records_frame(records)

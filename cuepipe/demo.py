"""``cuepipe demo``: the main job end to end on the bundled sample, with a before/after table."""

from __future__ import annotations

import tempfile
from importlib import resources
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table

from . import frames
from .xml import validate, write_xml


def sample_path() -> Path:
    """The bundled sample CSV (``samples/cue_points.csv`` in a checkout, packaged in the wheel)."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "samples" / "cue_points.csv", here.parent / "samples" / "cue_points.csv"):
        if candidate.is_file():
            return candidate
    with resources.as_file(resources.files("cuepipe") / "samples" / "cue_points.csv") as p:
        return Path(p)


def _compare_table(before: pd.DataFrame, after: pd.DataFrame, title: str) -> Table:
    table = Table(title=title)
    for col in ("cuePointType", "systemName", "startTime", "endTime", "tags", "text/title"):
        table.add_column(col)
    table.add_column("round trip")
    after_by_name = {r.get("systemName"): r for r in frames.frame_to_records(after)}
    for rec in frames.frame_to_records(before):
        back = after_by_name.get(rec.get("systemName"), {})
        same = all(back.get(k) == v for k, v in rec.items())
        label = rec.get("text") or rec.get("title") or rec.get("question") or rec.get("code") or rec.get("name") or ""
        table.add_row(rec["cuePointType"], str(rec.get("systemName", "")), str(rec.get("startTime", "")),
                      str(rec.get("endTime", "")), rec.get("tags", ""), label[:40],
                      "[green]identical[/]" if same else "[red]differs[/]")
    return table


def run_demo(workdir: Path | None = None, *, console: Console | None = None) -> bool:
    """CSV sample -> ingest XML -> validate -> read back -> compare. Returns True when all matched."""
    console = console or Console()
    with tempfile.TemporaryDirectory(prefix="cuepipe-demo-") as tmp:
        out = Path(workdir or tmp)
        out.mkdir(parents=True, exist_ok=True)
        src = sample_path()
        before = pd.concat(list(frames.read_table(src)), ignore_index=True)
        console.print(f"1. read {len(before)} cue points from {src.name}")
        xml_path = out / "cue_points.ingest.xml"
        write_xml(before, xml_path, kind="ingest")
        console.print(f"2. wrote ingest XML for cuePoint.addFromBulk: {xml_path} ({xml_path.stat().st_size} bytes)")
        report = validate(xml_path, kind="ingest")
        console.print(f"3. validated against the server's ingest schema: {'OK' if report.ok else report}")
        after = frames.read_xml(xml_path)
        assert isinstance(after, pd.DataFrame)
        console.print(f"4. read back {len(after)} cue points")
        console.print(_compare_table(before, after, "before (CSV) vs after (XML read back)"))
        counts = after["cuePointType"].value_counts().to_dict()
        console.print("per type: " + ", ".join(f"{k}={v}" for k, v in sorted(counts.items())))
        same = list(frames.frame_to_records(before)) == list(frames.frame_to_records(after))
        console.print("[bold green]round trip: identical[/]" if same and report.ok
                      else "[bold red]round trip: differences found[/]")
        return same and report.ok

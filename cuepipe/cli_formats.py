"""Command-line glue for the interchange formats and spreadsheet options (used by ``convert`` and ``push``).

``convert`` picks an interchange format by the file name (``.vtt``, ``.srt``, ``.ffmeta``,
``.otio``, ``.chapters.json``, ``.vmap``, ``.youtube.txt``) or by ``--to``; spreadsheets get
``--type``, ``--entry`` and ``--columns``. Every write prints its loss report to stderr.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import click
import pandas as pd

from . import frames
from .formats import FORMATS, FormatInfo, LossReport, format_for_path
from .tabular import TableOptions, options_from

F = TypeVar("F", bound=Callable[..., Any])


def table_options(func: F) -> F:
    """``--type``, ``--entry``, ``--columns``: read spreadsheets as people write them."""
    for option in reversed(
        [
            click.option(
                "--type",
                "cue_type",
                metavar="TYPE",
                default=None,
                help="Cue point type for rows that have none: chapter, slide, chapter-annotation, annotation, ad, "
                "code, thumb, ... or a full name (thumbCuePoint.Thumb).",
            ),
            click.option("--entry", metavar="ENTRY_ID", default=None, help="Entry id for rows that have none."),
            click.option(
                "--columns",
                metavar="SRC=DEST,...",
                default=None,
                help="Rename the file's columns, e.g. entry_id=entryId,timecode=startTime,chapter_title=title.",
            ),
            click.option(
                "--duration",
                metavar="TIME",
                default=None,
                help="Media length (e.g. 01:02:03 or 3723000): the end of a last chapter that has none.",
            ),
        ]
    ):
        func = option(func)
    return func


def format_options(func: F) -> F:
    """Options of the interchange formats (``convert`` only)."""
    for option in reversed(
        [
            click.option(
                "--to",
                "to",
                type=click.Choice(sorted(FORMATS)),
                default=None,
                help="Output format when the extension does not say (e.g. --to youtube).",
            ),
            click.option(
                "--strict", is_flag=True, help="Fail (naming the first record) if the output loses any value."
            ),
            click.option(
                "--track",
                type=click.Choice(["chapters", "metadata"]),
                default="chapters",
                show_default=True,
                help="WebVTT: a chapter track, or a metadata track carrying every cue point losslessly.",
            ),
            click.option(
                "--youtube-rules",
                type=click.Choice(["report", "fix", "error"]),
                default="report",
                show_default=True,
                help="YouTube chapter rules (0:00 first, at least 3, each >= 10 s): report, fix, or fail.",
            ),
            click.option(
                "--image-url",
                metavar="TEMPLATE",
                default=None,
                help="Podcasting 2.0: slide image URL template, e.g. https://cdn.example.com/{assetId}.jpg.",
            ),
        ]
    ):
        func = option(func)
    return func


def options(
    cue_type: str | None, entry: str | None, columns: str | None, duration: str | None = None
) -> TableOptions | None:
    opts = options_from(columns=columns, type=cue_type, entry=entry, duration=duration)
    return opts if opts.active else None


def read_all(path: str, opts: TableOptions | None, notes: list[str]) -> pd.DataFrame:
    """The whole input as one DataFrame, chapter ends derived where annotations need them."""
    parts = list(read_any(path, opts, 100_000))
    df = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    if opts is not None:
        df, more = opts.finish(df, path)
        notes.extend(more)
    return df


def check_pushable(df: pd.DataFrame, opts: TableOptions | None) -> None:
    """Refuse to push chapters or slides made by --type chapter/slide: addFromBulk ignores a thumb
    cue point's title, description and sub-type (docs/format-notes.md), so they would arrive as
    untitled slides. Annotations tagged 'chaptering' keep their text."""
    if opts is None or opts.type is None:
        return
    if opts.fill_values().get("cuePointType") == "thumbCuePoint.Thumb" and "subType" in opts.fill_values():
        raise click.UsageError(
            f"--type {opts.type} makes thumb cue points, and cuePoint.addFromBulk ignores their title, "
            "description and sub-type: they would arrive as untitled slides. Push chapters as "
            "--type chapter-annotation (annotations tagged 'chaptering', which keep their text), or "
            "write ingest XML with 'cuepipe convert'."
        )


def target_format(dest: str, to: str | None) -> FormatInfo | None:
    if to is not None:
        return FORMATS[to]
    return format_for_path(dest)


def read_any(path: str, opts: TableOptions | None, chunksize: int) -> Iterator[pd.DataFrame]:
    """Any input cuepipe reads (interchange formats, XML, tables) as DataFrames."""
    info = format_for_path(path)
    if info is not None:
        df = info.read(path, entry=opts.entry) if opts is not None and opts.entry else info.read(path)
        yield (opts.apply(df, path) if opts is not None and (opts.columns or opts.defaults) else df)
        return
    if frames.table_format(path) == "xml":
        if opts is not None:
            raise click.UsageError("--type, --entry and --columns apply to CSV, Parquet and JSON Lines inputs")
        chunks: Iterator[pd.DataFrame] = frames.read_xml(path, chunksize=chunksize)
        yield from chunks
        return
    yield from frames.read_table(path, chunksize=chunksize, options=opts)


def write_format(
    info: FormatInfo,
    source: str,
    dest: str,
    opts: TableOptions | None,
    *,
    chunksize: int,
    strict: bool,
    track: str,
    youtube_rules: str,
    image_url: str | None,
) -> LossReport:
    notes: list[str] = []
    df = read_all(source, opts, notes)
    kwargs: dict[str, Any] = {"strict": strict}
    if info.name == "vtt":
        kwargs["kind"] = track
    duration = opts.duration if opts is not None else None
    if duration is not None:
        if info.name not in ("vtt", "srt", "youtube", "ffmeta"):
            raise click.UsageError(f"--duration does not apply to {info.name}")
        kwargs["duration"] = duration
    if info.name == "youtube":
        kwargs["rules"] = youtube_rules
    if image_url is not None:
        if info.name != "podcast":
            raise click.UsageError("--image-url applies to Podcasting 2.0 chapters (.chapters.json)")
        kwargs["image_url"] = image_url
    report: LossReport = info.write(df, dest, **kwargs)
    report.notes[:0] = notes
    return report

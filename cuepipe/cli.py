"""The ``cuepipe`` command line: convert, validate, demo (and the API/emulator commands).

Exit codes scripts can rely on: 0 success; 1 the input is invalid or a value cannot be carried
(the message names the file, line or record); 2 wrong usage (unknown option, missing file).
"""

from __future__ import annotations

import os
import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any, cast

import click

from . import _console, cli_formats, frames
from .errors import CuepipeError, describe_os_error
from .xml import iter_cue_points, validate, write_xml

KIND = click.Choice(["ingest", "serve"])
# Plain lines when the stream is not a terminal (greppable, never wrapped), rich on a terminal.
err_console = _console.console(stderr=True)
console = _console.console()


class _Group(click.Group):
    """Turn errors into one readable line and exit code 1, instead of a traceback.

    cuepipe's own errors name the file, line or record. Environmental errors (a missing folder, a
    full disk, a permission, a port in use, a database that cannot be opened) are not bugs either:
    they get one line too. ``--debug`` shows the traceback of anything but cuepipe's own errors.
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CuepipeError as exc:
            _fail(ctx, str(exc))
        except (ValueError, KeyError) as exc:
            if _debug(ctx):
                raise
            msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
            _fail(ctx, str(msg))
        except OSError as exc:
            if _debug(ctx):
                raise
            _fail(ctx, describe_os_error(exc))
        except sqlite3.Error as exc:
            if _debug(ctx):
                raise
            _fail(ctx, f"database error: {exc}")


def _debug(ctx: click.Context) -> bool:
    return bool(ctx.obj and ctx.obj.get("debug"))


def _fail(ctx: click.Context, message: str) -> None:
    err_console.print(f"error: {message}", markup=False, soft_wrap=True)
    ctx.exit(1)


@click.group(cls=_Group)
@click.version_option(package_name="cuepipe")
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Move Kaltura cue points between CSV/Parquet/JSON Lines, bulk XML and the Kaltura API."""
    ctx.obj = {"debug": debug}


def _records_from(
    source: Any, is_xml: bool, chunksize: int, counted: Callable[[float], None]
) -> Iterator[dict[str, Any]]:
    if is_xml:
        yield from iter_cue_points(source)
        return
    for chunk in cli_formats.read_any(source, None, chunksize):
        yield from frames.frame_to_records(chunk)
        counted(len(chunk))


@main.command()
@click.argument("source", type=click.Path(exists=True, dir_okay=False))
@click.argument("dest", type=click.Path(dir_okay=False, writable=True))
@click.option(
    "--kind",
    type=KIND,
    default="ingest",
    show_default=True,
    help="XML output: ingest (for addFromBulk) or serve (serveBulk's format).",
)
@click.option(
    "--unsupported",
    type=click.Choice(["error", "ignore"]),
    default="error",
    show_default=True,
    help="What to do with values the output kind cannot carry (e.g. userId in ingest).",
)
@click.option(
    "--chunksize", type=click.IntRange(min=1), default=50_000, show_default=True, help="Rows held in memory at a time."
)
@cli_formats.table_options
@cli_formats.format_options
def convert(source: str, dest: str, kind: str, unsupported: str, chunksize: int, **fmt: Any) -> None:
    """Convert SOURCE to DEST; formats by extension: .csv, .parquet, .jsonl, .xml (.gz after any but .parquet),
    .vtt, .srt, .ffmeta, .otio, .chapters.json, .vmap, .youtube.txt (or --to).

    Streams tables and XML: memory stays flat however large the input is. Output appears only when
    complete. Writing an interchange format prints what it could not carry (--strict: fail instead).
    """
    try:
        count = _convert(source, dest, kind, unsupported, chunksize, fmt)
    except CuepipeError as exc:
        message = str(exc)
        # every problem in the data is in SOURCE: name it (table readers already do)
        raise CuepipeError(message if message.startswith(f"{source}:") else f"{source}: {message}") from exc
    except OSError as exc:
        if exc.filename is None:  # a failed write (a full disk...): the output is the file involved
            raise OSError(exc.errno, f"cannot write {dest}: {exc.strerror or exc}") from exc
        raise
    if count is not None:
        err_console.line(f"wrote {count} cue points to {dest}")


def _convert(source: str, dest: str, kind: str, unsupported: str, chunksize: int, fmt: dict[str, Any]) -> int | None:
    """The conversion itself: the number of cue points written (None for an interchange format,
    whose loss report is printed instead)."""
    opts = cli_formats.options(fmt.pop("cue_type"), fmt.pop("entry"), fmt.pop("columns"), fmt.pop("duration"))
    target = cli_formats.target_format(dest, fmt.pop("to"))
    if target is not None:
        report = cli_formats.write_format(target, source, dest, opts, chunksize=chunksize, **fmt)
        err_console.block(report)
        return None
    out_fmt = frames.table_format(dest)
    if opts is not None:  # spreadsheet options: the whole (small) table, chapter ends derived
        notes: list[str] = []
        table = cli_formats.read_all(source, opts, notes)
        for note in notes:
            err_console.line(f"note: {note}")
        if out_fmt == "xml":
            count = write_xml(table, dest, kind=cast(Any, kind), unsupported=cast(Any, unsupported))
        else:
            with frames.TableWriter(dest) as table_writer:
                table_writer.write(table)
            count = table_writer.rows
        return count
    # Interchange inputs (.vtt, .otio, ...) are small and read whole; XML and tables stream.
    in_xml = cli_formats.format_for_path(source) is None and frames.table_format(source) == "xml"
    with ExitStack() as stack:
        # Progress on a terminal: bytes of an XML source read so far, else cue points converted.
        bar = stack.enter_context(
            err_console.progress(
                f"convert {Path(source).name}",
                total=os.path.getsize(source) if in_xml else None,
                unit="bytes" if in_xml else "cue points",
            )
        )
        src: Any = stack.enter_context(_console.CountingReader(source, bar.update)) if in_xml else source
        if out_fmt == "xml":
            count = write_xml(
                _records_from(src, in_xml, chunksize, bar.advance),
                dest,
                kind=cast(Any, kind),  # click.Choice checked it
                unsupported=cast(Any, unsupported),
            )
        else:
            with frames.TableWriter(dest) as writer:
                if in_xml:
                    xml_chunks: Any = frames.read_xml(src, chunksize=chunksize)
                    for chunk in xml_chunks:
                        writer.write(chunk)
                else:
                    for chunk in cli_formats.read_any(source, None, chunksize):
                        writer.write(chunk)
                        bar.advance(len(chunk))
                count = writer.rows
    return count


@main.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--kind", type=KIND, default="ingest", show_default=True, help="Schema to validate against.")
@click.option(
    "--max-errors", type=click.IntRange(min=1), default=20, show_default=True, help="Errors to report per file."
)
def validate_cmd(files: tuple[str, ...], kind: str, max_errors: int) -> None:
    """Validate XML FILES against the server's ingest or serve schema; exit code 1 if any is invalid."""
    bad = 0
    for f in files:
        with (
            err_console.progress(f"validate {Path(f).name}", total=os.path.getsize(f), unit="bytes") as bar,
            _console.CountingReader(f, bar.update) as src,
        ):
            report = validate(src, kind=kind, max_errors=max_errors)  # type: ignore[arg-type]
        if report.ok:
            console.line(("OK", "green"), f"      {f}: {report.records} cue points, valid {kind} document")
            continue
        bad += 1
        more = " (more not shown)" if report.truncated else ""
        console.line(("INVALID", "red"), f" {f}: {len(report.errors)} error(s){more}")
        for e in report.errors:
            console.line(f"  {e}")
    if bad:
        sys.exit(1)


@main.command()
@click.option(
    "--workdir",
    type=click.Path(file_okay=False),
    default=None,
    help="Where to write the demo's files (default: a temporary folder).",
)
def demo(workdir: str | None) -> None:
    """Run the main job end to end: sample CSV -> XML -> validate -> push to the emulator -> pull back."""
    from .demo import run_demo

    if not run_demo(Path(workdir) if workdir else None, console=console):
        sys.exit(1)


def _register_layer_commands() -> None:
    """Commands that live with their layer (emulator, API client) register here."""
    from .cli_api import COMMANDS
    from .cli_dedupe import dedupe
    from .cli_sync import COMMANDS as SYNC_COMMANDS
    from .emulator.cli import emulator

    main.add_command(emulator)
    for command in [*COMMANDS, *SYNC_COMMANDS]:
        main.add_command(command)
    main.add_command(dedupe)


_register_layer_commands()

if __name__ == "__main__":  # pragma: no cover
    main()

"""The ``cuepipe`` command line: convert, validate, demo (and the API/emulator commands).

Exit codes scripts can rely on: 0 success; 1 the input is invalid or a value cannot be carried
(the message names the file, line or record); 2 wrong usage (unknown option, missing file).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from . import frames
from .errors import CuepipeError
from .xml import iter_cue_points, validate, write_xml

KIND = click.Choice(["ingest", "serve"])
err_console = Console(stderr=True, highlight=False, soft_wrap=True)
console = Console(highlight=False, soft_wrap=True)


class _Group(click.Group):
    """Turn cuepipe's own errors into one readable line and exit code 1, instead of a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CuepipeError as exc:
            err_console.print(f"error: {exc}", markup=False, soft_wrap=True)
            ctx.exit(1)
        except (ValueError, KeyError) as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
            err_console.print(f"error: {msg}", markup=False, soft_wrap=True)
            ctx.exit(1)


@click.group(cls=_Group)
@click.version_option(package_name="cuepipe")
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Move Kaltura cue points between CSV/Parquet/JSON Lines, bulk XML and the Kaltura API."""
    ctx.obj = {"debug": debug}


def _records_from(path: str, chunksize: int) -> Iterator[dict[str, Any]]:
    fmt = frames.table_format(path)
    if fmt == "xml":
        yield from iter_cue_points(path)
        return
    for chunk in frames.read_table(path, chunksize=chunksize):
        yield from frames.frame_to_records(chunk)


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
def convert(source: str, dest: str, kind: str, unsupported: str, chunksize: int) -> None:
    """Convert SOURCE to DEST; formats by extension: .csv, .parquet, .jsonl, .xml (each may end in .gz).

    Streams: memory stays flat however large the input is. Output appears only when complete.
    """
    out_fmt = frames.table_format(dest)
    if out_fmt == "xml":
        count = write_xml(
            _records_from(source, chunksize),
            dest,
            kind=kind,  # type: ignore[arg-type]
            unsupported=unsupported,
        )  # type: ignore[arg-type]
    else:
        with frames.TableWriter(dest) as writer:
            if frames.table_format(source) == "xml":
                for chunk in frames.read_xml(source, chunksize=chunksize):  # type: ignore[union-attr]
                    writer.write(chunk)
            else:
                for chunk in frames.read_table(source, chunksize=chunksize):
                    writer.write(chunk)
            count = writer.rows
    err_console.print(f"wrote {count} cue points to {dest}", markup=False)


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
        report = validate(f, kind=kind, max_errors=max_errors)  # type: ignore[arg-type]
        if report.ok:
            console.print(f"[green]OK[/]      {f}: {report.records} cue points, valid {kind} document")
            continue
        bad += 1
        console.print(
            f"[red]INVALID[/] {f}: {len(report.errors)} error(s)" + (" (more not shown)" if report.truncated else "")
        )
        for e in report.errors:
            console.print(f"  {e}", markup=False, soft_wrap=True)
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
    from .cli_sync import COMMANDS as SYNC_COMMANDS
    from .emulator.cli import emulator

    main.add_command(emulator)
    for command in [*COMMANDS, *SYNC_COMMANDS]:
        main.add_command(command)


_register_layer_commands()

if __name__ == "__main__":  # pragma: no cover
    main()

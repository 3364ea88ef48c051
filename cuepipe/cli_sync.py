"""Command line for syncs and migrations: ``plan``, ``apply``, ``sync``, ``copy``, ``check``.

Registered by :mod:`cuepipe.cli`. Connection settings as for ``push`` (options or ``KALTURA_*``
environment variables, see :mod:`cuepipe.cli_api`).

Exit codes: 0 success (for ``plan --detailed-exitcode``: no changes); 1 an error (bad input, a
plan with errors, a stale plan, an API failure: one line, no traceback); 2 wrong usage, or, for
``plan --detailed-exitcode``, a valid plan with changes (as a well-known infrastructure tool does).
"""

from __future__ import annotations

import sys
from typing import Any

import click

from .cli_api import ProgressBar, _connection, api_command, connection_options, err, make_client, out


def _print_plan(p: Any) -> None:
    out.print(str(p), markup=False, soft_wrap=True)


@click.command("plan")
@click.argument("desired", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--entry",
    "entries",
    multiple=True,
    metavar="ENTRY_ID",
    help="An entry the table is the desired state of (repeatable; default: the entries its rows name).",
)
@click.option("--prune", is_flag=True, help="Delete keyed cue points of those entries that the table does not have.")
@click.option(
    "--key",
    type=click.Choice(["systemName", "id"]),
    default="systemName",
    show_default=True,
    help="How rows match cue points (a row's id always wins).",
)
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="Save the plan as JSON for apply.")
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 0 when there is nothing to change, 2 when there are changes, 1 on errors.",
)
@connection_options
@api_command
def plan_cmd(
    desired: str,
    entries: tuple[str, ...],
    prune: bool,
    key: str,
    output: str | None,
    detailed_exitcode: bool,
    **kwargs: Any,
) -> None:
    """Show what it takes to make the entries' cue points equal DESIRED (.csv, .parquet, .jsonl, .xml).

    Nothing is written to the server. Save the plan with -o and carry it out with `cuepipe apply`.
    """
    from .sync import plan

    with make_client(_connection(kwargs)) as client, ProgressBar("read") as bar:
        p = plan(client, desired, entries=entries or None, key=key, prune=prune, progress=bar)  # type: ignore[arg-type]
    _print_plan(p)
    if output:
        p.save(output)
        err.print(f"saved the plan to {output}; apply it with: cuepipe apply {output}", markup=False)
    if p.errors:
        sys.exit(1)
    if detailed_exitcode and p.has_changes:
        sys.exit(2)


@click.command("apply")
@click.argument("plan_file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--journal",
    type=click.Path(dir_okay=False, writable=True),
    help="SQLite journal: after an interruption, run the same command again to finish exactly once.",
)
@click.option(
    "--chunk-size",
    type=click.IntRange(min=1),
    default=500,
    show_default=True,
    help="Cue points per addFromBulk upload.",
)
@connection_options
@api_command
def apply_cmd(plan_file: str, journal: str | None, chunk_size: int, **kwargs: Any) -> None:
    """Carry out a plan saved by `cuepipe plan -o`; stops before writing if the server changed since."""
    from .sync import Plan

    p = Plan.load(plan_file)
    with make_client(_connection(kwargs)) as client, ProgressBar("apply") as bar:
        result = p.apply(client, journal=journal, progress=bar, chunk_size=chunk_size)
    err.print(str(result), markup=False)


@click.command("sync")
@click.argument("desired", type=click.Path(exists=True, dir_okay=False))
@click.option("--entry", "entries", multiple=True, metavar="ENTRY_ID", help="As for `cuepipe plan`.")
@click.option("--prune", is_flag=True, help="Delete keyed cue points of those entries that the table does not have.")
@click.option("--key", type=click.Choice(["systemName", "id"]), default="systemName", show_default=True)
@click.option("--journal", type=click.Path(dir_okay=False, writable=True), help="SQLite journal (see apply).")
@click.option("--yes", "-y", is_flag=True, help="Apply without asking.")
@click.option(
    "--chunk-size",
    type=click.IntRange(min=1),
    default=500,
    show_default=True,
    help="Cue points per addFromBulk upload.",
)
@connection_options
@api_command
def sync_cmd(
    desired: str,
    entries: tuple[str, ...],
    prune: bool,
    key: str,
    journal: str | None,
    yes: bool,
    chunk_size: int,
    **kwargs: Any,
) -> None:
    """Plan DESIRED, show the plan, and apply it (asks first unless --yes)."""
    from .sync import plan

    with make_client(_connection(kwargs)) as client:
        with ProgressBar("read") as bar:
            p = plan(client, desired, entries=entries or None, key=key, prune=prune, progress=bar)  # type: ignore[arg-type]
        _print_plan(p)
        if p.errors:
            sys.exit(1)
        if not p.has_changes:
            return
        if not yes:
            if not sys.stdin.isatty():
                raise click.UsageError("not asking on a non-interactive input: pass --yes to apply the plan")
            if not click.confirm("Apply this plan?", default=False, err=True):
                err.print("nothing applied", markup=False)
                sys.exit(1)
        with ProgressBar("apply") as bar:
            result = p.apply(client, journal=journal, progress=bar, chunk_size=chunk_size)
    err.print(str(result), markup=False)


#: The commands for :mod:`cuepipe.cli` to register.
COMMANDS: list[click.Command] = [plan_cmd, apply_cmd, sync_cmd]

"""``cuepipe dedupe``: find (and with ``--yes`` remove) cue points that share a systemName on an entry.

Registered by :mod:`cuepipe.cli`. The rules (oldest copy kept, copies with children or of another
type left alone, dry run by default) are :mod:`cuepipe.client._dedupe`'s.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from .cli_api import _connection, api_command, connection_options, err, make_client, out, write_report
from .frames import table_format

SHOWN = 20  # keys listed on the terminal; --report has them all


@click.command("dedupe")
@click.option(
    "--entry-id",
    "entry_ids",
    multiple=True,
    required=True,
    metavar="ID",
    help="Entry to check (repeatable, or comma-separated).",
)
@click.option("--yes", is_flag=True, help="Delete the extra copies (without it: a dry run that only lists them).")
@click.option(
    "--report",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Write every duplicated cue point (kept, deleted, left, and why) to .csv/.parquet/.jsonl.",
)
@connection_options
@api_command
def dedupe(entry_ids: tuple[str, ...], yes: bool, report: str | None, **kwargs: Any) -> None:
    """Find cue points that share a systemName on an entry; keep the oldest of each, delete the others.

    A push whose answer was lost can leave such copies when the server applied two requests at
    once; a push says when that is possible. Copies with children or of another type are left and
    reported; a cue point that is the only one of its systemName is never touched. Exit code: 0 when
    nothing is (left) duplicated, 1 when duplicates were found in a dry run or could not all be
    removed.
    """
    if report is not None:
        table_format(report)
    entries = [e.strip() for value in entry_ids for e in value.split(",") if e.strip()]
    with make_client(_connection(kwargs)) as client:
        result = client.dedupe(entries, dry_run=not yes)
    if report is not None:
        write_report(result.set_index("entryId"), report)
    extra = result[result["action"].isin(["delete", "deleted"])]
    left = result[result["action"] == "left"]
    keys = result[["entryId", "systemName"]].drop_duplicates()
    for n, (entry, name) in enumerate(keys.itertuples(index=False)):
        if n == SHOWN:
            out.print(f"... and {len(keys) - SHOWN} more systemName(s) (--report FILE lists them all)", markup=False)
            break
        group = result[(result["entryId"] == entry) & (result["systemName"] == name)]
        parts = [
            f"{row.action} {row.id}" + (f" ({row.reason})" if row.action == "left" else "")
            for row in group.itertuples()
        ]
        out.print(f"{entry}  {name!r}: " + ", ".join(parts), markup=False, soft_wrap=True)
    verb = "deleted" if yes else "would delete"
    summary = f"{len(entries)} entry(ies): {len(keys)} systemName(s) with copies; {verb} {len(extra)} cue point(s)" + (
        f"; {len(left)} left (children or another type)" if len(left) else ""
    )
    err.print(summary + ("" if yes or not len(extra) else "; run again with --yes to delete them"), markup=False)
    if (not yes and len(extra)) or len(left):
        sys.exit(1)

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
    out.block(p)


_chunk_size = click.option(
    "--chunk-size",
    type=click.IntRange(min=1),
    default=500,
    show_default=True,
    help="Cue points per addFromBulk upload.",
)


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
@_chunk_size
@connection_options
@api_command
def apply_cmd(plan_file: str, journal: str | None, chunk_size: int, **kwargs: Any) -> None:
    """Carry out a plan saved by `cuepipe plan -o`; stops before writing if the server changed since."""
    from .sync import Plan

    p = Plan.load(plan_file)
    with make_client(_connection(kwargs)) as client, ProgressBar("apply") as bar:
        result = p.apply(client, journal=journal, progress=bar, chunk_size=chunk_size)
    err.block(result)


@click.command("sync")
@click.argument("desired", type=click.Path(exists=True, dir_okay=False))
@click.option("--entry", "entries", multiple=True, metavar="ENTRY_ID", help="As for `cuepipe plan`.")
@click.option("--prune", is_flag=True, help="Delete keyed cue points of those entries that the table does not have.")
@click.option("--key", type=click.Choice(["systemName", "id"]), default="systemName", show_default=True)
@click.option("--journal", type=click.Path(dir_okay=False, writable=True), help="SQLite journal (see apply).")
@click.option("--yes", "-y", is_flag=True, help="Apply without asking.")
@_chunk_size
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
    err.block(result)


# ---------------------------------------------------------------------------------------------
# copy
# ---------------------------------------------------------------------------------------------

_HEADER_NAMES = {"source", "src", "from", "sourceentryid", "source_entry_id", "source entry id"}


def read_entry_map(path: str) -> dict[str, str]:
    """Two columns (source entry id, target entry id); a first row naming the columns is skipped."""
    import csv

    out: dict[str, str] = {}
    with open(path, newline="", encoding="utf-8-sig") as f:
        for n, row in enumerate(csv.reader(f), start=1):
            cells = [c.strip() for c in row]
            if not any(cells):
                continue
            if n == 1 and cells[0].lower() in _HEADER_NAMES:
                continue
            if len(cells) != 2 or not cells[0] or not cells[1]:
                raise click.BadParameter(
                    f"{path}, line {n}: expected two columns (source entry id, target entry id), got {row!r}",
                    param_hint="--entry-map",
                )
            if cells[0] in out and out[cells[0]] != cells[1]:
                raise click.BadParameter(
                    f"{path}, line {n}: source entry {cells[0]} is mapped twice", param_hint="--entry-map"
                )
            out[cells[0]] = cells[1]
    return out


def _settings(
    prefix: str | None, url: str | None, partner_id: int | None, ks: str | None, secret: str | None
) -> dict[str, Any]:
    """Connection settings from ``PREFIX_SERVICE_URL`` / ``_PARTNER_ID`` / ``_KS`` / ``_ADMIN_SECRET`` (or KALTURA_)."""
    import os

    p = (prefix or "KALTURA").rstrip("_")
    env = os.environ
    settings: dict[str, Any] = {
        "service_url": url or env.get(f"{p}_SERVICE_URL"),
        "ks": ks or (None if secret else env.get(f"{p}_KS")),
        "admin_secret": secret or (None if ks else env.get(f"{p}_ADMIN_SECRET")),
        "http_timeout": 120.0,
    }
    pid = partner_id
    if pid is None and env.get(f"{p}_PARTNER_ID"):
        try:
            pid = int(env[f"{p}_PARTNER_ID"])
        except ValueError:
            raise click.UsageError(f"{p}_PARTNER_ID must be an integer") from None
    settings["partner_id"] = pid
    if not settings["service_url"]:
        raise click.UsageError(f"the service URL is missing: set {p}_SERVICE_URL or pass the URL option")
    return settings


@click.command("copy")
@click.option(
    "--from-env",
    "from_env",
    metavar="PREFIX",
    help="Source settings from PREFIX_SERVICE_URL, PREFIX_PARTNER_ID, PREFIX_ADMIN_SECRET or PREFIX_KS "
    "(default KALTURA).",
)
@click.option("--to-env", "to_env", metavar="PREFIX", help="Target settings from PREFIX_... (default: the source's).")
@click.option("--source-url", metavar="URL", help="Source service URL (overrides --from-env).")
@click.option("--source-partner-id", type=int, metavar="ID")
@click.option(
    "--source-admin-secret", metavar="SECRET", help="Prefer the environment: options show in the process list."
)
@click.option("--source-ks", metavar="KS")
@click.option("--target-url", metavar="URL", help="Target service URL (overrides --to-env).")
@click.option("--target-partner-id", type=int, metavar="ID")
@click.option("--target-admin-secret", metavar="SECRET")
@click.option("--target-ks", metavar="KS")
@click.option(
    "--entry-map", type=click.Path(exists=True, dir_okay=False), help="CSV: source entry id, target entry id."
)
@click.option("--entry", "pairs", multiple=True, metavar="SRC=DST", help="One mapping (repeatable), e.g. 0_abc=0_def.")
@click.option("--shift", default="0", show_default=True, help="Move every time by this much: 1500ms, -2s, 1:30.")
@click.option(
    "--keep",
    default=None,
    metavar="SEGMENTS",
    help="The parts of the source the target kept, e.g. 0:00-5:00,7:30-20:00.",
)
@click.option(
    "--type", "types", multiple=True, metavar="TYPE", help="Copy only these types (repeatable), e.g. annotation."
)
@click.option(
    "--answers",
    type=click.Choice(["skip", "copy"]),
    default="skip",
    show_default=True,
    help="Quiz answers: user attempts of the source account.",
)
@click.option(
    "--thumbs",
    type=click.Choice(["copy", "skip"]),
    default="copy",
    show_default=True,
    help="Slides: copied without their image asset, or skipped.",
)
@click.option(
    "--journal",
    type=click.Path(dir_okay=False, writable=True),
    help="SQLite journal: re-run the same command after an interruption.",
)
@click.option(
    "--report",
    type=click.Path(dir_okay=False, writable=True),
    help="Write the id map and every skip to .csv or .parquet.",
)
@click.option("--chunk-size", type=click.IntRange(min=1), default=500, show_default=True)
@api_command
def copy_cmd(
    from_env: str | None,
    to_env: str | None,
    source_url: str | None,
    source_partner_id: int | None,
    source_admin_secret: str | None,
    source_ks: str | None,
    target_url: str | None,
    target_partner_id: int | None,
    target_admin_secret: str | None,
    target_ks: str | None,
    entry_map: str | None,
    pairs: tuple[str, ...],
    shift: str,
    keep: str | None,
    types: tuple[str, ...],
    answers: str,
    thumbs: str,
    journal: str | None,
    report: str | None,
    chunk_size: int,
) -> None:
    """Copy every cue point of the mapped entries to other entries, another partner or service.

    Parents and quiz answers are relinked to the new ids; cue points keep their systemName (or get
    cuepipe-src:<source id>), so running the same command again updates instead of duplicating.
    """
    from .sync import copy
    from .sync.timemap import parse_duration_ms, parse_segments

    mapping = read_entry_map(entry_map) if entry_map else {}
    for pair in pairs:
        src, sep, dst = pair.partition("=")
        if not sep or not src.strip() or not dst.strip():
            raise click.BadParameter(f"expected SRC=DST, got {pair!r}", param_hint="--entry")
        mapping[src.strip()] = dst.strip()
    if not mapping:
        raise click.UsageError("nothing to copy: give --entry-map FILE or --entry SRC=DST")
    if report is not None and not report.endswith((".csv", ".parquet")):
        raise click.UsageError("--report takes a .csv or .parquet path")
    shift_ms = parse_duration_ms(shift)
    segments = parse_segments(keep) if keep else None
    src_settings = _settings(from_env, source_url, source_partner_id, source_ks, source_admin_secret)
    same = not any((to_env, target_url, target_partner_id, target_admin_secret, target_ks))
    dst_settings = (
        src_settings if same else _settings(to_env, target_url, target_partner_id, target_ks, target_admin_secret)
    )
    with make_client(src_settings) as source, make_client(dst_settings) as target, ProgressBar("copy") as bar:
        result = copy(
            source,
            target,
            entry_map=mapping,
            types=list(types) or None,
            shift_ms=shift_ms,
            keep=segments,
            journal=journal,
            answers=answers,  # type: ignore[arg-type]
            thumbs=thumbs,  # type: ignore[arg-type]
            chunk_size=chunk_size,
            progress=bar,
            entry_progress=lambda entry, done, total: bar.item(entry, done, total, label=f"entry {entry}"),
        )
    out.block(result)
    if report is not None:
        (result.to_parquet if report.endswith(".parquet") else result.to_csv)(report)
        err.print(f"wrote the id map and skips to {report}", markup=False)


# ---------------------------------------------------------------------------------------------
# check
# ---------------------------------------------------------------------------------------------


@click.command("check")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--server",
    "against_server",
    is_flag=True,
    help="Also check against the server: entries exist, cue points within the entry's duration, parents present.",
)
@click.option("--strict", is_flag=True, help="Exit 1 on warnings too.")
@connection_options
@api_command
def check_cmd(file: str, against_server: bool, strict: bool, **kwargs: Any) -> None:
    """List what would surprise you after pushing FILE: per row, errors and warnings (exit 1 on errors)."""
    from .sync import check

    settings = _connection(kwargs)
    if against_server:
        with make_client(settings) as client:
            report = check(file, client)
    else:
        report = check(file)
    out.block(report)
    if report.errors or (strict and report.warnings):
        sys.exit(1)


#: The commands for :mod:`cuepipe.cli` to register.
COMMANDS: list[click.Command] = [plan_cmd, apply_cmd, sync_cmd, copy_cmd, check_cmd]

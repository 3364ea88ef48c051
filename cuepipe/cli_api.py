"""Command line for the Kaltura API: ``push``, ``pull`` and ``jobs`` (registered by :mod:`cuepipe.cli`).

Connection settings come from options or the environment: ``--service-url`` / ``KALTURA_SERVICE_URL``,
``--partner-id`` / ``KALTURA_PARTNER_ID``, and ``--ks`` / ``KALTURA_KS`` or ``--admin-secret`` /
``KALTURA_ADMIN_SECRET`` (an option wins over the environment; both credentials in the environment is
an error). Prefer the environment for secrets: options are visible in the process list.

Exit codes: 0 success; 1 a data or API error (the message names the rows, upload or job);
2 wrong usage (missing setting, unknown option).
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any, TypeVar, cast

import click
import pandas as pd
from click.core import ParameterSource

from . import _console, frames
from . import vocabulary as voc
from ._files import AtomicOutput, check_folder
from .cli_formats import options as table_options_for
from .cli_formats import read_all, table_options
from .client import Client, ConfigurationError, PushError
from .client._base import AUTO_CONCURRENCY, AUTO_MIN_PUSH, AUTO_PUSH_CONCURRENCY, MAX_CONCURRENCY, check_concurrency
from .client._config import ENV_ADMIN_SECRET, ENV_KS, ENV_PARTNER_ID, ENV_SERVICE_URL, settings_from_env
from .client._pull import Precision, Unservable
from .errors import CuepipeError, describe_os_error
from .kaltura import BulkUpload, KalturaAnnotationFilter, KalturaCuePointFilter, filter_class_for
from .kaltura.redact import scrub
from .vocabulary import BatchJobStatus, Kind
from .xml import write_xml

F = TypeVar("F", bound=Callable[..., Any])

# Plain lines when the stream is not a terminal (greppable, never wrapped), rich on a terminal.
err = _console.console(stderr=True)
out = _console.console()


# ---------------------------------------------------------------------------------------------
# Shared options, client, errors, progress
# ---------------------------------------------------------------------------------------------


class Concurrency(click.ParamType):
    """``auto`` or an integer from 1 to ``MAX_CONCURRENCY``, checked by the client's own rule."""

    name = "auto|N"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, int) or value == "auto":
            candidate = value
        else:
            try:
                candidate = int(str(value).strip())
            except ValueError:
                candidate = str(value)
        try:
            check_concurrency(candidate)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)
        return candidate


def connection_options(func: F) -> F:
    """``--service-url``, ``--partner-id``, ``--ks``, ``--admin-secret``, ``--http-timeout`` (with env vars)."""
    options = [
        click.option(
            "--service-url",
            envvar=ENV_SERVICE_URL,
            show_envvar=True,
            metavar="URL",
            help="Kaltura service URL, e.g. https://www.kaltura.com.",
        ),
        click.option(
            "--partner-id",
            envvar=ENV_PARTNER_ID,
            show_envvar=True,
            type=int,
            metavar="ID",
            help="Partner id (read from the KS when --ks is given).",
        ),
        click.option("--ks", envvar=ENV_KS, show_envvar=True, metavar="KS", help="A KS to use as is."),
        click.option(
            "--admin-secret",
            envvar=ENV_ADMIN_SECRET,
            show_envvar=True,
            metavar="SECRET",
            help="Admin secret: a KS is made locally and renewed before it expires.",
        ),
        click.option(
            "--http-timeout",
            type=click.FloatRange(min=1),
            default=120.0,
            show_default=True,
            help="Seconds to wait for each answer from the server.",
        ),
        click.option(
            "--concurrency",
            type=Concurrency(),
            default="auto",
            show_default=True,
            help=f"Requests a push or pull keeps in flight: 'auto' (a push of {AUTO_MIN_PUSH:,} cue points or "
            f"more: {AUTO_PUSH_CONCURRENCY}; a pull of more than a few pages: {AUTO_CONCURRENCY}; else 1) or 1 to "
            f"{MAX_CONCURRENCY}.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


_SETTINGS = {
    "service_url": (ENV_SERVICE_URL, "--service-url"),
    "partner_id": (ENV_PARTNER_ID, "--partner-id"),
    "ks": (ENV_KS, "--ks"),
    "admin_secret": (ENV_ADMIN_SECRET, "--admin-secret"),
}


def make_client(settings: dict[str, Any]) -> Client:
    """The client for the connection options, checked as ``Client.from_env`` checks its variables.

    A setting given on the command line wins over the environment (a ``--ks`` over
    ``KALTURA_ADMIN_SECRET``); errors name the option or the variable the value came from.
    """
    ctx = click.get_current_context(silent=True)

    def from_env(param: str) -> bool:
        return ctx is not None and ctx.get_parameter_source(param) == ParameterSource.ENVIRONMENT

    values = {param: settings.get(param) for param in _SETTINGS}
    if values["ks"] and values["admin_secret"] and from_env("ks") != from_env("admin_secret"):
        values["admin_secret" if from_env("admin_secret") else "ks"] = None
    environ = {env: str(values[param]) for param, (env, _) in _SETTINGS.items() if values[param] is not None}
    labels = {
        env: env if from_env(param) else f"{option} (or {env})" if values[param] is None else option
        for param, (env, option) in _SETTINGS.items()
    }
    try:
        return Client(
            **settings_from_env(environ, labels=labels),
            timeout=settings.get("http_timeout") or 120.0,
            concurrency=settings.get("concurrency") or "auto",
        )
    except ConfigurationError as exc:
        raise click.UsageError(str(exc)) from None


def _connection(kwargs: dict[str, Any]) -> dict[str, Any]:
    keys = ("service_url", "partner_id", "ks", "admin_secret", "http_timeout", "concurrency")
    return {k: kwargs.pop(k, None) for k in keys}


def api_command(func: F) -> F:
    """Turn cuepipe/API errors into one readable line and exit code 1; secrets are masked."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        secrets = [kwargs.get("ks"), kwargs.get("admin_secret")]
        try:
            return func(*args, **kwargs)
        except (CuepipeError, ValueError, KeyError, OSError) as exc:
            root = ctx.find_root().obj
            if isinstance(root, dict) and root.get("debug"):
                raise
            message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
            if isinstance(exc, OSError) and not isinstance(exc, CuepipeError):
                message = describe_os_error(exc)  # "cannot write x.csv: ...", not "[Errno 2] ...: 'x.csv'"
            err.line(f"error: {scrub(str(message), *secrets)}")
            ctx.exit(1)

    return wrapper  # type: ignore[return-value]


class ProgressBar(_console.ProgressBar):
    """A progress bar on stderr fed by the client's progress callback (nothing when not a terminal)."""

    def __init__(self, label: str) -> None:
        super().__init__(err, label)


def _rows(rows: list[Any]) -> str:
    text = ", ".join(str(r) for r in rows[:8])
    return text + (f" (+{len(rows) - 8} more)" if len(rows) > 8 else "")


def _print_recoveries(result: pd.DataFrame) -> None:
    """What settling a lost answer did, one line per upload, and where late duplicates are possible."""
    for r in result.attrs.get("recoveries", []):
        line = (
            f"upload {r['upload']} (entry {r['entryId']}): answer lost ({r['cause']}); watched the entry "
            f"{r['waited']:.1f} s; {r['landed']} had landed, {r['resent']} re-sent, "
            f"{len(r['swept'])} duplicate(s) deleted"
        )
        if r["kept"]:
            line += f", {len(r['kept'])} duplicate(s) kept (they have children)"
        err.print(line, markup=False, soft_wrap=True)
    for entry in result.attrs.get("unsettled_entries", []):
        err.print(
            f"warning: entry {entry} was still changing when cuepipe stopped watching it, or kept a duplicate: "
            f"late duplicates are possible; check with: cuepipe dedupe --entry-id {entry}",
            markup=False,
            soft_wrap=True,
        )


def write_report(result: pd.DataFrame, path: str) -> None:
    """The push result as CSV, Parquet or JSON Lines (by extension), written beside and renamed into
    place when complete: an interrupted write never leaves half a report."""
    fmt = frames.table_format(path)
    table = result.reset_index()
    if fmt not in ("csv", "parquet", "jsonl"):
        raise click.UsageError("--report takes a .csv, .parquet or .jsonl path")
    # atomic, and gzip for a .gz name, like every other output (see cuepipe._files)
    with AtomicOutput(path, compress=False if fmt == "parquet" else None) as out:
        if fmt == "parquet":
            table.to_parquet(out.file, index=False)
            return
        text = out.text()
        if fmt == "csv":
            table.to_csv(text, index=False)
        else:
            table.to_json(text, orient="records", lines=True, force_ascii=False)
        text.flush()
        text.detach()


# ---------------------------------------------------------------------------------------------
# push
# ---------------------------------------------------------------------------------------------


@click.command("push")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--chunk-size",
    type=click.IntRange(min=1),
    default=500,
    show_default=True,
    help="Cue points per upload (uploads never mix entries; a parent stays with its children).",
)
@click.option(
    "--service",
    type=click.Choice(["cuepoint", "annotation"]),
    default="cuepoint",
    show_default=True,
    help="API service: cuePoint, or the deprecated annotation service.",
)
@click.option(
    "--unsupported",
    type=click.Choice(["error", "ignore"]),
    default="error",
    show_default=True,
    help="Values the ingest format cannot carry (e.g. userId): stop, or leave them out.",
)
@click.option(
    "--on-error",
    type=click.Choice(["stop", "continue"]),
    default="stop",
    show_default=True,
    help="After a failed upload: stop, or go on with the other uploads.",
)
@click.option(
    "--report",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Write one result row per input row (server id, action, error) to .csv/.parquet/.jsonl.",
)
@click.option(
    "--journal",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="SQLite file recording which uploads were confirmed: after an interruption, run the same "
    "command again to finish without losing or duplicating cue points (every cue point needs a "
    "systemName; the journal belongs to this FILE and this server).",
)
@table_options
@click.option(
    "--settle",
    type=click.FloatRange(min=0.1),
    default=10.0,
    show_default=True,
    metavar="SECONDS",
    help="After a lost answer, watch the entry until its cue points have not changed for this long "
    "before sending anything again (see README, Reliability).",
)
@connection_options
@api_command
def push(
    file: str,
    chunk_size: int,
    service: str,
    unsupported: str,
    on_error: str,
    report: str | None,
    journal: str | None,
    cue_type: str | None,
    entry: str | None,
    columns: str | None,
    duration: str | None,
    settle: float,
    **kwargs: Any,
) -> None:
    """Create or update the cue points in FILE (.csv, .parquet, .jsonl or .xml) with cuePoint.addFromBulk.

    A cue point with a systemName (or the id of an existing one) updates it; others are created.
    Spreadsheets: --type, --entry and --columns fill and rename what the file leaves out.
    """
    if report is not None:
        frames.table_format(report)
        check_folder(report)  # before the push, not after it
    opts = table_options_for(cue_type, entry, columns, duration)
    data: Any = file
    if opts is not None:  # a spreadsheet: renamed, filled, chapter ends derived (cuepipe/cli_formats.py)
        notes: list[str] = []
        data = read_all(file, opts, notes)
        for note in notes:
            err.line(f"note: {note}")
    with make_client(_connection(kwargs)) as client, ProgressBar("push") as bar:
        try:
            result = client.push(
                data,
                service=service,
                chunk_size=chunk_size,
                unsupported=unsupported,  # type: ignore[arg-type]
                errors="raise" if on_error == "stop" else "collect",
                progress=bar,
                journal=journal,
                settle=settle,
            )
        except PushError as exc:
            if report is not None and exc.result is not None:
                write_report(exc.result, report)
            if exc.result is not None:
                _print_recoveries(exc.result)
            root = click.get_current_context().find_root().obj
            if isinstance(root, dict) and root.get("debug"):
                raise
            secrets = [kwargs.get("ks"), kwargs.get("admin_secret")]
            for line in exc.lines():
                err.print(f"error: {scrub(line, *secrets)}", markup=False, soft_wrap=True)
            sys.exit(1)
    if report is not None:
        write_report(result, report)
    counts = result["action"].value_counts(dropna=False)
    summary = ", ".join(f"{int(n)} {a if isinstance(a, str) else 'unknown'}" for a, n in counts.items())
    err.line(f"pushed {len(result)} cue points in {result.attrs.get('uploads', 0)} upload(s): {summary}")
    if journal is not None and (result.attrs.get("resumed") or result.attrs.get("recovered")):
        err.line(
            f"journal {journal}: {result.attrs.get('resumed', 0)} upload(s) taken from the journal, "
            f"{result.attrs.get('recovered', 0)} interrupted upload(s) checked with list and completed"
        )
    _print_recoveries(result)
    bad = result[result["action"].isin(["failed", "unknown"])]
    for upload, rows in bad.groupby("upload"):
        err.line(
            f"upload {upload} (entry {rows['entryId'].iloc[0]}, rows {_rows(list(rows.index))}): "
            f"{rows['error'].iloc[0]}"
        )
    if len(bad):
        sys.exit(1)


# ---------------------------------------------------------------------------------------------
# pull
# ---------------------------------------------------------------------------------------------


def build_filter(entry_ids: tuple[str, ...], cue_type: str | None, service: str) -> KalturaCuePointFilter:
    cls = (
        filter_class_for(cue_type)
        if cue_type
        else (KalturaAnnotationFilter if service == "annotation" else KalturaCuePointFilter)
    )
    if len(entry_ids) == 1:
        return cls(entryIdEqual=entry_ids[0])
    return cls(entryIdIn=list(entry_ids))


@click.command("pull")
@click.option(
    "--entry-id", "entry_ids", multiple=True, required=True, metavar="ID", help="Entry to read (repeat for several)."
)
@click.option(
    "--type", "cue_type", type=click.Choice([t.name for t in voc.TYPES]), default=None, help="Only this cue point type."
)
@click.option(
    "--precision",
    type=click.Choice(["ms", "tenths"]),
    default="ms",
    show_default=True,
    help="ms: list (exact times); tenths: serveBulk (what the server serves).",
)
@click.option(
    "--unservable",
    type=click.Choice(["error", "skip", "list"]),
    default="error",
    show_default=True,
    help="tenths only: thumb/event cue points and quiz questions with answers cannot be served; "
    "stop, leave them out, or take them from list.",
)
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, writable=True),
    help="Output file: .parquet, .csv, .jsonl or .xml (.gz after any but .parquet).",
)
@click.option(
    "--kind",
    type=click.Choice(["serve", "ingest"]),
    default="serve",
    show_default=True,
    help="XML output: serve format (with ids and owners) or ingest format (to push elsewhere).",
)
@click.option("--service", type=click.Choice(["cuepoint", "annotation"]), default="cuepoint", show_default=True)
@click.option("--page-size", type=click.IntRange(1, 500), default=500, show_default=True)
@connection_options
@api_command
def pull(
    entry_ids: tuple[str, ...],
    cue_type: str | None,
    precision: str,
    unservable: str,
    output: str,
    kind: str,
    service: str,
    page_size: int,
    **kwargs: Any,
) -> None:
    """Read every cue point of the given entries into OUTPUT, page by page."""
    fmt = frames.table_format(output)
    flt = build_filter(entry_ids, cue_type, service)
    with make_client(_connection(kwargs)) as client, ProgressBar("pull") as bar:
        pages = client.iter_pull(
            flt,
            service=service,
            precision=cast(Precision, precision),
            page_size=page_size,
            unservable=cast(Unservable, unservable),
            progress=bar,
        )
        if fmt == "xml":

            def records() -> Iterator[dict[str, Any]]:
                for page in pages:
                    yield from frames.frame_to_records(page)

            written: Any = write_xml(
                records(),
                output,
                kind=cast(Kind, kind),
                unsupported="ignore" if kind == "ingest" else "error",
            )
            count = int(written)
        else:
            with frames.TableWriter(output) as writer:
                for page in pages:
                    writer.write(page)
                count = writer.rows
    err.line(f"pulled {count} cue points to {output}")


# ---------------------------------------------------------------------------------------------
# jobs
# ---------------------------------------------------------------------------------------------


def _status(job: BulkUpload) -> str:
    return str(getattr(job.status, "name", job.status))


def _job_fields(job: BulkUpload) -> dict[str, Any]:
    """What is safe to print: never the log/file URLs (they embed the KS)."""
    return {
        "id": job.id,
        "status": _status(job),
        "uploaded": job.uploaded_at.isoformat() if job.uploaded_at else None,
        "uploadedBy": job.uploaded_by,
        "type": getattr(job.bulk_upload_type, "value", job.bulk_upload_type),
        "fileName": job.file_name,
        "numOfObjects": job.num_of_objects,
        "error": job.error,
        "results": len(job.results) or None,
    }


def _print_job(job: BulkUpload) -> None:
    for key, value in _job_fields(job).items():
        if value is not None:
            out.line(f"{key}: {value}")


def _wait(client: Client, job_id: int, timeout: float, poll_interval: float) -> BulkUpload:
    bar = ProgressBar(f"job {job_id}")
    with bar:
        job = client.bulk_uploads.wait(job_id, timeout=timeout, poll_interval=poll_interval, progress=bar)
    return job


def _finish(job: BulkUpload) -> None:
    err.line(f"bulk upload {job.id}: {_status(job)}" + (f" ({job.error})" if job.error else ""))
    if job.status != BatchJobStatus.FINISHED:
        sys.exit(1)


@click.group("jobs")
def jobs() -> None:
    """Bulk upload jobs (bulkupload_bulk): submit, list, get, wait, abort, log."""


@jobs.command("list")
@click.option("--limit", type=click.IntRange(1, 500), default=30, show_default=True, help="Newest jobs to show.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line instead of a table.")
@connection_options
@api_command
def jobs_list(limit: int, as_json: bool, **kwargs: Any) -> None:
    """List recent bulk upload jobs, newest first."""
    with make_client(_connection(kwargs)) as client:
        page = client.bulk_uploads.list(page_size=limit)
    if as_json:
        for job in page.objects:
            out.line(json.dumps(_job_fields(job), ensure_ascii=False))
        return
    columns = ("id", "status", "uploaded", "fileName", "numOfObjects", "error")
    title = f"{len(page.objects)} of {page.total_count} bulk upload job(s)"
    if not out.is_terminal:
        err.line(title)  # stdout stays the table alone: a header line and one line per job
    out.table(columns, ([_job_fields(job)[c] for c in columns] for job in page.objects), title=title)


@jobs.command("get")
@click.argument("job_id", type=int)
@connection_options
@api_command
def jobs_get(job_id: int, **kwargs: Any) -> None:
    """Show one bulk upload job."""
    with make_client(_connection(kwargs)) as client:
        _print_job(client.bulk_uploads.get(job_id))


@jobs.command("wait")
@click.argument("job_id", type=int)
@click.option(
    "--timeout",
    "wait_timeout",
    type=click.FloatRange(min=0.1),
    default=600.0,
    show_default=True,
    help="Seconds to wait for a final state.",
)
@click.option("--poll-interval", type=click.FloatRange(min=0.05), default=2.0, show_default=True)
@connection_options
@api_command
def jobs_wait(job_id: int, wait_timeout: float, poll_interval: float, **kwargs: Any) -> None:
    """Wait until a job is done; exit code 1 unless it FINISHED."""
    with make_client(_connection(kwargs)) as client:
        job = _wait(client, job_id, wait_timeout, poll_interval)
    _finish(job)


@jobs.command("abort")
@click.argument("job_id", type=int)
@connection_options
@api_command
def jobs_abort(job_id: int, **kwargs: Any) -> None:
    """Abort a job (and its child jobs)."""
    with make_client(_connection(kwargs)) as client:
        job = client.bulk_uploads.abort(job_id)
    err.line(f"bulk upload {job.id}: {_status(job)}")


@jobs.command("log")
@click.argument("job_id", type=int)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Write the log here instead of standard output.",
)
@connection_options
@api_command
def jobs_log(job_id: int, output: str | None, **kwargs: Any) -> None:
    """Print a job's result log (the result MRSS of an XML bulk upload)."""
    with make_client(_connection(kwargs)) as client:
        body = client.bulk_uploads.serve_log(job_id)
    if output is None:
        sys.stdout.buffer.write(body)
        sys.stdout.buffer.flush()
    else:
        with AtomicOutput(output) as out:  # no partial log on failure; .gz compresses
            out.file.write(body)


@jobs.command("submit")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--via",
    type=click.Choice(["bulk", "media"]),
    default="bulk",
    show_default=True,
    help="bulkupload_bulk.addEntries, or its alias media.bulkUploadAdd.",
)
@click.option("--wait/--no-wait", "wait_for_it", default=False, help="Wait for the job to finish.")
@click.option("--wait-timeout", type=click.FloatRange(min=0.1), default=600.0, show_default=True)
@click.option("--poll-interval", type=click.FloatRange(min=0.05), default=2.0, show_default=True)
@connection_options
@api_command
def jobs_submit(
    file: str, via: str, wait_for_it: bool, wait_timeout: float, poll_interval: float, **kwargs: Any
) -> None:
    """Start a bulk upload job from an XML (MRSS) bulk file; prints the job id."""
    with make_client(_connection(kwargs)) as client:
        job = client.bulk_uploads.submit(file, filename=os.path.basename(file), via=via)  # type: ignore[arg-type]
        out.line(str(job.id))
        if wait_for_it:
            job = _wait(client, job.id, wait_timeout, poll_interval)
    if wait_for_it:
        _finish(job)


#: The commands for :mod:`cuepipe.cli` to register: ``for command in COMMANDS: main.add_command(command)``.
COMMANDS: list[click.Command] = [push, pull, jobs]

"""``cuepipe emulator``: run the local Kaltura API emulator in the foreground.

The command object is registered by the main CLI; it can also run on its own
(``python -m cuepipe.emulator.cli --admin-secret ...``). Secrets are never printed.
"""

from __future__ import annotations

import errno
import os

import click

from .._console import console
from .faults import FaultSpecError, parse_fault
from .server import run


@click.command("emulator")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8080, show_default=True, type=int, help="TCP port (0 picks a free one).")
@click.option(
    "--db",
    default="cuepipe-emulator.db",
    show_default=True,
    help="SQLite database file; ':memory:' keeps nothing after exit.",
)
@click.option("--partner-id", default=100, show_default=True, type=int, help="The partner account's id.")
@click.option(
    "--admin-secret",
    required=True,
    envvar="CUEPIPE_EMULATOR_ADMIN_SECRET",
    help="The partner's admin secret (or env CUEPIPE_EMULATOR_ADMIN_SECRET).",
)
@click.option(
    "--user-secret",
    default="",
    envvar="CUEPIPE_EMULATOR_USER_SECRET",
    help="The partner's user secret for type-0 sessions (random if not given).",
)
@click.option(
    "--ks-version",
    type=click.Choice(["1", "2"]),
    default="2",
    show_default=True,
    help="KS format session.start issues.",
)
@click.option("--entries", default="", help="Comma-separated entry ids to create, e.g. 0_abc,0_def.")
@click.option("--no-server-bugs", is_flag=True, help="Serve valid XML instead of reproducing the server's bugs.")
@click.option("--cdn-host", default=None, help="Host written into served XML (default: the request's Host).")
@click.option(
    "--fault",
    "fault_specs",
    multiple=True,
    metavar="SPEC",
    help="Inject a fault, e.g. 'error:status=503,action=cuepoint.addFromBulk,times=2', 'slow:delay=5,phase=after', "
    "'reset:at_bytes=4096', 'partial:commit=3', 'expire_ks:after=20', 'rate_limit:rate=10,burst=5' "
    "(repeatable; see docs/emulator.md).",
)
@click.option(
    "--fault-admin",
    is_flag=True,
    help="Serve /_emulator/faults to change fault rules at run time (for tests; never on a shared interface).",
)
@click.option("--fault-seed", type=int, default=None, help="Seed for faults with a probability.")
def emulator(
    host: str,
    port: int,
    db: str,
    partner_id: int,
    admin_secret: str,
    user_secret: str,
    ks_version: str,
    entries: str,
    no_server_bugs: bool,
    cdn_host: str | None,
    fault_specs: tuple[str, ...],
    fault_admin: bool,
    fault_seed: int | None,
) -> None:
    """Serve a local emulator of the Kaltura cue point, bulk upload and session API actions."""
    seeds = [e.strip() for e in entries.split(",") if e.strip()]
    if db != ":memory:":
        from .store import _refuse_foreign

        try:
            _refuse_foreign(db)  # before serving: a clear error, not a traceback from the server thread
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--db") from None
    try:
        faults = [parse_fault(spec) for spec in fault_specs]
    except FaultSpecError as exc:
        raise click.BadParameter(str(exc), param_hint="--fault") from None
    err = console(stderr=True)
    if faults or fault_admin:
        err.line(
            f"cuepipe emulator: fault injection on ({len(faults)} rule(s)"
            + (f", admin endpoint http://{host}:{port}/_emulator/faults" if fault_admin else "")
            + ")"
        )
    folder = os.path.dirname(os.path.abspath(db))
    if db != ":memory:" and not os.path.isdir(folder):  # sqlite would say only "unable to open database file"
        raise OSError(errno.ENOENT, f"cannot open the database {db}: the folder {folder} does not exist", db)
    err.line(f"cuepipe emulator: partner {partner_id}, database {db}, http://{host}:{port}/api_v3/")
    run(
        host,
        port,
        db,
        partner_id=partner_id,
        admin_secret=admin_secret,
        user_secret=user_secret,
        ks_version=int(ks_version),
        entries=seeds,
        server_bugs=not no_server_bugs,
        cdn_host=cdn_host,
        faults=faults or None,
        fault_admin=fault_admin,
        fault_seed=fault_seed,
    )


if __name__ == "__main__":
    emulator()

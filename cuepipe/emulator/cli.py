"""``cuepipe emulator``: run the local Kaltura API emulator in the foreground.

The command object is registered by the main CLI; it can also run on its own
(``python -m cuepipe.emulator.cli --admin-secret ...``). Secrets are never printed.
"""

from __future__ import annotations

import errno
import os
import re

import click

from .._console import console
from .app import EntrySeed, Partner
from .faults import FaultSpecError, parse_fault
from .server import run

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|min|h)?$")
_UNITS = {"ms": 1, None: 1000, "s": 1000, "m": 60_000, "min": 60_000, "h": 3_600_000}


def parse_entries(text: str, default_partner: int) -> list[EntrySeed]:
    """``0_abc,0_def:600s,200/0_xyz:10m`` -> entry seeds ``(partner, entry id, msDuration or None)``.

    An item is ``[PARTNER/]ENTRY_ID[:DURATION]``; a duration is a number with ``ms``, ``s`` (the
    default unit), ``m`` or ``h``. A bad item raises ``click.BadParameter`` naming it.
    """
    seeds: list[EntrySeed] = []
    for raw in text.split(","):
        item = raw.strip()
        if not item:
            continue
        partner = default_partner
        if "/" in item:
            head, _, item = item.partition("/")
            try:
                partner = int(head)
            except ValueError:
                raise click.BadParameter(
                    f"{raw.strip()!r}: the partner before '/' must be a number", param_hint="--entries"
                ) from None
        entry_id, _, duration = item.partition(":")
        if not entry_id or len(entry_id) > 20:
            raise click.BadParameter(
                f"{raw.strip()!r}: an entry id of 1 to 20 characters is needed", param_hint="--entries"
            )
        ms = None
        if duration:
            m = _DURATION.match(duration.strip())
            if not m:
                raise click.BadParameter(
                    f"{raw.strip()!r}: a duration is a number with ms, s, m or h, e.g. 0_abc:600s",
                    param_hint="--entries",
                )
            ms = round(float(m.group(1)) * _UNITS[m.group(2)])
        seeds.append((partner, entry_id, ms))
    return seeds


def parse_partners(specs: tuple[str, ...]) -> list[Partner]:
    """``200:secret`` items (repeatable option, or comma-separated in the environment) -> partners."""
    out = []
    for spec in (p.strip() for s in specs for p in s.split(",")):
        if not spec:
            continue
        pid, sep, secret = spec.partition(":")
        if not sep or not secret:
            raise click.BadParameter("a partner is ID:ADMIN_SECRET, e.g. 200:another-secret", param_hint="--partner")
        try:
            out.append(Partner(int(pid), secret))
        except ValueError:
            raise click.BadParameter(f"partner id {pid!r} is not a number", param_hint="--partner") from None
    return out


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
@click.option(
    "--partner",
    "more_partners",
    multiple=True,
    metavar="ID:SECRET",
    envvar="CUEPIPE_EMULATOR_PARTNERS",
    help="Another partner account (repeatable; env CUEPIPE_EMULATOR_PARTNERS, comma-separated), e.g. to copy "
    "between two accounts.",
)
@click.option(
    "--entries",
    default="",
    help="Comma-separated entries to create: [PARTNER/]ENTRY_ID[:DURATION], e.g. 0_abc:600s,200/0_xyz:10m "
    "(the partner defaults to --partner-id; a duration lets `cuepipe check` find cue points past the end).",
)
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
    more_partners: tuple[str, ...],
    entries: str,
    no_server_bugs: bool,
    cdn_host: str | None,
    fault_specs: tuple[str, ...],
    fault_admin: bool,
    fault_seed: int | None,
) -> None:
    """Serve a local emulator of the Kaltura cue point, bulk upload and session API actions."""
    seeds = parse_entries(entries, partner_id)
    partners = parse_partners(more_partners)
    if len({partner_id, *(p.id for p in partners)}) != len(partners) + 1:
        raise click.BadParameter("each partner id may appear once", param_hint="--partner")
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
    ids = ", ".join(str(p) for p in [partner_id, *(p.id for p in partners)])
    err.line(f"cuepipe emulator: partner(s) {ids}, database {db}, http://{host}:{port}/api_v3/")
    run(
        host,
        port,
        db,
        partner_id=partner_id,
        admin_secret=admin_secret,
        user_secret=user_secret,
        ks_version=int(ks_version),
        entries=seeds,
        partners=partners,
        server_bugs=not no_server_bugs,
        cdn_host=cdn_host,
        faults=faults or None,
        fault_admin=fault_admin,
        fault_seed=fault_seed,
    )


if __name__ == "__main__":
    emulator()

"""`proactief`: one command for people — the ledger, one-off MAGDA consultations, objections, the outbox; and the
test harness's commands (the simulator, the synthetic population, the demo), found through an entry-point group.

Heavy imports happen inside commands so `proactief --help` stays instant.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from typer.core import TyperGroup

COMMAND_PLUGINS = "proactief.cli"
"""Entry-point group of commands other installed packages add to `proactief`: the test harness (proactief_sim)
adds `magda-sim`, `population` and `demo` (its pyproject.toml entry points), so the product never imports it."""


def _plugin_commands() -> dict[str, Any]:
    """The entry points of :data:`COMMAND_PLUGINS` by command name; reading them imports nothing."""
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group=COMMAND_PLUGINS)}


class _CommandsWithPlugins(TyperGroup):
    """The product's commands, then the plugins' ones: listed by name, a plugin loaded only when its command
    runs or its help is shown (`proactief db upgrade` does not load the simulator or the generator)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        own = super().list_commands(ctx)
        return own + [name for name in _plugin_commands() if name not in own]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and (plugin := _plugin_commands().get(cmd_name)) is not None:
            command = plugin.load()
        return command


app = typer.Typer(
    cls=_CommandsWithPlugins,
    name="proactief",
    help="Proactief Gent: grant city benefits without an application, from MAGDA data.",
    no_args_is_help=True,
    add_completion=False,
)
db_app = typer.Typer(help="The ledger database (PROACTIEF_DB_URL or --db-url; PostgreSQL in production).",
                      no_args_is_help=True)
optout_app = typer.Typer(help="Objections (GDPR Art. 21): record, withdraw, look up; sync the city's population.",
                         no_args_is_help=True)
app.add_typer(db_app, name="db")
outbox_app = typer.Typer(help="The outbox: what failed to reach a downstream system or a citizen, and requeue it.",
                         no_args_is_help=True)
app.add_typer(optout_app, name="optout")
app.add_typer(outbox_app, name="outbox")
scheme_app = typer.Typer(help="Hold a scheme (nothing of it leaves the city) while its DAG is paused; release it.",
                         no_args_is_help=True)
app.add_typer(scheme_app, name="scheme")
citizen_app = typer.Typer(help="For the citizen: the access document (what the city did with their data).",
                          no_args_is_help=True)
app.add_typer(citizen_app, name="citizen")
bezwaar_app = typer.Typer(help="Objections against a decision (bezwaar) and case workers' decisions by hand (four "
                               "eyes on a grant). Per-scheme rights are the dashboard's: the CLI is for operators, "
                               "who may edit every scheme.", no_args_is_help=True)
app.add_typer(bezwaar_app, name="bezwaar")

DbUrl = Annotated[
    str | None,
    typer.Option("--db-url", envvar="PROACTIEF_DB_URL",
                 help="SQLAlchemy URL of the ledger (required: --db-url or PROACTIEF_DB_URL)."),
]
NO_LEDGER = ("no ledger configured: set PROACTIEF_DB_URL (or --db-url) to the ledger's SQLAlchemy URL "
             "(bin/run's local stack: source var/stack.env); refusing to guess one")
"""An operator once saw a held scheme as running because the command fell back to ./var/ledger.sqlite."""


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=2)


def _ledger_url(db_url: str | None) -> str:
    """The configured ledger, or a one-line refusal: never a silent local default for an operator command."""
    if not (db_url or "").strip():
        _fail(NO_LEDGER)
    return str(db_url).strip()


def _who(given: str | None, option: str) -> str:
    """Who acts: the option's value, else the OS account (``$USER`` may be empty in a container or sudo shell);
    refuses rather than store an empty recorder."""
    import getpass

    name = (given or "").strip()
    if not name:
        try:
            name = getpass.getuser().strip()
        except Exception:  # noqa: BLE001 - no LOGNAME/USER and no passwd entry for the uid
            name = ""
    if not name:
        _fail(f"who is recording this? pass {option} NAME ($USER is empty and the OS account has no name)")
    return name


@db_app.command("upgrade")
def db_upgrade(db_url: DbUrl = None) -> None:
    """Create or migrate the ledger schema to the latest version."""
    from sqlalchemy.exc import SQLAlchemyError

    from proactief.ledger import display_url, upgrade

    url = _ledger_url(db_url)
    try:
        upgrade(url)
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:200]
        _fail(f"cannot migrate the ledger at {display_url(url)}: {reason}")
    typer.echo(f"ledger at {display_url(url)} is up to date")


@db_app.command("audit")
def db_audit(
    insz: Annotated[str, typer.Option("--insz", help="The citizen whose consultations to export.")],
    db_url: DbUrl = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines instead of a table.")] = False,
) -> None:
    """Who consulted this person's data, when and why (a citizen's access request); for a lookup in the
    dashboard also which staff account looked (``consulted_by``)."""
    from proactief.insz import InvalidINSZ, validate_insz
    from proactief.ledger.audit import consultations_about

    try:
        validate_insz(insz)
    except InvalidINSZ as exc:
        _fail(str(exc))
    engine = _ledger(db_url)
    try:
        rows = consultations_about(engine, insz)
    finally:
        engine.dispose()
    for r in rows:
        record = {
            "when": r.requested_at.isoformat(),
            "service": r.service,
            "afnemer": r.afnemer,
            "hoedanigheid": r.hoedanigheid,
            "purpose": r.purpose,
            "outcome": r.outcome,
            "message_ref": r.message_ref,
            "consulted_by": r.consulted_by,
        }
        if as_json:
            typer.echo(json.dumps(record))
        else:
            typer.echo(
                f"{record['when']}  {r.service:<50} {r.hoedanigheid:<10} {r.purpose or '-':<22} {r.outcome:<12} "
                f"{r.consulted_by or '-'}"
            )
    if not as_json:
        typer.echo(f"{len(rows)} consultation(s)")


@app.command("consult")
def consult_command(
    service: Annotated[str, typer.Argument(help="GeefPersoon | GeefSociaalStatuut | GeefDossierHandicap | "
                                                "GeefAanslagbiljetPersonenbelasting")],
    insz: Annotated[str, typer.Option("--insz", help="The person asked about (validated, never printed).")],
    on: Annotated[str | None, typer.Option("--date", help="Reference date YYYY-MM-DD (default today).")] = None,
    magda_url: Annotated[
        str, typer.Option("--magda-url", envvar="PROACTIEF_MAGDA_BASE_URL", help="MAGDA endpoint base.")
    ] = "http://127.0.0.1:8088",
    purpose: Annotated[str | None, typer.Option("--purpose", help="Scheme id: chooses the Hoedanigheid.")] = None,
    db_url: DbUrl = None,
) -> None:
    """One MAGDA consultation, printed as findings (JSON) — audited in the ledger like every other."""
    import datetime as dt

    from proactief.consult import SERVICES, consult
    from proactief.insz import InvalidINSZ, validate_insz
    from proactief.ledger.audit import LedgerAuditSink
    from proactief.magda.client import MagdaClient
    from proactief.magda.config import MagdaConfig, MagdaConfigError

    if service not in SERVICES:
        _fail(f"unknown service {service!r}; choose one of {', '.join(SERVICES)}")
    try:
        validate_insz(insz)
        day = dt.date.fromisoformat(on) if on else dt.date.today()
        config = MagdaConfig.from_env().with_changes(base_url=magda_url)
    except (InvalidINSZ, ValueError, MagdaConfigError) as exc:
        _fail(str(exc))
    engine = _ledger(db_url)
    try:
        with MagdaClient(config, LedgerAuditSink(engine)) as client:
            result = consult(client, service, insz, day, purpose=purpose)
    except Exception as exc:  # noqa: BLE001 - shown to the operator, message is free of personal data
        _fail(f"{type(exc).__name__}: {exc}")
    finally:
        engine.dispose()
    typer.echo(json.dumps(result, indent=2))


@app.command("advise")
def advise_command(
    scheme: Annotated[str, typer.Option("--scheme", help="Scheme id, e.g. uitpas-kansentarief.")],
    insz: Annotated[str, typer.Option("--insz", help="The person (validated, never printed).")],
    on: Annotated[str | None, typer.Option("--date", help="Run date YYYY-MM-DD (default today).")] = None,
    magda_url: Annotated[
        str | None, typer.Option("--magda-url", envvar="PROACTIEF_MAGDA_BASE_URL", help="MAGDA endpoint base.")
    ] = None,
    city_dir: Annotated[
        Path | None, typer.Option("--city-dir", help="Folder with residents/enrolments/ocmw.csv.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object: scheme, decision, reasons, ...")] = False,
    db_url: DbUrl = None,
    service: Annotated[
        str | None, typer.Option("--service", envvar="PROACTIEF_ADVICE_URL",
                                 help="Ask the advice service at this URL instead of MAGDA (no ledger needed).")
    ] = None,
    token: Annotated[
        str | None, typer.Option("--token", envvar="PROACTIEF_ADVICE_TOKEN", help="This application's token.")
    ] = None,
    user: Annotated[str | None, typer.Option("--user", help="Who asks (audited; default the OS account).")] = None,
) -> None:
    """The decision and its explanation for one person (call centre, scheme owner); audited in the ledger, or by
    the advice service with --service."""
    from proactief.advice.cli import advise_cli, check_input

    refused = check_input(scheme, insz, on)
    if refused is not None:
        typer.echo(refused[1], err=True)
        raise typer.Exit(refused[0])
    if service:
        from proactief.advice_service.cli import advise_via_service

        if not token:
            _fail("--service needs a token: --token or PROACTIEF_ADVICE_TOKEN")
        code, text = advise_via_service(scheme, insz, on, service_url=service, token=str(token),
                                        user=_who(user, "--user"), as_json=as_json, city_dir=city_dir)
        typer.echo(text, err=code != 0)
        raise typer.Exit(code)
    from proactief.ledger.audit import LedgerAuditSink

    engine = _ledger(db_url)
    try:
        code, text = advise_cli(
            scheme, insz, on, magda_url or "http://127.0.0.1:8088", as_json,
            city_dir=city_dir, audit=LedgerAuditSink(engine),
        )
    finally:
        engine.dispose()
    typer.echo(text, err=code != 0)
    raise typer.Exit(code)


@app.command("advice-service")
def advice_service_command(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8091,
    hash_token: Annotated[
        bool, typer.Option("--hash-token", help="Read a token on stdin, print its PROACTIEF_ADVICE_TOKENS form.")
    ] = False,
) -> None:
    """Automatisch Advies as its own process: holds the MAGDA client (PROACTIEF_MAGDA_*), the scheme rules and the
    audit; answers only advice (PROACTIEF_ADVICE_*: DB_URL, TOKENS or TOKENS_FILE, CHUNK_SIZE, LEASE_SECONDS)."""
    from proactief.advice_service.config import AdviceServiceConfig, AdviceServiceConfigError
    from proactief.advice_service.config import hash_token as hashed

    if hash_token:
        secret = sys.stdin.readline().strip()
        if not secret:
            _fail("no token on stdin")
        typer.echo(hashed(secret))
        return
    try:
        config = AdviceServiceConfig.from_env()
        from proactief.magda.config import MagdaConfig

        MagdaConfig.from_env()
    except (AdviceServiceConfigError, ValueError) as exc:
        _fail(str(exc))
    if not config.tokens:
        _fail("no calling application configured: set PROACTIEF_ADVICE_TOKENS (application=sha256:<hex>)")
    from proactief.advice_service.cli import serve

    serve(host, port)


Insz = Annotated[str, typer.Option("--insz", help="The person (validated, never printed).")]
Channel = Annotated[str, typer.Option("--channel", help="How it reached the city: web, contact-centre, letter…")]


def _ledger(db_url: str | None):  # type: ignore[no-untyped-def]
    """The existing, current ledger, or a one-line error: commands never create or migrate it (``db upgrade``
    does), so a rejected input or a wrong URL leaves no database behind."""
    from proactief.ledger import LedgerUnavailable, open_ledger

    try:
        return open_ledger(_ledger_url(db_url))
    except LedgerUnavailable as exc:
        _fail(str(exc))


def _checked_insz(insz: str) -> str:
    from proactief.insz import InvalidINSZ, validate_insz

    try:
        return validate_insz(insz)
    except InvalidINSZ as exc:
        _fail(str(exc))
    raise AssertionError  # pragma: no cover - _fail exits


Note = Annotated[str | None, typer.Option("--note", help="Free text for the file (no personal data).")]
RecordedBy = Annotated[
    str | None, typer.Option("--recorded-by", help="Who records it (default: your OS account, as getpass finds it).")
]


def _record(action: Callable[..., Any], insz: str, channel: str, note: str | None, recorded_by: str | None,
            db_url: str | None, done: str) -> None:
    recorded_by = _who(recorded_by, "--recorded-by")
    insz = _checked_insz(insz)
    engine = _ledger(db_url)
    try:
        action(engine, insz, channel=channel, recorded_by=recorded_by, note=note)
    except ValueError as exc:
        _fail(str(exc))
    finally:
        engine.dispose()
    typer.echo(f"{done} (channel {channel})")


@optout_app.command("add")
def optout_add(insz: Insz, channel: Channel, note: Note = None, recorded_by: RecordedBy = None,
               db_url: DbUrl = None,
               magda_url: Annotated[str | None, typer.Option(
                   "--magda-url", envvar="PROACTIEF_MAGDA_BASE_URL",
                   help="MAGDA endpoint base: unsubscribe the person from the repertorium now (else the next "
                        "opt-out intake does).")] = None) -> None:
    """Record an objection: stops every query, grant and notice for the person at once."""
    from proactief.lifecycle.optout import record_objection

    _record(record_objection, insz, channel, note, recorded_by, db_url, "objection recorded")
    if not magda_url:
        typer.echo("MAGDA repertorium: unsubscribed by the next opt-out intake")
        return
    from proactief.ledger.audit import LedgerAuditSink
    from proactief.lifecycle.optout import unsubscribe_objectors
    from proactief.magda.client import MagdaClient
    from proactief.magda.config import MagdaConfig

    engine = _ledger(db_url)
    try:
        config = MagdaConfig.from_env().with_changes(base_url=magda_url)
        with MagdaClient(config, LedgerAuditSink(engine)) as client:
            done = unsubscribe_objectors(engine, client)
    except Exception as exc:  # noqa: BLE001 - the objection stands; the intake unsubscribes it later
        typer.secho(f"MAGDA repertorium: not unsubscribed now ({type(exc).__name__}); the next opt-out intake "
                    "tries again", err=True, fg=typer.colors.YELLOW)
        return
    finally:
        engine.dispose()
    if done["failed"]:
        typer.echo("MAGDA repertorium: not unsubscribed now; the next opt-out intake tries again")
    else:
        typer.echo(f"MAGDA repertorium: {done['unsubscribed'] + done['not_inscribed']} objection(s) unsubscribed")


@optout_app.command("withdraw")
def optout_withdraw(insz: Insz, channel: Channel, note: Note = None, recorded_by: RecordedBy = None,
                    db_url: DbUrl = None) -> None:
    """Record that the person withdrew their objection (the next runs include them again)."""
    from proactief.lifecycle.optout import withdraw_objection

    _record(withdraw_objection, insz, channel, note, recorded_by, db_url, "objection withdrawn")


@optout_app.command("status")
def optout_status(insz: Insz, db_url: DbUrl = None) -> None:
    """Whether the person objects now, and the history of objections and withdrawals."""
    from proactief.lifecycle.optout import opt_out_history

    insz = _checked_insz(insz)
    engine = _ledger(db_url)
    try:
        state, history = opt_out_history(engine, insz)
    finally:
        engine.dispose()
    if state is None:
        typer.echo("opted out: no (never objected)")
    elif state["active"]:
        typer.echo(f"opted out: yes, since {state['since'].isoformat()} (channel {state['channel']})")
    else:
        typer.echo("opted out: no (objection withdrawn)")
    for event in history:
        who = f"  by {event['recorded_by']}" if event["recorded_by"] else ""
        typer.echo(f"  {event['at'].isoformat()}  {event['action']:<8} {event['channel']}{who}")


@optout_app.command("sync")
def optout_sync(
    folder: Annotated[Path, typer.Option("--from", help="Folder with residents.csv, ocmw.csv, enrolments.csv.")],
    magda_url: Annotated[
        str, typer.Option("--magda-url", envvar="PROACTIEF_MAGDA_BASE_URL", help="MAGDA endpoint base.")
    ] = "http://127.0.0.1:8088",
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="The files' as-of date (YYYY-MM-DD); default: the folder's "
                                 "manifest.json, else each file's modification date.")
    ] = None,
    db_url: DbUrl = None,
) -> None:
    """Import the city's population files, then register/deregister persons in the MAGDA repertorium."""
    from proactief.citydata import PopulationFileError
    from proactief.lifecycle.sync import import_city_data, sync_repertorium
    from proactief.magda.config import MagdaConfig, MagdaConfigError

    try:
        config = MagdaConfig.from_env().with_changes(base_url=magda_url)
    except (ValueError, MagdaConfigError) as exc:
        _fail(str(exc))
    try:
        day = dt.date.fromisoformat(as_of) if as_of is not None else None
    except ValueError:
        _fail(f"--as-of must be a date YYYY-MM-DD, not {as_of!r}")
    engine = _ledger(db_url)
    try:
        imported = import_city_data(engine, folder, as_of=day)
        typer.echo(json.dumps({"import": imported}))
        synced = sync_repertorium(engine, config)
        typer.echo(json.dumps({"repertorium": synced}))
    except (FileNotFoundError, PopulationFileError) as exc:
        _fail(str(exc))
    except Exception as exc:  # noqa: BLE001 - shown to the operator, message is free of personal data
        _fail(f"{type(exc).__name__}: {exc}")
    finally:
        engine.dispose()


@outbox_app.command("failed")
def outbox_failed(
    db_url: DbUrl = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List the failed grant rows and notices (ids, channel, attempts, error; no personal data)."""
    from proactief.lifecycle.outbox import failed_rows

    engine = _ledger(db_url)
    try:
        rows = failed_rows(engine)
    finally:
        engine.dispose()
    if as_json:
        typer.echo(json.dumps(rows, default=str))
        return
    for r in rows["grants"]:
        typer.echo(f"outbox {r['id']:>8}  {r['kind']:<7} {r['channel']:<15} {r['scheme_id']:<22} {r['period']:<10} "
                   f"attempts {r['attempts']}  {r['last_error'] or ''}")
    for r in rows["notices"]:
        typer.echo(f"notice {r['id']:>8}  {r['channel']:<15} attempts {r['attempts']}  {r['last_error'] or ''}")
    typer.echo(f"{len(rows['grants'])} failed grant row(s), {len(rows['notices'])} failed notice(s)")


@outbox_app.command("cards")
def outbox_cards(
    db_url: DbUrl = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Grants waiting for the person's card ("wacht op pas": entitled, told how to get a UiTPAS, not failed) and
    the ones that expired, per scheme. Counts and dates only; the next outbox_dispatch asks for each waiting one
    again and completes it (no second letter) when the pass is there."""
    from proactief.lifecycle.outbox import card_waits

    engine = _ledger(db_url)
    try:
        figures = card_waits(engine)
    finally:
        engine.dispose()
    if as_json:
        typer.echo(json.dumps(figures, default=str))
        return
    for scheme_id, f in figures.items():
        since = f"  waiting since {f['oldest_since']}" if f["oldest_since"] else ""
        typer.echo(f"{scheme_id:<22} waiting {f['waiting']:>6}  expiring within 30 days {f['expiring_soon']:>5}  "
                   f"expired {f['expired']:>6}{since}")
    waiting = sum(f["waiting"] for f in figures.values())
    expired = sum(f["expired"] for f in figures.values())
    typer.echo(f"{waiting} grant(s) wait for a card, {expired} expired")


@outbox_app.command("requeue")
def outbox_requeue(
    channel: Annotated[str | None, typer.Option("--channel", help="Only this channel (uitpas, email, …).")] = None,
    outbox_id: Annotated[list[int] | None, typer.Option("--id", help="A failed grant row (repeatable).")] = None,
    notice_id: Annotated[list[int] | None, typer.Option("--notice", help="A failed notice (repeatable).")] = None,
    db_url: DbUrl = None,
) -> None:
    """Make failed rows due again after their cause is fixed (all failed ones unless --id/--notice name some);
    the next outbox_dispatch run delivers them. Never grants or sends twice."""
    from proactief.lifecycle.outbox import requeue_failed

    engine = _ledger(db_url)
    try:
        out = requeue_failed(engine, channel=channel, outbox_ids=outbox_id or (), notice_ids=notice_id or ())
    finally:
        engine.dispose()
    typer.echo(f"requeued {out['grant_rows']} grant row(s) and {out['notices']} notice(s) "
               f"({out['notice_rows']} notification row(s)); trigger outbox_dispatch or wait for its next run")


SchemeId = Annotated[str, typer.Argument(help="The scheme id, e.g. uitpas-kansentarief.")]
By = Annotated[str | None, typer.Option("--by", help="Who (your staff account; default: your OS account).")]


@scheme_app.command("hold")
def scheme_hold(scheme: SchemeId,
                reason: Annotated[str, typer.Option("--reason", help="Why, for the next operator.")],
                by: By = None, db_url: DbUrl = None) -> None:
    """Hold a scheme: outbox_dispatch keeps its grants and letters pending, mutations do not re-decide it.
    Pause its DAG in Airflow too (scheduled runs)."""
    from proactief.lifecycle.holds import HoldError, hold_scheme

    by = _who(by, "--by")
    engine = _ledger(db_url)
    try:
        hold_scheme(engine, scheme, by=by, reason=reason)
    except HoldError as exc:
        _fail(str(exc))
    finally:
        engine.dispose()
    typer.echo(f"{scheme} is on hold: nothing of it is delivered or sent until 'proactief scheme release {scheme}'")


@scheme_app.command("release")
def scheme_release(scheme: SchemeId, by: By = None, db_url: DbUrl = None) -> None:
    """End a hold: the next outbox_dispatch run delivers what waited. Unpause the DAG in Airflow too."""
    from proactief.lifecycle.holds import HoldError, release_scheme

    by = _who(by, "--by")
    engine = _ledger(db_url)
    try:
        release_scheme(engine, scheme, by=by)
    except HoldError as exc:
        _fail(str(exc))
    finally:
        engine.dispose()
    typer.echo(f"{scheme} released: the next outbox_dispatch run delivers what waited")


@scheme_app.command("status")
def scheme_status(scheme: Annotated[str | None, typer.Argument(help="One scheme (default: all).")] = None,
                  db_url: DbUrl = None) -> None:
    """The holds, current first, with who and why (no personal data)."""
    from proactief.lifecycle.holds import HoldError, holds
    from proactief.schemes import scheme_ids

    engine = _ledger(db_url)
    try:
        rows = holds(engine, scheme_id=scheme)
    except HoldError as exc:
        _fail(str(exc))
        return
    finally:
        engine.dispose()
    active = {r["scheme"] for r in rows if r["active"]}
    for sid in [scheme] if scheme else scheme_ids():
        typer.echo(f"{sid:<22} {'ON HOLD' if sid in active else 'running'}")
    for r in rows:
        until = (f"released {r['released_at']:%Y-%m-%d %H:%M} by {r['released_by']}" if not r["active"]
                 else "still on hold")
        typer.echo(f"  #{r['id']} {r['scheme']}: held {r['held_at']:%Y-%m-%d %H:%M} by {r['held_by']} "
                   f"({r['reason']}); {until}")


@citizen_app.command("export")
def citizen_export(
    insz: Insz,
    by: Annotated[str | None, typer.Option("--by", help="Who makes the export (your staff account; default: your "
                                                        "OS account): written to the consultation log.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="html or pdf.")] = "html",
    out: Annotated[Path | None, typer.Option("--out", help="File to write (default: stdout for html; "
                                                           "required for pdf).")] = None,
    staff_names: Annotated[bool, typer.Option(
        "--staff-names", help="Name the staff who looked (only when the DPO decided the citizen gets them).")] = False,
    db_url: DbUrl = None,
) -> None:
    """The citizen's access document: every MAGDA consultation, read of the city's files, decision with its reasons,
    grant, letter and objection, and every staff lookup, in plain Dutch; never a raw MAGDA value. The export is
    written to the consultation log (service Proactief.Burger.Inzage) before the document is written."""
    import os
    import tempfile

    from proactief.citizen import export_and_audit, render_html, render_pdf

    fmt = fmt.strip().lower()
    if fmt not in ("html", "pdf"):
        _fail(f"--format must be html or pdf (got {fmt!r})")
    if fmt == "pdf" and out is None:
        _fail("--format pdf needs --out FILE (a PDF is not written to a terminal)")
    who = _who(by, "--by")
    insz = _checked_insz(insz)
    target = out.resolve() if out is not None else None
    if target is not None and not target.parent.is_dir():
        _fail(f"--out: folder {target.parent} does not exist")
    engine = _ledger(db_url)
    try:
        doc = export_and_audit(engine, insz, by=who, output=fmt, staff_names=staff_names)
    finally:
        engine.dispose()
    data = render_pdf(doc) if fmt == "pdf" else render_html(doc).encode()
    if target is None:
        sys.stdout.write(data.decode())
        return
    fd, tmp = tempfile.mkstemp(prefix=".inzage-", dir=target.parent)  # whole file or none: rename at the end
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o600)  # personal data: readable by the operator only
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    typer.echo(f"access document written to {target} ({fmt}, {len(data)} bytes); the export is in the "
               "consultation log. Hand it to the citizen or the DPO, then delete your copy.", err=True)


# ------------------------------------------------------------------------------------------ bezwaar

CaseBy = Annotated[str, typer.Option("--by", help="Who (your staff account): kept with the record.")]
CaseScheme = Annotated[str, typer.Option("--scheme", help="The scheme id, e.g. uitpas-kansentarief.")]


def _date_option(value: str | None, option: str) -> Any:
    import datetime as dt

    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        _fail(f"{option} must be a date YYYY-MM-DD (got {value!r})")


def _casework(action: Callable[..., Any], db_url: str | None, **kwargs: Any) -> Any:
    from proactief.casework import CaseworkError

    engine = _ledger(db_url)
    try:
        return action(engine, **kwargs)
    except CaseworkError as exc:
        _fail(str(exc))
    finally:
        engine.dispose()


@bezwaar_app.command("record")
def bezwaar_record(
    insz: Insz, scheme: CaseScheme, by: CaseBy,
    channel: Annotated[str, typer.Option("--channel", help="phone, counter, letter, email or web.")],
    received: Annotated[str, typer.Option("--received", help="The date the city received it (YYYY-MM-DD).")],
    decision: Annotated[int | None, typer.Option("--decision", help="The decision's id (default: the person's "
                                                                    "newest of the scheme).")] = None,
    letter_date: Annotated[str | None, typer.Option(
        "--letter-date", help="The decision letter's date, if the deadline runs from it (YYYY-MM-DD).")] = None,
    note: Note = None, db_url: DbUrl = None,
) -> None:
    """Record an objection against a decision; one received after its deadline is recorded and flagged late."""
    from proactief.casework import record_bezwaar

    insz = _checked_insz(insz)
    item = _casework(record_bezwaar, db_url, insz=insz, scheme_id=scheme, channel=channel,
                     received_on=_date_option(received, "--received"), recorded_by=by, decision_id=decision,
                     decision_date=_date_option(letter_date, "--letter-date"), note=note)
    deadline = item.deadline.isoformat() if item.deadline else "unknown (no decision found)"
    typer.echo(f"bezwaar #{item.id} recorded ({scheme}, channel {channel}); deadline {deadline}"
               + ("; LATE: received after the deadline, recorded anyway" if item.late else ""))


@bezwaar_app.command("decide")
def bezwaar_decide(
    insz: Insz, scheme: CaseScheme, by: CaseBy,
    outcome: Annotated[str, typer.Option("--outcome", help="grant or refuse.")],
    reason: Annotated[str, typer.Option("--reason", help="Why, in words for the citizen's letter (Dutch).")],
    legal_ground: Annotated[str, typer.Option("--legal-ground", help="The rule it rests on (Dutch).")],
    bezwaar: Annotated[int | None, typer.Option("--bezwaar", help="The bezwaar it answers.")] = None,
    decision: Annotated[int | None, typer.Option("--decision", help="The decision it replaces (default: the "
                                                                    "bezwaar's, else the newest).")] = None,
    valid_until: Annotated[str | None, typer.Option("--valid-until", help="Last day it holds (YYYY-MM-DD); a grant "
                                                                          "against a refusal needs it.")] = None,
    plate: Annotated[str | None, typer.Option("--plate", help="LEZ: the vehicle's plate.")] = None,
    db_url: DbUrl = None,
) -> None:
    """A case worker's decision by hand: a refusal is in force at once; a grant waits for a second person
    (`proactief bezwaar confirm ID --by OTHER`)."""
    from proactief.casework import record_manual_decision

    insz = _checked_insz(insz)
    item = _casework(record_manual_decision, db_url, insz=insz, scheme_id=scheme, outcome=outcome.strip().lower(),
                     reason=reason, legal_ground=legal_ground, decided_by=by, bezwaar_id=bezwaar,
                     decision_id=decision, valid_until=_date_option(valid_until, "--valid-until"),
                     identity={"vehicle_plate": plate} if plate else None)
    if item.status == "pending_confirmation":
        typer.echo(f"manual decision #{item.id} ({scheme}, grant) recorded: waits for a second person "
                   f"(proactief bezwaar confirm {item.id} --by OTHER)")
    else:
        typer.echo(f"manual decision #{item.id} ({scheme}, {item.outcome}) in force; the letter is queued")


@bezwaar_app.command("confirm")
def bezwaar_confirm(manual_id: Annotated[int, typer.Argument(help="The manual decision's id.")], by: CaseBy,
                    db_url: DbUrl = None) -> None:
    """Confirm a manual grant (four eyes: not by the person who decided): the grant and its letter are queued."""
    from proactief.casework import confirm_manual_decision

    item = _casework(confirm_manual_decision, db_url, manual_id=manual_id, confirmed_by=by)
    typer.echo(f"manual decision #{item.id} ({item.scheme_id}) confirmed by {item.confirmed_by}: in force; the "
               "grant and the letter are queued")


@bezwaar_app.command("withdraw")
def bezwaar_withdraw(bezwaar_id: Annotated[int, typer.Argument(help="The bezwaar's id.")], by: CaseBy,
                     db_url: DbUrl = None) -> None:
    """The person withdrew their objection."""
    from proactief.casework import withdraw_bezwaar

    _casework(withdraw_bezwaar, db_url, bezwaar_id=bezwaar_id, by=by)
    typer.echo(f"bezwaar #{bezwaar_id} withdrawn")


@bezwaar_app.command("list")
def bezwaar_list(
    open_only: Annotated[bool, typer.Option("--open", help="Only what waits for a person.")] = False,
    back: Annotated[bool, typer.Option("--back-to-case-worker", help="Only manual decisions a changed fact sent "
                                                                     "back.")] = False,
    scheme: Annotated[str | None, typer.Option("--scheme", help="One scheme.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines (no INSZ).")] = False,
    db_url: DbUrl = None,
) -> None:
    """Bezwaren and manual decisions, oldest first; the person is shown by a masked INSZ only."""
    from proactief.casework import list_casework

    items = _casework(list_casework, db_url, open_only=open_only, back_only=back, scheme_id=scheme)
    for i in items:
        if as_json:
            typer.echo(json.dumps(i.to_json()))
            continue
        who = f"{i.insz[:6]}-***.**"
        if i.kind == "bezwaar":
            extra = (f"received {i.received_on} via {i.channel}, deadline {i.deadline or '?'}"
                     + (" LATE" if i.late else ""))
        else:
            extra = f"{i.outcome} by {i.by}" + (f", confirmed by {i.confirmed_by}" if i.confirmed_by else "")
        typer.echo(f"{i.kind:<15} #{i.id:<5} {i.scheme_id:<22} {i.period or '-':<10} {who}  {i.status:<20} {extra}")
    if not items:
        typer.echo("nothing")


def main() -> None:
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

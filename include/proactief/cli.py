"""`proactief`: one command for people — the simulator, the ledger, one-off MAGDA consultations.

Heavy imports happen inside commands so `proactief --help` stays instant.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(
    name="proactief",
    help="Proactief Gent: grant city benefits without an application, from MAGDA data.",
    no_args_is_help=True,
    add_completion=False,
)
population_app = typer.Typer(help="The synthetic Ghent population (simulator, tests, demos).", no_args_is_help=True)
db_app = typer.Typer(help="The ledger database (PROACTIEF_DB_URL or --db-url; PostgreSQL in production).",
                      no_args_is_help=True)
optout_app = typer.Typer(help="Objections (GDPR Art. 21): record, withdraw, look up; sync the city's population.",
                         no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(population_app, name="population")
outbox_app = typer.Typer(help="The outbox: what failed to reach a downstream system or a citizen, and requeue it.",
                         no_args_is_help=True)
app.add_typer(optout_app, name="optout")
app.add_typer(outbox_app, name="outbox")
scheme_app = typer.Typer(help="Hold a scheme (nothing of it leaves the city) while its DAG is paused; release it.",
                         no_args_is_help=True)
app.add_typer(scheme_app, name="scheme")

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
    from proactief.ledger import upgrade

    url = _ledger_url(db_url)
    upgrade(url)
    typer.echo(f"ledger at {_redact_url(url)} is up to date")


@db_app.command("audit")
def db_audit(
    insz: Annotated[str, typer.Option("--insz", help="The citizen whose consultations to export.")],
    db_url: DbUrl = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines instead of a table.")] = False,
) -> None:
    """Who consulted this person's data, when and why (a citizen's access request); for a lookup in the
    dashboard also which staff account looked (``consulted_by``)."""
    from proactief.insz import InvalidINSZ, validate_insz
    from proactief.ledger import make_engine
    from proactief.ledger.audit import consultations_about

    try:
        validate_insz(insz)
    except InvalidINSZ as exc:
        _fail(str(exc))
    engine = make_engine(_ledger_url(db_url))
    rows = consultations_about(engine, insz)
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


@app.command(
    "magda-sim",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
def magda_sim(ctx: typer.Context) -> None:
    """Run the local MAGDA simulator (SOAP over HTTP/HTTPS). `proactief magda-sim --help` lists its flags."""
    from proactief.simulator.__main__ import _config, parser
    from proactief.simulator.server import serve

    p = parser()
    p.prog = "proactief magda-sim"
    namespace = p.parse_args(list(ctx.args))
    try:
        config = _config(namespace)
    except ValueError as exc:
        p.error(str(exc))
    serve(config)


@population_app.command("generate")
def population_generate(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the population and city files to.")],
    size: Annotated[int, typer.Option("--size", help="Number of persons.")] = 270_000,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, same files, byte for byte.")] = 0,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Snapshot date YYYY-MM-DD (default 2026-11-01).")
    ] = None,
    workers: Annotated[int | None, typer.Option("--workers", help="Processes (default: up to 2).")] = None,
) -> None:
    """Write a deterministic synthetic Ghent: simulator store, city files and expected entitlements."""
    import datetime as dt

    from proactief.population import generate

    try:
        as_of_date = dt.date.fromisoformat(as_of) if as_of else None
        summary = generate(size, seed, out=out, as_of=as_of_date, workers=workers)
    except ValueError as exc:
        _fail(str(exc))
    typer.echo(summary.as_text())


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
    from proactief.ledger import make_engine, upgrade
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
    db_url = _ledger_url(db_url)
    upgrade(db_url)
    engine = make_engine(db_url)
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
) -> None:
    """The decision and its explanation for one person (call centre, scheme owner); audited in the ledger."""
    from proactief.advice.cli import advise_cli
    from proactief.ledger import make_engine, upgrade
    from proactief.ledger.audit import LedgerAuditSink

    db_url = _ledger_url(db_url)
    upgrade(db_url)
    engine = make_engine(db_url)
    try:
        code, text = advise_cli(
            scheme, insz, on, magda_url or "http://127.0.0.1:8088", as_json,
            city_dir=city_dir, audit=LedgerAuditSink(engine),
        )
    finally:
        engine.dispose()
    typer.echo(text, err=code != 0)
    raise typer.Exit(code)


@app.command("demo")
def demo(
    db_url: DbUrl = None,
    keep_running: Annotated[bool, typer.Option("--keep-running", help="Leave the simulator up afterwards.")] = False,
) -> None:
    """Start the simulator, consult it like production does, and show the audit trail (what bin/run shows)."""
    from proactief.demo import run_demo

    if not (db_url or "").strip():
        db_url = "sqlite:///var/ledger.sqlite"
        typer.secho(f"note: no PROACTIEF_DB_URL: the demo writes its audit trail to {db_url}", err=True,
                    fg=typer.colors.YELLOW)
    raise typer.Exit(run_demo(typer.echo, Path("var"), db_url, keep_running))


Insz = Annotated[str, typer.Option("--insz", help="The person (validated, never printed).")]
Channel = Annotated[str, typer.Option("--channel", help="How it reached the city: web, contact-centre, letter…")]


def _ledger(db_url: str | None):  # type: ignore[no-untyped-def]
    from proactief.ledger import make_engine, upgrade

    url = _ledger_url(db_url)
    upgrade(url)
    return make_engine(url)


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
    engine = _ledger(db_url)
    try:
        action(engine, _checked_insz(insz), channel=channel, recorded_by=recorded_by, note=note)
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

    engine = _ledger(db_url)
    try:
        state, history = opt_out_history(engine, _checked_insz(insz))
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
    db_url: DbUrl = None,
) -> None:
    """Import the city's population files, then register/deregister persons in the MAGDA repertorium."""
    from proactief.lifecycle.sync import import_city_data, sync_repertorium
    from proactief.magda.config import MagdaConfig, MagdaConfigError
    from proactief.population import PopulationFileError

    try:
        config = MagdaConfig.from_env().with_changes(base_url=magda_url)
    except (ValueError, MagdaConfigError) as exc:
        _fail(str(exc))
    engine = _ledger(db_url)
    try:
        imported = import_city_data(engine, folder)
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


def _redact_url(url: str) -> str:
    """Hide a password in a database URL before printing it."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def main() -> None:
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

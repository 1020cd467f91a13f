"""The whole product on one laptop: Airflow standalone + MAGDA simulator + a synthetic Ghent, every DAG run once.

``bin/run`` calls this. It generates a population under ``var/``, serves it with the MAGDA simulator, starts a
local SMTP sink for the operators' alerts, starts ``airflow standalone`` (SQLite metadata, LocalExecutor,
login with the generated admin password), runs the population sync, then each scheme's lifecycle DAG for its
reference date, and prints what happened and where to look in the UI. Airflow is driven through its CLI only:
this package never imports Airflow.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

__all__ = ["main"]

PROJECT = Path(__file__).resolve().parents[2]
SYNC_DAG = "population_sync"
DISPATCH_DAG = "outbox_dispatch"
DEMO_PASSHOLDER_SHARE = 0.6
"""The part of the synthetic people who have a UiTPAS (by a hash of the INSZ): the rest of the entitled wait for a
pass ("wacht op pas") and get the letter that says how to get one, so the demo shows both."""


def _say(text: str) -> None:
    print(f"==> {text}", flush=True)


def _free_port(preferred: int) -> int:
    with socket.socket() as s:
        if s.connect_ex(("127.0.0.1", preferred)) != 0:
            return preferred
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, timeout: float, what: str, proc: subprocess.Popen[Any] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} stopped (exit {proc.returncode}); see its log under var/")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.5)
    raise TimeoutError(f"{what} did not listen on port {port} within {timeout:.0f} s")


def airflow_env(home: Path, *, db_url: str, magda_url: str, smtp_port: int, api_port: int,
                city_dir: Path, standins_url: str | None = None, citizen_smtp_port: int | None = None
                ) -> dict[str, str]:
    """The environment every Airflow process of the local stack shares (embedded defaults)."""
    env = dict(os.environ)
    env.update(stack_variables(home, db_url=db_url, magda_url=magda_url, smtp_port=smtp_port, api_port=api_port,
                               city_dir=city_dir, standins_url=standins_url, citizen_smtp_port=citizen_smtp_port))
    return env


def stack_variables(home: Path, *, db_url: str, magda_url: str, smtp_port: int, api_port: int,
                    city_dir: Path, standins_url: str | None = None, citizen_smtp_port: int | None = None
                    ) -> dict[str, str]:
    """What the local stack sets on top of the caller's environment: Airflow's home and settings, the ledger,
    MAGDA, SMTP, delivery. ``var/stack.env`` exports exactly these for an operator's shell (runbook)."""
    env: dict[str, str] = {}
    env.update({
        "AIRFLOW_HOME": str(home / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__API__PORT": str(api_port),
        "AIRFLOW__API__BASE_URL": f"http://localhost:{api_port}",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://localhost:{api_port}/execution/",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "10",
        "AIRFLOW__SCHEDULER__MIN_FILE_PROCESS_INTERVAL": "10",
        "AIRFLOW_CONN_SMTP_DEFAULT": json.dumps({"conn_type": "smtp", "host": "127.0.0.1", "port": smtp_port,
                                                  "extra": {"disable_tls": True, "disable_ssl": True,
                                                            "from_email": "proactief@stad.gent.example"}}),
        "PROACTIEF_DB_URL": db_url,
        "PROACTIEF_MAGDA_BASE_URL": magda_url,
        "PROACTIEF_MAGDA_IDENTIFICATIE": "gent.be/proactief",
        "PROACTIEF_CITY_DATA_DIR": str(city_dir),
        "PROACTIEF_OPTOUT_INBOX": str(home / "optout-inbox"),
        "PROACTIEF_ALERT_EMAIL": "operators@proactief.gent.example",
        "PYTHONUNBUFFERED": "1",
        # where grants and notices go: stand-ins for UiTPAS and the eBox, files under var/downstream
        "PROACTIEF_IVAGO_DIR": str(home / "downstream" / "ivago"),
        "PROACTIEF_SCHOOL_DIR": str(home / "downstream" / "school-billing"),
        "PROACTIEF_LETTER_DIR": str(home / "downstream" / "letters"),
    })
    if standins_url:
        env.update({"PROACTIEF_UITPAS_URL": f"{standins_url}/uitpas", "PROACTIEF_UITPAS_CLIENT_ID": "proactief-gent",
                    "PROACTIEF_UITPAS_CLIENT_SECRET": "standin-secret", "PROACTIEF_EBOX_URL": f"{standins_url}/ebox"})
    if citizen_smtp_port:
        env.update({"PROACTIEF_SMTP_HOST": "127.0.0.1", "PROACTIEF_SMTP_PORT": str(citizen_smtp_port)})
    return env


def write_stack_env(path: Path, variables: dict[str, str]) -> None:
    """``var/stack.env``: ``. var/stack.env`` gives a shell the stack's ``airflow`` and ``proactief`` (runbook's
    set-up), so an operator's command reads the same metadata DB and ledger as the running stack."""
    import shlex

    lines = ["# Written by bin/run (proactief_sim.localstack) at every start: the local stack's environment.",
             "# Use: . var/stack.env   (from the repository's root, while bin/run runs)",
             f"export PATH={shlex.quote(str(PROJECT / '.venv' / 'bin'))}:\"$PATH\""]
    lines += [f"export {key}={shlex.quote(value)}" for key, value in sorted(variables.items())]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o600)  # holds the ledger URL (a password, in production-like set-ups)


def _airflow(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([shutil.which("airflow", path=env.get("PATH")) or "airflow", *args], env=env,
                          capture_output=True, text=True, check=check)


@contextmanager
def _process(cmd: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            yield proc
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()


@contextmanager
def _smtp_sink(port: int, folder: Path) -> Iterator[None]:
    """A local SMTP server that keeps every message it gets in the Maildir ``folder`` (``new/``)."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Mailbox

    folder.parent.mkdir(parents=True, exist_ok=True)  # Maildir makes cur/new/tmp only when it makes the folder
    for sub in ("cur", "new", "tmp"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    controller = Controller(Mailbox(str(folder)), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield
    finally:
        controller.stop()


def _json_out(stdout: str) -> Any:
    """The JSON document an ``airflow … -o json`` command printed after any warning lines (or None)."""
    for line in reversed(stdout.splitlines()):
        if line.startswith(("[", "{")):
            try:
                return json.loads(line)
            except ValueError:
                return None
    return None


def _dag_ids(env: dict[str, str]) -> set[str]:
    out = _json_out(_airflow(env, "dags", "list", "-o", "json", check=False).stdout) or []
    return {d["dag_id"] for d in out}


def _wait_run(env: dict[str, str], dag_id: str, run_id: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    state = "queued"
    while time.monotonic() < deadline:
        for r in _json_out(_airflow(env, "dags", "list-runs", dag_id, "-o", "json", check=False).stdout) or []:
            if r.get("run_id") == run_id:
                state = r.get("state") or state
        if state in ("success", "failed"):
            return state
        time.sleep(3)
    return f"still {state} after {timeout:.0f} s"


def _trigger(env: dict[str, str], dag_id: str, logical: str | None, run_id: str,
             conf: dict[str, Any] | None = None) -> None:
    args = ["dags", "trigger", dag_id, "--run-id", run_id]
    if logical:
        args += ["--logical-date", logical]
    if conf:
        args += ["--conf", json.dumps(conf)]
    _airflow(env, *args)


def _due(day: str, timezone: str) -> str:
    """When the scheduler would start the run for ``day``: 06:00 in the scheme's timezone, as UTC ISO."""
    from datetime import date, datetime
    from zoneinfo import ZoneInfo

    moment = datetime.combine(date.fromisoformat(day), datetime.min.time().replace(hour=6), ZoneInfo(timezone))
    return moment.astimezone(ZoneInfo("UTC")).isoformat()


def _latest_tick(home: Path, dag_id: str) -> str | None:
    """The tick the scheduler runs as soon as the DAG is unpaused (``catchup=False``: only the latest)."""
    import sqlite3
    from datetime import UTC, datetime

    with sqlite3.connect(home / "airflow" / "airflow.db") as db:
        row = db.execute("SELECT next_dagrun, next_dagrun_create_after FROM dag WHERE dag_id = ?",
                         (dag_id,)).fetchone()
    if not row or not row[0] or not row[1]:
        return None
    create_after = datetime.fromisoformat(row[1]).replace(tzinfo=UTC)
    return datetime.fromisoformat(row[0]).replace(tzinfo=UTC).isoformat() if create_after <= datetime.now(
        UTC) else None


def _metadata_db(home: Path) -> Path:
    return home / "airflow" / "airflow.db"


def _run_dates(home: Path, dag_id: str) -> set[datetime]:
    """The logical dates of the DAG's runs already in the metadata DB (unique per DAG in Airflow)."""
    import sqlite3
    from datetime import UTC

    if not _metadata_db(home).exists():
        return set()
    with sqlite3.connect(_metadata_db(home)) as db:
        rows = db.execute("SELECT logical_date FROM dag_run WHERE dag_id = ? AND logical_date IS NOT NULL",
                          (dag_id,)).fetchall()
    return {datetime.fromisoformat(str(r[0])).replace(tzinfo=UTC) for r in rows}


def _free_logical_date(home: Path, dag_id: str, due: str) -> str:
    """``due``, or when an earlier ``bin/run`` already ran that moment, the first free minute after it on the same
    day: a re-decision of the same period (runbook, "Re-decide a period"), never Airflow's unique-date error."""
    from datetime import timedelta

    taken = _run_dates(home, dag_id)
    moment = datetime.fromisoformat(due)
    while moment in taken:
        moment += timedelta(minutes=1)
    return moment.isoformat()


def _pause_all(home: Path) -> int:
    """Pause every DAG of an earlier ``bin/run`` before the scheduler starts (it would otherwise start the periods
    that became due since, as real runs); each DAG is unpaused again once its runs are triggered. Returns the
    number of runs kept from before."""
    import sqlite3

    if not _metadata_db(home).exists():
        return 0
    with sqlite3.connect(_metadata_db(home)) as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not {"dag", "dag_run"} <= tables:
            return 0
        db.execute("UPDATE dag SET is_paused = 1")
        return int(db.execute("SELECT count(*) FROM dag_run").fetchone()[0])


def _summary(db_url: str, city_dir: Path, dates: dict[str, str], stamp: str) -> list[str]:
    """This invocation's runs (the ledger keeps earlier ones), then the ledger's grants against the expected."""
    from sqlalchemy import func, select

    from proactief.advice.compare import read_expected
    from proactief.ledger import make_engine
    from proactief.ledger.models import AdviceBatch, GrantRow, MagdaConsultation, Notice, OutboxMessage, SchemeRun
    from proactief.lifecycle.outbox import card_waits, delivery_status

    engine = make_engine(db_url)
    lines = []
    with engine.connect() as conn:
        for run in conn.execute(select(SchemeRun.__table__).where(SchemeRun.external_id.contains(f"/bin-run-{stamp}"))
                                .order_by(SchemeRun.id)):
            f = run.figures or {}
            dec = f.get("decisions", {})
            granted = f.get("grant", {}).get("granted", 0)
            lines.append(f"  {run.scheme_id:22} {run.period:9} {run.status:9} selected {f.get('selected', 0):>6}  "
                         f"eligible {dec.get('eligible', 0):>5}  not {dec.get('not_eligible', 0):>5}  "
                         f"undetermined {dec.get('undetermined', 0):>4}  granted {granted:>5}"
                         f"  notices {f.get('notify', {}).get('queued', 0):>5}{'  (dry run)' if run.dry_run else ''}"
                         + (f"\n    STOPPED at the population gate: stale source: {'; '.join(f['stale_sources'])}"
                            if f.get("stale_sources") else ""))
        for path in sorted((city_dir / "expected").glob("*.csv")):
            # A household scheme grants once per household on D, to its reference person on D (two subjects of
            # the extract may share one household on D): compare with those reference persons.
            expected = {r.get("reference_person_insz") or i for i, r in read_expected(path).items()
                        if r["decision"] == "eligible"}
            granted_to = set(conn.scalars(select(GrantRow.insz).where(GrantRow.scheme_id == path.stem)))
            verdict = "match" if granted_to == expected else (
                f"DIFFER: {len(expected - granted_to)} expected without a grant, "
                f"{len(granted_to - expected)} granted but not expected")
            lines.append(f"  {path.stem:22} grants vs the generator's expected entitlements ({len(expected)}): "
                         f"{verdict}")
        lines.append("  delivery (outbox rows by kind/channel and status, all runs):")
        for what, by_status in sorted(delivery_status(engine).items()):
            lines.append(f"    {what:22} " + ", ".join(f"{k} {v}" for k, v in sorted(by_status.items())))
        for scheme_id, fig in card_waits(engine).items():
            delivered = conn.execute(select(func.count()).select_from(GrantRow).where(
                GrantRow.scheme_id == scheme_id, GrantRow.status == "delivered")).scalar_one()
            lines.append(f"  {scheme_id}: {delivered} grants delivered on a pass, {fig['waiting']} wait for a pass "
                         f"(\"wacht op pas\": told how to get one), {fig['expired']} expired "
                         "(`proactief outbox cards`)")
        notices = dict(conn.execute(select(Notice.channel, func.count()).where(Notice.status == "sent")
                                    .group_by(Notice.channel)).all())
        lines.append("  notices sent: " + (", ".join(f"{c} {n}" for c, n in sorted(notices.items())) or "none")
                     + " (a person with several benefits gets one combined message)")
        grants = conn.execute(select(func.count()).select_from(GrantRow)).scalar_one()
        outbox = conn.execute(select(func.count()).select_from(OutboxMessage)).scalar_one()
        asked = conn.execute(select(func.count()).select_from(MagdaConsultation)).scalar_one()
        batches = conn.execute(select(func.count()).select_from(AdviceBatch)
                               .where(AdviceBatch.application == "airflow")).scalar_one()
    engine.dispose()
    lines.append(f"  ledger: {grants} grants, {outbox} outbox messages, {asked} MAGDA consultations in the audit log")
    lines.append(f"  the runs asked the advice service in {batches} batches (one per MAGDA chunk; the tasks never "
                 "saw a MAGDA answer)")
    return lines


def _advice_token(home: Path, name: str) -> str:
    """A calling application's token for the local advice service: made once, kept in ``var/<name>`` (0600) so it
    keeps working across restarts (``var/stack.env``, a clerk's saved token); the service is given only its hash."""
    import secrets

    path = home / name
    if path.exists() and (token := path.read_text(encoding="utf-8").strip()):
        return token
    token = secrets.token_urlsafe(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(token + "\n", encoding="utf-8")
    path.chmod(0o600)
    return token


def _advice_service_env(counter_token: str, runs_token: str) -> dict[str, str]:
    from proactief.advice_service.config import hash_token

    return {"PROACTIEF_ADVICE_TOKENS": f"loket={hash_token(counter_token)},airflow={hash_token(runs_token)}",
            "PROACTIEF_ADVICE_INSTANCE": "bin-run"}


COUNTER_SCHEME = "uitpas-kansentarief"
"""The scheme the counter asks about (the UiTPAS desk sells about 10,000 passes a year)."""


def _counter_demo(url: str, token: str, city_dir: Path, dates: dict[str, str]) -> list[str]:
    """Two residents asked at the counter through the advice service, one the generator expects entitled and one
    it does not: their answers against that expectation, and how long each took. Never prints a national number."""
    from proactief.advice.compare import read_expected
    from proactief.advice_service.cli import advise_via_service

    expected = read_expected(city_dir / "expected" / f"{COUNTER_SCHEME}.csv")
    lines = []
    for wanted in ("eligible", "not_eligible"):
        insz = next((i for i, r in sorted(expected.items()) if r["decision"] == wanted), None)
        if insz is None:
            continue
        t0 = time.perf_counter()
        code, text = advise_via_service(COUNTER_SCHEME, insz, dates[COUNTER_SCHEME], service_url=url, token=token,
                                        user="bin-run", as_json=True, city_dir=city_dir)
        ms = (time.perf_counter() - t0) * 1000
        if code != 0:
            lines.append(f"  {COUNTER_SCHEME}: the service refused ({text.splitlines()[0][:200]})")
            continue
        got = json.loads(text)["decision"]
        verdict = "match" if got == wanted else f"DIFFER (expected {wanted})"
        lines.append(f"  {COUNTER_SCHEME}: a resident the generator expects {wanted}: {got} in {ms:.0f} ms "
                     f"({verdict})")
    return lines


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _local_ledger(home: Path) -> str:
    """The ledger: database ``proactief`` on the local PostgreSQL (created if missing), else SQLite under ``home``.

    Mapped MAGDA chunks write the ledger concurrently, which PostgreSQL handles and SQLite only serialises."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    server = os.environ.get("PROACTIEF_PG_SERVER", "postgresql+psycopg2://postgres@127.0.0.1:5432")
    try:
        admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
        with admin.connect() as conn:
            if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = 'proactief'")).first() is None:
                conn.execute(text("CREATE DATABASE proactief"))
        admin.dispose()
        return f"{server}/proactief"
    except OperationalError:
        _say(f"no PostgreSQL at {server}: the ledger goes to SQLite under {home} (slower, one writer at a time)")
        return f"sqlite:///{home / 'ledger.sqlite'}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bin/run", description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=3000, help="persons in the synthetic Ghent (default 3000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--home", type=Path, default=PROJECT / "var", help="where everything is kept (var/)")
    parser.add_argument("--port", type=int, default=8080, help="Airflow UI port (default 8080, or a free one)")
    parser.add_argument("--exit", action="store_true", help="stop everything after the runs (default: keep the UI up)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds to wait for each DAG run")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop Airflow and the simulator on `kill` too

    from proactief.ledger import upgrade
    from proactief_sim.population import generate

    home: Path = args.home.resolve()
    city_dir = home / "population"
    if not (city_dir / "manifest.json").exists() or json.loads((city_dir / "manifest.json").read_text()).get(
            "size") != args.size:
        _say(f"generating a synthetic Ghent of {args.size} persons in {city_dir}")
        generate(args.size, args.seed, out=city_dir)
    dates = json.loads((city_dir / "expected/reference-dates.json").read_text())
    db_url = os.environ.get("PROACTIEF_DB_URL") or _local_ledger(home)
    os.environ["PROACTIEF_DB_URL"] = db_url  # explicit for everything this process and its children do
    _say(f"ledger: {_redacted(db_url)} (migrating)")
    upgrade(db_url)
    api_port, sim_port, smtp_port = _free_port(args.port), _free_port(8089), _free_port(8025)
    standins_port, citizen_smtp_port = _free_port(8092), _free_port(8026)
    variables = stack_variables(home, db_url=db_url, magda_url=f"http://127.0.0.1:{sim_port}", smtp_port=smtp_port,
                                api_port=api_port, city_dir=city_dir,
                                standins_url=f"http://127.0.0.1:{standins_port}", citizen_smtp_port=citizen_smtp_port)
    env = {**os.environ, **variables}
    write_stack_env(home / "stack.env", variables)
    (home / "optout-inbox").mkdir(parents=True, exist_ok=True)
    reuse: list[str] = []
    kept = _pause_all(home)
    if kept:
        reuse.append(f"reused {home / 'airflow'} from an earlier bin/run ({kept} Airflow runs kept); every DAG was "
                     "paused until its run was triggered")
    with ExitStack() as stack:
        _say(f"MAGDA simulator on 127.0.0.1:{sim_port} serving {city_dir / 'magda-population.jsonl'}")
        sim = stack.enter_context(_process(
            [sys.executable, "-m", "proactief_sim.simulator", "--host", "127.0.0.1", "--port", str(sim_port),
             "--population", str(city_dir / "magda-population.jsonl")], env, home / "logs/magda-sim.log"))
        _wait_port(sim_port, 60, "the MAGDA simulator", sim)
        stack.enter_context(_smtp_sink(smtp_port, home / "mail"))
        stack.enter_context(_smtp_sink(citizen_smtp_port, home / "downstream" / "e-mail"))
        _say(f"downstream stand-ins on 127.0.0.1:{standins_port}: UiTPAS API v4 (/uitpas), eBox (/ebox); "
             f"citizens' e-mail to an SMTP sink on port {citizen_smtp_port}")
        standins = stack.enter_context(_process(
            [sys.executable, "-m", "proactief_sim.standins", "--port", str(standins_port),
             "--passholder-share", str(DEMO_PASSHOLDER_SHARE)], env,
            home / "logs/standins.log"))
        _wait_port(standins_port, 60, "the downstream stand-ins", standins)
        advice_port = _free_port(8091)
        advice_url = f"http://127.0.0.1:{advice_port}"
        advice_token = _advice_token(home, "advice-service.token")
        runs_token = _advice_token(home, "advice-service-airflow.token")
        _say(f"advice service (Automatisch Advies) on {advice_url}: the scheme runs ask it instead of MAGDA, and the "
             f"counter gets its yes/no in real time (token in {home / 'advice-service.token'})")
        advice = stack.enter_context(_process(
            [sys.executable, "-m", "proactief.cli", "advice-service", "--host", "127.0.0.1", "--port",
             str(advice_port)], {**env, **_advice_service_env(advice_token, runs_token)},
            home / "logs/advice-service.log"))
        _wait_port(advice_port, 60, "the advice service", advice)
        # Airflow's tasks (and an operator's shell through var/stack.env) decide through the service as the
        # application "airflow"; the counter has its own token.
        variables.update({"PROACTIEF_ADVICE_URL": advice_url, "PROACTIEF_ADVICE_TOKEN": runs_token})
        env.update(variables)
        write_stack_env(home / "stack.env", variables)
        _say("migrating Airflow's metadata database (SQLite) and importing pools")
        _airflow(env, "db", "migrate")
        _airflow(env, "pools", "import", str(PROJECT / "airflow/pools.json"))
        _say(f"starting airflow standalone (UI on http://localhost:{api_port}); log in var/logs/airflow.log")
        airflow = stack.enter_context(_process(["airflow", "standalone"], env, home / "logs/airflow.log"))
        _wait_port(api_port, 180, "airflow standalone", airflow)
        from proactief.schemes import load_all

        schemes = load_all()
        scheme_dags = {s.id: s.id for s in schemes.values()}  # the factory's dag_id is the scheme id
        wanted = {SYNC_DAG, DISPATCH_DAG, *scheme_dags.values()}
        deadline = time.monotonic() + 180
        while not wanted <= _dag_ids(env):
            if time.monotonic() > deadline:
                raise TimeoutError(f"DAGs not parsed within 180 s: missing {sorted(wanted - _dag_ids(env))}")
            time.sleep(3)
        stamp = time.strftime("%Y%m%dT%H%M%S")
        _say("population sync: import the city's files, register residents in the MAGDA repertorium")
        sync_tick = _latest_tick(home, SYNC_DAG)
        if sync_tick is not None and datetime.fromisoformat(sync_tick) in _run_dates(home, SYNC_DAG):
            sync_tick = None
        _trigger(env, SYNC_DAG, sync_tick, f"bin-run-{stamp}")  # the tick, so no second run
        _airflow(env, "dags", "unpause", SYNC_DAG)
        _say(f"  {SYNC_DAG}: {_wait_run(env, SYNC_DAG, f'bin-run-{stamp}', args.timeout)}")
        waits: list[tuple[str, str]] = []
        for scheme_id, dag_id in scheme_dags.items():
            due = _due(dates[scheme_id], schemes[scheme_id].schedule.timezone)
            logical = _free_logical_date(home, dag_id, due)
            if logical != due:
                note = (f"{dag_id}: {dates[scheme_id]} already had a run from an earlier bin/run; this one "
                        f"re-decided the period at {logical} (a new ledger run: grants already made are not "
                        "repeated, so it grants 0 of them again)")
                reuse.append(note)
            _say(f"{dag_id}: run for reference date {dates[scheme_id]}")
            _trigger(env, dag_id, logical, f"bin-run-{stamp}")
            waits.append((dag_id, f"bin-run-{stamp}"))
            tick = _latest_tick(home, dag_id)
            if tick is not None and datetime.fromisoformat(tick) in _run_dates(home, dag_id):
                tick = None  # that period has its run already (an earlier bin/run's dry run)
            if tick is not None and datetime.fromisoformat(tick) != datetime.fromisoformat(due):
                # Unpausing makes the scheduler run the latest period at once; make that one a shadow run
                # (decides, grants and notifies nothing) so the demo grants only for the population's dates.
                _say(f"  and a dry run for the current period ({tick[:10]}), which the scheduler would start; the "
                     f"population is as of {dates.get('as_of', '?')}, so if that is too old for the period the run "
                     "stops at its population gate (stale source) and the operators get an e-mail")
                _trigger(env, dag_id, tick, f"bin-run-{stamp}-current-period", conf={"dry_run": True})
                waits.append((dag_id, f"bin-run-{stamp}-current-period"))
            _airflow(env, "dags", "unpause", dag_id)
        for dag_id, run_id in waits:
            _say(f"  {dag_id} {run_id}: {_wait_run(env, dag_id, run_id, args.timeout)}")
        _say("outbox dispatch: deliver the grants (UiTPAS, IVAGO, school billing, LEZ) and send the notices")
        _trigger(env, DISPATCH_DAG, None, f"bin-run-{stamp}")
        _airflow(env, "dags", "unpause", DISPATCH_DAG)  # hourly after this; dispatching again sends nothing twice
        _say(f"  {DISPATCH_DAG}: {_wait_run(env, DISPATCH_DAG, f'bin-run-{stamp}', args.timeout)}")
        _say("what the runs decided and granted (from the ledger):")
        print("\n".join(_summary(db_url, city_dir, dates, stamp)))
        _say("the counter asks the advice service (one resident at a time, as a clerk would):")
        print("\n".join(_counter_demo(advice_url, advice_token, city_dir, dates)))
        _say("what this bin/run did with what was already there:")
        print("\n".join(f"  {line}" for line in reuse) if reuse else "  nothing was there: a fresh var/airflow")
        password_file = home / "airflow" / "simple_auth_manager_passwords.json.generated"
        print(f"""
Where to look:
  Airflow UI      http://localhost:{api_port}   user admin, password in {password_file}
                  Dags → uitpas-kansentarief → the run → Graph: the lifecycle steps as task groups
                  (select → DQ → MAGDA query mapped over chunks → DQ → decide → DQ + approval gate → grant →
                  reconcile → notify → report); each task's log shows counts, never a national number.
  Dashboard       http://localhost:{api_port}/plugin/proactief   (Regelingen: figures, take-up plot, lookup)
  Advice service  {advice_url}/health   (the counter: `proactief advise --scheme … --insz …` in a shell
                  with var/stack.env asks it; every call audited with the application and user)
  Ledger          {_redacted(db_url)}
                  tables scheme_run, decision, benefit_grant, outbox, dq_result, magda_consultation (audit log)
  Alert e-mails   {home / 'mail' / 'new'}  (one file per operator alert)
  Downstream      {home / 'downstream'}: ivago/ (daily voucher files), school-billing/ (export per school
                  year), letters/ (PDF letters for the print service), e-mail/new/ (citizens' e-mails);
                  UiTPAS and eBox stand-ins: http://127.0.0.1:{standins_port}/uitpas/_standin/state and
                  http://127.0.0.1:{standins_port}/ebox/_standin/state
  Opt-out         drop a CSV (insz,action,channel,at) in {home / 'optout-inbox'} or run `proactief optout add`
  Your shell      . {home / 'stack.env'}   (the stack's AIRFLOW_HOME, PROACTIEF_DB_URL … for `airflow` and
                  `proactief`, as the runbook's set-up says)
""", flush=True)
        if args.exit:
            return 0
        _say("running; press Ctrl-C to stop")
        try:
            while airflow.poll() is None:
                time.sleep(2)
        except KeyboardInterrupt:
            _say("stopping")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

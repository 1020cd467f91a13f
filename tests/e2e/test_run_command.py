"""The README's run command, for real: ``python -m proactief_sim.localstack`` (what ``bin/run`` execs) on a small
synthetic Ghent brings up ``airflow standalone``, runs the sync and every scheme DAG, and says what it did; run a
second time on the same ``var/`` (what every newcomer does) it runs again and says how it reused what was there."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import REPO, create_database, drop_database, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

SCHEMES = ("uitpas-kansentarief", "ivago-tegemoetkoming", "onderwijskorting", "lez-vrijstelling")


@pytest.fixture
def ledger_url() -> Iterator[str]:
    url = create_database("proactief_run")
    try:
        yield url
    finally:
        drop_database(url)


def test_the_run_command_runs_every_dag_once_and_says_where_to_look(tmp_path: Path, ledger_url: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PROACTIEF_"))}
    env["PROACTIEF_DB_URL"] = ledger_url
    home = tmp_path / "var"
    out = _run(home, env)
    assert re.search(r"population_sync: success", out), out[-4000:]
    for scheme in SCHEMES:
        assert re.search(rf"{scheme} bin-run-\d{{8}}T\d{{6}}: success", out), (scheme, out[-4000:])
    # the scheme whose reference date is the extract's month is exact against the generator's expectations
    # the tick: a dry run of the current period, on the population as of the generator's date (2026-11-01), a
    # month or more before it: the resident extract is too old for its D, so it stops at its population gate and
    # the summary says which source and how old (stale-source alarm, issue 18.1); nothing is decided or granted
    assert re.search(r"uitpas-kansentarief\s+\d{4}-\d{2}\s+selected .*granted\s+0 .*\(dry run\)\n\s+STOPPED at the "
                     r"population gate: stale source: resident extract is as of 2026-11-01 \(\d+ days before "
                     r"\d{4}-\d{2}-01\); allowed 8 days", out), out[-4000:]
    assert re.search(r"uitpas-kansentarief bin-run-\d{8}T\d{6}-current-period: failed", out), out[-4000:]
    # every scheme, IVAGO's past 1 January and onderwijskorting's 1 September included (decided as the register
    # stood on D), grants exactly the generator's expected entitlements
    for scheme in SCHEMES:
        assert re.search(rf"{scheme}\s+grants vs the generator's expected entitlements \(\d+\): match", out), (
            scheme, out[-4000:])
    # the first (real) UiTPAS run says what it granted and told
    assert re.search(r"uitpas-kansentarief\s+\d{4}-\d{2}\s+finished .* granted\s+[1-9]\d*\s+notices\s+[1-9]", out), (
        out[-4000:])
    # the outbox dispatch delivered every grant downstream and sent the notices; the people without a UiTPAS (the
    # stand-in gives 60 % one) wait for a pass, told how to get one, and nothing failed
    assert re.search(r"outbox_dispatch: success", out), out[-4000:]
    assert re.search(r"grant/uitpas\s+sent \d+, waiting_card \d+\n", out), out[-4000:]
    assert re.search(r"uitpas-kansentarief: [1-9]\d* grants delivered on a pass, [1-9]\d* wait for a pass", out), (
        out[-4000:])
    assert re.search(r"grant/ivago\s+sent \d+\n", out), out[-4000:]
    assert not re.search(r"grant/\S+\s+.*(pending|failed)", out), out[-4000:]
    assert re.search(r"notices sent: .*email \d+", out), out[-4000:]
    downstream = home / "downstream"
    assert list((downstream / "ivago").glob("ivago-vouchers-*.jsonl")) and list((downstream / "e-mail").iterdir())
    assert "Where to look" in out and "Dags → uitpas-kansentarief" in out
    # the counter's real-time path: the advice service answers as the generator expects, audited for the counter
    for wanted in ("eligible", "not_eligible"):
        assert re.search(rf"a resident the generator expects {wanted}: {wanted} in \d+ ms \(match\)", out), (
            wanted, out[-4000:])
    from sqlalchemy import create_engine, text

    engine = create_engine(ledger_url.replace("postgresql://", "postgresql+psycopg2://", 1))
    try:
        with engine.connect() as conn:
            by_counter = conn.execute(text("SELECT count(*) FROM magda_consultation "
                                           "WHERE consulted_by = 'loket/bin-run'")).scalar_one()
    finally:
        engine.dispose()
    assert by_counter >= 2  # the counter's own audit rows (one per advice asked) and the MAGDA questions behind them
    # the runs decided through the service (the tasks asked it, not MAGDA)
    assert re.search(r"the runs asked the advice service in [1-9]\d* batches", out), out[-4000:]
    assert (home / "airflow" / "simple_auth_manager_passwords.json.generated").exists()
    # nothing personal on the console: no 11-digit national number
    population = {line.split(",", 1)[0] for line in (home / "population/residents.csv").read_text().splitlines()[1:]}
    assert not set(re.findall(r"(?<!\d)\d{11}(?!\d)", out)) & population
    assert "nothing was there: a fresh var/airflow" in out
    # the operator's shell set-up (runbook): the stack's variables, the ledger among them
    stack_env = (home / "stack.env").read_text()
    for variable in ("AIRFLOW_HOME", "AIRFLOW__CORE__DAGS_FOLDER", "PROACTIEF_DB_URL", "PROACTIEF_MAGDA_BASE_URL",
                     "PROACTIEF_ADVICE_URL", "PROACTIEF_ADVICE_TOKEN"):
        assert f"export {variable}=" in stack_env, variable
    assert f"export AIRFLOW_HOME={home / 'airflow'}" in stack_env

    # the second bin/run on the same machine: same var/, same ledger; the first run's Airflow runs are still there
    again = _run(home, env)
    for scheme in SCHEMES:
        assert re.search(rf"{scheme} bin-run-\d{{8}}T\d{{6}}: success", again), (scheme, again[-4000:])
    assert re.search(r"reused .*airflow from an earlier bin/run \(\d+ Airflow runs kept\)", again), again[-4000:]
    assert re.search(r"uitpas-kansentarief: \d{4}-\d{2}-\d{2} already had a run from an earlier bin/run; this one "
                     r"re-decided the period at ", again), again[-4000:]
    for scheme in SCHEMES:
        assert re.search(rf"{scheme}\s+grants vs the generator's expected entitlements \(\d+\): match", again), (
            scheme, again[-4000:])
    assert re.search(r"outbox_dispatch: success", again), again[-4000:]


def _run(home: Path, env: dict[str, str]) -> str:
    """One ``bin/run --exit`` on ``home``; its console output (fails the test on a non-zero exit)."""
    proc = subprocess.run([sys.executable, "-m", "proactief_sim.localstack", "--size", "400", "--seed", "3",
                           "--home", str(home), "--port", str(free_port()), "--exit", "--timeout", "600"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=1500)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    return out

"""The operators' runbook (docs/runbook.md) followed as written, on the session's real stack (api-server,
scheduler with LocalExecutor, triggerer, the MAGDA simulator, a PostgreSQL ledger): the MAGDA outage drill through
``/_sim/faults`` ending at the magda_results gate, then the clear (CLI, as the runbook prints it, and REST) while
the run's deadline is pending, bad trigger parameters, a backfill over periods that have runs, a re-decision, an
objection, an access request and a hold. The commands are read from the runbook's code blocks, so the runbook
cannot drift from the product (issue 14); only the dates are moved to periods no other e2e test uses.

Runs after ``test_e2e_uitpas_lifecycle`` (file order) on the same stack; every run here is a dry run except the
runbook's re-decision, whose grants the earlier tests already made.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests
from sqlalchemy import Engine, text

from tests.e2e.harness import REPO, AirflowStack, Population, Service, SmtpSink

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

SCHEME = "uitpas-kansentarief"
TZ = ZoneInfo("Europe/Brussels")
RUNBOOK = REPO / "docs" / "runbook.md"
RUN_TIMEOUT = 600.0
GATE = "magda_quality.check_magda_results"
BAD_INSZ = "00000000000"
DRILL_DAY = dt.date(2025, 1, 1)  # the runbook's drill period (its commands name it)
REST_DAY = dt.date(2025, 2, 1)
Shell = Callable[..., subprocess.CompletedProcess[str]]


def _section(heading: str) -> str:
    body = RUNBOOK.read_text(encoding="utf-8")
    match = re.search(rf"^(#+) {re.escape(heading)}\s*$", body, flags=re.M)
    assert match, f"the runbook has no section {heading!r}"
    rest = body[match.end():]
    end = re.search(rf"^#{{1,{len(match.group(1))}}} ", rest, flags=re.M)
    return rest[: end.start()] if end else rest


def _lines(heading: str, block: int = 0) -> list[str]:
    """The shell lines of the section's code block number ``block`` (continuations joined, comment-only lines
    dropped)."""
    text = re.findall(r"```bash\n(.*?)```", _section(heading), flags=re.S)[block]
    lines = [line.strip() for line in text.replace("\\\n", " ").splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def _due(day: dt.date, hour: int = 6) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=TZ)


@pytest.fixture(scope="module")
def dag_id(airflow: AirflowStack) -> str:
    airflow.wait_for_dags([SCHEME], timeout=180)
    airflow.unpause(SCHEME, absorb_due_run_conf={"insz": BAD_INSZ})
    return SCHEME


@pytest.fixture(scope="module")
def person(e2e_population: Population) -> str:
    return sorted(e2e_population.insz_set())[0]


@pytest.fixture(scope="module")
def shell(airflow: AirflowStack, magda_sim: Service, person: str,
          tmp_path_factory: pytest.TempPathFactory) -> Shell:
    """Runs one runbook line in bash with what the runbook's set-up gives a shell: the stack's environment
    (``AIRFLOW_HOME``, ``PROACTIEF_DB_URL`` …), ``$INSZ``, and an empty ``$USER`` (as in a container)."""
    cwd = tmp_path_factory.mktemp("operator")
    env = dict(airflow.env)
    env.update({"PATH": f"{Path(sys.executable).parent}:{env.get('PATH', '')}", "INSZ": person, "USER": "",
                "PROACTIEF_MAGDA_BASE_URL": magda_sim.url})

    def run(line: str, *, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(["bash", "-c", line], env=env, cwd=cwd, capture_output=True, text=True,
                              timeout=timeout)
        if check:
            assert done.returncode == 0, (f"`{line}` exited {done.returncode}:\n{done.stdout[-3000:]}\n"
                                          f"{done.stderr[-3000:]}")
        return done

    run.cwd = cwd  # type: ignore[attr-defined]
    return run


def _faults(sim: Service, rates: dict[str, float]) -> None:
    requests.put(f"{sim.url}/_sim/faults", json={"rates": rates}, timeout=10).raise_for_status()


def _run_at(airflow: AirflowStack, dag_id: str, moment: dt.datetime, timeout: float = 60) -> str:
    import time

    deadline = time.monotonic() + timeout
    while True:
        for r in airflow.runs(dag_id):
            if r["logical_date"] == moment:
                return str(r["run_id"])
        assert time.monotonic() < deadline, f"no run of {dag_id} at {moment}"
        time.sleep(0.5)


def _pending_deadlines(airflow: AirflowStack, dag_id: str, run_id: str) -> int:
    with airflow.db.connect() as conn:
        return int(conn.execute(text(
            "SELECT count(*) FROM deadline d JOIN dag_run r ON r.id = d.dagrun_id "
            "WHERE r.dag_id = :d AND r.run_id = :r AND NOT d.missed"), {"d": dag_id, "r": run_id}).scalar_one())


def _fails_at_the_gate(airflow: AirflowStack, dag_id: str, run_id: str) -> None:
    assert airflow.wait_for_run(dag_id, run_id, RUN_TIMEOUT, fail_fast=False) == "failed"
    states = airflow.task_states(dag_id, run_id)
    assert states[GATE] == "failed" and states["advice.decide"] == "upstream_failed", states
    assert _pending_deadlines(airflow, dag_id, run_id) == 1  # what Airflow 3.3.2's clear used to crash on


def _succeeds_after_the_clear(airflow: AirflowStack, dag_id: str, run_id: str) -> None:
    state = airflow.wait_for_run(dag_id, run_id, RUN_TIMEOUT, fail_fast=False)
    assert state == "success", airflow.task_states(dag_id, run_id)
    assert [t["state"] for t in airflow.tries(dag_id, run_id, GATE)] == ["failed", "success"]


# -------------------------------------------------------------------------------------------------- tests


def test_the_outage_drill_ends_at_the_gate_and_the_runbooks_clear_recovers_with_the_deadline_pending(
        airflow: AirflowStack, dag_id: str, magda_sim: Service, shell: Shell, smtp_sink: SmtpSink) -> None:
    faults_on, trigger, listing, faults_off, clear = _lines("Rehearse a MAGDA outage (local stack)")
    assert "/_sim/faults" in faults_on and "tasks clear" in clear and DRILL_DAY.isoformat() in clear
    try:
        shell(faults_on)
        shell(trigger)
        run_id = _run_at(airflow, dag_id, _due(DRILL_DAY))
        _fails_at_the_gate(airflow, dag_id, run_id)
        assert "failed" in shell(listing).stdout
        smtp_sink.wait_for(lambda m: run_id in str(m.get("Subject", "")) and GATE in str(m.get("Subject", "")))
    finally:
        _faults(magda_sim, {})
    shell(faults_off)
    cleared = shell(clear)
    assert "TypeError" not in cleared.stdout + cleared.stderr
    _succeeds_after_the_clear(airflow, dag_id, run_id)


def test_a_clear_through_the_rest_api_with_the_deadline_pending_recovers_too(
        airflow: AirflowStack, dag_id: str, magda_sim: Service) -> None:
    try:
        _faults(magda_sim, {"99996": 1.0})
        run_id = airflow.trigger(dag_id, _due(REST_DAY), conf={"dry_run": True})
        _fails_at_the_gate(airflow, dag_id, run_id)
    finally:
        _faults(magda_sim, {})
    assert airflow.clear(dag_id, run_id, r"^magda\.query_chunk$", downstream=True) == ["magda.query_chunk"]
    _succeeds_after_the_clear(airflow, dag_id, run_id)


def test_bad_trigger_parameters_are_one_line_in_the_cli_and_a_400_in_the_rest_api(
        airflow: AirflowStack, dag_id: str, shell: Shell) -> None:
    before = len(airflow.runs(dag_id))
    (line,) = _lines("Bad trigger parameters")
    out = shell(line).stdout.strip()
    reason = "Invalid input for param chunk_size: 5 is less than the minimum of 100"
    assert len(out.splitlines()) == 1 and "ParamValidationError" in out and reason in out, out
    assert reason in _section("Bad trigger parameters").replace("\n  ", " ")  # the runbook quotes it
    resp = requests.post(f"{airflow.base_url}/api/v2/dags/{dag_id}/dagRuns", timeout=30,
                         json={"logical_date": None, "conf": {"chunk_size": 5}})
    assert resp.status_code == 400 and "chunk_size" in resp.text, resp.text
    assert len(airflow.runs(dag_id)) == before


def test_a_backfill_over_periods_that_have_runs_creates_nothing_and_the_runbook_shows_how_to_see_it(
        airflow: AirflowStack, dag_id: str, shell: Shell) -> None:
    section = _section("Backfill a period")
    window = {"2026-08-01": DRILL_DAY.isoformat(), "2026-10-31": "2025-02-28"}  # the two drill periods above
    preview, shadow, real = [re.sub("|".join(window), lambda m: window[m.group(0)], line)
                             for line in _lines("Backfill a period")]
    before = {r["run_id"] for r in airflow.runs(dag_id)}
    listed = shell(preview).stdout
    assert "Runs to be attempted" in listed and "2025-0" not in listed.split("Runs to be attempted", 1)[1]
    for line in (shadow, real):
        made = shell(line, check=False)
        assert "Created backfill Dag run" in made.stdout + made.stderr, made  # Airflow's own words, as documented
        _wait_backfills_completed(airflow, dag_id)  # the runbook: one backfill per DAG at a time
    (check,) = re.findall(r"`(airflow dags list-runs [^`]*grep backfill__)`", section.replace("\n  ", " "))
    shown = shell(check, check=False).stdout
    assert "backfill__2025" not in shown
    assert {r["run_id"] for r in airflow.runs(dag_id)} == before  # nothing was created


def _wait_backfills_completed(airflow: AirflowStack, dag_id: str, timeout: float = 120) -> None:
    import time

    deadline = time.monotonic() + timeout
    while True:
        with airflow.db.connect() as conn:
            open_ = conn.execute(text("SELECT count(*) FROM backfill WHERE dag_id = :d AND completed_at IS NULL"),
                                 {"d": dag_id}).scalar_one()
        if not open_:
            return
        assert time.monotonic() < deadline, "a backfill that creates nothing was not completed"
        time.sleep(1)


def test_re_deciding_a_period_makes_a_new_run_that_grants_nothing_twice(
        airflow: AirflowStack, dag_id: str, shell: Shell, ledger: Engine) -> None:
    (line,) = _lines("Re-decide a period")
    line = line.replace("2026-11-01T08:00:00+01:00", f"{REST_DAY.isoformat()}T08:00:00+01:00")
    grants = int(_scalar(ledger, "SELECT count(*) FROM benefit_grant WHERE scheme_id = :s", s=SCHEME))
    shell(line)
    run_id = _run_at(airflow, dag_id, _due(REST_DAY, hour=8))
    assert airflow.wait_for_run(dag_id, run_id, RUN_TIMEOUT) == "success", airflow.task_states(dag_id, run_id)
    figures = _scalar(ledger, "SELECT figures FROM scheme_run WHERE external_id = :e", e=f"{dag_id}/{run_id}")
    figures = figures if isinstance(figures, dict) else json.loads(figures)
    assert figures["decisions"]["eligible"] > 0
    already = int(_scalar(ledger, "SELECT count(*) FROM benefit_grant WHERE scheme_id = :s", s=SCHEME))
    assert already - grants == figures["grant"]["granted"]  # only what was new, nothing twice


def _scalar(engine: Engine, sql: str, **params: Any) -> Any:
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()


def test_an_objection_as_the_runbook_records_it_with_a_recorder(shell: Shell, ledger: Engine, person: str) -> None:
    add, status, withdraw = _lines("Handle an objection")
    assert "objection recorded" in shell(add).stdout
    assert "opted out: yes" in shell(status).stdout
    assert "objection withdrawn" in shell(withdraw).stdout
    with ledger.connect() as conn:
        recorders = list(conn.execute(text("SELECT recorded_by FROM opt_out_event WHERE insz = :i ORDER BY id"),
                                      {"i": person}).scalars())
    assert len(recorders) >= 2 and all(r and r.strip() for r in recorders[-2:]), "an objection without recorder"


def test_an_access_request_gives_the_citizen_the_access_document(shell: Shell, person: str) -> None:
    read, pdf, html = _lines("Answer an access request: who consulted my data")
    assert read.startswith("read -r INSZ")  # the shell has $INSZ already (the fixture), as after this read
    shell(pdf)
    shell(html)
    (pdf_file,) = re.findall(r"--out\s+(\S+\.pdf)", pdf)
    (html_file,) = re.findall(r"--out\s+(\S+\.html)", html)
    assert (shell.cwd / pdf_file).read_bytes().startswith(b"%PDF")  # type: ignore[attr-defined]
    page = (shell.cwd / html_file).read_text()  # type: ignore[attr-defined]
    assert "<html" in page and person not in page  # the INSZ is masked in the document


def test_an_access_request_exports_the_persons_consultations(shell: Shell, person: str) -> None:
    export, table, status = _lines("Answer an access request: who consulted my data", block=1)
    shell(export)
    (written,) = re.findall(r">\s*(\S+\.jsonl)", export)
    records = [json.loads(line) for line in (shell.cwd / written).read_text().splitlines()]  # type: ignore[attr-defined]
    assert records and {"when", "service", "afnemer", "hoedanigheid", "purpose", "outcome", "message_ref",
                        "consulted_by"} <= set(records[0])
    assert f"{len(records)} consultation(s)" in shell(table).stdout
    assert {"Proactief.Burger.Inzage"} <= {r["service"] for r in records}  # the documents made above are logged
    assert "opted out:" in shell(status).stdout


def test_holding_and_releasing_a_scheme_as_the_runbook_says_with_an_empty_user(
        airflow: AirflowStack, dag_id: str, shell: Shell) -> None:
    pause, hold, status, release, unpause = _lines("Pause or unpause a scheme")
    try:
        shell(pause)
        shell(hold)
        assert re.search(rf"{SCHEME}\s+ON HOLD", shell(status).stdout)
        shell(release)
    finally:
        shell(unpause)
    shown = shell(status).stdout
    assert re.search(rf"{SCHEME}\s+running", shown) and " by  " not in shown and "by None" not in shown

"""The README's run command, for real: ``python -m proactief.localstack`` (what ``bin/run`` execs) on a small
synthetic Ghent brings up ``airflow standalone``, runs the sync and every scheme DAG, and says what it did."""

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
    proc = subprocess.run([sys.executable, "-m", "proactief.localstack", "--size", "400", "--seed", "3",
                           "--home", str(home), "--port", str(free_port()), "--exit", "--timeout", "600"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=1500)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    assert re.search(r"population_sync: success", out), out[-4000:]
    for scheme in SCHEMES:
        assert re.search(rf"{scheme} bin-run-\d{{8}}T\d{{6}}: success", out), (scheme, out[-4000:])
    # the scheme whose reference date is the extract's month is exact against the generator's expectations
    assert re.search(r"uitpas-kansentarief\s+\d{4}-\d{2}\s+finished .* granted\s+0 .*\(dry run\)", out)  # the tick
    assert re.search(r"uitpas-kansentarief\s+grants vs the generator's expected entitlements \(\d+\): match", out)
    # the outbox dispatch delivered every grant downstream and sent the notices
    assert re.search(r"outbox_dispatch: success", out), out[-4000:]
    assert re.search(r"grant/uitpas\s+sent \d+\n", out), out[-4000:]
    assert re.search(r"grant/ivago\s+sent \d+\n", out), out[-4000:]
    assert not re.search(r"grant/\S+\s+.*(pending|failed)", out), out[-4000:]
    assert re.search(r"notices sent: .*email \d+", out), out[-4000:]
    downstream = home / "downstream"
    assert list((downstream / "ivago").glob("ivago-vouchers-*.jsonl")) and list((downstream / "e-mail").iterdir())
    assert "Where to look" in out and "Dags → uitpas-kansentarief" in out
    assert (home / "airflow" / "simple_auth_manager_passwords.json.generated").exists()
    # nothing personal on the console: no 11-digit national number
    population = {line.split(",", 1)[0] for line in (home / "population/residents.csv").read_text().splitlines()[1:]}
    assert not set(re.findall(r"(?<!\d)\d{11}(?!\d)", out)) & population

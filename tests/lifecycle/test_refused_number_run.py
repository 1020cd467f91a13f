"""A scheme run over a chunk with one resident whose number MAGDA's KSZ schema refuses completes: that resident
is quarantined (MAGDA_DATA_ERROR, no grant, no letter), everyone else is decided and granted as expected.

Before the fix the GeefDossierHandicap question about that resident was a SOAP Fault that failed
``magda.query_chunk`` for the whole chunk (and again on every retry)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from proactief.advice.compare import read_expected
from proactief.ledger import make_engine, upgrade
from proactief.ledger.models import DecisionRow, GrantRow, MagdaConsultation
from proactief.lifecycle import import_city_data, run_in_process
from proactief.magda.audit import NOT_SENT
from proactief.magda.config import MagdaConfig
from proactief_sim.population import generate
from proactief_sim.simulator.testing import running_simulator
from tests.advice.renumber import rename_everywhere, renumbered

pytestmark = pytest.mark.integration

LEZ = "lez-vrijstelling"


def test_a_chunk_with_one_refused_number_completes(pg_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "ghent"
    generate(1500, 4, out=folder)  # five LEZ-eligible residents
    expected = {i for i, r in read_expected(folder / f"expected/{LEZ}.csv").items() if r["decision"] == "eligible"}
    person = sorted(expected)[0]
    bad = renumbered(person)
    rename_everywhere(folder, person, bad)
    d = dt.date.fromisoformat(json.loads((folder / "expected/reference-dates.json").read_text())[LEZ])
    upgrade(pg_url)
    engine = make_engine(pg_url)
    try:
        import_city_data(engine, folder)
        with running_simulator(population=str(folder / "magda-population.jsonl"), repertorium_check=False,
                               seed=5) as sim:
            magda = MagdaConfig(base_url=sim.base_url, identificatie="gent.be/proactief", backoff_base=0.0,
                                backoff_cap=0.0)
            report = run_in_process(engine, LEZ, d, magda, external_id="refused-number", chunk_size=1000)
        with engine.connect() as conn:
            decided = dict(conn.execute(select(DecisionRow.insz, DecisionRow.reasons)).tuples().all())
            grants = set(conn.execute(select(GrantRow.insz)).scalars())
            audit = conn.execute(select(MagdaConsultation.outcome, MagdaConsultation.code)
                                 .where(MagdaConsultation.subject_insz == bad,
                                        MagdaConsultation.service == "SocZek.GeefDossierHandicap-03.00")).all()
    finally:
        engine.dispose()
    assert report["status"] == "finished" and all(report["dq"].values()), report["dq"]
    assert report["figures"]["data_errors"] >= 1
    assert decided[bad][0] == "MAGDA_DATA_ERROR" and bad not in grants
    assert [tuple(r) for r in audit] == [("data_error", NOT_SENT)]
    assert grants and grants == expected - {person}
    assert bad not in json.dumps(report)

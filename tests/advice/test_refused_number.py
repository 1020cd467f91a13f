"""A resident whose number MAGDA's KSZ schema refuses is undetermined (MAGDA_DATA_ERROR); the others are decided.

A small synthetic Ghent in which one LEZ-eligible resident is given a number with birth month 81-92 (valid check
digits; GeefPersoon's ``INSZType`` takes it, GeefDossierHandicap's KSZ ``SsinType`` does not). Before the fix the
GeefDossierHandicap question about that resident came back as a SOAP Fault that stopped the whole batch.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import pytest

from proactief.advice import Advisor, CityFiles
from proactief.magda.audit import NOT_SENT, MemoryAuditSink, OutcomeClass
from proactief.schemes import Outcome, load_scheme
from proactief_sim.population import generate
from proactief_sim.simulator.testing import running_simulator
from tests.advice.conftest import make_client
from tests.advice.renumber import rename_everywhere, renumbered

pytestmark = pytest.mark.integration

SCHEME = "lez-vrijstelling"
DOSSIER = "SocZek.GeefDossierHandicap-03.00"


def test_one_refused_number_is_that_residents_data_error_and_the_others_are_decided(tmp_path: Path) -> None:
    folder = tmp_path / "ghent"
    generate(400, 3, out=folder)
    with open(folder / f"expected/{SCHEME}.csv", encoding="utf-8", newline="") as fh:
        expected = {r["subject_insz"]: r["decision"] for r in csv.DictReader(fh)}
    person = next(i for i, d in expected.items() if d == "eligible")
    bad = renumbered(person)
    assert int(bad[2:4]) > 80
    rename_everywhere(folder, person, bad)
    expected[bad] = expected.pop(person)
    with open(folder / "magda-population.jsonl", encoding="utf-8") as fh:
        store = {p["insz"]: p for p in map(json.loads, fh)}
    housemates = {m["insz"] for m in store[bad].get("household", ())} - {bad}

    d = dt.date.fromisoformat(json.loads((folder / "expected/reference-dates.json").read_text())[SCHEME])
    city = CityFiles.load(folder)
    scheme = load_scheme(SCHEME)
    audit = MemoryAuditSink()
    with running_simulator(population=str(folder / "magda-population.jsonl"), repertorium_check=False,
                           seed=11) as sim, make_client(sim.base_url, audit) as client:
        advisor = Advisor(client, scheme, city)
        advices = {a.subject: a for a in advisor.advise_many(city.subjects(scheme, d), d)}

    mine = advices[bad]
    assert mine.decision is Outcome.UNDETERMINED and mine.reasons[0] == "MAGDA_DATA_ERROR"
    assert mine.grant is None
    assert advisor.stats.data_errors >= 1
    # the question about the resident was logged, marked as never sent, and the decision refers to it
    dossier = [c for c in audit.consultations if c.subject == bad and c.service == DOSSIER]
    assert [(c.outcome, c.code) for c in dossier] == [(OutcomeClass.DATA_ERROR, NOT_SENT)]
    assert dossier[0].question_ref in mine.consultations
    # everyone else (outside the resident's household) is decided as the generator's independent rules say
    others = {i: a for i, a in advices.items() if i != bad and i not in housemates}
    assert len(others) > 100
    assert all(a.decision is not Outcome.UNDETERMINED for a in others.values())
    wrong = {i for i, a in others.items() if i in expected and a.decision.value != expected[i]}
    assert not wrong
    assert sum(a.decision is Outcome.ELIGIBLE for a in others.values()) >= 1

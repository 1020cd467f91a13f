"""A new scheme that uses existing facts and an existing downstream system is a YAML, its cases and its letter
template, dropped in a folder named by ``PROACTIEF_SCHEME_DIRS``: nothing in the product changes.

The throw-away sixth scheme (``sixth_scheme/``, "sportkorting") is copied to a temporary folder; from there it
loads, its cases pass, its DAG builds, it decides a MAGDA test persona through the real simulator, and its letter
renders with its own template. Its DAG: ``tests/dags/test_sixth_scheme_dag.py``.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from proactief.advice import Advisor
from proactief.magda.audit import MemoryAuditSink
from proactief.notify.model import BenefitLine, Notice
from proactief.notify.render import render
from proactief.schemes import Outcome, load_all, load_scheme, scheme_ids
from proactief.schemes.cases import case_files, load_cases, run_case
from proactief.schemes.loader import SCHEME_DIRS_ENV
from tests.advice.conftest import make_client

SIXTH = "sportkorting"
HERE = Path(__file__).resolve().parent / "sixth_scheme"
PACKAGE_SCHEMES = {"ivago-tegemoetkoming", "lez-vrijstelling", "onderwijskorting", "uitpas-kansentarief"}


def copy_sixth_scheme(tmp_path: Path) -> Path:
    """The throw-away scheme's folder, copied to a temporary folder."""
    folder = tmp_path / "extra-schemes"
    shutil.copytree(HERE, folder)
    return folder


@pytest.fixture
def sixth_scheme(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    folder = copy_sixth_scheme(tmp_path)
    monkeypatch.setenv(SCHEME_DIRS_ENV, str(folder))
    yield folder


def test_the_sixth_scheme_loads_from_the_extra_folder_beside_the_four(sixth_scheme: Path) -> None:
    assert set(scheme_ids()) == PACKAGE_SCHEMES | {SIXTH}
    scheme = load_all()[SIXTH]
    assert scheme.title == "Sportkorting Gent via UiTPAS"
    assert scheme.grant.system == "uitpas"


def test_without_the_setting_only_the_package_schemes_exist(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SCHEME_DIRS_ENV, raising=False)
    assert set(scheme_ids()) == PACKAGE_SCHEMES
    with pytest.raises(FileNotFoundError, match="no scheme definition sportkorting.yaml"):
        load_scheme(SIXTH)


def test_a_named_folder_that_does_not_exist_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SCHEME_DIRS_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match="do not exist"):
        scheme_ids()


def test_a_scheme_id_defined_twice_is_refused(sixth_scheme: Path) -> None:
    shutil.copy(sixth_scheme / f"{SIXTH}.yaml", sixth_scheme / "uitpas-kansentarief.yaml")
    with pytest.raises(ValueError, match="also defined"):
        scheme_ids()


def test_its_yaml_cases_are_found_and_pass(sixth_scheme: Path) -> None:
    files = [p for p in case_files() if p.stem == SIXTH]
    assert files == [sixth_scheme / "cases" / f"{SIXTH}.yaml"]
    cases = load_cases(files[0])
    assert len(cases) == 3
    assert all(run_case(case) == [] for case in cases)


@pytest.mark.integration
def test_it_decides_a_magda_test_persona_through_the_simulator(sixth_scheme: Path) -> None:
    from proactief_sim.simulator.testing import running_simulator

    audit = MemoryAuditSink()
    scheme = load_scheme(SIXTH)
    with running_simulator(seed=5) as sim, make_client(sim.base_url, audit) as client:
        d = scheme.reference_date_for(dt.date(2027, 1, 2))
        advice = Advisor(client, scheme).advise_one("84640438954", d)  # lives in Gent, BIM_BVT (canned)
        refused = Advisor(client, scheme).advise_one("73640618960", d)  # lives in Destelbergen
    assert d == dt.date(2027, 1, 1)
    assert advice.decision is Outcome.ELIGIBLE
    assert advice.reasons == ("RESIDENT_GHENT", "STATUTE_BIM_BVT")
    assert advice.percentages == {"korting": Decimal("50")}
    assert advice.grant is not None and advice.grant.valid_until == dt.date(2027, 12, 31)
    assert refused.decision is Outcome.NOT_ELIGIBLE and "NOT_RESIDENT_GHENT" in refused.reasons
    asked = {c.service for c in audit.consultations}
    assert asked <= {"Persoon.GeefPersoon-02.02", "SocZek.GeefSociaalStatuut-03.00",
                     "Repertorium.RegistreerInschrijving-02.01"}


def test_its_letter_renders_with_its_own_template(sixth_scheme: Path) -> None:
    line = BenefitLine(SIXTH, None, "2027", dt.date(2027, 1, 1), dt.date(2027, 12, 31),
                       percentages={"korting": Decimal("50")}, sources=("Rijksregister – GeefPersoon",))
    notice = Notice(message_id="notify.test.sixth@proactief.gent", channel="email", insz="85673012367",
                    email="bewoner@example.org", address_line="Kerkstraat 12, 9000 Gent",
                    sent_on=dt.date(2027, 1, 4), benefits=(line,))
    rendered = render(notice)
    assert "1. Sportkorting Gent via UiTPAS" in rendered.text
    assert "50% sportkorting op lessen van de stad" in rendered.text
    assert "sport@stad.gent" in rendered.text and "85673012367" not in rendered.text
    assert "31 december 2027" in rendered.text
    assert "sportkorting met uw UiTPAS" in rendered.subject

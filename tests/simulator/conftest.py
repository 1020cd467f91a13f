"""Fixtures: one real simulator server (HTTP + mutual-TLS HTTPS) for most tests, its PKI, a small population
store and an extra canned-answer folder. Tests isolate themselves by using their own afnemer and persons."""

from __future__ import annotations

import shutil
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sim_data import CANNED_FAULT_PERSON, EXTRA_STATUTE_PERSON, population  # noqa: E402
from sim_envelopes import body_child  # noqa: E402

from proactief.magda.reference import testcases_root  # noqa: E402
from proactief_sim.simulator.pki import TestPKI, make_test_pki  # noqa: E402
from proactief_sim.simulator.population import write_jsonl  # noqa: E402
from proactief_sim.simulator.testing import RunningSimulator, running_simulator  # noqa: E402


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPKI:
    return make_test_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def population_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("population") / "population.jsonl"
    write_jsonl(population(), path)
    return path


@pytest.fixture(scope="session")
def extra_testcases(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An extra canned folder: the shipped statutes file of a persona, with one statute renamed."""
    root = tmp_path_factory.mktemp("extra-testcases")
    folder = root / "SocZek" / "GeefSociaalStatuut" / "03.00.0000"
    folder.mkdir(parents=True)
    src = testcases_root() / "SocZek" / "GeefSociaalStatuut" / "03.00.0000" / f"{EXTRA_STATUTE_PERSON}.xml"
    text = src.read_text(encoding="utf-8").replace("<Naam>BIM_BVT</Naam>", "<Naam>EXTRA_FROM_TESTCASES</Naam>")
    (folder / f"{EXTRA_STATUTE_PERSON}.xml").write_text(text, encoding="utf-8")
    persoon = root / "Persoon" / "GeefPersoon" / "02.02.0000"
    persoon.mkdir(parents=True)
    shutil.copy(testcases_root() / "Persoon" / "GeefPersoon" / "02.02.0000" / "notfound.xml",
                persoon / f"{EXTRA_STATUTE_PERSON}.xml")
    shutil.copy(testcases_root() / "generic_fault.xml", persoon / f"{CANNED_FAULT_PERSON}.xml")
    return root


@pytest.fixture(scope="session")
def sim(pki: TestPKI, population_file: Path, extra_testcases: Path) -> Iterator[RunningSimulator]:
    """The shared server: HTTP and mutual-TLS HTTPS, store + extra cases, self-validating its answers."""
    with running_simulator(
        cert_file=pki.server_cert, key_file=pki.server_key, ca_file=pki.ca_cert, require_client_cert=True,
        population=population_file, testcases_dirs=[extra_testcases], validate_responses=True,
    ) as s:
        yield s


@pytest.fixture(scope="session")
def http() -> Iterator[requests.Session]:
    with requests.Session() as s:
        yield s


@pytest.fixture
def afnemer() -> str:
    """A fresh afnemer per test: the repertorium and mutation queues are per afnemer, so tests stay apart."""
    return f"gent.be/t-{uuid.uuid4().hex[:12]}"


class Soap:
    """Post envelopes to a running simulator and return (HTTP status, Body child or None)."""

    def __init__(self, sim: RunningSimulator, session: requests.Session) -> None:
        self.sim, self.session = sim, session

    def post(self, payload: bytes, url: str | None = None, **headers: str):  # type: ignore[no-untyped-def]
        r = self.session.post(url or self.sim.soap_url(), data=payload, timeout=30,
                              headers={"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": '""', **headers})
        return r.status_code, body_child(r.content)

    def register(self, afnemer: str, inszs: list[str]) -> None:
        self.sim.admin("POST", "repertorium", {"afnemer": afnemer, "insz": inszs})


@pytest.fixture
def soap(sim: RunningSimulator, http: requests.Session) -> Soap:
    return Soap(sim, http)

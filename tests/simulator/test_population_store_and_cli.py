"""The population store (JSON-lines format, lazy loading, updates) and the CLI flags."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from sim_data import CHILD, PARENT, PARTNER, STORE_PLATE, population

from proactief_sim.simulator.__main__ import config_from_args
from proactief_sim.simulator.population import (
    InMemoryPopulationStore,
    Period,
    Person,
    PopulationStore,
    SocialStatute,
    person_from_json,
    person_to_json,
    write_jsonl,
)
from proactief_sim.simulator.testing import cli_args


def test_person_survives_the_json_lines_round_trip():
    for p in population():
        assert person_from_json(json.loads(json.dumps(person_to_json(p)))) == p


def test_store_loads_a_json_lines_file_lazily_and_answers_lookups(tmp_path: Path):
    path = tmp_path / "pop.jsonl"
    assert write_jsonl(population(), path) == 3
    store = InMemoryPopulationStore.from_jsonl(path)
    assert isinstance(store, PopulationStore)
    assert len(store) == 3 and PARENT in store and "00000000097" not in store
    assert set(store.inszs()) == {PARENT, PARTNER, CHILD}
    parent = store.get(PARENT)
    assert parent is not None and parent.last_name == "Peeters"
    assert parent.residence_on(date(2020, 1, 1)).address.nis_code == "44021"
    assert [s.name for s in store.statutes(PARENT)] == ["BIM_BVT", "LIVING_WAGES_PCSA_HELP"]
    assert store.statutes(CHILD) == ()
    assert store.statutes("00000000097") is None
    assert store.vehicle(STORE_PLATE).titular_insz == PARENT
    assert store.vehicles_of(PARTNER) == ()
    assert store.get("00000000097") is None


def test_store_accepts_keys_in_any_order_and_skips_blank_lines(tmp_path: Path):
    path = tmp_path / "pop.jsonl"
    path.write_text('\n{"birth_date": "1990-01-01", "statutes": [], "insz": "90610100112"}\n\n', encoding="utf-8")
    store = InMemoryPopulationStore.from_jsonl(path)
    assert store.get("90610100112").birth_date == date(1990, 1, 1)


def test_line_without_insz_is_refused(tmp_path: Path):
    path = tmp_path / "pop.jsonl"
    path.write_text('{"birth_date": "1990-01-01"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="insz"):
        InMemoryPopulationStore.from_jsonl(path)


def test_upsert_replaces_a_file_person(tmp_path: Path):
    path = tmp_path / "pop.jsonl"
    write_jsonl(population(), path)
    store = InMemoryPopulationStore.from_jsonl(path)
    store.get(CHILD)  # cached
    store.upsert(Person(CHILD, date(2010, 7, 7), "Peeters", ("Tim",), statutes=(
        SocialStatute("BIM_BVT", (Period(date(2025, 1, 1)),)),)))
    assert [s.name for s in store.statutes(CHILD)] == ["BIM_BVT"]
    assert len(store) == 3


def test_period_bounds_are_inclusive():
    p = Period(date(2024, 1, 1), date(2024, 12, 31))
    assert p.covers(date(2024, 1, 1)) and p.covers(date(2024, 12, 31)) and not p.covers(date(2025, 1, 1))
    assert Period(date(2024, 1, 1)).covers(date(2099, 1, 1))
    assert p.overlaps(date(2023, 1, 1), date(2024, 1, 1)) and not p.overlaps(date(2025, 1, 1), None)


def test_cli_flags_map_onto_the_config():
    args = cli_args(port=8088, tls_port=8443, cert_file="s.pem", key_file="s.key", ca_file="ca.pem",
                    require_client_cert=True, testcases_dirs=["a", "b"], allowed_afnemers=["gent.be/x"],
                    fault_rates={"99996": 0.1, "timeout": 0.01}, fault_insz={"91610100176": "60006"},
                    latency_ms=5, seed=3, population="p.jsonl", clock=date(2026, 3, 1))
    config = config_from_args(args)
    assert (config.port, config.tls_port, config.require_client_cert) == (8088, 8443, True)
    assert config.testcases_dirs == ("a", "b")
    assert config.allowed_afnemers == frozenset({"gent.be/x"})
    assert config.fault_rates == {"99996": 0.1, "timeout": 0.01}
    assert config.fault_insz == {"91610100176": "60006"}
    assert (config.latency_ms, config.seed, config.population) == (5.0, 3, "p.jsonl")
    assert config.clock == date(2026, 3, 1)
    assert config_from_args([]).clock is None  # no flag: the real date


def test_cli_refuses_a_clock_that_is_not_a_date():
    with pytest.raises(SystemExit):
        config_from_args(["--clock", "1 maart"])


@pytest.mark.parametrize("bad", [["--fault", "12345=0.1"], ["--fault-insz", "123=60006"], ["--fault", "99996=2"]])
def test_cli_refuses_unknown_fault_codes_and_bad_rates(bad):
    with pytest.raises(SystemExit):
        config_from_args(bad)

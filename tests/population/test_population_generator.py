"""The generator: deterministic, valid INSZ, a realistic shape, every hard case, loadable by the simulator."""

from __future__ import annotations

import filecmp
import json
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from population_fixtures import Generated

from proactief.citydata import load_enrolments, load_ocmw, load_residents
from proactief.insz import INSZKind, insz_kind, is_valid_insz
from proactief.magda.services import SERVICES
from proactief.magda.subject import subject_check
from proactief_sim.population import generate
from proactief_sim.population.expected import COLUMNS, SCHEME_IDS
from proactief_sim.simulator.population import InMemoryPopulationStore, person_from_json, person_to_json

AS_OF = date(2026, 11, 1)
GHENT = "44021"
ALL_FILES = ("magda-population.jsonl", "residents.csv", "enrolments.csv", "ocmw.csv", "manifest.json",
             *(f"expected/{s}.csv" for s in SCHEME_IDS), "expected/reference-dates.json")


def _d(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _covers(period: dict[str, Any], day: date) -> bool:
    begin, end = _d(period["begin"]), _d(period.get("end"))
    return begin is not None and begin <= day and (end is None or day <= end)


def _alive(p: dict[str, Any], day: date) -> bool:
    return not p.get("death_date") or _d(p["death_date"]) > day  # type: ignore[operator]


def _resident(p: dict[str, Any], day: date) -> bool:
    covering = [r for r in p.get("residences", []) if _covers(r, day)]
    return _alive(p, day) and bool(covering) and max(covering, key=lambda r: r["begin"])["nis_code"] == GHENT


def _statute_on(p: dict[str, Any], name: str, day: date) -> bool:
    return any(s["name"] == name and any(_covers(q, day) for q in s["periods"]) for s in p.get("statutes", []))


def _age(p: dict[str, Any], day: date) -> int:
    b = _d(p["birth_date"])
    assert b is not None
    return day.year - b.year - ((day.month, day.day) < (b.month, b.day))


# ------------------------------------------------------------------------------------------------ determinism


def test_same_seed_same_bytes_and_workers_do_not_matter(tmp_path: Path) -> None:
    generate(12_000, 7, out=tmp_path / "a", workers=1)
    generate(12_000, 7, out=tmp_path / "b", workers=2)
    for name in ALL_FILES:
        assert filecmp.cmp(tmp_path / "a" / name, tmp_path / "b" / name, shallow=False), name
    assert not (tmp_path / "a" / ".parts").exists()


def test_different_seed_different_population(tmp_path: Path) -> None:
    generate(2_000, 1, out=tmp_path / "a")
    generate(2_000, 2, out=tmp_path / "b")
    a = (tmp_path / "a" / "magda-population.jsonl").read_text(encoding="utf-8")
    b = (tmp_path / "b" / "magda-population.jsonl").read_text(encoding="utf-8")
    assert a != b
    assert len(a.splitlines()) == len(b.splitlines()) == 2_000


def test_exact_size_and_bounds(tmp_path: Path) -> None:
    generate(1, 0, out=tmp_path / "one")
    assert len((tmp_path / "one" / "magda-population.jsonl").read_text(encoding="utf-8").splitlines()) == 1
    with pytest.raises(ValueError):
        generate(0, 0, out=tmp_path / "none")


def test_reference_dates_follow_as_of(tmp_path: Path) -> None:
    summary = generate(500, 0, out=tmp_path, as_of=date(2026, 7, 15))
    dates = json.loads((tmp_path / "expected" / "reference-dates.json").read_text(encoding="utf-8"))
    assert dates == {"as_of": "2026-07-15", "uitpas-kansentarief": "2026-07-01",
                     "ivago-tegemoetkoming": "2026-01-01", "onderwijskorting": "2025-09-01",
                     "lez-vrijstelling": "2026-07-15", "school_year": "2025-2026"}
    assert summary.dates.school_year == "2025-2026"
    years = {e.school_year for e in load_enrolments(tmp_path / "enrolments.csv")}
    assert years <= {"2025-2026", "2024-2025"}


def test_default_reference_dates(generated: Generated) -> None:
    assert generated.dates == {"as_of": "2026-11-01", "uitpas-kansentarief": "2026-11-01",
                               "ivago-tegemoetkoming": "2026-01-01", "onderwijskorting": "2026-09-01",
                               "lez-vrijstelling": "2026-11-01", "school_year": "2026-2027"}


# ------------------------------------------------------------------------------------------------------ INSZ


def _bis(p: dict[str, Any]) -> bool:
    """Known only in the KSZ bis register: a contact address, never a main residence (the number says nothing)."""
    return not p.get("residences") and p.get("contact_address") is not None


def test_every_insz_is_a_valid_unique_test_number(generated: Generated) -> None:
    lines = (generated.out / "magda-population.jsonl").read_text(encoding="utf-8").splitlines()
    inszs = [json.loads(line)["insz"] for line in lines]
    assert len(inszs) == 20_000 == len(set(inszs))
    for insz, p in generated.persons.items():
        assert is_valid_insz(insz)
        assert insz_kind(insz) is INSZKind.TEST  # bis-register persons too: MAGDA refuses a "test bis" month
        born = date.fromisoformat(p["birth_date"])
        assert insz[:2] == f"{born.year % 100:02d}" and insz[4:6] == f"{born.day:02d}"
        assert int(insz[2:4]) == born.month + 60
        assert int(insz[6:9]) % 2 == (1 if p["gender"] == "M" else 0)
    assert sum(map(_bis, generated.persons.values())) == generated.manifest["hard_cases"]["bis_contact_only"] > 0


def test_every_insz_is_accepted_by_every_service_the_project_calls(generated: Generated) -> None:
    """Each service's subject element type, read from its official request XSD (KSZ ``SsinType`` for
    GeefDossierHandicap, ``INSZType`` elsewhere), accepts every generated number: none is refused by MAGDA."""
    checks = {key: subject_check(spec) for key, spec in SERVICES.items() if spec.subject_tag}
    assert checks["SocZek.GeefDossierHandicap-03.00"] is not None
    assert checks["SocZek.GeefDossierHandicap-03.00"].types == (("http://kszbcss.fgov.be/types/common/v3",
                                                                  "SsinType"),)
    refused = {key: sum(not c.accepts(i) for i in generated.persons) for key, c in checks.items() if c is not None}
    assert refused and not any(refused.values()), refused
    # every INSZ mentioned anywhere is a person of the store
    for p in generated.persons.values():
        assert all(m["insz"] in generated.persons for m in p.get("household", []))
        assert all(v["titular_insz"] == p["insz"] for v in p.get("vehicles", []))


def test_plates_articles_and_household_ids_are_unique(generated: Generated) -> None:
    plates = [v["plate"] for p in generated.persons.values() for v in p.get("vehicles", [])]
    assert len(plates) == len(set(plates)) > 0
    assert all(len(x) == 7 and x[0] in "12" and x[1:4].isalpha() and x[4:].isdigit() for x in plates)
    titulars: dict[tuple[int, str], set[str]] = {}
    for p in generated.persons.values():
        for t in p.get("tax", []):
            titulars.setdefault((t["income_year"], t["article_number"]), set()).add(t["fiscal_status"])
    assert all(s in ({"A"}, {"A", "B"}) for s in titulars.values())


# ----------------------------------------------------------------------------------------------------- shape


def test_household_sizes_look_like_ghent(generated: Generated) -> None:
    rows = generated.csv("residents.csv")
    sizes = Counter(Counter(r["household_id"] for r in rows if r["household_id"]).values())
    households = sum(sizes.values())
    assert 0.40 <= sizes[1] / households <= 0.50
    assert 1.8 <= sum(k * v for k, v in sizes.items()) / households <= 2.3
    assert 0.02 <= sum(v for k, v in sizes.items() if k >= 5) / households <= 0.10
    assert max(sizes) >= 7  # some large families


def test_age_pyramid(generated: Generated) -> None:
    ages = [_age(p, AS_OF) for p in generated.persons.values() if _alive(p, AS_OF)]
    assert 0.15 <= sum(a < 18 for a in ages) / len(ages) <= 0.25
    assert 0.10 <= sum(a >= 65 for a in ages) / len(ages) <= 0.22
    assert 0.12 <= sum(20 <= a < 30 for a in ages) / len(ages) <= 0.24  # a student city
    assert max(ages) >= 95


def test_poverty_leefloon_vt_cards_vehicles(generated: Generated) -> None:
    n = len(generated.persons)
    assert 0.12 <= generated.manifest["counts"]["below_poverty_line_persons"] / n <= 0.17  # about 1 in 7
    people = list(generated.persons.values())
    leefloon = sum(_statute_on(p, "LIVING_WAGES_PCSA_HELP", AS_OF) for p in people)
    assert 0.022 <= leefloon / n <= 0.038  # ~8,000 at 270,000
    residents = [p for p in people if _resident(p, AS_OF)]
    vt = sum(_statute_on(p, "BIM_BVT", AS_OF) or _statute_on(p, "BIM_BVT_IN_FAMILY", AS_OF) for p in residents)
    assert 0.16 <= vt / len(residents) <= 0.24  # ~20% of Ghent
    assert 0 < sum(_statute_on(p, "PCSA_AND_BIM_HELP", AS_OF) for p in people) / n < 0.01
    parking = sum(any(c["category"] == "PARKINGCARD" for c in p.get("social_cards", [])) for p in people)
    assert 0.014 <= parking / n <= 0.026
    assert any(c["category"] == "REDUCTIONCARD" for p in people for c in p.get("social_cards", []))
    adults = [p for p in people if _age(p, AS_OF) >= 18 and _alive(p, AS_OF)]
    vehicles = sum(len(p.get("vehicles", [])) for p in adults)
    assert 0.38 <= vehicles / len(adults) <= 0.52
    statuses = Counter(v["status"] for p in people for v in p.get("vehicles", []))
    assert statuses["REG"] / sum(statuses.values()) > 0.95 and statuses["CAN"] and statuses["SUS"]


def test_leefloon_holders_have_payments_and_vt(generated: Generated) -> None:
    for p in generated.persons.values():
        if _statute_on(p, "LIVING_WAGES_PCSA_HELP", AS_OF):
            assert p.get("leefloon"), "a leefloon statute without payments"
            assert _statute_on(p, "BIM_BVT", AS_OF) or _statute_on(p, "BIM_BVT_IN_FAMILY", AS_OF)


# ------------------------------------------------------------------------------------------------ hard cases


def test_every_hard_case_is_present(generated: Generated) -> None:
    hard = generated.manifest["hard_cases"]
    expected = {
        "bis_contact_only", "non_resident_90xx", "moved_into_ghent", "moved_out_of_ghent", "moved_out_to_90xx",
        "moved_within_ghent", "died_in_period", "reference_person_died", "household_split", "household_join",
        "statute_starts_in_period", "statute_ends_in_period", "statute_with_gap", "vt_holder_not_reference_person",
        "vt_in_family_without_holder", "reference_person_in_family_without_holder",
        "statute_starts_after_household_change", "parking_card_expires_in_period", "parking_card_ends_on_lez_date",
        "parking_card_ended_day_before_lez_date", "parking_card_without_end", "parking_card_expired",
        "reduction_card_only", "vehicle_not_registered", "lez_household_vehicle", "lez_no_vehicle",
        "tax_latest_year_missing", "adult_without_assessment", "joint_assessment", "ocmw_ends_in_period",
        "ocmw_ended_before_period", "ocmw_without_statute", "enrolled_non_resident", "enrolled_bis_child",
        "enrolled_previous_year_only", "stale_extract_deceased", "stale_extract_moved_out", "born_in_period",
    }
    missing = sorted(k for k in expected if hard.get(k, 0) < 1)
    assert not missing, f"hard cases missing at 20,000: {missing}"


def test_hard_cases_are_really_in_the_data(generated: Generated) -> None:
    people = generated.persons
    ivago_d, lez_d = date(2026, 1, 1), AS_OF
    window_start = ivago_d - timedelta(days=183)
    # bis register: no main residence, a contact address in Ghent
    bis = [p for p in people.values() if _bis(p)]
    assert bis and all(p["contact_address"]["nis_code"] == GHENT and not p.get("household") for p in bis)
    # 90xx/98xx postcodes outside Ghent
    lookalikes = {r["postcode"]: r["nis_code"] for p in people.values() for r in p.get("residences", [])
                  if r["postcode"] in ("9070", "9090", "9820")}
    assert lookalikes == {"9070": "44013", "9090": "44088", "9820": "44088"}
    # moved into / out of Ghent during the period
    moved_in = moved_out = 0
    for p in people.values():
        if _resident(p, lez_d) and not _resident(p, ivago_d) and _alive(p, ivago_d) and p.get("residences") and \
                _d(p["birth_date"]) < ivago_d:  # type: ignore[operator]
            moved_in += 1
        if _resident(p, ivago_d) and not _resident(p, lez_d) and _alive(p, lez_d):
            moved_out += 1
    assert moved_in > 10 and moved_out > 10
    # died during the period, some of them still in the city's extract
    died = [i for i, p in people.items() if p.get("death_date") and _d(p["death_date"]) >= window_start]
    assert len(died) > 10
    extract = {r["insz"]: r for r in generated.csv("residents.csv")}
    assert any(i in extract for i in died)
    assert any(not _resident(people[i], AS_OF) and r["address_kind"] == "main" for i, r in extract.items())
    # households that split: two living persons stopped sharing a household
    split = [p for p in people.values() for m in p.get("household", [])
             if m.get("end") and m["insz"] != p["insz"] and _alive(people[m["insz"]], AS_OF) and _alive(p, AS_OF)
             and _d(m["end"]) >= window_start]
    assert split
    # statutes ending and starting between the reference dates
    periods = [q for p in people.values() for s in p.get("statutes", []) for q in s["periods"]]
    assert any(q["end"] and ivago_d <= _d(q["end"]) < lez_d for q in periods)  # type: ignore[operator]
    assert any(ivago_d < _d(q["begin"]) <= lez_d for q in periods)  # type: ignore[operator]
    # parking cards expiring in the period, and one ending exactly on the LEZ date
    ends = [_d(c["end_date"]) for p in people.values() for c in p.get("social_cards", [])
            if c["category"] == "PARKINGCARD"]
    assert any(e and ivago_d <= e < lez_d for e in ends) and lez_d in ends and None in ends
    # the latest income year missing for someone who has the year before
    assert any({t["income_year"] for t in p.get("tax", [])} == {2024} for p in people.values())
    # joint assessments on both partners' lines
    assert any(t["fiscal_status"] == "B" for p in people.values() for t in p.get("tax", []))
    # city data with periods that ended
    ocmw = load_ocmw(generated.out / "ocmw.csv")
    assert any(r.end and r.end < AS_OF for r in ocmw) and any(r.end is None for r in ocmw)
    assert {r.kind for r in ocmw} == {"budgetbeheer", "schuldbemiddeling"}
    # enrolments of children who do not live in Ghent, and of bis children
    enrolled = {e.insz for e in load_enrolments(generated.out / "enrolments.csv") if e.school_year == "2026-2027"}
    assert any(not _resident(people[i], date(2026, 9, 1)) and people[i].get("residences") for i in enrolled)
    assert any(_bis(people[i]) for i in enrolled)


# ----------------------------------------------------------------------------------------- files and readers


def test_store_lines_load_in_the_simulator(generated: Generated) -> None:
    store = InMemoryPopulationStore.from_jsonl(generated.out / "magda-population.jsonl")
    assert len(store) == 20_000
    for insz, raw in list(generated.persons.items())[::97]:
        person = store.get(insz)
        assert person is not None and person == person_from_json(raw)
        assert person_from_json(person_to_json(person)) == person
    with_end = next(p for p in generated.persons.values() if any("end" in m for m in p.get("household", [])))
    member = next(m for m in person_from_json(with_end).household if m.end is not None)
    assert member.end is not None
    plate_owner = next(p for p in generated.persons.values() if p.get("vehicles"))
    vehicle = store.vehicle(plate_owner["vehicles"][0]["plate"])
    assert vehicle is not None and vehicle.titular_insz == plate_owner["insz"]


def test_city_files_load_with_the_readers(generated: Generated) -> None:
    for name, loader in (("residents.csv", load_residents), ("enrolments.csv", load_enrolments),
                         ("ocmw.csv", load_ocmw)):
        rows = loader(generated.out / name)
        lines = (generated.out / name).read_text(encoding="utf-8").count("\n") - 1
        assert len(rows) == lines == generated.manifest["counts"][name], name
    residents = load_residents(generated.out / "residents.csv")
    assert all(r.insz in generated.persons for r in residents)
    kinds = Counter(r.address_kind for r in residents)
    assert kinds["main"] > 15_000 and kinds["contact"] > 0
    emails = [r.email for r in residents if r.email]
    assert 0.2 < len(emails) / len(residents) < 0.5 and len(set(emails)) == len(emails)
    assert all(e.endswith("@example.org") for e in emails)


def test_expected_files_have_their_columns_and_subjects(generated: Generated) -> None:
    extract = {r["insz"]: r for r in generated.csv("residents.csv")}
    for scheme in SCHEME_IDS:
        with open(generated.out / "expected" / f"{scheme}.csv", encoding="utf-8") as fh:
            assert fh.readline().rstrip("\n").split(",") == list(COLUMNS[scheme])
        rows = generated.csv(f"expected/{scheme}.csv")
        decisions = Counter(r["decision"] for r in rows)
        assert set(decisions) == {"eligible", "not_eligible"}, scheme
        assert generated.manifest["expected"][scheme]["rows"] == len(rows)
        subjects = [r["subject_insz"] for r in rows]
        assert len(subjects) == len(set(subjects)), f"{scheme}: a subject twice"
    uitpas = generated.csv("expected/uitpas-kansentarief.csv")
    assert {r["subject_insz"] for r in uitpas} == set(extract)
    ivago = generated.csv("expected/ivago-tegemoetkoming.csv")
    assert {r["subject_insz"] for r in ivago} == {i for i, r in extract.items() if r["reference_person"] == "true"}
    assert {r["amount"] for r in ivago if r["decision"] == "eligible"} == {"42.00", "63.00", "84.00", "105.00",
                                                                            "126.00"}
    assert any(r["subject_insz"] != r["reference_person_insz"] for r in ivago)
    onderwijs = generated.csv("expected/onderwijskorting.csv")
    assert {r["tier"] for r in onderwijs} == {"", "leefloon", "inkomen-laag", "inkomen-midden"}
    lez = generated.csv("expected/lez-vrijstelling.csv")
    assert any("NO_ELIGIBLE_VEHICLE" in r["reasons"] for r in lez)
    assert any("HOUSEHOLD_VEHICLE" in r["reasons"] and r["decision"] == "eligible" for r in lez)


def test_expected_agrees_with_the_rendered_store(generated: Generated) -> None:
    """The store says the same as the latent facts the expectations came from (a cheap re-derivation)."""
    people = generated.persons
    d = date.fromisoformat(generated.dates["uitpas-kansentarief"])
    for r in generated.csv("expected/uitpas-kansentarief.csv"):
        assert ("RESIDENT_GHENT" in r["reasons"].split(";")) == _resident(people[r["subject_insz"]], d)
    d = date.fromisoformat(generated.dates["ivago-tegemoetkoming"])
    for r in generated.csv("expected/ivago-tegemoetkoming.csv"):
        ref = people[r["reference_person_insz"]]
        members = {m["insz"] for m in ref.get("household", []) if _covers(m, d) and _alive(people[m["insz"]], d)}
        assert int(r["household_size"]) == len(members | {ref["insz"]})
    d = date.fromisoformat(generated.dates["lez-vrijstelling"])
    for r in generated.csv("expected/lez-vrijstelling.csv"):
        if r["decision"] != "eligible":
            assert r["plate"] == ""
            continue
        q = people[r["subject_insz"]]
        own = sorted(v["plate"] for v in q.get("vehicles", []) if v["status"] == "REG")
        household = sorted(v["plate"] for m in q.get("household", []) if _covers(m, d) and m["insz"] != q["insz"]
                           for v in people[m["insz"]].get("vehicles", []) if v["status"] == "REG")
        assert r["plate"] == (own[0] if own else household[0])


def test_extract_is_the_register_plus_its_lag(generated: Generated) -> None:
    people = generated.persons
    rows = generated.csv("residents.csv")
    listed = {r["insz"] for r in rows}
    assert {i for i, p in people.items() if _resident(p, AS_OF)} <= listed
    live = [r for r in rows if _resident(people[r["insz"]], AS_OF)]
    stale = [r for r in rows if r["address_kind"] == "main" and not _resident(people[r["insz"]], AS_OF)]
    assert stale and all(r["nis_code"] == GHENT for r in stale)
    for r in stale:  # died or left within the extract's 30-day lag
        p = people[r["insz"]]
        gone = _d(p.get("death_date")) or max(_d(x["end"]) for x in p["residences"] if x["end"])  # type: ignore[type-var]
        assert AS_OF - timedelta(days=31) <= gone <= AS_OF  # type: ignore[operator]
    references = Counter(r["household_id"] for r in live if r["reference_person"] == "true")
    households = {r["household_id"] for r in live if r["household_id"]}
    assert set(references) == households and set(references.values()) == {1}


def test_module_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from proactief_sim.population.__main__ import main

    assert main(["--size", "300", "--seed", "4", "--out", str(tmp_path), "--as-of", "2026-03-15"]) == 0
    assert "population of 300 persons (seed 4, as of 2026-03-15)" in capsys.readouterr().out
    assert main(["--size", "0", "--out", str(tmp_path)]) == 2


def test_generating_in_a_process_whose_forks_would_hang_still_finishes(tmp_path: Path) -> None:
    """The block workers are not forked from the caller: a caller's after-fork hooks (a Celery app's kombu
    pool, a thread holding a lock) never run in them. Here such a hook would hang every forked child."""
    import subprocess
    import sys

    script = (
        "import os, sys, time\n"
        "os.register_at_fork(after_in_child=lambda: time.sleep(3600))\n"
        "from proactief_sim.population import generate\n"
        "s = generate(12_000, 3, out=sys.argv[1], workers=2)\n"
        "print('persons', s.size)\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "g")], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "persons 12000" in done.stdout

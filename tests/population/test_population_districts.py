"""The synthetic Ghent's wijken: every resident in one of the 25, shares as declared, the poor where the poor live,
and drawn without disturbing anything else the generator writes."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from proactief.citydata import GHENT_DISTRICTS, load_residents
from proactief_sim.population import generate
from proactief_sim.population.districts import district_of, districts, expected_shares

SIZE = 3000


def _residents(out: Path) -> list[dict[str, str]]:
    with open(out / "residents.csv", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wijken") / "g3k"
    generate(SIZE, 0, out=out, workers=1)
    return out


def test_the_districts_file_lists_the_product_s_25_wijken_with_shares_summing_to_100() -> None:
    names = [d.name for d in districts()]
    assert sorted(names) == sorted(GHENT_DISTRICTS) and len(set(names)) == 25
    assert sum(d.share for d in districts()) == pytest.approx(100.0)
    shares = expected_shares()
    assert sum(shares.values()) == pytest.approx(1.0)
    for d in districts():  # the postcode weights rescale the declared shares by less than two percentage points
        assert abs(shares[d.name] - d.share / 100) < 0.02, d.name


def test_every_resident_lives_in_one_of_the_25_wijken(city: Path) -> None:
    rows = _residents(city)
    assert rows and all(r["wijk"] in GHENT_DISTRICTS for r in rows)
    assert len({r["wijk"] for r in rows}) == 25
    assert all(r.district in GHENT_DISTRICTS for r in load_residents(city / "residents.csv"))
    by_household: dict[str, set[str]] = {}
    for r in rows:
        if r["household_id"]:
            by_household.setdefault(r["household_id"], set()).add(r["wijk"])
    assert all(len(w) == 1 for w in by_household.values()), "a household's members live in one wijk"


def test_wijk_shares_are_roughly_as_declared(city: Path) -> None:
    rows = _residents(city)
    counts = Counter(r["wijk"] for r in rows)
    for name, share in expected_shares().items():
        assert abs(counts[name] / len(rows) - share) < 0.03, (name, counts[name] / len(rows), share)
    assert counts["Sint-Amandsberg"] > counts["Zuid"] * 4


def test_poorer_wijken_have_a_higher_share_of_uitpas_eligible_residents(city: Path) -> None:
    wijk = {r["insz"]: r["wijk"] for r in _residents(city)}
    with open(city / "expected" / "uitpas-kansentarief.csv", encoding="utf-8", newline="") as fh:
        eligible = {r["subject_insz"] for r in csv.DictReader(fh) if r["decision"] == "eligible"}
    poverty = {d.name: d.poverty for d in districts()}
    poorest = [w for w, p in poverty.items() if p >= 1.8]
    richest = [w for w, p in poverty.items() if p <= 0.3]

    def share(group: list[str]) -> float:
        people = [i for i, w in wijk.items() if w in group]
        return sum(1 for i in people if i in eligible) / len(people)

    assert len(poorest) == 6 and len(richest) == 3
    assert share(poorest) > 1.5 * share(richest), (share(poorest), share(richest))


def test_the_same_seed_gives_the_same_wijken_another_seed_others(city: Path, tmp_path: Path) -> None:
    generate(SIZE, 0, out=tmp_path / "again", workers=1)
    assert (tmp_path / "again" / "residents.csv").read_bytes() == (city / "residents.csv").read_bytes()
    draws = [district_of(seed, f"H{n:09d}", "9000", n % 2 == 0) for seed in (0, 1) for n in range(200)]
    assert draws[:200] == [district_of(0, f"H{n:09d}", "9000", n % 2 == 0) for n in range(200)]
    assert draws[:200] != draws[200:]
    assert district_of(5, "H1", "9031", True) == "Drongen"  # a postcode with one wijk has no choice


def test_drawing_the_wijk_changes_nothing_else_the_generator_writes(city: Path, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The wijk comes from its own stream: with every wijk forced to one value, every other byte is the same."""
    from proactief_sim.population import generator

    monkeypatch.setattr(generator, "district_of", lambda *_args: "Zuid")
    generate(SIZE, 0, out=tmp_path / "flat", workers=1)
    names = ["magda-population.jsonl", "ocmw.csv", "enrolments.csv", "manifest.json",
             *(f"expected/{p.name}" for p in (city / "expected").iterdir())]
    for name in names:
        assert (tmp_path / "flat" / name).read_bytes() == (city / name).read_bytes(), name
    flat, real = _residents(tmp_path / "flat"), _residents(city)
    assert {r["wijk"] for r in flat} == {"Zuid"}
    assert [{k: v for k, v in r.items() if k != "wijk"} for r in flat] == [
        {k: v for k, v in r.items() if k != "wijk"} for r in real]

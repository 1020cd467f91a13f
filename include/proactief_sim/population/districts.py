"""Ghent's 25 wijken for the synthetic population: which wijk a household of the extract lives in.

The figures (share of residents, relative poverty, postcode) are assumptions kept in ``districts.csv`` next to
this module. The wijk is drawn *after* everything else, from its own random stream per (seed, household), so the
rest of the synthetic city stays byte for byte what it was:

- only wijken of the address's postcode are candidates (the postcode itself is left as the generator drew it);
- within the postcode a wijk is picked in proportion to its share of residents, tilted by the household's
  poverty: a household with a social statute (verhoogde tegemoetkoming, leefloon …) is ``poverty`` times as
  likely to live there as an average one, the other households correspondingly less, so the shares stay as
  declared while the poorer wijken get more of the poor households.

A wijk's share in the synthetic city is its declared share rescaled to its postcode's weight in
:data:`proactief_sim.population.places.GHENT_POSTCODES` (:func:`expected_shares`; within two percentage points).
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from proactief_sim.population import places

__all__ = ["DISTRICTS_FILE", "POOR_HOUSEHOLD_SHARE", "District", "district_of", "districts", "expected_shares"]

DISTRICTS_FILE = Path(__file__).with_name("districts.csv")
POOR_HOUSEHOLD_SHARE = 0.2
"""About the share of the generator's households with a social statute: the tilt that keeps the shares."""


@dataclass(frozen=True, slots=True)
class District:
    name: str
    postcode: str
    share: float
    """Per cent of Ghent's residents (assumption)."""
    poverty: float
    """Relative poverty, city average 1.0 (assumption)."""


@cache
def districts() -> tuple[District, ...]:
    """The 25 wijken of ``districts.csv``, in its order."""
    with open(DISTRICTS_FILE, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(line for line in fh if not line.startswith("#")))
    return tuple(District(r["wijk"], r["postcode"], float(r["share"]), float(r["poverty"])) for r in rows)


@cache
def _candidates(postcode: str) -> tuple[tuple[str, ...], tuple[float, ...], tuple[float, ...]]:
    """Names, weights for a poor household and for another one, of the wijken of ``postcode``."""
    inside = [d for d in districts() if d.postcode == postcode]
    if not inside:
        raise ValueError(f"no wijk for Ghent postcode {postcode}")
    pi = POOR_HOUSEHOLD_SHARE
    return (tuple(d.name for d in inside), tuple(d.share * d.poverty for d in inside),
            tuple(d.share * max(0.05, 1 - pi * d.poverty) / (1 - pi) for d in inside))


def district_of(seed: int, household: str, postcode: str, poor: bool) -> str:
    """The wijk of a household (or of a person with only a contact address) at a Ghent ``postcode``: the same
    (seed, household, postcode, poor) always gives the same wijk, whatever else was drawn."""
    names, poor_weights, other_weights = _candidates(postcode)
    if len(names) == 1:
        return names[0]
    rng = random.Random(f"proactief-wijk:{seed}:{household}:{postcode}")
    return rng.choices(names, poor_weights if poor else other_weights)[0]


def expected_shares() -> dict[str, float]:
    """Per wijk the share (0–1) of residents the generator aims at: declared shares rescaled per postcode."""
    weights = {pc: w for pc, (_label, w) in places.GHENT_POSTCODES.items()}
    total = sum(weights.values())
    by_postcode: dict[str, float] = {}
    for d in districts():
        by_postcode[d.postcode] = by_postcode.get(d.postcode, 0.0) + d.share
    return {d.name: weights[d.postcode] / total * d.share / by_postcode[d.postcode] for d in districts()}

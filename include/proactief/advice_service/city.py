"""The city's facts as a caller submitted them, as the engine's :class:`~proactief.advice.city.CityData`.

Why: the service holds no city data of its own (the city does, in its ledger and files); the caller sends what the
scheme needs about each subject. A fact the caller says was not delivered is ``Answer.TRANSIENT`` (undetermined),
exactly as a missing city file is in a run. :func:`facts_from_city` is the other direction: what the CLI and the
runs send for a person, read from the city's own data.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

from proactief.advice.city import OCMW_KINDS, CityData
from proactief.advice_service.models import CityFacts, OcmwPeriodIn
from proactief.schemes.model import Scheme
from proactief.schemes.observations import Answer, Span

__all__ = ["SubmittedCity", "facts_from_city"]


class SubmittedCity:
    """City data for one request or one chunk of a batch: ``(subject, facts)`` pairs."""

    def __init__(self, subjects: Iterable[tuple[str, CityFacts]]) -> None:
        periods: dict[tuple[str, str], list[Span]] = defaultdict(list)
        self._undelivered: set[str] = set()
        self._enrolled: dict[str, bool | None] = {}
        self._household: dict[str, tuple[str, ...]] = {}
        for subject, facts in subjects:
            for p in facts.ocmw:
                periods[(p.insz or subject, p.kind)].append(Span(p.begin, p.end))
            if not facts.ocmw_delivered:
                self._undelivered.add(subject)
                self._undelivered.update(facts.household or ())
            self._enrolled[subject] = facts.enrolled
            self._household[subject] = tuple(facts.household or ())
        self._periods = {k: tuple(dict.fromkeys(v)) for k, v in periods.items()}

    def ocmw_periods(self, insz: str, kind: str) -> tuple[Span, ...] | Answer:
        if insz in self._undelivered:
            return Answer.TRANSIENT
        return self._periods.get((insz, kind), ())

    def enrolled(self, insz: str, reference_date: dt.date) -> bool | Answer:
        value = self._enrolled.get(insz, False)
        return Answer.TRANSIENT if value is None else value

    def household_of(self, insz: str) -> tuple[str, ...]:
        return self._household.get(insz, ())

    def subjects(self, scheme: Scheme, reference_date: dt.date) -> list[str]:
        return list(self._household)


def facts_from_city(city: CityData, scheme: Scheme, insz: str, d: dt.date) -> CityFacts:
    """What the city knows about ``insz`` (and its household in the extract) that ``scheme`` may use on D."""
    household = list(city.household_of(insz))
    kinds = [k for k in scheme.city_data if k in OCMW_KINDS]
    ocmw: list[OcmwPeriodIn] = []
    delivered = True
    for who in (insz, *household):
        for kind in kinds:
            periods = city.ocmw_periods(who, kind)
            if isinstance(periods, Answer):
                delivered = False
                continue
            ocmw.extend(OcmwPeriodIn(kind=kind, begin=p.start or dt.date.min, end=p.end,
                                     insz=None if who == insz else who) for p in periods)
    enrolled: bool | None = False
    if "enrolled_city_school_or_care" in scheme.city_data:
        value = city.enrolled(insz, d)
        enrolled = None if isinstance(value, Answer) else bool(value)
    return CityFacts(ocmw=ocmw, ocmw_delivered=delivered, enrolled=enrolled, household=household)

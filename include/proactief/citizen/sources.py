"""Plain-Dutch names for what the citizen's access document lists: MAGDA services, purposes, city files.

A MAGDA service is named by the authentic source and what it gives (``Persoon.GeefPersoon-02.02`` →
"Rijksregister – persoonsgegevens"), keyed by the service name without its version so a new version keeps its
words; what the city used the answer *for* comes from the fact declarations (:mod:`proactief.schemes.factdefs`:
every fact names the services it is read from and has a Dutch label). A consultation's purpose is the scheme id the
question was asked for (or a lifecycle job: the opt-out intake, the repertorium sync); the scheme's title, legal
basis (``legal_basis`` in its YAML) and owning department come from the scheme definition.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType

from proactief.ledger.audit import LOOKUP_SERVICE
from proactief.magda.services import SERVICES
from proactief.schemes import load_all
from proactief.schemes.evaluator import needed_facts
from proactief.schemes.factdefs import FACT_SPECS
from proactief.schemes.factdefs.base import CITY_SOURCE_KIND

__all__ = ["API_SERVICE", "CITY_SOURCES", "EXPORT_SERVICE", "Purpose", "city_sources", "purpose_of", "service_name",
           "source_words", "used_for"]

EXPORT_SERVICE = "Proactief.Burger.Inzage"
"""The consultation-log ``service`` of a citizen's access document made by a member of staff (CLI or dashboard)."""
API_SERVICE = "Proactief.API.Status"
"""The consultation-log ``service`` of a status read through the JSON API (``proactief.api``: the CRM, Mijn Gent)."""
STAFF_SERVICES = (LOOKUP_SERVICE, EXPORT_SERVICE, API_SERVICE)
"""Rows of the consultation log that are not MAGDA questions but a member of staff looking at the person."""

_BY_NAME: Mapping[str, str] = MappingProxyType({
    "GeefPersoon": "Rijksregister – persoonsgegevens (adres, gezin)",
    "GeefGezinssamenstelling": "Rijksregister – gezinssamenstelling",
    "GeefHistoriekPersoon": "Rijksregister – vroegere adressen",
    "GeefHistoriekGezinssamenstelling": "Rijksregister – vroegere gezinssamenstelling",
    "GeefPersoonMutatiesNotificaties": "Rijksregister – meldingen van wijzigingen",
    "GeefSociaalStatuut": "Kruispuntbank van de Sociale Zekerheid – sociaal statuut",
    "GeefSociaalStatuutVoorLijst": "Kruispuntbank van de Sociale Zekerheid – sociaal statuut",
    "GeefDossierHandicap": "FOD Sociale Zekerheid, DG Personen met een handicap – dossier handicap",
    "GeefLeefloonbedragen": "POD Maatschappelijke Integratie – leefloon",
    "GeefAanslagbiljetPersonenbelasting": "FOD Financiën – aanslagbiljet personenbelasting",
    "RegistreerInschrijving": "MAGDA-repertorium – inschrijving (zodat wijzigingen aan ons gemeld worden)",
    "RegistreerUitschrijving": "MAGDA-repertorium – uitschrijving (geen meldingen meer)",
    "RegistreerLEZGegevens": "Register lage-emissiezone – vrijstelling registreren",
    "GeefLEZGegevens": "Register lage-emissiezone – vrijstelling opvragen",
    "VerwijderLEZGegevens": "Register lage-emissiezone – vrijstelling verwijderen",
    "Inschrijvingen": "Dienst Inschrijvingen Voertuigen – ingeschreven voertuigen",
    "Registrations": "Dienst Inschrijvingen Voertuigen – ingeschreven voertuigen",
})
"""By ``ServiceSpec.name`` (the key without domain and version); the mobility REST keys by their middle part."""

_JOBS: Mapping[str, str] = MappingProxyType({
    "opt-out": "Uw bezwaar uitvoeren: MAGDA meldt ons niets meer over u",
    "callcenter": "Vraag aan het callcenter van de stad",
})
_JOB_GROUNDS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "opt-out": ("Algemene verordening gegevensbescherming (AVG), artikel 21: recht van bezwaar",),
})
_GENERAL = ("Opvolgen wie in Gent woont, zodat de stad voordelen zonder aanvraag kan toekennen "
            "(inschrijving in het MAGDA-repertorium)")
_NO_GROUND = "geen rechtsgrond vastgelegd bij deze raadpleging (vraag het na bij de functionaris voor " \
             "gegevensbescherming)"


def _name_of(key: str) -> str:
    spec = SERVICES.get(key)
    if spec is not None:
        return spec.name
    rest = key.split(".", 1)[-1]
    return rest.split("-", 1)[0]


def service_name(key: str) -> str:
    """The source of a consultation in plain words; the fact declarations' source, else the key itself."""
    words = _BY_NAME.get(_name_of(key))
    if words is not None:
        return words
    for spec in FACT_SPECS.values():
        if key in spec.services or key in spec.history_services:
            return spec.source
    return key


def source_words(source: str) -> str:
    """A trace's source (a fact declaration's ``source``: "KSZ – GeefSociaalStatuut") in the same words as the
    consultations (the service it names); a source naming no known service (the city's files) stays as it is."""
    tokens = set(source.replace("(", " ").replace(")", " ").split())
    for name in sorted(_BY_NAME, key=len, reverse=True):
        if name in tokens:
            return _BY_NAME[name]
    return source


@cache
def _facts_by_scheme() -> Mapping[str, tuple[str, ...]]:
    return MappingProxyType({sid: tuple(dict.fromkeys(k.name for k in needed_facts(s)))
                             for sid, s in load_all().items()})


def used_for(key: str, scheme_id: str | None) -> tuple[str, ...]:
    """What the scheme used the service's answer for: the Dutch labels of the facts read from it."""
    if scheme_id is None:
        return ()
    labels = []
    for name in _facts_by_scheme().get(scheme_id, ()):
        spec = FACT_SPECS.get(name)
        if spec is not None and (key in spec.services or key in spec.history_services):
            labels.append(spec.label_nl)
    return tuple(dict.fromkeys(labels))


@dataclass(frozen=True)
class Purpose:
    """Why the data was consulted: the scheme (title, owning department) and its legal ground(s)."""

    scheme_id: str | None
    title: str
    legal_grounds: tuple[str, ...]
    department: str | None


@cache
def _by_hoedanigheid() -> Mapping[str, str]:
    return MappingProxyType({s.magda.hoedanigheid: sid for sid, s in load_all().items()})


def purpose_of(purpose: str | None, hoedanigheid: str | None) -> Purpose:
    """The purpose recorded with a consultation, in words: a scheme id names the scheme; a job its own words; else
    the scheme whose Hoedanigheid the question was asked under; else the general follow-up of Ghent's residents."""
    schemes = load_all()
    scheme_id = purpose if purpose in schemes else _by_hoedanigheid().get(hoedanigheid or "")
    if scheme_id is not None:
        s = schemes[scheme_id]
        grounds = tuple(b.citation for b in s.legal_basis) or (_NO_GROUND,)
        return Purpose(scheme_id, s.title, grounds, s.owner.department)
    if purpose in _JOBS:
        return Purpose(None, _JOBS[purpose], _JOB_GROUNDS.get(purpose, (_NO_GROUND,)), None)
    return Purpose(None, _GENERAL, (_NO_GROUND,), None)


@cache
def city_sources() -> frozenset[str]:
    """The trace sources that are the city's own files (OCMW, enrolments), from the fact declarations."""
    return frozenset(s.source for s in FACT_SPECS.values() if s.source_kind == CITY_SOURCE_KIND)


CITY_SOURCES = MappingProxyType({
    "residents": "Stad Gent – bevolkingsregister (uittreksel van de stad)",
    "enrolled_children": "Stad Gent – inschrijvingen stedelijk onderwijs en kinderopvang",
})
"""The city file a population run selects its subjects from (by the scheme's subject kind's population)."""

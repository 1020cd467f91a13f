"""Typed, frozen results of MAGDA answers: only what the eligibility rules need (data minimisation).

Names, street addresses, card numbers, amounts and the like are read past, not kept. Dates from the
Rijksregister may be incomplete (``1950-00-00``); those stay :class:`PartialDate` so no rule silently
treats "some day in 1950" as 1 January.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Generic, Literal, TypeVar

from proactief.magda.audit import OutcomeClass
from proactief.magda.uitzondering import Uitzondering

__all__ = [
    "PartialDate",
    "DateLike",
    "Period",
    "earliest",
    "latest",
    "SoapFault",
    "MagdaAnswer",
    "Adres",
    "Gezinslid",
    "Referentiepersoon",
    "Persoon",
    "Gezinssamenstelling",
    "HistoriekPersoon",
    "HistoriekGezinssamenstelling",
    "SociaalStatuutResultaat",
    "SociaalStatuutAntwoord",
    "SociaalStatuutLijst",
    "BronStatus",
    "SocialeKaart",
    "Erkenning",
    "Recht",
    "DossierHandicap",
    "Aanslagbiljet",
    "LeefloonJaar",
    "Leefloonbedragen",
    "RegistratieResultaat",
    "Mutatie",
    "MutatieNotificaties",
    "LEZVrijstelling",
    "LEZRegistratie",
    "LEZGegevens",
    "VrijstellingAanvraag",
    "VehicleRegistration",
    "POSITIE_REFERENTIEPERSOON",
]

T = TypeVar("T")

POSITIE_REFERENTIEPERSOON = "01"
"""``Positie/Code`` of the reference person (gezinshoofd) of a household."""


# ---------------------------------------------------------------------------------------------- dates


@dataclass(frozen=True, slots=True, order=True)
class PartialDate:
    """An incomplete Rijksregister date: ``month``/``day`` None where the register has ``00``."""

    year: int
    month: int | None = None
    day: int | None = None

    def earliest(self) -> dt.date:
        return dt.date(self.year, self.month or 1, self.day or 1)

    def latest(self) -> dt.date:
        if self.month is None:
            return dt.date(self.year, 12, 31)
        if self.day is not None:
            return dt.date(self.year, self.month, self.day)
        nxt = dt.date(self.year + (self.month == 12), self.month % 12 + 1, 1)
        return nxt - dt.timedelta(days=1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month or 0:02d}-{self.day or 0:02d}"


DateLike = dt.date | PartialDate


def earliest(d: DateLike) -> dt.date:
    """The first day an (in)complete date can be."""
    return d if isinstance(d, dt.date) else d.earliest()


def latest(d: DateLike) -> dt.date:
    """The last day an (in)complete date can be."""
    return d if isinstance(d, dt.date) else d.latest()


@dataclass(frozen=True, slots=True)
class Period:
    """A period with inclusive ends as MAGDA gives it; None = open on that side."""

    begin: DateLike | None = None
    end: DateLike | None = None

    def covers(self, d: dt.date) -> bool:
        """Whether ``d`` can lie in the period (incomplete ends are read generously)."""
        return (self.begin is None or earliest(self.begin) <= d) and (self.end is None or d <= latest(self.end))


# ---------------------------------------------------------------------------------------------- envelope


@dataclass(frozen=True, slots=True)
class SoapFault:
    """A level-1 SOAP Fault: the request was not accepted at all."""

    faultcode: str
    faultstring: str


@dataclass(frozen=True, slots=True)
class MagdaAnswer(Generic[T]):
    """One question's answer: the project's outcome class, the typed value, and the exceptions behind it."""

    service: str
    """Service key, e.g. ``SocZek.GeefSociaalStatuut-03.00``."""
    outcome: OutcomeClass
    value: T | None = None
    uitzonderingen_bericht: tuple[Uitzondering, ...] = ()
    """Level 2 (``Repliek/Uitzonderingen``): they apply to every question of the message."""
    uitzonderingen: tuple[Uitzondering, ...] = ()
    """Level 3 (``Antwoord/Uitzonderingen``) of this question."""
    code: str | None = None
    """The ``Identificatie`` of the exception that decided the outcome, if one did."""
    message_ref: str | None = None
    """``Afzender/Referte`` we sent (or the ``Ontvanger/Referte`` MAGDA echoed when parsed stand-alone)."""
    question_ref: str | None = None
    """``Vraag/Referte`` we sent (or ``Antwoord/Referte`` when parsed stand-alone)."""
    subject: str | None = None
    """The INSZ asked about. Not shown in ``repr``."""
    fault: SoapFault | None = None
    attempts: int = 1
    detail: str | None = None
    """Why a transport-level outcome happened (``HTTP 503``, ``timeout``, ``malformed XML``), never personal data."""
    register_date: dt.date | None = None
    """``Repliek/Context/Bericht/Tijdstip/Datum``: the day the source answered, i.e. the register as it stood
    then. A person service's current state (GeefPersoon) is the state of that day, not of the date asked about."""

    @property
    def ok(self) -> bool:
        return self.outcome is OutcomeClass.OK

    @property
    def all_uitzonderingen(self) -> tuple[Uitzondering, ...]:
        return self.uitzonderingen_bericht + self.uitzonderingen

    def __repr__(self) -> str:
        return (f"MagdaAnswer({self.service}, {self.outcome.value}, code={self.code}, value="
                f"{type(self.value).__name__ if self.value is not None else None}, attempts={self.attempts})")


# ---------------------------------------------------------------------------------------------- Persoon


@dataclass(frozen=True, slots=True)
class Adres:
    """A ``Hoofdverblijfplaats`` (main residence) or ``ContactAdres``: where, not the street."""

    soort: Literal["hoofdverblijfplaats", "contactadres"]
    nis_code: str | None
    """``NISCodeGemeente``: 44021 is Gent. The postcode alone does not tell (9070, 9090, 9820 are not Gent)."""
    postcode: str | None
    periode: Period


@dataclass(frozen=True, slots=True)
class Gezinslid:
    insz: str | None = field(repr=False)
    positie: str | None
    """``Positie/Code``: 01 reference person, 02 partner, 03 child …"""
    geboortedatum: DateLike | None
    periode: Period


@dataclass(frozen=True, slots=True)
class Referentiepersoon:
    insz: str | None = field(repr=False)
    positie: str | None
    """The subject's position relative to the reference person."""
    periode: Period


@dataclass(frozen=True, slots=True)
class Persoon:
    """GeefPersoon-02.02: identity dates, main residence and contact address, household."""

    insz: str
    geboortedatum: DateLike | None
    overlijdensdatum: DateLike | None
    hoofdverblijfplaatsen: tuple[Adres, ...] = ()
    contactadressen: tuple[Adres, ...] = ()
    gezinsleden: tuple[Gezinslid, ...] = ()
    referentiepersoon: Referentiepersoon | None = None

    def overleden_op(self, d: dt.date) -> bool:
        return self.overlijdensdatum is not None and earliest(self.overlijdensdatum) <= d

    def woont_in(self, nis_code: str, d: dt.date) -> bool:
        """A main residence (not a contact address) in ``nis_code`` covering ``d``."""
        return any(a.nis_code == nis_code and a.periode.covers(d) for a in self.hoofdverblijfplaatsen)

    def __repr__(self) -> str:
        return f"Persoon(<{len(self.gezinsleden)} gezinsleden, {len(self.hoofdverblijfplaatsen)} adressen>)"


@dataclass(frozen=True, slots=True)
class Gezinssamenstelling:
    """GeefGezinssamenstelling-02.02: the household members (including the subject)."""

    leden: tuple[Gezinslid, ...]

    def referentiepersoon(self) -> Gezinslid | None:
        for lid in self.leden:
            if lid.positie == POSITIE_REFERENTIEPERSOON:
                return lid
        return None

    def __repr__(self) -> str:
        return f"Gezinssamenstelling(<{len(self.leden)} leden>)"


@dataclass(frozen=True, slots=True)
class HistoriekPersoon:
    """GeefHistoriekPersoon-02.02: the parts of a person's history the rules use — every main residence with
    its period, birth and death. Names, nationalities, civil state and the like are read past.

    MAGDA often gives a past residence only a ``DatumBegin``: it ran until the next one began. Such an open end
    is closed with the next residence's begin (read generously; on a moving day the later residence counts)."""

    insz: str
    geboortedatum: DateLike | None
    overlijdensdatum: DateLike | None
    hoofdverblijfplaatsen: tuple[Adres, ...] = ()

    def woont_in(self, nis_code: str, d: dt.date) -> bool:
        """The main residence covering ``d`` (the latest begun, on a moving day) is in ``nis_code``."""
        covering = [a for a in self.hoofdverblijfplaatsen if a.periode.covers(d)]
        if not covering:
            return False
        current = max(covering, key=lambda a: earliest(a.periode.begin) if a.periode.begin else dt.date.min)
        return current.nis_code == nis_code

    def __repr__(self) -> str:
        return f"HistoriekPersoon(<{len(self.hoofdverblijfplaatsen)} hoofdverblijfplaatsen>)"


@dataclass(frozen=True, slots=True)
class HistoriekGezinssamenstelling:
    """GeefHistoriekGezinssamenstelling-02.02: every household the person was part of, each with its members
    (the person included), their positions and membership periods."""

    samenstellingen: tuple[tuple[Gezinslid, ...], ...]

    def op(self, insz: str, d: dt.date) -> tuple[Gezinslid, ...] | None:
        """The members on ``d`` of the household ``insz`` belonged to on ``d`` (``insz`` included); None when
        ``insz`` was in none of them on ``d``."""
        for leden in self.samenstellingen:
            if any(lid.insz == insz and lid.periode.covers(d) for lid in leden):
                return tuple(lid for lid in leden if lid.periode.covers(d))
        return None

    def __repr__(self) -> str:
        return f"HistoriekGezinssamenstelling(<{[len(s) for s in self.samenstellingen]} leden>)"


# ---------------------------------------------------------------------------------------------- SocZek


@dataclass(frozen=True, slots=True)
class SociaalStatuutResultaat:
    """One statute of a GeefSociaalStatuut(VoorLijst) answer."""

    naam: str
    code: int
    """``Resultaat/Code``: 1 = van toepassing, 0 = niet van toepassing."""
    periodes: tuple[Period, ...] = ()
    """None listed = holds on the date asked."""

    @property
    def van_toepassing(self) -> bool:
        return self.code == 1

    def geldt_op(self, d: dt.date) -> bool:
        """Resultaat 1 and, when periods are listed, one of them covers ``d``."""
        return self.code == 1 and (not self.periodes or any(p.covers(d) for p in self.periodes))


@dataclass(frozen=True, slots=True)
class SociaalStatuutAntwoord:
    insz: str
    statuten: tuple[SociaalStatuutResultaat, ...]

    def get(self, naam: str) -> SociaalStatuutResultaat | None:
        for s in self.statuten:
            if s.naam == naam:
                return s
        return None

    def __repr__(self) -> str:
        return f"SociaalStatuutAntwoord({[(s.naam, s.code) for s in self.statuten]})"


@dataclass(frozen=True, slots=True)
class SociaalStatuutLijst:
    """GeefSociaalStatuutVoorLijst-02.00: the statutes of every person the source could answer."""

    personen: Mapping[str, SociaalStatuutAntwoord] = field(default_factory=lambda: MappingProxyType({}))

    def __repr__(self) -> str:
        return f"SociaalStatuutLijst(<{len(self.personen)} personen>)"


@dataclass(frozen=True, slots=True)
class BronStatus:
    """Status of one authentic source in a KSZ handicap answer (``dgphResult/status`` …)."""

    bron: str
    """``dgph``, ``vsb``, ``irisCare``, ``aviq``, ``dsl``, ``mdg``, ``nicCin``."""
    value: str | None
    """DATA_FOUND, NO_DATA_FOUND …"""
    code: str | None


@dataclass(frozen=True, slots=True)
class SocialeKaart:
    """A ``socialCard`` (DG Personen met een handicap): PARKINGCARD, REDUCTIONCARD …; the number is not kept."""

    bron: str
    categorie: str
    uitgifte: dt.date | None
    einde: dt.date | None

    def geldig_op(self, d: dt.date) -> bool:
        return (self.uitgifte is None or self.uitgifte <= d) and (self.einde is None or d <= self.einde)


@dataclass(frozen=True, slots=True)
class Erkenning:
    """A ``handicapRecognition``: the decision and the yes/no findings, not the medical detail."""

    bron: str
    wetgeving: str | None
    beslissing: str | None
    """``decisionStatus``, e.g. RECOGNITION_DETERMINED."""
    datum_beslissing: dt.date | None
    begin: dt.date | None
    einde: dt.date | None
    kenmerken: frozenset[str] = frozenset()
    """``handicapRecognitionDetails`` flags that are true: lowerLimbs50p, fullBlindness, upperLimbsAmputated …"""
    punten_zelfredzaamheid: int | None = None
    """Adult ``diminuationIndependence/totalPoints``."""
    punten_kind: int | None = None
    """Child ``pillars/pillarsTotal``."""


@dataclass(frozen=True, slots=True)
class Recht:
    """A granted allowance right (``rights``): which, decided how, when; not the amounts."""

    bron: str
    wetgeving: str | None
    beslissing: str | None
    periode: Period


@dataclass(frozen=True, slots=True)
class DossierHandicap:
    """GeefDossierHandicap-03.00 (KSZ ConsultFilesByDate)."""

    status: str | None
    """Overall ``status/value``: DATA_FOUND, NO_DATA_FOUND …"""
    bronnen: tuple[BronStatus, ...] = ()
    kaarten: tuple[SocialeKaart, ...] = ()
    erkenningen: tuple[Erkenning, ...] = ()
    rechten: tuple[Recht, ...] = ()

    def kaart_geldig(self, categorie: str, d: dt.date) -> bool:
        return any(k.categorie == categorie and k.geldig_op(d) for k in self.kaarten)

    def __repr__(self) -> str:
        return f"DossierHandicap({self.status}, kaarten={[k.categorie for k in self.kaarten]})"


@dataclass(frozen=True, slots=True)
class LeefloonJaar:
    """One year of GeefLeefloonbedragen: which kinds of help were paid, by month; amounts are not kept."""

    jaar: int
    uitbetaling: str | None
    """``Uitbetaling`` code when given (0 = geen uitbetaling)."""
    leefloon: bool = False
    equivalent_leefloon: bool = False
    kinderbijslag: bool = False
    maanden_leefloon: tuple[str, ...] = ()
    """``JaarMaand`` (YYYY-MM) of months with a leefloon or equivalent payment."""


@dataclass(frozen=True, slots=True)
class Leefloonbedragen:
    jaren: tuple[LeefloonJaar, ...]

    def jaar(self, jaar: int) -> LeefloonJaar | None:
        for j in self.jaren:
            if j.jaar == jaar:
                return j
        return None


# ---------------------------------------------------------------------------------------------- Inkomen


@dataclass(frozen=True, slots=True)
class Aanslagbiljet:
    """GeefAanslagbiljetPersonenbelasting-02.00 for one income year."""

    inkomensjaar: int
    artikelnummer: str | None
    """A joint assessment answered for both partners carries the same number."""
    fiscale_status: str | None
    """``GevraagdePersoon/FiscaleStatus/Code``: A titularis, B partner."""
    items: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    """Item code (``A7555``) -> ``Waarde`` as MAGDA gives it."""

    def __repr__(self) -> str:
        return f"Aanslagbiljet({self.inkomensjaar}, items={sorted(self.items)})"


# ---------------------------------------------------------------------------------------------- repertorium


@dataclass(frozen=True, slots=True)
class RegistratieResultaat:
    """``Resultaat`` of a registration (repertorium, LEZ): 1 = wel geslaagd."""

    geslaagd: bool
    code: str
    beschrijving: str | None = None


@dataclass(frozen=True, slots=True)
class Mutatie:
    """One notification: this person changed (not what changed)."""

    referte: str | None
    insz: str
    type: str | None
    nieuw_insz: str | None = None
    geannuleerd_insz: str | None = None
    datum: dt.date | None = None

    def __repr__(self) -> str:
        return f"Mutatie(type={self.type!r}, datum={self.datum})"


@dataclass(frozen=True, slots=True)
class MutatieNotificaties:
    """GeefPersoonMutatiesNotificaties-02.00: who changed, and the receipt that acknowledges this batch."""

    mutaties: tuple[Mutatie, ...] = ()
    ontvangstreferte: str | None = None

    def __repr__(self) -> str:
        return f"MutatieNotificaties(<{len(self.mutaties)}>, ontvangstreferte={self.ontvangstreferte!r})"


# ---------------------------------------------------------------------------------------------- LEZ


@dataclass(frozen=True, slots=True)
class VrijstellingAanvraag:
    """An exemption to register for a plate (``Vrijstellingen/Vrijstelling``)."""

    reden: str
    begin: dt.date
    einde: dt.date | None = None


@dataclass(frozen=True, slots=True)
class LEZVrijstelling:
    """A registered LEZ exemption as read back."""

    reden: str | None
    periode: Period
    bron: str | None
    referte: str | None
    """Needed to remove it again (VerwijderLEZGegevens)."""


@dataclass(frozen=True, slots=True)
class LEZRegistratie:
    """Another kind of LEZ entry (BuitenlandsVoertuig, CorrectieEuronorm, Roetfilter): kind and handle only."""

    soort: str
    bron: str | None
    referte: str | None


@dataclass(frozen=True, slots=True)
class LEZGegevens:
    nummerplaat: str
    land: str
    vrijstellingen: tuple[LEZVrijstelling, ...] = ()
    andere: tuple[LEZRegistratie, ...] = ()


# ---------------------------------------------------------------------------------------------- REST


@dataclass(frozen=True, slots=True)
class VehicleRegistration:
    """A vehicle registration (MAGDA Mobility REST): plate, status, who holds it."""

    plate: str
    status: str | None
    """``license.status.code``: REG = ingeschreven."""
    titular: Literal["natural", "legal"]
    titular_insz: str | None = field(repr=False)
    """National number of a natural-person titular."""

    def __repr__(self) -> str:
        return f"VehicleRegistration({self.status}, {self.titular})"

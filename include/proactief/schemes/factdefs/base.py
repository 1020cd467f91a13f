"""What a fact declaration is, and the registry every declaration is entered in once.

A fact (in the spirit of an OpenFisca ``Variable``) is declared in one place: its name, kind, Dutch label,
source, holders, MAGDA services, the history services that settle it on a past D, its reason codes with their
plain-Dutch texts, its derivation from observations and how the advice engine plans its MAGDA questions. The
rest of the code looks a fact up (:func:`fact_spec`) instead of switching on its name.

This module imports nothing of :mod:`proactief.schemes` at run time, so that :mod:`~proactief.schemes.facts` and
:mod:`~proactief.schemes.observations` can import from it without a cycle.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum, StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from proactief.schemes.facts import FactKey
    from proactief.schemes.observations import Answer, Observations, RegisterRecord

__all__ = [
    "ABSENT",
    "FACT_SPECS",
    "HOUSEHOLD_SUFFIX",
    "REASON_TEXTS",
    "RULE_REASONS",
    "UNKNOWN",
    "Ask",
    "FactError",
    "FactSpec",
    "FactState",
    "FactValue",
    "Holder",
    "HouseholdMember",
    "Planner",
    "PlanningContext",
    "Request",
    "Statute",
    "fact_spec",
    "register",
    "register_reasons",
    "unregister",
]


class FactError(ValueError):
    """A fact that does not exist, has the wrong type, or is asked about the wrong holder."""


class FactState(Enum):
    """The two ways a fact can lack a value."""

    UNKNOWN = "unknown"
    """We could not find out (a transient MAGDA error, city data not delivered): never a ground for refusal."""
    ABSENT = "absent"
    """We found out there is nothing (no assessment, no eligible vehicle, no parking card)."""

    def __repr__(self) -> str:
        return self.name


UNKNOWN = FactState.UNKNOWN
ABSENT = FactState.ABSENT

FactValue = bool | int | Decimal | str | dt.date | FactState


class Holder(StrEnum):
    """Whose fact it is, relative to the decision's subject."""

    PERSON = "person"
    """The subject person: P (UiTPAS), Q (LEZ), the child (onderwijskorting), the reference person (IVAGO)."""
    HOUSEHOLD = "household"
    """Any member of the subject's household (the subject included)."""
    REFERENCE_PERSON = "reference_person"
    """The household's reference person (gezinshoofd), else the subject."""


ABOUT_HOUSEHOLD = (Holder.HOUSEHOLD, Holder.REFERENCE_PERSON)
"""Holders whose data needs the subject's household first."""


class Statute(StrEnum):
    """KSZ social statutes asked through ``GeefSociaalStatuut-03.00`` (names as on the wire)."""

    BIM_BVT = "BIM_BVT"
    BIM_BVT_IN_FAMILY = "BIM_BVT_IN_FAMILY"
    LIVING_WAGES_PCSA_HELP = "LIVING_WAGES_PCSA_HELP"
    PCSA_AND_BIM_HELP = "PCSA_AND_BIM_HELP"


GEEF_PERSOON = "Persoon.GeefPersoon-02.02"
GEEF_SOCIAAL_STATUUT = "SocZek.GeefSociaalStatuut-03.00"
GEEF_DOSSIER_HANDICAP = "SocZek.GeefDossierHandicap-03.00"
GEEF_AANSLAGBILJET = "Inkomen.GeefAanslagbiljetPersonenbelasting-02.00"
MOBILITEIT_INSCHRIJVINGEN = "Mobiliteit.Inschrijvingen-v1"
"""MAGDA Mobility REST ``/v1/mobility/registrations`` (vehicle registrations by plate / national number)."""
GEEF_HISTORIEK_PERSOON = "Persoon.GeefHistoriekPersoon-02.02"
"""Main residences with their periods: the residence on a D before the register's date (GeefPersoon's day)."""
GEEF_HISTORIEK_GEZIN = "Persoon.GeefHistoriekGezinssamenstelling-02.02"
"""Household compositions with member periods: the household on a D before the register's date."""
HISTORY_SERVICES = (GEEF_HISTORIEK_PERSOON, GEEF_HISTORIEK_GEZIN)
"""Asked only when D lies before the register's date and today's answer cannot settle the fact: a scheme may
list them (for the facts they serve) and need not; the advice engine refuses to ask one that is not listed."""

CITY_SOURCE_KIND = "city"
MAGDA_SOURCE_KIND = "magda"
HOUSEHOLD_SUFFIX = "_IN_HOUSEHOLD"
"""Added to a reason code when the fact is about any member of the household (``Holder.HOUSEHOLD``)."""

Kind = Literal["bool", "present", "count", "tax-amount", "date"]


class Ask(StrEnum):
    """The kinds of MAGDA question the advice engine asks (one declaration each in :mod:`proactief.advice`)."""

    PERSOON = "persoon"
    HIST_PERSOON = "hist_persoon"
    DOSSIER = "dossier"
    STATUUT = "statuut"
    HIST_GEZIN = "hist_gezin"
    TAX = "tax"
    VEHICLES = "vehicles"


Request = tuple[Ask, str, Any]
"""(question kind, INSZ, detail): detail is the Statute for ``statuut``, the income year for ``tax``, else None."""


class HouseholdMember(Protocol):
    """A current member of the subject's household as the engine knows it."""

    @property
    def insz(self) -> str: ...
    @property
    def register(self) -> RegisterRecord: ...


class PlanningContext(Protocol):
    """What the advice engine knows about one subject while planning its questions (built per subject)."""

    @property
    def subject(self) -> str: ...
    @property
    def d(self) -> dt.date: ...
    @property
    def registered(self) -> bool:
        """The subject's GeefPersoon answered."""
    @property
    def record(self) -> RegisterRecord | Answer | None:
        """The subject's register record on D (None before GeefPersoon answered)."""
    @property
    def reference(self) -> str | None:
        """The reference person the subject's register names (None: the subject is its own)."""
    @property
    def members(self) -> Sequence[HouseholdMember] | None:
        """The other members of the household on D; None while they are not known."""
    @property
    def head_pending(self) -> bool:
        """The household is read from the reference person's answer, which is not in yet."""
    @property
    def partial(self) -> bool:
        """Today's household is listed and D lies before it: who left since D is in the household history."""
    @property
    def residence_open(self) -> bool:
        """Only today's residences are known and none covers D: the residence history decides."""
    def answered(self, who: str, ask: Ask) -> bool:
        """That person's answer to a one-answer question kind (dossier, vehicles …) is in."""
    def statute(self, who: str, statute: Statute) -> Iterator[Request]:
        """The statute question about ``who``, unless its answer is in."""
    def tax_year(self, who: str) -> int | None:
        """The income year still to ask about ``who`` (None: settled)."""
    def reference_person(self) -> str:
        """The household's reference person on D (the subject when flagged, else a member in position 01)."""


class Planner:
    """How the advice engine plans the MAGDA questions of one fact; the default asks nothing of its own.

    The engine first reads the register and the household where the fact needs them (``reads_register``,
    :meth:`about_household`), and the household history on a D before the register's date
    (:meth:`needs_household_on_d`); :meth:`plan` yields the fact's own questions after that."""

    reads_register: bool = False
    """The subject's GeefPersoon is needed whatever the holder (residence, household facts)."""
    household_wide: bool = False
    """The fact is about the household as a whole: its members on D are needed."""

    def about_household(self, key: FactKey) -> bool:
        """The fact needs the subject's household (a household-wide fact, or a member's / the head's data)."""
        return self.household_wide or key.holder in ABOUT_HOUSEHOLD

    def while_register_pending(self, ctx: PlanningContext, key: FactKey) -> Iterable[Request]:
        """Questions worth asking alongside the subject's GeefPersoon."""
        return ()

    def while_household_pending(self, ctx: PlanningContext, key: FactKey) -> Iterable[Request]:
        """Questions worth asking alongside the reference person's GeefPersoon."""
        return ()

    def needs_household_on_d(self, ctx: PlanningContext, key: FactKey) -> bool:
        """Whether the household on D (its history) is needed when today's household may miss members."""
        return self.about_household(key)

    def plan(self, ctx: PlanningContext, key: FactKey) -> Iterable[Request]:
        """The fact's own questions, once the register and household it needs are read."""
        return ()


Derivation = Callable[["FactKey", "Observations", dt.date], FactValue | None]


def _not_derivable(key: FactKey, obs: Observations, d: dt.date) -> FactValue | None:
    raise FactError(f"no derivation declared for fact {key}")


@dataclass(frozen=True)
class FactSpec:
    """One fact's declaration: what it means, where it comes from, how it is asked, derived and explained."""

    name: str
    kind: Kind
    """``bool``: yes/no; ``present``: a value or ABSENT (tested for presence); ``count``/``tax-amount``: numbers
    compared with parameters; ``date``: used by grant rules only."""
    label_nl: str
    """Plain Dutch, for the trace and the notification's "which data we used"."""
    source: str
    """Source name shown in the trace: authentic source – service, or the city data set."""
    source_kind: Literal["magda", "city"]
    services: tuple[str, ...]
    """MAGDA services needed for the subject itself."""
    holders: tuple[Holder, ...] = ()
    """Allowed holders; empty = the fact belongs to the subject's household/decision as a whole."""
    reason_true: str = ""
    reason_false: str = ""
    reason_absent: str = ""
    absent_allowed: bool = True
    unit_parameter: str | None = None
    """For ``tax-amount``: the scheme parameter that says what unit MAGDA's item values are in."""
    reasons_nl: Mapping[str, str] = field(default_factory=dict, hash=False)
    """Every reason code this fact gives, as one plain Dutch sentence (B1) for the call centre. A code with
    ``_IN_HOUSEHOLD`` may have its own sentence; otherwise "In het gezin: …" is put before the plain one."""
    history_services: tuple[str, ...] = ()
    """History services that settle the fact itself on a D before the register's date (a member's or the
    head's data adds the household history, see ``FactKey.history_services``)."""
    per_statute: bool = False
    """The fact is asked per KSZ statute (``statute.NAME``)."""
    derive: Derivation = field(default=_not_derivable, compare=False)
    """The fact from the observations on D: a value, UNKNOWN, or None when a needed answer was not gathered."""
    planner: Planner = field(default_factory=Planner, compare=False)
    """How the advice engine plans the fact's MAGDA questions."""

    def services_for(self, holder: Holder | None) -> tuple[str, ...]:
        """Services needed for this fact and holder: another member's data needs the household first."""
        extra = (GEEF_PERSOON,) if holder in ABOUT_HOUSEHOLD else ()
        return tuple(dict.fromkeys((*extra, *self.services)))


_FACTS: dict[str, FactSpec] = {}
FACT_SPECS: Mapping[str, FactSpec] = MappingProxyType(_FACTS)
"""Every declared fact by name, in declaration order."""
_REASONS: dict[str, str] = {}
REASON_TEXTS: Mapping[str, str] = MappingProxyType(_REASONS)
"""Every declared reason code with its plain Dutch sentence."""
_RULE_REASONS: dict[str, None] = {}
RULE_REASONS: Mapping[str, None] = MappingProxyType(_RULE_REASONS)
"""Reason codes a scheme definition may name itself (a comparison's ``reason_true``/``reason_false``)."""
_OWNERS: dict[str, set[str]] = {}


def register_reasons(texts: Mapping[str, str], *, in_definitions: bool = False, owner: str = "") -> None:
    """Declare reason codes with their Dutch sentences; a code declared twice must say the same."""
    for code, text in texts.items():
        if _REASONS.get(code, text) != text:
            raise FactError(f"reason {code} declared twice with different texts")
        _REASONS[code] = text
        _OWNERS.setdefault(code, set()).add(owner)
        if in_definitions:
            _RULE_REASONS[code] = None


def register(spec: FactSpec) -> FactSpec:
    """Enter one fact declaration (and its reasons) in the registry; a name is declared once."""
    if spec.name in _FACTS:
        raise FactError(f"fact {spec.name!r} declared twice")
    missing = [c for c in (spec.reason_true, spec.reason_false, spec.reason_absent) if c and c not in spec.reasons_nl]
    if missing:
        raise FactError(f"fact {spec.name!r}: no Dutch text for reason(s) {', '.join(missing)}")
    register_reasons(spec.reasons_nl, owner=spec.name)
    _FACTS[spec.name] = spec
    return spec


def unregister(name: str) -> None:
    """Take a fact (and the reasons only it declared) out again: for tests that declare a throw-away fact."""
    _FACTS.pop(name, None)
    for code, owners in list(_OWNERS.items()):
        owners.discard(name)
        if not owners:
            del _OWNERS[code]
            _REASONS.pop(code, None)
            _RULE_REASONS.pop(code, None)


def fact_spec(name: str) -> FactSpec:
    """The declaration of a fact name; an unknown name is named plainly with the known ones."""
    try:
        return _FACTS[name]
    except KeyError:
        raise FactError(f"unknown fact {name!r}; known facts: {', '.join(_FACTS)}") from None

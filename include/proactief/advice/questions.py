"""The MAGDA question kinds the advice engine asks, one declaration each: service, how to ask it through the
client, where its answer goes in what a run knows about a person, and what an objection leaves there.

The engine loops over :data:`QUESTIONS` (in asking order) instead of switching on the kind. Kinds whose
questions differ per detail group their askers themselves: statutes by the set asked together, tax by income year.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from proactief.advice.observe import (
    RegisterObservation,
    household_history_from_answer,
    no_data_state,
    register_from_answer,
    residences_from_answer,
    social_cards_from_answer,
    span_of,
    tax_from_answer,
    vehicles_from_answer,
)
from proactief.magda.audit import OutcomeClass
from proactief.magda.client import MagdaClient
from proactief.magda.results import HistoriekGezinssamenstelling, MagdaAnswer
from proactief.schemes import Statute
from proactief.schemes.factdefs.base import (
    GEEF_AANSLAGBILJET,
    GEEF_DOSSIER_HANDICAP,
    GEEF_HISTORIEK_GEZIN,
    GEEF_HISTORIEK_PERSOON,
    GEEF_PERSOON,
    GEEF_SOCIAAL_STATUUT,
    MOBILITEIT_INSCHRIJVINGEN,
    Ask,
)
from proactief.schemes.observations import (
    Address,
    Answer,
    SocialCard,
    StatuteAnswer,
    TaxAssessment,
    VehicleRegistration,
)

__all__ = ["QUESTION", "QUESTIONS", "Known", "Question"]


@dataclass(slots=True)
class Known:
    """What this run learnt about one person (subject or household member). Dropped after the block."""

    register: RegisterObservation | None = None
    statutes: dict[Statute, StatuteAnswer | Answer] = field(default_factory=dict)
    cards: tuple[SocialCard, ...] | Answer | None = None
    vehicles: tuple[VehicleRegistration, ...] | Answer | None = None
    tax: dict[int, TaxAssessment | Answer] = field(default_factory=dict)
    refs: list[str] = field(default_factory=list)
    data_error: bool = False
    """Some answer about this person was a data error (20002, 30004 …)."""
    transient: bool = False
    """Some answer about this person was a transient failure (after retries)."""
    withheld: bool | None = None
    """The person objected and is not a subject: never asked about (None: not looked up yet)."""
    register_date: dt.date | None = None
    """The day GeefPersoon answered (``Tijdstip/Datum``): the register's state it gave is that day's."""
    residences: tuple[Address, ...] | Answer | None = None
    """GeefHistoriekPersoon's main residences (asked only for a D before ``register_date``)."""
    household_history: HistoriekGezinssamenstelling | Answer | None = None
    """GeefHistoriekGezinssamenstelling (asked only for a D before ``register_date``)."""

    def before_register(self, d: dt.date) -> bool:
        """D lies before the day GeefPersoon's answer describes: today's state may not be D's."""
        return self.register_date is not None and d < self.register_date


Todo = Mapping[str, set[Any]]
"""Per person, the details asked (statutes, income years; ``{None}`` for a one-answer kind)."""


def _one_group(todo: Todo) -> Iterable[tuple[Any, list[str]]]:
    return ((None, list(todo)),)


def _no_statutes(group: Any) -> Iterable[Statute]:
    return ()


def _unanswerable(k: Known) -> bool:
    raise TypeError("this question kind has one answer per detail: look at the detail")


@dataclass(frozen=True)
class Question:
    """One MAGDA question kind, as the engine asks it."""

    kind: Ask
    service: str
    """The MAGDA service (proportionality is checked against the scheme's list)."""
    ask: Callable[[MagdaClient, str, Any, dt.date, str], MagdaAnswer[Any]]
    """One question: (client, INSZ, group detail, D, purpose) → the answer."""
    store: Callable[[Known, Any, MagdaAnswer[Any], dt.date], None]
    """Keep the answer (for the group detail, on D) in what is known about the person."""
    withhold: Callable[[Known, tuple[Any, ...]], None]
    """Mark the details not asked because the person objected as WITHHELD."""
    groups: Callable[[Todo], Iterable[tuple[Any, list[str]]]] = _one_group
    """The persons asked together, per group detail (one group without details)."""
    statutes: Callable[[Any], Iterable[Statute]] = _no_statutes
    """The statutes a group asks (checked against the scheme's list)."""
    answered: Callable[[Known], bool] = _unanswerable
    """For a one-answer kind: whether the person's answer is in."""


def _set_register(k: Known, group: Any, a: MagdaAnswer[Any], d: dt.date) -> None:
    k.register = register_from_answer(a, d)
    k.register_date = a.register_date


def _withhold_register(k: Known, details: tuple[Any, ...]) -> None:
    k.register = RegisterObservation(Answer.WITHHELD, Answer.WITHHELD)


def _set_residences(k: Known, group: Any, a: MagdaAnswer[Any], d: dt.date) -> None:
    k.residences = residences_from_answer(a)


def _withhold_residences(k: Known, details: tuple[Any, ...]) -> None:
    k.residences = Answer.WITHHELD


def _set_household_history(k: Known, group: Any, a: MagdaAnswer[Any], d: dt.date) -> None:
    k.household_history = household_history_from_answer(a)


def _withhold_household_history(k: Known, details: tuple[Any, ...]) -> None:
    k.household_history = Answer.WITHHELD


def _set_cards(k: Known, group: Any, a: MagdaAnswer[Any], d: dt.date) -> None:
    k.cards = social_cards_from_answer(a)


def _withhold_cards(k: Known, details: tuple[Any, ...]) -> None:
    k.cards = Answer.WITHHELD


def _set_vehicles(k: Known, group: Any, a: MagdaAnswer[Any], d: dt.date) -> None:
    k.vehicles = vehicles_from_answer(a)


def _withhold_vehicles(k: Known, details: tuple[Any, ...]) -> None:
    k.vehicles = Answer.WITHHELD


def _statute_groups(todo: Todo) -> Iterable[tuple[Any, list[str]]]:
    """Persons asked the same set of statutes go together: one statute set per question."""
    groups: dict[frozenset[Statute], list[str]] = defaultdict(list)
    for who, sts in todo.items():
        groups[frozenset(sts)].append(who)
    return groups.items()


def statute_names(statutes: Iterable[Statute]) -> list[str]:
    """Statutes as asked on the wire: their names, sorted."""
    return sorted(s.value for s in statutes)


def _set_statutes(k: Known, group: Any, a: MagdaAnswer[Any], d: dt.date) -> None:
    k.statutes.update(statutes_on_day(a, statute_names(group), d))


def _withhold_statutes(k: Known, details: tuple[Any, ...]) -> None:
    k.statutes.update(dict.fromkeys(details, Answer.WITHHELD))


def _year_groups(todo: Todo) -> Iterable[tuple[Any, list[str]]]:
    """One income year per question: persons grouped by the year asked."""
    years: dict[int, list[str]] = defaultdict(list)
    for who, ys in todo.items():
        for y in ys:
            years[y].append(who)
    return years.items()


def _set_tax(k: Known, year: Any, a: MagdaAnswer[Any], d: dt.date) -> None:
    k.tax[year] = tax_from_answer(a)


def _withhold_tax(k: Known, details: tuple[Any, ...]) -> None:
    k.tax.update(dict.fromkeys(details, Answer.WITHHELD))


QUESTIONS: tuple[Question, ...] = (
    Question(Ask.PERSOON, GEEF_PERSOON,
             lambda c, i, g, d, p: c.geef_persoon(i, purpose=p),
             _set_register, _withhold_register, answered=lambda k: k.register is not None),
    Question(Ask.HIST_PERSOON, GEEF_HISTORIEK_PERSOON,
             lambda c, i, g, d, p: c.geef_historiek_persoon(i, purpose=p),
             _set_residences, _withhold_residences, answered=lambda k: k.residences is not None),
    Question(Ask.DOSSIER, GEEF_DOSSIER_HANDICAP,
             lambda c, i, g, d, p: c.geef_dossier_handicap(i, d, purpose=p),
             _set_cards, _withhold_cards, answered=lambda k: k.cards is not None),
    Question(Ask.STATUUT, GEEF_SOCIAAL_STATUUT,
             lambda c, i, g, d, p: c.geef_sociaal_statuut(i, statute_names(g), d, purpose=p),
             _set_statutes, _withhold_statutes, groups=_statute_groups, statutes=lambda g: g),
    Question(Ask.HIST_GEZIN, GEEF_HISTORIEK_GEZIN,
             lambda c, i, g, d, p: c.geef_historiek_gezinssamenstelling(i, purpose=p),
             _set_household_history, _withhold_household_history, answered=lambda k: k.household_history is not None),
    Question(Ask.TAX, GEEF_AANSLAGBILJET,
             lambda c, i, g, d, p: c.geef_aanslagbiljet(i, g, purpose=p),
             _set_tax, _withhold_tax, groups=_year_groups),
    Question(Ask.VEHICLES, MOBILITEIT_INSCHRIJVINGEN,
             lambda c, i, g, d, p: c.vehicle_registrations(national_nr=i, purpose=p),
             _set_vehicles, _withhold_vehicles, answered=lambda k: k.vehicles is not None),
)
"""Every question kind, in asking order: residence/household first (it settles most), then the rarest criterion
(parking card), then statutes, income, vehicles. Only the first kind a subject still needs is asked in a round."""
QUESTION: Mapping[Ask, Question] = MappingProxyType({q.kind: q for q in QUESTIONS})
PRIORITY: Mapping[Ask, int] = MappingProxyType({q.kind: n for n, q in enumerate(QUESTIONS)})


_HOLDS = StatuteAnswer(1)
_DOES_NOT_HOLD = StatuteAnswer(0)
_STATUTES_BY_NAME: Mapping[str, Statute] = MappingProxyType({s.value: s for s in Statute})


def statutes_on_day(answer: MagdaAnswer[Any], names: Iterable[str],
                    d: dt.date) -> dict[Statute, StatuteAnswer | Answer]:
    """Of each statute asked, only whether it holds on D (data minimisation; equal for the rules, which ask
    about D only): ``Resultaat`` 1 with a period covering D (or none listed) → holds; a statute the answer
    does not list → NO_DATA; an answer without data → its state for every statute.

    The meaning of :func:`~proactief.advice.observe.statutes_from_answer` reduced to D, in one pass: a
    whole-city run does this for every resident, and building the full observation first cost seconds."""
    state = no_data_state(answer)
    statutes = [_STATUTES_BY_NAME.get(n) or Statute(n) for n in names]
    if state is not None:
        value = Answer.TRANSIENT if state is Answer.TRANSIENT else Answer.NO_DATA
        return dict.fromkeys(statutes, value)
    found: dict[str, Any] = {}
    for r in answer.value.statuten:
        found.setdefault(r.naam, r)  # the first listed counts, as SociaalStatuutAntwoord.get
    out: dict[Statute, StatuteAnswer | Answer] = {}
    for st in statutes:
        r = found.get(st.value)
        if r is None:
            out[st] = Answer.NO_DATA
        else:
            holds = r.code == 1 and (not r.periodes or any(span_of(p).covers(d) for p in r.periodes))
            out[st] = _HOLDS if holds else _DOES_NOT_HOLD
    return out


def note_answer(k: Known, answer: MagdaAnswer[Any]) -> None:
    """Keep the answer's reference for the audit trail, and whether it was a data error or transient."""
    ref = answer.question_ref or answer.message_ref
    if ref:
        k.refs.append(ref)
    if answer.outcome is OutcomeClass.DATA_ERROR:
        k.data_error = True
    elif answer.outcome in (OutcomeClass.TRANSIENT, OutcomeClass.NEEDS_INSCRIPTION):
        k.transient = True

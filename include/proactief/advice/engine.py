"""The advice engine: gather exactly the facts a scheme needs from MAGDA and city data, decide, keep the decision.

Why staged gathering: proportionality (MAGDA.md) says ask only what the purpose needs. The engine asks
:func:`~proactief.schemes.outstanding_facts` what could still change the outcome and asks only that, one
source at a time (residence first; a non-resident is decided without asking KSZ). For a whole population
(:meth:`Advisor.advise_many`) statutes come first through the list service — one message per 500 persons —
and single calls (GeefPersoon, GeefDossierHandicap, tax, vehicles) go only to the subjects whose outcome
still depends on them, in parallel. Households are shared: a member asked for one subject is not asked again.

Raw answers live only in memory for the duration of one block of subjects; an :class:`Advice` keeps the
decision, its reasons, the rule version, the trace (no values) and the consultation references.
A transient MAGDA problem makes a subject undetermined, never not_eligible (the evaluator's Kleene logic).
A data error (20002 invalid INSZ, 30004 new INSZ, …) about the subject means *no decision* (MAGDA.md): the
other answers were asked under a number that is not (or no longer) the person's, so even a "no" cannot be trusted.
Such a subject is undetermined with ``MAGDA_DATA_ERROR``: quarantined for a human and the population refresh, not
counted as a transient gap that the next run will fill. A household member's data error does the same unless the
subject is eligible anyway.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from proactief.advice.city import OCMW_KINDS, CityData, EmptyCityData
from proactief.advice.observe import Member, RegisterObservation, household_on
from proactief.advice.questions import PRIORITY, QUESTION, QUESTIONS, Known, note_answer, statutes_on_day
from proactief.insz import validate_insz
from proactief.magda.client import MagdaClient
from proactief.magda.results import HistoriekGezinssamenstelling
from proactief.schemes import (
    Decision,
    FactKey,
    Facts,
    GrantTerms,
    Holder,
    MissingFacts,
    Outcome,
    ProportionalityError,
    Scheme,
    Statute,
    TraceStep,
    derive_facts,
    evaluate,
    load_scheme,
    required_services,
    required_statutes,
)
from proactief.schemes.factdefs.base import Ask, Request
from proactief.schemes.facts import DATA_ERROR_REASON, HISTORY_SERVICES, TRANSIENT_REASON
from proactief.schemes.observations import (
    Answer,
    CityRecord,
    Observations,
    PersonObservation,
    RegisterRecord,
    StatuteAnswer,
)
from proactief.schemes.subjects import subject_kind

__all__ = ["DECIDED_FOR_HOUSEHOLD", "Advice", "Advisor", "RunStats", "trace_json"]

DECIDED_FOR_HOUSEHOLD = "DECIDED_FOR_HOUSEHOLD"
"""Reason added when a household scheme was asked about a member: the decision is the household's, and a grant
goes to its reference person (never a second, one-person household)."""

log = logging.getLogger("proactief.advice")

_MAX_ROUNDS = 12
_MEMO_LIMIT = 200_000
_Known = Known
_statutes_on_day = statutes_on_day


@dataclass(frozen=True, slots=True)
class Advice:
    """The decision about one subject for one scheme and reference date: what stays after the raw answers go."""

    scheme_id: str
    subject: str = field(repr=False)
    """The subject's INSZ (UiTPAS: the person; IVAGO: the household's reference person; onderwijskorting: the
    child; LEZ: the card holder). Not shown in ``repr``; never log it."""
    reference_date: dt.date
    decision: Outcome
    tier: str | None
    amount: Decimal | None
    amounts: Mapping[str, Decimal]
    percentages: Mapping[str, Decimal]
    reasons: tuple[str, ...]
    rule_version: str
    trace: tuple[TraceStep, ...]
    grant: GrantTerms | None
    consultations: tuple[str, ...]
    """References (``Vraag/Referte``) of the MAGDA questions this decision rests on, for the audit trail."""
    household_reference: str | None = field(default=None, repr=False)
    """For a household scheme asked about a member who is not the reference person (in MAGDA): the INSZ of the
    household's reference person, for whom the decision was made and to whom a grant goes. Never log it."""
    household_differs: bool = False
    """MAGDA's household on D (which decided) is not the one the city's resident extract lists: counted by the
    MAGDA-results data-quality check so the population service can look at the extract."""

    @property
    def consultation_count(self) -> int:
        return len(self.consultations)

    @property
    def eligible(self) -> bool:
        return self.decision is Outcome.ELIGIBLE

    @classmethod
    def of(cls, subject: str, decision: Decision, consultations: tuple[str, ...],
           household_reference: str | None = None, household_differs: bool = False) -> Advice:
        reasons = decision.reasons
        if household_reference is not None:
            reasons = (*reasons, DECIDED_FOR_HOUSEHOLD)
        return cls(decision.scheme_id, subject, decision.reference_date, decision.decision, decision.tier,
                   decision.amount, decision.amounts, decision.percentages, reasons, decision.rule_version,
                   decision.trace, decision.grant, consultations, household_reference, household_differs)

    def to_json(self, *, include_subject: bool = False, trace_as: Any = None) -> dict[str, Any]:
        """A JSON-ready summary: decision, reasons, tier, amounts, rule version, trace (no values, no INSZ).

        ``trace_as`` (when not None) stands in the trace's place: a caller that writes many advices sharing one
        trace (a memoised decision) serialises it once with :func:`trace_json` and splices it in."""
        out: dict[str, Any] = {
            "scheme": self.scheme_id,
            "reference_date": self.reference_date.isoformat(),
            "decision": self.decision.value,
            "tier": self.tier,
            "amount": None if self.amount is None else str(self.amount),
            "amounts": {k: str(v) for k, v in self.amounts.items()},
            "percentages": {k: str(v) for k, v in self.percentages.items()},
            "reasons": list(self.reasons),
            "rule_version": self.rule_version,
            "valid_until": (self.grant.valid_until.isoformat()
                            if self.grant is not None and self.grant.valid_until else None),
            "trace": trace_json(self.trace) if trace_as is None else trace_as,
            "consultation_count": self.consultation_count,
            "consultations": list(self.consultations),
        }
        if self.household_differs:
            out["household_differs"] = True
        if include_subject:
            out["subject"] = self.subject
            if self.household_reference is not None:
                out["household_reference"] = self.household_reference
        return out

    def __repr__(self) -> str:
        return (f"Advice({self.scheme_id}, {self.reference_date}, {self.decision.value}, tier={self.tier}, "
                f"reasons={list(self.reasons)})")


def trace_json(trace: Iterable[TraceStep]) -> list[dict[str, Any]]:
    """The explanation trace as JSON-ready dicts (no values)."""
    return [{"criterion": s.criterion, "label": s.label, "source": s.source, "outcome": s.outcome.value,
             "reason": s.reason, "tier": s.tier, "kind": s.kind} for s in trace]


@dataclass
class RunStats:
    """Counts of one run, for reports and benchmarks; no personal data."""

    subjects: int = 0
    decisions: Counter[str] = field(default_factory=Counter)
    calls: Counter[str] = field(default_factory=Counter)
    """Questions asked per service (a list message counts each person)."""
    rounds: int = 0
    data_errors: int = 0
    """Subjects left without a decision because MAGDA answered a data error about them or their household."""
    withheld: int = 0
    """Questions not asked because the person they were about (not a subject) objected."""


_EMPTY_STATUTES: Mapping[Statute, StatuteAnswer | Answer] = MappingProxyType({})


class Advisor:
    """Advice for one scheme: ``advise_one`` for a person at the counter or the CLI, ``advise_many`` for a run.

    ``client`` is a :class:`~proactief.magda.client.MagdaClient` (its config should map the scheme id to the
    scheme's Hoedanigheid: questions are asked with ``purpose=scheme.id``); ``city`` the city's own data.
    ``withheld`` says which of the given persons objected (one call per batch): nothing is asked about them
    unless they are a subject themselves (the caller leaves objecting subjects out); their facts are
    ``Answer.WITHHELD`` and a decision left undetermined by them says ``HOUSEHOLD_MEMBER_OBJECTED``.
    """

    def __init__(self, client: MagdaClient, scheme: Scheme | str, city: CityData | None = None, *,
                 list_chunk_size: int = 500, block_size: int = 25_000,
                 withheld: Callable[[Iterable[str]], set[str]] | None = None) -> None:
        self.client = client
        self.withheld = withheld
        self._subjects_now: frozenset[str] = frozenset()
        self.scheme = load_scheme(scheme) if isinstance(scheme, str) else scheme
        # A household's decision is the household's: its grant goes to the reference person on D.
        self._for_household = subject_kind(self.scheme.subject).reevaluate_via_reference_person
        # Proportionality, checked before the first question: the rules need only what the definition allows.
        self._services = set(required_services(self.scheme))
        # History services only where the definition lists them (SCHEMES.md: asked for a D before the register's
        # date); asking one that is not listed raises ProportionalityError in _check.
        self._services.update(s for s in HISTORY_SERVICES if s in self.scheme.magda.services)
        self._statutes = {Statute(s) for s in required_statutes(self.scheme)}
        self.city: CityData = city if city is not None else EmptyCityData()
        self.list_chunk_size = list_chunk_size
        self.block_size = block_size
        self.purpose = self.scheme.id
        self._ocmw_kinds = tuple(k for k in self.scheme.city_data if k in OCMW_KINDS)
        self._enrolment = "enrolled_city_school_or_care" in self.scheme.city_data
        self._memo: dict[tuple[Any, ...], Decision | tuple[FactKey, ...]] = {}
        self._derived: dict[tuple[Any, ...], Facts] = {}
        self._derived_ids: dict[int, tuple[Facts]] = {}
        """Facts shared by many subjects (kept alive by ``_derived``), by id: their decision is looked up by id."""
        self._shared: dict[int, tuple[Facts, Decision | tuple[FactKey, ...]]] = {}
        self.stats = RunStats()
        configured = client.config.hoedanigheid_for(self.purpose)
        if configured != self.scheme.magda.hoedanigheid:
            log.warning("MAGDA config asks %s under Hoedanigheid %s; the scheme names %s", self.purpose,
                        configured, self.scheme.magda.hoedanigheid)

    # ------------------------------------------------------------------------------------------ public API

    def advise_one(self, insz: str, reference_date: dt.date) -> Advice:
        """Decide one subject with single calls, asking in stages only what can still change the outcome."""
        validate_insz(insz)
        return next(iter(self._block([insz], reference_date, bulk=False)))

    def advise_many(self, subjects: Iterable[str], reference_date: dt.date) -> Iterator[Advice]:
        """Decide many subjects: statutes through the list service, then single calls where still needed.

        Yields one :class:`Advice` per distinct subject, block by block (``block_size`` subjects: memory stays
        flat for a whole city). Raises on configuration errors and SOAP faults (the run must stop).
        """
        block: list[str] = []
        seen: set[str] = set()
        for insz in subjects:
            if insz in seen:
                continue
            validate_insz(insz)
            seen.add(insz)
            block.append(insz)
            if len(block) >= self.block_size:
                yield from self._block(block, reference_date, bulk=True)
                block = []
        if block:
            yield from self._block(block, reference_date, bulk=True)

    # ------------------------------------------------------------------------------------------ one block

    def _block(self, subjects: list[str], d: dt.date, *, bulk: bool) -> list[Advice]:
        known: dict[str, _Known] = {}
        self._subjects_now = frozenset(subjects)
        decided: dict[str, Decision] = {}
        pending = subjects
        last: dict[str, tuple[Request, ...]] = {}
        rounds = 0
        while pending:
            rounds += 1
            wants: dict[str, list[Request]] = {}
            missing: dict[str, tuple[FactKey, ...]] = {}
            first_bulk = bulk and rounds == 1
            for s in pending:
                facts = self._facts(s, d, known)
                outcome = self._decide(facts, d)
                if isinstance(outcome, Decision):
                    decided[s] = outcome
                    continue
                if first_bulk:  # only whether anything can be asked: the statutes go by the list service
                    first = next(self._iter_requests(s, outcome, d, known), None)
                    reqs = [] if first is None else [first]
                else:
                    reqs = self._requests(s, outcome, d, known)
                if not reqs or rounds > _MAX_ROUNDS or tuple(reqs) == last.get(s):
                    # Nothing left that could be asked: the decision waits for the next run.
                    decided[s] = evaluate(self.scheme, facts, d, allow_missing=True)
                    continue
                wants[s] = reqs
                missing[s] = outcome
            if not wants:
                break
            if bulk and rounds == 1:
                self._prefetch_statutes(missing, known, d)
            else:
                asked: list[Request] = []
                for s, reqs in wants.items():
                    first = min(PRIORITY[r[0]] for r in reqs)
                    chosen = [r for r in reqs if PRIORITY[r[0]] == first]
                    last[s] = tuple(reqs)
                    asked.extend(chosen)
                self._execute(asked, d, known)
            pending = list(wants)
        self.stats.rounds = max(self.stats.rounds, rounds)
        out = []
        for s in subjects:
            decision = decided[s]
            people = self._relied_on(s, d, known)
            # The subject's own data error: no decision at all. A member's: their facts were unknown to the
            # rules already; a "no" (or a gap) is still not to be trusted, a "yes" the subject's data gave stands.
            if people and (people[0].data_error or (decision.decision is not Outcome.ELIGIBLE
                                                    and any(k.data_error for k in people[1:]))):
                decision = _quarantined(decision, transient=any(k.transient for k in people))
                self.stats.data_errors += 1
            self.stats.subjects += 1
            self.stats.decisions[decision.decision.value] += 1
            on_d = self._household(s, known, d)[0] if self._for_household else None
            reference = on_d.reference if on_d is not None else None  # the household's on D (history if read)
            out.append(Advice.of(s, decision, self._refs(s, d, known), reference, self._differs(s, d, known)))
        return out

    def _decide(self, facts: Facts, d: dt.date) -> Decision | tuple[FactKey, ...]:
        """Evaluate, or the facts still missing; memoised: a decision depends on the facts only, never the person."""
        shared = self._shared.get(id(facts))
        if shared is not None and shared[0] is facts:
            return shared[1]
        key = (d, tuple((k, f.value, f.unknown_reason) for k, f in facts.items()))
        hit = self._memo.get(key)
        if hit is None:
            try:
                hit = evaluate(self.scheme, facts, d)
            except MissingFacts as exc:
                hit = exc.keys
            if len(self._memo) < _MEMO_LIMIT:
                self._memo[key] = hit
        if self._is_shared(facts):
            self._shared[id(facts)] = (facts, hit)
        return hit

    def _is_shared(self, facts: Facts) -> bool:
        return any(f is facts for f in self._derived_ids.get(id(facts), ()))

    # ------------------------------------------------------------------------------------------ observations

    def _city(self, insz: str, d: dt.date) -> tuple[tuple[str, CityRecord], ...]:
        """The city data sets the scheme may use, reduced to their value on D (yes/no, or TRANSIENT)."""
        out = []
        for kind in self._ocmw_kinds:
            periods = self.city.ocmw_periods(insz, kind)
            out.append((kind, periods if isinstance(periods, Answer) else any(p.covers(d) for p in periods)))
        return tuple(out)

    def _person(self, insz: str, known: Mapping[str, _Known], register: RegisterRecord | Answer | None,
                d: dt.date, member: Member | None = None) -> PersonObservation:
        k = known.get(insz)
        kw: dict[str, Any] = {"register": register, "city": MappingProxyType(dict(self._city(insz, d)))}
        if member is not None:
            kw["membership"] = member.membership
        if k is not None:
            kw.update(statutes=MappingProxyType(k.statutes) if k.statutes else _EMPTY_STATUTES,
                      social_cards=k.cards, tax=MappingProxyType(k.tax), vehicles=k.vehicles)
        return PersonObservation(**kw)

    def _facts(self, subject: str, d: dt.date, known: Mapping[str, _Known]) -> Facts:
        """The subject's facts. Before GeefPersoon answered, they depend only on the statutes (kept as their
        value on D) and the city data on D, so they are derived once per distinct combination: a whole-city
        run derives a handful of times instead of 270,000."""
        k = known.get(subject)
        if k is not None and k.register is not None:
            return derive_facts(self.scheme, self._observations(subject, d, known), d)
        key = (d, self._city(subject, d), self.city.enrolled(subject, d) if self._enrolment else None,
               tuple(sorted(k.statutes.items())) if k is not None else (),
               k.cards if k is not None else None, k.vehicles if k is not None else None,
               tuple(sorted(k.tax.items())) if k is not None else ())
        try:
            hit = self._derived.get(key)
        except TypeError:  # an unhashable observation: derive without the shortcut
            return derive_facts(self.scheme, self._observations(subject, d, known), d)
        if hit is None:
            hit = derive_facts(self.scheme, self._observations(subject, d, known), d)
            if len(self._derived) < _MEMO_LIMIT:
                self._derived[key] = hit
                self._derived_ids[id(hit)] = (hit,)
        return hit

    def _observations(self, subject: str, d: dt.date, known: Mapping[str, _Known]) -> Observations:
        reg, members = self._household(subject, known, d)
        person = self._person(subject, known, reg.record if reg is not None else None, d)
        household: tuple[PersonObservation, ...] | Answer | None = None
        if isinstance(members, tuple):
            household = tuple(self._person(m.insz, known, m.register, d, m) for m in members)
        else:
            household = members
        enrolled = self.city.enrolled(subject, d) if self._enrolment else None
        return Observations(person, household, enrolled, self._partial(subject, known, d, members))

    @staticmethod
    def _partial(subject: str, known: Mapping[str, _Known], d: dt.date, members: object) -> bool:
        """The household listed is today's and D lies before it: members who left since D are missing until
        the household history is read."""
        me = known.get(subject)
        return (isinstance(members, tuple) and me is not None and me.household_history is None
                and me.before_register(d))

    # ------------------------------------------------------------------------------------------ what to ask

    @classmethod
    def _household(cls, subject: str, known: Mapping[str, _Known], d: dt.date | None = None,
                   ) -> tuple[RegisterObservation | None, tuple[Member, ...] | Answer | None]:
        """:meth:`_household_today`, corrected to D with the history when D lies before the register's date: the
        residences (GeefHistoriekPersoon) and the household on D (GeefHistoriekGezinssamenstelling), once read.
        Before the residence history is read, a D today's residence does not cover is left open (not "outside
        Ghent")."""
        reg, members = cls._household_today(subject, known)
        me = known.get(subject)
        if d is None or reg is None or me is None or not me.before_register(d) \
                or not isinstance(reg.record, RegisterRecord):
            return reg, members
        record = reg.record
        if me.residences is None:
            record = replace(record, earlier_residences="not_asked")
        elif me.residences is Answer.TRANSIENT:
            record = replace(record, earlier_residences="unknown")
        elif isinstance(me.residences, tuple):
            contact = tuple(a for a in record.addresses if a.kind != "main")
            record = replace(record, addresses=(*me.residences, *contact))
        history = me.household_history
        if history is None:
            return replace(reg, record=record), members
        if history is Answer.TRANSIENT:
            return replace(reg, record=record), Answer.TRANSIENT
        if not isinstance(history, HistoriekGezinssamenstelling):
            return replace(reg, record=record), members  # no history recorded (30001): today's household stands
        on = household_on(history, subject, d)
        record = replace(record, reference_person=on.reference_person)
        reg = RegisterObservation(record, on.members, on.reference, on.membership)
        if on.reference is None:
            return reg, on.members
        lead = next(m for m in on.members if m.insz == on.reference)
        return reg, (lead, *(m for m in on.members if m is not lead))

    @staticmethod
    def _household_today(subject: str, known: Mapping[str, _Known]
                         ) -> tuple[RegisterObservation | None, tuple[Member, ...] | Answer | None]:
        """The subject's register and the other members of its household, as MAGDA gives them.

        Only the reference person's own GeefPersoon lists ``Gezinsleden``; a member's names its
        ``Referentiepersoon``, whose answer then gives the household (the reference person first, flagged, with
        their own register record; the subject left out). Members are None while that answer is not in yet, and
        the reference person's gap (transient, data error, unknown to the register) is the household's gap:
        never a one-person household in its place.
        """
        me = known.get(subject)
        reg = me.register if me is not None else None
        if reg is None:
            return None, None
        if reg.reference is None:
            return reg, reg.members
        head = known.get(reg.reference)
        if head is None or head.register is None:
            return reg, None
        theirs = head.register
        if theirs.record is Answer.WITHHELD:
            return reg, Answer.WITHHELD  # the reference person objected: the household is not asked
        if not isinstance(theirs.record, RegisterRecord) or not isinstance(theirs.members, tuple):
            return reg, Answer.TRANSIENT
        lead = Member(reg.reference, replace(theirs.record, reference_person=True), reg.membership)
        return reg, (lead, *(m for m in theirs.members if m.insz != subject))

    @classmethod
    def _current(cls, subject: str, known: Mapping[str, _Known], d: dt.date) -> list[Member] | None:
        members = cls._household(subject, known, d)[1]
        if not isinstance(members, tuple):
            return None
        return [m for m in members if m.membership.covers(d)]

    @staticmethod
    def _reference_person(subject: str, reg: RegisterObservation, members: list[Member]) -> str:
        """As :mod:`proactief.schemes.derive`: the subject when flagged, else a member in position 01, else the
        subject."""
        if isinstance(reg.record, RegisterRecord) and reg.record.reference_person:
            return subject
        for m in members:
            if m.register.reference_person:
                return m.insz
        return subject

    @staticmethod
    def _tax_year(k: _Known | None, d: dt.date) -> int | None:
        """The income year still to ask: D.year−1, or D.year−2 after 45008; None when settled."""
        year = d.year - 1
        answer = k.tax.get(year) if k is not None else None
        if answer is None:
            return year
        if answer is Answer.YEAR_MISSING and k is not None and (year - 1) not in k.tax:
            return year - 1
        return None

    def _requests(self, s: str, keys: tuple[FactKey, ...], d: dt.date,
                  known: Mapping[str, _Known]) -> list[Request]:
        """The questions that would establish ``keys`` for subject ``s`` (all kinds; the caller picks a stage)."""
        return list(dict.fromkeys(self._iter_requests(s, keys, d, known)))

    def _iter_requests(self, s: str, keys: tuple[FactKey, ...], d: dt.date,
                       known: Mapping[str, _Known]) -> Iterator[Request]:
        """:meth:`_requests` lazily, duplicates included: the bulk first round only needs to know whether there
        is anything to ask, and stops at the first question (for 270,000 subjects).

        Per fact: the register and the household first where its planner says it needs them, then the fact's
        own questions from its declaration's planner (:mod:`proactief.schemes.factdefs`)."""
        reg, listed = self._household(s, known, d)
        members = [m for m in listed if m.membership.covers(d)] if isinstance(listed, tuple) else None
        # A member's household is read from its reference person's answer, asked once for the whole household.
        head_pending = reg is not None and reg.reference is not None and listed is None
        # D before the register's date: today's household lacks whoever left since D (history when needed).
        partial = self._partial(s, known, d, listed)
        ctx = _Planning(s, d, known, reg, members, head_pending, partial)
        for key in keys:
            planner = key.spec.planner
            about_household = planner.about_household(key)
            if reg is None and (planner.reads_register or about_household):
                yield (Ask.PERSOON, s, None)
                yield from planner.while_register_pending(ctx, key)
                continue
            if head_pending and reg is not None and about_household:
                yield (Ask.PERSOON, reg.reference, None)
                yield from planner.while_household_pending(ctx, key)
                continue
            if partial and planner.needs_household_on_d(ctx, key):
                yield (Ask.HIST_GEZIN, s, None)
                if key.holder is Holder.REFERENCE_PERSON:
                    continue  # whose data counts is known once the household on D is
            yield from planner.plan(ctx, key)

    # ------------------------------------------------------------------------------------------ asking

    def _check(self, kind: Ask, statutes: Iterable[Statute] = ()) -> None:
        service = QUESTION[kind].service
        if service not in self._services:
            raise ProportionalityError(f"scheme {self.scheme.id} may not ask {service}")
        extra = [s for s in statutes if s not in self._statutes]
        if extra:
            raise ProportionalityError(f"scheme {self.scheme.id} may not ask statutes {', '.join(extra)}")

    def _prefetch_statutes(self, missing: Mapping[str, tuple[FactKey, ...]], known: dict[str, _Known],
                           d: dt.date) -> None:
        """Bulk fast path: through GeefSociaalStatuutVoorLijst, the statutes each waiting subject still needs,
        and for household statutes those of the members of its household in the city extract (a hint: members
        GeefPersoon names later that were not asked here get a single question). A subject whose outcome no
        statute can change (e.g. budgetbeheer already settles it) is not asked."""
        per_person: dict[str, set[Statute]] = defaultdict(set)
        for s, keys in missing.items():
            for k in keys:
                if k.statute is None:
                    continue
                per_person[s].add(k.statute)
                if k.holder is Holder.HOUSEHOLD:
                    for m in self.city.household_of(s):
                        per_person[m].add(k.statute)
        held = self._hold_back(((who, sts, Ask.STATUUT) for who, sts in per_person.items()), known)
        groups: dict[frozenset[Statute], list[str]] = defaultdict(list)
        for who, sts in per_person.items():
            if who not in held:
                groups[frozenset(sts)].append(who)
        for sts, people in groups.items():
            self._check(Ask.STATUUT, sts)
            names = sorted(s.value for s in sts)
            self.stats.calls["SocZek.GeefSociaalStatuutVoorLijst-02.00"] += len(people)
            for insz, answer in self.client.sociaal_statuut_many(people, names, d, chunk_size=self.list_chunk_size,
                                                                 purpose=self.purpose):
                k = known.setdefault(insz, _Known())
                k.statutes.update(statutes_on_day(answer, names, d))
                note_answer(k, answer)

    def _execute(self, requests: list[Request], d: dt.date, known: dict[str, _Known]) -> None:
        """Ask the requested questions, one service at a time, each in parallel within the client's bound."""
        by_kind: dict[Ask, dict[str, set[Any]]] = defaultdict(lambda: defaultdict(set))
        held = self._hold_back(((who, (detail,), kind) for kind, who, detail in requests), known)
        for kind, who, detail in requests:
            if who not in held:
                by_kind[kind][who].add(detail)
        client, purpose = self.client, self.purpose
        for question in QUESTIONS:
            todo = by_kind.get(question.kind)
            if not todo:
                continue
            self.stats.calls[question.service] += sum(len(v) for v in todo.values())
            for group, people in question.groups(todo):
                self._check(question.kind, question.statutes(group))
                for insz, a in client.for_each(people, lambda i, q=question, g=group: q.ask(  # type: ignore[misc]
                        client, i, g, d, purpose)):
                    k = known.setdefault(insz, _Known())
                    question.store(k, group, a, d)
                    note_answer(k, a)

    def _hold_back(self, wanted: Iterable[tuple[str, Iterable[Any], Ask]],
                   known: dict[str, _Known]) -> set[str]:
        """Of the persons about to be asked about, those who objected and are not a subject of this block,
        looked up once per block in one call; what would have been asked about them becomes WITHHELD.
        ``wanted`` holds (person, details, question kind)."""
        if self.withheld is None:
            return set()
        wanted = [(who, tuple(details), kind) for who, details, kind in wanted if who not in self._subjects_now]
        fresh = [who for who in dict.fromkeys(w for w, _, _ in wanted)
                 if known.get(who) is None or known[who].withheld is None]
        if fresh:
            objected = self.withheld(fresh)
            for who in fresh:
                known.setdefault(who, _Known()).withheld = who in objected
        held: set[str] = set()
        for who, details, kind in wanted:
            k = known[who]
            if not k.withheld:
                continue
            held.add(who)
            self.stats.withheld += 1
            QUESTION[kind].withhold(k, details)
        return held

    def _differs(self, s: str, d: dt.date, known: Mapping[str, _Known]) -> bool:
        """Whether MAGDA's household of ``s`` on D (read only where a household fact was needed) has other
        members than the city's extract lists for ``s``. MAGDA decides; the difference is only counted."""
        if isinstance(self.city, EmptyCityData):
            return False
        members = self._current(s, known, d)
        if members is None:
            return False
        return {m.insz for m in members} != set(self.city.household_of(s))

    def _relied_on(self, s: str, d: dt.date, known: Mapping[str, _Known]) -> list[_Known]:
        """What was learnt about the subject and its current household members: what its decision rests on."""
        me = known.get(s)
        if me is None:
            return []
        out = [me]
        if me.register is not None:
            head = known.get(me.register.reference) if me.register.reference is not None else None
            if head is not None and head is not me:
                out.append(head)  # its answer is the household's, whatever it said
            for m in self._current(s, known, d) or ():
                mk = known.get(m.insz)
                if mk is not None and mk is not me and mk is not head:
                    out.append(mk)
        return out

    def _refs(self, s: str, d: dt.date, known: Mapping[str, _Known]) -> tuple[str, ...]:
        """References of the questions about the subject and its current household members."""
        return tuple(dict.fromkeys(ref for k in self._relied_on(s, d, known) for ref in k.refs))


@dataclass(slots=True)
class _Planning:
    """What the engine knows about one subject while planning its questions: what each fact's planner reads
    (:class:`~proactief.schemes.factdefs.base.PlanningContext`)."""

    subject: str
    d: dt.date
    known: Mapping[str, _Known]
    reg: RegisterObservation | None
    members: list[Member] | None
    head_pending: bool
    partial: bool

    @property
    def registered(self) -> bool:
        return self.reg is not None

    @property
    def record(self) -> RegisterRecord | Answer | None:
        return self.reg.record if self.reg is not None else None

    @property
    def reference(self) -> str | None:
        return self.reg.reference if self.reg is not None else None

    @property
    def residence_open(self) -> bool:
        return self.reg is not None and _residence_open(self.reg.record, self.d)

    def answered(self, who: str, ask: Ask) -> bool:
        k = self.known.get(who)
        return k is not None and QUESTION[ask].answered(k)

    def statute(self, who: str, statute: Statute) -> Iterator[Request]:
        k = self.known.get(who)
        if k is None or statute not in k.statutes:
            yield Ask.STATUUT, who, statute

    def tax_year(self, who: str) -> int | None:
        return Advisor._tax_year(self.known.get(who), self.d)

    def reference_person(self) -> str:
        assert self.reg is not None and self.members is not None
        return Advisor._reference_person(self.subject, self.reg, self.members)


def _quarantined(decision: Decision, *, transient: bool) -> Decision:
    """No decision for a subject whose record (or a household member's) MAGDA answered with a data error.

    The trace keeps each criterion's outcome; the reasons say why nothing was decided. A criterion the data
    error left unknown says ``MAGDA_DATA_ERROR`` instead of ``MAGDA_TRANSIENT`` unless a real transient failure
    was there too (then both: the next run may still help)."""
    def why(reason: str | None) -> str | None:
        return DATA_ERROR_REASON if reason == TRANSIENT_REASON and not transient else reason

    kept = tuple(r for r in decision.reasons if r == TRANSIENT_REASON and transient)
    trace = tuple(replace(t, reason=why(t.reason)) if t.reason == TRANSIENT_REASON else t for t in decision.trace)
    return replace(decision, decision=Outcome.UNDETERMINED, tier=None, amount=None, amounts=MappingProxyType({}),
                   percentages=MappingProxyType({}), reasons=(DATA_ERROR_REASON, *kept), trace=trace, grant=None)


def _residence_open(record: RegisterRecord | Answer, d: dt.date) -> bool:
    """Only today's residences are known, none covers D and the person was alive on D: the history decides."""
    return (isinstance(record, RegisterRecord) and record.earlier_residences == "not_asked"
            and (record.died is None or record.died > d)
            and not any(a.kind == "main" and a.span.covers(d) for a in record.addresses))

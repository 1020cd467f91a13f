"""``statute.NAME``: a KSZ social statute holds on D (KSZ – GeefSociaalStatuut), per statute and holder."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

from proactief.schemes.factdefs.base import (
    GEEF_SOCIAAL_STATUUT,
    HOUSEHOLD_SUFFIX,
    UNKNOWN,
    FactSpec,
    FactValue,
    Holder,
    Planner,
    PlanningContext,
    Request,
    Statute,
    register,
)
from proactief.schemes.factdefs.common import UNKNOWN_ANSWERS, Tri, U, holder_person, household_any, to_fact
from proactief.schemes.observations import Answer, Observations, PersonObservation

if TYPE_CHECKING:
    from proactief.schemes.facts import FactKey

STATUTE_WORDS: Mapping[Statute, tuple[str, str]] = MappingProxyType({  # (has it, has not), plain Dutch
    Statute.BIM_BVT: ("een verhoogde tegemoetkoming van het ziekenfonds",
                      "geen verhoogde tegemoetkoming van het ziekenfonds"),
    Statute.BIM_BVT_IN_FAMILY: ("een verhoogde tegemoetkoming via een gezinslid",
                                "geen verhoogde tegemoetkoming via een gezinslid"),
    Statute.LIVING_WAGES_PCSA_HELP: ("een leefloon of gelijkaardige hulp van het OCMW",
                                     "geen leefloon of gelijkaardige hulp van het OCMW"),
    Statute.PCSA_AND_BIM_HELP: ("hulp van het OCMW en een verhoogde tegemoetkoming",
                                "geen hulp van het OCMW met een verhoogde tegemoetkoming"),
})


def statute_reason(statute: Statute, holds: bool) -> str:
    """``STATUTE_NAME`` / ``NO_STATUTE_NAME``."""
    return f"STATUTE_{statute}" if holds else f"NO_STATUTE_{statute}"


def _reasons() -> dict[str, str]:
    out: dict[str, str] = {}
    for st, (has, has_not) in STATUTE_WORDS.items():
        out[statute_reason(st, True)] = f"Heeft {has}."
        out[statute_reason(st, False)] = f"Heeft {has_not}."
        out[statute_reason(st, True) + HOUSEHOLD_SUFFIX] = f"Iemand in het gezin heeft {has}."
        out[statute_reason(st, False) + HOUSEHOLD_SUFFIX] = f"Niemand in het gezin heeft {has}."
    return out


def statute_holds(person: PersonObservation, statute: Statute, d: dt.date) -> Tri:
    """``Resultaat/Code`` 1 and, when ``Periodes`` are listed, one of them covers D."""
    answer = person.statutes.get(statute)
    if answer is None:
        return None
    if answer in UNKNOWN_ANSWERS:
        return U
    if isinstance(answer, Answer):
        return False
    if answer.code != 1:
        return False
    return not answer.periods or any(p.covers(d) for p in answer.periods)


def derive(key: FactKey, obs: Observations, d: dt.date) -> FactValue | None:
    statute = key.statute
    assert statute is not None
    person = holder_person(key, obs, d)
    if person is None:
        return None
    if person == U:
        return UNKNOWN
    if key.holder is Holder.HOUSEHOLD:
        return to_fact(household_any(obs, d, lambda p: statute_holds(p, statute, d)))
    return to_fact(statute_holds(person, statute, d))  # type: ignore[arg-type]


class StatutePlanner(Planner):
    """The statute of the holder: the subject, every current member, or the reference person on D."""

    def while_register_pending(self, ctx: PlanningContext, key: FactKey) -> Iterable[Request]:
        if key.holder is Holder.REFERENCE_PERSON:
            # usually the subject: needed anyway
            yield from ctx.statute(ctx.subject, key.statute)  # type: ignore[arg-type]

    def while_household_pending(self, ctx: PlanningContext, key: FactKey) -> Iterable[Request]:
        if key.holder is Holder.HOUSEHOLD:
            yield from ctx.statute(ctx.subject, key.statute)  # type: ignore[arg-type]  # its own "yes" settles it

    def plan(self, ctx: PlanningContext, key: FactKey) -> Iterable[Request]:
        st, holder, s = key.statute, key.holder, ctx.subject
        assert st is not None
        if holder is Holder.PERSON:
            yield from ctx.statute(s, st)
        elif ctx.registered and ctx.members is not None:
            if holder is Holder.HOUSEHOLD:
                for who in (s, *(m.insz for m in ctx.members)):
                    yield from ctx.statute(who, st)
            else:
                yield from ctx.statute(ctx.reference_person(), st)
        elif ctx.registered and holder is Holder.HOUSEHOLD and not ctx.head_pending:
            yield from ctx.statute(s, st)  # the household could not be read: the subject's own "yes" settles it


SPEC = register(FactSpec(
    name="statute",
    kind="bool",
    label_nl="sociaal statuut",
    source="KSZ – GeefSociaalStatuut",
    source_kind="magda",
    services=(GEEF_SOCIAAL_STATUUT,),
    holders=(Holder.PERSON, Holder.HOUSEHOLD, Holder.REFERENCE_PERSON),
    # the statute's codes are built per statute and holder, see FactKey.reason
    reasons_nl=_reasons(),
    per_statute=True,
    derive=derive,
    planner=StatutePlanner(),
))

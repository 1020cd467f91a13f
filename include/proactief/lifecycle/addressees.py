"""Who a notification is addressed to, and the name it says (issue 17.2).

A scheme's ``notification.recipient`` says who is told:

- ``person``, ``reference_person``: the grant's holder (IVAGO's holder is the household's reference person
  already). Nothing to resolve.
- ``parents``: the parent(s) in the holder's household. The onderwijskorting is booked on the *child's* invoice
  account (the grant's holder), but the message goes to the parents, and one message per household lists every
  child and school: the notify step addresses each child's notification to the same parent, and the dispatcher
  gathers one person's pending notifications into one message (:mod:`proactief.lifecycle.outbox`).

**Source: the city's register extract** (``resident``), not MAGDA. The extract already has what is needed for every
child in one read — the household (``household_id``), each member's position (``01`` reference person, ``02``
partner, ``03``/``11`` child …), the e-mail address and postal address the message goes to, and the name
(``first_name``, ``last_name``). MAGDA would need a consultation per child (and per letter, for a name), each
audited under a purpose code, and a member's ``GeefPersoon`` does not even list the household (only its reference
person's does): more consultations for what the city's own register holds, against proportionality, and a
dispatch that stops when MAGDA is down.

The parents of a child: the members of its household in position ``01`` then ``02``, not the child itself and not
gone from the extract. The message goes to the first of them who has not objected (opt-out); the greeting of a
message that is only about the children names every parent of the household. A holder who is in position ``01`` or
``02`` (an adult, a young person living on their own) and a child the extract lists without a household or without
a parent are addressed themselves — there is nobody else to write to (counted: ``no_parent_in_extract``).

Names are read when a message is sent, to address it, and nowhere else: never copied into a decision, grant,
outbox row, notice or log.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field

from sqlalchemy import Connection, select

from proactief.ledger.models import Resident

__all__ = ["PARENT_POSITIONS", "Addressing", "addressees", "household_parents", "names", "parents_of"]

PARENT_POSITIONS = ("01", "02")
"""Positions of the register (``Positie/Code``) that make a household member a parent of its children: the reference
person and the partner."""
_CHUNK = 5000


@dataclass(frozen=True)
class Addressing:
    """Who each holder's notification goes to (``to``: holder → addressee INSZ; absent = the holder itself) and
    whose cannot be sent to anybody (``skipped``: every parent objected). Counts only in ``figures``."""

    to: Mapping[str, str] = field(default_factory=dict, repr=False)
    skipped: frozenset[str] = field(default_factory=frozenset, repr=False)
    figures: Mapping[str, int] = field(default_factory=dict)


def _chunks(items: list[str]) -> Iterable[list[str]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i:i + _CHUNK]


def parents_of(conn: Connection, children: Iterable[str]) -> dict[str, tuple[str, ...] | None]:
    """Per holder, the parents in its household by the extract (``01`` first, then ``02``; INSZ order within a
    position), or ``None`` when the holder is an adult of its household itself (position ``01``/``02``). A holder
    the extract lists without a household (or not at all) has no parents: ``()``."""
    wanted = list(dict.fromkeys(children))
    out: dict[str, tuple[str, ...] | None] = {c: () for c in wanted}
    homes: dict[str, list[str]] = defaultdict(list)
    for part in _chunks(wanted):
        for insz, hid, position in conn.execute(select(Resident.insz, Resident.household_id, Resident.position)
                                                .where(Resident.insz.in_(part), Resident.left_at.is_(None))):
            if position in PARENT_POSITIONS:
                out[insz] = None
            elif hid:
                homes[hid].append(insz)
    for hid, ordered in _parents_by_household(conn, homes).items():
        for child in homes[hid]:
            out[child] = tuple(p for p in ordered if p != child)
    return out


def _parents_by_household(conn: Connection, households: Iterable[str]) -> dict[str, list[str]]:
    """Household id -> its reference person and partner still in the extract, in position order."""
    out: dict[str, list[str]] = {}
    for part in _chunks(sorted(households)):
        adults: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for insz, hid, position in conn.execute(
                select(Resident.insz, Resident.household_id, Resident.position)
                .where(Resident.household_id.in_(part), Resident.position.in_(PARENT_POSITIONS),
                       Resident.left_at.is_(None))):
            adults[hid].append((position, insz))
        for hid in part:
            out[hid] = [insz for _pos, insz in sorted(adults.get(hid, ()))]
    return out


def addressees(conn: Connection, recipient: str, holders: Iterable[str],
               opted_out: Callable[[Connection, Iterable[str]], Collection[str]]) -> Addressing:
    """Who the notifications of ``holders`` go to under the scheme's ``notification.recipient``. Only ``parents``
    addresses somebody else; a parent who objected (``opted_out(conn, people)`` names them) is passed over, and a
    child all of whose parents objected is ``skipped`` (nobody to write to)."""
    if recipient != "parents":
        return Addressing()
    to: dict[str, str] = {}
    skipped: set[str] = set()
    figures = {"to_parents": 0, "no_parent_in_extract": 0, "parents_opted_out": 0}
    found = parents_of(conn, holders)
    objected = set(opted_out(conn, [p for ps in found.values() for p in ps or ()]))
    for holder, parents in found.items():
        if not parents:  # an adult of its own household, or no parent in the extract: the holder itself
            figures["no_parent_in_extract"] += parents is not None
            continue
        reachable = [p for p in parents if p not in objected]
        if not reachable:
            skipped.add(holder)
            figures["parents_opted_out"] += 1
            continue
        to[holder] = reachable[0]
        figures["to_parents"] += 1
    return Addressing(to, frozenset(skipped), {k: v for k, v in figures.items() if v})


def household_parents(conn: Connection, addressees_: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Per addressee, every parent (``01``, ``02``) of the addressee's household, the addressee first: whom a
    message about the household's children greets."""
    wanted = list(dict.fromkeys(addressees_))
    out: dict[str, tuple[str, ...]] = {a: (a,) for a in wanted}
    homes: dict[str, list[str]] = defaultdict(list)
    for part in _chunks(wanted):
        for insz, hid in conn.execute(select(Resident.insz, Resident.household_id)
                                      .where(Resident.insz.in_(part), Resident.left_at.is_(None))):
            if hid:
                homes[hid].append(insz)
    for hid, others in _parents_by_household(conn, homes).items():
        for a in homes[hid]:
            out[a] = (a, *(p for p in others if p != a))
    return out


def names(conn: Connection, people: Iterable[str]) -> dict[str, str]:
    """``"<first name> <last name>"`` of each person the extract names (either part may be missing); a person
    without a name is absent. Read at send time, to address a message: the caller must not store or log it."""
    wanted = list(dict.fromkeys(people))
    out: dict[str, str] = {}
    for part in _chunks(wanted):
        for insz, first, last in conn.execute(select(Resident.insz, Resident.first_name, Resident.last_name)
                                              .where(Resident.insz.in_(part))):
            name = " ".join(p.strip() for p in (first, last) if p and p.strip())
            if name:
                out[insz] = name
    return out

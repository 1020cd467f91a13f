"""What the simulator remembers between calls: repertorium inscriptions, mutation queues, LEZ registrations.

All of it lives in the one server process and is reset through ``/_sim/reset``. Access happens from one
event loop thread, so plain dicts suffice.
"""

from __future__ import annotations

import uuid
from collections import Counter, OrderedDict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

__all__ = ["Inschrijving", "Repertorium", "Mutatie", "MutationQueues", "LezEntry", "LezRegister"]


@dataclass(frozen=True, slots=True)
class Inschrijving:
    afnemer: str
    hoedanigheid: str
    begin: date
    end: date | None = None

    def active(self, day: date) -> bool:
        return self.begin <= day and (self.end is None or day <= self.end)


class Repertorium:
    """Who registered whom (``RegistreerInschrijving``): INSZ -> afnemer -> inscription."""

    def __init__(self) -> None:
        self.by_insz: dict[str, dict[str, Inschrijving]] = {}
        self.per_afnemer: Counter[str] = Counter()

    def register(self, insz: str, ins: Inschrijving) -> bool:
        """Record an inscription; False when this afnemer had one already (MAGDA then warns 40143)."""
        regs = self.by_insz.setdefault(insz, {})
        existed = ins.afnemer in regs
        regs[ins.afnemer] = ins
        if not existed:
            self.per_afnemer[ins.afnemer] += 1
        return not existed

    def unregister(self, insz: str, afnemer: str) -> bool:
        regs = self.by_insz.get(insz)
        if not regs or afnemer not in regs:
            return False
        del regs[afnemer]
        if not regs:
            del self.by_insz[insz]
        self.per_afnemer[afnemer] -= 1
        return True

    def is_registered(self, insz: str, afnemer: str | None, day: date) -> bool:
        """Registered by this afnemer (or, with ``afnemer`` None, by any afnemer) and active on ``day``."""
        regs = self.by_insz.get(insz)
        if not regs:
            return False
        if afnemer is None:
            return any(r.active(day) for r in regs.values())
        ins = regs.get(afnemer)
        return ins is not None and ins.active(day)

    def afnemers_of(self, insz: str) -> list[str]:
        return list(self.by_insz.get(insz, ()))

    def describe(self) -> dict[str, Any]:
        return {"persons": len(self.by_insz), "afnemers": {a: n for a, n in self.per_afnemer.items() if n}}


@dataclass(frozen=True, slots=True)
class Mutatie:
    """One pending notification: this person changed (MAGDA says who, not what)."""

    insz: str
    kind: str
    day: date
    referte: str


class _Queue:
    __slots__ = ("pending", "outstanding_ref", "outstanding", "last_acked")

    def __init__(self) -> None:
        self.pending: OrderedDict[str, Mutatie] = OrderedDict()
        self.outstanding_ref: str | None = None
        self.outstanding: list[Mutatie] = []
        self.last_acked: str | None = None


class MutationQueues:
    """Per afnemer, the persons it registered that changed since it last acknowledged a batch.

    Reading protocol (``GeefPersoonMutatiesNotificaties``): an answer carries a batch and an
    ``Ontvangstreferte``. Sending that reference back acknowledges the batch and returns the next one.
    Asking without a reference (or again with the last acknowledged one) re-delivers the unacknowledged batch,
    so a lost answer loses nothing. Nothing pending -> 30016; any other reference -> 30014.
    """

    def __init__(self) -> None:
        self.queues: dict[str, _Queue] = {}

    def push(self, insz: str, afnemers: list[str], kind: str, day: date) -> int:
        """Queue that ``insz`` changed on ``day`` (the simulator's clock day) for each of ``afnemers``."""
        for a in afnemers:
            q = self.queues.setdefault(a, _Queue())
            if insz not in q.pending:
                q.pending[insz] = Mutatie(insz, kind, day, uuid.uuid4().hex[:32])
        return len(afnemers)

    def read(self, afnemer: str, receipt: str | None, batch_size: int) -> tuple[str, str | None, list[Mutatie]]:
        """("ok", reference, batch) | ("empty", None, []) | ("invalid", None, [])."""
        q = self.queues.get(afnemer)
        if q is None:
            return ("invalid", None, []) if receipt else ("empty", None, [])
        if receipt:
            if receipt == q.outstanding_ref:
                q.last_acked, q.outstanding_ref, q.outstanding = receipt, None, []
            elif receipt != q.last_acked:
                return "invalid", None, []
        if q.outstanding_ref is None:
            if not q.pending:
                return "empty", None, []
            batch = []
            while q.pending and len(batch) < batch_size:
                batch.append(q.pending.popitem(last=False)[1])
            q.outstanding_ref, q.outstanding = uuid.uuid4().hex[:32], batch
        return "ok", q.outstanding_ref, q.outstanding

    def describe(self) -> dict[str, Any]:
        return {a: {"pending": len(q.pending), "unacknowledged": len(q.outstanding)} for a, q in self.queues.items()}


@dataclass(frozen=True, slots=True)
class LezEntry:
    kind: str
    """``BuitenlandsVoertuig`` | ``Vrijstelling`` | ``CorrectieEuronorm`` | ``Roetfilter``."""
    referte: str
    bron: str
    added: datetime
    body: str
    """The registered element's children, re-serialised (without the element itself)."""


class LezRegister:
    """LEZ registrations per (number plate, country)."""

    def __init__(self) -> None:
        self.entries: dict[tuple[str, str], OrderedDict[str, LezEntry]] = {}

    def add(self, plate: str, country: str, entry: LezEntry) -> None:
        self.entries.setdefault((plate, country), OrderedDict())[entry.referte] = entry

    def get(self, plate: str, country: str) -> list[LezEntry]:
        return list(self.entries.get((plate, country), {}).values())

    def remove(self, plate: str, country: str, kind: str | None, referte: str | None, bron: str) -> int:
        """Remove by reference (one kind), or everything of that source when ``referte`` is None."""
        regs = self.entries.get((plate, country))
        if not regs:
            return 0
        gone = [r for r, e in regs.items()
                if (referte is None and e.bron == bron) or (r == referte and (kind is None or e.kind == kind))]
        for r in gone:
            del regs[r]
        if not regs:
            del self.entries[(plate, country)]
        return len(gone)

    def describe(self) -> dict[str, Any]:
        return {"plates": len(self.entries), "entries": sum(len(v) for v in self.entries.values())}

"""A simulated year of Proactief Gent, day by day on the simulator's clock, in-process, on PostgreSQL.

Used by ``tests/year/test_simulated_year.py`` and ``benchmarks/bench_year.py``. One :class:`SimulatedYear` holds a
timeline (``proactief_sim.population.timeline``), a MAGDA simulator serving its store with transient faults, the
UiTPAS/eBox stand-ins, an SMTP sink and a migrated ledger. :meth:`SimulatedYear.run` walks the days; each day:

1. the simulator's clock is set to the day (``RunningSimulator.set_clock``);
2. the city's extract of the day is imported (``import_city_data``) when it differs from yesterday's;
3. the opt-out intake of the day: objections and withdrawals (``record_objection`` / ``withdraw_objection``),
   then, as the intake DAG does, the repertorium unsubscription of new objectors (``unsubscribe_objectors``: one
   audited ``RegistreerUitschrijving`` each, tried again at the next intake when MAGDA did not answer);
4. on Mondays the mutations work (``magda_mutations`` runs Monday 04:00): the persons whose facts changed since
   the last Monday are queued at the simulator, fetched as a batch and re-evaluated for every scheme, as
   ``reevaluate_mutations`` does (a run per scheme with ``mutation_batches``);
5. every scheduled run due that day, in schedule order (IVAGO 1 January, onderwijskorting 1 September, UiTPAS the
   1st, LEZ Mondays), through the lifecycle's step functions; subjects left undetermined by a transient MAGDA
   fault are decided again the next day in a run of the same period limited to them (the runbook's "re-decide a
   period"), up to :data:`REDECIDE_ATTEMPTS` times;
6. the outbox is dispatched (grants to UiTPAS/IVAGO/school/MAGDA LEZ, notices by e-mail over SMTP, eBox, letter),
   and the letters on objections (``dispatch_decision_letters``);
7. on :data:`CASEWORK_DAY` two residents refused the kansentarief object (*bezwaar*, issue 17.3): a case worker
   grants one by hand (a second person confirms; the person has no UiTPAS, so the grant waits for the card) and
   refuses the other; every later run must respect both (:func:`check_casework`).

:func:`check_year` then compares the ledger with the timeline's truth (see its docstring).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import random
import socket
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from proactief.casework import (
    confirm_manual_decision,
    dispatch_decision_letters,
    record_bezwaar,
    record_manual_decision,
)
from proactief.delivery.config import DeliveryConfig
from proactief.ledger import make_engine, upgrade
from proactief.ledger.models import (
    Bezwaar,
    DecisionRow,
    GrantRow,
    MagdaConsultation,
    ManualDecision,
    Notice,
    OptOutEvent,
    OutboxMessage,
    SchemeRun,
)
from proactief.lifecycle import import_city_data
from proactief.lifecycle.manual_decisions import MANUAL_REASON, PREVAILING
from proactief.lifecycle.mutations import MutationFetchError, fetch_mutations
from proactief.lifecycle.optout import (
    UNSUBSCRIBE_PURPOSE,
    record_objection,
    unsubscribe_objectors,
    withdraw_objection,
)
from proactief.lifecycle.outbox import dispatch_grants, dispatch_notices
from proactief.lifecycle.runs import (
    TRANSIENT_REASONS,
    check,
    decide,
    finish_run,
    grant,
    notify,
    open_run,
    query_chunk,
    select_population,
)
from proactief.magda.config import MagdaConfig
from proactief.notify.render import render
from proactief.wiring import grant_adapters, notice_channels
from proactief_sim.population.expected import SCHEME_IDS, school_year_of
from proactief_sim.population.timeline import Timeline, build_timeline
from proactief_sim.simulator.testing import RunningSimulator, running_simulator
from proactief_sim.standins.uitpas import has_demo_pass

PASSHOLDER_SHARE = 0.7
"""The part of the people with a UiTPAS (by a hash of the INSZ, ``proactief_sim.standins.uitpas.has_demo_pass``):
the others' kansentarief waits for a pass ("wacht op pas"), told in one letter, like in Ghent."""
UITPAS, IVAGO, ONDERWIJS, LEZ = "uitpas-kansentarief", "ivago-tegemoetkoming", "onderwijskorting", "lez-vrijstelling"
AFNEMER = "gent.be/proactief"
REDECIDE_ATTEMPTS = 3
START, END = dt.date(2026, 1, 1), dt.date(2027, 1, 31)
CASEWORK_DAY = dt.date(2026, 3, 10)
"""The day two residents refused the kansentarief in March's run object and a case worker decides (a day before
the real today: a bezwaar received in the future is refused)."""
MANUAL_UNTIL = dt.date(2026, 12, 31)


def due_runs(day: dt.date) -> list[str]:
    """The scheduled runs due on ``day``, in schedule order (all at 06:00: yearly before monthly before weekly)."""
    out = []
    if (day.month, day.day) == (1, 1):
        out.append(IVAGO)
    if (day.month, day.day) == (9, 1):
        out.append(ONDERWIJS)
    if day.day == 1:
        out.append(UITPAS)
    if day.weekday() == 0:
        out.append(LEZ)
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Inbox:
    """An aiosmtpd handler keeping how many messages arrived (the bodies are not needed)."""

    received: int = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        self.received += 1
        return "250 OK"


@dataclass
class PlannedRun:
    scheme_id: str
    logical_date: dt.date
    """The day the scheduled run was for (its D follows from the scheme)."""
    day: dt.date
    """The day it actually ran (a re-decision runs later)."""
    run_id: int | None = None
    kind: str = "scheduled"
    """``scheduled``, ``redecide`` or ``mutations``."""
    error: str | None = None


@dataclass
class YearLog:
    runs: list[PlannedRun] = field(default_factory=list)
    objections: list[tuple[dt.date, str, str]] = field(default_factory=list)
    """(day, INSZ, ``object`` | ``withdraw``) as the intake recorded them."""
    clock_supported: bool = True
    clock_error: str | None = None
    imports: int = 0
    mutation_batches: int = 0
    unsubscriptions: int = 0
    timings: Counter[str] = field(default_factory=Counter)
    days: int = 0
    casework: dict[str, str] = field(default_factory=dict)
    """``grant`` / ``refuse`` → the INSZ of the person decided by hand that way (never printed)."""
    manual_ids: dict[str, int] = field(default_factory=dict)


class SimulatedYear:
    """The whole setting of a simulated year; use :func:`simulated_year` to build one."""

    def __init__(self, timeline: Timeline, engine: Engine, sim: RunningSimulator, folder: Path,
                 delivery: DeliveryConfig, inbox: Inbox, *, seed: int = 0, objectors: int | None = None) -> None:
        self.timeline, self.engine, self.sim, self.folder = timeline, engine, sim, folder
        self.delivery, self.inbox = delivery, inbox
        self.log = YearLog()
        self.magda = MagdaConfig(base_url=sim.base_url, identificatie=AFNEMER, backoff_base=0.0, backoff_cap=0.0)
        self.adapters = grant_adapters(delivery, magda=self.magda, engine=engine)
        self.channels = notice_channels(delivery)
        self._digest: str | None = None
        self._changed_since_monday: set[str] = set()
        self._redecide: dict[tuple[str, dt.date], tuple[int, list[str]]] = {}
        self._unsubscribe_pending = False
        self.intake = self._plan_intake(seed, objectors)
        self.changes = self._changes_by_day()

    # -- the plan -------------------------------------------------------------------------------------------
    def _plan_intake(self, seed: int, objectors: int | None) -> dict[dt.date, list[tuple[str, str]]]:
        """Objections spread over the year (about 1 % of the residents, half of them household members of a
        likely beneficiary), a third withdrawn some weeks later."""
        rng = random.Random(f"year-intake:{seed}")
        rows = self.timeline.residents_on(START + dt.timedelta(days=180))
        people = sorted({r[0] for r in rows})
        n = objectors if objectors is not None else max(10, len(people) // 100)
        chosen = rng.sample(people, min(n, len(people)))
        plan: dict[dt.date, list[tuple[str, str]]] = defaultdict(list)
        span = (END - START).days
        for insz in chosen:
            day = START + dt.timedelta(days=rng.randint(10, span - 40))
            plan[day].append((insz, "object"))
            if rng.random() < 0.35:
                plan[day + dt.timedelta(days=rng.randint(14, 90))].append((insz, "withdraw"))
        return plan

    def _changes_by_day(self) -> dict[dt.date, set[str]]:
        """Who has a fact that changes on each day (what MAGDA would report as a mutation)."""
        out: dict[dt.date, set[str]] = defaultdict(set)
        pop = self.timeline.population

        def add(day: dt.date | None, insz: str) -> None:
            if day is not None and START <= day <= END:
                out[day].add(insz)

        for p in pop.persons.values():
            add(p.death, p.insz)
            add(p.birth, p.insz)
            for r in p.residences:
                add(r.span.begin, p.insz)
                add(r.span.end and r.span.end + dt.timedelta(days=1), p.insz)
            for spans in p.statutes.values():
                for s in spans:
                    add(s.begin, p.insz)
                    add(s.end and s.end + dt.timedelta(days=1), p.insz)
            for c in p.cards:
                add(c.delivery, p.insz)
                add(c.end and c.end + dt.timedelta(days=1), p.insz)
            for v in p.vehicles:
                add(v.first_registration, p.insz)
                add(v.cancelled, p.insz)
            for a in p.assessments:
                add(a.available_from, p.insz)
        for m in pop.memberships:
            add(m.span.begin, m.insz)
            add(m.span.end and m.span.end + dt.timedelta(days=1), m.insz)
        return out

    # -- one day --------------------------------------------------------------------------------------------
    def _timed(self, name: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            self.log.timings[name] += time.perf_counter() - t0

    def set_clock(self, day: dt.date) -> None:
        if not self.log.clock_supported:
            return
        try:
            self.sim.set_clock(day)
        except Exception as exc:  # noqa: BLE001 - the clock is H1's new API: report, do not stop the year
            self.log.clock_supported = False
            self.log.clock_error = f"{type(exc).__name__}: {exc}"[:300]

    def import_day(self, day: dt.date, *, force: bool = False) -> bool:
        folder = self.timeline.write_city(self.folder / "city", day)
        digest = hashlib.sha256(b"".join((folder / n).read_bytes() for n in
                                         ("residents.csv", "ocmw.csv", "enrolments.csv"))).hexdigest()
        if digest == self._digest and not force:
            return False
        import_city_data(self.engine, folder)
        self._digest = digest
        self.log.imports += 1
        return True

    def run_day(self, day: dt.date) -> None:
        self.set_clock(day)
        self._timed("import", self.import_day, day)
        for insz, action in self.intake.get(day, ()):
            if action == "object":
                record_objection(self.engine, insz, channel="web", recorded_by="year-test")
            else:
                withdraw_objection(self.engine, insz, channel="web", recorded_by="year-test")
            self.log.objections.append((day, insz, action))
            self._unsubscribe_pending |= action == "object"
        if self._unsubscribe_pending:
            self._timed("opt-out intake", self.unsubscribe)
        self._changed_since_monday |= self.changes.get(day, set())
        if day.weekday() == 0:
            self._timed("mutations", self.mutations, day)
        for (scheme_id, logical), (attempt, subjects) in sorted(self._redecide.items()):
            del self._redecide[(scheme_id, logical)]
            self._timed(f"redecide {scheme_id}", self.run_scheme, scheme_id, logical, day, kind="redecide",
                        subjects=subjects, attempt=attempt)
        for scheme_id in due_runs(day):
            self._timed(f"run {scheme_id}", self.run_scheme, scheme_id, day, day)
        if day == CASEWORK_DAY:
            self._timed("casework", self.casework, day)
        self._timed("dispatch", self.dispatch)
        self.log.days += 1

    def unsubscribe(self) -> None:
        """The intake's repertorium unsubscription (``dags/opt_out_intake.py``); on a day without pending
        objectors the DAG's call finds nothing, so it is only made while some are pending."""
        from proactief.ledger.audit import LedgerAuditSink
        from proactief.magda.client import MagdaClient

        with MagdaClient(self.magda, LedgerAuditSink(self.engine)) as client:
            counts = unsubscribe_objectors(self.engine, client)
        self.log.unsubscriptions += counts["unsubscribed"] + counts["not_inscribed"]
        self._unsubscribe_pending = counts["failed"] > 0

    def mutations(self, day: dt.date) -> None:
        """MAGDA reports last week's changed persons; every scheme re-evaluates them (``reevaluate_mutations``)."""
        residents = {r[0] for r in self.timeline.residents_on(day)}
        changed = sorted(self._changed_since_monday & residents)
        self._changed_since_monday = set()
        if not changed:
            return
        self.sim.admin("POST", "repertorium", {"afnemer": AFNEMER, "insz": changed})
        self.sim.admin("POST", "mutations", {"insz": changed})
        batches = []
        while True:
            try:
                fetched = fetch_mutations(self.engine, self.magda,
                                          external_id=f"year/mutations/{day}/{len(batches)}")
            except MutationFetchError:
                continue  # MAGDA busy: the DAG's task retries
            if len(batches) > 50:
                break
            if not fetched.get("batch_id") or not fetched.get("persons"):
                break
            batches.append(int(fetched["batch_id"]))
        if not batches:
            return
        self.log.mutation_batches += len(batches)
        for scheme_id in SCHEME_IDS:
            self.run_scheme(scheme_id, day, day, kind="mutations", batches=batches)

    def run_scheme(self, scheme_id: str, logical: dt.date, day: dt.date, *, kind: str = "scheduled",
                   subjects: list[str] | None = None, batches: list[int] | None = None, attempt: int = 0) -> None:
        """One run through the lifecycle's steps, as the scheme DAG runs them. A failed MAGDA gate stops the run
        (the period is decided again the next day); a decisions jump is approved, as the owner would."""
        planned = PlannedRun(scheme_id, logical, day, kind=kind)
        self.log.runs.append(planned)
        ext = f"year/{scheme_id}/{logical}/{kind}/{day}/{attempt}"
        try:
            run_id = open_run(self.engine, scheme_id, logical, external_id=ext, subjects=subjects or (),
                              mutation_batches=batches or (), chunk_size=1000)
            planned.run_id = run_id
            selected = select_population(self.engine, run_id)
            for chunk in selected["chunks"]:
                query_chunk(self.engine, run_id, chunk, self.magda)
            gate = check(self.engine, run_id, "magda_results")
            if not gate.success:
                raise RuntimeError(f"magda_results gate: {gate.summary()}")
            decide(self.engine, run_id)
            check(self.engine, run_id, "decisions")  # a jump needs the owner's approval: granted here
            grant(self.engine, run_id)
            check(self.engine, run_id, "reconciliation")
            notify(self.engine, run_id)
            finish_run(self.engine, run_id)
        except Exception as exc:  # noqa: BLE001 - recorded; the checks report every failed run
            planned.error = f"{type(exc).__name__}: {exc}"[:500]
            if kind != "mutations" and attempt < REDECIDE_ATTEMPTS:
                self._redecide[(scheme_id, logical)] = (attempt + 1, list(subjects or ()))
            return
        if kind == "mutations":
            return
        with self.engine.connect() as conn:
            waiting = [i for i, reasons in conn.execute(
                select(DecisionRow.insz, DecisionRow.reasons).where(DecisionRow.run_id == run_id,
                                                                    DecisionRow.decision == "undetermined"))
                if set(reasons or ()) & TRANSIENT_REASONS]
        if waiting and attempt < REDECIDE_ATTEMPTS:
            self._redecide[(scheme_id, logical)] = (attempt + 1, waiting)

    def dispatch(self) -> None:
        dispatch_grants(self.engine, self.adapters)
        dispatch_notices(self.engine, self.channels, render)
        dispatch_decision_letters(self.engine, self.channels)

    def casework(self, day: dt.date) -> None:
        """Two residents the March UiTPAS run refused, never entitled all year in the truth and untouched by the
        opt-out plan, object. The case worker grants the first by hand (one without a UiTPAS: the grant waits for
        the card) and a colleague confirms; the second is refused again."""
        with self.engine.connect() as conn:
            refused = sorted(conn.execute(
                select(DecisionRow.insz).join(SchemeRun, SchemeRun.id == DecisionRow.run_id)
                .where(DecisionRow.scheme_id == UITPAS, DecisionRow.reference_date == dt.date(2026, 3, 1),
                       DecisionRow.decision == "not_eligible", SchemeRun.external_id.like("%/scheduled/%"))
            ).scalars())
        planned = {insz for todo in self.intake.values() for insz, _ in todo}
        ever: set[str] = set()
        for month in range(1, 14):
            d = dt.date(2026 + (month - 1) // 12, (month - 1) % 12 + 1, 1)
            ever.update(e.subject_insz for e in self.timeline.expected(UITPAS, d) if e.eligible)
        candidates = sorted((i for i in set(refused) - ever - planned
                             if not set(self.timeline.household_on(i, day)) & planned),
                            key=lambda i: hashlib.sha256(i.encode()).hexdigest())
        granted = next(i for i in candidates if not has_demo_pass(i, PASSHOLDER_SHARE))
        kept = next(i for i in candidates if i != granted)
        self.log.casework = {"grant": granted, "refuse": kept}
        for outcome, insz in self.log.casework.items():
            bezwaar = record_bezwaar(self.engine, insz=insz, scheme_id=UITPAS, received_on=day,
                                     recorded_by="year-balie", channel="counter" if outcome == "grant" else "email")
            md = record_manual_decision(
                self.engine, insz=insz, scheme_id=UITPAS, outcome=outcome, bezwaar_id=bezwaar.id,
                reason="Het dossier werd met de hand nagekeken.", legal_ground="Reglement UiTPAS Gent, art. 3",
                decided_by="year-dossier-1", valid_until=MANUAL_UNTIL if outcome == "grant" else None)
            if outcome == "grant":
                confirm_manual_decision(self.engine, md.id, confirmed_by="year-dossier-2")
            self.log.manual_ids[outcome] = md.id

    def run(self, start: dt.date = START, end: dt.date = END) -> YearLog:
        day = start
        while day <= end:
            self.run_day(day)
            day += dt.timedelta(days=1)
        # the last re-decisions are due the day after the year
        while self._redecide:
            self.run_day(day)
            day += dt.timedelta(days=1)
        return self.log

    def rerun_day(self, day: dt.date) -> None:
        """Run a day's scheduled runs again (new ledger runs of the same periods) and dispatch: must change
        nothing that a citizen or a downstream system sees."""
        self.set_clock(day)
        self.import_day(day, force=True)
        for scheme_id in due_runs(day):
            self.run_scheme(scheme_id, day, day, kind="rerun")
        self._redecide.clear()
        self.dispatch()


@contextlib.contextmanager
def simulated_year(pg_url: str, workdir: Path, *, size: int = 5_000, seed: int = 11, fault_rate: float = 0.02,
                   objectors: int | None = None) -> Iterator[SimulatedYear]:
    """A timeline of ``size`` persons over 2026-01-01 … 2027-01-31, served with ``fault_rate`` transient MAGDA
    faults (half 99996 busy, which the client retries; half 60006 no answer from the source, which leaves the
    subject undetermined), and a migrated ledger at ``pg_url``."""
    from aiosmtpd.controller import Controller

    from proactief_sim.standins.server import build_app
    from proactief_sim.standins.testing import serving

    timeline = build_timeline(size, seed, as_of=END, history_from=START)
    store = timeline.write_store(workdir / "magda-population.jsonl")
    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    upgrade(pg_url)
    engine = make_engine(pg_url)
    faults = {"99996": fault_rate / 2, "60006": fault_rate / 2} if fault_rate else {}
    try:
        with running_simulator(population=str(store), repertorium_check=False, seed=seed, fault_rates=faults,
                               clock=START) as sim, serving(build_app(passholder_share=PASSHOLDER_SHARE)) as standins:
            delivery = DeliveryConfig(
                uitpas_url=f"{standins}/uitpas", uitpas_client_id="proactief-gent",
                uitpas_client_secret="standin-secret", ebox_url=f"{standins}/ebox",  # noqa: S106
                smtp_host="127.0.0.1", smtp_port=port, ivago_dir=str(workdir / "ivago"),
                school_dir=str(workdir / "school"), letter_dir=str(workdir / "letters"))
            yield SimulatedYear(timeline, engine, sim, workdir, delivery, inbox, seed=seed, objectors=objectors)
    finally:
        controller.stop()
        engine.dispose()


# ------------------------------------------------------------------------------------------------ the checks


def _period(scheme_id: str, d: dt.date) -> str:
    if scheme_id == ONDERWIJS:
        return school_year_of(d)
    return str(d.year)


@dataclass
class YearFindings:
    """What the end-of-year checks found; every list holds counts or anonymous keys, never an INSZ in a message."""

    expected_grants: int = 0
    missing: list[tuple[str, str, str]] = field(default_factory=list)
    """(scheme, period, INSZ) entitled in the truth but without a grant."""
    unexpected: list[tuple[str, str, str]] = field(default_factory=list)
    duplicates: list[tuple[str, str, str]] = field(default_factory=list)
    duplicate_toegekend: list[tuple[str, str, str]] = field(default_factory=list)
    renew_without_renewal: int = 0
    stop_messages_wrong: int = 0
    lez_moved_not_told: int = 0
    consulted_while_objecting: int = 0
    consulted_while_objecting_subject: int = 0
    unsubscriptions_wrong: int = 0
    """Objections whose repertorium unsubscription is missing or was made more than once."""
    failed_runs: list[tuple[str, str, str, str]] = field(default_factory=list)
    undetermined_left: int = 0
    excused_opted_out: int = 0
    excused_household_objection: int = 0
    excused_undetermined: int = 0
    casework_wrong: list[str] = field(default_factory=list)
    """What the year did against a case worker's decision (see :func:`check_casework`); no INSZ."""
    figures: dict[str, Any] = field(default_factory=dict)


_UNSUBSCRIBE = "Repertorium.RegistreerUitschrijving"
_UNSUBSCRIBED = frozenset({"ok", "definitive", "needs_inscription"})
"""Audit outcomes that end an unsubscription (``unsubscribe_objectors``); a transient one is tried again."""


def _opt_out_windows(engine: Engine) -> dict[str, list[tuple[dt.datetime, dt.datetime | None]]]:
    events: dict[str, list[tuple[dt.datetime, str]]] = defaultdict(list)
    with engine.connect() as conn:
        for insz, action, at in conn.execute(select(OptOutEvent.insz, OptOutEvent.action, OptOutEvent.at)
                                             .order_by(OptOutEvent.at, OptOutEvent.id)):
            events[insz].append((at, action))
    windows: dict[str, list[tuple[dt.datetime, dt.datetime | None]]] = defaultdict(list)
    for insz, evs in events.items():
        start = None
        for at, action in evs:
            if action == "object" and start is None:
                start = at
            elif action == "withdraw" and start is not None:
                windows[insz].append((start, at))
                start = None
        if start is not None:
            windows[insz].append((start, None))
    return windows


def _objecting_on(log: YearLog, day: dt.date) -> set[str]:
    state: dict[str, bool] = {}
    for d, insz, action in log.objections:
        if d <= day:
            state[insz] = action == "object"
    return {i for i, on in state.items() if on}


def check_year(year: SimulatedYear) -> YearFindings:
    """Compare the ledger with the timeline's truth.

    - Every person entitled on the reference date of a scheduled run (the truth on the subjects that run selects
      from its day's extract) has exactly one grant for that entitlement period (UiTPAS and IVAGO: calendar
      year; onderwijskorting: school year; LEZ: an exemption for that holder and plate covering D). Excused, and
      counted: persons with an active objection on the run's day, persons with an objecting household member on
      D (they may rightly be undetermined), and persons still undetermined after the re-decisions.
    - No grant for a person never entitled in that period (LEZ: a holder never entitled to that plate).
    - 0 duplicate grants; at most one "toegekend" per benefit and period; a renewal message only with a renewal
      grant; a stop message exactly once for every exemption ended early; an exemption that moved to another
      plate in the truth was ended and told.
    - 0 MAGDA consultations about a person between their objection and its withdrawal (audit log), except the
      one the objection itself causes: the repertorium unsubscription (``RegistreerUitschrijving`` under the
      opt-out purpose), which each objection gets exactly once (a transient failure before it is tried again).
    """
    tl, engine, log = year.timeline, year.engine, year.log
    f = YearFindings()
    with engine.connect() as conn:
        grants = conn.execute(select(GrantRow.id, GrantRow.scheme_id, GrantRow.insz, GrantRow.grant_key,
                                     GrantRow.valid_from, GrantRow.valid_until, GrantRow.terms,
                                     GrantRow.status)).all()
        outbox = conn.execute(select(OutboxMessage.grant_id, OutboxMessage.kind)).all()
        undetermined = conn.execute(
            select(DecisionRow.scheme_id, DecisionRow.reference_date, DecisionRow.insz, DecisionRow.decision,
                   DecisionRow.run_id)).all()
        consultations = conn.execute(select(MagdaConsultation.subject_insz, MagdaConsultation.requested_at,
                                            MagdaConsultation.service, MagdaConsultation.purpose,
                                            MagdaConsultation.outcome)
                                     .where(MagdaConsultation.subject_insz.is_not(None))).all()
        run_rows = conn.execute(select(SchemeRun.id, SchemeRun.status)).all()
        notices = conn.execute(select(Notice.status)).all()
    # the last decision per (scheme, D, person): undetermined there = still undetermined after re-decisions
    last: dict[tuple[str, dt.date, str], tuple[int, str]] = {}
    for scheme_id, d, insz, decision, run_id in undetermined:
        key = (scheme_id, d, insz)
        if key not in last or run_id > last[key][0]:
            last[key] = (run_id, decision)
    grants_by: dict[tuple[str, str, str], list[Any]] = defaultdict(list)
    lez_by: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for g in grants:
        if g.scheme_id == LEZ:
            lez_by[(g.insz, str((g.terms or {}).get("vehicle_plate") or (g.terms or {}).get("plate") or ""))].append(g)
        else:
            grants_by[(g.scheme_id, g.insz, g.grant_key.rsplit("|", 1)[-1])].append(g)
    kinds_by_grant: dict[int, Counter[str]] = defaultdict(Counter)
    for grant_id, kind in outbox:
        kinds_by_grant[grant_id][kind] += 1
    entitled: dict[tuple[str, str, str], bool] = {}
    lez_entitled: dict[tuple[str, str], list[dt.date]] = defaultdict(list)
    lez_plates_by_holder: dict[str, list[tuple[dt.date, str]]] = defaultdict(list)
    for run in log.runs:
        if run.kind != "scheduled":
            continue
        d = run.logical_date if run.scheme_id in (UITPAS, LEZ) else (
            dt.date(run.logical_date.year, 1, 1) if run.scheme_id == IVAGO else run.logical_date)
        objecting = _objecting_on(log, run.day)
        for e in tl.expected(run.scheme_id, d, extract_day=run.day):
            if not e.eligible:
                continue
            holder = e.reference_person_insz or e.subject_insz
            if holder in objecting or e.subject_insz in objecting:
                f.excused_opted_out += 1
                continue
            if set(tl.household_on(e.subject_insz, d)) & objecting:
                f.excused_household_objection += 1
                continue
            state = last.get((run.scheme_id, d, e.subject_insz))
            if state is not None and state[1] == "undetermined":
                f.excused_undetermined += 1
                continue
            if run.scheme_id == LEZ:
                lez_entitled[(holder, e.plate)].append(d)
                lez_plates_by_holder[holder].append((d, e.plate))
            else:
                entitled[(run.scheme_id, holder, _period(run.scheme_id, d))] = True
    # Runs outside the schedule (mutations, re-decisions) may rightly grant a period the schedule does not reach in
    # the window (onderwijskorting 2025-2026 before 1 September): allowed when the truth says eligible there.
    allowed: set[tuple[str, str, str]] = set()
    with engine.connect() as conn:
        run_d = dict(conn.execute(select(SchemeRun.id, SchemeRun.reference_date)).all())
    for key in {(r.scheme_id, run_d[r.run_id], r.day) for r in log.runs
                if r.kind != "scheduled" and r.run_id in run_d and r.scheme_id != LEZ}:
        scheme_id, d, day = key
        for e in tl.expected(scheme_id, d, extract_day=day):
            if e.eligible:
                allowed.add((scheme_id, e.reference_person_insz or e.subject_insz, _period(scheme_id, d)))
    f.expected_grants = len(entitled) + len(lez_entitled)
    for key in entitled:
        found = grants_by.get(key, [])
        if not found:
            f.missing.append(key)
        elif len(found) > 1:
            f.duplicates.append(key)
    manual = {(UITPAS, insz, str(MANUAL_UNTIL.year)) for outcome, insz in log.casework.items() if outcome == "grant"}
    for key, found in grants_by.items():
        if key not in entitled and (key in allowed or key in manual):
            pass  # a case worker's grant is checked by check_casework
        elif key not in entitled and key[0] != UITPAS:
            f.unexpected.append(key)
        elif key not in entitled:
            # UiTPAS: the December renewal may grant next year's pass to someone eligible on 1 December
            december = (UITPAS, key[1], str(int(key[2]) - 1))
            if december not in entitled:
                f.unexpected.append(key)
        toegekend = sum(kinds_by_grant[g.id]["notify"] for g in found)
        if toegekend > 1:
            f.duplicate_toegekend.append(key)
    for (holder, plate), days in lez_entitled.items():
        found = lez_by.get((holder, plate), [])
        if not found:
            f.missing.append((LEZ, plate, holder))
            continue
        for d in days:
            covering = [g for g in found if g.valid_from <= d and (g.valid_until is None or d <= g.valid_until)
                        and g.status != "cancelled"]
            if not covering:
                f.missing.append((LEZ, f"{plate}@{d}", holder))
            elif len(covering) > 1:
                f.duplicates.append((LEZ, f"{plate}@{d}", holder))
    for (holder, plate), found in lez_by.items():
        if (holder, plate) not in lez_entitled:
            f.unexpected.append((LEZ, plate, holder))
        if sum(kinds_by_grant[g.id]["notify"] for g in found) > 1:
            f.duplicate_toegekend.append((LEZ, plate, holder))
        renewals = sum(kinds_by_grant[g.id]["notify_renew"] for g in found)
        if renewals > max(0, len(found) - 1):
            f.renew_without_renewal += renewals - max(0, len(found) - 1)
    for g in grants:
        kinds = kinds_by_grant[g.id]
        ended = kinds["revoke"] > 0
        if (ended and kinds["notify_stop"] != 1) or (not ended and kinds["notify_stop"]):
            f.stop_messages_wrong += 1
    for holder, seen in lez_plates_by_holder.items():  # an exemption that moved: the old one ended and told
        seen.sort()
        for (_, before), (_, after) in zip(seen, seen[1:], strict=False):
            if before != after:
                old = lez_by.get((holder, before), [])
                if old and not any(kinds_by_grant[g.id]["notify_stop"] for g in old):
                    f.lez_moved_not_told += 1
    windows = _opt_out_windows(engine)
    subjects_of_runs = {insz for (_s, _d, insz) in last}
    unsubscribed: Counter[tuple[str, dt.datetime]] = Counter()
    for insz, at, service, purpose, outcome in consultations:
        for start, stop in windows.get(insz, ()):
            if at >= start and (stop is None or at < stop):
                if service.startswith(_UNSUBSCRIBE) and purpose == UNSUBSCRIBE_PURPOSE:
                    if outcome in _UNSUBSCRIBED:  # by design: the objection's own unsubscription
                        unsubscribed[(insz, start)] += 1
                    break
                f.consulted_while_objecting += 1
                if insz in subjects_of_runs:
                    f.consulted_while_objecting_subject += 1
                break
    for insz, spans in windows.items():
        for start, _stop in spans:
            if unsubscribed[(insz, start)] != 1:
                f.unsubscriptions_wrong += 1
    f.casework_wrong = check_casework(year)
    f.failed_runs = [(r.scheme_id, r.logical_date.isoformat(), r.kind, r.error or "") for r in log.runs if r.error]
    f.undetermined_left = sum(1 for (_id, decision) in last.values() if decision == "undetermined")
    f.figures = {
        "runs": Counter(r.kind for r in log.runs), "ledger_runs": Counter(s for _, s in run_rows),
        "grants": Counter(g.scheme_id for g in grants), "outbox": Counter(k for _, k in outbox),
        "notices": Counter(s for (s,) in notices), "smtp_received": year.inbox.received,
        "objections": Counter(a for _, _, a in log.objections), "imports": log.imports,
        "mutation_batches": log.mutation_batches, "consultations": len(consultations),
        "unsubscriptions": log.unsubscriptions,
        "clock_supported": log.clock_supported,
    }
    return f


def check_casework(year: SimulatedYear) -> list[str]:
    """The two objections of :data:`CASEWORK_DAY` (issue 17.3), as the citizen and the case worker see them:

    - the manual grant: exactly one kansentarief for the year, the case worker's (confirmed by a second person);
      waiting for the card (the person has no UiTPAS), not expired, never revoked; every later run of its window
      decided eligible by the manual decision and granted nothing more; nothing for the next year;
    - the manual refusal: no kansentarief all year; every later run decided by it (or sent it back to the case
      worker when a fact changed), never granted;
    - each bezwaar decided; each letter on it sent exactly once (the grant's at once, with how to get the pass),
      and no "toegekend" besides.
    Returns what is wrong, without an INSZ."""
    log, wrong = year.log, []
    if set(log.casework) != {"grant", "refuse"}:
        return ["the casework day did not run"]
    with year.engine.connect() as conn:
        for outcome, insz in log.casework.items():
            md = conn.execute(select(ManualDecision.__table__)
                              .where(ManualDecision.id == log.manual_ids[outcome])).one()
            grants = conn.execute(select(GrantRow.id, GrantRow.grant_key, GrantRow.terms, GrantRow.status)
                                  .where(GrantRow.scheme_id == UITPAS, GrantRow.insz == insz)).all()
            kinds = Counter(k for (k,) in conn.execute(
                select(OutboxMessage.kind).where(OutboxMessage.grant_id.in_([g.id for g in grants]))))
            later = conn.execute(
                select(DecisionRow.reference_date, DecisionRow.decision, DecisionRow.reasons)
                .where(DecisionRow.scheme_id == UITPAS, DecisionRow.insz == insz,
                       DecisionRow.reference_date > dt.date(2026, 3, 1),
                       DecisionRow.reference_date <= MANUAL_UNTIL)).all()
            letters = conn.execute(select(Notice.status).where(Notice.message_id == md.letter_message_id)
                                   ).scalars().all()
            bezwaar = conn.execute(select(Bezwaar.status).where(Bezwaar.id == md.bezwaar_id)).scalar_one()
            if md.status not in PREVAILING:
                wrong.append(f"manual {outcome}: status {md.status}")
            if bezwaar != "decided":
                wrong.append(f"manual {outcome}: bezwaar {bezwaar}")
            if (md.letter_status, letters) != ("sent", ["sent"]):
                wrong.append(f"manual {outcome}: letter {md.letter_status}, notices {letters}")
            if not later:
                wrong.append(f"manual {outcome}: no later run decided the person")
            if outcome == "grant":
                year_of = [(g.grant_key.rsplit("|", 1)[-1], (g.terms or {}).get("manual_decision")) for g in grants]
                if year_of != [(str(MANUAL_UNTIL.year), md.id)]:
                    shown = [(y, m is not None) for y, m in year_of]
                    wrong.append(f"manual grant: grants (year, manual) {shown}")
                if [g.status for g in grants] != ["granted"]:
                    wrong.append(f"manual grant: grant status {[g.status for g in grants]} (no pass: waiting)")
                if kinds["revoke"] or kinds["notify"]:
                    wrong.append(f"manual grant: outbox {dict(kinds)} (no revoke, the bezwaar letter is its letter)")
                bad = [d.isoformat() for d, decision, reasons in later
                       if decision != "eligible" or MANUAL_REASON not in (reasons or ())]
                if bad:
                    wrong.append(f"manual grant: later runs decided otherwise on {bad[:3]}")
            else:
                if grants:
                    wrong.append(f"manual refusal: {len(grants)} grant(s)")
                bad = [d.isoformat() for d, decision, reasons in later
                       if decision != "not_eligible" or MANUAL_REASON not in (reasons or ())]
                if bad and md.status != "back_to_case_worker":
                    wrong.append(f"manual refusal: later runs decided otherwise on {bad[:3]}")
    return wrong


def ledger_fingerprint(engine: Engine, exclude_grants: frozenset[int] = frozenset()) -> dict[str, Any]:
    """What a citizen or a downstream system sees: grants, their outbox rows by kind and status, notices; without
    ``exclude_grants`` and what was queued and sent for them."""
    with engine.connect() as conn:
        grants = sorted((g.scheme_id, g.grant_key, g.status, str(g.valid_until)) for g in conn.execute(
            select(GrantRow.id, GrantRow.scheme_id, GrantRow.grant_key, GrantRow.status, GrantRow.valid_until))
            if g.id not in exclude_grants)
        rows = conn.execute(select(OutboxMessage.grant_id, OutboxMessage.kind, OutboxMessage.status,
                                   OutboxMessage.notice_id)).all()
        theirs = {r.notice_id for r in rows if r.grant_id in exclude_grants}
        outbox = Counter((r.kind, r.status) for r in rows if r.grant_id not in exclude_grants)
        notices = Counter(s for i, s in conn.execute(select(Notice.id, Notice.status)) if i not in theirs)
    return {"grants": grants, "outbox": dict(outbox), "notices": dict(notices)}


def ledger_marks(engine: Engine) -> tuple[int, int]:
    """The last run id and grant id so far (what a re-run adds comes after them)."""
    from sqlalchemy import func

    with engine.connect() as conn:
        return (int(conn.execute(select(func.coalesce(func.max(SchemeRun.id), 0))).scalar_one()),
                int(conn.execute(select(func.coalesce(func.max(GrantRow.id), 0))).scalar_one()))


def grants_for_the_undecided(engine: Engine, marks: tuple[int, int]) -> frozenset[int]:
    """Grants made after ``marks`` (by re-running days) for persons the year's runs never decided for that scheme
    and D: skipped then because they objected (withdrawn since), or left undetermined (a household member's
    objection since withdrawn, MAGDA still failing after the re-decisions). Deciding them is what a re-run is
    for; every other person must be left exactly as they were."""
    last_run, last_grant = marks
    with engine.connect() as conn:
        new = conn.execute(select(GrantRow.id, DecisionRow.scheme_id, DecisionRow.reference_date, DecisionRow.insz)
                           .join(DecisionRow, DecisionRow.id == GrantRow.decision_id)
                           .where(GrantRow.id > last_grant)).all()
        decided: dict[tuple[str, dt.date, str], tuple[int, str]] = {}
        for scheme_id, d, insz, decision, run_id in conn.execute(
                select(DecisionRow.scheme_id, DecisionRow.reference_date, DecisionRow.insz, DecisionRow.decision,
                       DecisionRow.run_id).where(DecisionRow.run_id <= last_run)):
            key = (scheme_id, d, insz)
            if key not in decided or run_id > decided[key][0]:
                decided[key] = (run_id, decision)
    return frozenset(gid for gid, scheme_id, d, insz in new
                     if decided.get((scheme_id, d, insz), (0, "undetermined"))[1] == "undetermined")

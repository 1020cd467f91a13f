"""One scheme run on the ledger, step by step: each step a retry-safe function returning counts.

Exactly once comes from the ledger, not from the caller: a grant is an ``INSERT … ON CONFLICT DO NOTHING`` on
(scheme, grant key), written in one transaction with its outbox row; a notification is an outbox row unique per
grant, kind and channel. A retried, cleared or killed task, a second run of the same logical date and a backfill
over the same periods therefore find the rows already there and add nothing.

Opt-out is checked when the population is selected, again right before each chunk is asked, again after it was
asked (an objection that arrived meanwhile drops what was learnt), and again in the same transaction that writes
a grant or a notification.

The MAGDA step stages each subject's outcome (yes/no facts already reduced to a decision by the advice engine,
which asks in stages and so decides while it asks: proportionality); the advice step commits staged outcomes
as decisions once the MAGDA data-quality gate has passed. Staging is deleted when the run finishes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import Connection, Engine, String, cast, delete, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from proactief.advice_service.staging import (
    TRANSIENT_REASONS as TRANSIENT_REASONS,  # re-exported: the year harness and the gate read it here
)
from proactief.advice_service.staging import (
    AnswerDates,
    objectors,
    staged_flags,
    staged_summary,
)
from proactief.advice_service.staging import grant_key as _grant_key
from proactief.insz import validate_insz
from proactief.ledger.bulk import JsonText, copy_rows
from proactief.ledger.models import (
    DECISION_RETENTION_YEARS,
    DecisionRow,
    DQResultRow,
    Enrolment,
    GrantRow,
    MutationSubject,
    OcmwPeriod,
    OptOut,
    OutboxMessage,
    Resident,
    RunSubject,
    SchemeRun,
    StagedAdvice,
)
from proactief.lifecycle import manual_decisions, renewals
from proactief.lifecycle.addressees import addressees
from proactief.lifecycle.mutations import batches_to_reevaluate, mark_batches_decided
from proactief.schemes import Outcome, Scheme, load_scheme, scheme_ids
from proactief.schemes.facts import OBJECTION_REASON
from proactief.schemes.inforce import require_in_force
from proactief.schemes.subjects import grant_system, identity_parts, subject_kind

if TYPE_CHECKING:
    from proactief.advice import Advice
    from proactief.advice.city import CityFiles
    from proactief.advice_service.client import AdviceServiceSettings
    from proactief.advice_service.models import StagedAdviceOut
    from proactief.magda.config import MagdaConfig
    from proactief.quality import DQResult

__all__ = [
    "DQStep",
    "RunNotFound",
    "check",
    "decide",
    "finish_run",
    "grant",
    "notify",
    "open_run",
    "query_chunk",
    "run_in_process",
    "run_report",
    "select_population",
]

log = logging.getLogger("proactief.lifecycle")

DQStep = Literal["population", "magda_results", "decisions", "reconciliation"]
_BATCH = 500
"""Grants and notifications are written in transactions of this many subjects: a killed task loses at most one
uncommitted batch, which the retry writes again."""
_SELECTIONS = ("population", "subjects", "mutations")


class RunNotFound(LookupError):
    """A step was called with a run id the ledger does not know."""


def _aware(moment: dt.datetime) -> dt.datetime:
    """SQLite hands timestamps back naive; they were written in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _add_years(d: dt.date, years: int) -> dt.date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _insert_ignore(conn: Connection, table: Any, rows: list[dict[str, Any]], keys: Sequence[str]) -> int:
    """Insert rows, skipping those that collide on the unique ``keys``; returns how many were new."""
    if not rows:
        return 0
    if conn.dialect.name == "postgresql":
        # Count what RETURNING gives back: a batched executemany's rowcount is not the number of new rows under
        # every driver (psycopg 3 reported 0 for a first grant of 536).
        stmt = postgresql.insert(table).on_conflict_do_nothing(index_elements=list(keys))
        return len(conn.execute(stmt.returning(table.c[keys[0]]), rows).all())
    result = conn.execute(sqlite.insert(table).on_conflict_do_nothing(index_elements=list(keys)), rows)
    return max(result.rowcount, 0)


def _run(conn: Connection, run_id: int) -> Any:
    # A Core connection returns rows, not ORM objects: select the table's columns (attribute access works).
    row = conn.execute(select(SchemeRun.__table__).where(SchemeRun.id == run_id)).one_or_none()
    if row is None:
        raise RunNotFound(f"no scheme run {run_id} in the ledger")
    return row


def _set_figures(conn: Connection, run_id: int, status: str | None = None, **figures: Any) -> None:
    current = conn.execute(select(SchemeRun.figures).where(SchemeRun.id == run_id)).scalar_one()
    merged = {**(current or {}), **figures}
    values: dict[str, Any] = {"figures": merged}
    if status is not None:
        values["status"] = status
    conn.execute(update(SchemeRun).where(SchemeRun.id == run_id).values(**values))


_objectors = objectors
"""Who among ``people`` objects now (:func:`proactief.advice_service.staging.objectors`)."""


def _opted_out(conn: Connection, people: Iterable[str]) -> set[str]:
    """Who among ``people`` has an active objection, read inside the caller's transaction."""
    out: set[str] = set()
    for part in _chunks(list(people), 5000):
        out.update(conn.execute(select(OptOut.insz).where(OptOut.active.is_(True), OptOut.insz.in_(part))).scalars())
    return out


# ------------------------------------------------------------------------------------------ open + select


def open_run(engine: Engine, scheme_id: str, logical_date: dt.date, *, external_id: str, dry_run: bool = False,
             subjects: Sequence[str] = (), mutation_batch: int | None = None, mutation_batches: Sequence[int] = (),
             chunk_size: int = 1000) -> int:
    """Open (or find again) the run for ``external_id``; the reference date follows from the scheme.

    ``subjects`` limits the run to these persons (re-evaluation); ``mutation_batch`` / ``mutation_batches`` to the
    persons the MAGDA mutation batches that triggered the run named, plus those of every older batch this scheme
    has not decided yet (``batches_to_reevaluate``); the covered batches are fixed when the run is opened and
    recorded as decided when it finishes. A malformed INSZ raises ``ValueError`` naming its position, never its
    value.
    """
    scheme = load_scheme(scheme_id)
    if not 1 <= chunk_size <= 10_000:
        raise ValueError(f"chunk_size must be between 1 and 10000, not {chunk_size}")
    wanted: list[str] = []
    for i, insz in enumerate(subjects, 1):
        try:
            validate_insz(insz)
        except ValueError as exc:
            raise ValueError(f"subject #{i} of {len(subjects)} is not a valid INSZ: {exc}") from None
        wanted.append(insz)
    triggered = sorted({int(b) for b in (*mutation_batches, *(() if mutation_batch is None else (mutation_batch,)))})
    selection = "subjects" if subjects else "mutations" if triggered else "population"
    d = scheme.reference_date_for(logical_date)
    require_in_force(scheme, d)  # a ValueError: the DAG fails the run at once, before anyone is selected or asked
    with engine.begin() as conn:
        found = conn.execute(select(SchemeRun.id).where(SchemeRun.external_id == external_id)).scalar_one_or_none()
        if found is not None:
            return int(found)
        figures: dict[str, Any] = {"logical_date": logical_date.isoformat()}
        if triggered and not subjects:
            figures["mutation_batch"] = triggered[-1]  # the newest batch that triggered the run
            figures["mutation_batches"] = batches_to_reevaluate(conn, scheme.id, triggered)
        period = scheme.period_label(d)
        result = conn.execute(SchemeRun.__table__.insert().values(
            scheme_id=scheme.id, rule_version=scheme.rule_version, period=period, reference_date=d,
            external_id=external_id, dry_run=dry_run, selection=selection, chunk_size=chunk_size, status="open",
            started_at=_now(), figures=figures))
        run_id = int(result.inserted_primary_key[0])
        if wanted:
            conn.execute(RunSubject.__table__.insert(),
                         [{"run_id": run_id, "insz": i, "chunk": -1} for i in dict.fromkeys(wanted)])
    log.info("opened run %s: %s period %s (D=%s, %s%s)", run_id, scheme.id, period, d, selection,
             ", dry run" if dry_run else "")
    return run_id


def _run_batches(run: Any) -> list[int]:
    """The mutation batches a ``mutations`` run covers (a run opened before migration 0008 names one)."""
    figures = run.figures or {}
    if "mutation_batches" in figures:
        return [int(b) for b in figures["mutation_batches"]]
    return [int(figures["mutation_batch"])] if figures.get("mutation_batch") is not None else []


def _candidates(conn: Connection, run: SchemeRun, scheme: Scheme, city: CityFiles) -> tuple[list[str], int]:
    """The run's candidate subjects and how many asked-for persons fall outside the scheme's population."""
    population = city.subjects(scheme, run.reference_date)
    if run.selection == "population":
        return population, 0
    if run.selection == "subjects":
        asked = list(conn.execute(select(RunSubject.insz).where(RunSubject.run_id == run.id,
                                                                RunSubject.chunk == -1)).scalars())
    else:
        asked = list(dict.fromkeys(conn.execute(
            select(MutationSubject.insz).where(MutationSubject.batch_id.in_(_run_batches(run)))
            .order_by(MutationSubject.batch_id, MutationSubject.insz)).scalars()))
    return _chosen(asked, population, scheme, city)


def _chosen(asked: Sequence[str], population: Sequence[str], scheme: Scheme, city: CityFiles) -> tuple[list[str], int]:
    """Of the asked-for persons, those the scheme decides about, and how many fall outside its population."""
    via_reference_person = subject_kind(scheme.subject).reevaluate_via_reference_person
    in_population = set(population)
    chosen: dict[str, None] = {}
    outside = 0
    for insz in asked:
        if insz in in_population:
            chosen[insz] = None
        elif via_reference_person:  # a member changed: re-evaluate the household's reference person
            members = (insz, *city.household_of(insz))
            refs = [m for m in members if m in city.reference_persons and m in in_population]
            if refs:
                chosen.update(dict.fromkeys(refs))
            else:
                outside += 1
        else:
            outside += 1
    return list(chosen), outside


def select_population(engine: Engine, run_id: int) -> dict[str, Any]:
    """Choose the run's subjects from the imported city data, leave out those who objected, cut into chunks."""
    from proactief.lifecycle.citydata import load_city_data
    from proactief.lifecycle.holds import held_schemes

    city = load_city_data(engine)
    with engine.begin() as conn:
        run = _run(conn, run_id)
        scheme = load_scheme(run.scheme_id)
        candidates, outside = _candidates(conn, run, scheme, city)
        held = None
        if run.selection == "mutations" and scheme.id in held_schemes(conn):
            # The operator holds the scheme: its changed persons wait for its next run.
            held = len(candidates)
            log.warning("run %s: %s is on hold; the mutation re-evaluation selects nobody (%d waiting)",
                        run_id, scheme.id, held)
            candidates = []
        opted = _opted_out(conn, candidates)
        chosen = [c for c in candidates if c not in opted]
        conn.execute(delete(RunSubject).where(RunSubject.run_id == run_id))
        size = run.chunk_size
        for part_no, part in enumerate(_chunks(chosen, 10_000)):
            base = part_no * 10_000
            conn.execute(RunSubject.__table__.insert(),
                         [{"run_id": run_id, "insz": s, "chunk": (base + i) // size} for i, s in enumerate(part)])
        chunks = list(range((len(chosen) + size - 1) // size))
        figures = {"selected": len(chosen), "opted_out": len(opted), "outside_population": outside,
                   "chunks": len(chunks), **({"held_waiting": held} if held is not None else {})}
        _set_figures(conn, run_id, "selected", **figures)
    log.info("run %s selected %d subjects in %d chunks (%d opted out)", run_id, len(chosen), len(chunks), len(opted))
    return {"chunks": chunks, "selected": len(chosen), "opted_out": len(opted)}


# ------------------------------------------------------------------------------------------ MAGDA


def chunk_city_data(conn: Connection, subjects: Sequence[str]) -> CityFiles:
    """The city data one chunk needs: its subjects' households, all OCMW periods (a few thousand rows) and
    the subjects' enrolments — not the whole register."""
    from proactief.advice.city import CityFiles, Span

    city = CityFiles()
    households: dict[str, list[str]] = {}
    hids: set[str] = set()
    for part in _chunks(list(subjects), 5000):
        hids.update(h for h in conn.execute(select(Resident.household_id).where(Resident.insz.in_(part))).scalars()
                    if h)
    for part in _chunks(sorted(hids), 5000):
        for insz, hid, ref in conn.execute(select(Resident.insz, Resident.household_id, Resident.reference_person)
                                           .where(Resident.household_id.in_(part)).order_by(Resident.insz)):
            city.household_id[insz] = hid
            households.setdefault(hid, []).append(insz)
            if ref:
                city.reference_persons.add(insz)
    city.residents = list(subjects)
    city.members = households
    spans: dict[tuple[str, str], list[Any]] = {}
    for insz, kind, begin, end in conn.execute(select(OcmwPeriod.insz, OcmwPeriod.kind, OcmwPeriod.begin,
                                                      OcmwPeriod.end)):
        spans.setdefault((insz, kind), []).append(Span(begin, end))
    city.ocmw = {k: tuple(v) for k, v in spans.items()}
    years: dict[str, dict[str, None]] = {}
    for part in _chunks(list(subjects), 5000):
        for insz, year in conn.execute(select(Enrolment.insz, Enrolment.school_year)
                                       .where(Enrolment.insz.in_(part))):
            years.setdefault(year, {})[insz] = None
    city.enrolments = {y: list(c) for y, c in years.items()}
    return city


_STAGED_COLUMNS = ("run_id", "insz", "outcome", "transient", "data_error", "advice", "staged_at")


_TRACE_MARK = "\x00trace"
_TRACE_MARK_JSON = json.dumps(_TRACE_MARK)


class _Traces:
    """The JSON text of each explanation trace, made once: a chunk's advices share a few dozen traces (the
    advisor memoises decisions), and serialising the same trace for every subject was most of staging's cost."""

    def __init__(self) -> None:
        self._texts: dict[int, tuple[tuple[Any, ...], str]] = {}

    def text(self, trace: tuple[Any, ...]) -> str:
        hit = self._texts.get(id(trace))
        if hit is None or hit[0] is not trace:
            from proactief.advice.engine import trace_json

            hit = (trace, json.dumps(trace_json(trace)))
            self._texts[id(trace)] = hit  # keeps the trace alive, so its id is not reused meanwhile
        return hit[1]


def _staged_row(run_id: int, advice: Advice, at: dt.datetime, scheme: Scheme,
                traces: _Traces | None = None) -> dict[str, Any]:
    """The staged outcome; an eligible one carries its grant key already, so ``decide`` can stay in SQL.

    ``advice`` is the summary as JSON text (exactly ``json.dumps`` of :func:`_staged_summary`), the trace
    spliced in from ``traces``."""
    summary = _staged_summary(advice, scheme, trace_as=_TRACE_MARK)
    text = json.dumps(summary).replace(_TRACE_MARK_JSON, (traces or _Traces()).text(advice.trace), 1)
    return {**_staged_flags(run_id, advice, at), "advice": JsonText(text), "reasons": summary["reasons"]}


def _staged_flags(run_id: int, advice: Advice, at: dt.datetime) -> dict[str, Any]:
    return {"run_id": run_id, "insz": advice.subject, **staged_flags(advice), "staged_at": at}


_staged_summary = staged_summary
_AnswerDates = AnswerDates


def query_chunk(engine: Engine, run_id: int, chunk: int, magda: MagdaConfig | None, *,
                list_chunk_size: int = 500, service: AdviceServiceSettings | None = None) -> dict[str, Any]:
    """Ask MAGDA about one chunk of the run and stage the outcomes. Safe to repeat: the chunk's staging is
    replaced. Every question is written to the consultation audit log before the answer is used.

    With the advice service configured (``service``, else ``PROACTIEF_ADVICE_URL`` and ``_TOKEN``) the chunk is a
    batch the service decides (:func:`_ask_service`): this process sends the INSZ and the city's facts and gets
    back only decisions and what the grant needs; it never holds a MAGDA client or a MAGDA answer (``magda``
    may then be None)."""
    from proactief.advice_service.client import AdviceServiceSettings

    service = service if service is not None else AdviceServiceSettings.from_env()
    if service is None and magda is None:
        raise ValueError("query_chunk needs a MAGDA configuration or the advice service (PROACTIEF_ADVICE_URL)")
    with engine.begin() as conn:
        run = _run(conn, run_id)
        subjects = list(conn.execute(select(RunSubject.insz).where(RunSubject.run_id == run_id,
                                                                   RunSubject.chunk == chunk)
                                     .order_by(RunSubject.insz)).scalars())
        before = _opted_out(conn, subjects)
        asked = [s for s in subjects if s not in before]
        city = chunk_city_data(conn, asked)
    scheme = load_scheme(run.scheme_id)
    if service is not None:
        staged, latest, withheld = _ask_service(service, run, chunk, scheme, city, asked)
    else:
        assert magda is not None
        staged, latest, withheld = _ask_magda(engine, run, scheme, city, asked, magda, list_chunk_size)
    from proactief.freshness import record_answers

    record_answers(engine, run_id, latest)
    at = _now()
    with engine.begin() as conn:
        after = _opted_out(conn, asked)  # objected while we asked: forget what we learnt
        traces = _Traces()
        rows = [s.row(run_id, at, scheme, traces) for s in staged if s.subject not in after]
        conn.execute(delete(StagedAdvice).where(StagedAdvice.run_id == run_id, StagedAdvice.insz.in_(subjects)))
        copy_rows(conn, StagedAdvice.__table__, _STAGED_COLUMNS, [[r[c] for c in _STAGED_COLUMNS] for r in rows])
        if after:
            conn.execute(delete(RunSubject).where(RunSubject.run_id == run_id, RunSubject.insz.in_(after)))
    counts = Counter(r["outcome"] for r in rows)
    out = {"chunk": chunk, "subjects": len(subjects), "staged": len(rows),
           "transient": sum(1 for r in rows if r["transient"]),
           "data_errors": sum(1 for r in rows if r["data_error"]),
           "household_disagreements": sum(1 for s in staged if s.household_differs),
           "household_objections": sum(1 for r in rows if OBJECTION_REASON in r["reasons"]),
           "withheld_questions": withheld,
           "skipped_opted_out": len(before) + len(after),
           **{k: counts.get(k, 0) for k in ("eligible", "not_eligible", "undetermined")}}
    log.info("run %s chunk %s: %s", run_id, chunk, out)
    return out


class _Decided:
    """One subject's outcome as it will be staged: an advice decided here, or one the advice service staged."""

    def __init__(self, subject: str, household_differs: bool, advice: Advice | None = None,
                 staged: StagedAdviceOut | None = None) -> None:
        self.subject = subject
        self.household_differs = household_differs
        self._advice = advice
        self._staged = staged

    def row(self, run_id: int, at: dt.datetime, scheme: Scheme, traces: _Traces) -> dict[str, Any]:
        if self._advice is not None:
            return _staged_row(run_id, self._advice, at, scheme, traces)
        assert self._staged is not None
        summary, transient, data_error = self._staged.staged()
        return {"run_id": run_id, "insz": self.subject, "outcome": summary["decision"], "transient": transient,
                "data_error": data_error, "staged_at": at, "advice": JsonText(json.dumps(summary)),
                "reasons": summary["reasons"]}


def _ask_magda(engine: Engine, run: Any, scheme: Scheme, city: CityFiles, asked: list[str], magda: MagdaConfig,
               list_chunk_size: int) -> tuple[list[_Decided], dict[str, dt.date], int]:
    """Decide the chunk in this process: its advices, the answer date per MAGDA service, questions withheld."""
    from proactief.advice import Advisor
    from proactief.ledger.audit import LedgerAuditSink
    from proactief.magda.client import MagdaClient

    if scheme.id not in magda.hoedanigheden:  # the definition names the purpose's Hoedanigheid
        magda = replace(magda, hoedanigheden={**magda.hoedanigheden, scheme.id: scheme.magda.hoedanigheid})
    answered = _AnswerDates(LedgerAuditSink(engine))
    with MagdaClient(magda, answered) as client:
        # Household members and reference persons who objected are never asked about either: the advisor asks
        # the ledger which of the persons it is about to ask about objected (one query per round, not per person).
        advisor = Advisor(client, scheme, city, list_chunk_size=list_chunk_size,
                          withheld=lambda people: _objectors(engine, people))
        advices = [_Decided(a.subject, a.household_differs, advice=a)
                   for a in advisor.advise_many(asked, run.reference_date)]
    return advices, answered.latest, advisor.stats.withheld


_LETTERS = "abcdefghijklmnop"
_AGAIN = ("", "-again-a", "-again-b", "-again-c")
"""Suffixes of a chunk's batch ids after a failed batch (each a fresh try at MAGDA, at most four in all)."""


def _batch_id(run_id: int, chunk: int, content: str | None = None) -> str:
    """The chunk's batch id at the service: the same for a retry, so the service answers the stored batch and
    MAGDA is not asked twice. ``content`` (the submitted subjects changed since, e.g. someone objected): a
    suffix from its digest, in letters (the service refuses ids with long digit runs)."""
    base = f"run-{run_id}-chunk-{chunk}"
    if content is None:
        return base
    return f"{base}-{''.join(_LETTERS[int(c, 16)] for c in hashlib.sha256(content.encode()).hexdigest()[:12])}"


def _ask_service(settings: AdviceServiceSettings, run: Any, chunk: int, scheme: Scheme, city: CityFiles,
                 asked: list[str]) -> tuple[list[_Decided], dict[str, dt.date], int]:
    """Have the advice service decide the chunk (a ``purpose: grant`` batch) and collect it: the staged advices,
    the answer date per MAGDA service, questions withheld. No MAGDA answer reaches this process."""
    from proactief.advice_service.city import facts_from_city
    from proactief.advice_service.client import AdviceServiceClient, AdviceServiceError
    from proactief.advice_service.models import BatchSubject

    if not asked:
        return [], {}, 0
    d = run.reference_date
    subjects = [BatchSubject(insz=insz, city=facts_from_city(city, scheme, insz, d)) for insz in asked]
    content = json.dumps([s.model_dump(mode="json") for s in subjects], sort_keys=True)
    with AdviceServiceClient(settings.url, settings.token, user=settings.user) as svc:
        # A batch the service failed (MAGDA refused it a few times) stays failed. The task fails with it, and
        # its retry, finding that batch failed, submits the chunk's next batch id (found again by later retries).
        for again in _AGAIN:
            batch_id = _batch_id(run.id, chunk) + again
            try:
                submitted = svc.submit_batch(batch_id, scheme.id, d, subjects, purpose="grant")
            except AdviceServiceError as exc:
                if exc.status != 409:
                    raise
                # The id holds other subjects (an objection or new city data since the first attempt): a batch
                # of its own for this content, found again by a retry of it.
                batch_id = _batch_id(run.id, chunk, content) + again
                submitted = svc.submit_batch(batch_id, scheme.id, d, subjects, purpose="grant")
            if not (submitted.state == "done" and submitted.failed):
                break
        else:
            raise RuntimeError(f"advice service: chunk {chunk} of run {run.id} failed in {len(_AGAIN)} batches")
        status, results = svc.collect_batch(batch_id, timeout=settings.wait_seconds)
    failed = sum(1 for r in results if r.staged is None)
    if failed or len(results) != len(asked):
        # Counts only: the service's error text is not repeated here (it could quote MAGDA).
        raise RuntimeError(f"advice service batch {batch_id}: {failed} of {len(asked)} subjects failed "
                           f"({len(results)} results); a retry of this task submits the chunk again")
    decided = [_Decided(asked[r.position], r.staged.household_differs, staged=r.staged)
               for r in results if r.staged is not None]
    return decided, dict(status.answered), status.withheld_questions


# ------------------------------------------------------------------------------------------ decide


_DECIDE_PG = text("""
INSERT INTO decision (run_id, scheme_id, period, reference_date, insz, decision, tier, amount, reasons,
                      rule_version, advice, consultations, decided_at, retain_until)
SELECT s.run_id, :scheme_id, :period, :reference_date, s.insz, s.outcome, s.advice ->> 'tier',
       NULLIF(s.advice ->> 'amount', '')::numeric, COALESCE(s.advice -> 'reasons', '[]'::json), :rule_version,
       s.advice, COALESCE(s.advice -> 'consultations', '[]'::json), :decided_at, :retain_until
FROM staged_advice s
WHERE s.run_id = :run_id
  AND NOT EXISTS (SELECT 1 FROM opt_out o WHERE o.insz = s.insz AND o.active)
ON CONFLICT (run_id, insz) DO NOTHING
""")


def decide(engine: Engine, run_id: int) -> dict[str, int]:
    """Commit the staged outcomes as decisions (one per run and subject), then drop the staging.

    On PostgreSQL one ``INSERT … SELECT`` inside the server: a whole city's staged JSON never travels through
    Python (that took minutes); elsewhere row by row."""
    with engine.begin() as conn:
        run = _run(conn, run_id)
        retain = _add_years(run.reference_date, DECISION_RETENTION_YEARS)
        at = _now()
        if conn.dialect.name == "postgresql":
            conn.execute(_DECIDE_PG, {"run_id": run_id, "scheme_id": run.scheme_id, "period": run.period,
                                      "reference_date": run.reference_date, "rule_version": run.rule_version,
                                      "decided_at": at, "retain_until": retain})
        else:
            _decide_rows(conn, run, at, retain)
        conn.execute(delete(StagedAdvice).where(StagedAdvice.run_id == run_id))
        manual = manual_decisions.prevail(conn, run)
        counts = _decision_counts(conn, run_id)
        objections = _household_objections(conn, run_id)
        extra = {"manual_decisions": manual} if any(manual.values()) else {}
        _set_figures(conn, run_id, "decided", decisions=counts, household_objections=objections, **extra)
    log.info("run %s decided: %s", run_id, counts)
    return counts


def _automatic() -> Any:
    """Decisions the automatic run acts on: not those a case worker's manual decision prevails over."""
    return DecisionRow.advice["manual_decision"].as_string().is_(None)


def _decide_rows(conn: Connection, run: Any, at: dt.datetime, retain: dt.date) -> None:
    scheme = load_scheme(run.scheme_id)
    opted = _opted_out(conn, conn.execute(select(StagedAdvice.insz).where(StagedAdvice.run_id == run.id))
                       .scalars())
    rows = []
    for insz, outcome, summary in conn.execute(select(StagedAdvice.insz, StagedAdvice.outcome, StagedAdvice.advice)
                                               .where(StagedAdvice.run_id == run.id)):
        if insz in opted:
            continue
        if outcome == Outcome.ELIGIBLE.value and summary.get("grant_terms") and "grant_key" not in summary:
            summary = {**summary, "grant_key": _grant_key(scheme, insz, summary["grant_terms"])}
        rows.append({"run_id": run.id, "scheme_id": run.scheme_id, "period": run.period,
                     "reference_date": run.reference_date, "insz": insz, "decision": outcome,
                     "tier": summary.get("tier"),
                     "amount": Decimal(summary["amount"]) if summary.get("amount") else None,
                     "reasons": summary.get("reasons", []), "rule_version": run.rule_version,
                     "advice": summary, "consultations": summary.get("consultations", []),
                     "decided_at": at, "retain_until": retain})
    for part in _chunks(rows, 5000):
        _insert_ignore(conn, DecisionRow.__table__, list(part), ("run_id", "insz"))


def _household_objections(conn: Connection, run_id: int) -> int:
    """Subjects left undetermined because someone their decision needed objected (apply at the counter)."""
    return int(conn.execute(select(func.count()).select_from(DecisionRow).where(
        DecisionRow.run_id == run_id, DecisionRow.decision == Outcome.UNDETERMINED.value,
        cast(DecisionRow.reasons, String).like(f"%{OBJECTION_REASON}%"))).scalar_one())


def _decision_counts(conn: Connection, run_id: int) -> dict[str, int]:
    found = dict(conn.execute(select(DecisionRow.decision, func.count()).where(DecisionRow.run_id == run_id)
                              .group_by(DecisionRow.decision)).all())
    return {k.value: int(found.get(k.value, 0)) for k in Outcome}


# ------------------------------------------------------------------------------------------ grant + notify


def grant(engine: Engine, run_id: int) -> dict[str, Any]:
    """Grant every eligible decision of the run: one grant per grant key, with its downstream outbox row, in
    the same transaction; an opted-out person is skipped. A dry run grants nothing.

    A scheme whose key holds the end date (LEZ) grants nothing while the same benefit runs, renews it inside its
    window and ends a holder's benefit that moves elsewhere; a scheme whose key holds the period (UiTPAS) makes the
    next period's grant as a renewal of a running grant inside its window (``lifecycle.renewals``)."""
    with engine.connect() as conn:
        run = _run(conn, run_id)
        if run.dry_run:
            return {"granted": 0, "already_granted": 0, "skipped_opted_out": 0, "dry_run": True}
        scheme = load_scheme(run.scheme_id)
        # Only the two fields grant needs, extracted in the database: the whole advice (with its explanation
        # trace) of a city's eligible subjects is hundreds of MiB of JSON to move and parse.
        eligible = conn.execute(select(DecisionRow.id, DecisionRow.insz, DecisionRow.tier, DecisionRow.amount,
                                       DecisionRow.advice["grant_terms"].label("terms"),
                                       DecisionRow.advice["grant_key"].as_string().label("key"),
                                       DecisionRow.advice["grant_recipient"].as_string().label("recipient"))
                                .where(DecisionRow.run_id == run_id, DecisionRow.decision == Outcome.ELIGIBLE.value,
                                       _automatic())
                                .order_by(DecisionRow.id)).all()
        manual = manual_decisions.prevailing_count(conn, run_id)
    granted = already = skipped = renewed = running = moved = 0
    renewable = renewals.renewable(scheme)
    by_period = renewals.renews_by_period(scheme)
    revokes = grant_system(scheme.grant.system).revokes
    enrichment = subject_kind(scheme.subject).grant_enrichment
    enrich = _ENRICHMENTS[enrichment] if enrichment is not None else None
    retain = _add_years(run.reference_date, DECISION_RETENTION_YEARS)
    # "wacht op pas": how long a grant waits for the person's card and how the letter says to get one, as on D
    card = scheme.grant.awaiting_card_terms(lambda name: scheme.parameter(name, run.reference_date))
    card_terms = {"awaiting_card": card} if card is not None else {}
    for part in _chunks(eligible, _BATCH):
        with engine.begin() as conn:
            opted = _opted_out(conn, (p for r in part for p in (r.insz, r.recipient) if p))
            schools = enrich(conn, [r.insz for r in part], run.period) if enrich is not None else {}
            grants, outbox, nexts = [], [], []
            at = _now()
            plans: dict[str, renewals.Plan] = {}
            if renewable:
                plans, ending = renewals.plan_grants(conn, scheme, run.reference_date, [
                    (r.recipient or r.insz, r.key, r.terms) for r in part
                    if r.key and not (r.insz in opted or r.recipient in opted)])
                moved += _end_grants(conn, scheme, [g for g, _ in ending], run.reference_date, at,
                                     moved_to={g.id: plate for g, plate in ending})
            following: dict[str, renewals.NextPeriod] = {}
            if by_period:
                following = renewals.plan_next_periods(conn, scheme, run.reference_date, [
                    (r.recipient or r.insz, r.key) for r in part
                    if r.key and not (r.insz in opted or r.recipient in opted)])
            for r in part:
                if r.insz in opted or r.recipient in opted:
                    skipped += 1
                    continue
                terms, key = r.terms, r.key
                plan = plans.get(key)
                if plan is not None and plan.action == "running":
                    running += 1  # the same benefit already runs: no new grant, registration or letter
                    continue
                grants.append({
                    "scheme_id": run.scheme_id, "grant_key": key, "insz": r.recipient or r.insz, "period": run.period,
                    "run_id": run_id, "decision_id": r.id, "system": terms["system"], "tier": r.tier,
                    "amount": r.amount, "valid_from": dt.date.fromisoformat(terms["valid_from"]),
                    "valid_until": dt.date.fromisoformat(terms["valid_until"]) if terms["valid_until"] else None,
                    "terms": {**_downstream_terms(terms, schools.get(r.insz)), **card_terms},
                    "status": "granted", "granted_at": at, "retain_until": retain})
                if plan is not None and plan.action == "renew":
                    assert plan.valid_from is not None and plan.previous_until is not None
                    grants[-1]["valid_from"] = plan.valid_from
                    grants[-1]["terms"] = {**grants[-1]["terms"], "renews": plan.renews,
                                           "previous_until": plan.previous_until.isoformat()}
                nxt = following.get(key)
                if nxt is not None:  # and the next period's grant, continuing this one (its own key)
                    nexts.append({**grants[-1], "grant_key": nxt.key, "valid_from": nxt.valid_from,
                                  "valid_until": nxt.valid_until,
                                  "terms": {**grants[-1]["terms"], "renews": nxt.renews,
                                            "previous_until": nxt.previous_until.isoformat()}})
            fresh = [g for g in grants if "renews" not in g["terms"]]
            renewal = [g for g in grants if "renews" in g["terms"]]
            new = _insert_ignore(conn, GrantRow.__table__, fresh, ("scheme_id", "grant_key"))
            new_renewals = _insert_ignore(conn, GrantRow.__table__, renewal, ("scheme_id", "grant_key"))
            granted += new
            renewed += new_renewals + _insert_ignore(conn, GrantRow.__table__, nexts, ("scheme_id", "grant_key"))
            already += len(grants) - new - new_renewals
            grants += nexts
            if grants:
                ids = dict(conn.execute(select(GrantRow.grant_key, GrantRow.id).where(
                    GrantRow.scheme_id == run.scheme_id, GrantRow.grant_key.in_([g["grant_key"] for g in grants])
                )).all())
                for g in grants:
                    outbox.append(_outbox_row(ids[g["grant_key"]], g["grant_key"], "grant", scheme.grant.system, at))
                _insert_ignore(conn, OutboxMessage.__table__, outbox, ("grant_id", "kind", "channel"))
    revoked = _queue_revocations(engine, run, scheme) if revokes else 0
    with engine.begin() as conn:
        figures = {"granted": granted, "already_granted": already, "skipped_opted_out": skipped}
        if manual:
            figures["manual_decision_in_force"] = manual  # a case worker's decision prevails: no grant, no revoke
        if renewable:
            figures.update(renewed=renewed, running=running, moved=moved)
        elif by_period:
            figures["renewed"] = renewed
        if revokes:
            figures["revoked"] = revoked
        _set_figures(conn, run_id, "granted", grant=figures)
    log.info("run %s grant: %s", run_id, figures)
    return {**figures, "dry_run": False}


def write_grant(conn: Connection, scheme: Scheme, row: dict[str, Any], at: dt.datetime) -> tuple[int, bool]:
    """Write one grant (a ``benefit_grant`` row as :func:`grant` builds it) with its downstream ``grant`` outbox
    row, in the caller's transaction, the way :func:`grant` does: idempotent by (scheme, grant key). Returns the
    grant's id and whether it is new. A case worker's confirmed manual grant goes through here."""
    new = _insert_ignore(conn, GrantRow.__table__, [row], ("scheme_id", "grant_key"))
    grant_id = int(conn.execute(select(GrantRow.id).where(GrantRow.scheme_id == row["scheme_id"],
                                                          GrantRow.grant_key == row["grant_key"])).scalar_one())
    _insert_ignore(conn, OutboxMessage.__table__, [_outbox_row(grant_id, row["grant_key"], "grant",
                                                               scheme.grant.system, at)],
                   ("grant_id", "kind", "channel"))
    return grant_id, bool(new)


def downstream_terms(terms: dict[str, Any]) -> dict[str, Any]:
    """What the downstream system and the letter need of grant ``terms`` (as a decision's ``grant_terms``)."""
    return _downstream_terms(terms, None)


def grant_key(scheme: Scheme, insz: str, terms: dict[str, Any]) -> str:
    """The grant key the automatic grant step gives ``terms`` for subject ``insz``."""
    return _grant_key(scheme, insz, terms)


def notice_channel(scheme: Scheme, resident: tuple[str | None, str | None] | None) -> str:
    """The channel a notice of ``scheme`` to a resident with (e-mail, address) goes by."""
    return _notice_channel(scheme, resident)


def _queue_revocations(engine: Engine, run: Any, scheme: Scheme) -> int:
    """A registered exemption (LEZ) whose holder is now definitively not eligible ends on D: queue a ``revoke``
    for the downstream system, and a ``notify_stop`` so the person is told (sent once the register has it).
    Undetermined keeps it (a MAGDA outage must not end anyone's exemption)."""
    d = run.reference_date
    with engine.begin() as conn:
        lost = select(DecisionRow.insz).where(DecisionRow.run_id == run.id,
                                              DecisionRow.decision == Outcome.NOT_ELIGIBLE.value, _automatic())
        # valid_from is not bounded: a renewal that has not begun yet ends too (the register removes it whole).
        # A grant a later D's run made is not this decision's to end (a re-run or backfill of a past D).
        rows = conn.execute(select(GrantRow.id, GrantRow.grant_key, GrantRow.terms, GrantRow.insz,
                                   GrantRow.valid_from).where(
            GrantRow.scheme_id == run.scheme_id, GrantRow.status.in_(("granted", "delivered")),
            GrantRow.insz.in_(lost), renewals.decided_by(d),
            (GrantRow.valid_until.is_(None)) | (GrantRow.valid_until > d))).all()
        return _end_grants(conn, scheme, rows, d, _now())


def _end_grants(conn: Connection, scheme: Scheme, rows: Sequence[Any], d: dt.date, at: dt.datetime, *,
                moved_to: dict[int, str] | None = None) -> int:
    """End ``rows`` on ``d``: a ``revoke`` for the downstream system and one ``notify_stop`` per holder and benefit
    (a running grant and its renewal not begun yet make one letter), saying where it moved when it did. Returns
    how many revokes were new; a repeat adds nothing (``revoke_from`` is set once, outbox rows are unique)."""
    if not rows:
        return 0
    moved_to = moved_to or {}
    for r in rows:
        terms = dict(r.terms or {})
        if "revoke_from" not in terms:
            terms["revoke_from"] = d.isoformat()
            if moved_to.get(r.id):
                terms["moved_to"] = moved_to[r.id]
            conn.execute(update(GrantRow).where(GrantRow.id == r.id).values(terms=terms))
    to = addressees(conn, scheme.notification.recipient, [r.insz for r in rows], _opted_out)
    people = {p.insz: (p.email, p.address_line) for p in conn.execute(
        select(Resident.insz, Resident.email, Resident.address_line)
        .where(Resident.insz.in_([*(r.insz for r in rows), *to.to.values()])))}
    # One stop notice per grant whatever the channel (the resident's address may change between runs), and one
    # per benefit: of a grant and its renewal, the earlier one tells.
    told = set(conn.execute(select(OutboxMessage.grant_id).where(
        OutboxMessage.kind == "notify_stop", OutboxMessage.grant_id.in_([r.id for r in rows]))).scalars())
    first: dict[tuple[str, str], Any] = {}
    for r in sorted(rows, key=lambda r: (r.valid_from, r.id)):
        first.setdefault((r.insz, renewals.identity(scheme, r.grant_key)), r)
    _insert_ignore(conn, OutboxMessage.__table__,
                   [_outbox_row(r.id, r.grant_key, "notify_stop",
                                _notice_channel(scheme, people.get(to.to.get(r.insz, r.insz))), at,
                                addressee=to.to.get(r.insz))
                    for r in first.values() if r.id not in told and r.insz not in to.skipped],
                   ("grant_id", "kind", "channel"))
    return _insert_ignore(conn, OutboxMessage.__table__,
                          [_outbox_row(r.id, r.grant_key, "revoke", scheme.grant.system, at) for r in rows],
                          ("grant_id", "kind", "channel"))


def _institutions(conn: Connection, children: Sequence[str], school_year: str) -> dict[str, tuple[str, str]]:
    """Where each child is enrolled in the school year: the billing system books the discount there."""
    rows = conn.execute(select(Enrolment.insz, Enrolment.institution_id, Enrolment.institution_name)
                        .where(Enrolment.insz.in_(list(children)), Enrolment.school_year == school_year)
                        .order_by(Enrolment.insz, Enrolment.institution_id))
    out: dict[str, tuple[str, str]] = {}
    for insz, iid, name in rows:
        out.setdefault(insz, (iid, name))
    return out


_ENRICHMENTS = {"enrolment_institution": _institutions}
"""What the lifecycle adds to a subject kind's grants (``SubjectKind.grant_enrichment``), read from the ledger."""


def _downstream_terms(terms: dict[str, Any], school: tuple[str, str] | None) -> dict[str, Any]:
    """What the downstream system and the letter need of a grant: attributes, the subject's key parts (plate),
    amounts, percentages, the counts behind an amount (household size), the school; the sources the decision used
    (names only)."""
    out: dict[str, Any] = dict(terms["attributes"])
    for part in identity_parts():
        if terms.get(part.name):
            out[part.name] = terms[part.name]
    for name in ("amounts", "percentages", "sources"):
        if terms.get(name):
            out[name] = terms[name]
    out.update({k: v for k, v in (terms.get("basis") or {}).items()})
    if school is not None:
        out["institution_id"], out["institution_name"] = school
    return out


def _outbox_row(grant_id: int, grant_key: str, kind: str, channel: str, at: dt.datetime, *,
                addressee: str | None = None) -> dict[str, Any]:
    """One outbox row; ``addressee``: the INSZ a notification goes to when it is not the grant's holder."""
    digest = hashlib.sha256(f"{grant_key}|{kind}|{channel}".encode()).hexdigest()[:24]
    return {"grant_id": grant_id, "kind": kind, "channel": channel, "status": "pending", "attempts": 0,
            "message_id": f"{kind}.{channel}.{digest}@proactief.gent", "created_at": at, "addressee": addressee}


def _notice_channel(scheme: Scheme, resident: tuple[str | None, str | None] | None) -> str:
    """E-mail where the city knows an address, else a letter to the address, else the eBox (a federal
    mailbox every INSZ has): in the order the scheme lists its channels."""
    email, address = resident if resident is not None else (None, None)
    available = {"email": bool(email), "letter": bool(address), "ebox": True}
    for preferred in ("email", "letter", "ebox"):
        if preferred in scheme.notification.channels and available[preferred]:
            return preferred
    return scheme.notification.channels[0]


def notify(engine: Engine, run_id: int) -> dict[str, Any]:
    """Queue one notification per grant of this run's eligible subjects that has none yet (also for grants
    an earlier, interrupted run made); an opted-out person is skipped. A dry run queues nothing. A renewal grant
    gets a ``notify_renew`` (the short "runs longer" message) instead of a ``notify``; a decision covered by a
    benefit that already runs has no grant of its own, so nobody is told twice."""
    with engine.connect() as conn:
        run = _run(conn, run_id)
        if run.dry_run:
            return {"queued": 0, "skipped_opted_out": 0, "dry_run": True}
        scheme = load_scheme(run.scheme_id)
        keys = list(conn.execute(select(DecisionRow.advice["grant_key"].as_string()).where(
            DecisionRow.run_id == run_id, DecisionRow.decision == Outcome.ELIGIBLE.value, _automatic())).scalars())
        if renewals.renews_by_period(scheme):  # the next period's renewals this run made have keys of their own
            keys = list(dict.fromkeys([*keys, *conn.execute(select(GrantRow.grant_key).where(
                GrantRow.scheme_id == run.scheme_id, GrantRow.run_id == run_id,
                GrantRow.terms["renews"].as_string().is_not(None))).scalars()]))
    queued = skipped = 0
    addressed: Counter[str] = Counter()
    for part in _chunks([k for k in keys if k], _BATCH):
        with engine.begin() as conn:
            grants = conn.execute(select(GrantRow.id, GrantRow.grant_key, GrantRow.insz,
                                         GrantRow.terms["renews"].as_string().label("renews")).where(
                GrantRow.scheme_id == run.scheme_id, GrantRow.grant_key.in_(part))).all()
            # One notice per grant whatever the channel: skip grants that already have one.
            have = set(conn.execute(select(OutboxMessage.grant_id).where(
                OutboxMessage.kind.in_(("notify", "notify_renew")),
                OutboxMessage.grant_id.in_([g.id for g in grants]))).scalars())
            grants = [g for g in grants if g.id not in have]
            opted = _opted_out(conn, (g.insz for g in grants))
            # Who is told: the holder, or (``recipient: parents``) a parent in the holder's household.
            to = addressees(conn, scheme.notification.recipient, [g.insz for g in grants if g.insz not in opted],
                            _opted_out)
            addressed.update(to.figures)
            people = {r.insz: (r.email, r.address_line) for r in conn.execute(
                select(Resident.insz, Resident.email, Resident.address_line)
                .where(Resident.insz.in_([*(g.insz for g in grants), *to.to.values()])))}
            at = _now()
            rows = []
            for g in grants:
                if g.insz in opted or g.insz in to.skipped:
                    skipped += 1
                    continue
                addressee = to.to.get(g.insz)
                rows.append(_outbox_row(g.id, g.grant_key, "notify_renew" if g.renews else "notify",
                                        _notice_channel(scheme, people.get(addressee or g.insz)), at,
                                        addressee=addressee))
            queued += _insert_ignore(conn, OutboxMessage.__table__, rows, ("grant_id", "kind", "channel"))
    figures = {"queued": queued, "skipped_opted_out": skipped, **dict(sorted(addressed.items()))}
    with engine.begin() as conn:
        _set_figures(conn, run_id, "notified", notify=figures)
    log.info("run %s notify: %s", run_id, figures)
    return {**figures, "dry_run": False}


# ------------------------------------------------------------------------------------------ data quality


def _previous_counts(conn: Connection, run: SchemeRun) -> dict[str, int] | None:
    prev = conn.execute(select(SchemeRun.figures).where(
        SchemeRun.scheme_id == run.scheme_id, SchemeRun.id != run.id, SchemeRun.selection == "population",
        SchemeRun.status == "finished", SchemeRun.reference_date < run.reference_date,
    ).order_by(SchemeRun.reference_date.desc(), SchemeRun.id.desc()).limit(1)).scalar_one_or_none()
    if not prev or "decisions" not in prev:
        return None
    return {k: int(v) for k, v in prev["decisions"].items()}


def check(engine: Engine, run_id: int | None, step: DQStep, *, max_transient_share: float = 0.05,
          max_jump: float = 0.10) -> DQResult:
    """Run the data-quality suite of a step and record its result (counts only) in the ledger."""
    import pandas as pd

    from proactief import quality

    with engine.connect() as conn:
        run = _run(conn, run_id) if run_id is not None else None
        if step == "population":
            frame = pd.DataFrame(conn.execute(select(Resident.insz, Resident.household_id,
                                                     Resident.reference_person)).all(),
                                 columns=["insz", "household_id", "reference_person"])
            result = quality.check_population(frame)
            if run is not None:  # a scheme run: its sources must be fresh enough for its reference date
                stale = _source_states(conn, run)
                result = quality.merge_results("population", quality.check_freshness(stale), result)
        elif run is None:
            raise ValueError(f"the {step} check needs a run id")
        elif step == "magda_results":
            frame = pd.DataFrame(conn.execute(select(StagedAdvice.insz, StagedAdvice.outcome, StagedAdvice.transient,
                                                     StagedAdvice.data_error,
                                                     StagedAdvice.advice["household_differs"].as_boolean())
                                              .where(StagedAdvice.run_id == run.id)).all(),
                                 columns=["subject", "outcome", "transient", "data_error", "household_differs"])
            selected = conn.execute(select(func.count()).select_from(RunSubject)
                                    .where(RunSubject.run_id == run.id)).scalar_one()
            result = quality.check_magda_results(frame, selected=int(selected),
                                                 max_transient_share=max_transient_share)
        elif step == "decisions":
            counts = _decision_counts(conn, run.id)
            previous = _previous_counts(conn, run) if run.selection == "population" else None
            result = quality.check_decisions(counts, previous, max_jump=max_jump)
        elif step == "reconciliation":
            frame = _reconciliation_frame(conn, run)
            result = quality.check_reconciliation(frame)
        else:
            raise ValueError(f"unknown data-quality step {step!r}")
    with engine.begin() as conn:
        conn.execute(DQResultRow.__table__.insert().values(run_id=run_id, step=step, suite=result.suite,
                                                           success=result.success, result=result.to_json(),
                                                           checked_at=_now()))
        if run_id is not None:
            extra: dict[str, Any] = ({"data_errors": result.statistics["data_errors"],
                                      "household_disagreements": result.statistics["household_disagreements"]}
                                     if step == "magda_results" else {})
            if step == "population":
                extra["stale_sources"] = [f.detail.removeprefix("stale source: ") for f in result.failures
                                          if f.detail.startswith("stale source: ")]
            _set_figures(conn, run_id, None, **{f"dq_{step}": "passed" if result.success else "failed"}, **extra)
    log.info("run %s DQ %s: %s", run_id, step, result.summary())
    return result


def _source_states(conn: Connection, run: Any) -> list[dict[str, Any]]:
    """The city sources the run's scheme uses, judged against the run's reference date (names and dates only)."""
    from proactief.freshness import judge_for_run

    states = judge_for_run(conn, load_scheme(run.scheme_id), run.reference_date)
    for s in states:
        if s.stale:
            log.warning("run %s: %s", run.id, s.message())
    return [{"source": s.source, "stale": s.stale, "message": s.message(), "age_days": s.age_days} for s in states]


def _reconciliation_frame(conn: Connection, run: SchemeRun) -> Any:
    """One row per eligible decision of the run: how many grants its key has, and whether the person had objected
    *when it was granted*. An objection that arrives after the grant step is legitimate, not a defect: the outbox
    cancels what was not delivered yet. A dry run grants nothing, so it has nothing to reconcile."""
    import pandas as pd

    rows = []
    if not run.dry_run:
        decided = conn.execute(select(DecisionRow.insz, DecisionRow.advice["grant_key"].as_string().label("key"))
                               .where(DecisionRow.run_id == run.id,
                                      DecisionRow.decision == Outcome.ELIGIBLE.value)).all()
        keys = [r.key for r in decided]
        counts: Counter[str] = Counter()
        granted_at: dict[str, dt.datetime] = {}
        for part in _chunks([k for k in keys if k], 5000):
            for key, at in conn.execute(select(GrantRow.grant_key, GrantRow.granted_at).where(
                    GrantRow.scheme_id == run.scheme_id, GrantRow.grant_key.in_(part))):
                counts[key] += 1
                granted_at[key] = min(at, granted_at.get(key, at))
        scheme = load_scheme(run.scheme_id)
        if renewals.renewable(scheme):  # the same benefit already ran: its grant is this decision's grant
            holders = _grant_holders(conn, run)
            uncovered = [(holders.get(r.insz, r.insz), k) for r, k in zip(decided, keys, strict=True)
                         if k and k not in counts]
            for key, g in renewals.covering_grants(conn, scheme, run.reference_date, uncovered).items():
                counts[key] = 1
                granted_at[key] = g.granted_at
        objected: dict[str, dt.datetime] = {}
        for part in _chunks([r.insz for r in decided], 5000):
            objected.update(conn.execute(select(OptOut.insz, OptOut.since).where(
                OptOut.active.is_(True), OptOut.insz.in_(part))).tuples().all())
        for r, key in zip(decided, keys, strict=True):
            since = objected.get(r.insz)
            first = granted_at.get(key) if key else None
            rows.append({"subject": r.insz, "grants": counts.get(key, 0) if key else 0,
                         "opted_out": since is not None and (first is None or _aware(since) <= _aware(first))})
    return pd.DataFrame(rows, columns=["subject", "grants", "opted_out"])


def _grant_holders(conn: Connection, run: Any) -> dict[str, str]:
    """Subject → the person its grant is made to, where that differs (a household decided for a member)."""
    return {r.insz: r.recipient for r in conn.execute(
        select(DecisionRow.insz, DecisionRow.advice["grant_recipient"].as_string().label("recipient"))
        .where(DecisionRow.run_id == run.id, DecisionRow.decision == Outcome.ELIGIBLE.value)) if r.recipient}


# ------------------------------------------------------------------------------------------ finish + report


def run_report(engine: Engine, run_id: int) -> dict[str, Any]:
    """What a scheme owner wants to see of a run: counts per step, DQ status, and where its grants and
    notifications are (``delivery``: outbox rows by kind/channel and status); no personal data."""
    with engine.connect() as conn:
        run = _run(conn, run_id)
        dq = {s: ok for s, ok in conn.execute(select(DQResultRow.step, DQResultRow.success)
                                               .where(DQResultRow.run_id == run_id).order_by(DQResultRow.id))}
    from proactief.lifecycle.outbox import delivery_status

    return {"run_id": run.id, "scheme": run.scheme_id, "period": run.period,
            "reference_date": run.reference_date.isoformat(), "rule_version": run.rule_version,
            "dry_run": run.dry_run, "selection": run.selection, "status": run.status,
            "figures": dict(run.figures or {}), "dq": dq, "delivery": delivery_status(engine, run_id)}


def finish_run(engine: Engine, run_id: int) -> dict[str, Any]:
    """Close the run: delete its staging (who was selected, staged outcomes) and keep the figures. A mutation
    re-evaluation records here, and only here, that its scheme decided the batches it covered."""
    with engine.begin() as conn:
        run = _run(conn, run_id)
        conn.execute(delete(StagedAdvice).where(StagedAdvice.run_id == run_id))
        conn.execute(delete(RunSubject).where(RunSubject.run_id == run_id))
        conn.execute(update(SchemeRun).where(SchemeRun.id == run_id).values(status="finished", finished_at=_now()))
        figures = run.figures or {}
        if run.selection == "mutations" and not run.dry_run and "held_waiting" not in figures:
            # Decided (and granted and notified): the batches are this scheme's no more. A held scheme's persons
            # wait, so its batches stay open for it and the next re-evaluation after the release takes them.
            done = mark_batches_decided(conn, run.scheme_id, _run_batches(run), run_id, scheme_ids())
            if done:
                _set_figures(conn, run_id, None, mutation_batches_done=done)
    report = run_report(engine, run_id)
    log.info("run %s finished: %s", run_id, report["figures"])
    return report


def run_in_process(engine: Engine, scheme_id: str, logical_date: dt.date, magda: MagdaConfig, *,
                   external_id: str | None = None, dry_run: bool = False, chunk_size: int = 1000,
                   subjects: Sequence[str] = (), timings: dict[str, float] | None = None,
                   parallel_chunks: int = 1, service: AdviceServiceSettings | None = None) -> dict[str, Any]:
    """The whole lifecycle in this process, without Airflow: for the CLI, tests and the benchmark baseline.
    Stops (raises) on a failed data-quality gate, as the DAG does; a share jump needing approval raises too.
    ``parallel_chunks`` chunks are queried at once (threads), as the DAG's ``magda`` pool runs mapped tasks;
    ``service``: the advice service decides the chunks (else ``PROACTIEF_ADVICE_URL``, else this process)."""
    import time
    from concurrent.futures import ThreadPoolExecutor

    def timed(name: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        out = fn(*args, **kwargs)
        if timings is not None:
            timings[name] = timings.get(name, 0.0) + time.perf_counter() - t0
        return out

    def gate(step: DQStep) -> None:
        result = timed(f"dq_{step}", check, engine, run_id, step)
        if not result.success:
            raise RuntimeError(f"data-quality gate {step} failed: {result.summary()}")

    ext = external_id or f"in-process/{scheme_id}/{logical_date.isoformat()}/{_now().isoformat()}"
    run_id = timed("open", open_run, engine, scheme_id, logical_date, external_id=ext, dry_run=dry_run,
                   subjects=subjects, chunk_size=chunk_size)
    selected = timed("select", select_population, engine, run_id)
    gate("population")
    def query_all(chunks: Sequence[int]) -> None:
        with ThreadPoolExecutor(max(1, parallel_chunks)) as pool:
            for _ in pool.map(lambda c: query_chunk(engine, run_id, c, magda, service=service), chunks):
                pass

    timed("query", query_all, selected["chunks"])
    gate("magda_results")
    timed("decide", decide, engine, run_id)
    gate("decisions")
    timed("grant", grant, engine, run_id)
    gate("reconciliation")
    timed("notify", notify, engine, run_id)
    return timed("report", finish_run, engine, run_id)

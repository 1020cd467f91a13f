"""How fresh the sources of the decisions are (issue 18.1: the stale-source alarm).

Each source's allowed age is declared once, in ``sources.yaml`` next to this module (the assumptions are written
there). Every import of a city file records its as-of date and content digest, every scheme run the date of its
latest MAGDA answer per source (table ``source_as_of``); :func:`judge_for_run` judges the sources a scheme's run
uses against the run's reference date D, :func:`freshness_table` all sources against a day (the dashboard: today).

A source is judged against D, not the wall clock: a backfill of a past period decided on today's extract is fresh
(the extract is newer than D); only "too old for D" and, where change is expected (the resident extract), "the
same bytes re-delivered" count: such an extract is dated by the first import of those bytes. A source with no
recorded import (a ledger imported before this was recorded) is "unknown" and does not stop a run.

``PROACTIEF_FRESHNESS_FILE`` names a YAML file with the same layout whose entries override the declared ones per
key (e.g. ``sources: {residents: {max_age_days: 31}}``): for a city whose deliveries differ, and for a test stack
that decides weeks after its one synthetic extract. Say so in the runbook when you set it.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

    from proactief.schemes import Scheme

__all__ = [
    "DECLARATIONS",
    "SourceDecl",
    "SourceState",
    "declared",
    "freshness_table",
    "judge",
    "judge_for_run",
    "latest_city_record",
    "record_answers",
    "record_import",
    "source_of_file",
    "source_of_service",
    "sources_of",
]

DECLARATIONS = Path(__file__).with_name("sources.yaml")
ENV_OVERRIDE = "PROACTIEF_FRESHNESS_FILE"
_KEYS = {"name", "label", "kind", "file", "max_age_days", "school_year", "grace_days", "change_expected", "all_runs",
         "facts", "services"}
_HISTORY = 400
"""How many of a city source's latest imports are read to date an unchanged extract (over a year of daily ones)."""


@dataclass(frozen=True)
class SourceDecl:
    """One declared source: what it is, how old it may be for a run of D, and which runs use it."""

    id: str
    name: str
    kind: Literal["city", "magda"]
    label: str = ""
    """The source in Dutch, for the dashboard (``name`` is the operators' English)."""
    file: str | None = None
    max_age_days: int | None = None
    school_year: bool = False
    grace_days: int = 0
    change_expected: bool = False
    all_runs: bool = False
    facts: tuple[str, ...] = ()
    services: tuple[str, ...] = ()

    def oldest_allowed(self, d: dt.date) -> dt.date:
        """The oldest as-of date still fresh for a run of reference date ``d``."""
        if self.school_year:
            start = dt.date(d.year if d.month >= 9 else d.year - 1, 9, 1)
            return start - dt.timedelta(days=self.grace_days)
        assert self.max_age_days is not None
        return d - dt.timedelta(days=self.max_age_days)

    @property
    def allowed(self) -> str:
        """The allowed age in words (English: operator texts)."""
        if self.school_year:
            return f"the school year of D (delivered at most {self.grace_days} days before 1 September)"
        return f"{self.max_age_days} days"

    @property
    def toegelaten(self) -> str:
        """The allowed age in Dutch (the dashboard)."""
        if self.school_year:
            return f"het schooljaar van de peildatum (ten vroegste {self.grace_days} dagen voor 1 september)"
        return f"{self.max_age_days} dagen"


def _decl(source_id: str, raw: Mapping[str, Any]) -> SourceDecl:
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise ValueError(f"freshness source {source_id}: unknown key(s) {', '.join(unknown)}")
    kind = raw.get("kind")
    if kind not in ("city", "magda"):
        raise ValueError(f"freshness source {source_id}: kind must be city or magda, not {kind!r}")
    school_year = bool(raw.get("school_year", False))
    max_age = raw.get("max_age_days")
    if not school_year and (not isinstance(max_age, int) or isinstance(max_age, bool) or max_age < 0):
        raise ValueError(f"freshness source {source_id}: max_age_days must be a whole number of days >= 0")
    if kind == "city" and not raw.get("file"):
        raise ValueError(f"freshness source {source_id}: a city source names its file")
    return SourceDecl(id=source_id, name=str(raw.get("name") or source_id), kind=kind,
                      label=str(raw.get("label") or raw.get("name") or source_id),
                      file=raw.get("file"), max_age_days=None if school_year else int(max_age),
                      school_year=school_year, grace_days=int(raw.get("grace_days", 0)),
                      change_expected=bool(raw.get("change_expected", False)), all_runs=bool(raw.get("all_runs")),
                      facts=tuple(str(f) for f in raw.get("facts") or ()),
                      services=tuple(str(s) for s in raw.get("services") or ()))


def _read(path: Path) -> dict[str, dict[str, Any]]:
    from proactief.schemes._yaml import load_yaml

    data = load_yaml(path.read_text(encoding="utf-8")) or {}
    sources = data.get("sources") if isinstance(data, Mapping) else None
    if not isinstance(sources, Mapping):
        raise ValueError(f"{path}: expected a mapping 'sources'")
    return {str(k): dict(v or {}) for k, v in sources.items()}


@cache
def _declared(override: str | None) -> dict[str, SourceDecl]:
    raw = _read(DECLARATIONS)
    if override:
        for source_id, changes in _read(Path(override)).items():
            raw[source_id] = {**raw.get(source_id, {}), **changes}
    return {source_id: _decl(source_id, entry) for source_id, entry in raw.items()}


def declared() -> dict[str, SourceDecl]:
    """Every declared source by id (``sources.yaml``, with ``PROACTIEF_FRESHNESS_FILE``'s overrides)."""
    return _declared(os.environ.get(ENV_OVERRIDE) or None)


def source_of_file(filename: str) -> SourceDecl | None:
    """The city source delivered as ``filename`` (``residents.csv`` …)."""
    return next((s for s in declared().values() if s.kind == "city" and s.file == filename), None)


def source_of_service(service: str) -> SourceDecl | None:
    """The MAGDA source whose answers come from ``service``."""
    return next((s for s in declared().values() if s.kind == "magda" and service in s.services), None)


def sources_of(scheme: Scheme) -> list[SourceDecl]:
    """The city sources a run of ``scheme`` uses: the resident extract (every run selects from it) and the data sets
    of its city facts (``city_data``). These are what the run's population gate judges."""
    facts = set(scheme.city_data)
    return [s for s in declared().values() if s.kind == "city" and (s.all_runs or facts & set(s.facts))]


# ------------------------------------------------------------------------------------------ judging


@dataclass(frozen=True)
class SourceState:
    """A source judged against a day: safe to log and e-mail (names, dates and counts only)."""

    source: str
    name: str
    allowed: str
    day: dt.date
    """The day judged against (a run's D; the dashboard: today)."""
    as_of: dt.date | None
    """The latest import's (or answer's) as-of date; None = nothing recorded."""
    unchanged_since: dt.date | None = None
    """Where change is expected: the as-of of the first import of the same bytes, when re-delivered unchanged."""
    stale: bool = False
    label: str = ""
    """The source and its allowed age in Dutch, for the dashboard."""
    toegelaten: str = ""

    @property
    def effective_as_of(self) -> dt.date | None:
        return self.unchanged_since or self.as_of

    @property
    def age_days(self) -> int | None:
        """Days between the (effective) as-of and the day; negative = newer than the day."""
        return None if self.effective_as_of is None else (self.day - self.effective_as_of).days

    @property
    def status(self) -> Literal["fresh", "stale", "unknown"]:
        return "unknown" if self.as_of is None else "stale" if self.stale else "fresh"

    def message(self) -> str:
        """One sentence naming the source and how old it is (for the gate's failure, the log and the e-mail)."""
        if self.as_of is None:
            return f"{self.name}: as-of date unknown (no import recorded)"
        age = self.age_days
        assert age is not None
        when = f"{age} days before {self.day.isoformat()}" if age >= 0 else f"newer than {self.day.isoformat()}"
        if self.unchanged_since is not None:
            text = (f"{self.name} as of {self.as_of.isoformat()} is byte-identical to the extract as of "
                    f"{self.unchanged_since.isoformat()} (unchanged {when})")
        else:
            text = f"{self.name} is as of {self.as_of.isoformat()} ({when})"
        return f"{text}; allowed {self.allowed}" + (": STALE" if self.stale else "")


def judge(decl: SourceDecl, as_of: dt.date | None, day: dt.date, *,
          unchanged_since: dt.date | None = None) -> SourceState:
    """Judge one source against ``day``; ``unchanged_since`` dates an extract re-delivered unchanged."""
    if not decl.change_expected or (unchanged_since is not None and as_of is not None and unchanged_since >= as_of):
        unchanged_since = None
    effective = unchanged_since or as_of
    stale = effective is not None and effective < decl.oldest_allowed(day)
    return SourceState(decl.id, decl.name, decl.allowed, day, as_of, unchanged_since, stale,
                       label=decl.label or decl.name, toegelaten=decl.toegelaten)


# ------------------------------------------------------------------------------------------ the ledger


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def record_import(conn: Connection, decl: SourceDecl, as_of: dt.date, as_of_from: str, digest: str,
                  rows: int | None) -> None:
    """Record one imported city file (inside the import's transaction: recorded if and only if imported)."""
    from proactief.ledger.models import SourceAsOf

    conn.execute(SourceAsOf.__table__.insert().values(source=decl.id, as_of=as_of, as_of_from=as_of_from,
                                                      digest=digest, rows=rows, run_id=None, recorded_at=_now()))


_ANSWERS_LOCK = 0x50524F41
"""The advisory-lock space of :func:`record_answers` (its second key is the run id)."""


def record_answers(engine: Engine, run_id: int, answered: Mapping[str, dt.date]) -> None:
    """Record the latest answer date per MAGDA service of a run (a chunk's share): one row per run and source,
    moved forward, never back (a repeated chunk changes nothing)."""
    from sqlalchemy import select, text, update

    from proactief.ledger.models import SourceAsOf

    per_source: dict[str, dt.date] = {}
    for service, day in answered.items():
        decl = source_of_service(service)
        if decl is not None:
            per_source[decl.id] = max(day, per_source.get(decl.id, day))
    if not per_source:
        return
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # A run's chunks finish side by side: one at a time per run, or two would each find no row and insert.
            conn.execute(text("SELECT pg_advisory_xact_lock(:space, :run)"), {"space": _ANSWERS_LOCK, "run": run_id})
        for source, day in per_source.items():
            row = conn.execute(select(SourceAsOf.id, SourceAsOf.as_of).where(
                SourceAsOf.run_id == run_id, SourceAsOf.source == source)).first()
            if row is None:
                conn.execute(SourceAsOf.__table__.insert().values(source=source, as_of=day, as_of_from="answers",
                                                                  run_id=run_id, recorded_at=_now()))
            elif row.as_of < day:
                conn.execute(update(SourceAsOf).where(SourceAsOf.id == row.id).values(as_of=day, recorded_at=_now()))


def latest_city_record(conn: Connection, decl: SourceDecl) -> tuple[dt.date | None, dt.date | None]:
    """The latest import's as-of date of a city source, and (where change is expected) the as-of of the first of
    the latest imports with the same bytes when there were several (else None)."""
    from sqlalchemy import select

    from proactief.ledger.models import SourceAsOf

    rows = conn.execute(select(SourceAsOf.as_of, SourceAsOf.digest).where(
        SourceAsOf.source == decl.id, SourceAsOf.run_id.is_(None)).order_by(SourceAsOf.id.desc())
        .limit(_HISTORY)).all()
    if not rows:
        return None, None
    latest_as_of, digest = rows[0]
    same: list[dt.date] = []
    for r in rows[1:]:
        if r.digest != digest:
            break
        same.append(r.as_of)
    return latest_as_of, (min(same) if same and decl.change_expected else None)


def _latest_magda(conn: Connection, decl: SourceDecl) -> dt.date | None:
    from sqlalchemy import func, select

    from proactief.ledger.models import MutationBatch, SourceAsOf

    if any("Mutaties" in s for s in decl.services):
        fetched = conn.execute(select(func.max(MutationBatch.fetched_at))).scalar_one_or_none()
        return fetched.date() if fetched is not None else None
    return conn.execute(select(func.max(SourceAsOf.as_of)).where(SourceAsOf.source == decl.id)).scalar_one_or_none()


def _state(conn: Connection, decl: SourceDecl, day: dt.date) -> SourceState:
    if decl.kind == "city":
        as_of, unchanged_since = latest_city_record(conn, decl)
        return judge(decl, as_of, day, unchanged_since=unchanged_since)
    return judge(decl, _latest_magda(conn, decl), day)


def judge_for_run(conn: Connection, scheme: Scheme, d: dt.date) -> list[SourceState]:
    """The sources a run of ``scheme`` uses (:func:`sources_of`), judged against its reference date ``d``."""
    return [_state(conn, decl, d) for decl in sources_of(scheme)]


def freshness_table(engine: Engine | Connection, day: dt.date,
                    sources: Iterable[SourceDecl] | None = None) -> Sequence[SourceState]:
    """Every declared source (or ``sources``) judged against ``day``: the dashboard's freshness table."""
    from sqlalchemy import Connection as _Connection

    chosen = list(sources) if sources is not None else list(declared().values())
    if isinstance(engine, _Connection):
        return [_state(engine, decl, day) for decl in chosen]
    with engine.connect() as conn:
        return [_state(conn, decl, day) for decl in chosen]

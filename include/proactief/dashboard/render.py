"""The dashboard's HTML pages (Jinja2, autoescaped), from the ledger and what the caller knows of Airflow.

The caller (the Airflow plugin) decides which schemes the user may see and passes the pending approvals it read
from Airflow's metadata; everything else is read here.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from proactief.dashboard.figures import DQ_LABELS, DQ_STEPS, RunFigures, newest_runs, runs, unfinished_runs
from proactief.dashboard.lookup import Explanation
from proactief.dashboard.trend import TrendPoint, take_up_trend
from proactief.schemes import load_scheme

__all__ = ["Approval", "SchemeView", "dashboard_page", "lookup_page"]

TEMPLATES = Path(__file__).parent / "templates"
APPROVE_TASK = "decision_quality.approve"


@dataclass(frozen=True)
class Approval:
    """A human-in-the-loop approval nobody answered yet (read from Airflow's metadata by the plugin)."""

    dag_id: str
    run_id: str
    subject: str
    created_at: dt.datetime | None
    url: str
    """Where to answer it in the Airflow UI (the task's *Required actions*)."""


@dataclass
class SchemeView:
    """One scheme's section of the dashboard."""

    id: str
    title: str
    owner: str
    runs: list[RunFigures]
    trend: list[TrendPoint]
    trend_plot: str = ""
    run_plot: str = ""
    approvals: list[Approval] = field(default_factory=list)
    hold: dict[str, Any] | None = None
    """The operators' current hold on the scheme (``proactief scheme hold``): since, by whom, why."""
    newest: RunFigures | None = None
    """The run of the newest period (``newest_runs``); ``runs`` are the latest started."""

    @property
    def last_run(self) -> RunFigures | None:
        """The "Laatste run" tile: the newest period's run, not the last run started (a backfill starts old
        periods after new ones)."""
        if self.newest is not None:
            return self.newest
        return self.runs[0] if self.runs else None


def _number(value: Any) -> str:
    """Dutch thousands separator: 12.345."""
    try:
        return f"{int(value):,}".replace(",", ".")
    except (TypeError, ValueError):
        return "–"


def _when(value: dt.datetime | dt.date | None) -> str:
    if value is None:
        return "–"
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%d/%m/%Y %H:%M UTC")
    return value.strftime("%d/%m/%Y")


def _data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


@cache
def _env() -> Any:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(("html", "j2")),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(number=_number, when=_when)
    env.globals.update(DQ_STEPS=DQ_STEPS, DQ_LABELS=DQ_LABELS,
                       STATUS_LABELS={"open": "geopend", "selected": "geselecteerd", "decided": "beslist",
                                      "granted": "toegekend", "notified": "verwittigd", "finished": "afgerond"},
                       DQ_STATUS={"passed": "in orde", "failed": "gefaald", "incomplete": "onvolledig",
                                  None: "niet gecontroleerd"})
    return env


def dashboard_page(engine: Engine, scheme_ids: Sequence[str], *, user: str, approvals: Sequence[Approval] = (),
                   ui_base: str = "/", run_limit: int = 10, plots: bool = True) -> str:
    """The whole page: per scheme the latest runs with their figures, the take-up plot, the last run's plot and
    what waits for approval; then the runs not finished and the person lookup form."""
    from proactief.dashboard.plot import run_svg, trend_svg
    from proactief.lifecycle.holds import holds

    by_scheme = runs(engine, scheme_ids, limit=run_limit)
    newest = newest_runs(engine, scheme_ids)
    held = {h["scheme"]: h for h in holds(engine) if h["active"]}
    views = []
    for scheme_id in scheme_ids:
        scheme = load_scheme(scheme_id)
        view = SchemeView(scheme_id, scheme.title, scheme.owner.department, by_scheme[scheme_id],
                          take_up_trend(engine, scheme_id),
                          approvals=[a for a in approvals if a.dag_id == scheme_id], hold=held.get(scheme_id),
                          newest=newest.get(scheme_id))
        if plots and view.trend:
            view.trend_plot = _data_uri(trend_svg(view.trend, scheme_id))
        if plots and view.last_run is not None:
            view.run_plot = _data_uri(run_svg(view.last_run))
        views.append(view)
    titles = {v.id: v.title for v in views}
    # the schemes that ran, latest run first; those without a run in one short list at the end
    active = sorted((v for v in views if v.last_run is not None),
                    key=lambda v: v.runs[0].started_at, reverse=True)
    return _env().get_template("dashboard.html.j2").render(
        user=user, schemes=active, idle=[v for v in views if not v.last_run],
        unfinished=unfinished_runs(engine, scheme_ids), approvals=list(approvals), titles=titles,
        ui_base=ui_base.rstrip("/") + "/", now=dt.datetime.now(dt.UTC))


def lookup_page(scheme_ids: Sequence[str], *, user: str, explanation: Explanation | None = None,
                error: str | None = None, scheme_id: str | None = None) -> str:
    """The call centre's lookup: the form (POST, so no INSZ in a URL), and the explanation or the error."""
    titles = {s: load_scheme(s).title for s in scheme_ids}
    return _env().get_template("lookup.html.j2").render(user=user, titles=titles, explanation=explanation,
                                                        error=error, chosen=scheme_id)

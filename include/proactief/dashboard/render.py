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

from proactief.dashboard.districts import DistrictCoverage, K, coverage_by_district
from proactief.dashboard.figures import DQ_LABELS, DQ_STEPS, RunFigures, newest_runs, runs, unfinished_runs
from proactief.dashboard.lookup import Explanation
from proactief.dashboard.trend import TrendPoint, take_up_trend
from proactief.freshness import freshness_table
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
    districts: DistrictCoverage | None = None
    """Coverage per wijk in the latest finished population run ("Bereik per wijk"), suppressed under 10 persons."""
    district_plot: str = ""
    casework: dict[str, int] = field(default_factory=dict)
    """What waits for a person (``casework_counts``): open bezwaren, late ones, grants awaiting confirmation,
    manual decisions sent back to the case worker."""

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


def _shown(value: int | None) -> str:
    """A count of the district table: ``<10`` when suppressed."""
    return f"<{K}" if value is None else _number(value)


def _percent(value: float | None) -> str:
    """A share of the district table: ``<10`` when its counts are suppressed or there is nothing to divide."""
    return f"<{K}" if value is None else f"{100 * value:.1f}%".replace(".", ",")


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
    env.filters.update(number=_number, when=_when, shown=_shown, percent=_percent)
    env.globals.update(DQ_STEPS=DQ_STEPS, DQ_LABELS=DQ_LABELS,
                       STATUS_LABELS={"open": "geopend", "selected": "geselecteerd", "decided": "beslist",
                                      "granted": "toegekend", "notified": "verwittigd", "finished": "afgerond"},
                       DQ_STATUS={"passed": "in orde", "failed": "gefaald", "incomplete": "onvolledig",
                                  None: "niet gecontroleerd"})
    return env


def dashboard_page(engine: Engine, scheme_ids: Sequence[str], *, user: str, approvals: Sequence[Approval] = (),
                   ui_base: str = "/", run_limit: int = 10, plots: bool = True) -> str:
    """The whole page: per scheme the latest runs with their figures, the take-up plot, the last run's plot and
    what waits for approval; then the sources' freshness (judged against today), the runs not finished and the
    person lookup form."""
    from proactief.casework import casework_counts
    from proactief.dashboard.plot import district_svg, run_svg, trend_svg
    from proactief.lifecycle.holds import holds

    by_scheme = runs(engine, scheme_ids, limit=run_limit)
    newest = newest_runs(engine, scheme_ids)
    held = {h["scheme"]: h for h in holds(engine) if h["active"]}
    by_district = coverage_by_district(engine, scheme_ids)
    casework = casework_counts(engine, scheme_ids)
    views = []
    for scheme_id in scheme_ids:
        scheme = load_scheme(scheme_id)
        view = SchemeView(scheme_id, scheme.title, scheme.owner.department, by_scheme[scheme_id],
                          take_up_trend(engine, scheme_id),
                          approvals=[a for a in approvals if a.dag_id == scheme_id], hold=held.get(scheme_id),
                          newest=newest.get(scheme_id), districts=by_district.get(scheme_id),
                          casework=casework.get(scheme_id, {}))
        if plots and view.trend:
            view.trend_plot = _data_uri(trend_svg(view.trend, scheme_id))
        if plots and view.last_run is not None:
            view.run_plot = _data_uri(run_svg(view.last_run))
        if plots and view.districts is not None:
            view.district_plot = _data_uri(district_svg(view.districts))
        views.append(view)
    titles = {v.id: v.title for v in views}
    # the schemes that ran, latest run first; those without a run in one short list at the end
    active = sorted((v for v in views if v.last_run is not None),
                    key=lambda v: v.runs[0].started_at, reverse=True)
    today = dt.datetime.now(dt.UTC).date()
    return _env().get_template("dashboard.html.j2").render(
        user=user, schemes=active, idle=[v for v in views if not v.last_run],
        unfinished=unfinished_runs(engine, scheme_ids), approvals=list(approvals), titles=titles,
        ui_base=ui_base.rstrip("/") + "/", now=dt.datetime.now(dt.UTC), today=today,
        freshness=freshness_table(engine, today))


def lookup_page(scheme_ids: Sequence[str], *, user: str, explanation: Explanation | None = None,
                error: str | None = None, scheme_id: str | None = None, export: bool = False,
                bezwaar: bool = False, notice: str | None = None, live_service: bool = False,
                live: Any = None) -> str:
    """The call centre's lookup: the form (POST, so no INSZ in a URL), and the explanation or the error; with
    ``export``, the buttons for the person's access document (they post the lookup's log reference, not the
    INSZ); with ``bezwaar`` (the user may edit the scheme), the form to record an objection (it posts the same
    reference); with ``live_service`` (the advice service is configured), the button that asks it now, and ``live``
    its answer (:class:`proactief.dashboard.live.LiveAdvice`)."""
    import datetime as dt

    from proactief.casework import BEZWAAR_CHANNEL_LABELS, BEZWAAR_CHANNELS

    titles = {s: load_scheme(s).title for s in scheme_ids}
    export_ref = explanation.audit_ref if export and explanation is not None else None
    bezwaar_ref = explanation.audit_ref if bezwaar and explanation is not None else None
    live_ref = explanation.audit_ref if live_service and explanation is not None else None
    return _env().get_template("lookup.html.j2").render(user=user, titles=titles, explanation=explanation,
                                                        error=error, chosen=scheme_id, export_ref=export_ref,
                                                        bezwaar_ref=bezwaar_ref, channels=BEZWAAR_CHANNELS,
                                                        channel_labels=BEZWAAR_CHANNEL_LABELS,
                                                        today=dt.date.today().isoformat(), notice=notice,
                                                        live_ref=live_ref, live=live)

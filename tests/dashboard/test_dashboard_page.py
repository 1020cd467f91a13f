"""The page and its plots: the figures of each run in the table, SVG plots, approvals linked, no INSZ."""

from __future__ import annotations

import base64
import datetime as dt
import re

import pytest
from sqlalchemy import Engine, select

from proactief.dashboard import runs, take_up_trend
from proactief.dashboard.plot import run_svg, trend_svg
from proactief.dashboard.render import Approval, dashboard_page, lookup_page
from tests.dashboard.ledger_data import IVAGO, UITPAS, Ledger, person

pytestmark = pytest.mark.integration
INSZ_LIKE = re.compile(r"(?<!\d)\d{11}(?!\d)")


def _cell(html: str, run_id: int, figure: str) -> str:
    row = re.search(rf'<tr data-run="{run_id}">(.*?)</tr>', html, re.S)
    assert row, f"no row for run {run_id}"
    cell = re.search(rf'data-figure="{figure}">([^<]*)<', row.group(1))
    assert cell, f"no {figure} in run {run_id}"
    return cell.group(1).strip()


def test_the_page_shows_each_runs_figures_and_the_plots(engine: Engine, data: Ledger) -> None:
    approval = Approval(UITPAS, "manual__e", "Goedkeuring nodig vóór toekenning",
                        dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
                        "/dags/uitpas-kansentarief/runs/manual__e/tasks/decision_quality.approve/required_actions")
    html = dashboard_page(engine, [UITPAS, IVAGO], user="eigenaar", approvals=[approval])
    a = data.runs["a"]
    assert [_cell(html, a, f) for f in ("selected", "eligible", "granted", "notified", "undetermined",
                                        "opted_out", "dq")] == ["6", "3", "2", "1", "1", "1", "in orde"]
    assert _cell(html, data.runs["e"], "dq") == "gefaald"
    assert 'id="scheme-ivago-tegemoetkoming"' in html
    assert html.count('src="data:image/svg+xml;base64,') == 6  # per scheme: trend, last run, coverage per wijk
    assert approval.url in html and 'target="_top"' in html
    assert "Aangemeld als eigenaar" in html
    assert 'method="post" action="lookup"' in html
    assert not INSZ_LIKE.search(html)
    svg = base64.b64decode(re.search(r'src="data:image/svg\+xml;base64,([^"]+)"', html).group(1)).decode()
    assert "<svg" in svg and "rechthebbend" in svg


def test_the_opt_out_count_is_not_called_an_objection_against_a_decision(engine: Engine, data: Ledger) -> None:
    """"Bezwaar" alone now also means an objection against a decision (casework): the opt-out figure says which."""
    html = dashboard_page(engine, [UITPAS], user="eigenaar", plots=False)
    assert 'Bezwaar (opt-out)<b data-figure="opted_out">' in html
    assert '<th class="num">Bezwaar (opt-out)</th>' in html


def test_a_scheme_without_runs_and_a_user_without_schemes(engine: Engine, data: Ledger) -> None:
    html = dashboard_page(engine, ["lez-vrijstelling"], user="x", plots=False)
    assert '<h2>Nog geen run</h2>' in html and 'id="scheme-lez-vrijstelling"' in html
    assert "Alle runs zijn afgerond." in html
    assert "U hebt geen toegang tot een regeling" in dashboard_page(engine, [], user="x")


def test_a_held_scheme_says_so_with_who_and_why(engine: Engine, data: Ledger) -> None:
    from proactief.lifecycle.holds import hold_scheme, release_scheme

    hold_scheme(engine, UITPAS, by="ops.jan", reason="UiTPAS API weigert ons token")
    hold_scheme(engine, "lez-vrijstelling", by="ops.an", reason="LEZ-register onderhoud")
    html = dashboard_page(engine, [UITPAS, IVAGO, "lez-vrijstelling"], user="eigenaar", plots=False)
    uitpas = re.search(r'id="scheme-uitpas-kansentarief".*?</section>', html, re.S).group(0)
    assert "Gepauzeerd</b>" in uitpas and "door ops.jan: UiTPAS API weigert ons token" in uitpas
    ivago = re.search(r'id="scheme-ivago-tegemoetkoming".*?</section>', html, re.S).group(0)
    assert "Gepauzeerd" not in ivago
    assert "gepauzeerd</b> (LEZ-register onderhoud)" in html  # a scheme without runs, in the short list
    release_scheme(engine, UITPAS, by="ops.jan")
    assert "door ops.jan" not in dashboard_page(engine, [UITPAS], user="eigenaar", plots=False)


def test_a_runs_quarantined_subjects_are_shown_within_the_undetermined(engine: Engine, data: Ledger) -> None:
    from sqlalchemy import update

    from proactief.ledger.models import SchemeRun

    a = data.runs["a"]
    with engine.begin() as conn:
        figures = conn.execute(select(SchemeRun.figures).where(SchemeRun.id == a)).scalar_one()
        conn.execute(update(SchemeRun).where(SchemeRun.id == a).values(figures={**figures, "data_errors": 1}))
    html = dashboard_page(engine, [UITPAS], user="eigenaar", plots=False)
    assert _cell(html, a, "undetermined") == "1"
    row = re.search(rf'<tr data-run="{a}">(.*?)</tr>', html, re.S).group(1)
    assert "(1 gegevensfout)" in row
    assert runs(engine, [UITPAS])[UITPAS][-1].data_errors == 1


def test_a_runs_household_objections_are_shown_within_the_undetermined(engine: Engine, data: Ledger) -> None:
    from sqlalchemy import update

    from proactief.ledger.models import SchemeRun

    a = data.runs["a"]
    with engine.begin() as conn:
        figures = conn.execute(select(SchemeRun.figures).where(SchemeRun.id == a)).scalar_one()
        conn.execute(update(SchemeRun).where(SchemeRun.id == a)
                     .values(figures={**figures, "household_objections": 1}))
    html = dashboard_page(engine, [UITPAS], user="eigenaar", plots=False)
    row = re.search(rf'<tr data-run="{a}">(.*?)</tr>', html, re.S).group(1)
    assert "(1 bezwaar gezinslid)" in row
    assert runs(engine, [UITPAS])[UITPAS][-1].household_objections == 1


def test_plots_are_svg_with_dutch_labels(engine: Engine, data: Ledger) -> None:
    trend = trend_svg(take_up_trend(engine, UITPAS), "Opname per periode")
    assert trend.lstrip().startswith("<?xml") and "<svg" in trend
    for word in ("rechthebbend", "toegekend", "verwittigd", "2026-10", "2026-11"):
        assert word in trend
    assert "nog geen afgeronde run" in trend_svg([], "leeg")
    last = run_svg(runs(engine, [UITPAS])[UITPAS][0])
    assert "bezwaar (opt-out)" in last and "onbeslist" in last and "2 geselecteerd" in last


def test_lookup_page_escapes_and_keeps_the_insz_out_of_the_form(engine: Engine, data: Ledger) -> None:
    from proactief.dashboard import explain

    html = lookup_page([UITPAS], user="<b>an</b>", explanation=explain(engine, person(1), UITPAS),
                       scheme_id=UITPAS)
    assert "&lt;b&gt;an&lt;/b&gt;" in html
    assert 'data-decision="eligible"' in html and "Woont in Gent op de peildatum." in html
    assert person(1) not in html  # the answer never repeats the number

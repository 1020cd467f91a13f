"""Coverage per district: counts per wijk from the ledger, cells under 10 persons hidden (and a second cell where the
total would give one back), districts that stand out flagged, the section on the page, no INSZ."""

from __future__ import annotations

import base64
import datetime as dt
import re

import pytest
from sqlalchemy import Engine, insert

from proactief.dashboard.districts import UNKNOWN, coverage, coverage_of, suppress
from proactief.dashboard.render import dashboard_page
from proactief.ledger.models import Resident
from tests.dashboard.ledger_data import IVAGO, UITPAS, _decision, _grant, _notice, _run, person

INSZ_LIKE = re.compile(r"(?<!\d)\d{11}(?!\d)")


# ------------------------------------------------------------------------------------------ k-anonymity


def test_a_cell_of_nine_persons_is_hidden_and_ten_is_shown() -> None:
    shown = suppress({"Zuid": {"eligible": 9}, "Drongen": {"eligible": 10}, "Rabot - Blaisantvest": {"eligible": 8}},
                     ["eligible"])
    assert shown == {"Zuid": {"eligible": None}, "Drongen": {"eligible": 10},
                     "Rabot - Blaisantvest": {"eligible": None}}


def test_a_single_hidden_cell_in_a_column_hides_the_smallest_other_so_the_total_cannot_give_it_back() -> None:
    raw = {"Zuid": {"eligible": 4, "granted": 40}, "Drongen": {"eligible": 30, "granted": 30},
           "Wondelgem": {"eligible": 12, "granted": 50}}
    shown = suppress(raw, ["eligible", "granted"])
    assert [shown[d]["eligible"] for d in ("Zuid", "Drongen", "Wondelgem")] == [None, 30, None]
    assert [shown[d]["granted"] for d in ("Zuid", "Drongen", "Wondelgem")] == [40, 30, 50]  # none hidden: as is
    two = suppress({"A": {"n": 3}, "B": {"n": 5}, "C": {"n": 30}}, ["n"])
    assert [two[d]["n"] for d in "ABC"] == [None, None, 30]  # two hidden already protect each other


def test_shares_of_hidden_cells_are_hidden_too_and_every_wijk_gets_a_row() -> None:
    cov = coverage_of({"Drongen": {"decided": 50, "eligible": 40, "granted": 9, "notified": 9, "undetermined": 10},
                       "Zwijnaarde": {"decided": 50, "eligible": 40, "granted": 30, "undetermined": 10}})
    assert len(cov.rows) == 25 and UNKNOWN not in [r.district for r in cov.rows]
    drongen = next(r for r in cov.rows if r.district == "Drongen")
    assert (drongen.eligible, drongen.granted, drongen.take_up) == (40, None, None)
    assert drongen.undetermined_share == pytest.approx(0.2)
    zwijnaarde = next(r for r in cov.rows if r.district == "Zwijnaarde")
    assert zwijnaarde.take_up == pytest.approx(0.75)
    assert (cov.total.decided, cov.total.granted, cov.total.failed) == (100, 39, None)


# ------------------------------------------------------------------------------------------ flags


def test_a_district_with_more_than_twice_the_city_s_undetermined_or_failed_share_is_flagged() -> None:
    raw = {"Rabot - Blaisantvest": {"decided": 40, "eligible": 20, "granted": 20, "undetermined": 20},
           "Drongen": {"decided": 200, "eligible": 100, "granted": 100, "undetermined": 10, "failed": 40},
           "Zuid": {"decided": 12, "eligible": 10, "granted": 10, "undetermined": 9},  # high share, but 9 persons
           "Sint-Amandsberg": {"decided": 300, "eligible": 150, "granted": 150, "undetermined": 11, "failed": 10}}
    cov = coverage_of(raw)
    flags = {r.district: r.flags for r in cov.rows if r.flags}
    # city: undetermined 50 / 552 = 9 %, failed 50 / 280 = 18 %
    assert flags == {"Rabot - Blaisantvest": ("veel onbeslist",), "Drongen": ("veel mislukte leveringen",)}
    assert cov.flagged == ["Drongen", "Rabot - Blaisantvest"]
    assert cov.city_undetermined_share == pytest.approx(50 / 552)


# ------------------------------------------------------------------------------------------ from the ledger


def _resident(conn: object, n: int, district: str | None) -> None:
    conn.execute(insert(Resident).values(  # type: ignore[attr-defined]
        insz=person(n), household_id=f"H{n}", reference_person=True, position="01", address_kind="main",
        postcode="9000", nis_code="44021", since=dt.date(2020, 1, 1), email=None, address_line="Straat 1, 9000 Gent",
        district=district, snapshot="test", repertorium_registered=True))


def _city(engine: Engine) -> int:
    """Rabot: 30 decided, 10 eligible (granted, notified), 20 undetermined. Drongen: 50 decided, 40 eligible and
    granted, 28 notified, 12 notifications failed, 10 not eligible. Zuid: 9 eligible and granted. One undetermined
    person the extract does not place. A cancelled grant and a dry run do not count."""
    day, at = dt.date(2026, 11, 1), dt.datetime(2026, 11, 1, 4, tzinfo=dt.UTC)
    with engine.begin() as conn:
        run = _run(conn, "w", period="2026-11", day=day, started=at, figures={})
        dry = _run(conn, "dry", period="2026-12", day=dt.date(2026, 12, 1), started=at, dry_run=True, figures={})
        n = 0
        for district, plan in (("Rabot - Blaisantvest", ["e+"] * 10 + ["u"] * 20),
                               ("Drongen", ["e+"] * 28 + ["e!"] * 12 + ["n"] * 10),
                               ("Zuid", ["e+"] * 9), (None, ["u"]), ("Ledeberg", ["x"] * 12)):
            for what in plan:
                n += 1
                if district is not None:
                    _resident(conn, n, district)
                decision = {"e": "eligible", "u": "undetermined", "n": "not_eligible", "x": "eligible"}[what[0]]
                d = _decision(conn, run, n, decision, period="2026-11", day=day, reasons=[], at=at)
                _decision(conn, dry, n, "undetermined", period="2026-12", day=dt.date(2026, 12, 1), reasons=[], at=at)
                if decision == "eligible":
                    g = _grant(conn, run, d, n, period="2026-11", at=at,
                               status="cancelled" if what == "x" else "granted")
                    if what in ("e+", "e!"):
                        _notice(conn, g, "sent" if what == "e+" else "failed", at)
    return run


def test_coverage_counts_each_decided_person_in_the_wijk_the_extract_gives(engine: Engine) -> None:
    run = _city(engine)
    cov = coverage(engine, UITPAS)
    assert cov is not None and (cov.run_id, cov.period) == (run, "2026-11")
    rows = {r.district: r for r in cov.rows}
    rabot, drongen, zuid, unknown = (rows["Rabot - Blaisantvest"], rows["Drongen"], rows["Zuid"], rows[UNKNOWN])
    assert (rabot.decided, rabot.eligible, rabot.granted, rabot.notified, rabot.undetermined) == (30, 10, 10, 10, 20)
    assert (drongen.decided, drongen.eligible, drongen.granted, drongen.notified, drongen.failed) == (
        50, 40, 40, 28, 12)
    assert drongen.take_up == pytest.approx(1.0) and drongen.failed_share == pytest.approx(0.3)
    assert (zuid.eligible, zuid.take_up, unknown.decided) == (None, None, None)  # 9 and 1 person(s): hidden
    assert (rows["Ledeberg"].eligible, rows["Ledeberg"].granted) == (12, None)  # cancelled grants are no grants
    assert (cov.total.decided, cov.total.eligible, cov.total.granted) == (102, 71, 59)
    assert rabot.flags == ("veel onbeslist",) and cov.flagged == ["Rabot - Blaisantvest"]
    assert coverage(engine, IVAGO) is None


def test_the_page_shows_bereik_per_wijk_for_the_schemes_the_user_may_see(engine: Engine) -> None:
    run = _city(engine)
    html = dashboard_page(engine, [UITPAS], user="eigenaar")
    section = re.search(rf'<div class="districts" data-districts="{run}">(.*?)</div>\s*</section>', html, re.S)
    assert section, "no Bereik per wijk section"
    body = section.group(1)
    assert "<h3>Bereik per wijk</h3>" in body and "Opvallend:</b> Rabot - Blaisantvest" in body

    def cell(district: str, figure: str) -> str:
        row = re.search(rf'<tr data-district="{re.escape(district)}"[^>]*>(.*?)</tr>', body, re.S)
        assert row, district
        found = re.search(rf'data-figure="{figure}">([^<]*)<', row.group(1))
        assert found, (district, figure)
        return found.group(1).strip()

    assert [cell("Drongen", f) for f in ("decided", "eligible", "granted", "notified", "take_up")] == [
        "50", "40", "40", "28", "100,0%"]
    assert cell("Zuid", "eligible") == "&lt;10" and cell("Zuid", "take_up") == "&lt;10"
    assert cell("Gent", "decided") == "102"
    assert 'class="flagged"' in body and "veel onbeslist" in body
    plot = re.search(r'<div class="plot-districts"><img alt="([^"]*)" src="data:image/svg\+xml;base64,([^"]+)"', body)
    assert plot and "Drongen 100,0%" in plot.group(1) and "Zuid" not in plot.group(1)
    svg = base64.b64decode(plot.group(2)).decode()
    assert "<svg" in svg and "Drongen" in svg and "Zuid" not in svg
    assert not INSZ_LIKE.search(html)
    assert "data-districts" not in dashboard_page(engine, [IVAGO], user="ander", plots=False)

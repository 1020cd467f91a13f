"""The dashboard's plots as SVG (matplotlib, Agg, no pyplot: no global state in a threaded web server).

matplotlib is imported inside the functions: the plugin module is imported by every Airflow process, and only the
api-server ever draws.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from proactief.dashboard.districts import DistrictCoverage
    from proactief.dashboard.figures import RunFigures
    from proactief.dashboard.trend import TrendPoint

__all__ = ["SERIES", "district_svg", "run_svg", "trend_svg"]

SERIES = (("eligible", "rechthebbend", "#1f5fa8"), ("granted", "toegekend", "#2e9c5a"),
          ("notified", "verwittigd", "#e0a100"))
"""Per series: attribute, Dutch label, colour (the same three in every plot and table)."""


def _svg(fig: object, salt: str) -> str:
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": salt, "svg.fonttype": "none"}):
        fig.savefig(buf, format="svg")  # type: ignore[attr-defined]
    return buf.getvalue()


def _figure(width: float, height: float) -> object:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=96, layout="constrained")
    fig.patch.set_alpha(0)
    return fig


def trend_svg(points: Sequence[TrendPoint], title: str) -> str:
    """Grouped bars per period: eligible, granted, notified (readable with one period as with twenty; the caller
    shows no plot for a scheme without periods).

    Cached on the numbers: drawing takes a few tenths of a second and the figures change only when a run does."""
    return _trend_svg(tuple(points), title)


@lru_cache(maxsize=64)
def _trend_svg(points: tuple[TrendPoint, ...], title: str) -> str:
    fig = _figure(6.4, 2.6)
    ax = fig.add_subplot()  # type: ignore[attr-defined]
    labels = [p.period for p in points]
    width = 0.8 / len(SERIES)
    for i, (attr, label, colour) in enumerate(SERIES):
        xs = [x + (i - 1) * width for x in range(len(points))]
        values = [getattr(p, attr) for p in points]
        bars = ax.bar(xs, values, width, label=label, color=colour)
        if len(points) <= 6:
            ax.bar_label(bars, labels=[f"{v:,}".replace(",", ".") for v in values], fontsize=8, padding=2)
    ax.set_xticks(range(len(points)), labels, rotation=30 if len(points) > 6 else 0, fontsize=8)
    ax.set_xlim(-0.6, max(len(points), 4) - 0.4)  # one period is one group of bars, not the whole width
    ax.set_ylabel("personen", fontsize=8)
    ax.tick_params(axis="y", labelsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    ax.margins(y=0.15)
    if not points:
        ax.text(0.5, 0.5, "nog geen afgeronde run", transform=ax.transAxes, ha="center", va="center",
                color="#666")
    ax.legend(fontsize=8, frameon=False, loc="lower left", bbox_to_anchor=(0, 1.0), ncols=3)
    return _svg(fig, f"trend-{title}")


def run_svg(run: RunFigures) -> str:
    """Horizontal bars of one run: eligible, granted, notified, undetermined, opted out; the number selected in
    the title (as a bar it would flatten the others). Cached."""
    return _run_svg(run.run_id, run.period, (run.selected, run.eligible, run.granted, run.notified,
                                             run.undetermined, run.opted_out))


@lru_cache(maxsize=64)
def _run_svg(run_id: int, period: str, counts: tuple[int, ...]) -> str:
    selected, *rest = counts
    labels = ("rechthebbend", "toegekend", "verwittigd", "onbeslist", "bezwaar (opt-out)")
    colours = (SERIES[0][2], SERIES[1][2], SERIES[2][2], "#c0392b", "#8e44ad")
    fig = _figure(4.2, 2.3)
    ax = fig.add_subplot()  # type: ignore[attr-defined]
    bars = ax.barh(list(reversed(labels)), list(reversed(rest)), color=list(reversed(colours)))
    ax.bar_label(bars, labels=[f"{v:,}".replace(",", ".") for v in reversed(rest)], fontsize=8, padding=3)
    ax.set_title(f"Run {run_id} · periode {period} · {selected:,} geselecteerd".replace(",", "."), fontsize=9,
                 loc="left")
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=8)
    ax.margins(x=0.18)
    return _svg(fig, f"run-{run_id}")


def district_svg(cov: DistrictCoverage) -> str:
    """Horizontal bars: take-up (granted / eligible) per district, the city's as a dashed line. A district whose
    take-up is suppressed (fewer than 10 persons behind it) is left out, not drawn as zero. Cached."""
    points = tuple((r.district, r.take_up) for r in cov.rows if r.take_up is not None)
    return _district_svg(cov.scheme_id, cov.run_id, points, cov.total.take_up)


@lru_cache(maxsize=64)
def _district_svg(scheme_id: str, run_id: int, points: tuple[tuple[str, float], ...], city: float | None) -> str:
    fig = _figure(6.4, 1.2 + 0.22 * max(len(points), 1))
    ax = fig.add_subplot()  # type: ignore[attr-defined]
    names = [name for name, _ in reversed(points)]
    values = [100 * v for _, v in reversed(points)]
    bars = ax.barh(names, values, color=SERIES[1][2])
    ax.bar_label(bars, labels=[f"{v:.0f}%" for v in values], fontsize=7, padding=2)
    if city is not None:
        ax.axvline(100 * city, color="#333", linestyle="--", linewidth=1, label=f"Gent {100 * city:.0f}%")
        ax.legend(fontsize=8, frameon=False, loc="lower left", bbox_to_anchor=(0, 1.0))
    ax.set_xlim(0, 110)
    ax.set_xlabel("opname (toegekend / rechthebbend, %)", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.spines[["top", "right"]].set_visible(False)
    if not points:
        ax.text(0.5, 0.5, "geen wijk met 10 of meer rechthebbenden", transform=ax.transAxes, ha="center",
                va="center", color="#666")
    return _svg(fig, f"districts-{scheme_id}-{run_id}")

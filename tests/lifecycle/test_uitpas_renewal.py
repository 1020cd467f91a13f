"""Renewal, not re-grant (UiTPAS kansentarief): monthly runs from October to January on PostgreSQL and the MAGDA
simulator, with the outbox dispatched after each run (the UiTPAS stand-in over HTTP, notices rendered and sent).

The grant key is ``[scheme, subject, year]``: one kansentarief per person and calendar year, until 31 December.

- Outside the window (November) a running grant gets nothing new: no grant, no UiTPAS write, no letter.
- The December run (inside ``verlengen_dagen_voor_einde``, 31 days before 31 December) makes next year's grant, from
  1 January to 31 December 2027, for exactly the persons still eligible in December whose grant runs: registered in
  UiTPAS once (the social tariff's end moves to 31 December 2027), told in one short "loopt langer" message, never
  a second "toegekend". Whoever is no longer eligible in December, or objected meanwhile, gets no renewal.
- January's run finds the year's grant and adds nothing: no grant, no UiTPAS write, no letter.
- A retried grant or notify step and a re-run of December add nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from sqlalchemy import Engine, func, select

from proactief.delivery import Delivered
from proactief.grants.uitpas import UitpasAdapter, UitpasClient
from proactief.ledger.models import DecisionRow, GrantRow, OcmwPeriod, OutboxMessage
from proactief.lifecycle import grant, notify, record_objection, run_in_process
from proactief.lifecycle.outbox import dispatch_grants, dispatch_notices
from proactief.notify.model import Notice as NoticeData
from proactief.notify.model import RenderedNotice
from proactief.notify.render import render
from proactief_sim.standins.server import build_app
from proactief_sim.standins.testing import serving
from tests.lifecycle.worlds import World, city_ledger, generated_world

pytestmark = pytest.mark.integration

UITPAS = "uitpas-kansentarief"
OCT, NOV, DEC, JAN = dt.date(2026, 10, 1), dt.date(2026, 11, 1), dt.date(2026, 12, 1), dt.date(2027, 1, 1)
SIZE = 2000


@dataclass
class Sent:
    """A notice channel that keeps what it sends (e-mail, letter and eBox alike), in ``log`` in sending order."""

    name: str
    log: list[tuple[NoticeData, RenderedNotice]] = field(default_factory=list)

    def send(self, notice: NoticeData, rendered: RenderedNotice) -> Delivered:
        self.log.append((notice, rendered))
        return Delivered(reference=f"{self.name}-{len(self.log)}")


@dataclass
class Setting:
    world: World
    standins: str

    def uitpas(self) -> UitpasClient:
        return UitpasClient(f"{self.standins}/uitpas", "proactief-gent", "standin-secret")  # noqa: S106

    def uitpas_state(self) -> dict[str, Any]:
        resp = requests.get(f"{self.standins}/uitpas/_standin/state", timeout=10)
        resp.raise_for_status()
        return dict(resp.json())


@pytest.fixture(scope="module")
def setting(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setting]:
    with generated_world(tmp_path_factory.mktemp("ghent"), SIZE, 17, UITPAS) as world, \
            serving(build_app(auto_passholders=True)) as standins:
        yield Setting(world, standins)


@pytest.fixture
def ledger(pg_url: str, setting: Setting) -> Iterator[Engine]:
    requests.post(f"{setting.standins}/uitpas/_standin/reset", timeout=10).raise_for_status()
    with city_ledger(pg_url, setting.world.folder) as engine:
        yield engine


@pytest.fixture(autouse=True)
def later_periods_on_one_extract(freshness_allowing: Any) -> None:
    """December and January are decided on the one November extract:
    allow that (the stale-source alarm is tested in tests/freshness)."""
    freshness_allowing(residents=75, ocmw=75)


@pytest.fixture
def channels() -> dict[str, Sent]:
    log: list[tuple[NoticeData, RenderedNotice]] = []  # one, shared: what was sent, in order, on any channel
    return {name: Sent(name, log) for name in ("email", "letter", "ebox")}


def dispatch(ledger: Engine, setting: Setting, channels: dict[str, Sent]) -> None:
    dispatch_grants(ledger, {"uitpas": UitpasAdapter(setting.uitpas())})
    dispatch_notices(ledger, channels, render)  # type: ignore[arg-type]


def month(ledger: Engine, setting: Setting, channels: dict[str, Sent], d: dt.date, tag: str = "") -> dict[str, Any]:
    report = run_in_process(ledger, UITPAS, d, setting.world.magda(), external_id=f"test/uitpas/{d}{tag}",
                            chunk_size=1000)
    dispatch(ledger, setting, channels)
    return report


def sent(channels: dict[str, Sent]) -> list[tuple[NoticeData, RenderedNotice]]:
    return list(channels["email"].log)


def eligible(ledger: Engine, run_id: int) -> set[str]:
    with ledger.connect() as conn:
        return set(conn.execute(select(DecisionRow.insz).where(DecisionRow.run_id == run_id,
                                                               DecisionRow.decision == "eligible")).scalars())


def grants_of(ledger: Engine, year: int) -> dict[str, Any]:
    with ledger.connect() as conn:
        rows = conn.execute(select(GrantRow.__table__).where(GrantRow.scheme_id == UITPAS,
                                                             GrantRow.grant_key.like(f"%|{year}"))).all()
    by_person = {g.insz: g for g in rows}
    assert len(by_person) == len(rows), "one grant per person and year"
    return by_person


def counts(ledger: Engine, setting: Setting, channels: dict[str, Sent]) -> dict[str, int]:
    with ledger.connect() as conn:
        def n(*where: Any) -> int:
            return int(conn.execute(select(func.count()).select_from(OutboxMessage).where(*where)).scalar_one())

        grants = int(conn.execute(select(func.count()).select_from(GrantRow)).scalar_one())
        return {"grants": grants, "outbox_grant": n(OutboxMessage.kind == "grant"),
                "outbox_notices": n(OutboxMessage.kind.like("notify%")), "sent": len(sent(channels)),
                "uitpas_writes": int(setting.uitpas_state()["writes"])}


def _lose_statutes(setting: Setting, people: list[str], last_day: dt.date) -> dict[str, dict[str, Any]]:
    """End every statute of ``people`` on ``last_day`` in the simulator's register; returns their records as they
    were (to put back)."""
    wanted, before = set(people), {}
    with open(setting.world.folder / "magda-population.jsonl", encoding="utf-8") as fh:
        for line in fh:
            record = json.loads(line)
            if record["insz"] in wanted:
                before[record["insz"]] = record
    for record in before.values():
        changed = {**record, "statutes": [
            {**s, "periods": [{**p, "end": min(p.get("end") or "9999-12-31", last_day.isoformat())}
                              for p in (s.get("periods") or [{"begin": "2000-01-01"}])
                              if p["begin"] <= last_day.isoformat()]}
            for s in record.get("statutes") or ()]}
        setting.world.sim.admin("POST", "population", {"person": changed})
    return before


def test_december_renews_the_still_eligible_for_next_year_and_january_adds_nothing(
        ledger: Engine, setting: Setting, channels: dict[str, Sent]) -> None:
    october = month(ledger, setting, channels, OCT)
    holders = set(grants_of(ledger, 2026))
    assert len(holders) >= 20 and holders == eligible(ledger, october["run_id"])
    first = counts(ledger, setting, channels)
    assert first["sent"] == len(holders) and all(n.kind == "toegekend" for n, _ in sent(channels))

    november = month(ledger, setting, channels, NOV)  # 60 days before the end: outside the window
    assert november["figures"]["grant"].get("renewed", 0) == 0 and not grants_of(ledger, 2027)
    newcomers = eligible(ledger, november["run_id"]) - holders
    assert counts(ledger, setting, channels) == {**first, "grants": first["grants"] + len(newcomers),
                                                 "outbox_grant": first["outbox_grant"] + len(newcomers),
                                                 "outbox_notices": first["outbox_notices"] + len(newcomers),
                                                 "sent": first["sent"] + len(newcomers),
                                                 "uitpas_writes": first["uitpas_writes"] + len(newcomers)}
    holders |= newcomers

    # Before December: some holders lose their statute (and have no OCMW help), two others object.
    with ledger.connect() as conn:
        helped = set(conn.execute(select(OcmwPeriod.insz)).scalars())
    lose = sorted(holders - helped)[:3]
    objecting = sorted(holders - helped - set(lose))[:2]
    assert len(lose) == 3 and len(objecting) == 2
    for person in objecting:
        record_objection(ledger, person, channel="balie")
    before = _lose_statutes(setting, lose, dt.date(2026, 11, 20))
    try:
        texts_before = len(sent(channels))
        december = month(ledger, setting, channels, DEC)
        in_december = eligible(ledger, december["run_id"])
        assert not set(lose) & in_december, "their statute ended: not eligible in December"
        renewed = grants_of(ledger, 2027)
        assert set(renewed) == (in_december & holders) - set(objecting), \
            "exactly the December-eligible persons whose grant runs, none who objected"
        assert december["figures"]["grant"].get("renewed", 0) == len(renewed) >= 20
        current = grants_of(ledger, 2026)
        for person, g in renewed.items():
            assert (g.valid_from, g.valid_until) == (JAN, dt.date(2027, 12, 31)) and g.status == "delivered"
            assert g.terms["renews"] == current[person].id and g.terms["previous_until"] == "2026-12-31"
            assert g.run_id == december["run_id"]

        december_sent = sent(channels)[texts_before:]
        newcomers = in_december - holders - set(objecting)  # first eligible in December: this year's grant only
        assert sorted(n.kind for n, _ in december_sent) == sorted(
            ["verlengd"] * len(renewed) + ["toegekend"] * len(newcomers))
        told = {n.insz for n, _ in december_sent if n.kind == "verlengd"}
        assert told == set(renewed), "one renewal message per renewal, nobody told twice"
        notice, rendered = next(m for m in december_sent if m[0].kind == "verlengd")
        words = " ".join(rendered.text.split())
        assert rendered.subject == "Uw voordeel loopt langer: kansentarief op uw UiTPAS"
        assert "liep tot en met 31 december 2026" in words and "verlengd tot en met 31 december 2027" in words
        assert "toekent" not in rendered.subject + rendered.text and notice.insz not in rendered.text

        client = setting.uitpas()  # UiTPAS has next year's social tariff for the renewed, this year's for the rest
        for person in sorted(renewed)[:5]:
            tariff = client.find_passholder(person).membership("UiTPAS Gent").social_tariff  # type: ignore[union-attr]
            assert tariff is not None and tariff.end_date == dt.date(2027, 12, 31)
        for person in lose:
            tariff = client.find_passholder(person).membership("UiTPAS Gent").social_tariff  # type: ignore[union-attr]
            assert tariff is not None and tariff.end_date == dt.date(2026, 12, 31)

        after_december = counts(ledger, setting, channels)
        run_id = december["run_id"]
        again = grant(ledger, run_id)  # a retried or cleared grant step
        assert again["granted"] == 0 and again.get("renewed", 0) == 0
        assert notify(ledger, run_id)["queued"] == 0  # a retried notify step
        rerun = month(ledger, setting, channels, DEC, tag="/again")  # December decided once more
        assert rerun["figures"]["grant"].get("renewed", 0) == 0 and rerun["figures"]["notify"]["queued"] == 0
        assert counts(ledger, setting, channels) == after_december, "nothing twice"

        january = month(ledger, setting, channels, JAN)
        in_january = eligible(ledger, january["run_id"])
        assert in_january & set(renewed), "the renewed are eligible in January too"
        fresh = in_january - set(renewed) - set(objecting)
        figures = january["figures"]["grant"]
        assert figures["granted"] == len(fresh) and figures.get("renewed", 0) == 0
        assert counts(ledger, setting, channels) == {
            **after_december, "grants": after_december["grants"] + len(fresh),
            "outbox_grant": after_december["outbox_grant"] + len(fresh),
            "outbox_notices": after_december["outbox_notices"] + len(fresh),
            "sent": after_december["sent"] + len(fresh),
            "uitpas_writes": after_december["uitpas_writes"] + len(fresh)}, \
            "January finds the year's grant of the renewed: no grant, no UiTPAS write, no letter"
        assert not {n.insz for n, _ in sent(channels)[len(december_sent) + texts_before:]} & set(renewed)
        assert all(january["dq"].values()), january["dq"]
    finally:
        for record in before.values():
            setting.world.sim.admin("POST", "population", {"person": record})


def test_a_run_made_this_years_first_grant_is_not_renewed_by_the_same_december(
        ledger: Engine, setting: Setting, channels: dict[str, Sent]) -> None:
    """First eligible in December: this year's grant (its "toegekend"); next year comes from January's run as a
    grant of its own, and a retried December neither renews nor tells anything more."""
    december = month(ledger, setting, channels, DEC)
    holders = eligible(ledger, december["run_id"])
    assert holders and december["figures"]["grant"].get("renewed", 0) == 0 and not grants_of(ledger, 2027)
    assert grant(ledger, december["run_id"]).get("renewed", 0) == 0
    assert notify(ledger, december["run_id"])["queued"] == 0
    dispatch(ledger, setting, channels)
    assert sorted(n.kind for n, _ in sent(channels)) == ["toegekend"] * len(holders)

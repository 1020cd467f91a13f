"""Renewal, not re-grant (LEZ): weekly runs on consecutive Mondays, on PostgreSQL and the MAGDA simulator, with the
outbox dispatched after each run (LEZ register through MAGDA, notices rendered and sent).

- A holder whose exemption still runs (five years, or until the parking card ends) gets nothing on the next
  Mondays: no grant, no MAGDA LEZ registration, no letter (the grant key holds D + 5 years, which moves weekly).
- Inside the renewal window (``verlengen_dagen_voor_einde``: 30 days before the end) a still-eligible holder gets
  one renewal that continues the exemption from the day after its end, registered once, told in one short
  "loopt langer" message with the new end date, never a second "toegekend"; later Mondays add nothing.
- An exemption that must move to another vehicle ends the old one (revoke + a stop letter that says where it went)
  and grants the new one.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, insert, select, update

from proactief.delivery import Delivered
from proactief.grants.base import GrantOrder
from proactief.grants.lez import LezRegistration
from proactief.ledger import make_engine, upgrade
from proactief.ledger.audit import LedgerAuditSink
from proactief.ledger.models import DecisionRow, GrantRow, MagdaConsultation, Notice, OutboxMessage, Resident
from proactief.lifecycle import grant, import_city_data, notify, open_run, run_in_process
from proactief.lifecycle.outbox import dispatch_grants, dispatch_notices
from proactief.magda.client import MagdaClient
from proactief.magda.config import MagdaConfig
from proactief.notify.model import Notice as NoticeData
from proactief.notify.model import RenderedNotice
from proactief.notify.render import render
from proactief_sim.population import generate
from proactief_sim.simulator.testing import RunningSimulator, running_simulator
from tests.lifecycle.ledger_rows import make_insz

pytestmark = pytest.mark.integration

LEZ = "lez-vrijstelling"
MONDAYS = (dt.date(2026, 11, 2), dt.date(2026, 11, 9), dt.date(2026, 11, 16), dt.date(2026, 11, 23))
SIZE = 3000


@dataclass
class Sent:
    """A notice channel that keeps what it sends (e-mail, letter and eBox alike)."""

    name: str
    messages: list[tuple[NoticeData, RenderedNotice]] = field(default_factory=list)

    def send(self, notice: NoticeData, rendered: RenderedNotice) -> Delivered:
        self.messages.append((notice, rendered))
        return Delivered(reference=f"{self.name}-{len(self.messages)}")


@dataclass
class World:
    folder: Path
    sim: RunningSimulator

    def magda(self) -> MagdaConfig:
        return MagdaConfig(base_url=self.sim.base_url, identificatie="gent.be/proactief", backoff_base=0.0,
                           backoff_cap=0.0)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("ghent")
    generate(SIZE, 7, out=folder)
    with running_simulator(population=str(folder / "magda-population.jsonl"), repertorium_check=False,
                           seed=5) as sim:
        yield World(folder, sim)


@pytest.fixture
def ledger(pg_url: str, world: World) -> Iterator[Engine]:
    world.sim.admin("POST", "reset")  # the LEZ register starts empty for every test
    upgrade(pg_url)
    engine = make_engine(pg_url)
    import_city_data(engine, world.folder)
    yield engine
    engine.dispose()


@pytest.fixture(autouse=True)
def later_periods_on_one_extract(freshness_allowing: Any) -> None:
    """A month of Mondays is decided on the one extract of 1 November:
    allow that (the stale-source alarm is tested in tests/freshness)."""
    freshness_allowing(residents=31)


@pytest.fixture
def channels() -> dict[str, Sent]:
    return {name: Sent(name) for name in ("email", "letter", "ebox")}


def dispatch(ledger: Engine, world: World, channels: dict[str, Sent]) -> None:
    config = world.magda()
    adapters = {"lez-magda": LezRegistration(lambda: MagdaClient(config, LedgerAuditSink(ledger)))}
    dispatch_grants(ledger, adapters)
    dispatch_notices(ledger, channels, render)  # type: ignore[arg-type]


def figures(ledger: Engine, channels: dict[str, Sent]) -> dict[str, int]:
    with ledger.connect() as conn:
        def n(model: Any, *where: Any) -> int:
            return int(conn.execute(select(func.count()).select_from(model).where(*where)).scalar_one())

        return {"grants": n(GrantRow, GrantRow.scheme_id == LEZ),
                "registrations": n(MagdaConsultation, MagdaConsultation.service.like("%RegistreerLEZ%")),
                "outbox_notices": n(OutboxMessage, OutboxMessage.kind.like("notify%")),
                "sent": sum(len(c.messages) for c in channels.values())}


def monday(ledger: Engine, world: World, channels: dict[str, Sent], d: dt.date) -> dict[str, Any]:
    report = run_in_process(ledger, LEZ, d, world.magda(), external_id=f"test/lez/{d}", chunk_size=1000)
    dispatch(ledger, world, channels)
    return report


def test_later_mondays_grant_register_and_tell_nothing_new(ledger: Engine, world: World,
                                                           channels: dict[str, Sent]) -> None:
    monday(ledger, world, channels, MONDAYS[0])
    after_first = figures(ledger, channels)
    assert after_first["grants"] >= 3 and after_first["registrations"] >= 1 and after_first["sent"] >= 1
    with ledger.connect() as conn:
        ends = conn.execute(select(GrantRow.valid_until)).scalars().all()
    five_years = dt.date(2031, 11, 2)
    assert five_years in ends, "some exemption runs the full five years: its key moves with D"

    for d in MONDAYS[1:3]:
        again = monday(ledger, world, channels, d)
        assert figures(ledger, channels) == after_first, f"{d}: nothing new granted, registered or told"
        assert again["figures"]["grant"]["granted"] == 0 and again["figures"]["grant"]["renewed"] == 0
        done = again["figures"]["grant"]  # running: a later end date, the same benefit; already: the same key
        assert done["running"] + done["already_granted"] == again["figures"]["decisions"]["eligible"]
        assert done["running"] >= 1
        assert all(again["dq"].values()), again["dq"]  # reconciliation: each holder has its (running) grant


def test_a_renewal_inside_the_window_is_registered_once_and_told_in_its_own_short_message(
        ledger: Engine, world: World, channels: dict[str, Sent]) -> None:
    run_in_process(ledger, LEZ, MONDAYS[0], world.magda(), external_id="test/lez/first")
    ending_soon = dt.date(2026, 12, 10)  # as if the exemption had been granted five years ago
    with ledger.begin() as conn:
        target = conn.execute(select(GrantRow.id, GrantRow.insz).where(GrantRow.valid_until == dt.date(2031, 11, 2))
                              .order_by(GrantRow.id).limit(1)).one()
        conn.execute(update(GrantRow).where(GrantRow.id == target.id).values(valid_until=ending_soon))
    dispatch(ledger, world, channels)
    base = figures(ledger, channels)
    toegekend = sum(len(c.messages) for c in channels.values())

    second = monday(ledger, world, channels, MONDAYS[1])  # 31 days before the end: outside the window
    assert figures(ledger, channels) == base and second["figures"]["grant"]["renewed"] == 0

    third = monday(ledger, world, channels, MONDAYS[2])  # 24 days before the end: inside
    assert third["figures"]["grant"]["renewed"] == 1 and third["figures"]["grant"]["granted"] == 0
    now = figures(ledger, channels)
    assert now == {**base, "grants": base["grants"] + 1, "registrations": base["registrations"] + 1,
                   "outbox_notices": base["outbox_notices"] + 1, "sent": base["sent"] + 1}
    with ledger.connect() as conn:
        renewal = conn.execute(select(GrantRow).where(GrantRow.insz == target.insz, GrantRow.id != target.id)).one()
    assert renewal.valid_from == ending_soon + dt.timedelta(days=1)
    assert renewal.valid_until == dt.date(2031, 11, 16) and renewal.status == "delivered"
    assert renewal.terms["renews"] == target.id and renewal.terms["previous_until"] == ending_soon.isoformat()

    (notice, rendered), = [m for c in channels.values() for m in c.messages][toegekend:]
    assert notice.kind == "verlengd" and notice.insz == target.insz
    assert rendered.subject == "Uw voordeel loopt langer: vrijstelling voor de lage-emissiezone"
    words = " ".join(rendered.text.split())
    assert "liep tot en met 10 december 2026" in words and "verlengd tot en met 16 november 2031" in words
    assert "toekent" not in rendered.subject + rendered.text and target.insz not in rendered.text

    monday(ledger, world, channels, MONDAYS[3])
    assert figures(ledger, channels) == now, "the renewal runs: the next Monday adds nothing"


def _holder(ledger: Engine, n: int) -> str:
    person = make_insz(n)
    with ledger.begin() as conn:
        conn.execute(insert(Resident).values(
            insz=person, household_id=f"H{n}", reference_person=True, position="01", address_kind="main",
            postcode="9000", nis_code="44021", since=dt.date(2001, 1, 1), email=None,
            address_line="Kerkstraat 12, 9000 Gent", snapshot="test"))
    return person


def _eligible(ledger: Engine, run_id: int, insz: str, plate: str, d: dt.date, until: dt.date) -> None:
    terms = {"system": "lez-magda", "valid_from": d.isoformat(), "valid_until": until.isoformat(),
             "key_parts": [["scheme", LEZ], ["subject", ""], ["vehicle_plate", plate],
                           ["valid_until", until.isoformat()]],
             "attributes": {}, "vehicle_plate": plate, "amounts": {}, "percentages": {}, "basis": {},
             "sources": ["FOD Sociale Zekerheid – GeefDossierHandicap"]}
    key = f"{LEZ}|{insz[-6:]}|{plate}|{until.isoformat()}"
    with ledger.begin() as conn:
        conn.execute(insert(DecisionRow).values(
            run_id=run_id, scheme_id=LEZ, period="2026-W46", reference_date=d, insz=insz, decision="eligible",
            tier=None, amount=None, reasons=[], rule_version="1",
            advice={"grant_terms": terms, "grant_key": key}, consultations=[],
            decided_at=dt.datetime.now(dt.UTC), retain_until=dt.date(2033, 1, 1)))


class Register:
    """The LEZ register as an adapter that accepts every order (the simulator is not needed for this one)."""

    channel = "lez-magda"

    def __init__(self) -> None:
        self.orders: list[GrantOrder] = []

    def deliver(self, orders: list[GrantOrder]) -> list[Delivered]:
        self.orders.extend(orders)
        return [Delivered(reference=f"ref-{o.outbox_id}") for o in orders]


def test_an_exemption_that_moves_to_another_vehicle_ends_the_old_one_and_says_so(
        ledger: Engine, channels: dict[str, Sent]) -> None:
    person, d = _holder(ledger, 42), MONDAYS[2]
    old_plate, new_plate = "1OLD042", "1NEW042"
    with ledger.begin() as conn:
        old = int(conn.execute(insert(GrantRow).values(
            scheme_id=LEZ, grant_key=f"{LEZ}|{person[-6:]}|{old_plate}|2031-06-01", insz=person, period="2026-W23",
            system="lez-magda", valid_from=dt.date(2026, 6, 1), valid_until=dt.date(2031, 6, 1),
            terms={"vehicle_plate": old_plate, "sources": ["FOD Sociale Zekerheid – GeefDossierHandicap"]},
            status="delivered", granted_at=dt.datetime(2026, 6, 1, tzinfo=dt.UTC), retain_until=dt.date(2033, 1, 1))
            .returning(GrantRow.id)).scalar_one())
    run_id = open_run(ledger, LEZ, d, external_id="test/lez-moved")
    _eligible(ledger, run_id, person, new_plate, d, dt.date(2031, 11, 16))

    figures_ = grant(ledger, run_id)
    grant(ledger, run_id)  # a retried task adds nothing
    notify(ledger, run_id)
    notify(ledger, run_id)
    assert figures_["granted"] == 1 and figures_["moved"] == 1

    register = Register()
    dispatch_grants(ledger, {"lez-magda": register})
    assert sorted((o.kind, o.terms["vehicle_plate"]) for o in register.orders) == [
        ("grant", new_plate), ("revoke", old_plate)]
    assert next(o for o in register.orders if o.kind == "revoke").revoke_from == d
    dispatch_notices(ledger, channels, render)  # type: ignore[arg-type]
    dispatch_grants(ledger, {"lez-magda": register})
    dispatch_notices(ledger, channels, render)  # type: ignore[arg-type]
    assert len(register.orders) == 2, "nothing delivered twice"

    sent = {n.kind: r for c in channels.values() for n, r in c.messages}
    assert sorted(sent) == ["stopgezet", "toegekend"], "one stop letter and one grant letter, nothing twice"
    stop = " ".join(sent["stopgezet"].text.split())
    assert old_plate in stop and f"gaat ze nu naar het voertuig met nummerplaat {new_plate}" in stop
    assert "geen recht meer" not in stop
    assert new_plate in sent["toegekend"].text
    with ledger.connect() as conn:
        status = dict(conn.execute(select(GrantRow.grant_key, GrantRow.status)).tuples().all())
        terms = conn.execute(select(GrantRow.terms).where(GrantRow.id == old)).scalar_one()
        notices = conn.execute(select(func.count()).select_from(Notice)).scalar_one()
    assert sorted(status.values()) == ["delivered", "revoked"] and notices == 2
    assert terms["moved_to"] == new_plate and json.dumps(terms).count(person) == 0

"""Delivery on real components: four scheme runs on a generated Ghent (PostgreSQL ledger, MAGDA simulator), then
the outbox dispatcher hands the grants to the UiTPAS stand-in (HTTP), the IVAGO voucher file, the school export
and MAGDA RegistreerLEZGegevens, and sends the notices over SMTP (a real local server), as PDF letters and to the
eBox stand-in. Re-dispatching sends nothing twice; an outage in the middle is recovered by retry.
"""

from __future__ import annotations

import datetime as dt
import email
import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import Engine, func, select

from proactief.delivery.config import DeliveryConfig
from proactief.ledger import make_engine, upgrade
from proactief.ledger.models import GrantRow, Notice, OutboxMessage
from proactief.lifecycle import import_city_data, record_objection, run_in_process
from proactief.lifecycle.outbox import dispatch_grants, dispatch_notices
from proactief.magda.config import MagdaConfig
from proactief.notify.render import render
from proactief.wiring import grant_adapters, notice_channels
from proactief_sim.population import generate
from proactief_sim.simulator.testing import RunningSimulator, running_simulator
from proactief_sim.standins.server import build_app
from proactief_sim.standins.testing import serving

pytestmark = pytest.mark.integration

SIZE = 1500
SCHEMES = ("uitpas-kansentarief", "ivago-tegemoetkoming", "onderwijskorting", "lez-vrijstelling")


class Inbox:
    """An aiosmtpd handler keeping every received message."""

    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


@dataclass
class World:
    folder: Path
    sim: RunningSimulator
    dates: dict[str, str]
    standins: str
    smtp_port: int
    inbox: Inbox
    controller: Any
    later: list[dt.timedelta] = field(default_factory=lambda: [dt.timedelta(0)])

    def magda(self) -> MagdaConfig:
        return MagdaConfig(base_url=self.sim.base_url, identificatie="gent.be/proactief", backoff_base=0.0,
                           backoff_cap=0.0)

    def now(self) -> dt.datetime:
        """The dispatcher's clock: ``skip()`` moves it past every back-off."""
        return dt.datetime.now(dt.UTC) + self.later[0]

    def skip(self, hours: float = 7) -> None:
        self.later[0] += dt.timedelta(hours=hours)

    def smtp_down(self) -> None:
        self.controller.stop()

    def smtp_up(self) -> None:
        from aiosmtpd.controller import Controller

        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.smtp_port)
        self.controller.start()

    def standin(self, service: str, method: str, what: str, payload: Any = None) -> Any:
        resp = requests.request(method, f"{self.standins}/{service}/_standin/{what}", json=payload, timeout=10)
        resp.raise_for_status()
        return resp.json() if resp.content else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    from aiosmtpd.controller import Controller

    folder = tmp_path_factory.mktemp("ghent")
    generate(SIZE, 11, out=folder)
    dates = json.loads((folder / "expected/reference-dates.json").read_text())
    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    with running_simulator(population=str(folder / "magda-population.jsonl"), repertorium_check=False,
                           seed=3) as sim, serving(build_app(auto_passholders=True)) as standins:
        w = World(folder, sim, dates, standins, port, inbox, controller)
        yield w
    w.controller.stop()


@pytest.fixture
def ledger(pg_url: str, world: World, tmp_path: Path) -> Iterator[tuple[Engine, DeliveryConfig]]:
    upgrade(pg_url)
    engine = make_engine(pg_url)
    import_city_data(engine, world.folder)
    for service in ("uitpas", "ebox"):
        requests.post(f"{world.standins}/{service}/_standin/reset", timeout=10).raise_for_status()
    world.inbox.messages.clear()
    cfg = DeliveryConfig(uitpas_url=f"{world.standins}/uitpas", uitpas_client_id="proactief-gent",
                         uitpas_client_secret="standin-secret", ebox_url=f"{world.standins}/ebox",  # noqa: S106
                         smtp_host="127.0.0.1", smtp_port=world.smtp_port, ivago_dir=str(tmp_path / "ivago"),
                         school_dir=str(tmp_path / "school"), letter_dir=str(tmp_path / "letters"))
    for scheme_id in SCHEMES:
        run_in_process(engine, scheme_id, dt.date.fromisoformat(world.dates[scheme_id]), world.magda())
    yield engine, cfg
    engine.dispose()


def dispatch(engine: Engine, cfg: DeliveryConfig, world: World) -> tuple[dict[str, Any], dict[str, Any]]:
    adapters = grant_adapters(cfg, magda=world.magda(), engine=engine)
    grants = dispatch_grants(engine, adapters, now=world.now)
    notices = dispatch_notices(engine, notice_channels(cfg), render, now=world.now)
    return grants, notices


def grants_by_system(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return dict(conn.execute(select(GrantRow.system, func.count()).group_by(GrantRow.system)).tuples().all())


def outbox_counts(engine: Engine) -> dict[tuple[str, str], int]:
    with engine.connect() as conn:
        return {(k, s): n for k, s, n in conn.execute(select(OutboxMessage.kind, OutboxMessage.status, func.count())
                                                      .group_by(OutboxMessage.kind, OutboxMessage.status))}


def ivago_vouchers(cfg: DeliveryConfig) -> list[dict[str, Any]]:
    return [json.loads(line) for path in sorted(Path(cfg.ivago_dir).glob("ivago-vouchers-*.jsonl"))
            for line in path.read_text().splitlines() if line.strip()]


def school_rows(cfg: DeliveryConfig) -> list[str]:
    return [line for path in sorted(Path(cfg.school_dir).glob("*.csv"))
            for line in path.read_text().splitlines()[1:] if line.strip()]


def sent_notices(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return dict(conn.execute(select(Notice.channel, func.count()).where(Notice.status == "sent")
                                 .group_by(Notice.channel)).tuples().all())


def test_every_grant_reaches_its_system_and_every_person_one_message(ledger: tuple[Engine, DeliveryConfig],
                                                                      world: World) -> None:
    engine, cfg = ledger
    by_system = grants_by_system(engine)
    assert all(by_system.get(s, 0) > 0 for s in ("uitpas", "ivago", "school-billing", "lez-magda")), by_system

    grants, notices = dispatch(engine, cfg, world)

    counts = outbox_counts(engine)
    assert counts.get(("grant", "pending"), 0) == 0 and counts.get(("grant", "failed"), 0) == 0, counts
    assert world.standin("uitpas", "GET", "state")["active_social_tariffs"] == by_system["uitpas"]
    vouchers = ivago_vouchers(cfg)
    assert len(vouchers) == by_system["ivago"] == len({v["voucher_id"] for v in vouchers})
    assert len(school_rows(cfg)) == by_system["school-billing"]
    assert grants["lez-magda"].get("delivered", 0) == by_system["lez-magda"]

    # Whom each notification is addressed to: the holder, or a parent for a child's onderwijskorting.
    addressee = func.coalesce(OutboxMessage.addressee, GrantRow.insz)
    told = select(addressee.label("to")).join(GrantRow, GrantRow.id == OutboxMessage.grant_id).where(
        OutboxMessage.kind == "notify")
    with engine.connect() as conn:
        people = conn.execute(select(func.count(func.distinct(told.subquery().c.to)))).scalar_one()
        several = conn.execute(select(func.count()).select_from(
            told.group_by(addressee).having(func.count() > 1).subquery())).scalar_one()
        children = conn.execute(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.addressee.is_not(None))).scalar_one()
    assert children > 0  # onderwijskorting: told to a parent, not to the child
    sent = sent_notices(engine)
    assert sum(sent.values()) == people, (sent, people)  # one message per person, however many benefits
    assert several > 0 and notices["all"]["combined"] == several
    assert len(world.inbox.messages) == sent.get("email", 0)
    assert len(list(Path(cfg.letter_dir).glob("*.pdf"))) == sent.get("letter", 0)
    assert world.standin("ebox", "GET", "state")["count"] == sent.get("ebox", 0)
    ids = [m["Message-ID"] for m in world.inbox.messages]
    assert len(set(ids)) == len(ids) and all(i.strip("<>").startswith("notice.email.") for i in ids)

    # Everything again: nothing new anywhere.
    before = (len(ivago_vouchers(cfg)), len(school_rows(cfg)), len(world.inbox.messages),
              world.standin("uitpas", "GET", "state")["writes"])
    again_grants, again_notices = dispatch(engine, cfg, world)
    assert again_grants == {} and again_notices.get("all", {}) == {}
    assert (len(ivago_vouchers(cfg)), len(school_rows(cfg)), len(world.inbox.messages),
            world.standin("uitpas", "GET", "state")["writes"]) == before


def test_an_outage_mid_dispatch_is_retried_without_loss_or_duplicate(ledger: tuple[Engine, DeliveryConfig],
                                                                     world: World) -> None:
    engine, cfg = ledger
    uitpas_grants = grants_by_system(engine)["uitpas"]
    assert uitpas_grants > 10
    # UiTPAS goes down after a few calls (503 for a long stretch); SMTP is down for the whole first dispatch.
    world.standin("uitpas", "PUT", "faults", {"status": 503, "count": 10_000, "after": 6})
    world.smtp_down()
    try:
        grants, notices = dispatch(engine, cfg, world)
    finally:
        world.smtp_up()
    assert grants["uitpas"].get("retry", 0) > 0
    with engine.connect() as conn:
        pending = conn.execute(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.channel == "uitpas", OutboxMessage.status == "pending")).scalar_one()
    assert 0 < pending < uitpas_grants
    assert len(world.inbox.messages) == 0 and notices.get("email", {}).get("retry", 0) > 0

    world.standin("uitpas", "PUT", "faults", {"status": 503, "count": 0})
    world.skip()
    dispatch(engine, cfg, world)
    world.skip()
    dispatch(engine, cfg, world)  # the notices of the UiTPAS grants delivered in the second pass

    counts = outbox_counts(engine)
    assert {k: v for k, v in counts.items() if k[1] in ("pending", "failed")} == {}, counts
    state = world.standin("uitpas", "GET", "state")
    assert state["active_social_tariffs"] == uitpas_grants
    ids = [m["Message-ID"] for m in world.inbox.messages]
    assert len(ids) == len(set(ids)) == sent_notices(engine).get("email", 0)


def test_an_objection_after_the_grant_cancels_delivery_and_letter(ledger: tuple[Engine, DeliveryConfig],
                                                                  world: World) -> None:
    engine, cfg = ledger
    with engine.connect() as conn:
        person = conn.execute(select(GrantRow.insz).where(GrantRow.system == "ivago").limit(1)).scalar_one()
        theirs = conn.execute(select(func.count()).select_from(GrantRow).where(GrantRow.insz == person)).scalar_one()
    record_objection(engine, person, channel="loket")

    dispatch(engine, cfg, world)

    with engine.connect() as conn:
        statuses = set(conn.execute(select(GrantRow.status).where(GrantRow.insz == person)).scalars())
        notices = conn.execute(select(func.count()).select_from(Notice).where(Notice.insz == person)).scalar_one()
    assert theirs >= 1 and statuses == {"cancelled"} and notices == 0
    assert person not in {v["insz"] for v in ivago_vouchers(cfg)}


def test_a_held_scheme_delivers_and_sends_nothing_until_it_is_released(ledger: tuple[Engine, DeliveryConfig],
                                                                       world: World) -> None:
    from proactief.lifecycle.holds import hold_scheme, release_scheme

    engine, cfg = ledger
    by_system = grants_by_system(engine)
    adapters = grant_adapters(cfg, magda=world.magda(), engine=engine)
    # Notices gathered (nothing sent: no channel) before the hold wait whole once the hold is there.
    dispatch_grants(engine, adapters, now=world.now)
    dispatch_notices(engine, {}, render, now=world.now)
    ivago_vouchers_before = ivago_vouchers(cfg)
    assert len(ivago_vouchers_before) == by_system["ivago"]
    with engine.connect() as conn:
        gathered = conn.execute(select(func.count(func.distinct(OutboxMessage.notice_id)))
                                .join(GrantRow, GrantRow.id == OutboxMessage.grant_id)
                                .where(GrantRow.scheme_id == "ivago-tegemoetkoming",
                                       OutboxMessage.notice_id.is_not(None))).scalar_one()
    assert gathered > 0
    hold_scheme(engine, "ivago-tegemoetkoming", by="ops.jan", reason="wrong amount in the letter")

    _, notices = dispatch(engine, cfg, world)
    assert notices["all"]["held"] == gathered
    with engine.connect() as conn:
        waiting = conn.execute(select(Notice.status, Notice.attempts).join(
            OutboxMessage, OutboxMessage.notice_id == Notice.id).join(GrantRow, GrantRow.id == OutboxMessage.grant_id)
            .where(GrantRow.scheme_id == "ivago-tegemoetkoming")).all()
    assert {(s, a) for s, a in waiting} == {("pending", 0)}
    sent_while_held = sum(sent_notices(engine).values())
    assert sent_while_held > 0  # the other schemes' letters went out

    release_scheme(engine, "ivago-tegemoetkoming", by="ops.an")
    _, notices = dispatch(engine, cfg, world)
    assert sum(sent_notices(engine).values()) == sent_while_held + gathered
    assert ivago_vouchers(cfg) == ivago_vouchers_before  # nothing twice


def test_a_held_schemes_grants_stay_pending_without_spending_attempts(ledger: tuple[Engine, DeliveryConfig],
                                                                      world: World) -> None:
    from proactief.lifecycle.holds import hold_scheme, release_scheme

    engine, cfg = ledger
    by_system = grants_by_system(engine)
    hold_scheme(engine, "onderwijskorting", by="ops.jan", reason="school billing export format in doubt")
    grants, _ = dispatch(engine, cfg, world)
    assert school_rows(cfg) == []
    assert grants["school-billing"] == {"held": by_system["school-billing"]}
    assert len(ivago_vouchers(cfg)) == by_system["ivago"]  # the others are delivered
    with engine.connect() as conn:
        rows = conn.execute(select(OutboxMessage.kind, OutboxMessage.status, OutboxMessage.attempts)
                            .join(GrantRow, GrantRow.id == OutboxMessage.grant_id)
                            .where(GrantRow.scheme_id == "onderwijskorting")).all()
    assert {(k, s, a) for k, s, a in rows} == {("grant", "pending", 0), ("notify", "pending", 0)}
    world.skip(24)
    again, _ = dispatch(engine, cfg, world)  # a day later, still held: still nothing, still no attempt
    assert school_rows(cfg) == [] and again["school-billing"] == {"held": by_system["school-billing"]}

    release_scheme(engine, "onderwijskorting", by="ops.an")
    dispatch(engine, cfg, world)
    assert len(school_rows(cfg)) == by_system["school-billing"]
    counts = outbox_counts(engine)
    assert counts.get(("grant", "pending"), 0) == 0 and counts.get(("notify", "pending"), 0) == 0, counts

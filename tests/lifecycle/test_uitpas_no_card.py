"""No card yet ("wacht op pas", issue 17 point 1): a person entitled to the kansentarief without a UiTPAS is not a
failure. The grant waits, the person gets one message at once that says how to get the pass, every dispatch asks
again, the pass that appears later completes the grant without a second message, and a wait that runs out expires
with an operator figure. On real components: the PostgreSQL ledger, the UiTPAS and eBox stand-ins over HTTP."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from sqlalchemy import Engine, insert, select
from typer.testing import CliRunner

from proactief.cli import app as cli
from proactief.delivery import Delivered
from proactief.delivery.config import DeliveryConfig
from proactief.grants.uitpas import UitpasAdapter, UitpasClient
from proactief.ledger import make_engine, upgrade
from proactief.ledger.models import GrantRow, Notice, OutboxMessage
from proactief.lifecycle import run_in_process
from proactief.lifecycle.outbox import card_waits, dispatch_grants, dispatch_notices
from proactief.notify.model import Notice as NoticeData
from proactief.notify.model import RenderedNotice
from proactief.notify.render import render
from proactief.schemes import load_scheme
from proactief.wiring import grant_adapters, notice_channels
from proactief_sim.standins.server import build_app
from proactief_sim.standins.testing import serving
from proactief_sim.standins.uitpas import has_demo_pass
from tests.lifecycle.ledger_rows import make_insz
from tests.lifecycle.worlds import World, city_ledger, generated_world

pytestmark = pytest.mark.integration

SCHEME = "uitpas-kansentarief"
T0 = dt.datetime(2026, 3, 1, 7, 0, tzinfo=dt.UTC)
"""When the grant was made (the run of 1 March)."""
SHARE = 0.5


@pytest.fixture(scope="module")
def standins() -> Iterator[str]:
    with serving(build_app()) as url:  # the default: nobody has a pass unless seeded
        yield url


@pytest.fixture
def world(pg_url: str, standins: str, tmp_path: Any) -> Iterator[tuple[Engine, DeliveryConfig, str]]:
    upgrade(pg_url)
    engine = make_engine(pg_url)
    for service in ("uitpas", "ebox"):
        requests.post(f"{standins}/{service}/_standin/reset", timeout=10).raise_for_status()
    cfg = DeliveryConfig(uitpas_url=f"{standins}/uitpas", uitpas_client_id="proactief-gent",
                         uitpas_client_secret="standin-secret", ebox_url=f"{standins}/ebox",  # noqa: S106
                         ivago_dir=str(tmp_path / "ivago"), school_dir=str(tmp_path / "school"),
                         letter_dir=str(tmp_path / "letters"))
    yield engine, cfg, standins
    engine.dispose()


def _grant(engine: Engine, insz: str, n: int, *, granted_at: dt.datetime = T0) -> int:
    """A kansentarief grant as the run makes it (terms with the scheme's "wacht op pas" texts as on D), with its
    UiTPAS row and its eBox notification."""
    scheme = load_scheme(SCHEME)
    d = granted_at.date()
    card = scheme.grant.awaiting_card_terms(lambda name: scheme.parameter(name, d))
    terms = {"card_system": "UiTPAS Gent", "social_tariff_status": "ACTIVE", "percentages": {"korting": "80"},
             "sources": ["Rijksregister – GeefPersoon", "KSZ – GeefSociaalStatuut"], "awaiting_card": card}
    key = f"{SCHEME}|{insz}|{d.year}"
    with engine.begin() as conn:
        gid = int(conn.execute(insert(GrantRow).values(
            scheme_id=SCHEME, grant_key=key, insz=insz, period=f"{d:%Y-%m}", system="uitpas", valid_from=d,
            valid_until=dt.date(d.year, 12, 31), terms=terms, status="granted", granted_at=granted_at,
            retain_until=dt.date(d.year + 5, 12, 31)).returning(GrantRow.id)).scalar_one())
        for kind, channel in (("grant", "uitpas"), ("notify", "ebox")):
            conn.execute(insert(OutboxMessage).values(
                grant_id=gid, kind=kind, channel=channel, status="pending", attempts=0,
                message_id=f"{kind}.{channel}.{n}@test", created_at=granted_at))
    return gid


def _status(engine: Engine, gid: int) -> tuple[str, str, str]:
    with engine.connect() as conn:
        rows = dict(conn.execute(select(OutboxMessage.kind, OutboxMessage.status)
                                 .where(OutboxMessage.grant_id == gid)).tuples().all())
        grant = conn.execute(select(GrantRow.status).where(GrantRow.id == gid)).scalar_one()
    return rows["grant"], rows["notify"], grant


def _ebox(url: str) -> list[dict[str, Any]]:
    state = requests.get(f"{url}/ebox/_standin/state", timeout=10).json()
    return [requests.get(f"{url}/ebox/_standin/messages/{m['messageId']}", timeout=10).json()
            for m in state["messages"]]


def _at(hours: float) -> Any:
    return lambda: T0 + dt.timedelta(hours=hours)


def test_a_grant_without_a_pass_waits_is_told_once_and_completes_when_the_pass_appears(
        world: tuple[Engine, DeliveryConfig, str]) -> None:
    engine, cfg, url = world
    person = make_insz(4242)
    gid = _grant(engine, person, 1)
    adapters, channels = grant_adapters(cfg), notice_channels(cfg)

    first = dispatch_grants(engine, adapters, now=_at(1))
    assert first["uitpas"] == {"waiting_card": 1}  # not "failed": nothing for an operator to do
    assert _status(engine, gid) == ("waiting_card", "pending", "granted")

    sent = dispatch_notices(engine, channels, render, now=_at(1))
    assert sent["ebox"] == {"sent": 1}
    [message] = _ebox(url)
    assert message["subject"].endswith("uw kansentarief staat klaar: haal uw UiTPAS")
    body = " ".join(message["body"].split())
    assert "Uw kansentarief staat klaar" in body and "U hebt nog geen UiTPAS" in body
    assert "UiTPAS-balie" in body and "identiteitskaart" in body and "€ 1,00" in body
    assert "uiterlijk op 28 augustus 2026" in body  # 1 March + 180 days
    assert "U hoeft er niets voor te doen" not in body and person not in body

    # The next dispatch asks again, once (no loop within one dispatch); still no pass: still waiting, no message.
    again = dispatch_grants(engine, adapters, now=_at(2))
    assert again["uitpas"] == {"waiting_card": 1}
    assert dispatch_notices(engine, channels, render, now=_at(2)) == {}

    # The person fetched the pass at a counter: the next dispatch writes the tariff; no second message.
    requests.post(f"{url}/uitpas/_standin/passholders", json={"passholders": [{"insz": person}]},
                  timeout=10).raise_for_status()
    done = dispatch_grants(engine, adapters, now=_at(3))
    assert done["uitpas"] == {"delivered": 1, "card_arrived": 1}
    assert _status(engine, gid) == ("sent", "sent", "delivered")
    state = requests.get(f"{url}/uitpas/_standin/state", timeout=10).json()
    assert state["active_social_tariffs"] == 1
    assert dispatch_notices(engine, channels, render, now=_at(3)) == {}
    assert dispatch_grants(engine, adapters, now=_at(4)) == {}
    assert len(_ebox(url)) == 1
    with engine.connect() as conn:
        assert conn.execute(select(Notice.status)).scalars().all() == ["sent"]
    assert card_waits(engine, today=T0.date()) == {}


def test_a_person_with_a_pass_gets_the_usual_message(world: tuple[Engine, DeliveryConfig, str]) -> None:
    engine, cfg, url = world
    person = make_insz(4343)
    requests.post(f"{url}/uitpas/_standin/passholders", json={"passholders": [{"insz": person}]},
                  timeout=10).raise_for_status()
    gid = _grant(engine, person, 2)

    assert dispatch_grants(engine, grant_adapters(cfg), now=_at(1))["uitpas"] == {"delivered": 1}
    dispatch_notices(engine, notice_channels(cfg), render, now=_at(1))

    assert _status(engine, gid) == ("sent", "sent", "delivered")
    [message] = _ebox(url)
    body = " ".join(message["body"].split())
    assert "Op uw UiTPAS staat nu het kansentarief" in body and "U hoeft er niets voor te doen" in body
    assert "UiTPAS-balie" not in body


def test_a_wait_that_runs_out_expires_with_an_operator_figure(world: tuple[Engine, DeliveryConfig, str]) -> None:
    engine, cfg, _url = world
    early, late = make_insz(5001), make_insz(5002)
    old = _grant(engine, early, 3)
    young = _grant(engine, late, 4, granted_at=T0 + dt.timedelta(days=60))
    adapters = grant_adapters(cfg)
    dispatch_grants(engine, adapters, now=_at(1))
    dispatch_grants(engine, adapters, now=lambda: T0 + dt.timedelta(days=60, hours=1))

    on = T0.date() + dt.timedelta(days=160)  # 20 days before the first one's deadline
    assert card_waits(engine, today=on) == {SCHEME: {"waiting": 2, "expiring_soon": 1,
                                                     "oldest_since": T0.date(), "expired": 0}}

    after = dispatch_grants(engine, adapters, now=lambda: T0 + dt.timedelta(days=181))
    assert after["uitpas"] == {"expired": 1, "waiting_card": 1}
    assert _status(engine, old)[0] == "expired" and _status(engine, old)[2] == "expired"
    assert _status(engine, young)[0] == "waiting_card"
    assert card_waits(engine, today=on + dt.timedelta(days=21))[SCHEME] == {
        "waiting": 1, "expiring_soon": 0, "oldest_since": (T0 + dt.timedelta(days=60)).date(), "expired": 1}
    # An expired grant is not asked again, even when the pass appears later (the counter handles that case).
    assert dispatch_grants(engine, adapters, now=lambda: T0 + dt.timedelta(days=182))["uitpas"] == {
        "waiting_card": 1}

    # The operator's figure on the command line (counts and dates only).
    out = CliRunner().invoke(cli, ["outbox", "cards", "--db-url", engine.url.render_as_string(hide_password=False),
                                   "--json"])
    assert out.exit_code == 0, out.output
    assert {k: v for k, v in json.loads(out.output)[SCHEME].items() if k != "expiring_soon"} == {
        "waiting": 1, "oldest_since": "2026-04-30", "expired": 1}
    assert early not in out.output and late not in out.output


# ------------------------------------------------------------------ the scheme's own runs, people with and without


@dataclass
class _Kept:
    """A notice channel that keeps what it sends (shared by e-mail, letter and eBox)."""

    name: str
    log: list[tuple[NoticeData, RenderedNotice]]

    def send(self, notice: NoticeData, rendered: RenderedNotice) -> Delivered:
        self.log.append((notice, rendered))
        return Delivered(reference=f"{self.name}-{len(self.log)}")


@pytest.fixture(scope="module")
def ghent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[World, str]]:
    with generated_world(tmp_path_factory.mktemp("ghent"), 800, 23, SCHEME) as world, \
            serving(build_app(passholder_share=SHARE)) as url:  # as bin/run: part of the people have a pass
        yield world, url


def test_a_run_grants_everyone_entitled_and_those_without_a_pass_wait_told_once(
        pg_url: str, ghent: tuple[World, str]) -> None:
    world, url = ghent
    requests.post(f"{url}/uitpas/_standin/reset", timeout=10).raise_for_status()
    log: list[tuple[NoticeData, RenderedNotice]] = []
    channels = {name: _Kept(name, log) for name in ("email", "letter", "ebox")}
    adapters = {"uitpas": UitpasAdapter(UitpasClient(f"{url}/uitpas", "proactief-gent", "standin-secret"))}  # noqa: S106
    with city_ledger(pg_url, world.folder) as engine:
        run_in_process(engine, SCHEME, world.d, world.magda(), external_id="test/no-card/1",
                       chunk_size=1000)
        figures = dispatch_grants(engine, adapters)["uitpas"]
        dispatch_notices(engine, channels, render)  # type: ignore[arg-type]
        with engine.connect() as conn:
            grants = conn.execute(select(GrantRow.insz, GrantRow.terms)).all()
        holders = {g.insz for g in grants if has_demo_pass(g.insz, SHARE)}
        without = {g.insz for g in grants} - holders

        assert holders and without, "the world has people with and without a pass"
        assert all(g.terms["awaiting_card"]["wait_days"] == 180 for g in grants)  # from the YAML, as on D
        assert figures == {"delivered": len(holders), "waiting_card": len(without)}  # nothing failed
        assert sorted(n.insz for n, _ in log) == sorted(g.insz for g in grants)  # one message each, at once
        for notice, rendered in log:
            assert ("haal uw UiTPAS" in rendered.subject) == (notice.insz in without)

        # Half of them fetch the pass; the next dispatch completes those, without a message (a second run of the
        # period before it grants nothing new either).
        fetched = sorted(without)[: len(without) // 2]
        requests.post(f"{url}/uitpas/_standin/passholders", json={"passholders": [{"insz": i} for i in fetched]},
                      timeout=10).raise_for_status()
        run_in_process(engine, SCHEME, world.d, world.magda(), external_id="test/no-card/2", chunk_size=1000)
        again = dispatch_grants(engine, adapters)["uitpas"]
        dispatch_notices(engine, channels, render)  # type: ignore[arg-type]
        waits = card_waits(engine)[SCHEME]

    assert again == {"delivered": len(fetched), "card_arrived": len(fetched),
                     "waiting_card": len(without) - len(fetched)}
    assert len(log) == len(grants)  # the persons already granted this year get no second message
    assert (waits["waiting"], waits["expired"]) == (len(without) - len(fetched), 0)

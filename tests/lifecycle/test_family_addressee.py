"""The right addressee (issue 17 point 2): a child's onderwijskorting is told to the parent(s) in the child's
household — one message per household listing every child and school, greeting the parents by name — never to the
child, never twice. On real components: a generated Ghent served by the MAGDA simulator, the PostgreSQL ledger with
the city's extract (names included), the school-billing export, a real SMTP server and the PDF letter directory.
"""

from __future__ import annotations

import csv
import datetime as dt
import email
import email.policy
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import Engine, delete, func, insert, select, update

from proactief.delivery.config import DeliveryConfig
from proactief.ledger.models import DecisionRow, Enrolment, GrantRow, Notice, OutboxMessage, Resident, StagedAdvice
from proactief.lifecycle import run_in_process
from proactief.lifecycle.outbox import dispatch_grants, dispatch_notices
from proactief.notify.render import render
from proactief.wiring import grant_adapters, notice_channels
from tests.lifecycle.worlds import World, city_ledger, generated_world
from tests.notify.notices import free_port
from tests.notify.servers import SmtpSink

pytestmark = pytest.mark.integration

SCHEME = "onderwijskorting"
YEAR = "2026-2027"


@dataclass(frozen=True)
class Family:
    parents: tuple[str, ...]
    """Reference person first, then the partner (the extract's positions 01, 02)."""
    children: tuple[str, str]
    """Two children the generator says are entitled, enrolled in the school year."""


@dataclass
class Setting:
    world: World
    couple: Family
    single: Family
    smtp_port: int
    sink: SmtpSink


def _families(world: World) -> tuple[Family, Family]:
    """From the city's files: a two-parent and a single-parent household with two entitled children (position 03)
    enrolled in the school year."""
    entitled = world.expected_eligible(SCHEME)
    with open(world.folder / "enrolments.csv", encoding="utf-8") as fh:
        enrolled = {r["insz"] for r in csv.DictReader(fh) if r["school_year"] == YEAR}
    homes: dict[str, list[dict[str, str]]] = {}
    with open(world.folder / "residents.csv", encoding="utf-8") as fh:
        for r in sorted(csv.DictReader(fh), key=lambda r: (r["household_id"], r["position"], r["insz"])):
            if r["household_id"]:
                homes.setdefault(r["household_id"], []).append(r)
    found: dict[int, Family] = {}
    for members in homes.values():
        parents = tuple(m["insz"] for m in members if m["position"] in ("01", "02"))
        kids = [m["insz"] for m in members if m["position"] == "03" and m["insz"] in entitled and m["insz"] in enrolled]
        if len(kids) >= 2 and len(parents) in (1, 2) and len(parents) not in found:
            found[len(parents)] = Family(parents, (kids[0], kids[1]))
    assert set(found) == {1, 2}, "the generated city has both kinds of family"
    return found[2], found[1]


@pytest.fixture(scope="module")
def setting(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setting]:
    from aiosmtpd.controller import Controller

    sink = SmtpSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with generated_world(tmp_path_factory.mktemp("ghent"), 3000, 3, SCHEME) as world:
            couple, single = _families(world)
            yield Setting(world, couple, single, port, sink)
    finally:
        controller.stop()


@pytest.fixture
def ledger(pg_url: str, setting: Setting, tmp_path: Path) -> Iterator[tuple[Engine, DeliveryConfig]]:
    """The city's extract as the families need it: the couple's reference person has an e-mail address (e-mail),
    the other parents none (the single parent gets a letter); each family's second child goes to another school
    than the first."""
    setting.sink.received.clear()
    with city_ledger(pg_url, setting.world.folder) as engine:
        with engine.begin() as conn:
            parents = [*setting.couple.parents, *setting.single.parents]
            conn.execute(update(Resident).where(Resident.insz.in_(parents)).values(email=None))
            conn.execute(update(Resident).where(Resident.insz == setting.couple.parents[0])
                         .values(email="ouder.gezin@example.org"))
            for family in (setting.couple, setting.single):
                first, second = family.children
                school = conn.execute(select(func.min(Enrolment.institution_id)).where(
                    Enrolment.insz == first, Enrolment.school_year == YEAR)).scalar_one()
                other = conn.execute(select(Enrolment.institution_id, Enrolment.institution_name, Enrolment.kind)
                                     .where(Enrolment.institution_id != school)
                                     .order_by(Enrolment.institution_id)).first()
                conn.execute(delete(Enrolment).where(Enrolment.insz == second, Enrolment.school_year == YEAR))
                conn.execute(insert(Enrolment).values(insz=second, institution_id=other.institution_id,
                                                      institution_name=other.institution_name, kind=other.kind,
                                                      school_year=YEAR))
        cfg = DeliveryConfig(smtp_host="127.0.0.1", smtp_port=setting.smtp_port, ivago_dir=str(tmp_path / "ivago"),
                             school_dir=str(tmp_path / "school"), letter_dir=str(tmp_path / "letters"))
        yield engine, cfg


def _run(engine: Engine, setting: Setting, children: list[str], name: str) -> dict[str, Any]:
    report = run_in_process(engine, SCHEME, setting.world.d, setting.world.magda(), external_id=f"family/{name}",
                            subjects=children)
    assert report["status"] == "finished", report
    return report


def _dispatch(engine: Engine, cfg: DeliveryConfig, now: dt.datetime | None = None) -> tuple[Any, Any]:
    clock = (lambda: now) if now is not None else (lambda: dt.datetime.now(dt.UTC))
    return (dispatch_grants(engine, grant_adapters(cfg), now=clock),
            dispatch_notices(engine, notice_channels(cfg), render, now=clock))


def _names(engine: Engine, people: tuple[str, ...] | list[str]) -> dict[str, str]:
    with engine.connect() as conn:
        return {r.insz: f"{r.first_name} {r.last_name}" for r in conn.execute(
            select(Resident.insz, Resident.first_name, Resident.last_name).where(Resident.insz.in_(list(people))))}


def _schools(engine: Engine, children: tuple[str, ...]) -> dict[str, str]:
    with engine.connect() as conn:
        return dict(conn.execute(select(Enrolment.insz, Enrolment.institution_name).where(
            Enrolment.insz.in_(children), Enrolment.school_year == YEAR)  # the first one counts, as in the grant
            .order_by(Enrolment.institution_id.desc())).tuples().all())


def _mails(sink: SmtpSink) -> list[email.message.EmailMessage]:
    return [email.message_from_bytes(raw, policy=email.policy.default) for _f, _t, raw in sink.received]


def _text(msg: email.message.EmailMessage) -> str:
    return " ".join(msg.get_body(("plain",)).get_content().split())


def _letters(cfg: DeliveryConfig) -> list[str]:
    return [" ".join(" ".join(p.extract_text() for p in PdfReader(f).pages).split())
            for f in sorted(Path(cfg.letter_dir).glob("*.pdf"))]


def test_a_family_gets_one_message_to_a_parent_by_name_listing_every_child_and_school(
        ledger: tuple[Engine, DeliveryConfig], setting: Setting, caplog: pytest.LogCaptureFixture) -> None:
    engine, cfg = ledger
    couple, single = setting.couple, setting.single
    children = [*couple.children, *single.children]
    everyone = [*couple.parents, *single.parents, *children]
    names = _names(engine, everyone)
    schools = _schools(engine, tuple(children))
    assert all(n.split() for n in names.values()) and len(names) == len(everyone)
    assert len({schools[c] for c in couple.children}) == 2 and len({schools[c] for c in single.children}) == 2

    with caplog.at_level(logging.DEBUG, logger="proactief"):
        _run(engine, setting, children, "both")
        _dispatch(engine, cfg)

    with engine.connect() as conn:
        decided = dict(conn.execute(select(DecisionRow.insz, DecisionRow.decision)).tuples().all())
        notices = conn.execute(select(Notice.insz, Notice.channel, Notice.status)).all()
        addressed = dict(conn.execute(select(GrantRow.insz, OutboxMessage.addressee)
                                      .join(OutboxMessage, OutboxMessage.grant_id == GrantRow.id)
                                      .where(OutboxMessage.kind == "notify")).tuples().all())
    assert {c: decided[c] for c in children} == dict.fromkeys(children, "eligible")
    # One message per household, to the reference person; no child is addressed.
    assert sorted(notices) == sorted([(couple.parents[0], "email", "sent"), (single.parents[0], "letter", "sent")])
    assert addressed == {**dict.fromkeys(couple.children, couple.parents[0]),
                         **dict.fromkeys(single.children, single.parents[0])}

    # The couple: one e-mail to the reference person, greeting both parents, naming each child with its school.
    [mail] = _mails(setting.sink)
    assert mail["To"].addresses[0].addr_spec == "ouder.gezin@example.org"
    assert mail["To"].addresses[0].display_name == names[couple.parents[0]]
    text = _text(mail)
    assert text.startswith(f"Beste {names[couple.parents[0]]} en {names[couple.parents[1]]} ")
    for child in couple.children:
        assert f"Uw kind {names[child]} krijgt korting op de kosten van {schools[child]}." in text
    assert mail["Subject"] == "Wat de stad u toekent: korting op school en opvang"
    # The single parent: one letter, its window names the parent, both children and schools inside.
    [letter] = _letters(cfg)
    assert letter.count(f"Beste {names[single.parents[0]]} ") == 1
    assert letter.count(names[single.parents[0]]) == 2  # the greeting and the envelope window
    for child in single.children:
        assert f"Uw kind {names[child]} krijgt korting op de kosten van {schools[child]}." in letter
    for message in (text, letter):
        assert not any(f"Beste {names[c]}" in message for c in children)
        assert not any(insz in message for insz in everyone)

    # Names address the messages only: not in decisions, staged advice, grants, outbox, notices or the logs.
    with engine.connect() as conn:
        stored = json.dumps([[*map(str, r)] for model in (DecisionRow, StagedAdvice, GrantRow, OutboxMessage, Notice)
                             for r in conn.execute(select(model.__table__))], ensure_ascii=False)
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("proactief"))
    assert "notice dispatch" in logged
    for name in names.values():
        assert name not in stored and name not in logged
    assert not any(insz in logged for insz in everyone)

    # Dispatch again (a retry, the next scheduled dispatch): nothing is sent twice.
    grants, again = _dispatch(engine, cfg)
    assert grants == {} and again.get("all", {}) == {}
    assert len(setting.sink.received) == 1 and len(_letters(cfg)) == 1


def test_a_child_decided_in_a_later_run_gets_a_message_about_that_child_only(
        ledger: tuple[Engine, DeliveryConfig], setting: Setting) -> None:
    engine, cfg = ledger
    first, second = setting.single.children
    parent = setting.single.parents[0]
    names = _names(engine, [first, second, parent])

    _run(engine, setting, [first], "first")
    _dispatch(engine, cfg)
    [told] = _letters(cfg)
    assert names[first] in told and names[second] not in told

    # A later run decides both children (a mutation, a backfill): the first is told already, the second is new.
    report = _run(engine, setting, [first, second], "later")
    assert report["figures"]["notify"]["queued"] == 1
    _dispatch(engine, cfg)
    letters = _letters(cfg)
    assert len(letters) == 2
    later = next(letter for letter in letters if letter != told)
    assert f"Beste {names[parent]} " in later and names[second] in later and names[first] not in later

    _run(engine, setting, [first, second], "again")  # and a third run: nobody is told anything again
    grants, again = _dispatch(engine, cfg)
    assert again.get("all", {}) == {} and len(_letters(cfg)) == 2
    with engine.connect() as conn:
        assert set(conn.execute(select(Notice.insz)).scalars()) == {parent}
    # "Who looked at my data": the child's document lists the letter about it that went to the parent.
    from proactief.citizen.inzage import gather

    assert [(e.channel, e.status) for e in gather(engine, second).letters] == [("brief aan uw ouder", "verstuurd")]
    assert [e.channel for e in gather(engine, parent).letters] == ["brief", "brief"]


def test_a_household_message_waits_for_a_sibling_whose_grant_is_still_on_its_way(
        ledger: tuple[Engine, DeliveryConfig], setting: Setting) -> None:
    """The school export of one child is retried later (its back-off): the parent gets one message when both are
    booked, not one per dispatch."""
    engine, cfg = ledger
    first, second = setting.couple.children
    _run(engine, setting, [first, second], "siblings")
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as conn:
        later = select(GrantRow.id).where(GrantRow.insz == second).scalar_subquery()
        conn.execute(update(OutboxMessage).where(OutboxMessage.grant_id == later, OutboxMessage.kind == "grant")
                     .values(attempts=1, next_attempt_at=now + dt.timedelta(minutes=2)))

    grants, notices = _dispatch(engine, cfg, now)
    assert grants["school-billing"] == {"delivered": 1}
    assert notices["all"] == {"waiting_for_household": 1} and setting.sink.received == []

    grants, notices = _dispatch(engine, cfg, now + dt.timedelta(minutes=3))
    assert grants["school-billing"] == {"delivered": 1} and notices["email"] == {"sent": 1}
    [mail] = _mails(setting.sink)
    names = _names(engine, [first, second])
    assert all(names[c] in _text(mail) for c in (first, second))

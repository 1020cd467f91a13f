"""A reference date D before the register's date T (GeefPersoon's ``Tijdstip/Datum``) is decided as the register
stood on D: today's answer settles what it can (three-valued), the history services are asked only for the
subjects whose outcome depends on them, and nothing changes when D is not before T (issue 15, item 2).

The MAGDA side is a scripted HTTP server answering from a small hand-built register timeline, in the shapes of
the canned MAGDA-Mock answers (history services included)."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from lxml import etree

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "magda"))

from magda_testkit import Received, Reply, ScriptedServer, envelope, request_child  # noqa: E402

from proactief.advice import Advisor  # noqa: E402
from proactief.magda.audit import MemoryAuditSink  # noqa: E402
from proactief.magda.services import SERVICES  # noqa: E402
from proactief.schemes import Outcome  # noqa: E402
from tests.advice.conftest import make_client  # noqa: E402

IVAGO = "ivago-tegemoetkoming"
D = dt.date(2026, 1, 1)
T = dt.date(2026, 11, 1)
GENT, ANTWERPEN = "44021", "11002"
HIST_P, HIST_G = "Persoon.GeefHistoriekPersoon-02.02", "Persoon.GeefHistoriekGezinssamenstelling-02.02"
# TST numbers (valid modulo 97, birth months 61-72): never a real person
HEAD, PARTNER, LEFT = "80610100139", "82620200158", "05630300196"
MOVER = "75640400159"
FAR = "70650500128"


@dataclass
class Person:
    born: dt.date
    residences: list[tuple[str, dt.date, dt.date | None]] = field(default_factory=list)
    members: list[tuple[str, str, dt.date, dt.date | None]] = field(default_factory=list)
    """For a reference person: everyone in the household (themselves included) with position and period."""
    statutes: set[str] = field(default_factory=set)


def _ok(spec_key: str, today: dt.date, rec: Received, inhoud: str) -> bytes:
    spec = SERVICES[spec_key]
    ref = request_child(rec.body).findtext("Verzoek/Vragen/Vraag/Referte")
    return envelope(
        f'<p:{spec.response_root} xmlns:p="{spec.namespace}"><Repliek><Context><Naam>{spec.name}</Naam>'
        f"<Versie>{spec.version}</Versie><Bericht><Type>ANTWOORD</Type><Tijdstip><Datum>{today.isoformat()}</Datum>"
        "<Tijd>12:00:00.000</Tijd></Tijdstip><Afzender><Identificatie>vip.vlaanderen.be</Identificatie><Referte>r"
        f"</Referte></Afzender></Bericht></Context><Antwoorden><Antwoord><Referte>{ref}</Referte><Inhoud>{inhoud}"
        f"</Inhoud></Antwoord></Antwoorden></Repliek></p:{spec.response_root}>".encode())


def _period(begin: dt.date, end: dt.date | None, today: dt.date) -> str:
    shown_end = end if end is not None and end < today else None  # an end after today is not known yet
    return f' DatumBegin="{begin}"' + (f' DatumEinde="{shown_end}"' if shown_end else "")


class Register:
    """The register's timeline, answered as it stands on ``today`` (the ``Tijdstip/Datum`` of every answer)."""

    def __init__(self, people: dict[str, Person], today: dt.date) -> None:
        self.people, self.today = people, today

    def household_of(self, insz: str) -> list[tuple[str, str, dt.date, dt.date | None]]:
        for p in self.people.values():
            if any(m[0] == insz for m in p.members):
                return p.members
        return [(insz, "01", self.people[insz].born, None)]

    def __call__(self, rec: Received) -> Reply:
        child = request_child(rec.body)
        name = etree.QName(child).localname
        insz = child.findtext(".//Criteria/INSZ") or ""
        p, today = self.people[insz], self.today
        if name == "GeefPersoon":
            now = [r for r in p.residences if r[1] <= today and (r[2] is None or r[2] >= today)]
            adressen = "".join(f'<Hoofdverblijfplaats DatumBegin="{b}"><NISCodeGemeente>{nis}</NISCodeGemeente>'
                               "</Hoofdverblijfplaats>" for nis, b, _ in now)
            leden = "".join(
                f'<Gezinslid DatumBegin="{b}"><INSZ>{m}</INSZ><Geboortedatum>{self.people[m].born}</Geboortedatum>'
                f"<Positie><Code>{pos}</Code></Positie></Gezinslid>"
                for m, pos, b, e in p.members if m != insz and b <= today and (e is None or e >= today))
            body = (f"<Persoon><INSZ>{insz}</INSZ><Geboorte><Datum>{p.born}</Datum></Geboorte>"
                    f"<Adressen>{adressen}</Adressen>" + (f"<Gezinsleden>{leden}</Gezinsleden>" if leden else "")
                    + "</Persoon>")
            return Reply(200, _ok("Persoon.GeefPersoon-02.02", today, rec, body))
        if name == "GeefHistoriekPersoon":
            adressen = "".join(f"<Hoofdverblijfplaats{_period(b, e, today)}><NISCodeGemeente>{nis}</NISCodeGemeente>"
                               "</Hoofdverblijfplaats>" for nis, b, e in p.residences if b <= today)
            body = (f"<HistoriekPersoon><INSZ>{insz}</INSZ><HistoriekAdressen><HistoriekHoofdverblijfplaats>"
                    f"{adressen}</HistoriekHoofdverblijfplaats></HistoriekAdressen></HistoriekPersoon>")
            return Reply(200, _ok(HIST_P, today, rec, body))
        if name == "GeefHistoriekGezinssamenstelling":
            leden = "".join(
                f"<Gezinslid{_period(b, e, today)}><INSZ>{m}</INSZ><Geboortedatum>{self.people[m].born}"
                f"</Geboortedatum><Positie><Code>{pos}</Code></Positie></Gezinslid>"
                for m, pos, b, e in self.household_of(insz) if b <= today)
            body = (f"<HistoriekGezinssamenstelling><Gezinssamenstelling><Gezinsleden>{leden}</Gezinsleden>"
                    "</Gezinssamenstelling></HistoriekGezinssamenstelling>")
            return Reply(200, _ok(HIST_G, today, rec, body))
        if name == "GeefSociaalStatuut":
            asked = [n.text for n in child.iterfind(".//SocialeStatuten/SociaalStatuut/Naam")]
            st = "".join(f"<SociaalStatuut><Naam>{n}</Naam><Resultaat><Code>{int(n in p.statutes)}</Code>"
                         "</Resultaat></SociaalStatuut>" for n in asked)
            body = f"<Persoon><INSZ>{insz}</INSZ><SocialeStatuten>{st}</SocialeStatuten></Persoon>"
            return Reply(200, _ok("SocZek.GeefSociaalStatuut-03.00", today, rec, body))
        return Reply(500, b"not scripted")


def _people() -> dict[str, Person]:
    return {
        # A household of three on D; the member who held the statute left in June: today's answer lists two.
        HEAD: Person(dt.date(1980, 1, 1), [(GENT, dt.date(2010, 1, 1), None)],
                     [(HEAD, "01", dt.date(2010, 1, 1), None), (PARTNER, "02", dt.date(2015, 1, 1), None),
                      (LEFT, "03", dt.date(2010, 1, 1), dt.date(2026, 6, 30))]),
        PARTNER: Person(dt.date(1982, 2, 2)),
        LEFT: Person(dt.date(2005, 3, 3), [(GENT, dt.date(2026, 7, 1), None)], statutes={"BIM_BVT"}),
        # Lived in Ghent on D, moved to Antwerp in May: today's residence began after D.
        MOVER: Person(dt.date(1975, 4, 4), [(GENT, dt.date(2001, 1, 1), dt.date(2026, 4, 30)),
                                            (ANTWERPEN, dt.date(2026, 5, 1), None)], statutes={"BIM_BVT"}),
        # Antwerp for years: today's answer settles "not a Ghent resident on D" without any history.
        FAR: Person(dt.date(1970, 5, 5), [(ANTWERPEN, dt.date(2000, 1, 1), None)], statutes={"BIM_BVT"}),
    }


@pytest.fixture
def register() -> Iterator[tuple[ScriptedServer, Register]]:
    reg = Register(_people(), T)
    server = ScriptedServer(reg).start()
    try:
        yield server, reg
    finally:
        server.stop()


def _asked(server: ScriptedServer, insz: str | None = None) -> list[str]:
    out = []
    for rec in server.received:
        child = request_child(rec.body)
        if insz is None or child.findtext(".//Criteria/INSZ") == insz:
            out.append(etree.QName(child).localname)
    return out


def test_a_member_who_left_after_d_and_held_the_statute_is_found_in_the_household_history(
        register: tuple[ScriptedServer, Register], audit: MemoryAuditSink) -> None:
    server, _ = register
    advice = Advisor(make_client(server.url, audit), IVAGO).advise_one(HEAD, D)
    assert advice.decision is Outcome.ELIGIBLE, advice.reasons
    assert advice.amount is not None and advice.amounts["waardebon"] == 84  # three members on D
    asked = _asked(server, HEAD)
    assert asked.count("GeefHistoriekGezinssamenstelling") == 1
    assert "GeefHistoriekPersoon" not in asked, "today's residence covers D: no residence history"
    assert "GeefSociaalStatuut" in _asked(server, LEFT)
    assert {c.service for c in audit.consultations} >= {HIST_G}


def test_a_resident_on_d_who_moved_away_since_is_decided_on_the_residence_history(
        register: tuple[ScriptedServer, Register]) -> None:
    server, _ = register
    advice = Advisor(make_client(server.url), IVAGO).advise_one(MOVER, D)
    assert advice.decision is Outcome.ELIGIBLE, advice.reasons
    assert advice.amounts["waardebon"] == 42
    assert _asked(server, MOVER).count("GeefHistoriekPersoon") == 1


def test_only_subjects_whose_outcome_depends_on_the_history_are_asked_it(
        register: tuple[ScriptedServer, Register]) -> None:
    server, _ = register
    advice = Advisor(make_client(server.url), IVAGO).advise_one(FAR, D)
    assert advice.decision is Outcome.NOT_ELIGIBLE
    assert _asked(server) == ["GeefPersoon"], "not in Ghent on D by today's answer: nothing else asked"


def test_when_d_is_not_before_the_registers_date_no_history_is_asked(
        register: tuple[ScriptedServer, Register], audit: MemoryAuditSink) -> None:
    server, reg = register
    reg.today = D  # the register answers as it stood on D itself
    advisor = Advisor(make_client(server.url, audit), IVAGO)
    decisions = {s: advisor.advise_one(s, D).decision for s in (HEAD, MOVER, FAR)}
    assert decisions == {HEAD: Outcome.ELIGIBLE, MOVER: Outcome.ELIGIBLE, FAR: Outcome.NOT_ELIGIBLE}
    assert not [c for c in audit.consultations if c.service in (HIST_P, HIST_G)]
    assert not [n for n in _asked(server) if n.startswith("GeefHistoriek")]

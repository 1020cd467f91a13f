"""The history services (GeefHistoriekPersoon, GeefHistoriekGezinssamenstelling): asked as a real client asks
them, read into residences and households with their periods, classified like every other answer (MAGDA.md)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from magda_testkit import BUSY, Received, Reply, ScriptedServer, canned, canned_for, request_child

from proactief.magda.audit import MemoryAuditSink, OutcomeClass
from proactief.magda.client import MagdaClient
from proactief.magda.parse import parse_response
from proactief.magda.results import HistoriekGezinssamenstelling, HistoriekPersoon

HISTORIEK_PERSOON = "Persoon.GeefHistoriekPersoon-02.02"
HISTORIEK_GEZIN = "Persoon.GeefHistoriekGezinssamenstelling-02.02"
MOVER = "71690499880"  # seven main residences, only DatumBegin each; wife in a household of five
MakeClient = Callable[..., MagdaClient]


def test_main_residences_get_their_periods_and_an_open_end_is_closed_by_the_next_move() -> None:
    a = parse_response(HISTORIEK_PERSOON, canned(f"Persoon/GeefHistoriekPersoon/02.02.0000/{MOVER}.xml"))
    assert a.outcome is OutcomeClass.OK and a.code is None
    h = a.value
    assert isinstance(h, HistoriekPersoon) and h.insz == MOVER
    assert h.geboortedatum == dt.date(1971, 9, 4) and h.overlijdensdatum is None
    homes = h.hoofdverblijfplaatsen
    assert len(homes) == 7
    assert [x.periode.begin for x in homes] == sorted(x.periode.begin for x in homes)  # type: ignore[type-var]
    for before, after in zip(homes, homes[1:], strict=False):
        assert before.periode.end == after.periode.begin
    assert homes[-1].periode.end is None and homes[-1].nis_code == "24055"  # Kortenberg since 2016-05-26
    riemst = next(x for x in homes if x.periode.begin == dt.date(1995, 7, 24))
    assert riemst.nis_code is not None and riemst.nis_code != "24055"
    assert h.woont_in(riemst.nis_code, dt.date(2000, 1, 1)) and not h.woont_in("24055", dt.date(2000, 1, 1))
    assert h.woont_in("24055", dt.date(2016, 5, 26)), "on a moving day the new residence counts"
    assert a.register_date == dt.date(2017, 7, 17), "Repliek/Context/Bericht/Tijdstip/Datum: the register's day"
    assert MOVER not in repr(h)


def test_household_history_gives_each_members_position_and_period() -> None:
    a = parse_response(HISTORIEK_GEZIN, canned(f"Persoon/GeefHistoriekGezinssamenstelling/02.02.0000/{MOVER}.xml"))
    assert a.outcome is OutcomeClass.OK
    h = a.value
    assert isinstance(h, HistoriekGezinssamenstelling) and len(h.samenstellingen) == 1
    [leden] = h.samenstellingen
    assert [(lid.positie, lid.periode.begin) for lid in leden][:2] == [("01", dt.date(1996, 5, 11)),
                                                                        ("02", dt.date(1996, 5, 11))]
    # On 1 January 2000 the household had three members: the two youngest children came later.
    on = h.op(MOVER, dt.date(2000, 1, 1))
    assert on is not None and len(on) == 3
    assert h.op(MOVER, dt.date(2010, 1, 1)) is not None and len(h.op(MOVER, dt.date(2010, 1, 1)) or ()) == 5
    assert h.op(MOVER, dt.date(1990, 1, 1)) is None, "before she joined: in none of these households"
    assert MOVER not in repr(h)


def test_no_history_is_definitive_and_too_busy_is_transient() -> None:
    for key, folder in ((HISTORIEK_PERSOON, "GeefHistoriekPersoon"),
                        (HISTORIEK_GEZIN, "GeefHistoriekGezinssamenstelling")):
        a = parse_response(key, canned(f"Persoon/{folder}/02.02.0000/notfound.xml"))
        assert (a.outcome, a.code, a.value) == (OutcomeClass.DEFINITIVE, "30001", None)
    busy = parse_response(HISTORIEK_GEZIN, canned(f"Persoon/GeefHistoriekGezinssamenstelling/02.02.0000/{BUSY}.xml"))
    assert (busy.outcome, busy.code) == (OutcomeClass.TRANSIENT, "99995")


def test_the_client_asks_both_history_services_by_insz_and_audits_them(
        server: ScriptedServer, make_client: MakeClient, audit: MemoryAuditSink) -> None:
    server.script = lambda rec: Reply(200, canned_for(rec))
    client = make_client(hoedanigheden={"ivago-tegemoetkoming": "ipdc88"})  # requests validated against the XSD
    p = client.geef_historiek_persoon(MOVER, purpose="ivago-tegemoetkoming")
    g = client.geef_historiek_gezinssamenstelling(MOVER, dt.date(2020, 1, 1), purpose="ivago-tegemoetkoming")
    assert isinstance(p.value, HistoriekPersoon) and isinstance(g.value, HistoriekGezinssamenstelling)
    assert p.outcome is g.outcome is OutcomeClass.OK
    names = [request_child(r.body).findtext("Verzoek/Context/Naam") for r in server.received]
    assert names == ["GeefHistoriekPersoon", "GeefHistoriekGezinssamenstelling"]
    for r in server.received:
        crit = request_child(r.body).find("Verzoek/Vragen/Vraag/Inhoud/Criteria")
        assert crit.findtext("INSZ") == MOVER and crit.find("Datum").get("Op") == "0"
    assert request_child(server.received[1].body).findtext(".//Criteria/Datum") == "2020-01-01"
    assert [(c.service, c.subject, c.hoedanigheid, c.outcome) for c in audit.consultations] == [
        (HISTORIEK_PERSOON, MOVER, "ipdc88", OutcomeClass.OK), (HISTORIEK_GEZIN, MOVER, "ipdc88", OutcomeClass.OK)]


def test_an_unknown_person_has_no_history_and_a_busy_source_is_retried(
        server: ScriptedServer, make_client: MakeClient) -> None:
    def script(rec: Received) -> Reply:
        return Reply(200, canned_for(rec))

    server.script = script
    client = make_client(max_attempts=2)
    unknown = client.geef_historiek_persoon("90010100123")
    assert (unknown.outcome, unknown.code) == (OutcomeClass.DEFINITIVE, "30001")
    busy = client.geef_historiek_gezinssamenstelling(BUSY)
    assert busy.outcome is OutcomeClass.TRANSIENT and busy.attempts == 2

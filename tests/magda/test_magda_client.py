"""Client behaviour over real HTTP: retries, backoff, timeouts, faults, configuration errors, 40003, lists."""

from __future__ import annotations

import datetime as dt
import socket
import threading
import time
from collections.abc import Callable

import pytest
from magda_testkit import (
    AFNEMER,
    BUSY,
    DISABLED,
    HOUSEHOLD,
    LEEFLOON,
    OTHER,
    PARKING,
    SHARED_MAGDA,
    TAX,
    Received,
    Reply,
    ScriptedServer,
    canned,
    canned_for,
    echo,
    list_answer,
    request_child,
    soap_fault,
    uitzondering_answer,
)

from proactief.insz import InvalidINSZ
from proactief.magda.audit import NOT_SENT, SUBJECT_REFUSED, MemoryAuditSink, OutcomeClass
from proactief.magda.client import MagdaClient, MagdaConfigurationError, MagdaFault
from proactief.magda.results import (
    MutatieNotificaties,
    Persoon,
    SociaalStatuutAntwoord,
    VrijstellingAanvraag,
)
from proactief.magda.services import MOCK_SINGLE_ENDPOINT, SERVICES

D = dt.date(2025, 3, 1)
PERSOON = SERVICES["Persoon.GeefPersoon-02.02"]
MakeClient = Callable[..., MagdaClient]


def sequence(*replies: Reply | Callable[[Received], Reply]) -> Callable[[Received], Reply]:
    """Answer with the given replies in turn (callables get the request); the last one repeats."""
    calls = {"n": 0}

    def script(rec: Received) -> Reply:
        i = min(calls["n"], len(replies) - 1)
        calls["n"] += 1
        r = replies[i]
        return r(rec) if callable(r) else r

    return script


def ok_canned(rec: Received) -> Reply:
    return Reply(200, canned_for(rec))


def level(code: str, type_: str = "FOUT", lvl: int = 3) -> Callable[[Received], Reply]:
    def reply(rec: Received) -> Reply:
        spec = next(s for s in SERVICES.values() if s.name == rec.service)
        return Reply(200, echo(uitzondering_answer(spec.response_root, spec.namespace, code, type_, level=lvl),
                               rec.body))

    return reply


# ---------------------------------------------------------------------------------------------- basics


def test_a_question_is_answered_typed_and_audited(server: ScriptedServer, make_client: MakeClient,
                                                  audit: MemoryAuditSink, engine: str) -> None:
    server.script = ok_canned
    client = make_client(http_engine=engine, hoedanigheden={"uitpas-kansentarief": "ipdc2045"})
    before = dt.datetime.now(dt.UTC)
    a = client.geef_persoon(HOUSEHOLD, purpose="uitpas-kansentarief")
    assert a.outcome is OutcomeClass.OK and isinstance(a.value, Persoon) and a.attempts == 1
    assert a.subject == HOUSEHOLD and a.message_ref and a.question_ref
    rec = server.received[0]
    assert rec.path == PERSOON.path and rec.method == "POST"
    assert rec.headers["content-type"] == "text/xml; charset=UTF-8" and "soapaction" in rec.headers
    afz = request_child(rec.body).find("Verzoek/Context/Bericht/Afzender")
    assert (afz.findtext("Identificatie"), afz.findtext("Hoedanigheid")) == (AFNEMER, "ipdc2045")
    [row] = audit.consultations
    assert (row.message_ref, row.question_ref) == (a.message_ref, a.question_ref)
    assert afz.findtext("Referte") == row.message_ref
    assert (row.service, row.afnemer, row.hoedanigheid, row.subject, row.purpose) == (
        PERSOON.key, AFNEMER, "ipdc2045", HOUSEHOLD, "uitpas-kansentarief")
    assert row.outcome is OutcomeClass.OK and row.code is None and row.gebruiker is None
    assert before <= row.requested_at <= dt.datetime.now(dt.UTC) and row.duration_ms is not None


def test_single_mock_endpoint_and_gebruiker(server: ScriptedServer, make_client: MakeClient,
                                            audit: MemoryAuditSink) -> None:
    server.script = ok_canned
    client = make_client(use_single_endpoint=True)
    client.geef_sociaal_statuut(HOUSEHOLD, ["BIM_BVT"], D, gebruiker=TAX)
    assert server.received[0].path == MOCK_SINGLE_ENDPOINT
    assert request_child(server.received[0].body).findtext(".//Afzender/Gebruiker") == TAX
    assert audit.consultations[0].gebruiker == TAX


def test_invalid_insz_is_refused_before_anything_is_sent(server: ScriptedServer, make_client: MakeClient,
                                                         audit: MemoryAuditSink) -> None:
    client = make_client()
    for bad in ("84640438955", "8464043895", "8464043895x", 84640438954):
        with pytest.raises(InvalidINSZ) as info:
            client.geef_persoon(bad)  # type: ignore[arg-type]
        assert str(bad) not in str(info.value)
    with pytest.raises(InvalidINSZ):
        client.geef_persoon(HOUSEHOLD, gebruiker="12345678901")
    assert server.received == [] and audit.consultations == []


# ---------------------------------------------------------------------------------------------- transient


def test_http_5xx_is_retried_with_exponential_backoff_and_full_jitter(server: ScriptedServer, make_client: MakeClient,
                                                                      sleeps: list[float], audit: MemoryAuditSink,
                                                                      engine: str) -> None:
    html = Reply(503, b"<html><body>Service Unavailable</body></html>", "text/html")
    server.script = sequence(html, Reply(502, b"bad gateway", "text/plain"), ok_canned)
    client = make_client(http_engine=engine, max_attempts=4, backoff_base=0.1, backoff_cap=0.15, rng=lambda: 0.5)
    a = client.geef_persoon(HOUSEHOLD)
    assert a.outcome is OutcomeClass.OK and a.attempts == 3
    assert sleeps == [0.5 * 0.1, 0.5 * 0.15]  # min(cap, base * 2**(n-1)) * uniform[0, 1)
    sent = [request_child(r.body).findtext("Verzoek/Context/Bericht/Afzender/Referte") for r in server.received]
    assert len(set(sent)) == 3  # every attempt is a new message with its own Referte
    [row] = audit.consultations  # one question, one consultation row with the final outcome
    assert row.outcome is OutcomeClass.OK and row.message_ref == sent[-1] == a.message_ref


def test_backoff_is_random_within_the_exponential_cap(make_client: MakeClient) -> None:
    import random

    client = make_client(backoff_base=0.2, backoff_cap=5.0, rng=random.Random(7).random)
    for attempt, ceiling in ((1, 0.2), (2, 0.4), (3, 0.8), (6, 5.0), (10, 5.0)):
        delays = [client.backoff(attempt) for _ in range(200)]
        assert all(0 <= d <= ceiling for d in delays) and max(delays) > ceiling * 0.8


def test_still_transient_after_the_last_attempt_is_returned_not_raised(server: ScriptedServer,
                                                                       make_client: MakeClient,
                                                                       audit: MemoryAuditSink) -> None:
    server.script = level("99996", lvl=2)
    a = make_client(max_attempts=3).geef_sociaal_statuut(BUSY, ["BIM_BVT"], D)
    assert (a.outcome, a.code, a.attempts, a.value) == (OutcomeClass.TRANSIENT, "99996", 3, None)
    assert a.uitzonderingen_bericht[0].identificatie == "99996"
    assert [(r.outcome, r.code) for r in audit.consultations] == [(OutcomeClass.TRANSIENT, "99996")]


def test_a_read_timeout_is_transient(server: ScriptedServer, make_client: MakeClient, engine: str) -> None:
    server.script = sequence(lambda rec: Reply(200, canned_for(rec), delay=1.0), ok_canned)
    client = make_client(http_engine=engine, read_timeout=0.3, max_attempts=2)
    t0 = time.monotonic()
    a = client.geef_persoon(HOUSEHOLD)
    assert a.outcome is OutcomeClass.OK and a.attempts == 2 and time.monotonic() - t0 < 3
    slow = make_client(http_engine=engine, read_timeout=0.2, max_attempts=1)
    server.script = lambda rec: Reply(200, canned_for(rec), delay=0.6)
    b = slow.geef_persoon(HOUSEHOLD)
    assert b.outcome is OutcomeClass.TRANSIENT and "timeout" in (b.detail or "")


def test_malformed_or_truncated_xml_is_transient(server: ScriptedServer, make_client: MakeClient,
                                                 engine: str) -> None:
    server.script = sequence(lambda rec: Reply(200, canned_for(rec)[:300]), Reply(200, b"<<<"), ok_canned)
    a = make_client(http_engine=engine, max_attempts=3).geef_persoon(HOUSEHOLD)
    assert a.outcome is OutcomeClass.OK and a.attempts == 3
    server.script = lambda rec: Reply(200, canned_for(rec)[:300])
    b = make_client(http_engine=engine, max_attempts=2).geef_persoon(HOUSEHOLD)
    assert b.outcome is OutcomeClass.TRANSIENT and "well-formed" in (b.detail or "")


def test_connection_refused_is_transient(make_client: MakeClient, engine: str) -> None:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    a = make_client(http_engine=engine, base_url=f"http://127.0.0.1:{port}", max_attempts=2).geef_persoon(HOUSEHOLD)
    assert a.outcome is OutcomeClass.TRANSIENT and a.attempts == 2 and "connection" in (a.detail or "")


def test_an_answer_that_does_not_echo_the_question_is_never_used(server: ScriptedServer,
                                                                  make_client: MakeClient) -> None:
    server.script = lambda rec: Reply(200, canned(f"Persoon/GeefPersoon/02.02.0000/{HOUSEHOLD}.xml"))
    a = make_client(max_attempts=2).geef_persoon(HOUSEHOLD)
    assert a.outcome is OutcomeClass.TRANSIENT and a.value is None and "Referte" in (a.detail or "")


# ---------------------------------------------------------------------------------------------- loud failures


def test_a_soap_fault_raises_after_being_audited(server: ScriptedServer, make_client: MakeClient,
                                                 audit: MemoryAuditSink, engine: str) -> None:
    # about the civil servant's number (Gebruiker), not the subject's: a configuration error, level 1
    server.script = lambda rec: Reply(500, soap_fault("soapenv:Client",
                                                      f"Element 'Gebruiker': '{HOUSEHOLD}' is not valid"))
    with pytest.raises(MagdaFault) as info:
        make_client(http_engine=engine).geef_persoon(HOUSEHOLD)
    assert info.value.faultcode == "soapenv:Client" and HOUSEHOLD not in str(info.value)
    assert len(server.received) == 1
    assert [r.outcome for r in audit.consultations] == [OutcomeClass.FAULT]


def test_a_soap_fault_about_the_subjects_number_alone_is_that_questions_data_error(
        server: ScriptedServer, make_client: MakeClient, audit: MemoryAuditSink) -> None:
    server.script = lambda rec: Reply(500, soap_fault(
        "soapenv:Client", f"Element 'INSZ': [facet 'pattern'] The value '{HOUSEHOLD}' is not accepted"))
    a = make_client().geef_persoon(HOUSEHOLD)
    assert (a.outcome, a.code, a.attempts) == (OutcomeClass.DATA_ERROR, SUBJECT_REFUSED, 1)
    assert HOUSEHOLD not in (a.detail or "") and len(server.received) == 1  # not retried
    assert [(r.outcome, r.code) for r in audit.consultations] == [(OutcomeClass.DATA_ERROR, SUBJECT_REFUSED)]


@pytest.mark.parametrize("code", ["13001", "40001", "40005", "40006", "13501"])
def test_authorisation_errors_raise_configuration_error(server: ScriptedServer, make_client: MakeClient,
                                                        audit: MemoryAuditSink, code: str) -> None:
    server.script = level(code, lvl=2)
    with pytest.raises(MagdaConfigurationError, match=code):
        make_client().geef_persoon(HOUSEHOLD)
    assert len(server.received) == 1
    assert [(r.outcome, r.code) for r in audit.consultations] == [(OutcomeClass.CONFIGURATION_ERROR, code)]


@pytest.mark.parametrize("status", [400, 401, 403, 404, 405])
def test_http_4xx_is_a_configuration_error(server: ScriptedServer, make_client: MakeClient, status: int,
                                           engine: str) -> None:
    server.script = lambda rec: Reply(status, b"nope", "text/plain")
    with pytest.raises(MagdaConfigurationError, match=str(status)):
        make_client(http_engine=engine).geef_persoon(HOUSEHOLD)
    assert len(server.received) == 1


def test_data_errors_and_definitive_answers_are_returned_at_once(server: ScriptedServer,
                                                                 make_client: MakeClient) -> None:
    client = make_client()
    for code, type_, outcome in (("20002", "FOUT", OutcomeClass.DATA_ERROR),
                                 ("30001", "FOUT", OutcomeClass.DEFINITIVE),
                                 ("45008", "INFORMATIE", OutcomeClass.DEFINITIVE)):
        server.received.clear()
        server.script = level(code, type_)
        a = client.geef_aanslagbiljet(TAX, 2025)
        assert (a.outcome, a.code, a.attempts) == (outcome, code, 1) and len(server.received) == 1


# ---------------------------------------------------------------------------------------------- repertorium


def test_40003_registers_the_person_under_the_same_hoedanigheid_and_asks_again(
        server: ScriptedServer, make_client: MakeClient, audit: MemoryAuditSink) -> None:
    server.script = sequence(level("40003"), ok_canned, ok_canned)
    client = make_client(hoedanigheden={"ivago-tegemoetkoming": "ipdc77"})
    a = client.geef_persoon(HOUSEHOLD, purpose="ivago-tegemoetkoming")
    assert a.outcome is OutcomeClass.OK and isinstance(a.value, Persoon) and a.attempts == 2
    assert [r.service for r in server.received] == ["GeefPersoon", "RegistreerInschrijving", "GeefPersoon"]
    ins = request_child(server.received[1].body).find("Verzoek/Vragen/Vraag/Inhoud/Inschrijving")
    assert (ins.findtext("Identificatie"), ins.findtext("Hoedanigheid")) == (AFNEMER, "ipdc77")
    assert ins.findtext("BetrokkenSubject/Subjecten/Subject/Sleutel") == HOUSEHOLD
    assert ins.findtext("Periode/Begin") == dt.date.today().isoformat()
    assert [(r.service, r.outcome) for r in audit.consultations] == [
        (PERSOON.key, OutcomeClass.NEEDS_INSCRIPTION),
        ("Repertorium.RegistreerInschrijving-02.01", OutcomeClass.OK),
        (PERSOON.key, OutcomeClass.OK)]
    assert all(r.hoedanigheid == "ipdc77" and r.subject == HOUSEHOLD for r in audit.consultations)


def test_40003_is_returned_as_is_when_auto_register_is_off(server: ScriptedServer, make_client: MakeClient) -> None:
    server.script = level("40003")
    a = make_client(auto_register=False).geef_persoon(HOUSEHOLD)
    assert (a.outcome, a.code) == (OutcomeClass.NEEDS_INSCRIPTION, "40003") and len(server.received) == 1


def test_an_existing_inscription_40143_counts_as_success(server: ScriptedServer, make_client: MakeClient) -> None:
    def already(rec: Received) -> Reply:
        ns = SERVICES["Repertorium.RegistreerInschrijving-02.01"].namespace
        body = uitzondering_answer("RegistreerInschrijvingResponse", ns, "40143", "WAARSCHUWING").replace(
            b"<Uitzonderingen>", b'<Inhoud><Resultaat Beschrijving="Wel geslaagd">1</Resultaat></Inhoud>'
                                 b"<Uitzonderingen>")
        return Reply(200, echo(body, rec.body))

    server.script = sequence(level("40003"), already, ok_canned)
    a = make_client().geef_sociaal_statuut(HOUSEHOLD, ["BIM_BVT"], D)
    assert a.outcome is OutcomeClass.OK and len(server.received) == 3


def test_a_transiently_failed_registration_leaves_the_person_undetermined(server: ScriptedServer,
                                                                         make_client: MakeClient,
                                                                         audit: MemoryAuditSink) -> None:
    server.script = sequence(level("40003"), level("99996", lvl=2))
    a = make_client(max_attempts=2).geef_persoon(HOUSEHOLD)
    assert (a.outcome, a.code, a.value) == (OutcomeClass.TRANSIENT, "99996", None)
    assert [(c.service, c.outcome) for c in audit.consultations] == [
        (PERSOON.key, OutcomeClass.NEEDS_INSCRIPTION), ("Repertorium.RegistreerInschrijving-02.01",
                                                        OutcomeClass.TRANSIENT)]
    assert [r.service for r in server.received] == ["GeefPersoon", "RegistreerInschrijving", "RegistreerInschrijving"]


def test_repertorium_mutations_and_lez_round_trip(server: ScriptedServer, make_client: MakeClient,
                                                  audit: MemoryAuditSink) -> None:
    server.script = ok_canned
    client = make_client()
    reg = client.registreer_inschrijving([HOUSEHOLD, LEEFLOON], begin=D, einde=dt.date(2026, 3, 1))
    assert reg.outcome is OutcomeClass.OK and reg.value.geslaagd
    assert [r.subject for r in audit.consultations] == [HOUSEHOLD, LEEFLOON]
    assert len({r.message_ref for r in audit.consultations}) == 1
    mut = client.geef_persoon_mutaties("ontvangst-1")
    assert (mut.outcome, mut.code) == (OutcomeClass.DEFINITIVE, "30016")
    assert isinstance(mut.value, MutatieNotificaties) and mut.value.mutaties == ()
    assert request_child(server.received[-1].body).findtext(".//Ontvangstreferte") == "ontvangst-1"
    assert audit.consultations[-1].subject is None

    def lez(rec: Received) -> Reply:
        spec = next(s for s in SERVICES.values() if s.name == rec.service)
        if rec.service == "GeefLEZGegevens":
            inhoud = ("<LEZGegevens><Nummerplaat>1GBR791</Nummerplaat><LandISOCode>BE</LandISOCode><Vrijstellingen>"
                      "<Vrijstelling><Reden>PARKEERKAART</Reden><Periode><Begin>2025-03-01</Begin></Periode>"
                      "<DatumTijdstipToevoegingLEZ>2025-03-01T10:00:00</DatumTijdstipToevoegingLEZ><Bron>GENT</Bron>"
                      "<Referte>ref-1</Referte></Vrijstelling></Vrijstellingen></LEZGegevens>")
        else:
            inhoud = '<Resultaat Beschrijving="Wel geslaagd">1</Resultaat>'
        body = (f'<p:{spec.response_root} xmlns:p="{spec.namespace}"><Repliek><Context><Naam>{spec.name}</Naam>'
                f"<Versie>{spec.version}</Versie><Bericht><Type>ANTWOORD</Type><Tijdstip><Datum>2025-03-01</Datum>"
                "<Tijd>10:00:00.000</Tijd></Tijdstip><Afzender><Identificatie>vip</Identificatie><Referte>r"
                "</Referte></Afzender></Bericht></Context><Antwoorden><Antwoord><Referte>x</Referte>"
                f"<Inhoud>{inhoud}</Inhoud></Antwoord></Antwoorden></Repliek></p:{spec.response_root}>")
        return Reply(200, echo(body.encode(), rec.body))

    server.script = lez
    assert client.registreer_lez("1GBR791", [VrijstellingAanvraag("PARKEERKAART", D)]).value.geslaagd
    got = client.geef_lez_gegevens("1GBR791").value
    assert [(v.reden, v.referte, v.bron) for v in got.vrijstellingen] == [("PARKEERKAART", "ref-1", "GENT")]
    assert client.verwijder_lez("1GBR791", referten=["ref-1"]).outcome is OutcomeClass.OK
    sent = request_child(server.received[-1].body)
    assert sent.findtext(".//LEZGegevens/Bron") == "GENT"
    assert sent.findtext(".//Vrijstellingen/Vrijstelling/Referte") == "ref-1"


# ---------------------------------------------------------------------------------------------- list service


def test_list_service_gives_one_answer_per_insz_and_retries_only_the_transient_ones(
        server: ScriptedServer, make_client: MakeClient, audit: MemoryAuditSink, sleeps: list[float]) -> None:
    rounds: list[list[str]] = []

    def script(rec: Received) -> Reply:
        if rec.service == "RegistreerInschrijving":
            return ok_canned(rec)
        asked = [p.text for p in request_child(rec.body).iterfind(".//Personen/Persoon")]
        rounds.append(asked)
        first = len(rounds) == 1
        results: dict[str, str | tuple[str, str]] = {}
        for i in asked:
            if i == HOUSEHOLD:
                results[i] = "1"
            elif i == LEEFLOON:
                results[i] = "0"
            elif i == BUSY:
                results[i] = ("99996", "FOUT") if first else "1"
            elif i == OTHER:
                results[i] = ("40003", "FOUT") if first else "1"
            elif i == DISABLED:
                results[i] = ("30003", "FOUT")
        return Reply(200, list_answer(rec, results))

    server.script = script
    client = make_client()
    out = client.geef_sociaal_statuut_voor_lijst([HOUSEHOLD, LEEFLOON, BUSY, OTHER, DISABLED, PARKING],
                                                 ["BIM_BVT", "BIM_BVT_IN_FAMILY"], D, purpose="uitpas-kansentarief")
    assert list(out) == [HOUSEHOLD, LEEFLOON, BUSY, OTHER, DISABLED, PARKING]
    assert out[HOUSEHOLD].outcome is OutcomeClass.OK and out[HOUSEHOLD].value.get("BIM_BVT").code == 1
    assert out[LEEFLOON].value.get("BIM_BVT_IN_FAMILY").code == 0
    assert out[BUSY].outcome is OutcomeClass.OK and out[BUSY].attempts == 2
    assert out[OTHER].outcome is OutcomeClass.OK
    assert (out[DISABLED].outcome, out[DISABLED].code) == (OutcomeClass.DEFINITIVE, "30003")
    # absent from the answer without an explanation: never a "no"
    assert out[PARKING].outcome is OutcomeClass.TRANSIENT and out[PARKING].attempts == 3
    assert rounds[0] == [HOUSEHOLD, LEEFLOON, BUSY, OTHER, DISABLED, PARKING]
    assert sorted(rounds[1]) == sorted([BUSY, OTHER, PARKING])
    assert isinstance(out[HOUSEHOLD].value, SociaalStatuutAntwoord)
    lists = [r for r in server.received if r.service == "GeefSociaalStatuutVoorLijst"]
    assert all(r.headers["x-magda-afnemer"] == AFNEMER for r in lists)
    rows = [r for r in audit.consultations if r.service == "SocZek.GeefSociaalStatuutVoorLijst-02.00"]
    # a row per INSZ once its answer is final (40003 is final for that question: it is asked anew after
    # registration); transient persons are recorded when asked for the last time
    assert [(r.subject, r.outcome) for r in rows] == [
        (HOUSEHOLD, OutcomeClass.OK), (LEEFLOON, OutcomeClass.OK), (OTHER, OutcomeClass.NEEDS_INSCRIPTION),
        (DISABLED, OutcomeClass.DEFINITIVE), (BUSY, OutcomeClass.OK), (OTHER, OutcomeClass.OK),
        (PARKING, OutcomeClass.TRANSIENT)]
    assert {r.purpose for r in rows} == {"uitpas-kansentarief"}
    assert len({r.message_ref for r in rows[:4]}) == 1 and rows[4].message_ref != rows[0].message_ref
    assert rows[0].message_ref == out[HOUSEHOLD].message_ref == out[HOUSEHOLD].question_ref
    reg = [r for r in audit.consultations if r.service.startswith("Repertorium")]
    assert [r.subject for r in reg] == [OTHER]
    assert sleeps  # backed off before asking the transient persons again


def test_list_service_level_two_refusal_applies_to_everyone(server: ScriptedServer, make_client: MakeClient) -> None:
    server.script = level("13001", lvl=2)
    with pytest.raises(MagdaConfigurationError, match="13001"):
        make_client().geef_sociaal_statuut_voor_lijst([HOUSEHOLD, LEEFLOON], ["BIM_BVT"], D)
    server.script = level("99996", lvl=2)
    out = make_client(max_attempts=2).geef_sociaal_statuut_voor_lijst([HOUSEHOLD, LEEFLOON], ["BIM_BVT"], D)
    assert {a.outcome for a in out.values()} == {OutcomeClass.TRANSIENT}
    assert all(a.uitzonderingen_bericht[0].identificatie == "99996" for a in out.values())


def test_list_service_invalid_insz_raise_or_report(server: ScriptedServer, make_client: MakeClient) -> None:
    server.script = lambda rec: Reply(200, list_answer(rec, {HOUSEHOLD: "1"}))
    client = make_client()
    with pytest.raises(InvalidINSZ):
        client.geef_sociaal_statuut_voor_lijst([HOUSEHOLD, "12345678901"], ["BIM_BVT"], D)
    assert server.received == []
    out = client.geef_sociaal_statuut_voor_lijst([HOUSEHOLD, "12345678901"], ["BIM_BVT"], D, invalid="report")
    assert out["12345678901"].outcome is OutcomeClass.DATA_ERROR and out[HOUSEHOLD].outcome is OutcomeClass.OK
    assert [p.text for p in request_child(server.received[0].body).iterfind(".//Personen/Persoon")] == [HOUSEHOLD]


def test_bulk_statutes_use_the_list_service_in_parallel_chunks(server: ScriptedServer, make_client: MakeClient,
                                                               audit: MemoryAuditSink) -> None:
    from proactief.insz import is_valid_insz

    people = [f"{n:09d}" for n in range(840101000, 840101200)]
    population = []
    for base in people:
        check = 97 - int(base) % 97
        candidate = f"{base}{check:02d}"
        if is_valid_insz(candidate):
            population.append(candidate)
    population = population[:23]
    active = {"now": 0, "max": 0}
    lock = threading.Lock()

    def script(rec: Received) -> Reply:
        with lock:
            active["now"] += 1
            active["max"] = max(active["max"], active["now"])
        time.sleep(0.05)
        asked = [p.text for p in request_child(rec.body).iterfind(".//Personen/Persoon")]
        with lock:
            active["now"] -= 1
        return Reply(200, list_answer(rec, {i: "1" for i in asked}))

    server.script = script
    client = make_client(max_concurrency=3)
    got = dict(client.sociaal_statuut_many(iter(population), ["BIM_BVT"], D, chunk_size=5))
    assert set(got) == set(population) and all(a.outcome is OutcomeClass.OK for a in got.values())
    assert len(server.received) == 5  # 23 persons in chunks of 5
    assert 1 < active["max"] <= 3  # parallel, within max_concurrency
    assert len(audit.consultations) == 23


def test_for_each_runs_single_calls_within_max_concurrency_and_reraises(server: ScriptedServer,
                                                                        make_client: MakeClient) -> None:
    active = {"now": 0, "max": 0}
    lock = threading.Lock()

    def script(rec: Received) -> Reply:
        with lock:
            active["now"] += 1
            active["max"] = max(active["max"], active["now"])
        time.sleep(0.03)
        with lock:
            active["now"] -= 1
        return ok_canned(rec)

    server.script = script
    client = make_client(max_concurrency=2)
    people = [HOUSEHOLD, LEEFLOON, DISABLED, PARKING, TAX, OTHER] * 2
    out = list(client.for_each(people, lambda i: client.geef_sociaal_statuut(i, ["BIM_BVT"], D)))
    assert sorted(i for i, _ in out) == sorted(people) and active["max"] == 2
    server.script = level("13001", lvl=2)
    with pytest.raises(MagdaConfigurationError):
        list(client.for_each(people, lambda i: client.geef_persoon(i)))


def test_the_concurrency_bound_holds_for_direct_calls_from_many_threads(server: ScriptedServer,
                                                                        make_client: MakeClient) -> None:
    active = {"now": 0, "max": 0}
    lock = threading.Lock()

    def script(rec: Received) -> Reply:
        with lock:
            active["now"] += 1
            active["max"] = max(active["max"], active["now"])
        time.sleep(0.03)
        with lock:
            active["now"] -= 1
        return ok_canned(rec)

    server.script = script
    client = make_client(max_concurrency=2)
    threads = [threading.Thread(target=client.geef_persoon, args=(HOUSEHOLD,)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(server.received) == 8 and active["max"] <= 2


# ---------------------------------------------------------------------------------------------- REST


def test_vehicle_registrations_by_plate_or_national_number(server: ScriptedServer, make_client: MakeClient,
                                                           audit: MemoryAuditSink, engine: str) -> None:
    body = (SHARED_MAGDA / "rest/__files/mobility/registrations/1GBR791.json").read_bytes()

    def script(rec: Received) -> Reply:
        if "1GBR791" in rec.path or DISABLED in rec.path:
            return Reply(200, body, "application/json")
        return Reply(204, b"", "application/json")

    server.script = script
    client = make_client(http_engine=engine)
    a = client.vehicle_registrations(plate_nr="1GBR791")
    assert a.outcome is OutcomeClass.OK and [(v.plate, v.status, v.titular, v.titular_insz) for v in a.value] == [
        ("1GBR791", "REG", "natural", DISABLED)]
    first = server.received[0]
    assert first.method == "GET" and first.path == "/v1/mobility/registrations?plateNr=1GBR791"
    b = client.vehicle_registrations(national_nr=DISABLED, purpose="lez-vrijstelling")
    assert b.value[0].plate == "1GBR791" and server.received[1].path.endswith(f"nationalNr={DISABLED}")
    none = client.vehicle_registrations(national_nr=HOUSEHOLD)
    assert (none.outcome, none.value) == (OutcomeClass.DEFINITIVE, ())
    assert [r.subject for r in audit.consultations] == [None, DISABLED, HOUSEHOLD]
    assert audit.consultations[1].purpose == "lez-vrijstelling"
    with pytest.raises(ValueError):
        client.vehicle_registrations()
    with pytest.raises(InvalidINSZ):
        client.vehicle_registrations(national_nr="123")


def test_vehicle_registrations_retry_and_configuration_errors(server: ScriptedServer, make_client: MakeClient) -> None:
    server.script = sequence(Reply(503, b"busy", "text/plain"), Reply(204, b""))
    a = make_client().vehicle_registrations(plate_nr="1ABC123")
    assert a.outcome is OutcomeClass.DEFINITIVE and a.attempts == 2
    server.script = lambda rec: Reply(404, b'{"status": 404}', "application/json")
    with pytest.raises(MagdaConfigurationError, match="404"):
        make_client().vehicle_registrations(plate_nr="1ABC123")


def test_a_number_the_services_xsd_refuses_is_not_sent(server: ScriptedServer, make_client: MakeClient,
                                                       audit: MemoryAuditSink) -> None:
    """Month 81 passes the modulo-97 check and GeefPersoon's ``INSZType``, not the KSZ ``SsinType`` of
    GeefDossierHandicap: that question is the person's data error, audited as never sent."""
    base = 128115001
    refused = f"{base}{97 - base % 97:02d}"
    client = make_client()
    a = client.geef_dossier_handicap(refused, dt.date(2026, 11, 1))
    assert (a.outcome, a.code, a.attempts) == (OutcomeClass.DATA_ERROR, NOT_SENT, 0)
    assert refused not in (a.detail or "") and server.received == []
    [row] = audit.consultations
    assert (row.subject, row.outcome, row.code, row.duration_ms) == (refused, OutcomeClass.DATA_ERROR, NOT_SENT, 0)
    assert row.question_ref == a.question_ref and row.message_ref == a.message_ref
    server.script = lambda rec: Reply(500, b"")
    assert client.geef_persoon(refused).outcome is OutcomeClass.TRANSIENT  # INSZType takes it: it is sent


def test_a_worker_stuck_in_a_call_does_not_hold_the_task_once_another_failed(
        make_client: MakeClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first error ends the parallel calls; a worker stuck in its call is left behind after a bound, so the
    task fails (and is retried) instead of hanging until that call ever returns."""
    import proactief.magda.client as client_module

    monkeypatch.setattr(client_module, "_ABANDON", 0.5, raising=False)
    release = threading.Event()
    started = threading.Event()

    def call(item: int) -> int:
        if item == 0:
            started.wait(5)
            raise ValueError("the first call failed")
        started.set()
        release.wait(60)  # a call that does not come back
        return item

    client = make_client(max_concurrency=2)
    t0 = time.monotonic()
    try:
        with pytest.raises(ValueError, match="the first call failed"):
            list(client._parallel(iter([0, 1]), call))
        assert time.monotonic() - t0 < 10
    finally:
        release.set()

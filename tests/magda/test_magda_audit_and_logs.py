"""The consultation log gets every question (with its subject); ordinary logs never get an INSZ."""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable

import pytest
from magda_testkit import (
    BUSY,
    HOUSEHOLD,
    LEEFLOON,
    NEW_INSZ,
    OTHER,
    TAX,
    Received,
    Reply,
    ScriptedServer,
    canned_for,
    echo,
    list_answer,
    soap_fault,
    uitzondering_answer,
)

from proactief.insz import pseudonym
from proactief.magda.audit import Consultation, MemoryAuditSink, OutcomeClass
from proactief.magda.client import MagdaClient, MagdaConfigurationError, MagdaFault
from proactief.magda.results import Persoon
from proactief.magda.services import SERVICES

D = dt.date(2025, 3, 1)
ELEVEN_DIGITS = re.compile(r"(?<!\d)\d{11}(?!\d)")
MakeClient = Callable[..., MagdaClient]


def _uitz(rec: Received, code: str, type_: str = "FOUT", lvl: int = 3) -> Reply:
    spec = next(s for s in SERVICES.values() if s.name == rec.service)
    return Reply(200, echo(uitzondering_answer(spec.response_root, spec.namespace, code, type_, level=lvl), rec.body))


def script(rec: Received) -> Reply:
    """A platform where some personas misbehave in every way the client has to survive."""
    insz = rec.insz
    if rec.service == "GeefSociaalStatuutVoorLijst":
        return Reply(200, list_answer(rec, {HOUSEHOLD: "1", LEEFLOON: ("99996", "FOUT"), OTHER: ("20002", "FOUT")}))
    if rec.service == "RegistreerInschrijving":
        return _uitz(rec, "99996", lvl=2)
    if insz == BUSY:
        return _uitz(rec, "99996", lvl=2)
    if insz == LEEFLOON:
        return _uitz(rec, "40003")
    if insz == OTHER:
        return Reply(500, soap_fault("soapenv:Client", f"Element 'INSZ': '{OTHER}' is not a valid value"))
    if insz == TAX:
        return _uitz(rec, "13001", lvl=2)
    return Reply(200, canned_for(rec))


def test_no_insz_reaches_the_logs_or_exception_messages(server: ScriptedServer, make_client: MakeClient,
                                                        audit: MemoryAuditSink,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    server.script = script
    caplog.set_level(logging.DEBUG)
    client = make_client(max_attempts=2)
    answers = [
        client.geef_persoon(HOUSEHOLD),
        client.geef_persoon(BUSY),  # retried, then transient
        client.geef_persoon(NEW_INSZ),  # 30004 data error (logged with a pseudonym)
        client.geef_persoon(LEEFLOON),  # 40003, registration transient
        *client.geef_sociaal_statuut_voor_lijst([HOUSEHOLD, LEEFLOON, OTHER], ["BIM_BVT"], D).values(),
    ]
    errors: list[Exception] = []
    for call in (lambda: client.geef_persoon(OTHER), lambda: client.geef_persoon(TAX)):
        with pytest.raises((MagdaFault, MagdaConfigurationError)) as info:
            call()
        errors.append(info.value)
    texts = [r.getMessage() for r in caplog.records] + [str(e) for e in errors] + [repr(a) for a in answers]
    texts += [repr(a.value) for a in answers] + [repr(u) for a in answers for u in a.all_uitzonderingen]
    texts += [repr(g) for a in answers if isinstance(a.value, Persoon) for g in a.value.gezinsleden]
    texts += [repr(make_client(gebruiker=NEW_INSZ).config)]
    assert caplog.records, "the flows above must have logged something"
    leaks = [t for t in texts if ELEVEN_DIGITS.search(t)]
    assert not leaks, leaks
    assert any(pseudonym(NEW_INSZ) in r.getMessage() for r in caplog.records)
    # the consultation log, on the other hand, must name every subject asked about
    assert {HOUSEHOLD, BUSY, NEW_INSZ, LEEFLOON, OTHER, TAX} <= {c.subject for c in audit.consultations}


def test_a_question_is_one_consultation_row_with_its_final_outcome(server: ScriptedServer, make_client: MakeClient,
                                                                     audit: MemoryAuditSink) -> None:
    server.script = script
    client = make_client(max_attempts=3, hoedanigheden={"ivago-tegemoetkoming": "ipdc9"}, gebruiker=NEW_INSZ)
    t0 = dt.datetime.now(dt.UTC)
    answer = client.geef_persoon(BUSY, purpose="ivago-tegemoetkoming")
    assert answer.attempts == 3 and len(server.received) == 3
    [row] = audit.consultations
    assert isinstance(row, Consultation)
    assert (row.subject, row.outcome, row.code) == (BUSY, OutcomeClass.TRANSIENT, "99996")
    assert (row.afnemer, row.hoedanigheid, row.gebruiker, row.purpose) == (
        client.config.identificatie, "ipdc9", NEW_INSZ, "ivago-tegemoetkoming")
    assert (row.message_ref, row.question_ref) == (answer.message_ref, answer.question_ref)
    assert t0 <= row.requested_at and row.duration_ms is not None and row.duration_ms >= 0


def test_a_registration_for_many_persons_is_a_row_per_person(server: ScriptedServer, make_client: MakeClient,
                                                             audit: MemoryAuditSink) -> None:
    server.script = lambda rec: Reply(200, canned_for(rec))
    make_client().registreer_inschrijving([HOUSEHOLD, LEEFLOON, OTHER])
    assert [c.subject for c in audit.consultations] == [HOUSEHOLD, LEEFLOON, OTHER]
    assert len({(c.message_ref, c.question_ref) for c in audit.consultations}) == 1


def test_rows_are_recorded_before_a_loud_failure(server: ScriptedServer, make_client: MakeClient,
                                                 audit: MemoryAuditSink) -> None:
    server.script = script
    with pytest.raises(MagdaFault):
        make_client().geef_persoon(OTHER)
    assert [(c.subject, c.outcome) for c in audit.consultations] == [(OTHER, OutcomeClass.FAULT)]


class FailingSink:
    def record(self, consultations: object) -> None:
        raise RuntimeError("ledger down")


def test_a_failing_audit_sink_stops_the_work(server: ScriptedServer) -> None:
    """Consulting without being able to log it is not allowed: the error surfaces."""
    from proactief.magda.config import MagdaConfig

    server.script = script
    client = MagdaClient(MagdaConfig(base_url=server.url), FailingSink())  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="ledger down"):
        client.geef_persoon(HOUSEHOLD)
    client.close()

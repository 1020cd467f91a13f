"""The MAGDA client: one method per service, behaviour driven by the outcome class of each answer.

- TRANSIENT (HTTP 5xx, timeouts, connection errors, malformed XML, 99996 …): retried with exponential
  backoff and full jitter up to ``max_attempts``, then *returned* with outcome TRANSIENT: the advice engine
  makes the person undetermined. Never raised, never turned into "no data".
- NEEDS_INSCRIPTION (40003): with ``auto_register`` the person is registered in the repertorium under the
  same afnemer and Hoedanigheid, and the question is asked once more.
- CONFIGURATION_ERROR (13001, 40001 …, HTTP 4xx, TLS trust): :class:`MagdaConfigurationError` is raised.
- FAULT (SOAP Fault): :class:`MagdaFault` is raised, except where the fault is about one person's number.
- DATA_ERROR for one person's number: a number the service's XSD refuses (the KSZ ``SsinType`` takes no
  month 81-92, for instance) is not sent at all (audit code ``NOT_SENT``), and a SOAP Fault that shows MAGDA's
  schema refused only the subject's number becomes that question's data error (``XSD_SUBJ``), so one person
  never fails a chunk. The same fault for ``_SYSTEMIC_SUBJECT_FAULTS`` questions in a row with nothing
  answered in between is not the data: :class:`MagdaFault` is raised, as for any level-1 fault.

Every question goes to the :class:`~proactief.magda.audit.AuditSink` once, with its final outcome (one row
per subject; a list message gives a row per INSZ), before any exception is raised. Nothing here logs an
INSZ; a log line that must identify a person uses :func:`proactief.insz.pseudonym`.
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
import queue
import random
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from typing import Any, Literal, TypeVar, cast

import requests

from proactief.insz import InvalidINSZ, pseudonym, validate_insz
from proactief.magda import envelope as env
from proactief.magda.audit import NOT_SENT, SUBJECT_REFUSED, AuditSink, Consultation, OutcomeClass
from proactief.magda.config import MagdaConfig
from proactief.magda.envelope import Afzender, Request, validate_request
from proactief.magda.parse import MalformedAnswer, parse_response, parse_vehicle_registrations
from proactief.magda.results import (
    Aanslagbiljet,
    DossierHandicap,
    Gezinssamenstelling,
    HistoriekGezinssamenstelling,
    HistoriekPersoon,
    Leefloonbedragen,
    LEZGegevens,
    MagdaAnswer,
    MutatieNotificaties,
    Persoon,
    RegistratieResultaat,
    SociaalStatuutAntwoord,
    SociaalStatuutLijst,
    VehicleRegistration,
    VrijstellingAanvraag,
)
from proactief.magda.services import service
from proactief.magda.subject import subject_check
from proactief.magda.transport import (
    SOAP_HEADERS,
    HttpResult,
    MagdaConfigurationError,
    MagdaError,
    MagdaFault,
    Transport,
    TransportFailure,
)
from proactief.magda.uitzondering import Uitzondering, decide, scrub
from proactief.magda.wssec import BodySigner

__all__ = [
    "MagdaClient",
    "MagdaError",
    "MagdaConfigurationError",
    "MagdaFault",
    "InvalidINSZ",
    "REST_REGISTRATIONS",
    "Datum",
]

log = logging.getLogger("proactief.magda")

T = TypeVar("T")
Datum = dt.date | tuple[dt.date, dt.date | None]
"""A reference date, or a period ``(begin, end)`` (end None = open)."""

REST_REGISTRATIONS = "Mobiliteit.Registrations-REST-v1"
"""Audit name of the vehicle-registration REST lookup."""
_REGISTRATIONS_PATH = "/v1/mobility/registrations"

_OK = OutcomeClass.OK
_TRANSIENT = OutcomeClass.TRANSIENT
_NEEDS = OutcomeClass.NEEDS_INSCRIPTION
_CONFIG = OutcomeClass.CONFIGURATION_ERROR
_FAULT = OutcomeClass.FAULT
_DATA = OutcomeClass.DATA_ERROR
_DEFINITIVE = OutcomeClass.DEFINITIVE
_UTC = dt.UTC
_SYSTEMIC_SUBJECT_FAULTS = 10
"""Subject-number faults from one service in a row (nothing answered in between) that mean our requests or
MAGDA's schema changed, not the data: the next one is raised as a fault."""
_VALUE_REFUSED = ("pattern", "facet", "not valid", "not accepted", "ongeldig", "cvc-")


def _now() -> dt.datetime:
    return dt.datetime.now(_UTC)


class MagdaClient:
    """Ask MAGDA, record every consultation, and return typed answers classified per MAGDA.md.

    Thread-safe: one client (one connection pool) serves a whole worker; bulk helpers run up to
    ``max_concurrency`` calls in parallel. Use it as a context manager or call :meth:`close`.
    """

    def __init__(self, config: MagdaConfig, audit: AuditSink, *, session: requests.Session | None = None,
                 signer: BodySigner | None = None, validate_requests: bool | None = None,
                 sleep: Callable[[float], None] = time.sleep, rng: Callable[[], float] = random.random) -> None:
        self.config = config
        self.audit = audit
        self.transport = Transport(config, session)
        if signer is None and config.sign_body:
            assert config.signing_key is not None and config.signing_cert is not None  # validated by the config
            signer = BodySigner.from_files(config.signing_key, config.signing_cert)
        self.signer = signer
        self.validate_requests = config.validate_requests if validate_requests is None else validate_requests
        self._sleep = sleep
        self._rng = rng
        self._subject_faults: dict[str, int] = {}
        self._subject_faults_lock = threading.Lock()

    def close(self) -> None:
        self.transport.close()

    def with_audit(self, audit: AuditSink) -> MagdaClient:
        """This client (same configuration and connection pool) recording to another sink: the advice service
        tags each request's consultations with its caller without a pool per request. Close only the original."""
        view = copy.copy(self)
        view.audit = audit
        return view

    def __enter__(self) -> MagdaClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ================================================================================= person services

    def geef_persoon(self, insz: str, *, purpose: str | None = None, gebruiker: str | None = None,
                     bron: str = "RR") -> MagdaAnswer[Persoon]:
        """GeefPersoon-02.02: residence, birth/death, household of one person (``bron`` RR or KSZ)."""
        return self._person(insz, purpose, gebruiker, lambda a, i: env.geef_persoon(a, i, bron=bron))

    def geef_gezinssamenstelling(self, insz: str, *, purpose: str | None = None,
                                 gebruiker: str | None = None) -> MagdaAnswer[Gezinssamenstelling]:
        """GeefGezinssamenstelling-02.02: the members of the person's household."""
        return self._person(insz, purpose, gebruiker, lambda a, i: env.geef_gezinssamenstelling(a, i))

    def geef_historiek_persoon(self, insz: str, vanaf: dt.date | None = None, *, purpose: str | None = None,
                               gebruiker: str | None = None) -> MagdaAnswer[HistoriekPersoon]:
        """GeefHistoriekPersoon-02.02: the person's main residences (with periods), birth and death since
        ``vanaf`` (default: the whole history), for deciding on a date before the register's own."""
        return self._person(insz, purpose, gebruiker, lambda a, i: env.geef_historiek_persoon(a, i, vanaf))

    def geef_historiek_gezinssamenstelling(self, insz: str, vanaf: dt.date | None = None, *,
                                           purpose: str | None = None, gebruiker: str | None = None,
                                           ) -> MagdaAnswer[HistoriekGezinssamenstelling]:
        """GeefHistoriekGezinssamenstelling-02.02: every household the person was part of since ``vanaf``, with
        each member's position and membership period."""
        return self._person(insz, purpose, gebruiker,
                            lambda a, i: env.geef_historiek_gezinssamenstelling(a, i, vanaf))

    def geef_sociaal_statuut(self, insz: str, statuten: Sequence[str], datum: Datum, *,
                             purpose: str | None = None,
                             gebruiker: str | None = None) -> MagdaAnswer[SociaalStatuutAntwoord]:
        """GeefSociaalStatuut-03.00: whether the named statutes (at most 8) hold on ``datum``."""
        statuten = tuple(statuten)
        return self._person(insz, purpose, gebruiker, lambda a, i: env.geef_sociaal_statuut(a, i, statuten, datum))

    def geef_dossier_handicap(self, insz: str, datum: dt.date | None = None, *, purpose: str | None = None,
                              gebruiker: str | None = None, sources: Sequence[str] = ("DGPH",),
                              parts: Sequence[str] = ("handicapRecognitions", "socialCards"),
                              ) -> MagdaAnswer[DossierHandicap]:
        """GeefDossierHandicap-03.00 on ``datum`` (default today): recognitions and social cards."""
        ref = datum or dt.date.today()
        return self._person(insz, purpose, gebruiker,
                            lambda a, i: env.geef_dossier_handicap(a, i, ref, sources=sources, parts=parts))

    def geef_aanslagbiljet(self, insz: str, inkomensjaar: int, *, ipcal_codes: Sequence[str] | None = None,
                           purpose: str | None = None, gebruiker: str | None = None) -> MagdaAnswer[Aanslagbiljet]:
        """GeefAanslagbiljetPersonenbelasting-02.00 for one income year (45008: that year does not exist yet)."""
        return self._person(insz, purpose, gebruiker,
                            lambda a, i: env.geef_aanslagbiljet(a, i, inkomensjaar, ipcal_codes=ipcal_codes))

    def geef_leefloonbedragen(self, insz: str, jaar: int, *, aantal_jaar_terug: int | None = None,
                              huidig: bool | None = None, purpose: str | None = None,
                              gebruiker: str | None = None) -> MagdaAnswer[Leefloonbedragen]:
        """GeefLeefloonbedragen-02.00: which leefloon payments were made in ``jaar`` (and years before)."""
        return self._person(insz, purpose, gebruiker, lambda a, i: env.geef_leefloonbedragen(
            a, i, jaar, huidig=huidig, aantal_jaar_terug=aantal_jaar_terug))

    # ================================================================================= list service

    def geef_sociaal_statuut_voor_lijst(self, insz_list: Sequence[str], statuten: Sequence[str], datum: Datum, *,
                                        purpose: str | None = None,
                                        invalid: Literal["raise", "report"] = "raise",
                                        ) -> dict[str, MagdaAnswer[SociaalStatuutAntwoord]]:
        """GeefSociaalStatuutVoorLijst-02.00: one question for many persons, one answer per INSZ.

        Transient refusals (of the message or of single persons) are asked again for those persons only;
        40003 persons are registered (one repertorium message) and asked again. ``invalid="report"`` turns
        an INSZ that fails the checksum into a DATA_ERROR answer instead of raising (nothing is sent for it).
        """
        statuten = tuple(statuten)
        key = "SocZek.GeefSociaalStatuutVoorLijst-02.00"
        check = subject_check(service(key))
        results: dict[str, MagdaAnswer[SociaalStatuutAntwoord]] = {}
        pending: list[str] = []
        refused: list[str] = []
        for i in dict.fromkeys(insz_list):
            try:
                pending.append(validate_insz(i))
            except InvalidINSZ:
                if invalid == "raise":
                    raise
                results[i] = MagdaAnswer(key, _DATA, subject=i, attempts=0,
                                         detail="INSZ fails the modulo-97 check; not sent")
                continue
            if check is not None and not check.accepts(i):
                if invalid == "raise":
                    raise InvalidINSZ(f"INSZ not accepted by the {key} XSD ({check.element})")
                pending.pop()
                refused.append(i)
        if refused:
            results.update(self._not_sent(env.geef_sociaal_statuut_voor_lijst(refused, statuten, datum), purpose,
                                          None, _now()))
        registered: set[str] = set()
        attempt = 0
        while pending:
            attempt += 1
            answers, started, duration = self._list_once(pending, statuten, datum, purpose, attempt)
            retry: list[str] = []
            needs: list[str] = []
            done: list[MagdaAnswer[SociaalStatuutAntwoord]] = []
            for i, a in answers.items():
                if a.outcome is _TRANSIENT and attempt < self.config.max_attempts:
                    retry.append(i)  # asked again below; audited once it has its final answer
                    continue
                done.append(a)
                if a.outcome is _NEEDS and self.config.auto_register and i not in registered:
                    needs.append(i)
                else:
                    results[i] = a
            self._record_list(done, purpose, started, duration)
            if retry:
                self._pause(attempt, "SocZek.GeefSociaalStatuutVoorLijst-02.00", f"{len(retry)} of {len(answers)}")
            if needs:  # registered persons are asked once more, even after the last transient attempt
                registered.update(needs)
                reg = self.registreer_inschrijving(needs, purpose=purpose)
                if reg.outcome is _OK:
                    retry.extend(needs)
                else:
                    results.update((i, _blocked_by(answers[i], reg)) for i in needs)
            pending = retry
        return {i: results[i] for i in dict.fromkeys(insz_list) if i in results}

    def sociaal_statuut_many(self, insz: Iterable[str], statuten: Sequence[str], datum: Datum, *,
                             chunk_size: int = 500, purpose: str | None = None,
                             invalid: Literal["raise", "report"] = "report",
                             ) -> Iterator[tuple[str, MagdaAnswer[SociaalStatuutAntwoord]]]:
        """Whole-population statutes: the list service in chunks, up to ``max_concurrency`` chunks at once.

        Yields ``(insz, answer)`` as chunks complete (not in input order). Consumes ``insz`` lazily.
        """
        if chunk_size < 1:
            raise ValueError("chunk_size must be >= 1")

        def chunks() -> Iterator[list[str]]:
            buf: list[str] = []
            for i in insz:
                buf.append(i)
                if len(buf) >= chunk_size:
                    yield buf
                    buf = []
            if buf:
                yield buf

        def one(chunk: list[str]) -> list[tuple[str, MagdaAnswer[SociaalStatuutAntwoord]]]:
            return list(self.geef_sociaal_statuut_voor_lijst(chunk, statuten, datum, purpose=purpose,
                                                             invalid=invalid).items())

        for batch in self._parallel(chunks(), one):
            yield from batch

    def for_each(self, insz: Iterable[str], call: Callable[[str], MagdaAnswer[T]],
                 ) -> Iterator[tuple[str, MagdaAnswer[T]]]:
        """Run a single-person call (``lambda i: client.geef_persoon(i, purpose=...)``) for many persons in
        parallel within ``max_concurrency``; yields ``(insz, answer)`` as they complete."""
        yield from self._parallel(iter(insz), lambda i: (i, call(i)))

    # ================================================================================= repertorium

    def registreer_inschrijving(self, insz: str | Sequence[str], *, begin: dt.date | None = None,
                                einde: dt.date | None = None, purpose: str | None = None,
                                gebruiker: str | None = None) -> MagdaAnswer[RegistratieResultaat]:
        """Repertorium.RegistreerInschrijving-02.01 for one or more persons (subject type PERS), from ``begin``
        (default today), under the afnemer and the purpose's Hoedanigheid. 40143 (exists already) is OK."""
        subjects = self._subjects(insz)
        afz = self._afzender(purpose, gebruiker)
        start = begin or dt.date.today()
        return cast(MagdaAnswer[RegistratieResultaat], self._ask(
            lambda: env.registreer_inschrijving(afz, subjects, start, einde), purpose, afz))

    def registreer_uitschrijving(self, insz: str | Sequence[str], *, begin: dt.date | None = None,
                                 einde: dt.date | None = None, purpose: str | None = None,
                                 gebruiker: str | None = None) -> MagdaAnswer[RegistratieResultaat]:
        """Repertorium.RegistreerUitschrijving-02.01: stop following one or more persons."""
        subjects = self._subjects(insz)
        afz = self._afzender(purpose, gebruiker)
        return cast(MagdaAnswer[RegistratieResultaat], self._ask(
            lambda: env.registreer_uitschrijving(afz, subjects, begin, einde), purpose, afz))

    def geef_persoon_mutaties(self, ontvangstreferte: str | None = None, *,
                              purpose: str | None = None) -> MagdaAnswer[MutatieNotificaties]:
        """Persoon.GeefPersoonMutatiesNotificaties-02.00: the next batch of changed persons.

        Pass the previous batch's ``ontvangstreferte`` to acknowledge it. Nothing pending (30016) comes back
        DEFINITIVE with an empty :class:`MutatieNotificaties`; an invalid receipt (30014) as DATA_ERROR.
        """
        afz = self._afzender(purpose, None)
        ans = self._ask(lambda: env.geef_persoon_mutaties(afz, ontvangstreferte), purpose, afz)
        if ans.outcome is _DEFINITIVE and ans.value is None:
            ans = replace(ans, value=MutatieNotificaties())
        return cast(MagdaAnswer[MutatieNotificaties], ans)

    # ================================================================================= LEZ

    def registreer_lez(self, nummerplaat: str, vrijstellingen: Sequence[VrijstellingAanvraag], *,
                       land: str = "BE", purpose: str | None = None) -> MagdaAnswer[RegistratieResultaat]:
        """Milieu.RegistreerLEZGegevens-02.00: register exemptions for a plate under ``lez_bron``."""
        afz = self._afzender(purpose, None)
        vrij = tuple(vrijstellingen)
        return cast(MagdaAnswer[RegistratieResultaat], self._ask(
            lambda: env.registreer_lez(afz, nummerplaat, vrij, bron=self.config.lez_bron, land=land), purpose, afz))

    def geef_lez_gegevens(self, nummerplaat: str, *, land: str = "BE",
                          purpose: str | None = None) -> MagdaAnswer[LEZGegevens]:
        """Milieu.GeefLEZGegevens-02.00: what is registered for a plate (30001: nothing)."""
        afz = self._afzender(purpose, None)
        return cast(MagdaAnswer[LEZGegevens], self._ask(
            lambda: env.geef_lez_gegevens(afz, nummerplaat, bron=self.config.lez_bron, land=land), purpose, afz))

    def verwijder_lez(self, nummerplaat: str, *, referten: Sequence[str] = (), land: str = "BE",
                      purpose: str | None = None) -> MagdaAnswer[RegistratieResultaat]:
        """Milieu.VerwijderLEZGegevens-02.00: remove exemptions by ``Referte`` (none: all of ``lez_bron``)."""
        afz = self._afzender(purpose, None)
        refs = tuple(referten)
        return cast(MagdaAnswer[RegistratieResultaat], self._ask(
            lambda: env.verwijder_lez(afz, nummerplaat, bron=self.config.lez_bron, referten=refs, land=land),
            purpose, afz))

    # ================================================================================= REST

    def vehicle_registrations(self, plate_nr: str | None = None, national_nr: str | None = None, *,
                              purpose: str | None = None) -> MagdaAnswer[tuple[VehicleRegistration, ...]]:
        """Vehicle registrations by plate or by the titular's national number (Mobility REST).

        None found (HTTP 204 or no items) is DEFINITIVE with an empty tuple.
        """
        if (plate_nr is None) == (national_nr is None):
            raise ValueError("give exactly one of plate_nr and national_nr")
        if national_nr is not None:
            validate_insz(national_nr)
        params = {"plateNr": plate_nr} if plate_nr is not None else {"nationalNr": cast(str, national_nr)}
        url = self.config.rest_root + _REGISTRATIONS_PATH
        hoedanigheid = self.config.hoedanigheid_for(purpose)
        started, t0 = _now(), time.perf_counter()
        for attempt in range(1, self.config.max_attempts + 1):
            ref = env.new_referte()
            try:
                ans = self._interpret_rest(self.transport.get(url, params))
            except TransportFailure as exc:
                ans = MagdaAnswer(REST_REGISTRATIONS, _TRANSIENT, detail=exc.detail)
            except MagdaConfigurationError as exc:
                ans = MagdaAnswer(REST_REGISTRATIONS, _CONFIG, detail=str(exc))
            ans = replace(ans, message_ref=ref, question_ref=ref, subject=national_nr, attempts=attempt)
            if ans.outcome is not _TRANSIENT or attempt == self.config.max_attempts:
                self.audit.record([Consultation(ref, ref, REST_REGISTRATIONS, self.config.identificatie, hoedanigheid,
                                                national_nr, started, ans.outcome, None, ans.code, purpose,
                                                int((time.perf_counter() - t0) * 1000))])
                self._raise_if_fatal(ans)
                return ans
            self._pause(attempt, REST_REGISTRATIONS, ans.detail)
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _interpret_rest(http: HttpResult) -> MagdaAnswer[tuple[VehicleRegistration, ...]]:
        if http.status == 204:
            return MagdaAnswer(REST_REGISTRATIONS, _DEFINITIVE, ())
        if http.status == 200:
            try:
                found = parse_vehicle_registrations(http.body)
            except MalformedAnswer as exc:
                return MagdaAnswer(REST_REGISTRATIONS, _TRANSIENT, detail=str(exc))
            return MagdaAnswer(REST_REGISTRATIONS, _OK if found else _DEFINITIVE, found)
        if http.status >= 500 or http.status in (408, 429):
            return MagdaAnswer(REST_REGISTRATIONS, _TRANSIENT, detail=f"HTTP {http.status}")
        return MagdaAnswer(REST_REGISTRATIONS, _CONFIG, detail=f"HTTP {http.status} from the registrations API")

    # ================================================================================= internals

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after failed attempt ``attempt`` (1-based): full jitter over an exponential cap."""
        ceiling = min(self.config.backoff_cap, self.config.backoff_base * (2 ** (attempt - 1)))
        return self._rng() * ceiling

    def _pause(self, attempt: int, service: str, why: str | None) -> None:
        delay = self.backoff(attempt)
        log.warning("MAGDA %s: transient failure on attempt %d/%d (%s); retrying in %.2fs", service, attempt,
                    self.config.max_attempts, why or "transient", delay)
        if delay > 0:
            self._sleep(delay)

    def _afzender(self, purpose: str | None, gebruiker: str | None) -> Afzender:
        if gebruiker is not None:
            validate_insz(gebruiker)
        return Afzender(self.config.identificatie, self.config.hoedanigheid_for(purpose),
                        gebruiker if gebruiker is not None else self.config.gebruiker)

    @staticmethod
    def _subjects(insz: str | Sequence[str]) -> tuple[str, ...]:
        items = (insz,) if isinstance(insz, str) else tuple(insz)
        if not items:
            raise ValueError("at least one INSZ")
        return tuple(validate_insz(i) for i in items)

    def _person(self, insz: str, purpose: str | None, gebruiker: str | None,
                build: Callable[[Afzender, str], Request]) -> MagdaAnswer[Any]:
        """A single-person question, with the 40003 -> register -> ask again path."""
        insz = validate_insz(insz)
        afz = self._afzender(purpose, gebruiker)
        ans = self._ask(lambda: build(afz, insz), purpose, afz)
        if ans.outcome is _NEEDS and self.config.auto_register:
            reg = self.registreer_inschrijving(insz, purpose=purpose, gebruiker=gebruiker)
            if reg.outcome is _OK:
                again = self._ask(lambda: build(afz, insz), purpose, afz)
                return replace(again, attempts=ans.attempts + again.attempts)
            log.info("MAGDA %s: repertorium registration for %s came back %s; question not asked again",
                     ans.service, pseudonym(insz), reg.outcome.value)
            return _blocked_by(ans, reg)
        return ans

    def _ask(self, build: Callable[[], Request], purpose: str | None, afz: Afzender | None,
             headers: dict[str, str] | None = None) -> MagdaAnswer[Any]:
        """Send one question, retrying transient outcomes; audit it once with its final outcome (before raising
        on a fault or configuration error). Every attempt is a new message with its own Referte; the row
        carries the references of the attempt whose answer counts, the start of the first attempt and the
        time until the final answer."""
        max_attempts = self.config.max_attempts
        attempt = 0
        started, t0 = _now(), time.perf_counter()
        while True:
            attempt += 1
            req = build()
            if attempt == 1 and self._refused_subjects(req):
                return self._not_sent(req, purpose, afz, started)[req.subjects[0]] if len(req.subjects) == 1 \
                    else self._not_sent_message(req, purpose, afz, started)
            ans = self._subject_fault_as_data_error(req, self._exchange(req, headers))
            ans = replace(ans, message_ref=req.message_ref, question_ref=req.question_ref,
                          subject=req.subjects[0] if len(req.subjects) == 1 else None, attempts=attempt)
            final = ans.outcome is not _TRANSIENT or attempt >= max_attempts
            if final:
                duration = int((time.perf_counter() - t0) * 1000)
                self._record(req.message_ref, req.question_ref, req.spec.key,
                             [(s, ans.outcome, ans.code) for s in req.subjects] or [(None, ans.outcome, ans.code)],
                             purpose, afz, started, duration)
                self._raise_if_fatal(ans)
                if ans.outcome is _DATA and req.subjects:
                    log.info("MAGDA %s: data error %s for %s", req.spec.key, ans.code or ans.detail,
                             pseudonym(req.subjects[0]))
                elif ans.outcome is _TRANSIENT:
                    log.warning("MAGDA %s: still transient after %d attempts (%s): undetermined", req.spec.key,
                                attempt, ans.code or ans.detail)
                return ans
            self._pause(attempt, req.spec.key, ans.code or ans.detail)

    @staticmethod
    def _refused_subjects(req: Request) -> list[str]:
        """The subjects of ``req`` whose number the service's request XSD refuses (checked without sending)."""
        if not req.subjects:
            return []
        check = subject_check(req.spec)
        return [] if check is None else [s for s in req.subjects if not check.accepts(s)]

    def _not_sent(self, req: Request, purpose: str | None, afz: Afzender | None,
                  started: dt.datetime) -> dict[str, MagdaAnswer[Any]]:
        """Each subject of a question not sent because the XSD refuses a number: a DATA_ERROR answer, and an
        audit row (code ``NOT_SENT``, duration 0) under the references the message would have had."""
        refused = set(self._refused_subjects(req))
        self._record(req.message_ref, req.question_ref, req.spec.key,
                     [(s, _DATA, NOT_SENT) for s in req.subjects], purpose, afz, started, 0)
        out: dict[str, MagdaAnswer[Any]] = {}
        for s in req.subjects:
            why = "refused by" if s in refused else "sent together with a number refused by"
            out[s] = MagdaAnswer(req.spec.key, _DATA, code=NOT_SENT, message_ref=req.message_ref,
                                 question_ref=req.question_ref, subject=s, attempts=0,
                                 detail=f"INSZ {why} the {req.spec.name} XSD ({req.spec.subject_tag}); not sent")
            log.info("MAGDA %s: data error %s for %s (number refused by the service's XSD)", req.spec.key,
                     NOT_SENT, pseudonym(s))
        return out

    def _not_sent_message(self, req: Request, purpose: str | None, afz: Afzender | None,
                          started: dt.datetime) -> MagdaAnswer[Any]:
        """A several-subject message (repertorium) with a refused number: one DATA_ERROR answer for it."""
        one = next(iter(self._not_sent(req, purpose, afz, started).values()))
        return replace(one, subject=None, detail=f"a number refused by the {req.spec.name} XSD; not sent")

    def _subject_fault_as_data_error(self, req: Request, ans: MagdaAnswer[Any]) -> MagdaAnswer[Any]:
        """A SOAP Fault that shows MAGDA's schema refused only this question's subject number (the fault text
        names the subject element and carries that very number) is the person's data error, not a bug; the
        same for ``_SYSTEMIC_SUBJECT_FAULTS`` questions in a row stays a fault (raised by the caller)."""
        key = req.spec.key
        if ans.outcome is not _FAULT:
            if ans.outcome is not _TRANSIENT and self._subject_faults.get(key):
                with self._subject_faults_lock:
                    self._subject_faults[key] = 0
            return ans
        if not _fault_is_about_subject(req, ans):
            return ans
        with self._subject_faults_lock:
            in_a_row = self._subject_faults.get(key, 0) + 1
            self._subject_faults[key] = in_a_row
        if in_a_row > _SYSTEMIC_SUBJECT_FAULTS:
            log.error("MAGDA %s: the schema refused the subject number of %d questions in a row: not the data",
                      key, in_a_row)
            return ans
        return replace(ans, outcome=_DATA, code=SUBJECT_REFUSED,
                       detail=f"MAGDA's {req.spec.name} schema refused the subject number (SOAP Fault)")

    def _exchange(self, req: Request, headers: dict[str, str] | None = None) -> MagdaAnswer[Any]:
        """One HTTP exchange, its answer classified; transport problems become TRANSIENT/CONFIGURATION answers."""
        if self.validate_requests:
            validate_request(req)
        url = self.config.url_for(req.spec)
        try:
            http = self.transport.post(url, req.to_bytes(self.signer), headers or SOAP_HEADERS)
        except TransportFailure as exc:
            return MagdaAnswer(req.spec.key, _TRANSIENT, detail=exc.detail)
        except MagdaConfigurationError as exc:
            return MagdaAnswer(req.spec.key, _CONFIG, detail=str(exc))
        return self._interpret(req, http)

    @staticmethod
    def _interpret(req: Request, http: HttpResult) -> MagdaAnswer[Any]:
        status = http.status
        key = req.spec.key
        if status == 200 or (status >= 500 and http.body[:200].lstrip()[:1] == b"<"):
            try:
                ans = parse_response(req.spec, http.body)
            except MalformedAnswer as exc:
                return MagdaAnswer(key, _TRANSIENT, detail=f"HTTP {status}" if status >= 500 else str(exc))
            if ans.outcome is _FAULT:
                return ans
            if ans.question_ref is not None and ans.question_ref != req.question_ref:
                # An answer to another question (maybe about another person): never use it.
                return MagdaAnswer(key, _TRANSIENT, detail="answer does not echo the question's Referte")
            return ans
        if status >= 500 or status in (408, 429):
            return MagdaAnswer(key, _TRANSIENT, detail=f"HTTP {status}")
        return MagdaAnswer(key, _CONFIG, detail=f"HTTP {status} from {req.spec.key} endpoint")

    def _record(self, message_ref: str, question_ref: str, service: str,
                rows: Sequence[tuple[str | None, OutcomeClass, str | None]], purpose: str | None,
                afz: Afzender | None, started: dt.datetime, duration_ms: int) -> None:
        """One consultation row per subject of a question."""
        afnemer = afz.identificatie if afz is not None else self.config.identificatie
        hoedanigheid = afz.hoedanigheid if afz is not None else self.config.hoedanigheid_for(purpose)
        gebruiker = afz.gebruiker if afz is not None else None
        self.audit.record([
            Consultation(message_ref, question_ref, service, afnemer, hoedanigheid, subject, started, outcome,
                         gebruiker, code, purpose, duration_ms)
            for subject, outcome, code in rows
        ])

    @staticmethod
    def _raise_if_fatal(ans: MagdaAnswer[Any]) -> None:
        if ans.outcome is _FAULT:
            f = ans.fault
            raise MagdaFault(ans.service, scrub(f.faultcode) if f else "", scrub(f.faultstring) if f else "", ans)
        if ans.outcome is _CONFIG:
            u = _find(ans.all_uitzonderingen, ans.code)
            if u is not None:
                msg = (f"{ans.service}: MAGDA refused the question: {u.identificatie} ({u.oorsprong}) "
                       f"{scrub(u.diagnose)}")
            else:
                msg = f"{ans.service}: {ans.detail or 'configuration error'}"
            raise MagdaConfigurationError(msg, ans)

    # ---------------------------------------------------------------------------------- list internals

    def _list_once(self, insz: Sequence[str], statuten: tuple[str, ...], datum: Datum, purpose: str | None,
                   attempt: int) -> tuple[dict[str, MagdaAnswer[SociaalStatuutAntwoord]], dt.datetime, int]:
        """One list message for ``insz``, split into one answer per person (with when and how long it took)."""
        req = env.geef_sociaal_statuut_voor_lijst(insz, statuten, datum, operatie=self.config.list_operation)
        # The list Verzoek has no Context: the simulator learns the afnemer from this header (MAGDA from mTLS).
        headers = {**SOAP_HEADERS, "X-Magda-Afnemer": self.config.identificatie}
        started, t0 = _now(), time.perf_counter()
        ans = self._exchange(req, headers)
        duration = int((time.perf_counter() - t0) * 1000)
        split = self._split_list(ans, req, attempt)
        fatal = [a for a in split.values() if a.outcome in (_FAULT, _CONFIG)]
        if fatal or ans.outcome in (_FAULT, _CONFIG):
            self._record_list(list(split.values()), purpose, started, duration)
            self._raise_if_fatal(ans)
            for a in fatal:
                self._raise_if_fatal(a)
        return split, started, duration

    def _record_list(self, answers: Sequence[MagdaAnswer[Any]], purpose: str | None, started: dt.datetime,
                     duration_ms: int) -> None:
        if answers:
            first = answers[0]
            self._record(cast(str, first.message_ref), cast(str, first.question_ref), first.service,
                         [(a.subject, a.outcome, a.code) for a in answers], purpose, None, started, duration_ms)

    @staticmethod
    def _split_list(ans: MagdaAnswer[Any], req: Request,
                    attempt: int) -> dict[str, MagdaAnswer[SociaalStatuutAntwoord]]:
        """One answer per INSZ of a list message: level 2 applies to all, level 3 by the INSZ it annotates."""
        key = req.spec.key
        common = {"message_ref": req.message_ref, "question_ref": req.question_ref, "attempts": attempt}
        if ans.outcome in (_FAULT, _TRANSIENT) or (ans.value is None and not ans.uitzonderingen):
            # Transport problem, fault, or a message-level refusal: the same for every person of the message.
            return {i: replace(ans, subject=i, **common) for i in req.subjects}
        lijst = ans.value if isinstance(ans.value, SociaalStatuutLijst) else SociaalStatuutLijst()
        per: dict[str, list[Uitzondering]] = {}
        general: list[Uitzondering] = []
        for u in ans.uitzonderingen:
            who = u.annotatie("INSZ")
            if who is None:
                general.append(u)
            else:
                per.setdefault(who, []).append(u)
        out: dict[str, MagdaAnswer[SociaalStatuutAntwoord]] = {}
        for i in req.subjects:
            value = lijst.personen.get(i)
            own = tuple(general) + tuple(per.get(i, ()))
            if value is None and not own and not ans.uitzonderingen_bericht:
                out[i] = MagdaAnswer(key, _TRANSIENT, None, (), (), None, subject=i,
                                     detail="person missing from the list answer", **common)
                continue
            outcome, deciding = decide(ans.uitzonderingen_bericht + own, has_content=value is not None)
            out[i] = MagdaAnswer(key, outcome, value, ans.uitzonderingen_bericht, own,
                                 deciding.identificatie if deciding else None, subject=i, **common)
        return out

    def _parallel(self, items: Iterator[Any], fn: Callable[[Any], T]) -> Iterator[T]:
        """Apply ``fn`` to ``items`` on ``max_concurrency`` threads; yield results as they come.

        Workers pull from the shared iterator and hand results over through a bounded queue (no future
        per item: at 1,000+ calls/s that bookkeeping is a visible share of the CPU). The first exception
        stops the workers and is re-raised here; abandoning the generator stops them too.
        """
        workers = self.config.max_concurrency
        lock = threading.Lock()
        stop = threading.Event()
        results: queue.Queue[tuple[int, Any]] = queue.Queue(maxsize=4 * workers)

        def put(kind: int, value: Any) -> None:
            while kind != _RESULT or not stop.is_set():  # results may be dropped once stopped, never errors
                try:
                    results.put((kind, value), timeout=0.1)
                    return
                except queue.Full:
                    continue

        def work() -> None:
            batch: list[T] = []  # handed over in batches: one consumer wake-up per batch, not per call
            try:
                while not stop.is_set():
                    with lock:
                        try:
                            item = next(items)
                        except StopIteration:
                            return
                    try:
                        batch.append(fn(item))
                    except BaseException as exc:  # handed to the consumer, which re-raises it
                        stop.set()
                        put(_ERROR, exc)
                        return
                    if len(batch) >= _BATCH:
                        put(_RESULT, batch)
                        batch = []
            finally:
                if batch:
                    put(_RESULT, batch)
                put(_DONE, None)

        threads = [threading.Thread(target=work, name=f"magda-{n}", daemon=True) for n in range(workers)]
        for t in threads:
            t.start()
        finished = 0
        try:
            while finished < workers:
                try:
                    kind, value = results.get(timeout=1.0)
                except queue.Empty:
                    if not any(t.is_alive() for t in threads):  # never without a _DONE each; say so, never hang
                        raise RuntimeError("MAGDA worker threads ended without handing over their results") from None
                    continue
                if kind == _DONE:
                    finished += 1
                elif kind == _ERROR:
                    raise value
                else:
                    yield from value
        finally:
            stop.set()
            # Unblock workers waiting on a full queue and let them finish their call; a worker still stuck after
            # _ABANDON seconds is left behind (a daemon thread) rather than holding the task for ever.
            abandon = time.monotonic() + _ABANDON
            while finished < workers and time.monotonic() < abandon:
                try:
                    kind, _ = results.get(timeout=0.1)
                    if kind == _DONE:
                        finished += 1
                except queue.Empty:
                    if not any(t.is_alive() for t in threads):
                        break
            for t in threads:
                t.join(timeout=max(0.0, min(1.0, abandon - time.monotonic())))


_RESULT, _ERROR, _DONE = 0, 1, 2
_BATCH = 16
_ABANDON = 60.0
"""Seconds :meth:`MagdaClient._parallel` waits, after the first error, for workers to end their current call."""


def _blocked_by(ans: MagdaAnswer[T], registration: MagdaAnswer[Any]) -> MagdaAnswer[T]:
    """A 40003 answer whose repertorium registration did not succeed takes the registration's outcome: a
    transiently refused registration leaves the person undetermined (TRANSIENT), a refused one a DATA_ERROR."""
    if registration.outcome in (_OK, _NEEDS):
        return ans
    return replace(ans, outcome=registration.outcome, code=registration.code or ans.code,
                   detail=f"repertorium registration: {registration.outcome.value}")


def _fault_is_about_subject(req: Request, ans: MagdaAnswer[Any]) -> bool:
    """Whether a level-1 fault is the platform's schema refusing the one subject's number of ``req``: the
    fault text names the subject element, carries the number and says a value was refused. A fault about
    anything else (signature, envelope, another element) or about a several-subject message is not."""
    fault = ans.fault
    tag = req.spec.subject_tag
    if fault is None or len(req.subjects) != 1 or not tag:
        return False
    check = subject_check(req.spec)
    names = {tag, *(name for _, name in (check.types if check is not None else ()))}  # Xerces names the type
    text = fault.faultstring
    lowered = text.lower()
    return (req.subjects[0] in text and any(re.search(rf"\b{re.escape(n)}\b", text) for n in names)
            and any(word in lowered for word in _VALUE_REFUSED))


def _find(items: Iterable[Uitzondering], code: str | None) -> Uitzondering | None:
    for u in items:
        if u.identificatie == code:
            return u
    return None

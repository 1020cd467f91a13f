"""The simulator's brain: one SOAP request in, one MAGDA-like answer out (no I/O here; see ``app``).

Order of work per call, as the platform does it:
parse -> which service (``Context/Naam`` + ``Versie``; the context-less list service by its root element)
-> endpoint matches -> request XSD -> injected fault -> afnemer allowed (13001) -> subject INSZ valid (20002)
-> registered in the repertorium (40003) -> answer (extra canned case, population store, shipped canned
case, ``notfound.xml``, ``success.xml``), wrapped in a SOAP 1.1 envelope with the Context patched.

Where the data comes from, per subject: a case named after the key in an extra ``--testcases`` folder wins
(tests use it to force an answer), then the population store, then the shipped canned case of that key,
then the folder's ``notfound.xml`` / ``success.xml``.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from lxml import etree

from proactief.insz import is_valid_insz
from proactief.magda.reference import SchemaError, schema_for, testcases_root
from proactief.magda.services import MOCK_SINGLE_ENDPOINT, SERVICES, ServiceSpec, service_by_path, service_by_wire_name
from proactief_sim.simulator import history, render
from proactief_sim.simulator.canned import CannedAnswer, CannedRepository
from proactief_sim.simulator.config import SimulatorConfig
from proactief_sim.simulator.faults import FaultInjector
from proactief_sim.simulator.population import InMemoryPopulationStore, Person, PopulationStore
from proactief_sim.simulator.state import Inschrijving, LezEntry, LezRegister, MutationQueues, Repertorium
from proactief_sim.simulator.statutes import StatuteFact, facts_from_store, queries_from, render_v2, render_v3
from proactief_sim.simulator.timeline import as_of, statutes_as_of
from proactief_sim.simulator.wire import (
    REQUEST_PARSER,
    SOAP_NS,
    U_ALREADY_REGISTERED,
    U_BAD_INSZ,
    U_BAD_RECEIPT,
    U_BUSY,
    U_NO_ACCESS,
    U_NO_DATA,
    U_NO_SOURCE_ANSWER,
    U_NOT_REGISTERED,
    U_NOTHING_PENDING,
    Caller,
    Uitzondering,
    context_xml,
    envelope,
    esc,
    now_parts,
    plain_xml,
    response_xml,
    soap_fault,
    uitzonderingen,
)

__all__ = ["Simulator", "Outcome", "PERSON_SERVICES", "MUTATION_TYPES"]

log = logging.getLogger("proactief_sim.simulator")

PERSON_SERVICES = frozenset({
    "Persoon.GeefPersoon-02.02",
    "Persoon.GeefGezinssamenstelling-02.02",
    "Persoon.GeefHistoriekPersoon-02.02",
    "Persoon.GeefHistoriekGezinssamenstelling-02.02",
    "SocZek.GeefSociaalStatuut-03.00",
    "SocZek.GeefSociaalStatuutVoorLijst-02.00",
    "SocZek.GeefDossierHandicap-03.00",
    "SocZek.GeefLeefloonbedragen-02.00",
    "Inkomen.GeefAanslagbiljetPersonenbelasting-02.00",
})
"""Services that answer 40003 until the afnemer registered the person in the repertorium."""

MUTATION_TYPES = ("WIJZIGING", "CREATIE", "CORRECTIE", "SCHRAPPING")
"""The kinds of change a queued notification may carry (``TypeMutatie/Code``; the XSD leaves it free text, the
simulator keeps to these): a change, a new person, a correction, a removal from the register."""
_SIGNATURE_MISSING = "Het bericht is niet ondertekend: de WS-Security-handtekening ontbreekt"
_SIGNATURE_INVALID = "De WS-Security-handtekening van het bericht is ongeldig"

_ENVELOPE = f"{{{SOAP_NS}}}Envelope"
_BODY = f"{{{SOAP_NS}}}Body"
_XML = "text/xml; charset=UTF-8"
_LEVEL3_FAULTS = {"60006": U_NO_SOURCE_ANSWER, "20002": U_BAD_INSZ}
"""Injected faults answered per question (level 3); 99996 refuses the whole message (level 2)."""
_VIEW_CACHE = 50_000
"""At most this many persons-as-of-the-clock are kept (then the cache starts over)."""
_HTML_500 = (b"<html><head><title>500 Internal Server Error</title></head>"
             b"<body><h1>Internal Server Error</h1></body></html>")


@dataclass(slots=True)
class Outcome:
    """What to send back: status, body, content type, how long to wait first, and how to damage it."""

    status: int
    body: bytes
    content_type: str = _XML
    delay: float = 0.0
    truncate: bool = False


class _Fault(Exception):
    """A level-1 problem: answer with a SOAP Fault."""


class Simulator:
    """All state and behaviour of one simulated MAGDA platform."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.started = time.time()
        roots = [Path(d) for d in config.testcases_dirs] + [testcases_root()]
        self.canned = CannedRepository(roots)
        pop = config.population
        if pop is None:
            self.store: PopulationStore | None = None
        elif isinstance(pop, str | Path):
            self.store = InMemoryPopulationStore.from_jsonl(pop)
        else:
            self.store = pop
        self.faults = FaultInjector(
            config.fault_rates, config.fault_insz, seed=config.seed, latency_ms=config.latency_ms,
            timeout_seconds=config.timeout_seconds,
        )
        self.allowed = config.allowed_afnemers
        self.clock: date | None = config.clock
        """The simulated day; None = the real date (and the whole store is known, as before there was a clock)."""
        self._views: dict[str, Person | None] = {}
        """Persons as of the clock day, kept until the clock moves or the person changes (a household's members
        are asked about again and again)."""
        self.repertorium = Repertorium()
        self.mutations = MutationQueues()
        self.lez = LezRegister()
        self.stats: Counter[str] = Counter()
        self._handlers = {
            "GeefPersoon": self._geef_persoon,
            "GeefGezinssamenstelling": self._geef_gezinssamenstelling,
            "GeefHistoriekPersoon": self._geef_historiek_persoon,
            "GeefHistoriekGezinssamenstelling": self._geef_historiek_gezinssamenstelling,
            "GeefDossierHandicap": self._geef_dossier_handicap,
            "GeefAanslagbiljetPersonenbelasting": self._geef_aanslagbiljet_personenbelasting,
            "GeefLeefloonbedragen": self._geef_leefloonbedragen,
            "GeefSociaalStatuut": self._geef_sociaal_statuut,
            "GeefSociaalStatuutVoorLijst": self._geef_sociaal_statuut_voor_lijst,
            "RegistreerInschrijving": self._registreer_inschrijving,
            "RegistreerUitschrijving": self._registreer_uitschrijving,
            "GeefPersoonMutatiesNotificaties": self._geef_persoon_mutaties_notificaties,
            "RegistreerLEZGegevens": self._registreer_lez_gegevens,
            "GeefLEZGegevens": self._geef_lez_gegevens,
            "VerwijderLEZGegevens": self._verwijder_lez_gegevens,
        }
        self._by_root = {(s.namespace, s.name): s for s in SERVICES.values()}
        self._req_schemas: dict[str, etree.XMLSchema | None] = {}
        self._resp_schemas: dict[str, etree.XMLSchema | None] = {}
        self.schemas_missing: set[str] = set()
        self._retry_at: dict[str, float] = {}
        self._trusted_cert: bytes | None = None
        self._wssec: Any = None
        if config.verify_signature is not None:
            from cryptography import x509

            from proactief.magda import wssec

            pem = Path(config.verify_signature).read_bytes()
            x509.load_pem_x509_certificate(pem)  # a bad certificate fails the start, not every call
            self._trusted_cert, self._wssec = pem, wssec
        for spec in SERVICES.values():  # compile up front: the first call must be as fast as the others
            self._schema(spec, request=True)
            self._schema(spec, request=False)  # also tells /_sim/health which reference XSDs are incomplete

    # ------------------------------------------------------------------------------------------ plumbing
    def _schema(self, spec: ServiceSpec, *, request: bool) -> etree.XMLSchema | None:
        cache = self._req_schemas if request else self._resp_schemas
        if spec.key in cache and cache[spec.key] is not None:
            return cache[spec.key]
        rel = spec.request_xsd if request else spec.response_xsd
        if spec.key in cache and time.monotonic() < self._retry_at.get(rel, 0.0):
            return None  # known missing: look again now and then (the reference set may get completed)
        try:
            schema = schema_for(rel)
            self.schemas_missing.discard(rel)
        except SchemaError as exc:
            # Reference data incomplete (an include file missing): serve without validating, say so once.
            if rel not in self.schemas_missing:
                log.warning("XSD unavailable, not validating %s: %s", rel, exc)
            self.schemas_missing.add(rel)
            self._retry_at[rel] = time.monotonic() + 30.0
            schema = None
        cache[spec.key] = schema
        return schema

    def today(self) -> date:
        """The day the platform lives on: the clock, else the real date."""
        return self.clock or date.today()

    def set_clock(self, day: date | None) -> None:
        """Move the simulated day (None = back to the real date). State (repertorium, queues) is kept."""
        if day != self.clock:
            self._views.clear()
        self.clock = day

    def now(self) -> datetime:
        """The simulated moment: the clock's day at the real time of day (Tijdstip, LEZ stamps)."""
        now = datetime.now()
        return now if self.clock is None else datetime.combine(self.clock, now.time())

    def person(self, insz: str) -> Person | None:
        """The store's person as the register knows them on the clock day (None: not in the store, or not
        yet born then)."""
        if self.store is None:
            return None
        if self.clock is None:
            return self.store.get(insz)
        views = self._views
        if insz in views:
            return views[insz]
        p = self.store.get(insz)
        view = as_of(p, self.clock) if p is not None else None
        if len(views) >= _VIEW_CACHE:
            views.clear()
        views[insz] = view
        return view

    def reset(self) -> None:
        self.repertorium = Repertorium()
        self.mutations = MutationQueues()
        self.lez = LezRegister()
        self.stats.clear()
        f = self.faults
        f.configure(seed=f.seed)  # restart the deterministic sequence

    def health(self) -> dict[str, Any]:
        return {
            "status": "ok",
            "uptime_s": round(time.time() - self.started, 1),
            "services": sorted(SERVICES),
            "canned_cases": self.canned.count,
            "persons": len(self.store) if self.store is not None else 0,
            "clock": self.today().isoformat(),
            "schemas_missing": sorted(self.schemas_missing),
        }

    def describe_state(self) -> dict[str, Any]:
        return {
            "repertorium": self.repertorium.describe(),
            "mutations": self.mutations.describe(),
            "lez": self.lez.describe(),
            "faults": self.faults.describe(),
            "calls": dict(self.stats),
        }

    def push_mutation(self, insz: str, kind: str = "WIJZIGING") -> int:
        """Queue a notification about ``insz`` for every afnemer that registered it; returns how many.
        ``kind`` is one of :data:`MUTATION_TYPES`."""
        if kind not in MUTATION_TYPES:
            raise ValueError(f"unknown mutation type; known: {', '.join(MUTATION_TYPES)}")
        return self.mutations.push(insz, self.repertorium.afnemers_of(insz), kind, self.today())

    def upsert_person(self, person: Person) -> int:
        """Change the population (the store) and notify the afnemers that registered the person."""
        if self.store is None:
            self.store = InMemoryPopulationStore()
        self.store.upsert(person)
        self._views.pop(person.insz, None)
        return self.push_mutation(person.insz)

    def register(self, afnemer: str, inszs: list[str], hoedanigheid: str = "", begin: date | None = None) -> int:
        """Bulk inscription without SOAP (benchmarks and test setup)."""
        ins = Inschrijving(afnemer, hoedanigheid, begin or self.today())
        return sum(1 for i in inszs if self.repertorium.register(i, ins))

    # ---------------------------------------------------------------------------------------------- entry
    def handle_soap(self, path: str, body: bytes, afnemer_header: str | None = None) -> Outcome:
        """Answer one SOAP POST. Never raises for bad input: that is a SOAP Fault, as on the platform."""
        try:
            return self._handle(path, body, afnemer_header)
        except _Fault as exc:
            self.stats["soap_fault"] += 1
            return Outcome(500, soap_fault(str(exc)))
        except Exception:  # a simulator bug must still look like a platform error, not a dropped connection
            log.exception("simulator error on %s", path)
            self.stats["server_error"] += 1
            return Outcome(500, soap_fault("Interne fout van de simulator", "soapenv:Server"))

    def _check_signature(self, root: etree._Element, body: bytes) -> None:
        """As MAGDA's gateway: the Body (and Timestamp) signed by the afnemer's certificate, else a Fault that says
        only that (nothing of the message or of why the check failed goes back)."""
        wssec = self._wssec
        if root.getroottree().docinfo.doctype:  # SOAP forbids a DTD; the verifier must never expand one
            self.stats["signature_invalid"] += 1
            raise _Fault(_SIGNATURE_INVALID)
        if root.find(f"{{{SOAP_NS}}}Header/{{{wssec.WSSE_NS}}}Security/{{{wssec.DS_NS}}}Signature") is None:
            self.stats["signature_missing"] += 1
            raise _Fault(_SIGNATURE_MISSING)
        try:
            wssec.verify_body_signature(body, self._trusted_cert)
        except Exception as exc:  # noqa: BLE001 - whatever fails (bad signature, stale Timestamp, odd XML) is invalid
            log.info("signature refused: %s", type(exc).__name__)
            self.stats["signature_invalid"] += 1
            raise _Fault(_SIGNATURE_INVALID) from None

    def _handle(self, path: str, body: bytes, afnemer_header: str | None) -> Outcome:
        try:
            root = etree.fromstring(body, REQUEST_PARSER)
        except etree.XMLSyntaxError as exc:
            raise _Fault(f"Het bericht is geen well-formed XML: {exc}") from None
        if root.tag != _ENVELOPE:
            raise _Fault("Geen SOAP 1.1 Envelope")
        if self._trusted_cert is not None:
            self._check_signature(root, body)
        soap_body = root.find(_BODY)
        req = None
        if soap_body is not None:
            for child in soap_body:
                if isinstance(child.tag, str):
                    req = child
                    break
        if req is None:
            raise _Fault("SOAP Body zonder bericht")
        naam = req.findtext("Verzoek/Context/Naam")
        if naam is not None:
            spec = service_by_wire_name(naam.strip(), (req.findtext("Verzoek/Context/Versie") or "").strip())
        else:
            q = etree.QName(req)
            spec = self._by_root.get((q.namespace, q.localname))
        if spec is None:
            raise _Fault(f"Onbekende dienst: {naam or etree.QName(req).localname}")
        if path != MOCK_SINGLE_ENDPOINT and path != spec.path:
            other = service_by_path(path)
            raise _Fault(f"Dienst {spec.name} {spec.version} hoort niet op dit endpoint"
                         + (f" ({other.name})" if other else ""))
        schema = self._schema(spec, request=True)
        if schema is not None and not schema.validate(req):
            err = schema.error_log.last_error
            raise _Fault(f"Bericht ongeldig volgens {spec.name}.xsd: {err.message if err else 'onbekend'}")

        self.stats[spec.key] += 1
        caller = self._caller(req, spec)
        datum, tijd = now_parts(self.now())
        subject = self._subject(req, spec)
        delay = self.faults.latency_ms / 1000.0
        truncate = False
        fault = self.faults.draw(subject or spec.key) if self.faults.active else None
        if fault is not None:
            self.stats[f"fault:{fault}"] += 1
            if fault == "http500":
                return Outcome(500, _HTML_500, "text/html; charset=UTF-8", delay)
            if fault == "99996":
                return self._wrap(spec, self._level2(spec, caller, [U_BUSY], datum, tijd), delay)
            if fault in _LEVEL3_FAULTS:
                return self._wrap(spec, self._level3(spec, caller, [_LEVEL3_FAULTS[fault]], datum, tijd), delay)
            if fault == "timeout":
                delay = max(delay, self.faults.timeout_seconds)
            elif fault == "malformed":
                truncate = True

        if self.allowed is not None and spec.has_context and caller.afnemer not in self.allowed:
            out = self._wrap(spec, self._level2(spec, caller, [U_NO_ACCESS], datum, tijd), delay)
        elif self.allowed is not None and not spec.has_context and afnemer_header is not None \
                and afnemer_header not in self.allowed:
            out = self._wrap(spec, self._level2(spec, caller, [U_NO_ACCESS], datum, tijd), delay)
        else:
            handler = self._handlers[spec.name]
            xml, synthesised = handler(spec, req, caller, subject, datum, tijd, afnemer_header)
            if synthesised and self.config.validate_responses:
                self._check_response(spec, xml)
            out = self._wrap(spec, xml, delay)
            first_tag = xml[1 : xml.find(">")].split(None, 1)[0] if xml.startswith("<") else ""
            if first_tag == "Fault" or first_tag.endswith(":Fault"):  # a canned SOAP Fault, served as it is
                out.status = 500
        out.truncate = truncate
        return out

    def _check_response(self, spec: ServiceSpec, xml: str) -> None:
        schema = self._schema(spec, request=False)
        if schema is None:
            return
        doc = etree.fromstring(xml.encode())
        if not schema.validate(doc):
            raise RuntimeError(f"synthesised {spec.key} answer is invalid: {schema.error_log.last_error}")

    @staticmethod
    def _wrap(spec: ServiceSpec, xml: str, delay: float) -> Outcome:
        return Outcome(200, envelope(xml), delay=delay)

    @staticmethod
    def _caller(req: etree._Element, spec: ServiceSpec) -> Caller:
        afz = req.find("Verzoek/Context/Bericht/Afzender")
        pairs = tuple((etree.QName(c).localname, (c.text or "").strip()) for c in afz if isinstance(c.tag, str)) \
            if afz is not None else ()
        return Caller(spec.name, spec.version, pairs, (req.findtext("Verzoek/Vragen/Vraag/Referte") or "").strip())

    @staticmethod
    def _subject(req: etree._Element, spec: ServiceSpec) -> str | None:
        """The person the call is about: ``//INSZ`` (``//ssin``), or the PERS ``Sleutel`` of a repertorium call."""
        if spec.key_element:
            for el in req.iter(spec.key_element):
                return (el.text or "").strip()
        for el in req.iter("Sleutel"):
            return (el.text or "").strip()
        return None

    # ------------------------------------------------------------------------------------------ building
    def _level2(self, spec: ServiceSpec, caller: Caller, items: list[Uitzondering], datum: str, tijd: str) -> str:
        inner = context_xml(spec.name, spec.version, caller if caller.afzender else None, datum, tijd)
        return response_xml(spec.response_root, spec.namespace, inner + uitzonderingen(items, datum, tijd))

    def _level3(self, spec: ServiceSpec, caller: Caller, items: list[Uitzondering], datum: str, tijd: str,
                inhoud: str | None = None) -> str:
        return self._answer(spec, caller, inhoud, items, datum, tijd)

    def _answer(self, spec: ServiceSpec, caller: Caller, inhoud: str | None, items: list[Uitzondering],
                datum: str, tijd: str) -> str:
        antwoord = f"<Antwoord><Referte>{esc(caller.vraag_referte or '-')}</Referte>"
        if inhoud is not None:
            antwoord += f"<Inhoud>{inhoud}</Inhoud>"
        if items:
            antwoord += uitzonderingen(items, datum, tijd)
        inner = context_xml(spec.name, spec.version, caller if caller.afzender else None, datum, tijd)
        inner += f"<Antwoorden>{antwoord}</Antwoord></Antwoorden>"
        return response_xml(spec.response_root, spec.namespace, inner)

    def _canned(self, spec: ServiceSpec, ans: CannedAnswer, caller: Caller, datum: str, tijd: str) -> str:
        return ans.render(spec.name, spec.version, caller, datum, tijd)

    def _person_checks(self, spec: ServiceSpec, caller: Caller, insz: str | None, datum: str,
                       tijd: str) -> str | None:
        """20002 for a malformed INSZ, 40003 when not registered; None when the call may proceed."""
        if not insz or not is_valid_insz(insz):
            return self._level3(spec, caller, [U_BAD_INSZ], datum, tijd)
        if self.config.repertorium_check and not self.repertorium.is_registered(insz, caller.afnemer, self.today()):
            return self._level3(spec, caller, [U_NOT_REGISTERED], datum, tijd)
        return None

    def _lookup(self, spec: ServiceSpec, key: str) -> tuple[CannedAnswer | None, Person | None]:
        """Extra canned case of the key, else the store's person, else shipped case / notfound / success."""
        folder = spec.testcase_dir
        ans = self.canned.key(folder, key, extra_only=True)
        if ans is not None:
            return ans, None
        if self.store is not None and key in self.store:
            p = self.person(key)
            if p is not None:
                return None, p
            return None, None  # in the store, not yet born on the clock day: unknown to the register (30001)
        ans = self.canned.key(folder, key, shipped_only=True) or self.canned.fallback(folder)
        return ans, None

    def _view(self) -> render.PersonLookup:
        """Other persons (household members) as the register knows them on the clock day."""
        return self.person

    # ------------------------------------------------------------------------------------ person services
    def _person_service(
        self, spec: ServiceSpec, req: etree._Element, caller: Caller, insz: str | None, datum: str, tijd: str,
        renderer: Callable[[Person], tuple[str | None, list[Uitzondering]]],
    ) -> tuple[str, bool]:
        refused = self._person_checks(spec, caller, insz, datum, tijd)
        if refused is not None:
            return refused, True
        ans, person = self._lookup(spec, insz)
        if person is not None:
            inhoud, items = renderer(person)
            return self._answer(spec, caller, inhoud, items, datum, tijd), True
        if ans is not None:
            return self._canned(spec, ans, caller, datum, tijd), False
        return self._level3(spec, caller, [U_NO_DATA], datum, tijd), True

    def _geef_persoon(
        self, spec: ServiceSpec, req: etree._Element, caller: Caller, insz: str | None, datum: str,
        tijd: str, _h: str | None,
    ) -> tuple[str, bool]:
        return self._person_service(spec, req, caller, insz, datum, tijd,
                                    lambda p: (render.persoon_inhoud(p, self._view(), self.today()), []))

    def _geef_gezinssamenstelling(
        self, spec: ServiceSpec, req: etree._Element, caller: Caller, insz: str | None, datum: str,
        tijd: str, _h: str | None,
    ) -> tuple[str, bool]:
        return self._person_service(spec, req, caller, insz, datum, tijd,
                                    lambda p: render.gezin_antwoord(p, self._view(), self.today()))

    def _geef_historiek_persoon(
        self, spec: ServiceSpec, req: etree._Element, caller: Caller, insz: str | None, datum: str,
        tijd: str, _h: str | None,
    ) -> tuple[str, bool]:
        vanaf = _iso(req.findtext("Verzoek/Vragen/Vraag/Inhoud/Criteria/Datum"))
        return self._person_service(spec, req, caller, insz, datum, tijd,
                                    lambda p: (history.historiek_persoon_inhoud(p, self._view(), vanaf), []))

    def _geef_historiek_gezinssamenstelling(
        self, spec: ServiceSpec, req: etree._Element, caller: Caller, insz: str | None, datum: str,
        tijd: str, _h: str | None,
    ) -> tuple[str, bool]:
        vanaf = _iso(req.findtext("Verzoek/Vragen/Vraag/Inhoud/Criteria/Datum"))
        return self._person_service(spec, req, caller, insz, datum, tijd,
                                    lambda p: history.historiek_gezin_antwoord(p, self._view(), vanaf))

    def _geef_dossier_handicap(
        self, spec: ServiceSpec, req: etree._Element, caller: Caller, insz: str | None, datum: str,
        tijd: str, _h: str | None,
    ) -> tuple[str, bool]:
        ref = None
        for el in req.iter("referenceDate"):
            try:
                ref = date.fromisoformat((el.text or "").strip()[:10])
            except ValueError:
                ref = None
            break
        return self._person_service(spec, req, caller, insz, datum, tijd,
                                    lambda p: render.handicap_inhoud(p, ref, self.today()))

    def _geef_aanslagbiljet_personenbelasting(
        self, spec: ServiceSpec, req: etree._Element, caller: Caller, insz: str | None, datum: str,
        tijd: str, _h: str | None,
    ) -> tuple[str, bool]:
        crit = req.find("Verzoek/Vragen/Vraag/Inhoud/Criteria")
        return self._person_service(spec, req, caller, insz, datum, tijd,
                                    lambda p: render.aanslag_inhoud(p, crit, self.today()))

    def _geef_leefloonbedragen(
        self, spec: ServiceSpec, req: etree._Element, caller: Caller, insz: str | None, datum: str,
        tijd: str, _h: str | None,
    ) -> tuple[str, bool]:
        crit = req.find("Verzoek/Vragen/Vraag/Inhoud/Criteria")
        return self._person_service(spec, req, caller, insz, datum, tijd,
                                    lambda p: (render.leefloon_inhoud(p, crit, self.today()), []))

    def _facts(self, spec: ServiceSpec, insz: str) -> tuple[dict[str, StatuteFact] | None, CannedAnswer | None]:
        """Statute facts of a person (store or canned); or a canned answer to pass on (an error case)."""
        folder = spec.testcase_dir
        ans = self.canned.key(folder, insz, extra_only=True)
        if ans is None and self.store is not None:
            statutes = self.store.statutes(insz)
            if statutes is not None:
                if self.clock is not None:
                    statutes = statutes_as_of(statutes, self.clock)
                return facts_from_store(statutes), None
        if ans is None:
            ans = self.canned.key(folder, insz, shipped_only=True) or self.canned.fallback(folder)
        if ans is None:
            return {}, None
        if ans.statute_facts is not None:
            return ans.statute_facts, None
        if not ans.uitzonderingen and not ans.is_fault:
            return {}, None  # a canned answer without statutes or errors: nothing applies
        return None, ans

    def _geef_sociaal_statuut(
        self, spec: ServiceSpec, req: etree._Element, caller: Caller, insz: str | None, datum: str,
        tijd: str, _h: str | None,
    ) -> tuple[str, bool]:
        refused = self._person_checks(spec, caller, insz, datum, tijd)
        if refused is not None:
            return refused, True
        facts, ans = self._facts(spec, insz)
        if ans is not None:
            return self._canned(spec, ans, caller, datum, tijd), False
        crit = req.find("Verzoek/Vragen/Vraag/Inhoud/Criteria")
        statuten = render_v3(facts or {}, queries_from(crit, v3=True))
        inhoud = f"<Persoon><INSZ>{insz}</INSZ><SocialeStatuten>{statuten}</SocialeStatuten></Persoon>"
        return self._answer(spec, caller, inhoud, [], datum, tijd), True

    def _geef_sociaal_statuut_voor_lijst(
        self, spec: ServiceSpec, req: etree._Element, caller: Caller, _subject: str | None, datum: str,
        tijd: str, afnemer: str | None,
    ) -> tuple[str, bool]:
        """Many persons, one answer: a ``Persoon`` per answerable person, an Uitzondering (annotated with
        the INSZ) per person that cannot be answered. The request has no Context, so the afnemer is the one
        named in the ``X-Magda-Afnemer`` header, else any afnemer's inscription counts."""
        lspec = SERVICES["SocZek.GeefSociaalStatuut-03.00"]  # same source data as the single service
        crit = req.find("Verzoek/Vragen/Vraag/Inhoud/Criteria")
        queries = queries_from(crit, v3=False)
        check = self.config.repertorium_check
        today = self.today()
        per_insz = self.faults.per_insz
        registered = self.repertorium.is_registered
        persons: list[str] = []
        errors: list[Uitzondering] = []
        for el in crit.iterfind("Personen/Persoon"):
            insz = (el.text or "").strip()
            if not is_valid_insz(insz):
                errors.append(_annotated(U_BAD_INSZ, insz))
                continue
            if check and not registered(insz, afnemer, today):
                errors.append(_annotated(U_NOT_REGISTERED, insz))
                continue
            forced = per_insz.get(insz) if per_insz else None
            if forced == "99996" or forced in _LEVEL3_FAULTS:
                errors.append(_annotated(U_BUSY if forced == "99996" else _LEVEL3_FAULTS[forced], insz))
                continue
            facts, ans = self._facts(lspec, insz)
            if ans is not None:
                errors.extend(_annotated(u, insz) for u in ans.uitzonderingen or [U_NO_DATA])
                continue
            persons.append(f"<Persoon><INSZ>{insz}</INSZ><SocialeStatuten>{render_v2(facts or {}, queries)}"
                           "</SocialeStatuten></Persoon>")
        self.stats["list_persons"] += len(persons) + len(errors)
        inhoud = f"<Personen>{''.join(persons)}</Personen>" if persons else None
        list_caller = Caller(spec.name, spec.version, (("Identificatie", afnemer),) if afnemer else (),
                             caller.vraag_referte)
        return self._answer(spec, list_caller, inhoud, errors, datum, tijd), True

    # ----------------------------------------------------------------------------------------- repertorium
    def _registreer_inschrijving(
        self, spec: ServiceSpec, req: etree._Element, caller: Caller, _s: str | None, datum: str,
        tijd: str, _h: str | None,
    ) -> tuple[str, bool]:
        ins = req.find("Verzoek/Vragen/Vraag/Inhoud/Inschrijving")
        subj_type = (ins.findtext("BetrokkenSubject/Type") or "").strip()
        keys = [(s.findtext("Sleutel") or "").strip() for s in ins.iterfind("BetrokkenSubject/Subjecten/Subject")]
        folder = f"{spec.testcase_dir}/{subj_type}"
        if subj_type != "PERS":  # only person inscriptions are kept; others answer as the mock does
            ans = self.canned.fallback(folder) or self.canned.fallback(spec.testcase_dir)
            if ans is not None:
                return self._canned(spec, ans, caller, datum, tijd), False
            return self._answer(spec, caller, '<Resultaat Beschrijving="Wel geslaagd">1</Resultaat>', [], datum,
                                tijd), True
        bad = [k for k in keys if not is_valid_insz(k)]
        if bad:
            return self._level3(spec, caller, [_annotated(U_BAD_INSZ, k) for k in bad], datum, tijd), True
        if len(keys) == 1:  # error personas of the canned set (e.g. 99996) answer as canned, nothing kept
            ans = self.canned.key(folder, keys[0])
            if ans is not None:
                return self._canned(spec, ans, caller, datum, tijd), False
        afnemer = (ins.findtext("Identificatie") or "").strip()
        begin = _iso(ins.findtext("Periode/Begin")) or self.today()
        inschrijving = Inschrijving(afnemer, (ins.findtext("Hoedanigheid") or "").strip(), begin,
                                    _iso(ins.findtext("Periode/Einde")))
        existed = [k for k in keys if not self.repertorium.register(k, inschrijving)]
        items = [U_ALREADY_REGISTERED] if existed else []
        return self._answer(spec, caller, '<Resultaat Beschrijving="Wel geslaagd">1</Resultaat>', items, datum,
                            tijd), True

    def _registreer_uitschrijving(
        self, spec: ServiceSpec, req: etree._Element, caller: Caller, _s: str | None, datum: str,
        tijd: str, _h: str | None,
    ) -> tuple[str, bool]:
        uit = req.find("Verzoek/Vragen/Vraag/Inhoud/Uitschrijving")
        keys = [(s.findtext("Sleutel") or "").strip() for s in uit.iterfind("BetrokkenSubject/Subjecten/Subject")]
        if not keys and uit.findtext("INSZ"):
            keys = [(uit.findtext("INSZ") or "").strip()]
        bad = [k for k in keys if not is_valid_insz(k)]
        if bad:
            return self._level3(spec, caller, [_annotated(U_BAD_INSZ, k) for k in bad], datum, tijd), True
        afnemer = (uit.findtext("Identificatie") or "").strip()
        missing = [k for k in keys if not self.repertorium.unregister(k, afnemer)]
        if missing:
            return self._answer(spec, caller, '<Resultaat Beschrijving="Niet geslaagd">0</Resultaat>',
                                [_annotated(U_NOT_REGISTERED, k) for k in missing], datum, tijd), True
        return self._answer(spec, caller, '<Resultaat Beschrijving="Wel geslaagd">1</Resultaat>', [], datum,
                            tijd), True

    # ------------------------------------------------------------------------------------------- mutations
    def _geef_persoon_mutaties_notificaties(
        self, spec: ServiceSpec, req: etree._Element, caller: Caller, _s: str | None, datum: str,
        tijd: str, _h: str | None,
    ) -> tuple[str, bool]:
        inh = req.find("Verzoek/Vragen/Vraag/Inhoud")
        afnemer = (inh.findtext("Identificatie") or caller.afnemer).strip()
        receipt = (inh.findtext("Ontvangstreferte") or "").strip() or None
        status, ref, batch = self.mutations.read(afnemer, receipt, self.config.mutation_batch_size)
        if status == "invalid":
            return self._level3(spec, caller, [U_BAD_RECEIPT], datum, tijd), True
        if status == "empty":
            return self._level3(spec, caller, [U_NOTHING_PENDING], datum, tijd), True
        onderwerpen = "".join(
            f"<Onderwerp><Referte>{m.referte}</Referte><Inhoud>{_mutatie_xml(m.insz, m.kind, m.day)}</Inhoud>"
            "</Onderwerp>"
            for m in batch
        )
        inhoud = f"<Onderwerpen>{onderwerpen}</Onderwerpen><Ontvangstreferte>{ref}</Ontvangstreferte>"
        return self._answer(spec, caller, inhoud, [], datum, tijd), True

    # ------------------------------------------------------------------------------------------------- LEZ
    def _registreer_lez_gegevens(
        self, spec: ServiceSpec, req: etree._Element, caller: Caller, _s: str | None, datum: str,
        tijd: str, _h: str | None,
    ) -> tuple[str, bool]:
        lez = req.find("Verzoek/Vragen/Vraag/Inhoud/LEZGegevens")
        plate, country, bron = _lez_key(lez)
        added = self.now().replace(microsecond=0)
        referte = caller.vraag_referte
        for el in lez:
            tag = etree.QName(el).localname if isinstance(el.tag, str) else ""
            if tag == "Vrijstellingen":
                for i, v in enumerate(el.iterfind("Vrijstelling")):
                    ref = referte if i == 0 else f"{referte[:32]}-{i}"
                    self.lez.add(plate, country, LezEntry("Vrijstelling", ref, bron, added, _children(v)))
            elif tag in ("BuitenlandsVoertuig", "CorrectieEuronorm", "Roetfilter"):
                self.lez.add(plate, country, LezEntry(tag, referte, bron, added, _children(el)))
        return self._answer(spec, caller, '<Resultaat Beschrijving="Wel geslaagd">1</Resultaat>', [], datum,
                            tijd), True

    def _geef_lez_gegevens(
        self, spec: ServiceSpec, req: etree._Element, caller: Caller, _s: str | None, datum: str,
        tijd: str, _h: str | None,
    ) -> tuple[str, bool]:
        crit = req.find("Verzoek/Vragen/Vraag/Inhoud/Criteria")
        plate, country, _bron = _lez_key(crit)
        entries = self.lez.get(plate, country)
        if not entries:
            return self._level3(spec, caller, [U_NO_DATA], datum, tijd), True
        groups: dict[str, list[str]] = {"BuitenlandsVoertuig": [], "Vrijstelling": [], "CorrectieEuronorm": [],
                                        "Roetfilter": []}
        for e in entries:
            stamp = e.added.isoformat()
            if e.kind == "Vrijstelling":
                tail = (f"<DatumTijdstipToevoegingLEZ>{stamp}</DatumTijdstipToevoegingLEZ>"
                        f"<DatumTijdstipToevoegingAanLEZDB>{stamp}</DatumTijdstipToevoegingAanLEZDB>")
            else:
                tail = f"<DatumTijdstipToevoegingLEZ>{stamp}</DatumTijdstipToevoegingLEZ>"
            groups[e.kind].append(f"<{e.kind}>{e.body}{tail}<Bron>{esc(e.bron)}</Bron>"
                                  f"<Referte>{esc(e.referte)}</Referte></{e.kind}>")
        inhoud = f"<LEZGegevens><Nummerplaat>{esc(plate)}</Nummerplaat><LandISOCode>{esc(country)}</LandISOCode>"
        for kind, wrapper in (("BuitenlandsVoertuig", "BuitenlandseVoertuigen"), ("Vrijstelling", "Vrijstellingen"),
                              ("CorrectieEuronorm", "CorrectieEuronormen"), ("Roetfilter", "Roetfilters")):
            if groups[kind]:
                inhoud += f"<{wrapper}>{''.join(groups[kind])}</{wrapper}>"
        inhoud += "</LEZGegevens>"
        return self._answer(spec, caller, inhoud, [], datum, tijd), True

    def _verwijder_lez_gegevens(
        self, spec: ServiceSpec, req: etree._Element, caller: Caller, _s: str | None, datum: str,
        tijd: str, _h: str | None,
    ) -> tuple[str, bool]:
        lez = req.find("Verzoek/Vragen/Vraag/Inhoud/LEZGegevens")
        plate, country, bron = _lez_key(lez)
        wanted: list[tuple[str, str]] = []
        for wrapper, kind in (("BuitenlandseVoertuigen", "BuitenlandsVoertuig"), ("Vrijstellingen", "Vrijstelling"),
                              ("CorrectieEuronormen", "CorrectieEuronorm"), ("Roetfilters", "Roetfilter")):
            for r in lez.iterfind(f"{wrapper}/{kind}/Referte"):
                wanted.append((kind, (r.text or "").strip()))
        if not wanted:  # nothing named: end everything this source registered for the plate
            removed = self.lez.remove(plate, country, None, None, bron)
            missing = [] if removed else [U_NO_DATA]
        else:
            missing = [_annotated(U_NO_DATA, ref) for kind, ref in wanted
                       if not self.lez.remove(plate, country, kind, ref, bron)]
        if missing and (not wanted or len(missing) == len(wanted)):
            return self._answer(spec, caller, '<Resultaat Beschrijving="Niet geslaagd">0</Resultaat>', missing,
                                datum, tijd), True
        return self._answer(spec, caller, '<Resultaat Beschrijving="Wel geslaagd">1</Resultaat>', missing, datum,
                            tijd), True


def _annotated(u: Uitzondering, value: str, name: str = "INSZ") -> Uitzondering:
    return Uitzondering(u.code, u.diagnose, u.type, u.oorsprong, u.omstandigheid, ((name, value),))


def _iso(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


def _children(el: etree._Element) -> str:
    return "".join(plain_xml(c) for c in el if isinstance(c.tag, str))


def _lez_key(el: etree._Element) -> tuple[str, str, str]:
    return ((el.findtext("Nummerplaat") or "").strip(), (el.findtext("LandISOCode") or "").strip(),
            (el.findtext("Bron") or "").strip())


def _mutatie_xml(insz: str, kind: str, day: date) -> str:
    """One ``persoon:PersoonMutatieNotificatieType``: which person changed and when (MAGDA says who, not what).

    The XSD leaves the codes free text; the simulator uses ``MUTATIE`` as notification type, ``RR`` as the
    changed information and the pushed kind (default ``WIJZIGING``) as the type of change.
    """
    return (
        f"<PersoonMutatiesNotificaties><INSZ>{insz}</INSZ><Type><Code>MUTATIE</Code>"
        "<Omschrijving>Mutatie van persoonsgegevens</Omschrijving></Type>"
        f"<DatumCreatie>{day.isoformat()}</DatumCreatie><Informaties><Informatie>"
        "<Identificatie><Code>RR</Code><Omschrijving>Rijksregister</Omschrijving></Identificatie>"
        f"<TypeMutaties><TypeMutatie><Code>{esc(kind)}</Code></TypeMutatie></TypeMutaties>"
        "</Informatie></Informaties></PersoonMutatiesNotificaties>"
    )

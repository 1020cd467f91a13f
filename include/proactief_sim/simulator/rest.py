"""The MAGDA REST mocks (WireMock layout under ``rest/``): vehicle registrations, disability dossiers.

Mappings are matched as WireMock matches them: method, ``urlPath``, ``queryParameters`` (``equalTo``,
``matches``), lowest ``priority`` first (default 5); no match -> WireMock's 404. Two additions on
``/v1/mobility/registrations``: a plate of the population store is answered from the store, and
``?nationalNr=INSZ`` lists the vehicles whose titular is that person (store and canned files), 204 when none,
as the mock's catch-all mapping answers an unknown vehicle. Store vehicles are answered as the register stood on
the simulator's clock day: not there before ``first_registration``, ``CAN`` from their ``cancelled`` day on.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

from proactief_sim.simulator.population import Person, PopulationStore, Vehicle
from proactief_sim.simulator.timeline import as_of, vehicle_known, vehicle_status

__all__ = ["RestMocks", "RestResponse"]

_JSON = "application/json"
_NOT_MATCHED = json.dumps({"status": 404, "message": "No response could be served as there are no stub mappings "
                                                     "in this WireMock instance."}).encode()


@dataclass(frozen=True, slots=True)
class RestResponse:
    status: int
    body: bytes
    content_type: str = _JSON


@dataclass(frozen=True, slots=True)
class _Mapping:
    method: str
    url_path: str
    query: tuple[tuple[str, str, str], ...]
    """(parameter, "equalTo" | "matches", value)."""
    priority: int
    status: int
    body: bytes
    content_type: str

    def matches(self, method: str, path: str, params: dict[str, str]) -> bool:
        if self.method not in ("ANY", method) or self.url_path != path:
            return False
        for name, kind, value in self.query:
            got = params.get(name)
            if got is None:
                return False
            if kind == "equalTo" and got != value:
                return False
            if kind == "matches" and not re.fullmatch(value, got):
                return False
        return True


class RestMocks:
    def __init__(self, root: Path, store: PopulationStore | None = None,
                 clock: Callable[[], date | None] = lambda: None) -> None:
        self.store = store
        self.clock = clock
        """The simulator's clock (None = the real date, the whole store known)."""
        self._mappings: list[_Mapping] = []
        self._titulars: dict[str, list[dict[str, Any]]] = {}  # nationalNr -> canned registration items
        files = root / "__files"
        for path in sorted((root / "mappings").rglob("*.json")):
            doc = json.loads(path.read_text(encoding="utf-8"))
            for m in doc.get("mappings", [doc]):
                self._mappings.append(self._mapping(m, files))
        self._mappings.sort(key=lambda m: m.priority)
        for path in sorted((files / "mobility" / "registrations").glob("*.json")):
            for item in json.loads(path.read_text(encoding="utf-8")).get("items", []):
                nr = (((item.get("titular") or {}).get("person") or {}).get("nationalNr") or {}).get("identificator")
                if nr:
                    self._titulars.setdefault(nr, []).append(item)

    @staticmethod
    def _mapping(m: dict[str, Any], files: Path) -> _Mapping:
        req, resp = m["request"], m["response"]
        query = tuple(
            (name, kind, value)
            for name, cond in (req.get("queryParameters") or {}).items()
            for kind, value in cond.items()
        )
        body = b""
        if "bodyFileName" in resp:
            body = (files / resp["bodyFileName"]).read_bytes()
        elif "jsonBody" in resp:
            body = json.dumps(resp["jsonBody"]).encode()
        elif "body" in resp:
            body = str(resp["body"]).encode()
        headers = {k.lower(): v for k, v in (resp.get("headers") or {}).items()}
        return _Mapping(req.get("method", "ANY"), req.get("urlPath") or req.get("url", "").split("?")[0], query,
                        int(m.get("priority", 5)), int(resp.get("status", 200)), body,
                        headers.get("content-type", _JSON))

    def handle(self, method: str, path: str, params: dict[str, str]) -> RestResponse:
        if path == "/v1/mobility/registrations" and method == "GET":
            plate = params.get("plateNr")
            if plate and self.store is not None:
                v = self.store.vehicle(plate)
                clock = self.clock()
                if v is not None and vehicle_known(v, clock):
                    return self._vehicles([self._on_day(v, clock)], f"/registrations?plateNr={plate}")
            nr = params.get("nationalNr")
            if nr is not None:
                return self._by_titular(nr)
        for m in self._mappings:
            if m.matches(method, path, params):
                return RestResponse(m.status, m.body, m.content_type)
        return RestResponse(404, _NOT_MATCHED)

    def _by_titular(self, nr: str) -> RestResponse:
        items: list[dict[str, Any]] = []
        if self.store is not None:
            clock = self.clock()
            items.extend(_item(self._on_day(v, clock), self._titular(v.titular_insz, clock))
                         for v in self.store.vehicles_of(nr) if vehicle_known(v, clock))
        seen = {i["license"]["plateNr"] for i in items}
        items.extend(i for i in self._titulars.get(nr, []) if i["license"]["plateNr"] not in seen)
        if not items:
            return RestResponse(204, b"")
        return RestResponse(200, json.dumps(_page(items, f"/registrations?nationalNr={nr}")).encode())

    def _vehicles(self, vehicles: list[Vehicle], self_link: str) -> RestResponse:
        clock = self.clock()
        items = [_item(v, self._titular(v.titular_insz, clock)) for v in vehicles]
        return RestResponse(200, json.dumps(_page(items, self_link)).encode())

    @staticmethod
    def _on_day(v: Vehicle, clock: date | None) -> Vehicle:
        """The registration as it stands on the clock day (the real date without a clock)."""
        status = vehicle_status(v, clock or date.today())
        return v if status == v.status else replace(v, status=status)

    def _titular(self, insz: str, clock: date | None) -> Person | None:
        p = self.store.get(insz) if self.store is not None else None
        return as_of(p, clock) if p is not None else None


_CONTEXT = "https://vlaamseoverheid.atlassian.net/wiki/download/attachments/1693680273/Mobility-context.jsonld"
_STATUS = {"REG": "Ingeschreven", "CAN": "Geschrapt", "SUS": "Geschorst"}
_CATEGORY = {"M1": "Voertuigen bestemd voor personenvervoer, ten hoogste 8 zitplaatsen (zonder bestuurder)"}
_FUEL = {"10": "Benzine", "16": "Ethanol E85", "20": "Diesel", "21": "Biodiesel", "30": "LPG", "50": "Waterstof"}
_NORMAL = {"code": "NOR", "description": "Normaal"}


def _page(items: list[dict[str, Any]], self_link: str) -> dict[str, Any]:
    return {"@context": _CONTEXT, "self": self_link, "items": items, "total": len(items)}


def _item(v: Vehicle, p: Person | None) -> dict[str, Any]:
    """One registration in the shape of the canned ``mobility/registrations`` files.

    Every key the canned files always carry is here (the fidelity test checks it); the store knows plate,
    status, titular, make/model, category, fuel and euro norm, the rest are fixed plausible values (nothing reads
    them).
    """
    person: dict[str, Any] = {"@id": "_:100", "@type": "http://www.w3.org/ns/person#Person",
                              "nationalNr": {"identificator": v.titular_insz}}
    titular: dict[str, Any] = {"@id": "_:100", "@type": "http://purl.org/dc/terms/Agent", "type": "P",
                               "source": "RRN", "person": person}
    if p is not None:
        person.update({"lastName": [p.last_name], "firstName": list(p.first_names),
                       "birthYear": str(p.birth_date.year)})
        res = p.current_residence()
        if res is not None:
            a = res.address
            addr = {"@type": "http://www.w3.org/ns/locn#Address", "streetName": {"string": a.street},
                    "houseNumber": a.house_number, "postalCode": a.postcode, "cityNisCode": a.nis_code,
                    "cityName": {"string": a.municipality}}
            titular["contactInfo"] = {"@type": "https://schema.org/ContactPoint", "registrationAddress": addr,
                                      "address": addr}
    first = v.first_registration.isoformat() if v.first_registration else None
    stamp = f"{first}T00:00:00Z" if first else None
    digits = "".join(c for c in v.vin if c.isdigit())[-9:].zfill(9)
    vehicle: dict[str, Any] = {
        "vin": v.vin, "unifier": "01",
        "category": {"code": v.category, "description": _CATEGORY.get(v.category, v.category)},
        "makeName": v.make, "commercialName": v.model, "firstRegistrationDate": first, "firstKnownUseDate": first,
        "type": "VP", "wvta": "e1*2007/46*0001*01", "variant": v.model.upper(), "version": v.model.upper(),
        "dateCOC": first, "status": {"code": "NOR", "description": "normaal"}, "statusLegal": _NORMAL,
        "statusAdministrative": {"code": "NOR", "description": "normaal"}, "customsStickerCode": "3",
        "distanceType": "K", "techControlValidityDate": first, "techControlEntryDatetime": stamp,
        "codeForBodyWork": [{"code": "AA", "description": "BERLINE"}], "kind": {"code": "AA", "description": "BERLINE"},
        "colour": [{"code": "1", "description": "Wit"}], "technicPermissibleMaxMass": 1700,
        "massOfTheVehicleInRunningOrder": 1200, "referenceMass": 1300, "actualMassOfTheVehicle": 1250,
        "numberOfAxles": 2, "wheelBase": 2600, "maximumSpeed": 190, "limiterIndicator": False,
        "handicapIndicator": False, "tachoIndicator": False, "assistanceWithoutPedallingIndicator": False,
        "nrOfSeatingPositions": 5, "suspension": {"code": "1", "description": "Niet pneumatische ophanging"},
        "exhaustDirectiveRefCode": "715/2007*2018/1832DG",
    }
    if v.fuel or v.euro_norm:
        vehicle["engine"] = [{"engineCapacity": 1498.0, "fuel": [{
            "code": v.fuel, "description": _FUEL.get(v.fuel or "", "Onbekend"), "maximumNetPower": 85.0,
            "euroNormCode": v.euro_norm, "combinedFuelConsumption": 5.5, "combinedCO2": 125, "WLTPCombinedCO2": 135}]}]
    return {
        "license": {"plateNr": v.plate, "plateUID": "8" + digits,
                    "plateType": {"code": "NM", "description": "Normaal"}, "languageCode": "NL",
                    "startSituationDate": stamp, "lastRegistrationDate": stamp,
                    "status": {"code": v.status, "description": _STATUS.get(v.status, v.status)},
                    "statusLegal": _NORMAL, "lastUpdateDateTime": stamp},
        "certificates": [{"id": digits, "beginDate": stamp, "statusLegal": _NORMAL}],
        "titular": titular,
        "transaction": {"typeCode": "REG", "subTypeCode": {"code": "REGNM", "description": "Normale inschrijving"},
                        "dateTime": stamp, "info": {"plateNumberPriorTitular": "", "importedVehicle": False}},
        "vehicle": {k: val for k, val in vehicle.items() if val is not None},
    }

"""Drive the decide → grant → notify steps of a run on the real PostgreSQL ledger from staged outcomes (what the
MAGDA step stages: outcome, trace of criteria outcomes, grant terms), so a test chooses what the automatic run
finds without a simulator."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine, func, insert, select

from proactief.ledger.models import Resident, StagedAdvice
from proactief.lifecycle import decide, grant, notify, open_run
from proactief.lifecycle.runs import grant_key
from proactief.schemes import load_scheme

UITPAS = "uitpas-kansentarief"
LEZ = "lez-vrijstelling"


def resident(engine: Engine, insz: str, *, email: str | None = "burger@example.org") -> None:
    with engine.begin() as conn:
        conn.execute(insert(Resident).values(
            insz=insz, household_id=f"H{insz[-4:]}", reference_person=True, position="01", address_kind="main",
            postcode="9000", nis_code="44021", since=dt.date(2001, 1, 1), email=email,
            address_line="Kerkstraat 12, 9000 Gent", snapshot="test"))


def trace(**outcomes: str) -> list[dict[str, Any]]:
    return [{"criterion": c, "label": c, "source": "Rijksregister – GeefPersoon", "outcome": o, "reason": None,
             "tier": None, "kind": "criterion"} for c, o in outcomes.items()]


def terms(scheme_id: str, d: dt.date, *, plate: str | None = None) -> dict[str, Any]:
    if scheme_id == UITPAS:
        until, key = dt.date(d.year, 12, 31), [["scheme", UITPAS], ["subject", ""], ["year", f"{d.year}"]]
        attributes = {"card_system": "UiTPAS Gent", "social_tariff_status": "ACTIVE"}
        system = "uitpas"
    else:
        until, key = dt.date(d.year + 3, d.month, d.day), [["scheme", LEZ], ["subject", ""],
                                                          ["vehicle_plate", plate or ""], ["valid_until", ""]]
        key[3][1] = until.isoformat()
        attributes, system = {}, "lez-magda"
    return {"system": system, "valid_from": d.isoformat(), "valid_until": until.isoformat(), "key_parts": key,
            "attributes": attributes, "vehicle_plate": plate, "amounts": {}, "percentages": {"korting": "80"},
            "basis": {}, "sources": ["Rijksregister – GeefPersoon"]}


def run(engine: Engine, scheme_id: str, d: dt.date, outcomes: dict[str, tuple[str, list[dict[str, Any]]]], *,
        tag: str = "", plate: str | None = None) -> int:
    """Open a run of ``scheme_id`` on ``d``, stage ``insz → (outcome, trace)``, and decide, grant and notify."""
    scheme = load_scheme(scheme_id)
    run_id = open_run(engine, scheme_id, d, external_id=f"test/{scheme_id}/{d}{tag}")
    at = dt.datetime.now(dt.UTC)
    rows = []
    for insz, (outcome, steps) in outcomes.items():
        advice: dict[str, Any] = {"decision": outcome, "reasons": [], "trace": steps, "consultations": [],
                                  "tier": None, "amount": None}
        if outcome == "eligible":
            advice["grant_terms"] = terms(scheme_id, d, plate=plate)
            advice["grant_key"] = grant_key(scheme, insz, advice["grant_terms"])
        rows.append({"run_id": run_id, "insz": insz, "outcome": outcome, "transient": False, "data_error": False,
                     "advice": advice, "staged_at": at})
    with engine.begin() as conn:
        conn.execute(insert(StagedAdvice), rows)
    decide(engine, run_id)
    grant(engine, run_id)
    notify(engine, run_id)
    return run_id


def count(engine: Engine, model: type, *where: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(model).where(*where)).scalar_one())

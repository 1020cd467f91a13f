"""`proactief consult`: one MAGDA consultation, shown as the yes/no findings the rules use — not the raw answer.

For operators checking a connection or a persona. The consultation is audited like any other.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from proactief.magda.client import MagdaClient
from proactief.magda.results import MagdaAnswer

__all__ = ["SERVICES", "consult"]

GHENT_NIS = "44021"
SERVICES = ("GeefPersoon", "GeefSociaalStatuut", "GeefDossierHandicap", "GeefAanslagbiljetPersonenbelasting")
STATUTES = ("BIM_BVT", "BIM_BVT_IN_FAMILY", "LIVING_WAGES_PCSA_HELP", "PCSA_AND_BIM_HELP")


def _findings(service: str, answer: MagdaAnswer[Any], on: dt.date, statutes: tuple[str, ...]) -> dict[str, Any]:
    v = answer.value
    if v is None:
        return {}
    if service == "GeefPersoon":
        return {
            "ghent_main_residence": v.woont_in(GHENT_NIS, on),
            "deceased": v.overleden_op(on),
            "household_members": len(getattr(v, "gezinsleden", ()) or ()),
        }
    if service == "GeefSociaalStatuut":
        return {s: bool((r := v.get(s)) is not None and r.geldt_op(on)) for s in statutes}
    if service == "GeefDossierHandicap":
        return {
            "parking_card_valid": v.kaart_geldig("PARKINGCARD", on),
            "reduction_card_valid": v.kaart_geldig("REDUCTIONCARD", on),
        }
    if service == "GeefAanslagbiljetPersonenbelasting":
        return {"income_year": v.inkomensjaar, "items_present": sorted(v.items)}
    return {}


def consult(
    client: MagdaClient,
    service: str,
    insz: str,
    on: dt.date,
    *,
    statutes: tuple[str, ...] = STATUTES,
    income_year: int | None = None,
    purpose: str | None = None,
) -> dict[str, Any]:
    """Ask one service about one person; return outcome class, deciding code and the findings on ``on``."""
    if service == "GeefPersoon":
        answer: MagdaAnswer[Any] = client.geef_persoon(insz, purpose=purpose)
    elif service == "GeefSociaalStatuut":
        answer = client.geef_sociaal_statuut(insz, list(statutes), on, purpose=purpose)
    elif service == "GeefDossierHandicap":
        answer = client.geef_dossier_handicap(insz, on, purpose=purpose)
    elif service == "GeefAanslagbiljetPersonenbelasting":
        answer = client.geef_aanslagbiljet(insz, income_year or on.year - 1, purpose=purpose)
    else:
        raise ValueError(f"unknown service {service!r}; choose one of {', '.join(SERVICES)}")
    return {
        "service": answer.service,
        "outcome": answer.outcome.value,
        "code": answer.code,
        "attempts": answer.attempts,
        "detail": answer.detail,
        "date": on.isoformat(),
        "findings": _findings(service, answer, on, statutes),
    }

"""``schuldbemiddeling``: debt mediation at the OCMW on D (city data)."""

from proactief.schemes.factdefs.base import register
from proactief.schemes.factdefs.ocmw import ocmw_fact

SPEC = register(ocmw_fact(
    "schuldbemiddeling",
    label_nl="schuldbemiddeling bij het OCMW",
    source="Stad Gent – OCMW schuldbemiddeling",
    reason_true="CITY_SCHULDBEMIDDELING",
    reason_false="NO_CITY_SCHULDBEMIDDELING",
    reasons_nl={
        "CITY_SCHULDBEMIDDELING": "Krijgt schuldbemiddeling bij het OCMW Gent.",
        "NO_CITY_SCHULDBEMIDDELING": "Krijgt geen schuldbemiddeling bij het OCMW Gent.",
    },
))

"""``budgetbeheer``: budget guidance or management at the OCMW on D (city data)."""

from proactief.schemes.factdefs.base import register
from proactief.schemes.factdefs.ocmw import ocmw_fact

SPEC = register(ocmw_fact(
    "budgetbeheer",
    label_nl="budgetbegeleiding of budgetbeheer bij het OCMW",
    source="Stad Gent – OCMW budgetbeheer",
    reason_true="CITY_BUDGETBEHEER",
    reason_false="NO_CITY_BUDGETBEHEER",
    reasons_nl={
        "CITY_BUDGETBEHEER": "Krijgt budgetbegeleiding of budgetbeheer bij het OCMW Gent.",
        "NO_CITY_BUDGETBEHEER": "Krijgt geen budgetbegeleiding of budgetbeheer bij het OCMW Gent.",
    },
))

"""Every fact, declared once (one module each), and the reasons not tied to a fact.

Importing this package fills the registry in :mod:`~proactief.schemes.factdefs.base`; :mod:`proactief.schemes`
imports it first, so the registry is complete wherever a fact is looked up. Adding a fact is one module here, named in
``DECLARATIONS`` (then regenerate the schema's enums: ``python -m proactief.schemes.schema_gen --write``).
"""

import importlib

from proactief.schemes.factdefs.base import (
    FACT_SPECS,
    REASON_TEXTS,
    RULE_REASONS,
    FactSpec,
    Planner,
    PlanningContext,
    fact_spec,
    register,
    register_reasons,
    unregister,
)

DECLARATIONS = (
    "ghent_resident",
    "statute",
    "parking_card_valid",
    "parking_card_end_date",
    "budgetbeheer",
    "schuldbemiddeling",
    "enrolled_city_school_or_care",
    "household_size",
    "household_taxable_income",
    "lez_vehicle",
    "general",
)
"""The declaring modules, in declaration order (the order of ``FACT_SPECS`` and of the schema's enums)."""
for _module in DECLARATIONS:
    importlib.import_module(f"{__name__}.{_module}")

__all__ = [
    "FACT_SPECS",
    "REASON_TEXTS",
    "RULE_REASONS",
    "FactSpec",
    "Planner",
    "PlanningContext",
    "fact_spec",
    "register",
    "register_reasons",
    "unregister",
]

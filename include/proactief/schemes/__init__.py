"""The four Ghent schemes as rules-as-data: definitions, loader, facts, evaluator, test cases.

Typical use by the advice engine::

    scheme = load_scheme("uitpas-kansentarief")
    d = scheme.reference_date_for(logical_date)
    needed = needed_facts(scheme)                  # ask exactly these (required_services(scheme) for MAGDA)
    facts = derive_facts(scheme, observations, d)  # or Facts.of({...}) built by the caller
    decision = evaluate(scheme, facts, d)          # eligible / not_eligible / undetermined + trace
"""

import proactief.schemes.factdefs  # noqa: F401  (fills the fact registry before anything looks a fact up)
from proactief.schemes.derive import derive_facts
from proactief.schemes.evaluator import (
    Decision,
    GrantTerms,
    MissingFacts,
    Outcome,
    ProportionalityError,
    TraceOutcome,
    TraceStep,
    evaluate,
    needed_facts,
    outstanding_facts,
    required_services,
    required_statutes,
)
from proactief.schemes.facts import (
    ABSENT,
    FACT_SPECS,
    UNKNOWN,
    Fact,
    FactError,
    FactKey,
    Facts,
    FactState,
    Holder,
    Statute,
)
from proactief.schemes.loader import SchemeDefinitionError, load_all, load_file, load_scheme, scheme_ids
from proactief.schemes.model import Scheme
from proactief.schemes.observations import Observations, observations_from_mapping

__all__ = [
    "ABSENT",
    "FACT_SPECS",
    "UNKNOWN",
    "Decision",
    "Fact",
    "FactError",
    "FactKey",
    "FactState",
    "Facts",
    "GrantTerms",
    "Holder",
    "MissingFacts",
    "Observations",
    "Outcome",
    "ProportionalityError",
    "Scheme",
    "SchemeDefinitionError",
    "Statute",
    "TraceOutcome",
    "TraceStep",
    "derive_facts",
    "evaluate",
    "load_all",
    "load_file",
    "load_scheme",
    "needed_facts",
    "observations_from_mapping",
    "outstanding_facts",
    "required_services",
    "required_statutes",
    "scheme_ids",
]

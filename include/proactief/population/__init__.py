"""Synthetic Ghent: a deterministic population for the MAGDA simulator, the city's files and expected results.

``generate(size, seed, out=DIR, as_of=DATE)`` writes everything (see :mod:`proactief.population.generator`);
``load_residents`` / ``load_enrolments`` / ``load_ocmw`` read the city's files back, strictly
(see :mod:`proactief.population.readers`).
"""

from proactief.population.expected import ReferenceDates, reference_dates, school_year_of
from proactief.population.generator import DEFAULT_AS_OF, GenerationSummary, generate
from proactief.population.readers import (
    EnrolmentRow,
    OcmwRow,
    PopulationFileError,
    ResidentRow,
    iter_enrolments,
    iter_ocmw,
    iter_residents,
    load_enrolments,
    load_ocmw,
    load_residents,
)

__all__ = [
    "DEFAULT_AS_OF",
    "EnrolmentRow",
    "GenerationSummary",
    "OcmwRow",
    "PopulationFileError",
    "ReferenceDates",
    "ResidentRow",
    "generate",
    "iter_enrolments",
    "iter_ocmw",
    "iter_residents",
    "load_enrolments",
    "load_ocmw",
    "load_residents",
    "reference_dates",
    "school_year_of",
]

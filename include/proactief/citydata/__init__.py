"""The city's own files (``residents.csv``, ``enrolments.csv``, ``ocmw.csv``), read strictly.

The population sync and the advice engine read these files in production; they live here, in the product,
so that reading them never loads the synthetic-population generator of the test harness (``proactief_sim``).
"""

from proactief.citydata.readers import (
    ENROLMENT_COLUMNS,
    GHENT_DISTRICTS,
    OCMW_COLUMNS,
    RESIDENT_COLUMNS,
    RESIDENT_OPTIONAL_COLUMNS,
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
    school_year_of,
)

__all__ = [
    "ENROLMENT_COLUMNS",
    "OCMW_COLUMNS",
    "GHENT_DISTRICTS",
    "RESIDENT_COLUMNS",
    "RESIDENT_OPTIONAL_COLUMNS",
    "EnrolmentRow",
    "OcmwRow",
    "PopulationFileError",
    "ResidentRow",
    "iter_enrolments",
    "iter_ocmw",
    "iter_residents",
    "load_enrolments",
    "load_ocmw",
    "load_residents",
    "school_year_of",
]

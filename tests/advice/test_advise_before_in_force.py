"""``proactief advise`` on a reference date before a scheme's first parameter values refuses the date plainly,
before MAGDA is asked anything (no consultation without a scheme in force), instead of a ParameterNotInForce
traceback after the questions."""

from __future__ import annotations

import datetime as dt

import pytest

from proactief.advice.cli import EXIT_USAGE, advise_cli
from proactief.magda.audit import MemoryAuditSink
from proactief.magda.config import MagdaConfig
from proactief.schemes import load_all, load_scheme
from proactief.schemes.inforce import SchemeNotInForce, in_force_from, require_in_force

UNREACHABLE = MagdaConfig(base_url="http://127.0.0.1:9", backoff_base=0.0, backoff_cap=0.0, max_attempts=1)


@pytest.mark.parametrize("scheme_id", sorted(load_all()))
def test_a_date_before_the_first_parameter_values_is_refused_before_any_question(scheme_id: str) -> None:
    scheme = load_scheme(scheme_id)
    start = in_force_from(scheme)
    audit = MemoryAuditSink()
    logical = start - dt.timedelta(days=1)
    code, text = advise_cli(scheme_id, "84640438954", logical, audit=audit, config=UNREACHABLE)
    assert scheme.reference_date_for(logical) < start
    assert code == EXIT_USAGE
    assert text.startswith("error: scheme") and "not in force" in text and start.isoformat() in text
    assert audit.consultations == []
    assert "84640438954" not in text


def test_in_force_from_is_the_latest_first_value_of_any_parameter() -> None:
    scheme = load_scheme("uitpas-kansentarief")
    assert in_force_from(scheme) == dt.date(2022, 1, 1)
    require_in_force(scheme, dt.date(2022, 1, 1))
    with pytest.raises(SchemeNotInForce, match="korting"):
        require_in_force(scheme, dt.date(2021, 12, 31))

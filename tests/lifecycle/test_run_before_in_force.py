"""A scheme run (or backfill) for a reference date before the scheme's first parameter values fails when it is
opened — a clear ValueError the DAG turns into a failed run without retries — and leaves no run, no subjects and
no MAGDA question behind, instead of failing on the first eligible person after MAGDA was asked."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, func, select

from proactief.ledger.models import MagdaConsultation, RunSubject, SchemeRun
from proactief.lifecycle import open_run
from proactief.schemes import load_scheme
from proactief.schemes.inforce import SchemeNotInForce, in_force_from

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("scheme_id", ["uitpas-kansentarief", "ivago-tegemoetkoming", "onderwijskorting",
                                       "lez-vrijstelling"])
def test_opening_a_run_before_the_scheme_is_in_force_is_refused(ledger: Engine, scheme_id: str) -> None:
    start = in_force_from(load_scheme(scheme_id))
    with pytest.raises(SchemeNotInForce, match=f"not in force.*{start.isoformat()}") as refused:
        open_run(ledger, scheme_id, start - dt.timedelta(days=1), external_id=f"backfill-{scheme_id}")
    assert isinstance(refused.value, ValueError)  # the DAG's open_run fails without a retry
    with ledger.connect() as conn:
        assert conn.execute(select(func.count()).select_from(SchemeRun)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(RunSubject)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(MagdaConsultation)).scalar_one() == 0
    assert open_run(ledger, scheme_id, start + dt.timedelta(days=400), external_id=f"ok-{scheme_id}") > 0

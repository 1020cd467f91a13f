"""What `bin/run` shows: the simulator, real consultations, advice and the audit trail they leave.

Prints masked INSZ only (first six digits), never a full number.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from proactief.ledger import database_url, display_url, make_engine, upgrade
from proactief.ledger.audit import LedgerAuditSink
from proactief.magda.audit import OutcomeClass
from proactief.magda.client import MagdaClient
from proactief.magda.config import MagdaConfig

__all__ = ["run_demo", "mask"]

AFNEMER = "gent.be/proactief"
PERSONAS = [
    ("84640438954", "Gents gezin met verhoogde tegemoetkoming"),
    ("86710585636", "leefloon (LIVING_WAGES_PCSA_HELP)"),
    ("44640618933", "OCMW-hulp en verhoogde tegemoetkoming"),
    ("91610100176", "bron overbelast (99996)"),
]
STATUTES = ["BIM_BVT", "BIM_BVT_IN_FAMILY", "LIVING_WAGES_PCSA_HELP", "PCSA_AND_BIM_HELP"]


def mask(insz: str) -> str:
    return insz[:6] + "*****"


def run_demo(echo: Callable[[str], None], workdir: Path, db_url: str | None = None, keep_running: bool = False) -> int:
    from proactief_sim.simulator.testing import running_simulator

    url = database_url(db_url)
    upgrade(url)
    engine = make_engine(url)
    echo(f"ledger: {url.split('///')[-1] if url.startswith('sqlite') else 'postgresql'} (migrated)")
    with running_simulator(allowed_afnemers=frozenset({AFNEMER}), seed=1) as sim:
        echo(f"MAGDA simulator: {sim.base_url}  (single endpoint {sim.soap_url()})")
        config = MagdaConfig(
            base_url=sim.base_url,
            identificatie=AFNEMER,
            hoedanigheid="ipdc2045",
            hoedanigheden={"uitpas-kansentarief": "ipdc2045"},
            max_attempts=3,
            backoff_base=0.05,
            backoff_cap=0.2,
        )
        sink = LedgerAuditSink(engine)
        with MagdaClient(config, sink) as client:
            d = dt.date.today()
            echo("")
            echo(f"{'persoon':<13} {'wie':<42} {'GeefPersoon':<12} {'Gent?':<6} {'statuten op ' + d.isoformat()}")
            for insz, who in PERSONAS:
                person = client.geef_persoon(insz, purpose="uitpas-kansentarief")
                ghent = "-"
                if person.outcome is OutcomeClass.OK and person.value is not None:
                    ghent = "ja" if person.value.woont_in("44021", d) else "nee"
                statuut = client.geef_sociaal_statuut(insz, STATUTES, d, purpose="uitpas-kansentarief")
                if statuut.outcome is OutcomeClass.OK and statuut.value is not None:
                    held = [s for s in STATUTES if (r := statuut.value.get(s)) is not None and r.geldt_op(d)]
                    statutes = ", ".join(held) or "geen"
                else:
                    statutes = f"{statuut.outcome.value} ({statuut.code or statuut.detail})"
                outcome = person.outcome.value + (f" {person.code}" if person.code else "")
                echo(f"{mask(insz):<13} {who:<42} {outcome:<12} {ghent:<6} {statutes}")
        echo("")
        echo("audit trail (ledger table magda_consultation), this run:")
        from sqlalchemy import select

        from proactief.ledger.models import MagdaConsultation

        with engine.connect() as conn:
            rows = conn.execute(
                select(MagdaConsultation.service, MagdaConsultation.outcome, MagdaConsultation.code)
            ).all()
        for (service, outcome, code), n in sorted(Counter(rows).items()):
            echo(f"  {n:>4} x {service:<46} {outcome:<18} {code or ''}")
        echo("")
        echo(f"who consulted a person:  proactief db audit --insz 84640438954 --db-url {display_url(url)}")
        if keep_running:
            echo(f"simulator keeps running at {sim.base_url}; press Ctrl-C to stop")
            try:
                sim.process.wait()
            except KeyboardInterrupt:
                pass
    engine.dispose()
    return 0

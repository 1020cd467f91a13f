"""Every canned MAGDA persona against every scheme, through the real simulator: decision, reasons, tier, amounts, grant.

Prints one JSON object keyed ``scheme/insz`` so two checkouts can be compared line by line before and after a
refactoring that must not change behaviour (``diff <(python tools/persona_decisions.py) before.json``). A test
harness tool: it reads INSZ numbers of published MAGDA-Mock test persons, never a real resident's.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import sys
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path

from proactief.advice import Advisor
from proactief.insz import InvalidINSZ, validate_insz
from proactief.magda.audit import MemoryAuditSink
from proactief.magda.client import MagdaClient
from proactief.magda.config import MagdaConfig
from proactief.schemes import load_all

try:
    from proactief_sim.simulator.testing import running_simulator
except ImportError:  # before the harness moved out of the product
    from proactief_sim.simulator.testing import running_simulator  # type: ignore[no-redef]

RUN = dt.date(2026, 11, 1)
CANNED = Path(__file__).resolve().parents[1].parent / "shared" / "magda" / "testcases"


def canned_inszs() -> list[str]:
    found = {m for p in CANNED.rglob("*.xml") for m in re.findall(r"(?<!\d)\d{11}(?!\d)", p.name)}
    return sorted(i for i in found if _valid(i))


def _valid(insz: str) -> bool:
    try:
        validate_insz(insz)
    except InvalidINSZ:
        return False
    return True


def plain(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in sorted(value.items())}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if hasattr(value, "value"):
        return value.value
    return value


def main() -> int:
    schemes = load_all()
    hoedanigheden = {s.id: s.magda.hoedanigheid for s in schemes.values()}
    inszs = canned_inszs()
    out: dict[str, object] = {}
    with running_simulator(seed=5) as sim:
        config = MagdaConfig(base_url=sim.base_url, identificatie="gent.be/proactief", hoedanigheden=hoedanigheden,
                             backoff_base=0.0, backoff_cap=0.0)
        with MagdaClient(config, MemoryAuditSink()) as client:
            for scheme_id, scheme in sorted(schemes.items()):
                advisor = Advisor(client, scheme)
                for insz in inszs:
                    a = advisor.advise_one(insz, scheme.reference_date_for(RUN))
                    out[f"{scheme_id}/{insz}"] = {
                        "decision": a.decision.value, "tier": a.tier, "amount": plain(a.amount),
                        "amounts": plain(dict(a.amounts)), "reasons": list(a.reasons),
                        "grant": plain(a.grant), "household_reference": a.household_reference,
                    }
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

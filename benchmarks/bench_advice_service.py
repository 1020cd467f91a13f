"""The counter's latency through the advice service (issue 20.3): one subject, synchronously, against the simulator
answering every MAGDA call after 50 ms. Target: p95 <= 300 ms.

Starts the real simulator (``--latency-ms``), a fresh PostgreSQL ledger and ``proactief advice-service`` (uvicorn,
its own process), then asks ``POST /v1/advice`` for the MAGDA test personas in turn: sequentially (one clerk) and
with ``--concurrency`` callers at once (several counters). For comparison the same persons decided in-process
(the engine on a MAGDA client in this process), so the service's own share is visible.

    .venv/bin/python benchmarks/bench_advice_service.py [--calls 200] [--latency-ms 50] [--concurrency 4]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the test harness starts the service as a subprocess

from sqlalchemy import create_engine, func, select  # noqa: E402

from proactief.advice import Advisor  # noqa: E402
from proactief.advice.city import EmptyCityData  # noqa: E402
from proactief.advice_service.client import AdviceServiceClient  # noqa: E402
from proactief.ledger import upgrade  # noqa: E402
from proactief.ledger.models import MagdaConsultation  # noqa: E402
from proactief.magda.audit import MemoryAuditSink  # noqa: E402
from proactief.magda.client import MagdaClient  # noqa: E402
from proactief.magda.config import MagdaConfig  # noqa: E402
from proactief.schemes import load_all, load_scheme  # noqa: E402
from proactief_sim.simulator.testing import running_simulator  # noqa: E402
from tests.advice_service.service_harness import TOKENS, running_service  # noqa: E402
from tests.e2e.harness import create_database, drop_database  # noqa: E402

SCHEME = "uitpas-kansentarief"
PERSONAS = ("84640438954", "86710585636", "44640618933", "73640618960")
"""Gent + BIM, Gent + leefloon, Gent + OCMW and BIM help, Destelbergen: two or three MAGDA questions each."""


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _report(label: str, ms: list[float]) -> float:
    p95 = _pct(ms, 0.95)
    print(f"{label:<44} n={len(ms):4d}  p50 {statistics.median(ms):6.1f} ms  p95 {p95:6.1f} ms  "
          f"p99 {_pct(ms, 0.99):6.1f} ms  max {max(ms):6.1f} ms")
    return p95


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--latency-ms", type=float, default=50.0)
    ap.add_argument("--concurrency", type=int, default=4)
    args = ap.parse_args()
    d = load_scheme(SCHEME).reference_date_for(dt.date(2026, 11, 1))
    url = create_database("proactief_bench")
    try:
        upgrade(url)
        with running_simulator(seed=5, latency_ms=args.latency_ms) as sim, \
                tempfile.TemporaryDirectory() as logs, \
                running_service(url, sim.base_url, Path(logs), instance="bench") as svc:
            print(f"simulator latency {args.latency_ms:.0f} ms per MAGDA call; scheme {SCHEME}; "
                  f"{len(PERSONAS)} personas in turn")
            # in-process, for comparison: the same engine on a client in this process
            hoedanigheden = {s.id: s.magda.hoedanigheid for s in load_all().values()}
            config = MagdaConfig(base_url=sim.base_url, identificatie="gent.be/proactief",
                                 hoedanigheden=hoedanigheden, backoff_base=0.0, backoff_cap=0.0)
            local: list[float] = []
            with MagdaClient(config, MemoryAuditSink()) as client:
                for i in range(min(args.calls, 100) + 10):
                    t = time.perf_counter()
                    Advisor(client, SCHEME, EmptyCityData()).advise_one(PERSONAS[i % len(PERSONAS)], d)
                    if i >= 10:
                        local.append((time.perf_counter() - t) * 1000)
            _report("in-process (engine + client, no service)", local)
            with AdviceServiceClient(svc.url, TOKENS["counter"], user="bench") as counter:
                for i in range(10):  # warm-up: connections, first registration in the repertorium
                    counter.advise(SCHEME, d, PERSONAS[i % len(PERSONAS)])
                seq: list[float] = []
                decisions: Counter[str] = Counter()
                for i in range(args.calls):
                    t = time.perf_counter()
                    decisions[counter.advise(SCHEME, d, PERSONAS[i % len(PERSONAS)]).decision] += 1
                    seq.append((time.perf_counter() - t) * 1000)
            p95 = _report("service, one caller (POST /v1/advice)", seq)

            def one(i: int) -> float:
                with AdviceServiceClient(svc.url, TOKENS["counter"], user=f"bench-{i % args.concurrency}") as c:
                    t = time.perf_counter()
                    c.advise(SCHEME, d, PERSONAS[i % len(PERSONAS)])
                    return (time.perf_counter() - t) * 1000

            with ThreadPoolExecutor(args.concurrency) as pool:
                par = list(pool.map(one, range(args.calls)))
            p95_par = _report(f"service, {args.concurrency} callers at once", par)
        engine = create_engine(url)
        with engine.connect() as conn:
            asked = conn.execute(select(func.count()).select_from(MagdaConsultation)
                                 .where(MagdaConsultation.consulted_by.like("counter/bench%"),
                                        MagdaConsultation.service.like("%.Geef%"))).scalar_one()
        engine.dispose()
        total = args.calls * 2 + 10
        print(f"decisions {dict(decisions)}; {asked / total:.2f} MAGDA questions per advice (audited in the ledger)")
        ok = p95 <= 300.0
        print(f"target p95 <= 300 ms (one caller): {'met' if ok else 'NOT met'} ({p95:.1f} ms); "
              f"{args.concurrency} callers: {p95_par:.1f} ms")
        return 0 if ok else 1
    finally:
        drop_database(url)


if __name__ == "__main__":
    sys.exit(main())

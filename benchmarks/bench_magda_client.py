"""Client -> simulator throughput on this machine (both share its cores), with every consultation audited.

Prints calls/s and p50/p99 latency for single-person GeefSociaalStatuut, and persons/s through
GeefSociaalStatuutVoorLijst. Targets (issue 2): >= 1,000 calls/s and >= 20,000 persons/s.

    .venv/bin/python benchmarks/bench_magda_client.py [--calls 6000] [--persons 100000] [--concurrency 8]
        [--processes 2]   # the list run again with N client processes (mapped Airflow tasks run side by side)
        [--ledger postgresql+psycopg2://postgres@127.0.0.1:5432/postgres]   # audit into a real ledger
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from proactief.magda.audit import AuditSink, MemoryAuditSink, OutcomeClass
from proactief.magda.client import MagdaClient
from proactief.magda.config import MagdaConfig
from proactief_sim.simulator.testing import running_simulator

STATUTES = ["BIM_BVT", "BIM_BVT_IN_FAMILY", "LIVING_WAGES_PCSA_HELP", "PCSA_AND_BIM_HELP"]
AFNEMER = "gent.be/proactief"


def tst_inszs(n: int, start: int = 1) -> Iterator[str]:
    """Valid MAGDA test INSZ (birth month + 60), born 1980-1999, never a real citizen."""
    made = 0
    serial = start
    while made < n:
        year = 80 + (serial // 9000) % 20
        month = 61 + (serial // 300) % 12
        day = 1 + serial % 28
        seq = 1 + serial % 997
        base = f"{year:02d}{month:02d}{day:02d}{seq:03d}"
        check = 97 - int(base) % 97
        serial += 1
        made += 1
        yield f"{base}{check:02d}"


def _sink(ledger: str | None) -> tuple[AuditSink, object]:
    if not ledger:
        return MemoryAuditSink(), None
    from proactief.ledger import make_engine, upgrade
    from proactief.ledger.audit import LedgerAuditSink

    upgrade(ledger)
    engine = make_engine(ledger)
    return LedgerAuditSink(engine), engine


def bench_single(client: MagdaClient, calls: int, people: list[str]) -> None:
    latencies: list[float] = []
    datum = dt.date(2026, 11, 1)

    def one(i: str):  # type: ignore[no-untyped-def]
        t0 = time.perf_counter()
        a = client.geef_sociaal_statuut(i, STATUTES, datum, purpose="uitpas-kansentarief")
        latencies.append(time.perf_counter() - t0)
        return a

    stream = (people[k % len(people)] for k in range(calls))
    t0 = time.perf_counter()
    outcomes = [a.outcome for _, a in client.for_each(stream, one)]
    wall = time.perf_counter() - t0
    ok = sum(o is OutcomeClass.OK for o in outcomes)
    q = statistics.quantiles(latencies, n=100)
    print(
        f"single GeefSociaalStatuut: {calls} calls in {wall:.2f}s = {calls / wall:,.0f} calls/s; "
        f"p50 {q[49] * 1000:.1f} ms, p99 {q[98] * 1000:.1f} ms; ok {ok}/{calls}"
    )


def bench_list(client: MagdaClient, persons: int, chunk: int) -> None:
    datum = dt.date(2026, 11, 1)
    t0 = time.perf_counter()
    n = ok = 0
    for _, a in client.sociaal_statuut_many(tst_inszs(persons, 50_000), STATUTES, datum, chunk_size=chunk):
        n += 1
        ok += a.outcome is OutcomeClass.OK
    wall = time.perf_counter() - t0
    print(
        f"list GeefSociaalStatuutVoorLijst: {n} persons in {wall:.2f}s = {n / wall:,.0f} persons/s "
        f"(chunks of {chunk}); ok {ok}/{n}"
    )


def _list_worker(args: tuple[str, int, int, int, int]) -> tuple[int, int]:
    """One OS process with its own client: how an Airflow deployment runs mapped chunks side by side."""
    base_url, persons, start, chunk, concurrency = args
    config = MagdaConfig(base_url=base_url, identificatie=AFNEMER, hoedanigheid="ipdc2045",
                         max_concurrency=concurrency)
    n = ok = 0
    with MagdaClient(config, MemoryAuditSink()) as client:
        for _, a in client.sociaal_statuut_many(tst_inszs(persons, start), STATUTES, dt.date(2026, 11, 1),
                                                chunk_size=chunk):
            n += 1
            ok += a.outcome is OutcomeClass.OK
    return n, ok


def bench_list_processes(base_url: str, persons: int, chunk: int, processes: int, concurrency: int) -> None:
    from multiprocessing import get_context

    share = persons // processes
    jobs = [(base_url, share, 50_000 + k * share, chunk, concurrency) for k in range(processes)]
    with get_context("spawn").Pool(processes) as pool:
        pool.map(_list_worker, [(base_url, 2000, 10, chunk, concurrency)] * processes)  # warm-up
        t0 = time.perf_counter()
        results = pool.map(_list_worker, jobs)
        wall = time.perf_counter() - t0
    n = sum(r[0] for r in results)
    ok = sum(r[1] for r in results)
    print(
        f"list GeefSociaalStatuutVoorLijst, {processes} client processes: {n} persons in {wall:.2f}s = "
        f"{n / wall:,.0f} persons/s (chunks of {chunk}); ok {ok}/{n}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=6000)
    ap.add_argument("--persons", type=int, default=100_000)
    ap.add_argument("--chunk", type=int, default=1000)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--ledger", help="SQLAlchemy URL: audit into this ledger instead of memory")
    ap.add_argument("--processes", type=int, default=2, help="client processes for the list run (0: skip)")
    args = ap.parse_args()

    people = list(tst_inszs(2000))
    with tempfile.TemporaryDirectory() as tmp, running_simulator(repertorium_check=False) as sim:
        _ = Path(tmp)
        sink, engine = _sink(args.ledger)
        config = MagdaConfig(
            base_url=sim.base_url, identificatie=AFNEMER, hoedanigheid="ipdc2045", max_concurrency=args.concurrency
        )
        with MagdaClient(config, sink) as client:
            client.geef_sociaal_statuut(people[0], STATUTES, dt.date(2026, 11, 1))  # warm-up
            bench_single(client, args.calls, people)
            bench_list(client, args.persons, args.chunk)
        if args.processes:
            bench_list_processes(sim.base_url, args.persons, args.chunk, args.processes, max(1, args.concurrency // 2))
        if engine is not None:
            engine.dispose()  # type: ignore[attr-defined]
        print(f"audit sink: {'ledger ' + args.ledger.split('@')[-1] if args.ledger else 'memory'}")


if __name__ == "__main__":
    main()

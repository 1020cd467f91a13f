"""Whole-city advice throughput: uitpas-kansentarief for a synthetic Ghent through the simulator.

Generates the population (or reuses ``--population DIR``), serves it with the simulator (repertorium check
off: a production run registers the population once, in the population-sync DAG), runs
``Advisor.advise_many`` for every resident and prints persons/s, wall time, peak memory of this process and
the calls per service. Target: the whole city (270,000 persons) in <= 60 s.

    .venv/bin/python benchmarks/bench_advice.py [--size 270000] [--population DIR] [--concurrency 16]
        [--scheme uitpas-kansentarief] [--compare]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import resource
import tempfile
import time
from collections import Counter
from pathlib import Path

from proactief.advice import Advisor, CityFiles
from proactief.advice.compare import compare_with_expected, read_expected
from proactief.magda.client import MagdaClient
from proactief.magda.config import MagdaConfig
from proactief.schemes import load_scheme
from proactief_sim.population import generate
from proactief_sim.simulator.testing import running_simulator


class CountingSink:
    """Counts consultations instead of keeping them (the ledger sink is benchmarked elsewhere)."""

    def __init__(self) -> None:
        self.count = 0

    def record(self, consultations) -> None:  # type: ignore[no-untyped-def]
        self.count += len(consultations)


def _cpu_seconds(sim_pid: int) -> tuple[float, float]:
    """User + system CPU so far of the simulator, and of this process with the client processes it started."""
    import psutil

    def cpu(p: psutil.Process) -> float:
        t = p.cpu_times()
        return t.user + t.system

    me = psutil.Process()
    reaped = me.cpu_times().children_user + me.cpu_times().children_system  # client processes that have ended
    clients = cpu(me) + reaped + sum(cpu(c) for c in me.children(recursive=True) if c.pid != sim_pid)
    return cpu(psutil.Process(sim_pid)), clients


_WORKER: dict[str, object] = {}


def _init_worker(folder: str, scheme_id: str, base_url: str, concurrency: int, chunk: int) -> None:
    """Each process has its own city data, client and connection pool — as mapped Airflow tasks would."""
    scheme = load_scheme(scheme_id)
    config = MagdaConfig(base_url=base_url, hoedanigheden={scheme.id: scheme.magda.hoedanigheid},
                         max_concurrency=concurrency)
    sink = CountingSink()
    client = MagdaClient(config, sink)
    _WORKER.update(sink=sink, advisor=Advisor(client, scheme, CityFiles.load(Path(folder)), list_chunk_size=chunk))


def _advise_slice(job: tuple[list[str], str, bool]) -> tuple[Counter[str], int, list[tuple[str, str]]]:
    """Decide one slice; send back counts and, when comparing, (subject, decision) pairs — not Advice objects."""
    subjects, day, keep = job
    advisor = _WORKER["advisor"]
    decisions: Counter[str] = Counter()
    kept: list[tuple[str, str]] = []
    for advice in advisor.advise_many(subjects, dt.date.fromisoformat(day)):  # type: ignore[attr-defined]
        decisions[advice.decision.value] += 1
        if keep:
            kept.append((advice.subject, advice.decision.value))
    return decisions, _WORKER["sink"].count, kept  # type: ignore[attr-defined]


def run_processes(folder: Path, scheme_id: str, base_url: str, subjects: list[str], d: dt.date,
                  processes: int, concurrency: int, chunk: int, keep: bool) -> tuple[float, Counter[str], int, list]:
    from multiprocessing import get_context

    slices = [subjects[k::processes] for k in range(processes)]
    with get_context("spawn").Pool(processes, _init_worker,
                                   (str(folder), scheme_id, base_url, concurrency, chunk)) as pool:
        pool.map(_advise_slice, [([], d.isoformat(), False)] * processes)  # wait until every worker is ready
        t = time.perf_counter()
        results = pool.map(_advise_slice, [(sl, d.isoformat(), keep) for sl in slices])
        wall = time.perf_counter() - t
    decisions: Counter[str] = Counter()
    audited = 0
    kept: list[tuple[str, str]] = []
    for dec, count, adv in results:
        decisions.update(dec)
        audited += count
        kept.extend(adv)
    return wall, decisions, audited, kept


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--size", type=int, default=270_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--population", type=Path, help="an existing generator output folder")
    ap.add_argument("--scheme", default="uitpas-kansentarief")
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--chunk", type=int, default=500, help="persons per list-service message")
    ap.add_argument("--compare", action="store_true", help="also compare with expected/<scheme>.csv")
    ap.add_argument("--processes", type=int, default=1,
                    help="split the subjects over N client processes (as mapped Airflow tasks do)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)

    with tempfile.TemporaryDirectory() as tmp:
        folder = args.population
        if folder is None:
            folder = Path(tmp) / "ghent"
            t = time.perf_counter()
            generate(args.size, args.seed, out=folder)
            print(f"generated {args.size:,} persons in {time.perf_counter() - t:.1f}s")
        dates = json.loads((folder / "expected/reference-dates.json").read_text())
        scheme = load_scheme(args.scheme)
        d = dt.date.fromisoformat(dates[scheme.id])
        t = time.perf_counter()
        city = CityFiles.load(folder)
        subjects = city.subjects(scheme, d)
        print(f"city files read in {time.perf_counter() - t:.1f}s: {len(subjects):,} subjects, D = {d}")

        with running_simulator(population=str(folder / "magda-population.jsonl"), repertorium_check=False) as sim:
            cpu_before = _cpu_seconds(sim.pid)
            if args.processes > 1:
                wall, decisions, audited, kept = run_processes(
                    folder, scheme.id, sim.base_url, list(subjects), d, args.processes, args.concurrency,
                    args.chunk, args.compare)
                keep = None
                calls = f"{args.processes} client processes"
                if args.compare:
                    expected = read_expected(folder / f"expected/{scheme.id}.csv")
                    matrix = Counter((expected[s]["decision"], dec) for s, dec in kept if s in expected)
                    print(f"expected vs decided: {dict(matrix)}; "
                          f"exact: {all(e == dd for (e, dd) in matrix.elements())}")
            else:
                config = MagdaConfig(base_url=sim.base_url, hoedanigheden={scheme.id: scheme.magda.hoedanigheid},
                                     max_concurrency=args.concurrency)
                sink = CountingSink()
                with MagdaClient(config, sink) as client:
                    advisor = Advisor(client, scheme, city, list_chunk_size=args.chunk)
                    decisions = Counter()
                    keep = [] if args.compare else None
                    t = time.perf_counter()
                    for advice in advisor.advise_many(subjects, d):
                        decisions[advice.decision.value] += 1
                        if keep is not None:
                            keep.append(advice)
                    wall = time.perf_counter() - t
                audited = sink.count
                calls = str(dict(advisor.stats.calls))
            sim_cpu, own_cpu = (after - before for after, before in zip(_cpu_seconds(sim.pid), cpu_before,
                                                                        strict=True))
        peak_mb = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                      resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
        n = sum(decisions.values())
        print(f"{scheme.id}: {n:,} persons in {wall:.1f}s = {n / wall:,.0f} persons/s "
              f"(target: whole city in <= 60 s: {'met' if wall <= 60 else 'NOT met'})")
        print(f"peak memory (largest single process, RSS; includes the simulator): {peak_mb:,.0f} MB")
        print(f"CPU during the run: simulator {sim_cpu:.1f} s, client(s) {own_cpu:.1f} s, on {os.cpu_count()} cores "
              f"(the sum / cores is the floor for the wall time when both share the machine)")
        print(f"decisions: {dict(decisions)}")
        print(f"calls: {calls}; consultations audited: {audited:,}")
        if keep is not None:
            cmp = compare_with_expected(scheme.id, keep, read_expected(folder / f"expected/{scheme.id}.csv"))
            print(cmp.render())
            print(f"exact: {cmp.exact}")


if __name__ == "__main__":
    main()

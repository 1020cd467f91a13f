"""Whole-city lifecycle: the ``uitpas-kansentarief`` DAG on LocalExecutor + PostgreSQL versus the same work in-process.

Generates the population (or reuses ``--population DIR``), serves it with the MAGDA simulator (repertorium check
off: the population-sync DAG registers residents once), imports the city data into two fresh PostgreSQL ledgers,
then

1. runs ``proactief.lifecycle.run_in_process`` (the same step functions, chunks queried ``--pool`` at a time in
   threads, as the ``magda`` pool lets Airflow run that many mapped tasks) in a child process, and
2. starts a real Airflow stack (api-server, scheduler with LocalExecutor, dag-processor, triggerer) on a fresh
   PostgreSQL metadata database, triggers the scheme DAG for the reference date and waits for it.

It prints wall time per step for both, peak memory per Airflow task (each task logs its process's peak RSS) and
the Airflow overhead. Targets: whole city (270,000) in <= 5 minutes; Airflow adds <= 50 % over in-process.

    .venv/bin/python benchmarks/bench_lifecycle.py [--size 270000] [--population DIR] [--chunk-size 5000]
        [--pool 2] [--skip-in-process] [--skip-airflow]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the e2e harness drives the Airflow stack

from tests.e2e.harness import (  # noqa: E402
    Service,
    airflow_stack,
    city_ledger,
    free_port,
    venv_bin,
)

SCHEME = "uitpas-kansentarief"
PEAK = re.compile(r"task peak memory (\d+) MiB")


def _in_process_child(url: str, magda_url: str, day: str, chunk_size: int, pool: int) -> None:
    """Runs in a fresh interpreter so that its peak memory is its own; prints one JSON line."""
    import os

    from proactief.ledger import make_engine
    from proactief.lifecycle import run_in_process
    from proactief.magda.config import MagdaConfig

    os.environ["PROACTIEF_MAGDA_BASE_URL"] = magda_url  # what the DAG's tasks read, too
    engine = make_engine(url)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    report = run_in_process(engine, SCHEME, dt.date.fromisoformat(day), MagdaConfig.from_env(),
                            chunk_size=chunk_size, timings=timings, parallel_chunks=pool)
    wall = time.perf_counter() - t0
    engine.dispose()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps({"wall": wall, "timings": timings, "peak_mib": peak,
                                  "figures": report.get("figures", report)}, default=str))


def in_process(url: str, magda_url: str, day: str, chunk_size: int, pool: int,
               env: dict[str, str] | None = None) -> dict:
    import os

    proc = subprocess.run([sys.executable, __file__, "--child", url, magda_url, day, str(chunk_size), str(pool)],
                          capture_output=True, text=True, env={**os.environ, **(env or {})})
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        raise SystemExit(f"in-process run failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1][7:])


def _step(task_id: str) -> str:
    return task_id.split(".")[-1]


def airflow_run(home: Path, url: str, magda_url: str, day: str, chunk_size: int, pool: int,
                parallelism: int) -> dict:
    env = {"PROACTIEF_DB_URL": url, "PROACTIEF_MAGDA_BASE_URL": magda_url,
           "PROACTIEF_ALERT_EMAIL": "operators@proactief.test"}
    with airflow_stack(home, extra_env=env, dags_folder=REPO / "dags", parallelism=parallelism) as stack:
        stack.cli("pools", "set", "magda", str(pool), "bench")
        stack.wait_for_dags([SCHEME], timeout=180)
        when = dt.datetime.fromisoformat(day).replace(hour=6, tzinfo=ZoneInfo("Europe/Brussels"))  # when it is due
        run_id = stack.trigger(SCHEME, when, conf={"chunk_size": chunk_size})
        t0 = time.perf_counter()
        stack.unpause(SCHEME, absorb_due_run_conf={"insz": "12345678901"})  # a tick of its own fails at once
        state = stack.wait_for_run(SCHEME, run_id, timeout=3600)
        wall = time.perf_counter() - t0
        rows = stack._rows(
            "SELECT task_id, map_index, try_number, start_date, end_date, queued_dttm FROM task_instance "
            "WHERE dag_id = :d AND run_id = :r AND state = 'success' ORDER BY start_date", d=SCHEME, r=run_id)
        run_rows = stack._rows("SELECT start_date, end_date FROM dag_run WHERE dag_id = :d AND run_id = :r",
                               d=SCHEME, r=run_id)
        steps: dict[str, dict] = defaultdict(lambda: {"tasks": 0, "busy": 0.0, "first": None, "last": None,
                                                        "peak_mib": 0})
        for r in rows:
            s = steps[_step(r.task_id)]
            s["tasks"] += 1
            s["busy"] += (r.end_date - r.start_date).total_seconds()
            s["first"] = min(filter(None, [s["first"], r.start_date]))
            s["last"] = max(filter(None, [s["last"], r.end_date]))
            log = stack.task_log_path(SCHEME, run_id, r.task_id, r.try_number, r.map_index)
            if log.exists():
                peaks = [int(m) for m in PEAK.findall(log.read_text(errors="replace"))]
                s["peak_mib"] = max([s["peak_mib"], *peaks])
        run_wall = (run_rows[0].end_date - run_rows[0].start_date).total_seconds() if run_rows else wall
        return {"state": state, "wall": run_wall, "wait_wall": wall, "steps": dict(steps)}


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        url, magda_url, day, chunk, pool = sys.argv[2:7]
        _in_process_child(url, magda_url, day, int(chunk), int(pool))
        return 0
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=270_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--population", type=Path, help="a generated population to reuse (else one is generated)")
    p.add_argument("--chunk-size", type=int, default=5_000,
                   help="records per mapped MAGDA task (the DAG allows 100..5000)")
    p.add_argument("--pool", type=int, default=2, help="slots of the magda pool = chunks queried at once")
    p.add_argument("--parallelism", type=int, default=4, help="Airflow core.parallelism")
    p.add_argument("--skip-in-process", action="store_true")
    p.add_argument("--skip-airflow", action="store_true")
    p.add_argument("--service", action="store_true",
                   help="also run in-process through the advice service (issue 20: it may add <= 15 %%)")
    p.add_argument("--service-chunk", type=int, default=500,
                   help="subjects an advice-service instance claims at a time (PROACTIEF_ADVICE_CHUNK_SIZE)")
    args = p.parse_args()

    from proactief_sim.population import generate

    work = Path(tempfile.mkdtemp(prefix="bench-lifecycle-"))
    folder = args.population
    if folder is None:
        folder = work / "population"
        t = time.perf_counter()
        generate(args.size, args.seed, out=folder)
        print(f"generated {args.size:,} persons in {time.perf_counter() - t:.1f} s")
    day = json.loads((folder / "expected/reference-dates.json").read_text())[SCHEME]
    residents = sum(1 for _ in open(folder / "residents.csv")) - 1
    port = free_port()
    sim = Service("magda-sim", [venv_bin("proactief"), "magda-sim", "--host", "127.0.0.1", "--port", str(port),
                                "--population", str(folder / "magda-population.jsonl"), "--no-repertorium-check"],
                  work, port=port).start()
    ledgers = contextlib.ExitStack()
    try:
        sim.wait_for_port(timeout=600)
        magda_url = f"http://127.0.0.1:{port}"
        print(f"{SCHEME}, reference date {day}, {residents:,} residents in the snapshot, chunk size "
              f"{args.chunk_size:,}, {args.pool} chunks at a time; {_cpus()} CPUs")
        base = None
        if not args.skip_in_process:
            ledger = ledgers.enter_context(city_ledger(folder, "proactief_bench"))
            base = in_process(ledger, magda_url, day, args.chunk_size, args.pool)
            print(f"\nin-process (no Airflow): {base['wall']:.1f} s, peak memory {base['peak_mib']:.0f} MiB")
            for name, secs in base["timings"].items():
                print(f"  {name:22} {secs:8.1f} s")
            print(f"  decisions {base['figures'].get('decisions')}, grant {base['figures'].get('grant')}")
        if args.service:
            from tests.advice_service.service_harness import TOKENS, running_service

            ledger = ledgers.enter_context(city_ledger(folder, "proactief_bench"))
            with running_service(ledger, magda_url, work, instance="bench",
                                 env={"PROACTIEF_ADVICE_CHUNK_SIZE": str(args.service_chunk)}) as svc:
                via = in_process(ledger, magda_url, day, args.chunk_size, args.pool,
                                 env={"PROACTIEF_ADVICE_URL": svc.url, "PROACTIEF_ADVICE_TOKEN": TOKENS["airflow"]})
            print(f"\nin-process through the advice service: {via['wall']:.1f} s, peak memory of the run's process "
                  f"{via['peak_mib']:.0f} MiB")
            for name, secs in via["timings"].items():
                print(f"  {name:22} {secs:8.1f} s")
            print(f"  decisions {via['figures'].get('decisions')}, grant {via['figures'].get('grant')}")
            if base is not None:
                same = via["figures"].get("decisions") == base["figures"].get("decisions")
                print(f"  the service adds {via['wall'] / base['wall'] - 1:+.0%} over in-process (target <= +15 %); "
                      f"decisions {'equal' if same else 'DIFFER'}")
        if not args.skip_airflow:
            ledger = ledgers.enter_context(city_ledger(folder, "proactief_bench"))
            out = airflow_run(work / "airflow", ledger, magda_url, day, args.chunk_size, args.pool,
                              args.parallelism)
            print(f"\nAirflow LocalExecutor + PostgreSQL: run {out['state']} in {out['wall']:.1f} s "
                  f"(dag_run start → end)")
            print(f"  {'step':22} {'tasks':>5} {'span s':>8} {'task s':>8} {'peak MiB/task':>14}")
            for name, s in out["steps"].items():
                span = (s["last"] - s["first"]).total_seconds()
                print(f"  {name:22} {s['tasks']:5d} {span:8.1f} {s['busy']:8.1f} {s['peak_mib']:14d}")
            if base is not None:
                overhead = out["wall"] / base["wall"] - 1
                print(f"\nAirflow overhead over in-process: {overhead:+.0%} (target <= +50 %); "
                      f"whole run {out['wall']:.0f} s (target <= 300 s)")
    finally:
        sim.stop()
        ledgers.close()  # drops the ledgers
    return 0


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0))


if __name__ == "__main__":
    raise SystemExit(main())

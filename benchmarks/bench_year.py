"""The simulated year (``tests/year/harness.py``): wall time and peak memory for a timeline of N persons.

Each size runs in a fresh interpreter (its peak memory is its own) on a fresh PostgreSQL database: the timeline is
built, served by the MAGDA simulator with 2 % transient faults, and walked from 2026-01-01 to 2027-01-31 day by
day (city extract import, opt-out intake, Monday mutations, every scheduled run in schedule order, re-decisions of
transient undetermined subjects, the outbox each day); then the year is checked against the timeline's truth.
Target: the 50,000-person year in <= 10 minutes on 2 cores.

    .venv/bin/python benchmarks/bench_year.py [--size 5000 --size 50000] [--until 2027-01-31]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
PG_ADMIN_URL = os.environ.get("PROACTIEF_TEST_PG", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")


def _child(size: int, until: str) -> None:
    """Runs in a fresh interpreter; prints one RESULT line of JSON."""
    import logging

    from sqlalchemy import create_engine, text

    from tests.year.harness import START, check_year, simulated_year

    logging.basicConfig(level=logging.ERROR)
    name = f"proactief_bench_year_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        with tempfile.TemporaryDirectory(prefix="bench-year-") as tmp:
            t0 = time.perf_counter()
            with simulated_year(url, Path(tmp), size=size) as year:
                setup = time.perf_counter() - t0
                year.run(START, dt.date.fromisoformat(until))
                wall = time.perf_counter() - t0
                found = check_year(year)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print("RESULT " + json.dumps({
            "size": size, "wall_s": round(wall, 1), "setup_s": round(setup, 1), "peak_mib": round(peak),
            "timings_s": {k: round(v, 1) for k, v in sorted(year.log.timings.items())},
            "days": year.log.days, "expected_grants": found.expected_grants, "missing": len(found.missing),
            "duplicates": len(found.duplicates), "duplicate_toegekend": len(found.duplicate_toegekend),
            "unexpected": len(found.unexpected), "failed_runs": len(found.failed_runs),
            "consulted_while_objecting": found.consulted_while_objecting, "casework_wrong": found.casework_wrong,
            "figures": found.figures,
        }, default=str), flush=True)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, action="append", help="persons (repeatable; default 5000 and 50000)")
    parser.add_argument("--until", default="2027-01-31", help="last simulated day (default 2027-01-31)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sizes = args.size or [5_000, 50_000]
    if args.child:
        _child(sizes[0], args.until)
        return
    print(f"{'persons':>8} {'wall':>9} {'peak':>9}  target 50,000 <= 600 s")
    for size in sizes:
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, __file__, "--child", "--size", str(size), "--until", args.until],
                              capture_output=True, text=True, cwd=REPO)
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
        if proc.returncode != 0 or not lines:
            print(f"{size:>8} failed after {time.perf_counter() - t0:.0f} s (exit {proc.returncode}):\n"
                  f"{proc.stderr[-3000:]}")
            continue
        result = json.loads(lines[-1][7:])
        print(f"{size:>8} {result['wall_s']:>8.0f}s {result['peak_mib']:>6} MiB  "
              f"(simulator process not counted; steps: {result['timings_s']})")
        print(f"{'':>8} checks: {json.dumps({k: v for k, v in result.items() if k not in ('timings_s',)})}")


if __name__ == "__main__":
    main()

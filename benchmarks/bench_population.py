"""Benchmark: generate the full synthetic Ghent (270,000 persons) and report wall time and peak memory.

    .venv/bin/python benchmarks/bench_population.py [--size 270000] [--seed 0] [--workers N] [--keep DIR]

Targets: ≤ 60 s and ≤ 1 GiB on the project's 2-core machine. Memory is the peak resident set size
(``getrusage``): of this process, of the largest worker process, and their sum over all workers as an upper
bound of what ran at the same time. Exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from proactief_sim.population import generate

TARGET_SECONDS = 60.0
TARGET_BYTES = 1 << 30


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", type=int, default=270_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=None, help="default: up to 2 processes")
    p.add_argument("--keep", metavar="DIR", help="write here and keep the files (default: a temporary folder)")
    a = p.parse_args()
    workers = a.workers or min(2, os.cpu_count() or 1)
    with tempfile.TemporaryDirectory(prefix="bench-population-") as tmp:
        out = Path(a.keep or tmp)
        start = time.perf_counter()
        summary = generate(a.size, a.seed, out=out, workers=workers)
        seconds = time.perf_counter() - start
        size_on_disk = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    together = own + (child * workers if workers > 1 else 0)
    print(f"persons            {a.size:,} (seed {a.seed}, {workers} worker process(es), {os.cpu_count()} CPU(s))")
    print(f"wall time          {seconds:.1f} s  ({a.size / seconds:,.0f} persons/s; target <= {TARGET_SECONDS:.0f} s)")
    print(f"peak RSS main      {own / 2**20:.0f} MiB")
    print(f"peak RSS worker    {child / 2**20:.0f} MiB (largest worker)")
    print(f"peak RSS bound     {together / 2**20:.0f} MiB (main + every worker at its peak; target <= 1024 MiB)")
    print(f"output             {size_on_disk / 2**20:.0f} MiB; " + ", ".join(
        f"{k} {v:,}" for k, v in summary.counts.items() if k.endswith((".csv", ".jsonl"))))
    ok = seconds <= TARGET_SECONDS and together <= TARGET_BYTES
    print("result             " + ("OK" if ok else "TARGET MISSED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: run the population data-quality suite (GX Core) on a synthetic 270,000-person frame.

    .venv/bin/python benchmarks/bench_quality.py [--size 270000] [--repeat 2]

Prints the GX import/context set-up time (paid once per task process), the wall time of each suite run and the peak
resident set size of the process (``getrusage``). The frame holds valid, unique test INSZ (month + 60) in households
of one to four persons with one reference person each, plus persons without a household.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time


def frame(size: int):  # noqa: ANN201 - pandas imported lazily
    import pandas as pd

    insz, household, reference = [], [], []
    for i in range(size):
        # YYMMDD with a MAGDA test month (60 + 1..12), serial SSS, check digits 97 - (base mod 97).
        dd, mm, yy, sss = 1 + i % 28, 61 + i // 28 % 12, i // 336 % 100, 1 + i // 33_600
        base = int(f"{yy:02d}{mm:02d}{dd:02d}{sss:03d}")
        insz.append(f"{base:09d}{97 - base % 97:02d}")
        hh = None if i // 3 % 10 == 9 else f"hh{i // 3}"
        household.append(hh)
        reference.append(hh is not None and i % 3 == 0)
    return pd.DataFrame({"insz": insz, "household_id": household, "reference_person": reference})


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", type=int, default=270_000)
    p.add_argument("--repeat", type=int, default=2)
    a = p.parse_args()
    start = time.perf_counter()
    import proactief.quality as q

    import_seconds = time.perf_counter() - start
    df = frame(a.size)
    rss_frame = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"rows                 {len(df):,}")
    print(f"import quality       {import_seconds:.3f} s (GX not imported yet)")
    print(f"peak RSS with frame  {rss_frame:.0f} MiB")
    for n in range(a.repeat):
        start = time.perf_counter()
        result = q.check_population(df)
        seconds = time.perf_counter() - start
        label = "first run (GX import + context)" if n == 0 else "next run"
        print(f"check_population     {seconds:.2f} s  {label}; success={result.success} "
              f"evaluated={result.evaluated} failures={len(result.failures)}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS             {rss:.0f} MiB")
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: how long the dag-processor needs to parse every DAG file of ``dags/`` (target: under a second).

    .venv/bin/python benchmarks/bench_dag_parse.py [--repeat 5]

Each repeat runs in a fresh interpreter with the DAG tests' isolated Airflow environment; ``airflow.sdk`` and the
operators are imported before the clock starts (the dag-processor has them loaded), so the figure is what the DAG
files themselves cost. Prints every repeat and the median. (This was a timed test; under the parallel suite it
measured the machine's load, not the DAG files — ``tests/dags/test_dag_integrity.py`` keeps the deterministic part:
no heavy import at a DAG file's top level.)
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CODE = """
import time
import airflow.sdk
import airflow.providers.standard.operators.hitl, airflow.providers.standard.operators.empty
from airflow.dag_processing.dagbag import DagBag
t0 = time.perf_counter()
bag = DagBag(dag_folder={dags!r})
elapsed = time.perf_counter() - t0
assert not bag.import_errors, bag.import_errors
print(elapsed, len(bag.dags))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    from tests.dags.airflow_env import DAGS, airflow_env

    times = []
    for n in range(args.repeat):
        proc = subprocess.run([sys.executable, "-c", textwrap.dedent(CODE.format(dags=str(DAGS)))],
                              env=airflow_env(), capture_output=True, text=True, timeout=300)
        if proc.returncode != 0:
            sys.exit(f"parsing failed:\n{proc.stderr[-3000:]}")
        elapsed, dags = proc.stdout.split()[-2:]
        times.append(float(elapsed))
        print(f"repeat {n + 1}: {float(elapsed):.3f} s for {dags} DAGs")
    print(f"median {statistics.median(times):.3f} s (target < 1.0 s)")


if __name__ == "__main__":
    main()

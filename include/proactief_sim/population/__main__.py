"""``python -m proactief_sim.population --size N --seed S --out DIR``: generate a synthetic Ghent (see the README)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import date

from proactief_sim.population.generator import DEFAULT_AS_OF, MAX_SIZE, generate


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the flags the project CLI offers as ``proactief population generate`` and run the generator."""
    p = argparse.ArgumentParser(prog="python -m proactief_sim.population", description=__doc__)
    p.add_argument("--size", type=int, default=270_000, help=f"number of persons (1..{MAX_SIZE})")
    p.add_argument("--seed", type=int, default=0, help="same seed, same files byte for byte")
    p.add_argument("--out", required=True, help="output folder (created if needed)")
    p.add_argument("--as-of", type=date.fromisoformat, default=DEFAULT_AS_OF,
                   help=f"date of the city's extract; the reference dates follow from it (default {DEFAULT_AS_OF})")
    p.add_argument("--workers", type=int, default=None, help="processes (default: up to 2); never changes output")
    a = p.parse_args(argv)
    try:
        summary = generate(a.size, a.seed, out=a.out, as_of=a.as_of, workers=a.workers)
    except ValueError as exc:
        print(f"population: {exc}", file=sys.stderr)
        return 2
    print(summary.as_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What the population tests share: a generated population read back into memory."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from proactief_sim.population import generate


@dataclass
class Generated:
    out: Path
    persons: dict[str, dict[str, Any]]
    manifest: dict[str, Any]
    dates: dict[str, str]

    def csv(self, name: str) -> list[dict[str, str]]:
        with open(self.out / name, encoding="utf-8", newline="") as fh:
            return list(csv.DictReader(fh))


def generate_and_read(out: Path, size: int, seed: int) -> Generated:
    generate(size, seed, out=out)
    persons = {}
    with open(out / "magda-population.jsonl", encoding="utf-8") as fh:
        for line in fh:
            obj = json.loads(line)
            persons[obj["insz"]] = obj
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    dates = json.loads((out / "expected" / "reference-dates.json").read_text(encoding="utf-8"))
    return Generated(out, persons, manifest, dates)

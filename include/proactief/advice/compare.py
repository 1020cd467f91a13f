"""Compare a run's advice with the population generator's ``expected/<scheme>.csv`` (tests, benchmarks, DQ).

Why here: the expected files are an independent second implementation of SCHEMES.md; matching them is the
project's end-to-end check of MAGDA client + simulator + observations + rules. The comparison reports counts
and confusion matrices only: no INSZ ever leaves this module (mismatching subjects are counted per kind; the
caller gets pseudonyms when it asks for examples).
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from proactief.advice.engine import Advice
from proactief.insz import pseudonym

__all__ = ["Comparison", "compare_with_expected", "read_expected"]

_DECISIONS = ("eligible", "not_eligible", "undetermined")


def read_expected(path: Path | str) -> dict[str, dict[str, str]]:
    """``expected/<scheme>.csv`` as subject INSZ → row."""
    with open(path, encoding="utf-8", newline="") as fh:
        return {row["subject_insz"]: row for row in csv.DictReader(fh)}


@dataclass
class Comparison:
    """Expected versus decided, per subject of the expected file."""

    scheme_id: str
    matrix: Counter[tuple[str, str]] = field(default_factory=Counter)
    """(expected decision, decided) → count."""
    detail_mismatches: Counter[str] = field(default_factory=Counter)
    """Same decision but another tier / amount / plate / valid_until → count per field."""
    missing: int = 0
    """Expected subjects the run did not decide."""
    extra: Counter[str] = field(default_factory=Counter)
    """Decisions about subjects the expected file does not list (LEZ lists card holders only)."""
    examples: list[str] = field(default_factory=list)
    """Pseudonyms (never INSZ) and what differed, for diagnosis."""

    @property
    def exact(self) -> bool:
        wrong = sum(n for (e, g), n in self.matrix.items() if e != g)
        return not wrong and not self.detail_mismatches and not self.missing and not self.extra["eligible"]

    def wrongly_refused(self) -> int:
        """Expected eligible, decided not_eligible: the error that must never happen on a transient fault."""
        return self.matrix[("eligible", "not_eligible")]

    def render(self) -> str:
        """The confusion matrix as text: rows expected, columns decided."""
        width = max(len(d) for d in _DECISIONS) + 2
        head = f"{self.scheme_id}: expected \\ decided".ljust(34) + "".join(d.rjust(width) for d in _DECISIONS)
        lines = [head]
        for e in ("eligible", "not_eligible"):
            lines.append(f"  {e}".ljust(34) + "".join(str(self.matrix[(e, g)]).rjust(width) for g in _DECISIONS))
        if self.detail_mismatches:
            lines.append(f"  detail mismatches: {dict(self.detail_mismatches)}")
        if self.missing:
            lines.append(f"  expected subjects not decided: {self.missing}")
        if self.extra:
            lines.append(f"  subjects outside the expected file: {dict(self.extra)}")
        return "\n".join(lines)


def _amount(text: str) -> Decimal | None:
    return Decimal(text) if text else None


def compare_with_expected(scheme_id: str, advices: Iterable[Advice], expected: dict[str, dict[str, str]],
                          *, max_examples: int = 20) -> Comparison:
    """Confusion matrix and detail mismatches of ``advices`` against the expected rows."""
    cmp = Comparison(scheme_id)
    seen: set[str] = set()
    for a in advices:
        row = expected.get(a.subject)
        got = a.decision.value
        if row is None:
            cmp.extra[got] += 1
            continue
        seen.add(a.subject)
        want = row["decision"]
        cmp.matrix[(want, got)] += 1
        problems: list[str] = []
        if want != got:
            problems.append(f"decision {want}->{got} {list(a.reasons)}")
        elif got == "eligible":
            if (row.get("tier") or None) != a.tier:
                problems.append("tier")
            if "amount" in row and row["amount"] and _amount(row["amount"]) != a.amount:
                problems.append("amount")
            if row.get("plate") and (a.grant is None or a.grant.vehicle_plate != row["plate"]):
                problems.append("plate")
            if row.get("valid_until") and (a.grant is None or a.grant.valid_until is None
                                           or a.grant.valid_until.isoformat() != row["valid_until"]):
                problems.append("valid_until")
            for p in problems:
                cmp.detail_mismatches[p] += 1
        if problems and len(cmp.examples) < max_examples:
            cmp.examples.append(f"{pseudonym(a.subject)}: {'; '.join(problems)} (expected {row.get('reasons')})")
    cmp.missing = len(set(expected) - seen)
    return cmp

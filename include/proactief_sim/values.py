"""The harness's simple value types, shared by the population generator and the MAGDA simulator.

The generator writes the simulator's store as JSON lines and the simulator reads it back: the two meet in that
file format, not in Python objects, so sharing these types changes no file and no answer. The product has its
own (:mod:`proactief.schemes.observations`), deliberately: the harness checks the product, it does not lend it
types.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

__all__ = ["Period", "Span", "Address"]


@dataclass(frozen=True, slots=True)
class Period:
    """A closed date interval; ``end`` None means open-ended. Both ends are inclusive."""

    begin: date
    end: date | None = None

    def covers(self, day: date) -> bool:
        return self.begin <= day and (self.end is None or day <= self.end)

    def overlaps(self, begin: date, end: date | None) -> bool:
        return (end is None or self.begin <= end) and (self.end is None or begin <= self.end)

    def intersect(self, other: Period) -> Period | None:
        begin = max(self.begin, other.begin)
        if self.end is None:
            end = other.end
        elif other.end is None:
            end = self.end
        else:
            end = min(self.end, other.end)
        return None if end is not None and end < begin else Period(begin, end)


Span = Period
"""The generator's name for a period (its latent facts speak of spans)."""


@dataclass(frozen=True, slots=True)
class Address:
    street: str
    house_number: str
    postcode: str
    municipality: str
    nis_code: str
    """NIS code of the municipality (Gent = 44021)."""
    box: str | None = None
    country_nis: str = "150"
    """NIS country code (150 = België)."""

    def line(self) -> str:
        """The postal address on one line, as the city prints it on a letter."""
        box = f" bus {self.box}" if self.box else ""
        return f"{self.street} {self.house_number}{box}, {self.postcode} {self.municipality}"

"""Synthetic Ghent: a deterministic population for the MAGDA simulator, the city's files and expected results.

``generate(size, seed, out=DIR, as_of=DATE)`` writes everything (see :mod:`proactief_sim.population.generator`).
The city's files are read back with the product's own strict readers, :mod:`proactief.citydata`.
"""

from proactief_sim.population.expected import ReferenceDates, reference_dates
from proactief_sim.population.generator import DEFAULT_AS_OF, GenerationSummary, generate

__all__ = ["DEFAULT_AS_OF", "GenerationSummary", "ReferenceDates", "generate", "reference_dates"]

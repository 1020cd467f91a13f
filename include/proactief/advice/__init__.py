"""The advice engine: MAGDA answers and city data → scheme decisions (eligible / not_eligible / undetermined).

- :mod:`~proactief.advice.observe`: client answers → scheme observations (the outcome semantics of MAGDA.md).
- :mod:`~proactief.advice.city`: the city's own data (:class:`CityData`, :class:`CityFiles` from the files).
- :mod:`~proactief.advice.engine`: :class:`Advisor` with ``advise_one`` (staged single calls) and
  ``advise_many`` (list service first, then single calls only where the outcome still depends on them).
- :mod:`~proactief.advice.cli`: ``advise_cli`` for ``proactief advise``.
"""

from proactief.advice.city import CityData, CityFiles, EmptyCityData
from proactief.advice.engine import Advice, Advisor, RunStats

__all__ = ["Advice", "Advisor", "CityData", "CityFiles", "EmptyCityData", "RunStats"]

"""Whether a scheme is in force on a reference date, asked before anyone is consulted.

A scheme is in force from the first day on which every one of its parameters has a value. Deciding on an earlier D
would ask MAGDA about people and then fail on the first eligible one (``ParameterNotInForce``): a question without
a legal ground, and an error after the fact. Callers check first and refuse the date plainly.
"""

from __future__ import annotations

import datetime as dt

from proactief.schemes.model import ParameterNotInForce, Scheme

__all__ = ["SchemeNotInForce", "in_force_from", "require_in_force"]


class SchemeNotInForce(ParameterNotInForce, ValueError):
    """The reference date lies before the scheme's first parameter values (a bad input: no retry helps)."""


def in_force_from(scheme: Scheme) -> dt.date:
    """The first day on which every parameter of ``scheme`` has a value (``date.min`` without parameters)."""
    starts = [p.versions[0].valid_from for p in scheme.parameters.values() if p.versions]
    return max(starts, default=dt.date.min)


def require_in_force(scheme: Scheme, d: dt.date) -> None:
    """Raise :class:`SchemeNotInForce`, naming the first day the scheme can decide, when ``d`` lies before it."""
    start = in_force_from(scheme)
    if d < start:
        late = [name for name, p in scheme.parameters.items() if p.versions and p.versions[0].valid_from > d]
        raise SchemeNotInForce(
            f"scheme {scheme.id} is not in force on {d.isoformat()}: parameter(s) {', '.join(sorted(late))} have "
            f"no value before {start.isoformat()}; choose a reference date from {start.isoformat()} on"
        )

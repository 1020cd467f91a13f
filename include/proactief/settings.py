"""Settings for a configuration dataclass, read one way everywhere (``MagdaConfig``, ``DeliveryConfig``).

A configuration comes from a mapping of field names (an Airflow connection's extra JSON) or from environment
variables named ``<prefix><FIELD>``; an unknown name is refused with the configuration's own error, so a typo
in a deployment fails before the first call instead of silently taking the default. How each value is coerced
(and which errors that raises) stays with the configuration.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import fields
from typing import Any

__all__ = ["env_settings", "parse_settings"]


def env_settings(cls: type, prefix: str, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The fields of dataclass ``cls`` set as ``<prefix><FIELD>`` (``os.environ`` by default); an unset or empty
    variable is left out, so the field keeps its default."""
    env = os.environ if environ is None else environ
    out: dict[str, str] = {}
    for f in fields(cls):
        value = env.get(prefix + f.name.upper())
        if value is not None and value != "":
            out[f.name] = value
    return out


def parse_settings(cls: type, values: Mapping[str, Any], coerce: Callable[[str, Any], Any],
                   unknown: Callable[[str], Exception], *, skip_empty: bool = False) -> dict[str, Any]:
    """``values`` coerced field by field (``coerce(name, value)``), ready for ``cls(**…)``.

    A name that is not a field of ``cls`` raises ``unknown(<the unknown names, sorted, comma-separated>)``
    before anything is coerced; ``skip_empty`` leaves out None and ``""`` (the field keeps its default).
    """
    known = {f.name for f in fields(cls)}
    names = sorted(set(values) - known)
    if names:
        raise unknown(", ".join(names))
    return {name: coerce(name, value) for name, value in values.items()
            if not (skip_empty and (value is None or value == ""))}

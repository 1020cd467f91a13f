"""Where the official MAGDA formats live, and cached XSD validators for them.

The project ships a copy of the MAGDA reference data (EUPL-1.2, see ``magda_ref/LICENSE-EUPL-1.2.txt``)
so the client and simulator work without ``../shared``; tests check the copy matches ``../shared/magda``.
Two include files that the shared set lacks (``RepertoriumComplex.xsd`` and friends, ``PersoonComplex.xsd``)
are added from the same public MAGDA-Mock source; ``magda_ref/PROVENANCE.md`` lists them.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from lxml import etree

__all__ = ["reference_root", "xsd_root", "testcases_root", "rest_root", "schema_for", "SchemaError"]

_PACKAGE_REF = Path(__file__).resolve().parent.parent / "magda_ref"


class SchemaError(RuntimeError):
    """An XSD that cannot be loaded: the reference data is incomplete or damaged."""


def reference_root() -> Path:
    """Root of the MAGDA reference data: ``PROACTIEF_MAGDA_REF`` if set, else the shipped copy."""
    env = os.environ.get("PROACTIEF_MAGDA_REF")
    return Path(env) if env else _PACKAGE_REF


def xsd_root() -> Path:
    return reference_root() / "xsd"


def testcases_root() -> Path:
    return reference_root() / "testcases"


def rest_root() -> Path:
    return reference_root() / "rest"


@cache
def schema_for(relative_xsd: str) -> etree.XMLSchema:
    """A compiled validator for one XSD under :func:`xsd_root` (compiled once per process)."""
    path = xsd_root() / relative_xsd
    if not path.is_file():
        raise SchemaError(f"XSD not found: {path}")
    try:
        return etree.XMLSchema(etree.parse(str(path)))
    except (etree.XMLSchemaParseError, etree.XMLSyntaxError) as exc:
        raise SchemaError(f"cannot load XSD {relative_xsd}: {exc}") from exc

"""The definition schema's fact enums, generated from the fact registry.

Reason codes stay an open pattern there: a scheme from a folder (``PROACTIEF_SCHEME_DIRS``) may name its own
comparison reasons without code; the ones declared in :mod:`proactief.schemes.factdefs.general` get a plain Dutch
sentence on the dashboard.

``schema.json`` keeps the generated values (a scheme owner's editor reads it as is); a test fails when they
differ from the registry, i.e. when a fact was declared without regenerating. Regenerate with
``python -m proactief.schemes.schema_gen --write`` (``--check`` only says whether it is needed).
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from proactief.schemes.factdefs import FACT_SPECS, FactSpec

__all__ = ["SCHEMA_PATH", "fact_enums", "generated_schema", "main"]

SCHEMA_PATH = Path(__file__).resolve().parent / "schema.json"


def fact_enums(specs: Mapping[str, FactSpec] | None = None) -> dict[str, list[str]]:
    """Each generated enum, by where it sits in the schema (``$defs/…`` or ``city_data``), in declaration order."""
    specs = FACT_SPECS if specs is None else specs
    return {
        "test_fact": [n for n, s in specs.items() if s.kind in ("bool", "present") and not s.per_statute],
        "number_fact": [n for n, s in specs.items() if s.kind in ("count", "tax-amount")],
        "date_fact": [n for n, s in specs.items() if s.kind == "date"],
        "city_data": [n for n, s in specs.items() if s.source_kind == "city"],
    }


def generated_schema(schema: Mapping[str, Any], enums: Mapping[str, list[str]] | None = None) -> dict[str, Any]:
    """``schema`` with the generated enums put in (a copy; everything else as it was)."""
    enums = fact_enums() if enums is None else enums
    out: dict[str, Any] = copy.deepcopy(dict(schema))
    for name, values in enums.items():
        target = out["properties"]["city_data"]["items"] if name == "city_data" else out["$defs"][name]
        target["enum"] = list(values)
    return out


def _patched_text(text: str, enums: Mapping[str, list[str]]) -> str:
    """Replace only the generated enums in the file's text, keeping its hand-made layout elsewhere."""
    schema = json.loads(text)
    for name, values in enums.items():
        target = schema["properties"]["city_data"]["items"] if name == "city_data" else schema["$defs"][name]
        old = target.get("enum")
        if old == values:
            continue
        anchor = f'"{name}": {{' if name != "city_data" else '"city_data": {'
        start = text.index(anchor)
        at = text.index('"enum"', start)
        if at > text.index("}", start):
            raise ValueError(f"schema.json: {name} has no enum of its own to regenerate")
        end = text.index("]", at) + 1
        text = text[:at] + '"enum": ' + json.dumps(values, ensure_ascii=False) + text[end:]
    return text


def main(argv: list[str] | None = None) -> int:
    """``--write``: put the registry's enums into schema.json; ``--check``: exit 1 when they differ."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    text = SCHEMA_PATH.read_text(encoding="utf-8")
    current = json.loads(text)
    if generated_schema(current) == current:
        print("schema.json: the fact enums are up to date")
        return 0
    if args.write:
        new = _patched_text(text, fact_enums())
        assert json.loads(new) == generated_schema(current)
        SCHEMA_PATH.write_text(new, encoding="utf-8")
        print("schema.json: the fact enums regenerated")
        return 0
    print("schema.json: the fact enums differ from the registry; run with --write", file=sys.stderr)
    return 1


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

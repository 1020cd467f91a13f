"""``proactief advise``: decide one person for one scheme against MAGDA (or the simulator), for people.

Kept free of Typer so the command's behaviour is testable as a plain function; ``proactief.cli`` wires it:

.. code-block:: python

    code, text = advise_cli(scheme, insz, date, magda_url=url, as_json=json_flag, city_dir=city)
    typer.echo(text, err=code != 0); raise typer.Exit(code)

Exit codes: 0 a decision was made (eligible, not_eligible or undetermined); 1 MAGDA refused the question for
a configuration reason or answered a SOAP Fault; 2 invalid input (INSZ, scheme, date, city folder).
The output never repeats the INSZ.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from proactief.advice.city import CityData, CityFiles, EmptyCityData
from proactief.advice.engine import Advice, Advisor
from proactief.citydata import PopulationFileError
from proactief.insz import InvalidINSZ, validate_insz
from proactief.magda.audit import AuditSink, MemoryAuditSink
from proactief.magda.client import MagdaClient, MagdaConfigurationError, MagdaFault
from proactief.magda.config import MagdaConfig, MagdaConfigError
from proactief.schemes import load_scheme, scheme_ids
from proactief.schemes.inforce import SchemeNotInForce, require_in_force

__all__ = ["EXIT_DECIDED", "EXIT_MAGDA", "EXIT_USAGE", "advise_cli", "check_input", "render_json", "render_text"]

EXIT_DECIDED = 0
EXIT_MAGDA = 1
EXIT_USAGE = 2


def _date(value: dt.date | str | None) -> dt.date:
    if value is None:
        return dt.date.today()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(value)


def check_input(scheme_id: str, insz: str, date: dt.date | str | None) -> tuple[int, str] | None:
    """The usage error for a bad INSZ, scheme or date, or None: checked before anything is opened or asked."""
    try:
        validate_insz(insz)
    except InvalidINSZ as exc:
        return EXIT_USAGE, f"error: invalid INSZ: {exc}"
    if scheme_id not in scheme_ids():
        return EXIT_USAGE, f"error: unknown scheme {scheme_id!r}; known: {', '.join(scheme_ids())}"
    try:
        _date(date)
    except ValueError:
        return EXIT_USAGE, f"error: date {date!r} is not YYYY-MM-DD"
    return None


def advise_cli(scheme_id: str, insz: str, date: dt.date | str | None = None, magda_url: str | None = None,
               as_json: bool = False, *, city_dir: Path | str | None = None, audit: AuditSink | None = None,
               config: MagdaConfig | None = None) -> tuple[int, str]:
    """Advise one person; returns ``(exit_code, text)`` for the CLI to print.

    ``date`` is the run's logical date (default today); the scheme turns it into its reference date D.
    ``magda_url`` overrides the configured base URL (``PROACTIEF_MAGDA_BASE_URL``), e.g. the simulator's.
    ``city_dir`` holds the city's files (residents/enrolments/ocmw.csv); without it the person has no OCMW
    period and no enrolment. An INSZ not yet in the repertorium is registered first (the client's
    ``auto_register``).
    """
    refused = check_input(scheme_id, insz, date)
    if refused is not None:
        return refused
    scheme = load_scheme(scheme_id)  # a broken definition raises SchemeDefinitionError: a bug, shown in full
    logical = _date(date)
    city: CityData = EmptyCityData()
    if city_dir is not None:
        try:
            city = CityFiles.load(city_dir)
        except (PopulationFileError, OSError) as exc:
            return EXIT_USAGE, f"error: city data: {exc}"
    try:
        base = config or MagdaConfig.from_env()
        changes: dict[str, object] = {
            "hoedanigheden": {**base.hoedanigheden, scheme.id: scheme.magda.hoedanigheid},
            "auto_register": True,
        }
        if magda_url:
            changes["base_url"] = magda_url
        cfg = base.with_changes(**changes)
    except MagdaConfigError as exc:
        return EXIT_USAGE, f"error: MAGDA configuration: {exc}"
    d = scheme.reference_date_for(logical)
    try:
        require_in_force(scheme, d)  # before MAGDA is asked anything about the person
    except SchemeNotInForce as exc:
        return EXIT_USAGE, f"error: {exc}"
    try:
        with MagdaClient(cfg, audit or MemoryAuditSink()) as client:
            advice = Advisor(client, scheme, city).advise_one(insz, d)
    except (MagdaConfigurationError, MagdaFault) as exc:
        return EXIT_MAGDA, f"error: MAGDA refused the question: {exc}"
    if as_json:
        return EXIT_DECIDED, json.dumps(advice.to_json(), ensure_ascii=False)
    return EXIT_DECIDED, render_text(advice)


def render_text(advice: Advice) -> str:
    """A short human summary: decision, tier and amounts, reasons, and the trace (no values)."""
    return render_json(advice.to_json())


def render_json(advice: Mapping[str, Any]) -> str:
    """:func:`render_text` of an advice as JSON (``Advice.to_json``, or the advice service's answer)."""
    lines = [f"{advice['scheme']} on {advice['reference_date']}: {advice['decision']}"
             + (f" (tier {advice['tier']})" if advice["tier"] else "")]
    for name, amount in advice["amounts"].items():
        lines.append(f"  {name}: EUR {amount}")
    for name, pct in advice["percentages"].items():
        lines.append(f"  {name}: {pct}%")
    if advice["valid_until"] is not None:
        lines.append(f"  valid until {advice['valid_until']}")
    lines.append(f"  reasons: {', '.join(advice['reasons']) or '-'}")
    lines.append(f"  rule version {advice['rule_version']}; {advice['consultation_count']} MAGDA consultation(s)")
    for step in advice["trace"]:
        lines.append(f"  - {step['criterion']} [{step['source']}]: {step['outcome']}")
    return "\n".join(lines)

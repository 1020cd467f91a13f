"""``proactief advise --service URL`` and ``proactief advice-service``, kept free of Typer (as
:mod:`proactief.advice.cli`) so they are testable as plain functions."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from proactief.advice.city import CityFiles
from proactief.advice.cli import EXIT_DECIDED, EXIT_MAGDA, EXIT_USAGE, check_input, render_json
from proactief.advice_service.city import facts_from_city
from proactief.advice_service.client import AdviceServiceClient, AdviceServiceError
from proactief.advice_service.models import CityFacts
from proactief.citydata import PopulationFileError
from proactief.schemes import load_scheme

__all__ = ["advise_via_service", "serve"]


def advise_via_service(scheme_id: str, insz: str, date: dt.date | str | None, *, service_url: str, token: str,
                       user: str, as_json: bool = False, city_dir: Path | str | None = None) -> tuple[int, str]:
    """As :func:`proactief.advice.cli.advise_cli`, but the advice service decides (and audits); the same output
    and exit codes (1: the service or MAGDA refused)."""
    refused = check_input(scheme_id, insz, date)
    if refused is not None:
        return refused
    scheme = load_scheme(scheme_id)
    logical = date if isinstance(date, dt.date) else (dt.date.fromisoformat(date) if date else dt.date.today())
    d = scheme.reference_date_for(logical)
    facts = CityFacts()
    if city_dir is not None:
        try:
            facts = facts_from_city(CityFiles.load(city_dir), scheme, insz, d)
        except (PopulationFileError, OSError) as exc:
            return EXIT_USAGE, f"error: city data: {exc}"
    try:
        with AdviceServiceClient(service_url, token, user=user) as svc:
            advice = svc.advise(scheme_id, d, insz, facts)
    except AdviceServiceError as exc:
        code = EXIT_USAGE if exc.status in (404, 422) else EXIT_MAGDA
        return code, f"error: {exc}"
    if as_json:
        return EXIT_DECIDED, json.dumps(advice.to_json(), ensure_ascii=False)
    return EXIT_DECIDED, render_json(advice.to_json())


def serve(host: str, port: int, *, log_level: str = "info") -> None:
    """Run the service in this process (uvicorn, one worker: scale with more instances on the same ledger)."""
    import uvicorn

    from proactief.advice_service.app import create_app

    uvicorn.run(create_app(), host=host, port=port, log_level=log_level, access_log=True, timeout_graceful_shutdown=30)

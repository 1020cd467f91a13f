"""Ask Automatisch Advies now: the call centre's real-time yes/no for a looked-up person, from the advice service.

The lookup shows the latest decision a run made; a caller on the phone may need the answer as things stand today
(a pass bought at the counter, a statute granted last week). The dashboard does not ask MAGDA itself: it sends
the advice service the scheme, today's reference date, the person and what the city knows about them (OCMW
periods, enrolments, the household from the imported extract), with the staff account as the user. The service
asks MAGDA, audits every question with ``dashboard/<user>`` and answers only the advice; the page shows the
decision, the reasons and what was checked, never a value from an answer. Nothing is stored: a run decides.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Engine

from proactief.dashboard.lookup import DECISION_LABELS, Check, checks_of, reason_text

__all__ = ["LiveAdvice", "ask_now", "service_settings"]

log = logging.getLogger("proactief.dashboard")


@dataclass(frozen=True)
class LiveAdvice:
    """The advice service's answer about one person today, in the call centre's words (or why there is none)."""

    scheme_id: str
    reference_date: dt.date
    decision: str | None = None
    decision_label: str = ""
    reasons: tuple[str, ...] = ()
    checks: tuple[Check, ...] = ()
    consultations: int = 0
    error: str | None = None


def service_settings(environ: Mapping[str, str] | None = None) -> tuple[str, str] | None:
    """``PROACTIEF_ADVICE_URL`` and ``PROACTIEF_ADVICE_TOKEN`` (this application's token), or None when the
    dashboard is not given the service (the button is then not shown)."""
    env = os.environ if environ is None else environ
    url, token = env.get("PROACTIEF_ADVICE_URL", "").strip(), env.get("PROACTIEF_ADVICE_TOKEN", "").strip()
    return (url, token) if url and token else None


def ask_now(engine: Engine, insz: str, scheme_id: str, *, url: str, token: str, user: str,
            today: dt.date | None = None) -> LiveAdvice:
    """The service's advice about ``insz`` for ``scheme_id`` on today's reference date. A service that refuses or
    cannot be reached gives a LiveAdvice with ``error`` (in Dutch, no INSZ), never an exception."""
    from proactief.advice_service.city import facts_from_city
    from proactief.advice_service.client import AdviceServiceClient, AdviceServiceError
    from proactief.lifecycle.runs import chunk_city_data
    from proactief.schemes import load_scheme

    scheme = load_scheme(scheme_id)
    d = scheme.reference_date_for(today or dt.date.today())
    with engine.connect() as conn:
        city = chunk_city_data(conn, [insz])
    facts = facts_from_city(city, scheme, insz, d)
    try:
        with AdviceServiceClient(url, token, user=user) as service:
            advice = service.advise(scheme_id, d, insz, facts)
    except AdviceServiceError as exc:
        log.warning("advice service refused a live lookup for %s: HTTP %s", scheme_id, exc.status)
        why = ("de regeling geldt niet op deze datum" if exc.status == 422 else
               "de persoon maakte bezwaar (opt-out): er wordt niets over hem of haar opgevraagd; een aanvraag kan "
               "aan de balie" if exc.status == 409 else
               "MAGDA antwoordt nu niet" if exc.status in (502, 503, 504) else
               "Automatisch Advies is nu niet bereikbaar" if exc.status == 0 else
               f"Automatisch Advies weigert de vraag (HTTP {exc.status})")
        return LiveAdvice(scheme_id, d, error=f"Geen antwoord: {why}. Probeer het later opnieuw.")
    data = advice.to_json()
    tiers = {t.id: t.title for t in scheme.tiers}
    checks = checks_of(data.get("trace"))
    log.info("live advice for %s by %s: %s", scheme_id, user, advice.decision)
    return LiveAdvice(scheme_id, d, decision=str(advice.decision),
                      decision_label=DECISION_LABELS.get(str(advice.decision), str(advice.decision)),
                      reasons=tuple(reason_text(c, tiers) for c in advice.reasons), checks=checks,
                      consultations=advice.consultation_count)

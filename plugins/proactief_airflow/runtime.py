"""What a task needs from its surroundings: the ledger engine, the MAGDA configuration, the run's day.

Called inside task functions only (never at parse time), so connection lookups and heavy imports happen in the
task process. Configuration, first match wins:

- ledger: env ``PROACTIEF_DB_URL``; else the Airflow connection ``proactief_ledger`` (extra ``sqlalchemy_url``,
  or host/login/password/port/schema as PostgreSQL via psycopg2).
- MAGDA: the Airflow connection ``magda_default`` whose extra is a JSON mapping for ``MagdaConfig.from_mapping``;
  else ``MagdaConfig.from_env()`` (``PROACTIEF_MAGDA_*``).
- the advice service (issue 20): the Airflow connection ``proactief_advice`` (host: the service's URL, password:
  this application's token, login: the user named in its audit, default ``airflow``); else
  ``PROACTIEF_ADVICE_URL`` / ``_TOKEN`` / ``_USER``. Set, the scheme runs' chunks are decided by the service and
  this side needs no MAGDA configuration at all; unset, they ask MAGDA in the task (the default).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from proactief.advice_service.client import AdviceServiceSettings
    from proactief.magda.config import MagdaConfig

LEDGER_CONN_ID = "proactief_ledger"
MAGDA_CONN_ID = "magda_default"
ADVICE_CONN_ID = "proactief_advice"


def _connection(conn_id: str) -> Any | None:
    """The Airflow connection ``conn_id``, or None when it is not defined."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException, AirflowRuntimeError

    try:
        return BaseHook.get_connection(conn_id)
    except (AirflowNotFoundException, AirflowRuntimeError):
        return None


def _url_from_connection(conn: Any) -> str:
    extra = conn.extra_dejson or {}
    if extra.get("sqlalchemy_url"):
        return str(extra["sqlalchemy_url"])
    from urllib.parse import quote

    auth = ""
    if conn.login:
        auth = quote(conn.login, safe="") + (f":{quote(conn.password, safe='')}" if conn.password else "") + "@"
    port = f":{conn.port}" if conn.port else ""
    return f"postgresql+psycopg2://{auth}{conn.host or '127.0.0.1'}{port}/{conn.schema or 'proactief'}"


def ledger_url() -> str:
    """The ledger's SQLAlchemy URL (see the module docstring for where it comes from)."""
    env = os.environ.get("PROACTIEF_DB_URL")
    if env:
        return env
    conn = _connection(LEDGER_CONN_ID)
    if conn is not None:
        return _url_from_connection(conn)
    from proactief.ledger import database_url

    return database_url(None)  # the embedded SQLite default under ./var


def peak_memory_mib() -> float:
    """This process's peak resident memory so far (MiB; Linux reports ``ru_maxrss`` in KiB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def ledger() -> Iterator[Engine]:
    """An engine on the ledger for one task, disposed afterwards (a task is a short-lived process).

    On the way out it logs the task process's peak memory: the figure the lifecycle benchmark collects."""
    import logging

    from proactief.ledger import make_engine

    engine = make_engine(ledger_url())
    try:
        yield engine
    finally:
        engine.dispose()
        logging.getLogger("proactief.task").info("task peak memory %.0f MiB", peak_memory_mib())


def magda_config() -> MagdaConfig:
    """The MAGDA client configuration: connection ``magda_default`` extra, else ``PROACTIEF_MAGDA_*``."""
    from proactief.magda.config import MagdaConfig

    conn = _connection(MAGDA_CONN_ID)
    if conn is not None:
        extra: Mapping[str, Any] = conn.extra_dejson or {}
        if extra:
            return MagdaConfig.from_mapping(extra)
    return MagdaConfig.from_env()


def advice_service() -> AdviceServiceSettings | None:
    """How the scheme runs reach the advice service, or None: they decide in the task (module docstring)."""
    from proactief.advice_service.client import AdviceServiceSettings

    conn = _connection(ADVICE_CONN_ID)
    if conn is not None and conn.host:
        if not conn.password:
            raise ValueError(f"connection {ADVICE_CONN_ID} has no password (the application's token)")
        url = conn.host if "://" in conn.host else f"http://{conn.host}{f':{conn.port}' if conn.port else ''}"
        wait = (conn.extra_dejson or {}).get("wait_seconds")
        return AdviceServiceSettings(url, conn.password, conn.login or "airflow",
                                     float(wait) if wait else 3600.0)
    return AdviceServiceSettings.from_env()


def run_day(context: Mapping[str, Any], timezone: str) -> dt.date:
    """The calendar day of this DAG run in ``timezone``: the logical date, or ``run_after`` when a manual or
    asset-triggered run has none. A scheme run's logical date is its reference date (CronTriggerTimetable)."""
    moment = context.get("logical_date")
    if moment is None:
        moment = context["dag_run"].run_after
    return moment.astimezone(ZoneInfo(timezone)).date()


def external_id(context: Mapping[str, Any], *suffix: str) -> str:
    """The ledger key of this Airflow run (``<dag_id>/<run_id>[/suffix]``): a retried task finds its run again."""
    return "/".join((context["dag"].dag_id, context["run_id"], *suffix))


def parse_insz_list(raw: str | None) -> list[str]:
    """The ``insz`` trigger param (comma-separated) as a list; blanks dropped. Validation is the domain's."""
    if not raw:
        return []
    return [part.strip() for part in raw.split(",") if part.strip()]


DELIVERY_CONN_ID = "proactief_delivery"


def delivery_config() -> Any:
    """Where grants and notices go: connection ``proactief_delivery`` (extra: ``DeliveryConfig`` fields), else
    ``PROACTIEF_*`` (``PROACTIEF_UITPAS_URL``, ``PROACTIEF_SMTP_HOST`` …); the SMTP host falls back to the
    connection ``smtp_default`` the alerts use, so a local stack needs one SMTP setting."""
    from proactief.delivery.config import DeliveryConfig

    conn = _connection(DELIVERY_CONN_ID)
    if conn is not None and conn.extra_dejson:
        return DeliveryConfig.from_mapping(conn.extra_dejson)
    cfg = DeliveryConfig.from_env()
    if cfg.smtp_host is None:
        smtp = _connection("smtp_default")
        if smtp is not None and smtp.host:
            from dataclasses import replace

            cfg = replace(cfg, smtp_host=smtp.host, smtp_port=int(smtp.port or 25))
    return cfg

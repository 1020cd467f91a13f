"""Where grants and notices go: one configuration for the downstream systems and the citizen channels.

Read from a mapping (an Airflow connection's extra, or the environment as ``PROACTIEF_<FIELD>``), so a task, the
CLI and the tests build the same adapters. Configuration only: :mod:`proactief.wiring` builds the adapters and
channels from it. Files (IVAGO vouchers, school export, letters) default to folders under ``var/downstream``;
UiTPAS, the eBox and SMTP have no default: a channel that is not configured is not built, and its outbox rows
wait (the dispatch figures say ``no_adapter``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from proactief.settings import env_settings, parse_settings

__all__ = ["DeliveryConfig"]

_DOWNSTREAM = Path("var") / "downstream"


@dataclass(frozen=True)
class DeliveryConfig:
    uitpas_url: str | None = None
    """Base URL of the UiTPAS API v4 (``https://api-test.uitpas.be``, or the local stand-in's ``…/uitpas``)."""
    uitpas_client_id: str | None = None
    uitpas_client_secret: str | None = field(default=None, repr=False)
    """Secret: never in a repr, a log or an XCom."""
    uitpas_token_url: str | None = None
    ivago_dir: str = str(_DOWNSTREAM / "ivago")
    school_dir: str = str(_DOWNSTREAM / "school-billing")
    letter_dir: str = str(_DOWNSTREAM / "letters")
    ebox_url: str | None = None
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_sender: str = "Stad Gent <noreply@stad.gent>"
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    """Secret: never in a repr, a log or an XCom."""

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> DeliveryConfig:
        """Build from field names (an Airflow connection's extra); None or ``""`` keeps the default."""
        return cls(**parse_settings(cls, values, _coerce, _unknown, skip_empty=True))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> DeliveryConfig:
        """Build from ``PROACTIEF_<FIELD>`` variables (e.g. ``PROACTIEF_SMTP_HOST``); unset = default."""
        return cls.from_mapping(env_settings(cls, "PROACTIEF_", env))


def _unknown(names: str) -> ValueError:
    return ValueError(f"unknown delivery settings: {names}")


def _coerce(name: str, value: Any) -> Any:
    if name == "smtp_port":
        return int(value)
    if name == "smtp_starttls":
        return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")
    return str(value)


"""Where grants and notices go: one configuration for the downstream systems and the citizen channels.

Read from a mapping (an Airflow connection's extra, or the environment as ``PROACTIEF_<FIELD>``), so a task, the
CLI and the tests build the same adapters. Files (IVAGO vouchers, school export, letters) default to folders
under ``var/downstream``; UiTPAS, the eBox and SMTP have no default: a channel that is not configured is not
built, and its outbox rows wait (the dispatch figures say ``no_adapter``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from proactief.settings import env_settings, parse_settings

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from proactief.grants.base import GrantAdapter
    from proactief.magda.config import MagdaConfig
    from proactief.notify.model import NoticeChannel

__all__ = ["DeliveryConfig"]

_DOWNSTREAM = Path("var") / "downstream"


@dataclass(frozen=True)
class DeliveryConfig:
    uitpas_url: str | None = None
    """Base URL of the UiTPAS API v4 (``https://api-test.uitpas.be``, or the local stand-in's ``…/uitpas``)."""
    uitpas_client_id: str | None = None
    uitpas_client_secret: str | None = None
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
    smtp_password: str | None = None

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> DeliveryConfig:
        """Build from field names (an Airflow connection's extra); None or ``""`` keeps the default."""
        return cls(**parse_settings(cls, values, _coerce, _unknown, skip_empty=True))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> DeliveryConfig:
        """Build from ``PROACTIEF_<FIELD>`` variables (e.g. ``PROACTIEF_SMTP_HOST``); unset = default."""
        return cls.from_mapping(env_settings(cls, "PROACTIEF_", env))

    def grant_adapters(self, *, magda: MagdaConfig | None = None, engine: Engine | None = None
                       ) -> dict[str, GrantAdapter]:
        """One adapter per configured downstream system, keyed by outbox channel (LEZ needs MAGDA and the
        ledger, for the consultation audit log)."""
        from proactief.grants.ivago import IvagoVoucherFile
        from proactief.grants.school import SchoolBillingExport

        adapters: dict[str, GrantAdapter] = {
            "ivago": IvagoVoucherFile(Path(self.ivago_dir)),
            "school-billing": SchoolBillingExport(Path(self.school_dir)),
        }
        if self.uitpas_url and self.uitpas_client_id and self.uitpas_client_secret:
            from proactief.grants.uitpas import UitpasAdapter, UitpasClient

            adapters["uitpas"] = UitpasAdapter(UitpasClient(self.uitpas_url, self.uitpas_client_id,
                                                            self.uitpas_client_secret,
                                                            token_url=self.uitpas_token_url))
        if magda is not None and engine is not None:
            from dataclasses import replace

            from proactief.grants.lez import LezRegistration
            from proactief.schemes import load_all

            # registrations are asked under the scheme's purpose (its Hoedanigheid), as its queries are
            purposes = {s.id: s.magda.hoedanigheid for s in load_all().values()}
            magda = replace(magda, hoedanigheden={**purposes, **magda.hoedanigheden})

            adapters["lez-magda"] = LezRegistration(_magda_client_factory(magda, engine))
        return adapters

    def notice_channels(self) -> dict[str, NoticeChannel]:
        """One channel per configured way to reach a citizen, keyed by outbox channel."""
        from proactief.notify.channels import EboxChannel, LetterChannel, SmtpChannel

        channels: dict[str, NoticeChannel] = {"letter": LetterChannel(Path(self.letter_dir))}
        if self.smtp_host:
            channels["email"] = SmtpChannel(self.smtp_host, self.smtp_port, self.smtp_sender,
                                            starttls=self.smtp_starttls, username=self.smtp_username,
                                            password=self.smtp_password)
        if self.ebox_url:
            channels["ebox"] = EboxChannel(self.ebox_url)
        return channels


def _unknown(names: str) -> ValueError:
    return ValueError(f"unknown delivery settings: {names}")


def _coerce(name: str, value: Any) -> Any:
    if name == "smtp_port":
        return int(value)
    if name == "smtp_starttls":
        return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")
    return str(value)


def _magda_client_factory(magda: MagdaConfig, engine: Engine) -> Callable[[], Any]:
    """A fresh MAGDA client per batch, auditing to the ledger (every LEZ registration is a consultation)."""

    def make() -> Any:
        from proactief.ledger.audit import LedgerAuditSink
        from proactief.magda.client import MagdaClient

        return MagdaClient(magda, LedgerAuditSink(engine))

    return make

"""The composition root of delivery: the one place that turns a :class:`~proactief.delivery.config.DeliveryConfig`
(with the MAGDA settings and the ledger) into the grant adapters and the notice channels.

It sits above ``grants`` and ``notify`` so neither needs the other: both speak :mod:`proactief.delivery`, and only
this module knows every concrete adapter and channel. The ``outbox_dispatch`` tasks and the tests all build them
here, so they deliver the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from proactief.grants.ivago import IvagoVoucherFile
from proactief.grants.lez import LezRegistration
from proactief.grants.school import SchoolBillingExport
from proactief.grants.uitpas import UitpasAdapter, UitpasClient
from proactief.ledger.audit import LedgerAuditSink
from proactief.magda.client import MagdaClient
from proactief.notify.channels import EboxChannel, LetterChannel, SmtpChannel
from proactief.schemes import load_all

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from proactief.delivery.config import DeliveryConfig
    from proactief.grants.base import GrantAdapter
    from proactief.magda.config import MagdaConfig
    from proactief.notify.model import NoticeChannel

__all__ = ["grant_adapters", "notice_channels"]


def grant_adapters(config: DeliveryConfig, *, magda: MagdaConfig | None = None, engine: Engine | None = None
                   ) -> dict[str, GrantAdapter]:
    """One adapter per configured downstream system, keyed by outbox channel (LEZ needs MAGDA and the
    ledger, for the consultation audit log)."""
    adapters: dict[str, GrantAdapter] = {
        "ivago": IvagoVoucherFile(Path(config.ivago_dir)),
        "school-billing": SchoolBillingExport(Path(config.school_dir)),
    }
    if config.uitpas_url and config.uitpas_client_id and config.uitpas_client_secret:
        adapters["uitpas"] = UitpasAdapter(UitpasClient(config.uitpas_url, config.uitpas_client_id,
                                                        config.uitpas_client_secret,
                                                        token_url=config.uitpas_token_url))
    if magda is not None and engine is not None:
        # registrations are asked under the scheme's purpose (its Hoedanigheid), as its queries are
        purposes = {s.id: s.magda.hoedanigheid for s in load_all().values()}
        magda = replace(magda, hoedanigheden={**purposes, **magda.hoedanigheden})

        adapters["lez-magda"] = LezRegistration(_magda_client_factory(magda, engine))
    return adapters


def notice_channels(config: DeliveryConfig) -> dict[str, NoticeChannel]:
    """One channel per configured way to reach a citizen, keyed by outbox channel."""
    channels: dict[str, NoticeChannel] = {"letter": LetterChannel(Path(config.letter_dir))}
    if config.smtp_host:
        channels["email"] = SmtpChannel(config.smtp_host, config.smtp_port, config.smtp_sender,
                                        starttls=config.smtp_starttls, username=config.smtp_username,
                                        password=config.smtp_password)
    if config.ebox_url:
        channels["ebox"] = EboxChannel(config.ebox_url)
    return channels


def _magda_client_factory(magda: MagdaConfig, engine: Engine) -> Callable[[], MagdaClient]:
    """A fresh MAGDA client per batch, auditing to the ledger (every LEZ registration is a consultation)."""

    def make() -> MagdaClient:
        return MagdaClient(magda, LedgerAuditSink(engine))

    return make

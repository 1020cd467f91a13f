"""Fixtures for the advice tests: a MAGDA client on a real simulator, the schemes' Hoedanigheden configured."""

from __future__ import annotations

import pytest

from proactief.magda.audit import MemoryAuditSink
from proactief.magda.client import MagdaClient
from proactief.magda.config import MagdaConfig
from proactief.schemes import load_all

AFNEMER = "gent.be/proactief"


def make_client(base_url: str, audit: MemoryAuditSink | None = None, **extra: object) -> MagdaClient:
    """A client as a run would configure it: every scheme asks under its own Hoedanigheid; no backoff waits."""
    hoedanigheden = {s.id: s.magda.hoedanigheid for s in load_all().values()}
    config = MagdaConfig(base_url=base_url, identificatie=AFNEMER, hoedanigheden=hoedanigheden, backoff_base=0.0,
                         backoff_cap=0.0, **extra)  # type: ignore[arg-type]
    return MagdaClient(config, audit if audit is not None else MemoryAuditSink())


@pytest.fixture
def audit() -> MemoryAuditSink:
    return MemoryAuditSink()

"""The advice service's own configuration (``PROACTIEF_ADVICE_*``): its ledger, the callers' tokens, batch work.

The MAGDA side (endpoint, certificate, afnemer) is the client's own ``PROACTIEF_MAGDA_*`` configuration
(:class:`~proactief.magda.config.MagdaConfig`), read only by this process. Tokens are never configured in clear:
each entry is ``application=sha256:<hex of the token>`` (``proactief advice-service --hash-token`` prints one).
``GRANT_APPLICATIONS`` (default ``airflow``) names the applications whose batches may carry what a grant needs.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

__all__ = ["ENV_PREFIX", "AdviceServiceConfig", "AdviceServiceConfigError", "hash_token", "parse_tokens"]

ENV_PREFIX = "PROACTIEF_ADVICE_"
_APP = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")
_HASH = re.compile(r"^sha256:([0-9a-f]{64})$")


class AdviceServiceConfigError(ValueError):
    """The service's configuration is incomplete or wrong (names the setting, never a token)."""


def hash_token(token: str) -> str:
    """The configured form of a caller's token: ``sha256:<hex>`` (the service never stores the token itself)."""
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()


def parse_tokens(text: str) -> Mapping[str, str]:
    """``app=sha256:<hex>,app2=sha256:<hex>`` → {hex digest: application}; refuses a malformed entry."""
    out: dict[str, str] = {}
    for entry in (e.strip() for e in re.split(r"[,\n;]", text)):
        if not entry:
            continue
        app, sep, hashed = entry.partition("=")
        app, hashed = app.strip(), hashed.strip().lower()
        m = _HASH.match(hashed)
        if not sep or not _APP.match(app) or m is None:
            raise AdviceServiceConfigError(
                f"{ENV_PREFIX}TOKENS: each entry must be application=sha256:<64 hex digits> (entry for {app[:40]!r})")
        out[m.group(1)] = app
    return MappingProxyType(out)


@dataclass(frozen=True)
class AdviceServiceConfig:
    """Where the service keeps batches and audit rows, whom it answers, and how it works through batches."""

    db_url: str
    """The ledger (PostgreSQL in production; every instance behind one URL shares it)."""
    tokens: Mapping[str, str] = field(default_factory=dict, repr=False)
    """sha256 hex digest of a token → the calling application's name."""
    instance: str = field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}")
    """This instance's name in the batch leases (host and pid by default)."""
    chunk_size: int = 25
    """Subjects one instance claims and decides at a time (asked in bulk; what a killed instance leaves open)."""
    lease_seconds: float = 30.0
    """How long a claim holds without a heartbeat: after that another instance takes the chunk over."""
    poll_seconds: float = 0.5
    """How often an idle instance looks for batch work."""
    batch_worker: bool = True
    """False: this instance answers HTTP only and leaves batches to the others."""
    workers: int = 2
    """Chunks one instance decides side by side (threads: a chunk mostly waits for MAGDA), as a run's ``magda``
    pool lets that many chunk tasks ask at once."""
    page_size: int = 500
    """Largest page of batch results."""
    max_batch: int = 10_000
    retention_days: int = 30
    """Batches (with their subjects and city facts) are kept this long for polling, then may be purged."""
    grant_applications: frozenset[str] = frozenset({"airflow"})
    """Applications that may submit ``purpose: grant`` batches (a scheme run's chunk): only they receive grant
    terms, the LEZ plate and a household's recipient; the counter and the call centre get the advice only."""

    def __post_init__(self) -> None:
        if not self.db_url.strip():
            raise AdviceServiceConfigError(f"{ENV_PREFIX}DB_URL (or PROACTIEF_DB_URL) is not set")
        if (self.chunk_size < 1 or self.lease_seconds <= 0 or self.poll_seconds <= 0 or self.page_size < 1
                or self.workers < 1):
            raise AdviceServiceConfigError("chunk_size, lease_seconds, poll_seconds, page_size and workers must be "
                                           "positive")

    def application_for(self, token: str) -> str | None:
        """The application a presented token belongs to, or None (compared in constant time)."""
        digest = hashlib.sha256(token.encode()).hexdigest()
        found = None
        for known, app in self.tokens.items():
            if hmac.compare_digest(known, digest):
                found = app
        return found

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AdviceServiceConfig:
        """From ``PROACTIEF_ADVICE_*`` (``DB_URL`` falls back to ``PROACTIEF_DB_URL``; ``TOKENS`` or
        ``TOKENS_FILE``, a file with one ``application=sha256:<hex>`` per line)."""
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            value = env.get(ENV_PREFIX + name)
            return value if value not in (None, "") else None

        tokens_text = get("TOKENS") or ""
        if (path := get("TOKENS_FILE")) is not None:
            try:
                with open(path, encoding="utf-8") as fh:
                    tokens_text += "\n" + fh.read()
            except OSError as exc:
                raise AdviceServiceConfigError(f"{ENV_PREFIX}TOKENS_FILE: {exc.strerror}") from None
        kwargs: dict[str, object] = {"db_url": get("DB_URL") or env.get("PROACTIEF_DB_URL") or "",
                                     "tokens": parse_tokens(tokens_text)}
        for name, kind in (("chunk_size", int), ("lease_seconds", float), ("poll_seconds", float),
                           ("page_size", int), ("max_batch", int), ("retention_days", int),
                           ("workers", int)):
            if (raw := get(name.upper())) is not None:
                try:
                    kwargs[name] = kind(raw)
                except ValueError:
                    raise AdviceServiceConfigError(f"{ENV_PREFIX}{name.upper()}: not a number") from None
        if (granting := get("GRANT_APPLICATIONS")) is not None:
            kwargs["grant_applications"] = frozenset(a.strip() for a in re.split(r"[,\s]+", granting) if a.strip())
        if (instance := get("INSTANCE")) is not None:
            kwargs["instance"] = instance
        if (worker := get("BATCH_WORKER")) is not None:
            kwargs["batch_worker"] = worker.strip().lower() not in ("0", "false", "no", "off")
        return cls(**kwargs)  # type: ignore[arg-type]

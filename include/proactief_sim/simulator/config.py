"""How one simulator instance is set up: ports, TLS, extra canned cases, access, faults, population."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from proactief_sim.simulator.population import PopulationStore

__all__ = ["SimulatorConfig", "FAULT_CODES", "MIN_ADMIN_TOKEN_LENGTH", "parse_fault_rate", "parse_fault_insz",
           "parse_clock"]

MIN_ADMIN_TOKEN_LENGTH = 16
"""A shorter admin token is refused at start (it would be guessable)."""

FAULT_CODES = ("99996", "60006", "timeout", "http500", "malformed", "20002")
"""Injectable faults: MAGDA 99996 (busy, level 2), 60006 (no answer from the source, level 3), a hanging
request (``timeout``), an HTTP 500 from the gateway, a truncated (not well-formed) XML answer, and 20002 (level 3:
the source refuses the person's INSZ — a data error, not a transient one: MAGDA.md's quarantine case)."""


@dataclass
class SimulatorConfig:
    host: str = "127.0.0.1"
    port: int = 8088
    """Plain HTTP port (0 = any free port; the ready line says which)."""
    tls_port: int | None = None
    """HTTPS port, served by the same process and state; needs ``cert_file``/``key_file``."""
    cert_file: str | Path | None = None
    key_file: str | Path | None = None
    ca_file: str | Path | None = None
    """CA that issued acceptable client certificates."""
    require_client_cert: bool = False
    """Refuse TLS clients without a certificate from ``ca_file`` (mutual TLS, as MAGDA does)."""
    testcases_dirs: tuple[str | Path, ...] = ()
    """Extra canned-answer folders (same layout as ``testcases/``), searched before the shipped ones."""
    allowed_afnemers: frozenset[str] | None = None
    """When set, only these ``Afzender/Identificatie`` values may call (others get 13001)."""
    fault_rates: dict[str, float] = field(default_factory=dict)
    """Per fault code (see FAULT_CODES), the fraction of SOAP calls that get it."""
    fault_insz: dict[str, str] = field(default_factory=dict)
    """INSZ -> fault code: that person always gets that fault."""
    latency_ms: float = 0.0
    """Added to every SOAP answer."""
    timeout_seconds: float = 60.0
    """How long a ``timeout`` fault hangs before answering (longer than any sane client timeout)."""
    seed: int = 0
    """Makes fault injection deterministic: the n-th call for one person always draws the same."""
    population: PopulationStore | str | Path | None = None
    """A population store, or the path of a JSON-lines file to load one from."""
    repertorium_check: bool = True
    """Person services answer 40003 until the afnemer registered the person (as MAGDA does)."""
    validate_responses: bool = False
    """Validate every synthesised answer against its response XSD before sending (tests, debugging)."""
    mutation_batch_size: int = 100
    """How many persons one GeefPersoonMutatiesNotificaties answer carries at most."""
    clock: date | None = None
    """The simulated day (None = the real ``date.today()``): every answer's ``Tijdstip/Datum``, and the register
    answers as it stood on that day (facts dated later are not known yet). Movable at run time (``/_sim/clock``)."""
    verify_signature: str | Path | None = None
    """The afnemer's trusted signing certificate (PEM): when set, every SOAP request must carry a valid WS-Security
    signature by it (X.509 token profile, as MAGDA production checks), else a SOAP Fault."""
    admin_token: str | None = field(default=None, repr=False)
    """A client that sends this in ``X-Sim-Admin-Token`` may use the admin API (``/_sim/...``) from anywhere; without
    it only loopback clients may (``GET /_sim/health`` is open to all, for health checks)."""

    def __post_init__(self) -> None:
        self.testcases_dirs = tuple(self.testcases_dirs)
        if self.allowed_afnemers is not None:
            self.allowed_afnemers = frozenset(self.allowed_afnemers)
        for code, rate in self.fault_rates.items():
            if code not in FAULT_CODES:
                raise ValueError(f"unknown fault {code!r}; known: {', '.join(FAULT_CODES)}")
            if not 0.0 <= float(rate) <= 1.0:
                raise ValueError(f"fault rate for {code} must be within 0..1")
        if sum(self.fault_rates.values()) > 1.0:
            raise ValueError("fault rates add up to more than 1")
        for code in self.fault_insz.values():
            if code not in FAULT_CODES:
                raise ValueError(f"unknown fault {code!r}; known: {', '.join(FAULT_CODES)}")
        if self.tls_port is not None and not (self.cert_file and self.key_file):
            raise ValueError("an HTTPS port needs cert_file and key_file")
        if self.verify_signature is not None and not Path(self.verify_signature).is_file():
            raise ValueError("verify_signature: no such certificate file")
        if self.admin_token is not None and len(self.admin_token) < MIN_ADMIN_TOKEN_LENGTH:
            raise ValueError(f"an admin token needs at least {MIN_ADMIN_TOKEN_LENGTH} characters")
        if self.require_client_cert and not self.ca_file:
            raise ValueError("require_client_cert needs ca_file (the CA of acceptable client certificates)")


def parse_fault_rate(text: str) -> tuple[str, float]:
    """``99996=0.05`` -> ("99996", 0.05)."""
    code, _, rate = text.partition("=")
    if code not in FAULT_CODES or not rate:
        raise ValueError(f"expected CODE=RATE with CODE among {', '.join(FAULT_CODES)}, got {text!r}")
    return code, float(rate)


def parse_fault_insz(text: str) -> tuple[str, str]:
    """``91610100176=60006`` -> ("91610100176", "60006")."""
    insz, _, code = text.partition("=")
    if len(insz) != 11 or not insz.isdigit() or code not in FAULT_CODES:
        raise ValueError(f"expected INSZ=CODE with CODE among {', '.join(FAULT_CODES)}, got {text!r}")
    return insz, code


def parse_clock(text: str) -> date:
    """``2026-03-01`` -> date(2026, 3, 1) (the ``--clock`` flag)."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"expected a date YYYY-MM-DD, got {text!r}") from None

"""Fault injection that is deterministic given a seed.

Each draw hashes (seed, subject, n) where n counts the calls for that subject (an INSZ, or the service for
calls without one). So the outcome for a person does not depend on how concurrent calls interleave, a retry
draws afresh (n moved on), and two runs with the same seed and the same calls inject the same faults.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from typing import Any

from proactief_sim.simulator.config import FAULT_CODES

__all__ = ["FaultInjector"]


class FaultInjector:
    def __init__(
        self,
        rates: dict[str, float] | None = None,
        per_insz: dict[str, str] | None = None,
        *,
        seed: int = 0,
        latency_ms: float = 0.0,
        timeout_seconds: float = 60.0,
    ) -> None:
        self.configure(rates=rates or {}, per_insz=per_insz or {}, seed=seed, latency_ms=latency_ms,
                       timeout_seconds=timeout_seconds)

    def configure(
        self,
        *,
        rates: dict[str, float] | None = None,
        per_insz: dict[str, str] | None = None,
        seed: int | None = None,
        latency_ms: float | None = None,
        timeout_seconds: float | None = None,
    ) -> None:
        """Replace the given settings (others stay); restarts the deterministic sequence."""
        if rates is not None:
            for code, rate in rates.items():
                if code not in FAULT_CODES or not 0.0 <= float(rate) <= 1.0:
                    raise ValueError(f"bad fault rate {code}={rate}")
            if sum(float(r) for r in rates.values()) > 1.0:
                raise ValueError("fault rates add up to more than 1")
            # Fixed order, so the cumulative thresholds do not depend on how the dict was built.
            self._thresholds: list[tuple[float, str]] = []
            cum = 0.0
            for code in FAULT_CODES:
                if float(rates.get(code, 0.0)) > 0.0:
                    cum += float(rates[code])
                    self._thresholds.append((cum, code))
            self.rates = {c: float(r) for c, r in rates.items() if float(r) > 0.0}
        if per_insz is not None:
            for code in per_insz.values():
                if code not in FAULT_CODES:
                    raise ValueError(f"unknown fault {code!r}")
            self.per_insz = dict(per_insz)
        if seed is not None:
            self.seed = int(seed)
        if latency_ms is not None:
            self.latency_ms = float(latency_ms)
        if timeout_seconds is not None:
            self.timeout_seconds = float(timeout_seconds)
        self._calls: Counter[str] = Counter()
        self.injected: Counter[str] = Counter()

    @property
    def active(self) -> bool:
        return bool(self._thresholds or self.per_insz)

    def draw(self, subject: str) -> str | None:
        """The fault for this call about ``subject`` (an INSZ or a service name), or None."""
        code = self.per_insz.get(subject)
        if code is None and self._thresholds:
            n = self._calls[subject]
            self._calls[subject] = n + 1
            digest = hashlib.blake2b(f"{self.seed}:{subject}:{n}".encode(), digest_size=8).digest()
            u = int.from_bytes(digest, "big") / 18446744073709551616.0
            for threshold, candidate in self._thresholds:
                if u < threshold:
                    code = candidate
                    break
        if code is not None:
            self.injected[code] += 1
        return code

    def describe(self) -> dict[str, Any]:
        return {
            "rates": dict(self.rates),
            "insz": len(self.per_insz),
            "seed": self.seed,
            "latency_ms": self.latency_ms,
            "timeout_seconds": self.timeout_seconds,
            "injected": dict(self.injected),
        }

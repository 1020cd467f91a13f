"""The real advice service as a subprocess (``proactief advice-service``, uvicorn) for tests and the benchmark."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from proactief.advice_service.config import hash_token

__all__ = ["RunningService", "TOKENS", "json_leaves", "running_service", "running_services"]

TOKENS = {"counter": "counter-token-1", "airflow": "airflow-token-2"}
"""Calling applications and their tokens (the service is configured with their hashes only)."""
AFNEMER = "gent.be/proactief"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RunningService:
    url: str
    process: subprocess.Popen[bytes]
    log: Path
    instance: str
    extra: dict[str, str] = field(default_factory=dict)

    def kill(self) -> None:
        """SIGKILL: the instance dies mid-work (no graceful shutdown, its leases simply run out)."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def _start(db_url: str, magda_url: str, log_dir: Path, instance: str, env: Mapping[str, str] | None
           ) -> RunningService:
    port = _free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("PROACTIEF_ADVICE_", "PROACTIEF_MAGDA_"))}
    environ.update({
        "PROACTIEF_ADVICE_DB_URL": db_url,
        "PROACTIEF_ADVICE_TOKENS": ",".join(f"{app}={hash_token(tok)}" for app, tok in TOKENS.items()),
        "PROACTIEF_ADVICE_INSTANCE": instance,
        "PROACTIEF_ADVICE_POLL_SECONDS": "0.1",
        "PROACTIEF_MAGDA_BASE_URL": magda_url,
        "PROACTIEF_MAGDA_IDENTIFICATIE": AFNEMER,
        "PROACTIEF_MAGDA_BACKOFF_BASE": "0",
        "PROACTIEF_MAGDA_BACKOFF_CAP": "0",
        "PYTHONUNBUFFERED": "1",
    })
    environ.update(env or {})
    log = log_dir / f"{instance}.log"
    cli = Path(sys.executable).with_name("proactief")
    with log.open("wb") as out:
        proc = subprocess.Popen([str(cli), "advice-service", "--host", "127.0.0.1", "--port", str(port)],
                                stdout=out, stderr=subprocess.STDOUT, env=environ)
    return RunningService(f"http://127.0.0.1:{port}", proc, log, instance)


def _wait_ready(svc: RunningService, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if svc.process.poll() is not None:
            raise RuntimeError(f"advice service exited:\n{svc.log.read_text()[-3000:]}")
        try:
            if requests.get(svc.url + "/health", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"advice service not ready:\n{svc.log.read_text()[-3000:]}")
        time.sleep(0.1)


@contextmanager
def running_services(db_url: str, magda_url: str, log_dir: Path, instances: Sequence[str], *,
                     env: Mapping[str, str] | None = None, startup_timeout: float = 60.0
                     ) -> Iterator[list[RunningService]]:
    """Start ``proactief advice-service`` instances (side by side) on free ports against one ledger and the
    simulator; wait for each one's /health; stop them (SIGTERM) afterwards."""
    started: list[RunningService] = []
    try:
        for name in instances:
            started.append(_start(db_url, magda_url, log_dir, name, env))
        for svc in started:
            _wait_ready(svc, startup_timeout)
        yield started
    finally:
        for svc in started:
            svc.stop()


@contextmanager
def running_service(db_url: str, magda_url: str, log_dir: Path, *, instance: str = "advice-a",
                    env: Mapping[str, str] | None = None, startup_timeout: float = 60.0) -> Iterator[RunningService]:
    """One instance (:func:`running_services`)."""
    with running_services(db_url, magda_url, log_dir, [instance], env=env, startup_timeout=startup_timeout) as svcs:
        yield svcs[0]


def json_leaves(value: Any) -> Iterator[str]:
    """Every key and value of a JSON document as text: what a boundary test looks for raw MAGDA values in."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from json_leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from json_leaves(v)
    elif value is not None:
        yield str(value)

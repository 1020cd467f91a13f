"""Run the real simulator server as a subprocess for tests and benchmarks.

.. code-block:: python

    with running_simulator(allowed_afnemers={"gent.be/x"}, seed=7) as sim:
        requests.post(sim.soap_url(), data=envelope)
        sim.admin("POST", "reset")

Keyword arguments are :class:`SimulatorConfig` field names (``population`` must be a path here). Ports are
chosen by the server itself (port 0) and read back from its ready line, so parallel runs never collide.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from proactief.magda.services import MOCK_SINGLE_ENDPOINT, ServiceSpec
from proactief_sim.simulator.server import READY_PREFIX

__all__ = ["RunningSimulator", "running_simulator", "cli_args"]

_URL_RE = re.compile(r"(https?)://(\S+)")


@dataclass
class RunningSimulator:
    base_url: str
    """``http://127.0.0.1:PORT``"""
    tls_url: str | None
    """``https://127.0.0.1:PORT`` when a TLS port was asked for."""
    pid: int
    args: list[str]
    process: subprocess.Popen[str] = field(repr=False)
    output: list[str] = field(default_factory=list, repr=False)
    """Everything the server printed (for diagnosing a failed test)."""
    admin_token: str | None = field(default=None, repr=False)
    """Sent with every :meth:`admin` call when the server was started with one."""

    def soap_url(self, service: ServiceSpec | None = None, *, tls: bool = False) -> str:
        """The mock's single endpoint, or the per-service path of ``service``; over HTTPS with ``tls``."""
        base = self.tls_url if tls else self.base_url
        if base is None:
            raise RuntimeError("this simulator runs without HTTPS")
        return base + (service.path if service is not None else MOCK_SINGLE_ENDPOINT)

    def admin(self, method: str, what: str, payload: Any = None) -> Any:
        """Call ``/_sim/<what>`` over plain HTTP and return the decoded JSON."""
        data = json.dumps(payload).encode() if payload is not None else None
        headers = {"Content-Type": "application/json"}
        if self.admin_token is not None:
            headers["X-Sim-Admin-Token"] = self.admin_token
        req = urllib.request.Request(  # noqa: S310 - our own local server, http only
            f"{self.base_url}/_sim/{what}", data=data, method=method, headers=headers
        )
        with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - our own local server
            return json.loads(resp.read())

    def set_clock(self, day: date | None) -> None:
        """Move the simulated day (``None`` = back to the real date): ``POST /_sim/clock``."""
        self.admin("POST", "clock", {"date": day.isoformat() if day is not None else None})

    def clock(self) -> date:
        """The simulated day the server answers on: ``GET /_sim/clock``."""
        return date.fromisoformat(self.admin("GET", "clock")["date"])

    def stop(self, timeout: float = 10.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        return self.process.returncode


def cli_args(**config: Any) -> list[str]:
    """``SimulatorConfig`` keyword arguments as ``python -m proactief_sim.simulator`` flags."""
    args = ["--host", str(config.pop("host", "127.0.0.1")), "--port", str(config.pop("port", 0))]
    tls_port = config.pop("tls_port", None)
    cert, key = config.pop("cert_file", None), config.pop("key_file", None)
    if cert and key:
        args += ["--tls-port", str(0 if tls_port is None else tls_port), "--cert", str(cert), "--key", str(key)]
    if (ca := config.pop("ca_file", None)) is not None:
        args += ["--ca", str(ca)]
    if config.pop("require_client_cert", False):
        args.append("--require-client-cert")
    for d in config.pop("testcases_dirs", ()) or ():
        args += ["--testcases", str(d)]
    for a in config.pop("allowed_afnemers", None) or ():
        args += ["--allow-afnemer", a]
    for code, rate in (config.pop("fault_rates", None) or {}).items():
        args += ["--fault", f"{code}={rate}"]
    for insz, code in (config.pop("fault_insz", None) or {}).items():
        args += ["--fault-insz", f"{insz}={code}"]
    for name, flag in (("latency_ms", "--latency-ms"), ("seed", "--seed"), ("timeout_seconds", "--timeout-seconds"),
                       ("population", "--population")):
        value = config.pop(name, None)
        if value is not None:
            args += [flag, str(value)]
    if config.pop("repertorium_check", True) is False:
        args.append("--no-repertorium-check")
    if config.pop("validate_responses", False):
        args.append("--validate-responses")
    if (clock := config.pop("clock", None)) is not None:
        args += ["--clock", clock.isoformat() if isinstance(clock, date) else str(clock)]
    if (cert_pem := config.pop("verify_signature", None)) is not None:
        args += ["--verify-signature", str(cert_pem)]
    if (token := config.pop("admin_token", None)) is not None:
        args += ["--admin-token", token]
    if config:
        raise TypeError(f"unknown simulator setting(s): {', '.join(sorted(config))}")
    return args


@contextmanager
def running_simulator(*, startup_timeout: float = 30.0, **config: Any) -> Iterator[RunningSimulator]:
    """Start ``python -m proactief_sim.simulator`` on free ports, wait until it is ready, stop it afterwards."""
    args = [sys.executable, "-m", "proactief_sim.simulator", *cli_args(**config)]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    output: list[str] = []
    ready = threading.Event()
    urls: dict[str, str] = {}

    def pump() -> None:  # keep reading so the server never blocks on a full pipe
        assert proc.stdout is not None
        for line in proc.stdout:
            output.append(line.rstrip("\n"))
            if line.startswith(READY_PREFIX):
                for scheme, rest in _URL_RE.findall(line):
                    urls[scheme] = f"{scheme}://{rest}"
                ready.set()
        ready.set()

    threading.Thread(target=pump, name="simulator-output", daemon=True).start()
    deadline = time.monotonic() + startup_timeout
    while not ready.wait(0.05):
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("simulator did not become ready:\n" + "\n".join(output[-30:]))
    if "http" not in urls:
        proc.wait(5)
        raise RuntimeError("simulator exited before it was ready:\n" + "\n".join(output[-30:]))
    sim = RunningSimulator(urls["http"], urls.get("https"), proc.pid, args, proc, output,
                           admin_token=config.get("admin_token"))
    try:
        yield sim
    finally:
        sim.stop()

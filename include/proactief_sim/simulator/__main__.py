"""``python -m proactief_sim.simulator``: run the local MAGDA simulator (flags as the project CLI will offer them)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

from proactief_sim.simulator.config import FAULT_CODES, SimulatorConfig, parse_clock, parse_fault_insz, parse_fault_rate
from proactief_sim.simulator.server import serve

ADMIN_TOKEN_ENV = "MAGDA_SIM_ADMIN_TOKEN"  # noqa: S105 - the variable's name, not a token
"""The environment variable ``--admin-token`` defaults to (keeps the token out of the process list)."""


def _arg(parse):  # type: ignore[no-untyped-def]
    def wrapped(text: str):  # type: ignore[no-untyped-def]
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return wrapped


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m proactief_sim.simulator", description="Local MAGDA simulator")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8088, help="HTTP port (0 = any free port)")
    p.add_argument("--tls-port", type=int, default=None, help="HTTPS port (needs --cert and --key)")
    p.add_argument("--cert", help="server certificate (PEM)")
    p.add_argument("--key", help="server private key (PEM)")
    p.add_argument("--ca", help="CA of acceptable client certificates (PEM)")
    p.add_argument("--require-client-cert", action="store_true", help="mutual TLS: refuse clients without one")
    p.add_argument("--testcases", action="append", default=[], metavar="DIR",
                   help="extra canned-answer folder, searched before the shipped cases (repeatable)")
    p.add_argument("--allow-afnemer", action="append", default=None, metavar="X",
                   help="only this Afzender/Identificatie may call, others get 13001 (repeatable)")
    p.add_argument("--latency-ms", type=float, default=0.0)
    p.add_argument("--fault", action="append", default=[], type=_arg(parse_fault_rate), metavar="CODE=RATE",
                   help=f"inject a fault in a fraction of calls; CODE among {', '.join(FAULT_CODES)} (repeatable)")
    p.add_argument("--fault-insz", action="append", default=[], type=_arg(parse_fault_insz), metavar="INSZ=CODE",
                   help="that person always gets that fault (repeatable)")
    p.add_argument("--seed", type=int, default=0, help="seed of the deterministic fault injection")
    p.add_argument("--population", metavar="PATH", help="population store (JSON lines, see population.py)")
    p.add_argument("--timeout-seconds", type=float, default=60.0, help="how long a 'timeout' fault hangs")
    p.add_argument("--no-repertorium-check", action="store_true",
                   help="answer person services without a repertorium inscription (no 40003)")
    p.add_argument("--validate-responses", action="store_true",
                   help="check every synthesised answer against its response XSD (slower; for tests)")
    p.add_argument("--clock", type=_arg(parse_clock), default=None, metavar="YYYY-MM-DD",
                   help="the simulated day (default: the real date); movable with POST /_sim/clock")
    p.add_argument("--verify-signature", metavar="CERT.pem", default=None,
                   help="the afnemer's signing certificate: every SOAP request must carry a valid WS-Security "
                        "signature by it (X.509 token profile), else a SOAP Fault")
    p.add_argument("--admin-token", metavar="TOKEN", default=os.environ.get(ADMIN_TOKEN_ENV) or None,
                   help="clients sending it in X-Sim-Admin-Token may use /_sim/... from any address (without it: "
                        f"loopback only; GET /_sim/health is open). Default: ${ADMIN_TOKEN_ENV}")
    return p


def config_from_args(argv: Sequence[str] | None = None) -> SimulatorConfig:
    p = parser()
    a = p.parse_args(argv)
    try:
        return _config(a)
    except ValueError as exc:
        p.error(str(exc))  # exits with status 2


def _config(a: argparse.Namespace) -> SimulatorConfig:
    return SimulatorConfig(
        host=a.host,
        port=a.port,
        tls_port=a.tls_port,
        cert_file=a.cert,
        key_file=a.key,
        ca_file=a.ca,
        require_client_cert=a.require_client_cert,
        testcases_dirs=tuple(a.testcases),
        allowed_afnemers=frozenset(a.allow_afnemer) if a.allow_afnemer else None,
        fault_rates=dict(a.fault),
        fault_insz=dict(a.fault_insz),
        latency_ms=a.latency_ms,
        timeout_seconds=a.timeout_seconds,
        seed=a.seed,
        population=a.population,
        repertorium_check=not a.no_repertorium_check,
        validate_responses=a.validate_responses,
        clock=a.clock,
        verify_signature=a.verify_signature,
        admin_token=a.admin_token,
    )


def main(argv: Sequence[str] | None = None) -> None:
    serve(config_from_args(argv))


if __name__ == "__main__":
    main()

"""docker-compose.yaml stays correct without a Docker engine: checked as data against what the stack needs."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yaml").read_text())


def test_compose_has_the_ledger_and_the_simulator_with_health_checks() -> None:
    services = _compose()["services"]
    for name in ("postgres", "magda-sim", "ledger-init"):
        assert name in services, f"service {name} missing"
    assert "healthcheck" in services["postgres"]
    assert "healthcheck" in services["magda-sim"]
    assert services["ledger-init"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_compose_commands_are_real_cli_commands() -> None:
    services = _compose()["services"]
    assert services["magda-sim"]["command"][0] == "magda-sim"
    assert services["ledger-init"]["command"] == ["db", "upgrade"]


def test_simulator_port_is_published_on_loopback_only() -> None:
    ports = _compose()["services"]["magda-sim"]["ports"]
    assert all(p.startswith("127.0.0.1:") for p in ports)


def test_dockerfile_installs_the_pinned_requirements_on_airflow_332() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "FROM apache/airflow:3.3.2-python3.11" in dockerfile
    assert "-r /opt/proactief/requirements.txt -c /opt/proactief/constraints.txt" in dockerfile

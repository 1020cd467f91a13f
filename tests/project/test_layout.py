"""The project keeps its agreed shape: domain code free of Airflow, pinned dependencies, two commands."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "include" / "proactief"


def test_top_level_layout() -> None:
    for name in ("dags", "plugins", "include", "tests", "docker-compose.yaml", "requirements.txt", "README.md"):
        assert (ROOT / name).exists(), f"missing top-level {name}"
    assert (ROOT / ".ci" / "run").read_text().strip().endswith("exec bash bin/test")


def test_domain_package_never_imports_airflow() -> None:
    offenders = []
    for path in (ROOT / "include").rglob("*.py"):  # the product and the test harness (proactief_sim) alike
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(n == "airflow" or n.startswith("airflow.") for n in names):
                offenders.append(str(path.relative_to(ROOT)))
    assert not offenders, f"include/ must not import Airflow: {offenders}"


def test_requirements_are_pinned_exactly_and_agree_with_constraints() -> None:
    constraints = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            constraints[re.sub(r"[-_.]+", "-", name).lower()] = version
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        assert re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[0-9][^\s]*", line), f"not pinned exactly: {line}"
        name, _, version = line.partition("==")
        key = re.sub(r"[-_.]+", "-", name).lower()
        assert constraints.get(key) == version, f"{name}: requirements {version} vs constraints {constraints.get(key)}"
    assert "apache-airflow==3.3.2" in (ROOT / "requirements.txt").read_text()
    assert "great-expectations==1.24.1" in (ROOT / "requirements.txt").read_text()


def test_readme_names_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "bin/run" in readme and "bin/test" in readme


def test_installed_command_line_answers() -> None:
    exe = Path(sys.executable).parent / "proactief"
    out = subprocess.run([str(exe), "--help"], capture_output=True, text=True, check=True, timeout=60)
    for command in ("magda-sim", "db", "consult"):
        assert command in out.stdout

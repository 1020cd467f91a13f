"""docker-compose.yaml, Dockerfile and .env.example stay correct without a Docker engine: checked as data against
what the stack needs, and every command they name is checked against the real CLI (Airflow's parser, the project's
own parsers) in this virtualenv, which has the same pinned set as the image."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]

AIRFLOW_COMPONENTS = ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer",
                     "airflow-worker")
ONE_SHOT = ("airflow-init", "population-init")
SECRETS = ("AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API__SECRET_KEY")
# where the image expects the mounted trees: Airflow's defaults under AIRFLOW_HOME=/opt/airflow, and the editable
# install of the project under /opt/proactief (see the Dockerfile)
MOUNTS = {"./dags": "/opt/airflow/dags", "./plugins": "/opt/airflow/plugins", "./include": "/opt/proactief/include"}
# ${VAR}, ${VAR:-default}, ${VAR:?message}; `$${VAR}` is an escaped dollar for the container's shell
VARIABLE = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)")
REQUIRED = re.compile(r"^\$\{([A-Z][A-Z0-9_]*):\?[^}]+\}$")


@cache
def _compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yaml").read_text())


def _services() -> dict[str, dict[str, Any]]:
    return _compose()["services"]


def _airflow_services() -> dict[str, dict[str, Any]]:
    """Every service built on the x-airflow-common block (the components, the init job, cli, flower)."""
    return {name: svc for name, svc in _services().items()
            if "AIRFLOW__CORE__EXECUTOR" in (svc.get("environment") or {})}


def _env_example() -> dict[str, str]:
    values = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield str(key)
            yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)
    elif isinstance(node, str):
        yield node


def _resolve(value: str) -> str:
    """A compose value with the defaults filled in (`${VAR:-default}` -> default, `${VAR:?...}` -> VAR)."""
    value = re.sub(r"\$\{[A-Za-z_][A-Za-z0-9_]*:-([^}]*)\}", r"\1", value)
    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*):\?[^}]*\}", r"\1", value)


def _container_script(text: str) -> str:
    """What the container's shell gets: compose turns `$$` into `$`."""
    return text.replace("$$", "$")


def _command(name: str) -> list[str]:
    command = _services()[name]["command"]
    return command.split() if isinstance(command, str) else list(command)


def _mount_targets(svc: dict[str, Any]) -> dict[str, str]:
    targets = {}
    for volume in svc.get("volumes", []):
        source, target, *_ = volume.split(":")
        targets[target] = source
    return targets


# ---- the services ----

DASHBOARD_ADVICE = ("PROACTIEF_ADVICE_URL", "PROACTIEF_ADVICE_TOKEN")


def test_every_airflow_component_is_present_and_built_on_the_common_block() -> None:
    common = _compose()["x-airflow-common"]
    services = _services()
    for name in (*AIRFLOW_COMPONENTS, "airflow-init"):
        assert name in services, f"service {name} missing"
        svc = services[name]
        assert svc["image"] == common["image"] and svc["build"] == common["build"], name
        for key, value in common["environment"].items():
            if name == "airflow-apiserver" and key in DASHBOARD_ADVICE:
                continue  # the dashboard asks the advice service with its own token (it runs no task)
            assert svc["environment"].get(key) == value, f"{name}: {key} differs from x-airflow-common"
        assert set(_mount_targets(common)) <= set(_mount_targets(svc)), f"{name} lacks a common mount"
    assert {"postgres", "redis", "magda-sim", "standins", "mailpit"} <= set(services)


def test_the_worker_is_called_airflow_worker_and_can_be_scaled() -> None:
    worker = _services()["airflow-worker"]  # docs/scaling-workers.md: docker compose up --scale airflow-worker=N
    assert _command("airflow-worker") == ["celery", "worker"]
    assert "container_name" not in worker, "a fixed container name cannot be scaled"
    assert "ports" not in worker, "a published host port cannot be scaled"
    assert worker["environment"]["DUMB_INIT_SETSID"] == "0"  # warm shutdown of Celery, as in the official file
    assert worker["stop_grace_period"] == "10m", "a worker scaled down finishes its running tasks first"


def test_component_commands_are_the_airflow_ones() -> None:
    expected = {"airflow-apiserver": ["api-server"], "airflow-scheduler": ["scheduler"],
                "airflow-dag-processor": ["dag-processor"], "airflow-triggerer": ["triggerer"],
                "airflow-worker": ["celery", "worker"], "flower": ["celery", "flower"]}
    for name, command in expected.items():
        assert _command(name) == command, name


def test_flower_and_the_cli_are_behind_profiles() -> None:
    services = _services()
    assert services["flower"]["profiles"] == ["flower"]
    assert services["airflow-cli"]["profiles"] == ["debug"]
    for name, svc in services.items():
        if "profiles" not in svc:
            for dependency in svc.get("depends_on", {}):
                assert "profiles" not in services[dependency], f"{name} needs {dependency}, which is optional"


def test_every_long_running_service_has_a_healthcheck() -> None:
    for name, svc in _services().items():
        if name in ONE_SHOT or name == "airflow-cli":
            continue
        test = svc.get("healthcheck", {}).get("test")
        assert test and test[0] in ("CMD", "CMD-SHELL"), f"{name} has no health check"
        assert svc.get("restart") == "always", f"{name} is not restarted"


def test_health_checks_are_the_official_ones() -> None:
    services = _services()

    def check(name: str) -> str:
        return _container_script(" ".join(services[name]["healthcheck"]["test"][1:]))

    assert "http://localhost:8080/api/v2/monitor/health" in check("airflow-apiserver")
    for name, job in (("airflow-scheduler", "SchedulerJob"), ("airflow-dag-processor", "DagProcessorJob"),
                      ("airflow-triggerer", "TriggererJob")):
        assert check(name) == f'airflow jobs check --job-type {job} --hostname "${{HOSTNAME}}"', name
    assert check("airflow-worker") == ('celery --app airflow.providers.celery.executors.celery_executor.app '
                                       'inspect ping -d "celery@${HOSTNAME}"')
    assert "http://localhost:8088/_sim/health" in check("magda-sim")
    assert "http://localhost:8090/health" in check("standins")
    assert check("postgres").startswith("pg_isready")
    assert check("redis") == "redis-cli ping"


def test_depends_on_waits_for_health_and_for_the_init_job() -> None:
    services = _services()
    for name in AIRFLOW_COMPONENTS:
        depends = services[name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy", name
        assert depends["redis"]["condition"] == "service_healthy", name
        assert depends["airflow-init"]["condition"] == "service_completed_successfully", name
    assert services["airflow-init"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    worker = services["airflow-worker"]["depends_on"]
    for needed in ("airflow-apiserver", "magda-sim", "standins", "mailpit"):
        assert worker[needed]["condition"] == "service_healthy", needed
    assert services["magda-sim"]["depends_on"]["population-init"]["condition"] == "service_completed_successfully"
    for name, svc in services.items():
        for dependency, spec in svc.get("depends_on", {}).items():
            if spec["condition"] == "service_healthy":
                assert "healthcheck" in services[dependency], f"{name} waits for {dependency}'s health check"
            elif spec["condition"] == "service_completed_successfully":
                assert dependency in ONE_SHOT and "restart" not in services[dependency], (name, dependency)


# ---- one secret for all, from .env ----

def test_every_airflow_service_gets_the_same_required_secrets_from_env() -> None:
    airflow = _airflow_services()
    assert set(AIRFLOW_COMPONENTS) | {"airflow-init", "flower", "airflow-cli"} <= set(airflow)
    example = _env_example()
    for key in SECRETS:
        values = {svc["environment"].get(key) for svc in airflow.values()}
        assert len(values) == 1 and None not in values, f"{key} differs between the Airflow services: {values}"
        match = REQUIRED.match(values.pop())
        assert match, f"{key} must come from .env as ${{VAR:?message}}"
        assert match.group(1) in example, f"{match.group(1)} is not in .env.example"


def test_every_password_is_required_from_env() -> None:
    example = _env_example()
    needed = {m.group(1) for text in _strings(_compose()) for m in re.finditer(r"\$\{([A-Z0-9_]+):\?", text)}
    assert {"POSTGRES_PASSWORD", "PROACTIEF_LEDGER_PASSWORD", "AIRFLOW_ADMIN_PASSWORD", "AIRFLOW_VIEWER_PASSWORD",
            "PROACTIEF_PSEUDONYM_KEY", "MAGDA_SIM_ADMIN_TOKEN"} <= needed
    for name in needed:
        assert "change-me" in example[name], f".env.example must hold a placeholder for {name}, not a secret"


def test_every_compose_variable_is_listed_in_env_example() -> None:
    referenced = {m.group(1) for text in _strings(_compose()) for m in VARIABLE.finditer(text)}
    listed = set(_env_example())
    assert referenced - listed == set(), "add these to .env.example"
    assert listed - referenced == set(), ".env.example lists variables docker-compose.yaml does not use"


def test_env_example_says_how_to_generate_the_fernet_key_and_the_jwt_secret() -> None:
    text = (ROOT / ".env.example").read_text()
    assert "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())" in text
    assert "openssl rand -hex 32" in text


def test_env_is_git_ignored_and_kept_out_of_the_image() -> None:
    if shutil.which("git") and (ROOT / ".git").exists():
        assert subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=ROOT).returncode == 0
    else:
        assert ".env" in (ROOT / ".gitignore").read_text().splitlines()
    assert ".env" in (ROOT / ".dockerignore").read_text().splitlines()


# ---- executor, auth, project settings ----

def test_executor_is_celery_with_a_redis_broker_and_a_postgres_result_backend() -> None:
    env = _compose()["x-airflow-common"]["environment"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__CELERY__BROKER_URL"] == "redis://redis:6379/0"
    assert _resolve(env["AIRFLOW__CELERY__RESULT_BACKEND"]).startswith("db+postgresql://")
    assert urlsplit(_resolve(env["AIRFLOW__CELERY__RESULT_BACKEND"])).hostname == "postgres"
    assert urlsplit(_resolve(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])).hostname == "postgres"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"


FAB_AUTH_MANAGER = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"


def _fab_roles() -> Any:
    """plugins/proactief_airflow/fab_roles.py (its command line needs no Airflow import, so neither does this)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("fab_roles", ROOT / "plugins" / "proactief_airflow" / "fab_roles.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _init_lines() -> list[str]:
    return [line.strip() for line in _container_script(_command("airflow-init")[2]).splitlines()]


def test_auth_is_the_fab_auth_manager_with_no_simple_auth_manager_left() -> None:
    # DAG-level roles per scheme need a real auth manager with per-DAG permissions: FAB (the simple one has roles
    # over every DAG only)
    for name, svc in _airflow_services().items():
        env = svc["environment"]
        assert env["AIRFLOW__CORE__AUTH_MANAGER"] == FAB_AUTH_MANAGER, name
        assert not [k for k in env if k.startswith("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER")], name
    # the class loads with this virtualenv's pins (the image's) and is an auth manager with the FAB CLI commands
    out = _airflow_python("""
from airflow.api_fastapi.app import create_auth_manager
from airflow.api_fastapi.auth.managers.base_auth_manager import BaseAuthManager
manager = create_auth_manager()
assert isinstance(manager, BaseAuthManager)
print(type(manager).__name__, sorted(c.name for c in manager.get_cli_commands()))
""")
    assert out.startswith("FabAuthManager") and "'fab-db'" in out and "'users'" in out and "'roles'" in out


def test_the_init_job_migrates_fab_and_makes_the_scheme_roles_and_the_users_from_env() -> None:
    import shlex

    lines = _init_lines()
    order = [lines.index(step) for step in ("airflow db migrate", "airflow fab-db migrate",
                                            "cd /opt/airflow/plugins",
                                            "python -m proactief_airflow.fab_roles sync")]
    assert order == sorted(order)
    # python -m finds proactief_airflow in the working directory: the plugins folder every Airflow service mounts
    assert _mount_targets(_services()["airflow-init"])["/opt/airflow/plugins"] == "./plugins"
    users = [shlex.split(line)[3:] for line in lines if line.startswith("python -m proactief_airflow.fab_roles user")]
    env = _services()["airflow-init"]["environment"]
    made = []
    for argv in users:
        args = _fab_roles().parser().parse_args(argv)
        assert args.command == "user"
        assert REQUIRED.match(env[args.password_env]), f"{args.password_env} must come from .env"
        made.append((_resolve(env[args.username.strip("${}")]), args.role))
    assert made == [("admin", "Admin"), ("viewer", "Viewer")]  # FAB's built-in roles
    assert not [line for line in lines if "--password " in line or line.startswith("airflow users create")], \
        "a password on a command line shows in the process list"


def test_every_airflow_setting_is_a_real_airflow_option() -> None:
    keys = {k for svc in _airflow_services().values() for k in svc["environment"] if k.startswith("AIRFLOW__")}
    options = sorted(tuple(k.removeprefix("AIRFLOW__").lower().split("__")) for k in keys)
    out = _airflow_python("""
import json, sys
from airflow.configuration import conf
known = conf.configuration_description
print(json.dumps([[s, k] for s, k in json.loads(sys.argv[1]) if k not in known.get(s, {}).get("options", {})]))
""", json.dumps(options))
    assert json.loads(out) == [], "not Airflow config options"


def test_the_project_settings_are_the_names_the_code_reads() -> None:
    from dataclasses import fields

    from proactief.delivery.config import DeliveryConfig
    from proactief.magda.config import MagdaConfig

    env = {k: _resolve(v) for k, v in _compose()["x-airflow-common"]["environment"].items()}
    project = {k for k in env if k.startswith("PROACTIEF_")}
    read_elsewhere = {"PROACTIEF_DB_URL", "PROACTIEF_ALERT_EMAIL", "PROACTIEF_ALERT_FROM", "PROACTIEF_CITY_DATA_DIR",
                      "PROACTIEF_OPTOUT_INBOX", "PROACTIEF_PSEUDONYM_KEY", "PROACTIEF_ADVICE_URL",
                      "PROACTIEF_ADVICE_TOKEN"}
    known = ({f"PROACTIEF_{f.name.upper()}" for f in fields(DeliveryConfig)}
             | {f"PROACTIEF_MAGDA_{f.name.upper()}" for f in fields(MagdaConfig)} | read_elsewhere)
    assert project - known == set(), "no code reads these"
    sources = "".join(p.read_text() for d in ("include/proactief", "plugins", "dags") for p in (ROOT / d).rglob("*.py"))
    for name in read_elsewhere:
        assert name in sources, f"{name} is not read by the code any more"
    assert {"PROACTIEF_DB_URL", "PROACTIEF_MAGDA_BASE_URL", "PROACTIEF_ALERT_EMAIL", "PROACTIEF_UITPAS_URL",
            "PROACTIEF_IVAGO_DIR", "PROACTIEF_SCHOOL_DIR", "PROACTIEF_LETTER_DIR", "PROACTIEF_EBOX_URL",
            "PROACTIEF_SMTP_HOST", "PROACTIEF_SMTP_PORT", "PROACTIEF_SMTP_SENDER"} <= project
    from proactief.advice_service.client import AdviceServiceSettings

    assert AdviceServiceSettings.from_env(env) is None  # by default the runs ask MAGDA in the task
    delivery = DeliveryConfig.from_env(env)
    assert (delivery.uitpas_url, delivery.ebox_url, delivery.smtp_host, delivery.smtp_port) == (
        "http://standins:8090/uitpas", "http://standins:8090/ebox", "mailpit", 1025)
    assert delivery.uitpas_client_id and delivery.uitpas_client_secret  # else the UiTPAS adapter is not built
    # MAGDA over mutual TLS: the PKI paths are the container's; a PKI made the same way stands in for them here
    with tempfile.TemporaryDirectory() as folder:
        from proactief_sim.simulator.pki import make_test_pki

        make_test_pki(folder, server_names=("magda-sim",))
        local = {k: v.replace("/opt/airflow/data/pki", folder) for k, v in env.items()}
        magda = MagdaConfig.from_env(local)
    assert (magda.base_url, magda.verify) == ("https://magda-sim:8443", True)
    assert magda.client_cert and magda.client_key and magda.ca_bundle


def test_mail_goes_to_the_local_smtp_server() -> None:
    env = _compose()["x-airflow-common"]["environment"]
    assert "mailpit" in _services()
    assert env["AIRFLOW__SMTP__SMTP_HOST"] == env["PROACTIEF_SMTP_HOST"] == "mailpit"
    assert env["AIRFLOW__SMTP__SMTP_PORT"] == env["PROACTIEF_SMTP_PORT"] == "1025"
    connection = json.loads(_resolve(env["AIRFLOW_CONN_SMTP_DEFAULT"]))  # the operators' alerts (smtp_default)
    assert (connection["conn_type"], connection["host"], connection["port"]) == ("smtp", "mailpit", 1025)


# ---- the ledger ----

def test_the_ledger_is_its_own_database_and_role_migrated_by_the_init_job() -> None:
    env = _compose()["x-airflow-common"]["environment"]
    ledger = urlsplit(_resolve(env["PROACTIEF_DB_URL"]))
    metadata = urlsplit(_resolve(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]))
    assert ledger.hostname == metadata.hostname == "postgres"
    assert ledger.path != metadata.path and ledger.username != metadata.username
    lines = [line.strip() for line in _command("airflow-init")[2].splitlines()]
    steps = ("airflow db migrate", "airflow pools import /opt/airflow/airflow/pools.json", "proactief db upgrade")
    order = [lines.index(step) for step in steps]
    assert order == sorted(order)
    assert _mount_targets(_services()["airflow-init"])["/opt/airflow/airflow"] == "./airflow"
    assert "magda" in json.loads((ROOT / "airflow" / "pools.json").read_text())


def _init_snippets() -> list[str]:
    return re.findall(r"python - <<'PY'\n(.*?)\nPY\n", _container_script(_command("airflow-init")[2]), re.S)


def test_the_init_script_is_valid_shell_and_python() -> None:
    script = _container_script(_command("airflow-init")[2])
    assert subprocess.run(["bash", "-n", "-c", script]).returncode == 0
    snippets = _init_snippets()
    assert len(snippets) == 1
    for snippet in snippets:
        compile(snippet, "airflow-init", "exec")


@pytest.mark.integration
def test_the_init_job_creates_the_ledger_database_and_role_idempotently() -> None:
    from sqlalchemy import create_engine, text

    from tests.conftest import PG_ADMIN_URL

    name = f"proactief_c_{uuid.uuid4().hex[:10]}"
    ledger_url = f"postgresql+psycopg2://{name}:p%40ss'w0rd@127.0.0.1:5432/{name}"
    env = dict(os.environ, AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=PG_ADMIN_URL, PROACTIEF_DB_URL=ledger_url)
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        for _ in range(2):  # a second run (a restarted stack) changes nothing and does not fail
            subprocess.run([sys.executable, "-"], input=_init_snippets()[0], text=True, env=env, check=True)
        engine = create_engine(ledger_url)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT current_user, current_database()")).one() == (name, name)
        engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f'DROP ROLE IF EXISTS "{name}"'))
        admin.dispose()


# ---- mounts and image ----

def test_dags_plugins_and_include_are_mounted_in_every_airflow_service_where_the_image_expects_them() -> None:
    for name, svc in _airflow_services().items():
        targets = _mount_targets(svc)
        for source, target in MOUNTS.items():
            assert targets.get(target) == source, f"{name}: {source} not mounted at {target}"
        assert "AIRFLOW__CORE__DAGS_FOLDER" not in svc["environment"]  # the default, $AIRFLOW_HOME/dags
        assert "AIRFLOW__CORE__PLUGINS_FOLDER" not in svc["environment"]
    for name in ("magda-sim", "standins", "population-init"):  # our image, our code
        assert _mount_targets(_services()[name])["/opt/proactief/include"] == "./include", name


def test_the_mounted_include_is_the_code_that_runs() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "COPY --chown=airflow:0 include /opt/proactief/include" in dockerfile
    assert re.search(r"pip install [^\n]*--no-deps -e /opt/proactief\s*$", dockerfile, re.M), \
        "the project must be installed editable from /opt/proactief"
    # an editable install of this pyproject.toml puts <project>/include on sys.path (as in this virtualenv), so in
    # the image /opt/proactief/include, the mount target, is where `proactief` is imported from
    import proactief

    assert Path(proactief.__file__).resolve().is_relative_to(ROOT / "include")


def test_dockerfile_installs_the_pinned_requirements_on_airflow_332() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "FROM apache/airflow:3.3.2-python3.11" in dockerfile
    assert "-r /opt/proactief/requirements.txt -c /opt/proactief/constraints.txt" in dockerfile
    assert "COPY --chown=airflow:0 requirements.txt constraints.txt pyproject.toml /opt/proactief/" in dockerfile
    assert "libxml2" in dockerfile and "libxslt1.1" in dockerfile
    instructions = "\n".join(line for line in dockerfile.splitlines() if not line.lstrip().startswith("#")).lower()
    assert "chromium" not in instructions and "playwright" not in instructions  # the image needs no browser
    assert re.search(r"^USER airflow\s*$", dockerfile, re.M) and dockerfile.rstrip().splitlines()[-1] != "USER root"


def test_the_image_seeds_the_volumes_it_writes_to() -> None:
    # a new named volume takes the owner of the image's folder it is mounted on: the airflow user, not root
    dockerfile = (ROOT / "Dockerfile").read_text()
    targets = {target for svc in _services().values() for target, source in _mount_targets(svc).items()
               if source in _compose()["volumes"] and source != "postgres-db-volume"}
    assert targets == {"/opt/airflow/logs", "/opt/airflow/data"}
    for target in targets - {"/opt/airflow/logs"}:  # the base image has its logs folder
        assert re.search(rf"mkdir -p [^\n]*{target}", dockerfile) and re.search(rf"chown [^\n]*{target}", dockerfile)


# ---- network: loopback only, no way out ----

def test_published_ports_are_on_loopback_only() -> None:
    for name, svc in _services().items():
        for port in svc.get("ports", []):
            assert isinstance(port, str) and port.startswith("127.0.0.1:"), f"{name} publishes {port}"
    assert _services()["magda-sim"]["ports"] == ["127.0.0.1:${MAGDA_SIM_PORT:-8088}:8088"]


def test_only_services_with_a_published_port_have_a_route_out() -> None:
    networks = _compose()["networks"]
    assert networks["backend"]["internal"] is True
    for name, svc in _services().items():
        if svc.get("network_mode") == "none":
            continue
        attached = svc.get("networks", [])
        assert "backend" in attached, name
        assert ("published" in attached) == ("ports" in svc), f"{name}: published network iff it publishes a port"
    for name in ("airflow-worker", "airflow-scheduler", "airflow-triggerer", "airflow-dag-processor"):
        assert _services()[name]["networks"] == ["backend"], name


def test_nothing_points_at_a_real_magda_or_the_internet() -> None:
    services = set(_services())
    for text in _strings(_compose()):
        for url in re.findall(r"[a-z][a-z0-9+]*://[^\s'\"]+", _resolve(text)):
            host = urlsplit(url).hostname
            assert host in services or host in ("localhost", "127.0.0.1"), f"{url} leaves the stack"


# ---- every command is real ----

def _airflow_python(code: str, *args: str) -> str:
    """Run code in a fresh interpreter with the stack's executor and auth manager (whose CLI commands, e.g.
    ``fab-db``, exist only with it) and a throwaway AIRFLOW_HOME; the last line of its stdout."""
    with tempfile.TemporaryDirectory() as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        env.update(AIRFLOW_HOME=home, AIRFLOW__CORE__EXECUTOR="CeleryExecutor", AIRFLOW__CORE__LOAD_EXAMPLES="False",
                   AIRFLOW__CORE__AUTH_MANAGER=_compose()["x-airflow-common"]["environment"]["AIRFLOW__CORE__AUTH_MANAGER"])
        result = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True,
                                timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""


def test_airflow_commands_are_real_airflow_subcommands() -> None:
    import shlex

    commands = [_command(name) for name in (*AIRFLOW_COMPONENTS, "flower")]
    for name in ("airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"):
        commands.append(shlex.split(_container_script(_services()[name]["healthcheck"]["test"][1]))[1:])
    for line in _command("airflow-init")[2].splitlines():
        if line.startswith("airflow "):
            commands.append(shlex.split(line)[1:])
    assert ["pools", "import", "/opt/airflow/airflow/pools.json"] in commands and ["fab-db", "migrate"] in commands
    _airflow_python("""
import json, sys
from airflow.cli import cli_parser
parser = cli_parser.get_parser()
for args in json.loads(sys.argv[1]):
    parser.parse_args(args)  # exits 2 with the usage on an unknown command or flag
""", json.dumps(commands))


def test_the_virtualenv_has_the_image_pins_of_the_stack_commands() -> None:
    # the command checks here run in .venv; they hold for the image only when both have the constraints.txt pins
    from importlib.metadata import version

    pins = dict(line.split("==", 1) for line in (ROOT / "constraints.txt").read_text().splitlines()
                if "==" in line and not line.startswith("#"))
    pins = {name.lower(): pin.split("#", 1)[0].strip() for name, pin in pins.items()}
    names = ("apache-airflow", "apache-airflow-providers-celery", "celery", "kombu", "flower", "redis",
             "apache-airflow-providers-fab", "flask-appbuilder")
    differ = {name: f".venv {version(name)}, constraints.txt {pins[name]}" for name in names
              if version(name) != pins[name]}
    assert differ == {}


def test_the_celery_app_of_the_worker_health_check_imports() -> None:
    # the scheduler's CeleryExecutor and the worker's health check load this module (a celery release the celery
    # provider does not support breaks it: celery 5.7 removed `celery.backends.database.retry`)
    _airflow_python("from airflow.providers.celery.executors.celery_executor import app; print(app.main)")


def test_the_simulator_command_parses_with_its_real_flags() -> None:
    from proactief_sim.simulator.__main__ import parser

    svc = _services()["magda-sim"]
    assert svc["entrypoint"] == ["proactief"]  # bypass the Airflow entrypoint, which would run `airflow magda-sim`
    command = _command("magda-sim")
    assert command[0] == "magda-sim"
    args = parser().parse_args(command[1:])
    assert (args.host, args.port) == ("0.0.0.0", 8088)
    # the Airflow services' MAGDA settings and the simulator's TLS side are one PKI, made by population-init
    env = {k: _resolve(v) for k, v in _compose()["x-proactief-env"].items()}
    assert urlsplit(env["PROACTIEF_MAGDA_BASE_URL"]).port == args.tls_port == 8443
    assert args.require_client_cert and args.ca == env["PROACTIEF_MAGDA_CA_BUNDLE"]
    pki = re.search(r"python -m proactief_sim.simulator.pki (\S+) --server-name (\S+)",
                    _services()["population-init"]["command"][0])
    assert pki is not None and pki.group(2) == urlsplit(env["PROACTIEF_MAGDA_BASE_URL"]).hostname
    for path in (args.cert, args.key, args.ca, env["PROACTIEF_MAGDA_CLIENT_CERT"], env["PROACTIEF_MAGDA_CLIENT_KEY"]):
        assert path.startswith(pki.group(1) + "/"), path
    population = _services()["population-init"]["command"][0]
    assert args.population == re.search(r"--out (\S+)", population).group(1) + "/magda-population.jsonl"


def test_the_advice_service_runs_the_real_command_on_the_ledger_with_a_health_check() -> None:
    import typer

    from proactief.advice_service.app import create_app
    from proactief.advice_service.config import AdviceServiceConfig, hash_token
    from proactief.cli import app

    svc = _services()["advice-service"]
    assert svc["entrypoint"] == ["proactief"]  # not the Airflow entrypoint
    command = _command("advice-service")
    ctx = typer.main.get_command(app).make_context("proactief", list(command), resilient_parsing=False)
    sub = ctx.command.get_command(ctx, command[0])  # type: ignore[attr-defined]
    assert sub is not None
    params = sub.make_context(command[0], command[1:]).params
    assert (params["host"], params["port"]) == ("0.0.0.0", 8091)
    # the health check asks the app's own /health on the port it listens on; compose waits for it
    assert svc["healthcheck"]["test"] == ["CMD", "curl", "--fail", "http://localhost:8091/health"]
    assert svc["restart"] == "always" and svc["ports"] == ["127.0.0.1:${ADVICE_SERVICE_PORT:-8091}:8091"]
    assert svc["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"  # ledger migrated
    # its settings: the ledger and MAGDA as the Airflow services have them, tokens (hashes only) from .env
    env = {k: _resolve(v) for k, v in svc["environment"].items()}
    assert env["PROACTIEF_DB_URL"] == _resolve(_compose()["x-proactief-env"]["PROACTIEF_DB_URL"])
    assert env["PROACTIEF_MAGDA_BASE_URL"] == "https://magda-sim:8443"
    assert REQUIRED.match(svc["environment"]["PROACTIEF_ADVICE_TOKENS"])
    assert "change-me" in _env_example()["PROACTIEF_ADVICE_TOKENS"]
    env["PROACTIEF_ADVICE_TOKENS"] = f"counter={hash_token('a-token')}"
    config = AdviceServiceConfig.from_env(env)
    assert config.db_url == env["PROACTIEF_DB_URL"] and config.application_for("a-token") == "counter"
    assert "/health" in {getattr(r, "path", None) for r in create_app(config).routes}
    # the dashboard (api-server) asks it for the call centre's live advice, with its own token from .env
    api = {k: _resolve(v) for k, v in _services()["airflow-apiserver"]["environment"].items()}
    assert api["PROACTIEF_ADVICE_URL"] == "http://advice-service:8091"
    assert _services()["airflow-apiserver"]["environment"]["PROACTIEF_ADVICE_TOKEN"] == (
        "${PROACTIEF_ADVICE_DASHBOARD_TOKEN:-}")
    assert "PROACTIEF_ADVICE_DASHBOARD_TOKEN" in _env_example()
    assert api["PROACTIEF_DB_URL"] == env["PROACTIEF_DB_URL"]  # the merge kept the common settings


def test_the_simulators_admin_api_takes_the_admin_token_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # In compose the admin API's clients (the developer through the published port, another container) are not on
    # the container's loopback, so without a token the admin API would refuse them all; with a guessable one it
    # would take anyone's. The token comes from .env, through the environment (not the command line: ps shows it).
    import asyncio

    from proactief_sim.simulator import SimulatorConfig, build_app
    from proactief_sim.simulator.__main__ import ADMIN_TOKEN_ENV, parser
    from proactief_sim.simulator.app import ADMIN_TOKEN_HEADER
    from proactief_sim.simulator.config import MIN_ADMIN_TOKEN_LENGTH

    svc = _services()["magda-sim"]
    match = REQUIRED.match(svc["environment"][ADMIN_TOKEN_ENV])
    assert match, f"{ADMIN_TOKEN_ENV} must come from .env as ${{VAR:?message}}"
    assert "change-me" in _env_example()[match.group(1)]
    assert not [part for part in _command("magda-sim") if "token" in part.lower()]
    token = "t" * MIN_ADMIN_TOKEN_LENGTH
    monkeypatch.setenv(ADMIN_TOKEN_ENV, token)
    args = parser().parse_args(_command("magda-sim")[1:])
    assert args.admin_token == token and args.host == "0.0.0.0"
    app = build_app(SimulatorConfig(admin_token=args.admin_token))

    def status(headers: list[tuple[bytes, bytes]]) -> int:
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {"type": "http", "method": "GET", "path": "/_sim/state", "query_string": b"", "headers": headers,
                 "client": ("172.18.0.1", 50000)}  # the Docker bridge's gateway: a published port's client
        asyncio.run(app(scope, receive, send))
        return int(sent[0]["status"])

    assert status([]) == 403
    assert status([(ADMIN_TOKEN_HEADER.lower().encode(), token.encode())]) == 200
    # the runbook's calls from the host send it
    runbook = (ROOT / "docs" / "runbook.md").read_text()
    compose_calls = [line for line in runbook.splitlines() if "_sim/" in line and "127.0.0.1:" in line]
    assert compose_calls and all(f'{ADMIN_TOKEN_HEADER}: ${match.group(1)}' in line for line in compose_calls)


def test_the_standins_command_parses_with_its_real_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    from proactief_sim.standins.__main__ import main

    svc = _services()["standins"]
    assert svc["entrypoint"] == ["python"]
    command = [_resolve(part) for part in _command("standins")]
    assert command[:2] == ["-m", "proactief_sim.standins"]
    served: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: served.update(kw, app=app))
    main(command[2:])
    assert (served["host"], served["port"]) == ("0.0.0.0", 8090)
    env = _compose()["x-proactief-env"]
    assert (_resolve(env["PROACTIEF_UITPAS_CLIENT_ID"]), _resolve(env["PROACTIEF_UITPAS_CLIENT_SECRET"])) == (
        command[command.index("--uitpas-client-id") + 1], command[command.index("--uitpas-client-secret") + 1])
    # part of the people have a UiTPAS (the rest wait for one, "wacht op pas"): never everybody, never nobody
    assert "--auto-passholders" not in command
    assert 0.0 < float(command[command.index("--passholder-share") + 1]) < 1.0
    assert _resolve(env["PROACTIEF_UITPAS_URL"]) == "http://standins:8090/uitpas"


def test_the_project_cli_commands_exist_with_their_flags() -> None:
    import click
    import typer

    from proactief.cli import app

    root = typer.main.get_command(app)

    def options(*path: str) -> set[str]:
        # get_command, not .commands: the harness's commands (population, magda-sim) come from an entry point
        command = root
        for name in path:
            command = command.get_command(click.Context(command), name)  # type: ignore[attr-defined]
        return {opt for param in command.params for opt in param.opts}

    assert "--db-url" in options("db", "upgrade")  # `proactief db upgrade` reads PROACTIEF_DB_URL by default
    script = _container_script(_services()["population-init"]["command"][0]).replace("\\\n", " ")
    used = set(re.findall(r"(--[a-z][a-z-]*)", script.split("proactief population generate", 1)[1]))
    assert used and used <= options("population", "generate")


def test_the_compose_file_uses_only_known_service_keys() -> None:
    known = {"image", "build", "command", "entrypoint", "environment", "volumes", "ports", "expose", "networks",
             "network_mode", "healthcheck", "restart", "depends_on", "profiles", "user", "init", "stop_grace_period"}
    for name, svc in _services().items():
        assert set(svc) <= known, f"{name}: {set(svc) - known}"
        for key in svc.get("healthcheck", {}):
            assert key in {"test", "interval", "timeout", "retries", "start_period"}, (name, key)

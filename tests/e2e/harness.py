"""A real Airflow 3.3 deployment for end-to-end tests: api-server, scheduler (LocalExecutor), dag-processor and
triggerer as subprocesses on a fresh PostgreSQL metadata database, with a local SMTP sink. With
``executor="CeleryExecutor"`` the scheduler hands the tasks to Redis instead and ``airflow celery worker`` processes
(``CeleryWorker``: hostname, concurrency, queues) run them; results go to the metadata database.

Why not ``dag.test()``: the guarantees under test (retries after a killed task process, cleared tasks, backfills,
failure e-mails sent by the task runner) only exist with a scheduler and an executor. In Airflow 3 a LocalExecutor
task runner talks to the api-server's execution API (``[core] execution_api_server_url``), so the api-server is part
of the stack; the REST API of the same server triggers, clears and backfills (``simple_auth_manager_all_admins``
makes every request an admin, so no token dance). Run and task states are read straight from the metadata DB.

This module imports no Airflow: it drives the processes from outside, like an operator would.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import email
import email.message
import email.policy
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import Engine, create_engine, text

REPO = Path(__file__).resolve().parents[2]
PG_ADMIN_URL = os.environ.get("PROACTIEF_TEST_PG", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("PROACTIEF_TEST_REDIS", "redis://127.0.0.1:6379")
"""The test Redis server (no db number): Celery stacks each take a database of their own (``redis_database``)."""
TERMINAL_RUN_STATES = frozenset({"success", "failed"})
FINISHED_TI_STATES = frozenset({"success", "failed", "skipped", "upstream_failed", "removed"})


def venv_bin(name: str) -> str:
    """A console script of the interpreter running the tests (the project's venv), else from PATH."""
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if not found:
        raise FileNotFoundError(f"{name} is not installed next to {sys.executable} nor on PATH")
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ------------------------------------------------------------------------------------------------ PostgreSQL


def create_database(prefix: str) -> str:
    """A fresh, empty database on the test PostgreSQL; returns its SQLAlchemy URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def drop_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@contextlib.contextmanager
def city_ledger(folder: Path, prefix: str = "proactief_e2e") -> Iterator[str]:
    """A fresh, migrated ledger database holding a generated population's city data (resident snapshot, OCMW,
    schools) from ``folder``: its URL, dropped on exit."""
    from proactief.ledger import make_engine, upgrade
    from proactief.lifecycle.sync import import_city_data

    url = create_database(prefix)
    try:
        upgrade(url)
        engine = make_engine(url)
        try:
            import_city_data(engine, folder)
        finally:
            engine.dispose()
        yield url
    finally:
        drop_database(url)


# ----------------------------------------------------------------------------------------------------- Redis


@contextlib.contextmanager
def redis_database(server: str = REDIS_URL) -> Iterator[str]:
    """A Redis database (1..15) of the test server that holds no key, as a URL; flushed on exit (that one only).

    The server is shared with other tests: taking an empty one at random keeps Celery stacks apart, and each stack's
    own default queue (``AirflowStack.celery_queue``) keeps their tasks apart even if two picked the same number."""
    import random

    import redis

    numbers = list(range(1, 16))
    random.shuffle(numbers)
    for number in numbers:
        client = redis.Redis.from_url(f"{server}/{number}")
        try:
            if client.dbsize() == 0:
                break
        finally:
            client.close()
    else:
        raise RuntimeError(f"no empty database on {server} (1..15)")
    try:
        yield f"{server}/{number}"
    finally:
        client = redis.Redis.from_url(f"{server}/{number}")
        try:
            client.flushdb()
        finally:
            client.close()


# ------------------------------------------------------------------------------------------------------ SMTP


@dataclass
class SmtpSink:
    """A real SMTP server (aiosmtpd) on a free local port that keeps every message it receives."""

    host: str = "127.0.0.1"
    port: int = 0
    messages: list[email.message.EmailMessage] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _controller: Any = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd hook)
        msg = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        with self._lock:
            self.messages.append(msg)  # type: ignore[arg-type]
        return "250 Message accepted for delivery"

    def start(self) -> SmtpSink:
        from aiosmtpd.controller import Controller

        self.port = self.port or free_port()
        self._controller = Controller(self, hostname=self.host, port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def snapshot(self) -> list[email.message.EmailMessage]:
        with self._lock:
            return list(self.messages)

    def wait_for(self, predicate: Any, timeout: float = 60.0) -> email.message.EmailMessage:
        """The first message satisfying ``predicate``; fails after ``timeout`` seconds listing the subjects seen."""
        deadline = time.monotonic() + timeout
        while True:
            for msg in self.snapshot():
                if predicate(msg):
                    return msg
            if time.monotonic() > deadline:
                subjects = [str(m.get("Subject")) for m in self.snapshot()]
                raise TimeoutError(f"no matching e-mail within {timeout:.0f}s; subjects seen: {subjects}")
            time.sleep(0.5)

    @property
    def connection_uri(self) -> str:
        """``AIRFLOW_CONN_SMTP_DEFAULT`` value (JSON form: the extras need booleans)."""
        return json.dumps({"conn_type": "smtp", "host": self.host, "port": self.port, "login": "", "password": "",
                           "extra": {"disable_tls": True, "disable_ssl": True, "from_email": "airflow@proactief.test",
                                     "timeout": 10, "retry_limit": 1}})


def message_text(msg: email.message.EmailMessage) -> str:
    """Subject plus every text part, for assertions on what an operator reads."""
    parts = [str(msg.get("Subject", ""))]
    for part in msg.walk():
        if part.get_content_maintype() == "text":
            with contextlib.suppress(Exception):
                parts.append(part.get_content())
    return "\n".join(parts)


# ------------------------------------------------------------------------------------------------ population


@dataclass(frozen=True)
class Population:
    """A generated population folder and the facts the tests compare with."""

    folder: Path
    size: int
    seed: int

    @property
    def store(self) -> Path:
        return self.folder / "magda-population.jsonl"

    def insz_set(self) -> set[str]:
        with self.store.open() as fh:
            return {json.loads(line)["insz"] for line in fh if line.strip()}

    def expected(self, scheme_id: str) -> list[dict[str, str]]:
        with (self.folder / "expected" / f"{scheme_id}.csv").open(newline="") as fh:
            return list(csv.DictReader(fh))

    def reference_date(self, scheme_id: str) -> str:
        return str(json.loads((self.folder / "expected" / "reference-dates.json").read_text())[scheme_id])


# --------------------------------------------------------------------------------------------------- Airflow


class AirflowError(RuntimeError):
    """The stack did something the test did not expect; the message carries the process-log tails."""


@dataclass
class TaskInstance:
    task_id: str
    map_index: int
    state: str | None
    try_number: int
    id: str
    pid: int | None

    @property
    def key(self) -> str:
        return self.task_id if self.map_index < 0 else f"{self.task_id}[{self.map_index}]"


@dataclass(frozen=True)
class CeleryWorker:
    """One ``airflow celery worker`` process of a CeleryExecutor stack."""

    hostname: str
    """``--celery-hostname``: unique among the workers on the broker (a second one by that name refuses to start)."""
    concurrency: int = 1
    """``--concurrency``: task processes of this worker (each runs one task at a time)."""
    queues: tuple[str, ...] = ()
    """``--queues``; empty: the stack's default queue."""
    serve_logs: bool = True
    """Serve its task logs on a port of its own (``[logging] worker_log_server_port``), as a worker on another
    machine must; ``False`` passes ``--skip-serve-logs``."""

    @property
    def node_name(self) -> str:
        """Celery's name for the worker (``celery@<hostname>`` unless the hostname names the node itself): what a
        ping answers with and what the result backend records per task."""
        return self.hostname if "@" in self.hostname else f"celery@{self.hostname}"

    @property
    def service(self) -> str:
        return f"celery-worker-{self.hostname}"


class AirflowStack:
    """One Airflow deployment in ``home``: start it, drive it through its REST API, read its metadata DB, stop it."""

    SERVICES = ("api-server", "scheduler", "dag-processor", "triggerer")

    def __init__(self, home: Path, *, metadata_url: str, dags_folder: Path = REPO / "dags",
                 plugins_folder: Path = REPO / "plugins", extra_env: Mapping[str, str] | None = None,
                 parallelism: int = 4, services: Sequence[str] = SERVICES, executor: str = "LocalExecutor",
                 broker_url: str | None = None, workers: Sequence[CeleryWorker] = ()) -> None:
        """``executor="CeleryExecutor"`` needs ``broker_url`` (a Redis database of its own, ``redis_database``) and
        ``workers``, started with the other services; the Celery results go to the metadata database."""
        self.home = Path(home)
        self.metadata_url = metadata_url
        self.dags_folder = Path(dags_folder)
        self.plugins_folder = Path(plugins_folder)
        self.services = tuple(services)
        self.executor = executor
        self.broker_url = broker_url
        self.workers = tuple(workers)
        if self.celery and not broker_url:
            raise ValueError("the CeleryExecutor needs a broker_url")
        if len({w.hostname for w in self.workers}) != len(self.workers):
            raise ValueError("Celery worker hostnames must be distinct")
        self.celery_queue = f"proactief-e2e-{uuid.uuid4().hex[:8]}"
        """The stack's default queue (``[operators] default_queue``): every task goes there unless it names one."""
        self.api_port = free_port()
        self.base_url = f"http://127.0.0.1:{self.api_port}"
        self.proc_log_dir = self.home / "proc-logs"
        self.task_log_dir = self.home / "logs"
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self._session = requests.Session()
        self._db: Engine | None = None
        self.env = self._environment(parallelism, extra_env or {})

    # ------------------------------------------------------------------------------------------ configuration

    def _environment(self, parallelism: int, extra: Mapping[str, str]) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "AIRFLOW_CONN_", "AIRFLOW_VAR_"))}
        env.pop("AIRFLOW_HOME", None)
        metadata = self.metadata_url.replace("postgresql://", "postgresql+psycopg2://", 1)
        env.update({
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(self.plugins_folder),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": self.executor,
            "AIRFLOW__CORE__PARALLELISM": str(parallelism),
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.base_url}/execution/",
            "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "60",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata,
            "AIRFLOW__DATABASE__SQL_ALCHEMY_POOL_SIZE": "3",
            "AIRFLOW__API__BASE_URL": self.base_url,
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.api_port),
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API__SECRET_KEY": secrets.token_hex(16),
            "AIRFLOW__API__EXPOSE_CONFIG": "True",
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
            "AIRFLOW__SCHEDULER__JOB_HEARTBEAT_SEC": "2",
            "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.5",
            "AIRFLOW__SCHEDULER__CATCHUP_BY_DEFAULT": "False",
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "60",
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "30",
            "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
            "AIRFLOW__DAG_PROCESSOR__PRINT_STATS_INTERVAL": "300",
            "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "2",
            # Local log servers on free ports: several stacks (or a developer's Airflow) may share the machine.
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__COLORED_CONSOLE_LOG": "False",
            "PYTHONUNBUFFERED": "1",
        })
        if self.celery:
            env.update({
                "AIRFLOW__OPERATORS__DEFAULT_QUEUE": self.celery_queue,
                "AIRFLOW__CELERY__BROKER_URL": str(self.broker_url),
                "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{metadata}",
                # result_extended: the result backend keeps the worker that ran each task (``task_workers``)
                "AIRFLOW__CELERY__EXTRA_CELERY_CONFIG": json.dumps({"result_extended": True}),
                "AIRFLOW__CELERY__SYNC_PARALLELISM": "1",
                "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT": "21600",
            })
        env.update(extra)
        return env

    @property
    def celery(self) -> bool:
        return self.executor == "CeleryExecutor"

    def set_smtp(self, sink: SmtpSink) -> None:
        """Route the ``smtp_default`` connection and the ``[smtp]`` section to ``sink`` (call before ``start``)."""
        self.env.update({
            "AIRFLOW_CONN_SMTP_DEFAULT": sink.connection_uri,
            "AIRFLOW__SMTP__SMTP_HOST": sink.host,
            "AIRFLOW__SMTP__SMTP_PORT": str(sink.port),
            "AIRFLOW__SMTP__SMTP_STARTTLS": "False",
            "AIRFLOW__SMTP__SMTP_SSL": "False",
            "AIRFLOW__SMTP__SMTP_MAIL_FROM": "airflow@proactief.test",
        })

    # --------------------------------------------------------------------------------------------- lifecycle

    def cli(self, *args: str, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run ``airflow <args>`` with the stack's environment."""
        proc = subprocess.run([venv_bin("airflow"), *args], env=self.env, cwd=self.home, capture_output=True,
                              text=True, timeout=timeout)
        if check and proc.returncode != 0:
            raise AirflowError(f"airflow {' '.join(args)} exited {proc.returncode}:\n{proc.stdout[-3000:]}\n"
                               f"{proc.stderr[-3000:]}")
        return proc

    def migrate(self, pools_file: Path | None = REPO / "airflow" / "pools.json",
                default_pools: Mapping[str, int] | None = None) -> None:
        """``airflow db migrate`` and the pools: from ``pools_file`` when it exists, else ``default_pools``."""
        self.home.mkdir(parents=True, exist_ok=True)
        self.cli("db", "migrate", timeout=600)
        if pools_file is not None and pools_file.exists():
            self.cli("pools", "import", str(pools_file))
        else:
            for name, slots in (default_pools or {}).items():
                self.cli("pools", "set", name, str(slots), name)

    def _spawn(self, name: str, args: Sequence[str], env: Mapping[str, str] | None = None) -> None:
        """``airflow <args>`` as service ``name`` in a session of its own, its output in ``proc-logs/<name>.log``."""
        self.proc_log_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.proc_log_dir / f"{name}.log", "ab")  # noqa: SIM115 (owned by the process)
        self.processes[name] = subprocess.Popen(
            [venv_bin("airflow"), *args], env=dict(env or self.env), cwd=self.home, stdout=log,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()

    def start(self, timeout: float = 120) -> None:
        """Start the services (and the Celery workers) and wait until the api-server answers, the scheduler
        heartbeats and every worker answers a ping."""
        commands = {
            "api-server": ["api-server", "--host", "127.0.0.1", "--port", str(self.api_port), "--workers", "1"],
            "scheduler": ["scheduler"],
            "dag-processor": ["dag-processor"],
            "triggerer": ["triggerer"],
        }
        for name in self.services:
            self._spawn(name, commands[name])
        for worker in self.workers:
            self.start_worker(worker, wait=False)
        deadline = time.monotonic() + timeout
        while True:
            self._check_alive()
            try:
                health = self._session.get(f"{self.base_url}/api/v2/monitor/health", timeout=5).json()
                if "scheduler" not in self.services or health.get("scheduler", {}).get("status") == "healthy":
                    break
            except (requests.RequestException, ValueError):
                pass
            if time.monotonic() > deadline:
                raise AirflowError(f"the stack did not become healthy in {timeout:.0f}s\n{self.log_tails()}")
            time.sleep(1)
        if self.workers:
            self.wait_for_workers([w.node_name for w in self.workers], timeout=max(30.0, deadline - time.monotonic()))

    # ---------------------------------------------------------------------------------------- Celery workers

    def start_worker(self, worker: CeleryWorker, *, wait: bool = True, timeout: float = 120) -> None:
        """Start ``airflow celery worker`` (what a new worker machine runs, with the same configuration): its own
        hostname, concurrency and queues, and its own log-server port. With ``wait``, until it answers a ping."""
        if not self.celery:
            raise AirflowError(f"a Celery worker needs the CeleryExecutor, not {self.executor}")
        if worker.service in self.processes:
            raise AirflowError(f"worker {worker.hostname} is already running")
        env = dict(self.env)
        env["AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT"] = str(free_port())
        args = ["celery", "worker", "--celery-hostname", worker.hostname, "--concurrency", str(worker.concurrency),
                "--queues", ",".join(worker.queues or (self.celery_queue,)),
                "--pid", str(self.home / f"{worker.service}.pid")]
        if not worker.serve_logs:
            args.append("--skip-serve-logs")
        self._spawn(worker.service, args, env)
        if worker not in self.workers:
            self.workers = (*self.workers, worker)
        if wait:
            self.wait_for_workers([worker.node_name], timeout=timeout)

    def stop_worker(self, hostname: str, grace: float = 30) -> None:
        """Warm shutdown of one worker (SIGTERM: it finishes its running tasks), SIGKILL after ``grace``."""
        worker = {w.hostname: w for w in self.workers}[hostname]
        proc = self.processes.pop(worker.service)
        _terminate_group(proc, grace)
        self.workers = tuple(w for w in self.workers if w.hostname != hostname)

    def celery_ping(self, timeout: float = 1.0) -> set[str]:
        """The node names of the workers that answer a ping on the stack's broker (``celery inspect ping``).

        In a subprocess, never in the test process: a kombu connection pool there registers an after-fork hook
        that makes every later ``fork`` (a ``ProcessPoolExecutor`` in another test) read from this broker's
        socket, and hang forever once the broker's database is gone."""
        code = ("import json, sys; from celery import Celery; "
                "app = Celery('proactief-e2e-ping', broker=sys.argv[1], set_as_current=False); "
                "print(json.dumps([n for r in (app.control.ping(timeout=float(sys.argv[2])) or ()) for n in r]))")
        out = subprocess.run([venv_bin("python"), "-c", code, self.broker_url, str(timeout)], capture_output=True,
                             text=True, timeout=timeout + 60, check=True)
        return set(json.loads(out.stdout.strip().splitlines()[-1]))

    def wait_for_workers(self, node_names: Sequence[str], timeout: float = 120) -> None:
        """Block until every one of ``node_names`` answers a ping (a worker answers once it consumes)."""
        deadline = time.monotonic() + timeout
        while True:
            self._check_alive()
            answered = self.celery_ping()
            if set(node_names) <= answered:
                return
            if time.monotonic() > deadline:
                raise AirflowError(f"Celery workers {sorted(set(node_names) - answered)} did not answer in "
                                   f"{timeout:.0f}s (answered: {sorted(answered)})\n{self.log_tails()}")
            time.sleep(0.5)

    def task_workers(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        """``task_id`` (``task_id[i]`` when mapped) → the Celery worker (node name) that ran its latest try, from the
        result backend (``celery_taskmeta.worker``, kept because of ``result_extended``; the Celery task id is the
        task instance's ``external_executor_id``); ``None`` when the backend has no record of it (a task that never
        reached an executor, e.g. an ``EmptyOperator``, which the scheduler marks done itself)."""
        rows = self._rows("SELECT ti.task_id, ti.map_index, m.worker FROM task_instance ti "
                          "LEFT JOIN celery_taskmeta m ON m.task_id = ti.external_executor_id "
                          "WHERE ti.dag_id = :d AND ti.run_id = :r ORDER BY ti.task_id, ti.map_index",
                          d=dag_id, r=run_id)
        return {(r.task_id if r.map_index < 0 else f"{r.task_id}[{r.map_index}]"): r.worker for r in rows}

    def stop(self, grace: float = 20) -> None:
        """Terminate each service's (and worker's) process group (SIGTERM, then SIGKILL after ``grace`` seconds)."""
        for proc in self.processes.values():
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for proc in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        for proc in self.processes.values():
            # The group outlives its leader when workers linger: kill what is left of it by its id.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
        self.processes.clear()
        self._session.close()
        if self._db is not None:
            self._db.dispose()
            self._db = None

    def _check_alive(self) -> None:
        for name, proc in self.processes.items():
            if proc.poll() is not None:
                raise AirflowError(f"airflow {name} exited with {proc.returncode}\n{self.log_tails()}")

    def log_tails(self, lines: int = 15) -> str:
        """The last lines of every service log, for failure messages."""
        out = []
        for path in sorted(self.proc_log_dir.glob("*.log")):
            tail = path.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"--- {path.name}\n" + "\n".join(tail))
        return "\n".join(out)

    # ------------------------------------------------------------------------------------------ metadata DB

    @property
    def db(self) -> Engine:
        if self._db is None:
            self._db = create_engine(self.metadata_url, pool_size=2, max_overflow=2)
        return self._db

    def _rows(self, sql: str, **params: Any) -> list[Any]:
        with self.db.connect() as conn:
            return list(conn.execute(text(sql), params).all())

    def wait_for_dags(self, dag_ids: Sequence[str], timeout: float = 120) -> None:
        """Block until the dag-processor has serialized every one of ``dag_ids`` (bounded; import errors fail)."""
        deadline = time.monotonic() + timeout
        while True:
            self._check_alive()
            found = {r[0] for r in self._rows("SELECT dag_id FROM serialized_dag WHERE dag_id = ANY(:ids)",
                                               ids=list(dag_ids))}
            if found >= set(dag_ids):
                return
            errors = self._rows("SELECT filename, stacktrace FROM import_error")
            if errors or time.monotonic() > deadline:
                listed = sorted(r[0] for r in self._rows("SELECT dag_id FROM dag"))
                detail = "\n".join(f"{f}:\n{s}" for f, s in errors)
                raise AirflowError(f"DAGs {sorted(set(dag_ids) - found)} not parsed (known: {listed})\n{detail}\n"
                                   f"{self.log_tails()}")
            time.sleep(1)

    def dag_ids(self) -> list[str]:
        return sorted(r[0] for r in self._rows("SELECT dag_id FROM serialized_dag"))

    def run_state(self, dag_id: str, run_id: str) -> str | None:
        rows = self._rows("SELECT state FROM dag_run WHERE dag_id = :d AND run_id = :r", d=dag_id, r=run_id)
        return rows[0][0] if rows else None

    def runs(self, dag_id: str) -> list[dict[str, Any]]:
        """Every run of the DAG: run_id, state, run_type, logical_date, backfill_id, conf."""
        rows = self._rows("SELECT run_id, state, run_type, logical_date, backfill_id, conf FROM dag_run "
                          "WHERE dag_id = :d ORDER BY id", d=dag_id)
        return [r._asdict() for r in rows]

    def task_instances(self, dag_id: str, run_id: str) -> list[TaskInstance]:
        rows = self._rows("SELECT task_id, map_index, state, try_number, id, pid FROM task_instance "
                          "WHERE dag_id = :d AND run_id = :r ORDER BY task_id, map_index", d=dag_id, r=run_id)
        return [TaskInstance(r.task_id, r.map_index, r.state, r.try_number, str(r.id), r.pid) for r in rows]

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        """``task_id`` (``task_id[i]`` for a mapped instance) → state."""
        return {ti.key: ti.state for ti in self.task_instances(dag_id, run_id)}

    def tries(self, dag_id: str, run_id: str, task_id: str) -> list[dict[str, Any]]:
        """Every attempt of a task (the ``task_instance_history`` rows plus the current one)."""
        hist = self._rows("SELECT map_index, try_number, state FROM task_instance_history "
                          "WHERE dag_id = :d AND run_id = :r AND task_id = :t ORDER BY try_number",
                          d=dag_id, r=run_id, t=task_id)
        cur = self._rows("SELECT map_index, try_number, state FROM task_instance "
                         "WHERE dag_id = :d AND run_id = :r AND task_id = :t", d=dag_id, r=run_id, t=task_id)
        return [r._asdict() for r in [*hist, *cur]]

    # ------------------------------------------------------------------------------------------------ REST

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        resp = self._session.request(method, f"{self.base_url}/api/v2{path}", timeout=30, **kwargs)
        if resp.status_code >= 400:
            raise AirflowError(f"{method} {path} → {resp.status_code}: {resp.text[:2000]}")
        return resp.json() if resp.content else None

    def unpause(self, dag_id: str, *, absorb_due_run_conf: Mapping[str, Any] | None = None) -> str | None:
        """Unpause the DAG (its runs are only scheduled then).

        Unpausing a DAG with ``catchup=False`` makes the scheduler create a run for its latest due tick at once,
        one the test did not ask for. With ``absorb_due_run_conf``, a manual run with that conf (make it one that
        changes nothing, e.g. fails at once) is triggered at that tick first when no run holds it yet: the
        scheduler never creates a second run for a logical date. Returns that run's id, if one was made."""
        absorbed = None
        if absorb_due_run_conf is not None:
            rows = self._rows("SELECT next_dagrun, next_dagrun_create_after FROM dag WHERE dag_id = :d", d=dag_id)
            if rows and rows[0][0] is not None and rows[0][1] is not None \
                    and rows[0][1] <= dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10) \
                    and not self._rows("SELECT 1 FROM dag_run WHERE dag_id = :d AND logical_date = :l",
                                       d=dag_id, l=rows[0][0]):
                absorbed = self.trigger(dag_id, rows[0][0], conf=absorb_due_run_conf)
        self.api("PATCH", f"/dags/{dag_id}", json={"is_paused": False})
        return absorbed

    def pause(self, dag_id: str) -> None:
        self.api("PATCH", f"/dags/{dag_id}", json={"is_paused": True})

    def trigger(self, dag_id: str, logical_date: dt.datetime | dt.date | str | None = None,
                conf: Mapping[str, Any] | None = None, run_id: str | None = None) -> str:
        """Trigger a manual run (REST API); returns its run id. A date means midnight UTC of that day."""
        body: dict[str, Any] = {"logical_date": _iso(logical_date), "conf": dict(conf or {})}
        if run_id:
            body["dag_run_id"] = run_id
        return str(self.api("POST", f"/dags/{dag_id}/dagRuns", json=body)["dag_run_id"])

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 300, *, fail_fast: bool = True,
                     tolerate: Sequence[str] = ()) -> str:
        """Block until the run is ``success`` or ``failed``; returns that state.

        ``timeout`` bounds a stall, not the run: the wait fails after ``timeout`` seconds in which no task of the
        run changed state or try, so a slow machine (CI's two cores under a parallel suite) only takes longer, and
        a hung task still fails the test. With ``fail_fast`` a task that fails or waits for a retry (except the
        task ids in ``tolerate``) ends the wait at once with that attempt's error, instead of sitting out the DAG's
        retry delays."""
        stall = _Stall(timeout)
        while True:
            state = self.run_state(dag_id, run_id)
            if state in TERMINAL_RUN_STATES:
                return str(state)
            self._check_alive()
            tis = self.task_instances(dag_id, run_id)
            if fail_fast:
                self._raise_failing(dag_id, run_id, tis, tolerate)
            if stall.expired(tis):
                raise AirflowError(f"{dag_id}/{run_id} still {state}, no task moved for {timeout:.0f}s "
                                   f"({stall.elapsed:.0f}s in all): {self.task_states(dag_id, run_id)}\n"
                                   f"{self.stall_report(dag_id, [run_id])}\n{self.log_tails()}")
            time.sleep(1)

    def _raise_failing(self, dag_id: str, run_id: str, tis: Sequence[TaskInstance], tolerate: Sequence[str]) -> None:
        bad = [ti for ti in tis if ti.state in ("failed", "up_for_retry") and ti.task_id not in tolerate]
        if bad:
            errors = "\n".join(f"{ti.key} try {ti.try_number} {ti.state}: "
                               f"{self.task_errors(dag_id, run_id, ti.task_id, ti.try_number, ti.map_index)}"
                               for ti in bad)
            raise AirflowError(f"{dag_id}/{run_id} has failing tasks:\n{errors}")

    def clear(self, dag_id: str, run_id: str, task_regex: str, *, downstream: bool = False) -> list[str]:
        """Clear (re-run) the run's tasks whose id matches ``task_regex``; returns the task ids cleared."""
        pattern = re.compile(task_regex)
        task_ids = sorted({ti.task_id for ti in self.task_instances(dag_id, run_id) if pattern.search(ti.task_id)})
        if not task_ids:
            raise AirflowError(f"no task of {dag_id}/{run_id} matches {task_regex!r}")
        self.api("POST", f"/dags/{dag_id}/clearTaskInstances",
                 json={"dry_run": False, "dag_run_id": run_id, "task_ids": task_ids, "only_failed": False,
                       "reset_dag_runs": True, "include_downstream": downstream})
        return task_ids

    def backfill(self, dag_id: str, start: dt.date | dt.datetime | str, end: dt.date | dt.datetime | str, *,
                 timeout: float = 600, max_active_runs: int = 1, reprocess: str = "none",
                 conf: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Create a backfill (REST, like ``airflow backfill create``) and wait for all its runs to finish.

        Airflow 3 backfills are executed by the scheduler and need the DAG unpaused and a periodic schedule.
        Returns the backfill's runs (see ``runs``)."""
        body = {"dag_id": dag_id, "from_date": _iso(start), "to_date": _iso(end), "max_active_runs": max_active_runs,
                "reprocess_behavior": reprocess, "dag_run_conf": dict(conf or {})}
        backfill_id = self.api("POST", "/backfills", json=body)["id"]
        try:
            return self._wait_backfill(dag_id, backfill_id, timeout)
        except AirflowError:
            # one backfill per DAG at a time: a failed test must not leave its backfill running into the next
            with contextlib.suppress(Exception):
                self.api("PUT", f"/backfills/{backfill_id}/cancel")
            raise

    def _wait_backfill(self, dag_id: str, backfill_id: int, timeout: float) -> list[dict[str, Any]]:
        stall = _Stall(timeout)
        while True:
            runs = [r for r in self.runs(dag_id) if r["backfill_id"] == backfill_id]
            done = self._rows("SELECT completed_at FROM backfill WHERE id = :i", i=backfill_id)[0][0]
            if done is not None and all(r["state"] in TERMINAL_RUN_STATES for r in runs):
                return runs
            self._check_alive()
            tis = {r["run_id"]: self.task_instances(dag_id, r["run_id"]) for r in runs}
            for run_id, run_tis in tis.items():
                self._raise_failing(dag_id, run_id, run_tis, ())
            if stall.expired([(r["run_id"], r["state"]) for r in runs], tis):
                unfinished = {r["run_id"]: self.task_states(dag_id, r["run_id"]) for r in runs
                              if r["state"] not in TERMINAL_RUN_STATES}
                raise AirflowError(f"backfill {backfill_id} of {dag_id}: no run or task moved for {timeout:.0f}s "
                                   f"({stall.elapsed:.0f}s in all): {[(r['run_id'], r['state']) for r in runs]}; "
                                   f"unfinished: {unfinished}\n{self.stall_report(dag_id, list(unfinished))}\n"
                                   f"{self.log_tails()}")
            time.sleep(2)

    def stall_report(self, dag_id: str, run_ids: Sequence[str]) -> str:
        """What a stalled run is doing, for the failure message: per running task its runner's Python stacks
        (``py-spy dump``, every thread) and the end of its log; then the PostgreSQL sessions that are not idle,
        with what they wait for and who blocks them. A hang on a CI machine is then diagnosed from its log."""
        out = ["=== stall report"]
        for run_id in run_ids:
            for ti in self.task_instances(dag_id, run_id):
                if ti.state != "running":
                    continue
                out.append(f"--- {run_id} {ti.key} try {ti.try_number}: running")
                out.append(self._stacks(ti))
                logs = [p for p in self.task_log_files()
                        if f"task_id={ti.task_id}" in p.parts and f"attempt={ti.try_number}.log" == p.name
                        and any(part.startswith("run_id=") and part.endswith(run_id) for part in p.parts)
                        and (ti.map_index < 0 or f"map_index={ti.map_index}" in p.parts)]
                for path in logs:
                    out.append(f"log {path.name}, last lines:\n"
                               + "\n".join(path.read_text(errors="replace").splitlines()[-25:]))
        out.append(self._pg_activity())
        return "\n".join(out)

    def _stacks(self, ti: TaskInstance) -> str:
        import psutil

        title = f"airflow worker -- {ti.id}"
        for proc in psutil.process_iter(["cmdline"]):
            with contextlib.suppress(psutil.Error):
                if title in " ".join(proc.info["cmdline"] or ()):
                    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
                    try:
                        done = subprocess.run([spy, "dump", "--pid", str(proc.pid)], capture_output=True, text=True,
                                              timeout=60, check=False)
                    except (OSError, subprocess.TimeoutExpired) as exc:
                        return f"py-spy dump of {proc.pid} failed: {exc}"
                    return f"py-spy dump of pid {proc.pid}:\n{done.stdout}{done.stderr}"
        return f"(no process titled {title!r})"

    def _pg_activity(self) -> str:
        try:
            rows = self._rows(
                "SELECT datname, pid, state, wait_event_type, wait_event, pg_blocking_pids(pid) AS blocked_by, "
                "date_trunc('second', now() - xact_start) AS in_transaction, "
                "left(regexp_replace(query, '[0-9]{11}', '<insz>', 'g'), 160) AS query "
                "FROM pg_stat_activity WHERE backend_type = 'client backend' AND state <> 'idle' "
                "AND pid <> pg_backend_pid() ORDER BY xact_start")
        except Exception as exc:  # noqa: BLE001 - a report, never a second failure
            return f"pg_stat_activity unreadable: {exc}"
        return "PostgreSQL sessions not idle:\n" + "\n".join(
            f"  {r.datname} pid {r.pid} {r.state} wait {r.wait_event_type}/{r.wait_event} "
            f"blocked_by {r.blocked_by} in transaction {r.in_transaction}: {r.query}" for r in rows)

    # -------------------------------------------------------------------------------------------- processes

    def task_process(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1,
                     timeout: float = 60) -> Any:
        """The running task-runner process of a task instance (a ``psutil.Process``).

        Airflow 3's LocalExecutor forks ``airflow supervisor: …`` which forks the task runner, titled
        ``airflow worker -- <task instance id>``: that child runs the task code, so killing it is what an OOM kill
        or a crashed interpreter does. Waits until the task instance is running and its runner exists."""
        import psutil

        deadline = time.monotonic() + timeout
        while True:
            tis = [ti for ti in self.task_instances(dag_id, run_id)
                   if ti.task_id == task_id and ti.map_index == map_index]
            if tis and tis[0].state == "running":
                title = f"airflow worker -- {tis[0].id}"
                for proc in psutil.process_iter(["cmdline"]):
                    with contextlib.suppress(psutil.Error):
                        if title in " ".join(proc.info["cmdline"] or ()):
                            return proc
            if time.monotonic() > deadline:
                raise AirflowError(f"no running task process for {dag_id}/{run_id}/{task_id}: "
                                   f"{[(t.key, t.state) for t in tis]}")
            time.sleep(0.1)

    def kill_task(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> int:
        """SIGKILL the task-runner process of a running task instance; returns its pid."""
        proc = self.task_process(dag_id, run_id, task_id, map_index)
        os.kill(proc.pid, signal.SIGKILL)
        return int(proc.pid)

    def expedite_retry(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1,
                       timeout: float = 120) -> None:
        """Wait until the task instance is ``up_for_retry``, then make its retry due now.

        Sets ``task_instance.retry_delay_override`` (what a ``RetryPolicy`` writes) to 0, so the scheduler's own
        retry path runs the next try at once instead of after the DAG's production ``retry_delay`` (minutes)."""
        deadline = time.monotonic() + timeout
        while True:
            with self.db.begin() as conn:
                updated = conn.execute(text(
                    "UPDATE task_instance SET retry_delay_override = 0 WHERE dag_id = :d AND run_id = :r "
                    "AND task_id = :t AND map_index = :m AND state = 'up_for_retry'"),
                    {"d": dag_id, "r": run_id, "t": task_id, "m": map_index}).rowcount
            if updated:
                return
            if time.monotonic() > deadline:
                raise AirflowError(f"{dag_id}/{run_id}/{task_id} not up_for_retry after {timeout:.0f}s: "
                                   f"{self.task_states(dag_id, run_id)}")
            time.sleep(0.3)

    # ------------------------------------------------------------------------------------------------- logs

    def task_log_path(self, dag_id: str, run_id: str, task_id: str, try_number: int, map_index: int = -1) -> Path:
        """Where the default ``log_filename_template`` puts one attempt's log."""
        path = self.task_log_dir / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"
        if map_index >= 0:
            path = path / f"map_index={map_index}"
        return path / f"attempt={try_number}.log"

    def task_errors(self, dag_id: str, run_id: str, task_id: str, try_number: int, map_index: int = -1) -> str:
        """The error events of one attempt's (JSON lines) log: exception type and message per event."""
        path = self.task_log_path(dag_id, run_id, task_id, try_number, map_index)
        if not path.exists():
            return f"(no log at {path})"
        out = []
        for line in path.read_text(errors="replace").splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("level") in ("error", "critical"):
                details = [f"{d.get('exc_type')}: {d.get('exc_value')}" for d in event.get("error_detail") or ()]
                out.append(f"{event.get('event')} {'; '.join(details)}".strip())
        return "\n".join(out) or "(no error event in the log)"

    def task_log_files(self) -> list[Path]:
        return sorted(p for p in self.task_log_dir.rglob("*") if p.is_file())

    def task_logs_text(self) -> str:
        """Every file under ``$AIRFLOW_HOME/logs`` (task attempts, dag-processor) concatenated."""
        return "\n".join(p.read_text(errors="replace") for p in self.task_log_files())

    def all_logs_text(self) -> str:
        """Task logs plus the service logs (scheduler, api-server, …)."""
        service = [p.read_text(errors="replace") for p in sorted(self.proc_log_dir.glob("*.log"))]
        return "\n".join([self.task_logs_text(), *service])


class _Stall:
    """A deadline that moves whenever the watched state changes: it measures how long nothing happened."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.started = self.moved = time.monotonic()
        self._last: Any = None

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def expired(self, *state: Any) -> bool:
        marker = repr(state)
        if marker != self._last:
            self._last, self.moved = marker, time.monotonic()
        return time.monotonic() - self.moved > self.seconds


def _terminate_group(proc: subprocess.Popen[bytes], grace: float) -> None:
    """SIGTERM the process's group, SIGKILL what is left of it after ``grace`` seconds."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


def _iso(value: dt.datetime | dt.date | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dt.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).isoformat()
    return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC).isoformat()


# ---------------------------------------------------------------------------------------- other processes


class Service:
    """A long-running helper subprocess (e.g. the MAGDA simulator) with its log in a file, stopped by its id."""

    def __init__(self, name: str, argv: Sequence[str], log_dir: Path, env: Mapping[str, str] | None = None,
                 port: int | None = None) -> None:
        self.name = name
        self.port = port
        self.url = f"http://127.0.0.1:{port}" if port else ""
        self.argv = list(argv)
        self.log_path = Path(log_dir) / f"{name}.log"
        self.env = dict(env) if env is not None else None
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Service:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         env=self.env, start_new_session=True)
        return self

    def wait_for_port(self, port: int | None = None, timeout: float = 60) -> None:
        port = port or self.port
        if port is None:
            raise ValueError("which port?")
        deadline = time.monotonic() + timeout
        while True:
            if self.proc is not None and self.proc.poll() is not None:
                raise AirflowError(f"{self.name} exited {self.proc.returncode}:\n{self.log_tail()}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                return
            if time.monotonic() > deadline:
                raise AirflowError(f"{self.name} not listening on {port} after {timeout:.0f}s:\n{self.log_tail()}")
            time.sleep(0.3)

    def log_tail(self, lines: int = 30) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, grace: float = 10) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        self.proc = None


@contextlib.contextmanager
def airflow_stack(home: Path, *, extra_env: Mapping[str, str] | None = None, dags_folder: Path = REPO / "dags",
                  smtp: SmtpSink | None = None, default_pools: Mapping[str, int] | None = None,
                  parallelism: int = 4, keep_db: bool = False, executor: str = "LocalExecutor",
                  broker_url: str | None = None, workers: Sequence[CeleryWorker] = ()) -> Iterator[AirflowStack]:
    """A started stack on a fresh metadata database, stopped and dropped on exit.

    ``executor="CeleryExecutor"`` with ``workers`` and a ``broker_url`` (see ``redis_database``, which also empties
    it afterwards): the workers are started with the stack and stopped before its database is dropped."""
    metadata_url = create_database("airflow_e2e")
    stack = AirflowStack(home, metadata_url=metadata_url, dags_folder=dags_folder, extra_env=extra_env,
                         parallelism=parallelism, executor=executor, broker_url=broker_url, workers=workers)
    if smtp is not None:
        stack.set_smtp(smtp)
    try:
        stack.migrate(default_pools=default_pools)
        stack.start()
        yield stack
    finally:
        stack.stop()
        if not keep_db:
            drop_database(metadata_url)

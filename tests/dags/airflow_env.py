"""The DAG tests' Airflow environment: its own AIRFLOW_HOME, the repository's dags/ and plugins/, no examples;
``dag_test`` (``dag.test()`` in a fresh interpreter) and a real SMTP sink.

Importing this module sets the environment of this process, because Airflow reads its configuration once, when
``airflow`` is first imported (nothing in ``include/`` imports Airflow; ``tests/dags/conftest.py`` imports this
first). Shared by the fixtures in ``conftest.py`` and by the tests.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
DAGS = REPO / "dags"
PLUGINS = REPO / "plugins"
POOLS_FILE = REPO / "airflow" / "pools.json"
VENV_BIN = Path(sys.executable).parent

_HOME = Path(tempfile.mkdtemp(prefix="proactief-airflow-home-"))


def airflow_env(home: Path = _HOME, **extra: str) -> dict[str, str]:
    """The environment for an Airflow process (or this one) on the repository's DAGs, isolated in ``home``.

    The plugins folder is deliberately not on PYTHONPATH: Airflow itself must put it on ``sys.path``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "AIRFLOW_CONN_", "AIRFLOW_VAR_"))}
    env.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PLUGINS),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "60",
    })
    env.update(extra)
    return env


if "airflow" not in sys.modules:
    os.environ.update({k: v for k, v in airflow_env().items() if k.startswith("AIRFLOW")})
if str(PLUGINS) not in sys.path:
    sys.path.insert(0, str(PLUGINS))


def pool_names() -> set[str]:
    return set(json.loads(POOLS_FILE.read_text()))


def airflow_cli(env: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([str(VENV_BIN / "airflow"), *args], env=env, capture_output=True, text=True,
                          timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(f"airflow {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


_RUNNER = """
import datetime as dt, json, sys, threading, time
from airflow.dag_processing.dagbag import DagBag
from airflow.models.taskinstance import TaskInstance
from airflow.utils.session import create_session

dag_id, logical, conf, answer, dags = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4], sys.argv[5]
consume, consume_after = sys.argv[6], int(sys.argv[7])
APPROVE = "decision_quality.approve"
hitl = {}


def answer_once():
    # What the Required Actions page does: the api-server's own route function, on this metadata DB.
    from airflow.api_fastapi.core_api.datamodels.hitl import UpdateHITLDetailPayload
    from airflow.api_fastapi.core_api.routes.public.hitl import update_hitl_detail
    from airflow.models.hitl import HITLDetail

    class User:
        def get_id(self):
            return "scheme-owner"

        def get_name(self):
            return "scheme-owner"

    with create_session() as session:
        ti = session.query(TaskInstance).filter(TaskInstance.dag_id == dag_id, TaskInstance.task_id == APPROVE,
                                                TaskInstance.state == "awaiting_input").first()
        if ti is None:
            return False
        detail = session.get(HITLDetail, ti.id)
        hitl.update(subject=detail.subject, body=detail.body)
        update_hitl_detail(dag_id=dag_id, dag_run_id=ti.run_id, task_id=APPROVE, map_index=-1,
                           update_hitl_detail_payload=UpdateHITLDetailPayload(chosen_options=[answer]),
                           user=User(), session=session)
        return True


def respond():
    while True:
        time.sleep(0.5)
        try:
            if answer_once():
                return
        except Exception:  # a dead thread would leave dag.test() waiting for input forever: say why, then stop
            import os, traceback
            traceback.print_exc()
            print("RESPOND-ERROR", flush=True)
            os._exit(3)


if answer != "-":
    threading.Thread(target=respond, daemon=True).start()
if consume != "-":
    # dag.test() makes a manual run; give it the asset's events as consumed, as an asset-triggered run has them
    import airflow.models.dagrun as dagrun_module
    from airflow.models.asset import AssetEvent, AssetModel
    from sqlalchemy import select

    create = dagrun_module.get_or_create_dagrun

    def with_asset_events(**kwargs):
        dr, session = create(**kwargs), kwargs["session"]
        dr.consumed_asset_events.extend(session.scalars(
            select(AssetEvent).join(AssetModel, AssetModel.id == AssetEvent.asset_id)
            .where(AssetModel.name == consume, AssetEvent.id > consume_after)))
        session.commit()
        return dr

    dagrun_module.get_or_create_dagrun = with_asset_events
bag = DagBag(dag_folder=dags)
assert not bag.import_errors, bag.import_errors
dag = bag.dags[dag_id]
for task in dag.tasks:  # a failing test should fail in seconds, not after the production retry delays
    task.retries, task.retry_delay = 1, dt.timedelta(seconds=1)
# Airflow 3.3.2 dag.test() keeps the deadline alerts as dicts in its in-memory scheduler DAG (the metadata DB
# stores their ids), and DagRun.update_state then fails looking them up when the run succeeds: leave them out here.
dag.deadline = None
dr = dag.test(logical_date=dt.datetime.fromisoformat(logical), run_conf=conf)
with create_session() as session:
    tis = session.query(TaskInstance).filter(TaskInstance.dag_id == dag_id, TaskInstance.run_id == dr.run_id).all()
    states = {f"{ti.task_id}[{ti.map_index}]": str(ti.state) for ti in tis}
print("RESULT " + json.dumps({"run_id": dr.run_id, "state": str(dr.state), "tasks": states, "hitl": hitl}))
"""


def dag_test(env: dict[str, str], dag_id: str, logical_date: dt.datetime, conf: dict[str, Any], *,
             answer: str | None = None, consume_asset: str | None = None, consume_after: int = 0,
             timeout: float = 600) -> dict[str, Any]:
    """``dag.test()`` in a fresh interpreter; returns the run id, its state, every task instance's state and, when
    ``answer`` ("Approve"/"Reject") is given, the approval request it answered (subject and body).
    ``consume_asset`` names an asset whose events (those with an id above ``consume_after``: the metadata DB is
    shared by the session's tests) the run gets as its triggering events, as a run merging them would."""
    log_file = Path(env["AIRFLOW_HOME"]) / f"dag_test-{dag_id}-{logical_date:%Y%m%dT%H%M}.log"
    try:
        proc = subprocess.run([sys.executable, "-c", _RUNNER, dag_id, logical_date.isoformat(), json.dumps(conf),
                               answer or "-", str(DAGS), consume_asset or "-", str(consume_after)], env=env,
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        out = "".join(x.decode() if isinstance(x, bytes) else (x or "") for x in (exc.stdout, exc.stderr))
        log_file.write_text(out)
        raise AssertionError(f"dag.test of {dag_id} did not finish in {timeout:.0f} s; log: {log_file}\n"
                             f"{out[-6000:]}") from None
    log_file.write_text(proc.stdout + proc.stderr)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, f"dag.test failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n" \
                                           f"{proc.stderr[-6000:]}"
    result: dict[str, Any] = json.loads(lines[-1][len("RESULT "):])
    result["log"] = proc.stdout + proc.stderr
    result["log_file"] = str(log_file)
    return result


class Sink:
    """aiosmtpd handler keeping every message."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.lock = threading.Lock()
        self.conn_env: dict[str, str] = {}

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd hook)
        msg = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(msg)  # type: ignore[arg-type]
        return "250 OK"


def message_text(msg: email.message.EmailMessage) -> str:
    return "\n".join(str(p.get_content()) for p in msg.walk() if p.get_content_maintype() == "text")

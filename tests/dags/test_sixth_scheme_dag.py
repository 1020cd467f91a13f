"""The DAG file builds a lifecycle DAG for a scheme added from a folder named by ``PROACTIEF_SCHEME_DIRS``
(the throw-away sixth scheme of ``tests/schemes/sixth_scheme``), parsed by Airflow's own DagBag in a fresh
process with the settings an Airflow deployment would have: no change to ``dags/`` or ``plugins/``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.dags.airflow_env import DAGS, airflow_env, pool_names
from tests.schemes.test_sixth_scheme import SIXTH, copy_sixth_scheme

_PARSE = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1], known_pools=set(json.loads(sys.argv[2])))
dag = bag.dags.get(sys.argv[3])
print(json.dumps({"errors": {k: str(v)[-400:] for k, v in bag.import_errors.items()}, "dags": sorted(bag.dags),
                  "tasks": sorted(dag.task_dict) if dag else [],
                  "schedule": str(dag.timetable.expression) if dag else None,
                  "tags": sorted(dag.tags) if dag else []}))
"""


def test_the_dag_file_builds_the_sixth_schemes_dag_from_the_extra_folder(tmp_path: Path) -> None:
    folder = copy_sixth_scheme(tmp_path)
    env = airflow_env(tmp_path / "home", PROACTIEF_SCHEME_DIRS=str(folder))
    (tmp_path / "home").mkdir()
    proc = subprocess.run([sys.executable, "-c", _PARSE, str(DAGS), json.dumps(sorted(pool_names())), SIXTH],
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    parsed = json.loads(proc.stdout.strip().splitlines()[-1])
    assert parsed["errors"] == {}
    assert SIXTH in parsed["dags"] and "uitpas-kansentarief" in parsed["dags"]
    assert "proactief" in parsed["tags"] and SIXTH in parsed["tags"]
    assert "0 7 2 1 *" in parsed["schedule"]
    tasks = parsed["tasks"]
    for step in ("open_run", "magda", "grant", "notify", "report"):
        assert any(step in t for t in tasks), (step, tasks)

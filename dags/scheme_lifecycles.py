"""One lifecycle DAG per scheme definition (dag_id = scheme id), built by ``proactief_airflow.factory``.

Adding a scheme = adding its YAML under ``include/proactief/schemes/definitions/``; nothing changes here.
"""

from __future__ import annotations

from proactief_airflow.factory import build_scheme_dag

from proactief.schemes import scheme_ids

for _scheme_id in scheme_ids():
    globals()[f"dag_{_scheme_id.replace('-', '_')}"] = build_scheme_dag(_scheme_id)

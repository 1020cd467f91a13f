"""The scheme owners' FAB roles (``plugins/proactief_airflow/fab_roles.py``): each reads and operates its own
scheme's DAG and no other. That the FAB auth manager then shows each owner only their scheme, in the dashboard
and the JSON API of a real api-server, is ``tests/e2e/test_fab_two_scheme_owners.py``."""

from __future__ import annotations

from tests.dags import airflow_env  # noqa: F401 (sets the Airflow environment before Airflow is imported)


def test_a_scheme_role_reads_and_edits_its_own_dag_and_no_other() -> None:
    from proactief_airflow import fab_roles

    from proactief.schemes import scheme_ids

    ids = scheme_ids()
    assert len(ids) >= 2
    for scheme in ids:
        perms = fab_roles.role_permissions(scheme)
        assert fab_roles.role_name(scheme) == f"Regeling {scheme}"
        assert {resource for _, resource in perms if resource.startswith("DAG:")} == {f"DAG:{scheme}"}
        assert {action for action, resource in perms if resource == f"DAG:{scheme}"} == {"can_read", "can_edit"}
        assert {action for action, resource in perms if resource == "DAGs"} == {"menu_access"}  # not every DAG
        assert not [pair for pair in perms if pair[0] == "can_delete"]
        assert ("can_read", "Plugins") in perms  # the UI lists *Regelingen* from GET /api/v2/plugins
        assert ("can_edit", "HITL Detail") in perms  # the owner answers the scheme's approval gate

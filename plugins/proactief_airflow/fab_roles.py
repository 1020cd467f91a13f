"""The scheme owners' roles for Airflow's FAB auth manager (the production stack's, ``docker-compose.yaml``).

Per-scheme authorization is DAG-level authorization: the dashboard and the JSON API show a scheme only to a user
the auth manager lets read that scheme's DAG (``is_authorized_dag``). With FAB that is a permission on the
resource ``DAG:<scheme id>``. This module keeps one role per scheme, ``Regeling <scheme id>`` (e.g.
``Regeling uitpas-kansentarief``), holding exactly:

- ``can_read`` and ``can_edit`` on ``DAG:<scheme id>``: see the scheme (UI, dashboard, ``/persons/status``),
  trigger and backfill its periods, answer its approval gate, record a bezwaar for it;
- what FAB's *Viewer* may see besides DAGs (runs, task instances, logs of the DAGs it may read; its profile),
  create and edit on runs, task instances and approvals (HITL) — again only of the DAGs it may read — and
  ``can_read`` on ``Plugins``, which the UI needs to show *Regelingen* in its navigation;
- nothing on the ``DAGs`` resource (that would be every DAG), no delete, no connections, variables or pools.

Why a bootstrap and not the DAG's ``access_control``: with ``access_control`` the DAG processor revokes, at every
parse, each DAG-level permission a role not named there holds, so rights the city gives by hand (a CRM's account,
see the runbook) would vanish; and a DAG naming a role that does not exist yet fails to import. The roles here
are made by ``airflow-init`` before any DAG is parsed and again at every start (idempotent: a role's permissions
are set to exactly these; a new scheme gets its role the next start). A scheme owner is an Airflow user with the
scheme's role (``airflow users create … --role "Regeling <id>"``; ``airflow users add-role`` for a second scheme).

Run from the plugins folder (``python -m`` puts the working directory on ``sys.path``)::

    cd "$AIRFLOW_HOME/plugins" && python -m proactief_airflow.fab_roles sync
    cd "$AIRFLOW_HOME/plugins" && python -m proactief_airflow.fab_roles user NAME ROLE --password-env VAR

``user`` creates the user (or sets its password and adds the role when it exists); the password comes from the
environment variable ``VAR``, never from the command line (a process list shows arguments).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable, Sequence
from typing import Any

ROLE_PREFIX = "Regeling "


def role_name(scheme_id: str) -> str:
    """The FAB role of one scheme's owners: ``Regeling <scheme id>``."""
    return f"{ROLE_PREFIX}{scheme_id}"


def role_permissions(scheme_id: str) -> frozenset[tuple[str, str]]:
    """(action, resource) pairs of the scheme's role: its own DAG, and no other (see the module docstring)."""
    from airflow.providers.fab.auth_manager.security_manager.override import (
        FabAirflowSecurityManagerOverride as Fab,
    )
    from airflow.providers.fab.www.security import permissions as p

    operate = {p.RESOURCE_DAG_RUN, p.RESOURCE_TASK_INSTANCE, p.RESOURCE_HITL_DETAIL}
    pairs = {pair for pair in Fab.VIEWER_PERMISSIONS
             if pair[1] != p.RESOURCE_DAG or pair[0] == p.ACTION_CAN_ACCESS_MENU}  # not every DAG, the menu only
    pairs |= {(action, resource) for action, resource in Fab.USER_PERMISSIONS
              if resource in operate and action != p.ACTION_CAN_DELETE}
    dag = p.resource_name(scheme_id, p.RESOURCE_DAG)
    pairs |= {(p.ACTION_CAN_READ, p.RESOURCE_PLUGIN), (p.ACTION_CAN_READ, dag), (p.ACTION_CAN_EDIT, dag)}
    return frozenset(pairs)


def sync_scheme_roles(security_manager: Any, scheme_ids: Iterable[str]) -> dict[str, int]:
    """Create or update the role of each scheme so it holds exactly :func:`role_permissions`; role → number of
    permissions. Other roles are left alone."""
    out = {}
    for scheme_id in scheme_ids:
        name = role_name(scheme_id)
        role = security_manager.find_role(name) or security_manager.add_role(name)
        wanted = role_permissions(scheme_id)
        for perm in list(role.permissions):
            if (perm.action.name, perm.resource.name) not in wanted:
                security_manager.remove_permission_from_role(role, perm)
        held = {(perm.action.name, perm.resource.name) for perm in role.permissions}
        for action, resource in sorted(wanted - held):
            security_manager.add_permission_to_role(role, security_manager.create_permission(action, resource))
        out[name] = len(wanted)
    return out


def ensure_user(security_manager: Any, username: str, password: str, role: str, *, email: str | None = None) -> str:
    """The user exists with ``password`` and holds ``role`` (created, or updated when it exists): ``created`` or
    ``updated``. Idempotent, so an init job may run it at every start with the password from its secret."""
    found = security_manager.find_role(role)
    if found is None:
        raise SystemExit(f"no role {role!r} (roles: {', '.join(r.name for r in security_manager.get_all_roles())})")
    user = security_manager.find_user(username=username)
    if user is None:
        security_manager.add_user(username, username, "-", email or f"{username}@proactief.invalid", found, password)
        return "created"
    security_manager.reset_password(user.id, password)
    if found not in user.roles:
        user.roles = [*user.roles, found]
        security_manager.update_user(user)
    return "updated"


def parser() -> argparse.ArgumentParser:
    """The command line of ``python -m proactief_airflow.fab_roles`` (also what the compose checks parse)."""
    out = argparse.ArgumentParser(prog="python -m proactief_airflow.fab_roles", description=__doc__.split("\n")[0])
    commands = out.add_subparsers(dest="command", required=True)
    commands.add_parser("sync", help="create or update the role 'Regeling <id>' of every scheme")
    user = commands.add_parser("user", help="create or update a user with a role")
    user.add_argument("username")
    user.add_argument("role")
    user.add_argument("--password-env", required=True, metavar="VAR", help="environment variable with the password")
    user.add_argument("--email", default=None)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """``sync``: the scheme roles; ``user NAME ROLE --password-env VAR``: one user (see the module docstring)."""
    args = parser().parse_args(argv)
    password = ""
    if args.command == "user":
        password = os.environ.get(args.password_env, "")
        if not password:
            parser().error(f"the environment variable {args.password_env} holds no password")

    from airflow.providers.fab.auth_manager.cli_commands.utils import get_application_builder

    with get_application_builder() as appbuilder:
        if args.command == "sync":
            from proactief.schemes import scheme_ids

            for name, count in sync_scheme_roles(appbuilder.sm, scheme_ids()).items():
                print(f"role {name!r}: {count} permissions")
        else:
            done = ensure_user(appbuilder.sm, args.username, password, args.role, email=args.email)
            print(f"user {args.username!r} {done} with role {args.role!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

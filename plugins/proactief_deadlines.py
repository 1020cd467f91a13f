"""Registers the scheme runs' deadline reference (``proactief_airflow.deadlines``) with Airflow.

Airflow decodes a custom deadline reference only when a plugin lists it (``deadline_references``); every process
that creates runs or reads deadlines (scheduler, api-server, ``airflow`` CLI, triggerer) loads this file.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin
from proactief_airflow.deadlines import FirstQueuedAtDeadline


class ProactiefDeadlinesPlugin(AirflowPlugin):
    """The deadline reference of the scheme DAGs' ``DeadlineAlert`` (clear-safe on Airflow 3.3.2)."""

    name = "proactief_deadlines"
    deadline_references = [FirstQueuedAtDeadline]

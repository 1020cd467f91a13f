"""Airflow glue for Proactief Gent: the scheme DAG factory, task-side helpers, failure and deadline alerts.

Lives in the plugins folder because Airflow puts that folder on ``sys.path`` in every process that imports
``airflow`` (dag-processor, task runner, triggerer, scheduler): the triggerer must import the deadline callback.
It is listed in ``plugins/.airflowignore`` so the plugin loader does not import its files as top-level modules.
Nothing here imports the domain's heavy parts at import time: DAG files must parse fast.
"""

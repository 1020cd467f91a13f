"""Assets shared between DAGs (one definition, so producer and consumer cannot drift apart)."""

from __future__ import annotations

from airflow.sdk import Asset

PERSON_MUTATIONS = Asset("proactief-person-mutations")
"""A batch of persons MAGDA reported as changed (GeefPersoonMutatiesNotificaties). Event extra:
``{"batch_id": n, "persons": count}``; the persons themselves stay in the ledger (``subjects_of_batch``)."""

"""Writes through the JSON API that a caller may retry: a CRM that timed out sends the same bezwaar again."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from sqlalchemy import Engine

from proactief.casework.core import CaseworkItem, casework_of, record_bezwaar
from proactief.insz import validate_insz

__all__ = ["record_bezwaar_once"]


def record_bezwaar_once(engine: Engine, *, insz: str, scheme_id: str, channel: str, received_on: dt.date,
                        recorded_by: str, decision_date: dt.date | None = None, note: str | None = None,
                        may_edit: Collection[str] | None = None) -> tuple[CaseworkItem, bool]:
    """Record a bezwaar unless the same one is already open (same scheme, person, channel and day received): then
    answer that one. Returns the item and whether it was new. A retry after a lost answer thus records nothing
    twice; a genuinely second objection on the same day by the same channel is one case for the case worker anyway.
    (Two identical requests at the very same moment can still both be recorded: a case worker withdraws one.)"""
    validate_insz(insz)
    with engine.connect() as conn:
        for item in casework_of(conn, insz, scheme_id):
            if (item.kind == "bezwaar" and item.status == "open" and item.channel == channel
                    and item.received_on == received_on):
                if may_edit is not None and scheme_id not in may_edit:
                    break  # let record_bezwaar refuse it
                return item, False
    return record_bezwaar(engine, insz=insz, scheme_id=scheme_id, channel=channel, received_on=received_on,
                          recorded_by=recorded_by, decision_date=decision_date, note=note, may_edit=may_edit), True

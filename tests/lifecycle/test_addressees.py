"""Who a child's notification goes to (``notification.recipient: parents``), read from the register extract in the
PostgreSQL ledger: the reference person, else the partner, never a parent who objected or who left; the child
itself only when the extract names no parent (or it is an adult of its own household)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, insert

from proactief.ledger.models import OptOut, Resident
from proactief.lifecycle.addressees import addressees, household_parents, names
from proactief.lifecycle.runs import _opted_out
from tests.lifecycle.ledger_rows import make_insz

pytestmark = pytest.mark.integration

NOW = dt.datetime(2026, 9, 1, 6, tzinfo=dt.UTC)
MOTHER, FATHER, KID, SIBLING, ALONE_KID, SOLO_MUM, SOLO_KID, LEFT_DAD, YOUNG_ADULT = (make_insz(i) for i in range(9))


def _resident(insz: str, household: str | None, position: str | None, *, first: str | None = None,
              last: str | None = None, left: bool = False) -> dict[str, object]:
    return {"insz": insz, "household_id": household, "reference_person": position == "01", "position": position,
            "address_kind": "main" if household else "contact", "postcode": "9000", "nis_code": "44021",
            "since": dt.date(2020, 1, 1) if household else None, "email": None, "address_line": "Straat 1, 9000 Gent",
            "district": None, "snapshot": "t", "repertorium_registered": True, "left_at": NOW if left else None,
            "first_name": first, "last_name": last}


@pytest.fixture
def city(ledger: Engine) -> Engine:
    with ledger.begin() as conn:
        conn.execute(insert(Resident), [
            _resident(FATHER, "H1", "02", first="Tom", last="Claes"),
            _resident(MOTHER, "H1", "01", first="Sara", last="Peeters"),
            _resident(KID, "H1", "03", first="Lotte", last="Peeters"),
            _resident(SIBLING, "H1", "11"),
            _resident(ALONE_KID, None, None),
            _resident(SOLO_MUM, "H2", "01", first="An"),
            _resident(SOLO_KID, "H2", "03"),
            _resident(LEFT_DAD, "H2", "02", left=True),
            _resident(YOUNG_ADULT, "H3", "01"),
        ])
    return ledger


def test_a_child_is_addressed_to_its_household_s_reference_person_else_the_partner(city: Engine) -> None:
    with city.begin() as conn:
        plain = addressees(conn, "parents", [KID, SIBLING, SOLO_KID, ALONE_KID, YOUNG_ADULT], _opted_out)
        assert plain.to == {KID: MOTHER, SIBLING: MOTHER, SOLO_KID: SOLO_MUM}  # not the parent who left
        assert plain.figures == {"to_parents": 3, "no_parent_in_extract": 1}  # ALONE_KID; the young adult: itself
        assert addressees(conn, "person", [KID], _opted_out).to == {}  # other schemes: the holder

        conn.execute(insert(OptOut).values(insz=MOTHER, active=True, since=NOW, channel="loket"))
        passed_over = addressees(conn, "parents", [KID, SOLO_KID], _opted_out)
        assert passed_over.to == {KID: FATHER, SOLO_KID: SOLO_MUM}
        conn.execute(insert(OptOut).values(insz=FATHER, active=True, since=NOW, channel="loket"))
        nobody = addressees(conn, "parents", [KID], _opted_out)
        assert nobody.to == {} and nobody.skipped == {KID} and nobody.figures == {"parents_opted_out": 1}


def test_a_household_message_greets_every_parent_by_the_extract_s_name(city: Engine) -> None:
    with city.connect() as conn:
        assert household_parents(conn, [MOTHER, SOLO_MUM]) == {MOTHER: (MOTHER, FATHER), SOLO_MUM: (SOLO_MUM,)}
        assert names(conn, [MOTHER, FATHER, SOLO_MUM, SOLO_KID]) == {MOTHER: "Sara Peeters", FATHER: "Tom Claes",
                                                                     SOLO_MUM: "An"}

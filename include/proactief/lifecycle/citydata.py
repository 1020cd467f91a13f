"""City data for the advice engine, read from the ledger tables the population sync fills.

The same :class:`~proactief.advice.city.CityFiles` the engine gets from the generator's files, so a run on the
ledger and a run on files decide alike. Differences: residents (and household members) come in INSZ order,
not file order; persons who left the extract (``left_at`` set, waiting for the repertorium sync to deregister
them) are not residents any more.

"Not delivered" is recorded as an empty table: the import keeps a data set's previous content when its file
is missing, so an empty OCMW or enrolment table means that data set never arrived. Its facts then become
UNKNOWN (``CITY_DATA_UNAVAILABLE``), never "no" — a real extract always has rows.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import Connection, Engine, select

from proactief.advice.city import CityFiles
from proactief.ledger.models import Enrolment, OcmwPeriod, Resident
from proactief.schemes.observations import Span

__all__ = ["city_data_available", "load_city_data"]


def city_data_available(conn: Connection) -> tuple[bool, bool]:
    """Whether the OCMW and the enrolment data sets were ever delivered (a non-empty table)."""
    ocmw = conn.execute(select(OcmwPeriod.id).limit(1)).first() is not None
    enrolments = conn.execute(select(Enrolment.id).limit(1)).first() is not None
    return ocmw, enrolments


def load_city_data(engine: Engine | Connection) -> CityFiles:
    """Everything the city knows, from the ledger: residents, households, OCMW periods, enrolments."""
    if isinstance(engine, Connection):
        return _load(engine)
    with engine.connect() as conn:
        return _load(conn)


def _load(conn: Connection) -> CityFiles:
    city = CityFiles()
    households: dict[str, list[str]] = defaultdict(list)
    rows = conn.execute(select(Resident.insz, Resident.household_id, Resident.reference_person)
                        .where(Resident.left_at.is_(None)).order_by(Resident.insz))
    for insz, hid, ref in rows:
        city.residents.append(insz)
        if ref:
            city.reference_persons.add(insz)
        if hid:
            city.household_id[insz] = hid
            households[hid].append(insz)
    city.members = dict(households)

    city.ocmw_available, city.enrolments_available = city_data_available(conn)
    periods: dict[tuple[str, str], list[Span]] = defaultdict(list)
    for insz, kind, begin, end in conn.execute(
            select(OcmwPeriod.insz, OcmwPeriod.kind, OcmwPeriod.begin, OcmwPeriod.end)
            .order_by(OcmwPeriod.insz, OcmwPeriod.kind, OcmwPeriod.begin, OcmwPeriod.id)):
        periods[(insz, kind)].append(Span(begin, end))
    city.ocmw = {k: tuple(v) for k, v in periods.items()}
    years: dict[str, dict[str, None]] = defaultdict(dict)
    for insz, year in conn.execute(select(Enrolment.insz, Enrolment.school_year)
                                   .order_by(Enrolment.school_year, Enrolment.insz)):
        years[year][insz] = None
    city.enrolments = {y: list(c) for y, c in years.items()}
    return city

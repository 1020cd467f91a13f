"""LEZ registration through MAGDA, against the real simulator process: register, read back, idempotent, revoke,
faults."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from proactief.delivery import Delivered, PermanentDeliveryError, TransientDeliveryError
from proactief.grants.base import GrantOrder
from proactief.grants.lez import NOT_REGISTERED, REDEN_PARKEERKAART_VT, LezRegistration
from proactief.magda.audit import MemoryAuditSink, OutcomeClass
from proactief.magda.client import MagdaClient
from proactief.magda.config import MagdaConfig
from proactief.magda.results import LEZVrijstelling, VrijstellingAanvraag
from proactief_sim.simulator.testing import RunningSimulator, running_simulator

pytestmark = pytest.mark.integration

AFNEMER = "gent.be/proactief"
CARD_HOLDER = "84640438954"
REGISTER = "Milieu.RegistreerLEZGegevens-02.00"
GEEF = "Milieu.GeefLEZGegevens-02.00"
BEGIN, END = dt.date(2026, 3, 2), dt.date(2029, 6, 30)


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSimulator]:
    with running_simulator(allowed_afnemers=frozenset({AFNEMER}), validate_responses=True) as running:
        yield running


@pytest.fixture
def fresh(sim: RunningSimulator) -> Iterator[RunningSimulator]:
    sim.admin("POST", "reset")
    yield sim
    sim.admin("PUT", "faults", {"rates": {}})


@pytest.fixture
def audit() -> MemoryAuditSink:
    return MemoryAuditSink()


@pytest.fixture
def config(fresh: RunningSimulator) -> MagdaConfig:
    return MagdaConfig(base_url=fresh.base_url, identificatie=AFNEMER, hoedanigheid="ipdc2858", max_attempts=2,
                       backoff_base=0.0, backoff_cap=0.0, validate_requests=True, read_timeout=5.0)


@pytest.fixture
def factory(config: MagdaConfig, audit: MemoryAuditSink) -> Callable[[], MagdaClient]:
    return lambda: MagdaClient(config, audit)


@pytest.fixture
def plate() -> str:
    return "1" + uuid.uuid4().hex[:6].upper()


def order(plate: str, *, kind: str = "grant", revoke_from: dt.date | None = None, n: int = 1,
          begin: dt.date = BEGIN, end: dt.date | None = END, terms: dict[str, Any] | None = None) -> GrantOrder:
    return GrantOrder(
        outbox_id=9000 + n, message_id=f"{kind}.lez-magda.{n:024x}@proactief.gent", kind=kind,  # type: ignore[arg-type]
        grant_id=n, scheme_id="lez-vrijstelling",
        grant_key=f"lez-vrijstelling|{n:020x}|{plate}|{end.isoformat() if end else 'open'}", insz=CARD_HOLDER,
        period="2026-W10", tier=None, amount=None, valid_from=begin, valid_until=end,
        terms={"vehicle_plate": plate} if terms is None else terms, revoke_from=revoke_from,
    )


def exemptions(factory: Callable[[], MagdaClient], plate: str) -> tuple[LEZVrijstelling, ...]:
    with factory() as client:
        ans = client.geef_lez_gegevens(plate)
    if ans.outcome is OutcomeClass.DEFINITIVE:
        return ()
    assert ans.outcome is OutcomeClass.OK and ans.value is not None, ans
    return ans.value.vrijstellingen


def periods(found: tuple[LEZVrijstelling, ...]) -> list[tuple[str | None, Any, Any]]:
    return sorted((v.reden, v.periode.begin, v.periode.end) for v in found)


def registrations(audit: MemoryAuditSink) -> int:
    return sum(1 for c in audit.consultations if c.service == REGISTER)


def test_grant_registers_the_exemption_and_confirms_it_by_reading_back(factory, audit, plate) -> None:
    (outcome,) = LezRegistration(factory).deliver([order(plate)])

    assert isinstance(outcome, Delivered) and not outcome.already
    (v,) = exemptions(factory, plate)
    assert (v.reden, v.bron, v.periode.begin, v.periode.end) == (REDEN_PARKEERKAART_VT, "GENT", BEGIN, END)
    assert v.referte == outcome.reference
    delivery = audit.consultations[:3]  # then the test's own read
    assert [c.service for c in delivery] == [GEEF, REGISTER, GEEF]
    assert {c.purpose for c in delivery} == {"lez-vrijstelling"}


def test_second_delivery_is_already_without_a_second_registration(factory, audit, plate) -> None:
    (first,) = LezRegistration(factory).deliver([order(plate)])
    (again,) = LezRegistration(factory).deliver([order(plate)])  # e.g. a crash before the delivery was recorded

    assert again == Delivered(first.reference, already=True)  # type: ignore[union-attr]
    assert registrations(audit) == 1
    assert len(exemptions(factory, plate)) == 1


def test_exemption_of_another_bron_or_period_does_not_count_as_delivered(factory, config, audit, plate) -> None:
    with MagdaClient(config.with_changes(lez_bron="ANTWERPEN"), audit) as other:
        other.registreer_lez(plate, [VrijstellingAanvraag(REDEN_PARKEERKAART_VT, BEGIN, END)])
    with MagdaClient(config, audit) as ours:
        ours.registreer_lez(plate, [VrijstellingAanvraag(REDEN_PARKEERKAART_VT, BEGIN, dt.date(2027, 1, 1))])

    (outcome,) = LezRegistration(factory).deliver([order(plate)])

    assert isinstance(outcome, Delivered) and not outcome.already
    assert len(exemptions(factory, plate)) == 3


def test_revoke_from_the_start_removes_the_exemption(factory, plate) -> None:
    adapter = LezRegistration(factory)
    (granted,) = adapter.deliver([order(plate)])
    (revoked,) = adapter.deliver([order(plate, kind="revoke", revoke_from=BEGIN, n=2)])

    assert revoked == Delivered(granted.reference)  # type: ignore[union-attr]
    assert exemptions(factory, plate) == ()


def test_revoke_mid_period_keeps_the_entitled_days_and_ends_the_rest(factory, plate) -> None:
    adapter = LezRegistration(factory)
    (granted,) = adapter.deliver([order(plate)])
    stop = dt.date(2027, 5, 1)
    (revoked,) = adapter.deliver([order(plate, kind="revoke", revoke_from=stop, n=2)])

    found = exemptions(factory, plate)
    assert periods(found) == [(REDEN_PARKEERKAART_VT, BEGIN, dt.date(2027, 4, 30))]
    assert isinstance(revoked, Delivered) and not revoked.already
    assert revoked.reference == found[0].referte != granted.reference  # type: ignore[union-attr]


def test_revoke_is_idempotent(factory, audit, plate) -> None:
    adapter = LezRegistration(factory)
    adapter.deliver([order(plate)])
    revoke = order(plate, kind="revoke", revoke_from=dt.date(2027, 5, 1), n=2)
    (first,) = adapter.deliver([revoke])
    (again,) = adapter.deliver([revoke])

    assert again == Delivered(first.reference, already=True)  # type: ignore[union-attr]
    assert registrations(audit) == 2  # the grant and the shortened exemption, nothing more
    assert len(exemptions(factory, plate)) == 1


def test_revoke_with_nothing_of_ours_registered_is_already(factory, audit, plate) -> None:
    (outcome,) = LezRegistration(factory).deliver([order(plate, kind="revoke", revoke_from=BEGIN)])
    assert outcome == Delivered(NOT_REGISTERED, already=True)
    assert registrations(audit) == 0


def test_revoke_after_the_end_changes_nothing(factory, plate) -> None:
    adapter = LezRegistration(factory)
    (granted,) = adapter.deliver([order(plate)])
    (outcome,) = adapter.deliver([order(plate, kind="revoke", revoke_from=END + dt.timedelta(days=1), n=2)])
    assert outcome == Delivered(granted.reference, already=True)  # type: ignore[union-attr]
    assert periods(exemptions(factory, plate)) == [(REDEN_PARKEERKAART_VT, BEGIN, END)]


def test_revoke_leaves_an_exemption_for_another_reason_alone(factory, config, audit, plate) -> None:
    with MagdaClient(config, audit) as client:  # e.g. an adapted vehicle, registered by hand after an application
        client.registreer_lez(plate, [VrijstellingAanvraag("AANGEPAST_VOERTUIG", BEGIN, END)])
    adapter = LezRegistration(factory)
    adapter.deliver([order(plate)])
    adapter.deliver([order(plate, kind="revoke", revoke_from=BEGIN, n=2)])

    assert periods(exemptions(factory, plate)) == [("AANGEPAST_VOERTUIG", BEGIN, END)]


@pytest.mark.parametrize("fault", ["99996", "http500", "malformed"])
def test_simulator_fault_is_transient_and_registers_nothing(fresh, factory, plate, fault) -> None:
    fresh.admin("PUT", "faults", {"rates": {fault: 1.0}})
    outcomes = LezRegistration(factory).deliver([order(plate), order(plate, kind="revoke", revoke_from=BEGIN, n=2)])
    fresh.admin("PUT", "faults", {"rates": {}})

    assert all(isinstance(o, TransientDeliveryError) for o in outcomes), outcomes
    assert all(plate not in str(o) and CARD_HOLDER not in str(o) for o in outcomes)
    assert exemptions(factory, plate) == ()


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_intermittent_lost_answers_never_leave_two_exemptions(fresh, factory, plate, seed) -> None:
    # "malformed": MAGDA did the work but the answer arrives truncated, so the client sends it again
    fresh.admin("PUT", "faults", {"rates": {"malformed": 0.4}, "seed": seed})
    adapter = LezRegistration(factory)
    outcomes = []
    for _ in range(12):  # the dispatcher retries transient outcomes
        outcomes.append(adapter.deliver([order(plate)])[0])
        if isinstance(outcomes[-1], Delivered):
            break
    fresh.admin("PUT", "faults", {"rates": {}})

    assert isinstance(outcomes[-1], Delivered), outcomes
    assert all(isinstance(o, TransientDeliveryError) for o in outcomes[:-1]), outcomes
    (v,) = exemptions(factory, plate)
    assert v.referte == outcomes[-1].reference


def test_duplicate_exemptions_of_ours_are_reduced_to_one(factory, config, audit, plate) -> None:
    with MagdaClient(config, audit) as client:
        for _ in range(3):
            client.registreer_lez(plate, [VrijstellingAanvraag(REDEN_PARKEERKAART_VT, BEGIN, END)])
    first = exemptions(factory, plate)[0]

    (outcome,) = LezRegistration(factory).deliver([order(plate)])

    assert outcome == Delivered(first.referte, already=True)  # type: ignore[arg-type]
    assert [v.referte for v in exemptions(factory, plate)] == [first.referte]


def test_refused_configuration_makes_the_whole_batch_permanent_after_one_call(config, plate) -> None:
    audit = MemoryAuditSink()
    stranger = config.with_changes(identificatie="gent.be/niet-toegelaten")
    outcomes = LezRegistration(lambda: MagdaClient(stranger, audit)).deliver([order(plate), order(plate, n=2)])

    assert all(isinstance(o, PermanentDeliveryError) for o in outcomes), outcomes
    assert "13001" in str(outcomes[0])
    assert len(audit.consultations) == 1


@pytest.mark.parametrize("terms", [{}, {"vehicle_plate": ""}, {"vehicle_plate": "1ABC234567X"}])
def test_order_without_a_usable_plate_is_permanent_and_sends_nothing(factory, audit, terms) -> None:
    (outcome,) = LezRegistration(factory).deliver([order("x", terms=terms)])
    assert isinstance(outcome, PermanentDeliveryError)
    assert "1ABC234567X" not in str(outcome)
    assert audit.consultations == []


def test_grant_without_an_end_date_is_permanent(factory, audit, plate) -> None:
    (outcome,) = LezRegistration(factory).deliver([order(plate, end=None)])
    assert isinstance(outcome, PermanentDeliveryError)
    assert registrations(audit) == 0

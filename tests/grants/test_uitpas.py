"""The UiTPAS adapter against the UiTPAS stand-in over real HTTP (uvicorn on a free loopback port, the stand-in
mounted under ``/uitpas`` as the shared stand-in server will mount it)."""

from __future__ import annotations

import datetime as dt
import logging
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import uvicorn
from fastapi import FastAPI

from proactief.delivery import AwaitingCard, Delivered, PermanentDeliveryError, TransientDeliveryError
from proactief.grants.base import GrantOrder
from proactief.grants.uitpas import (
    PROBLEM_PASSHOLDER_EXISTS,
    PassholderRegistration,
    UitpasAdapter,
    UitpasClient,
    UitpasError,
)
from proactief_sim.standins.uitpas import UitpasState, create_app

CLIENT_ID = "proactief-test"
SECRET = "test-secret"  # noqa: S105
TODAY = dt.date(2026, 3, 1)
END_OF_YEAR = dt.date(2026, 12, 31)


def insz(birth: str, serial: int) -> str:
    """A valid INSZ (born before 2000) for ``birth`` = YYMMDD."""
    base = f"{birth}{serial:03d}"
    return f"{base}{97 - int(base) % 97:02d}"


PERSON = insz("850101", 123)
OTHER = insz("900215", 456)
STRANGER = insz("770707", 789)


class Standin:
    def __init__(self, state: UitpasState, base_url: str) -> None:
        self.state = state
        self.base_url = base_url
        self.http = requests.Session()

    def seed(self, *items: dict[str, Any]) -> list[str]:
        resp = self.http.post(f"{self.base_url}/_standin/passholders", json={"passholders": list(items)})
        assert resp.status_code == 201, resp.text
        return resp.json()["ids"]

    def fault(self, **spec: Any) -> None:
        resp = self.http.put(f"{self.base_url}/_standin/faults", json=spec)
        assert resp.status_code == 200, resp.text

    def snapshot(self) -> dict[str, Any]:
        return self.http.get(f"{self.base_url}/_standin/state").json()

    def tariff(self, passholder_id: str) -> dict[str, Any] | None:
        return next((t for t in self.snapshot()["social_tariffs"] if t["passholderId"] == passholder_id), None)

    def expire_tokens(self) -> None:
        assert self.http.post(f"{self.base_url}/_standin/tokens/expire").status_code == 200


@pytest.fixture(scope="module")
def server() -> Iterator[Standin]:
    state = UitpasState(client_id=CLIENT_ID, client_secret=SECRET, today=lambda: TODAY)
    outer = FastAPI()
    outer.mount("/uitpas", create_app(state))
    config = uvicorn.Config(outer, host="127.0.0.1", port=0, log_level="warning", access_log=False, lifespan="off")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the UiTPAS stand-in did not start"
        time.sleep(0.01)
    port = srv.servers[0].sockets[0].getsockname()[1]
    yield Standin(state, f"http://127.0.0.1:{port}/uitpas")
    srv.should_exit = True
    thread.join(timeout=5)


@pytest.fixture
def standin(server: Standin) -> Standin:
    assert server.http.post(f"{server.base_url}/_standin/reset").status_code == 204
    server.state.rate_limit = None
    server.state.rate_window = 1.0
    server.state.auto_passholders = False
    server.state.passholder_share = 0.0
    return server


@pytest.fixture
def client(standin: Standin) -> UitpasClient:
    return UitpasClient(standin.base_url, CLIENT_ID, SECRET, timeout=5.0)


@pytest.fixture
def adapter(client: UitpasClient) -> UitpasAdapter:
    return UitpasAdapter(client)


def order(person: str = PERSON, *, kind: str = "grant", valid_until: dt.date | None = END_OF_YEAR,
          revoke_from: dt.date | None = None, outbox_id: int = 1, **terms: Any) -> GrantOrder:
    return GrantOrder(
        outbox_id=outbox_id, message_id=f"msg-{outbox_id}", kind=kind, grant_id=10 + outbox_id,  # type: ignore[arg-type]
        scheme_id="uitpas-kansentarief", grant_key=f"uitpas-kansentarief|ps{outbox_id:04d}|2026", insz=person,
        period="2026", tier=None, amount=None, valid_from=dt.date(2026, 3, 1), valid_until=valid_until,
        terms={"card_system": "UiTPAS Gent", "social_tariff_status": "ACTIVE", **terms}, revoke_from=revoke_from)


def deliver_one(adapter: UitpasAdapter, o: GrantOrder) -> Any:
    [outcome] = adapter.deliver([o])
    return outcome


# ------------------------------------------------------------------------------------------------ granting


def test_grant_sets_the_gent_social_tariff_active_until_valid_until(standin: Standin, adapter: UitpasAdapter) -> None:
    [pid] = standin.seed({"insz": PERSON})

    outcome = deliver_one(adapter, order())

    assert outcome == Delivered(reference=pid, already=False)
    assert standin.tariff(pid) == {"passholderId": pid, "cardSystem": "UiTPAS Gent", "status": "ACTIVE",
                                   "endDate": "2026-12-31"}
    assert standin.snapshot()["writes"] == 1


def test_second_delivery_of_the_same_order_is_already_and_writes_nothing(standin: Standin,
                                                                         adapter: UitpasAdapter) -> None:
    [pid] = standin.seed({"insz": PERSON})
    deliver_one(adapter, order())
    writes = standin.snapshot()["writes"]

    again = deliver_one(adapter, order())

    assert again == Delivered(reference=pid, already=True)
    assert standin.snapshot()["writes"] == writes == 1


def test_an_expired_or_shorter_tariff_is_extended_to_valid_until(standin: Standin, adapter: UitpasAdapter) -> None:
    expired, shorter = standin.seed({"insz": PERSON, "social_tariff_end_date": "2025-12-31"},
                                    {"insz": OTHER, "social_tariff_end_date": "2026-06-30"})
    assert standin.tariff(expired)["status"] == "EXPIRED"

    outcomes = adapter.deliver([order(PERSON, outbox_id=1), order(OTHER, outbox_id=2)])

    assert outcomes == [Delivered(expired), Delivered(shorter)]
    assert standin.tariff(expired)["status"] == standin.tariff(shorter)["status"] == "ACTIVE"
    assert standin.tariff(expired)["endDate"] == standin.tariff(shorter)["endDate"] == "2026-12-31"


def test_a_tariff_already_running_past_valid_until_is_left_alone(standin: Standin, adapter: UitpasAdapter) -> None:
    [pid] = standin.seed({"insz": PERSON, "social_tariff_end_date": "2027-06-30"})

    assert deliver_one(adapter, order()) == Delivered(pid, already=True)
    assert standin.tariff(pid)["endDate"] == "2027-06-30"
    assert standin.snapshot()["writes"] == 0


def renewal(person: str = PERSON, *, outbox_id: int = 7) -> GrantOrder:
    """Next year's kansentarief as the December run makes it: continues grant 11, from 1 January 2027."""
    o = order(person, outbox_id=outbox_id, valid_until=dt.date(2027, 12, 31), renews=11,
              previous_until=END_OF_YEAR.isoformat())
    return GrantOrder(**{**o.__dict__, "valid_from": dt.date(2027, 1, 1),
                         "grant_key": f"uitpas-kansentarief|ps{outbox_id:04d}|2027", "period": "2026-12"})


def test_a_renewal_moves_the_running_tariff_to_next_years_end_once(standin: Standin, adapter: UitpasAdapter,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    [pid] = standin.seed({"insz": PERSON})
    deliver_one(adapter, order())  # this year's grant: until 31 December 2026
    writes = standin.snapshot()["writes"]

    with caplog.at_level(logging.INFO, logger="proactief.grants.uitpas"):
        assert deliver_one(adapter, renewal()) == Delivered(pid)
    assert standin.tariff(pid) == {"passholderId": pid, "cardSystem": "UiTPAS Gent", "status": "ACTIVE",
                                   "endDate": "2027-12-31"}
    assert standin.snapshot()["writes"] == writes + 1 and len(standin.snapshot()["social_tariffs"]) == 1
    assert "uitpas: renewal delivered" in caplog.text and PERSON not in caplog.text

    # redelivered, or this year's order delivered late: the tariff already runs that long, nothing is written
    assert adapter.deliver([renewal(), order()]) == [Delivered(pid, already=True), Delivered(pid, already=True)]
    assert standin.snapshot()["writes"] == writes + 1 and standin.tariff(pid)["endDate"] == "2027-12-31"


def test_a_renewal_does_not_override_a_suspended_tariff_and_says_it_is_a_renewal(
        standin: Standin, adapter: UitpasAdapter) -> None:
    standin.seed({"insz": PERSON, "social_tariff_end_date": "2026-12-31",
                  "social_tariff_suspended_until": "2026-06-30"})

    outcome = deliver_one(adapter, renewal())

    assert isinstance(outcome, PermanentDeliveryError) and "SUSPENDED" in str(outcome)
    assert str(outcome).startswith("uitpas renewal:") and "|2027" in str(outcome)
    assert standin.snapshot()["writes"] == 0


def test_outcomes_come_one_per_order_in_order(standin: Standin, adapter: UitpasAdapter) -> None:
    [pid] = standin.seed({"insz": PERSON})

    outcomes = adapter.deliver([order(PERSON, outbox_id=1), order(STRANGER, outbox_id=2), order(PERSON, outbox_id=3)])

    assert [type(o) for o in outcomes] == [Delivered, AwaitingCard, Delivered]
    assert outcomes[0] == Delivered(pid) and outcomes[2] == Delivered(pid, already=True)
    assert "outbox 2" in str(outcomes[1])


def test_the_message_id_is_sent_as_request_id_of_the_write(standin: Standin, adapter: UitpasAdapter) -> None:
    standin.seed({"insz": PERSON})

    deliver_one(adapter, order(outbox_id=42))

    assert standin.snapshot()["write_request_ids"] == ["msg-42"]


# ------------------------------------------------------------------------------------------------ who is not there


def test_a_person_without_a_passholder_awaits_the_card_and_nothing_is_registered(standin: Standin,
                                                                                   adapter: UitpasAdapter) -> None:
    outcome = deliver_one(adapter, order(STRANGER))

    assert isinstance(outcome, AwaitingCard)  # "wacht op pas": not a failure
    assert "no UiTPAS passholder" in outcome.reason and "counter" in outcome.reason
    assert standin.snapshot()["passholders"] == 0
    assert standin.snapshot()["writes"] == 0


def test_a_passholder_without_a_gent_membership_awaits_it(standin: Standin, adapter: UitpasAdapter) -> None:
    [pid] = standin.seed({"insz": PERSON, "memberships": ["UiTPAS Dender"]})

    outcome = deliver_one(adapter, order())

    assert isinstance(outcome, AwaitingCard)
    assert f"passholder {pid} has no UiTPAS Gent membership" in outcome.reason
    assert standin.snapshot()["writes"] == 0


def test_a_suspended_tariff_is_not_overridden(standin: Standin, adapter: UitpasAdapter) -> None:
    [pid] = standin.seed({"insz": PERSON, "social_tariff_end_date": "2025-12-31",
                          "social_tariff_suspended_until": "2026-06-30"})

    outcome = deliver_one(adapter, order())

    assert isinstance(outcome, PermanentDeliveryError) and "SUSPENDED" in str(outcome)
    assert standin.tariff(pid)["status"] == "SUSPENDED"
    assert standin.snapshot()["writes"] == 0


def test_an_order_without_valid_until_is_permanent(standin: Standin, adapter: UitpasAdapter) -> None:
    standin.seed({"insz": PERSON})

    outcome = deliver_one(adapter, order(valid_until=None))

    assert isinstance(outcome, PermanentDeliveryError) and "valid_until" in str(outcome)


def test_auto_passholders_lets_a_demo_grant_without_seeding(standin: Standin, adapter: UitpasAdapter) -> None:
    standin.state.auto_passholders = True

    outcome = deliver_one(adapter, order(STRANGER))

    assert isinstance(outcome, Delivered) and not outcome.already
    snap = standin.snapshot()
    assert (snap["passholders"], snap["active_social_tariffs"]) == (1, 1)


def test_the_standin_by_default_invents_no_passholder() -> None:
    state = UitpasState()  # what build_app() and `python -m proactief_sim.standins` make without options

    assert state.search({"inszNumber": STRANGER}) == {"totalItems": 0, "member": []}
    assert state.snapshot()["passholders"] == 0


def test_a_passholder_share_gives_a_stable_part_of_the_people_a_pass(standin: Standin, adapter: UitpasAdapter) -> None:
    from proactief_sim.standins.uitpas import has_demo_pass
    from tests.lifecycle.ledger_rows import many_insz

    people = many_insz(400)
    chosen = [p for p in people if has_demo_pass(p, 0.6)]
    assert 0.5 * len(people) < len(chosen) < 0.7 * len(people)
    assert chosen == [p for p in people if has_demo_pass(p, 0.6)]  # the same people every time
    with_pass = next(p for p in people if has_demo_pass(p, 0.6))
    without = next(p for p in people if not has_demo_pass(p, 0.6))
    standin.state.passholder_share = 0.6

    outcomes = adapter.deliver([order(with_pass, outbox_id=1), order(without, outbox_id=2)])

    assert isinstance(outcomes[0], Delivered) and isinstance(outcomes[1], AwaitingCard)
    assert standin.snapshot()["passholders"] == 1


def test_the_client_registers_a_passholder_with_social_tariff_and_a_second_time_conflicts(
        standin: Standin, client: UitpasClient) -> None:
    registration = PassholderRegistration(
        insz=STRANGER, name="Peeters", first_name="Marc", date_of_birth=dt.date(1977, 7, 7), street="Botermarkt 1",
        postal_code="9000", city="Gent", card_system_id=2, registration_organizer_id="org-gent",
        legal_terms_digital=True, social_tariff_end_date=END_OF_YEAR)

    passholder = client.register_passholder(registration, request_id="reg-1")

    gent = passholder.membership("UiTPAS Gent")
    assert gent is not None and gent.social_tariff is not None
    assert (gent.social_tariff.status, gent.social_tariff.end_date) == ("ACTIVE", END_OF_YEAR)
    with pytest.raises(UitpasError) as conflict:
        client.register_passholder(registration, request_id="reg-2")
    assert conflict.value.status == 409 and conflict.value.problem_type == PROBLEM_PASSHOLDER_EXISTS
    assert STRANGER not in str(conflict.value)


# ------------------------------------------------------------------------------------------------ failures


def test_503_is_transient_leaves_state_unchanged_and_succeeds_once_the_faults_are_used_up(
        standin: Standin, adapter: UitpasAdapter) -> None:
    [pid] = standin.seed({"insz": PERSON})
    standin.fault(status=503, count=5)

    first = [deliver_one(adapter, order()) for _ in range(5)]

    assert all(isinstance(o, TransientDeliveryError) and "503" in str(o) for o in first)
    assert standin.tariff(pid) is None and standin.snapshot()["writes"] == 0
    assert deliver_one(adapter, order()) == Delivered(pid)
    assert standin.tariff(pid)["status"] == "ACTIVE"


def test_429_is_transient_with_the_retry_after_of_the_answer(standin: Standin, adapter: UitpasAdapter) -> None:
    standin.seed({"insz": PERSON})
    standin.fault(status=429, count=1, retry_after=7)

    outcome = deliver_one(adapter, order())

    assert isinstance(outcome, TransientDeliveryError) and outcome.retry_after == 7.0


def test_exceeding_the_rate_limit_is_transient_and_the_retry_completes(standin: Standin,
                                                                        adapter: UitpasAdapter) -> None:
    [pid] = standin.seed({"insz": PERSON})
    standin.state.rate_window, standin.state.rate_limit = 60.0, 1  # the search passes, the update does not

    outcome = deliver_one(adapter, order())

    assert isinstance(outcome, TransientDeliveryError) and outcome.retry_after is not None
    assert outcome.retry_after >= 1 and "rate-limited" in str(outcome)
    assert standin.tariff(pid) is None
    standin.state.rate_limit = None
    assert deliver_one(adapter, order()) == Delivered(pid)


def test_a_timeout_is_transient(standin: Standin) -> None:
    standin.seed({"insz": PERSON})
    standin.fault(status=503, count=1, delay=1.5)
    adapter = UitpasAdapter(UitpasClient(standin.base_url, CLIENT_ID, SECRET, timeout=0.3))

    outcome = deliver_one(adapter, order())

    assert isinstance(outcome, TransientDeliveryError) and "unreachable" in str(outcome)


def test_connection_refused_is_transient() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    adapter = UitpasAdapter(UitpasClient(f"http://127.0.0.1:{port}/uitpas", CLIENT_ID, SECRET, timeout=2.0))

    outcome = deliver_one(adapter, order())

    assert isinstance(outcome, TransientDeliveryError) and "unreachable" in str(outcome)


def test_a_lost_answer_after_the_write_is_transient_and_redelivery_is_already(standin: Standin,
                                                                              adapter: UitpasAdapter) -> None:
    [pid] = standin.seed({"insz": PERSON})
    standin.fault(status=503, count=1, method="PUT", apply=True)

    lost = deliver_one(adapter, order())

    assert isinstance(lost, TransientDeliveryError)
    assert standin.tariff(pid)["status"] == "ACTIVE"
    assert deliver_one(adapter, order()) == Delivered(pid, already=True)
    assert standin.snapshot()["writes"] == 1


def test_a_409_that_reading_back_resolves_is_already(standin: Standin, adapter: UitpasAdapter) -> None:
    [pid] = standin.seed({"insz": PERSON})
    standin.fault(status=409, count=1, method="PUT", apply=True)

    assert deliver_one(adapter, order()) == Delivered(pid, already=True)


def test_a_409_that_reading_back_does_not_resolve_is_permanent(standin: Standin, adapter: UitpasAdapter) -> None:
    [pid] = standin.seed({"insz": PERSON})
    standin.fault(status=409, count=1, method="PUT")

    outcome = deliver_one(adapter, order())

    assert isinstance(outcome, PermanentDeliveryError) and "409" in str(outcome)
    assert standin.tariff(pid) is None


def test_403_is_permanent(standin: Standin, adapter: UitpasAdapter) -> None:
    standin.seed({"insz": PERSON})
    standin.fault(status=403, count=1)

    outcome = deliver_one(adapter, order())

    assert isinstance(outcome, PermanentDeliveryError) and "403" in str(outcome)


# ------------------------------------------------------------------------------------------------ tokens


def test_a_wrong_client_secret_is_permanent(standin: Standin) -> None:
    standin.seed({"insz": PERSON})
    adapter = UitpasAdapter(UitpasClient(standin.base_url, CLIENT_ID, "not-the-secret"))

    outcome = deliver_one(adapter, order())

    assert isinstance(outcome, PermanentDeliveryError) and "credentials" in str(outcome)
    assert "not-the-secret" not in str(outcome)
    assert standin.snapshot()["writes"] == 0


def test_the_token_is_cached_and_fetched_again_once_when_it_expired(standin: Standin, client: UitpasClient,
                                                                    adapter: UitpasAdapter) -> None:
    [pid] = standin.seed({"insz": PERSON})
    standin.seed({"insz": OTHER})
    assert deliver_one(adapter, order(PERSON, outbox_id=1)) == Delivered(pid)
    assert standin.snapshot()["tokens_issued"] == 1
    standin.expire_tokens()

    outcome = deliver_one(adapter, order(OTHER, outbox_id=2))

    assert isinstance(outcome, Delivered) and not outcome.already
    assert standin.snapshot()["tokens_issued"] == client.tokens_fetched == 2


def test_a_401_after_one_token_refresh_is_permanent(standin: Standin, client: UitpasClient,
                                                    adapter: UitpasAdapter) -> None:
    standin.seed({"insz": PERSON})
    standin.fault(status=401, count=2)

    outcome = deliver_one(adapter, order())

    assert isinstance(outcome, PermanentDeliveryError) and "401" in str(outcome)
    assert client.tokens_fetched == 2


def test_the_api_answers_401_problem_json_without_a_valid_bearer_token(standin: Standin) -> None:
    for headers in ({}, {"Authorization": "Bearer forged"}):
        resp = requests.get(f"{standin.base_url}/passholders", params={"inszNumber": PERSON}, headers=headers,
                            timeout=5)
        assert resp.status_code == 401
        assert resp.headers["content-type"].startswith("application/problem+json")
        assert resp.json()["type"] == "https://api.publiq.be/probs/auth/unauthorized"


def test_an_unknown_passholder_id_answers_404_passholder_not_found(standin: Standin, client: UitpasClient) -> None:
    with pytest.raises(UitpasError) as missing:
        client.get_passholder("00000000-0000-0000-0000-000000000000")
    assert missing.value.status == 404
    assert missing.value.problem_type == "https://api.publiq.be/probs/uitpas/passholder-not-found"


# ------------------------------------------------------------------------------------------------ revoking


@pytest.mark.parametrize(("revoke_from", "status", "end"), [
    (dt.date(2026, 6, 1), "ACTIVE", "2026-05-31"),  # ends at the end of May
    (TODAY, "EXPIRED", "2026-02-28"),  # ends now
])
def test_revoke_ends_the_tariff_the_day_before_revoke_from(standin: Standin, adapter: UitpasAdapter,
                                                           revoke_from: dt.date, status: str, end: str) -> None:
    [pid] = standin.seed({"insz": PERSON, "social_tariff_end_date": "2026-12-31"})
    revoke = order(kind="revoke", revoke_from=revoke_from, outbox_id=7)

    assert deliver_one(adapter, revoke) == Delivered(pid)
    assert (standin.tariff(pid)["status"], standin.tariff(pid)["endDate"]) == (status, end)
    assert deliver_one(adapter, revoke) == Delivered(pid, already=True)
    assert standin.snapshot()["writes"] == 1


def test_revoke_of_someone_without_tariff_or_passholder_is_already(standin: Standin, adapter: UitpasAdapter) -> None:
    [pid] = standin.seed({"insz": PERSON})

    outcomes = adapter.deliver([order(PERSON, kind="revoke", revoke_from=TODAY, outbox_id=1),
                                order(STRANGER, kind="revoke", revoke_from=TODAY, outbox_id=2)])

    assert outcomes == [Delivered(pid, already=True), Delivered("no-passholder", already=True)]
    assert standin.snapshot()["writes"] == 0


# ------------------------------------------------------------------------------------------------ no INSZ anywhere


def test_error_messages_and_logs_never_contain_the_insz(standin: Standin, caplog: pytest.LogCaptureFixture) -> None:
    bad_insz = PERSON[:-2] + f"{(int(PERSON[-2:]) + 1) % 100:02d}"  # wrong check digits: the API answers 400
    standin.seed({"insz": PERSON, "memberships": ["UiTPAS Dender"]})
    good = UitpasAdapter(UitpasClient(standin.base_url, CLIENT_ID, SECRET, timeout=5.0))
    wrong_secret = UitpasAdapter(UitpasClient(standin.base_url, CLIENT_ID, "nope"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    unreachable = UitpasAdapter(UitpasClient(f"http://127.0.0.1:{closed_port}", CLIENT_ID, SECRET, timeout=2.0))
    caplog.set_level(logging.DEBUG, logger="proactief")

    outcomes = [*good.deliver([order(PERSON), order(STRANGER), order(bad_insz)]),
                *wrong_secret.deliver([order(PERSON)]), *unreachable.deliver([order(PERSON)])]
    standin.fault(status=503, count=1)
    outcomes += good.deliver([order(PERSON)])

    assert all(not isinstance(o, Delivered) for o in outcomes)
    texts = [str(o) for o in outcomes] + [repr(o) for o in outcomes] + [r.getMessage() for r in caplog.records]
    for person in (PERSON, STRANGER, bad_insz):
        assert not [t for t in texts if person in t]
    assert all("grant uitpas-kansentarief|" in str(o) for o in outcomes)


def test_the_standin_state_lists_tariffs_without_insz(standin: Standin, adapter: UitpasAdapter) -> None:
    standin.seed({"insz": PERSON}, {"insz": OTHER, "social_tariff_end_date": "2026-12-31"})
    deliver_one(adapter, order(PERSON))

    resp = requests.get(f"{standin.base_url}/_standin/state", timeout=5)

    assert PERSON not in resp.text and OTHER not in resp.text
    snap = resp.json()
    assert (snap["passholders"], snap["active_social_tariffs"]) == (2, 2)
    assert all(set(t) == {"passholderId", "cardSystem", "status", "endDate"} for t in snap["social_tariffs"])


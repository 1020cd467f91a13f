"""The simulator as a gateway in front of real data (issue 18): the admin API takes typed JSON objects, from
loopback or with the admin token only; bodies are bounded; SOAP needs ``SOAPAction``; and with
``--verify-signature`` every SOAP request must carry a valid WS-Security signature by the afnemer's certificate."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from lxml import etree
from sim_envelopes import AFNEMER, body_child, level3_codes, sociaal_statuut

from proactief.magda.audit import MemoryAuditSink, OutcomeClass
from proactief.magda.client import MagdaClient
from proactief.magda.config import MagdaConfig
from proactief.magda.transport import MagdaFault
from proactief.magda.wssec import BodySigner
from proactief_sim.simulator import SimulatorConfig, build_app
from proactief_sim.simulator.app import MAX_ADMIN_BODY, MAX_SOAP_BODY
from proactief_sim.simulator.testing import RunningSimulator, running_simulator
from tests.magda.magda_testkit import Pki, make_pki

pytestmark = pytest.mark.integration

HOUSEHOLD = "84640438954"  # a canned persona
SOAP = "/Magda-02.00/soap/WebService"
SOAP_ACTION = {"SOAPAction": '""'}
TOKEN = "a-token-of-sufficient-length-42"
FAULT_NS = {"s": "http://schemas.xmlsoap.org/soap/envelope/"}


@pytest.fixture(scope="module")
def plain() -> Iterator[RunningSimulator]:
    with running_simulator() as s:
        yield s


@pytest.fixture(scope="module")
def signing(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("signing-pki"))


@pytest.fixture(scope="module")
def verifying(signing: Pki) -> Iterator[RunningSimulator]:
    with running_simulator(verify_signature=signing.signing_cert, repertorium_check=False) as s:
        yield s


def _admin(sim: RunningSimulator, method: str, what: str, body: bytes) -> requests.Response:
    return requests.request(method, f"{sim.base_url}/_sim/{what}", data=body, timeout=30,
                            headers={"Content-Type": "application/json"})


def _registered(sim: RunningSimulator, afnemer: str) -> int:
    return int(sim.admin("GET", "state")["repertorium"]["afnemers"].get(afnemer, 0))


def _fault(response: requests.Response) -> tuple[str, str]:
    assert response.status_code == 500, response.text[:500]
    root = etree.fromstring(response.content)
    fault = root.find("s:Body/s:Fault", FAULT_NS)
    assert fault is not None, response.text[:500]
    return fault.findtext("faultcode") or "", fault.findtext("faultstring") or ""


def _asgi(app: Any, method: str, path: str, chunks: tuple[bytes, ...] | list[bytes] = (), *,
          headers: list | None = None,
          client: tuple[str, int] | None = ("127.0.0.1", 50000)) -> tuple[int, bytes, int]:
    """Call the ASGI app in process with the body in ``chunks``; (status, body, how many chunks it read)."""
    pending = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)]
    pending = pending or [{"type": "http.request", "body": b"", "more_body": False}]
    read = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal read
        read += 1
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    async def send(msg: dict[str, Any]) -> None:
        sent.append(msg)

    scope = {"type": "http", "method": method, "path": path, "query_string": b"", "headers": headers or [],
             "client": client}
    asyncio.run(app(scope, receive, send))
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:]), read


# ------------------------------------------------------------------------------------------- admin bodies
@pytest.mark.parametrize("what", ["repertorium", "mutations", "faults", "clock", "population", "reset"])
def test_an_admin_body_that_is_no_json_object_is_a_400(plain: RunningSimulator, what: str) -> None:
    for body in (b"[1, 2]", b'"12345"', b"7", b"null"):
        r = _admin(plain, "POST", what, body)
        assert r.status_code == 400, (what, body, r.text)
        assert r.json() == {"error": "the body must be a JSON object"}


def test_an_insz_string_registers_nobody(plain: RunningSimulator) -> None:
    afnemer = f"gent.be/t-{uuid.uuid4().hex[:12]}"
    r = _admin(plain, "POST", "repertorium", json.dumps({"afnemer": afnemer, "insz": "12345"}).encode())
    assert r.status_code == 400 and "list" in r.json()["error"]
    assert _registered(plain, afnemer) == 0
    r = _admin(plain, "POST", "mutations", json.dumps({"insz": HOUSEHOLD}).encode())
    assert r.status_code == 400


def test_an_invalid_insz_in_a_list_is_named_by_its_position_never_its_value(plain: RunningSimulator) -> None:
    afnemer = f"gent.be/t-{uuid.uuid4().hex[:12]}"
    for bad in ("84640438955", "12345", 84640438954):  # wrong check digits, too short, not a string
        r = _admin(plain, "POST", "repertorium", json.dumps({"afnemer": afnemer, "insz": [HOUSEHOLD, bad]}).encode())
        assert r.status_code == 400
        error = r.json()["error"]
        assert error.startswith('"insz"[1]') and str(bad) not in error and HOUSEHOLD not in error
    assert _registered(plain, afnemer) == 0  # nothing of a refused list is registered, not even its valid part
    r = _admin(plain, "PUT", "faults", json.dumps({"insz": {HOUSEHOLD: "99996", "84640438955": "60006"}}).encode())
    assert r.status_code == 400 and r.json()["error"].startswith('"insz" key #1') and "84640438955" not in r.text
    assert plain.admin("GET", "faults")["insz"] == 0


@pytest.mark.parametrize(("what", "body", "field"), [
    ("repertorium", {"afnemer": "", "insz": [HOUSEHOLD]}, '"afnemer"'),
    ("repertorium", {"afnemer": ["gent.be/x"], "insz": [HOUSEHOLD]}, '"afnemer"'),
    ("repertorium", {"insz": [HOUSEHOLD]}, '"afnemer"'),
    ("repertorium", {"afnemer": "gent.be/x", "insz": [HOUSEHOLD], "hoedanigheid": 1300}, '"hoedanigheid"'),
    ("mutations", {"insz": [HOUSEHOLD], "type": "IETS"}, '"type"'),
    ("mutations", {"insz": [HOUSEHOLD], "type": 1}, '"type"'),
    ("faults", {"rates": [0.5]}, '"rates"'),
    ("faults", {"rates": {"99996": "0.5"}}, '"rates"'),
    ("faults", {"rates": {"99996": True}}, '"rates"'),
    ("faults", {"seed": "7"}, '"seed"'),
    ("faults", {"seed": True}, '"seed"'),
    ("faults", {"latency_ms": -1}, '"latency_ms"'),
    ("faults", {"timeout_seconds": "60"}, '"timeout_seconds"'),
    ("faults", {"insz": [HOUSEHOLD]}, '"insz"'),
    ("faults", {"insz": {HOUSEHOLD: "boom"}}, '"insz" value #0'),
    ("clock", {"date": 20260101}, '"date"'),
    ("population", {"person": [HOUSEHOLD]}, '"person"'),
])
def test_admin_fields_are_typed(plain: RunningSimulator, what: str, body: dict[str, Any], field: str) -> None:
    r = _admin(plain, "POST", what, json.dumps(body).encode())
    assert r.status_code == 400 and r.json()["error"].startswith(field), r.text
    assert plain.admin("GET", "faults")["rates"] == {} and plain.admin("GET", "clock")["fixed"] is False


def test_the_allowed_mutation_types_are_queued(plain: RunningSimulator) -> None:
    afnemer = f"gent.be/t-{uuid.uuid4().hex[:12]}"
    plain.admin("POST", "repertorium", {"afnemer": afnemer, "insz": [HOUSEHOLD]})
    assert plain.admin("POST", "mutations", {"insz": [HOUSEHOLD], "type": "CORRECTIE"})["queued"] == 1
    assert plain.admin("POST", "mutations", {"insz": []})["queued"] == 0


# ---------------------------------------------------------------------------------------------- body size
def test_an_oversize_body_is_a_413(plain: RunningSimulator) -> None:
    r = _admin(plain, "POST", "repertorium", b" " * (MAX_ADMIN_BODY + 1))
    assert r.status_code == 413 and "larger than" in r.json()["error"]
    r = requests.post(plain.soap_url(), data=b" " * (MAX_SOAP_BODY + 1), headers=SOAP_ACTION, timeout=60)
    assert r.status_code == 413
    assert plain.admin("GET", "health")["status"] == "ok"  # and the server goes on


def test_an_oversize_body_is_refused_while_reading_not_after_buffering_it() -> None:
    app = build_app(SimulatorConfig())
    chunk = b" " * (256 * 1024)
    # no Content-Length (chunked): the app stops at the chunk that crosses the bound
    status, _body, read = _asgi(app, "POST", "/_sim/repertorium", [chunk] * 64)
    assert status == 413 and read == MAX_ADMIN_BODY // len(chunk) + 1
    status, _body, read = _asgi(app, "POST", SOAP, [chunk] * 200, headers=[(b"soapaction", b'""')])
    assert status == 413 and read == MAX_SOAP_BODY // len(chunk) + 1
    # a Content-Length over the bound: refused before reading anything
    status, _body, read = _asgi(app, "POST", "/_sim/faults", [b"{}"],
                                headers=[(b"content-length", str(MAX_ADMIN_BODY + 1).encode())])
    assert status == 413 and read == 0


# ---------------------------------------------------------------------------------------- admin access
@pytest.mark.parametrize("client", [("10.0.0.7", 1234), ("172.18.0.1", 40000), ("::ffff:10.0.0.7", 1), None])
def test_the_admin_api_refuses_a_client_off_loopback_without_the_token(client: tuple[str, int] | None) -> None:
    app = build_app(SimulatorConfig())
    for method, what, body in (("GET", "state", b""), ("POST", "reset", b""), ("PUT", "faults", b'{"rates": {}}'),
                               ("POST", "repertorium", json.dumps({"afnemer": "x", "insz": [HOUSEHOLD]}).encode()),
                               ("GET", "nothing", b"")):
        status, answer, read = _asgi(app, method, f"/_sim/{what}", [body], client=client)
        assert status == 403 and "loopback" in json.loads(answer)["error"] and read == 0
    assert app.sim.repertorium.describe()["persons"] == 0
    status, answer, _read = _asgi(app, "GET", "/_sim/health", client=client)  # the health check stays open
    assert status == 200 and json.loads(answer)["status"] == "ok"


def test_the_admin_token_opens_the_admin_api_from_anywhere() -> None:
    app = build_app(SimulatorConfig(admin_token=TOKEN))
    off = ("10.0.0.7", 1234)
    assert _asgi(app, "GET", "/_sim/state", client=off)[0] == 403
    assert _asgi(app, "GET", "/_sim/state", client=off, headers=[(b"x-sim-admin-token", b"wrong")])[0] == 403
    assert _asgi(app, "GET", "/_sim/state", client=off,
                 headers=[(b"x-sim-admin-token", TOKEN.encode() + b"x")])[0] == 403
    status, answer, _read = _asgi(app, "GET", "/_sim/state", client=off,
                                  headers=[(b"x-sim-admin-token", TOKEN.encode())])
    assert status == 200 and "repertorium" in json.loads(answer)
    for loopback in (("127.0.0.1", 5), ("127.8.9.10", 5), ("::1", 5), ("::ffff:127.0.0.1", 5)):
        assert _asgi(app, "GET", "/_sim/state", client=loopback)[0] == 200  # loopback needs no token
    # without a configured token, no header opens it
    plain_app = build_app(SimulatorConfig())
    assert _asgi(plain_app, "GET", "/_sim/state", client=off, headers=[(b"x-sim-admin-token", b"")])[0] == 403


def test_a_short_admin_token_is_refused_and_the_flag_reaches_the_server() -> None:
    with pytest.raises(ValueError, match="at least 16"):
        SimulatorConfig(admin_token="short")
    with running_simulator(admin_token=TOKEN) as sim:
        assert "--admin-token" in sim.args and sim.admin("POST", "reset") == {"reset": True}
    assert TOKEN not in repr(SimulatorConfig(admin_token=TOKEN))


# ------------------------------------------------------------------------------------------------ SOAPAction
def test_soap_without_soapaction_is_a_fault(plain: RunningSimulator) -> None:
    payload = sociaal_statuut(HOUSEHOLD)
    code, text = _fault(requests.post(plain.soap_url(), data=payload, timeout=30,
                                      headers={"Content-Type": "text/xml; charset=UTF-8"}))
    assert code == "soapenv:Client" and "SOAPAction" in text and "ontbreekt" in text
    code, text = _fault(requests.post(plain.soap_url(), data=payload, timeout=30, headers={"SOAPAction": "urn:x"}))
    assert code == "soapenv:Client" and "aanhalingstekens" in text
    for action in ('""', '"urn:GeefSociaalStatuut"', ""):
        r = requests.post(plain.soap_url(), data=payload, headers={"SOAPAction": action}, timeout=30)
        assert r.status_code == 200 and level3_codes(body_child(r.content)) == ["40003"], action


# ---------------------------------------------------------------------------------------------- signatures
def _signed(pki: Pki, insz: str = HOUSEHOLD) -> bytes:
    signer = BodySigner.from_files(pki.signing_key, pki.signing_cert)
    return signer.envelope(body_child(sociaal_statuut(insz)))


def test_verify_signature_needs_a_certificate_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no such certificate"):
        SimulatorConfig(verify_signature=tmp_path / "missing.pem")


def test_with_verify_signature_an_unsigned_request_is_a_fault(verifying: RunningSimulator) -> None:
    code, text = _fault(requests.post(verifying.soap_url(), data=sociaal_statuut(HOUSEHOLD), headers=SOAP_ACTION,
                                      timeout=30))
    assert code == "soapenv:Client" and "niet ondertekend" in text and HOUSEHOLD not in text


def test_with_verify_signature_a_tampered_or_foreign_signature_is_a_fault(
        verifying: RunningSimulator, signing: Pki, tmp_path: Path) -> None:
    other = "86710585636"
    tampered = _signed(signing).replace(HOUSEHOLD.encode(), other.encode())
    assert other.encode() in tampered
    code, text = _fault(requests.post(verifying.soap_url(), data=tampered, headers=SOAP_ACTION, timeout=30))
    assert code == "soapenv:Client" and "ongeldig" in text and other not in text and HOUSEHOLD not in text
    foreign = _signed(make_pki(tmp_path))  # a valid signature, by a key that is not the afnemer's
    code, text = _fault(requests.post(verifying.soap_url(), data=foreign, headers=SOAP_ACTION, timeout=30))
    assert code == "soapenv:Client" and "ongeldig" in text
    stale = BodySigner.from_files(signing.signing_key, signing.signing_cert).envelope(
        body_child(sociaal_statuut(HOUSEHOLD)), now=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    code, text = _fault(requests.post(verifying.soap_url(), data=stale, headers=SOAP_ACTION, timeout=30))
    assert code == "soapenv:Client" and "ongeldig" in text
    r = requests.post(verifying.soap_url(), data=_signed(signing), headers=SOAP_ACTION, timeout=30)
    assert r.status_code == 200 and level3_codes(body_child(r.content)) == []  # the untouched one is answered


def test_with_verify_signature_the_product_client_signing_is_answered(
        verifying: RunningSimulator, signing: Pki) -> None:
    config = MagdaConfig(base_url=verifying.base_url, identificatie=AFNEMER, hoedanigheid="1300", max_attempts=1,
                         backoff_base=0.0, backoff_cap=0.0, sign_body=True, signing_key=str(signing.signing_key),
                         signing_cert=str(signing.signing_cert))
    with MagdaClient(config, MemoryAuditSink()) as client:
        answer = client.geef_sociaal_statuut(HOUSEHOLD, ["BIM_BVT"], dt.date(2025, 3, 1))
    assert answer.outcome is OutcomeClass.OK, answer
    unsigned = MagdaConfig(base_url=verifying.base_url, identificatie=AFNEMER, hoedanigheid="1300", max_attempts=1,
                           backoff_base=0.0, backoff_cap=0.0)
    with MagdaClient(unsigned, MemoryAuditSink()) as client, pytest.raises(MagdaFault, match="niet ondertekend"):
        client.geef_sociaal_statuut(HOUSEHOLD, ["BIM_BVT"], dt.date(2025, 3, 1))

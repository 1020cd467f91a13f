"""Transport details: mutual TLS, keep-alive, HTTP framing, WS-Security signatures."""

from __future__ import annotations

import datetime as dt
import socket
import threading
from collections.abc import Callable

import pytest
from magda_testkit import (
    HOUSEHOLD,
    Pki,
    Received,
    Reply,
    ScriptedServer,
    canned_for,
    server_tls,
)
from signxml.exceptions import InvalidSignature

from proactief.magda import envelope as env
from proactief.magda.audit import MemoryAuditSink, OutcomeClass
from proactief.magda.client import MagdaClient, MagdaConfigurationError
from proactief.magda.config import MagdaConfig
from proactief.magda.curlhttp import CurlHttp
from proactief.magda.results import Persoon
from proactief.magda.wssec import BodySigner, verify_body_signature

MakeClient = Callable[..., MagdaClient]


def ok_canned(rec: Received) -> Reply:
    return Reply(200, canned_for(rec))


# ---------------------------------------------------------------------------------------------- mutual TLS


@pytest.fixture
def tls_server(pki: Pki) -> ScriptedServer:
    s = ScriptedServer(ok_canned, tls=server_tls(pki, require_client_cert=True)).start()
    yield s
    s.stop()


def _tls_client(url: str, engine: str, **kw: object) -> MagdaClient:
    fields = dict(base_url=url, identificatie="gent.be/proactief", max_attempts=2, backoff_base=0.0,
                  http_engine=engine, read_timeout=5.0)
    fields.update(kw)
    return MagdaClient(MagdaConfig(**fields), MemoryAuditSink(), validate_requests=True)  # type: ignore[arg-type]


def test_mutual_tls_with_the_onboarding_certificate(tls_server: ScriptedServer, pki: Pki, engine: str) -> None:
    with _tls_client(tls_server.url, engine, ca_bundle=str(pki.ca), client_cert=str(pki.client_cert),
                     client_key=str(pki.client_key)) as client:
        a = client.geef_persoon(HOUSEHOLD)
        b = client.geef_persoon(HOUSEHOLD)
    assert a.outcome is OutcomeClass.OK and isinstance(a.value, Persoon) and b.outcome is OutcomeClass.OK


@pytest.mark.parametrize("case", ["untrusted server", "no client certificate", "client certificate of another CA"])
def test_tls_trust_problems_are_configuration_errors(tls_server: ScriptedServer, pki: Pki, engine: str,
                                                     case: str) -> None:
    kw: dict[str, object] = {"ca_bundle": str(pki.ca), "client_cert": str(pki.client_cert),
                             "client_key": str(pki.client_key)}
    if case == "untrusted server":
        del kw["ca_bundle"]  # system store does not know the test CA
    elif case == "no client certificate":
        del kw["client_cert"], kw["client_key"]
    else:
        kw["client_cert"], kw["client_key"] = str(pki.other_client_cert), str(pki.other_client_key)
    with _tls_client(tls_server.url, engine, **kw) as client, pytest.raises(MagdaConfigurationError, match="TLS"):
        client.geef_persoon(HOUSEHOLD)


def test_unreadable_tls_material_fails_when_the_client_is_made(pki: Pki, tmp_path: object) -> None:
    from pathlib import Path

    junk = Path(str(tmp_path)) / "junk.pem"
    junk.write_text("not a certificate")
    with pytest.raises(MagdaConfigurationError, match="TLS material"):
        _tls_client("https://127.0.0.1:1", "curl", ca_bundle=str(junk))


# ---------------------------------------------------------------------------------------------- HTTP framing


@pytest.mark.parametrize("shape", [{"chunked": True}, {"gzip": True}, {"chunked": True, "gzip": True},
                                   {"close": True}])
def test_chunked_compressed_and_closed_answers_are_read(server: ScriptedServer, make_client: MakeClient,
                                                        engine: str, shape: dict[str, bool]) -> None:
    server.script = lambda rec: Reply(200, canned_for(rec), **shape)
    client = make_client(http_engine=engine)
    for _ in range(3):
        assert client.geef_persoon(HOUSEHOLD).outcome is OutcomeClass.OK


def test_connections_are_kept_alive_and_reused(server: ScriptedServer, make_client: MakeClient, engine: str) -> None:
    server.script = ok_canned
    client = make_client(http_engine=engine, max_concurrency=1)
    for _ in range(5):
        client.geef_persoon(HOUSEHOLD)
    assert len({r.client_port for r in server.received}) == 1


def test_a_connection_the_server_closed_while_idle_is_replaced_without_an_error(engine: str) -> None:
    """A raw server that answers one request per connection and then closes without saying so."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    port = listener.getsockname()[1]
    served = []

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(65536)
            head, _, rest = data.partition(b"\r\n\r\n")
            n = int([h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")][0].split(b":")[1])
            while len(rest) < n:
                rest += conn.recv(65536)
            rec = Received("POST", "/", {}, rest)
            body = canned_for(rec)
            served.append(1)  # counted before answering, so the client cannot finish before the count
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: "
                         + str(len(body)).encode() + b"\r\n\r\n" + body)
            conn.close()  # keep-alive promised, connection dropped anyway

    threading.Thread(target=serve, daemon=True).start()
    # Both engines notice most dropped idle connections before reuse; under load the server's close can race the
    # next request, which is then a transient failure that one client-level retry absorbs.
    attempts = 2
    client = MagdaClient(MagdaConfig(base_url=f"http://127.0.0.1:{port}", http_engine=engine, max_attempts=attempts,
                                     backoff_base=0.0, backoff_cap=0.0),
                         MemoryAuditSink(), validate_requests=True)
    try:
        for _ in range(4):
            assert client.geef_persoon(HOUSEHOLD).outcome is OutcomeClass.OK
    finally:
        client.close()
        listener.close()
    assert len(served) == 4


def test_curl_http_rejects_broken_framing() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    port = listener.getsockname()[1]
    answers = [b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort", b"garbage\r\n\r\n",
               b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"]

    def serve() -> None:
        for a in answers:
            conn, _ = listener.accept()
            conn.recv(65536)
            conn.sendall(a)
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    http = CurlHttp(connect_timeout=2, read_timeout=2, max_connections=2)
    try:
        for _ in answers:
            with pytest.raises(OSError):
                http.request("POST", f"http://127.0.0.1:{port}/x", b"<a/>", {"Content-Type": "text/xml"})
    finally:
        http.close()
        listener.close()


# ---------------------------------------------------------------------------------------------- WS-Security


def test_body_signature_verifies_and_detects_tampering(pki: Pki) -> None:
    signer = BodySigner.from_files(pki.signing_key, pki.signing_cert)
    req = env.geef_persoon(env.Afzender("gent.be/proactief", "1300"), HOUSEHOLD)
    signed = req.to_bytes(signer)
    body = verify_body_signature(signed, pki.signing_cert.read_bytes())
    assert body.find(".//INSZ") is not None and body.find(".//INSZ").text == HOUSEHOLD
    with pytest.raises(InvalidSignature):
        verify_body_signature(signed.replace(HOUSEHOLD.encode(), b"86710585636"), pki.signing_cert.read_bytes())
    with pytest.raises(InvalidSignature):
        verify_body_signature(signed, pki.client_cert.read_bytes())  # another key


def test_the_client_signs_every_request_when_configured(server: ScriptedServer, make_client: MakeClient,
                                                        pki: Pki) -> None:
    server.script = ok_canned
    client = make_client(sign_body=True, signing_key=str(pki.signing_key), signing_cert=str(pki.signing_cert))
    assert client.geef_sociaal_statuut(HOUSEHOLD, ["BIM_BVT"], dt.date(2025, 3, 1)).outcome is OutcomeClass.OK
    sent = server.received[0].body
    assert b"wsse:Security" in sent and b"mustUnderstand" in sent
    body = verify_body_signature(sent, pki.signing_cert.read_bytes())
    assert body.find(".//Criteria/INSZ").text == HOUSEHOLD


def test_signing_is_off_by_default(server: ScriptedServer, make_client: MakeClient) -> None:
    server.script = ok_canned
    make_client().geef_persoon(HOUSEHOLD)
    assert b"Security" not in server.received[0].body

"""Test helpers for the MAGDA client: a small scripted HTTP(S) server, canned answers, a throw-away PKI.

The server is real (``http.server`` in a thread, HTTP/1.1 keep-alive) so the transport is exercised over
sockets; each test scripts what it answers. End-to-end tests against the simulator live with the lead's
integration tests.
"""

from __future__ import annotations

import datetime as dt
import gzip
import http.server
import re
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from lxml import etree

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SHARED_MAGDA = PROJECT_ROOT.parent / "shared" / "magda"
TESTCASES = SHARED_MAGDA / "testcases"
SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"

AFNEMER = "gent.be/proactief-test"

# Personas of the canned data (TST numbers, never real people)
HOUSEHOLD = "84640438954"  # GeefPersoon: household with partner and three children; BIM_BVT
LEEFLOON = "86710585636"  # LIVING_WAGES_PCSA_HELP
DISABLED = "06701151393"  # disability recognition, vehicle 1GBR791
PARKING = "12630962125"  # PARKINGCARD + REDUCTIONCARD
TAX = "81652315946"  # income year 2025, item A7555
BUSY = "91610100176"  # 99996 in many services
NEW_INSZ = "75680836687"  # GeefPersoon WAARSCHUWING 30004
OTHER = "44640618933"  # PCSA_AND_BIM_HELP


def canned(relative: str) -> bytes:
    """A canned answer from the shared reference, e.g. ``Persoon/GeefPersoon/02.02.0000/84640438954.xml``."""
    return (TESTCASES / relative).read_bytes()


def envelope(body_child: bytes) -> bytes:
    """Wrap a bare Body child (as the canned files are) into a SOAP 1.1 envelope."""
    child = re.sub(rb"^\s*<\?xml[^>]*\?>", b"", body_child)
    return (f'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="{SOAP_NS}"><soapenv:Header/>'
            "<soapenv:Body>").encode() + child + b"</soapenv:Body></soapenv:Envelope>"


def request_child(request: bytes) -> etree._Element:
    root = etree.fromstring(request)
    body = root.find(f"{{{SOAP_NS}}}Body")
    assert body is not None
    return next(c for c in body if isinstance(c.tag, str))


def vraag_referte(request: bytes) -> str:
    return request_child(request).findtext("Verzoek/Vragen/Vraag/Referte") or ""


def echo(answer_child: bytes, request: bytes) -> bytes:
    """The canned Body child with ``Antwoord/Referte`` set to the request's ``Vraag/Referte`` (as MAGDA does),
    wrapped in an envelope."""
    doc = etree.fromstring(answer_child)
    ref = doc.find("Repliek/Antwoorden/Antwoord/Referte")
    if ref is not None:
        ref.text = vraag_referte(request)
    return envelope(etree.tostring(doc))


def canned_for(rec: Received) -> bytes:
    """What the MAGDA mock answers: the canned case of the subject, else the folder's notfound/success."""
    child = request_child(rec.body)
    name = etree.QName(child).localname
    from proactief.magda.services import SERVICES

    spec = next(s for s in SERVICES.values() if s.name == name)
    folder = TESTCASES / spec.testcase_dir
    if name == "RegistreerInschrijving":
        folder = folder / "PERS"
    for candidate in (f"{rec.insz}.xml", "notfound.xml", "success.xml"):
        if (folder / candidate).is_file():
            return echo((folder / candidate).read_bytes(), rec.body)
    raise AssertionError(f"no canned answer for {name}")


def list_answer(rec: Received, results: dict[str, str | tuple[str, str]]) -> bytes:
    """A GeefSociaalStatuutVoorLijst answer: per INSZ either a Resultaat code for every asked statute ("1"/"0")
    or an (Identificatie, Type) exception annotated with that INSZ."""
    child = request_child(rec.body)
    statutes = [n.text for n in child.iterfind(".//SocialeStatuten/SociaalStatuut/Naam")]
    persons, errors = [], []
    for insz, what in results.items():
        if isinstance(what, tuple):
            errors.append(f"<Uitzondering><Identificatie>{what[0]}</Identificatie><Oorsprong>MAGDA</Oorsprong>"
                          f"<Type>{what[1]}</Type><Diagnose>d</Diagnose><Annotaties><Annotatie><Naam>INSZ</Naam>"
                          f"<Waarde>{insz}</Waarde></Annotatie></Annotaties></Uitzondering>")
        else:
            st = "".join(f'<SociaalStatuut><Naam>{n}</Naam><Resultaat Beschrijving="x">{what}</Resultaat>'
                         "</SociaalStatuut>" for n in statutes)
            persons.append(f"<Persoon><INSZ>{insz}</INSZ><SocialeStatuten>{st}</SocialeStatuten></Persoon>")
    ns = "http://webservice.geefsociaalstatuutvoorlijstdienst-02_00.soczek-02_00.vip.vlaanderen.be"
    antwoord = f"<Antwoord><Referte>{vraag_referte(rec.body)}</Referte>"
    if persons:
        antwoord += f"<Inhoud><Personen>{''.join(persons)}</Personen></Inhoud>"
    if errors:
        antwoord += f"<Uitzonderingen>{''.join(errors)}</Uitzonderingen>"
    ctx = ("<Context><Naam>GeefSociaalStatuutVoorLijst</Naam><Versie>02.00.0000</Versie><Bericht><Type>ANTWOORD"
           "</Type><Tijdstip><Datum>2025-01-01</Datum><Tijd>12:00:00.000</Tijd></Tijdstip><Afzender><Identificatie>"
           "vip.vlaanderen.be</Identificatie><Referte>r</Referte></Afzender></Bericht></Context>")
    return envelope(f'<p:GeefSociaalStatuutVoorLijstResponse xmlns:p="{ns}"><Repliek>{ctx}<Antwoorden>{antwoord}'
                    "</Antwoord></Antwoorden></Repliek></p:GeefSociaalStatuutVoorLijstResponse>".encode())


def uitzondering_answer(root: str, namespace: str, code: str, type_: str = "FOUT", *, level: int = 3,
                        diagnose: str = "diagnose", annotaties: tuple[tuple[str, str], ...] = ()) -> bytes:
    """A minimal answer carrying one Uitzondering at level 2 or 3 (Referte filled in by :func:`echo`)."""
    ann = ""
    if annotaties:
        ann = "<Annotaties>" + "".join(f"<Annotatie><Naam>{n}</Naam><Waarde>{w}</Waarde></Annotatie>"
                                       for n, w in annotaties) + "</Annotaties>"
    u = (f"<Uitzonderingen><Uitzondering><Identificatie>{code}</Identificatie><Oorsprong>MAGDA</Oorsprong>"
         f"<Type>{type_}</Type><Diagnose>{diagnose}</Diagnose>{ann}</Uitzondering></Uitzonderingen>")
    ctx = ("<Context><Naam>X</Naam><Versie>0</Versie><Bericht><Type>ANTWOORD</Type><Tijdstip><Datum>2025-01-01"
           "</Datum><Tijd>12:00:00.000</Tijd></Tijdstip><Afzender><Identificatie>vip.vlaanderen.be</Identificatie>"
           "<Referte>r</Referte></Afzender></Bericht></Context>")
    if level == 2:
        inner = ctx + u
    else:
        inner = ctx + f"<Antwoorden><Antwoord><Referte>x</Referte>{u}</Antwoord></Antwoorden>"
    return f'<p:{root} xmlns:p="{namespace}"><Repliek>{inner}</Repliek></p:{root}>'.encode()


def soap_fault(code: str = "soapenv:Client", text: str = "Bericht ongeldig") -> bytes:
    return (f'<soapenv:Envelope xmlns:soapenv="{SOAP_NS}"><soapenv:Body><soapenv:Fault><faultcode>{code}'
            f"</faultcode><faultstring>{text}</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>"
            ).encode()


# ---------------------------------------------------------------------------------------------- server


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/xml; charset=UTF-8"
    delay: float = 0.0
    chunked: bool = False
    gzip: bool = False
    close: bool = False


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    client_port: int = 0

    @property
    def service(self) -> str:
        """Local name of the SOAP Body child (``GeefPersoon`` …)."""
        return etree.QName(request_child(self.body)).localname

    @property
    def insz(self) -> str | None:
        child = request_child(self.body)
        for tag in ("INSZ", "ssin", "Sleutel"):
            for el in child.iter(tag):
                return el.text
        return None


Script = Callable[[Received], Reply]


@dataclass
class ScriptedServer:
    """Answers each request with ``script(received)``; records what it received."""

    script: Script
    tls: ssl.SSLContext | None = None
    received: list[Received] = field(default_factory=list)
    url: str = ""
    _server: http.server.ThreadingHTTPServer | None = None

    def start(self) -> ScriptedServer:
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # keep pytest output clean
                pass

            def _handle(self) -> None:
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                rec = Received(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body,
                               self.client_address[1])
                outer.received.append(rec)
                reply = outer.script(rec)
                if reply.delay:
                    time.sleep(reply.delay)
                payload = gzip.compress(reply.body) if reply.gzip else reply.body
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                if reply.gzip:
                    self.send_header("Content-Encoding", "gzip")
                if reply.close:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                if reply.chunked:
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    for i in range(0, len(payload), 7):
                        part = payload[i:i + 7]
                        self.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
                    self.wfile.write(b"0\r\n\r\n")
                elif reply.status in (204, 304):
                    self.end_headers()
                else:
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)

            do_POST = _handle  # noqa: N815
            do_GET = _handle  # noqa: N815

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        if self.tls is not None:
            server.socket = self.tls.wrap_socket(server.socket, server_side=True)
        self._server = server
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        scheme = "https" if self.tls is not None else "http"
        self.url = f"{scheme}://127.0.0.1:{server.server_address[1]}"
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


# ---------------------------------------------------------------------------------------------- PKI


@dataclass(frozen=True)
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_client_cert: Path
    """Issued by another CA: a server that trusts only ``ca`` refuses it."""
    other_client_key: Path
    signing_cert: Path
    signing_key: Path


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _key_pem(key: object) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,  # type: ignore[attr-defined]
                             serialization.NoEncryption())


def make_pki(folder: Path) -> Pki:
    now = dt.datetime.now(dt.UTC)

    def ca(cn: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(_name(cn)).public_key(key.public_key())
                .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
                .not_valid_after(now + dt.timedelta(days=30))
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .sign(key, hashes.SHA256()))
        return cert, key

    def leaf(cn: str, issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey], server: bool):
        key = ec.generate_private_key(ec.SECP256R1())
        b = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(issuer[0].subject)
             .public_key(key.public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
             .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
             .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH if server
                                                   else ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False))
        if server:
            import ipaddress

            b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                             x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                                critical=False)
        return b.sign(issuer[1], hashes.SHA256()), key

    root = ca("magda test CA")
    other = ca("other CA")
    server = leaf("127.0.0.1", root, True)
    client = leaf("gent.be/proactief", root, False)
    stranger = leaf("somebody else", other, False)
    sign_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    sign_cert = (x509.CertificateBuilder().subject_name(_name("gent.be/proactief signing"))
                 .issuer_name(_name("gent.be/proactief signing")).public_key(sign_key.public_key())
                 .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
                 .not_valid_after(now + dt.timedelta(days=30)).sign(sign_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    return Pki(
        ca=_write(folder / "ca.pem", root[0].public_bytes(pem)),
        server_cert=_write(folder / "server.pem", server[0].public_bytes(pem)),
        server_key=_write(folder / "server.key", _key_pem(server[1])),
        client_cert=_write(folder / "client.pem", client[0].public_bytes(pem)),
        client_key=_write(folder / "client.key", _key_pem(client[1])),
        other_client_cert=_write(folder / "other.pem", stranger[0].public_bytes(pem)),
        other_client_key=_write(folder / "other.key", _key_pem(stranger[1])),
        signing_cert=_write(folder / "signing.pem", sign_cert.public_bytes(pem)),
        signing_key=_write(folder / "signing.key", _key_pem(sign_key)),
    )


def server_tls(pki: Pki, *, require_client_cert: bool) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki.server_cert, pki.server_key)
    if require_client_cert:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(pki.ca)
    return ctx

"""A throw-away PKI for mutual TLS: a CA, a server certificate, a trusted and an untrusted client.

Tests make one per session; the Docker Compose stack makes one at its first start
(``python -m proactief_sim.simulator.pki DIR --server-name magda-sim --days 825``) so the Airflow services reach the
simulator as they would reach MAGDA: over HTTPS, verifying its certificate, with a client certificate.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["TestPKI", "make_test_pki"]


@dataclass(frozen=True)
class TestPKI:
    ca_cert: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    untrusted_client_cert: Path
    """Signed by another CA: the simulator must refuse it."""
    untrusted_client_key: Path
    other_ca_cert: Path

    __test__ = False  # not a pytest test class


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Proactief Gent test"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _write(path: Path, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey | None = None,
           key_path: Path | None = None) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    if key is not None and key_path is not None:
        key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        key_path.chmod(0o600)


def _ca(cn: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = _key()
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn)).issuer_name(_name(cn)).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _leaf(cn: str, ca: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey, *, server: bool,
          names: tuple[str, ...] = ("localhost",),
          days: int = 2) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = _key()
    now = dt.datetime.now(dt.UTC)
    b = (
        x509.CertificateBuilder()
        .subject_name(_name(cn)).issuer_name(ca.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH if server
                                              else ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
    )
    if server:
        sans: list[x509.GeneralName] = [x509.DNSName(n) for n in dict.fromkeys(("localhost", *names))]
        b = b.add_extension(x509.SubjectAlternativeName([*sans, x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                            critical=False)
    return b.sign(ca_key, hashes.SHA256()), key


def make_test_pki(directory: str | Path, *, server_names: tuple[str, ...] = ("localhost",), days: int = 2) -> TestPKI:
    """Generate the PEM files into ``directory`` (created if needed) and say where they are; the server certificate
    names ``server_names`` (and localhost, 127.0.0.1); leaf certificates hold for ``days``."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    ca, ca_key = _ca("Proactief test CA")
    other, other_key = _ca("Some other CA")
    server, server_key = _leaf(server_names[0], ca, ca_key, server=True, names=server_names, days=days)
    client, client_key = _leaf("gent.be/proactief-test", ca, ca_key, server=False, days=days)
    rogue, rogue_key = _leaf("gent.be/proactief-test", other, other_key, server=False, days=days)
    pki = TestPKI(
        ca_cert=d / "ca.pem", server_cert=d / "server.pem", server_key=d / "server.key",
        client_cert=d / "client.pem", client_key=d / "client.key",
        untrusted_client_cert=d / "untrusted-client.pem", untrusted_client_key=d / "untrusted-client.key",
        other_ca_cert=d / "other-ca.pem",
    )
    _write(pki.ca_cert, ca)
    _write(pki.other_ca_cert, other)
    _write(pki.server_cert, server, server_key, pki.server_key)
    _write(pki.client_cert, client, client_key, pki.client_key)
    _write(pki.untrusted_client_cert, rogue, rogue_key, pki.untrusted_client_key)
    return pki


def main(argv: list[str] | None = None) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="python -m proactief_sim.simulator.pki", description=__doc__.splitlines()[0])
    p.add_argument("directory", type=Path)
    p.add_argument("--server-name", action="append", default=[], help="DNS name of the server (repeatable)")
    p.add_argument("--days", type=int, default=2, help="validity of the leaf certificates")
    args = p.parse_args(argv)
    pki = make_test_pki(args.directory, server_names=tuple(args.server_name) or ("localhost",), days=args.days)
    print(f"PKI written to {pki.ca_cert.parent}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

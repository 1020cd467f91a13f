"""The WS-Security header has the OASIS X.509 token profile shape MAGDA checks — BinarySecurityToken, Timestamp,
a SecurityTokenReference as KeyInfo, the signature over Body and Timestamp — and the verifier refuses every way a
request can fall short of it: unsigned, tampered, another certificate, stale, or the old inline-X509Data shape."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree
from signxml.exceptions import InvalidSignature

from proactief.magda import envelope as env
from proactief.magda.wssec import (
    DS_NS,
    SOAP_NS,
    TIMESTAMP_LIFETIME,
    WSSE_NS,
    WSU_NS,
    X509V3,
    BodySigner,
    verify_body_signature,
)
from tests.magda.magda_testkit import Pki

INSZ = "84640438954"
T0 = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)


def signed(pki: Pki, now: dt.datetime = T0) -> bytes:
    signer = BodySigner.from_files(pki.signing_key, pki.signing_cert)
    request = env.geef_persoon(env.Afzender("gent.be/proactief", "1300"), INSZ)
    return signer.envelope(etree.fromstring(request.to_bytes()).find(f"{{{SOAP_NS}}}Body")[0], now=now)


def test_the_header_has_the_x509_token_profile_shape(pki: Pki) -> None:
    doc = etree.fromstring(signed(pki))
    security = doc.find(f"{{{SOAP_NS}}}Header/{{{WSSE_NS}}}Security")
    token = security.find(f"{{{WSSE_NS}}}BinarySecurityToken")
    assert token.get("ValueType") == X509V3 and token.get("EncodingType").endswith("#Base64Binary")
    cert = x509.load_pem_x509_certificate(pki.signing_cert.read_bytes())
    assert base64.b64decode(token.text) == cert.public_bytes(Encoding.DER)
    stamp = security.find(f"{{{WSU_NS}}}Timestamp")
    created = dt.datetime.fromisoformat(stamp.findtext(f"{{{WSU_NS}}}Created").replace("Z", "+00:00"))
    expires = dt.datetime.fromisoformat(stamp.findtext(f"{{{WSU_NS}}}Expires").replace("Z", "+00:00"))
    assert created == T0 and expires - created == TIMESTAMP_LIFETIME
    sig = security.find(f"{{{DS_NS}}}Signature")
    ref = sig.find(f"{{{DS_NS}}}KeyInfo/{{{WSSE_NS}}}SecurityTokenReference/{{{WSSE_NS}}}Reference")
    assert ref.get("URI") == "#" + token.get(f"{{{WSU_NS}}}Id") and ref.get("ValueType") == X509V3
    assert sig.find(f".//{{{DS_NS}}}X509Data") is None
    uris = {r.get("URI") for r in sig.findall(f"{{{DS_NS}}}SignedInfo/{{{DS_NS}}}Reference")}
    body_id = doc.find(f"{{{SOAP_NS}}}Body").get(f"{{{WSU_NS}}}Id")
    assert uris == {f"#{body_id}", "#" + stamp.get(f"{{{WSU_NS}}}Id")}


def test_a_fresh_signed_request_verifies_and_gives_its_body(pki: Pki) -> None:
    body = verify_body_signature(signed(pki), pki.signing_cert.read_bytes(), now=T0 + dt.timedelta(seconds=30))
    assert body.find(".//INSZ").text == INSZ


def test_a_tampered_body_is_refused(pki: Pki) -> None:
    with pytest.raises(InvalidSignature):
        verify_body_signature(signed(pki).replace(INSZ.encode(), b"86710585636"), pki.signing_cert.read_bytes(),
                              now=T0)


def test_a_request_signed_with_another_certificate_is_refused(pki: Pki) -> None:
    with pytest.raises(InvalidSignature, match="not the afnemer's"):
        verify_body_signature(signed(pki), pki.client_cert.read_bytes(), now=T0)


@pytest.mark.parametrize(("offset", "why"), [(dt.timedelta(minutes=10), "expired"),
                                             (dt.timedelta(minutes=-10), "future")])
def test_a_stale_or_future_timestamp_is_refused(pki: Pki, offset: dt.timedelta, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        verify_body_signature(signed(pki), pki.signing_cert.read_bytes(), now=T0 + offset)


def test_an_unsigned_request_is_refused(pki: Pki) -> None:
    unsigned = env.geef_persoon(env.Afzender("gent.be/proactief", "1300"), INSZ).to_bytes()
    with pytest.raises(ValueError, match="no wsse:Security"):
        verify_body_signature(unsigned, pki.signing_cert.read_bytes(), now=T0)


def test_a_header_without_the_token_is_refused(pki: Pki) -> None:
    doc = etree.fromstring(signed(pki))
    token = doc.find(f".//{{{WSSE_NS}}}BinarySecurityToken")
    token.getparent().remove(token)
    with pytest.raises(ValueError, match="X.509 token profile"):
        verify_body_signature(etree.tostring(doc), pki.signing_cert.read_bytes(), now=T0)

"""Optional WS-Security: an XML signature over the SOAP Body, in a ``wsse:Security`` header (X.509 token profile).

MAGDA production checks that the Body was signed with the afnemer's onboarding key, in the shape of the OASIS
WS-Security X.509 Certificate Token Profile 1.0:

* ``wsse:BinarySecurityToken`` (``ValueType`` …#X509v3, Base64) carries the signing certificate;
* ``wsu:Timestamp`` (``Created``, ``Expires``) bounds the message's life, against replay;
* ``ds:Signature`` references the Body and the Timestamp by ``wsu:Id`` (exclusive c14n, RSA/ECDSA with SHA-256),
  and its ``ds:KeyInfo`` is a ``wsse:SecurityTokenReference`` to the token — not an inline ``ds:X509Data``.

Signing costs milliseconds per message, so it is off unless configured. The receiving side
(:func:`verify_body_signature`) checks all of it against the certificate it trusts for the afnemer.
"""

from __future__ import annotations

import base64
import datetime as dt
import threading
import uuid
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, load_pem_private_key
from lxml import etree
from signxml import SignatureConstructionMethod, SignatureReference, XMLSigner, XMLVerifier
from signxml.exceptions import InvalidInput, InvalidSignature

__all__ = ["BodySigner", "verify_body_signature", "WSSE_NS", "WSU_NS", "DS_NS", "TIMESTAMP_LIFETIME"]

SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
WSSE_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
DS_NS = "http://www.w3.org/2000/09/xmldsig#"
X509V3 = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3"
BASE64 = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"
_EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
TIMESTAMP_LIFETIME = dt.timedelta(minutes=5)
"""How long a signed request stays acceptable after ``Created`` (``Expires``)."""
_CLOCK_SKEW = dt.timedelta(minutes=1)


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class BodySigner:
    """Signs envelopes with one key and certificate (loaded once; safe to share between threads)."""

    def __init__(self, key_pem: bytes, cert_pem: bytes, *, password: bytes | None = None) -> None:
        self._key = load_pem_private_key(key_pem, password=password)
        cert = x509.load_pem_x509_certificate(cert_pem)  # fail now on a bad certificate, not on the first call
        self._cert_b64 = base64.b64encode(cert.public_bytes(Encoding.DER)).decode("ascii")
        self._local = threading.local()

    @classmethod
    def from_files(cls, key_path: str | Path, cert_path: str | Path) -> BodySigner:
        return cls(Path(key_path).read_bytes(), Path(cert_path).read_bytes())

    def _signer(self) -> XMLSigner:
        signer = getattr(self._local, "signer", None)
        if signer is None:  # XMLSigner keeps per-call state: one per thread
            signer = XMLSigner(method=SignatureConstructionMethod.detached, signature_algorithm=self._algorithm(),
                               digest_algorithm="sha256", c14n_algorithm=_EXC_C14N)
            self._local.signer = signer
        return signer

    def _algorithm(self) -> str:
        from cryptography.hazmat.primitives.asymmetric import ec

        return "ecdsa-sha256" if isinstance(self._key, ec.EllipticCurvePrivateKey) else "rsa-sha256"

    def envelope(self, body_child: etree._Element, *, now: dt.datetime | None = None) -> bytes:
        """A SOAP 1.1 envelope around ``body_child`` whose Body and Timestamp are signed in a ``wsse:Security``
        header that carries the certificate as a BinarySecurityToken."""
        now = now or dt.datetime.now(dt.UTC)
        env = etree.Element(f"{{{SOAP_NS}}}Envelope", nsmap={"soapenv": SOAP_NS, "wsu": WSU_NS})
        header = etree.SubElement(env, f"{{{SOAP_NS}}}Header")
        body_id, token_id, ts_id = (f"{kind}-{uuid.uuid4()}" for kind in ("id", "X509", "TS"))
        body = etree.SubElement(env, f"{{{SOAP_NS}}}Body", {f"{{{WSU_NS}}}Id": body_id})
        body.append(_copy(body_child))
        security = etree.SubElement(header, f"{{{WSSE_NS}}}Security", {f"{{{SOAP_NS}}}mustUnderstand": "1"},
                                    nsmap={"wsse": WSSE_NS})
        token = etree.SubElement(security, f"{{{WSSE_NS}}}BinarySecurityToken",
                                 {"EncodingType": BASE64, "ValueType": X509V3, f"{{{WSU_NS}}}Id": token_id})
        token.text = self._cert_b64
        stamp = etree.SubElement(security, f"{{{WSU_NS}}}Timestamp", {f"{{{WSU_NS}}}Id": ts_id})
        etree.SubElement(stamp, f"{{{WSU_NS}}}Created").text = _utc(now)
        etree.SubElement(stamp, f"{{{WSU_NS}}}Expires").text = _utc(now + TIMESTAMP_LIFETIME)
        key_info = etree.Element(f"{{{DS_NS}}}KeyInfo", nsmap={"ds": DS_NS})
        ref = etree.SubElement(etree.SubElement(key_info, f"{{{WSSE_NS}}}SecurityTokenReference"),
                               f"{{{WSSE_NS}}}Reference")
        ref.set("URI", f"#{token_id}")
        ref.set("ValueType", X509V3)
        signature = self._signer().sign(
            env, key=self._key, key_info=key_info,
            reference_uri=[SignatureReference(URI=f"#{body_id}"), SignatureReference(URI=f"#{ts_id}")],
            id_attribute="Id",
        )
        security.append(signature)
        return etree.tostring(env, xml_declaration=True, encoding="UTF-8")


def _copy(el: etree._Element) -> etree._Element:
    """A detached copy, so signing never moves the caller's element into another tree."""
    return etree.fromstring(etree.tostring(el))


def verify_body_signature(envelope: bytes, cert_pem: bytes | str, *, now: dt.datetime | None = None) -> etree._Element:
    """Verify the WS-Security header of an envelope against the certificate trusted for the sender (``cert_pem``);
    return the signed Body.

    Checks: the token is that certificate, the KeyInfo references the token, the signature covers exactly the
    Body and the Timestamp, and the Timestamp is current. Raises ``signxml.exceptions.InvalidSignature`` when the
    Body was changed or another key signed, ``ValueError`` for a missing or malformed header or a stale Timestamp.
    """
    doc = etree.fromstring(envelope)
    body = doc.find(f"{{{SOAP_NS}}}Body")
    if body is None:
        raise ValueError("no SOAP Body")
    body_id = body.get(f"{{{WSU_NS}}}Id")
    security = doc.find(f"{{{SOAP_NS}}}Header/{{{WSSE_NS}}}Security")
    sig = security.find(f"{{{DS_NS}}}Signature") if security is not None else None
    if sig is None or body_id is None:
        raise ValueError("no wsse:Security signature over an identified Body")
    token = security.find(f"{{{WSSE_NS}}}BinarySecurityToken")
    stamp = security.find(f"{{{WSU_NS}}}Timestamp")
    reference = sig.find(f"{{{DS_NS}}}KeyInfo/{{{WSSE_NS}}}SecurityTokenReference/{{{WSSE_NS}}}Reference")
    if token is None or token.get("ValueType") != X509V3 or stamp is None or reference is None:
        raise ValueError("the header lacks the X.509 token profile: BinarySecurityToken, Timestamp, "
                         "SecurityTokenReference")
    if reference.get("URI") != f"#{token.get(f'{{{WSU_NS}}}Id')}":
        raise ValueError("the signature's KeyInfo does not reference the BinarySecurityToken")
    trusted = x509.load_pem_x509_certificate(cert_pem.encode("ascii") if isinstance(cert_pem, str) else cert_pem)
    try:
        sent = base64.b64decode("".join((token.text or "").split()), validate=True)
    except ValueError:
        raise ValueError("the BinarySecurityToken is not Base64") from None
    if sent != trusted.public_bytes(Encoding.DER):
        raise InvalidSignature("the request was signed with a certificate that is not the afnemer's")
    try:
        results = XMLVerifier().verify(doc, x509_cert=trusted, id_attribute="Id", expect_references=2)
    except InvalidInput as exc:  # e.g. a certificate of another key type than the signature
        raise InvalidSignature(f"signature does not verify with this certificate: {exc}") from None
    signed = {etree.QName(r.signed_xml).localname: r.signed_xml for r in results if r.signed_xml is not None}
    uris = [r.get("URI") for r in sig.findall(f"{{{DS_NS}}}SignedInfo/{{{DS_NS}}}Reference")]
    if sorted(uris) != sorted([f"#{body_id}", f"#{stamp.get(f'{{{WSU_NS}}}Id')}"]) or set(signed) != {"Body",
                                                                                                       "Timestamp"}:
        raise ValueError("the signature does not cover exactly the SOAP Body and the Timestamp")
    _check_fresh(signed["Timestamp"], now or dt.datetime.now(dt.UTC))
    return signed["Body"]


def _check_fresh(stamp: etree._Element, now: dt.datetime) -> None:
    def moment(tag: str) -> dt.datetime:
        text = stamp.findtext(f"{{{WSU_NS}}}{tag}")
        if not text:
            raise ValueError(f"the Timestamp has no {tag}")
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))

    created, expires = moment("Created"), moment("Expires")
    if created - _CLOCK_SKEW > now:
        raise ValueError("the Timestamp lies in the future")
    if expires + _CLOCK_SKEW < now:
        raise ValueError("the Timestamp has expired")

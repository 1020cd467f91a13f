"""Optional WS-Security: an XML signature over the SOAP Body, in a ``wsse:Security`` header.

MAGDA production checks that the Body was signed with the afnemer's onboarding key (X.509 token profile):
the Body carries a ``wsu:Id``, the ``ds:Signature`` in the header references it (exclusive c14n, RSA/ECDSA with
SHA-256) and carries the certificate. Signing costs milliseconds per message, so it is off unless configured.
"""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from lxml import etree
from signxml import SignatureConstructionMethod, SignatureReference, XMLSigner, XMLVerifier
from signxml.exceptions import InvalidInput, InvalidSignature

__all__ = ["BodySigner", "verify_body_signature", "WSSE_NS", "WSU_NS", "DS_NS"]

SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
WSSE_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
DS_NS = "http://www.w3.org/2000/09/xmldsig#"
_EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"


class BodySigner:
    """Signs envelopes with one key and certificate (loaded once; safe to share between threads)."""

    def __init__(self, key_pem: bytes, cert_pem: bytes, *, password: bytes | None = None) -> None:
        self._key = load_pem_private_key(key_pem, password=password)
        self._cert_pem = cert_pem.decode("ascii")
        x509.load_pem_x509_certificate(cert_pem)  # fail now on a bad certificate, not on the first call
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

    def envelope(self, body_child: etree._Element) -> bytes:
        """A SOAP 1.1 envelope around ``body_child`` whose Body is signed in a ``wsse:Security`` header."""
        env = etree.Element(f"{{{SOAP_NS}}}Envelope", nsmap={"soapenv": SOAP_NS, "wsu": WSU_NS})
        header = etree.SubElement(env, f"{{{SOAP_NS}}}Header")
        body_id = f"id-{uuid.uuid4()}"
        body = etree.SubElement(env, f"{{{SOAP_NS}}}Body", {f"{{{WSU_NS}}}Id": body_id})
        body.append(_copy(body_child))
        security = etree.SubElement(header, f"{{{WSSE_NS}}}Security", {f"{{{SOAP_NS}}}mustUnderstand": "1"},
                                    nsmap={"wsse": WSSE_NS})
        signature = self._signer().sign(
            env, key=self._key, cert=self._cert_pem,
            reference_uri=[SignatureReference(URI=f"#{body_id}")], id_attribute="Id",
        )
        security.append(signature)
        return etree.tostring(env, xml_declaration=True, encoding="UTF-8")


def _copy(el: etree._Element) -> etree._Element:
    """A detached copy, so signing never moves the caller's element into another tree."""
    return etree.fromstring(etree.tostring(el))


def verify_body_signature(envelope: bytes, cert_pem: bytes | str) -> etree._Element:
    """Verify the WS-Security signature of an envelope against ``cert_pem``; return the signed Body.

    Raises ``signxml.exceptions.InvalidSignature`` (or a subclass) when the Body was changed or another key signed.
    """
    doc = etree.fromstring(envelope)
    body = doc.find(f"{{{SOAP_NS}}}Body")
    if body is None:
        raise ValueError("no SOAP Body")
    body_id = body.get(f"{{{WSU_NS}}}Id")
    sig = doc.find(f"{{{SOAP_NS}}}Header/{{{WSSE_NS}}}Security/{{{DS_NS}}}Signature")
    if sig is None or body_id is None:
        raise ValueError("no wsse:Security signature over an identified Body")
    cert = cert_pem if isinstance(cert_pem, str) else cert_pem.decode("ascii")
    try:
        result = XMLVerifier().verify(doc, x509_cert=cert, id_attribute="Id", expect_references=1)
    except InvalidInput as exc:  # e.g. a certificate of another key type than the signature
        raise InvalidSignature(f"signature does not verify with this certificate: {exc}") from None
    signed = result.signed_xml if not isinstance(result, list) else result[0].signed_xml
    uri = sig.find(f"{{{DS_NS}}}SignedInfo/{{{DS_NS}}}Reference").get("URI")
    if uri != f"#{body_id}" or signed is None or etree.QName(signed).localname != "Body":
        raise ValueError("the signature does not cover the SOAP Body")
    return signed

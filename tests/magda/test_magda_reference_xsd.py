"""Every official WebService XSD of the services we call compiles from the shipped reference data."""

from __future__ import annotations

import hashlib
import re

import pytest
from lxml import etree

from proactief.magda.reference import reference_root, schema_for, xsd_root
from proactief.magda.services import SERVICES, ServiceSpec

WEBSERVICE_XSDS = sorted({x for s in SERVICES.values() for x in (s.request_xsd, s.response_xsd)}
                         | {str(p.relative_to(xsd_root())) for s in SERVICES.values()
                            for p in (xsd_root() / s.xsd_dir / "WebService").glob("*.xsd")})


XS = "{http://www.w3.org/2001/XMLSchema}"


@pytest.mark.parametrize("relative", WEBSERVICE_XSDS)
def test_every_webservice_xsd_of_our_services_compiles_and_declares_its_root(relative: str) -> None:
    schema = schema_for(relative)
    document = etree.parse(str(xsd_root() / relative)).getroot()
    namespace = document.get("targetNamespace")
    roots = [e.get("name") for e in document.findall(f"{XS}element")]
    assert namespace and roots, relative
    # Compiled means it judges: an empty root lacks its required content, a foreign root is no document of it.
    assert not schema.validate(etree.Element(f"{{{namespace}}}{roots[0]}"))
    assert not schema.validate(etree.Element(f"{{{namespace}}}NietBestaand"))
    assert schema.error_log.last_error is not None


@pytest.mark.parametrize("spec", sorted(SERVICES.values(), key=lambda s: s.key), ids=lambda s: s.key)
def test_each_service_has_request_and_response_xsds_for_its_namespace_and_name(spec: ServiceSpec) -> None:
    for relative, root in ((spec.request_xsd, spec.name), (spec.response_xsd, f"{spec.name}Response")):
        document = etree.parse(str(xsd_root() / relative)).getroot()
        assert document.get("targetNamespace") == spec.namespace, relative
        assert [e.get("name") for e in document.findall(f"{XS}element")] == [root], relative
        assert isinstance(schema_for(relative), etree.XMLSchema)


def test_added_include_files_are_listed_in_provenance_with_their_digest() -> None:
    provenance = (reference_root() / "PROVENANCE.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `([^`]+\.xsd)` \| `interfaces/[^`]+` \| `[0-9a-f]{40}` \| (\d+) \| `([0-9a-f]{64})` \|$",
                      provenance, flags=re.M)
    assert {r[0] for r in rows} == {
        "Repertorium-02.01/RepertoriumComplex.xsd", "Repertorium-02.01/RepertoriumEnum.xsd",
        "Repertorium-02.01/RepertoriumSimple.xsd", "Persoon-02.00/PersoonComplex.xsd",
        "Persoon-02.00/PersoonEnum.xsd",
    }
    for relative, chars, digest in rows:
        data = (xsd_root() / relative).read_bytes()
        assert len(data.decode("utf-8")) == int(chars), relative
        assert hashlib.sha256(data).hexdigest() == digest, relative


def test_the_persoon_simple_stand_in_says_it_is_not_official() -> None:
    text = (xsd_root() / "Persoon-02.00" / "PersoonSimple.xsd").read_text(encoding="utf-8")
    assert "NOT AN OFFICIAL MAGDA FILE" in text
    assert "PersoonSimple.xsd" in (reference_root() / "PROVENANCE.md").read_text(encoding="utf-8")

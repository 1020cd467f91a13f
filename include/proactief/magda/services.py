"""The MAGDA services this project may call, and where their formats live.

One row per service version: its SOAP root element and namespace, the official XSD files, the
canned-answer folder and the production endpoint path. Client and simulator both read this table,
so the two can never disagree on a name, a namespace or a path.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ServiceSpec", "SERVICES", "service", "service_by_wire_name", "MOCK_SINGLE_ENDPOINT"]

MOCK_SINGLE_ENDPOINT = "/Magda-02.00/soap/WebService"


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    key: str
    """Our name, as in the issues and configuration: ``Persoon.GeefPersoon-02.02``."""
    domain: str
    """MAGDA domain folder: ``Persoon``, ``SocZek`` …"""
    name: str
    """``Context/Naam`` on the wire, and the SOAP Body root's local name."""
    version: str
    """``Context/Versie`` on the wire: ``02.02.0000``."""
    namespace: str
    """Namespace of the SOAP Body root element (request and response)."""
    xsd_dir: str
    """Folder under the XSD root: ``Persoon.GeefPersoonDienst-02.02``."""
    key_element: str = "INSZ"
    """Element that identifies the subject in a request (``ssin`` for the KSZ-schema services)."""
    has_context: bool = True
    """False for services whose Verzoek carries no Context (the list service)."""
    subject_element: str | None = None
    """Element that carries a subject's number in the request when it is not ``key_element`` (the list's
    ``Persoon``, the repertorium's ``Sleutel``): what the client checks against the XSD before sending."""

    @property
    def subject_tag(self) -> str:
        """The request element whose value is a subject's number (empty for services without a subject)."""
        return self.subject_element or self.key_element

    @property
    def short_version(self) -> str:
        return self.version.rsplit(".", 1)[0]

    @property
    def request_xsd(self) -> str:
        return f"{self.xsd_dir}/WebService/{self.name}.xsd"

    @property
    def response_xsd(self) -> str:
        return f"{self.xsd_dir}/WebService/{self.name}Response.xsd"

    @property
    def response_root(self) -> str:
        return f"{self.name}Response"

    @property
    def testcase_dir(self) -> str:
        return f"{self.domain}/{self.name}/{self.version}"

    @property
    def path(self) -> str:
        """Per-service endpoint path, as on the real platform: ``/GeefPersoonDienst-02.02/soap/WebService``."""
        return f"/{self.name}Dienst-{self.short_version}/soap/WebService"


def _spec(key: str, namespace: str, **kw: object) -> ServiceSpec:
    domain, rest = key.split(".", 1)
    name, short = rest.rsplit("-", 1)
    return ServiceSpec(
        key=key,
        domain=domain,
        name=name,
        version=f"{short}.0000",
        namespace=namespace,
        xsd_dir=f"{domain}.{name}Dienst-{short}",
        **kw,  # type: ignore[arg-type]
    )


_VIP = "vip.vlaanderen.be"
SERVICES: dict[str, ServiceSpec] = {
    s.key: s
    for s in (
        _spec("Persoon.GeefPersoon-02.02", "http://magda.vlaanderen.be/persoon/soap/geefpersoon/v02_02"),
        _spec(
            "Persoon.GeefGezinssamenstelling-02.02",
            "http://magda.vlaanderen.be/persoon/soap/geefgezinssamenstelling/v02_02",
        ),
        _spec(
            "Persoon.GeefHistoriekPersoon-02.02",
            "http://magda.vlaanderen.be/persoon/soap/geefhistoriekpersoon/v02_02",
        ),
        _spec(
            "Persoon.GeefHistoriekGezinssamenstelling-02.02",
            "http://magda.vlaanderen.be/persoon/soap/geefhistoriekgezinssamenstelling/v02_02",
        ),
        _spec(
            "Persoon.GeefPersoonMutatiesNotificaties-02.00",
            f"http://webservice.geefpersoonmutatiesnotificatiesdienst-02_00.persoon-02_00.{_VIP}",
            key_element="",
        ),
        _spec("SocZek.GeefSociaalStatuut-03.00", "http://magda.vlaanderen.be/soczek/soap/geefsociaalstatuut/v03_00"),
        _spec(
            "SocZek.GeefSociaalStatuutVoorLijst-02.00",
            f"http://webservice.geefsociaalstatuutvoorlijstdienst-02_00.soczek-02_00.{_VIP}",
            has_context=False,
            subject_element="Persoon",
        ),
        _spec(
            "SocZek.GeefDossierHandicap-03.00",
            "http://magda.vlaanderen.be/soczek/soap/geefdossierhandicap/v03_00",
            key_element="ssin",
        ),
        _spec(
            "SocZek.GeefLeefloonbedragen-02.00",
            f"http://webservice.geefleefloonbedragendienst-02_00.soczek-02_00.{_VIP}",
        ),
        _spec(
            "Inkomen.GeefAanslagbiljetPersonenbelasting-02.00",
            f"http://webservice.geefaanslagbiljetpersonenbelastingdienst-02_00.inkomen-02_00.{_VIP}",
        ),
        _spec(
            "Repertorium.RegistreerInschrijving-02.01",
            f"http://webservice.registreerinschrijvingdienst-02_01.repertorium-02_01.{_VIP}",
            subject_element="Sleutel",
        ),
        _spec(
            "Repertorium.RegistreerUitschrijving-02.01",
            f"http://webservice.registreeruitschrijvingdienst-02_01.repertorium-02_01.{_VIP}",
            subject_element="Sleutel",
        ),
        _spec(
            "Milieu.RegistreerLEZGegevens-02.00",
            f"http://webservice.registreerlezgegevensdienst-02_00.milieu-02_00.{_VIP}",
        ),
        _spec(
            "Milieu.GeefLEZGegevens-02.00",
            f"http://webservice.geeflezgegevensdienst-02_00.milieu-02_00.{_VIP}",
        ),
        _spec(
            "Milieu.VerwijderLEZGegevens-02.00",
            f"http://webservice.verwijderlezgegevensdienst-02_00.milieu-02_00.{_VIP}",
        ),
    )
}

_BY_WIRE = {(s.name, s.version): s for s in SERVICES.values()}
_BY_PATH = {s.path: s for s in SERVICES.values()}


def service(key: str) -> ServiceSpec:
    """Look a service up by our key; an unknown key is a programming error, said plainly."""
    try:
        return SERVICES[key]
    except KeyError:
        raise KeyError(f"unknown MAGDA service {key!r}; known: {', '.join(sorted(SERVICES))}") from None


def service_by_wire_name(name: str, version: str) -> ServiceSpec | None:
    """The service a request names in ``Context/Naam`` + ``Versie`` (None when we do not serve it)."""
    return _BY_WIRE.get((name, version))


def service_by_path(path: str) -> ServiceSpec | None:
    return _BY_PATH.get(path)

"""Configuration: validated once, from code, environment or an Airflow connection's extra JSON."""

from __future__ import annotations

from pathlib import Path

import pytest
from magda_testkit import Pki

from proactief.magda.config import MagdaConfig, MagdaConfigError
from proactief.magda.services import MOCK_SINGLE_ENDPOINT, SERVICES


def test_defaults_are_valid_and_point_at_the_local_simulator() -> None:
    c = MagdaConfig()
    assert c.base_url == "http://127.0.0.1:8088" and c.identificatie and c.hoedanigheid
    assert c.timeout == (c.connect_timeout, c.read_timeout)
    assert c.rest_root == "http://127.0.0.1:8088"


def test_endpoint_per_service_single_mock_endpoint_or_override(pki: Pki) -> None:
    spec = SERVICES["Persoon.GeefPersoon-02.02"]
    tls = {"client_cert": str(pki.client_cert), "client_key": str(pki.client_key)}
    assert MagdaConfig(base_url="https://magda.example/", **tls).url_for(spec) == \
        "https://magda.example/GeefPersoonDienst-02.02/soap/WebService"
    assert MagdaConfig(use_single_endpoint=True).url_for(spec) == "http://127.0.0.1:8088" + MOCK_SINGLE_ENDPOINT
    over = MagdaConfig(endpoints={spec.key: "https://other.example/x"}, **tls)
    assert over.url_for(spec) == "https://other.example/x"
    other = over.url_for(SERVICES["SocZek.GeefSociaalStatuut-03.00"])
    assert other.endswith("/GeefSociaalStatuutDienst-03.00/soap/WebService")


def test_one_hoedanigheid_per_scheme() -> None:
    c = MagdaConfig(hoedanigheid="1300", hoedanigheden={"uitpas-kansentarief": "ipdc2045", "lez-vrijstelling": "x9"})
    assert c.hoedanigheid_for("uitpas-kansentarief") == "ipdc2045"
    assert c.hoedanigheid_for("lez-vrijstelling") == "x9"
    assert c.hoedanigheid_for("something-else") == "1300" and c.hoedanigheid_for(None) == "1300"
    with pytest.raises(TypeError):
        c.hoedanigheden["x"] = "y"  # type: ignore[index]


@pytest.mark.parametrize(("fields", "message"), [
    ({"base_url": "magda.vlaanderen.be"}, "base_url"),
    ({"base_url": "ftp://x"}, "base_url"),
    ({"identificatie": " "}, "identificatie"),
    ({"hoedanigheid": ""}, "hoedanigheid"),
    ({"hoedanigheden": {"scheme": ""}}, "hoedanigheden"),
    ({"gebruiker": "84640438955"}, "gebruiker"),
    ({"client_cert": "/nonexistent/cert.pem"}, "client_cert/client_key"),
    ({"client_cert": "/nonexistent/c.pem", "client_key": "/nonexistent/k.pem"}, "file not found"),
    ({"ca_bundle": "/nonexistent/ca.pem"}, "ca_bundle"),
    ({"sign_body": True}, "signing_key"),
    ({"connect_timeout": 0}, "timeout"),
    ({"max_concurrency": 0}, "max_concurrency"),
    ({"max_attempts": 0}, "max_attempts"),
    ({"backoff_base": 2.0, "backoff_cap": 1.0}, "backoff"),
    ({"endpoints": {"Persoon.Onbekend-01.00": "http://x"}}, "unknown service"),
    ({"http_engine": "fast"}, "http_engine"),
])
def test_bad_configuration_is_refused_with_the_field_named(fields: dict[str, object], message: str) -> None:
    with pytest.raises(MagdaConfigError, match=message) as info:
        MagdaConfig(**fields)  # type: ignore[arg-type]
    assert "84640438955" not in str(info.value)  # a civil servant's INSZ is never echoed


def test_all_problems_are_reported_at_once() -> None:
    with pytest.raises(MagdaConfigError) as info:
        MagdaConfig(base_url="x", max_attempts=0, identificatie="")
    assert {"base_url", "max_attempts", "identificatie"} <= set(str(info.value).replace(":", " ").split())


def test_from_env_reads_prefixed_variables(pki: Pki) -> None:
    env = {
        "PROACTIEF_MAGDA_BASE_URL": "https://magda-aip.example",
        "PROACTIEF_MAGDA_IDENTIFICATIE": "gent.be/proactief",
        "PROACTIEF_MAGDA_HOEDANIGHEID": "1300",
        "PROACTIEF_MAGDA_HOEDANIGHEDEN": "uitpas-kansentarief=ipdc2045, ivago-tegemoetkoming=ipdc9",
        "PROACTIEF_MAGDA_USE_SINGLE_ENDPOINT": "false",
        "PROACTIEF_MAGDA_CLIENT_CERT": str(pki.client_cert),
        "PROACTIEF_MAGDA_CLIENT_KEY": str(pki.client_key),
        "PROACTIEF_MAGDA_CA_BUNDLE": str(pki.ca),
        "PROACTIEF_MAGDA_MAX_CONCURRENCY": "32",
        "PROACTIEF_MAGDA_READ_TIMEOUT": "12.5",
        "PROACTIEF_MAGDA_AUTO_REGISTER": "no",
        "PROACTIEF_MAGDA_GEBRUIKER": "",
        "UNRELATED": "x",
    }
    c = MagdaConfig.from_env(env)
    assert c.base_url == "https://magda-aip.example" and c.max_concurrency == 32 and c.read_timeout == 12.5
    assert c.hoedanigheid_for("ivago-tegemoetkoming") == "ipdc9" and c.auto_register is False
    assert c.client_cert == str(pki.client_cert) and c.gebruiker is None


def test_from_mapping_takes_an_airflow_connection_extra(tmp_path: Path) -> None:
    extra = {"base_url": "http://127.0.0.1:8088", "use_single_endpoint": "true", "max_attempts": "5",
             "hoedanigheden": '{"onderwijskorting": "ipdc77"}', "endpoints": {}, "sign_body": False}
    c = MagdaConfig.from_mapping(extra)
    assert c.use_single_endpoint is True and c.max_attempts == 5 and c.hoedanigheid_for("onderwijskorting") == "ipdc77"
    with pytest.raises(MagdaConfigError, match="unknown MAGDA configuration field"):
        MagdaConfig.from_mapping({"base_uri": "http://x"})
    with pytest.raises(MagdaConfigError, match="max_attempts"):
        MagdaConfig.from_mapping({"max_attempts": "many"})
    with pytest.raises(MagdaConfigError, match="verify"):
        MagdaConfig.from_mapping({"verify": "maybe"})
    with pytest.raises(MagdaConfigError, match="hoedanigheden"):
        MagdaConfig.from_mapping({"hoedanigheden": "no-equals-sign"})


def test_with_changes_validates_again() -> None:
    c = MagdaConfig()
    assert c.with_changes(max_attempts=2).max_attempts == 2
    with pytest.raises(MagdaConfigError):
        c.with_changes(max_attempts=-1)


@pytest.mark.parametrize(("changes", "problem"), [
    ({"base_url": "http://magda.example"}, "base_url: a MAGDA host other than this machine is reached over https only"),
    ({"base_url": "https://magda.example", "verify": False}, "verify: the server certificate is verified"),
    ({"base_url": "https://magda.example", "with_cert": False}, "client_cert/client_key: required"),
    ({"rest_base_url": "http://rest.example"}, "rest_base_url: a MAGDA host other than this machine"),
    ({"endpoints": {"Persoon.GeefPersoon-02.02": "http://10.0.0.7/x"}}, "endpoints[Persoon.GeefPersoon-02.02]"),
    ({"base_url": "http://magda-sim:8088"}, "https only"),
])
def test_only_loopback_may_go_without_tls_verification_or_client_certificate(
        pki: Pki, changes: dict[str, object], problem: str) -> None:
    tls = {"client_cert": str(pki.client_cert), "client_key": str(pki.client_key)} \
        if changes.pop("with_cert", True) else {}
    with pytest.raises(MagdaConfigError) as refused:
        MagdaConfig(**{**tls, **changes})  # type: ignore[arg-type]
    assert problem in str(refused.value)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8088", "http://localhost:8088", "http://[::1]:8088",
                                 "http://127.0.0.5:9"])
def test_a_local_simulator_may_use_plain_http_without_a_certificate(url: str) -> None:
    assert MagdaConfig(base_url=url, verify=False).base_url == url


def test_a_remote_magda_with_https_verification_and_the_onboarding_certificate_is_accepted(pki: Pki) -> None:
    c = MagdaConfig(base_url="https://magdapersoondienst.vlaanderen.be", client_cert=str(pki.client_cert),
                    client_key=str(pki.client_key))
    assert c.verify is True

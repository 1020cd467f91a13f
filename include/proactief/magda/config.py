"""How the client reaches MAGDA and who it says it is: one immutable, validated configuration.

Built from environment variables (``PROACTIEF_MAGDA_*``) for the CLI and containers, or from a mapping so an
Airflow connection's *extra* JSON can feed it. Every problem is reported at construction with the field name,
so a wrong deployment fails before the first question is asked, never halfway through a population run.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from proactief.insz import is_valid_insz
from proactief.magda.services import MOCK_SINGLE_ENDPOINT, SERVICES, ServiceSpec
from proactief.settings import env_settings, parse_settings

__all__ = ["MagdaConfig", "MagdaConfigError", "ENV_PREFIX"]

ENV_PREFIX = "PROACTIEF_MAGDA_"


class MagdaConfigError(ValueError):
    """The MAGDA configuration is incomplete or inconsistent (names the field, never a secret)."""


def _frozen(mapping: Mapping[str, str] | None) -> Mapping[str, str]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class MagdaConfig:
    """Endpoints, identity, TLS, limits and retry policy of the MAGDA client."""

    base_url: str = "http://127.0.0.1:8088"
    """Scheme and host of the SOAP endpoints: production ``https://magdapersoondienst.vlaanderen.be``."""
    identificatie: str = "gent.be/proactief"
    """``Afzender/Identificatie``: the afnemer URI issued at onboarding."""
    hoedanigheid: str = "1300"
    """Default ``Afzender/Hoedanigheid`` (legal capacity) when a call names no purpose with its own."""
    hoedanigheden: Mapping[str, str] = field(default_factory=dict)
    """Purpose (scheme id or job) -> Hoedanigheid: each scheme is consulted under its own legal capacity."""
    gebruiker: str | None = field(default=None, repr=False)
    """Default ``Afzender/Gebruiker`` (INSZ of a civil servant); batch work leaves it empty."""
    use_single_endpoint: bool = False
    """True: every service on the mock's ``/Magda-02.00/soap/WebService``; False: one path per service."""
    endpoints: Mapping[str, str] = field(default_factory=dict)
    """Service key -> full URL, overriding the computed endpoint (e.g. another host for one service)."""
    rest_base_url: str | None = None
    """Base of the REST APIs (vehicle registrations); defaults to ``base_url``."""
    client_cert: str | None = None
    """PEM client certificate for mutual TLS (the onboarding certificate)."""
    client_key: str | None = None
    """PEM private key of ``client_cert``."""
    ca_bundle: str | None = None
    """CA bundle that signs the MAGDA server certificate (None: the system store)."""
    verify: bool = True
    """Verify the server certificate. Only a local simulator may turn this off."""
    connect_timeout: float = 3.05
    read_timeout: float = 30.0
    max_concurrency: int = 16
    """Upper bound on simultaneous calls from this process (the quota agreed with MAGDA is per afnemer)."""
    max_attempts: int = 4
    """Attempts per question for transient failures (1 = no retry)."""
    backoff_base: float = 0.2
    """Seconds; attempt n waits a random time in [0, min(cap, base * 2**(n-1))] (full jitter)."""
    backoff_cap: float = 5.0
    auto_register: bool = True
    """On 40003 register the person in the repertorium (RegistreerInschrijving) and ask once more."""
    sign_body: bool = False
    """Add a WS-Security header with an XML signature over the SOAP Body."""
    signing_key: str | None = None
    signing_cert: str | None = None
    validate_requests: bool = False
    """Validate every outgoing request against its official XSD (tests; too slow for production runs)."""
    lez_bron: str = "GENT"
    """``Bron`` of LEZ registrations: which authority registers the exemption."""
    list_operation: str = "GEEF"
    """``Criteria/Operatie`` of GeefSociaalStatuutVoorLijst."""
    http_engine: str = "curl"
    """``curl``: libcurl through PycURL (throughput); ``requests``: a pooled requests.Session."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "hoedanigheden", _frozen(self.hoedanigheden))
        object.__setattr__(self, "endpoints", _frozen(self.endpoints))
        self._validate()

    # ------------------------------------------------------------------ validation
    def _validate(self) -> None:
        problems: list[str] = []
        for name in ("base_url", "rest_base_url"):
            url = getattr(self, name)
            if url is None:
                continue
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                problems.append(f"{name}: expected http(s)://host[:port], got {url!r}")
        for key, url in self.endpoints.items():
            if key not in SERVICES:
                problems.append(f"endpoints: unknown service {key!r}")
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                problems.append(f"endpoints[{key}]: expected a full http(s) URL")
        if not self.identificatie.strip():
            problems.append("identificatie: the afnemer URI (Afzender/Identificatie) is required")
        if not self.hoedanigheid.strip():
            problems.append("hoedanigheid: a default Hoedanigheid is required")
        for purpose, code in self.hoedanigheden.items():
            if not str(purpose).strip() or not str(code).strip():
                problems.append("hoedanigheden: purposes and their Hoedanigheid must be non-empty")
        if self.gebruiker is not None and not is_valid_insz(self.gebruiker):
            problems.append("gebruiker: not a valid INSZ (11 digits, modulo-97 check)")
        remote = sorted({name for name, url in self._urls() if not _loopback(url)})
        if remote:
            where = ", ".join(remote)
            if any(urlsplit(url).scheme != "https" for name, url in self._urls() if name in remote):
                problems.append(f"{where}: a MAGDA host other than this machine is reached over https only")
            if not self.verify:
                problems.append(f"verify: the server certificate is verified for any host but loopback ({where})")
            if self.client_cert is None:
                problems.append(f"client_cert/client_key: required for a MAGDA host other than this machine "
                                f"({where}): the onboarding certificate (mutual TLS)")
        if (self.client_cert is None) != (self.client_key is None):
            problems.append("client_cert/client_key: give both (mutual TLS) or neither")
        for name in ("client_cert", "client_key", "ca_bundle"):
            path = getattr(self, name)
            if path is not None and not Path(path).is_file():
                problems.append(f"{name}: file not found: {path}")
        if self.sign_body:
            for name in ("signing_key", "signing_cert"):
                path = getattr(self, name)
                if path is None:
                    problems.append(f"{name}: required when sign_body is on")
                elif not Path(path).is_file():
                    problems.append(f"{name}: file not found: {path}")
        if not self.connect_timeout > 0 or not self.read_timeout > 0:
            problems.append("connect_timeout/read_timeout: must be > 0 seconds")
        if self.max_concurrency < 1:
            problems.append("max_concurrency: must be >= 1")
        if self.max_attempts < 1:
            problems.append("max_attempts: must be >= 1")
        if self.backoff_base < 0 or self.backoff_cap < self.backoff_base:
            problems.append("backoff_base/backoff_cap: need 0 <= base <= cap")
        if not self.lez_bron.strip() or len(self.lez_bron) > 120:
            problems.append("lez_bron: 1 to 120 characters")
        if not self.list_operation.strip():
            problems.append("list_operation: required")
        if self.http_engine not in ("curl", "requests"):
            problems.append("http_engine: curl or requests")
        if problems:
            raise MagdaConfigError("invalid MAGDA configuration: " + "; ".join(problems))

    def _urls(self) -> list[tuple[str, str]]:
        urls = [("base_url", self.base_url)]
        if self.rest_base_url is not None:
            urls.append(("rest_base_url", self.rest_base_url))
        urls += [(f"endpoints[{key}]", url) for key, url in self.endpoints.items()]
        return urls

    # ------------------------------------------------------------------ use
    def hoedanigheid_for(self, purpose: str | None) -> str:
        """The Hoedanigheid a question for ``purpose`` is asked under (the default for unknown purposes)."""
        if purpose is not None:
            code = self.hoedanigheden.get(purpose)
            if code is not None:
                return code
        return self.hoedanigheid

    def url_for(self, spec: ServiceSpec) -> str:
        """Endpoint URL of a service: explicit override, else the mock's single endpoint or the service path."""
        override = self.endpoints.get(spec.key)
        if override is not None:
            return override
        path = MOCK_SINGLE_ENDPOINT if self.use_single_endpoint else spec.path
        return self.base_url.rstrip("/") + path

    @property
    def rest_root(self) -> str:
        return (self.rest_base_url or self.base_url).rstrip("/")

    @property
    def timeout(self) -> tuple[float, float]:
        return (self.connect_timeout, self.read_timeout)

    def with_changes(self, **changes: Any) -> MagdaConfig:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> MagdaConfig:
        """Build from a mapping of field names (e.g. an Airflow connection's extra JSON); strings are coerced."""
        return cls(**parse_settings(cls, data, lambda name, raw: _coerce(name, raw, _KINDS[name]), _unknown))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, prefix: str = ENV_PREFIX) -> MagdaConfig:
        """Build from ``PROACTIEF_MAGDA_<FIELD>`` variables (e.g. ``PROACTIEF_MAGDA_BASE_URL``); unset = default.

        ``HOEDANIGHEDEN`` and ``ENDPOINTS`` take JSON objects or ``key=value,key=value``.
        """
        return cls.from_mapping(env_settings(cls, prefix, environ))


_BOOL = "bool"
_INT = "int"
_FLOAT = "float"
_STR = "str"
_OPT_STR = "optional str"
_MAP = "mapping"
_KINDS = {
    "base_url": _STR, "identificatie": _STR, "hoedanigheid": _STR, "hoedanigheden": _MAP, "gebruiker": _OPT_STR,
    "use_single_endpoint": _BOOL, "endpoints": _MAP, "rest_base_url": _OPT_STR, "client_cert": _OPT_STR,
    "client_key": _OPT_STR, "ca_bundle": _OPT_STR, "verify": _BOOL, "connect_timeout": _FLOAT,
    "read_timeout": _FLOAT, "max_concurrency": _INT, "max_attempts": _INT, "backoff_base": _FLOAT,
    "backoff_cap": _FLOAT, "auto_register": _BOOL, "sign_body": _BOOL, "signing_key": _OPT_STR,
    "signing_cert": _OPT_STR, "validate_requests": _BOOL, "lez_bron": _STR, "list_operation": _STR, "http_engine": _STR,
}
_TRUE = {"1", "true", "yes", "on", "y"}
_FALSE = {"0", "false", "no", "off", "n"}


def _loopback(url: str) -> bool:
    """Only this machine may be reached without TLS, certificate checks and a client certificate (a local
    simulator); every other host, the MAGDA test and production platforms included, may not."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _unknown(names: str) -> MagdaConfigError:
    return MagdaConfigError(f"unknown MAGDA configuration field(s): {names}")


def _coerce(name: str, raw: Any, kind: str) -> Any:
    try:
        if kind == _BOOL:
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
            raise ValueError("expected true/false")
        if kind == _INT:
            if isinstance(raw, bool):
                raise ValueError("expected an integer")
            return int(str(raw).strip())
        if kind == _FLOAT:
            if isinstance(raw, bool):
                raise ValueError("expected a number")
            return float(str(raw).strip())
        if kind == _OPT_STR:
            return None if raw is None or str(raw).strip() == "" else str(raw).strip()
        if kind == _MAP:
            return _mapping(raw)
        if not isinstance(raw, str | int):
            raise ValueError("expected text")
        return str(raw).strip()
    except (TypeError, ValueError) as exc:
        # The value itself is left out: it may be a path to a key or a civil servant's INSZ.
        raise MagdaConfigError(f"invalid MAGDA configuration: {name}: {exc}") from None


def _mapping(raw: Any) -> dict[str, str]:
    if isinstance(raw, Mapping):
        return {str(k).strip(): str(v).strip() for k, v in raw.items()}
    text = str(raw).strip()
    if not text:
        return {}
    if text.startswith("{"):
        try:
            doc = json.loads(text)
        except json.JSONDecodeError:
            raise ValueError("not a JSON object") from None
        if not isinstance(doc, dict):
            raise ValueError("expected a JSON object")
        return {str(k).strip(): str(v).strip() for k, v in doc.items()}
    out = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise ValueError("expected key=value pairs separated by commas, or a JSON object")
        out[key.strip()] = value.strip()
    return out

"""UiTPAS: give the kansentarief (social tariff) on the person's "UiTPAS Gent" membership, without an application.

Ghent grants the social tariff itself; publiq's UiTPAS API v4 is where it has to land so that every UiTPAS counter
and ticketing partner sees it. This module holds a small typed client for the few v4 operations the grant needs
and the :class:`UitpasAdapter` that turns outbox orders into those calls, idempotently (read first, write only what
is missing), so a redelivered order after a crash never sets or extends anything twice.

The publiq UiTPAS API v4 as used here (docs.publiq.be; publiq's OpenAPI ``uitpas.json`` as published in
``api-evangelist/publiq`` and in the generated ``@steinv/publiq-uitpas-sdk`` docs):

* Auth: OAuth2 client credentials at Auth0, ``POST https://account[-test].uitid.be/oauth/token`` with a JSON body
  ``{client_id, client_secret, audience: "https://api.publiq.be", grant_type: "client_credentials"}`` →
  ``{access_token, expires_in, token_type: "Bearer"}``; the token goes in ``Authorization: Bearer …``. publiq asks to
  cache the token for ``expires_in`` and fetch a new one on a ``401``.
* ``GET /passholders?inszNumber=…`` ("Search passholders", ``PASSHOLDERS_SEARCH``) → a paginated collection.
* ``GET /passholders/{passholderId}`` → ``Passholder`` with ``cardSystemMemberships[]``: ``cardSystem {id, name}``,
  ``status`` (``ACTIVE``/``BLOCKED``) and ``socialTariff {status: ACTIVE|EXPIRED|SUSPENDED, endDate, inGracePeriod,
  suspendedUntilDate, expired}``.
* ``PUT /passholders/{passholderId}`` ("Update a passholder", a full replacement, ``204``): its
  ``registrationSocialTariffEndDate`` sets the social tariff's end date (needs ``PASSHOLDERS_WRITE_SOCIAL_TARIFF``).
* ``POST /passholders`` ("Register a new passholder") with ``registrationCardSystemId``, ``registrationCardType``
  and ``registrationSocialTariffEndDate``; it needs the person's name, birth date, address and acceptance of the
  UiTPAS terms (``legalTermsPaper``/``legalTermsDigital``), which a grant order does not carry.
* ``GET /card-systems`` → card systems (``{id, name}``), e.g. "UiTPAS Gent".
* Errors: RFC 7807 ``application/problem+json`` ``{type, title, status, detail}``, types such as
  ``https://api.publiq.be/probs/auth/unauthorized``, ``…/auth/forbidden``, ``…/uitpas/passholder-not-found``,
  ``…/uitpas/invalid-insz-number``, ``…/body/invalid-data`` and ``429`` ``…/uitpas/rate-limited``.

Assumed where the documentation is silent:

* the paginated passholder search answers ``{"totalItems": n, "member": [Passholder…]}`` like publiq's other
  paginated collections;
* ``registrationSocialTariffEndDate`` on ``PUT`` applies to the membership of the card system the caller manages;
  the adapter also sends that membership's ``registrationCardSystemId`` to make the target explicit (the real API
  may ignore it on update), and an earlier date shortens the tariff (how a revoke ends it);
* a ``409`` means the passholder changed under us (another writer); reading back tells whether it now has what the
  order asks, so ``409`` is answered by a read, not by a blind retry;
* publiq keeps no idempotency key; the order's ``message_id`` is still sent as ``X-Request-Id`` (every call) and
  ``Idempotency-Key`` (writes) so both sides' logs can be joined. Idempotency comes from reading first.

No INSZ leaves this module in a message or a log line: error texts name the grant key and outbox id, and whatever
text the server sends back is stripped of long digit runs before it is quoted.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import requests

from proactief.delivery import (
    AwaitingCard,
    Delivered,
    DeliveryError,
    Outcome,
    PermanentDeliveryError,
    TransientDeliveryError,
)
from proactief.grants.base import GrantOrder

__all__ = [
    "API_URL_PRODUCTION",
    "API_URL_TEST",
    "AUDIENCE",
    "CardSystem",
    "CardSystemMembership",
    "Passholder",
    "PassholderRegistration",
    "Problem",
    "SocialTariff",
    "TOKEN_URL_PRODUCTION",
    "TOKEN_URL_TEST",
    "UitpasAdapter",
    "UitpasClient",
    "UitpasError",
]

log = logging.getLogger(__name__)

API_URL_TEST = "https://api-test.uitpas.be"
API_URL_PRODUCTION = "https://api.uitpas.be"
TOKEN_URL_TEST = "https://account-test.uitid.be/oauth/token"  # noqa: S105 - a URL, not a secret
TOKEN_URL_PRODUCTION = "https://account.uitid.be/oauth/token"  # noqa: S105 - a URL, not a secret
AUDIENCE = "https://api.publiq.be"
"""All publiq APIs share this audience for client access tokens."""

PROBLEM_BASE = "https://api.publiq.be/probs/"
PROBLEM_UNAUTHORIZED = PROBLEM_BASE + "auth/unauthorized"
PROBLEM_FORBIDDEN = PROBLEM_BASE + "auth/forbidden"
PROBLEM_PASSHOLDER_NOT_FOUND = PROBLEM_BASE + "uitpas/passholder-not-found"
PROBLEM_INVALID_INSZ = PROBLEM_BASE + "uitpas/invalid-insz-number"
PROBLEM_CARDSYSTEM_NOT_FOUND = PROBLEM_BASE + "uitpas/cardsystem-not-found"
PROBLEM_NO_ACTIVE_CARDSYSTEMS = PROBLEM_BASE + "uitpas/passholder-no-active-cardsystems"
PROBLEM_SOCIAL_TARIFF_SUSPENDED = PROBLEM_BASE + "uitpas/social-tariff-suspended"
PROBLEM_RATE_LIMITED = PROBLEM_BASE + "uitpas/rate-limited"
PROBLEM_BODY_MISSING = PROBLEM_BASE + "body/missing"
PROBLEM_BODY_INVALID_SYNTAX = PROBLEM_BASE + "body/invalid-syntax"
PROBLEM_BODY_INVALID_DATA = PROBLEM_BASE + "body/invalid-data"
PROBLEM_URL_NOT_FOUND = PROBLEM_BASE + "url/not-found"
PROBLEM_PASSHOLDER_EXISTS = PROBLEM_BASE + "uitpas/passholder-already-exists"
"""Assumed: the documentation lists no type for registering an INSZ that already has a passholder."""

ACTIVE, EXPIRED, SUSPENDED = "ACTIVE", "EXPIRED", "SUSPENDED"

# Fields of a Passholder that are read-only ("ignored in create and update operations") and are left out of a PUT.
_READ_ONLY_FIELDS = ("id", "uitpasNumber", "cardSystemMemberships", "creationDate", "points", "uitidStatus",
                     "registrationOrganizer")
_LONG_DIGITS = re.compile(r"\d{6,}")


def _scrub(text: str | None, *secrets: str) -> str:
    """Server-provided text without anything that could be an INSZ (or a card number)."""
    if not text:
        return ""
    for s in secrets:
        if s:
            text = text.replace(s, "<redacted>")
    return _LONG_DIGITS.sub("<digits>", text)[:200]


def _date(value: object) -> dt.date | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


# --------------------------------------------------------------------------------------------------- the models


@dataclass(frozen=True)
class Problem:
    """An RFC 7807 problem as publiq returns it (``application/problem+json``)."""

    type: str
    title: str = ""
    status: int | None = None
    detail: str = field(default="", repr=False)
    """Free text from the server: may quote what was sent, so it is never put in a message as is."""

    @classmethod
    def from_json(cls, body: object) -> Problem | None:
        if not isinstance(body, Mapping) or not isinstance(body.get("type"), str):
            return None
        status = body.get("status")
        return cls(type=body["type"], title=str(body.get("title") or ""),
                   status=int(status) if isinstance(status, int | float) else None,
                   detail=str(body.get("detail") or ""))


@dataclass(frozen=True)
class CardSystem:
    """A UiTPAS region: "UiTPAS Gent", "UiTPAS Dender", "Paspartoe" …"""

    id: int
    name: str

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> CardSystem:
        return cls(id=int(body["id"]), name=str(body.get("name") or ""))


@dataclass(frozen=True)
class SocialTariff:
    """``CardSystemMembership.socialTariff``: present when the passholder has or had the right to it."""

    status: str
    end_date: dt.date | None = None
    in_grace_period: bool = False
    suspended_until: dt.date | None = None

    @property
    def active(self) -> bool:
        return self.status == ACTIVE

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> SocialTariff:
        return cls(status=str(body.get("status") or ""), end_date=_date(body.get("endDate")),
                   in_grace_period=bool(body.get("inGracePeriod")),
                   suspended_until=_date(body.get("suspendedUntilDate")))


@dataclass(frozen=True)
class CardSystemMembership:
    """Membership of one passholder in one card system."""

    card_system: CardSystem
    status: str
    """``ACTIVE`` or ``BLOCKED``."""
    uitpas_number: str | None = field(default=None, repr=False)
    social_tariff: SocialTariff | None = None

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> CardSystemMembership:
        tariff = body.get("socialTariff")
        return cls(card_system=CardSystem.from_json(body["cardSystem"]), status=str(body.get("status") or ACTIVE),
                   uitpas_number=body.get("uitpasNumber"),
                   social_tariff=SocialTariff.from_json(tariff) if isinstance(tariff, Mapping) else None)


@dataclass(frozen=True)
class Passholder:
    """A person with an UiTPAS. ``raw`` is the JSON as read (a ``PUT`` replaces the whole resource)."""

    id: str
    memberships: tuple[CardSystemMembership, ...]
    raw: Mapping[str, Any] = field(repr=False, compare=False)
    """Holds ``inszNumber`` and other personal data: never log it."""

    def membership(self, card_system: str) -> CardSystemMembership | None:
        """The membership in the card system with this name (case-insensitive), if any."""
        wanted = card_system.strip().casefold()
        return next((m for m in self.memberships if m.card_system.name.strip().casefold() == wanted), None)

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Passholder:
        memberships = body.get("cardSystemMemberships") or []
        return cls(id=str(body["id"]),
                   memberships=tuple(CardSystemMembership.from_json(m) for m in memberships if isinstance(m, Mapping)),
                   raw=dict(body))


@dataclass(frozen=True)
class PassholderRegistration:
    """What ``POST /passholders`` needs to register a new passholder (with the social tariff when an end date is
    given). ``legal_terms_*`` record that the person accepted the UiTPAS terms: only a person can give that."""

    insz: str = field(repr=False)
    name: str = field(repr=False)
    first_name: str = field(repr=False)
    date_of_birth: dt.date = field(repr=False)
    street: str = field(repr=False)
    postal_code: str
    city: str
    card_system_id: int
    registration_organizer_id: str
    legal_terms_paper: bool = False
    legal_terms_digital: bool = False
    card_type: str = "DIGITAL"
    social_tariff_end_date: dt.date | None = None
    country: str = "be"

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "inszNumber": self.insz, "name": self.name, "firstName": self.first_name,
            "dateOfBirth": self.date_of_birth.isoformat(),
            "address": {"street": self.street, "postalCode": self.postal_code, "city": self.city,
                        "country": self.country},
            "registrationOrganizer": {"id": self.registration_organizer_id},
            "legalTermsPaper": self.legal_terms_paper, "legalTermsDigital": self.legal_terms_digital,
            "registrationCardSystemId": self.card_system_id, "registrationCardType": self.card_type,
        }
        if self.social_tariff_end_date is not None:
            body["registrationSocialTariffEndDate"] = self.social_tariff_end_date.isoformat()
        return body


class UitpasError(Exception):
    """A UiTPAS call failed. ``status`` is ``None`` when no HTTP answer came (refused, timeout). The message never
    holds an INSZ."""

    def __init__(self, message: str, *, status: int | None = None, problem: Problem | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.problem = problem
        self.retry_after = retry_after

    @property
    def problem_type(self) -> str | None:
        return self.problem.type if self.problem else None

    @property
    def transient(self) -> bool:
        """Worth retrying later: no answer, ``429`` or a ``5xx``."""
        return self.status is None or self.status == 429 or self.status >= 500


def _retry_after(value: str | None) -> float | None:
    """``Retry-After`` as seconds: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


# --------------------------------------------------------------------------------------------------- the client


class UitpasClient:
    """The UiTPAS API v4 operations a social-tariff grant needs, with a cached client access token.

    ``base_url`` is the API root (``API_URL_TEST``, ``API_URL_PRODUCTION`` or a stand-in such as
    ``http://127.0.0.1:PORT/uitpas``). ``token_url`` defaults to ``<base_url>/oauth/token``, where the local
    stand-in serves it; against publiq pass ``TOKEN_URL_TEST`` or ``TOKEN_URL_PRODUCTION``.

    The token is fetched on first use, reused until shortly before ``expires_in`` runs out, and fetched again once
    when the API answers ``401`` (a token revoked or expired early); a second ``401`` is final. Safe to share
    between threads.
    """

    def __init__(self, base_url: str, client_id: str, client_secret: str, token_url: str | None = None,
                 timeout: float = 10.0, session: requests.Session | None = None, *, audience: str = AUDIENCE,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.base_url = base_url.rstrip("/")
        self.token_url = token_url or f"{self.base_url}/oauth/token"
        self._client_id = client_id
        self._client_secret = client_secret
        self._audience = audience
        self.timeout = timeout
        self._session = session or requests.Session()
        self._clock = clock
        self._token: str | None = None
        self._token_expires = 0.0
        self._token_lock = threading.Lock()
        self.tokens_fetched = 0
        """How many tokens this client fetched (observability; a healthy client fetches one a day)."""

    def __repr__(self) -> str:
        return f"UitpasClient(base_url={self.base_url!r}, client_id={self._client_id!r})"

    # ---- token

    def _access_token(self, *, renew: bool = False, stale: str | None = None) -> str:
        with self._token_lock:
            if renew and self._token is not None and self._token != stale:
                return self._token  # another thread already renewed it
            if not renew and self._token is not None and self._clock() < self._token_expires:
                return self._token
            self._token = None
            token, expires_in = self._fetch_token()
            self._token = token
            self._token_expires = self._clock() + max(0.0, expires_in - min(60.0, expires_in / 10))
            self.tokens_fetched += 1
            return token

    def _fetch_token(self) -> tuple[str, float]:
        body = {"client_id": self._client_id, "client_secret": self._client_secret, "audience": self._audience,
                "grant_type": "client_credentials"}
        try:
            resp = self._session.post(self.token_url, json=body, timeout=self.timeout,
                                      headers={"Accept": "application/json"})
        except requests.RequestException as exc:
            raise UitpasError(f"token endpoint unreachable ({type(exc).__name__})") from None
        if resp.status_code >= 500 or resp.status_code == 429:
            raise UitpasError(f"token endpoint answered {resp.status_code}", status=resp.status_code,
                              retry_after=_retry_after(resp.headers.get("Retry-After")))
        if resp.status_code != 200:
            # Auth0 answers {"error": "access_denied", "error_description": …}: wrong id/secret or audience.
            try:
                reason = str(resp.json().get("error") or "")
            except ValueError:
                reason = ""
            raise UitpasError(f"token endpoint rejected the client credentials ({resp.status_code}"
                              f"{' ' + _scrub(reason) if reason else ''})", status=401 if resp.status_code in
                              (400, 401, 403) else resp.status_code)
        try:
            data = resp.json()
            token = str(data["access_token"])
            expires_in = float(data.get("expires_in") or 86400)
        except (ValueError, KeyError, TypeError):
            raise UitpasError("token endpoint answered without an access_token", status=502) from None
        return token, expires_in

    # ---- transport

    def _call(self, method: str, path: str, *, what: str, params: Mapping[str, str] | None = None,
              json: Any = None, request_id: str | None = None, write: bool = False) -> requests.Response:
        """One API call with the bearer token; on ``401`` fetch a new token once and repeat. Raises
        :class:`UitpasError` for anything but a ``2xx``. ``what`` names the call in messages (never the URL: a
        search URL holds the INSZ)."""
        headers = {"Accept": "application/json, application/problem+json"}
        if request_id:
            headers["X-Request-Id"] = request_id
            if write:
                headers["Idempotency-Key"] = request_id
        token = self._access_token()
        for attempt in (1, 2):
            headers["Authorization"] = f"Bearer {token}"
            try:
                resp = self._session.request(method, self.base_url + path, params=params, json=json,
                                             headers=headers, timeout=self.timeout)
            except requests.RequestException as exc:
                raise UitpasError(f"{what}: UiTPAS unreachable ({type(exc).__name__})") from None
            if resp.status_code == 401 and attempt == 1:
                log.info("uitpas: %s answered 401, fetching a new access token once", what)
                token = self._access_token(renew=True, stale=token)
                continue
            break
        if 200 <= resp.status_code < 300:
            return resp
        problem = None
        if resp.content:
            try:
                problem = Problem.from_json(resp.json())
            except ValueError:
                problem = None
        title = f" {problem.type}" if problem else ""
        if problem and problem.title:
            title += f" ({_scrub(problem.title)})"
        raise UitpasError(f"{what}: UiTPAS answered {resp.status_code}{title}", status=resp.status_code,
                          problem=problem, retry_after=_retry_after(resp.headers.get("Retry-After")))

    @staticmethod
    def _json(resp: requests.Response, what: str) -> Any:
        try:
            return resp.json()
        except ValueError:
            raise UitpasError(f"{what}: UiTPAS answered {resp.status_code} without valid JSON", status=502) from None

    # ---- operations

    def search_passholders(self, insz: str, *, request_id: str | None = None) -> list[Passholder]:
        """``GET /passholders?inszNumber=…``: the passholders with this INSZ (zero or one)."""
        what = "search passholders"
        body = self._json(self._call("GET", "/passholders", what=what, params={"inszNumber": insz},
                                     request_id=request_id), what)
        members = body.get("member") if isinstance(body, Mapping) else None
        if not isinstance(members, list):
            raise UitpasError(f"{what}: unexpected answer (no member list)", status=502)
        try:
            return [Passholder.from_json(m) for m in members]
        except (KeyError, TypeError, ValueError):
            raise UitpasError(f"{what}: unexpected passholder shape", status=502) from None

    def find_passholder(self, insz: str, *, request_id: str | None = None) -> Passholder | None:
        """The passholder with this INSZ, or ``None``."""
        found = [p for p in self.search_passholders(insz, request_id=request_id)
                 if p.raw.get("inszNumber") in (None, insz)]
        if len(found) > 1:
            raise UitpasError("search passholders: more than one passholder for one INSZ", status=409)
        return found[0] if found else None

    def get_passholder(self, passholder_id: str, *, request_id: str | None = None) -> Passholder:
        """``GET /passholders/{passholderId}``."""
        what = f"read passholder {passholder_id}"
        body = self._json(self._call("GET", f"/passholders/{passholder_id}", what=what, request_id=request_id),
                          what)
        try:
            return Passholder.from_json(body)
        except (KeyError, TypeError, ValueError):
            raise UitpasError(f"{what}: unexpected passholder shape", status=502) from None

    def memberships(self, passholder_id: str, *, request_id: str | None = None) -> tuple[CardSystemMembership, ...]:
        """The passholder's card-system memberships (with their social tariffs)."""
        return self.get_passholder(passholder_id, request_id=request_id).memberships

    def card_systems(self, *, request_id: str | None = None) -> list[CardSystem]:
        """``GET /card-systems`` (permanent card systems, first 500)."""
        what = "list card systems"
        body = self._json(self._call("GET", "/card-systems", what=what, params={"limit": "500"},
                                     request_id=request_id), what)
        members = body.get("member") if isinstance(body, Mapping) else body
        if not isinstance(members, list):
            raise UitpasError(f"{what}: unexpected answer", status=502)
        return [CardSystem.from_json(m) for m in members if isinstance(m, Mapping)]

    def set_social_tariff_end_date(self, passholder: Passholder, card_system_id: int, end_date: dt.date, *,
                                   request_id: str | None = None) -> None:
        """Set (extend, or shorten to end) the social tariff of ``passholder``'s membership in ``card_system_id``
        until ``end_date`` (inclusive): ``PUT /passholders/{id}`` with the passholder as read and
        ``registrationSocialTariffEndDate``. Read the passholder just before: the ``PUT`` replaces it whole."""
        body = {k: v for k, v in passholder.raw.items() if k not in _READ_ONLY_FIELDS}
        body["registrationSocialTariffEndDate"] = end_date.isoformat()
        body["registrationCardSystemId"] = card_system_id
        self._call("PUT", f"/passholders/{passholder.id}", what=f"update passholder {passholder.id}", json=body,
                   request_id=request_id, write=True)

    def register_passholder(self, registration: PassholderRegistration, *,
                            request_id: str | None = None) -> Passholder:
        """``POST /passholders``: a new passholder (with the social tariff when the registration has an end
        date)."""
        what = "register passholder"
        body = self._json(self._call("POST", "/passholders", what=what, json=registration.to_json(),
                                     request_id=request_id, write=True), what)
        try:
            return Passholder.from_json(body)
        except (KeyError, TypeError, ValueError):
            raise UitpasError(f"{what}: unexpected passholder shape", status=502) from None


# --------------------------------------------------------------------------------------------------- the adapter


class UitpasAdapter:
    """The ``uitpas`` channel: sets the social tariff ACTIVE until the order's ``valid_until`` on the membership of
    ``terms["card_system"]`` ("UiTPAS Gent"), or ends it for a ``revoke`` order.

    Per order: search the passholder by INSZ, read the membership, and write only when it does not already have
    what the order asks (``already=True`` otherwise), then read back. A person without a passholder, or without a
    membership in the card system, is :class:`AwaitingCard` ("wacht op pas"), not a failure: registering needs their
    name, address and their own acceptance of the UiTPAS terms, so the person gets the pass at a counter; the
    citizen's letter tells them how, and the outbox asks again at every dispatch until the pass is there (then the
    tariff is written, without a second letter) or the scheme's wait runs out.

    A *renewal* (``terms["renews"]``: next year's kansentarief, made by the December run while this year's still
    runs) is the same order with next year's end date: the membership's social tariff end moves from 31 December to
    the next 31 December, before it would expire, so the passholder keeps the tariff on 1 January. Nothing else is
    registered (no second membership, no new passholder); a tariff already running that long is left alone, and a
    SUSPENDED one is not overridden. Logs and operator messages name it a renewal.
    """

    channel = "uitpas"

    def __init__(self, client: UitpasClient, *, default_card_system: str = "UiTPAS Gent") -> None:
        self.client = client
        self.default_card_system = default_card_system

    def deliver(self, orders: Sequence[GrantOrder]) -> list[Outcome]:
        """One outcome per order, in order; raises only for a bug."""
        return [self._deliver_one(order) for order in orders]

    # ---- per order

    def _deliver_one(self, order: GrantOrder) -> Outcome:
        try:
            if order.kind == "grant":
                outcome: Outcome = self._grant(order)
            elif order.kind == "revoke":
                outcome = self._revoke(order)
            else:
                outcome = PermanentDeliveryError(self._msg(order, f"unknown order kind {order.kind!r}"))
        except UitpasError as exc:
            outcome = self._failed(order, exc)
        except DeliveryError as exc:
            outcome = exc
        if isinstance(outcome, Delivered):
            log.info("uitpas: %s delivered passholder=%s already=%s grant=%s outbox=%s", _what(order),
                     outcome.reference, outcome.already, order.grant_key, order.outbox_id)
        elif isinstance(outcome, AwaitingCard):
            log.info("uitpas: %s waits for a pass: %s", _what(order), outcome.reason)
        else:
            log.warning("uitpas: %s not delivered (%s): %s", _what(order),
                        "transient" if outcome.transient else "permanent", outcome)
        return outcome

    def _card_system(self, order: GrantOrder) -> str:
        name = order.terms.get("card_system") or self.default_card_system
        return str(name)

    def _locate(self, order: GrantOrder) -> Passholder | None:
        return self.client.find_passholder(order.insz, request_id=order.message_id)

    def _grant(self, order: GrantOrder) -> Outcome:
        status = str(order.terms.get("social_tariff_status") or ACTIVE).upper()
        if status != ACTIVE:
            return PermanentDeliveryError(self._msg(order, f"social_tariff_status {status!r} is not supported "
                                                           "(only ACTIVE can be granted)"))
        until = order.valid_until
        if until is None:
            return PermanentDeliveryError(self._msg(order, "the order has no valid_until: a social tariff needs an "
                                                           "end date"))
        card_system = self._card_system(order)
        passholder = self._locate(order)
        if passholder is None:
            return AwaitingCard(self._msg(
                order, f"no UiTPAS passholder for this person yet: the person registers ({card_system}) at a "
                       "UiTPAS counter; waiting for the pass"))
        membership = passholder.membership(card_system)
        if membership is None:
            return AwaitingCard(self._msg(
                order, f"passholder {passholder.id} has no {card_system} membership yet: the person becomes a "
                       "member at a UiTPAS counter; waiting for it"))
        if membership.status != ACTIVE:
            return PermanentDeliveryError(self._msg(
                order, f"passholder {passholder.id}'s {card_system} membership is {membership.status}"))
        if _grant_satisfied(membership, until):
            return Delivered(reference=passholder.id, already=True)
        tariff = membership.social_tariff
        if tariff is not None and tariff.status == SUSPENDED:
            return PermanentDeliveryError(self._msg(
                order, f"passholder {passholder.id}'s social tariff in {card_system} is SUSPENDED: a person decided "
                       "that, so it is not overridden"))
        return self._write(order, passholder, membership, until, lambda m: _grant_satisfied(m, until))

    def _revoke(self, order: GrantOrder) -> Outcome:
        if order.revoke_from is None:
            return PermanentDeliveryError(self._msg(order, "revoke order without revoke_from"))
        last_day = order.revoke_from - dt.timedelta(days=1)
        card_system = self._card_system(order)
        passholder = self._locate(order)
        if passholder is None:
            return Delivered(reference="no-passholder", already=True)  # nothing to end
        membership = passholder.membership(card_system)
        if membership is None or _revoke_satisfied(membership, last_day):
            return Delivered(reference=passholder.id, already=True)
        return self._write(order, passholder, membership, last_day, lambda m: _revoke_satisfied(m, last_day))

    def _write(self, order: GrantOrder, passholder: Passholder, membership: CardSystemMembership,
               end_date: dt.date, satisfied: Callable[[CardSystemMembership], bool]) -> Outcome:
        card_system = membership.card_system
        try:
            self.client.set_social_tariff_end_date(passholder, card_system.id, end_date, request_id=order.message_id)
        except UitpasError as exc:
            if exc.status != 409:
                raise
            # Somebody changed the passholder meanwhile: the read tells whether it now has what we want.
            if satisfied(self._reread(order, passholder.id, card_system.name)):
                return Delivered(reference=passholder.id, already=True)
            kind = f" {exc.problem_type}" if exc.problem_type else ""
            return PermanentDeliveryError(self._msg(
                order, f"UiTPAS answered 409{kind} for passholder {passholder.id} and reading back does not show "
                       "the social tariff as ordered"))
        if satisfied(self._reread(order, passholder.id, card_system.name)):
            return Delivered(reference=passholder.id)
        return TransientDeliveryError(self._msg(
            order, f"UiTPAS accepted the update of passholder {passholder.id} but reading back does not show it yet"))

    def _reread(self, order: GrantOrder, passholder_id: str, card_system: str) -> CardSystemMembership:
        membership = self.client.get_passholder(passholder_id, request_id=order.message_id).membership(card_system)
        if membership is None:
            raise PermanentDeliveryError(self._msg(order, f"passholder {passholder_id} lost its {card_system} "
                                                          "membership"))
        return membership

    # ---- messages

    @staticmethod
    def _msg(order: GrantOrder, text: str) -> str:
        """An operator message: what happened, with the grant key and outbox id, never the INSZ. (Server text in
        ``text`` was scrubbed by the client already; the INSZ is removed here once more as a last guard.)"""
        if order.insz:
            text = text.replace(order.insz, "<redacted>")
        return f"uitpas {_what(order)}: {text} (grant {order.grant_key}, outbox {order.outbox_id})"

    def _failed(self, order: GrantOrder, exc: UitpasError) -> DeliveryError:
        text = str(exc)
        if exc.transient:
            return TransientDeliveryError(self._msg(order, text), retry_after=exc.retry_after)
        hint = {401: "the client credentials or token were rejected (after one token refresh)",
                403: "the client lacks a permission (PASSHOLDERS_SEARCH / PASSHOLDERS_WRITE_SOCIAL_TARIFF?)",
                404: "the passholder is gone", 400: "UiTPAS rejected the request"}.get(exc.status or 0)
        return PermanentDeliveryError(self._msg(order, f"{text}{'; ' + hint if hint else ''}"))


def _what(order: GrantOrder) -> str:
    """``renewal`` for a grant that continues a running one (the operator sees why a tariff moves a year on)."""
    return "renewal" if order.kind == "grant" and order.terms.get("renews") else order.kind


def _grant_satisfied(membership: CardSystemMembership, until: dt.date) -> bool:
    tariff = membership.social_tariff
    return (tariff is not None and tariff.status == ACTIVE and tariff.end_date is not None
            and tariff.end_date >= until)


def _revoke_satisfied(membership: CardSystemMembership, last_day: dt.date) -> bool:
    tariff = membership.social_tariff
    return tariff is None or tariff.status == EXPIRED or (tariff.end_date is not None and tariff.end_date <= last_day)

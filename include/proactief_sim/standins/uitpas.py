"""A local stand-in for publiq's UiTPAS API v4: the few endpoints the kansentarief grant uses, in memory.

Why: the UiTPAS adapter (:mod:`proactief.grants.uitpas`) must be tested against real HTTP, with the real paths,
bodies, problem types, tokens, rate limits and failures, but publiq's test environment needs credentials and the
network. This stand-in answers like the API would, keeps its state in memory (thread-safe), and can be told to fail.

Served (relative paths, so it works at the root or mounted, e.g. ``app.mount("/uitpas", create_app())``):

* ``POST /oauth/token``: client credentials like Auth0 (``client_id``, ``client_secret``, ``audience``,
  ``grant_type=client_credentials``; JSON or form) → ``{access_token, expires_in, token_type, scope}``; a wrong
  id/secret answers Auth0's ``401 {"error": "access_denied"}``.
* ``GET /passholders?inszNumber=…`` → ``{"totalItems", "member": [Passholder]}``; ``400
  …/uitpas/invalid-insz-number`` for an INSZ with bad check digits.
* ``GET /passholders/{id}`` → Passholder with ``cardSystemMemberships[].socialTariff {status, endDate, …}``;
  ``404 …/uitpas/passholder-not-found``.
* ``PUT /passholders/{id}`` (``204``): ``registrationSocialTariffEndDate`` sets the social tariff's end date on the
  membership of ``registrationCardSystemId`` (or of the caller's card system, "UiTPAS Gent"); ``409`` when the body
  moves the passholder to an INSZ another passholder has.
* ``POST /passholders``: registers (with social tariff when ``registrationSocialTariffEndDate`` is given); ``409
  …/uitpas/passholder-already-exists`` (assumed type) for a known INSZ.
* ``GET /card-systems`` → ``{"totalItems", "member": [{id, name}]}``.

Every API call needs ``Authorization: Bearer <token>`` (else ``401 …/auth/unauthorized``, problem+json) and counts
towards ``rate_limit`` calls per ``rate_window`` seconds (``429 …/uitpas/rate-limited`` with ``Retry-After``).

For tests and the demo, under ``/_standin/`` (no token): ``POST passholders`` (seed by INSZ, optionally with
memberships and a social tariff), ``GET state`` (counts and the tariffs per passholder id, never an INSZ),
``PUT faults`` (``{"status": 503, "count": 5}``: the next five API calls answer 503; ``after`` lets that many
calls pass first; ``method`` limits it to one
HTTP method, ``apply: true`` performs the call and then answers the fault (a lost answer), ``delay`` seconds slows
the answer, ``retry_after`` sets the header), ``POST tokens/expire`` (every issued token stops working) and
``POST reset``.

By default the stand-in knows only the passholders it was given (seeded or registered): a person without a pass
has none, as in Ghent, and the grant waits for the pass ("wacht op pas"). Demo convenience:
``UitpasState(passholder_share=0.6)`` makes a deterministic part of the people a passholder: a search for an INSZ
with valid check digits that is not known yet creates a passholder with a "UiTPAS Gent" membership without social
tariff when a hash of the INSZ falls in that share (:func:`has_demo_pass`), so ``bin/run`` shows both kinds of
people without seeding; ``auto_passholders=True`` is a share of 1 (everybody has a pass). Card system ids
(Dender 1, Gent 2) are made up; the real ids come from ``GET /card-systems``.

Run alone: ``python -m proactief_sim.standins.uitpas --port 8091`` (client ``proactief-gent`` / ``standin-secret``).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import datetime as dt
import hashlib
import json
import math
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from proactief.grants.uitpas import (
    AUDIENCE,
    PROBLEM_BODY_INVALID_DATA,
    PROBLEM_BODY_INVALID_SYNTAX,
    PROBLEM_BODY_MISSING,
    PROBLEM_CARDSYSTEM_NOT_FOUND,
    PROBLEM_FORBIDDEN,
    PROBLEM_INVALID_INSZ,
    PROBLEM_NO_ACTIVE_CARDSYSTEMS,
    PROBLEM_PASSHOLDER_EXISTS,
    PROBLEM_PASSHOLDER_NOT_FOUND,
    PROBLEM_RATE_LIMITED,
    PROBLEM_UNAUTHORIZED,
    PROBLEM_URL_NOT_FOUND,
)
from proactief.insz import is_valid_insz

__all__ = ["UitpasState", "create_app", "has_demo_pass", "main"]

PROBLEM_JSON = "application/problem+json"
GENT = "UiTPAS Gent"


class _Problem(Exception):
    """Answer with an RFC 7807 body."""

    def __init__(self, status: int, type_: str, title: str, detail: str = "",
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(title)
        self.status, self.type, self.title, self.detail = status, type_, title, detail
        self.headers = dict(headers or {})

    def response(self) -> JSONResponse:
        body: dict[str, Any] = {"type": self.type, "title": self.title, "status": self.status}
        if self.detail:
            body["detail"] = self.detail
        return JSONResponse(body, status_code=self.status, media_type=PROBLEM_JSON, headers=self.headers)


@dataclass
class _Membership:
    card_system_id: int
    uitpas_number: str
    status: str = "ACTIVE"
    tariff_end: dt.date | None = None
    suspended_until: dt.date | None = None


@dataclass
class _Passholder:
    id: str
    insz: str
    memberships: list[_Membership]
    created: dt.datetime
    fields: dict[str, Any] = field(default_factory=dict)
    """The mutable Passholder fields (name, firstName, dateOfBirth, address, …) as last written."""


@dataclass(frozen=True)
class _Fault:
    status: int
    count: int
    method: str | None = None
    apply: bool = False
    delay: float = 0.0
    retry_after: float | None = None
    after: int = 0
    """Calls that pass before the fault starts: an outage in the middle of a dispatch."""

    def problem(self) -> _Problem:
        headers = {}
        if self.status == 429 or self.retry_after is not None:
            headers["Retry-After"] = str(math.ceil(self.retry_after if self.retry_after is not None else 1))
        if self.status == 401:
            return _Problem(401, PROBLEM_UNAUTHORIZED, "Unauthorized", headers={"WWW-Authenticate": "Bearer"})
        if self.status == 403:
            return _Problem(403, PROBLEM_FORBIDDEN, "Forbidden")
        if self.status == 429:
            return _Problem(429, PROBLEM_RATE_LIMITED, "Too Many Requests", headers=headers)
        return _Problem(self.status, "about:blank", f"Injected fault {self.status}", headers=headers)


class UitpasState:
    """Everything the stand-in knows, behind one lock. Configuration attributes may be changed between calls."""

    def __init__(self, *, client_id: str = "proactief-gent", client_secret: str = "standin-secret",  # noqa: S107
                 card_systems: Mapping[int, str] | None = None, caller_card_system: str = GENT,
                 auto_passholders: bool = False, passholder_share: float = 0.0, rate_limit: int | None = None,
                 rate_window: float = 1.0,
                 token_ttl: int = 86400, today: Callable[[], dt.date] = dt.date.today) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.card_systems: dict[int, str] = dict(card_systems or {1: "UiTPAS Dender", 2: GENT})
        self.caller_card_system = caller_card_system
        """The card system the configured client manages: where a PUT's social tariff lands by default."""
        self.auto_passholders = auto_passholders
        """Everybody has a pass (the same as ``passholder_share=1``)."""
        if not 0.0 <= passholder_share <= 1.0:
            raise ValueError("passholder_share is a fraction between 0 and 1")
        self.passholder_share = passholder_share
        """The part of the people who have a pass without seeding, chosen by a hash of the INSZ (deterministic)."""
        self.rate_limit = rate_limit
        self.rate_window = rate_window
        self.token_ttl = token_ttl
        self.today = today
        self._lock = threading.RLock()
        self.reset()

    # ---- admin

    def reset(self) -> None:
        """Forget passholders, tokens, faults and counters (the configuration stays)."""
        with self._lock:
            self._passholders: dict[str, _Passholder] = {}
            self._by_insz: dict[str, str] = {}
            self._tokens: dict[str, float] = {}
            self._fault: _Fault | None = None
            self._calls: collections.deque[float] = collections.deque()
            self._serial = 0
            self.api_calls = 0
            self.writes = 0
            self.tokens_issued = 0
            self.write_request_ids: list[str] = []

    def card_system_id(self, name: str) -> int:
        wanted = name.strip().casefold()
        for cid, cname in self.card_systems.items():
            if cname.casefold() == wanted:
                return cid
        raise _Problem(400, PROBLEM_CARDSYSTEM_NOT_FOUND, "Card system not found", f"no card system named {name!r}")

    def _new_membership(self, card_system_id: int) -> _Membership:
        self._serial += 1
        return _Membership(card_system_id, f"09{card_system_id:02d}{self._serial:09d}")

    def _add(self, insz: str, memberships: Iterable[int], fields: Mapping[str, Any] | None = None) -> _Passholder:
        ph = _Passholder(id=str(uuid.uuid4()), insz=insz, memberships=[self._new_membership(c) for c in memberships],
                         created=dt.datetime.now(dt.UTC).replace(microsecond=0),
                         fields=dict(fields or {"name": "Pashouder", "firstName": "Demo",
                                                "address": {"postalCode": "9000", "city": "Gent"}}))
        self._passholders[ph.id] = ph
        self._by_insz[insz] = ph.id
        return ph

    def seed(self, items: Iterable[Mapping[str, Any]]) -> list[str]:
        """Add passholders: ``{"insz", "memberships": ["UiTPAS Gent"], "social_tariff_end_date": "2026-12-31",
        "social_tariff_card_system": "UiTPAS Gent", "social_tariff_suspended_until": None, "membership_status":
        "ACTIVE"}`` (all but ``insz`` optional). All or none are added. Returns their ids, in order."""
        with self._lock:
            prepared = []
            for item in items:
                insz = str(item.get("insz") or "")
                if not is_valid_insz(insz):
                    raise _Problem(400, PROBLEM_INVALID_INSZ, "Invalid INSZ number")
                if insz in self._by_insz or any(p[0] == insz for p in prepared):
                    raise _Problem(409, PROBLEM_PASSHOLDER_EXISTS, "Passholder already exists")
                names = item.get("memberships", [GENT])
                ids = [self.card_system_id(str(n)) for n in names]
                end = _parse_date(item.get("social_tariff_end_date"), "social_tariff_end_date")
                suspended = _parse_date(item.get("social_tariff_suspended_until"), "social_tariff_suspended_until")
                tariff_cs = self.card_system_id(str(item.get("social_tariff_card_system") or GENT))
                if (end or suspended) and tariff_cs not in ids:
                    raise _Problem(400, PROBLEM_BODY_INVALID_DATA, "Invalid data",
                                   "the social tariff needs a membership in its card system")
                prepared.append((insz, ids, end, suspended, tariff_cs, str(item.get("membership_status") or "ACTIVE")))
            out = []
            for insz, ids, end, suspended, tariff_cs, status in prepared:
                ph = self._add(insz, ids)
                for m in ph.memberships:
                    m.status = status
                    if m.card_system_id == tariff_cs:
                        m.tariff_end, m.suspended_until = end, suspended
                out.append(ph.id)
            return out

    def set_fault(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        """Install (or with ``count`` 0 clear) the fault for the next API calls."""
        try:
            status = int(spec.get("status") or 0)
            count = int(spec.get("count", 1))
            retry_after = spec.get("retry_after")
            fault = _Fault(status=status, count=count, method=(str(spec["method"]).upper() if spec.get("method")
                                                                else None),
                           apply=bool(spec.get("apply", False)), delay=float(spec.get("delay") or 0.0),
                           retry_after=float(retry_after) if retry_after is not None else None,
                           after=int(spec.get("after") or 0))
        except (TypeError, ValueError):
            raise _Problem(400, PROBLEM_BODY_INVALID_DATA, "Invalid fault") from None
        if count > 0 and not 100 <= status <= 599:
            raise _Problem(400, PROBLEM_BODY_INVALID_DATA, "Invalid fault", "status must be an HTTP status")
        with self._lock:
            self._fault = fault if count > 0 else None
            return self._fault_json()

    def _fault_json(self) -> dict[str, Any]:
        f = self._fault
        return {"status": f.status, "count": f.count, "method": f.method, "apply": f.apply, "delay": f.delay,
                "retry_after": f.retry_after, "after": f.after} if f else {"status": None, "count": 0}

    def expire_tokens(self) -> int:
        with self._lock:
            n = len(self._tokens)
            self._tokens.clear()
            return n

    def snapshot(self) -> dict[str, Any]:
        """Counts and tariffs by passholder id, for tests and the demo: no INSZ, no names."""
        today = self.today()
        with self._lock:
            tariffs = []
            memberships = active = 0
            for ph in self._passholders.values():
                for m in ph.memberships:
                    memberships += 1
                    status = _tariff_status(m, today)
                    active += status == "ACTIVE"
                    if status:
                        tariffs.append({"passholderId": ph.id, "cardSystem": self.card_systems[m.card_system_id],
                                        "status": status, "endDate": m.tariff_end.isoformat() if m.tariff_end
                                        else None})
            return {"passholders": len(self._passholders), "memberships": memberships,
                    "active_social_tariffs": active, "social_tariffs": tariffs, "writes": self.writes,
                    "api_calls": self.api_calls, "tokens_issued": self.tokens_issued,
                    "write_request_ids": list(self.write_request_ids), "fault": self._fault_json()}

    # ---- gate: rate limit, faults, auth

    def issue_token(self, params: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        if params.get("grant_type") != "client_credentials":
            return 400, {"error": "unsupported_grant_type",
                         "error_description": "only client_credentials is supported"}
        if params.get("client_id") != self.client_id or params.get("client_secret") != self.client_secret:
            return 401, {"error": "access_denied", "error_description": "Unauthorized"}
        audience = params.get("audience")
        if audience not in (None, "", AUDIENCE):
            return 403, {"error": "access_denied", "error_description": f"Service not found: {audience}"}
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = time.monotonic() + self.token_ttl
            self.tokens_issued += 1
        return 200, {"access_token": token, "expires_in": self.token_ttl, "token_type": "Bearer",
                     "scope": "https://api.publiq.be/auth/uitpas"}

    def _rate_limited(self) -> float | None:
        """Seconds to wait when this call exceeds the rate limit, else ``None`` (the call is counted)."""
        now = time.monotonic()
        while self._calls and self._calls[0] <= now - self.rate_window:
            self._calls.popleft()
        if self.rate_limit is not None and len(self._calls) >= self.rate_limit:
            return max(0.0, self._calls[0] + self.rate_window - now)
        self._calls.append(now)
        return None

    def gate(self, method: str, authorization: str | None) -> _Fault | None:
        """Before an API call: rate limit, then an injected fault, then the bearer token. Returns a fault to answer
        *after* performing the call (``apply``), or raises the answer."""
        with self._lock:
            self.api_calls += 1
            wait = self._rate_limited()
            if wait is not None:
                raise _Problem(429, PROBLEM_RATE_LIMITED, "Too Many Requests",
                               f"more than {self.rate_limit} calls per {self.rate_window:g}s",
                               headers={"Retry-After": str(max(1, math.ceil(wait)))})
            fault = self._fault
            if fault is not None and fault.after > 0 and (fault.method is None or fault.method == method):
                self._fault = _Fault(**{**fault.__dict__, "after": fault.after - 1})
                fault = None
            elif fault is not None and (fault.method is None or fault.method == method):
                left = fault.count - 1
                self._fault = _Fault(**{**fault.__dict__, "count": left}) if left > 0 else None
            else:
                fault = None
            if fault is not None and not fault.apply:
                return fault
            scheme, _, token = (authorization or "").partition(" ")
            expires = self._tokens.get(token) if scheme.lower() == "bearer" else None
            if expires is None or expires < time.monotonic():
                self._tokens.pop(token, None)
                raise _Problem(401, PROBLEM_UNAUTHORIZED, "Unauthorized",
                               "missing, unknown or expired access token", headers={"WWW-Authenticate": "Bearer"})
            return fault

    # ---- the API

    def _json(self, ph: _Passholder) -> dict[str, Any]:
        today = self.today()
        memberships = []
        for m in ph.memberships:
            card_system = {"id": m.card_system_id, "name": self.card_systems[m.card_system_id]}
            entry: dict[str, Any] = {"cardSystem": card_system, "status": m.status}
            if m.status == "ACTIVE":
                entry["uitpasNumber"] = m.uitpas_number
                entry["currentCard"] = {"uitpasNumber": m.uitpas_number, "status": "ACTIVE", "type": "DIGITAL"}
            status = _tariff_status(m, today)
            if status:
                entry["socialTariff"] = {"status": status, "endDate": m.tariff_end.isoformat() if m.tariff_end
                                         else None, "inGracePeriod": False, "expired": status == "EXPIRED"}
                if m.suspended_until:
                    entry["socialTariff"]["suspendedUntilDate"] = m.suspended_until.isoformat()
            memberships.append(entry)
        active = [m for m in ph.memberships if m.status == "ACTIVE"]
        body = {**ph.fields, "id": ph.id, "inszNumber": ph.insz, "creationDate": ph.created.isoformat(),
                "points": 0, "uitidStatus": "UNREGISTERED", "cardSystemMemberships": memberships}
        if active:
            body["uitpasNumber"] = active[0].uitpas_number
        return body

    def search(self, params: Mapping[str, str]) -> dict[str, Any]:
        insz = params.get("inszNumber")
        try:
            start, limit = int(params.get("start", 0)), int(params.get("limit", 20))
        except ValueError:
            raise _Problem(400, PROBLEM_BODY_INVALID_DATA, "Invalid start or limit") from None
        if limit > 500:
            raise _Problem(400, "https://api.publiq.be/probs/url/query-limit-exceeded", "Query limit exceeded")
        with self._lock:
            if insz is not None:
                if not is_valid_insz(insz):
                    raise _Problem(400, PROBLEM_INVALID_INSZ, "Invalid INSZ number")
                pid = self._by_insz.get(insz)
                if pid is None and (self.auto_passholders or has_demo_pass(insz, self.passholder_share)):
                    pid = self._add(insz, [self.card_system_id(GENT)]).id
                found = [self._passholders[pid]] if pid else []
            else:
                found = list(self._passholders.values())
                number = params.get("uitpasNumber")
                if number:
                    found = [p for p in found if any(m.uitpas_number == number for m in p.memberships)]
            return {"totalItems": len(found), "member": [self._json(p) for p in found[start:start + limit]]}

    def get(self, passholder_id: str) -> dict[str, Any]:
        with self._lock:
            return self._json(self._find(passholder_id))

    def _find(self, passholder_id: str) -> _Passholder:
        ph = self._passholders.get(passholder_id)
        if ph is None:
            raise _Problem(404, PROBLEM_PASSHOLDER_NOT_FOUND, "Passholder not found")
        return ph

    def _tariff_target(self, ph: _Passholder, body: Mapping[str, Any]) -> _Membership:
        raw = body.get("registrationCardSystemId")
        try:
            cid = int(raw) if raw is not None else self.card_system_id(self.caller_card_system)
        except (TypeError, ValueError):
            raise _Problem(400, PROBLEM_BODY_INVALID_DATA, "Invalid data", "registrationCardSystemId") from None
        if cid not in self.card_systems:
            raise _Problem(400, PROBLEM_CARDSYSTEM_NOT_FOUND, "Card system not found")
        membership = next((m for m in ph.memberships if m.card_system_id == cid and m.status == "ACTIVE"), None)
        if membership is None:
            raise _Problem(400, PROBLEM_NO_ACTIVE_CARDSYSTEMS, "Passholder has no active membership in this card "
                                                                "system")
        return membership

    def update(self, passholder_id: str, body: Any, request_id: str | None) -> None:
        if not isinstance(body, Mapping):
            raise _Problem(400, PROBLEM_BODY_INVALID_SYNTAX, "Body must be a Passholder object")
        end = _parse_date(body.get("registrationSocialTariffEndDate"), "registrationSocialTariffEndDate")
        insz = body.get("inszNumber")
        with self._lock:
            ph = self._find(passholder_id)
            if insz is not None:
                if not is_valid_insz(insz):
                    raise _Problem(400, PROBLEM_INVALID_INSZ, "Invalid INSZ number")
                other = self._by_insz.get(insz)
                if other is not None and other != ph.id:
                    raise _Problem(409, PROBLEM_PASSHOLDER_EXISTS, "INSZ number belongs to another passholder")
            target = self._tariff_target(ph, body) if end is not None else None
            ph.fields = {k: v for k, v in body.items() if k not in _NOT_STORED}
            if insz is not None and insz != ph.insz:
                del self._by_insz[ph.insz]
                ph.insz = insz
                self._by_insz[insz] = ph.id
            if target is not None:
                target.tariff_end = end
            self._wrote(request_id)

    def register(self, body: Any, request_id: str | None) -> dict[str, Any]:
        if not isinstance(body, Mapping):
            raise _Problem(400, PROBLEM_BODY_INVALID_SYNTAX, "Body must be a Passholder object")
        missing = [k for k in ("inszNumber", "name", "firstName", "dateOfBirth", "registrationCardSystemId",
                               "registrationCardType") if not body.get(k)]
        if missing:
            raise _Problem(400, PROBLEM_BODY_INVALID_DATA, "Invalid data", f"missing: {', '.join(missing)}")
        if not (body.get("legalTermsPaper") or body.get("legalTermsDigital")):
            raise _Problem(400, PROBLEM_BODY_INVALID_DATA, "Invalid data", "the legal terms must be accepted")
        if body.get("registrationCardType") not in ("DIGITAL", "NFC_CARD"):
            raise _Problem(400, PROBLEM_BODY_INVALID_DATA, "Invalid data", "registrationCardType")
        insz = str(body["inszNumber"])
        if not is_valid_insz(insz):
            raise _Problem(400, PROBLEM_INVALID_INSZ, "Invalid INSZ number")
        end = _parse_date(body.get("registrationSocialTariffEndDate"), "registrationSocialTariffEndDate")
        try:
            cid = int(body["registrationCardSystemId"])
        except (TypeError, ValueError):
            raise _Problem(400, PROBLEM_BODY_INVALID_DATA, "Invalid data", "registrationCardSystemId") from None
        with self._lock:
            if cid not in self.card_systems:
                raise _Problem(400, PROBLEM_CARDSYSTEM_NOT_FOUND, "Card system not found")
            if insz in self._by_insz:
                raise _Problem(409, PROBLEM_PASSHOLDER_EXISTS, "Passholder already exists")
            ph = self._add(insz, [cid], {k: v for k, v in body.items() if k not in _NOT_STORED})
            ph.memberships[0].tariff_end = end
            self._wrote(request_id)
            return self._json(ph)

    def card_systems_json(self) -> dict[str, Any]:
        members = [{"id": cid, "name": name, "permanent": True} for cid, name in sorted(self.card_systems.items())]
        return {"totalItems": len(members), "member": members}

    def _wrote(self, request_id: str | None) -> None:
        self.writes += 1
        if request_id:
            self.write_request_ids.append(request_id)


# Read-only Passholder fields and registration-only fields: not kept as the passholder's own data.
_NOT_STORED = frozenset({"id", "inszNumber", "uitpasNumber", "cardSystemMemberships", "creationDate", "points",
                         "uitidStatus", "registrationSocialTariffEndDate", "registrationCardSystemId",
                         "registrationCardType", "registrationUitpasNumber", "registrationVoucher"})


def has_demo_pass(insz: str, share: float) -> bool:
    """Whether this person is one of the ``share`` of people who have a pass in a demo: a stable hash of the INSZ
    (the same in every run and process), so the harness and the summary can tell who has one."""
    if share <= 0.0:
        return False
    if share >= 1.0:
        return True
    bucket = int.from_bytes(hashlib.sha256(f"uitpas-demo|{insz}".encode()).digest()[:4], "big") / 2 ** 32
    return bucket < share


def _tariff_status(m: _Membership, today: dt.date) -> str | None:
    if m.tariff_end is None and m.suspended_until is None:
        return None
    if m.suspended_until is not None and m.suspended_until >= today:
        return "SUSPENDED"
    if m.tariff_end is None or m.tariff_end < today:
        return "EXPIRED"
    return "ACTIVE"


def _parse_date(value: object, name: str) -> dt.date | None:
    if value is None or value == "":
        return None
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise _Problem(400, PROBLEM_BODY_INVALID_DATA, "Invalid data", f"{name} is not a date (yyyy-mm-dd)") from None


async def _body(request: Request) -> Any:
    raw = await request.body()
    if not raw:
        raise _Problem(400, PROBLEM_BODY_MISSING, "Body missing")
    try:
        return json.loads(raw)
    except ValueError:
        raise _Problem(400, PROBLEM_BODY_INVALID_SYNTAX, "Body is not valid JSON") from None


def create_app(state: UitpasState | None = None) -> FastAPI:
    """The stand-in as an ASGI app; ``app.state.uitpas`` is the :class:`UitpasState` it serves."""
    state = state or UitpasState()
    app = FastAPI(title="UiTPAS API v4 stand-in", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.uitpas = state

    @app.exception_handler(_Problem)
    async def _problem(_: Request, exc: _Problem) -> Response:
        return exc.response()

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return _Problem(404, PROBLEM_URL_NOT_FOUND, "Not Found").response()
        return _Problem(exc.status_code, "about:blank", str(exc.detail)).response()

    async def api(request: Request, handler: Callable[[], Any], status: int = 200) -> Response:
        fault = state.gate(request.method, request.headers.get("authorization"))
        if fault is not None and not fault.apply:
            if fault.delay:
                await asyncio.sleep(fault.delay)
            return fault.problem().response()
        result = handler()
        if fault is not None:  # performed, but the caller gets the fault (a lost or wrong answer)
            if fault.delay:
                await asyncio.sleep(fault.delay)
            return fault.problem().response()
        return Response(status_code=204) if status == 204 else JSONResponse(result, status_code=status)

    @app.post("/oauth/token")
    async def token(request: Request) -> Response:
        raw = await request.body()
        if "application/x-www-form-urlencoded" in request.headers.get("content-type", ""):
            params: Mapping[str, Any] = dict(parse_qsl(raw.decode("utf-8", "replace")))
        else:
            try:
                params = json.loads(raw or b"{}")
            except ValueError:
                params = {}
            if not isinstance(params, Mapping):
                params = {}
        status, body = state.issue_token(params)
        return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store"})

    @app.get("/passholders")
    async def search_passholders(request: Request) -> Response:
        return await api(request, lambda: state.search(request.query_params))

    @app.post("/passholders")
    async def register_passholder(request: Request) -> Response:
        body = await _body(request)
        return await api(request, lambda: state.register(body, request.headers.get("x-request-id")))

    @app.get("/passholders/{passholder_id}")
    async def get_passholder(request: Request, passholder_id: str) -> Response:
        return await api(request, lambda: state.get(passholder_id))

    @app.put("/passholders/{passholder_id}")
    async def update_passholder(request: Request, passholder_id: str) -> Response:
        body = await _body(request)
        return await api(request, lambda: state.update(passholder_id, body, request.headers.get("x-request-id")),
                         status=204)

    @app.get("/card-systems")
    async def card_systems(request: Request) -> Response:
        return await api(request, state.card_systems_json)

    # ---- admin for tests and the demo

    @app.post("/_standin/passholders")
    async def seed(request: Request) -> Response:
        body = await _body(request)
        items = body.get("passholders") if isinstance(body, Mapping) else body
        if not isinstance(items, list) or not all(isinstance(i, Mapping) for i in items):
            raise _Problem(400, PROBLEM_BODY_INVALID_DATA, "Expected {\"passholders\": [{\"insz\": …}, …]}")
        return JSONResponse({"ids": state.seed(items)}, status_code=201)

    @app.get("/_standin/state")
    async def snapshot() -> Response:
        return JSONResponse(state.snapshot())

    @app.put("/_standin/faults")
    async def faults(request: Request) -> Response:
        body = await _body(request)
        if not isinstance(body, Mapping):
            raise _Problem(400, PROBLEM_BODY_INVALID_DATA, "Expected a fault object")
        return JSONResponse(state.set_fault(body))

    @app.post("/_standin/tokens/expire")
    async def expire_tokens() -> Response:
        return JSONResponse({"expired": state.expire_tokens()})

    @app.post("/_standin/reset")
    async def reset() -> Response:
        state.reset()
        return Response(status_code=204)

    return app


def main(argv: list[str] | None = None) -> None:
    """``python -m proactief_sim.standins.uitpas --port N``: serve the stand-in at the root until interrupted."""
    import uvicorn

    parser = argparse.ArgumentParser(prog="python -m proactief_sim.standins.uitpas", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8091)
    parser.add_argument("--client-id", default="proactief-gent")
    parser.add_argument("--client-secret", default="standin-secret")  # noqa: S105 - the stand-in's own test secret
    parser.add_argument("--auto-passholders", action="store_true",
                        help="a search for an unknown valid INSZ creates a passholder (demo: everybody has a pass)")
    parser.add_argument("--passholder-share", type=float, default=0.0,
                        help="the part of the people (0-1, by a hash of the INSZ) who have a pass (demo)")
    parser.add_argument("--rate-limit", type=int, default=None, help="API calls per second before 429")
    args = parser.parse_args(argv)
    state = UitpasState(client_id=args.client_id, client_secret=args.client_secret,
                        auto_passholders=args.auto_passholders, passholder_share=args.passholder_share,
                        rate_limit=args.rate_limit)
    print(f"UiTPAS stand-in on http://{args.host}:{args.port} (client {args.client_id})", flush=True)
    uvicorn.run(create_app(state), host=args.host, port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()

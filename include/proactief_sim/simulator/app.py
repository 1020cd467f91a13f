"""The ASGI application: raw ASGI (no framework) to keep per-request overhead minimal.

Routes:
- ``POST /Magda-02.00/soap/WebService`` (the mock's single endpoint) and every per-service path
  (``/GeefPersoonDienst-02.02/soap/WebService`` …): SOAP 1.1.
- ``GET /v1/...``: the REST mocks (see ``rest``).
- ``/_sim/...``: JSON admin API for tests and benchmarks:
  ``GET health``, ``GET state``, ``POST reset``, ``GET|PUT faults``, ``POST repertorium`` (bulk inscription),
  ``POST mutations`` (queue notifications), ``POST population`` (change a person, which queues a mutation),
  ``GET|POST clock`` (the simulated day: ``{"date": "YYYY-MM-DD"}``, ``{"date": null}`` = the real date).

Hardening, as a gateway in front of real data would have it:
- The admin API answers only a client on loopback, or one sending the ``--admin-token`` in ``X-Sim-Admin-Token``
  (403 otherwise); ``GET /_sim/health`` stays open (the container health check). Every admin body is a JSON
  object with typed fields (``insz``: a list of valid INSZ; errors name the position, never the value), else 400.
- Bodies over :data:`MAX_SOAP_BODY` (SOAP) or :data:`MAX_ADMIN_BODY` (anything else) get 413, refused while reading.
- SOAP 1.1: a request without a ``SOAPAction`` header (``""`` or a quoted URI) gets a SOAP Fault; with
  ``--verify-signature CERT.pem`` so does one without a valid WS-Security signature by that certificate.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any
from urllib.parse import parse_qsl

from proactief.insz import InvalidINSZ, validate_insz
from proactief.magda.reference import rest_root
from proactief.magda.services import MOCK_SINGLE_ENDPOINT, SERVICES
from proactief_sim.simulator.config import FAULT_CODES, SimulatorConfig
from proactief_sim.simulator.engine import MUTATION_TYPES, Simulator
from proactief_sim.simulator.population import person_from_json
from proactief_sim.simulator.rest import RestMocks
from proactief_sim.simulator.wire import soap_fault

__all__ = ["build_app", "SimulatorApp", "MAX_SOAP_BODY", "MAX_ADMIN_BODY", "ADMIN_TOKEN_HEADER"]

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

_SOAP_PATHS = frozenset({MOCK_SINGLE_ENDPOINT} | {s.path for s in SERVICES.values()})
_JSON_CT = b"application/json"
MAX_SOAP_BODY = 16 * 1024 * 1024
"""The largest SOAP request taken (a list question for thousands of persons is well under 1 MiB)."""
MAX_ADMIN_BODY = 1024 * 1024
"""The largest admin (or other non-SOAP) request body taken."""
ADMIN_TOKEN_HEADER = "X-Sim-Admin-Token"  # noqa: S105 - a header name, not a token
_TOKEN_HEADER = ADMIN_TOKEN_HEADER.lower().encode()
_SOAP_ACTION_MISSING = "Verplichte HTTP-header SOAPAction ontbreekt (SOAP 1.1)"
_SOAP_ACTION_BAD = 'De HTTP-header SOAPAction moet leeg zijn of een URI tussen aanhalingstekens (SOAP 1.1)'
_TOO_LARGE = object()


class _BadRequest(Exception):
    """An admin body that is not what the call takes (400; the message names fields, never values)."""


class SimulatorApp:
    """ASGI callable around one :class:`Simulator` (all state shared by the HTTP and HTTPS listeners)."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.rest = RestMocks(rest_root(), sim.store, lambda: sim.clock)
        token = sim.config.admin_token
        self._admin_token = token.encode() if token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            while True:
                msg = await receive()
                if msg["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif msg["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        method: str = scope["method"]
        headers: dict[bytes, bytes] = {}
        for k, v in scope["headers"]:
            headers[k.lower()] = v

        if path in _SOAP_PATHS:
            if method != "POST":
                await _send(send, 405, b"SOAP endpoints take POST", b"text/plain")
                return
            problem = _soap_action_problem(headers.get(b"soapaction"))
            if problem is not None:
                self.sim.stats["soap_fault"] += 1
                await _send(send, 500, soap_fault(problem), b"text/xml; charset=UTF-8")
                return
            body = await _read_body(receive, headers, MAX_SOAP_BODY)
            if body is None:
                return
            if body is _TOO_LARGE:
                await _send(send, 413, f"SOAP request larger than {MAX_SOAP_BODY} bytes".encode(), b"text/plain")
                return
            afnemer = headers.get(b"x-magda-afnemer")
            out = self.sim.handle_soap(path, body, afnemer.decode("utf-8", "replace") if afnemer else None)
            if out.delay > 0:
                await asyncio.sleep(out.delay)
            payload = out.body[: len(out.body) // 2] if out.truncate else out.body
            await _send(send, out.status, payload, out.content_type.encode())
            return
        if path.startswith("/_sim/"):
            what = path[6:]
            if not (method == "GET" and what == "health") and not self._admin_allowed(scope, headers):
                await _send_json(send, 403, {"error": "the admin API takes loopback clients, or the admin token in "
                                                      f"{ADMIN_TOKEN_HEADER}"})
                return
            body = await _read_body(receive, headers, MAX_ADMIN_BODY)
            if body is None:
                return
            if body is _TOO_LARGE:
                await _send_json(send, 413, {"error": f"admin request larger than {MAX_ADMIN_BODY} bytes"})
                return
            status, doc = self._admin(method, what, body)
            await _send_json(send, status, doc)
            return
        body = await _read_body(receive, headers, MAX_ADMIN_BODY)
        if body is None:
            return
        if body is _TOO_LARGE:
            await _send(send, 413, f"request larger than {MAX_ADMIN_BODY} bytes".encode(), b"text/plain")
            return
        if path.startswith("/v1/"):
            params = dict(parse_qsl(scope.get("query_string", b"").decode("utf-8", "replace")))
            r = self.rest.handle(method, path, params)
            await _send(send, r.status, r.body, r.content_type.encode())
            return
        await _send(send, 404, b"not found", b"text/plain")

    def _admin_allowed(self, scope: Scope, headers: dict[bytes, bytes]) -> bool:
        """A client on loopback, or one that knows the admin token."""
        if _is_loopback(scope.get("client")):
            return True
        sent = headers.get(_TOKEN_HEADER)
        return self._admin_token is not None and sent is not None and hmac.compare_digest(sent, self._admin_token)

    def _admin(self, method: str, what: str, body: bytes) -> tuple[int, Any]:
        sim = self.sim
        try:
            data = json.loads(body, parse_constant=_no_constant) if body.strip() else {}
        except (ValueError, RecursionError):
            return 400, {"error": "body is not JSON"}
        if not isinstance(data, dict):
            return 400, {"error": "the body must be a JSON object"}
        try:
            if what == "clock":
                if method in ("PUT", "POST"):
                    if "date" not in data:
                        return 400, {"error": 'expected {"date": "YYYY-MM-DD"} or {"date": null}'}
                    day = _opt(data, "date", str)
                    sim.set_clock(date.fromisoformat(day) if day is not None else None)
                return 200, {"date": sim.today().isoformat(), "fixed": sim.clock is not None}
            if what == "health":
                return 200, sim.health()
            if what == "state":
                return 200, sim.describe_state()
            if what == "reset" and method == "POST":
                sim.reset()
                return 200, {"reset": True}
            if what == "faults":
                if method in ("PUT", "POST"):
                    sim.faults.configure(
                        rates=_fault_rates(data), per_insz=_fault_insz(data), seed=_opt(data, "seed", int),
                        latency_ms=_non_negative(data, "latency_ms"),
                        timeout_seconds=_non_negative(data, "timeout_seconds"),
                    )
                return 200, sim.faults.describe()
            if what == "repertorium" and method == "POST":
                afnemer = _opt(data, "afnemer", str)
                if not afnemer or not afnemer.strip():
                    raise _BadRequest('"afnemer" must be a non-empty string')
                n = sim.register(afnemer, _insz_list(data), _opt(data, "hoedanigheid", str) or "")
                return 200, {"registered": n}
            if what == "mutations" and method == "POST":
                kind = _opt(data, "type", str) or "WIJZIGING"
                if kind not in MUTATION_TYPES:
                    raise _BadRequest(f'"type" must be one of {", ".join(MUTATION_TYPES)}')
                inszs = _insz_list(data)
                n = sum(sim.push_mutation(i, kind) for i in inszs)
                return 200, {"queued": n}
            if what == "population" and method == "POST":
                person = data.get("person")
                if not isinstance(person, dict):
                    raise _BadRequest('"person" must be a JSON object')
                n = sim.upsert_person(person_from_json(person))
                self.rest.store = sim.store
                return 200, {"queued": n}
        except _BadRequest as exc:
            return 400, {"error": str(exc)}
        except (KeyError, TypeError, ValueError) as exc:
            return 400, {"error": f"{type(exc).__name__}: {exc}"}
        return 404, {"error": f"unknown admin call {method} /_sim/{what}"}


def _is_loopback(client: Any) -> bool:
    """Whether an ASGI ``scope["client"]`` is on this machine (unknown = no)."""
    if not client:
        return False
    try:
        ip = ipaddress.ip_address(str(client[0]))
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def _soap_action_problem(value: bytes | None) -> str | None:
    """SOAP 1.1: ``SOAPAction`` must be there, empty or a quoted URI (the client sends ``""``)."""
    if value is None:
        return _SOAP_ACTION_MISSING
    text = value.strip()
    if text and not (len(text) >= 2 and text.startswith(b'"') and text.endswith(b'"')):
        return _SOAP_ACTION_BAD
    return None


async def _read_body(receive: Receive, headers: dict[bytes, bytes], limit: int) -> Any:
    """The request body; None when the client went away; ``_TOO_LARGE`` as soon as it exceeds ``limit`` (by its
    Content-Length, or while reading: the rest is never kept)."""
    declared = headers.get(b"content-length")
    if declared is not None and declared.strip().isdigit() and int(declared) > limit:
        return _TOO_LARGE
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        msg = await receive()
        if msg["type"] == "http.disconnect":
            return None
        chunk = msg.get("body", b"")
        size += len(chunk)
        if size > limit:
            return _TOO_LARGE
        if chunk:
            chunks.append(chunk)
        more = msg.get("more_body", False)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def _opt(data: dict[str, Any], name: str, kind: type) -> Any:
    """``data[name]`` when present and not null, checked to be a ``kind`` (a bool is no int here)."""
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise _BadRequest(f'"{name}" must be {"a string" if kind is str else "an integer"}')
    return value


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _non_negative(data: dict[str, Any], name: str) -> float | None:
    value = data.get(name)
    if value is None:
        return None
    if not _number(value) or value < 0:
        raise _BadRequest(f'"{name}" must be a number >= 0')
    return float(value)


def _insz_list(data: dict[str, Any], name: str = "insz") -> list[str]:
    """A required list of valid INSZ; an error names the position, never the value."""
    value = data.get(name)
    if not isinstance(value, list):
        raise _BadRequest(f'"{name}" must be a list of INSZ strings')
    for i, item in enumerate(value):
        try:
            validate_insz(item)
        except InvalidINSZ as exc:
            raise _BadRequest(f'"{name}"[{i}]: {exc}') from None
    return value


def _fault_rates(data: dict[str, Any]) -> dict[str, float] | None:
    rates = data.get("rates")
    if rates is None:
        return None
    if not isinstance(rates, dict) or not all(k in FAULT_CODES and _number(v) for k, v in rates.items()):
        raise _BadRequest(f'"rates" must map fault codes ({", ".join(FAULT_CODES)}) to numbers')
    return rates


def _fault_insz(data: dict[str, Any]) -> dict[str, str] | None:
    per_insz = data.get("insz")
    if per_insz is None:
        return None
    if not isinstance(per_insz, dict):
        raise _BadRequest(f'"insz" must map INSZ to a fault code ({", ".join(FAULT_CODES)})')
    for i, (insz, code) in enumerate(per_insz.items()):
        try:
            validate_insz(insz)
        except InvalidINSZ as exc:
            raise _BadRequest(f'"insz" key #{i}: {exc}') from None
        if code not in FAULT_CODES:
            raise _BadRequest(f'"insz" value #{i} must be a fault code ({", ".join(FAULT_CODES)})')
    return per_insz


async def _send(send: Send, status: int, body: bytes, content_type: bytes) -> None:
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode())],
    })
    await send({"type": "http.response.body", "body": body})


async def _send_json(send: Send, status: int, doc: Any) -> None:
    await _send(send, status, json.dumps(doc).encode(), _JSON_CT)


def build_app(config: SimulatorConfig | None = None) -> SimulatorApp:
    """The ASGI app for ``config`` (loads canned cases, XSDs and the population once)."""
    return SimulatorApp(Simulator(config or SimulatorConfig()))

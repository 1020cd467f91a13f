"""The ASGI application: raw ASGI (no framework) to keep per-request overhead minimal.

Routes:
- ``POST /Magda-02.00/soap/WebService`` (the mock's single endpoint) and every per-service path
  (``/GeefPersoonDienst-02.02/soap/WebService`` …): SOAP 1.1.
- ``GET /v1/...``: the REST mocks (see ``rest``).
- ``/_sim/...``: JSON admin API for tests and benchmarks:
  ``GET health``, ``GET state``, ``POST reset``, ``GET|PUT faults``, ``POST repertorium`` (bulk inscription),
  ``POST mutations`` (queue notifications), ``POST population`` (change a person, which queues a mutation),
  ``GET|POST clock`` (the simulated day: ``{"date": "YYYY-MM-DD"}``, ``{"date": null}`` = the real date).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any
from urllib.parse import parse_qsl

from proactief.magda.reference import rest_root
from proactief.magda.services import MOCK_SINGLE_ENDPOINT, SERVICES
from proactief.simulator.config import SimulatorConfig
from proactief.simulator.engine import Simulator
from proactief.simulator.population import person_from_json
from proactief.simulator.rest import RestMocks

__all__ = ["build_app", "SimulatorApp"]

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

_SOAP_PATHS = frozenset({MOCK_SINGLE_ENDPOINT} | {s.path for s in SERVICES.values()})
_JSON_CT = b"application/json"


class SimulatorApp:
    """ASGI callable around one :class:`Simulator` (all state shared by the HTTP and HTTPS listeners)."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.rest = RestMocks(rest_root(), sim.store, lambda: sim.clock)

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
        body = b""
        more = True
        while more:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                return
            body += msg.get("body", b"")
            more = msg.get("more_body", False)

        if path in _SOAP_PATHS:
            if method != "POST":
                await _send(send, 405, b"SOAP endpoints take POST", b"text/plain")
                return
            afnemer = None
            for k, v in scope["headers"]:
                if k == b"x-magda-afnemer":
                    afnemer = v.decode("utf-8", "replace")
            out = self.sim.handle_soap(path, body, afnemer)
            if out.delay > 0:
                await asyncio.sleep(out.delay)
            payload = out.body[: len(out.body) // 2] if out.truncate else out.body
            await _send(send, out.status, payload, out.content_type.encode())
            return
        if path.startswith("/_sim/"):
            status, doc = self._admin(method, path[6:], body)
            await _send(send, status, json.dumps(doc).encode(), _JSON_CT)
            return
        if path.startswith("/v1/"):
            params = dict(parse_qsl(scope.get("query_string", b"").decode("utf-8", "replace")))
            r = self.rest.handle(method, path, params)
            await _send(send, r.status, r.body, r.content_type.encode())
            return
        await _send(send, 404, b"not found", b"text/plain")

    def _admin(self, method: str, what: str, body: bytes) -> tuple[int, Any]:
        sim = self.sim
        try:
            data = json.loads(body) if body.strip() else {}
        except ValueError:
            return 400, {"error": "body is not JSON"}
        try:
            if what == "clock":
                if method in ("PUT", "POST"):
                    if "date" not in data:
                        return 400, {"error": 'expected {"date": "YYYY-MM-DD"} or {"date": null}'}
                    day = data["date"]
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
                        rates=data.get("rates"), per_insz=data.get("insz"), seed=data.get("seed"),
                        latency_ms=data.get("latency_ms"), timeout_seconds=data.get("timeout_seconds"),
                    )
                return 200, sim.faults.describe()
            if what == "repertorium" and method == "POST":
                n = sim.register(data["afnemer"], list(data["insz"]), data.get("hoedanigheid", ""))
                return 200, {"registered": n}
            if what == "mutations" and method == "POST":
                n = sum(sim.push_mutation(i, data.get("type", "WIJZIGING")) for i in data["insz"])
                return 200, {"queued": n}
            if what == "population" and method == "POST":
                person = person_from_json(data["person"])
                n = sim.upsert_person(person)
                self.rest.store = sim.store
                return 200, {"queued": n}
        except (KeyError, TypeError, ValueError) as exc:
            return 400, {"error": f"{type(exc).__name__}: {exc}"}
        return 404, {"error": f"unknown admin call {method} /_sim/{what}"}


async def _send(send: Send, status: int, body: bytes, content_type: bytes) -> None:
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode())],
    })
    await send({"type": "http.response.body", "body": body})


def build_app(config: SimulatorConfig | None = None) -> SimulatorApp:
    """The ASGI app for ``config`` (loads canned cases, XSDs and the population once)."""
    return SimulatorApp(Simulator(config or SimulatorConfig()))

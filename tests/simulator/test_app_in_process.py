"""``build_app`` gives a plain ASGI app (mountable without a server); admin reset clears the state."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from sim_envelopes import AFNEMER, body_child, level3_codes, lez_registreer, registreer_inschrijving, sociaal_statuut

from proactief_sim.simulator import SimulatorConfig, build_app


def _call(app: Any, method: str, path: str, body: bytes = b"", headers: list | None = None,
          client: tuple[str, int] | None = ("127.0.0.1", 50000)) -> tuple[int, bytes]:
    sent: list[dict[str, Any]] = []
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(msg: dict[str, Any]) -> None:
        sent.append(msg)

    if headers is None:
        headers = [(b"soapaction", b'""')]  # SOAP 1.1: required on every request
    scope = {"type": "http", "method": method, "path": path, "query_string": b"", "headers": headers,
             "client": client}
    asyncio.run(app(scope, receive, send))
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


def test_build_app_serves_soap_and_admin_in_process():
    app = build_app(SimulatorConfig())
    status, body = _call(app, "POST", "/Magda-02.00/soap/WebService", sociaal_statuut("84640438954"))
    assert status == 200 and level3_codes(body_child(body)) == ["40003"]
    _call(app, "POST", "/Magda-02.00/soap/WebService", registreer_inschrijving("84640438954"))
    _call(app, "POST", "/Magda-02.00/soap/WebService", lez_registreer("1APP001", "<Roetfilter><Datum>2024-01-01"
                                                                                   "</Datum></Roetfilter>"))
    status, body = _call(app, "POST", "/Magda-02.00/soap/WebService", sociaal_statuut("84640438954"))
    assert level3_codes(body_child(body)) == []

    state = json.loads(_call(app, "GET", "/_sim/state")[1])
    assert state["repertorium"]["afnemers"] == {AFNEMER: 1}
    assert state["lez"]["entries"] == 1
    assert state["calls"]["SocZek.GeefSociaalStatuut-03.00"] == 2

    assert json.loads(_call(app, "POST", "/_sim/reset")[1]) == {"reset": True}
    state = json.loads(_call(app, "GET", "/_sim/state")[1])
    assert state["repertorium"]["persons"] == 0 and state["lez"]["entries"] == 0 and state["calls"] == {}
    status, body = _call(app, "POST", "/Magda-02.00/soap/WebService", sociaal_statuut("84640438954"))
    assert level3_codes(body_child(body)) == ["40003"]


def test_admin_rejects_bad_input_and_unknown_calls():
    app = build_app(SimulatorConfig())
    assert _call(app, "PUT", "/_sim/faults", b'{"rates": {"nonsense": 0.5}}')[0] == 400
    assert _call(app, "POST", "/_sim/repertorium", b"not json")[0] == 400
    assert _call(app, "GET", "/_sim/nothing")[0] == 404
    assert _call(app, "GET", "/elsewhere")[0] == 404

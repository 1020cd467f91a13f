"""No INSZ in any log line at any level, even where an API puts it in the URL: the UiTPAS passholder search
(``GET /passholders?inszNumber=…``) and MAGDA's vehicle registrations by ``nationalNr`` go through urllib3, which
logs each request line at DEBUG."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import requests

from proactief.grants.uitpas import UitpasClient
from proactief.logsafety import REDACTED, redact
from tests.grants.test_uitpas import PERSON, client, server, standin  # noqa: F401  (fixtures)


def test_the_passholder_search_logs_no_insz_at_debug(client: UitpasClient, caplog: pytest.LogCaptureFixture) -> None:  # noqa: F811
    with caplog.at_level(logging.DEBUG):
        client.search_passholders(PERSON)
    lines = [r.getMessage() for r in caplog.records]
    assert any("/passholders?inszNumber=" in line for line in lines), lines  # urllib3 did log the request line
    assert not [line for line in lines if PERSON in line]
    assert any(f"inszNumber={REDACTED}" in line for line in lines)


@pytest.fixture
def local_http() -> Iterator[str]:
    class Quiet(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    httpd = HTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_any_eleven_digit_number_in_an_http_log_line_is_hidden(local_http: str,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        requests.get(f"{local_http}/v1/mobility/registrations", params={"nationalNr": PERSON}, timeout=5)
        requests.get(f"{local_http}/x/{PERSON}", timeout=5)
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("urllib3")]
    assert len(lines) >= 2 and not [line for line in lines if PERSON in line], lines


def test_redact_keeps_what_is_not_personal() -> None:
    assert redact("GET /card-systems?limit=500 HTTP/1.1 200") == "GET /card-systems?limit=500 HTTP/1.1 200"
    assert redact(f"GET /p?inszNumber={PERSON}&limit=5") == f"GET /p?inszNumber={REDACTED}&limit=5"
    assert redact(f"plate 1ABC123 for {PERSON}.") == f"plate 1ABC123 for {REDACTED}."

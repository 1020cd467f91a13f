"""HTTP framing of the served simulator: the server coalesces uvicorn's two writes per response (head, body) into
one; every response must still arrive complete, on keep-alive and on ``Connection: close`` connections alike
(closing must send what is pending first)."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import pytest

from proactief_sim.simulator.testing import RunningSimulator

pytestmark = pytest.mark.integration


def _request(path: str, *, close: bool) -> bytes:
    return (f"GET {path} HTTP/1.1\r\nHost: sim\r\n" + ("Connection: close\r\n" if close else "") + "\r\n").encode()


def _read_response(sock: socket.socket, buf: bytes) -> tuple[bytes, bytes, bytes]:
    """One response (head, body) read by Content-Length; returns what is left over."""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        assert chunk, "connection closed before the response head"
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        assert chunk, "connection closed before the end of the body"
        rest += chunk
    return head, rest[:length], rest[length:]


def _connect(sim: RunningSimulator) -> socket.socket:
    u = urlsplit(sim.base_url)
    return socket.create_connection((u.hostname, u.port), timeout=10)


def test_keep_alive_connection_answers_every_request_in_full(sim: RunningSimulator) -> None:
    with _connect(sim) as s:
        left = b""
        for _ in range(3):
            s.sendall(_request("/_sim/health", close=False))
            head, body, left = _read_response(s, left)
            assert head.startswith(b"HTTP/1.1 200") and body.startswith(b"{") and body.endswith(b"}")
        assert left == b""


def test_connection_close_still_sends_the_whole_response_before_closing(sim: RunningSimulator) -> None:
    with _connect(sim) as s:
        s.sendall(_request("/_sim/health", close=True))
        head, body, left = _read_response(s, b"")
        assert head.startswith(b"HTTP/1.1 200") and body.endswith(b"}")
        assert left == b"" and s.recv(1) == b""  # then the server closes


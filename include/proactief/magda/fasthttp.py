"""A small HTTP/1.1 keep-alive client for the MAGDA hot path (SOAP POST, REST GET).

Why not only requests/urllib3: their per-call machinery (header objects, the e-mail header parser, response
wrappers) costs ~300 µs of CPU per call, five times the exchange itself, and the client must sustain
1,000 calls/s on two cores next to the simulator. This module does exactly what MAGDA needs and no more:
persistent connections per origin, TLS with server verification and a client certificate (mutual TLS),
connect/read timeouts, ``Content-Length``, chunked and close-delimited bodies, gzip/deflate, no redirects,
no proxies, no cookies. Every protocol anomaly raises; nothing is guessed.
"""

from __future__ import annotations

import select
import socket
import ssl
import threading
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = ["FastHttp", "HttpProtocolError", "TlsConfigurationError", "RawResponse"]

_MAX_HEAD = 64 * 1024
_MAX_BODY = 64 * 1024 * 1024
_RECV = 65536


class HttpProtocolError(OSError):
    """The peer broke HTTP/1.1 framing or closed the connection mid-answer (worth another attempt)."""


class TlsConfigurationError(OSError):
    """TLS failed for a reason retrying cannot fix: untrusted server, rejected or missing client certificate."""


class _StaleConnection(OSError):
    """A reused keep-alive connection was closed by the server before it answered (not processed)."""


@dataclass(frozen=True, slots=True)
class RawResponse:
    status: int
    headers: Mapping[str, str]
    """Lower-case names; repeated headers joined with ``, ``."""
    body: bytes


@dataclass(frozen=True, slots=True)
class _Origin:
    scheme: str
    host: str
    port: int
    host_header: str


def _is_tls_configuration(exc: ssl.SSLError) -> bool:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return True
    reason = (getattr(exc, "reason", None) or str(exc)).upper()
    return any(k in reason for k in ("CERTIFICATE", "UNKNOWN_CA", "HANDSHAKE_FAILURE", "WRONG_VERSION",
                                     "NO_SHARED_CIPHER", "UNSUPPORTED_PROTOCOL"))


class FastHttp:
    """Thread-safe; each connection is used by one thread at a time and pooled per origin (LIFO)."""

    def __init__(self, *, connect_timeout: float, read_timeout: float, max_idle_per_origin: int,
                 ssl_context: Callable[[], ssl.SSLContext] | None = None) -> None:
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.max_idle = max_idle_per_origin
        self._ssl_factory = ssl_context
        self._ssl: ssl.SSLContext | None = None
        self._idle: dict[_Origin, list[socket.socket]] = {}
        self._lock = threading.Lock()
        self._origins: dict[str, tuple[_Origin, str]] = {}
        self._closed = False

    # ------------------------------------------------------------------------------------------ public
    def request(self, method: str, url: str, body: bytes | None = None,
                headers: Mapping[str, str] | None = None) -> RawResponse:
        origin, target = self._split(url)
        head = [f"{method} {target} HTTP/1.1\r\nHost: {origin.host_header}\r\n"]
        for k, v in (headers or {}).items():
            head.append(f"{k}: {v}\r\n")
        if body is not None or method in ("POST", "PUT"):
            head.append(f"Content-Length: {len(body or b'')}\r\n")
        head.append("\r\n")
        payload = "".join(head).encode("latin-1") + (body or b"")
        sock, reused = self._checkout(origin)
        try:
            try:
                resp, keep = self._exchange(sock, payload, method, reused)
            except _StaleConnection:
                _close(sock)
                sock, reused = self._connect(origin), False  # the server never saw it: send once more
                resp, keep = self._exchange(sock, payload, method, reused)
        except BaseException:
            _close(sock)
            raise
        if keep:
            self._checkin(origin, sock)
        else:
            _close(sock)
        return resp

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, {}
        for socks in idle.values():
            for s in socks:
                _close(s)

    # ------------------------------------------------------------------------------------------ pool
    def _split(self, url: str) -> tuple[_Origin, str]:
        hit = self._origins.get(url)
        if hit is not None:
            return hit
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("expected an http(s) URL")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        default = (parts.scheme == "https" and port == 443) or (parts.scheme == "http" and port == 80)
        host = parts.hostname
        host_header = (f"[{host}]" if ":" in host else host) + ("" if default else f":{port}")
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        hit = (_Origin(parts.scheme, host, port, host_header), target)
        if len(self._origins) < 1024:  # URLs with query strings (REST) vary; keep the cache bounded
            self._origins[url] = hit
        return hit

    def _checkout(self, origin: _Origin) -> tuple[socket.socket, bool]:
        with self._lock:
            socks = self._idle.get(origin)
            while socks:
                s = socks.pop()
                if _still_open(s):
                    return s, True
                _close(s)
        return self._connect(origin), False

    def _checkin(self, origin: _Origin, sock: socket.socket) -> None:
        with self._lock:
            if not self._closed:
                socks = self._idle.setdefault(origin, [])
                if len(socks) < self.max_idle:
                    socks.append(sock)
                    return
        _close(sock)

    def _context(self) -> ssl.SSLContext:
        if self._ssl is None:
            if self._ssl_factory is None:
                self._ssl = ssl.create_default_context()
            else:
                self._ssl = self._ssl_factory()
        return self._ssl

    def _connect(self, origin: _Origin) -> socket.socket:
        sock = socket.create_connection((origin.host, origin.port), timeout=self.connect_timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if origin.scheme == "https":
                try:
                    sock = self._context().wrap_socket(sock, server_hostname=origin.host)
                except ssl.SSLError as exc:
                    if _is_tls_configuration(exc):
                        raise TlsConfigurationError(f"TLS handshake refused: {exc.reason or type(exc).__name__}") \
                            from None
                    raise
            sock.settimeout(self.read_timeout)
        except BaseException:
            _close(sock)
            raise
        return sock

    # ------------------------------------------------------------------------------------------ exchange
    def _exchange(self, sock: socket.socket, payload: bytes, method: str,
                  reused: bool) -> tuple[RawResponse, bool]:
        try:
            try:
                sock.sendall(payload)
            except (BrokenPipeError, ConnectionResetError, ssl.SSLEOFError) as exc:
                if reused:
                    raise _StaleConnection() from exc
                if isinstance(exc, ssl.SSLEOFError):  # see _read_response: a refused client certificate
                    raise TlsConfigurationError("TLS connection closed right after the handshake "
                                                "(client certificate refused?)") from None
                raise
            return _read_response(sock, method, reused)
        except ssl.SSLError as exc:
            if _is_tls_configuration(exc):  # TLS 1.3 reports a rejected client certificate on the first read
                raise TlsConfigurationError(f"TLS refused: {exc.reason or type(exc).__name__}") from None
            raise HttpProtocolError(f"TLS error ({type(exc).__name__})") from None


def _still_open(sock: socket.socket) -> bool:
    """An idle keep-alive socket is reusable when nothing is waiting to be read (no FIN, no stray data)."""
    try:
        if isinstance(sock, ssl.SSLSocket) and sock.pending():
            return False
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return False
    return not readable


def _close(sock: socket.socket) -> None:
    try:
        sock.close()
    except OSError:
        pass


def _read_response(sock: socket.socket, method: str, reused: bool) -> tuple[RawResponse, bool]:
    buf = bytearray()
    first = True
    while True:  # skip 1xx interim responses
        while True:
            idx = buf.find(b"\r\n\r\n")
            if idx >= 0:
                break
            if len(buf) > _MAX_HEAD:
                raise HttpProtocolError("response head too large")
            try:
                chunk = sock.recv(_RECV)
            except ConnectionResetError:
                if first and reused:
                    raise _StaleConnection() from None
                raise
            except ssl.SSLEOFError:
                if first and reused:
                    raise _StaleConnection() from None
                if first:
                    # A fresh TLS connection cut without a word right after the handshake: with TLS 1.3 this is
                    # how a server that refuses our client certificate often looks (the alert gets lost in the
                    # close). urllib3 reports it as an SSLError too; both are treated as configuration errors.
                    raise TlsConfigurationError("TLS connection closed right after the handshake "
                                                "(client certificate refused?)") from None
                raise
            if not chunk:
                if first and reused:
                    raise _StaleConnection()
                if first and isinstance(sock, ssl.SSLSocket):
                    # A fresh TLS connection closed before any answer: with TLS 1.3 a server that refuses our
                    # client certificate (or has none of ours in its trust store) often just closes. Retrying
                    # cannot help; say it loudly.
                    raise TlsConfigurationError("TLS connection closed before any answer "
                                                "(client certificate refused?)")
                raise HttpProtocolError("connection closed before the response head was complete")
            first = False
            buf += chunk
        head = bytes(buf[:idx])
        del buf[: idx + 4]
        lines = head.split(b"\r\n")
        try:
            version, code, *_ = lines[0].split(b" ", 2)
            status = int(code)
        except ValueError:
            raise HttpProtocolError("malformed status line") from None
        if not version.startswith(b"HTTP/1."):
            raise HttpProtocolError("not an HTTP/1.x response")
        if 100 <= status < 200:
            continue
        break
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep:
            raise HttpProtocolError("malformed header line")
        key = name.strip().lower().decode("latin-1")
        val = value.strip().decode("latin-1")
        headers[key] = f"{headers[key]}, {val}" if key in headers else val
    conn = headers.get("connection", "").lower()
    keep = (version == b"HTTP/1.1" and "close" not in conn) or (version == b"HTTP/1.0" and "keep-alive" in conn)
    if method == "HEAD" or status in (204, 304):
        body = b""
        if buf:
            keep = False
    elif "chunked" in headers.get("transfer-encoding", "").lower():
        body = _read_chunked(sock, buf)
        if buf:
            keep = False
    elif "content-length" in headers:
        try:
            n = int(headers["content-length"])
        except ValueError:
            raise HttpProtocolError("bad Content-Length") from None
        if n < 0 or n > _MAX_BODY:
            raise HttpProtocolError("Content-Length out of range")
        while len(buf) < n:
            chunk = sock.recv(max(_RECV, n - len(buf)))
            if not chunk:
                raise HttpProtocolError("connection closed before the body was complete")
            buf += chunk
        body = bytes(buf[:n])
        if len(buf) > n:
            keep = False  # bytes we did not ask for: do not trust this connection again
    else:  # delimited by the server closing the connection
        while True:
            chunk = sock.recv(_RECV)
            if not chunk:
                break
            buf += chunk
            if len(buf) > _MAX_BODY:
                raise HttpProtocolError("response body too large")
        body = bytes(buf)
        keep = False
    encoding = headers.get("content-encoding", "identity").lower()
    if encoding in ("gzip", "x-gzip", "deflate"):
        try:
            body = zlib.decompress(body, 47 if "gzip" in encoding else zlib.MAX_WBITS)
        except zlib.error:
            raise HttpProtocolError("undecodable response body") from None
    elif encoding not in ("identity", ""):
        raise HttpProtocolError(f"unsupported Content-Encoding {encoding}")
    return RawResponse(status, headers, body), keep


def _read_line(sock: socket.socket, buf: bytearray) -> bytes:
    while True:
        idx = buf.find(b"\r\n")
        if idx >= 0:
            line = bytes(buf[:idx])
            del buf[: idx + 2]
            return line
        if len(buf) > _MAX_HEAD:
            raise HttpProtocolError("chunk header too long")
        chunk = sock.recv(_RECV)
        if not chunk:
            raise HttpProtocolError("connection closed inside a chunked body")
        buf += chunk


def _read_chunked(sock: socket.socket, buf: bytearray) -> bytes:
    out = bytearray()
    while True:
        size_line = _read_line(sock, buf).split(b";", 1)[0].strip()
        try:
            size = int(size_line, 16)
        except ValueError:
            raise HttpProtocolError("bad chunk size") from None
        if size == 0:
            while _read_line(sock, buf):  # trailers, up to the empty line
                pass
            return bytes(out)
        while len(buf) < size + 2:
            chunk = sock.recv(_RECV)
            if not chunk:
                raise HttpProtocolError("connection closed inside a chunk")
            buf += chunk
        out += buf[:size]
        if buf[size:size + 2] != b"\r\n":
            raise HttpProtocolError("chunk not followed by CRLF")
        del buf[: size + 2]
        if len(out) > _MAX_BODY:
            raise HttpProtocolError("response body too large")

"""HTTP for the MAGDA hot path (SOAP POST, REST GET) on libcurl, through PycURL.

Why libcurl: the client must sustain 1,000 calls/s on two cores next to the simulator, and requests/urllib3
spend ~300 µs of CPU per call in their own machinery (~850 calls/s here). libcurl does the whole exchange in C:
keep-alive connections, TLS with server verification and a client certificate (mutual TLS), connect and
transfer timeouts, chunked bodies, gzip/deflate, with no redirects, no proxies and no cookies.

Each :class:`pycurl.Curl` handle (with its connection cache) is used by one thread at a time: handles are
checked out of a small LIFO pool and put back after the exchange, so a handle's connections stay warm and the
number of idle handles (and sockets) is bounded by ``max_connections``, however many threads come and go.

Failures are sorted as the transport expects: :class:`TlsConfigurationError` when retrying cannot help
(untrusted server, unreadable TLS material, client certificate missing or refused), :class:`TimeoutError`,
:class:`ConnectionError` and :class:`HttpProtocolError` (all :class:`OSError`) when another attempt may work,
:class:`ValueError` for a URL that is not http(s).
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from io import BytesIO
from urllib.parse import urlsplit

import pycurl

__all__ = ["CurlHttp", "HttpProtocolError", "TlsConfigurationError", "RawResponse"]

_MAX_BODY = 64 * 1024 * 1024


class HttpProtocolError(OSError):
    """The peer broke HTTP/1.1 framing or closed the connection mid-answer (worth another attempt)."""


class TlsConfigurationError(OSError):
    """TLS failed for a reason retrying cannot fix: untrusted server, rejected or missing client certificate."""


@dataclass(frozen=True, slots=True)
class RawResponse:
    status: int
    headers: Mapping[str, str]
    """Lower-case names; repeated headers joined with ``, ``."""
    body: bytes


# libcurl error codes (https://curl.se/libcurl/c/libcurl-errors.html) that retrying cannot fix: trust store,
# server certificate, client certificate/key, TLS set-up. 35 (SSL_CONNECT_ERROR) is a failed handshake: the
# server refused our certificate, or we share no protocol or cipher with it.
_TLS_CONFIGURATION = frozenset({
    35,  # CURLE_SSL_CONNECT_ERROR
    53, 54, 66,  # CURLE_SSL_ENGINE_NOTFOUND / SETFAILED / INITFAILED
    58,  # CURLE_SSL_CERTPROBLEM: our client certificate or key
    59,  # CURLE_SSL_CIPHER
    60,  # CURLE_PEER_FAILED_VERIFICATION: server certificate not trusted or wrong name
    64,  # CURLE_USE_SSL_FAILED
    77,  # CURLE_SSL_CACERT_BADFILE
    80,  # CURLE_SSL_SHUTDOWN_FAILED
    82,  # CURLE_SSL_CRL_BADFILE
    83,  # CURLE_SSL_ISSUER_ERROR
    90,  # CURLE_SSL_PINNEDPUBKEYNOTMATCH
    91,  # CURLE_SSL_INVALIDCERTSTATUS
    98,  # CURLE_SSL_CLIENTCERT: the server asked for a client certificate and got none it accepts
})
_TIMEOUT = 28  # CURLE_OPERATION_TIMEDOUT
_CONNECT = frozenset({5, 6, 7})  # could not resolve proxy / host, could not connect (refused, unreachable)
_EMPTY = 52  # CURLE_GOT_NOTHING
_SEND_RECV = frozenset({55, 56})  # CURLE_SEND_ERROR, CURLE_RECV_ERROR
_BAD_URL = 3  # CURLE_URL_MALFORMAT


class CurlHttp:
    """Thread-safe; every exchange runs on a pooled libcurl handle that no other thread touches meanwhile."""

    def __init__(self, *, connect_timeout: float, read_timeout: float, max_connections: int,
                 ca_bundle: str | None = None, verify: bool = True, client_cert: str | None = None,
                 client_key: str | None = None) -> None:
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.max_idle = max_connections
        self._connect_ms = max(1, int(connect_timeout * 1000))
        # libcurl has no "time between bytes" timeout below one second: read_timeout bounds the whole exchange.
        self._timeout_ms = max(1, int(read_timeout * 1000))
        self._verify = verify
        self._ca_bundle = ca_bundle
        self._client_cert = client_cert
        self._client_key = client_key
        if verify and not ca_bundle:
            # The system store, as the standard library sees it (a bundled libcurl may look elsewhere).
            paths = ssl.get_default_verify_paths()
            self._cainfo, self._capath = paths.cafile, paths.capath
        else:
            self._cainfo, self._capath = ca_bundle, None
        self._idle: list[pycurl.Curl] = []
        self._lock = threading.Lock()
        self._urls: dict[str, str] = {}
        self._closed = False

    # ------------------------------------------------------------------------------------------ public
    def request(self, method: str, url: str, body: bytes | None = None,
                headers: Mapping[str, str] | None = None) -> RawResponse:
        scheme = self._urls.get(url) or self._check_url(url)
        head = [f"{k}: {v}" for k, v in (headers or {}).items()]
        head.append("Expect:")  # no 100-continue round trip for bodies over 1 KiB
        out = BytesIO()
        hdr = BytesIO()
        c = self._checkout()
        try:
            c.setopt(pycurl.URL, url)
            c.setopt(pycurl.HTTPHEADER, head)
            c.setopt(pycurl.WRITEDATA, out)
            c.setopt(pycurl.WRITEHEADER, hdr)
            if method == "POST":
                c.setopt(pycurl.POSTFIELDS, body or b"")
                c.unsetopt(pycurl.CUSTOMREQUEST)
            elif method == "GET" and body is None:
                c.setopt(pycurl.HTTPGET, 1)
                c.unsetopt(pycurl.CUSTOMREQUEST)
            else:
                if body is not None:
                    c.setopt(pycurl.POSTFIELDS, body)
                else:
                    c.setopt(pycurl.HTTPGET, 1)
                c.setopt(pycurl.CUSTOMREQUEST, method)
            try:
                c.perform()
            except pycurl.error as exc:
                raise _classify(c, exc, scheme) from None
            status = c.getinfo(pycurl.RESPONSE_CODE)
        finally:
            # Drop references to this call's buffers and body; the handle (and its connections) is reused.
            c.setopt(pycurl.WRITEDATA, _DISCARD)
            c.setopt(pycurl.WRITEHEADER, _DISCARD)
            self._checkin(c)
        return RawResponse(status, _parse_headers(hdr.getvalue()), out.getvalue())

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for c in idle:
            c.close()

    # ------------------------------------------------------------------------------------------ handles
    def _check_url(self, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("expected an http(s) URL")
        if len(self._urls) < 1024:  # URLs with query strings (REST) vary; keep the cache bounded
            self._urls[url] = parts.scheme
        return parts.scheme

    def _checkout(self) -> pycurl.Curl:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return self._new_handle()

    def _checkin(self, c: pycurl.Curl) -> None:
        with self._lock:
            if not self._closed and len(self._idle) < self.max_idle:
                self._idle.append(c)
                return
        c.close()

    def _new_handle(self) -> pycurl.Curl:
        c = pycurl.Curl()
        c.setopt(pycurl.NOSIGNAL, 1)
        c.setopt(pycurl.PROTOCOLS, pycurl.PROTO_HTTP | pycurl.PROTO_HTTPS)
        c.setopt(pycurl.HTTP_VERSION, pycurl.CURL_HTTP_VERSION_1_1)
        c.setopt(pycurl.FOLLOWLOCATION, 0)
        c.setopt(pycurl.PROXY, "")
        c.setopt(pycurl.NOPROXY, "*")
        c.setopt(pycurl.CONNECTTIMEOUT_MS, self._connect_ms)
        c.setopt(pycurl.TIMEOUT_MS, self._timeout_ms)
        c.setopt(pycurl.ACCEPT_ENCODING, "gzip, deflate")
        c.setopt(pycurl.MAXFILESIZE_LARGE, _MAX_BODY)
        c.setopt(pycurl.MAXCONNECTS, 4)  # per handle: the SOAP host and the REST host, with room to spare
        c.setopt(pycurl.TCP_NODELAY, 1)
        if self._verify:
            c.setopt(pycurl.SSL_VERIFYPEER, 1)
            c.setopt(pycurl.SSL_VERIFYHOST, 2)
            if self._cainfo:
                c.setopt(pycurl.CAINFO, self._cainfo)
            if self._capath:
                c.setopt(pycurl.CAPATH, self._capath)
        else:
            c.setopt(pycurl.SSL_VERIFYPEER, 0)
            c.setopt(pycurl.SSL_VERIFYHOST, 0)
        if self._client_cert and self._client_key:
            c.setopt(pycurl.SSLCERT, self._client_cert)
            c.setopt(pycurl.SSLCERTTYPE, "PEM")
            c.setopt(pycurl.SSLKEY, self._client_key)
            c.setopt(pycurl.SSLKEYTYPE, "PEM")
        return c


class _Discard:
    @staticmethod
    def write(data: bytes) -> int:
        return len(data)


_DISCARD = _Discard()


def _classify(c: pycurl.Curl, exc: pycurl.error, scheme: str) -> OSError | ValueError:
    code = exc.args[0] if exc.args else -1
    message = str(exc.args[1]) if len(exc.args) > 1 else ""
    detail = f"curl error {code}: {message}" if message else f"curl error {code}"
    if code in _TLS_CONFIGURATION:
        if code == 35 and ("reset by peer" in message.lower() or "timed out" in message.lower()):
            return ConnectionError(detail)  # the handshake was cut off by the network, not refused
        return TlsConfigurationError(f"TLS handshake refused ({detail})")
    if code == _TIMEOUT:
        return TimeoutError(detail)
    if code in _SEND_RECV or code == _EMPTY:
        if scheme == "https" and _fresh_tls_without_answer(c):
            # With TLS 1.3 a server that refuses our client certificate (missing, or of a CA it does not trust)
            # decides after the handshake: libcurl then reads the alert ("56 ... alert certificate required",
            # "alert unknown ca") or, when the server's close wins the race, fails to send the request ("55 Send
            # failure: Connection reset by peer"). Retrying cannot help; say it loudly.
            return TlsConfigurationError(f"TLS connection closed right after the handshake, client certificate "
                                         f"refused? ({detail})")
        return ConnectionError(detail)
    if code == 7:
        return ConnectionRefusedError(detail)
    if code in _CONNECT:
        return ConnectionError(detail)
    if code == _BAD_URL:
        return ValueError("invalid URL")
    return HttpProtocolError(detail)  # weird reply, partial body, bad encoding, HTTP/0.9, ...


def _fresh_tls_without_answer(c: pycurl.Curl) -> bool:
    """The failed exchange ran on a connection made for it, whose TLS handshake completed, and got no answer."""
    try:
        return (c.getinfo(pycurl.NUM_CONNECTS) > 0 and c.getinfo(pycurl.APPCONNECT_TIME) > 0
                and c.getinfo(pycurl.HEADER_SIZE) == 0)
    except pycurl.error:
        return False


def _parse_headers(raw: bytes) -> dict[str, str]:
    """Headers of the final response: libcurl also hands over 1xx heads and chunked trailers."""
    start = raw.rfind(b"\r\nHTTP/")
    block = raw[start + 2:] if start >= 0 else raw
    headers: dict[str, str] = {}
    for line in block.split(b"\r\n")[1:]:
        if not line:
            break
        name, sep, value = line.partition(b":")
        if not sep:
            continue
        key = name.strip().lower().decode("latin-1")
        val = value.strip().decode("latin-1")
        headers[key] = f"{headers[key]}, {val}" if key in headers else val
    return headers

"""Serving: one process, one event loop, one shared state, an HTTP and (optionally) an HTTPS listener."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import ssl
import sys
from collections.abc import Iterator

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from proactief_sim.simulator.app import build_app
from proactief_sim.simulator.config import SimulatorConfig

__all__ = ["serve", "READY_PREFIX"]

READY_PREFIX = "MAGDA simulator ready"


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signal handling to :func:`serve` (two servers share one loop)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class _CoalescingTransport:
    """Sends what one event-loop step wrote as one ``write``: uvicorn writes a response's head and body
    separately, which on loopback costs two syscalls here and two wake-ups in the client for every answer
    (a third of the simulator's CPU under a whole-city run). Everything else goes to the real transport."""

    __slots__ = ("_transport", "_loop", "_pending")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._pending:
            self._loop.call_soon(self._flush)
        self._pending.append(data)

    def _flush(self) -> None:
        if self._pending:
            data = b"".join(self._pending) if len(self._pending) > 1 else self._pending[0]
            self._pending = []
            if not self._transport.is_closing():
                self._transport.write(data)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def __getattr__(self, name: str) -> object:
        return getattr(self._transport, name)


class _HttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with coalesced writes (see :class:`_CoalescingTransport`)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.transport = _CoalescingTransport(transport, self.loop)  # type: ignore[assignment]


def _uvicorn_config(app: object, config: SimulatorConfig, port: int, tls: bool) -> uvicorn.Config:
    kw: dict[str, object] = {}
    if tls:
        kw = {"ssl_certfile": str(config.cert_file), "ssl_keyfile": str(config.key_file)}
        if config.ca_file:
            kw["ssl_ca_certs"] = str(config.ca_file)
            kw["ssl_cert_reqs"] = ssl.CERT_REQUIRED if config.require_client_cert else ssl.CERT_OPTIONAL
    return uvicorn.Config(
        app,  # type: ignore[arg-type]
        host=config.host,
        port=port,
        loop="uvloop",
        http=_HttpProtocol,
        lifespan="off",
        access_log=False,
        proxy_headers=False,  # the client address is the socket's peer: the admin API trusts loopback, not headers
        log_level="warning",
        timeout_keep_alive=60,
        backlog=4096,
        **kw,  # type: ignore[arg-type]
    )


def _bound_port(server: uvicorn.Server) -> int:
    for s in server.servers:
        for sock in s.sockets:
            return int(sock.getsockname()[1])
    raise RuntimeError("server has no listening socket")


async def _serve(config: SimulatorConfig) -> None:
    app = build_app(config)
    servers = [_Server(_uvicorn_config(app, config, config.port, tls=False))]
    if config.tls_port is not None:
        servers.append(_Server(_uvicorn_config(app, config, config.tls_port, tls=True)))
    loop = asyncio.get_running_loop()

    def stop() -> None:
        for s in servers:
            s.should_exit = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)
    tasks = [asyncio.create_task(s.serve()) for s in servers]
    while not all(s.started for s in servers):
        if any(t.done() for t in tasks):  # a listener failed to start (port taken, bad certificate …)
            stop()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise SystemExit("MAGDA simulator failed to start")
        await asyncio.sleep(0.01)
    host = config.host
    urls = [f"http://{host}:{_bound_port(servers[0])}"]
    if len(servers) > 1:
        urls.append(f"https://{host}:{_bound_port(servers[1])}")
    health = app.sim.health()
    # One line, no personal data: what is served where.
    print(f"{READY_PREFIX} {' '.join(urls)} canned={health['canned_cases']} persons={health['persons']}"
          f" mtls={'on' if config.require_client_cert else 'off'}", flush=True)
    await asyncio.gather(*tasks)


def serve(config: SimulatorConfig) -> None:
    """Run the simulator until SIGINT/SIGTERM (blocking)."""
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:  # pragma: no cover - uvloop is a pinned dependency
        runner = asyncio.run
    try:
        runner(_serve(config))
    except KeyboardInterrupt:  # pragma: no cover
        sys.exit(130)

"""The local servers the channel tests talk to: a real SMTP server (aiosmtpd) and the eBox stand-in (uvicorn)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.notify.notices import free_port
from tests.notify.servers import SmtpSink, serve

# ---------------------------------------------------------------- SMTP (aiosmtpd)


@pytest.fixture
def smtp_server() -> Iterator[tuple[str, int, SmtpSink]]:
    from aiosmtpd.controller import Controller

    sink = SmtpSink(refuse={"weg@": "550 5.1.1 <weg@example.org>: Recipient address rejected",
                            "later@": "451 4.3.0 Try again later"})
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield "127.0.0.1", port, sink
    finally:
        controller.stop()


# ---------------------------------------------------------------- eBox stand-in (uvicorn in a thread)


@pytest.fixture(scope="module")
def ebox_server() -> Iterator[tuple[str, object]]:
    """The stand-in mounted under ``/ebox`` (as the demo mounts it), served by uvicorn on a free loopback port."""
    from fastapi import FastAPI

    from proactief_sim.standins.ebox import EboxState, create_app

    state = EboxState()
    parent = FastAPI()
    parent.mount("/ebox", create_app(state))
    with serve(parent) as base_url:
        yield f"{base_url}/ebox", state


@pytest.fixture
def ebox(ebox_server):
    base_url, state = ebox_server
    state.reset()
    return base_url, state

"""Local MAGDA simulator: SOAP server answering like the MAGDA platform, from canned MAGDA-Mock cases and a
synthetic population store, with a stateful repertorium, mutation queue and LEZ register, and fault injection.

Public API: :class:`SimulatorConfig`, :func:`build_app` (ASGI), :func:`serve` (blocking), the
:mod:`proactief.simulator.testing` helpers, :mod:`proactief.simulator.population` (the store interface) and
:func:`proactief.simulator.pki.make_test_pki`.
"""

from proactief.simulator.app import build_app
from proactief.simulator.config import SimulatorConfig
from proactief.simulator.server import serve

__all__ = ["SimulatorConfig", "build_app", "serve"]

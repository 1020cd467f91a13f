"""Local MAGDA simulator: SOAP server answering like the MAGDA platform, from canned MAGDA-Mock cases and a
synthetic population store, with a stateful repertorium, mutation queue and LEZ register, and fault injection.

Public API: :class:`SimulatorConfig`, :func:`build_app` (ASGI), :func:`serve` (blocking), the
:mod:`proactief_sim.simulator.testing` helpers, :mod:`proactief_sim.simulator.population` (the store interface) and
:func:`proactief_sim.simulator.pki.make_test_pki`.
"""

from proactief_sim.simulator.app import build_app
from proactief_sim.simulator.config import SimulatorConfig
from proactief_sim.simulator.server import serve

__all__ = ["SimulatorConfig", "build_app", "serve"]

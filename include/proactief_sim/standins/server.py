"""One ASGI app with every downstream stand-in mounted under its own prefix."""

from __future__ import annotations

from typing import Any

__all__ = ["build_app"]


def build_app(*, uitpas_client_id: str = "proactief-gent", uitpas_client_secret: str = "standin-secret",  # noqa: S107
              auto_passholders: bool = False, passholder_share: float = 0.0) -> Any:
    """UiTPAS at ``/uitpas``, eBox at ``/ebox``, and ``GET /health``. By default nobody has a UiTPAS unless
    seeded; ``passholder_share`` gives a deterministic part of the people one (``auto_passholders``: everybody)."""
    from fastapi import FastAPI

    from proactief_sim.standins import ebox, uitpas

    app = FastAPI(title="Proactief Gent – downstream stand-ins")

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    app.mount("/uitpas", uitpas.create_app(uitpas.UitpasState(
        client_id=uitpas_client_id, client_secret=uitpas_client_secret, auto_passholders=auto_passholders,
        passholder_share=passholder_share)))
    app.mount("/ebox", ebox.create_app())
    return app

"""The scheme owners' dashboard in the Airflow UI: *Regelingen* in the navigation, the page at /proactief.

Thin on purpose: every Airflow process imports plugin files, so this one imports nothing but
``airflow.plugins_manager``; the FastAPI app (``proactief_airflow.dashboard``) is imported on the first request
to /proactief, in the api-server only.
"""

from __future__ import annotations

from typing import Any

from airflow.plugins_manager import AirflowPlugin


class LazyDashboardApp:
    """ASGI app that imports the real one on its first request (the api-server mounts this at /proactief)."""

    def __init__(self) -> None:
        self._app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self._app is None:
            from proactief_airflow.dashboard import app

            self._app = app
        await self._app(scope, receive, send)


class ProactiefDashboardPlugin(AirflowPlugin):
    """Registers the dashboard app and its navigation entry (shown in an iframe at /plugin/proactief)."""

    name = "proactief_dashboard"
    fastapi_apps = [{"app": LazyDashboardApp(), "url_prefix": "/proactief", "name": "Proactief"}]
    external_views = [{
        "name": "Regelingen",
        "href": "proactief/dashboard",  # relative to the UI's base URL
        "destination": "nav",
        "url_route": "proactief",
    }]

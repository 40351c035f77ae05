"""Airflow UI plugin: an "Integrations" page listing every sync like the original product did.

Mounted as a FastAPI app at /integrations (HTML) and /integrations/api (JSON), shown in the UI's
Browse menu through an external view. Both routes require an authenticated Airflow user.
"""

from __future__ import annotations

from typing import Any

from airflow.plugins_manager import AirflowPlugin
from fastapi import Depends, FastAPI
from fastapi.responses import HTMLResponse


def _require_user() -> Any:
    from airflow.api_fastapi.core_api.security import get_user

    return Depends(get_user)


def create_app() -> FastAPI:
    app = FastAPI(title="WalkMe sync integrations", dependencies=[_require_user()])

    @app.get("/", response_class=HTMLResponse)
    def integrations_page() -> str:
        from include.walkme_sync.airflow.overview import integration_rows, render_html

        return render_html(integration_rows())

    @app.get("/api")
    def integrations_json() -> list[dict[str, Any]]:
        from include.walkme_sync.airflow.overview import integration_rows, rows_as_json

        return rows_as_json(integration_rows())

    return app


class WalkMeSyncPlugin(AirflowPlugin):
    name = "walkme_sync"
    fastapi_apps = [{"app": create_app(), "url_prefix": "/integrations", "name": "Integrations"}]
    external_views = [
        {
            "name": "Integrations",
            "href": "/integrations/",
            "destination": "nav",
            "category": "browse",
            "url_route": "integrations",
        }
    ]

"""Airflow UI plugin: "Salesforce Connect", the original product's "+ Add account" (admins only).

Mounted as a FastAPI app at /salesforce-connect and listed under Admin. Every route requires a user
allowed to edit connections (the auth manager's connection PUT permission). Connect redirects to
Salesforce's consent page; Salesforce returns to /salesforce-connect/callback, whose full URL must
be a callback URL of the External Client App. The logic is in
include/walkme_sync/airflow/connect_page.py.
"""

from __future__ import annotations

from typing import Any

from airflow.plugins_manager import AirflowPlugin
from fastapi import Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

PREFIX = "/salesforce-connect"


def _require_connection_editor() -> Any:
    from airflow.api_fastapi.core_api.security import requires_access_connection

    return Depends(requires_access_connection(method="PUT"))


def create_app() -> FastAPI:
    from include.walkme_sync.airflow.connect_page import PendingAuthorizations

    app = FastAPI(title="Salesforce Connect", dependencies=[_require_connection_editor()])
    pending = PendingAuthorizations()

    def show(request: Request, message: str = "", error: bool = False) -> HTMLResponse:
        from include.walkme_sync.airflow.connect_page import environment_statuses, page

        callback_url = str(request.url_for("callback"))
        return HTMLResponse(page(environment_statuses(), message, error, callback_url))

    @app.get("/", response_class=HTMLResponse)
    def connect_page(request: Request) -> HTMLResponse:
        return show(request)

    @app.post("/connect", response_model=None)
    def start(
        request: Request,
        environment: str = Form(...),
        consumer_key: str = Form(...),
        consumer_secret: str = Form(""),
        login_url: str = Form(""),
    ) -> HTMLResponse | RedirectResponse:
        from include.walkme_sync.errors import SyncError
        from include.walkme_sync.salesforce import connect

        try:
            settings = connect.settings_for(
                environment,
                consumer_key=consumer_key.strip() or None,
                consumer_secret=consumer_secret or None,
                login_url=login_url.strip() or None,
            )
        except SyncError as exc:
            return show(request, str(exc), error=True)
        authorization = connect.begin(settings, str(request.url_for("callback")))
        pending.add(authorization)
        return RedirectResponse(authorization.url, status_code=303)

    @app.get("/callback", response_class=HTMLResponse)
    def callback(request: Request) -> HTMLResponse:
        from include.walkme_sync.errors import SyncError
        from include.walkme_sync.salesforce import connect

        params = dict(request.query_params)
        authorization = pending.take(params.get("state", ""))
        if authorization is None:
            return show(request, "This authorization is unknown or expired: connect again.", True)
        try:
            result = connect.complete(authorization, params)
        except SyncError as exc:
            return show(request, str(exc), error=True)
        if result.stored_in is connect.StoredIn.PROCESS_ONLY:
            return show(
                request,
                f"Salesforce authorized the {result.environment} org, but connection "
                f"'{result.conn_id}' is defined outside Airflow's database (environment variable "
                "or secrets backend), so it was not stored: run `make connect` where that "
                "definition lives, or remove it there first.",
                error=True,
            )
        return show(
            request,
            f"Connected the {result.environment} org at {result.instance_url}; stored in "
            f"connection '{result.conn_id}'.",
        )

    @app.post("/disconnect", response_class=HTMLResponse)
    def disconnect(request: Request, environment: str = Form(...)) -> HTMLResponse:
        from include.walkme_sync.errors import SyncError
        from include.walkme_sync.salesforce import connect

        conn_id = connect.default_conn_id(environment)
        try:
            result = connect.disconnect(conn_id)
        except SyncError as exc:
            return show(request, str(exc), error=True)
        if result.stored_in is None:
            return show(request, f"Connection '{conn_id}' holds no refresh token: nothing to do.")
        said = "revoked the token" if result.revoked else "no longer knew the token"
        return show(request, f"Salesforce {said}; it was removed from connection '{conn_id}'.")

    @app.post("/test", response_class=HTMLResponse)
    def test_connection(request: Request, environment: str = Form(...)) -> HTMLResponse:
        from include.walkme_sync.config import load_integrations
        from include.walkme_sync.errors import SyncError
        from include.walkme_sync.salesforce import org_check
        from include.walkme_sync.salesforce.client import connect as open_session
        from include.walkme_sync.salesforce.connect import default_conn_id

        conn_id = default_conn_id(environment)
        integrations = [c for c in load_integrations().integrations if c.conn_id == conn_id]
        try:
            report = org_check.check_connection(open_session(conn_id), integrations)
        except SyncError as exc:
            return show(request, str(exc), error=True)
        return show(request, org_check.render(report), error=not report.ok)

    return app


class SalesforceConnectPlugin(AirflowPlugin):
    name = "walkme_salesforce_connect"
    fastapi_apps = [{"app": create_app(), "url_prefix": PREFIX, "name": "Salesforce Connect"}]
    external_views = [
        {
            "name": "Salesforce Connect",
            "href": f"{PREFIX}/",
            "destination": "nav",
            "category": "admin",
            "url_route": "salesforce-connect",
        }
    ]

"""Reaching Airflow's own REST API from a task: the base URL and a bearer token.

Both the run notes and the rotated-token store call the API with the `walkme_airflow_api`
connection; this is the one place that reads that connection's host and credentials.
"""

from __future__ import annotations

from typing import Any

TIMEOUT_SECONDS = 10


def api_base_url(connection: Any) -> str:
    """`host` may be a full URL with a path (deployments behind a proxy); else scheme://host:port."""
    host = str(connection.host or "").rstrip("/")
    if "://" in host:
        return host
    scheme = connection.schema or "http"
    port = f":{connection.port}" if connection.port else ""
    return f"{scheme}://{host}{port}"


def api_access_token(base: str, connection: Any) -> str:
    """A stored API token as it is, or a token from Airflow's `/auth/token` for a user login."""
    import requests

    stored = connection.extra_dejson.get("token") or (
        connection.password if not connection.login else None
    )
    if stored:
        return str(stored)
    response = requests.post(
        f"{base}/auth/token",
        json={"username": connection.login, "password": connection.password},
        timeout=TIMEOUT_SECONDS,
    )
    response.raise_for_status()
    return str(response.json()["access_token"])

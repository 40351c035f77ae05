"""The "Salesforce Connect" admin page (plugins/salesforce_connect_plugin.py) against the emulator.

The plugin's FastAPI app runs in a test client. Airflow's own permission check is replaced by an
always-allowed one (it needs a running API server's auth manager); everything else is real: the
redirect to Salesforce's consent page, the callback, the connection in the metadata database,
the test-connection report and the revocation.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from tests.integration.test_salesforce_connect import _FormParser, assert_no_secret, issued_secrets

pytestmark = pytest.mark.slow
CONN_ID = "salesforce_sandbox"


@pytest.fixture
def page(
    sf_emulator: Any, airflow_db: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    from airflow.models.connection import Connection
    from airflow.utils.session import create_session
    from sqlalchemy import delete

    from plugins.salesforce_connect_plugin import create_app

    # What the API server sets for itself: connections are looked up in the metadata database.
    monkeypatch.setenv("_AIRFLOW_PROCESS_CONTEXT", "server")
    monkeypatch.delenv("AIRFLOW_CONN_SALESFORCE_SANDBOX", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_SALESFORCE_PRODUCTION", raising=False)
    with create_session() as session:  # a connection that only routes to the local Salesforce
        session.execute(delete(Connection).where(Connection.conn_id == CONN_ID))
        row = Connection(conn_id=CONN_ID, conn_type="salesforce")
        row.set_extra(json.dumps({"proxies": {"https": sf_emulator.proxy_url}}))
        session.add(row)
    app = create_app()
    for dependency in app.router.dependencies:
        app.dependency_overrides[dependency.dependency] = lambda: None
    try:
        yield TestClient(app)
    finally:
        with create_session() as session:
            session.execute(delete(Connection).where(Connection.conn_id == CONN_ID))


def test_connect_test_and_disconnect_from_the_page(page: TestClient, sf_emulator: Any) -> None:
    import requests

    sf_emulator.register_callback_url("http://testserver/callback")  # the app's callback URL
    front = page.get("/").text
    assert "Sandbox (connection <code>salesforce_sandbox</code>)" in front
    assert "<code>http://testserver/callback</code>" in front  # what to register in the app
    credentials = sf_emulator.org("sandbox").credentials
    started = page.post(
        "/connect",
        data={"environment": "sandbox", "consumer_key": credentials["client_id"]},
        follow_redirects=False,
    )
    assert started.status_code == 303
    authorize = started.headers["Location"]
    assert authorize.startswith("https://test.salesforce.com/services/oauth2/authorize?")
    assert parse_qs(urlsplit(authorize).query)["redirect_uri"] == ["http://testserver/callback"]

    browser = requests.Session()
    browser.proxies = {"https": sf_emulator.proxy_url}
    form = _FormParser()
    form.feed(browser.get(authorize, timeout=30).text)
    answer = browser.post(
        "https://test.salesforce.com" + form.action,
        data={**form.fields, "username": credentials["username"],
              "password": credentials["password"], "decision": "approve"},
        allow_redirects=False,
        timeout=30,
    )  # fmt: skip
    callback = urlsplit(answer.headers["Location"])
    done = page.get(f"{callback.path}?{callback.query}")
    assert (
        "Connected the sandbox org at https://walkme-demo--uat.sandbox.my.salesforce.com"
        in done.text
    )
    assert "refresh token (connected)" in done.text

    tested = page.post("/test", data={"environment": "sandbox"})
    assert "WalkMe Demo (UAT) (sandbox, Enterprise Edition)" in tested.text
    replayed = page.get(f"{callback.path}?{callback.query}")  # a callback is used once
    assert "unknown or expired" in replayed.text

    gone = page.post("/disconnect", data={"environment": "sandbox"})
    assert "Salesforce revoked the token" in gone.text
    assert "disconnected (consumer key kept)" in gone.text
    assert not sf_emulator.core.auth.tokens.refresh
    assert_no_secret(done.text + tested.text + gone.text, issued_secrets(sf_emulator))

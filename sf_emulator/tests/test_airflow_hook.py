"""Airflow's SalesforceHook and SalesforceBulkOperator against the emulator.

Connections come from ``AIRFLOW_CONN_<ID>`` JSON exactly as a user configures them for a real org,
plus the ``proxies`` extra that routes the client's real host names to the emulator.
"""

from __future__ import annotations

from typing import Any

import pytest

LEADS = [
    {"LastName": "Doe", "Company": "Acme", "Email": "jane@acme.example"},
    {"LastName": "Roe", "Company": "Acme", "Email": "rick@acme.example"},
]


@pytest.fixture
def connect(sf_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Register an Airflow connection for an org/auth pair and return a fresh hook on it."""
    from airflow.providers.salesforce.hooks.salesforce import SalesforceHook

    def hook(org: str, auth: str = "password", **hook_kwargs: Any) -> SalesforceHook:
        conn_id = f"salesforce_{org}_{auth}"
        monkeypatch.setenv(
            f"AIRFLOW_CONN_{conn_id.upper()}", sf_emulator.airflow_connection_json(org, auth)
        )
        return SalesforceHook(salesforce_conn_id=conn_id, **hook_kwargs)

    return hook


def test_connection_looks_like_a_real_org_connection(sf_emulator: Any) -> None:
    connection = sf_emulator.airflow_connection("sandbox")
    assert connection["conn_type"] == "salesforce"
    assert connection["extra"]["domain"] == "test"
    assert connection["extra"]["proxies"] == {"https": sf_emulator.proxy_url}
    assert "instance_url" not in connection["extra"]
    assert "domain" not in sf_emulator.airflow_connection("production")["extra"]


def test_hook_password_login_keeps_orgs_apart(sf_emulator: Any, connect: Any) -> None:
    sf_emulator.org("sandbox").data.load_records("Lead", LEADS)
    sandbox = connect("sandbox")
    production = connect("production")
    assert len(sandbox.make_query("SELECT Id, Email FROM Lead")["records"]) == 2
    assert production.make_query("SELECT Id FROM Lead")["records"] == []
    assert "WalkMe_User_Id__c" in sandbox.get_available_fields("Lead")
    assert sandbox.conn.sf_instance == "walkme-demo--uat.sandbox.my.salesforce.com"


@pytest.mark.parametrize("auth", ["oauth_password", "jwt", "client_credentials"])
def test_hook_with_connected_app_flows(sf_emulator: Any, connect: Any, auth: str) -> None:
    sf_emulator.org("production").data.load_records("Lead", LEADS)
    hook = connect("production", auth)
    assert len(hook.make_query("SELECT Id FROM Lead")["records"]) == 2
    assert hook.conn.sf_instance == "walkme-demo.my.salesforce.com"


def test_hook_with_a_direct_session(sf_emulator: Any, connect: Any) -> None:
    hook = connect("sandbox", "session", session_id=sf_emulator.issue_session("sandbox"))
    assert hook.describe_object("Lead")["name"] == "Lead"
    assert hook.conn.sf_instance == f"127.0.0.1:{sf_emulator.port}"


def test_bulk_operator_update(sf_emulator: Any, connect: Any) -> None:
    from airflow.providers.salesforce.operators.bulk import SalesforceBulkOperator

    ids = sf_emulator.org("sandbox").data.load_records("Lead", LEADS)
    connect("sandbox")  # registers AIRFLOW_CONN_SALESFORCE_SANDBOX_PASSWORD
    update_leads = SalesforceBulkOperator(
        task_id="update_leads",
        operation="update",
        object_name="Lead",
        payload=[{"Id": ids[0], "Title": "VP"}, {"Id": ids[1], "LastName": "x" * 500}],
        salesforce_conn_id="salesforce_sandbox_password",
    )
    results = update_leads.execute(context={})  # type: ignore[arg-type]
    assert [result["success"] for result in results] == [True, False]
    assert results[1]["errors"][0]["statusCode"] == "STRING_TOO_LONG"
    titles = {r["Id"]: r["Title"] for r in sf_emulator.org("sandbox").data.records("Lead")}
    assert titles[ids[0]] == "VP"
    assert sf_emulator.org("sandbox").api_calls("bulk1") == 5


def test_bulk_operator_retries_locked_rows(sf_emulator: Any, connect: Any) -> None:
    from airflow.providers.salesforce.operators.bulk import SalesforceBulkOperator

    ids = sf_emulator.org("sandbox").data.load_records("Lead", LEADS)
    sf_emulator.faults.lock_records("sandbox", ids[:1], times=1)
    connect("sandbox")
    update_leads = SalesforceBulkOperator(
        task_id="update_leads",
        operation="update",
        object_name="Lead",
        payload=[{"Id": i, "Title": "VP"} for i in ids],
        salesforce_conn_id="salesforce_sandbox_password",
        max_retries=1,
        bulk_retry_delay=0,
    )
    results = update_leads.execute(context={})  # type: ignore[arg-type]
    assert all(result["success"] for result in results)

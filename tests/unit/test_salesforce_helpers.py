"""Pure helpers of the Salesforce layer: error translation, API-call metering, quota, Bulk CSV."""

from __future__ import annotations

import csv
import io

import pytest
import requests
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from include.walkme_sync.errors import (
    AuthorizationError,
    ConfigurationError,
    QuotaError,
    SyncError,
    TransientError,
)
from include.walkme_sync.records import RecordChange
from include.walkme_sync.salesforce.bulk import bulk_csv, parse_bulk_error
from include.walkme_sync.salesforce.client import ApiMeter, classify_request
from include.walkme_sync.salesforce.errors import redact, translate
from include.walkme_sync.salesforce.quota import ApiBudget

URL = "https://acme.my.salesforce.com/services/data/v59.0/"
SESSION_ID = "00D5g000004ABCD!AQ0AQFakeSessionTokenValue.abc"


def test_login_failure_becomes_authorization_error_naming_the_connection() -> None:
    exc = SalesforceAuthenticationFailed("INVALID_LOGIN", "Invalid username, password, token")
    error = translate(exc, conn_id="salesforce_sandbox")
    assert isinstance(error, AuthorizationError)
    text = str(error)
    assert "salesforce_sandbox" in text and "revoked or has expired" in text
    assert "update the Airflow connection" in text


def test_expired_session_and_invalid_grant() -> None:
    expired = SalesforceExpiredSession(
        URL, 401, "query", [{"errorCode": "INVALID_SESSION_ID", "message": "Session expired"}]
    )
    assert isinstance(translate(expired, conn_id="c"), AuthorizationError)
    grant = SalesforceAuthenticationFailed("invalid_grant", "expired access/refresh token")
    assert isinstance(translate(grant, conn_id="c"), AuthorizationError)


def test_quota_transient_configuration_and_other() -> None:
    limit = SalesforceRefusedRequest(
        URL, 403, "query", [{"errorCode": "REQUEST_LIMIT_EXCEEDED", "message": "TotalRequests"}]
    )
    assert isinstance(translate(limit, conn_id="c"), QuotaError)
    unavailable = SalesforceGeneralError(URL, 503, "composite", "Service Unavailable")
    assert isinstance(translate(unavailable, conn_id="c"), TransientError)
    assert isinstance(translate(requests.ConnectionError("reset"), conn_id="c"), TransientError)
    assert isinstance(translate(requests.Timeout("slow"), conn_id="c"), TransientError)
    missing = SalesforceResourceNotFound(
        URL, 404, "Nope__c", [{"errorCode": "NOT_FOUND", "message": "The requested resource"}]
    )
    assert isinstance(translate(missing, conn_id="c", object_name="Nope__c"), ConfigurationError)
    bad_field = SalesforceMalformedRequest(
        URL, 400, "query", [{"errorCode": "INVALID_FIELD", "message": "No such column 'X__c'"}]
    )
    assert isinstance(translate(bad_field, conn_id="c"), ConfigurationError)
    other = SalesforceMalformedRequest(
        URL, 400, "x", [{"errorCode": "JSON_PARSER_ERROR", "message": "Unexpected token"}]
    )
    error = translate(other, conn_id="c")
    assert type(error) is SyncError and "JSON_PARSER_ERROR" in str(error)


def test_secrets_never_reach_messages() -> None:
    exc = SalesforceMalformedRequest(
        URL, 400, "x", [{"errorCode": "X", "message": f"bad session {SESSION_ID} password=hunter2"}]
    )
    text = str(translate(exc, conn_id="c"))
    assert SESSION_ID not in text and "hunter2" not in text
    assert "Bearer [redacted]" in redact(f"Authorization: Bearer {SESSION_ID}")


@pytest.mark.parametrize(
    ("method", "path", "kind"),
    [
        ("GET", "query/?q=SELECT", "query"),
        ("GET", "query/01gD0000002HU6KIAW-2000", "query"),
        ("GET", "sobjects/Lead/describe", "describe"),
        ("GET", "sobjects", "describe"),
        ("PATCH", "composite/sobjects", "composite"),
        ("POST", "jobs/ingest", "bulk2"),
        ("GET", "jobs/query/750x/results", "bulk2"),
        ("PATCH", "sobjects/Lead/00Q1", "rest"),
    ],
)
def test_classify_request(method: str, path: str, kind: str) -> None:
    assert classify_request(method, URL + path) == kind


def test_meter_reads_limit_info_and_budget_stops_before_the_ceiling() -> None:
    meter = ApiMeter()
    meter.record("GET", URL + "query/?q=x", {"Sforce-Limit-Info": "api-usage=850/1000"})
    meter.record("POST", "https://login.salesforce.com/services/Soap/u/59.0", {})
    assert (meter.calls, meter.daily_used, meter.daily_limit) == (1, 850, 1000)
    assert meter.calls_by_kind["login"] == 1
    budget = ApiBudget(meter, max_calls=None, max_daily_usage=0.9)
    assert budget.remaining() == 50
    budget.reserve(50, "a batch")
    with pytest.raises(QuotaError, match="90%"):
        budget.reserve(51, "a batch")
    run_budget = ApiBudget(meter, max_calls=2, max_daily_usage=1.0)
    meter.record("GET", URL + "query/?q=x", {})
    with pytest.raises(QuotaError, match="budget of 2"):
        run_budget.reserve(2, "a job")


def test_bulk_csv_union_of_columns_clear_and_unchanged() -> None:
    text = bulk_csv(
        [
            RecordChange("00Q000000000001AAA", 1, {"B__c": 1.5, "A__c": None}),
            RecordChange("00Q000000000002AAA", 2, {"C__c": 'say "hi", ok', "D__c": True}),
            RecordChange("00Q000000000003AAA", 3, {"B__c": 0.00001}),
        ]
    )
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["Id", "A__c", "B__c", "C__c", "D__c"]
    assert rows[1] == ["00Q000000000001AAA", "#N/A", "1.5", "", ""]
    assert rows[2] == ["00Q000000000002AAA", "", "", 'say "hi", ok', "true"]
    assert rows[3][2] == "0.00001"


def test_parse_bulk_error() -> None:
    assert parse_bulk_error("UNABLE_TO_LOCK_ROW:unable to obtain exclusive access:--") == (
        "UNABLE_TO_LOCK_ROW",
        "unable to obtain exclusive access:--",
    )
    error = "STRING_TOO_LONG:Name: data value too large: x (max length=5):Name --"
    assert parse_bulk_error(error)[0] == "STRING_TOO_LONG"
    assert parse_bulk_error("something odd") == ("BULK_RECORD_ERROR", "something odd")

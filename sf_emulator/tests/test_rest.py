"""REST API surface through the unmodified simple-salesforce client."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

LEAD = {"LastName": "Doe", "Company": "Acme", "Email": "jane.doe@acme.example"}
BATCH_500 = {"Sforce-Query-Options": "batchSize=500"}


def leads(count: int, start: int = 0) -> list[dict[str, Any]]:
    return [
        {"LastName": f"Person {n}", "Company": "Acme", "Email": f"person{n}@acme.example"}
        for n in range(start, start + count)
    ]


def test_versions_resources_and_limits(sf_emulator: Any, direct: Salesforce) -> None:
    versions = requests.get(f"{sf_emulator.instance_url}/services/data/", timeout=10).json()
    assert {"label": "Winter '24", "url": "/services/data/v59.0", "version": "59.0"} in versions
    assert "sobjects" in direct.restful("")
    limits = direct.limits()
    assert limits["DailyApiRequests"]["Max"] == sf_emulator.org("sandbox").daily_limit
    assert limits["DailyApiRequests"]["Remaining"] == limits["DailyApiRequests"]["Max"] - 2


def test_global_and_object_describe(sandbox: Salesforce) -> None:
    described = sandbox.describe()
    names = {entry["name"] for entry in described["sobjects"]}
    assert {"Lead", "Contact", "Account"} <= names
    lead = sandbox.Lead.describe()
    assert {"name", "fields", "keyPrefix", "createable", "updateable", "urls"} <= set(lead)
    email = next(field for field in lead["fields"] if field["name"] == "Email")
    assert {"type", "length", "updateable", "nillable", "filterable", "idLookup"} <= set(email)
    assert sandbox.Lead.metadata()["objectDescribe"]["name"] == "Lead"
    with pytest.raises(SalesforceResourceNotFound):
        sandbox.Nope__c.describe()


def test_query_pages_follow_next_records_url_with_batch_size(
    sf_emulator: Any, sandbox: Salesforce
) -> None:
    sf_emulator.org("sandbox").data.load_records("Lead", leads(1234))
    first = sandbox.query("SELECT Id, Email FROM Lead", headers=BATCH_500)
    assert first["totalSize"] == 1234
    assert len(first["records"]) == 500
    assert first["done"] is False
    assert first["nextRecordsUrl"].startswith("/services/data/v59.0/query/01g")
    assert first["nextRecordsUrl"].endswith("-500")
    seen = [record["Id"] for record in first["records"]]
    page = first
    while not page["done"]:
        page = sandbox.query_more(page["nextRecordsUrl"], identifier_is_url=True, headers=BATCH_500)
        seen += [record["Id"] for record in page["records"]]
    assert len(seen) == len(set(seen)) == 1234
    assert sandbox.query_all("SELECT Id FROM Lead")["totalSize"] == 1234


def test_default_page_size_is_2000(sf_emulator: Any, sandbox: Salesforce) -> None:
    sf_emulator.org("sandbox").data.load_records("Lead", leads(2500))
    page = sandbox.query("SELECT Id FROM Lead")
    assert len(page["records"]) == 2000


def test_query_all_includes_deleted_records(sf_emulator: Any, sandbox: Salesforce) -> None:
    (record_id,) = sf_emulator.org("sandbox").data.load_records("Lead", leads(1))
    sandbox.Lead.delete(record_id)
    assert sandbox.query("SELECT Id FROM Lead")["totalSize"] == 0
    assert sandbox.query("SELECT Id FROM Lead", include_deleted=True)["totalSize"] == 1


def test_uri_over_16k_is_414(sandbox: Salesforce) -> None:
    emails = ",".join(f"'person{n}@acme.example'" for n in range(700))
    with pytest.raises(SalesforceGeneralError) as failure:
        sandbox.query(f"SELECT Id FROM Lead WHERE Email IN ({emails})")
    assert failure.value.status == 414


def test_headers_over_16k_are_431(sandbox: Salesforce) -> None:
    with pytest.raises(SalesforceGeneralError) as failure:
        sandbox.query("SELECT Id FROM Lead", headers={"X-Padding": "x" * 17000})
    assert failure.value.status == 431


def test_malformed_query_and_invalid_field(sandbox: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as malformed:
        sandbox.query("SELEKT Id FROM Lead")
    assert malformed.value.content[0]["errorCode"] == "MALFORMED_QUERY"
    with pytest.raises(SalesforceMalformedRequest) as invalid:
        sandbox.query("SELECT Nope__c FROM Lead")
    assert invalid.value.content[0]["errorCode"] == "INVALID_FIELD"


def test_create_get_update_delete(sandbox: Salesforce) -> None:
    created = sandbox.Lead.create(LEAD)
    assert created["success"] is True
    record_id = created["id"]
    assert sandbox.Lead.get(record_id)["Email"] == LEAD["Email"]
    assert sandbox.Lead.update(record_id, {"Title": "CTO"}) == 204
    assert sandbox.Lead.get(record_id)["Title"] == "CTO"
    assert sandbox.Lead.delete(record_id) == 204
    with pytest.raises(SalesforceResourceNotFound):
        sandbox.Lead.get(record_id)


def test_create_with_missing_required_field_is_rejected(sandbox: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as failure:
        sandbox.Lead.create({"Company": "Acme"})
    assert failure.value.content[0]["errorCode"] == "REQUIRED_FIELD_MISSING"


def test_upsert_by_external_id_with_slash_and_hash(sf_emulator: Any, sandbox: Salesforce) -> None:
    value = "team/a b#1"
    path = f"WalkMe_User_Id__c/{quote(value, safe='')}"
    assert sandbox.Lead.upsert(path, {"LastName": "Doe", "Company": "Acme"}) == 201
    assert sandbox.Lead.upsert(path, {"Title": "CEO"}) == 200
    (record,) = sf_emulator.org("sandbox").data.records("Lead")
    assert record["WalkMe_User_Id__c"] == value
    assert record["Title"] == "CEO"
    # get_by_custom_id quotes the value itself (quote_plus).
    sandbox.Lead.upsert(f"WalkMe_User_Id__c/{quote('ops/x#2', safe='')}", LEAD)
    found = sandbox.Lead.get_by_custom_id("WalkMe_User_Id__c", "ops/x#2")
    assert found["WalkMe_User_Id__c"] == "ops/x#2"


def test_upsert_matching_two_records_is_300(sf_emulator: Any, sandbox: Salesforce) -> None:
    twins = [dict(lead, WalkMe_User_Id__c="twin") for lead in leads(2)]
    sf_emulator.org("sandbox").data.load_records("Lead", twins)
    with pytest.raises(SalesforceMoreThanOneRecord):
        sandbox.Lead.upsert("WalkMe_User_Id__c/twin", {"Title": "CEO"})


def test_upsert_on_an_unknown_field_is_404(sandbox: Salesforce) -> None:
    with pytest.raises(SalesforceResourceNotFound):
        sandbox.Lead.upsert("Nope__c/1", {"Title": "CEO"})


def test_collections_create_update_delete(sf_emulator: Any, sandbox: Salesforce) -> None:
    records = [dict(lead, attributes={"type": "Lead"}) for lead in leads(3)]
    created = sandbox.restful(
        "composite/sobjects", method="POST", json={"allOrNone": False, "records": records}
    )
    assert [result["success"] for result in created] == [True, True, True]
    ids = [result["id"] for result in created]
    updates = [{"attributes": {"type": "Lead"}, "id": i, "Title": "VP"} for i in ids]
    updated = sandbox.restful(
        "composite/sobjects", method="PATCH", json={"allOrNone": True, "records": updates}
    )
    assert all(result["success"] for result in updated)
    deleted = sandbox.restful(
        "composite/sobjects", method="DELETE", params={"ids": ",".join(ids), "allOrNone": "true"}
    )
    assert [result["id"] for result in deleted] == ids
    assert sf_emulator.org("sandbox").data.count("Lead") == 0


def test_collections_all_or_none_rolls_back(sf_emulator: Any, sandbox: Salesforce) -> None:
    ids = sf_emulator.org("sandbox").data.load_records("Lead", leads(2))
    updates = [
        {"attributes": {"type": "Lead"}, "id": ids[0], "Title": "VP"},
        {"attributes": {"type": "Lead"}, "id": ids[1], "LastName": "x" * 500},
    ]
    results = sandbox.restful(
        "composite/sobjects", method="PATCH", json={"allOrNone": True, "records": updates}
    )
    assert [result["success"] for result in results] == [False, False]
    assert results[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert results[1]["errors"][0]["statusCode"] == "STRING_TOO_LONG"
    assert all(
        record["Title"] is None for record in sf_emulator.org("sandbox").data.records("Lead")
    )


def test_collections_upsert_by_external_id(sf_emulator: Any, sandbox: Salesforce) -> None:
    records = [
        {
            "attributes": {"type": "Lead"},
            "WalkMe_User_Id__c": f"u{n}",
            "LastName": "L",
            "Company": "C",
        }
        for n in range(3)
    ]
    first = sandbox.restful(
        "composite/sobjects/Lead/WalkMe_User_Id__c",
        method="PATCH",
        json={"allOrNone": False, "records": records},
    )
    assert [result["created"] for result in first] == [True, True, True]
    second = sandbox.restful(
        "composite/sobjects/Lead/WalkMe_User_Id__c",
        method="PATCH",
        json={"allOrNone": False, "records": records},
    )
    assert [result["created"] for result in second] == [False, False, False]


def test_collections_refuse_more_than_200_records(sandbox: Salesforce) -> None:
    records = [dict(lead, attributes={"type": "Lead"}) for lead in leads(201)]
    with pytest.raises(SalesforceMalformedRequest) as failure:
        sandbox.restful("composite/sobjects", method="POST", json={"records": records})
    assert failure.value.content[0]["errorCode"] == "EXCEEDED_ID_LIMIT"


def test_api_usage_header_and_call_counts_per_kind(sf_emulator: Any, sandbox: Salesforce) -> None:
    org = sf_emulator.org("sandbox")
    sandbox.describe()
    sandbox.Lead.describe()
    record_id = sandbox.Lead.create(LEAD)["id"]
    sandbox.Lead.update(record_id, {"Title": "CTO"})
    sandbox.query("SELECT Id FROM Lead")
    sandbox.restful("composite/sobjects", method="DELETE", params={"ids": record_id})

    assert org.api_calls("describe") == 2
    assert org.api_calls("rest") == 2
    assert org.api_calls("query") == 1
    assert org.api_calls("composite") == 1
    assert org.api_calls() == 6
    assert sf_emulator.org("production").api_calls() == 0
    usage = sandbox.api_usage["api-usage"]
    assert (usage.used, usage.total) == (6, org.daily_limit)


def test_request_limit_exceeded_at_the_daily_limit(sf_emulator: Any, sandbox: Salesforce) -> None:
    org = sf_emulator.org("sandbox")
    org.daily_limit = 3
    sandbox.query("SELECT Id FROM Lead")
    sandbox.query("SELECT Id FROM Lead")
    sandbox.query("SELECT Id FROM Lead")
    with pytest.raises(SalesforceRefusedRequest) as failure:
        sandbox.query("SELECT Id FROM Lead")
    assert failure.value.content == [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
    ]
    assert org.api_calls() == 3
    assert sf_emulator.org("production").api_calls() == 0


def test_unauthenticated_calls_are_401_and_not_counted(sf_emulator: Any) -> None:
    response = requests.get(
        f"{sf_emulator.instance_url}/services/data/v59.0/sobjects",
        headers={"Authorization": "Bearer nope"},
        timeout=10,
    )
    assert response.status_code == 401
    assert response.json() == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]
    assert sf_emulator.org("sandbox").api_calls() == 0

"""Bulk API 2.0 and 1.0 through the unmodified simple-salesforce client (and raw HTTP details)."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest


def leads(count: int) -> list[dict[str, Any]]:
    return [
        {
            "LastName": f"Person {n}",
            "Company": "Acme",
            "Email": f"person{n}@acme.example",
            "Title": "Engineer",
            "WalkMe_User_Id__c": f"user-{n}",
        }
        for n in range(count)
    ]


def parse_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def by_id(emulator: Any) -> dict[str, dict[str, Any]]:
    return {record["Id"]: record for record in emulator.org("sandbox").data.records("Lead")}


def bulk2_url(emulator: Any, path: str) -> str:
    return f"{emulator.instance_url}/services/data/v59.0/jobs/{path}"


def test_bulk2_update_maps_columns_by_name_and_reports_failures(
    sf_emulator: Any, sandbox: Salesforce
) -> None:
    ids = sf_emulator.org("sandbox").data.load_records("Lead", leads(3))
    # Column order differs per record (simple-salesforce builds the header from a set).
    rows = [
        {"Title": "CTO", "Id": ids[0]},
        {"Id": ids[1], "Title": "#N/A"},
        {"Id": ids[2], "LastName": "x" * 500},
    ]
    (result,) = sandbox.bulk2.Lead.update(records=rows, wait=0)
    assert result["numberRecordsProcessed"] == 3
    assert result["numberRecordsFailed"] == 1

    records = by_id(sf_emulator)
    assert records[ids[0]]["Title"] == "CTO"
    assert records[ids[1]]["Title"] is None  # '#N/A' clears the field
    assert records[ids[2]]["LastName"] == "Person 2"  # untouched: the row failed
    failed = parse_csv(sandbox.bulk2.Lead.get_failed_records(result["job_id"]))
    assert [row["sf__Id"] for row in failed] == [ids[2]]
    assert failed[0]["sf__Error"].startswith("STRING_TOO_LONG:")
    successful = parse_csv(sandbox.bulk2.Lead.get_successful_records(result["job_id"]))
    assert {row["sf__Id"] for row in successful} == {ids[0], ids[1]}
    assert parse_csv(sandbox.bulk2.Lead.get_unprocessed_records(result["job_id"])) == []


def test_bulk2_insert_and_upsert(sf_emulator: Any, sandbox: Salesforce) -> None:
    (inserted,) = sandbox.bulk2.Lead.insert(records=leads(5), wait=0)
    assert (inserted["numberRecordsProcessed"], inserted["numberRecordsFailed"]) == (5, 0)
    upserts = [
        {"WalkMe_User_Id__c": "user-1", "Title": "VP"},
        {"WalkMe_User_Id__c": "user-99", "LastName": "New", "Company": "Acme"},
    ]
    (upserted,) = sandbox.bulk2.Lead.upsert(
        records=upserts, external_id_field="WalkMe_User_Id__c", wait=0
    )
    assert upserted["numberRecordsFailed"] == 0
    successful = parse_csv(sandbox.bulk2.Lead.get_successful_records(upserted["job_id"]))
    assert sorted(row["sf__Created"] for row in successful) == ["false", "true"]
    titles = {r["WalkMe_User_Id__c"]: r["Title"] for r in by_id(sf_emulator).values()}
    assert titles["user-1"] == "VP"
    assert sf_emulator.org("sandbox").data.count("Lead") == 6


def test_bulk2_query_pages_with_sforce_locator(sf_emulator: Any, sandbox: Salesforce) -> None:
    sf_emulator.org("sandbox").data.load_records("Lead", leads(2500))
    pages = list(sandbox.bulk2.Lead.query("SELECT Id, Email FROM Lead", max_records=1000, wait=0))
    assert len(pages) == 3
    rows = [row for page in pages for row in parse_csv(page)]
    assert len(rows) == 2500
    assert set(rows[0]) == {"Id", "Email"}


def test_bulk2_query_result_headers(sf_emulator: Any) -> None:
    sf_emulator.org("sandbox").data.load_records("Lead", leads(3))
    headers = {
        "Authorization": f"Bearer {sf_emulator.issue_session('sandbox')}",
        "Accept": "text/csv",
    }
    job = requests.post(
        bulk2_url(sf_emulator, "query"),
        json={"operation": "query", "query": "SELECT Id FROM Lead"},
        headers=headers,
        timeout=10,
    ).json()
    first = requests.get(
        bulk2_url(sf_emulator, f"query/{job['id']}/results"),
        params={"maxRecords": 2},
        headers=headers,
        timeout=10,
    )
    assert first.headers["Sforce-NumberOfRecords"] == "2"
    locator = first.headers["Sforce-Locator"]
    last = requests.get(
        bulk2_url(sf_emulator, f"query/{job['id']}/results"),
        params={"maxRecords": 2, "locator": locator},
        headers=headers,
        timeout=10,
    )
    assert last.headers["Sforce-NumberOfRecords"] == "1"
    assert last.headers["Sforce-Locator"] == "null"
    assert last.text.splitlines()[0] == '"Id"'


def test_bulk2_job_lifecycle_over_raw_http(sf_emulator: Any) -> None:
    headers = {"Authorization": f"Bearer {sf_emulator.issue_session('sandbox')}"}
    job = requests.post(
        bulk2_url(sf_emulator, "ingest"),
        json={"object": "Lead", "operation": "insert", "contentType": "CSV", "lineEnding": "LF"},
        headers=headers,
        timeout=10,
    ).json()
    assert job["state"] == "Open"
    assert job["contentUrl"].endswith(f"/jobs/ingest/{job['id']}/batches")
    upload = bulk2_url(sf_emulator, f"ingest/{job['id']}/batches")
    body = "LastName,Company\nDoe,Acme\n"
    csv_headers = {**headers, "Content-Type": "text/csv"}
    assert requests.put(upload, data=body, headers=csv_headers, timeout=10).status_code == 201
    second = requests.put(upload, data=body, headers=csv_headers, timeout=10)
    assert second.status_code in (400, 409)
    closed = requests.patch(
        bulk2_url(sf_emulator, f"ingest/{job['id']}"),
        json={"state": "UploadComplete"},
        headers=headers,
        timeout=10,
    ).json()
    assert closed["state"] == "UploadComplete"
    info = requests.get(
        bulk2_url(sf_emulator, f"ingest/{job['id']}"), headers=headers, timeout=10
    ).json()
    assert info["state"] == "JobComplete"
    assert {
        "numberRecordsProcessed",
        "numberRecordsFailed",
        "retries",
        "totalProcessingTime",
    } <= set(info)
    listing = requests.get(bulk2_url(sf_emulator, "ingest"), headers=headers, timeout=10).json()
    assert [entry["id"] for entry in listing["records"]] == [job["id"]]
    unprocessed = requests.get(
        bulk2_url(sf_emulator, f"ingest/{job['id']}/unprocessedrecords"),
        headers=headers,
        timeout=10,
    )
    assert unprocessed.status_code == 200
    deleted = requests.delete(
        bulk2_url(sf_emulator, f"ingest/{job['id']}"), headers=headers, timeout=10
    )
    assert deleted.status_code == 204


def test_bulk2_job_on_unknown_object_is_refused(sandbox: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest):
        sandbox.bulk2.Nope__c.insert(records=[{"Name": "x"}], wait=0)


def test_bulk1_update_through_the_bulk_handler(sf_emulator: Any, sandbox: Salesforce) -> None:
    ids = sf_emulator.org("sandbox").data.load_records("Lead", leads(3))
    results = sandbox.bulk.Lead.update(
        [
            {"Id": ids[0], "Title": "VP"},
            {"Id": ids[1], "LastName": "x" * 500},
            {"Id": ids[2], "Title": "CEO"},
        ]
    )
    assert [result["success"] for result in results] == [True, False, True]
    assert [result["id"] for result in results] == [ids[0], None, ids[2]]
    assert results[1]["errors"][0]["statusCode"] == "STRING_TOO_LONG"
    assert by_id(sf_emulator)[ids[2]]["Title"] == "CEO"
    assert sf_emulator.org("sandbox").api_calls("bulk1") == 5  # job, batch, poll, result, close


def test_bulk1_insert_upsert_delete_and_query(sf_emulator: Any, sandbox: Salesforce) -> None:
    inserted = sandbox.bulk.Lead.insert(leads(2))
    assert all(result["created"] for result in inserted)
    upserted = sandbox.bulk.Lead.upsert(
        [{"WalkMe_User_Id__c": "user-0", "Title": "VP"}], "WalkMe_User_Id__c"
    )
    assert upserted[0]["created"] is False
    records = sandbox.bulk.Lead.query("SELECT Id, Title FROM Lead ORDER BY Email")
    assert [record["Title"] for record in records] == ["VP", "Engineer"]
    deleted = sandbox.bulk.Lead.delete([{"Id": result["id"]} for result in inserted])
    assert all(result["success"] for result in deleted)
    assert sf_emulator.org("sandbox").data.count("Lead") == 0

"""Bulk API processing in the store: 2.0 CSV ingest and query, 1.0 JSON batches."""

from __future__ import annotations

import csv
import io

import pytest

from sf_emulator.model import load_schemas
from sf_emulator.results import ApiError, IngestResult
from sf_emulator.store import OrgData

SCHEMAS = load_schemas()


@pytest.fixture
def org() -> OrgData:
    return OrgData("bulk", "00D000000000001AAA", SCHEMAS)


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def ingest(org: OrgData, operation: str, data: str, **options: str) -> IngestResult:
    return org.bulk_ingest("Contact", operation, data.encode(), **options)


def seeded(org: OrgData, count: int = 3) -> list[str]:
    return org.load_records(
        "Contact",
        [
            {
                "LastName": f"Person{n}",
                "Email": f"p{n}@example.com",
                "Title": f"Title{n}",
                "WalkMe_NPS_Score__c": n,
                "WalkMe_User_Id__c": f"WM-{n}",
            }
            for n in range(count)
        ],
    )


# ------------------------------------------------------------------------------------------
# ingest
# ------------------------------------------------------------------------------------------


def test_insert_reports_successes_and_failures_with_original_columns(org: OrgData) -> None:
    result = ingest(
        org,
        "insert",
        "LastName,Email,WalkMe_NPS_Score__c\nHopper,grace@navy.mil,9\n,nobody@x.org,3\nTuring,bad,\n",
    )

    assert (result.processed, result.failed) == (3, 2)
    assert result.successful_csv.splitlines()[0] == (
        '"sf__Id","sf__Created","LastName","Email","WalkMe_NPS_Score__c"'
    )
    [success] = rows(result.successful_csv)
    assert success["sf__Created"] == "true"
    assert success["sf__Id"].startswith("003") and len(success["sf__Id"]) == 18
    assert (success["LastName"], success["Email"], success["WalkMe_NPS_Score__c"]) == (
        "Hopper",
        "grace@navy.mil",
        "9",
    )
    failed = rows(result.failed_csv)
    assert [f["sf__Error"] for f in failed] == [
        "REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --",
        "INVALID_EMAIL_ADDRESS:Email: invalid email address: bad:Email --",
    ]
    assert [f["sf__Id"] for f in failed] == ["", ""]
    assert failed[0]["Email"] == "nobody@x.org"
    assert rows(result.unprocessed_csv) == []
    assert org.count("Contact") == 1


def test_update_with_columns_in_any_order_and_any_case(org: OrgData) -> None:
    first, second, _ = seeded(org)

    result = ingest(
        org,
        "update",
        f"walkme_nps_score__c,TITLE,id\n5,New title,{first}\n6,Other,{second[:15]}\n",
    )

    assert (result.processed, result.failed) == (2, 0)
    assert [r["sf__Created"] for r in rows(result.successful_csv)] == ["false", "false"]
    assert [r["sf__Id"] for r in rows(result.successful_csv)] == [first, second]
    updated = {r["Id"]: r for r in org.records("Contact")}
    assert (updated[first]["WalkMe_NPS_Score__c"], updated[first]["Title"]) == (5.0, "New title")
    assert updated[second]["Title"] == "Other"


def test_empty_value_leaves_a_field_alone_and_na_clears_it(org: OrgData) -> None:
    first, second, _ = seeded(org)

    result = ingest(org, "update", f"Id,Title,Email\n{first},,#N/A\n{second},#N/A,\n")

    assert result.failed == 0
    updated = {r["Id"]: r for r in org.records("Contact")}
    assert (updated[first]["Title"], updated[first]["Email"]) == ("Title0", None)
    assert (updated[second]["Title"], updated[second]["Email"]) == (None, "p1@example.com")


def test_na_on_a_required_field_fails_the_row(org: OrgData) -> None:
    [record_id] = seeded(org, 1)
    result = ingest(org, "update", f"Id,LastName\n{record_id},#N/A\n")
    assert rows(result.failed_csv)[0]["sf__Error"].startswith("REQUIRED_FIELD_MISSING:")
    assert rows(result.failed_csv)[0]["sf__Id"] == record_id


def test_per_row_errors_for_ids_and_values(org: OrgData) -> None:
    first, second, third = seeded(org)
    org.delete("Contact", third)

    result = ingest(
        org,
        "update",
        "Id,WalkMe_NPS_Score__c,WalkMe_Quiz_Date__c,WalkMe_Quiz_Name__c\n"
        f"{first},100,,\n"
        f"{second},,01/02/2024,\n"
        f"{third},1,,\n"
        "not-an-id,1,,\n"
        "003000000000999AAA,1,,\n"
        f"{first},,,{'x' * 81}\n",
    )

    errors = [r["sf__Error"].split(":")[0] for r in rows(result.failed_csv)]
    assert errors == [
        "NUMBER_OUTSIDE_VALID_RANGE",
        "INVALID_TYPE_ON_FIELD_IN_RECORD",
        "ENTITY_IS_DELETED",
        "MALFORMED_ID",
        "INVALID_CROSS_REFERENCE_KEY",
        "STRING_TOO_LONG",
    ]
    assert result.processed == 6 and result.failed == 6


def test_read_only_column_with_a_value_fails_the_row(org: OrgData) -> None:
    [record_id] = seeded(org, 1)
    result = ingest(org, "update", f"Id,Name,Title\n{record_id},X,\n{record_id},,T\n")
    failed = rows(result.failed_csv)
    assert len(failed) == 1
    assert failed[0]["sf__Error"].startswith("INVALID_FIELD_FOR_INSERT_UPDATE:Unable to update")
    assert org.get("Contact", record_id)["Title"] == "T"


def test_booleans_accept_true_false_and_1_0(org: OrgData) -> None:
    result = ingest(
        org,
        "insert",
        "LastName,WalkMe_TeachMe_Completed__c\nA,1\nB,0\nC,TRUE\nD,false\nE,yes\n",
    )
    assert result.failed == 1
    completed = {r["LastName"]: r["WalkMe_TeachMe_Completed__c"] for r in org.records("Contact")}
    assert completed == {"A": True, "B": False, "C": True, "D": False}


def test_quoted_values_with_delimiters_and_newlines_round_trip(org: OrgData) -> None:
    comment = 'Loved it, "really"\nsecond line'
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(
        [["LastName", "WalkMe_NPS_Comment__c"], ["Hopper", comment]]
    )

    result = ingest(org, "insert", buffer.getvalue())

    assert result.failed == 0
    assert rows(result.successful_csv)[0]["WalkMe_NPS_Comment__c"] == comment
    assert org.records("Contact")[0]["WalkMe_NPS_Comment__c"] == comment


def test_other_delimiters_and_crlf_line_endings(org: OrgData) -> None:
    result = ingest(
        org,
        "insert",
        "LastName|Title\r\nHopper|Rear Admiral, USN\r\n",
        column_delimiter="PIPE",
        line_ending="CRLF",
    )
    assert result.failed == 0
    assert result.successful_csv.endswith("\r\n")
    assert '"Rear Admiral, USN"' in result.successful_csv
    assert org.records("Contact")[0]["Title"] == "Rear Admiral, USN"


def test_row_with_the_wrong_number_of_values_fails_alone(org: OrgData) -> None:
    result = ingest(org, "insert", "LastName,Title\nHopper,Admiral\nTuring\n")
    assert (result.processed, result.failed) == (2, 1)
    assert "header has 2 columns" in rows(result.failed_csv)[0]["sf__Error"]


@pytest.mark.parametrize(
    ("operation", "data", "message"),
    [
        ("insert", "LastName,Nope__c\nA,1\n", "Field name not found : Nope__c"),
        ("update", "Title\nA\n", "Field name not provided: Id"),
        ("insert", "LastName,lastname\nA,B\n", "Duplicate field name: lastname"),
        ("insert", "", "no header row"),
        ("merge", "Id\n", "unsupported operation: merge"),
    ],
)
def test_job_level_problems_fail_the_whole_job(
    org: OrgData, operation: str, data: str, message: str
) -> None:
    with pytest.raises(ApiError) as raised:
        ingest(org, operation, data)
    assert raised.value.http_status == 400
    assert raised.value.error_code == "InvalidBatch"
    assert message in raised.value.message
    assert org.count("Contact") == 0


def test_upsert_creates_updates_and_flags_duplicate_keys(org: OrgData) -> None:
    seeded(org, 2)

    result = ingest(
        org,
        "upsert",
        "WalkMe_User_Id__c,Title,LastName\n"
        "wm-0,Updated,\n"
        "WM-9,,New\n"
        "WM-7,,Twin\n"
        "wm-7,,Twin\n"
        ",,Keyless\n",
        external_id_field="WalkMe_User_Id__c",
    )

    successes = rows(result.successful_csv)
    assert [(r["WalkMe_User_Id__c"], r["sf__Created"]) for r in successes] == [
        ("wm-0", "false"),
        ("WM-9", "true"),
    ]
    assert [r["sf__Error"].split(":")[0] for r in rows(result.failed_csv)] == [
        "DUPLICATE_EXTERNAL_ID",
        "DUPLICATE_EXTERNAL_ID",
        "MISSING_ARGUMENT",
    ]
    by_key = {r["WalkMe_User_Id__c"]: r for r in org.records("Contact")}
    assert by_key["WM-0"]["Title"] == "Updated"
    assert by_key["WM-0"]["LastName"] == "Person0"  # empty = unchanged
    assert by_key["WM-9"]["LastName"] == "New"


def test_upsert_with_several_matching_records_fails_the_row(org: OrgData) -> None:
    org.load_records(
        "Lead",
        [
            {"LastName": "A", "Company": "C", "WalkMe_User_Id__c": "same"},
            {"LastName": "B", "Company": "C", "WalkMe_User_Id__c": "SAME"},
        ],
    )
    result = org.bulk_ingest(
        "Lead",
        "upsert",
        b"WalkMe_User_Id__c,Title\nsame,x\n",
        external_id_field="WalkMe_User_Id__c",
    )
    assert rows(result.failed_csv)[0]["sf__Error"].startswith(
        "DUPLICATE_EXTERNAL_ID:WalkMe User Id: more than one record found for external id field"
    )


def test_upsert_needs_an_external_id_column(org: OrgData) -> None:
    with pytest.raises(ApiError, match="External ID field not in the CSV header"):
        ingest(org, "upsert", "LastName\nA\n", external_id_field="WalkMe_User_Id__c")
    with pytest.raises(ApiError) as raised:
        ingest(org, "upsert", "Email\na@b.co\n", external_id_field="Email")
    assert raised.value.error_code == "NOT_FOUND"


def test_delete_and_hard_delete(org: OrgData) -> None:
    first, second, third = seeded(org)

    soft = ingest(org, "delete", f"Id\n{first}\n{first}\n")
    hard = ingest(org, "hardDelete", f"Id\n{second}\n{third}\n")

    assert rows(soft.failed_csv)[0]["sf__Error"].startswith("ENTITY_IS_DELETED:")
    assert hard.failed == 0
    everything = org.query("SELECT Id FROM Contact", include_deleted=True).records
    assert [r["Id"] for r in everything] == [first]


def test_lock_faults_fail_rows_with_unable_to_lock_row(org: OrgData) -> None:
    first, second, _ = seeded(org)
    org.lock_faults.lock_records([second])

    result = ingest(org, "update", f"Id,Title\n{first},a\n{second},b\n")

    [failed] = rows(result.failed_csv)
    assert failed["sf__Error"] == (
        f"UNABLE_TO_LOCK_ROW:unable to obtain exclusive access to this record or 1 records: "
        f"{second}: --"
    )
    retry = ingest(org, "update", f"Id,Title\n{second},b\n")
    assert retry.failed == 0


# ------------------------------------------------------------------------------------------
# query
# ------------------------------------------------------------------------------------------


def test_bulk_query_rows_follow_select_order_and_csv_formats(org: OrgData) -> None:
    [record_id] = org.load_records(
        "Contact",
        [
            {
                "LastName": "Hopper",
                "WalkMe_NPS_Score__c": 9,
                "WalkMe_TeachMe_Progress__c": 75.5,
                "WalkMe_Last_Login__c": "2024-01-31T12:34:56+01:00",
                "WalkMe_Quiz_Date__c": "2024-02-01",
            }
        ],
    )

    header, result_rows = org.bulk_query(
        "SELECT walkme_last_login__c, Id, WalkMe_NPS_Score__c, WalkMe_TeachMe_Progress__c, "
        "WalkMe_TeachMe_Completed__c, Title, WalkMe_Quiz_Date__c, Name FROM Contact"
    )

    assert header == [
        "WalkMe_Last_Login__c",
        "Id",
        "WalkMe_NPS_Score__c",
        "WalkMe_TeachMe_Progress__c",
        "WalkMe_TeachMe_Completed__c",
        "Title",
        "WalkMe_Quiz_Date__c",
        "Name",
    ]
    assert list(result_rows) == [
        [
            "2024-01-31T11:34:56.000Z",
            record_id,
            "9",
            "75.5",
            "false",
            "",
            "2024-02-01",
            "Hopper",
        ]
    ]


def test_bulk_query_filters_and_include_deleted(org: OrgData) -> None:
    first, second, _ = seeded(org)
    org.delete("Contact", second)

    _, live = org.bulk_query("SELECT Id FROM Contact WHERE WalkMe_NPS_Score__c < 2")
    _, everything = org.bulk_query(
        "SELECT Id FROM Contact WHERE WalkMe_NPS_Score__c < 2", include_deleted=True
    )

    assert list(live) == [[first]]
    assert list(everything) == [[first], [second]]


def test_bulk_query_errors(org: OrgData) -> None:
    with pytest.raises(ApiError) as raised:
        org.bulk_query("SELECT COUNT() FROM Contact")
    assert raised.value.http_status == 400
    with pytest.raises(ApiError) as raised:
        org.bulk_query("SELECT Nope FROM Contact")
    assert raised.value.error_code == "INVALID_FIELD"


# ------------------------------------------------------------------------------------------
# Bulk API 1.0
# ------------------------------------------------------------------------------------------


def test_bulk1_results_are_in_input_order_with_salesforce_shape(org: OrgData) -> None:
    results = org.bulk1_process(
        "insert", "Contact", [{"LastName": "A"}, {"Email": "x@y.z"}, {"LastName": "C"}]
    )

    assert [r["success"] for r in results] == [True, False, True]
    assert results[0]["created"] is True and results[0]["id"].startswith("003")
    assert results[1] == {
        "success": False,
        "created": False,
        "id": None,
        "errors": [
            {
                "statusCode": "REQUIRED_FIELD_MISSING",
                "message": "Required fields are missing: [LastName]",
                "fields": ["LastName"],
            }
        ],
    }


def test_bulk1_update_upsert_and_delete(org: OrgData) -> None:
    first, second, _ = seeded(org)

    updated = org.bulk1_process("update", "Contact", [{"Id": first, "Title": None}])
    assert org.get("Contact", first)["Title"] is None
    upserted = org.bulk1_process(
        "upsert",
        "Contact",
        [
            {"WalkMe_User_Id__c": "WM-1", "Title": "u"},
            {"WalkMe_User_Id__c": "WM-5", "LastName": "N"},
        ],
        external_id_field="WalkMe_User_Id__c",
    )
    deleted = org.bulk1_process("hardDelete", "Contact", [{"Id": first}, {"Id": "bad"}])

    assert updated[0]["success"]
    assert [(r["success"], r["created"]) for r in upserted] == [(True, False), (True, True)]
    assert upserted[0]["id"] == second
    assert [r["success"] for r in deleted] == [True, False]
    assert deleted[1]["errors"][0]["statusCode"] == "MALFORMED_ID"
    assert org.count("Contact") == 3

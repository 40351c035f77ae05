"""The emulator's record store: validation codes, ids, upsert, collections, faults, seeding."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sf_emulator.model import ObjectSchema, load_schemas
from sf_emulator.record_ids import id_suffix, normalize_id
from sf_emulator.results import ROLLED_BACK_MESSAGE, ApiError, SaveResult
from sf_emulator.store import OrgData

SCHEMAS = load_schemas()
ORG_ID = "00D000000000001AAA"


@pytest.fixture
def org() -> OrgData:
    return OrgData("test", ORG_ID, SCHEMAS)


def lead(**fields: Any) -> dict[str, Any]:
    return {"LastName": "Lovelace", "Company": "Analytical Engines", **fields}


def error_codes(result: SaveResult) -> list[str]:
    return [e.status_code for e in result.errors]


def created_id(org: OrgData, obj: str, fields: dict[str, Any]) -> str:
    result = org.create(obj, fields)
    assert result.success, result.errors
    assert result.id is not None
    return result.id


# ------------------------------------------------------------------------------------------
# ids and record shape
# ------------------------------------------------------------------------------------------


def test_created_ids_are_18_characters_with_key_prefix_and_case_safe_suffix(org: OrgData) -> None:
    lead_id = created_id(org, "Lead", lead())
    contact_id = created_id(org, "Contact", {"LastName": "Hopper"})
    account_id = created_id(org, "Account", {"Name": "Navy"})

    assert [lead_id[:3], contact_id[:3], account_id[:3]] == ["00Q", "003", "001"]
    for record_id in (lead_id, contact_id, account_id):
        assert len(record_id) == 18
        assert record_id[15:] == id_suffix(record_id[:15])
    assert len({lead_id, contact_id, account_id}) == 3


def test_id_suffix_matches_a_real_salesforce_id() -> None:
    assert id_suffix("0015000000VALDt") == "AAP"
    assert normalize_id("0015000000VALDt") == "0015000000VALDtAAP"
    # The suffix restores the case of an 18-character id typed in the wrong case.
    assert normalize_id("0015000000valdtaap") == "0015000000VALDtAAP"
    assert normalize_id("0015000000VALD") is None
    assert normalize_id("0015000000VALDt!!!") is None


def test_get_returns_rest_shape_with_all_fields_and_computed_name(org: OrgData) -> None:
    lead_id = created_id(org, "Lead", lead(FirstName="Ada", Email="ada@example.com"))

    record = org.get("Lead", lead_id)

    assert record["attributes"] == {
        "type": "Lead",
        "url": f"/services/data/v59.0/sobjects/Lead/{lead_id}",
    }
    assert record["Id"] == lead_id
    assert record["Name"] == "Ada Lovelace"
    assert record["Status"] == "Open - Not Contacted"  # picklist default
    assert record["IsDeleted"] is False
    assert record["WalkMe_NPS_Score__c"] is None
    assert record["CreatedDate"].endswith("+0000")
    assert set(record) - {"attributes"} == {f.name for f in SCHEMAS["Lead"].fields}


def test_get_with_selected_fields_and_15_or_lowercase_18_character_ids(org: OrgData) -> None:
    lead_id = created_id(org, "Lead", lead(Title="Countess"))

    by_15 = org.get("lead", lead_id[:15], ["title", "LastName"])
    by_lower = org.get("Lead", lead_id.lower(), ["Title"])

    assert by_15 == {
        "attributes": by_15["attributes"],
        "Title": "Countess",
        "LastName": "Lovelace",
    }
    assert by_lower["Title"] == "Countess"


def test_get_unknown_or_malformed_id_is_not_found(org: OrgData) -> None:
    for bad_id in ("00Q000000000000AAA", "nonsense"):
        with pytest.raises(ApiError) as raised:
            org.get("Lead", bad_id)
        assert raised.value.http_status == 404
        assert raised.value.error_code == "NOT_FOUND"


def test_unknown_object_is_not_found(org: OrgData) -> None:
    with pytest.raises(ApiError) as raised:
        org.object_schema("Opportunity")
    assert (raised.value.http_status, raised.value.error_code) == (404, "NOT_FOUND")
    assert org.object_schema("contact").name == "Contact"


# ------------------------------------------------------------------------------------------
# validation codes
# ------------------------------------------------------------------------------------------


def test_unknown_field_is_invalid_field(org: OrgData) -> None:
    result = org.create("Lead", lead(WalkMe_Nope__c="x"))

    assert not result.success
    assert result.errors[0].to_json() == {
        "statusCode": "INVALID_FIELD",
        "message": "No such column 'WalkMe_Nope__c' on sobject of type Lead",
        "fields": ["WalkMe_Nope__c"],
    }


def test_id_in_create_body_is_invalid_field(org: OrgData) -> None:
    result = org.create("Lead", lead(Id="00Q000000000001AAA"))
    assert error_codes(result) == ["INVALID_FIELD"]
    assert "Id field should not be specified" in result.errors[0].message


def test_read_only_fields_are_refused_for_create_and_update(org: OrgData) -> None:
    created = org.create("Lead", lead(Name="X", WalkMe_Score_Formula__c=3))
    assert error_codes(created) == ["INVALID_FIELD_FOR_INSERT_UPDATE"]
    assert created.errors[0].fields == ["Name", "WalkMe_Score_Formula__c"]
    assert created.errors[0].message.startswith(
        "Unable to create/update fields: Name, WalkMe_Score_Formula__c. Please check the security"
    )

    lead_id = created_id(org, "Lead", lead())
    updated = org.update("Lead", lead_id, {"CreatedDate": "2024-01-01T00:00:00Z"})
    assert error_codes(updated) == ["INVALID_FIELD_FOR_INSERT_UPDATE"]
    assert updated.errors[0].fields == ["CreatedDate"]


@pytest.mark.parametrize(
    ("field", "value", "label"),
    [
        ("WalkMe_NPS_Score__c", "nine", "WalkMe NPS Score"),
        ("WalkMe_NPS_Score__c", True, "WalkMe NPS Score"),
        ("WalkMe_NPS_Date__c", "31/01/2024", "WalkMe NPS Date"),
        ("WalkMe_Last_Login__c", "yesterday", "WalkMe Last Login"),
        ("WalkMe_TeachMe_Completed__c", "yes", "WalkMe TeachMe Completed"),
    ],
)
def test_values_of_the_wrong_type_are_rejected(
    org: OrgData, field: str, value: Any, label: str
) -> None:
    result = org.create("Contact", {"LastName": "Hopper", field: value})

    assert result.errors[0].to_json() == {
        "statusCode": "INVALID_TYPE_ON_FIELD_IN_RECORD",
        "message": f"{label}: value not of required type: {value}",
        "fields": [field],
    }


def test_string_too_long(org: OrgData) -> None:
    result = org.create("Contact", {"LastName": "Hopper", "WalkMe_Quiz_Name__c": "q" * 81})

    assert error_codes(result) == ["STRING_TOO_LONG"]
    assert (
        result.errors[0].message
        == f"WalkMe Quiz Name: data value too large: {'q' * 81} (max length=80)"
    )
    assert org.create("Contact", {"LastName": "Hopper", "WalkMe_Quiz_Name__c": "q" * 80}).success


def test_required_fields_missing_on_create_and_cleared_on_update(org: OrgData) -> None:
    missing = org.create("Lead", {"FirstName": "Ada"})
    assert missing.errors[0].to_json() == {
        "statusCode": "REQUIRED_FIELD_MISSING",
        "message": "Required fields are missing: [LastName, Company]",
        "fields": ["LastName", "Company"],
    }

    lead_id = created_id(org, "Lead", lead())
    cleared = org.update("Lead", lead_id, {"LastName": None})
    assert error_codes(cleared) == ["REQUIRED_FIELD_MISSING"]
    assert org.get("Lead", lead_id)["LastName"] == "Lovelace"


def test_null_clears_a_nillable_field(org: OrgData) -> None:
    lead_id = created_id(org, "Lead", lead(Title="Countess", WalkMe_NPS_Score__c=9))

    assert org.update("Lead", lead_id, {"Title": None, "WalkMe_NPS_Score__c": None}).success

    record = org.get("Lead", lead_id)
    assert (record["Title"], record["WalkMe_NPS_Score__c"]) == (None, None)


def test_unique_field_rejects_duplicates_case_insensitively(org: OrgData) -> None:
    first = created_id(org, "Contact", {"LastName": "A", "WalkMe_User_Id__c": "wm-1"})

    duplicate = org.create("Contact", {"LastName": "B", "WalkMe_User_Id__c": "WM-1"})

    assert duplicate.errors[0].to_json() == {
        "statusCode": "DUPLICATE_VALUE",
        "message": "duplicate value found: WalkMe_User_Id__c duplicates value on record with id: "
        + first,
        "fields": ["WalkMe_User_Id__c"],
    }
    # Setting a record's own value again is not a duplicate; Lead's external id is not unique.
    assert org.update("Contact", first, {"WalkMe_User_Id__c": "WM-1"}).success
    assert org.create("Lead", lead(WalkMe_User_Id__c="x")).success
    assert org.create("Lead", lead(WalkMe_User_Id__c="x")).success


def test_invalid_email_address(org: OrgData) -> None:
    result = org.create("Contact", {"LastName": "Hopper", "Email": "grace at navy.mil"})

    assert result.errors[0].to_json() == {
        "statusCode": "INVALID_EMAIL_ADDRESS",
        "message": "Email: invalid email address: grace at navy.mil",
        "fields": ["Email"],
    }


def test_numbers_are_range_checked_and_rounded_to_scale(org: OrgData) -> None:
    too_big = org.create("Contact", {"LastName": "Hopper", "WalkMe_NPS_Score__c": 100})
    assert error_codes(too_big) == ["NUMBER_OUTSIDE_VALID_RANGE"]
    assert too_big.errors[0].message == (
        "WalkMe NPS Score: value outside of valid range on numeric field: 100"
    )

    contact_id = created_id(
        org,
        "Contact",
        {"LastName": "Hopper", "WalkMe_NPS_Score__c": "10", "WalkMe_TeachMe_Progress__c": 33.3333},
    )
    record = org.get("Contact", contact_id)
    assert record["WalkMe_NPS_Score__c"] == 10.0
    assert record["WalkMe_TeachMe_Progress__c"] == 33.33


def test_restricted_picklist(org: OrgData) -> None:
    result = org.create("Lead", lead(Status="Maybe"))
    assert result.errors[0].status_code == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert result.errors[0].message == "Status: bad value for restricted picklist field: Maybe"
    # Unrestricted picklists take any value.
    assert org.create("Lead", lead(LeadSource="Conference")).success


def test_datetimes_are_normalised_to_utc_and_dates_kept(org: OrgData) -> None:
    contact_id = created_id(
        org,
        "Contact",
        {
            "LastName": "Hopper",
            "WalkMe_First_Login__c": "2024-01-31T12:34:56+02:00",
            "WalkMe_Last_Login__c": "2024-01-31T12:34:56.789Z",
            "WalkMe_Quiz_Date__c": "2024-02-29",
        },
    )

    record = org.get("Contact", contact_id)
    assert record["WalkMe_First_Login__c"] == "2024-01-31T10:34:56.000+0000"
    assert record["WalkMe_Last_Login__c"] == "2024-01-31T12:34:56.789+0000"
    assert record["WalkMe_Quiz_Date__c"] == "2024-02-29"
    bad_date = org.create("Contact", {"LastName": "H", "WalkMe_Quiz_Date__c": "2023-02-29"})
    assert error_codes(bad_date) == ["INVALID_TYPE_ON_FIELD_IN_RECORD"]


def test_references_must_point_at_existing_records_of_the_right_object(org: OrgData) -> None:
    account_id = created_id(org, "Account", {"Name": "Navy"})
    contact_id = created_id(org, "Contact", {"LastName": "Hopper", "AccountId": account_id[:15]})
    assert org.get("Contact", contact_id)["AccountId"] == account_id

    wrong_object = org.create("Contact", {"LastName": "H", "AccountId": contact_id})
    assert error_codes(wrong_object) == ["FIELD_INTEGRITY_EXCEPTION"]
    missing = org.create("Contact", {"LastName": "H", "AccountId": "001000000000999AAA"})
    assert error_codes(missing) == ["INVALID_CROSS_REFERENCE_KEY"]


def test_several_field_errors_are_all_reported(org: OrgData) -> None:
    result = org.create(
        "Contact", {"LastName": "H", "Email": "bad", "WalkMe_Quiz_Score__c": "x", "Foo__c": 1}
    )
    assert sorted(error_codes(result)) == [
        "INVALID_EMAIL_ADDRESS",
        "INVALID_FIELD",
        "INVALID_TYPE_ON_FIELD_IN_RECORD",
    ]


# ------------------------------------------------------------------------------------------
# update, delete, timestamps
# ------------------------------------------------------------------------------------------


def test_update_changes_last_modified_but_not_created_date(org: OrgData) -> None:
    lead_id = created_id(org, "Lead", lead())
    before = org.get("Lead", lead_id)

    assert org.update("Lead", lead_id, {"Title": "Countess"}).success
    after = org.get("Lead", lead_id)

    assert after["CreatedDate"] == before["CreatedDate"]
    assert after["LastModifiedDate"] >= before["LastModifiedDate"]
    assert after["SystemModstamp"] == after["LastModifiedDate"]
    assert after["Title"] == "Countess"


def test_update_of_missing_malformed_or_deleted_records(org: OrgData) -> None:
    lead_id = created_id(org, "Lead", lead())
    assert org.delete("Lead", lead_id).success

    cases = {
        lead_id: (404, "ENTITY_IS_DELETED"),
        "00Q000000000999AAA": (404, "NOT_FOUND"),
        "not-an-id": (404, "NOT_FOUND"),
    }
    for record_id, expected in cases.items():
        with pytest.raises(ApiError) as raised:
            org.update("Lead", record_id, {"Title": "x"})
        assert (raised.value.http_status, raised.value.error_code) == expected
    with pytest.raises(ApiError) as raised:
        org.delete("Lead", lead_id)
    assert raised.value.error_code == "ENTITY_IS_DELETED"
    with pytest.raises(ApiError) as raised:
        org.get("Lead", lead_id)
    assert (raised.value.http_status, raised.value.error_code) == (404, "ENTITY_IS_DELETED")


def test_deleted_records_leave_queries_but_stay_in_query_all(org: OrgData) -> None:
    keep = created_id(org, "Lead", lead(Title="keep"))
    gone = created_id(org, "Lead", lead(Title="gone"))
    org.delete("Lead", gone)

    live = org.query("SELECT Id FROM Lead")
    everything = org.query("SELECT Id, IsDeleted FROM Lead ORDER BY Title", include_deleted=True)

    assert [r["Id"] for r in live.records] == [keep]
    assert [(r["Id"], r["IsDeleted"]) for r in everything.records] == [(gone, True), (keep, False)]
    assert org.count("Lead") == 1


# ------------------------------------------------------------------------------------------
# upsert
# ------------------------------------------------------------------------------------------


def test_upsert_creates_then_updates_matching_case_insensitively(org: OrgData) -> None:
    created = org.upsert("Contact", "WalkMe_User_Id__c", "WM-7", {"LastName": "Hopper"})
    updated = org.upsert("Contact", "walkme_user_id__c", "wm-7", {"Title": "Rear Admiral"})

    assert (created.success, created.created) == (True, True)
    assert (updated.success, updated.created, updated.id) == (True, False, created.id)
    assert created.to_json(include_created=True) == {
        "id": created.id,
        "success": True,
        "errors": [],
        "created": True,
    }
    record = org.get("Contact", created.id or "")
    assert (record["WalkMe_User_Id__c"], record["Title"]) == ("WM-7", "Rear Admiral")
    assert org.count("Contact") == 1


def test_upsert_with_several_matches_answers_300_with_record_urls(org: OrgData) -> None:
    first = created_id(org, "Lead", lead(WalkMe_User_Id__c="dup"))
    second = created_id(org, "Lead", lead(WalkMe_User_Id__c="DUP"))

    with pytest.raises(ApiError) as raised:
        org.upsert("Lead", "WalkMe_User_Id__c", "dup", {"Title": "x"})

    assert raised.value.http_status == 300
    assert sorted(raised.value.payload) == sorted(
        f"/services/data/v59.0/sobjects/Lead/{i}" for i in (first, second)
    )


@pytest.mark.parametrize("field", ["Nope__c", "Email", "LastName"])
def test_upsert_on_unknown_or_non_external_field_is_not_found(org: OrgData, field: str) -> None:
    with pytest.raises(ApiError) as raised:
        org.upsert("Contact", field, "x", {"LastName": "H"})
    assert (raised.value.http_status, raised.value.error_code) == (404, "NOT_FOUND")
    assert field in raised.value.message


def test_upsert_by_id(org: OrgData) -> None:
    created = org.upsert("Contact", "Id", "", {"LastName": "Hopper"})
    assert created.created
    updated = org.upsert("Contact", "Id", created.id or "", {"Title": "Admiral"})
    assert (updated.success, updated.created) == (True, False)
    assert org.get("Contact", created.id or "")["Title"] == "Admiral"


# ------------------------------------------------------------------------------------------
# sObject Collections
# ------------------------------------------------------------------------------------------


def typed(obj: str, **fields: Any) -> dict[str, Any]:
    return {"attributes": {"type": obj}, **fields}


def test_collections_create_reports_each_record_in_order(org: OrgData) -> None:
    results = org.save_many(
        "create",
        None,
        [typed("Contact", LastName="A"), typed("Contact"), typed("Lead", **lead())],
        all_or_none=False,
    )

    assert [r.success for r in results] == [True, False, True]
    assert error_codes(results[1]) == ["REQUIRED_FIELD_MISSING"]
    assert (results[0].id or "").startswith("003")
    assert (results[2].id or "").startswith("00Q")
    assert org.count("Contact") == 1


def test_collections_all_or_none_rolls_back_creates_updates_and_deletes(org: OrgData) -> None:
    keep = created_id(org, "Contact", {"LastName": "Keep", "Title": "before"})
    doomed = created_id(org, "Contact", {"LastName": "Doomed"})
    before = org.records("Contact")

    updates = org.save_many(
        "update",
        None,
        [typed("Contact", Id=keep, Title="after"), typed("Contact", Id=doomed, Email="bad")],
        all_or_none=True,
    )
    creates = org.save_many(
        "create", "Contact", [typed("Contact", LastName="New"), typed("Contact")], all_or_none=True
    )
    deletes = org.save_many(
        "delete", None, [{"id": keep}, {"id": "003000000000999AAA"}], all_or_none=True
    )

    assert org.records("Contact") == before
    for results in (updates, creates, deletes):
        rolled_back = results[0]
        assert not rolled_back.success
        assert rolled_back.errors[0].to_json() == {
            "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
            "message": ROLLED_BACK_MESSAGE,
            "fields": [],
        }
    assert error_codes(updates[1]) == ["INVALID_EMAIL_ADDRESS"]
    assert error_codes(deletes[1]) == ["INVALID_CROSS_REFERENCE_KEY"]
    # The rolled-back create released nothing into the indexes: a new query finds nothing.
    assert org.query("SELECT Id FROM Contact WHERE LastName = 'New'").total_size == 0


def test_collections_without_all_or_none_keep_the_successes(org: OrgData) -> None:
    keep = created_id(org, "Contact", {"LastName": "Keep"})
    results = org.save_many(
        "update",
        "Contact",
        [{"id": keep, "Title": "after"}, {"Title": "no id"}],
        all_or_none=False,
    )
    assert [r.success for r in results] == [True, False]
    assert org.get("Contact", keep)["Title"] == "after"


def test_collections_limit_is_200_records(org: OrgData) -> None:
    with pytest.raises(ApiError) as raised:
        org.save_many("create", "Contact", [{"LastName": "x"}] * 201, all_or_none=False)
    assert (raised.value.http_status, raised.value.error_code) == (400, "EXCEEDED_ID_LIMIT")


def test_collections_upsert_flags_duplicate_keys_within_the_request(org: OrgData) -> None:
    existing = org.upsert("Contact", "WalkMe_User_Id__c", "wm-1", {"LastName": "A"}).id
    results = org.save_many(
        "upsert",
        "Contact",
        [
            typed("Contact", WalkMe_User_Id__c="wm-1", Title="updated"),
            typed("Contact", WalkMe_User_Id__c="wm-2", LastName="B"),
            typed("Contact", WalkMe_User_Id__c="WM-3", LastName="C"),
            typed("Contact", WalkMe_User_Id__c="wm-3", LastName="D"),
        ],
        all_or_none=False,
        ext_field="WalkMe_User_Id__c",
    )

    assert [(r.success, r.created) for r in results] == [
        (True, False),
        (True, True),
        (False, False),
        (False, False),
    ]
    assert results[0].id == existing
    assert error_codes(results[2]) == error_codes(results[3]) == ["DUPLICATE_EXTERNAL_ID"]


def test_collections_record_without_type_fails_alone(org: OrgData) -> None:
    results = org.save_many(
        "create", None, [{"LastName": "x"}, typed("Nope", LastName="y")], all_or_none=False
    )
    assert error_codes(results[0]) == ["INVALID_TYPE"]
    assert results[1].errors[0].message == "sObject type 'Nope' is not supported."


# ------------------------------------------------------------------------------------------
# lock faults
# ------------------------------------------------------------------------------------------


def test_locked_records_fail_their_next_writes_then_succeed(org: OrgData) -> None:
    contact_id = created_id(org, "Contact", {"LastName": "Hopper"})
    org.lock_faults.lock_records([contact_id[:15]], times=2)

    attempts = [org.update("Contact", contact_id, {"Title": str(n)}) for n in range(3)]

    assert [r.success for r in attempts] == [False, False, True]
    assert attempts[0].errors[0].to_json() == {
        "statusCode": "UNABLE_TO_LOCK_ROW",
        "message": f"unable to obtain exclusive access to this record or 1 records: {contact_id}",
        "fields": [],
    }
    assert org.get("Contact", contact_id)["Title"] == "2"


def test_lock_fraction_is_deterministic_and_clearable(org: OrgData) -> None:
    ids = [created_id(org, "Contact", {"LastName": f"P{n}"}) for n in range(200)]

    def failures(seed: int) -> list[bool]:
        org.lock_faults.lock_fraction(0.25, seed=seed)
        return [not org.update("Contact", i, {"Title": "t"}).success for i in ids]

    first, again, other_seed = failures(3), failures(3), failures(4)

    assert first == again
    assert first != other_seed
    assert 20 < sum(first) < 80
    org.lock_faults.clear()
    assert all(org.update("Contact", i, {"Title": "t"}).success for i in ids)
    with pytest.raises(ValueError, match="between 0 and 1"):
        org.lock_faults.lock_fraction(1.5)


# ------------------------------------------------------------------------------------------
# seeding, snapshots, reset
# ------------------------------------------------------------------------------------------


def test_generate_is_deterministic_with_shared_and_mixed_case_emails() -> None:
    def people(seed: int) -> list[tuple[Any, ...]]:
        org = OrgData("gen", ORG_ID, SCHEMAS)
        org.generate("Contact", 2000, seed=seed, duplicate_email_fraction=0.05)
        return [
            (r["Id"], r["FirstName"], r["LastName"], r["Email"], r["WalkMe_User_Id__c"])
            for r in org.records("Contact")
        ]

    first, again, other = people(1), people(1), people(2)

    assert first == again
    assert first != other
    emails = [p[3] for p in first]
    lowered = [e.lower() for e in emails]
    shared = len(lowered) - len(set(lowered))
    assert 40 <= shared <= 160  # ~5% of 2000 reuse an earlier address
    assert any(e != e.lower() for e in emails)
    assert len({p[4] for p in first}) == 2000  # the unique external id stays unique


def test_generate_leads_and_accounts_are_valid_records(org: OrgData) -> None:
    org.generate("Lead", 50, seed=3)
    org.generate("Account", 5, seed=3)
    org.generate("Contact", 10)
    org.generate("Contact", 10)  # a second batch continues the external id numbering

    assert org.count("Lead") == 50
    assert all(r["Company"] and r["Status"] for r in org.records("Lead"))
    assert all(r["Name"] for r in org.records("Account"))
    assert len({r["WalkMe_User_Id__c"] for r in org.records("Contact")}) == 20


def test_load_records_coerces_values_and_allows_system_fields(org: OrgData) -> None:
    ids = org.load_records(
        "Contact",
        [
            {
                "LastName": "Hopper",
                "WalkMe_NPS_Score__c": "9",
                "WalkMe_TeachMe_Completed__c": "1",
                "CreatedDate": "2020-01-01T00:00:00Z",
            },
            {"LastName": "Turing", "WalkMe_NPS_Score__c": 7, "Email": ""},
        ],
    )

    first, second = (org.get("Contact", i) for i in ids)
    assert (first["WalkMe_NPS_Score__c"], first["WalkMe_TeachMe_Completed__c"]) == (9.0, True)
    assert first["CreatedDate"] == "2020-01-01T00:00:00.000+0000"
    assert (second["WalkMe_NPS_Score__c"], second["Email"]) == (7.0, None)
    with pytest.raises(ValueError, match="no field 'Nope'"):
        org.load_records("Contact", [{"LastName": "x", "Nope": 1}])
    with pytest.raises(ValueError, match="value not of required type"):
        org.load_records("Contact", [{"LastName": "x", "WalkMe_NPS_Score__c": "high"}])


def test_load_file_reads_csv_and_json(org: OrgData, tmp_path: Path) -> None:
    csv_file = tmp_path / "people.csv"
    csv_file.write_text("LastName,Email\nHopper,grace@navy.mil\nTuring,\n", encoding="utf-8")
    json_file = tmp_path / "people.json"
    json_file.write_text(json.dumps([{"Name": "Navy", "NumberOfEmployees": 300}]))

    assert len(org.load_file("Contact", csv_file)) == 2
    assert len(org.load_file("Account", json_file)) == 1
    assert {r["Email"] for r in org.records("Contact")} == {"grace@navy.mil", None}
    assert org.records("Account")[0]["NumberOfEmployees"] == 300


def test_reset_empties_every_object_and_restarts_ids(org: OrgData) -> None:
    first_id = created_id(org, "Contact", {"LastName": "A"})
    org.lock_faults.lock_fraction(1.0)
    org.reset()

    assert org.count("Contact") == 0
    assert created_id(org, "Contact", {"LastName": "B"}) == first_id


def test_two_orgs_mint_different_ids() -> None:
    one = OrgData("production", "00D000000000001AAA", SCHEMAS)
    two = OrgData("sandbox", "00D000000000002AAA", SCHEMAS)
    assert (
        one.create("Contact", {"LastName": "A"}).id != two.create("Contact", {"LastName": "A"}).id
    )


# ------------------------------------------------------------------------------------------
# describe metadata
# ------------------------------------------------------------------------------------------

# The keys of a real describe field (salesforce-api.md section 6.6).
DESCRIBE_FIELD_KEYS = {
    *("aggregatable", "aiPredictionField", "autoNumber", "byteLength", "calculated"),
    *("calculatedFormula", "cascadeDelete", "caseSensitive", "compoundFieldName"),
    *("controllerName", "createable", "custom", "defaultValue", "defaultValueFormula"),
    *("defaultedOnCreate", "dependentPicklist", "deprecatedAndHidden", "digits"),
    *("displayLocationInDecimal", "encrypted", "externalId", "extraTypeInfo", "filterable"),
    *("filteredLookupInfo", "formulaTreatNullNumberAsZero", "groupable", "highScaleNumber"),
    *("htmlFormatted", "idLookup", "inlineHelpText", "label", "length", "mask", "maskType"),
    *("name", "nameField", "namePointing", "nillable", "permissionable", "picklistValues"),
    *("polymorphicForeignKey", "precision", "queryByDistance", "referenceTargetField"),
    *("referenceTo", "relationshipName", "relationshipOrder", "restrictedDelete"),
    *("restrictedPicklist", "scale", "searchPrefilterable", "soapType", "sortable", "type"),
    *("unique", "updateable", "writeRequiresMasterRead"),
}


def test_every_field_describe_has_all_real_keys() -> None:
    for schema in SCHEMAS.values():
        for fld in schema.fields:
            assert set(fld.describe()) == DESCRIBE_FIELD_KEYS, (schema.name, fld.name)


def test_field_describe_reports_type_specific_sizes() -> None:
    contact = SCHEMAS["Contact"]
    user_id = contact.field("walkme_user_id__c")
    score = contact.field("WalkMe_NPS_Score__c")
    progress = contact.field("WalkMe_TeachMe_Progress__c")
    employees = SCHEMAS["Account"].field("NumberOfEmployees")
    assert user_id and score and progress and employees

    assert {
        k: user_id.describe()[k] for k in ("type", "length", "externalId", "unique", "soapType")
    } == {
        "type": "string",
        "length": 100,
        "externalId": True,
        "unique": True,
        "soapType": "xsd:string",
    }
    assert {k: score.describe()[k] for k in ("type", "precision", "scale", "length")} == {
        "type": "double",
        "precision": 2,
        "scale": 0,
        "length": 0,
    }
    assert (progress.describe()["type"], progress.describe()["scale"]) == ("percent", 2)
    assert (employees.describe()["digits"], employees.describe()["soapType"]) == (8, "xsd:int")


def test_field_flags_for_required_calculated_and_picklist_fields() -> None:
    lead_schema = SCHEMAS["Lead"]
    last_name, name, status, formula = (
        lead_schema.field(n).describe()  # type: ignore[union-attr]
        for n in ("LastName", "Name", "Status", "WalkMe_Score_Formula__c")
    )
    assert (last_name["nillable"], last_name["createable"], last_name["defaultedOnCreate"]) == (
        False,
        True,
        False,
    )
    assert (name["calculated"], name["createable"], name["updateable"]) == (True, False, False)
    assert formula["calculatedFormula"] and not formula["updateable"]
    assert status["defaultValue"] == "Open - Not Contacted"
    assert status["restrictedPicklist"] is True
    assert status["picklistValues"][0] == {
        "active": True,
        "defaultValue": True,
        "label": "Open - Not Contacted",
        "validFor": None,
        "value": "Open - Not Contacted",
    }
    email = lead_schema.field("EMAIL")
    assert email and email.describe()["idLookup"] and email.describe()["filterable"]


def test_object_describe_and_global_entry() -> None:
    contact: ObjectSchema = SCHEMAS["Contact"]
    describe = contact.describe("59.0")
    entry = contact.global_entry("59.0")

    for key in ("name", "label", "labelPlural", "keyPrefix", "custom", "createable", "updateable"):
        assert key in describe and key in entry
    assert describe["childRelationships"] == [] and describe["recordTypeInfos"] == []
    assert describe["urls"]["describe"] == "/services/data/v59.0/sobjects/Contact/describe"
    assert [f["name"] for f in describe["fields"]][:2] == ["Id", "IsDeleted"]
    assert entry["keyPrefix"] == "003" and "fields" not in entry


def test_a_new_schema_file_is_a_new_object(tmp_path: Path) -> None:
    (tmp_path / "Widget__c.yaml").write_text(
        "name: Widget__c\nkeyPrefix: a01\nfields:\n"
        "  - {name: Id, type: id}\n"
        "  - {name: Size__c, type: int, digits: 3}\n",
        encoding="utf-8",
    )
    schemas = load_schemas(tmp_path)
    org = OrgData("custom", ORG_ID, schemas)

    result = org.create("Widget__c", {"Size__c": 12})
    too_big = org.create("Widget__c", {"Size__c": 1000})

    assert schemas["Widget__c"].custom and result.success and (result.id or "").startswith("a01")
    assert too_big.errors[0].status_code == "NUMBER_OUTSIDE_VALID_RANGE"

"""Custom and managed-package objects, and lookups set through relationship syntax.

Salesforce lets a write set a lookup by the parent's external id (or idLookup field) instead of
its Id: ``{"Contact__r": {"Email": "x"}}`` in JSON, the column ``Contact__r.Email`` in Bulk CSV.
The parent must be exactly one record; otherwise the record fails.
"""

from __future__ import annotations

from typing import Any

import pytest
from simple_salesforce import Salesforce

from sf_emulator.model import load_schemas
from sf_emulator.store import OrgData

SCHEMAS = load_schemas()
PROGRESS = "WalkMe_Course_Progress__c"
USAGE = "JBCXM__UsageData__c"


@pytest.fixture
def org() -> OrgData:
    org = OrgData("test", "00D000000000001AAA", SCHEMAS)
    org.load_records(
        "Contact",
        [
            {"LastName": "Hopper", "Email": "grace@example.com"},
            {"LastName": "Twin", "Email": "twin@example.com"},
            {"LastName": "Twin2", "Email": "TWIN@example.com"},
        ],
    )
    return org


def contact_id(org: OrgData, email: str) -> str:
    return next(r["Id"] for r in org.records("Contact") if r.get("Email") == email)


def progress(**fields: Any) -> dict[str, Any]:
    return {"attributes": {"type": PROGRESS}, "Name": "Intro", **fields}


def test_custom_and_namespaced_objects_describe_like_a_real_org(direct: Salesforce) -> None:
    described = direct.WalkMe_Course_Progress__c.describe()
    assert described["custom"] is True and described["keyPrefix"] == "a0W"
    fields = {f["name"]: f for f in described["fields"]}
    assert fields["Name"]["nameField"] is True
    assert fields["Name"]["nillable"] is False and fields["Name"]["defaultedOnCreate"] is False
    key = fields["WalkMe_Progress_Key__c"]
    assert (key["externalId"], key["unique"], key["idLookup"], key["custom"]) == (
        True,
        True,
        True,
        True,
    )
    lookup = fields["Contact__c"]
    assert (lookup["type"], lookup["referenceTo"], lookup["relationshipName"]) == (
        "reference",
        ["Contact"],
        "Contact__r",
    )
    source = fields["WalkMe_Source__c"]
    assert source["restrictedPicklist"] is True
    assert [p["value"] for p in source["picklistValues"]] == ["TeachMe", "Onboarding", "Manual"]

    usage = direct.JBCXM__UsageData__c.describe()
    assert usage["name"] == USAGE and usage["custom"] is True
    names = {f["name"] for f in usage["fields"]}
    assert {"JBCXM__WalkMe_User_Id__c", "JBCXM__Contact__c", "JBCXM__Channels__c"} <= names
    listed = {o["name"] for o in direct.describe()["sobjects"]}
    assert {PROGRESS, USAGE} <= listed


def test_collections_upsert_sets_the_lookup_by_the_parents_email(org: OrgData) -> None:
    first = org.save_many(
        "upsert",
        PROGRESS,
        [progress(WalkMe_Progress_Key__c="u1|intro", Contact__r={"Email": "GRACE@example.com"})],
        all_or_none=False,
        ext_field="WalkMe_Progress_Key__c",
    )
    assert first[0].success and first[0].created
    (record,) = org.records(PROGRESS)
    assert record["Contact__c"] == contact_id(org, "grace@example.com")

    again = org.save_many(
        "upsert",
        PROGRESS,
        [progress(WalkMe_Progress_Key__c="u1|intro", WalkMe_Progress__c=50)],
        all_or_none=False,
        ext_field="WalkMe_Progress_Key__c",
    )
    assert again[0].success and not again[0].created and again[0].id == record["Id"]
    (record,) = org.records(PROGRESS)
    assert record["WalkMe_Progress__c"] == 50.0


@pytest.mark.parametrize(
    ("email", "code", "words"),
    [
        ("nobody@example.com", "INVALID_FIELD", "not found for field Email in entity Contact"),
        ("twin@example.com", "DUPLICATE_EXTERNAL_ID", "matched more than one record"),
    ],
)
def test_a_parent_key_matching_no_or_several_records_fails_the_record(
    org: OrgData, email: str, code: str, words: str
) -> None:
    (result,) = org.save_many(
        "upsert",
        PROGRESS,
        [progress(WalkMe_Progress_Key__c="k", Contact__r={"Email": email})],
        all_or_none=False,
        ext_field="WalkMe_Progress_Key__c",
    )
    assert not result.success
    assert result.errors[0].status_code == code
    assert words in result.errors[0].message
    assert org.records(PROGRESS) == []


def test_relationship_by_a_field_that_is_not_an_external_id_fails(org: OrgData) -> None:
    (result,) = org.save_many(
        "upsert",
        PROGRESS,
        [progress(WalkMe_Progress_Key__c="k", Contact__r={"LastName": "Hopper"})],
        all_or_none=False,
        ext_field="WalkMe_Progress_Key__c",
    )
    assert result.errors[0].status_code == "INVALID_FIELD"
    assert "not an external id" in result.errors[0].message


def test_bulk_upsert_csv_sets_the_lookup_from_a_relationship_column(org: OrgData) -> None:
    data = (
        "WalkMe_Progress_Key__c,Name,Contact__r.Email,WalkMe_Source__c\n"
        "u1|intro,Intro,grace@example.com,TeachMe\n"
        "u2|intro,Intro,nobody@example.com,TeachMe\n"
        "u3|intro,Intro,grace@example.com,Bogus\n"
    )
    result = org.bulk_ingest(
        PROGRESS, "upsert", data.encode(), external_id_field="WalkMe_Progress_Key__c"
    )
    assert (result.processed, result.failed) == (3, 2)
    (record,) = org.records(PROGRESS)
    assert record["Contact__c"] == contact_id(org, "grace@example.com")
    assert "not found for field Email" in result.failed_csv
    assert "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST" in result.failed_csv
    assert '"true","u1|intro"' in result.successful_csv


def test_creating_without_the_name_field_fails_with_required_field_missing(org: OrgData) -> None:
    (result,) = org.save_many(
        "upsert",
        USAGE,
        [{"attributes": {"type": USAGE}, "JBCXM__WalkMe_User_Id__c": "u1"}],
        all_or_none=False,
        ext_field="JBCXM__WalkMe_User_Id__c",
    )
    assert result.errors[0].status_code == "REQUIRED_FIELD_MISSING"
    assert "Name" in result.errors[0].message


def test_simple_salesforce_upserts_a_namespaced_object_with_a_relationship(
    sf_emulator: Any, direct: Salesforce
) -> None:
    sf_emulator.org("sandbox").data.load_records(
        "Contact", [{"LastName": "Hopper", "Email": "grace@example.com"}]
    )
    saves = direct.restful(
        f"composite/sobjects/{USAGE}/JBCXM__WalkMe_User_Id__c",
        method="PATCH",
        json={
            "allOrNone": False,
            "records": [
                {
                    "attributes": {"type": USAGE},
                    "JBCXM__WalkMe_User_Id__c": "u1",
                    "Name": "grace@example.com",
                    "JBCXM__Contact__r": {"Email": "grace@example.com"},
                    "JBCXM__Channels__c": "Web;Mobile",
                    "JBCXM__Activity__c": "Active",
                }
            ],
        },
    )
    assert saves[0]["success"] and saves[0]["created"]
    row = direct.query(f"SELECT Name, JBCXM__Contact__c, JBCXM__Channels__c FROM {USAGE}")[
        "records"
    ][0]
    contact = direct.query("SELECT Id FROM Contact")["records"][0]["Id"]
    assert (row["Name"], row["JBCXM__Contact__c"], row["JBCXM__Channels__c"]) == (
        "grace@example.com",
        contact,
        "Web;Mobile",
    )


def test_a_restricted_multi_select_picklist_checks_each_choice(org: OrgData) -> None:
    def save(channels: str) -> Any:
        (result,) = org.save_many(
            "upsert",
            USAGE,
            [
                {
                    "attributes": {"type": USAGE},
                    "JBCXM__WalkMe_User_Id__c": channels,
                    "Name": "n",
                    "JBCXM__Activity__c": "Active",
                    "JBCXM__Channels__c": channels,
                }
            ],
            all_or_none=False,
            ext_field="JBCXM__WalkMe_User_Id__c",
        )
        return result

    assert save("Web;Mobile").success
    failed = save("Web;Fax")
    assert failed.errors[0].status_code == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"

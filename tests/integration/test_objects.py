"""End to end: custom and managed-package objects, upsert, composite keys and lookups.

Real DAGs (dag.test) against the local Salesforce, through the real SalesforceHook over HTTPS;
every assertion reads what Salesforce holds, field by field.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
import yaml

from include.walkme_sync.airflow.pages import render
from include.walkme_sync.airflow.sync_report import SyncReport, build_report
from include.walkme_sync.ledger import Ledger
from tests.integration.harness import SyncHarness

pytestmark = pytest.mark.slow

PROGRESS = "WalkMe_Course_Progress__c"
USAGE = "JBCXM__UsageData__c"
TEACHME_HEADER = [
    "User ID",
    "Email",
    "Course Name",
    "Course Completed",
    "Course Progress",
    "Quiz Name",
    "Quiz Score",
    "Quiz Date",
]
U1 = "0f8fad5b-d9cb-469f-a165-70867728950e"
U2 = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
U3 = "16fd2706-8baf-433b-82eb-8c7fada847da"
U4 = "886313e1-3b8a-5372-9b90-0c9aee199e5d"
U5 = "c56a4180-65aa-42ec-a945-5fd21dec0538"


def teachme_config(location: Path, **overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "id": "teachme",
        "name": "TeachMe -> Course Progress",
        "environment": "sandbox",
        "report": {
            "name": "teachme",
            "source": {
                "kind": "files",
                "location": str(location),
                "pattern": "*.csv",
                "pick": "newest",
            },
            "key_columns": ["User ID", "Course Name"],
        },
        "object": {"name": PROGRESS, "key_field": "WalkMe_Progress_Key__c"},
        "mappings": [
            {"column": "Course Name", "field": "Name"},
            {"column": "Course Name", "field": "WalkMe_Course__c"},
            {"column": "User ID", "field": "WalkMe_User_Id__c"},
            {"column": "Course Completed", "field": "WalkMe_Completed__c"},
            {"column": "Course Progress", "field": "WalkMe_Progress__c"},
            {"column": "Quiz Name", "field": "WalkMe_Quiz_Name__c"},
            {"column": "Quiz Score", "field": "WalkMe_Quiz_Score__c"},
            {"column": "Quiz Date", "field": "WalkMe_Quiz_Date__c"},
        ],
        "lookups": [
            {"field": "Contact__c", "column": "Email", "parent_field": "Email", "key_kind": "email"}
        ],
        "write": {"mode": "upsert", "defaults": {"WalkMe_Source__c": "TeachMe"}},
        "matching": {"duplicate_report_keys": "reject"},
    }
    for key, value in overrides.items():
        config[key] = {**config[key], **value} if isinstance(value, dict) else value
    return config


def write_integration(harness: SyncHarness, config: dict[str, Any]) -> None:
    path = harness.integrations / f"{config['id']}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")


def demo_config(integration_id: str, exports: Path) -> dict[str, Any]:
    """A demo integration's config, reading its report from `exports` instead of the samples."""
    config: dict[str, Any] = yaml.safe_load(
        Path(f"demo/integrations/{integration_id}.yaml").read_text()
    )
    config["report"]["source"] = {
        "kind": "files",
        "location": str(exports),
        "pattern": "*.csv",
        "pick": "newest",
    }
    return config


def write_csv(folder: Path, name: str, header: list[str], rows: list[list[Any]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / name).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def seed_contacts(emulator: Any, emails: list[str]) -> list[str]:
    records = [{"LastName": f"Person{i}", "Email": email} for i, email in enumerate(emails)]
    ids: list[str] = emulator.org("sandbox").data.load_records("Contact", records)
    return ids


def latest_problems(integration_id: str) -> dict[int, dict[str, Any]]:
    """The latest run's row problems in the ledger, by report row."""
    run = max(Ledger().runs(integration_id), key=lambda r: r["id"])
    return {p["row_number"]: p for p in Ledger().row_problems(run["id"])}


def records(emulator: Any, obj: str, key: str) -> dict[str, dict[str, Any]]:
    return {r[key]: r for r in emulator.org("sandbox").data.records(obj)}


TEACHME_ROWS = [
    # two courses of one user: two records, one Contact (matched case- and space-insensitively)
    [
        U1,
        " Ana@Example.com ",
        "Reporting 101",
        "true",
        "100%",
        "Dashboards Quiz",
        92.5,
        "2026-11-20 10:00:00",
    ],
    [
        U1,
        "ana@example.com",
        "Expense Policy",
        "false",
        "40.5%",
        "Expenses Quiz",
        61,
        "2026-11-21 08:30:00",
    ],
    # the same user id in upper case and braces, and the course in another case: one key
    [U2, "bo@example.com", "Intro | Part 1", "false", "10%", "", "", ""],
    # no Contact has this e-mail: unmatched, nothing created
    [U3, "nobody@example.com", "Reporting 101", "false", "5%", "", "", ""],
    # two Contacts share this e-mail: ambiguous, nothing created
    [U4, "twin@example.com", "Reporting 101", "false", "5%", "", "", ""],
    # the same user and course twice: both copies rejected with the reason
    [U5, "cy@example.com", "Reporting 101", "false", "5%", "", "", ""],
    [U5, "cy@example.com", " reporting 101 ", "false", "7%", "", "", ""],
]


@pytest.mark.parametrize("path", ["collections", "bulk"])
def test_teachme_upserts_one_record_per_user_and_course_under_the_contact(
    harness: SyncHarness, sf_emulator: Any, path: str
) -> None:
    ana, bo, _twin1, _twin2, _cy = seed_contacts(
        sf_emulator,
        [
            "ana@example.com",
            "bo@example.com",
            "twin@example.com",
            "TWIN@example.com",
            "cy@example.com",
        ],
    )
    folder = harness.exports / "teachme"
    write_csv(folder, "teachme_2026-11-24.csv", TEACHME_HEADER, TEACHME_ROWS)
    threshold = {"bulk_threshold": 1} if path == "bulk" else {}
    write_integration(harness, teachme_config(folder, write={**threshold}))

    first = harness.run("teachme")

    assert first.state == "success", first.summary
    summary = first.summary
    assert (
        summary["written"],
        summary["unmatched"],
        summary["ambiguous"],
        summary["rejected"],
    ) == (
        3,
        1,
        1,
        2,
    )
    assert summary["report_rows"] == 7
    assert summary["created"] == 3
    (newest, *_older) = Ledger().runs("teachme")
    assert (newest["written"], newest["created"]) == (3, 3)
    report = build_report("walkme_sync__teachme", newest["dag_run_id"])
    assert isinstance(report, SyncReport)
    written = next(b for b in report.buckets if b.bucket == "written")
    assert (written.count, written.detail) == (3, "3 created")
    html = render("sync_report.html", report=report, base="/integrations", airflow="")
    assert '<div class="detail">3 created</div>' in html
    saved = records(sf_emulator, PROGRESS, "WalkMe_Progress_Key__c")
    assert set(saved) == {
        f"{U1}|reporting 101",
        f"{U1}|expense policy",
        f"{U2}|intro \\| part 1",  # the separator inside a part is escaped
    }
    reporting = saved[f"{U1}|reporting 101"]
    assert reporting["Name"] == "Reporting 101"
    assert reporting["Contact__c"] == ana
    assert reporting["WalkMe_User_Id__c"] == U1
    assert reporting["WalkMe_Course__c"] == "Reporting 101"
    assert reporting["WalkMe_Completed__c"] is True
    assert reporting["WalkMe_Progress__c"] == 100.0
    assert reporting["WalkMe_Quiz_Name__c"] == "Dashboards Quiz"
    assert reporting["WalkMe_Quiz_Score__c"] == 92.5
    assert reporting["WalkMe_Quiz_Date__c"].startswith("2026-11-20T10:00:00")
    assert reporting["WalkMe_Source__c"] == "TeachMe"  # the default of created records
    expense = saved[f"{U1}|expense policy"]
    assert (expense["Contact__c"], expense["WalkMe_Progress__c"]) == (ana, 40.5)
    assert expense["WalkMe_Completed__c"] is False
    intro = saved[f"{U2}|intro \\| part 1"]
    assert (intro["Contact__c"], intro["Name"]) == (bo, "Intro | Part 1")
    assert intro.get("WalkMe_Quiz_Name__c") is None  # empty values are skipped

    rows = latest_problems("teachme")
    assert rows[4]["bucket"] == "unmatched"
    assert "no Contact (Contact__c from 'Email') record has this Email" in rows[4]["reason"]
    assert rows[5]["bucket"] == "ambiguous" and "2 Contact" in rows[5]["reason"]
    assert rows[6]["bucket"] == rows[7]["bucket"] == "rejected"
    assert "duplicate report key" in rows[6]["reason"]

    second = harness.run("teachme")

    assert second.state == "success"
    assert (second.summary["written"], second.summary["unchanged"]) == (0, 3)
    assert second.summary["created"] == 0
    assert records(sf_emulator, PROGRESS, "WalkMe_Progress_Key__c") == saved

    # Next day: one course progressed, one user moved e-mail (the lookup follows), one new course.
    write_csv(
        folder,
        "teachme_2026-11-25.csv",
        TEACHME_HEADER,
        [
            [
                U1,
                "ana@example.com",
                "Reporting 101",
                "true",
                "100%",
                "Dashboards Quiz",
                92.5,
                "2026-11-20 10:00:00",
            ],
            [
                U1,
                "bo@example.com",
                "Expense Policy",
                "true",
                "100%",
                "Expenses Quiz",
                61,
                "2026-11-21 08:30:00",
            ],
            [U2, "bo@example.com", "Security Awareness", "false", "0%", "", "", ""],
        ],
    )

    third = harness.run("teachme")

    assert third.state == "success"
    assert (third.summary["written"], third.summary["unchanged"]) == (2, 1)
    assert third.summary["created"] == 1  # the new course; the other written row was updated
    after = records(sf_emulator, PROGRESS, "WalkMe_Progress_Key__c")
    assert len(after) == 4
    updated = after[f"{U1}|expense policy"]
    assert updated["Id"] == expense["Id"]  # updated in place, not created again
    assert (updated["WalkMe_Progress__c"], updated["WalkMe_Completed__c"]) == (100.0, True)
    assert updated["Contact__c"] == bo
    created = after[f"{U2}|security awareness"]
    assert (created["Contact__c"], created["WalkMe_Progress__c"], created["Name"]) == (
        bo,
        0.0,
        "Security Awareness",
    )
    assert latest_problems("teachme") == {}  # every row settled


def test_restricted_picklist_values_are_rejected_with_the_allowed_list(
    harness: SyncHarness, sf_emulator: Any
) -> None:
    seed_contacts(sf_emulator, ["ana@example.com"])
    folder = harness.exports / "picklist"
    write_csv(
        folder,
        "teachme_2026-11-24.csv",
        TEACHME_HEADER,
        [
            [U1, "ana@example.com", "Reporting 101", "true", "100%", "Manual", 90, ""],
            [U1, "ana@example.com", "Expense Policy", "true", "100%", "Basics Quiz", 90, ""],
        ],
    )
    config = teachme_config(folder, id="picklist", write={"mode": "upsert"})
    config["mappings"] = [
        {"column": "Course Name", "field": "Name"},
        {"column": "Quiz Name", "field": "WalkMe_Source__c"},
    ]
    write_integration(harness, config)

    result = harness.run("picklist")

    assert result.state == "success"
    assert (result.summary["written"], result.summary["rejected"]) == (1, 1)
    (saved,) = sf_emulator.org("sandbox").data.records(PROGRESS)
    assert (saved["Name"], saved["WalkMe_Source__c"]) == ("Reporting 101", "Manual")
    (problem,) = latest_problems("picklist").values()
    assert problem["row_number"] == 2
    assert (
        "'Basics Quiz' is not one of the picklist's values (TeachMe, Onboarding, Manual)"
        in (problem["reason"])
    )


def test_upsert_on_a_field_that_is_not_an_external_id_fails_the_run_with_what_to_do(
    harness: SyncHarness, sf_emulator: Any
) -> None:
    folder = harness.exports / "notext"
    write_csv(folder, "teachme_2026-11-24.csv", TEACHME_HEADER, TEACHME_ROWS[:1])
    config = teachme_config(folder, id="notext", object={"key_field": "WalkMe_Course__c"})
    config["mappings"] = [m for m in config["mappings"] if m["field"] != "WalkMe_Course__c"]
    config["mappings"] = [m for m in config["mappings"] if m["field"] != "Name"]
    write_integration(harness, config)

    dag_run = harness.run_dag("notext")

    assert str(dag_run.state) == "failed"
    assert sf_emulator.org("sandbox").data.records(PROGRESS) == []
    status = harness.run_folder("notext", dag_run.run_id) / "step_match.json"
    text = status.read_text()
    assert "WalkMe_Course__c is not an External ID field" in text
    assert "requires Name on a new record" in text


LOGINS_HEADER = ["User ID", "Email", "First Login", "Last Login", "Logins in Past 30 days"]


def test_logins_upsert_into_a_managed_package_object(
    harness: SyncHarness, sf_emulator: Any
) -> None:
    (ana,) = seed_contacts(sf_emulator, ["ana@example.com"])
    folder = harness.exports / "usage"
    write_csv(
        folder,
        "logins_2026-11-24.csv",
        LOGINS_HEADER,
        [
            [U1, "ana@example.com", "2025-01-02 03:04:05", "2026-11-23 10:00:00", 12],
            [U2, "", "2025-06-01 00:00:00", "2026-11-01 09:00:00", 0],  # no e-mail: no lookup
            # no Contact has this e-mail: written all the same (lookups[0].missing: leave_empty)
            [U3, "nobody@example.com", "2025-06-01 00:00:00", "2026-11-01 09:00:00", 3],
        ],
    )
    config = demo_config("logins_to_usage_data", folder)
    write_integration(harness, config)

    first = harness.run("logins_to_usage_data")

    assert first.state == "success", first.summary
    assert first.summary["written"] == 3
    saved = records(sf_emulator, USAGE, "JBCXM__WalkMe_User_Id__c")
    one, two = saved[U1], saved[U2]
    assert (one["Name"], one["JBCXM__Contact__c"], one["JBCXM__Email__c"]) == (
        U1,
        ana,
        "ana@example.com",
    )
    assert one["JBCXM__FirstLogin__c"].startswith("2025-01-02T03:04:05")
    assert one["JBCXM__LastLogin__c"].startswith("2026-11-23T10:00:00")
    assert one["JBCXM__Logins30Days__c"] == 12
    assert one["JBCXM__Activity__c"] == two["JBCXM__Activity__c"] == "Active"
    assert two.get("JBCXM__Contact__c") is None and two["JBCXM__Logins30Days__c"] == 0
    assert saved[U3].get("JBCXM__Contact__c") is None
    assert saved[U3]["JBCXM__Email__c"] == "nobody@example.com"

    second = harness.run("logins_to_usage_data")

    assert (second.summary["written"], second.summary["unchanged"]) == (0, 3)


def test_logins_land_on_contacts_by_email(harness: SyncHarness, sf_emulator: Any) -> None:
    ana, bo = seed_contacts(sf_emulator, ["ana@example.com", "bo@example.com"])
    folder = harness.exports / "logins_contact"
    write_csv(
        folder,
        "logins_2026-11-24.csv",
        LOGINS_HEADER,
        [
            [U1, " Ana@Example.com", "2025-01-02 03:04:05", "2026-11-23 10:00:00", 12],
            [U2, "bo@example.com", "2025-06-01 00:00:00", "2026-11-01 09:00:00", 0],
            [U3, "", "2025-06-01 00:00:00", "2026-11-01 09:00:00", 3],  # no e-mail: no key
        ],
    )
    config = demo_config("logins_to_contact", folder)
    write_integration(harness, config)

    first = harness.run("logins_to_contact")

    assert first.state == "success", first.summary
    assert (first.summary["written"], first.summary["rejected"]) == (2, 1)
    contacts = {r["Id"]: r for r in sf_emulator.org("sandbox").data.records("Contact")}
    assert contacts[ana]["WalkMe_First_Login__c"].startswith("2025-01-02T03:04:05")
    assert contacts[ana]["WalkMe_Last_Login__c"].startswith("2026-11-23T10:00:00")
    assert contacts[ana]["WalkMe_Logins_Last_30_Days__c"] == 12
    assert contacts[bo]["WalkMe_Logins_Last_30_Days__c"] == 0
    assert len(contacts) == 2  # update mode: nothing created

    second = harness.run("logins_to_contact")

    assert (second.summary["written"], second.summary["unchanged"]) == (0, 2)


def test_onboarding_completion_lands_as_a_percent_on_contacts(
    harness: SyncHarness, sf_emulator: Any
) -> None:
    ana, bo = seed_contacts(sf_emulator, ["ana@example.com", "bo@example.com"])
    folder = harness.exports / "onboarding"
    write_csv(
        folder,
        "onboarding_2026-11-24.csv",
        [
            "User ID",
            "Email",
            "Onboarding Completion Rate",
            "Items Completed",
            "Items Total",
            "Last Activity",
        ],
        [
            [U1, "ana@example.com", "87.5%", 7, 8, "2026-11-20 10:00:00"],
            [U2, "BO@example.com", "12.345", 1, 8, "2026-11-20 10:00:00"],
        ],
    )
    config = demo_config("onboarding_to_contact", folder)
    write_integration(harness, config)

    first = harness.run("onboarding_to_contact")

    assert first.state == "success"
    assert first.summary["written"] == 2
    contacts = {r["Id"]: r for r in sf_emulator.org("sandbox").data.records("Contact")}
    assert contacts[ana]["WalkMe_Onboarding_Completion__c"] == 87.5
    assert contacts[bo]["WalkMe_Onboarding_Completion__c"] == 12.35  # the field's scale: 2
    second = harness.run("onboarding_to_contact")
    assert (second.summary["written"], second.summary["unchanged"]) == (0, 2)


def test_a_percentage_exported_on_a_0_to_1_scale_is_stated_in_the_config(
    harness: SyncHarness, sf_emulator: Any
) -> None:
    (ana,) = seed_contacts(sf_emulator, ["ana@example.com"])
    folder = harness.exports / "fraction"
    write_csv(
        folder,
        "onboarding_2026-11-24.csv",
        ["User ID", "Email", "Onboarding Completion Rate"],
        [[U1, "ana@example.com", "0.875"]],
    )
    config = demo_config("onboarding_to_contact", folder)
    config["id"] = "fraction"
    config["mappings"][0]["percent_scale"] = "0-1"
    write_integration(harness, config)

    assert harness.run("fraction").summary["written"] == 1

    (contact,) = sf_emulator.org("sandbox").data.records("Contact")
    assert (contact["Id"], contact["WalkMe_Onboarding_Completion__c"]) == (ana, 87.5)
    assert harness.run("fraction").summary["unchanged"] == 1


def test_an_update_sets_a_lookup_by_the_parents_key_on_existing_records_only(
    harness: SyncHarness, sf_emulator: Any
) -> None:
    ana, bo = seed_contacts(sf_emulator, ["ana@example.com", "bo@example.com"])
    key = f"{U1}|reporting 101"
    sf_emulator.org("sandbox").data.load_records(
        PROGRESS, [{"Name": "Reporting 101", "WalkMe_Progress_Key__c": key, "Contact__c": ana}]
    )
    folder = harness.exports / "relink"
    write_csv(
        folder,
        "teachme_2026-11-24.csv",
        TEACHME_HEADER,
        [
            [U1, "BO@example.com", "Reporting 101", "true", "50%", "", "", ""],
            [U2, "bo@example.com", "Reporting 101", "true", "50%", "", "", ""],  # no record
        ],
    )
    config = teachme_config(folder, id="relink", write={"mode": "update"})
    del config["write"]["defaults"]
    config["mappings"] = [{"column": "Course Progress", "field": "WalkMe_Progress__c"}]
    write_integration(harness, config)

    result = harness.run("relink")

    assert (result.summary["written"], result.summary["unmatched"]) == (1, 1)
    assert result.summary["created"] == 0
    (record,) = sf_emulator.org("sandbox").data.records(PROGRESS)
    assert (record["Contact__c"], record["WalkMe_Progress__c"]) == (bo, 50.0)
    assert harness.run("relink").summary["unchanged"] == 1


def test_an_upsert_step_run_again_for_the_same_run_creates_nothing_twice(
    harness: SyncHarness, sf_emulator: Any
) -> None:
    """Airflow retrying the upsert task after it created records (e.g. the worker died before
    the task was marked done) re-sends the same plan: Salesforce's upsert finds the records by
    their External ID and updates them; no duplicate is created."""
    from datetime import UTC, datetime

    seed_contacts(sf_emulator, ["ana@example.com"])
    folder = harness.exports / "again"
    write_csv(folder, "teachme_2026-11-24.csv", TEACHME_HEADER, TEACHME_ROWS[:2])
    write_integration(harness, teachme_config(folder, id="again"))
    at = datetime(2026, 11, 24, 8, tzinfo=UTC)

    first = harness.run("again", at=at)
    created = records(sf_emulator, PROGRESS, "WalkMe_Progress_Key__c")
    retried = harness.run(
        "again", at=at, skip_tasks=("extract_report", "validate_report", "match_keys")
    )

    assert (first.summary["created"], len(created)) == (2, 2)
    assert retried.state == "success"
    assert (retried.summary["written"], retried.summary["created"]) == (2, 0)
    after = records(sf_emulator, PROGRESS, "WalkMe_Progress_Key__c")
    assert {k: r["Id"] for k, r in after.items()} == {k: r["Id"] for k, r in created.items()}


TYPES = "WalkMe_Type_Sample__c"


@pytest.mark.parametrize("path", ["collections", "bulk"])
def test_every_field_type_a_report_feeds_is_written_and_read_back_unchanged(
    harness: SyncHarness, sf_emulator: Any, path: str
) -> None:
    """One report into a field of each type (WalkMe_Type_Sample__c), created by upsert; values
    a real org refuses are rejected with the reason; a second run finds nothing to write."""
    folder = harness.exports / "types"
    write_csv(
        folder,
        "teachme_2026-11-24.csv",
        TEACHME_HEADER,
        [
            [
                U1,
                "A@Example.com",
                "Web;Mobile",
                "true",
                "87.5%",
                "Basics Quiz",
                92,
                "2026-11-20 10:00:00",
            ],
            [
                U2,
                "c@example.com",
                "Web;Fax",
                "false",
                "10%",
                "Other Quiz",
                5,
                "2026-11-21 23:30:00",
            ],
            [
                U3,
                "e@example.com",
                "Desktop",
                "false",
                "0.5",
                "Pipeline Quiz",
                1234,
                "2026-11-22 00:00:00",
            ],
            [
                U4,
                "g@example.com",
                "Desktop",
                "false",
                "12.345",
                "Pipeline Quiz",
                7.25,
                "2026-11-23 23:59:59",
            ],
        ],
    )
    mappings = [
        ("User ID", "Name"),
        ("Course Name", "WalkMe_Text__c"),
        ("Course Name", "WalkMe_Text_Area__c"),
        ("Course Name", "WalkMe_Long_Text__c"),
        ("Email", "WalkMe_Email__c"),
        ("Quiz Name", "WalkMe_Phone__c"),
        ("Quiz Name", "WalkMe_Url__c"),
        ("Quiz Name", "WalkMe_Picklist__c"),
        ("Quiz Name", "WalkMe_Restricted__c"),
        ("Course Name", "WalkMe_Multi__c"),
        ("Course Completed", "WalkMe_Checkbox__c"),
        ("Quiz Score", "WalkMe_Double__c"),
        ("Quiz Score", "WalkMe_Currency__c"),
        ("Course Progress", "WalkMe_Percent__c"),
        ("Quiz Date", "WalkMe_Date__c"),
        ("Quiz Date", "WalkMe_Date_Time__c"),
    ]
    config = {
        "id": "types",
        "name": "Types",
        "environment": "sandbox",
        "report": {
            "name": "teachme",
            "source": {"kind": "files", "location": str(folder), "pick": "newest"},
            "key_column": "User ID",
            "key_kind": "guid",
        },
        "object": {"name": TYPES, "key_field": "WalkMe_Key__c"},
        "mappings": [{"column": c, "field": f} for c, f in mappings]
        + [{"column": "Quiz Score", "field": "WalkMe_Int__c"}],
        "write": {"mode": "upsert", **({"bulk_threshold": 1} if path == "bulk" else {})},
    }
    write_integration(harness, config)

    first = harness.run("types")

    assert first.state == "success", {
        r: (p["reason"], p["error_code"]) for r, p in latest_problems("types").items()
    }
    assert (first.summary["written"], first.summary["rejected"]) == (1, 3)
    (saved,) = sf_emulator.org("sandbox").data.records(TYPES)
    expected = {
        "WalkMe_Key__c": U1,
        "Name": U1,
        "WalkMe_Text__c": "Web;Mobile",
        "WalkMe_Text_Area__c": "Web;Mobile",
        "WalkMe_Long_Text__c": "Web;Mobile",
        "WalkMe_Email__c": "A@Example.com",
        "WalkMe_Phone__c": "Basics Quiz",
        "WalkMe_Url__c": "Basics Quiz",
        "WalkMe_Picklist__c": "Basics Quiz",
        "WalkMe_Restricted__c": "Basics Quiz",
        "WalkMe_Multi__c": "Web;Mobile",
        "WalkMe_Checkbox__c": True,
        "WalkMe_Int__c": 92,
        "WalkMe_Double__c": 92.0,
        "WalkMe_Currency__c": 92.0,
        "WalkMe_Percent__c": 87.5,
        "WalkMe_Date__c": "2026-11-20",
    }
    assert {name: saved.get(name) for name in expected} == expected
    assert saved["WalkMe_Date_Time__c"].startswith("2026-11-20T10:00:00")
    reasons = {row: problem["reason"] for row, problem in latest_problems("types").items()}
    assert "'Fax' is not one of the picklist's values (Web, Mobile, Desktop)" in reasons[2]
    assert (
        "'Other Quiz' is not one of the picklist's values (Basics Quiz, Pipeline Quiz)"
        in (reasons[2])
    )
    assert "WalkMe_Int__c" in reasons[3]  # 1234 does not fit 3 digits
    assert "WalkMe_Int__c" in reasons[4]  # 7.25 is not a whole number

    second = harness.run("types")

    assert (second.summary["written"], second.summary["unchanged"]) == (0, 1)


def test_a_dry_run_of_an_upsert_says_what_it_would_create_and_creates_nothing(
    harness: SyncHarness, sf_emulator: Any
) -> None:
    seed_contacts(sf_emulator, ["ana@example.com"])
    folder = harness.exports / "dry"
    write_csv(folder, "teachme_2026-11-24.csv", TEACHME_HEADER, TEACHME_ROWS[:2])
    write_integration(harness, teachme_config(folder, id="dry"))

    result = harness.run("dry", dry_run=True)

    assert result.state == "success"
    assert (result.summary["would_write"], result.summary["written"]) == (2, 0)
    assert result.summary["created"] == 0
    assert sf_emulator.org("sandbox").data.records(PROGRESS) == []
    import pandas as pd

    folder_of_run = harness.run_folder("dry", result.summary["dag_run_id"])
    outcomes = pd.read_parquet(folder_of_run / "outcomes_write.parquet")
    assert set(outcomes["bucket"]) == {"would_write"}
    reasons = outcomes["reason"].tolist()
    assert all(r.startswith("dry run: would create with ") for r in reasons), reasons
    assert "Contact__r.Email" in reasons[0] and "WalkMe_Source__c" in reasons[0]

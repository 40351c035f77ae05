"""End to end: real DAGs (dag.test) against the local Salesforce, asserting what Salesforce holds.

Every test goes through the generated DAG: extract_report -> validate_report -> match_keys ->
upsert -> record_run, with the Airflow connection configured like a real org (proxy mode).
"""

from __future__ import annotations

from typing import Any

import pytest

from include.walkme_sync.ledger import Ledger
from tests.integration.harness import SyncHarness

pytestmark = pytest.mark.slow
BUCKETS = (
    "rejected",
    "unmatched",
    "ambiguous",
    "unchanged",
    "written",
    "failed",
    "would_write",
    "not_attempted",
)


def seed_leads(emulator: Any, emails: list[str]) -> dict[str, str]:
    """One Lead per e-mail (as given, case included); returns e-mail -> Lead Id."""
    records = [
        {"FirstName": f"First{i}", "LastName": f"Last{i}", "Company": "Acme", "Email": email}
        for i, email in enumerate(emails)
    ]
    ids = emulator.org("sandbox").data.load_records("Lead", records)
    return dict(zip(emails, ids, strict=True))


def leads_by_id(emulator: Any) -> dict[str, dict[str, Any]]:
    return {record["Id"]: record for record in emulator.org("sandbox").data.records("Lead")}


def assert_buckets_add_up(summary: dict[str, Any]) -> None:
    assert sum(summary[bucket] for bucket in BUCKETS) == summary["report_rows"]


def login_rows(count: int, *, offset: int = 0) -> list[list[Any]]:
    return [
        [
            f"user{i}@example.com",
            "2026-01-05 10:00:00",
            f"2026-11-{(i % 20) + 1:02d} 09:15:02",
            i % 30,
        ]
        for i in range(offset, offset + count)
    ]


def test_seed_example_writes_every_mapped_field(harness: SyncHarness, sf_emulator: Any) -> None:
    ids = seed_leads(sf_emulator, ["ana@example.com", "bo@example.com"])
    harness.write_config("seed_example")
    harness.write_export(
        "seed_example",
        [
            ["ana@example.com", "2025-03-01 08:00:00", "2026-11-23 17:45:10", 12],
            ["bo@example.com", "2024-12-31 23:59:59", "2026-11-24 06:01:00", 0],
        ],
    )

    result = harness.run("seed_example")

    assert result.state == "success"
    assert result.summary["status"] == "Completed"
    assert result.summary["written"] == 2
    assert_buckets_add_up(result.summary)
    leads = leads_by_id(sf_emulator)
    ana, bo = leads[ids["ana@example.com"]], leads[ids["bo@example.com"]]
    assert ana["WalkMe_First_Login__c"].startswith("2025-03-01T08:00:00")
    assert ana["WalkMe_Last_Login__c"].startswith("2026-11-23T17:45:10")
    assert ana["WalkMe_Logins_Last_30_Days__c"] == 12
    assert bo["WalkMe_First_Login__c"].startswith("2024-12-31T23:59:59")
    assert bo["WalkMe_Logins_Last_30_Days__c"] == 0
    # The ledger holds the run with the same counts.
    (run,) = Ledger().runs("seed_example")
    assert run["status"] == "Completed"
    assert run["written"] == 2 and run["report_rows"] == 2
    assert run["runtime_seconds"] >= 0


def test_second_run_writes_nothing_and_uses_fewer_calls(
    harness: SyncHarness, sf_emulator: Any
) -> None:
    seed_leads(sf_emulator, [f"user{i}@example.com" for i in range(30)])
    harness.write_config("rerun")
    harness.write_export("rerun", login_rows(30))

    first = harness.run("rerun")
    second = harness.run("rerun")

    assert first.summary["written"] == 30
    assert second.summary["status"] == "Completed"
    assert second.summary["written"] == 0
    assert second.summary["unchanged"] == 30
    assert second.summary["api_calls"] < first.summary["api_calls"]


def test_one_percent_change_writes_exactly_those_rows(
    harness: SyncHarness, sf_emulator: Any
) -> None:
    emails = [f"user{i}@example.com" for i in range(200)]
    ids = seed_leads(sf_emulator, emails)
    harness.write_config("one_percent")
    rows = login_rows(200)
    harness.write_export("one_percent", rows)
    harness.run("one_percent")

    changed = {3, 77}  # 1% of 200 rows
    for index in changed:
        rows[index][3] = 29 if rows[index][3] != 29 else 28
    harness.write_export("one_percent", rows, name="login_review_2026-11-25.csv")
    result = harness.run("one_percent")

    assert result.summary["written"] == 2
    assert result.summary["unchanged"] == 198
    leads = leads_by_id(sf_emulator)
    for index in changed:
        assert leads[ids[emails[index]]]["WalkMe_Logins_Last_30_Days__c"] == rows[index][3]


def test_email_keys_match_across_case_and_whitespace(
    harness: SyncHarness, sf_emulator: Any
) -> None:
    ids = seed_leads(sf_emulator, ["Mixed.Case@Example.com"])
    harness.write_config("case_keys")
    harness.write_export(
        "case_keys",
        [["  mixed.case@EXAMPLE.COM ", "2026-01-01 00:00:00", "2026-11-01 00:00:00", 4]],
    )

    result = harness.run("case_keys")

    assert result.summary["written"] == 1
    assert (
        leads_by_id(sf_emulator)[ids["Mixed.Case@Example.com"]]["WalkMe_Logins_Last_30_Days__c"]
        == 4
    )


def test_duplicate_report_keys_are_rejected_and_the_rest_written(
    harness: SyncHarness, sf_emulator: Any
) -> None:
    ids = seed_leads(sf_emulator, ["dup@example.com", "solo@example.com"])
    harness.write_config("dup_keys")
    harness.write_export(
        "dup_keys",
        [
            ["dup@example.com", "2026-01-01 00:00:00", "2026-11-01 00:00:00", 1],
            ["DUP@example.com", "2026-01-01 00:00:00", "2026-11-02 00:00:00", 2],
            ["solo@example.com", "2026-01-01 00:00:00", "2026-11-03 00:00:00", 3],
        ],
    )

    result = harness.run("dup_keys")

    assert result.summary["rejected"] == 2
    assert result.summary["written"] == 1
    leads = leads_by_id(sf_emulator)
    assert leads[ids["dup@example.com"]].get("WalkMe_Logins_Last_30_Days__c") is None
    assert leads[ids["solo@example.com"]]["WalkMe_Logins_Last_30_Days__c"] == 3
    (run,) = Ledger().runs("dup_keys")
    problems = Ledger().row_problems(run["id"])
    assert {p["row_number"] for p in problems} == {1, 2}
    assert all("duplicate" in p["reason"] for p in problems)


def test_keep_last_policy_writes_the_last_duplicate(harness: SyncHarness, sf_emulator: Any) -> None:
    ids = seed_leads(sf_emulator, ["dup@example.com"])
    harness.write_config("keep_last", {"matching": {"duplicate_report_keys": "keep_last"}})
    harness.write_export(
        "keep_last",
        [
            ["dup@example.com", "2026-01-01 00:00:00", "2026-11-01 00:00:00", 1],
            ["dup@example.com", "2026-01-01 00:00:00", "2026-11-02 00:00:00", 2],
        ],
    )

    result = harness.run("keep_last")

    assert (result.summary["written"], result.summary["rejected"]) == (1, 1)
    assert leads_by_id(sf_emulator)[ids["dup@example.com"]]["WalkMe_Logins_Last_30_Days__c"] == 2


def test_several_leads_sharing_an_email_are_ambiguous(
    harness: SyncHarness, sf_emulator: Any
) -> None:
    seed_leads(sf_emulator, ["shared@example.com", "SHARED@example.com", "one@example.com"])
    harness.write_config("ambiguous", {"thresholds": {"min_match_rate": 0.0}})
    harness.write_export(
        "ambiguous",
        [
            ["shared@example.com", "2026-01-01 00:00:00", "2026-11-01 00:00:00", 5],
            ["one@example.com", "2026-01-01 00:00:00", "2026-11-01 00:00:00", 6],
        ],
    )

    result = harness.run("ambiguous")

    assert result.summary["ambiguous"] == 1
    assert result.summary["written"] == 1
    shared = [
        lead
        for lead in leads_by_id(sf_emulator).values()
        if lead["Email"].lower() == "shared@example.com"
    ]
    assert all(lead.get("WalkMe_Logins_Last_30_Days__c") is None for lead in shared)


def test_unmatched_keys_are_counted_not_written(harness: SyncHarness, sf_emulator: Any) -> None:
    seed_leads(sf_emulator, ["known@example.com"])
    harness.write_config("unmatched", {"thresholds": {"min_match_rate": 0.0}})
    harness.write_export(
        "unmatched",
        [
            ["known@example.com", "2026-01-01 00:00:00", "2026-11-01 00:00:00", 1],
            ["stranger@example.com", "2026-01-01 00:00:00", "2026-11-01 00:00:00", 2],
        ],
    )

    result = harness.run("unmatched")

    assert (result.summary["written"], result.summary["unmatched"]) == (1, 1)
    assert sf_emulator.org("sandbox").data.count("Lead") == 1
    assert_buckets_add_up(result.summary)


def test_values_that_do_not_fit_are_rejected_with_reason(
    harness: SyncHarness, sf_emulator: Any
) -> None:
    ids = seed_leads(sf_emulator, ["ok@example.com", "text@example.com", "huge@example.com"])
    harness.write_config("bad_values")
    harness.write_export(
        "bad_values",
        [
            ["ok@example.com", "2026-01-01 00:00:00", "2026-11-01 00:00:00", 7],
            ["text@example.com", "2026-01-01 00:00:00", "2026-11-01 00:00:00", "seven"],
            # A valid report integer, but more digits than the field's precision (18).
            ["huge@example.com", "2026-01-01 00:00:00", "2026-11-01 00:00:00", 9 * 10**18],
        ],
    )

    result = harness.run("bad_values")

    assert result.summary["status"] == "Completed"
    assert (result.summary["written"], result.summary["rejected"]) == (1, 2)
    leads = leads_by_id(sf_emulator)
    assert leads[ids["ok@example.com"]]["WalkMe_Logins_Last_30_Days__c"] == 7
    assert leads[ids["text@example.com"]].get("WalkMe_Logins_Last_30_Days__c") is None
    assert leads[ids["huge@example.com"]].get("WalkMe_Logins_Last_30_Days__c") is None
    (run,) = Ledger().runs("bad_values")
    reasons = {p["key"].strip(): p["reason"] for p in Ledger().row_problems(run["id"])}
    assert "seven" in reasons["text@example.com"]
    assert "Logins in Past 30 days" in reasons["text@example.com"]
    assert "WalkMe_Logins_Last_30_Days__c" in reasons["huge@example.com"]


def test_key_with_a_quote_is_data_not_soql(harness: SyncHarness, sf_emulator: Any) -> None:
    ids = seed_leads(sf_emulator, ["o'brien@example.com", "other@example.com"])
    harness.write_config("quote_key", {"thresholds": {"min_match_rate": 0.0}})
    harness.write_export(
        "quote_key",
        [
            ["o'brien@example.com", "2026-01-01 00:00:00", "2026-11-01 00:00:00", 9],
            ["x' OR Email != 'y@example.com", "2026-01-01 00:00:00", "2026-11-01 00:00:00", 1],
        ],
    )

    result = harness.run("quote_key")

    leads = leads_by_id(sf_emulator)
    assert leads[ids["o'brien@example.com"]]["WalkMe_Logins_Last_30_Days__c"] == 9
    # The injection attempt matched nothing and touched nothing.
    assert leads[ids["other@example.com"]].get("WalkMe_Logins_Last_30_Days__c") is None
    assert result.summary["written"] == 1
    assert result.summary["written"] + result.summary["unmatched"] + result.summary["rejected"] == 2


def test_report_without_key_column_fails_and_writes_nothing(
    harness: SyncHarness, sf_emulator: Any
) -> None:
    seed_leads(sf_emulator, ["a@example.com"])
    harness.write_config("no_key")
    harness.write_export(
        "no_key",
        [["a@example.com", "2026-01-01 00:00:00", "2026-11-01 00:00:00", 3]],
        header=["Email Address", "First Login", "Last Login", "Logins in Past 30 days"],
    )
    sf_emulator.org("sandbox").reset_api_calls()

    result = harness.run("no_key")

    assert result.state == "failed"
    assert result.summary["status"] == "Failed"
    assert "User ID" in result.summary["message"]
    assert sf_emulator.org("sandbox").api_calls() == 0
    (lead,) = sf_emulator.org("sandbox").data.records("Lead")
    assert lead.get("WalkMe_Logins_Last_30_Days__c") is None


def test_dry_run_reports_changes_and_writes_nothing(harness: SyncHarness, sf_emulator: Any) -> None:
    import json

    from include.walkme_sync.storage import run_dir

    seed_leads(sf_emulator, ["dry@example.com"])
    harness.write_config("dry")
    harness.write_export(
        "dry", [["dry@example.com", "2026-01-01 00:00:00", "2026-11-01 00:00:00", 8]]
    )

    result = harness.run("dry", dry_run=True)

    assert result.summary["status"] == "Completed"
    assert result.summary["dry_run"] is True
    # Never counted as written: not in the summary, the ledger or the run note.
    assert (result.summary["would_write"], result.summary["written"]) == (1, 0)
    (run,) = Ledger().runs("dry")
    assert (run["would_write"], run["written"], run["dry_run"]) == (1, 0, True)
    from include.walkme_sync.airflow.run_note import note_text

    assert note_text(result.summary).startswith("Dry run · Completed · would write 1 ·")
    assert "written" not in note_text(result.summary)
    (lead,) = sf_emulator.org("sandbox").data.records("Lead")
    assert lead.get("WalkMe_Logins_Last_30_Days__c") is None
    changes = json.loads(
        (
            run_dir("dry", result.summary["dag_run_id"], root=harness.storage) / "changes.json"
        ).read_text()
    )
    assert {change["field"] for change in changes} == {
        "WalkMe_Last_Login__c",
        "WalkMe_First_Login__c",
        "WalkMe_Logins_Last_30_Days__c",
    }


def test_sql_source_through_an_airflow_connection(
    harness: SyncHarness, sf_emulator: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json
    import sqlite3

    database = tmp_path / "warehouse.db"
    with sqlite3.connect(database) as connection:
        connection.execute(
            'CREATE TABLE login_review ("User ID" TEXT, "First Login" TEXT, "Last Login" TEXT, '
            '"Logins in Past 30 days" INTEGER)'
        )
        connection.execute(
            "INSERT INTO login_review VALUES ('sql@example.com', '2026-01-02 03:04:05', "
            "'2026-11-20 10:00:00', 11)"
        )
    monkeypatch.setenv(
        "AIRFLOW_CONN_WALKME_WAREHOUSE", json.dumps({"conn_type": "sqlite", "host": str(database)})
    )
    ids = seed_leads(sf_emulator, ["sql@example.com"])
    harness.write_config(
        "sql_source",
        {
            "report": {
                "source": {"kind": "sql", "conn_id": "walkme_warehouse", "table": "login_review"}
            }
        },
    )

    result = harness.run("sql_source")

    assert result.summary["written"] == 1
    assert leads_by_id(sf_emulator)[ids["sql@example.com"]]["WalkMe_Logins_Last_30_Days__c"] == 11

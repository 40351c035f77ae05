"""End to end under faults, limits and both environments: rows accounted for, re-runs converge."""

from __future__ import annotations

import json
from typing import Any

import pytest

from include.walkme_sync.ledger import Ledger
from tests.integration.harness import SyncHarness
from tests.integration.test_sync_dags import assert_buckets_add_up, login_rows, seed_leads

pytestmark = pytest.mark.slow


def lead_logins(emulator: Any, org: str = "sandbox") -> dict[str, Any]:
    return {
        lead["Email"]: lead.get("WalkMe_Logins_Last_30_Days__c")
        for lead in emulator.org(org).data.records("Lead")
    }


def test_rejected_credentials_fail_with_what_to_do_and_no_secret(
    harness: SyncHarness, sf_emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_leads(sf_emulator, ["a@example.com"])
    connection = json.loads(sf_emulator.airflow_connection_json("sandbox"))
    connection["extra"]["security_token"] = "ResetByTheAdmin0000"  # the token was reset
    monkeypatch.setenv("AIRFLOW_CONN_SALESFORCE_SANDBOX", json.dumps(connection))
    harness.write_config("revoked")
    harness.write_export(
        "revoked", [["a@example.com", "2026-01-01 00:00:00", "2026-11-01 00:00:00", 3]]
    )

    result = harness.run("revoked")

    assert result.state == "failed"
    assert result.summary["status"] == "Failed"
    message = result.summary["message"]
    assert "salesforce_sandbox" in message
    assert "reconnect" in message.lower() or "re-authorize" in message.lower()
    assert connection["password"] not in message
    assert "ResetByTheAdmin0000" not in message
    assert lead_logins(sf_emulator) == {"a@example.com": None}
    # The row that was not written is accounted for, with the reason: never sent, so not failed.
    assert (result.summary["not_attempted"], result.summary["failed"]) == (1, 0)
    assert_buckets_add_up(result.summary)


def test_sandbox_first_then_production(harness: SyncHarness, sf_emulator: Any) -> None:
    seed_leads(sf_emulator, ["p@example.com"])
    sf_emulator.org("production").data.load_records(
        "Lead", [{"LastName": "Prod", "Company": "Acme", "Email": "p@example.com"}]
    )
    harness.write_config("env_sandbox")
    harness.write_config("env_production", {"environment": "production"})
    row = [["p@example.com", "2026-01-01 00:00:00", "2026-11-01 00:00:00", 21]]
    harness.write_export("env_sandbox", row)
    harness.write_export("env_production", row)

    sandbox = harness.run("env_sandbox")
    assert sandbox.summary["written"] == 1
    assert lead_logins(sf_emulator, "production") == {"p@example.com": None}

    production = harness.run("env_production")
    assert production.summary["written"] == 1
    assert production.summary["environment"] == "production"
    assert lead_logins(sf_emulator, "production") == {"p@example.com": 21}


def test_locked_records_are_retried_within_the_run(harness: SyncHarness, sf_emulator: Any) -> None:
    emails = [f"user{i}@example.com" for i in range(10)]
    ids = seed_leads(sf_emulator, emails)
    sf_emulator.faults.lock_records("sandbox", [ids[emails[2]], ids[emails[7]]], times=2)
    harness.write_config("locks", {"write": {"retry_backoff_seconds": 0.01}})
    harness.write_export("locks", login_rows(10))

    result = harness.run("locks")

    assert result.summary["status"] == "Completed"
    assert (result.summary["written"], result.summary["failed"]) == (10, 0)
    assert lead_logins(sf_emulator)[emails[7]] == 7


def test_large_change_sets_go_through_bulk_api_2(harness: SyncHarness, sf_emulator: Any) -> None:
    emails = [f"user{i}@example.com" for i in range(150)]
    seed_leads(sf_emulator, emails)
    harness.write_config("bulk", {"write": {"bulk_threshold": 100}})
    harness.write_export("bulk", login_rows(150))
    org = sf_emulator.org("sandbox")
    org.reset_api_calls()

    result = harness.run("bulk")

    assert result.summary["written"] == 150
    assert org.api_calls("bulk2") > 0
    assert org.api_calls("composite") == 0
    logins = lead_logins(sf_emulator)
    assert all(logins[f"user{i}@example.com"] == i % 30 for i in range(150))


def test_api_budget_stops_the_run_and_a_rerun_converges(
    harness: SyncHarness, sf_emulator: Any
) -> None:
    emails = [f"user{i}@example.com" for i in range(450)]
    seed_leads(sf_emulator, emails)
    # Lookups take 2 calls here, each collections batch of 200 one more: 3 cannot write 450 rows.
    harness.write_config("budget", {"write": {"api_budget": 3, "bulk_threshold": 10_000}})
    harness.write_export("budget", login_rows(450))
    sf_emulator.org("sandbox").reset_api_calls()

    stopped = harness.run("budget")

    assert stopped.state == "failed"
    assert stopped.summary["status"] == "Failed"
    assert "budget" in stopped.summary["message"].lower()
    assert stopped.summary["not_attempted"] > 0 and stopped.summary["failed"] == 0
    assert_buckets_add_up(stopped.summary)
    assert stopped.summary["api_calls"] <= 3
    # The run record counts exactly the calls Salesforce (the emulator) saw, the failed step's too.
    assert stopped.summary["api_calls"] == sf_emulator.org("sandbox").api_calls()
    written_first = stopped.summary["written"]

    harness.write_config("budget", {"write": {"api_budget": 100, "bulk_threshold": 10_000}})
    converged = harness.run("budget")

    assert converged.summary["status"] == "Completed"
    assert converged.summary["unchanged"] == written_first
    assert converged.summary["written"] == 450 - written_first
    (latest, first) = Ledger().runs("budget")
    assert (latest["status"], first["status"]) == ("Completed", "Failed")


def test_transient_5xx_on_a_write_is_retried(harness: SyncHarness, sf_emulator: Any) -> None:
    seed_leads(sf_emulator, [f"user{i}@example.com" for i in range(5)])
    sf_emulator.faults.fail_requests(status=503, count=1, path_contains="composite/sobjects")
    harness.write_config("five_oh_three", {"write": {"retry_backoff_seconds": 0.01}})
    harness.write_export("five_oh_three", login_rows(5))

    result = harness.run("five_oh_three")

    assert (result.summary["written"], result.summary["failed"]) == (5, 0)


def test_fields_that_do_not_exist_or_cannot_be_updated_are_refused(
    harness: SyncHarness, sf_emulator: Any
) -> None:
    seed_leads(sf_emulator, ["a@example.com"])
    harness.write_config(
        "bad_fields",
        {
            "mappings": [
                {"column": "Last Login", "field": "WalkMe_Last_Login__c"},
                {"column": "First Login", "field": "WalkMe_Frist_Login__c"},  # typo: no such field
                {"column": "Logins in Past 30 days", "field": "WalkMe_Score_Formula__c"},  # formula
            ]
        },
    )
    harness.write_export(
        "bad_fields", [["a@example.com", "2026-01-01 00:00:00", "2026-11-01 00:00:00", 3]]
    )

    result = harness.run("bad_fields")

    assert result.summary["status"] == "Failed"
    message = result.summary["message"]
    assert "WalkMe_Frist_Login__c" in message and "WalkMe_First_Login__c" in message  # suggestion
    assert "WalkMe_Score_Formula__c" in message
    (lead,) = sf_emulator.org("sandbox").data.records("Lead")
    assert lead.get("WalkMe_Last_Login__c") is None  # nothing written, not even the valid field

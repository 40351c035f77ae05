"""The pipeline steps called directly, as functions of files in, files out: no Airflow metadata DB.

Each test builds a `RunContext`, runs steps through `steps.runner.run_step` (what the Airflow
adapter does around them), and checks the run folder, Salesforce's state and the ledger.
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from include.walkme_sync.config import load_integration
from include.walkme_sync.errors import QuotaError
from include.walkme_sync.frames import Bucket
from include.walkme_sync.steps.context import (
    CONFIG_SNAPSHOT,
    EXTRACTED,
    OUTCOME_FILES,
    RunContext,
    RunStatus,
    Step,
    load_config_snapshot,
    read_step_status,
)
from include.walkme_sync.steps.record import record_step
from include.walkme_sync.steps.runner import run_step
from include.walkme_sync.storage import read_frame
from tests.configs import login_review_raw

DAY = date(2026, 11, 24)
HEADER = ["User ID", "First Login", "Last Login", "Logins in Past 30 days"]


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sf_emulator: Any) -> Path:
    """A storage root (SQLite ledger inside), one export and the Sandbox connection."""
    monkeypatch.setenv("WALKME_SYNC_STORAGE_ROOT", str(tmp_path / "storage"))
    monkeypatch.delenv("WALKME_SYNC_LEDGER_URL", raising=False)
    monkeypatch.setenv(
        "AIRFLOW_CONN_SALESFORCE_SANDBOX", sf_emulator.airflow_connection_json("sandbox")
    )
    exports = tmp_path / "exports"
    exports.mkdir()
    with (exports / f"login_review_{DAY}.csv").open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        writer.writerows(
            [
                ["ana@example.com", "2025-03-01 08:00:00", "2026-11-23 17:45:10", 12],
                ["bo@example.com", "2024-12-31 23:59:59", "2026-11-24 06:01:00", 0],
                ["nobody@example.com", "2025-01-01 00:00:00", "2026-11-20 10:00:00", 3],
                ["cy@example.com", "2025-01-01 00:00:00", "not a date", 3],
            ]
        )
    sf_emulator.org("sandbox").data.load_records(
        "Lead",
        [
            {"LastName": "Ana", "Company": "Acme", "Email": "ana@example.com"},
            {"LastName": "Bo", "Company": "Acme", "Email": "BO@example.com"},
            {"LastName": "Cy", "Company": "Acme", "Email": "cy@example.com"},
        ],
    )
    return tmp_path


def write_config(root: Path, **overrides: Any) -> Path:
    raw = login_review_raw(**overrides)
    raw["report"]["source"] = {"kind": "files", "location": str(root / "exports")}
    path = root / "login_review_to_lead.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def context(config_path: Path, run_id: str = "manual__1", **flags: bool) -> RunContext:
    return RunContext(
        integration=load_integration(config_path),
        dag_id="walkme_sync__login_review_to_lead",
        run_id=run_id,
        run_date=DAY,
        started_at=datetime(2026, 11, 24, 8, tzinfo=UTC),
        **flags,
    )


def leads(sf_emulator: Any) -> dict[str, dict[str, Any]]:
    return {r["Email"].lower(): r for r in sf_emulator.org("sandbox").data.records("Lead")}


def test_every_step_in_turn_writes_and_accounts_for_every_row(
    workspace: Path, sf_emulator: Any
) -> None:
    ctx = context(write_config(workspace))
    extracted = run_step(Step.EXTRACT, ctx)
    assert (extracted["rows"], extracted["loaded"], extracted["rejected"]) == (4, 3, 1)
    assert len(read_frame(ctx.path(EXTRACTED))) == 3
    run_step(Step.VALIDATE, ctx)
    matched = run_step(Step.MATCH, ctx)
    assert (matched["matched_rows"], matched["unmatched"]) == (2, 1)
    written = run_step(Step.UPSERT, ctx)
    assert written["written"] == 2

    summary = record_step(ctx)
    assert summary["status"] == RunStatus.COMPLETED
    assert (summary["written"], summary["unmatched"], summary["rejected"]) == (2, 1, 1)
    assert summary["report_rows"] == 4
    by_email = leads(sf_emulator)
    assert by_email["ana@example.com"]["WalkMe_Logins_Last_30_Days__c"] == 12
    assert by_email["bo@example.com"]["WalkMe_Logins_Last_30_Days__c"] == 0
    assert "WalkMe_Logins_Last_30_Days__c" not in by_email["cy@example.com"] or (
        by_email["cy@example.com"]["WalkMe_Logins_Last_30_Days__c"] is None
    )


def test_later_steps_use_the_config_snapshot_taken_at_extract(workspace: Path) -> None:
    config_path = write_config(workspace)
    ctx = context(config_path)
    run_step(Step.EXTRACT, ctx)
    snapshot = json.loads(ctx.path(CONFIG_SNAPSHOT).read_text(encoding="utf-8"))
    assert snapshot["id"] == "login_review_to_lead"
    assert "password" not in json.dumps(snapshot).lower()

    # An edit made while the run is in flight changes the next run, not this one.
    write_config(workspace, mappings=[{"column": "Last Login", "field": "WalkMe_Last_Login__c"}])
    frozen = load_config_snapshot(ctx.folder)
    assert frozen is not None
    assert frozen == ctx.integration
    assert len(frozen.mappings) == 3
    assert len(load_integration(config_path).mappings) == 1


def test_a_writer_stop_is_raised_as_its_own_error_after_the_outcomes_are_saved(
    workspace: Path, sf_emulator: Any
) -> None:
    # A budget of one API call: the match step spends it, so the writer stops before writing.
    ctx = context(write_config(workspace, write={"api_budget": 1}))
    for step in (Step.EXTRACT, Step.VALIDATE, Step.MATCH):
        run_step(step, ctx)
    with pytest.raises(QuotaError) as stopped:
        run_step(Step.UPSERT, ctx)
    assert stopped.value.summary["written"] == 0
    # Never sent, so not "failed": Salesforce refused nothing.
    assert (stopped.value.summary["not_attempted"], stopped.value.summary["failed"]) == (2, 0)

    outcomes = read_frame(ctx.path(OUTCOME_FILES[Step.UPSERT]))
    assert set(outcomes["bucket"]) == {Bucket.NOT_ATTEMPTED}
    assert set(outcomes["error_code"]) == {"API_BUDGET_EXCEEDED"}
    status = read_step_status(ctx.folder, Step.UPSERT)
    assert status is not None and not status.ok and status.kind == "quota"

    summary = record_step(ctx)
    assert summary["status"] == RunStatus.FAILED
    assert summary["not_attempted"] == 2 and summary["report_rows"] == 4
    assert "WalkMe_Last_Login__c" not in leads(sf_emulator)["ana@example.com"] or (
        leads(sf_emulator)["ana@example.com"]["WalkMe_Last_Login__c"] is None
    )


def test_record_counts_rows_never_reached_as_not_attempted(workspace: Path) -> None:
    ctx = context(write_config(workspace))
    run_step(Step.EXTRACT, ctx)  # the run stops here: validate, match and upsert never ran
    summary = record_step(ctx)
    assert summary["status"] == RunStatus.FAILED
    assert summary["rejected"] == 1 and summary["not_attempted"] == 3
    assert summary["failed"] == 0
    assert "did not run" in summary["message"]

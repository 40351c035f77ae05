"""The Sync report of real runs (dag.test against the local Salesforce): counts, rows, changes,
data-quality checks and API usage, as data and as the page the Airflow UI shows."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from include.walkme_sync.airflow.pages import render
from include.walkme_sync.airflow.sync_report import (
    NotASync,
    SyncReport,
    build_report,
    changes_csv,
    problems_csv,
)
from include.walkme_sync.ledger import Ledger
from tests.integration.harness import SyncHarness
from tests.integration.test_sync_dags import seed_leads

pytestmark = pytest.mark.slow
DAG_ID = "walkme_sync__report"
ROWS = [
    ["ana@example.com", "2025-03-01 08:00:00", "2026-11-23 17:45:10", 12],
    ["bo@example.com", "2024-12-31 23:59:59", "2026-11-24 06:01:00", 3],
    ["nobody@example.com", "2025-01-01 00:00:00", "2026-11-01 00:00:00", 1],
    ["twin@example.com", "2025-01-01 00:00:00", "2026-11-01 00:00:00", 1],
    # Not an e-mail (rejected by the data-quality checks), holding markup and a formula.
    ['=HYPERLINK("x")<b>bold</b>', "2025-01-01 00:00:00", "2026-11-01 00:00:00", 1],
]


def page(report: SyncReport) -> str:
    return render("sync_report.html", report=report, base="/integrations", airflow="")


def run_both(harness: SyncHarness, sf_emulator: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    seed_leads(
        sf_emulator, ["ana@example.com", "bo@example.com", "twin@example.com", "TWIN@example.com"]
    )
    harness.write_config("report", {"thresholds": {"min_match_rate": 0.1}})
    harness.write_export("report", ROWS)
    dry = harness.run("report", dry_run=True).summary
    real = harness.run("report").summary
    return dry, real


def test_the_report_of_a_dry_run_and_of_the_run_after_it(
    harness: SyncHarness, sf_emulator: Any
) -> None:
    dry, real = run_both(harness, sf_emulator)

    report = build_report(DAG_ID, dry["dag_run_id"])
    assert isinstance(report, SyncReport)
    counts = {b.bucket: b.count for b in report.buckets}
    assert counts["would_write"] == 2 and counts["written"] == 0
    assert (counts["unmatched"], counts["ambiguous"], counts["rejected"]) == (1, 1, 1)
    assert report.dry_run and report.report_rows == 5
    by_bucket = {p["bucket"]: p for p in report.problems}
    assert by_bucket["unmatched"]["key"] == "nobody@example.com"
    assert by_bucket["ambiguous"]["error_code"] == "MULTIPLE_RECORDS"
    assert "not a valid email key" in by_bucket["rejected"]["reason"]
    # Field by field, one line per record.
    assert report.records_changed == 2 and report.changes_total == 6
    fields = {name for change in report.changes for name, _old, _new in change.fields}
    assert fields == {
        "WalkMe_Last_Login__c",
        "WalkMe_First_Login__c",
        "WalkMe_Logins_Last_30_Days__c",
    }
    checks = {e.kind: e for e in report.validation.expectations}  # type: ignore[union-attr]
    assert checks["expect_column_values_to_match_regex"].failed_rows == 1
    assert checks["expect_column_to_exist"].passed
    assert report.api is not None and report.api.calls == dry["api_calls"]
    assert report.api.daily_limit and report.api.daily_remaining is not None

    html = page(report)
    assert "Changes a real run would write" in html
    assert "would write" in html
    # Report values are data: escaped, never markup.
    assert "<b>bold</b>" not in html and "&lt;b&gt;bold&lt;/b&gt;" in html

    after = build_report(DAG_ID, real["dag_run_id"])
    assert isinstance(after, SyncReport)
    counts = {b.bucket: b.count for b in after.buckets}
    assert counts["written"] == 2 and counts["would_write"] == 0
    assert not after.dry_run and not after.changes
    assert "Changes a real run would write" not in page(after)

    # Searching and downloading (one pair of runs serves the whole file: DAG runs are slow).
    search_and_download(dry["dag_run_id"])
    report_outlives_the_run_folder(harness, dry["dag_run_id"])


def search_and_download(run_id: str) -> None:
    found = build_report(DAG_ID, run_id, query="multiple_records")
    assert isinstance(found, SyncReport)
    assert [p["bucket"] for p in found.problems] == ["ambiguous"]
    assert found.problems_matching == 1 and found.problems_total == 3
    only = build_report(DAG_ID, run_id, bucket="unmatched")
    assert [p["key"] for p in only.problems] == ["nobody@example.com"]  # type: ignore[union-attr]
    # A LIKE wildcard typed by the user is a literal character.
    assert build_report(DAG_ID, run_id, query="%").problems == []  # type: ignore[union-attr]

    rows = list(csv.DictReader(io.StringIO("".join(problems_csv(DAG_ID, run_id)))))
    assert len(rows) == 3
    rejected = next(row for row in rows if row["bucket"] == "rejected")
    # A formula in a report value is not run by a spreadsheet.
    assert rejected["key"].startswith("'=HYPERLINK")
    changes = list(csv.DictReader(io.StringIO("".join(changes_csv(DAG_ID, run_id)))))
    assert len(changes) == 6 and set(changes[0]) == {
        "row",
        "key",
        "record_id",
        "field",
        "old",
        "new",
    }


def test_other_dags_and_unknown_runs_are_not_a_sync(harness: SyncHarness) -> None:
    assert isinstance(build_report("example_bash_operator", "manual__1"), NotASync)
    assert isinstance(build_report("walkme_sync__invalid__broken", "manual__1"), NotASync)
    assert isinstance(build_report(DAG_ID, "never-ran"), NotASync)
    html = render("message.html", title="Not a sync", message="x", base="/i", airflow="")
    assert "Not a sync" in html


def report_outlives_the_run_folder(harness: SyncHarness, run_id: str) -> None:
    """Retention removes run folders; the ledger still answers for the counts and the rows."""
    import shutil

    from include.walkme_sync.storage import integration_runs_dir

    shutil.rmtree(integration_runs_dir("report", root=harness.storage).path)

    report = build_report(DAG_ID, run_id)
    assert isinstance(report, SyncReport)
    assert not report.run_files and report.validation is None
    assert {b.bucket: b.count for b in report.buckets}["would_write"] == 2
    assert len(report.problems) == 3
    assert "removed by retention" in page(report)
    assert len(Ledger().runs("report")) == 2

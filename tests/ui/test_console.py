"""The product operated as a person would, in a browser: the Integrations page, its actions,
the Log, the Sync report of each run, pause and resume, and what a read-only user sees.

The tests run in file order and build on each other (one Airflow for the module): the dry run and
the run triggered from the page are the ones the Log and the Sync reports show afterwards.
Every page is saved under var/screenshots/.
"""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from include.walkme_sync.ledger import Ledger
from tests.ui.conftest import sign_in
from tests.ui.world import BROKEN_FILE, UiWorld

pytestmark = pytest.mark.ui

LOGINS = "login_review_to_lead"
LOGINS_DAG = f"walkme_sync__{LOGINS}"
NPS = "nps_to_contact"
NPS_DAG = f"walkme_sync__{NPS}"
RUN_TIMEOUT = 300


def console(page: Any) -> Any:
    return page.frame_locator("iframe[title='Integrations']")


def report_frame(page: Any) -> Any:
    return page.frame_locator("iframe[title='Sync report']")


def shoot(page: Any, folder: Path, name: str, *, full_page: bool = False) -> None:
    page.wait_for_timeout(300)  # let the frame finish painting
    page.screenshot(path=str(folder / f"{name}.png"), full_page=full_page)


def open_console(page: Any, world: UiWorld) -> Any:
    """The Integrations page, reached through the UI's own navigation."""
    page.goto(f"{world.airflow.url}/dags")
    page.get_by_role("link", name="Integrations").click()
    page.wait_for_url("**/plugin/integrations**")
    frame = console(page)
    frame.locator("table.integrations").wait_for()
    return frame


def ledger(world: UiWorld) -> Ledger:
    return Ledger(f"sqlite:///{world.storage / 'ledger.db'}")


def wait_for_runs(world: UiWorld, dag_id: str, count: int) -> list[dict[str, Any]]:
    """The DAG's runs once `count` of them have finished (Airflow's API as the admin)."""
    deadline = time.monotonic() + RUN_TIMEOUT
    while time.monotonic() < deadline:
        runs = world.airflow.api(f"/dags/{dag_id}/dagRuns?order_by=run_after")["dag_runs"]
        if len([r for r in runs if r["state"] in ("success", "failed")]) >= count:
            return runs
        time.sleep(2)
    raise TimeoutError(f"{dag_id}: {count} runs did not finish\n{world.airflow.logs()}")


def test_console_lists_integrations_in_the_airflow_ui(
    admin_page: Any, world: UiWorld, screenshots: Path
) -> None:
    frame = open_console(admin_page, world)
    logins = frame.locator(f"tr[data-id={LOGINS}]")

    assert logins.locator(".name").inner_text() == "Login Review -> Lead"
    # The report's title from the catalog, not its id.
    assert logins.locator(".col-flow").inner_text() == "Login Review → Lead"
    assert logins.locator(".col-env").inner_text() == "Sandbox"
    assert logins.locator(".col-state .pill").inner_text() == "Active"
    assert "next" in logins.locator(".col-state").inner_text()
    assert logins.locator(".col-last").inner_text() == "Never run"
    assert frame.locator(f"tr[data-id={NPS}] .col-flow").inner_text() == "NPS → Contact"
    invalid = frame.locator("tr.invalid")
    assert invalid.locator(".pill").inner_text() == "Invalid config"
    assert "WalkMe_Logins_Last_30_Days__c" in invalid.locator(".problems").inner_text()
    shoot(admin_page, screenshots, "01-integrations")


def test_config_overlay_shows_the_yaml_its_problems_and_where_to_edit(
    admin_page: Any, screenshots: Path
) -> None:
    frame = console(admin_page)
    frame.locator("tr.invalid").get_by_role("button", name="Config").click()
    overlay = frame.locator("#overlay")
    overlay.locator("pre.yaml").wait_for()

    assert BROKEN_FILE in overlay.locator(".config-where").inner_text()
    problems = overlay.locator("ul.problems li.error")
    assert "is not a legal Salesforce API name" in problems.first.inner_text()
    # The line the problem names is flagged in the YAML.
    assert overlay.locator("pre.yaml .line.flagged").count() >= 1
    assert "WalkMe_#_Logins_last_30_days" in overlay.locator("pre.yaml").inner_text()
    assert "remov" in overlay.locator(".help-list").inner_text()  # what "delete" means
    shoot(admin_page, screenshots, "02-config-invalid")
    overlay.get_by_role("button", name="Close").click()

    frame.locator(f"tr[data-id={LOGINS}]").get_by_role("button", name="Config").click()
    overlay.locator("pre.yaml").wait_for()
    assert "Valid" in overlay.locator(".ok-line").inner_text()
    assert "id: login_review_to_lead" in overlay.locator("pre.yaml").inner_text()
    overlay.get_by_role("button", name="Close").click()


def test_dry_run_and_run_from_the_console(
    admin_page: Any, world: UiWorld, screenshots: Path
) -> None:
    frame = console(admin_page)
    logins = frame.locator(f"tr[data-id={LOGINS}]")

    logins.get_by_role("button", name="Dry run").click()
    expect(frame.locator("#toast")).to_contain_text("Dry run of Login Review -> Lead started")
    logins.get_by_role("button", name="Run now").click()
    confirm = frame.locator("#confirm")
    expect(confirm).to_contain_text("Salesforce (sandbox)")
    shoot(admin_page, screenshots, "03-run-now-confirm")
    confirm.get_by_role("button", name="Run now").click()
    logins.locator(".col-status .pill").wait_for()
    shoot(admin_page, screenshots, "04-integrations-running")

    runs = wait_for_runs(world, LOGINS_DAG, 2)
    assert [r["conf"]["dry_run"] for r in runs] == [True, False]
    assert {r["state"] for r in runs} == {"success"}
    # The page refreshes by itself while runs are in flight.
    logins.locator(".col-status .pill.state-completed").wait_for(timeout=30_000)
    recorded = {run["dry_run"]: run for run in ledger(world).runs(LOGINS)}
    assert recorded[True]["would_write"] > 0 and recorded[True]["written"] == 0
    assert recorded[False]["written"] == recorded[True]["would_write"]

    status = logins.locator(".col-status").inner_text()
    assert f"written {recorded[False]['written']}" in status
    assert f"unmatched {recorded[False]['unmatched']}" in status
    assert "runtime" in logins.locator(".col-last").inner_text()
    shoot(admin_page, screenshots, "05-integrations-after-runs")


def test_log_overlay_lists_every_run_and_never_counts_a_dry_run_as_written(
    admin_page: Any, world: UiWorld, screenshots: Path
) -> None:
    frame = console(admin_page)
    frame.locator(f"tr[data-id={LOGINS}]").get_by_role("button", name="Log").click()
    runs = frame.locator("#overlay tr.run")
    runs.nth(1).wait_for()

    assert runs.count() == 2
    newest, dry = runs.nth(0), runs.nth(1)  # newest first
    recorded = {run["dry_run"]: run for run in ledger(world).runs(LOGINS)}
    assert "Dry run" in dry.inner_text()
    assert f"would write {recorded[True]['would_write']}" in dry.inner_text()
    assert "written" not in dry.inner_text()
    assert "Dry run" not in newest.inner_text()
    assert f"written {recorded[False]['written']}" in newest.inner_text()
    for run in (newest, dry):
        assert "Completed" in run.inner_text()
        assert run.locator("td").nth(1).inner_text().endswith("s")  # runtime
    shoot(admin_page, screenshots, "06-log")

    run_id = newest.get_attribute("data-run-id")
    newest.get_by_role("link", name="Show log").click()
    # "Show log" opens the run in the whole Airflow UI (not inside the frame).
    admin_page.wait_for_url(f"**/dags/{LOGINS_DAG}/runs/**")
    assert quote(run_id, safe="") in admin_page.url or run_id in admin_page.url
    admin_page.get_by_text("record_run").first.wait_for()
    shoot(admin_page, screenshots, "07-run-page")


def open_report_from_log(page: Any, world: UiWorld, position: int) -> Any:
    frame = open_console(page, world)
    frame.locator(f"tr[data-id={LOGINS}]").get_by_role("button", name="Log").click()
    run = frame.locator("#overlay tr.run").nth(position)
    run.get_by_role("link", name="Sync report").click()
    page.wait_for_url("**/plugin/sync-report")
    report = report_frame(page)
    report.locator("main.report").wait_for()
    return report


def test_sync_report_of_the_dry_run(admin_page: Any, world: UiWorld, screenshots: Path) -> None:
    report = open_report_from_log(admin_page, world, position=1)
    dry = next(run for run in ledger(world).runs(LOGINS) if run["dry_run"])

    assert "Dry run" in report.locator("h1").inner_text()
    buckets = {
        b.get_attribute("data-bucket"): int(b.locator(".count").inner_text().replace(",", ""))
        for b in report.locator(".bucket").all()
    }
    assert buckets["would_write"] == dry["would_write"] > 0
    assert buckets["written"] == 0
    assert buckets["unmatched"] == dry["unmatched"]
    problems = report.locator("#problems tbody tr")
    assert problems.count() == dry["unmatched"] + dry["ambiguous"] + dry["rejected"]
    assert "no Lead record has this Email" in report.locator("#problems").inner_text()
    assert "MULTIPLE_RECORDS" in report.locator("#problems").inner_text()  # Salesforce-side code
    # Field by field: what a real run would write.
    changes = report.locator("#changes tbody tr")
    assert changes.count() == min(dry["would_write"], 100)
    assert "WalkMe_Last_Login__c" in changes.first.inner_text()
    # The data-quality checks as a table, and the API calls with the org's daily usage.
    checks = report.locator("table.checks").inner_text()
    assert "The report has the column 'User ID'" in checks
    assert "Every key is a valid email" in checks
    assert "API call" in report.locator("section:has(h2:text('Salesforce API'))").inner_text()
    assert "remaining" in report.locator(".quota").inner_text()
    shoot(admin_page, screenshots, "08-sync-report-dry-run")

    # Searching asks the server for all matching rows.
    report.locator("input[name=q]").fill("MULTIPLE_RECORDS")
    report.get_by_role("button", name="Search").click()
    expect(report.locator("#problems tbody tr")).to_have_count(dry["ambiguous"])
    expect(report.locator("[data-filter-count]").first).to_contain_text("1 matching")

    # The rows download as CSV (every row problem of the search).
    with admin_page.expect_download() as download:
        report.get_by_role("link", name="Download CSV").first.click()
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert [row["error_code"] for row in rows] == ["MULTIPLE_RECORDS"] * dry["ambiguous"]


def test_sync_report_of_the_run(admin_page: Any, world: UiWorld, screenshots: Path) -> None:
    report = open_report_from_log(admin_page, world, position=0)
    real = next(run for run in ledger(world).runs(LOGINS) if not run["dry_run"])

    assert "Dry run" not in report.locator("h1").inner_text()
    written = report.locator(".bucket[data-bucket=written] .count").inner_text()
    assert int(written.replace(",", "")) == real["written"] > 0
    assert report.locator(".bucket[data-bucket=would_write] .count").inner_text() == "0"
    assert report.locator("#changes").count() == 0  # only a dry run lists changes
    assert "no Lead record has this Email" in report.locator("#problems").inner_text()
    shoot(admin_page, screenshots, "09-sync-report-run")

    # The same page on its own, whole, for the record.
    page = admin_page.context.new_page()
    src = admin_page.locator("iframe[title='Sync report']").get_attribute("src")
    page.goto(f"{world.airflow.url}{src}")
    page.locator("main.report").wait_for()
    shoot(page, screenshots, "10-sync-report-run-whole", full_page=True)
    page.close()


def test_salesforce_task_logs_hold_no_masking_warning(world: UiWorld) -> None:
    """Every Salesforce task's log as Airflow serves it: no warning about `domain: test`.

    Airflow warns once per process, and forked task processes inherit that: the first Salesforce
    task of this Airflow (the dry run's match_keys) is the one that would show it.
    """
    for run in ledger(world).runs(LOGINS):
        run_id = quote(run["dag_run_id"], safe="")
        for task_id in ("match_keys", "upsert"):
            answer = world.airflow.api(
                f"/dags/{LOGINS_DAG}/dagRuns/{run_id}/taskInstances/{task_id}/logs/1"
                "?full_content=true"
            )
            text = "\n".join(
                entry.get("event", "") if isinstance(entry, dict) else str(entry)
                for entry in answer["content"]
            )
            assert "Connected to Salesforce through connection 'salesforce_sandbox'" in text
            assert "Skipping masking" not in text, f"{task_id} of {run['dag_run_id']}"


def test_sync_report_tab_of_another_dag_says_not_a_sync(
    admin_page: Any, world: UiWorld, screenshots: Path
) -> None:
    dag_id = "walkme_sync__invalid__broken_logins"  # a DAG, but no sync
    run = world.airflow.api(f"/dags/{dag_id}/dagRuns", method="POST", body={"logical_date": None})
    run_id = quote(run["dag_run_id"], safe="")
    admin_page.goto(f"{world.airflow.url}/dags/{dag_id}/runs/{run_id}/plugin/sync-report")

    message = report_frame(admin_page).locator(".card.message")
    message.wait_for()
    assert "Not a sync" in message.inner_text()
    shoot(admin_page, screenshots, "11-not-a-sync")


def test_pause_and_resume(admin_page: Any, world: UiWorld, screenshots: Path) -> None:
    frame = open_console(admin_page, world)
    nps = frame.locator(f"tr[data-id={NPS}]")

    nps.get_by_role("button", name="Pause").click()
    nps.locator(".col-state .pill", has_text="Paused").wait_for()
    assert world.airflow.api(f"/dags/{NPS_DAG}")["is_paused"] is True
    assert nps.get_by_role("button", name="Resume").is_visible()
    shoot(admin_page, screenshots, "12-paused")

    nps.get_by_role("button", name="Resume").click()
    nps.locator(".col-state .pill", has_text="Active").wait_for()
    assert world.airflow.api(f"/dags/{NPS_DAG}")["is_paused"] is False
    # Resuming never starts a run for a past time: the NPS integration still has no run.
    assert world.airflow.api(f"/dags/{NPS_DAG}/dagRuns")["total_entries"] == 0


def test_dag_docs_show_the_integration_whole(
    admin_page: Any, world: UiWorld, screenshots: Path
) -> None:
    """The DAG's Docs modal: the integration's settings and its mapping table, nothing cut."""
    admin_page.goto(f"{world.airflow.url}/dags/{LOGINS_DAG}")
    admin_page.get_by_role("button", name="Dag Docs").click()
    dialog = admin_page.get_by_role("dialog")
    dialog.get_by_role("columnheader", name="Report column").wait_for()
    text = dialog.inner_text()
    assert "login_review_to_lead" in text and "0 8 * * *" in text
    assert "WalkMe_Logins_Last_30_Days__c" in text
    table = dialog.locator("table").first.bounding_box()
    body = dialog.bounding_box()
    assert table is not None and body is not None
    assert table["x"] + table["width"] <= body["x"] + body["width"]
    shoot(admin_page, screenshots, "14-dag-docs")
    admin_page.keyboard.press("Escape")


def test_a_viewer_sees_the_integrations_but_cannot_act(
    browser: Any, world: UiWorld, screenshots: Path
) -> None:
    page = sign_in(browser, world, "viewer")
    try:
        frame = open_console(page, world)
        logins = frame.locator(f"tr[data-id={LOGINS}]")
        for name in ("Run now", "Dry run", "Pause"):
            assert logins.get_by_role("button", name=name).is_disabled()
        assert logins.get_by_role("button", name="Log").is_enabled()
        shoot(page, screenshots, "13-viewer")
    finally:
        page.context.close()

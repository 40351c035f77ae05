"""`make sync INTEGRATION=<id>` (scripts/sync.py): the demo integration, headless, end to end."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.configs import DEMO_INTEGRATIONS

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def test_sync_command_runs_the_demo_and_prints_the_summary_last(
    sf_emulator: Any, airflow_db: Path, tmp_path: Path
) -> None:
    org = sf_emulator.org("sandbox")
    org.data.load_file("Lead", ROOT / "demo/samples/crm/sandbox/Lead.json")
    env = dict(os.environ)
    env["WALKME_SYNC_INTEGRATIONS_DIR"] = str(DEMO_INTEGRATIONS)  # what `make sync` exports
    env["WALKME_SYNC_STORAGE_ROOT"] = str(tmp_path / "storage")
    # Connections given as variables win over airflow_settings.yaml, and no emulator is started.
    env["AIRFLOW_CONN_SALESFORCE_SANDBOX"] = sf_emulator.airflow_connection_json("sandbox")
    env["AIRFLOW_CONN_SALESFORCE_PRODUCTION"] = sf_emulator.airflow_connection_json("production")

    completed = subprocess.run(
        [sys.executable, str(ROOT / "scripts/sync.py"), "login_review_to_lead"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr[-2000:]
    summary = json.loads(completed.stdout.strip().splitlines()[-1])
    assert summary["status"] == "Completed"
    assert summary["report_rows"] == 200
    assert summary["ambiguous"] == 1  # the demo CRM has one e-mail on two Leads
    assert summary["written"] + summary["unmatched"] + summary["ambiguous"] == 200
    # Spot-check one written Lead against the newest sample export, field by field.
    newest = ROOT / "demo/samples/login_review/login_review_2026-11-24.csv"
    with newest.open(encoding="utf-8-sig") as handle:
        row = list(csv.DictReader(handle))[1]  # row 1 is the demo's ambiguous e-mail
    lead = next(
        lead
        for lead in org.data.records("Lead")
        if lead["Email"].lower() == row["User ID"] and lead.get("WalkMe_Last_Login__c")
    )
    assert lead["WalkMe_Logins_Last_30_Days__c"] == int(row["Logins in Past 30 days"])
    assert lead["WalkMe_Last_Login__c"].startswith(row["Last Login"].replace(" ", "T"))


def test_sync_command_runs_the_teachme_demo_into_the_custom_object(
    sf_emulator: Any, airflow_db: Path, tmp_path: Path
) -> None:
    """`make sync INTEGRATION=teachme_to_course_progress` on the demo CRM: one course-progress
    record per user and course whose user has a Contact, each under that Contact."""
    org = sf_emulator.org("sandbox")
    org.data.load_file("Contact", ROOT / "demo/samples/crm/sandbox/Contact.json")
    env = dict(os.environ)
    env["WALKME_SYNC_INTEGRATIONS_DIR"] = str(DEMO_INTEGRATIONS)
    env["WALKME_SYNC_STORAGE_ROOT"] = str(tmp_path / "storage")
    env["AIRFLOW_CONN_SALESFORCE_SANDBOX"] = sf_emulator.airflow_connection_json("sandbox")
    env["AIRFLOW_CONN_SALESFORCE_PRODUCTION"] = sf_emulator.airflow_connection_json("production")

    completed = subprocess.run(
        [sys.executable, str(ROOT / "scripts/sync.py"), "teachme_to_course_progress"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr[-2000:]
    summary = json.loads(completed.stdout.strip().splitlines()[-1])
    export = ROOT / "demo/samples/teachme/teachme_2026-11-24.csv"
    with export.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    contacts = {c["Email"].lower(): c["Id"] for c in org.data.records("Contact")}
    with_contact = [r for r in rows if r["Email"].lower() in contacts]
    assert summary["status"] == "Completed"
    assert summary["report_rows"] == len(rows)
    assert (summary["written"], summary["unmatched"]) == (
        len(with_contact),
        len(rows) - len(with_contact),
    )
    saved = {r["WalkMe_Progress_Key__c"]: r for r in org.data.records("WalkMe_Course_Progress__c")}
    assert len(saved) == len(with_contact)
    row = with_contact[0]
    record = saved[f"{row['User ID']}|{row['Course Name'].casefold()}"]
    assert record["Contact__c"] == contacts[row["Email"].lower()]
    assert record["Name"] == row["Course Name"]
    assert record["WalkMe_Progress__c"] == float(row["Course Progress"].rstrip("%"))
    assert record["WalkMe_Source__c"] == "TeachMe"

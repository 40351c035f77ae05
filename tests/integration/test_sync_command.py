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

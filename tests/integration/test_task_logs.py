"""What a person reading a task log sees: our messages, not framework noise or chained traces.

Each DAG runs through `dag.test()` in a process of its own (tests/integration/dag_process.py), as
Airflow runs tasks, and the test reads everything that process logged.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.integration.harness import ROOT, SyncHarness
from tests.integration.test_sync_dags import login_rows, seed_leads

pytestmark = pytest.mark.slow
AT = datetime(2026, 11, 24, 8, tzinfo=UTC)


def task_logs(integration_id: str) -> str:
    """Run the integration's DAG in a new process; everything it logged."""
    finished = subprocess.run(
        [sys.executable, "-m", "tests.integration.dag_process", integration_id, AT.isoformat()],
        cwd=ROOT,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return finished.stdout + finished.stderr


def test_clean_run_logs_carry_no_masking_or_validation_noise(
    harness: SyncHarness, sf_emulator: Any
) -> None:
    seed_leads(sf_emulator, ["user0@example.com", "user1@example.com"])
    harness.write_config("clean_logs")
    harness.write_export("clean_logs", login_rows(2))

    logs = task_logs("clean_logs")

    assert "RUN SUMMARY" in logs and '"status": "Completed"' in logs
    # The sandbox connection holds `domain: test`, too short to mask: Airflow would warn about it.
    assert "Connected to Salesforce through connection 'salesforce_sandbox'" in logs
    assert "Skipping masking" not in logs
    # great-expectations stays quiet; our one-line validation summary is there.
    assert "[great_expectations" not in logs
    assert "Validation: {" in logs
    assert "Traceback" not in logs


def test_handled_failure_ends_with_its_reason_not_a_chained_trace(
    harness: SyncHarness, sf_emulator: Any
) -> None:
    harness.write_config("failing_logs")
    harness.write_export(
        "failing_logs",
        [["a@example.com", "2026-01-01 00:00:00", "2026-11-01 00:00:00", 3]],
        header=["Email Address", "First Login", "Last Login", "Logins in Past 30 days"],
    )

    logs = task_logs("failing_logs")

    # Our own line names the step, the kind of error, the missing column and what to do.
    assert "extract failed (source)" in logs
    assert "lacks required column(s) 'User ID'" in logs and "What to do:" in logs
    # Airflow prints the failed task's traceback once; the error we translated is not chained.
    assert "The above exception was the direct cause" not in logs
    assert "During handling of the above exception" not in logs
    assert "include.walkme_sync.errors.SourceError" not in logs

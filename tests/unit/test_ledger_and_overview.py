"""The run ledger (real SQLite) and the Integrations list view built from configs + ledger."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from include.walkme_sync.airflow.overview import integration_rows, render_html
from include.walkme_sync.ledger import Ledger, RowProblem, RunRecord

ROOT = Path(__file__).resolve().parents[2]
START = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


def run_record(run_id: str, status: str = "Completed", **counts: int) -> RunRecord:
    return RunRecord(
        integration_id="login_review_to_lead",
        integration_name="Login Review -> Lead",
        dag_id="walkme_sync__login_review_to_lead",
        dag_run_id=run_id,
        environment="sandbox",
        report="login_review",
        object_name="Lead",
        started_at=START,
        ended_at=START + timedelta(seconds=42),
        status=status,
        report_rows=sum(counts.values()),
        counts=counts,
        api_calls=5,
    )


def test_ledger_stores_runs_and_row_problems(tmp_path: Path) -> None:
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    problems = [
        RowProblem(3, "x@example.com", "unmatched", "no Lead has this Email"),
        RowProblem(1, "y@example.com", "failed", "value too large", "STRING_TOO_LONG", "00Q1"),
    ]

    run_pk = ledger.record_run(run_record("run-1", written=8, unmatched=1, failed=1), problems)

    (run,) = ledger.runs("login_review_to_lead")
    assert (run["written"], run["unmatched"], run["failed"], run["report_rows"]) == (8, 1, 1, 10)
    assert run["runtime_seconds"] == 42
    stored = ledger.row_problems(run_pk)
    assert [p["row_number"] for p in stored] == [1, 3]  # report order
    assert stored[0]["error_code"] == "STRING_TOO_LONG"


def test_recording_the_same_dag_run_again_replaces_it(tmp_path: Path) -> None:
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    ledger.record_run(run_record("run-1", "Failed", failed=2), [RowProblem(1, "k", "failed")])

    run_pk = ledger.record_run(run_record("run-1", written=2), [])

    (run,) = ledger.runs()
    assert (run["status"], run["written"], run["failed"]) == ("Completed", 2, 0)
    assert ledger.row_problems(run_pk) == []


def test_overview_lists_last_runs_and_invalid_configs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "integrations"
    folder.mkdir()
    shutil.copy(ROOT / "demo/integrations/login_review_to_lead.yaml", folder)
    shutil.copy(ROOT / "demo/integrations/nps_to_contact.yaml", folder)
    (folder / "broken.yaml").write_text("id: broken\nname: [unclosed\n")
    monkeypatch.setenv("WALKME_SYNC_INTEGRATIONS_DIR", str(folder))
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    ledger.record_run(run_record("run-1", written=3, unmatched=1), [])

    rows = {row.name: row for row in integration_rows(ledger)}

    login = rows["Login Review -> Lead"]
    assert (login.status, login.last_run, login.counts) == (
        "Completed",
        "2026-11-24 08:00:00 UTC",
        "written 3, unmatched 1",
    )
    assert rows["NPS -> Contact"].status == "Never run"
    broken = next(row for row in rows.values() if row.status == "Invalid config")
    assert broken.problems and "broken.yaml" in broken.name
    page = render_html(list(rows.values()))
    assert 'href="/dags/walkme_sync__login_review_to_lead" target="_top"' in page
    assert "Invalid config" in page


def test_ledger_database_comes_from_the_walkme_ledger_connection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from include.walkme_sync.ledger import default_ledger_url

    database = tmp_path / "team-ledger.db"
    monkeypatch.delenv("WALKME_SYNC_LEDGER_URL", raising=False)
    monkeypatch.setenv(
        "AIRFLOW_CONN_WALKME_LEDGER", json.dumps({"conn_type": "sqlite", "host": str(database)})
    )

    Ledger().record_run(run_record("run-1", written=1), [])

    assert default_ledger_url() == f"sqlite:///{database}"
    assert Ledger(f"sqlite:///{database}").runs()[0]["written"] == 1


def test_run_note_reads_like_a_log_line() -> None:
    from include.walkme_sync.airflow.run_note import note_text

    summary = {"status": "Completed", "written": 182, "unchanged": 0, "unmatched": 17}
    summary |= {"ambiguous": 1, "api_calls": 3, "dry_run": False, "message": None}
    assert (
        note_text(summary) == "Completed · written 182 · unmatched 17 · ambiguous 1 · 3 API calls"
    )

    failed = summary | {"status": "Failed", "failed": 5, "message": "the upsert step failed: x"}
    assert note_text(failed).splitlines() == [
        "Completed · written 182 · unmatched 17 · ambiguous 1 · failed 5 · 3 API calls".replace(
            "Completed", "Failed"
        ),
        "",  # a paragraph break: the UI renders the note as Markdown
        "the upsert step failed: x",
    ]

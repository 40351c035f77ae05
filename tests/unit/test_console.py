"""The Integrations console's content from real configs, a real ledger and Airflow's state (as the
plain values `airflow_state` reads), and its pages as HTML."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from include.walkme_sync.airflow.console import (
    Access,
    AirflowRun,
    Console,
    DagState,
    build_console,
    console_json,
    dag_ids_of,
    format_runtime,
    merge_runs,
)
from include.walkme_sync.airflow.pages import render
from include.walkme_sync.config import load_integrations
from include.walkme_sync.ledger import Ledger, RowProblem
from tests.unit.test_ledger_and_overview import START, run_record

ROOT = Path(__file__).resolve().parents[2]
LOGINS_DAG = "walkme_sync__login_review_to_lead"
NPS_DAG = "walkme_sync__nps_to_contact"


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The demo integrations, a broken file (with the seed's illegal field name) and a warning."""
    folder = tmp_path / "integrations"
    folder.mkdir()
    shutil.copy(ROOT / "demo/integrations/login_review_to_lead.yaml", folder)
    nps = (ROOT / "demo/integrations/nps_to_contact.yaml").read_text()
    # A custom field without the WalkMe prefix: valid, with a warning.
    (folder / "nps_to_contact.yaml").write_text(nps.replace("WalkMe_User_Id__c", "User_Id__c"))
    broken = (ROOT / "demo/integrations/login_review_to_lead.yaml").read_text()
    broken = broken.replace("id: login_review_to_lead", "id: broken_logins")
    (folder / "broken_logins.yaml").write_text(
        broken.replace("WalkMe_Logins_Last_30_Days__c", "WalkMe_#_Logins_last_30_days")
    )
    monkeypatch.setenv("WALKME_SYNC_INTEGRATIONS_DIR", str(folder))
    return folder


def everything(dag_ids: set[str]) -> Access:
    ids = frozenset(dag_ids)
    return Access(readable=ids, triggerable=ids, pausable=ids)


def console_for(
    ledger: Ledger, states: dict[str, DagState], access: Access | None = None
) -> Console:
    result = load_integrations()
    runs = ledger.newest_run_per_integration()
    return build_console(result, runs, states, access or everything(dag_ids_of(result, runs)))


def test_console_rows_join_configs_airflow_and_the_ledger(folder: Path, tmp_path: Path) -> None:
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    ledger.record_run(
        replace(run_record("run-1", would_write=3, unmatched=1), dry_run=True),
        [RowProblem(2, "x@example.com", "unmatched", "no Lead record has this Email")],
    )
    states = {
        LOGINS_DAG: DagState(LOGINS_DAG, is_paused=False, next_run=START + timedelta(days=1)),
        NPS_DAG: DagState(NPS_DAG, is_paused=True),
    }

    console = console_for(ledger, states)

    logins, nps = console.integrations  # sorted by name
    assert (logins.name, logins.report_title, logins.object_name) == (
        "Login Review -> Lead",
        "Login Review",  # the catalog's title, not the report id
        "Lead",
    )
    assert (logins.airflow_state, logins.next_run) == ("Active", "2026-11-25 08:00 UTC")
    assert logins.last_run is not None
    assert logins.last_run.dry_run and logins.last_run.status == "Completed"
    # A dry run is "would write", never "written".
    assert logins.last_run.counts == (("would write", 3), ("unmatched", 1))
    assert logins.last_run.runtime == "42.0 s"
    assert (nps.airflow_state, nps.next_run, nps.last_run) == ("Paused", None, None)
    assert any("WalkMe" in warning for warning in nps.warnings)
    (invalid,) = console.invalid
    assert invalid.id == "broken_logins" and invalid.dag_id == "walkme_sync__invalid__broken_logins"
    assert "WalkMe_Logins_Last_30_Days__c" in invalid.errors[0]
    assert console.removed == []
    # The same as JSON (GET /integrations/api): one flat row per integration.
    rows = {row["id"]: row for row in console_json(console)}
    assert rows["login_review_to_lead"]["status"] == "Completed"
    assert rows["login_review_to_lead"]["counts"] == "dry run: would write 3, unmatched 1"
    assert rows["nps_to_contact"]["status"] == "Never run"
    assert rows["broken_logins"]["status"] == "Invalid config"
    assert rows["broken_logins"]["problems"]


def test_users_see_only_integrations_whose_dags_they_may_read(folder: Path, tmp_path: Path) -> None:
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    states = {LOGINS_DAG: DagState(LOGINS_DAG, is_paused=False)}

    console = console_for(ledger, states, Access(readable=frozenset({LOGINS_DAG})))

    (only,) = console.integrations
    assert only.dag_id == LOGINS_DAG
    assert not only.can_trigger and not only.can_pause  # read-only: buttons are disabled
    assert console.invalid == []
    html = render("console_table.html", console=console, folder="x", base="/i", airflow="")
    assert html.count('data-action="run" disabled') == 1


def test_a_dag_not_parsed_yet_and_a_run_in_flight(folder: Path, tmp_path: Path) -> None:
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    ledger.record_run(run_record("old", written=5), [])
    running = AirflowRun("manual__new", "running", START + timedelta(hours=1), None, dry_run=True)
    states = {LOGINS_DAG: DagState(LOGINS_DAG, is_paused=False, runs=(running,))}

    logins, nps = console_for(ledger, states).integrations

    assert logins.last_run is not None
    assert (logins.last_run.status, logins.last_run.dry_run) == ("Running", True)
    assert nps.airflow_state == "Waiting for Airflow" and not nps.in_airflow


def test_a_paused_integration_that_missed_its_time_says_resuming_runs_it(folder: Path) -> None:
    due = START + timedelta(days=1)
    states = {
        LOGINS_DAG: DagState(LOGINS_DAG, is_paused=True, next_run=due),
        NPS_DAG: DagState(NPS_DAG, is_paused=True, next_run=due + timedelta(days=9)),
    }
    result = load_integrations()
    access = everything(dag_ids_of(result, {}))

    console = build_console(result, {}, states, access, now=due + timedelta(days=3))

    logins, nps = console.integrations
    assert logins.missed_run == "2026-11-25 08:00 UTC"
    assert nps.missed_run is None  # its time has not come yet
    html = render("console_table.html", console=console, folder="x", base="/i", airflow="")
    assert 'data-missed="2026-11-25 08:00 UTC"' in html
    assert "resuming runs it" in html


def test_removed_integrations_keep_their_history(folder: Path, tmp_path: Path) -> None:
    """Deleting an integration = removing its YAML file: its runs stay readable."""
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    ledger.record_run(run_record("run-1", written=4), [])
    (folder / "login_review_to_lead.yaml").unlink()

    console = console_for(ledger, {})

    (gone,) = console.removed
    assert (gone.id, gone.name, gone.last_run.counts) == (
        "login_review_to_lead",
        "Login Review -> Lead",
        (("written", 4),),
    )
    assert not gone.last_run.in_airflow
    html = render("console_table.html", console=console, folder="x", base="/i", airflow="")
    assert "Removed integrations" in html


def test_the_log_lists_every_sync_once_newest_first() -> None:
    """Ledger rows and Airflow runs are the same sync when run id and start agree; a DAG deleted
    and re-created repeats run ids, and both syncs stay listed."""
    first = {**_ledger_row("scheduled__1", START, would_write=3), "dry_run": True}
    recreated_start = START + timedelta(days=1)
    second = _ledger_row("scheduled__1", recreated_start, unchanged=3)
    airflow = [
        AirflowRun("scheduled__1", "success", recreated_start, recreated_start),  # = second
        AirflowRun("manual__q", "queued", None, None),
        AirflowRun(
            "manual__lost", "failed", START + timedelta(hours=2), START + timedelta(hours=3)
        ),
    ]

    runs = merge_runs([second, first], airflow, airflow_run_ids={"scheduled__1", "manual__q"})

    assert [(r.run_id, r.status) for r in runs] == [
        ("manual__q", "Queued"),
        ("scheduled__1", "Completed"),
        ("manual__lost", "Failed"),
        ("scheduled__1", "Completed"),
    ]
    assert runs[1].counts == (("unchanged", 3),)
    assert runs[3].counts == (("would write", 3),) and runs[3].dry_run
    assert "record_run" in (runs[2].reason or "")
    assert runs[1].in_airflow and runs[3].in_airflow  # same id: Airflow still has a run by it


def _ledger_row(run_id: str, started: datetime, **counts: int) -> dict[str, object]:
    row: dict[str, object] = {
        "dag_id": LOGINS_DAG,
        "dag_run_id": run_id,
        "started_at": started.replace(tzinfo=None),  # as SQLite hands it back
        "runtime_seconds": 12.5,
        "status": "Completed",
        "dry_run": False,
        "message": None,
        "api_calls": 2,
    }
    for bucket in ("written", "would_write", "unchanged", "unmatched", "failed"):
        row[bucket] = counts.get(bucket, 0)
    return row


def test_config_and_log_overlays_render(folder: Path) -> None:
    html = render(
        "config.html",
        file="broken_logins.yaml",
        integration_id=None,
        dag_id="walkme_sync__invalid__broken_logins",
        errors=["broken_logins.yaml:33: mappings[2].field: <b>bad</b>"],
        warnings=[],
        flagged={2},
        lines=["id: broken_logins", "name: <script>alert(1)</script>"],
        folder="dags/integrations",
    )
    assert "&lt;script&gt;" in html and "<script>alert" not in html
    assert 'class="line flagged" data-line="2"' in html
    assert "Delete Dag" in html

    runs = merge_runs([_ledger_row("manual__1", START, written=2)], [])
    log = render(
        "log.html",
        runs=runs,
        name="Login Review -> Lead",
        integration_id="x",
        truncated=False,
        base="/integrations",
        airflow="",
    )
    assert "/dags/walkme_sync__login_review_to_lead/runs/manual__1" in log
    assert "/plugin/sync-report" in log


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(4.25, "4.2 s"), (59.4, "59.4 s"), (61, "1 min 01 s"), (3725, "1 h 02 min")],
)
def test_runtime_reads_like_the_original(seconds: float, text: str) -> None:
    assert format_runtime(seconds) == text


def test_plugin_import_loads_no_heavy_library() -> None:
    """The plugin is imported by every Airflow component: it must not load pandas & co."""
    import subprocess
    import sys

    code = (
        "import sys, plugins.integrations_plugin as p; "
        "heavy = {'pandas', 'great_expectations', 'pyarrow', 'numpy', 'simple_salesforce'}; "
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip().splitlines()[-1] == "[]"

"""The generated DAGs: shape, schedule, tags, retries, docs, and how bad configs show up."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.configs import DEMO_INTEGRATIONS

ROOT = Path(__file__).resolve().parents[2]
DEMO_IDS = {"walkme_sync__login_review_to_lead", "walkme_sync__nps_to_contact"}
TASK_ORDER = ["extract_report", "validate_report", "match_keys", "upsert", "record_run"]


@pytest.fixture
def dag_bag(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    from airflow.models import DagBag

    monkeypatch.setenv("WALKME_SYNC_INTEGRATIONS_DIR", str(DEMO_INTEGRATIONS))  # as `make run`
    return DagBag(dag_folder=str(ROOT / "dags"))


def test_demo_integrations_load_without_import_errors(dag_bag) -> None:  # type: ignore[no-untyped-def]
    assert dag_bag.import_errors == {}
    assert set(dag_bag.dag_ids) >= DEMO_IDS


def test_shipped_dags_folder_parses_to_no_dag(monkeypatch: pytest.MonkeyPatch) -> None:
    """As deployed: the default dags/integrations/ holds only its README, so no DAG and no error."""
    from airflow.models import DagBag

    monkeypatch.delenv("WALKME_SYNC_INTEGRATIONS_DIR", raising=False)
    bag = DagBag(dag_folder=str(ROOT / "dags"))

    assert bag.import_errors == {}
    assert bag.dag_ids == []
    # The DAG file itself was parsed: .airflowignore hides only the folder of YAML files.
    assert [Path(stat.file).name for stat in bag.dagbag_stats] == ["integrations.py"]


def test_each_dag_has_the_sync_shape(dag_bag) -> None:  # type: ignore[no-untyped-def]
    dag = dag_bag.dags["walkme_sync__login_review_to_lead"]
    assert [task.task_id for task in _topological(dag)] == TASK_ORDER
    assert dag.timetable.expression == "0 8 * * *"
    assert str(dag.timetable.timezone) == "UTC"
    assert dag.catchup is False
    assert dag.max_active_runs == 1
    assert dag.start_date is None  # see dag_factory._schedule: no run for a past interval
    assert dag.dag_display_name == "Login Review -> Lead"
    assert dag.default_args["retries"] >= 2
    assert dag.default_args["retry_exponential_backoff"] == 2.0
    assert {"integration:login_review_to_lead", "env:sandbox", "object:Lead"} <= set(dag.tags)
    assert "report:login_review" in dag.tags
    assert set(dag.params.keys()) == {"dry_run", "full_sync"}
    assert dag.get_task("record_run").trigger_rule == "all_done"
    # The doc shows the integration like the original list view.
    assert "WalkMe_Logins_Last_30_Days__c" in dag.doc_md
    assert "`User ID` (email) = `Lead.Email`" in dag.doc_md.replace("report column ", "")


def _topological(dag):  # type: ignore[no-untyped-def]
    ordered, task = [], dag.get_task("extract_report")
    while task is not None:
        ordered.append(task)
        downstream = list(task.downstream_list)
        task = downstream[0] if downstream else None
    return ordered


def test_bad_config_never_hides_good_ones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.models import DagBag

    folder = tmp_path / "integrations"
    folder.mkdir()
    shutil.copy(ROOT / "demo/integrations/login_review_to_lead.yaml", folder)
    (folder / "broken.yaml").write_text(
        (ROOT / "demo/integrations/nps_to_contact.yaml")
        .read_text()
        .replace("id: nps_to_contact", "id: broken")
        .replace("WalkMe_NPS_Score__c", "WalkMe_#_NPS_Score")
    )
    inactive = (ROOT / "demo/integrations/nps_to_contact.yaml").read_text()
    (folder / "paused.yaml").write_text(
        inactive.replace("id: nps_to_contact", "id: paused").replace(
            "active: true", "active: false"
        )
    )
    monkeypatch.setenv("WALKME_SYNC_INTEGRATIONS_DIR", str(folder))

    bag = DagBag(dag_folder=str(ROOT / "dags"))

    assert bag.import_errors == {}
    assert "walkme_sync__login_review_to_lead" in bag.dag_ids
    placeholder = bag.dags["walkme_sync__invalid__broken"]
    assert "config-error" in placeholder.tags
    assert "WalkMe_NPS_Score__c" in placeholder.doc_md  # the legal-name suggestion
    assert placeholder.schedule is None
    paused = bag.dags["walkme_sync__paused"]
    assert "inactive" in paused.tags
    assert paused.schedule is None


def test_dag_file_imports_no_heavy_libraries(tmp_path: Path) -> None:
    """Parsing must not load pandas, great-expectations, pyarrow or a Salesforce client."""
    probe = (
        "import json, sys, runpy; runpy.run_path(sys.argv[1]);"
        "print(json.dumps(sorted(m for m in ('pandas', 'great_expectations', 'pyarrow',"
        " 'simple_salesforce', 'numpy') if m in sys.modules)))"
    )
    output = (
        subprocess.run(
            [sys.executable, "-c", probe, str(ROOT / "dags" / "integrations.py")],
            check=True,
            capture_output=True,
            text=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    assert json.loads(output) == []


def test_a_new_or_re_created_integration_first_runs_at_its_next_scheduled_time(
    dag_bag,  # type: ignore[no-untyped-def]
) -> None:
    """Asked as the scheduler asks it: the serialized DAG's next run with no run before it.

    A DAG deleted in the UI and re-created by the DAG processor has no runs either, so this covers
    both: nothing runs (and writes) for an interval that passed before the DAG appeared.
    """
    from datetime import UTC, datetime, timedelta

    from airflow.serialization.serialized_objects import DagSerialization

    dag = dag_bag.dags["walkme_sync__login_review_to_lead"]
    before = datetime.now(UTC)
    scheduled = DagSerialization.from_dict(DagSerialization.to_dict(dag))
    first = scheduled.next_dagrun_info(last_automated_run_info=None)
    assert first is not None
    assert first.run_after > before, "a past interval would run (and write) at once"
    assert first.run_after - before <= timedelta(days=1)
    assert (first.run_after.hour, first.run_after.minute) == (8, 0)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # Just after the day's scheduled time (inside Airflow's default 2.4 h grace): tomorrow.
        (datetime(2026, 11, 30, 8, 11, tzinfo=UTC), datetime(2026, 12, 1, 8, 0, tzinfo=UTC)),
        (datetime(2026, 11, 30, 10, 0, tzinfo=UTC), datetime(2026, 12, 1, 8, 0, tzinfo=UTC)),
        (datetime(2026, 11, 30, 7, 59, tzinfo=UTC), datetime(2026, 11, 30, 8, 0, tzinfo=UTC)),
    ],
)
def test_a_dag_appearing_after_todays_time_waits_for_tomorrow(
    dag_bag,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
    now: datetime,
    expected: datetime,
) -> None:
    """Whatever the time of day the DAG appears, no scheduled time before it runs."""
    import airflow.timetables.trigger as trigger
    from airflow.serialization.serialized_objects import DagSerialization

    # Airflow's clock, set to a chosen time of day (the scheduler asks the timetable at "now").
    monkeypatch.setattr(trigger, "utcnow", lambda: now)
    dag = dag_bag.dags["walkme_sync__login_review_to_lead"]
    scheduled = DagSerialization.from_dict(DagSerialization.to_dict(dag))
    first = scheduled.next_dagrun_info(last_automated_run_info=None)
    assert first is not None
    assert first.run_after == expected


def test_config_warnings_show_in_the_dags_docs(tmp_path: Path) -> None:
    import yaml

    from include.walkme_sync.airflow.dag_factory import build_all
    from tests.configs import LOGIN_REVIEW_TO_LEAD

    config = dict(LOGIN_REVIEW_TO_LEAD, id="warned")
    config["mappings"] = [{"column": "Logins in Past 30 days", "field": "Login_Count__c"}]
    (tmp_path / "warned.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")

    (dag,) = build_all(str(tmp_path / "integrations.py"), tmp_path)

    assert "**Config warnings**" in dag.doc_md
    assert "Login_Count__c" in dag.doc_md.split("**Config warnings**", 1)[1]


def _parse_as_a_task_of(dag_id: str, monkeypatch: pytest.MonkeyPatch, folder: Path) -> Any:
    """The DagBag a worker gets when it parses the DAG file to run a task of `dag_id`."""
    from airflow.models import DagBag
    from airflow.sdk.definitions.context import (
        _AIRFLOW_PARSING_CONTEXT_DAG_ID,
        _AIRFLOW_PARSING_CONTEXT_TASK_ID,
    )

    monkeypatch.setenv("WALKME_SYNC_INTEGRATIONS_DIR", str(folder))
    # What Airflow's task runner sets around its parse (monkeypatch unsets it afterwards).
    with monkeypatch.context() as task_process:
        task_process.setenv(_AIRFLOW_PARSING_CONTEXT_DAG_ID, dag_id)
        task_process.setenv(_AIRFLOW_PARSING_CONTEXT_TASK_ID, "upsert")
        bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert bag.import_errors == {}
    return bag


def test_a_task_process_builds_only_its_own_dag_the_same_way(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from airflow.models import DagBag

    folder = tmp_path / "integrations"
    shutil.copytree(DEMO_INTEGRATIONS, folder)
    dag_id = "walkme_sync__nps_to_contact"

    alone_bag = _parse_as_a_task_of(dag_id, monkeypatch, folder)

    assert alone_bag.dag_ids == [dag_id]
    alone = alone_bag.dags[dag_id]
    full = DagBag(dag_folder=str(ROOT / "dags")).dags[dag_id]
    assert len(DagBag(dag_folder=str(ROOT / "dags")).dag_ids) > 1
    assert [t.task_id for t in alone.tasks] == [t.task_id for t in full.tasks]
    assert [type(t) for t in alone.tasks] == [type(t) for t in full.tasks]
    assert [t.op_args for t in alone.tasks] == [t.op_args for t in full.tasks]
    assert alone.params.dump() == full.params.dump()
    assert alone.doc_md == full.doc_md


def test_a_task_of_an_id_two_files_claim_parses_everything(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Reading one file is only a shortcut: when it cannot decide, the whole folder is parsed
    (which flags both files and builds no DAG for that id)."""
    folder = tmp_path / "integrations"
    shutil.copytree(DEMO_INTEGRATIONS, folder)
    twin = (folder / "nps_to_contact.yaml").read_text()
    (folder / "nps_copy.yaml").write_text(twin)

    parsed = _parse_as_a_task_of("walkme_sync__nps_to_contact", monkeypatch, folder).dag_ids

    assert "walkme_sync__nps_to_contact" not in parsed
    assert "walkme_sync__login_review_to_lead" in parsed
    assert "walkme_sync__invalid__nps_copy" in parsed

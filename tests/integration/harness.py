"""Run real integration DAGs through `dag.test()` against the local Salesforce.

A `SyncHarness` owns a private integrations folder, report exports and storage root (ledger
included), writes configs the way a user does (YAML), and runs the DAG that `dags/integrations.py`
generates for them.
"""

from __future__ import annotations

import copy
import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.configs import LOGIN_REVIEW_TO_LEAD

ROOT = Path(__file__).resolve().parents[2]
DAG_FILE = str(ROOT / "dags" / "integrations.py")
EXPORT_DATE = "2026-11-24"

# The base config, reading exports from the test's own folder (filled in by write_config).
LOGIN_REVIEW_CONFIG: dict[str, Any] = {
    key: value for key, value in LOGIN_REVIEW_TO_LEAD.items() if key != "id"
}
LOGIN_REVIEW_CONFIG["report"] = {
    **LOGIN_REVIEW_TO_LEAD["report"],
    "source": {"kind": "files", "location": "", "pattern": "*.csv", "pick": "newest"},
}
LOGIN_REVIEW_HEADER = ["User ID", "First Login", "Last Login", "Logins in Past 30 days"]


@dataclass
class RunResult:
    state: str
    summary: dict[str, Any]

    def bucket(self, name: str) -> int:
        return int(self.summary[name])


def deep_merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in overrides.items():
        # A report source is replaced whole: a SQL source shares no keys with a file source.
        if key != "source" and isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


class SyncHarness:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.integrations = root / "integrations"
        self.exports = root / "exports"
        self.storage = root / "storage"
        for folder in (self.integrations, self.exports, self.storage):
            folder.mkdir(parents=True, exist_ok=True)

    def write_config(
        self, integration_id: str, overrides: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Write dags/integrations-style YAML for a login_review -> Lead variant."""
        config = deep_merge(LOGIN_REVIEW_CONFIG, overrides or {})
        config["id"] = integration_id
        source = config["report"]["source"]
        if source.get("kind") == "files" and not source.get("location"):
            source["location"] = str(self.export_folder(integration_id))
        path = self.integrations / f"{integration_id}.yaml"
        path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        return config

    def export_folder(self, integration_id: str) -> Path:
        folder = self.exports / integration_id
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def write_export(
        self,
        integration_id: str,
        rows: list[list[Any]],
        *,
        header: list[str] | None = None,
        name: str = f"login_review_{EXPORT_DATE}.csv",
        bom: bool = False,
    ) -> Path:
        """A WalkMe-style CSV export in the integration's folder."""
        path = self.export_folder(integration_id) / name
        with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header or LOGIN_REVIEW_HEADER)
            writer.writerows(rows)
        return path

    def run(
        self,
        integration_id: str,
        *,
        dry_run: bool = False,
        full_sync: bool = False,
        at: Any = None,
        retries: int = 0,
        skip_tasks: tuple[str, ...] = (),
    ) -> RunResult:
        """Generate the DAGs from the configs and run this integration's DAG once.

        `at` fixes the run's logical date and run_after, so a second call with the same `at` is
        the same run (same run id, same run folder): with `skip_tasks` marked successful instead
        of run, that is Airflow retrying the other tasks. `retries` keeps Airflow's task retries
        (without their delays).
        """
        dag_run = self.run_dag(
            integration_id,
            dry_run=dry_run,
            full_sync=full_sync,
            logical_date=at,
            run_after=at,
            retries=retries,
            skip_tasks=skip_tasks,
        )
        summary_path = self._summary_path(integration_id, dag_run.run_id)
        summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
        return RunResult(state=str(dag_run.state), summary=summary)

    def run_dag(
        self,
        integration_id: str,
        *,
        dry_run: bool = False,
        full_sync: bool = False,
        logical_date: Any = None,
        run_after: Any = None,
        retries: int = 0,
        skip_tasks: tuple[str, ...] = (),
    ) -> Any:
        """Run this integration's DAG once through `dag.test()`; returns the DAG run.

        The run id is made from `run_after` (now, when not given): the same `run_after` twice is
        the same run."""
        from datetime import timedelta

        from include.walkme_sync.airflow.dag_factory import build_all

        dags = {dag.dag_id: dag for dag in build_all(DAG_FILE, self.integrations)}
        dag = dags[f"walkme_sync__{integration_id}"]
        for task in dag.tasks:
            # A failing test should fail now, not after Airflow's production retry delays.
            task.retries = retries
            task.retry_delay = timedelta(0)
            task.retry_exponential_backoff = 0
        when = {} if logical_date is None else {"logical_date": logical_date}
        if run_after is not None:
            when["run_after"] = run_after
        if skip_tasks:
            when["mark_success_pattern"] = "^(" + "|".join(skip_tasks) + ")$"
        return dag.test(run_conf={"dry_run": dry_run, "full_sync": full_sync}, **when)

    def run_folder(self, integration_id: str, run_id: str) -> Path:
        from include.walkme_sync.storage import run_dir

        return Path(run_dir(integration_id, run_id, root=self.storage).path)

    @staticmethod
    def task_states(dag_run: Any) -> dict[str, str]:
        return {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}

    def _summary_path(self, integration_id: str, run_id: str) -> Path:
        from include.walkme_sync.storage import run_dir

        return run_dir(integration_id, run_id, root=self.storage) / "summary.json"

"""The seed example and the NPS demo, each run twice on the multi-worker cluster.

Both demos read their sample exports from S3 and write the demo CRM in the emulator; their first
runs go together, then their second runs. The tasks of every run alternate between the two workers
(cluster policy), so every hand-over between steps (run files, config snapshot, XCom) crosses
"machines".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from include.walkme_sync.frames import Bucket
from include.walkme_sync.ledger.migrate import head_revision
from tests.distributed.cluster import ROOT, WORKERS, Cluster
from tests.distributed.expectations import (
    ExpectedSync,
    expected_sync,
    mismatches,
    newest_export,
    seed_records,
)
from tests.distributed.observe import (
    RunOutcome,
    dag_file_parsed,
    ledger_revision,
    ledger_runs,
    run_integrations,
    task_placement,
)
from tests.distributed.settings import RUNS_BUCKET, STORAGE_ROOT
from tests.distributed.workload import (
    NPS_DEMO,
    SEED_EXAMPLE,
    dag_id,
    demo_config,
    salesforce_records,
    upload_demo_exports,
)

# The first test also waits for the cluster to start and the four runs to finish.
pytestmark = pytest.mark.timeout(1200)
DEMOS = {SEED_EXAMPLE: "Lead", NPS_DEMO: "Contact"}  # integration -> object it writes
# Every bucket the engine knows (a new one must be 0 here unless a test expects it).
BUCKETS = tuple(str(bucket) for bucket in Bucket)
# The cluster policy's routing: position in the pipeline -> queue (and that worker's hostname).
EXPECTED_QUEUES = {
    "extract_report": "worker_a",
    "validate_report": "worker_b",
    "match_keys": "worker_a",
    "upsert": "worker_b",
    "record_run": "worker_a",
}


@dataclass
class DemoRuns:
    config: dict[str, Any]
    expected: ExpectedSync
    first: RunOutcome
    second: RunOutcome


@pytest.fixture(scope="module")
def demo_runs(cluster: Cluster) -> dict[str, DemoRuns]:
    s3 = cluster.s3.client()
    expected = {}
    for integration_id, sobject in DEMOS.items():
        exports = upload_demo_exports(s3, integration_id)
        config = demo_config(integration_id)
        records = seed_records("sandbox", sobject)
        expected[integration_id] = (config, expected_sync(config, newest_export(exports), records))
    first = run_integrations(cluster, list(DEMOS))
    second = run_integrations(cluster, list(DEMOS))
    return {
        integration_id: DemoRuns(config, exp, first[integration_id], second[integration_id])
        for integration_id, (config, exp) in expected.items()
    }


def counts(summary: dict[str, Any]) -> dict[str, int]:
    return {bucket: int(summary.get(bucket, -1)) for bucket in BUCKETS}


@pytest.mark.parametrize("integration_id", list(DEMOS))
def test_first_run_writes_every_matched_record_field_by_field(
    integration_id: str, demo_runs: dict[str, DemoRuns], cluster: Cluster
) -> None:
    runs = demo_runs[integration_id]
    first = runs.first

    assert first.state == "success", first
    assert first.summary["status"] == "Completed"
    assert first.summary["report_rows"] == runs.expected.report_rows
    assert counts(first.summary) == {
        **dict.fromkeys(BUCKETS, 0),
        **runs.expected.counts,
    }
    records = salesforce_records(cluster.emulator.admin_url, "sandbox", DEMOS[integration_id])
    assert mismatches(runs.expected, runs.config, records) == []


@pytest.mark.parametrize("integration_id", list(DEMOS))
def test_second_run_writes_nothing(integration_id: str, demo_runs: dict[str, DemoRuns]) -> None:
    runs = demo_runs[integration_id]
    second = runs.second

    assert second.state == "success", second
    assert second.summary["status"] == "Completed"
    assert counts(second.summary) == {
        **dict.fromkeys(BUCKETS, 0),
        **runs.expected.counts,
        "written": 0,
        "unchanged": runs.expected.counts["written"],
    }
    assert second.summary["api_calls"] < runs.first.summary["api_calls"]


@pytest.mark.parametrize("integration_id", list(DEMOS))
def test_ledger_in_postgres_holds_one_row_per_run(
    integration_id: str, demo_runs: dict[str, DemoRuns], cluster: Cluster
) -> None:
    runs = demo_runs[integration_id]

    rows = ledger_runs(cluster, [integration_id])

    assert [row["dag_run_id"] for row in rows] == [runs.first.run_id, runs.second.run_id]
    for row, outcome in zip(rows, (runs.first, runs.second), strict=True):
        assert row["status"] == "Completed"
        assert row["dag_id"] == dag_id(integration_id)
        assert row["report_rows"] == runs.expected.report_rows
        assert counts(row) == counts(outcome.summary)
        assert row["api_calls"] == outcome.summary["api_calls"]
    # The workers' record_run tasks migrated the ledger with the product's own Alembic revisions.
    assert ledger_revision(cluster) == head_revision()


@pytest.mark.parametrize("integration_id", list(DEMOS))
def test_run_files_live_in_object_storage_not_on_a_worker(
    integration_id: str, demo_runs: dict[str, DemoRuns], cluster: Cluster
) -> None:
    runs = demo_runs[integration_id]
    prefix = STORAGE_ROOT.removeprefix(f"s3://{RUNS_BUCKET}/") + f"/runs/{integration_id}/"
    s3 = cluster.s3.client()
    listing = s3.list_objects_v2(Bucket=RUNS_BUCKET, Prefix=prefix).get("Contents", [])
    summaries = [
        json.loads(s3.get_object(Bucket=RUNS_BUCKET, Key=item["Key"])["Body"].read())
        for item in listing
        if item["Key"].endswith("/summary.json")
    ]

    assert sorted((s["dag_run_id"], s["written"]) for s in summaries) == sorted(
        (run.run_id, run.summary["written"]) for run in (runs.first, runs.second)
    )
    # worker_b runs its own copy of the project: a local default (var/storage) would be in it.
    assert not (cluster.root / "worker_b" / "project" / "var").exists()


@pytest.mark.parametrize("integration_id", list(DEMOS))
def test_each_worker_ran_its_share_of_every_run(
    integration_id: str, demo_runs: dict[str, DemoRuns], cluster: Cluster
) -> None:
    runs = demo_runs[integration_id]
    for outcome in (runs.first, runs.second):
        placement = task_placement(cluster, dag_id(integration_id), outcome.run_id)

        assert {task: queue for task, (queue, _) in placement.items()} == EXPECTED_QUEUES
        # The hostname is what the worker that ran the task reported: the queue's own worker.
        assert {task: host for task, (_, host) in placement.items()} == {
            task: WORKERS[queue] for task, queue in EXPECTED_QUEUES.items()
        }
    # Each worker loaded the DAG from its own code: worker_b from its copy of the project.
    dag_files = {
        task: dag_file_parsed(cluster, dag_id(integration_id), runs.first.run_id, task)
        for task in EXPECTED_QUEUES
    }
    worker_b_copy = cluster.root / "worker_b" / "project"
    assert dag_files == {
        task: str((ROOT if queue == "worker_a" else worker_b_copy) / "dags" / "integrations.py")
        for task, queue in EXPECTED_QUEUES.items()
    }


def test_integrations_page_and_run_notes_show_the_last_runs(
    demo_runs: dict[str, DemoRuns], cluster: Cluster
) -> None:
    """The API server's Integrations view reads the Postgres ledger; record_run (on a worker)
    set each run's note through the REST API."""
    rows = {row["id"]: row for row in cluster.api.json("GET", "/integrations/api")}

    for integration_id, runs in demo_runs.items():
        unchanged = f"unchanged {runs.expected.counts['written']}"  # the second run's result
        assert rows[integration_id]["status"] == "Completed"
        assert unchanged in rows[integration_id]["counts"]
        note = cluster.api.dag_run(dag_id(integration_id), runs.second.run_id)["note"]
        assert note.startswith("Completed")
        assert unchanged in note

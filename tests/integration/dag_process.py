"""Run one integration's DAG through `dag.test()` in a process of its own.

`python -m tests.integration.dag_process <integration id> <logical date, ISO>` with the test's
environment (integrations folder, storage root, Salesforce connections, CA bundle). The fault
matrix kills this process with SIGKILL in the middle of the upsert: `dag.test()` runs the tasks in
the calling process, so killing a task means killing a process that is not pytest's.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

from tests.integration.harness import DAG_FILE


def main(integration_id: str, when: str) -> None:
    import os

    from include.walkme_sync.airflow.dag_factory import build_all

    folder = Path(os.environ["WALKME_SYNC_INTEGRATIONS_DIR"])
    dags = {dag.dag_id: dag for dag in build_all(DAG_FILE, folder)}
    dag = dags[f"walkme_sync__{integration_id}"]
    for task in dag.tasks:
        task.retries = 0
    at = datetime.fromisoformat(when)
    dag.test(run_after=at, logical_date=at, run_conf={"dry_run": False, "full_sync": False})


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

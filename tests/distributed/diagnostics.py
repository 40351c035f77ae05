"""What a failing distributed test prints, so a CI failure explains itself.

The failed task instances of the runs the test triggered, with the end of each one's task log
(read through the REST API, i.e. from the remote log folder in S3), then the tail of every
component's own log (scheduler, DAG processor, API server, workers, services).
"""

from __future__ import annotations

from tests.distributed.cluster import Cluster
from tests.distributed.observe import failed_task_instances

LOG_CHARS = 6000


def describe_failure(cluster: Cluster, runs: list[tuple[str, str]]) -> str:
    parts = [_failed_tasks(cluster, runs), "===== component logs =====", cluster.component_logs()]
    return "\n".join(parts)


def _failed_tasks(cluster: Cluster, runs: list[tuple[str, str]]) -> str:
    try:
        failed = failed_task_instances(cluster, runs)
    except Exception as exc:  # the metadata DB may be what broke
        return f"(could not list task instances: {exc!r})"
    if not failed:
        return f"No failed task instances in the {len(runs)} runs this test triggered."
    lines = []
    for ti in failed:
        lines.append(
            f"===== {ti['dag_id']} / {ti['run_id']} / {ti['task_id']}: {ti['state']} "
            f"(try {ti['try_number']}, queue {ti['queue']}, host {ti['hostname']}) ====="
        )
        if ti["try_number"]:
            lines.append(
                _task_log(cluster, ti["dag_id"], ti["run_id"], ti["task_id"], ti["try_number"])
            )
    return "\n".join(lines)


def _task_log(cluster: Cluster, dag_id: str, run_id: str, task_id: str, try_number: int) -> str:
    try:
        text = cluster.api.task_log(dag_id, run_id, task_id, try_number)
    except Exception as exc:
        return f"(task log unavailable: {exc!r})"
    return text[-LOG_CHARS:]

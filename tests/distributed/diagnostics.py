"""What a failing distributed test prints, so a CI failure explains itself.

The failed task instances of the runs the test triggered, with the end of each one's task log
(read through the REST API, i.e. from the remote log folder in S3), then the tail of every
component's own log (scheduler, DAG processor, API server, workers, services).
"""

from __future__ import annotations

from typing import Any

from tests.distributed.cluster import Cluster
from tests.distributed.observe import failed_task_instances

LOG_LINES = 60


def describe_failure(cluster: Cluster, runs: list[tuple[str, str]]) -> str:
    """Never raises: a broken diagnostic must not hide the test's own failure."""
    parts = []
    for section in (lambda: _failed_tasks(cluster, runs), cluster.component_logs):
        try:
            parts.append(section())
        except Exception as exc:
            parts.append(f"(diagnostics failed: {exc!r})")
    return "\n===== component logs =====\n".join(parts)


def _failed_tasks(cluster: Cluster, runs: list[tuple[str, str]]) -> str:
    failed = failed_task_instances(cluster, runs)
    if not failed:
        return f"No failed task instances in the {len(runs)} runs this test triggered."
    lines = []
    # Tasks that ran and failed first (with their logs), then the ones that never ran.
    for ti in sorted(failed, key=lambda ti: -(ti["try_number"] or 0)):
        lines.append(
            f"===== {ti['dag_id']} / {ti['run_id']} / {ti['task_id']}: {ti['state']} "
            f"(try {ti['try_number']}, queue {ti['queue']}, host {ti['hostname'] or '-'}) ====="
        )
        if ti["try_number"]:
            lines.append(
                task_log_text(cluster, ti["dag_id"], ti["run_id"], ti["task_id"], ti["try_number"])
            )
    return "\n".join(lines)


def task_log_text(cluster: Cluster, dag_id: str, run_id: str, task_id: str, try_number: int) -> str:
    try:
        entries = cluster.api.task_log(dag_id, run_id, task_id, try_number)
    except Exception as exc:
        return f"(task log unavailable: {exc!r})"
    return "\n".join(format_log_entry(entry) for entry in entries[-LOG_LINES:])


def format_log_entry(entry: Any) -> str:
    """One structured log line as text; an exception as its type, message and last frames."""
    if not isinstance(entry, dict):
        return str(entry)
    text = f"{entry.get('timestamp', '')} {entry.get('level', '')} {entry.get('event', '')}"
    for error in entry.get("error_detail") or []:
        frames = error.get("frames") or []
        where = " <- ".join(
            f"{frame.get('filename', '?')}:{frame.get('lineno', '?')}"
            for frame in frames[-3:][::-1]
        )
        text += f"\n    {error.get('exc_type')}: {error.get('exc_value')}  at {where}"
    return text

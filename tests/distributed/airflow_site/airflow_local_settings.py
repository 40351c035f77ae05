"""Cluster policy of the distributed test's Airflow (on every component's PYTHONPATH).

Routes the tasks of each DAG to the two Celery workers' queues alternately by the task's position
in its DAG, so every sync run crosses machines at each step (extract_report -> worker_a,
validate_report -> worker_b, match_keys -> worker_a, upsert -> worker_b, record_run -> worker_a)
without touching the product's DAG code. Retries are switched off so a failing step fails the run
now (and the test shows its log) instead of after the product's minute-long retry delays.
"""

from __future__ import annotations

from typing import Any

QUEUES = ("worker_a", "worker_b")


def task_policy(task: Any) -> None:
    # dag.task_ids keeps the order tasks were added in, which for the generated DAGs is the
    # pipeline's order.
    position = task.dag.task_ids.index(task.task_id)
    task.queue = QUEUES[position % len(QUEUES)]
    task.retries = 0

"""The fixed cost of a run: the product's five task processes at 1k rows next to five empty ones.

An empty task process here is what `bench_task.py` holds before its step runs: Python plus
Airflow's Task SDK, and nothing of ours. The product's 1k-row run is measured the same way (each
step in its own process, `task CPU` in the sync table), so their ratio says how much the product
adds to Airflow's own per-task start-up. (A real worker forks task processes from a parent that has
already imported Airflow: there both sides would be smaller, the product's imports the same.)
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

TASKS = 5
EMPTY_TASK = """
import json, resource
import airflow.sdk  # what the forked task process already holds
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"cpu_s": usage.ru_utime + usage.ru_stime}))
"""


def empty_run_cpu(tasks: int = TASKS) -> float:
    """CPU seconds of `tasks` empty task processes, one after the other."""
    total = 0.0
    for _ in range(tasks):
        done = subprocess.run(
            [sys.executable, "-c", EMPTY_TASK], check=True, capture_output=True, text=True
        )
        total += float(json.loads(done.stdout.strip().splitlines()[-1])["cpu_s"])
    return total


def fixed_cost(summary: list[dict[str, Any]], rows: int = 1000) -> dict[str, float] | None:
    """The product's first run at `rows` rows against an empty five-task run; None if not run."""
    product = next(
        (
            row
            for row in summary
            if row["rows"] == rows and row["approach"] == "product" and row["run"] == "first"
        ),
        None,
    )
    if product is None:
        return None
    empty = empty_run_cpu()
    return {
        "rows": rows,
        "product_task_cpu_s": product["task_cpu_s"],
        "empty_run_cpu_s": empty,
        "ratio": product["task_cpu_s"] / empty if empty else 0.0,
    }


def describe(cost: dict[str, float]) -> str:
    return (
        f"Fixed cost: a {cost['rows']:,}-row first run's five task processes spent "
        f"{cost['product_task_cpu_s']:.2f} s of CPU; five empty task processes (Python + "
        f"Airflow's Task SDK) {cost['empty_run_cpu_s']:.2f} s: {cost['ratio']:.2f}x (target <= 2x)"
    )

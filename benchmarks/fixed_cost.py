"""The fixed cost of a run: the product's five task processes at 1k rows next to five empty ones.

An empty task process is `bench_task.py --step empty`: Python plus Airflow's Task SDK (what the
forked task process already holds) and nothing of ours, started, measured and ended exactly like
a step's task process. Each empty process runs right after one of the product's 1k-row first-run
tasks (`sync_throughput.Meter.measure_task(with_empty=True)`), in the same environment, so the two
sides see the same machine: this VM's speed drifts by a third within minutes, and an empty run
measured at another time made the ratio swing between 1.2x and 2.2x. Their ratio says how much the
product adds to Airflow's own per-task start-up. (A real worker forks task processes from a parent
that has already imported Airflow: there both sides would be smaller, the product's imports the
same.)
"""

from __future__ import annotations

from typing import Any

ROWS = 1000


def fixed_cost(summary: list[dict[str, Any]], rows: int = ROWS) -> dict[str, float] | None:
    """The product's first run at `rows` rows against its paired empty tasks; None if not run."""
    product = next(
        (
            row
            for row in summary
            if row["rows"] == rows and row["approach"] == "product" and row["run"] == "first"
        ),
        None,
    )
    if product is None or not product.get("empty_task_cpu_s"):
        return None
    empty = float(product["empty_task_cpu_s"])
    return {
        "rows": rows,
        "product_task_cpu_s": product["task_cpu_s"],
        "empty_run_cpu_s": empty,
        "ratio": product["task_cpu_s"] / empty,
    }


def describe(cost: dict[str, float]) -> str:
    return (
        f"Fixed cost: a {cost['rows']:,}-row first run's five task processes spent "
        f"{cost['product_task_cpu_s']:.2f} s of CPU; five empty task processes (Python + "
        f"Airflow's Task SDK), each run right after one of them, {cost['empty_run_cpu_s']:.2f} s: "
        f"{cost['ratio']:.2f}x (target <= 2x)"
    )

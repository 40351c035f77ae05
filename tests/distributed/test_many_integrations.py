"""Twenty integrations triggered at once on the two-worker cluster: all complete, all recorded.

Each is a variant of the seed example with its own export folder in S3 and its own sandbox Leads,
so the runs compete for the workers, the scheduler, the ledger and the emulator but not for
records. Prints the wall time and throughput (a benchmark number, not an assertion: the machine
running the tests decides it).
"""

from __future__ import annotations

import time
from datetime import datetime

import pytest

from tests.distributed.cluster import WORKERS, Cluster
from tests.distributed.observe import (
    RunOutcome,
    ledger_runs,
    run_integrations,
    step_timings,
    task_placement,
)
from tests.distributed.workload import (
    BENCH_COUNT,
    BENCH_ROWS,
    bench_id,
    dag_id,
    seed_bench_leads,
    upload_bench_export,
)

PIPELINE = ("extract_report", "validate_report", "match_keys", "upsert", "record_run")


@pytest.mark.timeout(1800)
def test_twenty_integrations_at_once_all_complete_and_are_recorded(
    cluster: Cluster, capsys: pytest.CaptureFixture[str]
) -> None:
    numbers = range(1, BENCH_COUNT + 1)
    s3 = cluster.s3.client()
    for number in numbers:
        seed_bench_leads(cluster.emulator.admin_url, number)
        upload_bench_export(s3, number)
    integration_ids = [bench_id(number) for number in numbers]

    started = time.monotonic()
    outcomes = run_integrations(cluster, integration_ids)
    wall_seconds = time.monotonic() - started

    failed = {i: o.state for i, o in outcomes.items() if o.state != "success"}
    assert failed == {}
    for outcome in outcomes.values():
        assert outcome.summary["status"] == "Completed"
        assert (outcome.summary["report_rows"], outcome.summary["written"]) == (
            BENCH_ROWS,
            BENCH_ROWS,
        )
    rows = ledger_runs(cluster, integration_ids)
    assert sorted((row["integration_id"], row["dag_run_id"]) for row in rows) == sorted(
        (i, o.run_id) for i, o in outcomes.items()
    )
    assert all(row["written"] == BENCH_ROWS for row in rows)
    hosts = {
        host
        for integration_id, outcome in outcomes.items()
        for _, host in task_placement(cluster, dag_id(integration_id), outcome.run_id).values()
    }
    assert hosts == set(WORKERS.values())

    timings = step_timings(cluster, [dag_id(i) for i in integration_ids])
    with capsys.disabled():
        print(benchmark_line(outcomes_span(outcomes), wall_seconds, BENCH_COUNT * BENCH_ROWS))
        print(timing_line(timings))


def outcomes_span(outcomes: dict[str, RunOutcome]) -> float:
    """First run start to last run end, by Airflow's own clock (seconds)."""
    starts = [datetime.fromisoformat(o.start_date) for o in outcomes.values() if o.start_date]
    ends = [datetime.fromisoformat(o.end_date) for o in outcomes.values() if o.end_date]
    return (max(ends) - min(starts)).total_seconds()


def timing_line(timings: dict[str, tuple[float, float]]) -> str:
    steps = ", ".join(
        f"{task} {timings[task][0]:.1f} s (+{timings[task][1]:.1f} s queued)"
        for task in PIPELINE
        if task in timings
    )
    return f"BENCHMARK mean per task: {steps}"


def benchmark_line(airflow_seconds: float, wall_seconds: float, rows: int) -> str:
    per_minute = BENCH_COUNT / (wall_seconds / 60)
    return (
        f"\nBENCHMARK {BENCH_COUNT} integrations x {BENCH_ROWS} rows on 2 Celery workers: "
        f"wall {wall_seconds:.1f} s (trigger to last run done; runs span {airflow_seconds:.1f} s), "
        f"{per_minute:.1f} integrations/min, {rows / wall_seconds:.1f} rows/s"
    )

"""One pipeline step in its own process, as an Airflow worker runs one task: measured alone.

    python benchmarks/bench_task.py --step match --run-id bench__first --run-date 2026-11-24 \\
        --out result.json

(`--step empty` is the fixed cost's yardstick: an empty task process, measured the same way.)

The environment names the integrations folder, the storage root, the ledger and the connection
(`sync_throughput.write_config`). The step runs through `steps.runner.run_step` (or
`record_step`), exactly what the DAG's task runs. Airflow's task process is a fork of a process
that has already imported Airflow, so Airflow is imported first and counted in the peak RSS but
not in the step's CPU. The libraries the step loads on first use (its module, pandas, pyarrow,
great-expectations for validate) are imported before the step runs and their CPU is reported apart
(`import_cpu_s`): the step's CPU is its work, as the issue measured it; the start-up is the
benchmark's fixed-cost line. Written to `--out`: wall and CPU seconds of the step (and the
kernel's share of that CPU), the imports' CPU, the process's CPU seconds in all (imports
included) and its peak RSS (`ru_maxrss`, the whole process life).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import resource
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _process_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def import_step(step: str) -> float:
    """Import what the Airflow task imports before its step runs (`import_step_libraries`:
    the step's module and libraries, the garbage collector paused, then frozen) and, for
    validate, great-expectations the way the step loads it; return the CPU it took."""
    from include.walkme_sync.airflow.tasks import import_step_libraries

    started = time.process_time()
    import_step_libraries(step)
    if step == "validate":
        from include.walkme_sync.report.gx_import import import_great_expectations

        import_great_expectations()
    return time.process_time() - started


def run(
    step: str, integration_id: str, run_id: str, run_date: date, profile: Path | None = None
) -> dict[str, Any]:
    import airflow.sdk  # noqa: F401 - what the forked task process already holds

    from include.walkme_sync.config import find_integration
    from include.walkme_sync.steps.context import RunContext, Step
    from include.walkme_sync.steps.runner import run_step

    ctx = RunContext(
        integration=find_integration(integration_id),
        dag_id=f"walkme_sync__{integration_id}",
        run_id=run_id,
        run_date=run_date,
        started_at=datetime(run_date.year, run_date.month, run_date.day, 8, tzinfo=UTC),
    )
    import_cpu = import_step(step)
    setup_cpu = _process_cpu()
    # A CPU-time profile of the step's work alone (the imports are done above): the time spent
    # waiting on Salesforce is not in it, so its top lines are where the client CPU goes.
    profiler = cProfile.Profile(time.process_time) if profile is not None else None
    started, started_cpu = time.perf_counter(), time.process_time()
    started_system = resource.getrusage(resource.RUSAGE_SELF).ru_stime
    if profiler is not None:
        profiler.enable()
    if step == "record":
        from include.walkme_sync.steps.record import record_step  # imported in import_step

        value = record_step(ctx)
    else:
        value = run_step(Step(step), ctx)
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(str(profile))
    return {
        "wall_s": time.perf_counter() - started,
        "step_cpu_s": time.process_time() - started_cpu,
        "step_system_cpu_s": resource.getrusage(resource.RUSAGE_SELF).ru_stime - started_system,
        "setup_cpu_s": setup_cpu,
        "import_cpu_s": import_cpu,
        "value": value,
    }


def run_empty() -> dict[str, Any]:
    """An empty task process (`--step empty`): what a forked task process holds, nothing of ours;
    the fixed cost's yardstick, measured the same way as a step."""
    import airflow.sdk  # noqa: F401

    return {
        "wall_s": 0.0,
        "step_cpu_s": 0.0,
        "step_system_cpu_s": 0.0,
        "setup_cpu_s": _process_cpu(),
        "import_cpu_s": 0.0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--step", required=True, help="a pipeline step, or `empty`")
    parser.add_argument("--integration", required=True)
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--run-date", type=date.fromisoformat, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--profile", type=Path, help="write a CPU-time cProfile of the step here")
    args = parser.parse_args(argv)
    if args.step == "empty":
        result = run_empty()
    else:
        result = run(args.step, args.integration, args.run_id, args.run_date, args.profile)
    result["process_cpu_s"] = _process_cpu()
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    args.out.write_text(json.dumps(result, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

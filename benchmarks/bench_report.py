"""The benchmark's tables: per step, and one comparison row per (size, approach, run).

Columns (the issue's list): wall, client CPU (the step's own work), imports (the CPU the task
processes spent importing the libraries their steps need), task CPU (the task processes' CPU in
all: Python, Airflow, imports and work), the emulator's CPU (its own process), peak RSS of the
largest task process, API calls next to the floor Salesforce's documented limits allow
(`api_floor`), rows/s.
"""

from __future__ import annotations

import sys
from typing import Any

from api_floor import sync_floor

#: Step numbers that take the lowest of repeated runs (the least disturbed), and the one that
#: takes the highest (memory: the worst case is the one a worker must have).
FASTEST_KEYS = (
    "wall_s",
    "cpu_s",
    "client_cpu_s",
    "system_cpu_s",
    "import_cpu_s",
    "process_cpu_s",
    "empty_process_cpu_s",
    "emulator_cpu_s",
)
HIGHEST_KEYS = ("peak_rss_mb",)


def _calls_text(calls: dict[str, int]) -> str:
    if not calls:
        return "0"
    parts = " ".join(f"{kind} {count}" for kind, count in calls.items())
    return f"{sum(calls.values())} ({parts})"


def _rate(rows: int, seconds: float) -> str:
    return f"{rows / seconds:,.0f}" if seconds > 0 else "-"


def step_table(result: dict[str, Any]) -> str:
    from sync_throughput import StepResult, total

    lines = [
        f"{'run':<11} {'step':<16} {'wall s':>8} {'client CPU':>10} {'imports':>7} {'task CPU':>8} "
        f"{'emul CPU':>8} {'rows/s':>10} {'peak RSS MB':>11}  API calls"
    ]
    steps = [StepResult(**s) for s in result["steps"]]
    for run in dict.fromkeys(s.run for s in steps):
        for s in [*[s for s in steps if s.run == run], total(steps, run, result["rows"])]:
            lines.append(
                f"{s.run:<11} {s.step:<16} {s.wall_s:>8.2f} {s.client_cpu_s:>10.2f} "
                f"{s.import_cpu_s:>7.2f} {s.process_cpu_s:>8.2f} {s.emulator_cpu_s:>8.2f} "
                f"{_rate(s.rows, s.wall_s):>10} {s.peak_rss_mb:>11,.0f}  {_calls_text(s.calls)}"
            )
    return "\n".join(lines)


def outcome_lines(result: dict[str, Any]) -> str:
    lines = []
    for run in result["runs"]:
        parts = [f"{k} {v}" for k, v in run.items() if k != "run" and v is not None]
        lines.append(f"  {run['run']:<11} " + ", ".join(parts))
    return "\n".join(lines)


def fastest_of(repeats: list[dict[str, Any]]) -> dict[str, Any]:
    """One worker result from repeated runs of it: each step's CPU and wall time the lowest of
    the repeats, its peak RSS and API calls the highest (polls can differ with timing). The
    repeats ran the same steps with the same outcomes (checked: a difference means the runs
    were not the same work)."""
    first = repeats[0]
    for other in repeats[1:]:
        same = [(s["run"], s["step"]) for s in other["steps"]] == [
            (s["run"], s["step"]) for s in first["steps"]
        ]
        if not same or other["runs"] != first["runs"]:
            raise SystemExit(f"repeated {first['mode']} runs at {first['rows']:,} rows differ")
    steps = []
    for index, step in enumerate(first["steps"]):
        versions = [result["steps"][index] for result in repeats]
        merged = dict(step)
        for key in FASTEST_KEYS:
            merged[key] = min(version[key] for version in versions)
        for key in HIGHEST_KEYS:
            merged[key] = max(version[key] for version in versions)
        merged["calls"] = max((version["calls"] for version in versions), key=_call_count)
        steps.append(merged)
    return {**first, "steps": steps, "repeat": len(repeats)}


def _call_count(calls: dict[str, int]) -> int:
    return sum(calls.values())


def run_floor(result: dict[str, Any], run: str) -> int:
    """The floor of one run: look up every report key, write what the run has to change."""
    changes = {"first": result["leads"], "unchanged": 0}.get(
        run, int(result.get("changed_rows") or result["rows"] // 100)
    )
    return sync_floor(result["rows"], result["leads"], changes)


def summary_rows(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (size, approach, run): the numbers of the combined comparison table."""
    from sync_throughput import StepResult, total

    rows = []
    for result in results:
        steps = [StepResult(**s) for s in result["steps"]]
        outcomes = {run["run"]: run for run in result["runs"]}
        for run in dict.fromkeys(s.run for s in steps):
            t = total(steps, run, result["rows"])
            rows.append(
                {
                    "rows": result["rows"],
                    "approach": result["mode"],
                    "run": run,
                    "wall_s": t.wall_s,
                    "client_cpu_s": t.client_cpu_s,
                    "import_cpu_s": t.import_cpu_s,
                    "task_cpu_s": t.process_cpu_s,
                    "empty_task_cpu_s": t.empty_process_cpu_s,
                    "emulator_cpu_s": t.emulator_cpu_s,
                    "rows_per_s": result["rows"] / t.wall_s if t.wall_s else 0.0,
                    "peak_rss_mb": t.peak_rss_mb,
                    "api_calls": t.api_calls,
                    "api_floor": run_floor(result, run),
                    "calls": t.calls,
                    "written": outcomes.get(run, {}).get("written"),
                }
            )
    return rows


def comparison_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        f"{'rows':>9} {'approach':<9} {'run':<11} {'wall s':>8} {'client CPU':>10} "
        f"{'imports':>7} {'task CPU':>8} {'emul CPU':>8} {'rows/s':>10} {'peak RSS MB':>11} "
        f"{'calls/floor':>11} {'written':>9}"
    ]
    for r in rows:
        written = "-" if r["written"] is None else f"{r['written']:,}"
        calls = f"{r['api_calls']:,}/{r['api_floor']:,}"
        lines.append(
            f"{r['rows']:>9,} {r['approach']:<9} {r['run']:<11} {r['wall_s']:>8.2f} "
            f"{r['client_cpu_s']:>10.2f} {r['import_cpu_s']:>7.2f} {r['task_cpu_s']:>8.2f} "
            f"{r['emulator_cpu_s']:>8.2f} "
            f"{r['rows_per_s']:>10,.0f} {r['peak_rss_mb']:>11,.0f} {calls:>11} {written:>9}"
        )
    return "\n".join(lines)


def print_result(result: dict[str, Any]) -> None:
    rows = result["rows"]
    title = {
        "product": "product sync (each step in its own task process)",
        "floor": "least client work (floor_sync.py: Arrow, one process, nothing kept)",
        "naive": "naive baseline (make_query + SalesforceBulkOperator, Bulk API 1.0)",
        "dag.test": "product sync through dag.test() (Airflow overhead included)",
    }[result["mode"]]
    if result.get("extra_fields"):
        title += f", {3 + result['extra_fields']} mapped fields"
    print(f"\n=== {rows:,} report rows: {title}")
    print(
        f"    {result['leads']:,} Leads seeded ({rows - result['leads']:,} report rows unmatched) "
        f"in {result['seed_s']:.1f} s; export written in {result['export_s']:.1f} s; "
        f"imports {result['import_s']:.1f} s; emulator process RSS after seeding "
        f"{result['emulator_rss_mb']:,.0f} MB; worker process {result['process_wall_s']:.0f} s"
    )
    if "ledger_migration_cpu_s" in result:
        print(
            f"    ledger migrated before the first run (once per deployment) in "
            f"{result['ledger_migration_cpu_s']:.2f} s of CPU, not counted in the runs"
        )
    print(step_table(result))
    print("  outcomes:")
    print(outcome_lines(result))
    sys.stdout.flush()

"""Run the benchmarks and print one combined summary (what `make benchmark` runs).

    PYTHONPATH=. .venv/bin/python benchmarks/run_all.py [--sizes 1000,100000,1000000]
        [--repeat 2] [--extra-fields 4] [--emulator-store] [--emulator-bulk]
        [--emulator-records 1000000]

Default: DAG parse time (`parse_time.py`, next to its floor) and end-to-end sync throughput at 1k
and 100k report rows with the stock-Airflow baseline and one `dag.test()` run at 1k
(`sync_throughput.py`), about 5 minutes on a 2-core machine; every number also goes to
`var/benchmarks/latest.json`. The emulator's own benchmarks (`emulator_store.py`,
`emulator_bulk.py`) are slow at a million records, so they only run when asked.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

import fixed_cost  # noqa: E402
import parse_time  # noqa: E402
import sync_throughput  # noqa: E402


def run_parse_time() -> list[dict[str, Any]]:
    print("### DAG parse time (benchmarks/parse_time.py), floor = N trivial DAGs in one file")
    rows = []
    for count in parse_time.SIZES:
        rows.append(parse_time.row(count))
        print(parse_time.table(rows[-1:]).splitlines()[-1])
        sys.stdout.flush()
    return rows


def machine_load() -> dict[str, Any]:
    """What else the machine was doing: timings on a shared 2-core box are noisy."""
    one, five, fifteen = os.getloadavg()
    return {"cpus": os.cpu_count(), "loadavg_1_5_15": [one, five, fifteen]}


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, default=str), encoding="utf-8")


def run_script(name: str, records: int) -> tuple[str, float]:
    """Run one of the emulator benchmarks in its own interpreter; echo and return its output."""
    print(f"\n### {name} --records {records:,}")
    sys.stdout.flush()
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, str(HERE / name), "--records", str(records)],
        check=True,
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    print(completed.stdout, end="")
    sys.stdout.flush()
    return completed.stdout, time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sync_throughput.add_sync_arguments(parser)
    parser.add_argument("--no-parse-time", action="store_true", help="skip parse_time.py")
    parser.add_argument(
        "--json",
        type=Path,
        default=ROOT / "var" / "benchmarks" / "latest.json",
        help="where to write every number as JSON (default var/benchmarks/latest.json)",
    )
    parser.add_argument("--emulator-store", action="store_true", help="also emulator_store.py")
    parser.add_argument("--emulator-bulk", action="store_true", help="also emulator_bulk.py")
    parser.add_argument(
        "--emulator-records",
        type=int,
        default=1_000_000,
        help="records for the emulator benchmarks (default 1,000,000: minutes each)",
    )
    args = parser.parse_args(argv)
    sizes = sync_throughput.parse_sizes(args.sizes)
    started = time.perf_counter()
    load_before = machine_load()

    parse_rows = [] if args.no_parse_time else run_parse_time()
    print(f"\n### Sync throughput (benchmarks/sync_throughput.py --sizes {args.sizes})")
    results = sync_throughput.measure_all(
        sizes,
        naive=not args.no_naive,
        dag_test=not args.no_dag_test,
        profile_dir=None,
        floor=not args.no_floor,
        repeat=args.repeat,
        extra_fields=args.extra_fields,
    )
    extra: list[tuple[str, str, float]] = []
    for flag, name in (
        (args.emulator_store, "emulator_store.py"),
        (args.emulator_bulk, "emulator_bulk.py"),
    ):
        if flag:
            output, seconds = run_script(name, args.emulator_records)
            extra.append((name, output, seconds))

    print("\n" + "=" * 100)
    print("SUMMARY")
    print("=" * 100)
    if parse_rows:
        print("\nDAG parse time (dags/integrations.py, fresh interpreter each; floor = the same")
        print("number of trivial five-task DAGs in one file)")
        print(parse_time.table(parse_rows))
    print("\nSync end to end against the local Salesforce in its own process (TOTAL per run)")
    print("  product = each step in its own task process; floor = the least client work for the")
    print("  same sync (benchmarks/floor_sync.py: Arrow in one process, no validation, files or")
    print("  ledger); naive = make_query +")
    print("  SalesforceBulkOperator (Bulk 1.0, every row every time) in one process; dag.test =")
    print("  the product through Airflow's dag.test(). client CPU = the steps' own work; imports")
    print("  = the libraries each task imports for its step; task CPU = the task processes in all")
    print("  (Python, Airflow, imports, work); emul CPU = the emulator process; peak RSS = the")
    print("  largest task process; calls/floor = API calls / the fewest Salesforce's documented")
    print("  limits allow (benchmarks/api_floor.py)")
    summary = sync_throughput.summary_rows(results)
    print(sync_throughput.comparison_table(summary))
    cost = fixed_cost.fixed_cost(summary)
    if cost is not None:
        print("\n" + fixed_cost.describe(cost))
    for name, output, seconds in extra:
        print(f"\n{name} ({seconds:.0f} s)")
        print(output.rstrip())
    load_after = machine_load()
    print(
        f"\nload average before {load_before['loadavg_1_5_15']}, after "
        f"{load_after['loadavg_1_5_15']} on {load_after['cpus']} CPUs"
    )
    print(f"run_all took {time.perf_counter() - started:.0f} s")
    write_json(
        args.json,
        {
            "sizes": sizes,
            "repeat": args.repeat,
            "extra_fields": args.extra_fields,
            "load_before": load_before,
            "load_after": load_after,
            "parse_time": parse_rows,
            "sync": summary,
            "fixed_cost": cost,
            "results": results,
            "seconds": time.perf_counter() - started,
        },
    )
    print(f"numbers written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

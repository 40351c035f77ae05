"""Run the benchmarks and print one combined summary (what `make benchmark` runs).

    PYTHONPATH=. .venv/bin/python benchmarks/run_all.py [--sizes 1000,100000,1000000]
        [--emulator-store] [--emulator-bulk] [--emulator-records 1000000]

Default: DAG parse time (`parse_time.py`) and end-to-end sync throughput at 1k and 100k report rows
with the stock-Airflow baseline and one `dag.test()` run at 1k (`sync_throughput.py`), about 5
minutes on a 2-core machine. The emulator's own benchmarks (`emulator_store.py`,
`emulator_bulk.py`) are slow at a million records, so they only run when asked.
"""

from __future__ import annotations

import argparse
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

import parse_time  # noqa: E402
import sync_throughput  # noqa: E402


def run_parse_time() -> list[dict[str, Any]]:
    print("### DAG parse time (benchmarks/parse_time.py)")
    rows = []
    for count in parse_time.SIZES:
        result = parse_time.measure(count)
        result["configs"] = count
        rows.append(result)
        print(
            f"  {count:>4} configs: {result['dags']} DAGs, {result['errors']} errors, file parse "
            f"{result['file_duration_s']:.3f} s ({1000 * result['file_duration_s'] / count:.2f} "
            "ms per config)"
        )
    sys.stdout.flush()
    return rows


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
    parser.add_argument(
        "--sizes",
        default=",".join(map(str, sync_throughput.DEFAULT_SIZES)),
        help="report sizes for sync_throughput.py (default 1000,100000)",
    )
    parser.add_argument("--no-naive", action="store_true", help="skip the stock-Airflow baseline")
    parser.add_argument("--no-dag-test", action="store_true", help="skip the dag.test() run")
    parser.add_argument("--no-parse-time", action="store_true", help="skip parse_time.py")
    parser.add_argument("--emulator-store", action="store_true", help="also emulator_store.py")
    parser.add_argument("--emulator-bulk", action="store_true", help="also emulator_bulk.py")
    parser.add_argument(
        "--emulator-records",
        type=int,
        default=1_000_000,
        help="records for the emulator benchmarks (default 1,000,000: minutes each)",
    )
    args = parser.parse_args(argv)
    sizes = [int(size.replace("_", "")) for size in args.sizes.split(",") if size.strip()]
    started = time.perf_counter()

    parse_rows = [] if args.no_parse_time else run_parse_time()
    print(f"\n### Sync throughput (benchmarks/sync_throughput.py --sizes {args.sizes})")
    results = sync_throughput.measure_all(
        sizes, naive=not args.no_naive, dag_test=not args.no_dag_test, profile_dir=None
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
        print("\nDAG parse time (dags/integrations.py, fresh interpreter each)")
        print(
            f"{'configs':>8} {'dags':>6} {'errors':>6} {'file parse s':>13} {'per config ms':>14}"
        )
        for row in parse_rows:
            print(
                f"{row['configs']:>8} {row['dags']:>6} {row['errors']:>6} "
                f"{row['file_duration_s']:>13.3f} "
                f"{1000 * row['file_duration_s'] / row['configs']:>14.2f}"
            )
    print("\nSync end to end against the in-process Salesforce emulator (TOTAL per run)")
    print("  product = pipeline steps in-process; naive = make_query + SalesforceBulkOperator")
    print("  (Bulk 1.0, every row every time); dag.test = the product through Airflow's dag.test()")
    print("  CPU s includes the in-process emulator; client CPU leaves its threads out")
    print(sync_throughput.comparison_table(sync_throughput.summary_rows(results)))
    for name, output, seconds in extra:
        print(f"\n{name} ({seconds:.0f} s)")
        print(output.rstrip())
    print(f"\nrun_all took {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

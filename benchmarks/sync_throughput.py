"""End-to-end sync throughput against the local Salesforce, and the stock-Airflow baseline.

    PYTHONPATH=. .venv/bin/python benchmarks/sync_throughput.py [--sizes 1000,100000,1000000]

Prints numbers (it is not a timed test). For each report size, in a fresh interpreter each (so peak
memory is per size and per approach):

* **product**: the five pipeline steps (`include.walkme_sync.steps`: extract, validate, match,
  upsert, record), exactly what the DAG's tasks run, minus Airflow's scheduling. Three runs on the
  same org: *first* (every matched Lead is written), *unchanged* (same export again: nothing to
  write), *1% changed* (a new export in which 1% of the rows have a new login count: exactly those
  are written).
* **naive**: what people do with stock Airflow: one `SELECT Id, Email FROM Lead` through
  `SalesforceHook.make_query`, build the payload, then `SalesforceBulkOperator(operation="update")`
  (Bulk API 1.0) writing every row every time. Two runs: *first* and *unchanged*.
* **dag.test** (1k only, `--no-dag-test` to skip): the same first + unchanged runs through the real
  generated DAG with `dag.test()`, to show Airflow's own per-run overhead.

The emulator (`sf_emulator.testing.EmulatorServer`) runs in the same process, in threads.
So "CPU s" is the whole process (client + emulator); "client CPU" leaves out the emulator's threads
(sampled per thread with psutil, so approximate). CPU time matters because wall time on a busy
2-core machine also measures the other processes. Peak RSS is sampled during each step and includes
the emulator's in-memory org (its size is printed as "RSS after seeding").
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import csv
import io
import json
import os
import pstats
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "demo" / "integrations" / "login_review_to_lead.yaml"
INTEGRATION_ID = "bench_login_review"
CONN_ID = "salesforce_sandbox"
EXPORT_DATE = date(2026, 11, 24)
CHANGED_EXPORT_DATE = date(2026, 11, 25)
API_KINDS = ("query", "describe", "composite", "bulk2", "bulk1", "rest")
#: Every UNMATCHED_EVERY-th report person has no Lead (2%); every CHANGED_EVERY-th row changes (1%).
UNMATCHED_EVERY = 50
CHANGED_EVERY = 100
DEFAULT_SIZES = (1000, 100_000)
LOGINS_COLUMN = "Logins in Past 30 days"
DATETIME_FIELDS = {"First Login": "WalkMe_First_Login__c", "Last Login": "WalkMe_Last_Login__c"}


# ----------------------------------------------------------------------------------- measuring


@dataclass
class StepResult:
    """One measured step: times, memory, API calls served by the emulator, and what it did."""

    run: str
    step: str
    rows: int
    wall_s: float = 0.0
    cpu_s: float = 0.0
    client_cpu_s: float = 0.0
    rss_before_mb: float = 0.0
    peak_rss_mb: float = 0.0
    calls: dict[str, int] = field(default_factory=dict)
    note: str = ""

    @property
    def api_calls(self) -> int:
        return sum(self.calls.values())


class _Sampler:
    """Samples RSS and the emulator threads' CPU time while a step runs (a daemon thread)."""

    def __init__(self, interval: float = 0.05) -> None:
        import psutil

        self.process = psutil.Process()
        self.interval = interval
        self.peak = 0
        self.start_cpu: dict[int, float] = {}
        self.last_cpu: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="bench-sampler", daemon=True)

    def _emulator_threads(self) -> dict[int, float]:
        names = {t.native_id: t.name for t in threading.enumerate()}
        times = {}
        for thread in self.process.threads():
            name = names.get(thread.id, "")
            if name.startswith("sf-emulator") or "process_request_thread" in name:
                times[thread.id] = thread.user_time + thread.system_time
        return times

    def _sample(self) -> None:
        self.peak = max(self.peak, self.process.memory_info().rss)
        with contextlib.suppress(Exception):  # a thread may end while /proc is read
            self.last_cpu.update(self._emulator_threads())

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def start(self) -> int:
        rss = int(self.process.memory_info().rss)
        self.peak = rss
        self.start_cpu = self._emulator_threads()
        self.last_cpu = dict(self.start_cpu)
        self._thread.start()
        return rss

    def stop(self) -> float:
        """Stop sampling; return the emulator threads' CPU seconds during the step."""
        self._stop.set()
        self._thread.join()
        self._sample()
        return sum(cpu - self.start_cpu.get(tid, 0.0) for tid, cpu in self.last_cpu.items())


class Meter:
    """Measures steps; `profile_dir` turns on cProfile (main thread) per step."""

    def __init__(self, org: Any, profile_dir: Path | None = None) -> None:
        self.org = org
        self.profile_dir = profile_dir
        self.results: list[StepResult] = []

    def calls(self) -> dict[str, int]:
        return {kind: self.org.api_calls(kind) for kind in API_KINDS}

    def measure(self, run: str, step: str, rows: int, action: Callable[[], Any]) -> Any:
        result = StepResult(run, step, rows)
        sampler = _Sampler()
        calls_before = self.calls()
        result.rss_before_mb = sampler.start() / 2**20
        profiler = cProfile.Profile() if self.profile_dir else None
        started, started_cpu = time.perf_counter(), time.process_time()
        try:
            value = profiler.runcall(action) if profiler is not None else action()
        finally:
            result.wall_s = time.perf_counter() - started
            result.cpu_s = time.process_time() - started_cpu
            emulator_cpu = sampler.stop()
            result.client_cpu_s = max(result.cpu_s - emulator_cpu, 0.0)
            result.peak_rss_mb = sampler.peak / 2**20
            after = self.calls()
            result.calls = {
                k: after[k] - calls_before[k] for k in API_KINDS if after[k] > calls_before[k]
            }
            self.results.append(result)
        if profiler is not None and self.profile_dir is not None:
            self._dump_profile(profiler, f"{run}_{step}")
        return value

    def _dump_profile(self, profiler: cProfile.Profile, name: str) -> None:
        assert self.profile_dir is not None
        buffer = io.StringIO()
        stats = pstats.Stats(profiler, stream=buffer)
        stats.sort_stats("tottime").print_stats(25)
        stats.sort_stats("cumulative").print_stats(40)
        (self.profile_dir / f"{name}.txt").write_text(buffer.getvalue(), encoding="utf-8")


def total(results: list[StepResult], run: str, rows: int, note: str = "") -> StepResult:
    """The TOTAL line of one run (peak RSS is the max over its steps)."""
    steps = [r for r in results if r.run == run]
    calls: dict[str, int] = {}
    for r in steps:
        for kind, count in r.calls.items():
            calls[kind] = calls.get(kind, 0) + count
    return StepResult(
        run=run,
        step="TOTAL",
        rows=rows,
        wall_s=sum(r.wall_s for r in steps),
        cpu_s=sum(r.cpu_s for r in steps),
        client_cpu_s=sum(r.client_cpu_s for r in steps),
        rss_before_mb=min((r.rss_before_mb for r in steps), default=0.0),
        peak_rss_mb=max((r.peak_rss_mb for r in steps), default=0.0),
        calls=calls,
        note=note,
    )


# ----------------------------------------------------------------------------------- test data


@dataclass
class Fixture:
    """A running emulator with N report people seeded as Leads (minus the unmatched share)."""

    emulator: Any
    org: Any
    root: Path
    exports: Path
    export: Path
    rows: int
    leads: int
    seed_s: float
    export_s: float
    rss_after_seed_mb: float


@contextlib.contextmanager
def fixture(rows: int) -> Iterator[Fixture]:
    """Temp folders + in-process emulator + seeded Leads + the report export; env vars set."""
    import psutil

    from demo.sample_data import people, write_report
    from sf_emulator.testing import EmulatorServer

    with tempfile.TemporaryDirectory(prefix="walkme-bench-") as tmp:
        root = Path(tmp)
        exports = root / "exports"
        exports.mkdir()
        with EmulatorServer(port=0, data_dir=root / "emulator") as emulator:
            os.environ["REQUESTS_CA_BUNDLE"] = emulator.trust_bundle
            os.environ["AIRFLOW_CONN_SALESFORCE_SANDBOX"] = emulator.airflow_connection_json(
                "sandbox"
            )
            org = emulator.org("sandbox")
            started = time.perf_counter()
            population = people(rows)
            leads = [
                {
                    "FirstName": who.first_name,
                    "LastName": who.last_name,
                    "Company": who.company,
                    "Title": who.title,
                    "Email": who.email,
                }
                for i, who in enumerate(population)
                if i % UNMATCHED_EVERY != UNMATCHED_EVERY - 1
            ]
            org.data.load_records("Lead", leads)
            seed_s = time.perf_counter() - started
            started = time.perf_counter()
            export = write_report("login_review", exports, population, export_date=EXPORT_DATE)
            export_s = time.perf_counter() - started
            count = len(leads)
            del population, leads
            yield Fixture(
                emulator=emulator,
                org=org,
                root=root,
                exports=exports,
                export=export,
                rows=rows,
                leads=count,
                seed_s=seed_s,
                export_s=export_s,
                rss_after_seed_mb=psutil.Process().memory_info().rss / 2**20,
            )


def write_changed_export(fx: Fixture) -> tuple[Path, int]:
    """A newer export where every CHANGED_EVERY-th row (all matched) has logins + 1."""
    target = fx.exports / f"login_review_{CHANGED_EXPORT_DATE.isoformat()}.csv"
    changed = 0
    with (
        fx.export.open(encoding="utf-8", newline="") as source,
        target.open("w", encoding="utf-8", newline="") as sink,
    ):
        reader = csv.reader(source)
        writer = csv.writer(sink, lineterminator="\n")
        header = next(reader)
        writer.writerow(header)
        column = header.index(LOGINS_COLUMN)
        for i, row in enumerate(reader):
            if i % CHANGED_EVERY == 0:
                row[column] = str(int(row[column] or 0) + 1)
                changed += 1
            writer.writerow(row)
    return target, changed


def write_config(fx: Fixture) -> Path:
    """The demo integration's YAML, pointed at the temp exports, newest export, no API budget."""
    import yaml

    config = yaml.safe_load(TEMPLATE.read_text(encoding="utf-8"))
    config["id"] = INTEGRATION_ID
    config["report"]["source"]["location"] = str(fx.exports)
    config["report"]["source"]["pick"] = "newest"
    config.setdefault("write", {})["api_budget"] = None
    folder = fx.root / "integrations"
    folder.mkdir(exist_ok=True)
    (folder / f"{INTEGRATION_ID}.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    os.environ["WALKME_SYNC_INTEGRATIONS_DIR"] = str(folder)
    os.environ["WALKME_SYNC_STORAGE_ROOT"] = str(fx.root / "storage")
    os.environ["WALKME_SYNC_LEDGER_URL"] = f"sqlite:///{fx.root / 'ledger.db'}"
    return folder


def warm_imports() -> float:
    """Import what the steps import lazily, so the first step is not charged for it."""
    started = time.perf_counter()
    import great_expectations  # noqa: F401
    import pandas  # noqa: F401
    import pyarrow.parquet  # noqa: F401
    import simple_salesforce  # noqa: F401
    from airflow.providers.salesforce.hooks.salesforce import SalesforceHook  # noqa: F401

    from include.walkme_sync import ledger  # noqa: F401
    from include.walkme_sync.report import validation  # noqa: F401
    from include.walkme_sync.steps import extract, match, upsert  # noqa: F401

    return time.perf_counter() - started


# ----------------------------------------------------------------------------------- product


def product_worker(rows: int, profile_dir: Path | None) -> dict[str, Any]:
    from include.walkme_sync.config import find_integration
    from include.walkme_sync.steps.context import RunContext, Step
    from include.walkme_sync.steps.record import record_step
    from include.walkme_sync.steps.runner import run_step

    import_s = warm_imports()
    with fixture(rows) as fx:
        write_config(fx)
        meter = Meter(fx.org, profile_dir)
        runs: list[dict[str, Any]] = []
        changed = 0
        for run, run_date in (
            ("first", EXPORT_DATE),
            ("unchanged", EXPORT_DATE),
            ("1% changed", CHANGED_EXPORT_DATE),
        ):
            if run == "1% changed":
                _, changed = write_changed_export(fx)
            ctx = RunContext(
                integration=find_integration(INTEGRATION_ID),
                dag_id=f"walkme_sync__{INTEGRATION_ID}",
                run_id=f"bench__{run.replace('%', 'pct').replace(' ', '_')}",
                run_date=run_date,
                started_at=datetime.now(UTC),
            )
            for step in Step:
                meter.measure(run, str(step), rows, lambda step=step, ctx=ctx: run_step(step, ctx))
            summary = meter.measure(run, "record", rows, lambda ctx=ctx: record_step(ctx))
            runs.append(
                {
                    "run": run,
                    "status": summary["status"],
                    "message": summary["message"],
                    **{
                        b: summary[b]
                        for b in (
                            "written",
                            "unchanged",
                            "unmatched",
                            "ambiguous",
                            "rejected",
                            "failed",
                        )
                    },
                    "api_calls_product_meter": summary["api_calls"],
                }
            )
        return {
            "mode": "product",
            "rows": rows,
            "leads": fx.leads,
            "changed_rows": changed,
            "import_s": import_s,
            "seed_s": fx.seed_s,
            "export_s": fx.export_s,
            "rss_after_seed_mb": fx.rss_after_seed_mb,
            "steps": [asdict(r) for r in meter.results],
            "runs": runs,
        }


# ----------------------------------------------------------------------------------- naive


def naive_payload(path: Path, ids_by_email: dict[str, str]) -> tuple[list[dict[str, Any]], int]:
    """Report rows -> Bulk 1.0 update payload (Id + the three fields), every matched row."""
    import pandas as pd

    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    payload: list[dict[str, Any]] = []
    unmatched = 0
    for record in frame.to_dict("records"):
        record_id = ids_by_email.get(record["User ID"].strip().lower())
        if record_id is None:
            unmatched += 1
            continue
        item: dict[str, Any] = {"Id": record_id}
        for column, field_name in DATETIME_FIELDS.items():
            if record[column]:
                item[field_name] = record[column].replace(" ", "T") + "Z"
        if record[LOGINS_COLUMN]:
            item["WalkMe_Logins_Last_30_Days__c"] = float(record[LOGINS_COLUMN])
        payload.append(item)
    return payload, unmatched


def naive_worker(rows: int, profile_dir: Path | None) -> dict[str, Any]:
    from airflow.providers.salesforce.hooks.salesforce import SalesforceHook
    from airflow.providers.salesforce.operators.bulk import SalesforceBulkOperator

    import_s = warm_imports()
    with fixture(rows) as fx:
        meter = Meter(fx.org, profile_dir)
        runs: list[dict[str, Any]] = []
        for run in ("first", "unchanged"):

            def lookup() -> dict[str, str]:
                result = SalesforceHook(salesforce_conn_id=CONN_ID).make_query(
                    "SELECT Id, Email FROM Lead"
                )
                return {
                    str(r["Email"]).strip().lower(): str(r["Id"])
                    for r in result["records"]
                    if r.get("Email")
                }

            ids = meter.measure(run, "lookup ids", rows, lookup)
            payload, unmatched = meter.measure(
                run, "build payload", rows, lambda ids=ids: naive_payload(fx.export, ids)
            )

            def bulk_update(payload: list[dict[str, Any]] = payload) -> list[Any]:
                update_leads = SalesforceBulkOperator(
                    task_id="update_leads",
                    operation="update",
                    object_name="Lead",
                    payload=payload,
                    salesforce_conn_id=CONN_ID,
                )
                return list(update_leads.execute(context={}) or [])

            results = meter.measure(run, "bulk 1.0 update", rows, bulk_update)
            ok = sum(1 for r in results if r.get("success"))
            runs.append(
                {
                    "run": run,
                    "written": ok,
                    "failed": len(results) - ok,
                    "unmatched": unmatched,
                    "unchanged": 0,
                }
            )
        return {
            "mode": "naive",
            "rows": rows,
            "leads": fx.leads,
            "import_s": import_s,
            "seed_s": fx.seed_s,
            "export_s": fx.export_s,
            "rss_after_seed_mb": fx.rss_after_seed_mb,
            "steps": [asdict(r) for r in meter.results],
            "runs": runs,
        }


# ----------------------------------------------------------------------------------- dag.test


def dagtest_worker(rows: int, profile_dir: Path | None) -> dict[str, Any]:
    """First and unchanged runs through the generated DAG with `dag.test()` (needs AIRFLOW_HOME
    with a migrated metadata DB: the parent process prepares it)."""
    from include.walkme_sync.airflow.dag_factory import build_all
    from include.walkme_sync.storage import run_dir

    import_s = warm_imports()
    with fixture(rows) as fx:
        folder = write_config(fx)
        meter = Meter(fx.org, None)
        dag_file = str(ROOT / "dags" / "integrations.py")
        runs = []
        for run in ("first", "unchanged"):

            def one_run() -> Any:
                dags = {dag.dag_id: dag for dag in build_all(dag_file, folder)}
                dag = dags[f"walkme_sync__{INTEGRATION_ID}"]
                return dag.test()

            dag_run = meter.measure(run, "dag.test", rows, one_run)
            summary_file = run_dir(INTEGRATION_ID, dag_run.run_id) / "summary.json"
            summary = json.loads(summary_file.read_text()) if summary_file.exists() else {}
            runs.append(
                {
                    "run": run,
                    "state": str(dag_run.state),
                    **{k: summary.get(k) for k in ("written", "unchanged", "unmatched")},
                }
            )
        return {
            "mode": "dag.test",
            "rows": rows,
            "leads": fx.leads,
            "import_s": import_s,
            "seed_s": fx.seed_s,
            "export_s": fx.export_s,
            "rss_after_seed_mb": fx.rss_after_seed_mb,
            "steps": [asdict(r) for r in meter.results],
            "runs": runs,
        }


WORKERS = {"product": product_worker, "naive": naive_worker, "dag.test": dagtest_worker}


# ----------------------------------------------------------------------------------- parent


def _env(airflow_home: Path) -> dict[str, str]:
    return dict(
        os.environ,
        PYTHONPATH=str(ROOT),
        AIRFLOW_HOME=str(airflow_home),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "dags"),
        AIRFLOW__LOGGING__LOGGING_LEVEL="WARNING",
    )


def run_worker(
    mode: str, rows: int, airflow_home: Path, profile_dir: Path | None
) -> dict[str, Any]:
    """One measurement in a fresh interpreter (peak memory per size and approach)."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        out = Path(handle.name)
    command = [sys.executable, __file__, "--worker", mode, "--sizes", str(rows), "--out", str(out)]
    if profile_dir is not None:
        command += ["--profile", str(profile_dir / f"{mode}_{rows}")]
    started = time.perf_counter()
    completed = subprocess.run(
        command, check=False, env=_env(airflow_home), capture_output=True, text=True
    )
    elapsed = time.perf_counter() - started
    try:
        if completed.returncode != 0:
            sys.stderr.write(completed.stderr[-6000:])
            raise SystemExit(f"{mode} worker for {rows} rows failed (exit {completed.returncode})")
        result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    finally:
        out.unlink(missing_ok=True)
    result["process_wall_s"] = elapsed
    return result


def migrate_airflow_db(airflow_home: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        [str(Path(sys.executable).with_name("airflow")), "db", "migrate"],
        env=_env(airflow_home),
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def _calls_text(calls: dict[str, int]) -> str:
    if not calls:
        return "0"
    parts = " ".join(f"{kind} {count}" for kind, count in calls.items())
    return f"{sum(calls.values())} ({parts})"


def _rate(rows: int, seconds: float) -> str:
    return f"{rows / seconds:,.0f}" if seconds > 0 else "-"


def step_table(result: dict[str, Any]) -> str:
    lines = [
        f"{'run':<11} {'step':<16} {'wall s':>8} {'CPU s':>8} {'client CPU':>10} "
        f"{'rows/s':>10} {'peak RSS MB':>11}  API calls"
    ]
    steps = [StepResult(**s) for s in result["steps"]]
    for run in dict.fromkeys(s.run for s in steps):
        for s in [*[s for s in steps if s.run == run], total(steps, run, result["rows"])]:
            lines.append(
                f"{s.run:<11} {s.step:<16} {s.wall_s:>8.2f} {s.cpu_s:>8.2f} "
                f"{s.client_cpu_s:>10.2f} {_rate(s.rows, s.wall_s):>10} "
                f"{s.peak_rss_mb:>11,.0f}  {_calls_text(s.calls)}"
            )
    return "\n".join(lines)


def outcome_lines(result: dict[str, Any]) -> str:
    lines = []
    for run in result["runs"]:
        parts = [f"{k} {v}" for k, v in run.items() if k != "run" and v is not None]
        lines.append(f"  {run['run']:<11} " + ", ".join(parts))
    return "\n".join(lines)


def summary_rows(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (size, approach, run): the numbers of the combined comparison table."""
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
                    "cpu_s": t.cpu_s,
                    "client_cpu_s": t.client_cpu_s,
                    "rows_per_s": result["rows"] / t.wall_s if t.wall_s else 0.0,
                    "peak_rss_mb": t.peak_rss_mb,
                    "api_calls": t.api_calls,
                    "calls": t.calls,
                    "written": outcomes.get(run, {}).get("written"),
                }
            )
    return rows


def comparison_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        f"{'rows':>9} {'approach':<9} {'run':<11} {'wall s':>8} {'CPU s':>8} {'client CPU':>10} "
        f"{'rows/s':>10} {'peak RSS MB':>11} {'API calls':>9} {'written':>9}"
    ]
    for r in rows:
        written = "-" if r["written"] is None else f"{r['written']:,}"
        lines.append(
            f"{r['rows']:>9,} {r['approach']:<9} {r['run']:<11} {r['wall_s']:>8.2f} "
            f"{r['cpu_s']:>8.2f} {r['client_cpu_s']:>10.2f} {r['rows_per_s']:>10,.0f} "
            f"{r['peak_rss_mb']:>11,.0f} {r['api_calls']:>9,} {written:>9}"
        )
    return "\n".join(lines)


def print_result(result: dict[str, Any]) -> None:
    rows = result["rows"]
    title = {
        "product": "product sync (pipeline steps in-process)",
        "naive": "naive baseline (make_query + SalesforceBulkOperator, Bulk API 1.0)",
        "dag.test": "product sync through dag.test() (Airflow overhead included)",
    }[result["mode"]]
    print(f"\n=== {rows:,} report rows: {title}")
    print(
        f"    {result['leads']:,} Leads seeded ({rows - result['leads']:,} report rows unmatched) "
        f"in {result['seed_s']:.1f} s; export written in {result['export_s']:.1f} s; "
        f"imports {result['import_s']:.1f} s; RSS after seeding "
        f"{result['rss_after_seed_mb']:,.0f} MB; worker process {result['process_wall_s']:.0f} s"
    )
    print(step_table(result))
    print("  outcomes:")
    print(outcome_lines(result))
    sys.stdout.flush()


def measure_all(
    sizes: list[int], *, naive: bool, dag_test: bool, profile_dir: Path | None
) -> list[dict[str, Any]]:
    results = []
    with tempfile.TemporaryDirectory(prefix="walkme-bench-airflow-") as home:
        airflow_home = Path(home)
        for rows in sizes:
            started = time.perf_counter()
            modes = ["product", *(["naive"] if naive else [])]
            if dag_test and rows <= 1000:
                print(
                    f"\n(airflow db migrate for dag.test: {migrate_airflow_db(airflow_home):.1f} s)"
                )
                modes.append("dag.test")
            for mode in modes:
                result = run_worker(mode, rows, airflow_home, profile_dir)
                print_result(result)
                results.append(result)
            print(f"\n({rows:,} rows: all approaches took {time.perf_counter() - started:.0f} s)")
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        default=",".join(map(str, DEFAULT_SIZES)),
        help="comma-separated report sizes (default 1000,100000; 1000000 takes several minutes)",
    )
    parser.add_argument("--no-naive", action="store_true", help="skip the stock-Airflow baseline")
    parser.add_argument("--no-dag-test", action="store_true", help="skip the dag.test() run (1k)")
    parser.add_argument("--profile", type=Path, help="write cProfile output (main thread) here")
    parser.add_argument("--json", type=Path, help="also write all results as JSON to this file")
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sizes = [int(size.replace("_", "")) for size in args.sizes.split(",") if size.strip()]

    if args.worker:
        profile_dir = args.profile
        if profile_dir is not None:
            profile_dir.mkdir(parents=True, exist_ok=True)
        result = WORKERS[args.worker](sizes[0], profile_dir)
        result["ru_maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        args.out.write_text(json.dumps(result, default=str), encoding="utf-8")
        return 0

    started = time.perf_counter()
    print(f"Sync throughput, sizes {', '.join(f'{s:,}' for s in sizes)} (fresh process each)")
    results = measure_all(
        sizes, naive=not args.no_naive, dag_test=not args.no_dag_test, profile_dir=args.profile
    )
    rows = summary_rows(results)
    print("\n=== Comparison (TOTAL per run; CPU includes the in-process emulator)")
    print(comparison_table(rows))
    print(f"\nsync_throughput took {time.perf_counter() - started:.0f} s")
    if args.json:
        args.json.write_text(json.dumps({"results": results, "summary": rows}, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())

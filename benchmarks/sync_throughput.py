"""End-to-end sync throughput against the local Salesforce, and the stock-Airflow baseline.

    PYTHONPATH=. .venv/bin/python benchmarks/sync_throughput.py [--sizes 1000,100000,1000000]

Prints numbers (it is not a timed test). For each report size, in a fresh interpreter each (so peak
memory is per size and per approach):

* **product**: the five pipeline steps (`include.walkme_sync.steps`: extract, validate, match,
  upsert, record), exactly what the DAG's tasks run, minus Airflow's scheduling. Three runs on the
  same org: *first* (every matched Lead is written), *unchanged* (same export again: nothing to
  write), *1% changed* (a new export in which 1% of the rows have a new login count: exactly those
  are written). The ledger's tables are made before the first run, as on a deployment that has
  run before (its first use ever applies the migrations once; their CPU is printed apart).
* **floor**: the least client work the same sync can do (`floor_sync.py`: Arrow, one process, no
  validation, files or ledger, Arrow's memory from the product tasks' allocator): what the
  product's CPU is compared with. Two runs: *first* and *unchanged*.
* **naive**: what people do with stock Airflow: one `SELECT Id, Email FROM Lead` through
  `SalesforceHook.make_query`, build the payload, then `SalesforceBulkOperator(operation="update")`
  (Bulk API 1.0) writing every row every time. Two runs: *first* and *unchanged*.
* **dag.test** (1k only, `--no-dag-test` to skip): the same first + unchanged runs through the real
  generated DAG with `dag.test()`, to show Airflow's own per-run overhead.

The emulator (`bench_emulator.EmulatorProcess`) runs in its own process: "client CPU" is the
steps' own work, the emulator's CPU is reported apart. CPU time matters because wall time on a busy
2-core machine also measures the other processes. Peak RSS is per task process (the product) or
sampled during each step of the one process (floor, naive, dag.test). This VM's speed drifts by a
third within minutes: `--repeat N` runs every approach N times and keeps each step's fastest.
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
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_emulator import API_KINDS, EmulatorProcess  # noqa: E402
from bench_report import comparison_table, fastest_of, print_result, summary_rows  # noqa: E402
from fixed_cost import ROWS as FIXED_COST_ROWS  # noqa: E402

TEMPLATE = ROOT / "demo" / "integrations" / "login_review_to_lead.yaml"
INTEGRATION_ID = "bench_login_review"
CONN_ID = "salesforce_sandbox"
EXPORT_DATE = date(2026, 11, 24)
CHANGED_EXPORT_DATE = date(2026, 11, 25)
#: The DAG's tasks, in order (each runs in its own process, as on an Airflow worker).
STEPS = ("extract", "validate", "match", "upsert", "record")
#: Every UNMATCHED_EVERY-th report person has no Lead (2%); every CHANGED_EVERY-th row changes (1%).
UNMATCHED_EVERY = 50
CHANGED_EVERY = 100
DEFAULT_SIZES = (1000, 100_000)
#: `bench_task.py --step empty`: a task process that imports Airflow's Task SDK and does nothing.
EMPTY_STEP = "empty"
LOGINS_COLUMN = "Logins in Past 30 days"
DATETIME_FIELDS = {"First Login": "WalkMe_First_Login__c", "Last Login": "WalkMe_Last_Login__c"}
#: `--extra-fields N` maps the first N of these too (the report's e-mail onto text fields of the
#: Lead): how memory and CPU grow with mapped fields. Product only: the floor and the naive way
#: keep the three fields, so compare them only without it.
EXTRA_MAPPINGS = (
    ("User ID", "WalkMe_User_Id__c"),
    ("User ID", "Title"),
    ("User ID", "Company"),
    ("User ID", "Website"),
)


# ----------------------------------------------------------------------------------- measuring


@dataclass
class StepResult:
    """One measured step: times, memory, API calls served by the emulator, and what it did.

    `cpu_s` is the client process's CPU during the step (the emulator runs in its own process,
    its CPU is `emulator_cpu_s`); `import_cpu_s` is what the task process spent importing the
    libraries the step needs (pandas, pyarrow, great-expectations...), before the step;
    `process_cpu_s` is the task process's CPU in all (Python, Airflow, imports, the step) when
    the step ran in its own process; `empty_process_cpu_s`, when measured, is an empty task
    process's CPU run right after it the same way (the fixed cost's yardstick); `peak_rss_mb` is
    the process's peak; `system_cpu_s` is the kernel's share of `cpu_s` (first-touched memory,
    file and socket I/O), measured when the step ran in its own process."""

    run: str
    step: str
    rows: int
    wall_s: float = 0.0
    cpu_s: float = 0.0
    client_cpu_s: float = 0.0
    system_cpu_s: float = 0.0
    import_cpu_s: float = 0.0
    process_cpu_s: float = 0.0
    empty_process_cpu_s: float = 0.0
    emulator_cpu_s: float = 0.0
    rss_before_mb: float = 0.0
    peak_rss_mb: float = 0.0
    calls: dict[str, int] = field(default_factory=dict)
    note: str = ""

    @property
    def api_calls(self) -> int:
        return sum(self.calls.values())


class _Sampler:
    """Samples this process's RSS while an in-process step runs (a daemon thread)."""

    def __init__(self, interval: float = 0.05) -> None:
        import psutil

        self.process = psutil.Process()
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="bench-sampler", daemon=True)

    def _sample(self) -> None:
        self.peak = max(self.peak, self.process.memory_info().rss)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def start(self) -> int:
        rss = int(self.process.memory_info().rss)
        self.peak = rss
        self._thread.start()
        return rss

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()


class Meter:
    """Measures steps against the emulator process; `profile_dir` turns on cProfile per
    in-process step (a task process step is profiled by `bench_task.py --profile`)."""

    def __init__(self, emulator: EmulatorProcess, profile_dir: Path | None = None) -> None:
        self.emulator = emulator
        self.profile_dir = profile_dir
        self.results: list[StepResult] = []

    def _record(
        self, result: StepResult, calls_before: dict[str, int], emulator_cpu_before: float
    ) -> None:
        after = self.emulator.calls()
        result.calls = {
            k: after[k] - calls_before[k] for k in API_KINDS if after[k] > calls_before[k]
        }
        result.emulator_cpu_s = self.emulator.cpu_s() - emulator_cpu_before
        self.results.append(result)

    def measure(self, run: str, step: str, rows: int, action: Callable[[], Any]) -> Any:
        """Run `action` in this process (naive way, dag.test)."""
        result = StepResult(run, step, rows)
        sampler = _Sampler()
        calls_before, emulator_before = self.emulator.calls(), self.emulator.cpu_s()
        result.rss_before_mb = sampler.start() / 2**20
        profiler = cProfile.Profile() if self.profile_dir else None
        started, started_cpu = time.perf_counter(), time.process_time()
        try:
            value = profiler.runcall(action) if profiler is not None else action()
        finally:
            result.wall_s = time.perf_counter() - started
            result.cpu_s = result.client_cpu_s = time.process_time() - started_cpu
            result.process_cpu_s = result.cpu_s
            sampler.stop()
            result.peak_rss_mb = sampler.peak / 2**20
            self._record(result, calls_before, emulator_before)
        if profiler is not None and self.profile_dir is not None:
            self._dump_profile(profiler, f"{run}_{step}")
        return value

    def measure_task(
        self, run: str, step: str, rows: int, run_id: str, run_date: date, *, with_empty: bool
    ) -> Any:
        """Run one pipeline step in its own process, as a worker runs one task; `with_empty`
        then runs an empty task process the same way, so the fixed cost compares processes
        measured seconds apart on the same machine state."""
        result = StepResult(run, step, rows)
        calls_before, emulator_before = self.emulator.calls(), self.emulator.cpu_s()
        profile = None
        if self.profile_dir is not None:
            profile = self.profile_dir / f"{run.replace(' ', '_')}_{step}.prof"
        started = time.perf_counter()
        task = run_task_process(step, run_id, run_date, profile)
        result.wall_s = time.perf_counter() - started
        result.cpu_s = result.client_cpu_s = float(task["step_cpu_s"])
        result.system_cpu_s = float(task["step_system_cpu_s"])
        result.import_cpu_s = float(task["import_cpu_s"])
        result.process_cpu_s = float(task["process_cpu_s"])
        result.peak_rss_mb = float(task["peak_rss_mb"])
        self._record(result, calls_before, emulator_before)
        if with_empty:
            empty = run_task_process(EMPTY_STEP, run_id, run_date, None)
            result.empty_process_cpu_s = float(empty["process_cpu_s"])
        return task["value"]

    def _dump_profile(self, profiler: cProfile.Profile, name: str) -> None:
        assert self.profile_dir is not None
        buffer = io.StringIO()
        stats = pstats.Stats(profiler, stream=buffer)
        stats.sort_stats("tottime").print_stats(25)
        stats.sort_stats("cumulative").print_stats(40)
        (self.profile_dir / f"{name}.txt").write_text(buffer.getvalue(), encoding="utf-8")


def run_task_process(step: str, run_id: str, run_date: date, profile: Path | None) -> Any:
    """`bench_task.py` for one step in a fresh process; what it reports."""
    with tempfile.TemporaryDirectory(prefix="walkme-bench-task-") as tmp:
        out = Path(tmp) / "task.json"
        command = [
            sys.executable,
            str(Path(__file__).with_name("bench_task.py")),
            *("--step", step, "--integration", INTEGRATION_ID, "--run-id", run_id),
            *("--run-date", run_date.isoformat(), "--out", str(out)),
        ]
        if profile is not None:
            command += ["--profile", str(profile)]
        completed = subprocess.run(command, check=False, capture_output=True, text=True)
        if completed.returncode != 0:
            sys.stderr.write(completed.stderr[-6000:])
            raise SystemExit(f"task process {step} ({run_id}) failed")
        return json.loads(out.read_text(encoding="utf-8"))


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
        system_cpu_s=sum(r.system_cpu_s for r in steps),
        import_cpu_s=sum(r.import_cpu_s for r in steps),
        process_cpu_s=sum(r.process_cpu_s for r in steps),
        empty_process_cpu_s=sum(r.empty_process_cpu_s for r in steps),
        emulator_cpu_s=sum(r.emulator_cpu_s for r in steps),
        rss_before_mb=min((r.rss_before_mb for r in steps), default=0.0),
        peak_rss_mb=max((r.peak_rss_mb for r in steps), default=0.0),
        calls=calls,
        note=note,
    )


# ----------------------------------------------------------------------------------- test data


@dataclass
class Fixture:
    """A running emulator process with N report people seeded as Leads (minus the unmatched
    share), and the report export."""

    emulator: EmulatorProcess
    root: Path
    exports: Path
    export: Path
    rows: int
    leads: int
    seed_s: float
    export_s: float
    emulator_rss_mb: float


@contextlib.contextmanager
def fixture(rows: int) -> Iterator[Fixture]:
    """Temp folders + the emulator in its own process + seeded Leads + the report export."""
    from demo.sample_data import iter_people, write_report

    with tempfile.TemporaryDirectory(prefix="walkme-bench-") as tmp:
        root = Path(tmp)
        exports = root / "exports"
        exports.mkdir()
        with EmulatorProcess(rows, root / "emulator", UNMATCHED_EVERY) as emulator:
            os.environ["REQUESTS_CA_BUNDLE"] = emulator.info["trust_bundle"]
            os.environ["AIRFLOW_CONN_SALESFORCE_SANDBOX"] = emulator.info["connection"]
            started = time.perf_counter()
            export = write_report(
                "login_review", exports, iter_people(rows), export_date=EXPORT_DATE
            )
            export_s = time.perf_counter() - started
            yield Fixture(
                emulator=emulator,
                root=root,
                exports=exports,
                export=export,
                rows=rows,
                leads=int(emulator.info["leads"]),
                seed_s=float(emulator.info["seed_s"]),
                export_s=export_s,
                emulator_rss_mb=emulator.rss_mb(),
            )


def worker_result(
    mode: str,
    fx: Fixture,
    import_s: float,
    meter: Meter,
    runs: list[dict[str, Any]],
    **extra: Any,
) -> dict[str, Any]:
    """What a worker process reports: the fixture, every measured step and the runs' outcomes."""
    return {
        "mode": mode,
        "rows": fx.rows,
        "leads": fx.leads,
        "import_s": import_s,
        "seed_s": fx.seed_s,
        "export_s": fx.export_s,
        "emulator_rss_mb": fx.emulator_rss_mb,
        "steps": [asdict(r) for r in meter.results],
        "runs": runs,
        **extra,
    }


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


def write_config(fx: Fixture, extra_fields: int = 0) -> Path:
    """The demo integration's YAML, pointed at the temp exports, newest export, no API budget;
    `extra_fields` more text fields mapped (`EXTRA_MAPPINGS`)."""
    import yaml

    config = yaml.safe_load(TEMPLATE.read_text(encoding="utf-8"))
    config["id"] = INTEGRATION_ID
    config["mappings"] += [
        {"column": column, "field": field} for column, field in EXTRA_MAPPINGS[:extra_fields]
    ]
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


def product_worker(rows: int, profile_dir: Path | None, extra_fields: int = 0) -> dict[str, Any]:
    """Three runs, each step in its own task process (the emulator in another one)."""
    import_s = warm_imports()
    with fixture(rows) as fx:
        write_config(fx, extra_fields)
        ledger_cpu_s = migrate_ledger()
        meter = Meter(fx.emulator, profile_dir)
        runs: list[dict[str, Any]] = []
        changed = 0
        for run, run_date in (
            ("first", EXPORT_DATE),
            ("unchanged", EXPORT_DATE),
            ("1% changed", CHANGED_EXPORT_DATE),
        ):
            if run == "1% changed":
                _, changed = write_changed_export(fx)
            run_id = f"bench__{run.replace('%', 'pct').replace(' ', '_')}"
            with_empty = run == "first" and rows == FIXED_COST_ROWS
            for step in STEPS:
                summary = meter.measure_task(
                    run, step, rows, run_id, run_date, with_empty=with_empty
                )
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
        return worker_result(
            "product",
            fx,
            import_s,
            meter,
            runs,
            changed_rows=changed,
            extra_fields=extra_fields,
            ledger_migration_cpu_s=ledger_cpu_s,
        )


def migrate_ledger() -> float:
    """Create the ledger's tables before the first run, as a deployment's ledger already has
    them after its first run ever (the first use applies the migrations: Alembic's import and
    the DDL, ~0.3 s of CPU once per deployment, not per sync); the CPU it took, printed apart."""
    from include.walkme_sync.ledger.store import Ledger

    started = time.process_time()
    Ledger()
    return time.process_time() - started


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
        meter = Meter(fx.emulator, profile_dir)
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
        return worker_result("naive", fx, import_s, meter, runs)


# ----------------------------------------------------------------------------------- floor


def floor_worker(rows: int, profile_dir: Path | None) -> dict[str, Any]:
    """The least client work for the same first and unchanged runs (`floor_sync`)."""
    from airflow.providers.salesforce.hooks.salesforce import SalesforceHook
    from floor_sync import floor_sync

    from include.walkme_sync.airflow.tasks import use_reusing_memory_pool

    import_s = warm_imports()
    use_reusing_memory_pool()  # the Arrow allocator the product's tasks use: a like-for-like floor
    with fixture(rows) as fx:
        meter = Meter(fx.emulator, profile_dir)
        runs: list[dict[str, Any]] = []
        for run in ("first", "unchanged"):

            def sync() -> dict[str, int]:
                # One connection per run, as a run of the product connects.
                return floor_sync(SalesforceHook(salesforce_conn_id=CONN_ID).get_conn(), fx.export)

            done = meter.measure(run, "sync", rows, sync)
            runs.append({"run": run, "written": done["written"]})
        return worker_result("floor", fx, import_s, meter, runs)


# ----------------------------------------------------------------------------------- dag.test


def dagtest_worker(rows: int, profile_dir: Path | None) -> dict[str, Any]:
    """First and unchanged runs through the generated DAG with `dag.test()` (needs AIRFLOW_HOME
    with a migrated metadata DB: the parent process prepares it)."""
    from include.walkme_sync.airflow.dag_factory import build_all
    from include.walkme_sync.storage import run_dir

    import_s = warm_imports()
    with fixture(rows) as fx:
        folder = write_config(fx)
        meter = Meter(fx.emulator, None)
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
        return worker_result("dag.test", fx, import_s, meter, runs)


WORKERS = {
    "product": product_worker,
    "floor": floor_worker,
    "naive": naive_worker,
    "dag.test": dagtest_worker,
}


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
    mode: str, rows: int, airflow_home: Path, profile_dir: Path | None, extra_fields: int = 0
) -> dict[str, Any]:
    """One measurement in a fresh interpreter (peak memory per size and approach)."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        out = Path(handle.name)
    command = [sys.executable, __file__, "--worker", mode, "--sizes", str(rows), "--out", str(out)]
    if mode == "product":
        command += ["--extra-fields", str(extra_fields)]
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


def measure_all(
    sizes: list[int],
    *,
    naive: bool,
    dag_test: bool,
    profile_dir: Path | None,
    floor: bool = True,
    repeat: int = 1,
    extra_fields: int = 0,
) -> list[dict[str, Any]]:
    """Every approach at every size, each in its own worker process; with `repeat` > 1 each
    worker runs that many times and every step keeps its least-disturbed numbers
    (`bench_report.fastest_of`)."""
    results = []
    with tempfile.TemporaryDirectory(prefix="walkme-bench-airflow-") as home:
        airflow_home = Path(home)
        for rows in sizes:
            started = time.perf_counter()
            modes = ["product", *(["floor"] if floor else []), *(["naive"] if naive else [])]
            if dag_test and rows <= 1000:
                print(
                    f"\n(airflow db migrate for dag.test: {migrate_airflow_db(airflow_home):.1f} s)"
                )
                modes.append("dag.test")
            for mode in modes:
                result = fastest_of(
                    [
                        run_worker(mode, rows, airflow_home, profile_dir, extra_fields)
                        for _ in range(repeat)
                    ]
                )
                print_result(result)
                results.append(result)
            print(f"\n({rows:,} rows: all approaches took {time.perf_counter() - started:.0f} s)")
    return results


def add_sync_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of the sync measurement (here and in run_all.py, which passes them on)."""
    parser.add_argument(
        "--sizes",
        default=",".join(map(str, DEFAULT_SIZES)),
        help="comma-separated report sizes (default 1000,100000; 1000000 takes several minutes)",
    )
    parser.add_argument("--no-naive", action="store_true", help="skip the stock-Airflow baseline")
    parser.add_argument("--no-dag-test", action="store_true", help="skip the dag.test() run (1k)")
    parser.add_argument("--no-floor", action="store_true", help="skip the least-work reference")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run each approach this many times and keep each step's fastest (default 1)",
    )
    parser.add_argument(
        "--extra-fields",
        type=int,
        choices=range(len(EXTRA_MAPPINGS) + 1),
        default=0,
        help="map this many more text fields in the product's runs (memory per mapped field)",
    )


def parse_sizes(text: str) -> list[int]:
    """`--sizes` as numbers (`1_000_000` allowed)."""
    return [int(size.replace("_", "")) for size in text.split(",") if size.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_sync_arguments(parser)
    parser.add_argument("--profile", type=Path, help="write cProfile output (main thread) here")
    parser.add_argument("--json", type=Path, help="also write all results as JSON to this file")
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sizes = parse_sizes(args.sizes)

    if args.worker:
        profile_dir = args.profile
        if profile_dir is not None:
            profile_dir.mkdir(parents=True, exist_ok=True)
        options = {"extra_fields": args.extra_fields} if args.worker == "product" else {}
        result = WORKERS[args.worker](sizes[0], profile_dir, **options)
        result["ru_maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        args.out.write_text(json.dumps(result, default=str), encoding="utf-8")
        return 0

    started = time.perf_counter()
    print(f"Sync throughput, sizes {', '.join(f'{s:,}' for s in sizes)} (fresh process each)")
    results = measure_all(
        sizes,
        naive=not args.no_naive,
        dag_test=not args.no_dag_test,
        profile_dir=args.profile,
        floor=not args.no_floor,
        repeat=args.repeat,
        extra_fields=args.extra_fields,
    )
    rows = summary_rows(results)
    print(
        "\n=== Comparison (TOTAL per run; client CPU = the steps' work, imports apart; "
        "the emulator in its own process)"
    )
    print(comparison_table(rows))
    print(f"\nsync_throughput took {time.perf_counter() - started:.0f} s")
    if args.json:
        args.json.write_text(json.dumps({"results": results, "summary": rows}, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The Integrations console's content: what the original product's list view and Log showed.

Built from three sources, each the authority on its part: the YAML configs (what the integration
is, its validation problems), Airflow (whether its DAG is paused, runs queued or in flight) and the
run ledger (what every finished sync did). The Airflow side comes in as plain values
(`DagState`, `Access`, read by `airflow_state`), so this module needs no running Airflow.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from include.walkme_sync.config import ConfigProblem, IntegrationConfig, LoadResult
from include.walkme_sync.config.catalog import load_catalog
from include.walkme_sync.frames import BUCKETS_AS_SHOWN, Bucket
from include.walkme_sync.locations import DAG_ID_PREFIX, PROJECT_ROOT

#: The Sync report tab's route on a DAG run page (the plugin's `dag_run` external view).
SYNC_REPORT_ROUTE = "sync-report"
#: Airflow run states still to finish, as the console names them.
IN_FLIGHT = {"queued": "Queued", "running": "Running"}
#: A finished Airflow run the ledger never heard of (its record_run task did not run).
UNRECORDED = {"success": "Completed", "failed": "Failed"}


@dataclass(frozen=True)
class AirflowRun:
    """One DAG run as Airflow's metadata DB has it."""

    run_id: str
    state: str
    started_at: datetime | None
    ended_at: datetime | None
    dry_run: bool = False


@dataclass(frozen=True)
class DagState:
    """A DAG as Airflow knows it: paused or not, its next scheduled run, its recent runs."""

    dag_id: str
    is_paused: bool
    next_run: datetime | None = None
    runs: tuple[AirflowRun, ...] = ()  # newest first


@dataclass(frozen=True)
class Access:
    """What the signed-in user may do, per DAG id (from Airflow's auth manager)."""

    readable: frozenset[str]
    triggerable: frozenset[str] = frozenset()
    pausable: frozenset[str] = frozenset()


@dataclass(frozen=True)
class RunView:
    """One sync as a line of the Log: start (UTC), runtime, status, reason, counts."""

    dag_id: str
    run_id: str
    started_at: str
    runtime: str
    status: str
    dry_run: bool
    counts: tuple[tuple[str, int], ...]
    reason: str | None = None
    api_calls: int | None = None
    in_airflow: bool = True

    @property
    def run_url(self) -> str:
        """The run's page in the Airflow UI (its task logs are the full detail)."""
        return f"/dags/{quote(self.dag_id, safe='')}/runs/{quote(self.run_id, safe='')}"

    @property
    def report_url(self) -> str:
        return f"{self.run_url}/plugin/{SYNC_REPORT_ROUTE}"

    @property
    def finished(self) -> bool:
        return self.status not in IN_FLIGHT.values()


@dataclass(frozen=True)
class IntegrationView:
    """One row of the Integrations page."""

    id: str
    name: str
    dag_id: str
    report_title: str
    object_name: str
    environment: str
    conn_id: str
    schedule: str
    config_file: str
    airflow_state: str  # Active | Paused | Waiting for Airflow (not parsed yet)
    next_run: str | None
    last_run: RunView | None
    #: A paused integration whose scheduled time passed while it was paused: Airflow runs it once
    #: for that time as soon as it is resumed (a real run), which the page says before resuming.
    missed_run: str | None = None
    warnings: tuple[str, ...] = ()
    can_trigger: bool = False
    can_pause: bool = False

    @property
    def is_paused(self) -> bool:
        return self.airflow_state == "Paused"

    @property
    def in_airflow(self) -> bool:
        return self.airflow_state in {"Active", "Paused"}


@dataclass(frozen=True)
class InvalidConfigView:
    """A config file that yields no integration, with every problem it has."""

    file: str
    id: str
    dag_id: str
    errors: tuple[str, ...]
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class RemovedIntegrationView:
    """An integration whose YAML file is gone: it no longer runs, its history stays readable."""

    id: str
    name: str
    dag_id: str
    last_run: RunView


@dataclass
class Console:
    integrations: list[IntegrationView] = field(default_factory=list)
    invalid: list[InvalidConfigView] = field(default_factory=list)
    removed: list[RemovedIntegrationView] = field(default_factory=list)


def console_json(console: Console) -> list[dict[str, Any]]:
    """The console as one flat row per integration (`GET /integrations/api`), for scripts and
    tests: valid integrations, then invalid files, then removed integrations."""
    rows: list[dict[str, Any]] = []
    for row in console.integrations:
        rows.append(
            {
                "id": row.id,
                "name": row.name,
                "dag_id": row.dag_id,
                "report": row.report_title,
                "object": row.object_name,
                "environment": row.environment,
                "state": row.airflow_state,
                "next_run": row.next_run,
                **_run_json(row.last_run),
                "warnings": list(row.warnings),
                "problems": [],
            }
        )
    for bad in console.invalid:
        rows.append(
            {
                "id": bad.id,
                "name": f"invalid config: {bad.file}",
                "dag_id": bad.dag_id,
                "state": "Invalid config",
                **_run_json(None),
                "status": "Invalid config",
                "warnings": list(bad.warnings),
                "problems": list(bad.errors),
            }
        )
    for gone in console.removed:
        rows.append(
            {
                "id": gone.id,
                "name": gone.name,
                "dag_id": gone.dag_id,
                "state": "Removed",
                **_run_json(gone.last_run),
                "warnings": [],
                "problems": [],
            }
        )
    return rows


def _run_json(run: RunView | None) -> dict[str, Any]:
    if run is None:
        return {
            "last_run": None,
            "runtime": None,
            "status": "Never run",
            "reason": None,
            "dry_run": False,
            "counts": "",
        }
    counts = ", ".join(f"{label} {n}" for label, n in run.counts)
    return {
        "last_run": run.started_at or None,
        "run_id": run.run_id,
        "runtime": run.runtime or None,
        "status": run.status,
        "reason": run.reason,
        "dry_run": run.dry_run,
        # A dry run's counts say so up front: "dry run: would write 3, unmatched 1".
        "counts": f"dry run: {counts}" if run.dry_run and counts else counts,
    }


def invalid_dag_id(file: str) -> str:
    """The placeholder DAG `dag_factory` builds for an invalid file (same rule)."""
    return f"{DAG_ID_PREFIX}invalid__{Path(file).stem.lower().replace('-', '_')}"


def dag_ids_of(result: LoadResult, ledger_runs: Mapping[str, Mapping[str, Any]]) -> set[str]:
    """Every DAG id the console could show: integrations, invalid files, removed integrations."""
    ids = {config.dag_id for config in result.integrations}
    ids |= {invalid_dag_id(file) for file in _invalid_files(result)}
    ids |= {str(run["dag_id"]) for run in ledger_runs.values()}
    return ids


def build_console(
    result: LoadResult,
    ledger_runs: Mapping[str, Mapping[str, Any]],
    dag_states: Mapping[str, DagState],
    access: Access,
    now: datetime | None = None,
) -> Console:
    """The page's rows, only those whose DAG the user may read.

    `ledger_runs` is each integration's newest recorded run (`Ledger.newest_run_per_integration`).
    """
    titles = _report_titles()
    now = now or datetime.now(UTC)
    console = Console()
    for config in sorted(result.integrations, key=lambda c: c.name.lower()):
        if config.dag_id not in access.readable:
            continue
        state = dag_states.get(config.dag_id)
        ledger_run = ledger_runs.get(config.id)
        runs = merge_runs([ledger_run] if ledger_run else [], state.runs[:1] if state else ())
        console.integrations.append(
            IntegrationView(
                id=config.id,
                name=config.name,
                dag_id=config.dag_id,
                report_title=titles.get(config.report.name, config.report.name),
                object_name=config.object.name,
                environment=config.environment,
                conn_id=config.conn_id,
                schedule=_schedule_text(config),
                config_file=config.source_file,
                airflow_state=_airflow_state(state),
                next_run=(
                    format_utc(state.next_run, "%Y-%m-%d %H:%M UTC")
                    if state and not state.is_paused
                    else None
                ),
                missed_run=_missed_run(state, config, now),
                last_run=runs[0] if runs else None,
                warnings=tuple(
                    str(p)
                    for p in result.problems.get(config.source_file, [])
                    if p.severity == "warning"
                ),
                can_trigger=config.dag_id in access.triggerable,
                can_pause=config.dag_id in access.pausable,
            )
        )
    for file in _invalid_files(result):
        dag_id = invalid_dag_id(file)
        if dag_id in access.readable:
            console.invalid.append(_invalid_view(file, result, dag_id))
    live_ids = {config.id for config in result.integrations} | set(result.ids_by_file.values())
    for integration_id, run in sorted(ledger_runs.items()):
        if integration_id not in live_ids and run["dag_id"] in access.readable:
            console.removed.append(
                RemovedIntegrationView(
                    id=integration_id,
                    name=str(run["integration_name"]),
                    dag_id=str(run["dag_id"]),
                    last_run=ledger_run_view(run, in_airflow=False),
                )
            )
    return console


def _invalid_files(result: LoadResult) -> list[str]:
    return sorted(
        file
        for file, problems in result.problems.items()
        if any(p.severity == "error" for p in problems)
    )


def _invalid_view(file: str, result: LoadResult, dag_id: str) -> InvalidConfigView:
    problems: list[ConfigProblem] = result.problems[file]
    return InvalidConfigView(
        file=file,
        id=result.ids_by_file.get(file, Path(file).stem),
        dag_id=dag_id,
        errors=tuple(str(p) for p in problems if p.severity == "error"),
        warnings=tuple(str(p) for p in problems if p.severity == "warning"),
    )


def _missed_run(state: DagState | None, config: IntegrationConfig, now: datetime) -> str | None:
    if state is None or not state.is_paused or not config.active or state.next_run is None:
        return None
    due = as_utc(state.next_run)
    return format_utc(due, "%Y-%m-%d %H:%M UTC") if due <= now else None


def _airflow_state(state: DagState | None) -> str:
    if state is None:
        # The file is valid but Airflow's DAG processor has not parsed it yet (seconds to minutes).
        return "Waiting for Airflow"
    return "Paused" if state.is_paused else "Active"


def _schedule_text(config: IntegrationConfig) -> str:
    if not config.active or config.schedule is None:
        return "not scheduled (active: false)"
    return f"{config.schedule} (UTC)"


def _report_titles() -> dict[str, str]:
    return {report.name: report.title for report in load_catalog()}


def merge_runs(
    ledger_rows: Iterable[Mapping[str, Any]],
    airflow_runs: Iterable[AirflowRun],
    *,
    airflow_run_ids: set[str] | None = None,
) -> list[RunView]:
    """The Log: every recorded sync, plus Airflow runs the ledger does not have (yet), newest first.

    A ledger row and an Airflow run are the same sync when run id and start time agree: a DAG
    deleted in the UI and re-created repeats run ids, and both syncs stay listed. When
    `airflow_run_ids` (every run Airflow still has) is given, recorded syncs whose Airflow run was
    deleted are marked so: their "Show log" link would lead nowhere.
    """
    views: list[tuple[datetime, RunView]] = []
    recorded: set[tuple[str, int]] = set()
    for row in ledger_rows:
        started = as_utc(row["started_at"])
        recorded.add((str(row["dag_run_id"]), int(started.timestamp())))
        in_airflow = airflow_run_ids is None or str(row["dag_run_id"]) in airflow_run_ids
        views.append((started, ledger_run_view(row, in_airflow=in_airflow)))
    for run in airflow_runs:
        began = as_utc(run.started_at) if run.started_at else None
        if began and (run.run_id, int(began.timestamp())) in recorded:
            continue
        if run.state not in IN_FLIGHT and run.state not in UNRECORDED:
            continue
        # A queued run has no start yet: it belongs at the top, as the newest.
        views.append((began or datetime.now(UTC), _airflow_run_view(run)))
    views.sort(key=lambda item: item[0], reverse=True)
    return [view for _moment, view in views]


def ledger_run_view(row: Mapping[str, Any], *, in_airflow: bool = True) -> RunView:
    counts: tuple[tuple[str, int], ...] = ()
    for bucket in BUCKETS_AS_SHOWN:
        if row.get(bucket):
            counts += ((bucket.label, int(row[bucket])),)
        if bucket == Bucket.WRITTEN and row.get("created"):
            # Of the written rows, the records an upsert created (not a bucket of its own).
            counts += (("created", int(row["created"])),)
    return RunView(
        dag_id=str(row["dag_id"]),
        run_id=str(row["dag_run_id"]),
        started_at=format_utc(row["started_at"]),
        runtime=format_runtime(float(row["runtime_seconds"])),
        status=str(row["status"]),
        dry_run=bool(row["dry_run"]),
        counts=counts,
        reason=one_line(row.get("message")),
        api_calls=int(row.get("api_calls") or 0),
        in_airflow=in_airflow,
    )


def _airflow_run_view(run: AirflowRun) -> RunView:
    status = IN_FLIGHT.get(run.state) or UNRECORDED[run.state]
    runtime = ""
    if run.started_at and run.ended_at:
        runtime = format_runtime((run.ended_at - run.started_at).total_seconds())
    reason = None
    if run.state in UNRECORDED:
        reason = "not in the ledger: the run ended before record_run wrote it (see the task logs)"
    return RunView(
        dag_id="",
        run_id=run.run_id,
        started_at=format_utc(run.started_at) if run.started_at else "not started",
        runtime=runtime,
        status=status,
        dry_run=run.dry_run,
        counts=(),
        reason=reason,
    )


def with_dag_id(views: list[RunView], dag_id: str) -> list[RunView]:
    """Airflow-only views learn their DAG id from the caller (one DAG per Log)."""
    return [
        view if view.dag_id else RunView(**{**view.__dict__, "dag_id": dag_id}) for view in views
    ]


def as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; the ledger and Airflow store UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def format_utc(moment: datetime | None, pattern: str = "%Y-%m-%d %H:%M:%S") -> str:
    """A moment in UTC; the column headers say "(UTC)", so the cells need not."""
    return as_utc(moment).strftime(pattern) if moment else ""


def format_runtime(seconds: float) -> str:
    """`42.3 s`, `3 min 05 s`, `1 h 02 min`: runtime = end - start, as the original showed."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def one_line(message: Any) -> str | None:
    """A failure's reason as one line (messages may carry the fix on a second line)."""
    if not message:
        return None
    return " ".join(str(message).split())


def config_path(config_file: str) -> Path:
    """A config's display path (relative to the project root when inside it) as a real path."""
    path = Path(config_file)
    return path if path.is_absolute() else PROJECT_ROOT / path

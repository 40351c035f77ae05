"""Read and write run history: one row per sync run and one row per row-level problem.

The ledger only grows: each run attempt (DAG id, run id and start time) has its own row, so a DAG
deleted in the UI and re-created, whose run ids repeat, adds rows and never replaces history. Only a
retried `record_run` of the same attempt replaces that attempt's row. Concurrent runs of many
integrations each write in their own short transaction.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

import sqlalchemy as sa

from include.walkme_sync.frames import BUCKETS
from include.walkme_sync.ledger.location import default_ledger_url, is_sqlite
from include.walkme_sync.ledger.migrate import upgrade_to_head
from include.walkme_sync.ledger.schema import row_problems_table, runs_table

log = logging.getLogger(__name__)

# Two record_run tasks of the same DAG run racing (a retry while the first is still finishing)
# collide on the unique (dag_id, dag_run_id); SQLite writers queue on its file lock.
WRITE_ATTEMPTS = 3
SQLITE_BUSY_TIMEOUT_SECONDS = 30
#: Row problems inserted per statement (one transaction for the whole run either way).
PROBLEM_BATCH = 20_000


@dataclass
class RunRecord:
    """What the ledger stores about one run."""

    integration_id: str
    integration_name: str
    dag_id: str
    dag_run_id: str
    environment: str
    report: str
    object_name: str
    started_at: datetime
    ended_at: datetime
    status: str
    source: str | None = None
    dry_run: bool = False
    full_sync: bool = False
    report_rows: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    api_calls: int = 0
    message: str | None = None
    #: Records an upsert created (they are also counted as written).
    created: int = 0

    @property
    def runtime_seconds(self) -> float:
        return (self.ended_at - self.started_at).total_seconds()


@dataclass(frozen=True)
class RowProblem:
    """One report row that did not end as written or unchanged."""

    row_number: int | None
    key: str | None
    bucket: str
    reason: str | None = None
    error_code: str | None = None
    record_id: str | None = None


@cache
def ledger_engine(url: str) -> sa.Engine:
    """One engine (and pool) per database per process, migrated to the newest schema once."""
    if is_sqlite(url):
        engine = sa.create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})
    else:
        engine = sa.create_engine(url, pool_pre_ping=True, pool_size=2, max_overflow=2)
    upgrade_to_head(engine)
    return engine


class Ledger:
    """Run history in the configured database (see `location.default_ledger_url`)."""

    def __init__(self, url: str | None = None) -> None:
        self.url = url or default_ledger_url()
        self.engine = ledger_engine(self.url)

    def record_run(self, run: RunRecord, problems: Iterable[RowProblem] = ()) -> int:
        """Store a run and its row problems in one transaction; returns the run's ledger id."""
        values = _run_values(run)
        rows = problems if isinstance(problems, Sequence) else list(problems)
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                return self._write_run(values, rows)
            except (sa.exc.IntegrityError, sa.exc.OperationalError) as exc:
                if attempt == WRITE_ATTEMPTS:
                    raise
                log.warning("Ledger write collided (%s); trying again", type(exc.orig).__name__)
                time.sleep(0.5 * attempt)
        raise AssertionError("unreachable")  # the loop returns or raises

    def _write_run(self, values: dict[str, Any], problems: Sequence[RowProblem]) -> int:
        with self.engine.begin() as conn:
            self._delete_same_attempt(conn, values)
            inserted = conn.execute(runs_table.insert().values(**values)).inserted_primary_key
            assert inserted is not None  # an autoincrement insert always returns its key
            run_pk = int(inserted[0])
            # In batches, so a run whose million rows are all problems holds one batch of row
            # dicts at a time. `vars`, not `asdict`: the fields are flat values, and asdict
            # deep-copies each one (~25 µs a row).
            for start in range(0, len(problems), PROBLEM_BATCH):
                conn.execute(
                    row_problems_table.insert(),
                    [
                        dict(vars(problem), run_id=run_pk)
                        for problem in problems[start : start + PROBLEM_BATCH]
                    ],
                )
        return run_pk

    def runs(self, integration_id: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Newest runs first, optionally for one integration."""
        query = sa.select(runs_table).order_by(runs_table.c.started_at.desc()).limit(limit)
        if integration_id:
            query = query.where(runs_table.c.integration_id == integration_id)
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def latest_runs(self, integration_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The newest run of each given integration (for list views)."""
        return {
            integration_id: runs[0]
            for integration_id in integration_ids
            if (runs := self.runs(integration_id, limit=1))
        }

    def newest_run_per_integration(self) -> dict[str, dict[str, Any]]:
        """Each integration's newest recorded run, for every integration the ledger knows.

        Integrations whose YAML file was removed are still here: their history stays readable.
        """
        newest = (
            sa.select(sa.func.max(runs_table.c.id))
            .group_by(runs_table.c.integration_id)
            .scalar_subquery()
        )
        query = sa.select(runs_table).where(runs_table.c.id.in_(newest))
        with self.engine.connect() as conn:
            return {row.integration_id: dict(row._mapping) for row in conn.execute(query)}

    def run_attempts(self, dag_id: str, dag_run_id: str) -> list[dict[str, Any]]:
        """Every recorded attempt of one DAG run, newest first (re-created DAGs repeat run ids)."""
        query = (
            sa.select(runs_table)
            .where(runs_table.c.dag_id == dag_id, runs_table.c.dag_run_id == dag_run_id)
            .order_by(runs_table.c.started_at.desc(), runs_table.c.id.desc())
        )
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def row_problems(
        self,
        run_pk: int,
        *,
        bucket: str | None = None,
        text: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Row problems of one run in report order; optionally one bucket, rows whose key, reason
        or error code contain `text` (any case), the first `limit`."""
        query = (
            sa.select(row_problems_table)
            .where(*_problem_filters(run_pk, bucket, text))
            .order_by(row_problems_table.c.row_number, row_problems_table.c.id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def count_row_problems(
        self, run_pk: int, *, bucket: str | None = None, text: str | None = None
    ) -> int:
        """How many row problems `row_problems` would return without a limit."""
        query = (
            sa.select(sa.func.count())
            .select_from(row_problems_table)
            .where(*_problem_filters(run_pk, bucket, text))
        )
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    @staticmethod
    def _delete_same_attempt(conn: sa.Connection, values: dict[str, Any]) -> None:
        """A retried `record_run` re-records its attempt: replace that row, nothing else."""
        existing = conn.execute(
            sa.select(runs_table.c.id).where(
                runs_table.c.dag_id == values["dag_id"],
                runs_table.c.dag_run_id == values["dag_run_id"],
                runs_table.c.started_at == values["started_at"],
            )
        ).scalars()
        for run_pk in list(existing):
            conn.execute(row_problems_table.delete().where(row_problems_table.c.run_id == run_pk))
            conn.execute(runs_table.delete().where(runs_table.c.id == run_pk))


def _run_values(run: RunRecord) -> dict[str, Any]:
    values = {key: value for key, value in asdict(run).items() if key not in {"counts"}}
    values["runtime_seconds"] = run.runtime_seconds
    for bucket in BUCKETS:
        values[bucket] = int(run.counts.get(bucket, 0))
    return values


def _problem_filters(run_pk: int, bucket: str | None, text: str | None) -> list[Any]:
    table = row_problems_table
    filters: list[Any] = [table.c.run_id == run_pk]
    if bucket:
        filters.append(table.c.bucket == bucket)
    if text:
        # LIKE wildcards in what the user typed are literal characters.
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        filters.append(
            sa.or_(
                *(
                    sa.func.lower(column).like(pattern.lower(), escape="\\")
                    for column in (table.c.key, table.c.reason, table.c.error_code)
                )
            )
        )
    return filters

"""The ledger's schema comes from its Alembic migrations, applied safely by many processes."""

from __future__ import annotations

import multiprocessing
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from include.walkme_sync.errors import ConfigurationError
from include.walkme_sync.ledger import Ledger, RowProblem, default_ledger_url
from include.walkme_sync.ledger.migrate import VERSION_TABLE, current_revision, head_revision
from include.walkme_sync.ledger.schema import metadata
from tests.unit.test_ledger_and_overview import run_record

# The tables as `metadata.create_all` created them before the ledger had migrations.
LEGACY_SCHEMA = (
    """CREATE TABLE sync_runs (
        id INTEGER NOT NULL, integration_id VARCHAR(100) NOT NULL,
        integration_name VARCHAR(200) NOT NULL, dag_id VARCHAR(250) NOT NULL,
        dag_run_id VARCHAR(250) NOT NULL, environment VARCHAR(20) NOT NULL,
        report VARCHAR(100) NOT NULL, object_name VARCHAR(100) NOT NULL, source VARCHAR(1000),
        started_at DATETIME NOT NULL, ended_at DATETIME NOT NULL, runtime_seconds FLOAT NOT NULL,
        status VARCHAR(20) NOT NULL, dry_run BOOLEAN NOT NULL, full_sync BOOLEAN NOT NULL,
        report_rows INTEGER NOT NULL, rejected INTEGER NOT NULL, unmatched INTEGER NOT NULL,
        ambiguous INTEGER NOT NULL, unchanged INTEGER NOT NULL, written INTEGER NOT NULL,
        failed INTEGER NOT NULL, api_calls INTEGER NOT NULL, message TEXT, PRIMARY KEY (id),
        CONSTRAINT uq_sync_runs_dag_run UNIQUE (dag_id, dag_run_id))""",
    "CREATE INDEX ix_sync_runs_integration_id ON sync_runs (integration_id)",
    """CREATE TABLE sync_row_problems (
        id INTEGER NOT NULL, run_id INTEGER NOT NULL, row_number INTEGER, "key" VARCHAR(500),
        bucket VARCHAR(20) NOT NULL, reason TEXT, error_code VARCHAR(100),
        record_id VARCHAR(18), PRIMARY KEY (id), FOREIGN KEY(run_id) REFERENCES sync_runs (id))""",
    "CREATE INDEX ix_sync_row_problems_run_id ON sync_row_problems (run_id)",
)


def tables(url: str) -> set[str]:
    return set(sa.inspect(sa.create_engine(url)).get_table_names())


def test_a_new_database_gets_the_tables_from_the_migrations(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    Ledger(url)
    assert tables(url) == {"sync_runs", "sync_row_problems", VERSION_TABLE}
    with sa.create_engine(url).connect() as conn:
        assert current_revision(conn) == head_revision()
    # Every column the code writes exists, with the names the code uses.
    inspector = sa.inspect(sa.create_engine(url))
    for table in metadata.sorted_tables:
        columns = {column["name"] for column in inspector.get_columns(table.name)}
        assert columns == {column.name for column in table.columns}, table.name


def test_a_ledger_made_before_migrations_is_kept_and_stamped(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for statement in LEGACY_SCHEMA:  # what create_all made before migrations existed
            conn.execute(sa.text(statement))
        conn.execute(
            sa.text(
                "INSERT INTO sync_runs (integration_id, integration_name, dag_id, dag_run_id, "
                "environment, report, object_name, started_at, ended_at, runtime_seconds, status, "
                "dry_run, full_sync, report_rows, rejected, unmatched, ambiguous, unchanged, "
                "written, failed, api_calls) VALUES ('old', 'Old', 'd', 'r', 'sandbox', 'nps', "
                "'Contact', '2026-01-01', '2026-01-01', 1, 'Completed', 0, 0, 3, 0, 0, 0, 0, 3, "
                "0, 2)"
            )
        )
    ledger = Ledger(url)
    (run,) = ledger.runs("old")
    assert (run["written"], run["would_write"], run["not_attempted"]) == (3, 0, 0)
    with engine.connect() as conn:
        assert current_revision(conn) == head_revision()


def test_a_re_created_dag_adds_rows_and_a_retried_record_replaces_its_own(
    tmp_path: Path,
) -> None:
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    first = run_record("scheduled__2026-11-24T08:00:00+00:00", written=183)
    ledger.record_run(first)
    ledger.record_run(first)  # record_run retried: the same attempt, replaced
    assert [run["written"] for run in ledger.runs()] == [183]
    # The DAG was deleted in the UI and re-created: the same run id starts again later.
    again = run_record("scheduled__2026-11-24T08:00:00+00:00", unchanged=183)
    again.started_at += timedelta(days=1)
    again.ended_at += timedelta(days=1)
    ledger.record_run(again)
    assert [(run["written"], run["unchanged"]) for run in ledger.runs()] == [(0, 183), (183, 0)]


def _record_in_a_new_process(url: str, index: int) -> int:
    ledger = Ledger(url)
    problems = [RowProblem(row_number=1, key=f"k{index}", bucket="unmatched")]
    return ledger.record_run(run_record(f"run-{index}", written=2, unmatched=1), problems)


def test_many_processes_migrate_and_write_one_new_ledger_at_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    with multiprocessing.get_context("spawn").Pool(6) as pool:
        ids = pool.starmap(_record_in_a_new_process, [(url, index) for index in range(12)])
    assert len(set(ids)) == 12
    ledger = Ledger(url)
    runs = ledger.runs(limit=50)
    assert sorted(run["dag_run_id"] for run in runs) == sorted(f"run-{i}" for i in range(12))
    assert all(len(ledger.row_problems(run["id"])) == 1 for run in runs)


def test_the_ledger_needs_a_database_when_run_files_are_in_object_storage(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WALKME_SYNC_STORAGE_ROOT", "s3://bucket/walkme")
    monkeypatch.delenv("WALKME_SYNC_LEDGER_URL", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_WALKME_LEDGER", raising=False)
    with pytest.raises(ConfigurationError, match="walkme_ledger"):
        default_ledger_url()

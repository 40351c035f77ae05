"""Extract step: file and SQL sources, export picking, typing and rejections."""

from __future__ import annotations

import copy
import json
import os
import sqlite3
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from demo.sample_data import people, write_report
from include.walkme_sync.config import IntegrationConfig
from include.walkme_sync.config.catalog import load_catalog
from include.walkme_sync.errors import SourceError
from include.walkme_sync.frames import OUTCOME_COLUMNS
from include.walkme_sync.report.sql import quote_table
from include.walkme_sync.steps.context import EXTRACTED as EXTRACTED_FILE
from include.walkme_sync.steps.context import OUTCOME_FILES, Step
from include.walkme_sync.steps.extract import extract_report
from include.walkme_sync.storage import storage_root
from tests.configs import login_review_raw

DAY = date(2026, 11, 24)
HEADER = "User ID,First Login,Last Login,Logins in Past 30 days\n"

# Two mappings: the sources tests check which columns are required, not every mapping.
BASE: dict[str, Any] = login_review_raw(
    mappings=[
        {"column": "Last Login", "field": "WalkMe_Last_Login__c"},
        {"column": "Logins in Past 30 days", "field": "WalkMe_Logins_Last_30_Days__c"},
    ]
)
BASE["report"]["source"] = {"kind": "files", "location": "", "pattern": "login_review_*.csv"}


def integration(location: str | Path = "", **source: Any) -> IntegrationConfig:
    data = copy.deepcopy(BASE)
    data["report"]["source"]["location"] = str(location)
    data["report"]["source"].update(source)
    return IntegrationConfig.model_validate(data)


def sql_integration(**source: Any) -> IntegrationConfig:
    data = copy.deepcopy(BASE)
    data["report"]["source"] = {"kind": "sql", "conn_id": "walkme_db", **source}
    return IntegrationConfig.model_validate(data)


def export(
    folder: Path, day: str, body: str, *, bom: bool = False, mtime: float | None = None
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"login_review_{day}.csv"
    path.write_text(HEADER + body, encoding="utf-8-sig" if bom else "utf-8")
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def run(
    config: IntegrationConfig, out: Path, run_date: date = DAY
) -> tuple[Any, pd.DataFrame, pd.DataFrame]:
    summary = extract_report(config, load_catalog(), run_date=run_date, out_dir=storage_root(out))
    return summary, pd.read_parquet(summary.path), pd.read_parquet(summary.outcomes_path)


ROWS = "a@x.com,2026-01-02 03:04:05,2026-11-24 09:15:02,12\nb@x.com,,,\n"


# ------------------------------------------------------------------------------------ reading


@pytest.mark.parametrize("bom", [False, True])
@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8"])
def test_bom_or_not(tmp_path: Path, bom: bool, encoding: str) -> None:
    export(tmp_path / "in", "2026-11-24", ROWS, bom=bom)
    summary, rows, outcomes = run(integration(tmp_path / "in", encoding=encoding), tmp_path / "o")
    assert (summary.rows, summary.loaded, summary.rejected) == (2, 2, 0)
    assert list(rows.columns) == [
        "User ID",
        "First Login",
        "Last Login",
        "Logins in Past 30 days",
        "__row",
    ]
    assert rows["User ID"].tolist() == ["a@x.com", "b@x.com"]
    assert outcomes.empty


def test_types_and_nulls(tmp_path: Path) -> None:
    export(tmp_path / "in", "2026-11-24", ROWS)
    _, rows, _ = run(integration(tmp_path / "in"), tmp_path / "o")
    assert str(rows["User ID"].dtype) == "string"
    assert str(rows["Last Login"].dtype) == "datetime64[ns, UTC]"
    assert str(rows["Logins in Past 30 days"].dtype) == "Int64"
    assert str(rows["__row"].dtype) == "int64"
    assert rows.loc[0, "Last Login"] == pd.Timestamp("2026-11-24 09:15:02", tz="UTC")
    assert rows.loc[0, "Logins in Past 30 days"] == 12
    assert pd.isna(rows.loc[1, "Last Login"]) and pd.isna(rows.loc[1, "Logins in Past 30 days"])


def test_rejections_name_column_and_value_and_keep_other_rows(tmp_path: Path) -> None:
    body = (
        "a@x.com,,2026-11-24 09:15:02,12\n"
        "b@x.com,,2026-11-24 09:15:02,abc\n"
        "c@x.com,not a date,2026-11-24T10:00:00+02:00,3.0\n"  # First Login is not mapped
        "d@x.com,,yesterday,1.5\n"
        "e@x.com,,, 7 \n"
    )
    export(tmp_path / "in", "2026-11-24", body)
    summary, rows, outcomes = run(integration(tmp_path / "in"), tmp_path / "o")
    assert (summary.rows, summary.loaded, summary.rejected) == (5, 3, 2)
    assert rows["__row"].tolist() == [1, 3, 5]  # 1-based positions in the report
    assert rows["User ID"].tolist() == ["a@x.com", "c@x.com", "e@x.com"]
    assert pd.isna(rows.loc[1, "First Login"])  # unmapped column: bad value becomes null
    assert rows.loc[1, "Last Login"] == pd.Timestamp("2026-11-24 08:00:00", tz="UTC")
    assert rows["Logins in Past 30 days"].tolist() == [12, 3, 7]

    assert list(outcomes.columns) == list(OUTCOME_COLUMNS)
    assert outcomes["__row"].tolist() == [2, 4]
    assert outcomes["key"].tolist() == ["b@x.com", "d@x.com"]
    assert set(outcomes["bucket"]) == {"rejected"}
    assert outcomes["reason"].tolist() == [
        "Logins in Past 30 days: 'abc' is not an integer",
        "Last Login: 'yesterday' is not a date-time (2026-11-24 09:15:02 UTC or ISO 8601) "
        "from 1677-09-22 to 2262-04-11; Logins in Past 30 days: '1.5' is not an integer",
    ]
    assert outcomes["error_code"].isna().all() and outcomes["record_id"].isna().all()


def test_every_catalog_type(tmp_path: Path) -> None:
    data = copy.deepcopy(BASE)
    data["report"] = {
        "name": "teachme",
        "key_column": "User ID",
        "key_kind": "guid",
        "source": {"kind": "files", "location": str(tmp_path / "in")},
    }
    data["mappings"] = [
        {"column": "Course Completed", "field": "WalkMe_Course_Completed__c"},
        {"column": "Course Progress", "field": "WalkMe_Course_Progress__c"},
        {"column": "Quiz Score", "field": "WalkMe_Quiz_Score__c"},
        {"column": "Quiz Date", "field": "WalkMe_Quiz_Date__c"},
    ]
    config = IntegrationConfig.model_validate(data)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "teachme_2026-11-24.csv").write_text(
        "User ID,Email,Course Name,Course Completed,Course Progress,Quiz Name,Quiz Score,"
        "Quiz Date\n"
        "g1,a@x.com,Basics,Yes,87.5%,Q,91.5,2026-11-24\n"
        "g2,b@x.com,Basics,0,12,Q,1e2,2026-11-24T09:15:02Z\n"
        "g3,c@x.com,Basics,maybe,12%%,Q,inf,9999-12-31\n",
        encoding="utf-8",
    )
    _, rows, outcomes = run(config, tmp_path / "o")
    assert rows["Course Completed"].tolist() == [True, False]
    assert rows["Course Progress"].tolist() == [87.5, 12.0]
    assert str(rows["Course Progress"].dtype) == "Float64"
    assert rows["Quiz Score"].tolist() == [91.5, 100.0]
    assert rows.loc[0, "Quiz Date"] == pd.Timestamp("2026-11-24", tz="UTC")
    reason = outcomes.loc[0, "reason"]
    assert "Course Completed: 'maybe' is not a boolean" in reason
    assert "Course Progress: '12%%' is not a percentage" in reason
    assert "Quiz Score: 'inf' is not a number" in reason
    assert "Quiz Date: '9999-12-31' is not a date-time" in reason


def test_date_column_is_midnight_utc(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    write_report("nps", folder, people(5), export_date=DAY)
    data = copy.deepcopy(BASE)
    data["report"] = {
        "name": "nps",
        "key_column": "Email",
        "key_kind": "email",
        "source": {"kind": "files", "location": str(folder)},
    }
    data["object"] = {"name": "Contact", "key_field": "Email"}
    data["mappings"] = [
        {"column": "Survey Date", "field": "WalkMe_NPS_Date__c"},
        {"column": "NPS Score", "field": "WalkMe_NPS_Score__c"},
    ]
    _, rows, _ = run(IntegrationConfig.model_validate(data), tmp_path / "o")
    assert str(rows["Survey Date"].dtype) == "datetime64[ns, UTC]"
    assert (rows["Survey Date"].dt.hour == 0).all()
    assert rows["NPS Score"].between(0, 10).all()


# --------------------------------------------------------------------------------- picking


def test_run_date_pick_reads_the_export_named_with_the_run_date(tmp_path: Path) -> None:
    export(tmp_path / "in", "2026-11-23", "old@x.com,,,1\n")
    export(tmp_path / "in", "2026-11-24", "new@x.com,,,1\n")
    summary, rows, _ = run(integration(tmp_path / "in"), tmp_path / "o", date(2026, 11, 23))
    assert summary.source.endswith("login_review_2026-11-23.csv")
    assert rows["User ID"].tolist() == ["old@x.com"]


def test_newest_pick_uses_the_date_in_the_name(tmp_path: Path) -> None:
    # The older export was touched last: the name's date still wins.
    export(tmp_path / "in", "2026-11-24", "new@x.com,,,1\n", mtime=1_000_000)
    export(tmp_path / "in", "2026-11-23", "old@x.com,,,1\n", mtime=2_000_000)
    summary, rows, _ = run(
        integration(tmp_path / "in", pick="newest"), tmp_path / "o", date(2030, 1, 1)
    )
    assert summary.source.endswith("login_review_2026-11-24.csv")
    assert rows["User ID"].tolist() == ["new@x.com"]


def test_newest_pick_falls_back_to_modification_time(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for name, mtime in (("login_review_a.csv", 2_000_000), ("login_review_b.csv", 1_000_000)):
        (folder / name).write_text(HEADER + f"{name}@x.com,,,1\n", encoding="utf-8")
        os.utime(folder / name, (mtime, mtime))
    summary, _, _ = run(integration(folder, pick="newest"), tmp_path / "o")
    assert summary.source.endswith("login_review_a.csv")


def test_missing_export_for_the_run_date(tmp_path: Path) -> None:
    export(tmp_path / "in", "2026-11-22", ROWS)
    export(tmp_path / "in", "2026-11-23", ROWS)
    with pytest.raises(SourceError) as error:
        run(integration(tmp_path / "in"), tmp_path / "o")
    text = str(error.value)
    assert "No report export for 2026-11-24" in text
    assert str(tmp_path / "in") in text
    assert "Newest file found: login_review_2026-11-23.csv" in text
    assert "pick: newest" in error.value.action
    assert not (tmp_path / "o").exists()


def test_no_export_at_all(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    with pytest.raises(SourceError, match=r"No report export matching 'login_review_\*\.csv'"):
        run(integration(tmp_path / "in"), tmp_path / "o")


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="does not exist"):
        run(integration(tmp_path / "nowhere"), tmp_path / "o")


def test_relative_location_is_relative_to_the_project_root(tmp_path: Path) -> None:
    config = integration("demo/samples/login_review", pick="newest")
    summary, rows, _ = run(config, tmp_path / "o")
    assert summary.source.endswith("demo/samples/login_review/login_review_2026-11-24.csv")
    assert summary.loaded == 200 and rows["__row"].tolist() == list(range(1, 201))


# ------------------------------------------------------------------------- unusable exports


def test_missing_key_column_writes_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "login_review_2026-11-24.csv").write_text(
        "User Id,First Login,Last Login\na@x.com,,\n", encoding="utf-8"
    )
    with pytest.raises(SourceError) as error:
        run(integration(folder), tmp_path / "o")
    text = str(error.value)
    assert "login_review_2026-11-24.csv lacks required column(s)" in text
    assert "'User ID', 'Logins in Past 30 days'" in text
    assert "Columns found: 'User Id', 'First Login', 'Last Login'" in text
    assert "'User ID' looks like 'User Id'" in text
    assert not (tmp_path / "o" / EXTRACTED_FILE).exists()
    assert not (tmp_path / "o" / OUTCOME_FILES[Step.EXTRACT]).exists()


def test_empty_file(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "login_review_2026-11-24.csv").write_text("", encoding="utf-8")
    with pytest.raises(SourceError, match="is empty"):
        run(integration(folder), tmp_path / "o")


def test_repeated_header(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "login_review_2026-11-24.csv").write_text(
        HEADER.strip() + ",Last Login\na@x.com,,,1,\n", encoding="utf-8"
    )
    with pytest.raises(SourceError, match="repeats the column"):
        run(integration(folder), tmp_path / "o")


def test_header_only_export(tmp_path: Path) -> None:
    export(tmp_path / "in", "2026-11-24", "")
    summary, rows, outcomes = run(integration(tmp_path / "in"), tmp_path / "o")
    assert (summary.rows, summary.loaded, summary.rejected) == (0, 0, 0)
    assert rows.empty and outcomes.empty
    assert list(outcomes.columns) == list(OUTCOME_COLUMNS)


# ------------------------------------------------------------------------ object storage, SQL


def test_file_url_through_object_storage(tmp_path: Path) -> None:
    export(tmp_path / "bucket" / "exports", "2026-11-24", ROWS)
    config = integration(f"file://{tmp_path}/bucket/exports")
    summary, rows, _ = run(config, tmp_path / "o")
    assert summary.source == f"file://{tmp_path}/bucket/exports/login_review_2026-11-24.csv"
    assert rows["User ID"].tolist() == ["a@x.com", "b@x.com"]


@pytest.fixture
def walkme_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A SQLite database reachable as the Airflow connection ``walkme_db``."""
    path = tmp_path / "warehouse.db"
    with sqlite3.connect(path) as db:
        db.execute(
            'CREATE TABLE login_review ("User ID" TEXT, "First Login" TEXT, '
            '"Last Login" TIMESTAMP, "Logins in Past 30 days" INTEGER, "Extra" TEXT)'
        )
        db.executemany(
            "INSERT INTO login_review VALUES (?, ?, ?, ?, ?)",
            [
                ("a@x.com", "2026-01-02 03:04:05", "2026-11-24 09:15:02", 12, "x"),
                ("b@x.com", None, None, None, None),
                ("c@x.com", None, "2026-11-20 08:00:00", "lots", None),
            ],
        )
    monkeypatch.setenv(
        "AIRFLOW_CONN_WALKME_DB", json.dumps({"conn_type": "sqlite", "host": str(path)})
    )
    return path


def test_sql_table_source(walkme_db: Path, tmp_path: Path) -> None:
    summary, rows, outcomes = run(sql_integration(table="login_review"), tmp_path / "o")
    assert summary.source == "sql:walkme_db"
    assert (summary.rows, summary.loaded, summary.rejected) == (3, 2, 1)
    assert "Extra" not in rows.columns  # not a catalog column
    assert rows.loc[0, "Logins in Past 30 days"] == 12
    assert rows.loc[0, "Last Login"] == pd.Timestamp("2026-11-24 09:15:02", tz="UTC")
    assert pd.isna(rows.loc[1, "Logins in Past 30 days"])
    assert outcomes["reason"].tolist() == ["Logins in Past 30 days: 'lots' is not an integer"]
    assert outcomes["__row"].tolist() == [3]


def test_sql_query_source(walkme_db: Path, tmp_path: Path) -> None:
    query = (
        'SELECT "User ID", "Last Login", "Logins in Past 30 days" FROM login_review '
        "WHERE \"User ID\" = 'a@x.com'"
    )
    summary, rows, _ = run(sql_integration(query=query), tmp_path / "o")
    assert summary.loaded == 1
    assert list(rows.columns) == ["User ID", "Last Login", "Logins in Past 30 days", "__row"]


def test_sql_missing_columns(walkme_db: Path, tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="lacks required column"):
        run(sql_integration(query='SELECT "User ID" FROM login_review'), tmp_path / "o")


def test_sql_unknown_connection(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="Cannot open SQL connection 'walkme_db'"):
        run(sql_integration(table="login_review"), tmp_path / "o")


def test_sql_failing_query(walkme_db: Path, tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="Query on 'walkme_db' failed"):
        run(sql_integration(table="no_such_table"), tmp_path / "o")


def test_quote_table() -> None:
    assert quote_table("walkme.login_review") == '"walkme"."login_review"'
    with pytest.raises(SourceError):
        quote_table('x"; DROP TABLE y; --')

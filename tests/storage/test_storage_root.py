"""The storage root: run files through ObjectStoragePath, locally and on S3 (a real moto server)."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from include.walkme_sync.errors import ConfigurationError
from include.walkme_sync.storage import (
    copy_file,
    count_rows,
    local_storage_folder,
    read_frame,
    read_json,
    remove,
    remove_expired_runs,
    retention_days,
    run_dir,
    storage_root,
    write_frame,
    write_json,
)
from tests.conftest import S3_CONN_ID

FRAME = pd.DataFrame({"__row": [1, 2, 3], "key": ["a@x.com", "b@x.com", None]})


@pytest.fixture
def local_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("WALKME_SYNC_STORAGE_ROOT", str(tmp_path / "storage"))
    monkeypatch.delenv("WALKME_SYNC_STORAGE_CONN_ID", raising=False)
    return tmp_path / "storage"


@pytest.fixture
def s3_root(s3_bucket: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("WALKME_SYNC_STORAGE_ROOT", f"s3://{s3_bucket}/walkme")
    monkeypatch.setenv("WALKME_SYNC_STORAGE_CONN_ID", S3_CONN_ID)
    return s3_bucket


def test_run_folders_are_laid_out_under_the_local_root(local_root: Path) -> None:
    folder = run_dir("nps_to_contact", "manual__2026-11-24T08:00:00+00:00")
    assert Path(folder.path) == local_root / "runs/nps_to_contact/manual__2026-11-24T08_00_00_00_00"
    assert Path(folder.path).is_dir()
    assert local_storage_folder() == local_root.resolve()


def test_local_files_are_written_whole_with_nothing_left_aside(local_root: Path) -> None:
    folder = run_dir("i", "r")
    write_frame(folder / "f.parquet", FRAME)
    write_json(folder / "s.json", {"ok": True, "when": datetime(2026, 11, 24, tzinfo=UTC)})
    assert sorted(p.name for p in Path(folder.path).iterdir()) == ["f.parquet", "s.json"]
    assert read_frame(folder / "f.parquet").equals(FRAME)
    assert read_frame(folder / "f.parquet", columns=["key"]).columns.tolist() == ["key"]
    assert count_rows(folder / "f.parquet") == 3
    assert read_json(folder / "s.json") == {"ok": True, "when": "2026-11-24 00:00:00+00:00"}


def test_a_failed_local_write_keeps_the_previous_file(local_root: Path) -> None:
    target = run_dir("i", "r") / "f.parquet"
    write_frame(target, FRAME)
    unwritable = pd.DataFrame({"x": [object()]})  # pyarrow cannot store a bare object
    with pytest.raises(Exception):  # noqa: B017 (pyarrow's error type varies by version)
        write_frame(target, unwritable)
    assert read_frame(target).equals(FRAME)
    assert [p.name for p in Path(target.parent.path).iterdir()] == ["f.parquet"]


def _compression(path: str) -> str:
    return str(pq.ParquetFile(path).metadata.row_group(0).column(0).compression)


def test_the_reports_rows_are_uncompressed_on_a_local_root_and_outcomes_are_not(
    local_root: Path,
) -> None:
    folder = run_dir("i", "r")
    write_frame(folder / "rows.parquet", FRAME, rows_of_report=True)
    write_frame(folder / "outcomes.parquet", FRAME)
    assert _compression(folder.path + "/rows.parquet") == "UNCOMPRESSED"
    assert _compression(folder.path + "/outcomes.parquet") == "SNAPPY"
    assert read_frame(folder / "rows.parquet").equals(FRAME)


def test_a_local_copy_is_a_second_name_that_outlives_a_rewrite(local_root: Path) -> None:
    folder = run_dir("i", "r")
    source, target = folder / "extracted.parquet", folder / "validated.parquet"
    write_frame(source, FRAME, rows_of_report=True)
    copy_file(source, target)
    assert os.stat(source.path).st_ino == os.stat(target.path).st_ino
    assert read_frame(target).equals(FRAME)
    # A later write of the source (a re-run of extract) gives it a new file: the copy keeps
    # the content it was made with.
    write_frame(source, FRAME.head(1), rows_of_report=True)
    assert read_frame(target).equals(FRAME)
    assert sorted(p.name for p in Path(folder.path).iterdir()) == [
        "extracted.parquet",
        "validated.parquet",
    ]


def test_missing_files_read_as_absent(local_root: Path) -> None:
    folder = run_dir("i", "r")
    assert read_json(folder / "nothing.json") is None
    assert count_rows(folder / "nothing.parquet") == 0
    remove(folder / "nothing.json")  # no error


def test_files_go_through_s3_and_no_local_folder_is_made(
    s3_root: str, s3_server: object, tmp_path: Path
) -> None:
    assert local_storage_folder() is None
    folder = run_dir("login_review_to_lead", "scheduled__2026-11-24")
    assert folder.protocol == "s3"
    assert folder.path == f"{s3_root}/walkme/runs/login_review_to_lead/scheduled__2026-11-24"
    write_frame(folder / "extracted.parquet", FRAME)
    write_json(folder / "step_extract.json", {"ok": True})
    assert read_frame(folder / "extracted.parquet").equals(FRAME)
    assert read_json(folder / "step_extract.json") == {"ok": True}
    assert count_rows(folder / "extracted.parquet") == 3
    keys = {
        item["Key"]
        for item in s3_server.client().list_objects_v2(Bucket=s3_root)["Contents"]  # type: ignore[attr-defined]
    }
    assert keys == {
        "walkme/runs/login_review_to_lead/scheduled__2026-11-24/extracted.parquet",
        "walkme/runs/login_review_to_lead/scheduled__2026-11-24/step_extract.json",
    }
    remove(folder / "step_extract.json")
    assert read_json(folder / "step_extract.json") is None


def test_on_s3_every_file_is_compressed_and_copied_whole(s3_root: str, s3_server: object) -> None:
    folder = run_dir("i", "r")
    write_frame(folder / "extracted.parquet", FRAME, rows_of_report=True)
    copy_file(folder / "extracted.parquet", folder / "validated.parquet")
    assert read_frame(folder / "validated.parquet").equals(FRAME)
    body = (
        s3_server.client()
        .get_object(  # type: ignore[attr-defined]
            Bucket=s3_root, Key="walkme/runs/i/r/validated.parquet"
        )["Body"]
        .read()
    )
    metadata = pq.ParquetFile(pa.BufferReader(body)).metadata
    assert str(metadata.row_group(0).column(0).compression) == "SNAPPY"


def test_a_large_frame_goes_up_to_s3_in_parts(s3_root: str, s3_server: object) -> None:
    # Random text does not compress: the file is larger than s3fs's 50 MiB part size.
    rows = 700_000
    frame = pd.DataFrame({"blob": [os.urandom(48).hex() for _ in range(rows)]})
    target = run_dir("big", "r") / "extracted.parquet"
    write_frame(target, frame)
    head = s3_server.client().head_object(  # type: ignore[attr-defined]
        Bucket=s3_root, Key="walkme/runs/big/r/extracted.parquet"
    )
    assert head["ContentLength"] > 50 * 1024 * 1024
    assert "-" in head["ETag"]  # a multipart upload's ETag is "<md5>-<number of parts>"
    assert count_rows(target) == rows


def test_retention_removes_old_local_run_folders_only(local_root: Path) -> None:
    old, recent, current = (run_dir("nps", name) for name in ("old", "recent", "current"))
    for folder in (old, recent, current):
        write_json(folder / "summary.json", {})
    forty_days_ago = time.time() - 40 * 86400
    for folder in (old, current):
        os.utime(Path(folder.path) / "summary.json", (forty_days_ago, forty_days_ago))
    other_integration = run_dir("other", "old")
    write_json(other_integration / "summary.json", {})
    os.utime(Path(other_integration.path) / "summary.json", (forty_days_ago, forty_days_ago))

    removed = remove_expired_runs("nps", days=30, keep="current")

    assert removed == ["old"]
    assert sorted(p.name for p in (local_root / "runs" / "nps").iterdir()) == ["current", "recent"]
    assert (local_root / "runs" / "other" / "old" / "summary.json").exists()


def test_retention_on_s3_uses_the_objects_age(s3_root: str) -> None:
    for name in ("a", "b"):
        write_json(run_dir("nps", name) / "summary.json", {})
    assert remove_expired_runs("nps", days=30) == []
    later = datetime.now(UTC) + timedelta(days=31)
    assert remove_expired_runs("nps", days=30, now=later, keep="b") == ["a"]
    assert read_json(run_dir("nps", "a") / "summary.json") is None
    assert read_json(run_dir("nps", "b") / "summary.json") == {}
    assert remove_expired_runs("never-ran", days=30) == []


@pytest.mark.parametrize("value", ["0", "-3", "thirty", "1.5"])
def test_a_bad_retention_setting_names_itself(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WALKME_SYNC_RETENTION_DAYS", value)
    with pytest.raises(ConfigurationError, match="WALKME_SYNC_RETENTION_DAYS"):
        retention_days()


def test_retention_defaults_to_30_days(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WALKME_SYNC_RETENTION_DAYS", raising=False)
    assert retention_days() == 30
    monkeypatch.setenv("WALKME_SYNC_RETENTION_DAYS", "7")
    assert retention_days() == 7


def test_storage_root_accepts_file_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WALKME_SYNC_STORAGE_ROOT", f"file://{tmp_path}/x")
    assert storage_root().protocol == "file"
    assert local_storage_folder() == (tmp_path / "x").resolve()

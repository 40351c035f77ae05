"""A local storage root is read and written without Airflow's provider file-system discovery.

That discovery (`airflow.sdk.io.fs._register_filesystems`) costs ~0.25 s of CPU in every task
process the first time an `ObjectStoragePath`'s file system is used; a local root never needs it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

EVERY_STORAGE_CALL = """
import json
from datetime import UTC, datetime, timedelta
import pandas as pd
from airflow.sdk.io import fs
from include.walkme_sync import storage

folder = storage.run_dir("an_integration", "run_1")
old = storage.run_dir("an_integration", "run_0")
storage.write_json(old / "step_extract.json", {"ok": True})
storage.write_json(folder / "step_extract.json", {"ok": True, "summary": {"rows": 2}})
storage.write_json(folder / "api_calls" / "a.json", {"calls": 2})
storage.write_json(folder / "api_calls" / "b.json", {"calls": 3})
storage.write_frame(folder / "x.parquet", pd.DataFrame({"a": [1, 2]}))
result = {
    "json": storage.read_json(folder / "step_extract.json"),
    "missing": storage.read_json(folder / "nope.json"),
    "files": storage.read_json_files(folder / "api_calls"),
    "no_folder": storage.read_json_files(folder / "nowhere"),
    "frame": storage.read_frame(folder / "x.parquet", columns=["a"])["a"].tolist(),
    "rows": storage.count_rows(folder / "x.parquet"),
    "columns": storage.column_names(folder / "x.parquet"),
    "rows_missing": storage.count_rows(folder / "nope.parquet"),
    "exists": [storage.exists(folder / "x.parquet"), storage.exists(folder / "nope")],
}
storage.remove(folder / "x.parquet")
storage.remove(folder / "x.parquet")
result["removed"] = not storage.exists(folder / "x.parquet")
result["expired"] = storage.remove_expired_runs(
    "an_integration", days=1, now=datetime.now(UTC) + timedelta(days=2), keep="run_1"
)
result["discovered_file_systems"] = fs._register_filesystems.cache_info().currsize
print(json.dumps(result))
"""


def test_local_storage_calls_skip_provider_discovery(tmp_path: Path) -> None:
    env = dict(os.environ, WALKME_SYNC_STORAGE_ROOT=str(tmp_path / "storage"))
    done = subprocess.run(
        [sys.executable, "-c", EVERY_STORAGE_CALL],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {
        "json": {"ok": True, "summary": {"rows": 2}},
        "missing": None,
        "files": [{"calls": 2}, {"calls": 3}],
        "no_folder": [],
        "frame": [1, 2],
        "rows": 2,
        "columns": ["a"],
        "rows_missing": 0,
        "exists": [True, False],
        "removed": True,
        "expired": ["run_0"],
        "discovered_file_systems": 0,
    }
    assert not (tmp_path / "storage" / "runs" / "an_integration" / "run_0").exists()

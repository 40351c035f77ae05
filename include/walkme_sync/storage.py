"""Where a run keeps its working files, and where the ledger lives by default.

Tasks hand each other paths, never data frames: each run gets its own folder
`<storage_root>/runs/<integration_id>/<run_id>/` holding the Parquet files of every step and one
small JSON status file per step (so `record_run` can tell what happened even after a failure).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from include.walkme_sync.locations import DEFAULT_STORAGE_ROOT, STORAGE_ROOT_ENV


def storage_root() -> Path:
    """The storage root: `$WALKME_SYNC_STORAGE_ROOT`, else `<project>/var/storage`."""
    configured = os.environ.get(STORAGE_ROOT_ENV)
    return Path(configured) if configured else DEFAULT_STORAGE_ROOT


def safe_path_part(value: str) -> str:
    """Airflow run ids hold ':' and '+'; keep path parts portable across file systems."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", value).strip("_") or "run"


def run_dir(integration_id: str, run_id: str, *, root: Path | None = None) -> Path:
    """The run-scoped folder for one sync (created on first use)."""
    folder = (root or storage_root()) / "runs" / safe_path_part(integration_id)
    folder = folder / safe_path_part(run_id)
    folder.mkdir(parents=True, exist_ok=True)
    return folder

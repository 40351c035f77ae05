"""Where a run keeps its working files: one storage root, a local folder or object storage.

Tasks hand each other paths, never data frames, and a run's tasks may run on different machines:
every run-scoped file goes through Airflow's ``ObjectStoragePath`` under the storage root
``$WALKME_SYNC_STORAGE_ROOT``: a local folder by default; ``s3://bucket/prefix``, ``gs://…`` or any
fsspec URL read with the Airflow connection ``$WALKME_SYNC_STORAGE_CONN_ID`` in production. Each
run gets ``<root>/runs/<integration_id>/<run_id>/`` holding the Parquet files of every step and one
small JSON status file per step (so ``record_run`` can tell what happened even after a failure).

Writes are all-or-nothing: an object store publishes an object only once its upload (in parts, for
large files) completes, and a local file is written aside and renamed into place.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from include.walkme_sync.errors import ConfigurationError, StorageError
from include.walkme_sync.locations import (
    DEFAULT_RETENTION_DAYS,
    DEFAULT_STORAGE_ROOT,
    RETENTION_DAYS_ENV,
    STORAGE_CONN_ID_ENV,
    STORAGE_ROOT_ENV,
)

if TYPE_CHECKING:
    import pandas as pd
    from airflow.sdk import ObjectStoragePath

    #: A file or folder under the storage root; the rest of the engine names it by this alias so
    #: that Airflow stays an implementation detail of this module.
    StoragePath = ObjectStoragePath

log = logging.getLogger(__name__)
RUNS_FOLDER = "runs"
COPY_CHUNK_BYTES = 8 * 2**20


def storage_root_setting() -> str:
    """The configured root as written: `$WALKME_SYNC_STORAGE_ROOT`, else `<project>/var/storage`."""
    return os.environ.get(STORAGE_ROOT_ENV) or str(DEFAULT_STORAGE_ROOT)


def is_local_location(location: str) -> bool:
    """A plain path or a ``file://`` URL: a folder on this machine's disk."""
    return "://" not in location or location.startswith("file://")


def local_storage_folder() -> Path | None:
    """The storage root as a local folder, or None when it is object storage."""
    setting = storage_root_setting()
    if not is_local_location(setting):
        return None
    return Path(setting.removeprefix("file://")).expanduser().resolve()


def storage_root(root: str | Path | ObjectStoragePath | None = None) -> ObjectStoragePath:
    """The storage root as an ``ObjectStoragePath`` (``root`` overrides the setting, for tools)."""
    from airflow.sdk import ObjectStoragePath

    if root is not None and not isinstance(root, str | Path):
        return root
    location = str(root) if root is not None else storage_root_setting()
    if is_local_location(location):
        folder = Path(location.removeprefix("file://")).expanduser().resolve()
        return ObjectStoragePath(f"file://{folder}")
    conn_id = os.environ.get(STORAGE_CONN_ID_ENV) or None
    return ObjectStoragePath(location.rstrip("/"), conn_id=conn_id)


def safe_path_part(value: str) -> str:
    """Airflow run ids hold ':' and '+'; keep path parts portable across file systems."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", value).strip("_") or "run"


def integration_runs_dir(
    integration_id: str, *, root: str | Path | ObjectStoragePath | None = None
) -> ObjectStoragePath:
    """The folder holding every run folder of one integration."""
    return storage_root(root) / RUNS_FOLDER / safe_path_part(integration_id)


def run_dir(
    integration_id: str, run_id: str, *, root: str | Path | ObjectStoragePath | None = None
) -> ObjectStoragePath:
    """The run-scoped folder for one sync (a local one is created on first use)."""
    folder = integration_runs_dir(integration_id, root=root) / safe_path_part(run_id)
    if _is_local(folder):
        try:
            Path(folder.path).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _storage_error("create the run folder", folder, exc) from exc
    return folder


def _is_local(path: ObjectStoragePath) -> bool:
    return str(path.protocol) in {"file", "local", ""}


def _open(path: ObjectStoragePath) -> IO[bytes]:
    """Open a file for reading: a local one with plain `open`.

    The first use of an `ObjectStoragePath`'s file system makes Airflow discover every provider's
    file systems (~0.25 s of CPU per task process); a local storage root never needs them.
    """
    if _is_local(path):
        return open(path.path, "rb")
    return path.open("rb")


def exists(path: ObjectStoragePath) -> bool:
    """Whether the file exists (a local one is checked without Airflow's file systems)."""
    if _is_local(path):
        return Path(path.path).exists()
    return bool(path.exists())


def _write(path: ObjectStoragePath, write: Callable[[IO[bytes]], object]) -> None:
    """Write a file whole or not at all (see the module docstring)."""
    if not _is_local(path):
        try:
            with path.open("wb") as handle:
                write(handle)
        except OSError as exc:
            raise _storage_error("write", path, exc) from exc
        return
    target = Path(path.path)
    aside = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with aside.open("wb") as handle:
            write(handle)
        aside.replace(target)
    except OSError as exc:
        raise _storage_error("write", path, exc) from exc
    finally:
        with contextlib.suppress(OSError):
            aside.unlink(missing_ok=True)


def _storage_error(verb: str, path: ObjectStoragePath, exc: Exception) -> StorageError:
    return StorageError(
        f"Cannot {verb} {path} in the storage root: {type(exc).__name__}: {exc}",
        action=f"Check {STORAGE_ROOT_ENV}, the connection in {STORAGE_CONN_ID_ENV} and its "
        "permissions on that location.",
    )


#: Rows per Parquet row group (see `write_frame`).
PARQUET_ROW_GROUP_ROWS = 131_072


def write_frame(
    path: ObjectStoragePath, frame: pd.DataFrame, *, rows_of_report: bool = False
) -> None:
    """A data frame as one Parquet file (`rows_of_report`: the report's rows handed to the
    next step, written uncompressed on a local root)."""
    # Snappy halves the report's rows (keys, Ids and values, nearly all distinct) and shrinks
    # outcome files (a few repeated buckets and reasons) seven times. An object store bills
    # and transfers by the byte, so every file there is compressed; on a local disk, the
    # report's rows are written as they are, since compressing a file that the next task
    # reads once is CPU for little (at 1M rows ~0.06 s to write and ~0.03 s to read each
    # file, ~0.25 s per run, for files ~2.3x larger).
    # No dictionary encoding: our columns are mostly keys, Ids and values that are nearly all
    # distinct, where pyarrow builds a dictionary only to give it up (~0.1 s per million rows
    # and column kind); Snappy compresses the few repetitive ones (buckets) about as well.
    # Categorical columns still read back as categorical (Arrow's schema is stored). Row groups
    # of 128k rows instead of one per million: the reader decodes a group at a time (less CPU
    # and smaller buffers for the next step). No column statistics (min/max per group): they
    # serve readers that filter by value, and every reader here takes whole columns (~0.06 s
    # per million-row file).
    _write(
        path,
        lambda handle: frame.to_parquet(
            handle,
            index=False,
            use_dictionary=False,
            write_statistics=False,
            row_group_size=PARQUET_ROW_GROUP_ROWS,
            compression=None if rows_of_report and _is_local(path) else "snappy",
        ),
    )


def copy_file(source: ObjectStoragePath, target: ObjectStoragePath) -> None:
    """`target` becomes a byte-for-byte copy of `source` (written whole or not at all): on a
    local root, a second name for the same file when the file system allows it."""
    if _is_local(source) and _is_local(target) and _link_locally(source, target):
        return
    with _open(source) as handle:
        _write(target, lambda out: shutil.copyfileobj(handle, out, COPY_CHUNK_BYTES))


def _link_locally(source: ObjectStoragePath, target: ObjectStoragePath) -> bool:
    """A hard link from `target` to `source` (False when the file system refuses one).

    Safe as a copy because no file under the root changes in place: `_write` writes a new
    file aside and renames it over the old name, so rewriting either name later leaves the
    other one's content as it was. Made aside and renamed too: all or nothing."""
    destination = Path(target.path)
    aside = destination.with_name(f".{destination.name}.{uuid.uuid4().hex}.tmp")
    try:
        os.link(source.path, aside)
        aside.replace(destination)
    except OSError:
        with contextlib.suppress(OSError):
            aside.unlink(missing_ok=True)
        return False
    return True


def read_frame(path: ObjectStoragePath, columns: list[str] | None = None) -> pd.DataFrame:
    """A Parquet file written by :func:`write_frame` (only ``columns`` when given)."""
    import pandas as pd

    with _open(path) as handle:
        return pd.read_parquet(handle, columns=columns)


def count_rows(path: ObjectStoragePath) -> int:
    """Rows of a Parquet file (read from its footer), 0 when the file does not exist."""
    import pyarrow.parquet as pq

    if not exists(path):
        return 0
    with _open(path) as handle:
        return int(pq.ParquetFile(handle).metadata.num_rows)


def column_names(path: ObjectStoragePath) -> list[str]:
    """The column names of a Parquet file (read from its footer)."""
    import pyarrow.parquet as pq

    with _open(path) as handle:
        return list(pq.read_schema(handle).names)


def write_json(path: ObjectStoragePath, value: Any) -> None:
    """A small JSON document (statuses, summaries, the config snapshot)."""
    data = json.dumps(value, default=_json_default, indent=1).encode("utf-8")
    _write(path, lambda handle: handle.write(data))


def _json_default(value: Any) -> Any:
    """Sets (e.g. in describe results) as sorted lists; dates and the rest as text."""
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    return str(value)


def read_json(path: ObjectStoragePath) -> Any | None:
    """A JSON document written by :func:`write_json`, or None when there is none."""
    try:
        with _open(path) as handle:
            return json.loads(handle.read().decode("utf-8"))
    except FileNotFoundError:
        return None


def read_json_files(folder: ObjectStoragePath) -> list[Any]:
    """Every JSON document directly in ``folder`` (none when the folder does not exist)."""
    try:
        if _is_local(folder):
            names = [child.name for child in Path(folder.path).iterdir()]
            paths = [folder / name for name in names if name.endswith(".json")]
        else:
            paths = [child for child in folder.iterdir() if child.name.endswith(".json")]
    except (FileNotFoundError, NotADirectoryError):  # no such folder (UPath says "not a dir")
        return []
    return [value for path in sorted(paths, key=str) if (value := read_json(path)) is not None]


def remove(path: ObjectStoragePath) -> None:
    """Delete one file; a missing file is fine."""
    if _is_local(path):
        Path(path.path).unlink(missing_ok=True)
        return
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def retention_days() -> int:
    """`$WALKME_SYNC_RETENTION_DAYS` (default 30): how long run folders are kept."""
    raw = os.environ.get(RETENTION_DAYS_ENV, "").strip()
    if not raw:
        return DEFAULT_RETENTION_DAYS
    try:
        days = int(raw)
    except ValueError:
        days = -1
    if days < 1:
        raise ConfigurationError(
            f"{RETENTION_DAYS_ENV}={raw!r} is not a whole number of days of at least 1.",
            action=f"Set {RETENTION_DAYS_ENV} to e.g. 30, or unset it for the default "
            f"({DEFAULT_RETENTION_DAYS}).",
        )
    return days


def remove_expired_runs(
    integration_id: str,
    *,
    days: int,
    now: datetime | None = None,
    keep: str | None = None,
    root: str | Path | ObjectStoragePath | None = None,
) -> list[str]:
    """Delete the integration's run folders whose newest file is older than ``days``.

    One recursive listing of the integration's folder (a few paginated calls on object storage)
    finds every file's age. ``keep`` (the current run's folder name) is never deleted. The ledger
    is not touched: it keeps every run. Returns the names of the removed run folders.
    """
    folder = integration_runs_dir(integration_id, root=root)
    cutoff = (now or datetime.now(UTC)) - timedelta(days=days)
    newest: dict[str, datetime] = {}
    base = folder.path.rstrip("/") + "/"
    fs = _file_system(folder)
    try:
        listing = fs.find(folder.path, detail=True)
    except FileNotFoundError:
        return []
    for name, info in listing.items():
        run_name = str(name).removeprefix(base).split("/", 1)[0]
        modified = _modified(info)
        if run_name and (run_name not in newest or modified > newest[run_name]):
            newest[run_name] = modified
    expired = sorted(run for run, moment in newest.items() if moment < cutoff and run != keep)
    for run_name in expired:
        fs.rm(f"{base}{run_name}", recursive=True)
    if expired:
        log.info("Removed %d run folder(s) older than %d days", len(expired), days)
    return expired


def _file_system(folder: ObjectStoragePath) -> Any:
    """The folder's fsspec file system; fsspec's local one directly for a local folder (see
    `_open`)."""
    if _is_local(folder):
        from fsspec.implementations.local import LocalFileSystem

        return LocalFileSystem()
    return folder.fs


def _modified(info: dict[str, Any]) -> datetime:
    """A listed file's modification time (local `mtime` or an object store's `LastModified`)."""
    value = info.get("mtime") or info.get("LastModified") or info.get("updated")
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    return datetime.fromtimestamp(float(value or 0), UTC)

"""Refuse a deployment that cannot work, before a task reads or writes anything.

Under an executor that runs a run's tasks on several machines (Celery, Kubernetes, Edge, the AWS
executors...), every task must see the same storage root and the same ledger. A local folder or a
SQLite file would half-work: `match_keys` on another worker would find nothing, and each worker
would keep a ledger of its own. Every task checks this first and fails at once, naming the setting.
"""

from __future__ import annotations

import os

from include.walkme_sync.errors import ConfigurationError
from include.walkme_sync.ledger import LEDGER_CONN_ID, LEDGER_URL_ENV, default_ledger_url
from include.walkme_sync.ledger.location import is_sqlite
from include.walkme_sync.locations import (
    STORAGE_CONN_ID_ENV,
    STORAGE_ROOT_ENV,
    STORAGE_ROOT_SHARED_ENV,
)
from include.walkme_sync.storage import local_storage_folder, retention_days

#: Executors whose tasks all run on the machine of the scheduler; any other one may spread a
#: run's tasks over machines (a custom executor included: say so with the shared-root setting).
SINGLE_MACHINE_EXECUTORS = frozenset({"LocalExecutor", "SequentialExecutor", "DebugExecutor"})


def configured_executors() -> list[str]:
    """The class names of `[core] executor` (a comma-separated list, entries maybe aliased)."""
    from airflow.sdk.configuration import conf

    raw = conf.get("core", "executor", fallback="LocalExecutor") or "LocalExecutor"
    names = [entry.strip() for entry in raw.split(",") if entry.strip()]
    # "alias:module.path.ClassName", "module.path.ClassName" or "ClassName".
    return [name.rsplit(":", 1)[-1].rsplit(".", 1)[-1] for name in names]


def multi_machine_executors(executors: list[str]) -> list[str]:
    return [name for name in executors if name not in SINGLE_MACHINE_EXECUTORS]


def check_deployment(executors: list[str] | None = None) -> None:
    """Raise ConfigurationError when this deployment's settings cannot work; else return."""
    retention_days()  # a bad retention setting fails before anything runs, not after a write
    spread = multi_machine_executors(configured_executors() if executors is None else executors)
    if not spread:
        return
    where = f"This Airflow may run a sync's tasks on different workers (executor {spread[0]})"
    folder = local_storage_folder()
    if folder is not None and not _shared_root_declared():
        raise ConfigurationError(
            f"{where}, but the storage root {STORAGE_ROOT_ENV} is the local folder {folder}: "
            "the next task of the run would not find this task's files. Nothing was read or "
            "written.",
            action=f"Set {STORAGE_ROOT_ENV} to object storage (e.g. s3://bucket/walkme-sync) and "
            f"{STORAGE_CONN_ID_ENV} to its Airflow connection; or, if {folder} is a volume every "
            f"worker mounts, set {STORAGE_ROOT_SHARED_ENV}=true.",
        )
    ledger_url = default_ledger_url()
    if is_sqlite(ledger_url):
        raise ConfigurationError(
            f"{where}, but the run ledger is a SQLite file: each worker would keep its own "
            "history. Nothing was read or written.",
            action=f"Create the Airflow connection '{LEDGER_CONN_ID}' to a PostgreSQL database "
            f"(or set {LEDGER_URL_ENV} to its SQLAlchemy URL); its tables are created on first "
            "use.",
        )


def _shared_root_declared() -> bool:
    return os.environ.get(STORAGE_ROOT_SHARED_ENV, "").strip().lower() in {"1", "true", "yes"}

"""Where the product finds things: the project root, the integrations folder, the DAG ids.

Every path or name that more than one package needs is declared here, once.
"""

from __future__ import annotations

from pathlib import Path

#: The Astro project root (``/usr/local/airflow`` in the image): ``dags/``, ``include/``...
PROJECT_ROOT = Path(__file__).resolve().parents[2]
#: One YAML file per integration, next to the DAG file: a DAG-only deploy or a Git DAG bundle ships
#: (and Airflow versions) config edits. Overridable with ``WALKME_SYNC_INTEGRATIONS_DIR``.
DEFAULT_INTEGRATIONS_FOLDER = PROJECT_ROOT / "dags" / "integrations"
INTEGRATIONS_DIR_ENV = "WALKME_SYNC_INTEGRATIONS_DIR"
#: The report catalog: ready-made and custom report definitions.
REPORTS_FOLDER = PROJECT_ROOT / "include" / "reports"
#: Run-scoped files live under this root: a local folder (and the default SQLite ledger) on one
#: machine; an object-storage URL (``s3://bucket/prefix``) read with an Airflow connection on many.
STORAGE_ROOT_ENV = "WALKME_SYNC_STORAGE_ROOT"
STORAGE_CONN_ID_ENV = "WALKME_SYNC_STORAGE_CONN_ID"
DEFAULT_STORAGE_ROOT = PROJECT_ROOT / "var" / "storage"
#: "true" when a local storage root is a volume every worker mounts (NFS, EFS...).
STORAGE_ROOT_SHARED_ENV = "WALKME_SYNC_STORAGE_ROOT_SHARED"
#: Run folders older than this many days are deleted (the ledger keeps every run).
RETENTION_DAYS_ENV = "WALKME_SYNC_RETENTION_DAYS"
DEFAULT_RETENTION_DAYS = 30
#: Every generated DAG's id starts with this; the rest is the integration id.
DAG_ID_PREFIX = "walkme_sync__"

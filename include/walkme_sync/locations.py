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
#: Run-scoped files and the default SQLite ledger live under this root.
STORAGE_ROOT_ENV = "WALKME_SYNC_STORAGE_ROOT"
DEFAULT_STORAGE_ROOT = PROJECT_ROOT / "var" / "storage"
#: Every generated DAG's id starts with this; the rest is the integration id.
DAG_ID_PREFIX = "walkme_sync__"

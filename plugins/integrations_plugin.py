"""Airflow UI plugin: the product's console inside the Airflow UI.

* **Integrations** (left navigation): every integration with its Airflow state (active/paused),
  last run, status and counts, and the original product's actions: Run now, Dry run,
  Pause/Resume, Log and Config. Invalid config files are listed with their problems.
* **Sync report** (a tab on every DAG run page): where each report row of that run ended, the rows
  that were not written and why, a dry run's changes field by field, the data-quality checks and
  the API calls used. Other DAGs' runs answer "not a sync".

Both are served by the FastAPI app mounted at /integrations (`include/walkme_sync/airflow/
console_app.py`); every route needs a signed-in Airflow user and shows only DAGs that user may
read. Importing this file loads FastAPI only: the rest loads when a page is requested.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from include.walkme_sync.airflow.console import SYNC_REPORT_ROUTE
from include.walkme_sync.airflow.console_app import MOUNT, create_app


class WalkMeSyncPlugin(AirflowPlugin):
    name = "walkme_sync"
    fastapi_apps = [{"app": create_app(), "url_prefix": MOUNT, "name": "Integrations"}]
    external_views = [
        {
            "name": "Integrations",
            "href": f"{MOUNT}/",
            "destination": "nav",
            "nav_top_level": True,
            "icon": f"{MOUNT}/static/icon.svg",
            "url_route": "integrations",
        },
        {
            # The UI fills in the run's DAG id and run id when it opens the tab.
            "name": "Sync report",
            "href": f"{MOUNT}/report/{{DAG_ID}}/{{RUN_ID}}",
            "destination": "dag_run",
            "url_route": SYNC_REPORT_ROUTE,
        },
    ]

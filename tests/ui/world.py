"""What the browser tests run against: the local Salesforce with the demo CRM, demo-like
integrations in a temporary folder (plus one broken file), a private storage root and ledger, and
a real Airflow serving the project's DAGs and plugin.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from types import TracebackType
from typing import Any

from tests.ui.airflow_server import AirflowServer

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "demo"
INTEGRATION_IDS = ("login_review_to_lead", "nps_to_contact")
BROKEN_FILE = "broken_logins.yaml"
# The seed's mistake: '#' is not legal in an API name; validation says so and suggests the fix.
BROKEN_CONFIG = (
    (DEMO / "integrations" / "login_review_to_lead.yaml")
    .read_text()
    .replace("id: login_review_to_lead", "id: broken_logins")
    .replace("WalkMe_Logins_Last_30_Days__c", "WalkMe_#_Logins_last_30_days")
)


class UiWorld:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.integrations = folder / "integrations"
        self.storage = folder / "storage"
        self.emulator: Any = None
        self.airflow = AirflowServer(folder / "airflow")

    def __enter__(self) -> UiWorld:
        from sf_emulator.__main__ import load_seed_file
        from sf_emulator.testing import EmulatorServer

        self.integrations.mkdir(parents=True)
        self.storage.mkdir(parents=True)
        for integration_id in INTEGRATION_IDS:
            shutil.copy(DEMO / "integrations" / f"{integration_id}.yaml", self.integrations)
        (self.integrations / BROKEN_FILE).write_text(BROKEN_CONFIG)
        self.emulator = EmulatorServer(data_dir=self.folder / "emulator").start()
        load_seed_file(self.emulator, DEMO / "samples" / "crm" / "seed.json")
        self.airflow.extra_env = {
            "WALKME_SYNC_INTEGRATIONS_DIR": str(self.integrations),
            "WALKME_SYNC_STORAGE_ROOT": str(self.storage),
            "REQUESTS_CA_BUNDLE": self.emulator.trust_bundle,
            "AIRFLOW_CONN_SALESFORCE_SANDBOX": self.emulator.airflow_connection_json("sandbox"),
            "AIRFLOW_CONN_SALESFORCE_PRODUCTION": self.emulator.airflow_connection_json(
                "production"
            ),
        }
        try:
            self.airflow.start()
            self.airflow.wait_until_healthy()
            self.airflow.wait_for_dags([f"walkme_sync__{i}" for i in INTEGRATION_IDS])
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self.airflow.stop()
        if self.emulator is not None:
            self.emulator.stop()

"""A downstream DAG that runs whenever the sync wrote Contacts in the Sandbox.

Copy it into `dags/` to use it. It schedules on the asset `salesforce://sandbox/Contact`, which the
sync's `record_run` task updates after every run that wrote Contact records (never after a dry run
or a run that wrote nothing); the event's extra holds the run's counts.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import Asset, dag, task

SANDBOX_CONTACTS = Asset(name="salesforce.sandbox.Contact", uri="salesforce://sandbox/Contact")


@dag(schedule=[SANDBOX_CONTACTS], catchup=False, tags=["demo", "downstream"])
def refresh_gainsight_after_contact_sync() -> None:
    @task
    def refresh(**context: Any) -> list[dict[str, Any]]:
        events = context["triggering_asset_events"][SANDBOX_CONTACTS]
        counts = [dict(event.extra) for event in events]
        for extra in counts:
            print(f"{extra['integration']} wrote {extra['written']} Contacts: refresh Gainsight.")
        return counts

    refresh()


refresh_gainsight_after_contact_sync()

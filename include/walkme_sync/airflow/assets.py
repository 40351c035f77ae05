"""The downstream signal: "records of this object in this org were just written".

One Airflow asset per Salesforce org (environment, or the integration's own connection) and object,
e.g. `salesforce://sandbox/Contact`. A downstream DAG (a Gainsight refresh, a dashboard) schedules
on it with `schedule=[Asset("salesforce://sandbox/Contact")]` (see demo/dags/). `record_run` emits
one event per run that wrote records, with the counts in the event's extra; dry runs and runs that
wrote nothing emit none (the task's outlet is an alias that only such runs fill).

Imported at DAG-parse time: Airflow's SDK only.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import Asset, AssetAlias

from include.walkme_sync.config import IntegrationConfig
from include.walkme_sync.frames import BUCKETS

ASSET_GROUP = "salesforce"


def object_asset(config: IntegrationConfig) -> Asset:
    """The asset of the object this integration writes, in the org it writes to."""
    org = config.connection_id or config.environment
    name = f"salesforce.{org}.{config.object.name}"
    return Asset(name=name, uri=f"salesforce://{org}/{config.object.name}", group=ASSET_GROUP)


def changes_alias(config: IntegrationConfig) -> AssetAlias:
    return AssetAlias(name=f"{config.dag_id}__writes", group=ASSET_GROUP)


def emit_changes_event(config: IntegrationConfig, summary: dict[str, Any], outlets: Any) -> bool:
    """Attach an event with the run's counts when it wrote records; returns whether it did."""
    if summary.get("dry_run") or not int(summary.get("written") or 0):
        return False
    extra = {
        "integration": config.id,
        "dag_run_id": str(summary.get("dag_run_id")),
        "object": config.object.name,
        "environment": config.environment,
        **{str(bucket): int(summary.get(bucket) or 0) for bucket in BUCKETS},
    }
    outlets[changes_alias(config)].add(object_asset(config), extra=extra)
    return True

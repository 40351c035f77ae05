"""Downstream DAGs learn that records were written: one asset event per writing run, none else."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.integration.harness import SyncHarness
from tests.integration.test_sync_dags import seed_leads

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
ASSET_URI = "salesforce://sandbox/Lead"
ROWS = [["ana@example.com", "", "2026-11-23 17:45:10", 12]]


def lead_events(dag_run_id: str) -> list[dict[str, Any]]:
    import sqlalchemy as sa
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    with create_session() as session:
        query = (
            sa.select(AssetEvent.extra)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .where(AssetModel.uri == ASSET_URI, AssetEvent.source_run_id == dag_run_id)
        )
        return [dict(extra) for extra in session.scalars(query)]


def test_a_run_that_writes_emits_one_event_with_counts_and_a_dry_run_none(
    harness: SyncHarness, sf_emulator: Any
) -> None:
    seed_leads(sf_emulator, ["ana@example.com", "bo@example.com"])
    harness.write_config("signals")
    harness.write_export("signals", [*ROWS, ["nobody@example.com", "", "", 1]])

    dry = harness.run("signals", dry_run=True)
    real = harness.run("signals")
    again = harness.run("signals")  # nothing left to write

    assert lead_events(dry.summary["dag_run_id"]) == []
    (event,) = lead_events(real.summary["dag_run_id"])
    assert (event["integration"], event["object"], event["environment"]) == (
        "signals",
        "Lead",
        "sandbox",
    )
    assert (event["written"], event["unmatched"], event["would_write"]) == (1, 1, 0)
    assert again.summary["unchanged"] == 1
    assert lead_events(again.summary["dag_run_id"]) == []


def test_the_demo_downstream_dag_schedules_on_the_objects_asset() -> None:
    from airflow.dag_processing.dagbag import DagBag

    from include.walkme_sync.airflow.assets import object_asset
    from include.walkme_sync.config import load_integration

    bag = DagBag(dag_folder=str(ROOT / "demo" / "dags"))
    assert bag.import_errors == {}
    (dag,) = bag.dags.values()
    (listened,) = dag.timetable.asset_condition.objects
    # The very asset the NPS demo integration (NPS -> Contact, Sandbox) emits.
    nps = load_integration(ROOT / "demo" / "integrations" / "nps_to_contact.yaml")
    emitted = object_asset(nps)
    assert (listened.name, listened.uri) == (emitted.name, emitted.uri)

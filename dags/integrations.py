"""Airflow DAGs for the WalkMe Insights -> Salesforce sync: one DAG per dags/integrations/*.yaml.

Thin on purpose: configs are validated with light imports only, and a bad config shows up as its own
`walkme_sync__invalid__<file>` DAG instead of hiding the good ones.
"""

from __future__ import annotations

from include.walkme_sync.airflow.dag_factory import build_all

for _dag in build_all(__file__):
    globals()[_dag.dag_id] = _dag

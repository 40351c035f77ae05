"""The Airflow edge: the only package that imports Airflow (DAG factory, task adapters, connection
lookup for the ledger, run notes, the Integrations view the UI plugin renders).

`airflow` here is a subpackage name; absolute imports (`from airflow.sdk import ...`) still reach
Airflow itself.
"""

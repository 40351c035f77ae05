"""The five steps of a sync: extract -> validate -> match -> upsert -> record.

Each step is a plain function of a `RunContext`: it reads the previous steps' files from the run
folder and writes its own, so a step can be retried alone and tests call it directly. Nothing here
imports Airflow: `include.walkme_sync.airflow.tasks` adapts the steps to task contexts.
"""

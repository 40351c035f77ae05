"""Salesforce side of the sync: connection + API meter, error translation, describe metadata,
value coercion, write planning, writers (sObject Collections, Bulk API 2.0) and the quota guard.

Kept light on purpose: importing this package imports nothing heavy (no pandas, no Airflow, no
simple-salesforce). Import the submodules you need, e.g.
``from include.walkme_sync.salesforce.client import connect``.
"""

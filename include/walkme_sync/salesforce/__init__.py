"""Everything that talks to Salesforce, and nothing else: the connection and its API meter, error
translation, describe, SOQL and lookups, Bulk API 2.0, the writers and the quota guard.

Only this package calls Salesforce, always through Airflow's `SalesforceHook` (simple-salesforce).
Importing the package imports nothing heavy: import the submodules you need, e.g.
``from include.walkme_sync.salesforce.client import connect``.
"""

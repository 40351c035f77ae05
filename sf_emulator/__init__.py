"""A local Salesforce for tests and demos.

The data side (``model``, ``soql``, ``store``, ``bulk``) is pure Python and has no HTTP code: object
metadata comes from ``schema/*.yaml``, records live in memory in an ``store.OrgData`` per org.
The HTTP side (``server``, ``auth``, ``ca``, ``faults``) serves that data over HTTPS to unmodified
clients (simple-salesforce, the Airflow Salesforce provider). Importing this package is cheap on
purpose: nothing is imported here.
"""

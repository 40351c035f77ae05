"""A local Salesforce for tests and demos.

Development and tests only, so it lives outside ``include/`` (the code production runs). The data
side (``model``, ``soql``, ``store``, ``bulk`` and the modules they build on) is pure Python and has
no HTTP code: object metadata comes from ``schema/*.yaml``, records live in memory in an
``store.OrgData`` per org. The HTTP side (``server``, ``http_server``, ``auth``, ``ca``,
``faults``) serves that data over HTTPS to unmodified clients (simple-salesforce, the Airflow
Salesforce provider). Importing this package is cheap on purpose: nothing is imported here.
"""

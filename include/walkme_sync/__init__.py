"""WalkMe Insights -> Salesforce sync engine.

Importable and testable without a scheduler. Keep this module free of heavy imports: `dags/`
imports parts of this package at parse time.
"""

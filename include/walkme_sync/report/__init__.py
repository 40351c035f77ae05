"""The report side: WalkMe exports and SQL tables read, parsed and validated (no Salesforce)."""

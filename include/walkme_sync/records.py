"""What the sync sends to Salesforce and what comes back, one record at a time.

The planner (`reconcile.plan`) produces `RecordChange`s; the writers (`salesforce.writers`) return
one `WriteResult` per change; `reconcile.results` turns those into outcome rows.
"""

from __future__ import annotations

from dataclasses import dataclass

from include.walkme_sync.metadata import WireValue


@dataclass
class RecordChange:
    """Fields to set on one record. A None value clears the field."""

    record_id: str
    row: int
    fields: dict[str, WireValue]


@dataclass
class WriteResult:
    """What happened to one `RecordChange`."""

    record_id: str
    row: int
    success: bool
    error_code: str | None = None
    message: str | None = None
    attempts: int = 1
    #: False when the change was never sent (the run stopped first, or a dry run).
    attempted: bool = True
    #: An upsert that created the record (then `created_id` is its new Id).
    created: bool = False
    created_id: str | None = None

"""Exception taxonomy of the sync, grouped by what the person reading the log should do.

Per-record Salesforce errors are data (outcome rows), not exceptions. Exceptions here end a run.
"""

from __future__ import annotations

from typing import Any


class SyncError(Exception):
    """Base class. `action` tells the reader what to do about it."""

    category = "error"
    action = "Read the message above and fix the cause, then run the integration again."

    def __init__(
        self,
        message: str,
        *,
        action: str | None = None,
        summary: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        if action is not None:
            self.action = action
        # What the failing step did before it stopped (counts, API calls), for the run record.
        self.summary: dict[str, Any] = summary or {}

    def __str__(self) -> str:
        return f"{self.args[0]} -> What to do: {self.action}"


class ConfigurationError(SyncError):
    """The integration config or the Salesforce object's fields are wrong."""

    category = "configuration"
    action = "Fix the integration's YAML file (or ask the Salesforce admin to fix the field)."


class AuthorizationError(SyncError):
    """Login failed, or the stored authorization was revoked or has expired."""

    category = "authorization"
    action = (
        "Reconnect the Salesforce account: update the Airflow connection's credentials "
        "(or re-authorize the connected app), then run the integration again."
    )


class QuotaError(SyncError):
    """The run's API budget or the org's daily API limit would be exceeded."""

    category = "quota"
    action = (
        "Wait for the org's rolling 24-hour API usage to drop, or raise the integration's "
        "write.api_budget, then run again. Rows not written are retried by the next run."
    )


class TransientError(SyncError):
    """Salesforce is temporarily unavailable (5xx, timeouts, dropped connections)."""

    category = "transient"
    action = (
        "Nothing to change: Airflow retries the task; if it keeps failing, "
        "check status.salesforce.com."
    )


class StorageError(TransientError):
    """The storage root (run folders) or the run ledger cannot be reached or written."""

    category = "storage"
    action = (
        "Check WALKME_SYNC_STORAGE_ROOT / WALKME_SYNC_STORAGE_CONN_ID (or the ledger database) "
        "and their permissions; Airflow retries the task. Changes Salesforce already took are "
        "found unchanged by the next run."
    )


class SourceError(SyncError):
    """The report export is missing, unreadable or lacks required columns."""

    category = "source"
    action = "Check that WalkMe exported the report to the configured location, then run again."


class DataValidationError(SyncError):
    """The report failed a hard expectation; nothing was written."""

    category = "data"
    action = (
        "Fix the report in WalkMe Insights (or the integration's key settings), then run again."
    )

"""One Bulk API 2.0 update job, through simple-salesforce's low-level `_Bulk2Client`.

The writers (`salesforce.writers`) decide which changes go to a job and settle its results; this
module runs the job: create, upload our CSV (`bulk.bulk_csv`), close, wait, read the per-record
results. Read-only calls (polls, result files) are repeated after a transient failure; anything
else fails the job, which the writer may re-run whole (an update with the same values is
idempotent).
"""

from __future__ import annotations

import contextlib
import csv
import io
from typing import TYPE_CHECKING, Any

from include.walkme_sync.errors import AuthorizationError, SyncError
from include.walkme_sync.records import RecordChange
from include.walkme_sync.salesforce.bulk import (
    TERMINAL_JOB_STATES,
    bulk_csv,
    parse_bulk_error,
    read_with_retries,
    wait_for_bulk_job,
)
from include.walkme_sync.salesforce.errors import translate

if TYPE_CHECKING:
    from include.walkme_sync.salesforce.client import SalesforceSession


def id_key(record_id: str) -> str:
    """The first 15 characters of an 18-character Id are the case-sensitive 15-character Id."""
    return record_id[:15]


class BulkUpdateJob:
    """One Bulk API 2.0 update job through simple-salesforce's `_Bulk2Client`.

    Uses the low-level client (not `sf.bulk2.X.update`) to keep the job id and error message, to
    write `#N/A` for clears, and to read per-record results keyed by Id.
    """

    def __init__(
        self,
        session: SalesforceSession,
        object_name: str,
        changes: list[RecordChange],
        *,
        timeout: float,
    ) -> None:
        self.session = session
        self.object_name = object_name
        self.changes = changes
        self.timeout = timeout
        self.job_id = ""
        self.state = "Open"
        self.error_message: str | None = None
        #: Id[:15] -> (success, error_code, message)
        self.outcomes: dict[str, tuple[bool, str | None, str | None]] = {}

    def _client(self) -> Any:
        # Fetch the handler each time: it captures the session id, which a re-login changes.
        return getattr(self.session.sf.bulk2, self.object_name)._client

    def run(self) -> None:
        data = bulk_csv(self.changes)
        try:
            self._run(data)
        except SyncError:
            raise
        except Exception as exc:
            error = translate(exc, conn_id=self.session.conn_id, object_name=self.object_name)
            if isinstance(error, AuthorizationError) and self.session.refresh_login():
                # Bulk calls never refresh an expired session themselves; updates are idempotent,
                # so re-running the whole job after one re-login is safe.
                try:
                    self._run(data)
                    return
                except Exception as retry_exc:
                    raise translate(
                        retry_exc,
                        conn_id=self.session.conn_id,
                        object_name=self.object_name,
                    ) from None
            raise error from None

    def _run(self, data: str) -> None:
        client = self._client()
        job = self._create(client)
        self.job_id = str(job["id"])
        if job.get("state") != "Open":
            raise SyncError(f"Bulk job {self.job_id} was created in state {job.get('state')}.")
        try:
            client.upload_job_data(self.job_id, data)
            client.close_job(self.job_id)
        except Exception:
            self._abort_quietly(client)
            raise
        info = self._wait(client)
        self.state = str(info.get("state"))
        self.error_message = info.get("errorMessage")
        self._read_results(client)

    def _create(self, client: Any) -> Any:
        """Create the job (an upsert job names its external id field)."""
        return client.create_job("update")

    def _wait(self, client: Any) -> dict[str, Any]:
        timeout = self.timeout
        info = wait_for_bulk_job(client, self.job_id, is_query=False, timeout=timeout)
        if info.get("state") not in TERMINAL_JOB_STATES:
            self._abort_quietly(client)
            return {
                **info,
                "state": "Aborted",
                "errorMessage": f"still {info.get('state')} after {timeout:.0f}s "
                "(write.bulk_job_timeout_seconds); aborted",
            }
        return info

    def _abort_quietly(self, client: Any) -> None:
        # Best effort: the error that made us abort is the one worth reporting.
        with contextlib.suppress(Exception):
            client.abort_job(self.job_id, False)

    def _read_results(self, client: Any) -> None:
        try:
            successful = read_with_retries(
                lambda: client.get_ingest_results(self.job_id, "successfulResults")
            )
            failed = read_with_retries(
                lambda: client.get_ingest_results(self.job_id, "failedResults")
            )
        except Exception:
            if self.state == "JobComplete":
                raise
            return  # a Failed job may have no result files: its records are handled as missing
        for row in csv.DictReader(io.StringIO(successful)):
            record_id = row.get("sf__Id") or row.get("Id") or ""
            self.outcomes[id_key(record_id)] = (True, None, None)
        for row in csv.DictReader(io.StringIO(failed)):
            record_id = row.get("sf__Id") or row.get("Id") or ""
            code, message = parse_bulk_error(row.get("sf__Error") or "")
            self.outcomes[id_key(record_id)] = (False, code, message)

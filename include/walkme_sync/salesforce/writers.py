"""Write record changes: sObject Collections for small runs, Bulk API 2.0 for big ones.

Guarantees:

* every change ends in exactly one `WriteResult` (checked before returning);
* per-record transient errors (`UNABLE_TO_LOCK_ROW`...) are retried in the run with exponential
  backoff, request-level transient failures (5xx, dropped connections) of a batch too;
* the quota guard is asked before every batch / job; when it (or Salesforce, or a revoked login)
  stops the run, the changes not sent get a result with the reason, and `WriteOutcome` says why
  the run stopped. The caller decides whether that fails the task (after recording the results).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from include.walkme_sync.errors import (
    QuotaError,
    SyncError,
    TransientError,
)
from include.walkme_sync.records import RecordChange, WriteResult
from include.walkme_sync.salesforce.bulk import (
    BULK_JOB_CALLS,
    MAX_BULK_JOB_BYTES,
    bulk_csv,
    bulk_unsafe_reason,
)
from include.walkme_sync.salesforce.bulk_update import BulkUpdateJob, id_key
from include.walkme_sync.salesforce.errors import TRANSIENT_RECORD_CODES, redact, translate

if TYPE_CHECKING:
    from include.walkme_sync.config import WriteConfig
    from include.walkme_sync.salesforce.client import SalesforceSession
    from include.walkme_sync.salesforce.quota import ApiBudget

_log = logging.getLogger(__name__)

#: The longest `Retry-After` honoured inside a task; a longer wait is Airflow's retry's job.
MAX_RETRY_AFTER_SECONDS = 300.0

STOP_CODES = {
    "budget": "API_BUDGET_EXCEEDED",
    "quota": "REQUEST_LIMIT_EXCEEDED",
    "authorization": "AUTHORIZATION_FAILED",
    "transient": "SALESFORCE_UNAVAILABLE",
}


@dataclass
class WriteOutcome:
    """Results of `write_changes`, one per change, and why the writing stopped early (if it did)."""

    results: list[WriteResult]
    stopped_reason: str | None = None
    stop_error: SyncError | None = field(default=None, repr=False)

    @property
    def written(self) -> int:
        return sum(result.success for result in self.results)

    @property
    def failed(self) -> int:
        return sum(not result.success for result in self.results)


def write_changes(
    session: SalesforceSession,
    object_name: str,
    changes: list[RecordChange],
    options: WriteConfig,
    budget: ApiBudget,
    *,
    log: logging.Logger | None = None,
) -> WriteOutcome:
    """Update `changes` on `object_name`; below `options.bulk_threshold` changes through sObject
    Collections, at or above it through Bulk API 2.0. Never raises for per-record or run-stopping
    errors: see `WriteOutcome.stopped_reason` / `stop_error`."""
    writer = _Writer(session, object_name, changes, options, budget, log or _log)
    return writer.run()


def chunked(items: Sequence[int], size: int) -> Iterator[list[int]]:
    """Consecutive slices of at most `size` items."""
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


class _Stop(Exception):
    def __init__(self, error: SyncError, code: str) -> None:
        super().__init__(str(error))
        self.error = error
        self.code = code


class _Writer:
    def __init__(  # noqa: PLR0917 - private helper, built in one place
        self,
        session: SalesforceSession,
        object_name: str,
        changes: list[RecordChange],
        options: WriteConfig,
        budget: ApiBudget,
        log: logging.Logger,
    ) -> None:
        self.session = session
        self.object_name = object_name
        self.changes = changes
        self.options = options
        self.budget = budget
        self.log = log
        self.results: dict[int, WriteResult] = {}
        self.attempts = [0] * len(changes)
        self.retry: list[int] = []
        self.stop: _Stop | None = None
        self._check_unique_ids()

    def _check_unique_ids(self) -> None:
        seen: dict[str, int] = {}
        for change in self.changes:
            key = id_key(change.record_id)
            if key in seen:
                raise ValueError(
                    f"Record {change.record_id} appears in report rows {seen[key]} and "
                    f"{change.row}: each Salesforce record takes at most one report row."
                )
            seen[key] = change.row

    # ------------------------------------------------------------------ orchestration

    def run(self) -> WriteOutcome:
        pending = list(range(len(self.changes)))
        for round_number in range(self.options.retries + 1):
            if not pending or self.stop is not None:
                break
            if round_number:
                delay = self.options.retry_backoff_seconds * 2 ** (round_number - 1)
                self.log.info(
                    "Retrying %d record(s) with transient errors in %.1fs (attempt %d of %d).",
                    len(pending),
                    delay,
                    round_number + 1,
                    self.options.retries + 1,
                )
                time.sleep(delay)
            self.retry = []
            try:
                if len(pending) >= self.options.bulk_threshold:
                    bulk, rest = self._split_bulk_safe(pending)
                    self._write_bulk(bulk)
                    self._write_collections(rest)
                else:
                    self._write_collections(pending)
            except _Stop as stop:
                self.stop = stop
                self.log.warning("Writing stopped: %s", stop.error)
            pending = self.retry
        return self._outcome()

    def _outcome(self) -> WriteOutcome:
        stop = self.stop
        for index, change in enumerate(self.changes):
            if index in self.results:
                continue
            # Only reachable when the run stopped: say why this change was not written.
            assert stop is not None, "a change has no result although the run did not stop"
            self.results[index] = WriteResult(
                change.record_id,
                change.row,
                False,
                stop.code,
                f"Not attempted: {stop.error.args[0]}",
                self.attempts[index],
                attempted=False,
            )
        results = [self.results[index] for index in range(len(self.changes))]
        if len(results) != len(self.changes):  # pragma: no cover - defensive
            raise RuntimeError("write results do not cover every change")
        return WriteOutcome(
            results,
            stopped_reason=None if stop is None else str(stop.error.args[0]),
            stop_error=None if stop is None else stop.error,
        )

    def _settle(
        self,
        index: int,
        success: bool,
        code: str | None = None,
        message: str | None = None,
        *,
        retryable: bool | None = None,
    ) -> None:
        """Record one record's result; queue it for another round when the error is transient."""
        self.attempts[index] += 1
        change = self.changes[index]
        self.results[index] = WriteResult(
            change.record_id,
            change.row,
            success,
            code,
            redact(message) if message else None,
            self.attempts[index],
        )
        if retryable is None:
            retryable = code in TRANSIENT_RECORD_CODES
        if not success and retryable and self.attempts[index] <= self.options.retries:
            self.retry.append(index)

    def _split_bulk_safe(self, indices: Sequence[int]) -> tuple[list[int], list[int]]:
        """(changes the Bulk CSV carries literally, changes that must go through Collections).

        One write semantics on every path: a value Bulk API 2.0 would reinterpret (its null
        marker) or refuse (its size limits) is written through sObject Collections instead.
        """
        bulk: list[int] = []
        rest: list[int] = []
        for index in indices:
            reason = bulk_unsafe_reason(self.changes[index])
            if reason is None:
                bulk.append(index)
                continue
            rest.append(index)
            row = self.changes[index].row
            self.log.info("Report row %d goes through sObject Collections: %s.", row, reason)
        return bulk, rest

    def _transient_delay(self, attempt: int) -> float:
        """Backoff before another try; at least what Salesforce's `Retry-After` asked for."""
        delay = self.options.retry_backoff_seconds * 2**attempt
        asked = self.session.meter.retry_after
        if asked is not None:
            delay = max(delay, min(asked, MAX_RETRY_AFTER_SECONDS))
        return delay

    def _reserve(self, calls: int, what: str) -> None:
        try:
            self.budget.reserve(calls, what)
        except QuotaError as exc:
            raise _Stop(exc, STOP_CODES["budget"]) from None

    def _stop_for(self, error: SyncError) -> _Stop:
        code = STOP_CODES.get(error.category, "REQUEST_FAILED")
        return _Stop(error, code)

    # ------------------------------------------------------------------ sObject Collections

    def _write_collections(self, indices: Sequence[int]) -> None:
        size = min(self.options.collection_batch_size, 200)
        batches = list(chunked(indices, size))
        for number, batch in enumerate(batches, start=1):
            what = f"sObject Collections batch {number}/{len(batches)} ({len(batch)} records)"
            saves = self._send_collection(batch, what)
            if not isinstance(saves, list) or len(saves) != len(batch):
                for index in batch:
                    self._settle(
                        index,
                        False,
                        "UNEXPECTED_RESPONSE",
                        "Salesforce answered the batch without one result per record.",
                    )
                continue
            for index, save in zip(batch, saves, strict=True):
                if save.get("success"):
                    self._settle(index, True)
                else:
                    errors = save.get("errors") or [{}]
                    first = errors[0]
                    code = str(first.get("statusCode") or first.get("errorCode") or "UNKNOWN")
                    message = "; ".join(str(e.get("message", "")) for e in errors)
                    fields = first.get("fields") or []
                    if fields:
                        message = f"{message} (fields: {', '.join(map(str, fields))})"
                    self._settle(index, False, code, message)
            self.log.info(
                "%s: %d ok, %d failed.",
                what,
                sum(bool(s.get("success")) for s in saves),
                sum(not s.get("success") for s in saves),
            )

    def _collection_path(self) -> str:
        """Where a batch goes (an upsert writer names the object and its external id)."""
        return "composite/sobjects"

    def _collection_record(self, index: int) -> dict[str, Any]:
        """One change as a Collections record."""
        change = self.changes[index]
        return {"attributes": {"type": self.object_name}, "id": change.record_id, **change.fields}

    def _send_collection(self, batch: Sequence[int], what: str) -> Any:
        """PATCH composite/sobjects; request-level transient failures are retried with backoff."""
        payload = {"allOrNone": False, "records": [self._collection_record(i) for i in batch]}
        path = self._collection_path()
        for attempt in range(self.options.retries + 1):
            self._reserve(1, what)
            try:
                return self.session.sf.restful(path, method="PATCH", json=payload)
            except Exception as exc:
                error = translate(exc, conn_id=self.session.conn_id, object_name=self.object_name)
            if isinstance(error, TransientError) and attempt < self.options.retries:
                delay = self._transient_delay(attempt)
                self.log.warning("%s failed (%s); retrying in %.1fs.", what, error.args[0], delay)
                time.sleep(delay)
                continue
            raise self._stop_for(error)
        raise AssertionError("unreachable")  # pragma: no cover

    # ------------------------------------------------------------------ Bulk API 2.0

    def _write_bulk(self, indices: Sequence[int]) -> None:
        for chunk in self._bulk_chunks(indices):
            job = self._run_bulk_job(chunk)
            self._settle_bulk(chunk, job)

    def _run_bulk_job(self, chunk: list[int]) -> BulkUpdateJob:
        """Run one job; a request-level transient failure (5xx, dropped connection) re-runs the
        whole job with backoff, which is safe because an update with the same values is
        idempotent."""
        what = f"Bulk API 2.0 update job ({len(chunk)} records)"
        for attempt in range(self.options.retries + 1):
            self._reserve(BULK_JOB_CALLS, what)
            job = self._bulk_job(chunk)
            try:
                job.run()
                return job
            except SyncError as error:
                if not isinstance(error, TransientError) or attempt >= self.options.retries:
                    raise self._stop_for(error) from None
                delay = self._transient_delay(attempt)
                self.log.warning("%s failed (%s); retrying in %.1fs.", what, error.args[0], delay)
                time.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _bulk_job(self, chunk: list[int]) -> BulkUpdateJob:
        """The job that writes `chunk` (an upsert writer runs an upsert job instead)."""
        return BulkUpdateJob(
            self.session,
            self.object_name,
            [self.changes[i] for i in chunk],
            timeout=self.options.bulk_job_timeout_seconds,
        )

    def _bulk_chunks(self, indices: Sequence[int]) -> Iterator[list[int]]:
        for chunk in chunked(indices, max(self.options.bulk_batch_size, 1)):
            yield from self._split_by_size(chunk)

    def _split_by_size(self, chunk: list[int]) -> Iterator[list[int]]:
        approx = sum(len(bulk_csv([self.changes[i]])) for i in chunk[:100]) / max(
            len(chunk[:100]), 1
        )
        if len(chunk) > 1 and approx * len(chunk) > MAX_BULK_JOB_BYTES:
            middle = len(chunk) // 2
            yield from self._split_by_size(chunk[:middle])
            yield from self._split_by_size(chunk[middle:])
        else:
            yield chunk

    def _settle_bulk(self, chunk: list[int], job: BulkUpdateJob) -> None:
        missing: list[int] = []
        ok = failed = 0
        for index in chunk:
            outcome = job.outcomes.get(id_key(self.changes[index].record_id))
            if outcome is None:
                missing.append(index)
            elif outcome[0]:
                ok += 1
                self._settle(index, True)
            else:
                failed += 1
                self._settle(index, False, outcome[1], outcome[2])
        self.log.info(
            "Bulk API 2.0 job %s (%s): %d ok, %d failed, %d without result.",
            job.job_id,
            job.state,
            ok,
            failed,
            len(missing),
        )
        if not missing:
            return
        if job.state == "JobComplete":
            for index in missing:
                self._settle(
                    index,
                    False,
                    "NO_RESULT",
                    f"Bulk job {job.job_id} returned no result for this record.",
                    retryable=True,
                )
            return
        self._fallback_after_failed_job(missing, job)

    def _fallback_after_failed_job(self, missing: list[int], job: BulkUpdateJob) -> None:
        """A Failed/Aborted job: retry its unprocessed records once via Collections if the budget
        allows; otherwise report them failed with the job's error message."""
        calls_needed = -(-len(missing) // min(self.options.collection_batch_size, 200))
        remaining = self.budget.remaining()
        message = f"Bulk job {job.job_id} ended {job.state}: {job.error_message or 'no detail'}"
        if remaining is None or remaining >= calls_needed:
            self.log.warning(
                "%s; retrying %d record(s) through sObject Collections.", message, len(missing)
            )
            self._write_collections(missing)
            return
        for index in missing:
            self._settle(index, False, "BULK_JOB_FAILED", message, retryable=False)

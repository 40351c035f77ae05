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
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from include.walkme_sync.errors import (
    QuotaError,
    SyncError,
    TransientError,
)
from include.walkme_sync.records import (
    ChangeSet,
    RecordChange,
    ResultColumns,
    WriteResult,
    record_id_column,
    row_column,
    take_changes,
)
from include.walkme_sync.salesforce.bulk import (
    BULK_JOB_CALLS,
    MAX_BULK_JOB_BYTES,
    MAX_RETRY_AFTER_SECONDS,
    _maybe_bulk_unsafe,
    _maybe_bulk_unsafe_columns,
    bulk_csv,
    bulk_unsafe_reason,
)
from include.walkme_sync.salesforce.bulk_update import (
    BulkUpdateJob,
    id_key,
    id_key_texts,
    key_at,
    take_keys,
    unique_keys,
)
from include.walkme_sync.salesforce.errors import TRANSIENT_RECORD_CODES, redact, translate

if TYPE_CHECKING:
    from include.walkme_sync.config import WriteConfig
    from include.walkme_sync.salesforce.client import SalesforceSession
    from include.walkme_sync.salesforce.quota import ApiBudget

_log = logging.getLogger(__name__)


#: Changes sampled to estimate the size of a Bulk job's CSV.
SIZE_SAMPLE = 1_000

STOP_CODES = {
    "budget": "API_BUDGET_EXCEEDED",
    "quota": "REQUEST_LIMIT_EXCEEDED",
    "authorization": "AUTHORIZATION_FAILED",
    "transient": "SALESFORCE_UNAVAILABLE",
}


class WriteOutcome:
    """Results of `write_changes`, one per change, and why the writing stopped early (if it did).

    Held column-wise (`columns`); `results` builds one `WriteResult` per change when first read.
    """

    def __init__(
        self,
        results: Sequence[WriteResult] | None = None,
        stopped_reason: str | None = None,
        stop_error: SyncError | None = None,
        *,
        columns: ResultColumns | None = None,
    ) -> None:
        if columns is None:
            columns = ResultColumns.from_results(results or [])
        self.columns = columns
        self.stopped_reason = stopped_reason
        self.stop_error = stop_error

    @cached_property
    def results(self) -> list[WriteResult]:
        return [self.columns.result(index) for index in range(len(self.columns.rows))]

    @property
    def written(self) -> int:
        return int(np.count_nonzero(self.columns.success))

    @property
    def failed(self) -> int:
        return len(self.columns.rows) - self.written

    def __repr__(self) -> str:
        return (
            f"WriteOutcome(written={self.written}, failed={self.failed}, "
            f"stopped_reason={self.stopped_reason!r})"
        )


def write_changes(
    session: SalesforceSession,
    object_name: str,
    changes: Sequence[RecordChange],
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


#: Positions of changes: a list, or (a million of them) an int64 array, sliced without a
#: Python int per change.
Indices = Sequence[int] | np.ndarray


def chunked(items: Indices, size: int) -> Iterator[Indices]:
    """Consecutive slices of at most `size` items (views of an array)."""
    for start in range(0, len(items), size):
        part = items[start : start + size]
        yield part if isinstance(part, np.ndarray) else list(part)


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
        changes: Sequence[RecordChange],
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
        size = len(changes)
        self.settled = np.zeros(size, dtype=bool)
        self.success = np.zeros(size, dtype=bool)
        self.codes = np.full(size, None, dtype=object)
        self.messages = np.full(size, None, dtype=object)
        self.attempts = np.zeros(size, dtype=np.int64)
        self.attempted = np.ones(size, dtype=bool)
        #: Id[:15] per change: how Bulk result files are matched back to changes.
        self.id15 = id_key_texts(record_id_column(changes))
        self.retry: list[int] = []
        self.stop: _Stop | None = None
        self._check_unique_ids()

    def _check_unique_ids(self) -> None:
        if unique_keys(self.id15):
            return
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
        pending: Indices = np.arange(len(self.changes))
        for round_number in range(self.options.retries + 1):
            if not len(pending) or self.stop is not None:
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
        unsettled = np.flatnonzero(~self.settled)
        if len(unsettled):
            # Only reachable when the run stopped: say why these changes were not written.
            assert stop is not None, "a change has no result although the run did not stop"
            self.success[unsettled] = False
            self.codes[unsettled] = stop.code
            self.messages[unsettled] = f"Not attempted: {stop.error.args[0]}"
            self.attempted[unsettled] = False
            self.settled[unsettled] = True
        columns = ResultColumns(
            record_ids=record_id_column(self.changes),
            rows=row_column(self.changes),
            success=self.success,
            error_codes=self.codes,
            messages=self.messages,
            attempts=self.attempts,
            attempted=self.attempted,
        )
        return WriteOutcome(
            stopped_reason=None if stop is None else str(stop.error.args[0]),
            stop_error=None if stop is None else stop.error,
            columns=columns,
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
        self.settled[index] = True
        self.success[index] = success
        self.codes[index] = code
        self.messages[index] = redact(message) if message else None
        if retryable is None:
            retryable = code in TRANSIENT_RECORD_CODES
        if not success and retryable and self.attempts[index] <= self.options.retries:
            self.retry.append(index)

    def _settle_successes(self, indices: np.ndarray) -> None:
        """`_settle(index, True)` for many records at once (a Bulk job's successful file)."""
        self.attempts[indices] += 1
        self.settled[indices] = True
        self.success[indices] = True
        self.codes[indices] = None
        self.messages[indices] = None

    def _split_bulk_safe(self, indices: Indices) -> tuple[Indices, list[int]]:
        """(changes the Bulk CSV carries literally, changes that must go through Collections).

        One write semantics on every path: a value Bulk API 2.0 would reinterpret (its null
        marker) or refuse (its size limits) is written through sObject Collections instead.
        """
        bulk: list[int] = []
        rest: list[int] = []
        if not self._maybe_bulk_unsafe(indices):
            return indices, rest
        for index in indices:
            reason = bulk_unsafe_reason(self.changes[index])
            if reason is None:
                bulk.append(index)
                continue
            rest.append(index)
            row = self.changes[index].row
            self.log.info("Report row %d goes through sObject Collections: %s.", row, reason)
        return bulk, rest

    def _maybe_bulk_unsafe(self, indices: Indices) -> bool:
        changes = self.changes
        if isinstance(changes, ChangeSet):
            whole = len(indices) == len(changes)
            return _maybe_bulk_unsafe_columns(changes if whole else changes.take(indices))
        return _maybe_bulk_unsafe([changes[index].fields for index in indices])

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

    def _write_collections(self, indices: Indices) -> None:
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

    def _send_collection(self, batch: Indices, what: str) -> Any:
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

    def _write_bulk(self, indices: Indices) -> None:
        for chunk in self._bulk_chunks(indices):
            job = self._run_bulk_job(chunk)
            self._settle_bulk(chunk, job)

    def _run_bulk_job(self, chunk: Indices) -> BulkUpdateJob:
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

    def _bulk_job(self, chunk: Indices) -> BulkUpdateJob:
        """The job that writes `chunk` (an upsert writer runs an upsert job instead)."""
        changes = take_changes(self.changes, chunk)
        if changes is not self.changes and isinstance(self.changes, ChangeSet):
            # A job of part of the changes converts its own values: the Bulk check's (kept
            # for a job of all of them) would only be held.
            self.changes.forget_arrow()
        return BulkUpdateJob(
            self.session,
            self.object_name,
            changes,
            timeout=self.options.bulk_job_timeout_seconds,
        )

    def _bulk_chunks(self, indices: Indices) -> Iterator[Indices]:
        for chunk in chunked(indices, max(self.options.bulk_batch_size, 1)):
            yield from self._split_by_size(chunk)

    def _split_by_size(self, chunk: Indices) -> Iterator[Indices]:
        # Bytes per row from one CSV of up to 1,000 changes spread over the chunk (the header
        # and the union of columns as in the real file), not one CSV per change: a header per
        # row doubled the estimate and split a million changes into two jobs.
        sample = chunk[:: max(len(chunk) // SIZE_SAMPLE, 1)][:SIZE_SAMPLE]
        approx = len(bulk_csv(take_changes(self.changes, sample))) / max(len(sample), 1)
        if len(chunk) > 1 and approx * len(chunk) > MAX_BULK_JOB_BYTES:
            middle = len(chunk) // 2
            yield from self._split_by_size(chunk[:middle])
            yield from self._split_by_size(chunk[middle:])
        else:
            yield chunk

    def _settle_bulk(self, chunk: Indices, job: BulkUpdateJob) -> None:
        indices = np.asarray(chunk, dtype=np.int64)
        succeeded, failed = job.settle(take_keys(self.id15, indices))
        self._settle_successes(indices[succeeded])
        missing: list[int] = []
        for index, was_failed in zip(
            indices[~succeeded].tolist(), failed[~succeeded].tolist(), strict=True
        ):
            if was_failed:
                code, message = job.failures[key_at(self.id15, index)]
                self._settle(index, False, code, message)
            else:
                missing.append(index)
        self.log.info(
            "Bulk API 2.0 job %s (%s): %d ok, %d failed, %d without result.",
            job.job_id,
            job.state,
            int(np.count_nonzero(succeeded)),
            int(np.count_nonzero(failed)),
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

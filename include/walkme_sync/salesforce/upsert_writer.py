"""Upsert by an External ID field: Salesforce's own upsert, through sObject Collections
(`PATCH composite/sobjects/{Object}/{ExternalIdField}`) or a Bulk API 2.0 `upsert` job.

Each change carries the record's external id value in its fields; a field named with
relationship syntax (`Contact__r.Email`) sets a lookup by the parent's key: it becomes
`{"Contact__r": {"Email": ...}}` in JSON and stays a `Contact__r.Email` column in the Bulk CSV.
Everything else (batching, retries, the quota guard, stopping early, the Bulk fallback) is the
update writer's (`salesforce.writers`); only the wire format and the results differ: an upsert
result says whether the record was created, and its new Id.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from include.walkme_sync.records import RecordChange
from include.walkme_sync.salesforce.bulk import bulk_cell, parse_bulk_error
from include.walkme_sync.salesforce.bulk_update import BulkUpdateJob, id_key
from include.walkme_sync.salesforce.writers import Indices, WriteOutcome, _Writer

if TYPE_CHECKING:
    from include.walkme_sync.config import WriteConfig
    from include.walkme_sync.salesforce.client import SalesforceSession
    from include.walkme_sync.salesforce.quota import ApiBudget

_log = logging.getLogger(__name__)


def upsert_changes(  # noqa: PLR0917 - the writer's inputs plus the key field
    session: SalesforceSession,
    object_name: str,
    key_field: str,
    changes: Sequence[RecordChange],
    options: WriteConfig,
    budget: ApiBudget,
    *,
    log: logging.Logger | None = None,
) -> WriteOutcome:
    """Upsert `changes` on `object_name` by `key_field` (each change's fields hold its value).

    Like `writers.write_changes`: one result per change, never raises for per-record or
    run-stopping errors; results of created records have `created` and `created_id`.
    """
    missing = [c.row for c in changes if c.fields.get(key_field) in (None, "")]
    if missing:
        raise ValueError(f"upsert changes of report rows {missing[:10]} lack {key_field}")
    return _UpsertWriter(session, object_name, key_field, changes, options, budget, log).run()


def nested_record(fields: dict[str, Any]) -> dict[str, Any]:
    """`{"Contact__r.Email": v}` -> `{"Contact__r": {"Email": v}}` (JSON relationship syntax)."""
    record: dict[str, Any] = {}
    for name, value in fields.items():
        relationship, dot, parent_field = name.partition(".")
        if dot:
            record[relationship] = {parent_field: value}
        else:
            record[name] = value
    return record


def upsert_csv(changes: Sequence[RecordChange]) -> str:
    """Bulk 2.0 upsert CSV: the union of the changes' fields (external id and relationship
    columns included), sorted; a missing cell is empty (= unchanged), None is `#N/A` (= clear)."""
    columns = sorted({name for change in changes for name in change.fields})
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for change in changes:
        writer.writerow(
            [bulk_cell(change.fields[c]) if c in change.fields else "" for c in columns]
        )
    return buffer.getvalue()


class BulkUpsertJob(BulkUpdateJob):
    """One Bulk API 2.0 upsert job; results are matched back to changes by external id value."""

    def __init__(
        self,
        session: SalesforceSession,
        object_name: str,
        key_field: str,
        changes: Sequence[RecordChange],
        *,
        timeout: float,
    ) -> None:
        super().__init__(session, object_name, changes, timeout=timeout)
        self.key_field = key_field
        self._by_key = {str(c.fields[key_field]): id_key(c.record_id) for c in changes}
        #: Id[:15] of the change -> (created, the record's Id)
        self.saved: dict[str, tuple[bool, str]] = {}

    def _write_data(self, sink: IO[bytes]) -> None:
        sink.write(upsert_csv(self.changes).encode("utf-8"))

    def _create(self, client: Any) -> Any:
        return client.create_job("upsert", external_id_field=self.key_field)

    def _read_results(self, client: Any) -> None:
        files = self._result_files(client)
        if files is None:
            return
        successful, failed = files
        # Result rows carry the external id we sent, not our Ids: map them back to the changes
        # (the writer settles a job by the changes' Id[:15]).
        succeeded: list[str] = []
        for row in csv.DictReader(io.StringIO(successful)):
            change = self._by_key.get(row.get(self.key_field) or "")
            if change is not None:
                succeeded.append(change)
                created = (row.get("sf__Created") or "").lower() == "true"
                self.saved[change] = (created, row.get("sf__Id") or "")
        self.successful = np.asarray(succeeded, dtype=object)
        for row in csv.DictReader(io.StringIO(failed)):
            change = self._by_key.get(row.get(self.key_field) or "")
            if change is not None:
                self.failures[change] = parse_bulk_error(row.get("sf__Error") or "")


class _UpsertWriter(_Writer):
    def __init__(  # noqa: PLR0917 - private helper, built in one place
        self,
        session: SalesforceSession,
        object_name: str,
        key_field: str,
        changes: Sequence[RecordChange],
        options: WriteConfig,
        budget: ApiBudget,
        log: logging.Logger | None,
    ) -> None:
        super().__init__(session, object_name, changes, options, budget, log or _log)
        self.key_field = key_field
        #: change index -> (created, the record's Id), from Salesforce's answers
        self.saved: dict[int, tuple[bool, str]] = {}

    def _collection_path(self) -> str:
        return f"composite/sobjects/{self.object_name}/{self.key_field}"

    def _collection_record(self, index: int) -> dict[str, Any]:
        return {
            "attributes": {"type": self.object_name},
            **nested_record(self.changes[index].fields),
        }

    def _send_collection(self, batch: Indices, what: str) -> Any:
        saves = super()._send_collection(batch, what)
        if isinstance(saves, list) and len(saves) == len(batch):
            for index, save in zip(batch, saves, strict=True):
                if save.get("success"):
                    self.saved[index] = (bool(save.get("created")), str(save.get("id") or ""))
        return saves

    def _bulk_job(self, chunk: Indices) -> BulkUpdateJob:
        return BulkUpsertJob(
            self.session,
            self.object_name,
            self.key_field,
            [self.changes[i] for i in chunk],
            timeout=self.options.bulk_job_timeout_seconds,
        )

    def _settle_bulk(self, chunk: Indices, job: BulkUpdateJob) -> None:
        saved = getattr(job, "saved", {})
        for index in chunk:
            found = saved.get(id_key(self.changes[index].record_id))
            if found is not None:
                self.saved[index] = found
        super()._settle_bulk(chunk, job)

    def _outcome(self) -> WriteOutcome:
        outcome = super()._outcome()
        columns = outcome.columns
        size = len(columns.rows)
        created = np.zeros(size, dtype=bool)
        created_ids = np.full(size, None, dtype=object)
        for index, (was_created, record_id) in self.saved.items():
            if was_created and columns.success[index]:
                created[index] = True
                created_ids[index] = record_id or None
        columns.created, columns.created_ids = created, created_ids
        return outcome

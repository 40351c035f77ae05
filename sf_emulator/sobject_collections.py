"""sObject Collections: create, update, upsert and delete of up to 200 records per request.

``save_many`` answers one result per record, in order; with ``allOrNone`` a failure anywhere rolls
back every write of the request through the org's undo log.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from sf_emulator.model import FieldSchema
from sf_emulator.org_core import OrgCore, locked, value_ci
from sf_emulator.record_ids import normalize_id
from sf_emulator.results import (
    ApiError,
    RecordError,
    SaveResult,
    failure,
    missing_id_error,
    multiple_matches_error,
    rolled_back,
)
from sf_emulator.soql_eval import index_key
from sf_emulator.table import Journal, Table

MAX_COLLECTION_RECORDS = 200


class CollectionOperations(OrgCore):
    """The sObject Collections operations of an org (also used by Bulk API 1.0 batches)."""

    @locked
    def save_many(
        self,
        operation: str,
        obj: str | None,
        records: list[dict[str, Any]],
        *,
        all_or_none: bool,
        ext_field: str | None = None,
    ) -> list[SaveResult]:
        """sObject Collections create/update/upsert/delete: one result per record, in order."""
        if operation not in ("create", "update", "upsert", "delete"):
            raise ApiError(400, "INVALID_OPERATION", f"unsupported operation: {operation}")
        if len(records) > MAX_COLLECTION_RECORDS:
            raise ApiError(
                400,
                "EXCEEDED_ID_LIMIT",
                "record limit reached. cannot submit more than 200 records into this call",
            )
        table = self.table(obj) if obj else None
        key_field = None
        if operation == "upsert":
            if table is None or not ext_field:
                raise ApiError(400, "INVALID_FIELD", "upsert needs an object and an external id")
            key_field = self._external_id_field(table, ext_field)
        now = self._now()
        self._journal = Journal() if all_or_none else None
        try:
            results = self._save_each(operation, table, key_field, records, now)
            if all_or_none and not all(r.success for r in results):
                self._journal.rollback()  # type: ignore[union-attr]
                results = [rolled_back(r, operation) for r in results]
        finally:
            self._journal = None
        return results

    def _save_each(
        self,
        operation: str,
        table: Table | None,
        key_field: FieldSchema | None,
        records: list[dict[str, Any]],
        now: str,
    ) -> list[SaveResult]:
        duplicates = (
            self._duplicate_keys(key_field, [value_ci(r, key_field.name) for r in records])
            if key_field is not None and key_field.type != "id"
            else set()
        )
        results = []
        for record in records:
            target = table or self._table_of(record, operation)
            if isinstance(target, RecordError):
                results.append(failure(target))
            elif operation == "create":
                results.append(self._create_from_json(target, record, now))
            elif operation == "update":
                raw_id = value_ci(record, "Id")
                if raw_id is None:
                    results.append(failure(missing_id_error()))
                else:
                    results.append(self._update_from_json(target, raw_id, record, now))
            elif operation == "delete":
                results.append(self._delete_one(target, value_ci(record, "Id"), hard=False))
            else:
                assert key_field is not None
                results.append(self._upsert_json(target, key_field, record, duplicates, now))
        return results

    def _table_of(self, record: Mapping[str, Any], operation: str) -> Table | RecordError:
        """The object of a collections record: its ``attributes.type`` (or id prefix)."""
        attributes = record.get("attributes") or {}
        type_name = attributes.get("type") if isinstance(attributes, Mapping) else None
        if type_name:
            table = self._tables.get(str(type_name).lower())
            if table is None:
                return RecordError("INVALID_TYPE", f"sObject type '{type_name}' is not supported.")
            return table
        if operation == "delete":
            raw_id = value_ci(record, "Id")
            canonical = normalize_id(raw_id)
            if canonical is None:
                return RecordError("MALFORMED_ID", f"malformed id {raw_id}", [])
            name = self._by_prefix.get(canonical[:3])
            if name is None:
                return RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
            return self._tables[name]
        return RecordError("INVALID_TYPE", "Must send a concrete entity type.", [])

    def _duplicate_keys(self, key_field: FieldSchema, raw_values: list[Any]) -> set[Any]:
        """Index keys given more than once in one upsert request (all those rows fail)."""
        keys = [
            index_key(key_field, v) if isinstance(v, str) else v
            for v in raw_values
            if v not in (None, "")
        ]
        return {key for key, seen in Counter(keys).items() if seen > 1}

    def _upsert_json(
        self,
        table: Table,
        key_field: FieldSchema,
        record: Mapping[str, Any],
        duplicates: set[Any],
        now: str,
    ) -> SaveResult:
        ext_value = value_ci(record, key_field.name)
        if key_field.type == "id":
            if ext_value:
                return self._update_from_json(table, ext_value, record, now)
            return self._create_from_json(table, record, now)
        if ext_value in (None, ""):
            return failure(RecordError("MISSING_ARGUMENT", f"{key_field.name} not specified", []))
        lookup_key = index_key(key_field, ext_value) if isinstance(ext_value, str) else ext_value
        if lookup_key in duplicates:
            return failure(
                RecordError(
                    "DUPLICATE_EXTERNAL_ID",
                    f"Duplicate external id specified: {ext_value}",
                    [key_field.name],
                )
            )
        matches = self._matches(table, key_field, ext_value)
        if isinstance(matches, RecordError):
            return failure(matches)
        if len(matches) > 1:
            return failure(multiple_matches_error(key_field, matches))
        if matches:
            values = self._without_field(record, key_field)
            result = self._update_from_json(table, matches[0]["Id"], values, now)
            return result
        result = self._create_from_json(table, record, now)
        return result

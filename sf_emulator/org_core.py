"""The core of one emulated org: its tables, ids, converters and the validated writes.

Every API (REST, sObject Collections, Bulk) ends in ``create_converted``, ``update_converted`` or
``_delete_one`` here; they validate each record (``validation``) and keep an undo log while a
request is all-or-none.
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from sf_emulator.field_values import Converter, FieldValueError, stored_datetime, value_converter
from sf_emulator.model import FieldSchema, ObjectSchema
from sf_emulator.record_ids import make_id, normalize_id
from sf_emulator.record_locks import RecordLockFaults
from sf_emulator.results import ApiError, RecordError, SaveResult, failure, required_error
from sf_emulator.soql_eval import index_key
from sf_emulator.table import Journal, Record, Table
from sf_emulator.validation import (
    convert_json,
    missing_record_error,
    reference_error,
    unique_error,
)

P = ParamSpec("P")
T = TypeVar("T")

_USER_KEY_PREFIX = "005"
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def locked(method: Callable[P, T]) -> Callable[P, T]:
    """Run an OrgData method under the org's lock (the server is multi-threaded)."""

    @wraps(method)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        with args[0]._lock:  # type: ignore[attr-defined]
            return method(*args, **kwargs)

    return run


def value_ci(record: Mapping[str, Any], name: str) -> Any:
    """``record[name]`` with the key in any letter case (API names are case-insensitive)."""
    if name in record:
        return record[name]
    lowered = name.lower()
    for key, value in record.items():
        if key.lower() == lowered:
            return value
    return None


class OrgCore:
    """One emulated org's tables, ids and converters, and the write core every API shares.

    The API operations (``store.OrgData`` and the classes it builds on) turn requests into calls of
    ``create_converted`` / ``update_converted`` / ``_delete_one`` here.
    """

    def __init__(
        self,
        name: str,
        org_id: str,
        schemas: dict[str, ObjectSchema],
        api_version: str = "59.0",
        *,
        is_sandbox: bool = False,
    ) -> None:
        self.name = name
        self.org_id = org_id
        self.schemas = schemas
        self.api_version = api_version
        self.is_sandbox = is_sandbox
        self.lock_faults = RecordLockFaults()
        self._lock = threading.RLock()
        self._tables = {schema.name.lower(): Table(schema) for schema in schemas.values()}
        self._by_prefix = {schema.key_prefix: schema.name.lower() for schema in schemas.values()}
        for table in self._tables.values():
            table.reference_targets = tuple(
                (f.name, target.lower())
                for f in table.schema.fields
                if f.type == "reference" and f.createable
                for target in f.reference_to[:1]
                if target.lower() in self._tables
            )
            table.reference_names = frozenset(name for name, _ in table.reference_targets)
        self._converters: dict[tuple[str, str, bool], Converter] = {}
        self._journal: Journal | None = None
        checksum = zlib.crc32(f"{name}/{org_id}".encode())
        # Two base-62 "pod" characters and a reserved zero, as in real ids.
        self._pod = _BASE62[checksum % 62] + _BASE62[(checksum // 62) % 62] + "0"
        self._counter = 0
        self.user_id = make_id(_USER_KEY_PREFIX, self._pod, 1)

    # -- lookup helpers -------------------------------------------------------------------

    def object_schema(self, name: str) -> ObjectSchema:
        return self.table(name).schema

    def table(self, name: str) -> Table:
        table = self._tables.get(name.lower())
        if table is None:
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        return table

    def record_url(self, obj: str, record_id: str, api_version: str | None = None) -> str:
        return f"/services/data/v{api_version or self.api_version}/sobjects/{obj}/{record_id}"

    def new_id(self, schema: ObjectSchema) -> str:
        self._counter += 1
        return make_id(schema.key_prefix, self._pod, self._counter)

    def converter(self, schema: ObjectSchema, fld: FieldSchema, *, from_csv: bool) -> Converter:
        key = (schema.name, fld.name, from_csv)
        convert = self._converters.get(key)
        if convert is None:
            convert = value_converter(fld, self.schemas, from_csv=from_csv)
            self._converters[key] = convert
        return convert

    def _external_id_field(self, table: Table, ext_field: str) -> FieldSchema:
        fld = table.schema.field(ext_field)
        if fld is None or not (fld.external_id or fld.type == "id"):
            raise ApiError(
                404,
                "NOT_FOUND",
                f"Provided external ID field does not exist or is not accessible: {ext_field}",
            )
        return fld

    def _matches(
        self, table: Table, key_field: FieldSchema, ext_value: Any
    ) -> list[Record] | RecordError:
        try:
            stored = self.converter(table.schema, key_field, from_csv=False)(ext_value)
        except FieldValueError as error:
            return RecordError(error.status_code, error.message, error.fields)
        return table.lookup(key_field, (index_key(key_field, stored),), False)

    # -- relationships by external id ------------------------------------------------------

    def relationship_field(self, schema: ObjectSchema, name: str) -> FieldSchema | None:
        """The lookup field whose relationship name is ``name`` (``Contact__r``), any case."""
        lowered = name.lower()
        for fld in schema.fields:
            if fld.type == "reference" and (fld.relationship_name or "").lower() == lowered:
                return fld
        return None

    def parent_id(self, ref: FieldSchema, parent_field: str, value: Any) -> str:
        """The Id of the one parent record whose ``parent_field`` is ``value`` (a write that sets
        a lookup through relationship syntax: ``{"Contact__r": {"Email": v}}`` in JSON, the
        ``Contact__r.Email`` column in Bulk CSV). Raises ``FieldValueError`` as Salesforce fails
        the record: the field must be an external id or idLookup field, and the value must match
        exactly one record (messages approximate Salesforce's)."""
        target = self._tables.get(ref.reference_to[0].lower()) if ref.reference_to else None
        if target is None:
            raise FieldValueError(
                "INVALID_FIELD", f"{ref.label}: the parent object cannot be resolved", [ref.name]
            )
        key_field = target.schema.field(parent_field)
        if key_field is None or not (key_field.id_lookup or key_field.external_id):
            raise FieldValueError(
                "INVALID_FIELD",
                f"Field {parent_field} on {target.schema.name} is not an external id or an "
                "idLookup field",
                [ref.name],
            )
        matches = self._matches(target, key_field, value)
        if isinstance(matches, RecordError):
            raise FieldValueError(matches.status_code, matches.message, [ref.name])
        if not matches:
            raise FieldValueError(
                "INVALID_FIELD",
                f"Foreign key external ID: {value} not found for field {key_field.name} in "
                f"entity {target.schema.name}",
                [ref.name],
            )
        if len(matches) > 1:
            raise FieldValueError(
                "DUPLICATE_EXTERNAL_ID",
                f"Foreign key external ID: {value} matched more than one record for field "
                f"{key_field.name} in entity {target.schema.name}",
                [ref.name],
            )
        return str(matches[0]["Id"])

    def parent_id_from_json(self, ref: FieldSchema, raw: Any) -> str:
        """``{"Email": v}`` (``attributes`` allowed) -> the parent's Id, see ``parent_id``."""
        keys = (
            {k: v for k, v in raw.items() if k != "attributes"} if isinstance(raw, Mapping) else {}
        )
        if len(keys) != 1:
            raise FieldValueError(
                "INVALID_FIELD",
                f"{ref.relationship_name}: give exactly one external id field of the parent",
                [ref.name],
            )
        ((parent_field, value),) = keys.items()
        return self.parent_id(ref, parent_field, value)

    @staticmethod
    def _without_field(fields: Mapping[str, Any], fld: FieldSchema) -> dict[str, Any]:
        lowered = fld.name.lower()
        return {k: v for k, v in fields.items() if k.lower() != lowered}

    # -- validation and the write core ----------------------------------------------------

    @staticmethod
    def _now() -> str:
        return stored_datetime(datetime.now(UTC))

    def _create_from_json(self, table: Table, fields: Mapping[str, Any], now: str) -> SaveResult:
        values, errors = convert_json(self, table, fields, creating=True)
        if errors:
            return failure(*errors)
        return self.create_converted(table, values, now)

    def _update_from_json(
        self, table: Table, raw_id: Any, fields: Mapping[str, Any], now: str
    ) -> SaveResult:
        values, errors = convert_json(self, table, fields, creating=False)
        if errors:
            canonical = normalize_id(raw_id)
            return failure(*errors, record_id=canonical)
        return self.update_converted(table, raw_id, values, now)

    def create_converted(self, table: Table, values: dict[str, Any], now: str) -> SaveResult:
        """Insert a record from already converted values (the shared core of every insert)."""
        schema = table.schema
        for fld in schema.fields:
            # Booleans are left unset: reading an unset boolean gives its default.
            if (
                fld.default_value is not None
                and fld.createable
                and fld.type != "boolean"
                and fld.name not in values
            ):
                values[fld.name] = fld.default_value
        missing = [
            f.name for f in schema.fields if f.required_on_create and values.get(f.name) is None
        ]
        if missing:
            return failure(required_error(missing))
        error = reference_error(self._tables, table, values) or unique_error(table, values, None)
        if error is None and self.lock_faults.active:
            error = self.lock_faults.check(None)
        if error is not None:
            return failure(error)
        record_id = self.new_id(schema)
        record = {k: v for k, v in values.items() if v is not None}
        record["Id"] = record_id
        record.setdefault("OwnerId", self.user_id)
        record["CreatedById"] = record["LastModifiedById"] = self.user_id
        record["CreatedDate"] = record["LastModifiedDate"] = record["SystemModstamp"] = now
        table.insert(record)
        if self._journal is not None:
            self._journal.steps.append(lambda: table.purge(record_id))
        return SaveResult(id=record_id, success=True, created=True)

    def update_converted(
        self, table: Table, raw_id: Any, values: dict[str, Any], now: str
    ) -> SaveResult:
        """Update a record from already converted values (the shared core of every update)."""
        record = table.live.get(raw_id)
        if record is not None:
            record_id = raw_id
        else:
            record_id, record, deleted = table.find(raw_id)
            if record is None:
                return failure(missing_record_error(table, raw_id, record_id, deleted))
        if self.lock_faults.active:
            lock_error = self.lock_faults.check(record_id)
            if lock_error is not None:
                return failure(lock_error, record_id=record_id)
        if None in values.values():
            required = [
                name
                for name, value in values.items()
                if value is None and not table.schema.field(name).nillable  # type: ignore[union-attr]
            ]
            if required:
                return failure(required_error(required), record_id=record_id)
        error = None
        if not table.reference_names.isdisjoint(values):
            error = reference_error(self._tables, table, values)
        if error is None and not table.unique_names.isdisjoint(values):
            error = unique_error(table, values, record_id)
        if error is not None:
            return failure(error, record_id=record_id)
        # ``values`` belongs to the caller's request: adding the timestamps to it is fine.
        values["LastModifiedDate"] = values["SystemModstamp"] = now
        journal = self._journal
        previous = table.assign(record, values, keep_previous=journal is not None)
        if journal is not None:
            journal.steps.append(lambda: table.assign(record, previous))  # type: ignore[arg-type]
        return SaveResult(record_id, True, [])

    def _delete_one(self, table: Table, raw_id: Any, *, hard: bool) -> SaveResult:
        record_id, record, deleted = table.find(raw_id)
        if record is None and not (hard and deleted):
            return failure(missing_record_error(table, raw_id, record_id, deleted))
        assert record_id is not None
        if self.lock_faults.active:
            lock_error = self.lock_faults.check(record_id)
            if lock_error is not None:
                return failure(lock_error, record_id=record_id)
        if hard:
            was_deleted = deleted
            purged = table.purge(record_id)
            if self._journal is not None:
                self._journal.steps.append(
                    lambda: (
                        table.deleted.__setitem__(record_id, purged)
                        if was_deleted
                        else table.insert(purged)
                    )
                )
        else:
            table.soft_delete(record_id)
            journal = self._journal
            if journal is not None:
                journal.steps.append(lambda: table.undelete(record_id))
                journal.reorder.add(table)
        return SaveResult(id=record_id, success=True)

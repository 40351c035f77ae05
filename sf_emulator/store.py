"""Records of the emulated orgs, with per-record validation driven by the object schemas.

``OrgData`` is the org: one table per object, the REST / sObject Collections / Bulk operations on
them, SOQL queries and seeding helpers. It has no HTTP code; the server turns its results and
``ApiError`` exceptions into responses.

Records are plain dicts keyed by the fields' API names holding the stored form of each value (see
``model.value_converter``); a missing key means null (false for booleans). Calculated fields are
computed when read. Hash indexes on fields are built on first use (SOQL ``=``/``IN``, unique checks,
upsert keys) and kept up to date by every write.
"""

from __future__ import annotations

import csv
import json
import random
import threading
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import wraps
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from sf_emulator import soql as soql_engine
from sf_emulator.model import (
    Converter,
    FieldSchema,
    FieldValueError,
    ObjectSchema,
    make_id,
    normalize_id,
    stored_datetime,
    value_converter,
)

Record = dict[str, Any]
P = ParamSpec("P")
T = TypeVar("T")

MAX_COLLECTION_RECORDS = 200
ROLLED_BACK_MESSAGE = (
    "Record rolled back because not all records were valid and the request was using AllOrNone "
    "header"
)
_MISSING = object()
# Queryable but not described (not in the schema folder): only ``sf.is_sandbox()`` needs it.
_ORGANIZATION_SCHEMA = ObjectSchema.from_spec(
    {
        "name": "Organization",
        "keyPrefix": "00D",
        "createable": False,
        "updateable": False,
        "deletable": False,
        "fields": [
            {"name": "Id", "type": "id"},
            {"name": "Name", "type": "string"},
            {"name": "IsSandbox", "type": "boolean"},
            {"name": "OrganizationType", "type": "string"},
        ],
    }
)
_USER_KEY_PREFIX = "005"
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


# ------------------------------------------------------------------------------------------
# Results and errors
# ------------------------------------------------------------------------------------------


@dataclass(slots=True)
class RecordError:
    status_code: str
    message: str
    fields: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"statusCode": self.status_code, "message": self.message, "fields": self.fields}

    def csv_text(self) -> str:
        """The Bulk results form: ``CODE:message:field1,field2 --``."""
        return f"{self.status_code}:{self.message}:{','.join(self.fields)} --"


@dataclass(slots=True)
class SaveResult:
    id: str | None
    success: bool
    errors: list[RecordError] = field(default_factory=list)
    created: bool = False

    def to_json(self, include_created: bool = False) -> dict[str, Any]:
        result: dict[str, Any] = {
            "id": self.id,
            "success": self.success,
            "errors": [e.to_json() for e in self.errors],
        }
        if include_created:
            result["created"] = self.created
        return result


def _failed(*errors: RecordError, record_id: str | None = None) -> SaveResult:
    return SaveResult(id=record_id, success=False, errors=list(errors))


class ApiError(Exception):
    """A request-level error: the server answers ``http_status`` with
    ``[{"message", "errorCode"[, "fields"]}]`` (or, for 300, the ``payload`` list of URLs)."""

    def __init__(
        self,
        http_status: int,
        error_code: str,
        message: str,
        fields: list[str] | None = None,
        payload: Any = None,
    ) -> None:
        super().__init__(f"{error_code}: {message}")
        self.http_status = http_status
        self.error_code = error_code
        self.message = message
        self.fields = fields or []
        self.payload = payload

    def to_json(self) -> list[dict[str, Any]]:
        body: dict[str, Any] = {"message": self.message, "errorCode": self.error_code}
        if self.fields:
            body["fields"] = self.fields
        return [body]


@dataclass
class QueryResult:
    records: list[dict[str, Any]]
    total_size: int
    columns: list[str]


@dataclass
class IngestResult:
    successful_csv: str
    failed_csv: str
    unprocessed_csv: str
    processed: int
    failed: int


class RecordLockFaults:
    """Injectable ``UNABLE_TO_LOCK_ROW`` failures, for retry tests."""

    def __init__(self) -> None:
        self._locked: dict[str, int] = {}
        self._fraction = 0.0
        self._random = random.Random(0)
        self._guard = threading.Lock()
        # Read on every write; a plain attribute keeps the no-faults path cheap.
        self.active = False

    def _refresh(self) -> None:
        self.active = bool(self._locked) or self._fraction > 0

    def lock_records(self, ids: Iterable[str], times: int = 1) -> None:
        """Each id fails its next ``times`` write attempts."""
        with self._guard:
            for raw_id in ids:
                record_id = normalize_id(raw_id) or raw_id
                self._locked[record_id] = self._locked.get(record_id, 0) + times
            self._refresh()

    def lock_fraction(self, fraction: float, seed: int = 0) -> None:
        """Every write attempt fails with probability ``fraction`` (deterministic per seed)."""
        if not 0 <= fraction <= 1:
            raise ValueError(f"fraction must be between 0 and 1, not {fraction}")
        with self._guard:
            self._fraction = fraction
            self._random = random.Random(seed)
            self._refresh()

    def clear(self) -> None:
        with self._guard:
            self._locked.clear()
            self._fraction = 0.0
            self._refresh()

    def check(self, record_id: str | None) -> RecordError | None:
        """The lock error for this write attempt, if it is to fail."""
        with self._guard:
            remaining = self._locked.get(record_id, 0) if record_id else 0
            if remaining:
                if remaining == 1:
                    del self._locked[record_id]  # type: ignore[arg-type]
                    self._refresh()
                else:
                    self._locked[record_id] = remaining - 1  # type: ignore[index]
                return _lock_error(record_id)
            if self._fraction and self._random.random() < self._fraction:
                return _lock_error(record_id)
        return None


def _lock_error(record_id: str | None) -> RecordError:
    return RecordError(
        "UNABLE_TO_LOCK_ROW",
        f"unable to obtain exclusive access to this record or 1 records: {record_id or ''}",
        [],
    )


# ------------------------------------------------------------------------------------------
# Tables and indexes
# ------------------------------------------------------------------------------------------


def _compute_getter(fld: FieldSchema) -> Callable[[Record], Any]:
    """How a calculated field gets its value from the stored ones."""
    spec = fld.compute or {}
    if "join" in spec:
        parts = tuple(spec["join"])
        return lambda record: " ".join(v for v in (record.get(p) for p in parts) if v) or None
    if "sum" in spec:
        terms = tuple(spec["sum"])

        def total(record: Record) -> Any:
            values = [record.get(t) for t in terms]
            return None if any(v is None for v in values) else sum(values)

        return total
    return lambda record: None


def _dependencies(fld: FieldSchema) -> frozenset[str]:
    """Stored fields whose change can change ``fld``'s value."""
    spec = fld.compute or {}
    return frozenset([fld.name, *spec.get("join", ()), *spec.get("sum", ())])


IndexMap = dict[Any, Any]  # key -> one id (str) or a set of ids


def _index_add(index: IndexMap, key: Any, record_id: str) -> None:
    present = index.get(key)
    if present is None:
        index[key] = record_id
    elif isinstance(present, set):
        present.add(record_id)
    elif present != record_id:
        index[key] = {present, record_id}


def _index_discard(index: IndexMap, key: Any, record_id: str) -> None:
    present = index.get(key)
    if present == record_id:
        del index[key]
    elif isinstance(present, set):
        present.discard(record_id)
        if len(present) == 1:
            index[key] = next(iter(present))


def _index_ids(index: IndexMap, key: Any) -> tuple[str, ...]:
    present = index.get(key)
    if present is None:
        return ()
    if isinstance(present, set):
        return tuple(sorted(present))
    return (present,)


@dataclass
class _Index:
    fld: FieldSchema
    get: Callable[[Record], Any]
    dependencies: frozenset[str]
    keys: IndexMap

    def key_of(self, record: Record) -> Any:
        return soql_engine.index_key(self.fld, self.get(record))


class Table:
    """The records of one object (live and in the recycle bin) and their hash indexes.

    Methods here do no validation; ``OrgData`` validates before calling them.
    """

    def __init__(self, schema: ObjectSchema) -> None:
        self.schema = schema
        self.live: dict[str, Record] = {}
        self.deleted: dict[str, Record] = {}
        self.indexes: dict[str, _Index] = {}
        self._getters: dict[str, Callable[[Record], Any]] = {}
        self.unique_fields = tuple(f for f in schema.fields if f.unique)
        self.unique_names = frozenset(f.name for f in self.unique_fields)
        # (field name, target table key) for references the org can check; set by OrgData.
        self.reference_targets: tuple[tuple[str, str], ...] = ()
        self.reference_names: frozenset[str] = frozenset()

    # -- reading (soql.RecordSource) ----------------------------------------------------------

    def getter(self, fld: FieldSchema) -> Callable[[Record], Any]:
        get = self._getters.get(fld.name)
        if get is None:
            name = fld.name
            if fld.calculated:
                get = _compute_getter(fld)
            elif fld.type == "boolean":
                default = bool(fld.default_value)
                get = lambda record: record.get(name, default)  # noqa: E731
            else:
                get = lambda record: record.get(name)  # noqa: E731
            self._getters[name] = get
        return get

    def scan(self, include_deleted: bool) -> Iterable[Record]:
        if include_deleted and self.deleted:
            return [*self.live.values(), *self.deleted.values()]
        return self.live.values()

    def lookup(self, fld: FieldSchema, keys: Iterable[Any], include_deleted: bool) -> list[Record]:
        if fld.type == "id":
            pools = (self.live, self.deleted) if include_deleted else (self.live,)
            return [pool[k] for k in keys for pool in pools if k in pool]
        index = self.index(fld)
        found = [self.live[i] for key in keys for i in _index_ids(index.keys, key)]
        if include_deleted and self.deleted:
            wanted = set(keys)
            found.extend(r for r in self.deleted.values() if index.key_of(r) in wanted)
        return found

    def index(self, fld: FieldSchema) -> _Index:
        """The hash index on ``fld``, built on first use."""
        index = self.indexes.get(fld.name)
        if index is None:
            index = _Index(fld, self.getter(fld), _dependencies(fld), {})
            for record_id, record in self.live.items():
                _index_add(index.keys, index.key_of(record), record_id)
            self.indexes[fld.name] = index
        return index

    def find(self, raw_id: Any) -> tuple[str | None, Record | None, bool]:
        """(canonical id or None if malformed, live record or None, whether it is deleted)."""
        record = self.live.get(raw_id)
        if record is not None:
            return raw_id, record, False
        record_id = normalize_id(raw_id)
        if record_id is None:
            return None, None, False
        return record_id, self.live.get(record_id), record_id in self.deleted

    # -- writing (no validation) ----------------------------------------------------------

    def insert(self, record: Record) -> None:
        record_id = record["Id"]
        self.live[record_id] = record
        for index in self.indexes.values():
            _index_add(index.keys, index.key_of(record), record_id)

    def assign(
        self, record: Record, values: Mapping[str, Any], *, keep_previous: bool = False
    ) -> dict[str, Any] | None:
        """Set ``values`` on a live record (None or ``_MISSING`` clears a field). With
        ``keep_previous``, returns the values replaced (``_MISSING`` where unset) for an undo."""
        indexes = self.indexes
        touched = (
            [
                (index, index.key_of(record))
                for index in indexes.values()
                if not index.dependencies.isdisjoint(values)
            ]
            if indexes
            else ()
        )
        previous = {name: record.get(name, _MISSING) for name in values} if keep_previous else None
        for name, value in values.items():
            if value is None or value is _MISSING:
                record.pop(name, None)
            else:
                record[name] = value
        if touched:
            record_id = record["Id"]
            for index, old_key in touched:
                new_key = index.key_of(record)
                if new_key != old_key:
                    _index_discard(index.keys, old_key, record_id)
                    _index_add(index.keys, new_key, record_id)
        return previous

    def soft_delete(self, record_id: str) -> None:
        record = self.live.pop(record_id)
        for index in self.indexes.values():
            _index_discard(index.keys, index.key_of(record), record_id)
        record["IsDeleted"] = True
        self.deleted[record_id] = record

    def undelete(self, record_id: str) -> None:
        record = self.deleted.pop(record_id)
        record.pop("IsDeleted", None)
        self.insert(record)

    def restore_creation_order(self) -> None:
        """Put live records back in creation order after an undelete appended one at the end.

        Minted ids are fixed-width base-62 counters whose text order is their creation order;
        query results without ORDER BY follow this order, as they follow it in Salesforce.
        """
        self.live = dict(sorted(self.live.items()))

    def purge(self, record_id: str) -> Record:
        """Remove a record for good (hard delete); returns it."""
        if record_id in self.deleted:
            return self.deleted.pop(record_id)
        record = self.live.pop(record_id)
        for index in self.indexes.values():
            _index_discard(index.keys, index.key_of(record), record_id)
        return record

    def clear(self) -> None:
        self.live.clear()
        self.deleted.clear()
        self.indexes.clear()


class _Journal:
    """Undo log of one all-or-none request."""

    def __init__(self) -> None:
        self.steps: list[Callable[[], object]] = []  # undo steps; their results are ignored
        self.reorder: set[Table] = set()  # tables where an undelete changed the record order

    def rollback(self) -> None:
        for undo in reversed(self.steps):
            undo()
        self.steps.clear()
        for table in self.reorder:
            table.restore_creation_order()


def _locked(method: Callable[P, T]) -> Callable[P, T]:
    """Run an OrgData method under the org's lock (the server is multi-threaded)."""

    @wraps(method)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        with args[0]._lock:  # type: ignore[attr-defined]
            return method(*args, **kwargs)

    return run


# ------------------------------------------------------------------------------------------
# The org
# ------------------------------------------------------------------------------------------


class OrgData:
    """All records of one emulated org and the operations the APIs perform on them."""

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
        self._journal: _Journal | None = None
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

    def record_url(self, obj: str, record_id: str) -> str:
        return f"/services/data/v{self.api_version}/sobjects/{obj}/{record_id}"

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

    # -- REST single-record operations ----------------------------------------------------

    @_locked
    def create(self, obj: str, fields: dict[str, Any]) -> SaveResult:
        table = self.table(obj)
        return self._create_from_json(table, fields, self._now())

    @_locked
    def update(self, obj: str, record_id: str, fields: dict[str, Any]) -> SaveResult:
        table = self.table(obj)
        self._require_existing(table, record_id)
        return self._update_from_json(table, record_id, fields, self._now())

    @_locked
    def upsert(
        self, obj: str, ext_field: str, ext_value: str, fields: dict[str, Any]
    ) -> SaveResult:
        table = self.table(obj)
        key_field = self._external_id_field(table, ext_field)
        if key_field.type == "id":
            if ext_value:
                self._require_existing(table, ext_value)
                result = self._update_from_json(table, ext_value, fields, self._now())
                return result
            return self._create_from_json(table, fields, self._now())
        values = self._without_field(fields, key_field)
        matches = self._matches(table, key_field, ext_value)
        if isinstance(matches, RecordError):
            return _failed(matches)
        if len(matches) > 1:
            urls = [self.record_url(table.schema.name, r["Id"]) for r in matches]
            raise ApiError(
                300,
                "MULTIPLE_RECORDS",
                f"More than one record found for external id field {key_field.name}: {ext_value}",
                payload=urls,
            )
        if matches:
            return self._update_from_json(table, matches[0]["Id"], values, self._now())
        values[key_field.name] = ext_value
        return self._create_from_json(table, values, self._now())

    @_locked
    def delete(self, obj: str, record_id: str) -> SaveResult:
        table = self.table(obj)
        self._require_existing(table, record_id)
        return self._delete_one(table, record_id, hard=False)

    @_locked
    def get(self, obj: str, record_id: str, fields: list[str] | None = None) -> dict[str, Any]:
        table = self.table(obj)
        _, record, deleted = table.find(record_id)
        if deleted:
            raise ApiError(404, "ENTITY_IS_DELETED", "entity is deleted")
        if record is None:
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        columns = self._fields_by_name(table, fields) if fields else list(table.schema.fields)
        return self._rest_record(table, record, columns)

    def _require_existing(self, table: Table, raw_id: str) -> None:
        """REST answers 404 for an id that does not name a live record of this object."""
        canonical, record, deleted = table.find(raw_id)
        if canonical is None:
            raise ApiError(
                404,
                "NOT_FOUND",
                f"Provided external ID field does not exist or is not accessible: {raw_id}",
            )
        if deleted:
            raise ApiError(404, "ENTITY_IS_DELETED", "entity is deleted")
        if record is None:
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")

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
        return table.lookup(key_field, (soql_engine.index_key(key_field, stored),), False)

    @staticmethod
    def _without_field(fields: Mapping[str, Any], fld: FieldSchema) -> dict[str, Any]:
        lowered = fld.name.lower()
        return {k: v for k, v in fields.items() if k.lower() != lowered}

    def _fields_by_name(self, table: Table, names: Iterable[str]) -> list[FieldSchema]:
        columns = []
        for name in names:
            fld = table.schema.field(name.strip())
            if fld is None:
                raise ApiError(
                    400,
                    "INVALID_FIELD",
                    f"No such column '{name}' on sobject of type {table.schema.name}",
                )
            columns.append(fld)
        return columns

    def _rest_record(
        self, table: Table, record: Record, columns: Iterable[FieldSchema]
    ) -> dict[str, Any]:
        result: dict[str, Any] = {
            "attributes": {
                "type": table.schema.name,
                "url": self.record_url(table.schema.name, record["Id"]),
            }
        }
        for fld in columns:
            result[fld.name] = table.getter(fld)(record)
        return result

    # -- validation and the write core ----------------------------------------------------

    @staticmethod
    def _now() -> str:
        return stored_datetime(datetime.now(UTC))

    def _convert_json(
        self, table: Table, fields: Mapping[str, Any], *, creating: bool
    ) -> tuple[dict[str, Any], list[RecordError]]:
        """JSON field values -> stored values, with every field-level error found."""
        schema = table.schema
        values: dict[str, Any] = {}
        errors: list[RecordError] = []
        not_writable: list[str] = []
        for name, raw in fields.items():
            if name == "attributes":
                continue
            fld = schema.field(name)
            if fld is None:
                errors.append(
                    RecordError(
                        "INVALID_FIELD",
                        f"No such column '{name}' on sobject of type {schema.name}",
                        [name],
                    )
                )
                continue
            if fld.type == "id":
                if creating:
                    errors.append(
                        RecordError(
                            "INVALID_FIELD",
                            "The Id field should not be specified in the sobject data.",
                            [],
                        )
                    )
                continue  # on update the Id names the record; it is not a value to set
            if not (fld.createable if creating else fld.updateable):
                not_writable.append(fld.name)
                continue
            if raw is None:
                values[fld.name] = None
                continue
            try:
                values[fld.name] = self.converter(schema, fld, from_csv=False)(raw)
            except FieldValueError as error:
                errors.append(RecordError(error.status_code, error.message, error.fields))
        if not_writable:
            errors.insert(0, _not_writable_error(not_writable, creating=creating))
        return values, errors

    def _create_from_json(self, table: Table, fields: Mapping[str, Any], now: str) -> SaveResult:
        values, errors = self._convert_json(table, fields, creating=True)
        if errors:
            return _failed(*errors)
        return self.create_converted(table, values, now)

    def _update_from_json(
        self, table: Table, raw_id: Any, fields: Mapping[str, Any], now: str
    ) -> SaveResult:
        values, errors = self._convert_json(table, fields, creating=False)
        if errors:
            canonical = normalize_id(raw_id)
            return _failed(*errors, record_id=canonical)
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
            return _failed(_required_error(missing))
        error = self._check_references(table, values) or self._check_unique(table, values, None)
        if error is None and self.lock_faults.active:
            error = self.lock_faults.check(None)
        if error is not None:
            return _failed(error)
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
                return _failed(self._missing_record_error(table, raw_id, record_id, deleted))
        if self.lock_faults.active:
            lock_error = self.lock_faults.check(record_id)
            if lock_error is not None:
                return _failed(lock_error, record_id=record_id)
        if None in values.values():
            required = [
                name
                for name, value in values.items()
                if value is None and not table.schema.field(name).nillable  # type: ignore[union-attr]
            ]
            if required:
                return _failed(_required_error(required), record_id=record_id)
        error = None
        if not table.reference_names.isdisjoint(values):
            error = self._check_references(table, values)
        if error is None and not table.unique_names.isdisjoint(values):
            error = self._check_unique(table, values, record_id)
        if error is not None:
            return _failed(error, record_id=record_id)
        # ``values`` belongs to the caller's request: adding the timestamps to it is fine.
        values["LastModifiedDate"] = values["SystemModstamp"] = now
        journal = self._journal
        previous = table.assign(record, values, keep_previous=journal is not None)
        if journal is not None:
            journal.steps.append(lambda: table.assign(record, previous))  # type: ignore[arg-type]
        return SaveResult(record_id, True, [])

    @staticmethod
    def _missing_record_error(
        table: Table, raw_id: Any, record_id: str | None, deleted: bool
    ) -> RecordError:
        if record_id is None:
            return RecordError(
                "MALFORMED_ID",
                f"{table.schema.label} ID: id value of incorrect type: {raw_id}",
                ["Id"],
            )
        if deleted:
            return RecordError("ENTITY_IS_DELETED", "entity is deleted", [])
        if not record_id.startswith(table.schema.key_prefix):
            return RecordError(
                "MALFORMED_ID",
                f"{table.schema.label} ID: id value of incorrect type: {raw_id}",
                ["Id"],
            )
        return RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [])

    def _check_references(self, table: Table, values: Mapping[str, Any]) -> RecordError | None:
        """A reference to a record that does not exist (only for objects the org models)."""
        for name, target in table.reference_targets:
            value = values.get(name)
            if value is not None and value not in self._tables[target].live:
                return RecordError(
                    "INVALID_CROSS_REFERENCE_KEY",
                    f"invalid cross reference id: {value}",
                    [name],
                )
        return None

    def _check_unique(
        self, table: Table, values: Mapping[str, Any], record_id: str | None
    ) -> RecordError | None:
        for fld in table.unique_fields:
            if values.get(fld.name) is None:
                continue
            key = soql_engine.index_key(fld, values[fld.name])
            others = [i for i in _index_ids(table.index(fld).keys, key) if i != record_id]
            if others:
                return RecordError(
                    "DUPLICATE_VALUE",
                    f"duplicate value found: {fld.name} duplicates value on record with id: "
                    f"{others[0]}",
                    [fld.name],
                )
        return None

    def _delete_one(self, table: Table, raw_id: Any, *, hard: bool) -> SaveResult:
        record_id, record, deleted = table.find(raw_id)
        if record is None and not (hard and deleted):
            return _failed(self._missing_record_error(table, raw_id, record_id, deleted))
        assert record_id is not None
        if self.lock_faults.active:
            lock_error = self.lock_faults.check(record_id)
            if lock_error is not None:
                return _failed(lock_error, record_id=record_id)
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

    # -- sObject Collections -------------------------------------------------------------

    @_locked
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
        self._journal = _Journal() if all_or_none else None
        try:
            results = self._save_each(operation, table, key_field, records, now)
            if all_or_none and not all(r.success for r in results):
                self._journal.rollback()  # type: ignore[union-attr]
                results = [_rolled_back(r, operation) for r in results]
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
            self._duplicate_keys(key_field, [_value_ci(r, key_field.name) for r in records])
            if key_field is not None and key_field.type != "id"
            else set()
        )
        results = []
        for record in records:
            target = table or self._table_of(record, operation)
            if isinstance(target, RecordError):
                results.append(_failed(target))
            elif operation == "create":
                results.append(self._create_from_json(target, record, now))
            elif operation == "update":
                raw_id = _value_ci(record, "Id")
                if raw_id is None:
                    results.append(_failed(_missing_id_error()))
                else:
                    results.append(self._update_from_json(target, raw_id, record, now))
            elif operation == "delete":
                results.append(self._delete_one(target, _value_ci(record, "Id"), hard=False))
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
            raw_id = _value_ci(record, "Id")
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
            soql_engine.index_key(key_field, v) if isinstance(v, str) else v
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
        ext_value = _value_ci(record, key_field.name)
        if key_field.type == "id":
            if ext_value:
                return self._update_from_json(table, ext_value, record, now)
            return self._create_from_json(table, record, now)
        if ext_value in (None, ""):
            return _failed(RecordError("MISSING_ARGUMENT", f"{key_field.name} not specified", []))
        lookup_key = (
            soql_engine.index_key(key_field, ext_value) if isinstance(ext_value, str) else ext_value
        )
        if lookup_key in duplicates:
            return _failed(
                RecordError(
                    "DUPLICATE_EXTERNAL_ID",
                    f"Duplicate external id specified: {ext_value}",
                    [key_field.name],
                )
            )
        matches = self._matches(table, key_field, ext_value)
        if isinstance(matches, RecordError):
            return _failed(matches)
        if len(matches) > 1:
            return _failed(_multiple_matches_error(key_field, matches))
        if matches:
            values = self._without_field(record, key_field)
            result = self._update_from_json(table, matches[0]["Id"], values, now)
            return result
        result = self._create_from_json(table, record, now)
        return result

    # -- Bulk API -------------------------------------------------------------------------

    @_locked
    def bulk1_process(
        self,
        operation: str,
        obj: str,
        records: list[dict[str, Any]],
        external_id_field: str | None = None,
    ) -> list[dict[str, Any]]:
        """Bulk API 1.0 JSON batch: one result dict per record, in input order."""
        table = self.table(obj)
        now = self._now()
        if operation in ("insert", "update", "upsert"):
            key_field = None
            if operation == "upsert":
                key_field = self._external_id_field(table, external_id_field or "Id")
            mapped = {"insert": "create", "update": "update", "upsert": "upsert"}[operation]
            results = self._save_each(mapped, table, key_field, records, now)
        elif operation in ("delete", "hardDelete"):
            hard = operation == "hardDelete"
            results = [self._delete_one(table, _value_ci(r, "Id"), hard=hard) for r in records]
        else:
            raise ApiError(400, "InvalidJob", f"unsupported operation: {operation}")
        return [
            {
                "success": r.success,
                "created": r.created,
                "id": r.id if r.success else None,
                "errors": [e.to_json() for e in r.errors],
            }
            for r in results
        ]

    @_locked
    def bulk_ingest(
        self,
        obj: str,
        operation: str,
        csv_bytes: bytes,
        *,
        external_id_field: str | None = None,
        column_delimiter: str = "COMMA",
        line_ending: str = "LF",
    ) -> IngestResult:
        from sf_emulator import bulk

        return bulk.ingest(
            self,
            self.table(obj),
            operation,
            csv_bytes,
            external_id_field=external_id_field,
            column_delimiter=column_delimiter,
            line_ending=line_ending,
        )

    @_locked
    def bulk_query(
        self, soql: str, include_deleted: bool = False
    ) -> tuple[list[str], Iterator[list[str]]]:
        from sf_emulator import bulk

        table, parsed, matches = self._run_query(soql, include_deleted)
        return bulk.query_rows(table, parsed, matches)

    # -- SOQL ----------------------------------------------------------------------------

    @_locked
    def query(self, soql: str, include_deleted: bool = False) -> QueryResult:
        table, parsed, matches = self._run_query(soql, include_deleted)
        if parsed.count_only:
            return QueryResult(records=[], total_size=len(matches), columns=[])
        columns = parsed.columns
        name = table.schema.name
        url_prefix = f"/services/data/v{self.api_version}/sobjects/{name}/"
        getters = [(fld.name, table.getter(fld)) for fld in columns]
        records = []
        for record in matches:
            row: dict[str, Any] = {"attributes": {"type": name, "url": url_prefix + record["Id"]}}
            for column, get in getters:
                row[column] = get(record)
            records.append(row)
        return QueryResult(
            records=records, total_size=len(records), columns=[f.name for f in columns]
        )

    def _run_query(
        self, soql: str, include_deleted: bool
    ) -> tuple[Table, soql_engine.Query, list[Record]]:
        tables = {**self._tables, "organization": self._organization_table()}
        schemas = {name: t.schema for name, t in tables.items()}
        try:
            parsed = soql_engine.parse(soql, schemas)
            table = tables[parsed.obj.name.lower()]
            matches = soql_engine.execute(parsed, table, include_deleted=include_deleted)
        except soql_engine.SoqlError as error:
            raise ApiError(400, error.error_code, error.message) from None
        return table, parsed, matches

    def _organization_table(self) -> Table:
        """The one-row Organization object that ``sf.is_sandbox()`` queries."""
        table = Table(_ORGANIZATION_SCHEMA)
        table.insert(
            {
                "Id": self.org_id,
                "Name": self.name,
                "IsSandbox": self.is_sandbox,
                "OrganizationType": "Developer Edition",
            }
        )
        return table

    # -- seeding and inspection -----------------------------------------------------------

    @_locked
    def load_records(self, obj: str, records: Iterable[dict[str, Any]]) -> list[str]:
        """Insert seed records as given (system fields included), converting values to the field
        types. Raises ValueError on unknown fields or bad values: seed data is the caller's."""
        table = self.table(obj)
        schema = table.schema
        now = self._now()
        ids = []
        for position, given in enumerate(records, start=1):
            record: Record = {}
            for name, raw in given.items():
                if name == "attributes" or raw is None or raw == "":
                    continue
                fld = schema.field(name)
                if fld is None or fld.calculated:
                    raise ValueError(f"{schema.name} seed record {position}: no field {name!r}")
                # Text comes from CSV files (booleans may be 1/0), other values from JSON.
                convert = self.converter(schema, fld, from_csv=isinstance(raw, str))
                try:
                    record[fld.name] = convert(raw)
                except FieldValueError as error:
                    raise ValueError(
                        f"{schema.name} seed record {position}: {error.message}"
                    ) from None
            record_id = record.get("Id")
            if record_id is None or record_id in table.live or record_id in table.deleted:
                record_id = self.new_id(schema)
            record["Id"] = record_id
            for fld in schema.fields:
                if fld.default_value is not None and fld.type != "boolean":
                    record.setdefault(fld.name, fld.default_value)
            record.setdefault("OwnerId", self.user_id)
            record.setdefault("CreatedById", self.user_id)
            record.setdefault("LastModifiedById", self.user_id)
            record.setdefault("CreatedDate", now)
            record.setdefault("LastModifiedDate", record["CreatedDate"])
            record.setdefault("SystemModstamp", record["LastModifiedDate"])
            table.insert(record)
            ids.append(record_id)
        return ids

    def load_file(self, obj: str, path: Path) -> list[str]:
        """Seed from a ``.csv`` (header = field names; empty = null) or ``.json`` (list)."""
        path = Path(path)
        if path.suffix.lower() == ".json":
            records = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(records, list):
                raise ValueError(f"{path}: expected a JSON list of records")
            return self.load_records(obj, records)
        with path.open(encoding="utf-8", newline="") as handle:
            return self.load_records(obj, list(csv.DictReader(handle)))

    @_locked
    def generate(
        self,
        obj: str,
        n: int,
        *,
        seed: int = 0,
        duplicate_email_fraction: float = 0.02,
        mixed_case_fraction: float = 0.1,
    ) -> list[str]:
        """Insert ``n`` synthetic people (Contact or Lead) or Accounts; deterministic per seed."""
        from sf_emulator import bulk

        return bulk.generate(
            self,
            self.table(obj),
            n,
            seed=seed,
            duplicate_email_fraction=duplicate_email_fraction,
            mixed_case_fraction=mixed_case_fraction,
        )

    @_locked
    def records(self, obj: str) -> list[dict[str, Any]]:
        """Every live record as a plain dict of all fields (REST values, nulls included)."""
        table = self.table(obj)
        getters = [(f.name, table.getter(f)) for f in table.schema.fields]
        return [{name: get(r) for name, get in getters} for r in table.live.values()]

    @_locked
    def count(self, obj: str) -> int:
        return len(self.table(obj).live)

    @_locked
    def reset(self) -> None:
        for table in self._tables.values():
            table.clear()
        self._counter = 0
        self.lock_faults.clear()


# ------------------------------------------------------------------------------------------
# Small helpers
# ------------------------------------------------------------------------------------------


def _value_ci(record: Mapping[str, Any], name: str) -> Any:
    """``record[name]`` with the key in any letter case (API names are case-insensitive)."""
    if name in record:
        return record[name]
    lowered = name.lower()
    for key, value in record.items():
        if key.lower() == lowered:
            return value
    return None


def _required_error(names: list[str]) -> RecordError:
    return RecordError(
        "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(names)}]", names
    )


def _not_writable_error(names: list[str], *, creating: bool) -> RecordError:
    verb = "create" if creating else "update"
    return RecordError(
        "INVALID_FIELD_FOR_INSERT_UPDATE",
        f"Unable to {verb}/update fields: {', '.join(names)}. Please check the security settings "
        "of this field and verify that it is read/write for your profile or permission set.",
        names,
    )


def _missing_id_error() -> RecordError:
    return RecordError("MISSING_ARGUMENT", "Id not specified in an update call", [])


def _multiple_matches_error(key_field: FieldSchema, matches: list[Record]) -> RecordError:
    ids = ", ".join(r["Id"] for r in matches)
    return RecordError(
        "DUPLICATE_EXTERNAL_ID",
        f"{key_field.label}: more than one record found for external id field: [{ids}]",
        [key_field.name],
    )


def _rolled_back(result: SaveResult, operation: str) -> SaveResult:
    if not result.success:
        return result
    return SaveResult(
        id=None if result.created or operation == "create" else result.id,
        success=False,
        errors=[RecordError("ALL_OR_NONE_OPERATION_ROLLED_BACK", ROLLED_BACK_MESSAGE, [])],
    )

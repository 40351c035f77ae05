"""The records of one emulated org and the operations the APIs perform on them.

``OrgData`` is the org: one table per object (``table``), the REST, sObject Collections
(``sobject_collections``) and Bulk operations on them, SOQL queries and seeding helpers. Writes go
through the validated core in ``org_core``. It has no HTTP code; the server turns its results and
``ApiError`` exceptions (``results``) into responses.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from sf_emulator import soql as soql_engine
from sf_emulator import soql_eval
from sf_emulator.field_values import FieldValueError
from sf_emulator.model import FieldSchema, ObjectSchema
from sf_emulator.org_core import locked, value_ci
from sf_emulator.results import (
    ApiError,
    IngestResult,
    QueryResult,
    RecordError,
    SaveResult,
    failure,
)
from sf_emulator.sobject_collections import CollectionOperations
from sf_emulator.soql_syntax import Query, SoqlError
from sf_emulator.table import Record, Table


class OrgData(CollectionOperations):
    """All records of one emulated org and the operations the APIs perform on them.

    ``system_records`` (per object, e.g. the ``Organization`` row and the integration ``User``)
    exist from the start and come back after ``reset``; the first User is the records' owner.
    """

    def __init__(
        self,
        *args: Any,
        system_records: Mapping[str, list[dict[str, Any]]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._system_records = {
            obj: [dict(record) for record in records]
            for obj, records in (system_records or {}).items()
            if obj.lower() in self._tables
        }
        users = self._system_records.get("User")
        if users:
            self.user_id = str(users[0]["Id"])
        self._seed_system_records()

    def _seed_system_records(self) -> None:
        for obj, records in self._system_records.items():
            self.load_records(obj, records)

    # -- REST single-record operations ----------------------------------------------------

    @locked
    def create(self, obj: str, fields: dict[str, Any]) -> SaveResult:
        table = self.table(obj)
        return self._create_from_json(table, fields, self._now())

    @locked
    def update(self, obj: str, record_id: str, fields: dict[str, Any]) -> SaveResult:
        table = self.table(obj)
        self._require_existing(table, record_id)
        return self._update_from_json(table, record_id, fields, self._now())

    @locked
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
            return failure(matches)
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

    @locked
    def delete(self, obj: str, record_id: str) -> SaveResult:
        table = self.table(obj)
        self._require_existing(table, record_id)
        return self._delete_one(table, record_id, hard=False)

    @locked
    def get(
        self,
        obj: str,
        record_id: str,
        fields: list[str] | None = None,
        api_version: str | None = None,
    ) -> dict[str, Any]:
        table = self.table(obj)
        _, record, deleted = table.find(record_id)
        if deleted:
            raise ApiError(404, "ENTITY_IS_DELETED", "entity is deleted")
        if record is None:
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        columns = self._fields_by_name(table, fields) if fields else list(table.schema.fields)
        return self._rest_record(table, record, columns, api_version)

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
        self,
        table: Table,
        record: Record,
        columns: Iterable[FieldSchema],
        api_version: str | None = None,
    ) -> dict[str, Any]:
        result: dict[str, Any] = {
            "attributes": {
                "type": table.schema.name,
                "url": self.record_url(table.schema.name, record["Id"], api_version),
            }
        }
        for fld in columns:
            result[fld.name] = table.getter(fld)(record)
        return result

    # -- Bulk API -------------------------------------------------------------------------

    @locked
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
            results = [self._delete_one(table, value_ci(r, "Id"), hard=hard) for r in records]
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

    @locked
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

    @locked
    def bulk_query(
        self, soql: str, include_deleted: bool = False
    ) -> tuple[list[str], Iterator[list[str]]]:
        from sf_emulator import bulk

        table, parsed, matches = self._run_query(soql, include_deleted)
        return bulk.query_rows(table, parsed, matches)

    # -- SOQL ----------------------------------------------------------------------------

    @locked
    def query(
        self, soql: str, include_deleted: bool = False, api_version: str | None = None
    ) -> QueryResult:
        """Run a SOQL query; record URLs name ``api_version`` (the request's), as Salesforce's."""
        table, parsed, matches = self._run_query(soql, include_deleted)
        if parsed.count_only:
            return QueryResult(records=[], total_size=len(matches), columns=[])
        columns = parsed.columns
        name = table.schema.name
        url_prefix = f"/services/data/v{api_version or self.api_version}/sobjects/{name}/"
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

    @locked
    def query_columns(self, soql: str) -> tuple[ObjectSchema, list[FieldSchema]]:
        """The object and selected fields of a query, without running it (``columns=true``)."""
        table, parsed, _ = self._run_query(soql, False, execute=False)
        return table.schema, list(parsed.columns)

    def _run_query(
        self, soql: str, include_deleted: bool, *, execute: bool = True
    ) -> tuple[Table, Query, list[Record]]:
        schemas = {name: t.schema for name, t in self._tables.items()}
        try:
            parsed = soql_engine.parse(soql, schemas)
            table = self._tables[parsed.obj.name.lower()]
            if not execute:
                return table, parsed, []
            matches = soql_eval.execute(parsed, table, include_deleted=include_deleted)
        except SoqlError as error:
            raise ApiError(400, error.error_code, error.message) from None
        return table, parsed, matches

    # -- seeding and inspection -----------------------------------------------------------

    @locked
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

    @locked
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

    @locked
    def records(self, obj: str) -> list[dict[str, Any]]:
        """Every live record as a plain dict of all fields (REST values, nulls included)."""
        table = self.table(obj)
        getters = [(f.name, table.getter(f)) for f in table.schema.fields]
        return [{name: get(r) for name, get in getters} for r in table.live.values()]

    @locked
    def count(self, obj: str) -> int:
        return len(self.table(obj).live)

    @locked
    def reset(self) -> None:
        for table in self._tables.values():
            table.clear()
        self._counter = 0
        self.lock_faults.clear()
        self._seed_system_records()

"""Per-record validation of writes against the object schemas, with Salesforce's error codes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from sf_emulator.field_values import Converter, FieldValueError
from sf_emulator.model import FieldSchema, ObjectSchema
from sf_emulator.results import RecordError, not_writable_error
from sf_emulator.soql_eval import index_key
from sf_emulator.table import Table, index_ids


class ConverterSource(Protocol):
    """Where validation gets a field's value converter (the org caches them)."""

    def converter(self, schema: ObjectSchema, fld: FieldSchema, *, from_csv: bool) -> Converter: ...

    def relationship_field(self, schema: ObjectSchema, name: str) -> FieldSchema | None: ...

    def parent_id_from_json(self, ref: FieldSchema, raw: Any) -> str: ...


def convert_json(
    converters: ConverterSource, table: Table, fields: Mapping[str, Any], *, creating: bool
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
        if fld is None and isinstance(raw, Mapping):
            # Relationship syntax: {"Contact__r": {"Email": "x"}} sets Contact__c to that Contact.
            ref = converters.relationship_field(schema, name)
            if ref is not None:
                if not (ref.createable if creating else ref.updateable):
                    not_writable.append(ref.name)
                    continue
                try:
                    values[ref.name] = converters.parent_id_from_json(ref, raw)
                except FieldValueError as error:
                    errors.append(RecordError(error.status_code, error.message, error.fields))
                continue
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
            values[fld.name] = converters.converter(schema, fld, from_csv=False)(raw)
        except FieldValueError as error:
            errors.append(RecordError(error.status_code, error.message, error.fields))
    if not_writable:
        errors.insert(0, not_writable_error(not_writable, creating=creating))
    return values, errors


def missing_record_error(
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


def reference_error(
    tables: Mapping[str, Table], table: Table, values: Mapping[str, Any]
) -> RecordError | None:
    """A reference to a record that does not exist (only for objects the org models)."""
    for name, target in table.reference_targets:
        value = values.get(name)
        if value is not None and value not in tables[target].live:
            return RecordError(
                "INVALID_CROSS_REFERENCE_KEY",
                f"invalid cross reference id: {value}",
                [name],
            )
    return None


def unique_error(
    table: Table, values: Mapping[str, Any], record_id: str | None
) -> RecordError | None:
    for fld in table.unique_fields:
        if values.get(fld.name) is None:
            continue
        key = index_key(fld, values[fld.name])
        others = [i for i in index_ids(table.index(fld).keys, key) if i != record_id]
        if others:
            return RecordError(
                "DUPLICATE_VALUE",
                f"duplicate value found: {fld.name} duplicates value on record with id: "
                f"{others[0]}",
                [fld.name],
            )
    return None

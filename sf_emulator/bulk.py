"""Bulk API 2.0 CSV processing and synthetic data for ``store.OrgData``.

Ingest follows Salesforce's CSV rules: columns are matched to fields by header name (any order,
any letter case), an empty value leaves the field unchanged, ``#N/A`` sets it to null. Everything
per column (field, converter, whether it may be written) is worked out once from the header so the
per-row loop does only the conversions and the write; a million-row update takes seconds.
"""

from __future__ import annotations

import csv
import io
import random
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sf_emulator.field_values import Converter, FieldValueError, stored_datetime
from sf_emulator.model import DECIMAL_TYPES, ID_TYPES, INTEGER_TYPES, FieldSchema
from sf_emulator.record_ids import normalize_id
from sf_emulator.results import (
    ApiError,
    IngestResult,
    RecordError,
    SaveResult,
    failure,
    multiple_matches_error,
    not_writable_error,
)
from sf_emulator.soql_eval import index_key
from sf_emulator.soql_syntax import Query

if TYPE_CHECKING:
    from sf_emulator.store import OrgData
    from sf_emulator.table import Table

DELIMITERS = {
    "COMMA": ",",
    "TAB": "\t",
    "PIPE": "|",
    "SEMICOLON": ";",
    "CARET": "^",
    "BACKQUOTE": "`",
}
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}
INGEST_OPERATIONS = ("insert", "update", "upsert", "delete", "hardDelete")
NULL_MARKER = "#N/A"

Row = list[str]


@dataclass(frozen=True)
class _Column:
    position: int
    fld: FieldSchema
    convert: Converter
    writable: bool


def _invalid_batch(message: str) -> ApiError:
    return ApiError(400, "InvalidBatch", f"InvalidBatch : {message}")


# ------------------------------------------------------------------------------------------
# Ingest
# ------------------------------------------------------------------------------------------


def ingest(
    org: OrgData,
    table: Table,
    operation: str,
    csv_bytes: bytes,
    *,
    external_id_field: str | None = None,
    column_delimiter: str = "COMMA",
    line_ending: str = "LF",
) -> Any:
    """Process one Bulk 2.0 ingest job's data; returns ``results.IngestResult``.

    A problem with the job as a whole (operation, header, encoding) raises ``ApiError`` so the
    server can mark the job Failed; problems with single rows go to the failed results.
    """
    if operation not in INGEST_OPERATIONS:
        raise _invalid_batch(f"unsupported operation: {operation}")
    delimiter = DELIMITERS.get(column_delimiter.upper())
    newline = LINE_ENDINGS.get(line_ending.upper())
    if delimiter is None or newline is None:
        raise _invalid_batch(
            f"unsupported columnDelimiter/lineEnding: {column_delimiter}/{line_ending}"
        )
    try:
        text = csv_bytes.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _invalid_batch(f"the data is not UTF-8 encoded ({exc.reason})") from None
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = next(reader, None)
    if not header or header == [""]:
        raise _invalid_batch("the CSV data has no header row")
    columns = _resolve_columns(org, table, header, operation)
    processor = _RowProcessor(org, table, operation, columns, external_id_field)

    success_buffer, failed_buffer = io.StringIO(), io.StringIO()
    success = csv.writer(success_buffer, quoting=csv.QUOTE_ALL, lineterminator=newline)
    failed = csv.writer(failed_buffer, quoting=csv.QUOTE_ALL, lineterminator=newline)
    success.writerow(["sf__Id", "sf__Created", *header])
    failed.writerow(["sf__Id", "sf__Error", *header])
    # Blank lines are skipped. Only upsert needs every row up front (to find repeated keys);
    # the other operations stream the rows.
    rows: Iterable[Row] = filter(None, reader)
    if operation == "upsert":
        rows = list(rows)
        processor.prepare(rows)
    processed = failures = 0
    width = len(header)
    handle = processor.update if operation == "update" else processor.process
    for row in rows:
        processed += 1
        result = handle(row) if len(row) == width else _row_width_failure(len(row), width)
        if result.success:
            success.writerow([result.id, "true" if result.created else "false", *row])
        else:
            failures += 1
            error_text = "\n".join(e.csv_text() for e in result.errors)
            failed.writerow([result.id or "", error_text, *row])
    unprocessed = io.StringIO()
    csv.writer(unprocessed, quoting=csv.QUOTE_ALL, lineterminator=newline).writerow(header)
    return IngestResult(
        successful_csv=success_buffer.getvalue(),
        failed_csv=failed_buffer.getvalue(),
        unprocessed_csv=unprocessed.getvalue(),
        processed=processed,
        failed=failures,
    )


def _resolve_columns(org: OrgData, table: Table, header: Row, operation: str) -> dict[str, _Column]:
    """Header names -> columns keyed by field name; an unknown field fails the whole job."""
    schema = table.schema
    columns: dict[str, _Column] = {}
    creating = operation == "insert"
    for position, name in enumerate(header):
        fld = schema.field(name)
        convert = None
        if fld is None and "." in name:
            # Relationship syntax: the column `Contact__r.Email` sets Contact__c to the Contact
            # whose Email is the cell's value.
            relationship, parent_field = name.split(".", 1)
            fld = org.relationship_field(schema, relationship)
            if fld is not None:
                convert = _parent_converter(org, fld, parent_field)
        if fld is None:
            raise _invalid_batch(f"Field name not found : {name}")
        if fld.name in columns:
            raise _invalid_batch(f"Duplicate field name: {name}")
        writable = fld.createable if creating else fld.updateable
        if operation == "upsert":
            writable = fld.createable or fld.updateable
        columns[fld.name] = _Column(
            position, fld, convert or org.converter(schema, fld, from_csv=True), writable
        )
    if operation in ("update", "delete", "hardDelete") and "Id" not in columns:
        raise _invalid_batch("Field name not provided: Id")
    return columns


def _parent_converter(org: OrgData, ref: FieldSchema, parent_field: str) -> Converter:
    def convert(value: Any) -> Any:
        return org.parent_id(ref, parent_field, value)

    return convert


def _row_width_failure(found: int, expected: int) -> SaveResult:
    return SaveResult(
        id=None,
        success=False,
        errors=[
            RecordError(
                "INVALID_FIELD",
                f"the row has {found} values but the header has {expected} columns",
                [],
            )
        ],
    )


class _RowProcessor:
    """Turns one CSV row into a write on the org (the per-row hot path)."""

    def __init__(
        self,
        org: OrgData,
        table: Table,
        operation: str,
        columns: dict[str, _Column],
        external_id_field: str | None,
    ) -> None:
        self.org = org
        self.table = table
        self.operation = operation
        self.now = stored_datetime(datetime.now(UTC))
        self.id_position = columns["Id"].position if "Id" in columns else None
        self.key_field: FieldSchema | None = None
        self.key_position: int | None = None
        if operation == "upsert":
            self.key_field = org._external_id_field(table, external_id_field or "Id")
            key_column = columns.get(self.key_field.name)
            if key_column is None:
                raise _invalid_batch(
                    f"External ID field not in the CSV header: {self.key_field.name}"
                )
            self.key_position = key_column.position
        value_columns = [c for c in columns.values() if c.fld.type != "id"]
        self.writable = [(c.position, c.fld.name, c.convert) for c in value_columns if c.writable]
        self.read_only = [(c.position, c.fld.name) for c in value_columns if not c.writable]
        self.duplicate_keys: set[Any] = set()

    def prepare(self, rows: list[Row]) -> None:
        """Find external ids given more than once in the job (those rows all fail)."""
        if self.key_field is None or self.key_field.type == "id" or self.key_position is None:
            return
        position = self.key_position
        counts = Counter(
            index_key(self.key_field, row[position])
            for row in rows
            if len(row) > position and row[position]
        )
        self.duplicate_keys = {key for key, seen in counts.items() if seen > 1}

    def values(self, row: Row) -> dict[str, Any] | RecordError:
        """The row's field values in stored form (empty = not given, ``#N/A`` = null)."""
        if self.read_only:
            given = [name for position, name in self.read_only if row[position]]
            if given:
                return not_writable_error(given, creating=self.operation == "insert")
        values: dict[str, Any] = {}
        try:
            for position, name, convert in self.writable:
                raw = row[position]
                if raw:
                    values[name] = None if raw == NULL_MARKER else convert(raw)
        except FieldValueError as error:
            return RecordError(error.status_code, error.message, error.fields)
        return values

    def process(self, row: Row) -> SaveResult:
        operation = self.operation
        if operation == "update":
            return self.update(row)
        if operation in ("delete", "hardDelete"):
            hard = operation == "hardDelete"
            return self.org._delete_one(self.table, row[self.id_position], hard=hard)  # type: ignore[index]
        values = self.values(row)
        if not isinstance(values, dict):
            return SaveResult(id=None, success=False, errors=[values])
        if operation == "insert":
            if self.id_position is not None and row[self.id_position]:
                return failure(_id_on_insert_error())
            return self.org.create_converted(self.table, values, self.now)
        return self.upsert(row, values)

    def update(self, row: Row) -> SaveResult:
        raw_id = row[self.id_position]  # type: ignore[index]
        values = self.values(row)
        if not isinstance(values, dict):
            return SaveResult(id=normalize_id(raw_id), success=False, errors=[values])
        return self.org.update_converted(self.table, raw_id, values, self.now)

    def upsert(self, row: Row, values: dict[str, Any]) -> SaveResult:
        org, table, key_field = self.org, self.table, self.key_field
        assert key_field is not None and self.key_position is not None
        raw_key = row[self.key_position]
        if key_field.type == "id":
            if raw_key:
                return org.update_converted(table, raw_key, values, self.now)
            return org.create_converted(table, values, self.now)
        if not raw_key:
            return failure(RecordError("MISSING_ARGUMENT", f"{key_field.name} not specified", []))
        if index_key(key_field, raw_key) in self.duplicate_keys:
            return failure(
                RecordError(
                    "DUPLICATE_EXTERNAL_ID",
                    f"Duplicate external id specified: {raw_key}",
                    [key_field.name],
                )
            )
        matches = org._matches(table, key_field, raw_key)
        if isinstance(matches, RecordError):
            return failure(matches)
        if len(matches) > 1:
            return failure(multiple_matches_error(key_field, matches))
        if matches:
            values.pop(key_field.name, None)
            return org.update_converted(table, matches[0]["Id"], values, self.now)
        return org.create_converted(table, values, self.now)


def _id_on_insert_error() -> RecordError:
    return RecordError(
        "INVALID_FIELD", "The Id field should not be specified in the sobject data.", ["Id"]
    )


# ------------------------------------------------------------------------------------------
# Query
# ------------------------------------------------------------------------------------------


def query_rows(
    table: Table, parsed: Query, matches: list[dict[str, Any]]
) -> tuple[list[str], Iterator[list[str]]]:
    """CSV header (SELECT order) and rows of strings: null -> "", booleans true/false,
    datetimes ``2024-01-31T12:34:56.000Z``."""
    if parsed.count_only:
        raise _invalid_batch("Aggregate queries are not supported by the Bulk API: COUNT()")
    formatters = [_csv_formatter(table, fld) for fld in parsed.columns]
    header = [fld.name for fld in parsed.columns]

    def rows() -> Iterator[list[str]]:
        for record in matches:
            yield [format_value(record) for format_value in formatters]

    return header, rows()


def _csv_formatter(table: Table, fld: FieldSchema) -> Callable[[dict[str, Any]], str]:
    get = table.getter(fld)
    kind = fld.type
    if fld.is_text or kind in ID_TYPES or kind == "date":
        return lambda record: get(record) or ""
    if kind == "datetime":
        # Stored "…SS.sss+0000" (UTC) -> Bulk's "…SS.sssZ".
        return lambda record: "" if (value := get(record)) is None else value[:23] + "Z"
    if kind == "boolean":
        return lambda record: "true" if get(record) else "false"
    if kind in DECIMAL_TYPES or kind in INTEGER_TYPES:
        return lambda record: "" if (value := get(record)) is None else _number_text(value)
    return lambda record: "" if (value := get(record)) is None else str(value)


def _number_text(value: float | int) -> str:
    """``5.0`` -> ``5``, ``75.5`` -> ``75.5`` (Salesforce writes no trailing zeros)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# ------------------------------------------------------------------------------------------
# Synthetic people
# ------------------------------------------------------------------------------------------

_FIRST_NAMES = (
    "Ada", "Alan", "Grace", "Linus", "Margaret", "Dennis", "Barbara", "Ken", "Frances", "Edsger",
    "Radia", "Tim", "Sophie", "Guido", "Katherine", "John", "Hedy", "Donald", "Anita", "Niklaus",
)  # fmt: skip
_LAST_NAMES = (
    "Lovelace", "Turing", "Hopper", "Torvalds", "Hamilton", "Ritchie", "Liskov", "Thompson",
    "Allen", "Dijkstra", "Perlman", "Berners-Lee", "Wilson", "van Rossum", "Johnson", "Backus",
    "Lamarr", "Knuth", "Borg", "Wirth",
)  # fmt: skip
_DOMAINS = ("example.com", "example.org", "acme.test", "initech.test", "globex.test")
_COMPANIES = ("Acme", "Initech", "Globex", "Umbrella", "Hooli", "Stark Industries", "Wayne Corp")
_TITLES = ("Engineer", "Manager", "Director", "Analyst", "Consultant", None)
_INDUSTRIES = ("Technology", "Finance", "Healthcare", "Retail", "Other")


def _pick(rng: random.Random, options: tuple[Any, ...]) -> Any:
    # random.choice is several times slower; this matters at a million records.
    return options[int(rng.random() * len(options))]


def generate(
    org: OrgData,
    table: Table,
    n: int,
    *,
    seed: int = 0,
    duplicate_email_fraction: float = 0.02,
    mixed_case_fraction: float = 0.1,
) -> list[str]:
    """Insert ``n`` deterministic synthetic records; returns their ids.

    People (Contact, Lead) get a ``WalkMe_User_Id__c`` numbered after the records already in the
    table (so repeated calls stay unique), a share of them reuse an earlier record's e-mail and a
    share have mixed-case e-mails, which is what key matching has to cope with.
    """
    rng = random.Random(seed)
    schema = table.schema
    start = len(table.live) + len(table.deleted)
    now = stored_datetime(datetime.now(UTC))
    fixed = {
        "OwnerId": org.user_id,
        "CreatedById": org.user_id,
        "LastModifiedById": org.user_id,
        "CreatedDate": now,
        "LastModifiedDate": now,
        "SystemModstamp": now,
    }
    is_person = schema.field("LastName") is not None
    has_company = schema.field("Company") is not None
    has_user_id = schema.field("WalkMe_User_Id__c") is not None
    emails: list[str] = []
    ids: list[str] = []
    for offset in range(n):
        ordinal = start + offset + 1
        record: dict[str, Any] = dict(fixed)
        record["Id"] = org.new_id(schema)
        if is_person:
            first = _pick(rng, _FIRST_NAMES)
            last = _pick(rng, _LAST_NAMES)
            record["FirstName"] = first
            record["LastName"] = last
            local = f"{first}.{last}".lower().replace(" ", "").replace("-", "") + str(ordinal)
            email = _synthetic_email(rng, local, emails, duplicate_email_fraction)
            if rng.random() < mixed_case_fraction:
                email = _mixed_case(email)
            emails.append(email)
            record["Email"] = email
            title = _pick(rng, _TITLES)
            if title is not None:
                record["Title"] = title
            if has_company:
                record["Company"] = f"{_pick(rng, _COMPANIES)} {ordinal % 997}"
                record["Status"] = "Open - Not Contacted"
            if has_user_id:
                record["WalkMe_User_Id__c"] = f"WM-{ordinal:08d}"
        else:
            record["Name"] = f"{_pick(rng, _COMPANIES)} {ordinal}"
            if schema.field("Industry") is not None:
                record["Industry"] = _pick(rng, _INDUSTRIES)
        table.insert(record)
        ids.append(record["Id"])
    return ids


def _synthetic_email(
    rng: random.Random, unique_local_part: str, earlier: list[str], duplicate_fraction: float
) -> str:
    """A new address, or (with ``duplicate_fraction`` probability) an earlier record's."""
    if earlier and rng.random() < duplicate_fraction:
        return earlier[rng.randrange(len(earlier))].lower()
    return f"{unique_local_part}@{_pick(rng, _DOMAINS)}"


def _mixed_case(email: str) -> str:
    """``ada.lovelace1@example.com`` -> ``Ada.Lovelace1@Example.com``."""
    local, _, domain = email.partition("@")
    return ".".join(p.capitalize() for p in local.split(".")) + "@" + domain.capitalize()

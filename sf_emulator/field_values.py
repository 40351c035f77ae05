"""Field values: conversion of JSON and CSV input to what the store keeps, with Salesforce's errors.

What the store keeps per type:
  text types, id, reference -> str (ids in 18-character form); "" is stored as null
  boolean -> bool; int/long -> int; double/percent/currency -> float (rounded to scale)
  date -> "yyyy-MM-dd"; datetime -> "yyyy-MM-ddTHH:mm:ss.SSS+0000" (UTC, the REST form)
Both date forms sort correctly as plain strings, which SOQL comparisons rely on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any, cast

from sf_emulator.field_limits import (
    EMAIL,
    MAX_DATE,
    MAX_DATETIME,
    MIN_DATE,
    MIN_DATETIME,
    date_in_range,
    datetime_in_range,
    round_half_up,
    text_length,
    to_decimal,
)
from sf_emulator.model import (
    DECIMAL_TYPES,
    ID_TYPES,
    INTEGER_TYPES,
    TEXT_TYPES,
    FieldSchema,
    ObjectSchema,
)
from sf_emulator.record_ids import normalize_id

Converter = Callable[[Any], Any]

_DATE_LENGTH = 10
_MIN_DATETIME_LENGTH = 19
_UTC_SECONDS_LENGTH = len("2024-01-31T12:34:56Z")
_UTC_MILLIS_LENGTH = len("2024-01-31T12:34:56.000Z")
_NUMBER_INPUT_TYPES = frozenset({int, float, str})
_CSV_TRUE = frozenset({"true", "1"})
_CSV_FALSE = frozenset({"false", "0"})


class FieldValueError(ValueError):
    """A value that cannot be stored in a field; becomes a per-record error."""

    def __init__(self, status_code: str, message: str, fields: list[str]) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.fields = fields


def parse_datetime(text: str) -> str | None:
    """ISO-8601 date-time (``Z``, ``+hh:mm``, ``+hhmm`` or no offset = UTC) in the stored form."""
    if len(text) < _MIN_DATETIME_LENGTH or text[10] not in "Tt" or text[4] != "-":
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    # Fast path for the usual UTC spellings, "…:SSZ" and "…:SS.sssZ" (no re-formatting needed).
    if text[-1] == "Z":
        if len(text) == _UTC_SECONDS_LENGTH:
            return text[:19] + ".000+0000"
        if len(text) == _UTC_MILLIS_LENGTH and text[19] == ".":
            return text[:23] + "+0000"
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    elif parsed.utcoffset():
        parsed = parsed.astimezone(UTC)
    # isoformat ends in "+00:00"; the REST form is "+0000".
    return parsed.isoformat(timespec="milliseconds")[:-6] + "+0000"


def parse_date(text: str) -> str | None:
    """``yyyy-MM-dd`` (no offset, as Salesforce requires), or None."""
    if len(text) != _DATE_LENGTH or text[4] != "-" or text[7] != "-":
        return None
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        return None


def stored_datetime(moment: datetime) -> str:
    """A timezone-aware datetime in the stored (REST) form."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")[:-6] + "+0000"


def value_converter(
    field: FieldSchema,
    schemas: Mapping[str, ObjectSchema] | None = None,
    *,
    from_csv: bool = False,
) -> Converter:
    """A function turning a non-null input value into the stored value of ``field``.

    It raises ``FieldValueError`` with the Salesforce status code and message. ``from_csv``
    accepts the CSV spellings (every value is text; booleans may be ``1``/``0``). Callers handle
    null (JSON null, CSV ``#N/A``) themselves.
    """
    label = field.label
    names = [field.name]

    def wrong_type(value: Any) -> FieldValueError:
        return FieldValueError(
            "INVALID_TYPE_ON_FIELD_IN_RECORD",
            f"{label}: value not of required type: {value}",
            names,
        )

    kind = field.type
    if kind in TEXT_TYPES:
        return _text_converter(field, wrong_type, from_csv=from_csv)
    if kind in ID_TYPES:
        return _id_converter(field, schemas or {}, wrong_type)
    if kind == "boolean":
        return _boolean_converter(wrong_type, from_csv=from_csv)
    if kind in DECIMAL_TYPES or kind in INTEGER_TYPES:
        return _number_converter(field, wrong_type)
    if kind in ("date", "datetime"):
        return _temporal_converter(field, wrong_type)
    return _text_converter(field, wrong_type, from_csv=from_csv)


def _text_converter(
    field: FieldSchema, wrong_type: Callable[[Any], FieldValueError], *, from_csv: bool
) -> Converter:
    max_length = field.length
    label = field.label
    names = [field.name]
    is_email = field.type == "email"
    is_multi = field.type == "multipicklist"
    allowed = (
        frozenset(p.value for p in field.picklist_values if p.active)
        if field.restricted_picklist
        else None
    )

    def convert(value: Any) -> Any:
        if not isinstance(value, str):
            if from_csv or isinstance(value, dict | list):
                raise wrong_type(value)
            # JSON numbers and booleans are accepted by text fields, as Salesforce does.
            value = str(value).lower() if isinstance(value, bool) else str(value)
        if not value:
            return None
        if text_length(value) > max_length:
            raise FieldValueError(
                "STRING_TOO_LONG",
                f"{label}: data value too large: {value} (max length={max_length})",
                names,
            )
        if is_email and not EMAIL.match(value):
            raise FieldValueError(
                "INVALID_EMAIL_ADDRESS", f"{label}: invalid email address: {value}", names
            )
        if allowed is not None and (
            any(choice not in allowed for choice in value.split(";"))
            if is_multi
            else value not in allowed
        ):
            # A multi-select value lists its choices separated by ';', each one checked.
            raise FieldValueError(
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                f"{label}: bad value for restricted picklist field: {value}",
                names,
            )
        return value

    return convert


def _id_converter(
    field: FieldSchema,
    schemas: Mapping[str, ObjectSchema],
    wrong_type: Callable[[Any], FieldValueError],
) -> Converter:
    label = field.label
    names = [field.name]
    # Only targets the org models are checked; OwnerId points at Users, which are not emulated.
    known_targets = [schemas[t] for t in field.reference_to if t in schemas]
    prefixes = tuple(s.key_prefix for s in known_targets)

    def convert(value: Any) -> Any:
        if value == "":
            return None
        normalized = normalize_id(value)
        if normalized is None or (prefixes and not normalized.startswith(prefixes)):
            raise FieldValueError(
                "FIELD_INTEGRITY_EXCEPTION", f"{label}: id value of incorrect type: {value}", names
            )
        return normalized

    return convert


def _boolean_converter(
    wrong_type: Callable[[Any], FieldValueError], *, from_csv: bool
) -> Converter:
    def convert(value: Any) -> Any:
        if isinstance(value, bool):
            return value
        if isinstance(value, str):
            lowered = value.lower()
            if lowered in _CSV_TRUE and (from_csv or lowered == "true"):
                return True
            if lowered in _CSV_FALSE and (from_csv or lowered == "false"):
                return False
        raise wrong_type(value)

    return convert


def _number_converter(
    field: FieldSchema, wrong_type: Callable[[Any], FieldValueError]
) -> Converter:
    label = field.label
    names = [field.name]
    integer = field.type in INTEGER_TYPES
    scale = 0 if integer else field.scale
    integer_digits = field.digits if integer else field.precision - field.scale
    limit = 10**integer_digits if integer_digits > 0 else None

    def out_of_range(value: Any) -> FieldValueError:
        return FieldValueError(
            "NUMBER_OUTSIDE_VALID_RANGE",
            f"{label}: value outside of valid range on numeric field: {value}",
            names,
        )

    def convert(value: Any) -> Any:
        cls = value.__class__
        if cls not in _NUMBER_INPUT_TYPES:  # bool is an int subclass: refused
            raise wrong_type(value)
        if cls is int or (cls is str and value.isdigit()):
            whole = int(value)  # the usual case, no rounding to do
            if limit is not None and abs(whole) >= limit:
                raise out_of_range(value)
            return whole if integer else float(whole)
        rounded = round_half_up(cast("int | float | str", value), scale)
        if rounded is None:
            raise wrong_type(value)
        if limit is not None and abs(rounded) >= limit:
            raise out_of_range(value)
        if integer:
            if rounded != to_decimal(cast("float | str", value)):
                raise wrong_type(value)
            return int(rounded)
        return float(rounded)

    return convert


def _temporal_converter(
    field: FieldSchema, wrong_type: Callable[[Any], FieldValueError]
) -> Converter:
    if field.type == "date":
        parse, in_range, bounds = parse_date, date_in_range, (MIN_DATE, MAX_DATE)
    else:
        parse, in_range, bounds = parse_datetime, datetime_in_range, (MIN_DATETIME, MAX_DATETIME)
    label, names = field.label, [field.name]

    def convert(value: Any) -> Any:
        parsed = parse(value) if isinstance(value, str) else None
        if parsed is None:
            raise wrong_type(value)
        if not in_range(parsed):
            # The valid range is documented (field_limits), the exact error is not [code
            # UNVERIFIED]: the record fails with a per-record error naming the field and value.
            raise FieldValueError(
                "INVALID_TYPE_ON_FIELD_IN_RECORD",
                f"{label}: value not of required type: {value} (valid from {bounds[0]} to "
                f"{bounds[1]})",
                names,
            )
        return parsed

    return convert

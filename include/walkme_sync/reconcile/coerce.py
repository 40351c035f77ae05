"""Turn report values into what a Salesforce field accepts, and compare them with what it holds.

`coerce_for_field` is strict: a value that Salesforce would reject (too long, too many digits, not
an e-mail address...) is rejected here with a reason a person can act on, so it becomes a
`rejected` row instead of a failed API call. `values_equal` decides "unchanged": it compares what
Salesforce returns (JSON from REST, strings from Bulk CSV) with the coerced new value semantically.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from include.walkme_sync.metadata import (
    INTEGER_TYPES,
    NUMBER_TYPES,
    TEXT_TYPES,
    FieldInfo,
    WireValue,
)
from include.walkme_sync.reconcile.limits import (
    MAX_DATE,
    MAX_DATETIME,
    MIN_DATE,
    MIN_DATETIME,
    SALESFORCE_EMAIL,
    control_character,
    text_length,
)

_SALESFORCE_ID = re.compile(r"^[A-Za-z0-9]{15}([A-Za-z0-9]{3})?$")
_TRUE = frozenset({"true", "1", "yes", "y", "t"})
_FALSE = frozenset({"false", "0", "no", "n", "f"})
_SHOWN_VALUE_CHARS = 60
# Shared with the column-wise coercion (`reconcile.columns`), which must decide exactly like the
# scalar functions here.
SALESFORCE_ID_PATTERN = _SALESFORCE_ID
MAX_INT_DIGITS = {"int": 9, "long": 18}


class ValueRejected(ValueError):
    """A report value the target field cannot take. `str()` names the field, value and limit."""

    def __init__(self, reason: str, *, field: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field

    def __str__(self) -> str:
        return f"Field {self.field}: {self.reason}" if self.field else self.reason


def is_null(value: object) -> bool:
    """None, NaN, NaT, pandas NA and blank strings are all "no value"."""
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip() == ""
    if isinstance(value, float):
        return math.isnan(value)
    if type(value).__name__ in {"NAType", "NaTType"}:  # pandas NA / NaT, without importing pandas
        return True
    try:
        # numpy NaN / NaT scalars
        result = value != value  # noqa: PLR0124 - NaN-like values are unequal to themselves
        return bool(result)
    except (TypeError, ValueError):
        return False


def _show(value: object) -> str:
    text = str(value)
    return repr(text if len(text) <= _SHOWN_VALUE_CHARS else text[:_SHOWN_VALUE_CHARS] + "…")


def coerce_for_field(value: object, field: FieldInfo) -> WireValue:
    """Convert `value` to the JSON value `field` accepts; None stays None (= no value).

    Raises `ValueRejected` when Salesforce would reject the value.
    """
    if is_null(value):
        return None
    value = _unwrap_numpy(value)
    kind = field.type
    try:
        if kind == "date":
            return _date_in_range(_to_date(value), value).isoformat()
        if kind == "datetime":
            return format_datetime(_datetime_in_range(_to_datetime(value), value))
        if kind in INTEGER_TYPES:
            return _to_integer(value, field)
        if kind in NUMBER_TYPES:
            return _to_number(value, field)
        if kind == "boolean":
            return _to_boolean(value)
        if kind == "email":
            return _to_email(value, field)
        if kind in {"id", "reference"}:
            return _to_id(value)
        if kind in TEXT_TYPES:
            return _to_text(value, field)
    except ValueRejected as rejected:
        rejected.field = field.name
        raise
    raise ValueRejected(f"fields of type {kind} are not supported by the sync", field=field.name)


def _unwrap_numpy(value: object) -> object:
    """numpy scalars -> Python scalars; pandas Timestamp stays (it is a datetime)."""
    item = getattr(value, "item", None)
    if item is not None and type(value).__module__ == "numpy":
        return item()
    return value


def _to_date(value: object) -> dt.date:
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            return (
                dt.date.fromisoformat(text[:10]) if len(text) >= 10 else dt.date.fromisoformat(text)
            )
        except ValueError:
            pass
    raise ValueRejected(f"{_show(value)} is not a date (expected YYYY-MM-DD)")


def _date_in_range(day: dt.date, value: object) -> dt.date:
    if not MIN_DATE <= day <= MAX_DATE:
        raise ValueRejected(
            f"{_show(value)} is outside the dates Salesforce accepts "
            f"({MIN_DATE.isoformat()} to {MAX_DATE.isoformat()})"
        )
    return day


def _datetime_in_range(moment: dt.datetime, value: object) -> dt.datetime:
    if not MIN_DATETIME <= moment <= MAX_DATETIME:
        raise ValueRejected(
            f"{_show(value)} is outside the date-times Salesforce accepts "
            f"({format_datetime(MIN_DATETIME)} to {format_datetime(MAX_DATETIME)})"
        )
    return moment


def _to_datetime(value: object) -> dt.datetime:
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        moment = parse_salesforce_datetime(value)
    else:
        raise ValueRejected(f"{_show(value)} is not a date-time")
    # A naive date-time from the report is UTC by contract (ARCHITECTURE: datetime64[UTC]).
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def parse_salesforce_datetime(text: str) -> dt.datetime:
    """Parse `2024-01-31T12:34:56.000+0000`, `...Z`, `...+01:00` or a plain ISO date-time."""
    cleaned = text.strip()
    if cleaned.endswith(("Z", "z")):
        cleaned = cleaned[:-1] + "+00:00"
    cleaned = re.sub(r"([+-]\d\d)(\d\d)$", r"\1:\2", cleaned)
    try:
        return dt.datetime.fromisoformat(cleaned)
    except ValueError:
        raise ValueRejected(f"{_show(text)} is not a date-time") from None


def format_datetime(moment: dt.datetime) -> str:
    """Salesforce's UTC form with milliseconds: 2024-01-31T12:34:56.789Z."""
    utc = moment.astimezone(dt.UTC) if moment.tzinfo else moment
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _to_decimal(value: object) -> Decimal:
    if isinstance(value, bool):
        raise ValueRejected(f"{_show(value)} is a true/false value, not a number")
    if isinstance(value, int | float | Decimal):
        if isinstance(value, float) and math.isinf(value):
            raise ValueRejected(f"{_show(value)} is not a finite number")
        return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if isinstance(value, str):
        try:
            number = Decimal(value.strip().replace(",", ""))
        except InvalidOperation:
            raise ValueRejected(f"{_show(value)} is not a number") from None
        if number.is_finite():
            return number
    raise ValueRejected(f"{_show(value)} is not a number")


def _integer_digits(number: Decimal) -> int:
    whole = abs(int(number))
    return len(str(whole)) if whole else 0


def _to_integer(value: object, field: FieldInfo) -> int:
    number = _to_decimal(value)
    if number != number.to_integral_value():
        raise ValueRejected(f"{_show(value)} is not a whole number")
    limit = field.digits or MAX_INT_DIGITS.get(field.type, 9)
    if _integer_digits(number) > limit:
        raise ValueRejected(f"{_show(value)} has more than {limit} digits")
    return int(number)


def _to_number(value: object, field: FieldInfo) -> int | float:
    number = _to_decimal(value)
    scale = max(field.scale, 0)
    rounded = number.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP)
    if field.precision:
        allowed = field.precision - scale
        if _integer_digits(rounded) > allowed:
            raise ValueRejected(
                f"{_show(value)} has more than {allowed} digits before the decimal point "
                f"(precision {field.precision}, scale {scale})"
            )
    return int(rounded) if scale == 0 else float(rounded)


def _to_boolean(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
    raise ValueRejected(f"{_show(value)} is not true/false")


def _as_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return format_datetime(value if value.tzinfo else value.replace(tzinfo=dt.UTC))
    if isinstance(value, dt.date):
        return value.isoformat()
    # Salesforce trims text values on save; trimming here keeps re-runs a no-op.
    return str(value).strip()


def _check_length(text: str, field: FieldInfo) -> None:
    control = control_character(text)
    if control is not None:
        raise ValueRejected(
            f"{_show(text)} contains the control character {control}, which Salesforce cannot store"
        )
    if field.length and (length := text_length(text)) > field.length:
        # Salesforce counts UTF-16 units: say so when that is why the value is too long.
        counted = "" if length == len(text) else ", characters beyond U+FFFF count twice"
        raise ValueRejected(
            f"{_show(text)} is longer than {field.length} characters ({length}{counted})"
        )


def _to_text(value: object, field: FieldInfo) -> str:
    text = _as_text(value)
    _check_length(text, field)
    unknown = unknown_picklist_values(text, field)
    if unknown:
        # Salesforce refuses these (INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST); say what it takes.
        allowed = ", ".join(field.picklist_values)
        raise ValueRejected(
            f"{', '.join(map(_show, unknown))} is not one of the picklist's values ({allowed})"
        )
    return text


def unknown_picklist_values(text: str, field: FieldInfo) -> list[str]:
    """The values of `text` a restricted (multi-select) picklist does not offer; a
    multi-select value lists its choices separated by ';'."""
    if not field.restricted_picklist or field.type not in {"picklist", "multipicklist"}:
        return []
    choices = text.split(";") if field.type == "multipicklist" else [text]
    return [choice for choice in choices if choice not in field.picklist_values]


def _to_email(value: object, field: FieldInfo) -> str:
    text = _as_text(value)
    if not SALESFORCE_EMAIL.match(text):
        raise ValueRejected(f"{_show(text)} is not an e-mail address Salesforce accepts")
    _check_length(text, field)
    return text


def _to_id(value: object) -> str:
    text = _as_text(value)
    if not _SALESFORCE_ID.match(text):
        raise ValueRejected(f"{_show(text)} is not a Salesforce Id (15 or 18 letters and digits)")
    return text


def values_equal(current: Any, new: WireValue, field: FieldInfo) -> bool:
    """Whether Salesforce's `current` value already equals the coerced `new` value.

    `current` is what Salesforce returns: JSON (numbers as floats, booleans, datetimes like
    `2024-01-31T12:34:56.000+0000`) or Bulk CSV text (everything a string, "" for null).
    """
    if type(current) in (str, int, float) and type(current) is type(new) and current == new:
        return True  # fast path: identical values are equal under every rule below
    if is_null(current) or current == "#N/A":
        current = None
    if new is None or current is None:
        if field.type == "boolean":  # a checkbox is never null: null means false
            return bool(_bool_or_none(current)) == bool(new)
        return new is None and current is None
    try:
        kind = field.type
        if kind == "date":
            return _to_date(current) == _to_date(new)
        if kind == "datetime":
            return _same_instant(_to_datetime(current), _to_datetime(new))
        if kind in INTEGER_TYPES or kind in NUMBER_TYPES:
            return _same_number(current, new, field)
        if kind == "boolean":
            return _bool_or_none(current) == _to_boolean(new)
        if kind == "email":
            return str(current).strip().casefold() == str(new).strip().casefold()
        if kind in {"id", "reference"}:
            return str(current)[:15] == str(new)[:15]
    except ValueRejected:
        return False
    return _as_text(current) == _as_text(new)


def _bool_or_none(value: object) -> bool | None:
    if value is None:
        return None
    try:
        return _to_boolean(value)
    except ValueRejected:
        return None


def _same_instant(a: dt.datetime, b: dt.datetime) -> bool:
    # Salesforce keeps milliseconds: compare at that resolution.
    return abs((a - b).total_seconds()) < 0.0005


def _same_number(current: object, new: object, field: FieldInfo) -> bool:
    a, b = _to_decimal(current), _to_decimal(new)
    scale = 0 if field.type in INTEGER_TYPES else max(field.scale, 0)
    quantum = Decimal(1).scaleb(-scale)
    return a.quantize(quantum, rounding=ROUND_HALF_EVEN) == b.quantize(
        quantum, rounding=ROUND_HALF_EVEN
    )

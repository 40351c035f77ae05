"""Salesforce's documented limits on field values, as the emulated org enforces them.

Each limit names its source. The sync engine applies the same limits before it writes
(``include/walkme_sync/reconcile/limits.py``), so a value a real org refuses is rejected with a
reason instead of failing in Salesforce; the emulator enforcing them too is what lets the tests
tell when the two disagree.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

# Dates and date-times: "The earliest valid date is 1700-01-01T00:00:00Z GMT ... The latest valid
# date is 4000-12-31T00:00:00Z GMT" (Data Loader guide, "Data Import Dates",
# https://developer.salesforce.com/docs/atlas.en-us.dataLoader.meta/dataLoader/data_loader_dates.htm;
# Salesforce Help article 000383587: dates from 1700-01-01 to 4000-12-31 can be entered).
# Stored forms sort as plain strings, so the bounds are compared as strings.
MIN_DATE = "1700-01-01"
MAX_DATE = "4000-12-31"
MIN_DATETIME = "1700-01-01T00:00:00.000+0000"
MAX_DATETIME = "4000-12-31T00:00:00.000+0000"

# Text lengths count UTF-16 code units: a character outside the Basic Multilingual Plane (an
# emoji, "𠮟") counts as two. Salesforce Help article 005166849, "Surrogate Pair Characters Are
# Treated as Two Characters" (formula functions and the Apex String class; the field length check
# is the same Java string length).

# E-mail addresses, Salesforce Help article 000001145 "How does Salesforce qualify an email
# address?" (and 000384328): local part of letters, digits and !#$%&'*/=?^_+-`{|}~ and dots, not
# starting with a dot; domain of letters, digits and hyphens, in dot-separated labels.
# Internationalized addresses need EAI to be set up in the org, which the emulated org has not.
EMAIL = re.compile(
    r"^[A-Za-z0-9!#$%&'*/=?^_+\-`{|}~][A-Za-z0-9.!#$%&'*/=?^_+\-`{|}~]*"
    r"@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+$"
)


def text_length(text: str) -> int:
    """Length as Salesforce counts it: UTF-16 code units (non-BMP characters count twice)."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def date_in_range(stored: str) -> bool:
    """A stored ``yyyy-MM-dd`` date within Salesforce's valid range."""
    return MIN_DATE <= stored <= MAX_DATE


def datetime_in_range(stored: str) -> bool:
    """A stored ``yyyy-MM-ddTHH:mm:ss.SSS+0000`` date-time within Salesforce's valid range."""
    return MIN_DATETIME <= stored <= MAX_DATETIME


def to_decimal(number: float | int | str) -> Decimal | None:
    """The exact decimal a JSON number or CSV text spells, or None if it is not a finite number."""
    try:
        value = Decimal(number.strip() if isinstance(number, str) else str(number))
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def round_half_up(number: float | int | str, scale: int) -> Decimal | None:
    """``number`` rounded to ``scale`` decimals, ties away from zero, or None if not a number.

    Salesforce rounds a number with more decimals than the field's scale (half up, i.e. away from
    zero for negatives: "Custom Field Types", Number, help.salesforce.com [rounding mode
    UNVERIFIED]); Python's ``round`` would round ties to even and disagree on 0.125 -> 0.13.
    """
    value = to_decimal(number)
    if value is None:
        return None
    return value.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP)

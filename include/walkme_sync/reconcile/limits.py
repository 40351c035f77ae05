"""Salesforce's documented limits on field values, applied before anything is written.

A value outside them would fail in Salesforce (or, worse, be stored differently from what the
report says); checking here turns it into a `rejected` row whose reason names the field, the value
and the limit. The local Salesforce (`sf_emulator/field_limits.py`) enforces the same limits, each
with the same source.
"""

from __future__ import annotations

import datetime as dt
import re

# Dates and date-times: "The earliest valid date is 1700-01-01T00:00:00Z GMT ... The latest valid
# date is 4000-12-31T00:00:00Z GMT" (Data Loader guide, "Data Import Dates",
# https://developer.salesforce.com/docs/atlas.en-us.dataLoader.meta/dataLoader/data_loader_dates.htm;
# Salesforce Help article 000383587: dates from 1700-01-01 to 4000-12-31).
MIN_DATE = dt.date(1700, 1, 1)
MAX_DATE = dt.date(4000, 12, 31)
MIN_DATETIME = dt.datetime(1700, 1, 1, tzinfo=dt.UTC)
MAX_DATETIME = dt.datetime(4000, 12, 31, tzinfo=dt.UTC)

# Text lengths count UTF-16 code units: a character outside the Basic Multilingual Plane (most
# emoji, "𠮟") counts as two (Salesforce Help article 005166849, "Surrogate Pair Characters Are
# Treated as Two Characters": Salesforce strings are Java strings).

# E-mail addresses (Salesforce Help article 000001145 "How does Salesforce qualify an email
# address?", and 000384328): a local part of letters, digits, !#$%&'*/=?^_+-`{|}~ and dots, not
# starting with a dot; a domain of letters, digits and hyphens in dot-separated labels.
# Internationalized addresses are accepted only where the org has set up EAI: not assumed.
SALESFORCE_EMAIL = re.compile(
    r"^[A-Za-z0-9!#$%&'*/=?^_+\-`{|}~][A-Za-z0-9.!#$%&'*/=?^_+\-`{|}~]*"
    r"@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+$"
)

# Phone and URL fields are text to the API: Salesforce checks only their length (the UI formats
# phone numbers, the API stores what it is sent: "Phone" and "URL" field types, Object Reference,
# "Primitive Data Types and Field Types"). Picklists: a restricted picklist refuses values that are
# not among its active values (INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST); an unrestricted one
# takes any text up to its length.

# Control characters other than tab, line feed and carriage return cannot be stored: Salesforce
# serves every record through XML APIs too (SOAP, Bulk XML), and XML 1.0 forbids them, and
# simple-salesforce strips NULs from Bulk results, so such a value would never read back equal.
CONTROL_CHARACTER = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def text_length(text: str) -> int:
    """Length as Salesforce counts it: UTF-16 code units (non-BMP characters count twice)."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def control_character(text: str) -> str | None:
    """The first control character Salesforce cannot store, as ``U+0000``, or None."""
    if text.isprintable():
        return None
    found = CONTROL_CHARACTER.search(text)
    return None if found is None else f"U+{ord(found.group()):04X}"

"""SOQL built safely: escaped literals, checked identifiers, IN lists sized to Salesforce's limits.

A key like ``a' OR Name != '`` is data: every character that could end a literal is escaped.
IN lists are split so that each query fits the 100,000-character SOQL limit and, for REST GETs,
the 16,384-byte URI + headers limit, measured on the URL-encoded text.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote_plus

MAX_SOQL_CHARS = 100_000
MAX_URI_AND_HEADERS_BYTES = 16_384
#: Room left for the request line's path, HTTP version and headers (bearer token, cookies...).
HEADER_ALLOWANCE_BYTES = 3_072
#: Salesforce refuses string literals longer than this in a WHERE clause.
MAX_LITERAL_CHARS = 4_000

_SOQL_ESCAPES = {
    "\\": "\\\\",
    "'": "\\'",
    '"': '\\"',
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
}


def soql_literal(value: str) -> str:
    """`value` as a single-quoted SOQL string literal with Salesforce's escapes.

    Every character that could end the literal is escaped, so `a' OR Name != '` stays data.
    """
    return "'" + "".join(_SOQL_ESCAPES.get(char, char) for char in value) + "'"


def _check_identifier(name: str) -> str:
    """Object and field names go into SOQL unquoted: allow API-name characters only."""
    if not name or not all(c.isalnum() or c in "_." for c in name) or not name[0].isalpha():
        raise ValueError(f"{name!r} is not a Salesforce API name")
    return name


def select_clause(object_name: str, key_field: str, fields: Sequence[str]) -> str:
    """`SELECT Id, <key>, <fields> FROM <object>`; each field once."""
    columns = list(dict.fromkeys(["Id", key_field, *fields]))
    return (
        f"SELECT {', '.join(_check_identifier(c) for c in columns)} "
        f"FROM {_check_identifier(object_name)}"
    )


def plan_in_batches(
    prefix: str,
    literals: Sequence[str],
    *,
    url_path: str = "/services/data/v59.0/query/",
    max_soql_chars: int = MAX_SOQL_CHARS,
    max_uri_bytes: int | None = MAX_URI_AND_HEADERS_BYTES - HEADER_ALLOWANCE_BYTES,
) -> list[list[str]]:
    """Split SOQL literals into IN lists so that `prefix + "(" + ", ".join(batch) + ")"` stays
    within `max_soql_chars`, and, when `max_uri_bytes` is given, so that the GET URI
    (`url_path?q=<url-encoded SOQL>`) stays within it. Sizes are measured, not guessed: a key full
    of characters that URL-encode to 3 bytes each makes smaller batches."""
    base_chars = len(prefix) + 2  # "(" and ")"
    base_bytes = len(url_path) + len("?q=") + len(quote_plus(prefix + "()"))
    separator_bytes = len(quote_plus(", "))
    batches: list[list[str]] = []
    current: list[str] = []
    chars, encoded = base_chars, base_bytes
    for literal in literals:
        extra_chars = len(literal) + (2 if current else 0)
        extra_bytes = len(quote_plus(literal)) + (separator_bytes if current else 0)
        too_long = chars + extra_chars > max_soql_chars
        too_big = max_uri_bytes is not None and encoded + extra_bytes > max_uri_bytes
        if current and (too_long or too_big):
            batches.append(current)
            current, chars, encoded = [], base_chars, base_bytes
            extra_chars, extra_bytes = len(literal), len(quote_plus(literal))
        current.append(literal)
        chars += extra_chars
        encoded += extra_bytes
    if current:
        batches.append(current)
    return batches


def in_query(prefix: str, batch: Sequence[str]) -> str:
    return f"{prefix}({', '.join(batch)})"

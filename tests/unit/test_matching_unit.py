"""Key normalisation, SOQL escaping and IN-batch sizing (no Salesforce needed)."""

from __future__ import annotations

from urllib.parse import quote_plus

import numpy as np
import pandas as pd
import pytest

from include.walkme_sync.keys import normalize_key, normalize_keys
from include.walkme_sync.salesforce.soql import (
    MAX_SOQL_CHARS,
    plan_in_batches,
    select_clause,
    soql_literal,
)


@pytest.mark.parametrize(
    ("value", "kind", "expected"),
    [
        ("  Ann.Lee@Example.COM ", "email", "ann.lee@example.com"),
        ("{0F8FAD5B-D9CB-469F-A165-70867728950E}", "guid", "0f8fad5b-d9cb-469f-a165-70867728950e"),
        ("  user-42 ", "text", "user-42"),
        ("MixedCase", "text", "MixedCase"),
        ("   ", "email", None),
        (None, "guid", None),
        (float("nan"), "text", None),
        (12345, "text", "12345"),
    ],
)
def test_normalize_key(value: object, kind: str, expected: str | None) -> None:
    assert normalize_key(value, kind) == expected


def test_normalize_key_rejects_unknown_kind() -> None:
    with pytest.raises(ValueError, match="key kind"):
        normalize_key("x", "phone")
    with pytest.raises(ValueError, match="key kind"):
        normalize_keys(pd.Series(["x"]), "phone")


AWKWARD_KEYS: list[object] = [
    "  Ann.Lee@Example.COM ",
    "STRASSE@Straße.de",  # casefold, not lower: ß -> ss
    "{0F8FAD5B-D9CB-469F-A165-70867728950E}",
    " { 0F8FAD5B-D9CB-469F-A165-70867728950E } ",
    "{}",
    "\u00a0nbsp@example.com\u3000",
    "\x1cinfo-sep@example.com\x1f",  # Python's str.strip treats these as whitespace
    "O'Brien@Example.com",
    "",
    "   ",
    None,
    float("nan"),
    pd.NA,
    12345,
    1.5,
]


@pytest.mark.parametrize("kind", ["email", "guid", "text"])
def test_normalize_keys_is_normalize_key_column_wise(kind: str) -> None:
    expected = [normalize_key(value, kind) for value in AWKWARD_KEYS]
    assert normalize_keys(AWKWARD_KEYS, kind).tolist() == expected
    assert normalize_keys(pd.Series(AWKWARD_KEYS, dtype=object), kind).tolist() == expected
    strings = [v for v in AWKWARD_KEYS if isinstance(v, str) or v is None]
    for dtype in ("str", "string", object):
        series = pd.Series(strings, dtype=dtype)
        assert normalize_keys(series, kind).tolist() == [normalize_key(v, kind) for v in strings]
    numbers = pd.Series([7, None, 42], dtype="Int64")
    assert normalize_keys(numbers, kind).tolist() == [normalize_key(v, kind) for v in numbers]
    floats = pd.Series([7.0, np.nan, 0.25])
    assert normalize_keys(floats, kind).tolist() == [normalize_key(v, kind) for v in floats]
    assert normalize_keys(pd.Series([], dtype="str"), kind).tolist() == []


def test_soql_literal_escapes_everything_that_could_end_the_literal() -> None:
    assert soql_literal("plain@example.com") == "'plain@example.com'"
    assert soql_literal("O'Brien") == r"'O\'Brien'"
    assert soql_literal('a\\b"c\nd\re\tf\bg\fh') == r"'a\\b\"c\nd\re\tf\bg\fh'"


def test_injection_string_stays_data() -> None:
    literal = soql_literal("a' OR Name != '")
    assert literal == r"'a\' OR Name != \''"
    # Walk the literal as SOQL's lexer would: it must end exactly at the last character.
    i, closed_at = 1, None
    while i < len(literal):
        if literal[i] == "\\":
            i += 2
            continue
        if literal[i] == "'":
            closed_at = i
            break
        i += 1
    assert closed_at == len(literal) - 1


def test_select_clause_refuses_non_identifiers() -> None:
    assert select_clause("Lead", "Email", ["A__c", "Email"]) == "SELECT Id, Email, A__c FROM Lead"
    with pytest.raises(ValueError):
        select_clause("Lead WHERE", "Email", [])


def _uri_bytes(path: str, prefix: str, batch: list[str]) -> int:
    return len(path) + len("?q=") + len(quote_plus(f"{prefix}({', '.join(batch)})"))


def test_batches_respect_the_uri_limit_by_encoded_length() -> None:
    prefix = "SELECT Id, Email, WalkMe_Last_Login__c FROM Lead WHERE Email IN "
    path = "/services/data/v59.0/query/"
    emails = [soql_literal(f"first.last{i}@example-company.com") for i in range(2_000)]
    batches = plan_in_batches(prefix, emails, url_path=path, max_uri_bytes=13_000)
    assert sum(len(b) for b in batches) == 2_000
    assert [k for b in batches for k in b] == emails  # nothing lost, order kept
    for batch in batches:
        assert _uri_bytes(path, prefix, batch) <= 13_000
    # Full batches are full: adding the next key would have crossed the limit.
    first, second = batches[0], batches[1]
    assert _uri_bytes(path, prefix, [*first, second[0]]) > 13_000
    assert 250 <= len(first) <= 400  # ~300 e-mails per GET, as the design expects


def test_keys_that_encode_longer_make_smaller_batches() -> None:
    prefix = "SELECT Id FROM Lead WHERE Email IN "
    ascii_keys = [soql_literal(f"user{i:05d}@example.com") for i in range(1_000)]
    encoded_keys = [soql_literal(f"usér{i:04d}@exämple.com") for i in range(1_000)]
    assert len(plan_in_batches(prefix, encoded_keys)) > len(plan_in_batches(prefix, ascii_keys))


def test_soql_length_limit_without_uri_limit() -> None:
    prefix = "SELECT Id FROM Lead WHERE Email IN "
    keys = [soql_literal(f"{'x' * 40}{i}@example.com") for i in range(10_000)]
    batches = plan_in_batches(prefix, keys, max_uri_bytes=None)
    assert len(batches) > 1
    for batch in batches:
        assert len(f"{prefix}({', '.join(batch)})") <= MAX_SOQL_CHARS

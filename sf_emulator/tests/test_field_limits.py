"""The emulated org refuses what a real org refuses (limits in sf_emulator/field_limits.py)."""

from __future__ import annotations

from typing import Any

import pytest

from sf_emulator.field_values import FieldValueError, value_converter
from sf_emulator.model import FieldSchema


def convert(kind: str, value: Any, **extra: Any) -> Any:
    return value_converter(FieldSchema(name="F__c", type=kind, label="F", **extra))(value)


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("date", "1699-12-31"),
        ("date", "4001-01-01"),
        ("datetime", "1699-12-31T23:59:59Z"),
        ("datetime", "4000-12-31T00:00:01Z"),
    ],
)
def test_dates_outside_salesforce_range_fail(kind: str, value: str) -> None:
    with pytest.raises(FieldValueError, match="valid from 1700-01-01"):
        convert(kind, value)


def test_edges_of_the_range_are_stored() -> None:
    assert convert("date", "1700-01-01") == "1700-01-01"
    assert convert("datetime", "4000-12-31T00:00:00Z") == "4000-12-31T00:00:00.000+0000"


def test_text_length_is_utf16_units() -> None:
    assert convert("string", "😀😀", length=4) == "😀😀"
    with pytest.raises(FieldValueError) as raised:
        convert("string", "😀😀😀", length=4)
    assert raised.value.status_code == "STRING_TOO_LONG"


@pytest.mark.parametrize("address", ["x,y@example.com", ".a@example.com", "a@localhost"])
def test_email_rules(address: str) -> None:
    with pytest.raises(FieldValueError) as raised:
        convert("email", address, length=80)
    assert raised.value.status_code == "INVALID_EMAIL_ADDRESS"


def test_numbers_round_half_up_to_scale() -> None:
    assert convert("double", "0.125", precision=5, scale=2) == 0.13
    assert convert("double", -0.125, precision=5, scale=2) == -0.13
    with pytest.raises(FieldValueError) as raised:
        convert("double", "999.995", precision=5, scale=2)
    assert raised.value.status_code == "NUMBER_OUTSIDE_VALID_RANGE"


def test_bulk_csv_null_marker_clears_even_when_quoted(sf_emulator: Any) -> None:
    data = sf_emulator.org("sandbox").data
    (contact_id,) = data.load_records(
        "Contact", [{"LastName": "L", "WalkMe_Quiz_Name__c": "before"}]
    )
    csv_text = f'Id,WalkMe_Quiz_Name__c\n{contact_id},"#N/A"\n'
    result = data.bulk_ingest("Contact", "update", csv_text.encode())
    assert result.failed == 0
    (record,) = data.records("Contact")
    assert record.get("WalkMe_Quiz_Name__c") is None  # Salesforce: "#N/A sets the field to null"

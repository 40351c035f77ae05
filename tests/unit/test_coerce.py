"""Value coercion to describe types and semantic comparison with what Salesforce returns."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from include.walkme_sync.metadata import FieldInfo
from include.walkme_sync.reconcile.coerce import ValueRejected, coerce_for_field, values_equal


def field(type_: str, **kwargs: object) -> FieldInfo:
    return FieldInfo(
        name=kwargs.pop("name", "F__c"), label="F", type=type_, updateable=True, **kwargs
    )  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (pd.Timestamp("2024-01-31T00:00:00Z"), "2024-01-31"),
        (dt.date(2024, 1, 31), "2024-01-31"),
        ("2024-01-31", "2024-01-31"),
        (pd.Timestamp("2024-01-31T23:30:00-02:00"), "2024-02-01"),  # the UTC day
    ],
)
def test_date(value: object, expected: str) -> None:
    assert coerce_for_field(value, field("date")) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (pd.Timestamp("2024-01-31T12:34:56Z"), "2024-01-31T12:34:56.000Z"),
        (pd.Timestamp("2024-01-31T14:34:56.789+02:00"), "2024-01-31T12:34:56.789Z"),
        (dt.datetime(2024, 1, 31, 12, 34, 56), "2024-01-31T12:34:56.000Z"),  # naive = UTC
        ("2024-01-31T12:34:56.000+0000", "2024-01-31T12:34:56.000Z"),
        (dt.date(2024, 1, 31), "2024-01-31T00:00:00.000Z"),
    ],
)
def test_datetime(value: object, expected: str) -> None:
    assert coerce_for_field(value, field("datetime")) == expected


def test_nulls_stay_none() -> None:
    for null in (None, float("nan"), pd.NaT, pd.NA, np.nan, "  "):
        assert coerce_for_field(null, field("string", length=10)) is None
        assert coerce_for_field(null, field("double", precision=18, scale=2)) is None


def test_int() -> None:
    assert coerce_for_field(np.int64(42), field("int", digits=9)) == 42
    assert coerce_for_field(42.0, field("int", digits=9)) == 42
    assert coerce_for_field("17", field("int", digits=9)) == 17
    with pytest.raises(ValueRejected, match="not a whole number"):
        coerce_for_field(4.5, field("int", digits=9))
    with pytest.raises(ValueRejected, match="more than 3 digits"):
        coerce_for_field(1234, field("int", digits=3))
    with pytest.raises(ValueRejected, match="not a number"):
        coerce_for_field("many", field("int", digits=9))


def test_double_rounds_to_scale_and_checks_precision() -> None:
    percent = field("percent", name="WalkMe_Onboarding__c", precision=5, scale=2)
    assert coerce_for_field(87.456, percent) == 87.46
    assert coerce_for_field(100, percent) == 100.0
    with pytest.raises(ValueRejected) as rejected:
        coerce_for_field(12345.6, percent)
    message = str(rejected.value)
    assert "WalkMe_Onboarding__c" in message and "12345.6" in message and "3 digits" in message
    whole = field("double", precision=18, scale=0)
    assert coerce_for_field(2.5, whole) == 3 and isinstance(coerce_for_field(2.5, whole), int)
    with pytest.raises(ValueRejected, match="true/false"):
        coerce_for_field(True, whole)


def test_boolean() -> None:
    checkbox = field("boolean", nillable=False)
    assert coerce_for_field(np.bool_(True), checkbox) is True
    assert coerce_for_field("No", checkbox) is False
    assert coerce_for_field(1, checkbox) is True
    with pytest.raises(ValueRejected):
        coerce_for_field("maybe", checkbox)


def test_text_length_and_trim() -> None:
    text = field("string", length=5)
    assert coerce_for_field("  abc ", text) == "abc"
    assert coerce_for_field(3.0, text) == "3"
    with pytest.raises(ValueRejected, match="longer than 5 characters"):
        coerce_for_field("abcdef", text)


def test_email_and_restricted_picklist_and_id() -> None:
    email = field("email", length=80)
    assert coerce_for_field(" Ann@Example.com ", email) == "Ann@Example.com"
    with pytest.raises(ValueRejected, match="not an e-mail address"):
        coerce_for_field("ann at example", email)
    picklist = field(
        "picklist", length=40, picklist_values=("Gold", "Silver"), restricted_picklist=True
    )
    assert coerce_for_field("Gold", picklist) == "Gold"
    with pytest.raises(ValueRejected, match="picklist"):
        coerce_for_field("Bronze", picklist)
    reference = field("reference", length=18)
    assert coerce_for_field("00Q000000000001AAA", reference) == "00Q000000000001AAA"
    with pytest.raises(ValueRejected, match="Salesforce Id"):
        coerce_for_field("00Q1", reference)


def test_unsupported_type() -> None:
    with pytest.raises(ValueRejected, match="not supported"):
        coerce_for_field("x", field("address"))


@pytest.mark.parametrize(
    ("type_", "current", "new", "kwargs", "equal"),
    [
        ("datetime", "2024-01-31T12:34:56.000+0000", "2024-01-31T12:34:56.000Z", {}, True),
        ("datetime", "2024-01-31T13:34:56.000+0100", "2024-01-31T12:34:56.000Z", {}, True),
        ("datetime", "2024-01-31T12:34:57.000+0000", "2024-01-31T12:34:56.000Z", {}, False),
        ("date", "2024-01-31", "2024-01-31", {}, True),
        ("double", 12.0, 12, {"precision": 18, "scale": 0}, True),
        ("double", "12.50", 12.5, {"precision": 18, "scale": 2}, True),  # Bulk CSV text
        ("percent", 87.46, 87.46, {"precision": 5, "scale": 2}, True),
        ("percent", 87.45, 87.46, {"precision": 5, "scale": 2}, False),
        ("boolean", "true", True, {}, True),
        ("boolean", None, False, {}, True),  # a checkbox is never null
        ("boolean", False, True, {}, False),
        ("email", "Ann@Example.com", "ann@example.com", {"length": 80}, True),
        ("string", "Ann", "ann", {"length": 80}, False),  # text is case-sensitive
        ("string", None, None, {"length": 80}, True),
        ("string", "x", None, {"length": 80}, False),
        ("string", "", None, {"length": 80}, True),
        ("int", 3.0, 3, {"digits": 9}, True),
    ],
)
def test_values_equal(
    type_: str, current: object, new: object, kwargs: dict[str, object], equal: bool
) -> None:
    assert values_equal(current, new, field(type_, **kwargs)) is equal  # type: ignore[arg-type]

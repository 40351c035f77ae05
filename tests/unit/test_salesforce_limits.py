"""Salesforce's documented limits, as coercion applies them, and what Bulk CSV cannot carry."""

from __future__ import annotations

import pytest

from include.walkme_sync.metadata import FieldInfo
from include.walkme_sync.reconcile.coerce import ValueRejected, coerce_for_field
from include.walkme_sync.records import RecordChange
from include.walkme_sync.salesforce.bulk import bulk_unsafe_reason
from include.walkme_sync.salesforce.client import ApiMeter

URL = "https://x.my.salesforce.com/services/data/v59.0/"


def field(kind: str, **extra: object) -> FieldInfo:
    return FieldInfo("F__c", "F", kind, updateable=True, **extra)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("date", "1700-01-01", "1700-01-01"),
        ("date", "4000-12-31", "4000-12-31"),
        ("datetime", "1700-01-01T00:00:00Z", "1700-01-01T00:00:00.000Z"),
        ("datetime", "4000-12-31T00:00:00Z", "4000-12-31T00:00:00.000Z"),
    ],
)
def test_salesforce_date_range_edges_are_accepted(kind: str, value: str, expected: str) -> None:
    assert coerce_for_field(value, field(kind)) == expected


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("date", "1699-12-31"),
        ("date", "4001-01-01"),
        ("datetime", "1699-12-31T23:59:59Z"),
        ("datetime", "4000-12-31T00:00:01Z"),
    ],
)
def test_outside_salesforce_date_range_is_rejected_with_the_limit(kind: str, value: str) -> None:
    with pytest.raises(ValueRejected, match=r"1700-01-01.* to 4000-12-31") as raised:
        coerce_for_field(value, field(kind))
    assert "F__c" in str(raised.value) and value in str(raised.value)


def test_text_length_counts_utf16_units() -> None:
    text = field("string", length=4)
    assert coerce_for_field("😀😀", text) == "😀😀"  # 4 UTF-16 units
    with pytest.raises(ValueRejected, match=r"longer than 4 characters \(6, characters beyond"):
        coerce_for_field("😀😀😀", text)


def test_control_characters_are_rejected_but_line_breaks_kept() -> None:
    assert coerce_for_field("a\nb\tc", field("textarea", length=10)) == "a\nb\tc"
    with pytest.raises(ValueRejected, match="control character U\\+0000"):
        coerce_for_field("a\x00b", field("textarea", length=10))


@pytest.mark.parametrize("address", ["a.b+c@example.co.uk", "o'brien@example.com", "x|y@ex.org"])
def test_emails_salesforce_accepts(address: str) -> None:
    assert coerce_for_field(address, field("email", length=80)) == address


@pytest.mark.parametrize(
    "address", ["x,y@example.com", ".a@example.com", "a@localhost", "a b@x.com"]
)
def test_emails_salesforce_refuses(address: str) -> None:
    with pytest.raises(ValueRejected, match="not an e-mail address Salesforce accepts"):
        coerce_for_field(address, field("email", length=80))


def test_number_precision_and_half_up_rounding() -> None:
    number = field("double", precision=5, scale=2)
    assert coerce_for_field("0.125", number) == 0.13
    assert coerce_for_field("-0.125", number) == -0.13
    with pytest.raises(ValueRejected, match="more than 3 digits before the decimal point"):
        coerce_for_field("999.995", number)


def test_bulk_cannot_carry_the_null_marker_or_oversized_values() -> None:
    def change(**fields: object) -> RecordChange:
        return RecordChange("00Q000000000001AAA", 7, dict(fields))  # type: ignore[arg-type]

    assert bulk_unsafe_reason(change(A__c="ok", B__c=None, C__c=1.5)) is None
    assert "null marker" in str(bulk_unsafe_reason(change(A__c="#N/A")))
    assert "32,000" in str(bulk_unsafe_reason(change(A__c="x" * 32_001)))
    wide = change(**{f"F{i}__c": "x" * 30_000 for i in range(14)})
    assert "400,000" in str(bulk_unsafe_reason(wide))


def test_meter_counts_calls_the_org_served_and_journals_each_change() -> None:
    saved: list[int] = []
    meter = ApiMeter(journal=lambda snapshot: saved.append(snapshot["calls"]))
    kind = meter.sent("GET", URL + "query/?q=x")
    assert meter.calls == 1 and saved == [1]  # counted before the answer: survives a kill
    meter.answered(kind, 503, {"Retry-After": "7"})
    assert meter.calls == 0 and meter.retry_after == 7.0
    meter.unanswered(meter.sent("PATCH", URL + "composite/sobjects"), timed_out=True)
    meter.unanswered(meter.sent("PATCH", URL + "composite/sobjects"), timed_out=False)
    assert meter.calls == 1  # a timed-out call may have been served; a refused connection not
    assert meter.calls_by_kind["unavailable"] == 1 and meter.calls_by_kind["no_answer"] == 1
    assert saved[-1] == 1

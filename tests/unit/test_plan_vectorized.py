"""The column-wise planner decides exactly like the scalar rules it replaced.

`reference_plan` below is the previous row-by-row `plan_changes` (one `coerce_for_field` and one
`values_equal` per value, no memo), and `reference_outcomes` the previous `_row_outcomes`. Generated
matched frames (every common column dtype against every common field type, with the edge cases:
NaT/None/NaN/NA, blanks, whitespace, too long, too many digits, negatives, rounding ties at the
scale, time zones, booleans in every form, e-mail case, Salesforce's REST and Bulk forms of the
current values) must give the same changes, pairs, diff, counts and outcome rows.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pytest

from include.walkme_sync.config import IntegrationConfig
from include.walkme_sync.frames import OUTCOME_COLUMNS, outcome_frame
from include.walkme_sync.metadata import FieldInfo, ObjectInfo
from include.walkme_sync.reconcile.coerce import (
    ValueRejected,
    coerce_for_field,
    is_null,
    values_equal,
)
from include.walkme_sync.reconcile.columns import coerce_column
from include.walkme_sync.reconcile.plan import plan_changes
from include.walkme_sync.reconcile.results import row_outcomes
from include.walkme_sync.records import RecordChange, WriteResult
from tests.configs import login_review_config

FIELDS = [
    FieldInfo("Dt__c", "Dt", "datetime", updateable=True),
    FieldInfo("Day__c", "Day", "date", updateable=True),
    FieldInfo("Count__c", "Count", "double", precision=5, scale=0, updateable=True),
    FieldInfo("Ratio__c", "Ratio", "double", precision=5, scale=2, updateable=True),
    FieldInfo("Big__c", "Big", "double", precision=18, scale=0, updateable=True),
    FieldInfo("Money__c", "Money", "currency", precision=18, scale=2, updateable=True),
    FieldInfo("Pct__c", "Pct", "percent", precision=5, scale=2, updateable=True),
    FieldInfo("Fine__c", "Fine", "double", precision=12, scale=4, updateable=True),
    FieldInfo("Small__c", "Small", "int", digits=3, updateable=True),
    FieldInfo("Long__c", "Long", "long", updateable=True),
    FieldInfo("Name__c", "Name", "string", length=10, updateable=True),
    FieldInfo("Notes__c", "Notes", "textarea", length=30, updateable=True),
    FieldInfo(
        "Tier__c",
        "Tier",
        "picklist",
        length=20,
        picklist_values=("Gold", "Silver", "2024-01-31T12:34:56.000Z"),
        restricted_picklist=True,
        updateable=True,
    ),
    FieldInfo("Open__c", "Open", "picklist", length=20, picklist_values=("A",), updateable=True),
    FieldInfo("Mail__c", "Mail", "email", length=20, updateable=True),
    FieldInfo("Phone__c", "Phone", "phone", length=12, updateable=True),
    FieldInfo("Flag__c", "Flag", "boolean", nillable=False, updateable=True),
    FieldInfo("Owner__c", "Owner", "reference", length=18, updateable=True),
    FieldInfo("Where__c", "Where", "address", updateable=True),
]
OBJECT = ObjectInfo("Lead", "Lead", {f.name: f for f in FIELDS})
KEY_COLUMN = "User ID"

# ------------------------------------------------------------------------------ reference


def reference_plan(
    config: IntegrationConfig, info: ObjectInfo, matched: pd.DataFrame, *, full_sync: bool
) -> tuple[list[RecordChange], list[tuple[Any, ...]], list[dict[str, Any]]]:
    """The previous row-by-row planner: (changes, pairs as tuples, diff)."""
    targets = []
    for mapping in config.mappings:
        described = info.field(mapping.field)
        assert described is not None
        targets.append(
            (mapping.column, described, "__current__" + mapping.field, mapping.null_policy)
        )
    rows = matched["__row"].tolist()
    keys = matched[KEY_COLUMN].tolist()
    record_ids = matched["Id"].tolist()
    new_values = [matched[t[0]].tolist() for t in targets]
    current_values = [matched[t[2]].tolist() for t in targets]
    changes, pairs, diff = [], [], []
    for i, (row, raw_key, record_id) in enumerate(zip(rows, keys, record_ids, strict=True)):
        key = None if is_null(raw_key) else str(raw_key)
        fields: dict[str, Any] = {}
        reasons: list[str] = []
        entries = []
        for t, (_, described, _, policy) in enumerate(targets):
            value = new_values[t][i]
            if is_null(value):
                if policy != "clear":
                    continue
                new: Any = False if described.type == "boolean" else None
            else:
                try:
                    new = coerce_for_field(value, described)
                except ValueRejected as rejected:
                    reasons.append(str(rejected))
                    continue
            current = current_values[t][i]
            if full_sync or not values_equal(current, new, described):
                fields[described.name] = new
                old = None if is_null(current) else current
                if callable(getattr(old, "item", None)) and type(old).__module__ == "numpy":
                    old = old.item()  # JSON-friendly: numpy scalars as Python values
                entries.append(
                    {
                        "row": int(row),
                        "key": key,
                        "record_id": str(record_id),
                        "field": described.name,
                        "old": old,
                        "new": new,
                    }
                )
        if reasons:
            pairs.append((int(row), key, str(record_id), "rejected", "; ".join(reasons), []))
        elif fields:
            changes.append(RecordChange(str(record_id), int(row), fields))
            pairs.append((int(row), key, str(record_id), "change", None, list(fields)))
            diff.extend(entries)
        else:
            reason = "Salesforce already holds these values"
            pairs.append((int(row), key, str(record_id), "unchanged", reason, []))
    return changes, pairs, diff


def reference_outcomes(
    pairs: list[tuple[Any, ...]], results: dict[str, WriteResult], *, dry_run: bool
) -> pd.DataFrame:
    """The previous `_row_outcomes`: group the pairs by report row, one bucket per row."""
    by_row: dict[int, list[tuple[Any, ...]]] = {}
    for pair in pairs:
        by_row.setdefault(pair[0], []).append(pair)
    table = []
    for row, group in by_row.items():
        rejected = [p for p in group if p[3] == "rejected"]
        written = [p for p in group if p[3] == "change" and results[p[2]].success]
        failed = [
            (p, results[p[2]]) for p in group if p[3] == "change" and not results[p[2]].success
        ]
        if rejected:
            outcome = ("rejected", rejected[0][4], "INVALID_VALUE", rejected[0][2])
        elif failed:
            failed.sort(key=lambda item: item[1].attempted, reverse=True)
            pair, result = failed[0]
            others = f" (and {len(failed) - 1} more record(s))" if len(failed) > 1 else ""
            reason = f"{result.message or result.error_code}{others}"
            if result.attempts > 1:
                reason += f" [after {result.attempts} attempts]"
            bucket = "failed" if result.attempted else "not_attempted"
            outcome = (bucket, reason, result.error_code, pair[2])
        elif written:
            verb = "dry run: would update" if dry_run else "updated"
            names = sorted({f for p in written for f in p[5]})
            suffix = f" on {len(written)} records" if len(written) > 1 else ""
            done = "would_write" if dry_run else "written"
            outcome = (done, f"{verb} {', '.join(names)}{suffix}", None, written[0][2])
        else:
            outcome = ("unchanged", group[0][4], None, group[0][2])
        table.append((row, group[0][1], *outcome))
    if not table:
        return outcome_frame(rows=[], keys=[], bucket="written")[OUTCOME_COLUMNS]
    frames = [
        outcome_frame(
            rows=[t[0] for t in table if t[2] == bucket],
            keys=[t[1] for t in table if t[2] == bucket],
            bucket=bucket,
            reasons=[t[3] for t in table if t[2] == bucket],
            error_codes=[t[4] for t in table if t[2] == bucket],
            record_ids=[t[5] for t in table if t[2] == bucket],
        )
        for bucket in dict.fromkeys(t[2] for t in table)
    ]
    return pd.concat(frames, ignore_index=True).sort_values("__row", ignore_index=True)


def exact(value: Any) -> Any:
    """Type-exact comparison key: 12 != 12.0 != True, -0.0 != 0.0, NaN == NaN."""
    if isinstance(value, dict):
        return [(k, exact(v)) for k, v in value.items()]
    if isinstance(value, list | tuple):
        return [exact(v) for v in value]
    return (type(value).__name__, repr(value))


# ------------------------------------------------------------------------------ generators

STAMPS = [
    "2026-11-20T09:15:02Z",
    "2026-11-20T09:15:02.123456789Z",
    "2026-11-20T09:15:02.9995Z",
    "2026-11-20T23:59:59.999999Z",
    "1969-12-31T23:59:59.9995Z",
    "1965-03-01T00:00:00.0000001Z",
    "2024-02-29T12:00:00+05:30",
    "2024-01-31T23:30:00-02:00",
    "2000-01-01T00:00:00Z",
    "1700-06-15T12:00:00Z",
    "2262-04-11T00:00:00Z",
]
FLOATS = [
    0.0,
    -0.0,
    1.0,
    12.0,
    12.4,
    12.5,
    13.5,
    -2.5,
    -0.001,
    -0.004,
    0.005,
    0.015,
    2.675,
    1.005,
    87.456,
    87.455,
    99.995,
    999.995,
    999.994,
    1000.0,
    99999.5,
    99999.4,
    123456.0,
    1e-10,
    1e15,
    1e16,
    2.0**53,
    2.0**53 + 2,
    1e20,
    -1e20,
    0.1 + 0.2,
    1234.56789,
    -1234.56785,
    3.14159,
    float("inf"),
    float("-inf"),
    float("nan"),
]
INTS = [0, 1, -1, 7, 12, 99, 100, 999, 1000, -999, -1000, 99999, 100000, 2**53 + 1, -(2**62), 2**62]
TEXTS = [
    "",
    " ",
    "  \t",
    "\u3000",
    "\x1c",
    "abc",
    "  abc ",
    "Gold",
    " Gold ",
    "gold",
    "Silver",
    "A",
    "0123456789",
    " 0123456789 ",
    "01234567890",
    "Ann@Example.com",
    " ann@example.com ",
    "ann at example",
    "a@b.c",
    "a@b.co\n",
    "x" * 25 + "@example.com",
    "#N/A",
    "00Q000000000001AAA",
    "00Q000000000001",
    "00Q1",
    "true",
    "False",
    "YES",
    "n",
    "1",
    "0",
    "2",
    "maybe",
    "12",
    "12.50",
    " 1,234.5 ",
    "1e3",
    "NaN",
    "inf",
    "-0",
    "2024-01-31",
    "2024-01-31T12:34:56.000+0000",
    "2024-01-31T12:34:56Z",
    "2024-01-31T13:34:56.000+0100",
    "not a date",
    "+1 555 0100",
    "ÄÖÜ straße",
]
MIXED = [
    1,
    1.0,
    True,
    False,
    "1",
    " yes ",
    Decimal("1.0"),
    Decimal("1.00"),
    Decimal("2.675"),
    dt.date(2024, 1, 31),
    dt.datetime(2024, 1, 31, 12, 34, 56, 789000),
    dt.datetime(2024, 1, 31, 12, 34, 56, tzinfo=dt.timezone(dt.timedelta(hours=2))),
    pd.Timestamp("2024-01-31T12:34:56.789Z"),
    np.int64(5),
    np.float64(2.5),
    np.bool_(True),
    np.str_(" np text "),
    None,
    float("nan"),
    pd.NA,
    pd.NaT,
    "",
    "  ",
    -0.0,
    [1, 2],
]


def column(rng: random.Random, kind: str, size: int) -> pd.Series:
    """A report column of one dtype family, with nulls."""

    def pick(values: list[Any], null: Any) -> list[Any]:
        return [null if rng.random() < 0.12 else rng.choice(values) for _ in range(size)]

    if kind == "dt_utc":
        return pd.Series(pd.to_datetime(pick(STAMPS, None), utc=True, format="ISO8601"))
    if kind == "dt_ms":
        return column(rng, "dt_utc", size).astype("datetime64[ms, UTC]")
    if kind == "dt_naive":
        return column(rng, "dt_utc", size).dt.tz_convert(None)
    if kind == "dt_tz":
        return column(rng, "dt_utc", size).dt.tz_convert("America/New_York")
    if kind == "float64":
        return pd.Series(pick(FLOATS, float("nan")), dtype="float64")
    if kind == "float32":
        return pd.Series(pick(FLOATS[:25], float("nan")), dtype="float32")
    if kind == "Float64":
        return pd.Series(
            [None if math.isnan(v) else v for v in pick(FLOATS[:-3], float("nan"))],
            dtype="Float64",
        )
    if kind == "Int64":
        return pd.Series(pick(INTS, None), dtype="Int64")
    if kind == "int64":
        return pd.Series([rng.choice(INTS) for _ in range(size)], dtype="int64")
    if kind == "bool":
        return pd.Series([rng.random() < 0.5 for _ in range(size)], dtype="bool")
    if kind == "boolean":
        return pd.Series(pick([True, False], None), dtype="boolean")
    if kind == "string":
        return pd.Series(pick(TEXTS, None), dtype="string")
    if kind == "str":
        return pd.Series(pick(TEXTS, None), dtype="str")
    if kind == "object_text":
        return pd.Series(pick(TEXTS, None), dtype=object)
    if kind == "mixed":
        values = pick(MIXED, None)
        series = pd.Series([None] * size, dtype=object)
        for i, value in enumerate(values):
            series.iat[i] = value
        return series
    raise AssertionError(kind)


SOURCES = {
    "datetime": ["dt_utc", "dt_ms", "dt_naive", "dt_tz", "object_text", "mixed"],
    "date": ["dt_utc", "dt_naive", "dt_tz", "str", "mixed"],
    "number": ["float64", "float32", "Float64", "Int64", "int64", "string", "bool", "mixed"],
    "boolean": ["bool", "boolean", "string", "Int64", "float64", "mixed"],
    "text": ["string", "str", "object_text", "Int64", "float64", "dt_utc", "bool", "mixed"],
}


def source_kinds(described: FieldInfo) -> list[str]:
    if described.type in ("datetime", "date", "boolean"):
        return SOURCES[described.type]
    if described.type in ("double", "currency", "percent", "int", "long"):
        return SOURCES["number"]
    return SOURCES["text"]


def current_forms(rng: random.Random, value: Any, described: FieldInfo, same: float) -> Any:
    """What Salesforce may hold for a field whose new value is `value`: the same value (with
    probability `same`), the same value in another REST or Bulk form, something else, nothing."""
    if rng.random() < same:
        return value
    roll = rng.random()
    if roll < 0.15:
        return rng.choice([None, float("nan"), "", "  ", "#N/A", pd.NA if roll < 0.01 else None])
    if roll < 0.3 or value is None:
        return rng.choice(
            [
                "2024-01-31T12:34:56.000+0000",
                "2026-11-20T09:15:02.000Z",
                "2024-01-31",
                12.0,
                12,
                "12",
                87.46,
                True,
                False,
                "true",
                "Gold",
                "ann@example.com",
                "00Q000000000001",
                "abc",
                np.str_("Gold"),
                Decimal("12"),
                1,
                0.0,
            ]
        )
    if isinstance(value, str) and described.type == "datetime":
        return rng.choice(
            [value, value[:23] + "+0000", value[:19] + "Z", value[:23] + "+0100", value[:23]]
        )
    if isinstance(value, bool):
        return rng.choice([value, str(value).lower(), not value, None])
    if isinstance(value, int | float):
        return rng.choice(
            [value, float(value), repr(value), str(float(value)), value + 0.004, -value]
        )
    if isinstance(value, str):
        return rng.choice([value, value.upper(), value.lower(), " " + value, value + "x"])
    return value


def _rejects(value: Any, described: FieldInfo) -> bool:
    try:
        coerce_for_field(value, described)
    except ValueRejected:
        return True
    return False


def scenario(seed: int, size: int = 120) -> tuple[IntegrationConfig, pd.DataFrame]:
    rng = random.Random(seed)
    chosen = rng.sample(FIELDS, k=rng.randint(3, 7))
    if seed % 7 == 0:  # two columns into one field: the later value wins, both are diffed
        chosen.append(chosen[0])
    frame = pd.DataFrame(
        {
            "__row": pd.Series(range(1, size + 1), dtype="int64"),
            KEY_COLUMN: pd.Series(
                [rng.choice([f"a{i}@x.io", " ", None, f" B{i}@X.io"]) for i in range(size)],
                dtype="string",
            ),
            "Id": pd.Series([f"00Q{i:015d}" for i in range(size)], dtype="string"),
        }
    )
    mappings = []
    for index, described in enumerate(chosen):
        name = f"c{index}"
        values = column(rng, rng.choice(source_kinds(described)), size)
        # Mostly values the field takes (a rejected value rejects the whole row).
        fine = [i for i in range(size) if not _rejects(values.iloc[i], described)]
        for i in range(size):
            if fine and i not in fine and rng.random() < 0.85:
                values.iloc[i] = values.iloc[rng.choice(fine)]
        frame[name] = values
        mappings.append(
            {
                "column": name,
                "field": described.name,
                "null_policy": rng.choice(["skip", "clear"]),
            }
        )
    same = rng.choice([0.3, 0.8, 0.97])
    for described in dict.fromkeys(chosen):
        currents = []
        for i in range(size):
            value = frame[f"c{chosen.index(described)}"].iloc[i]
            try:
                new = None if is_null(value) else coerce_for_field(value, described)
            except ValueRejected:
                new = None
            currents.append(current_forms(rng, new, described, same))
        series = pd.Series([None] * size, dtype=object)
        for i, current in enumerate(currents):
            series.iat[i] = current
        frame["__current__" + described.name] = series
    if seed % 5 == 0:  # multiple_records: update_all, several records for some report rows
        frame["__row"] = [1 + i // 2 if i % 3 else 1 + i for i in range(size)]
    return login_review_config(mappings=mappings), frame


# ------------------------------------------------------------------------------ the tests


@pytest.mark.parametrize("seed", range(60))
@pytest.mark.parametrize("full_sync", [False, True])
def test_plan_equals_the_scalar_reference(seed: int, full_sync: bool) -> None:
    config, frame = scenario(seed)
    plan = plan_changes(config, OBJECT, frame, full_sync=full_sync)
    changes, pairs, diff = reference_plan(config, OBJECT, frame, full_sync=full_sync)

    assert [(c.record_id, c.row) for c in plan.changes] == [(c.record_id, c.row) for c in changes]
    assert [exact(c.fields) for c in plan.changes] == [exact(c.fields) for c in changes]
    assert [(p.row, p.key, p.record_id, p.status, p.reason, p.fields) for p in plan.pairs] == pairs
    assert exact(plan.diff) == exact(diff)
    assert plan.field_changes == len(diff)
    statuses: dict[str, int] = {}
    for pair in pairs:
        statuses[pair[3]] = statuses.get(pair[3], 0) + 1
    assert plan.counts() == statuses and list(plan.counts()) == list(statuses)

    # Outcome rows: a dry run, and a real run in which some writes failed.
    results = {c.record_id: WriteResult(c.record_id, c.row, True, attempts=0) for c in changes}
    expected = reference_outcomes(pairs, results, dry_run=True)
    pd.testing.assert_frame_equal(row_outcomes(plan, results, dry_run=True), expected)
    rng = random.Random(seed)
    for change in changes:
        if rng.random() < 0.3:
            results[change.record_id] = WriteResult(
                change.record_id,
                change.row,
                False,
                error_code=rng.choice(["FIELD_CUSTOM_VALIDATION_EXCEPTION", "UNABLE_TO_LOCK_ROW"]),
                message=rng.choice([None, "nope"]),
                attempts=rng.choice([1, 3]),
                # Some changes were never sent: the run stopped before them.
                attempted=rng.random() < 0.7,
            )
        else:
            results[change.record_id] = WriteResult(change.record_id, change.row, True)
    expected = reference_outcomes(pairs, results, dry_run=False)
    pd.testing.assert_frame_equal(row_outcomes(plan, results, dry_run=False), expected)


@pytest.mark.parametrize(
    ("described", "kinds"),
    [(f, source_kinds(f)) for f in FIELDS],
    ids=[f.type + "_" + f.name for f in FIELDS],
)
def test_coerce_column_equals_coerce_for_field(described: FieldInfo, kinds: list[str]) -> None:
    rng = random.Random(described.name)
    for kind in kinds:
        for _ in range(3):
            values = column(rng, kind, 200)
            coerced = coerce_column(values, described)
            for position, value in enumerate(values.tolist()):
                if is_null(value):
                    assert coerced.null[position], (kind, value)
                    continue
                assert not coerced.null[position], (kind, value)
                try:
                    expected = coerce_for_field(value, described)
                except ValueRejected as rejected:
                    assert coerced.rejected[position], (kind, value)
                    assert coerced.reasons[position] == str(rejected)
                    continue
                assert not coerced.rejected[position], (kind, value)
                assert exact(coerced.wire[position]) == exact(expected), (kind, value)


def test_rounding_near_ties_matches_decimal() -> None:
    """Many random decimals at and around .5 of the last place, every scale 0-6."""
    rng = random.Random(5)
    for scale in range(7):
        described = FieldInfo("X__c", "X", "double", precision=18, scale=scale, updateable=True)
        values = []
        for _ in range(3000):
            digits = rng.randint(0, 10**9)
            text = f"{digits // 10**scale}.{digits % 10**scale:0{scale}d}" if scale else str(digits)
            tie = float(text + "5") * rng.choice([1, -1])
            values += [tie, math.nextafter(tie, math.inf), math.nextafter(tie, -math.inf)]
            values.append(rng.uniform(-1e6, 1e6))
        coerced = coerce_column(pd.Series(values, dtype="float64"), described)
        for position, value in enumerate(values):
            try:
                expected = coerce_for_field(value, described)
            except ValueRejected:
                assert coerced.rejected[position]
                continue
            assert exact(coerced.wire[position]) == exact(expected), (scale, value)


def test_datetime_wire_format_at_millisecond_edges() -> None:
    described = FieldInfo("Dt__c", "Dt", "datetime", updateable=True)
    stamps = pd.Series(
        pd.to_datetime(
            [
                "2024-01-31T12:34:56.999999999Z",
                "1969-12-31T23:59:59.999999Z",
                "1700-01-01T00:00:00Z",
                "2024-01-31T14:34:56.789+02:00",
                None,
                "1699-12-31T23:59:59.999Z",
            ],
            utc=True,
            format="ISO8601",
        )
    )
    coerced = coerce_column(stamps, described)
    assert coerced.wire[:4].tolist() == [
        "2024-01-31T12:34:56.999Z",
        "1969-12-31T23:59:59.999Z",
        "1700-01-01T00:00:00.000Z",
        "2024-01-31T12:34:56.789Z",
    ]
    assert coerced.null.tolist() == [False, False, False, False, True, False]
    # Salesforce's earliest valid date-time is 1700-01-01T00:00:00Z: a moment before is refused.
    assert coerced.rejected.tolist() == [False] * 5 + [True]
    assert "1700-01-01T00:00:00.000Z to 4000-12-31T00:00:00.000Z" in coerced.reasons[5]


def test_diff_is_built_only_when_read() -> None:
    config, frame = scenario(3)
    plan = plan_changes(config, OBJECT, frame, full_sync=True)
    assert "diff" not in vars(plan) and "pairs" not in vars(plan)
    assert len(plan.diff) == plan.field_changes
    assert "diff" in vars(plan)

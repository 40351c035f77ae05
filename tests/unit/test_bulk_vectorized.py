"""The column-wise Bulk paths write and read exactly what the row-by-row ones did.

`reference_csv` is the previous `bulk_csv` (one `csv.writer.writerow` per change, one
`bulk_cell` per cell) and `reference_ids` the previous result reading (`csv.DictReader`, `sf__Id`
else `Id`, first 15 characters). Generated changes mix every wire type with the CSV's edge cases
(quotes, commas, line breaks, the null marker, True/1/1.0, tiny and huge floats).
"""

from __future__ import annotations

import csv
import io
import random

import pytest

from include.walkme_sync.metadata import WireValue
from include.walkme_sync.records import RecordChange
from include.walkme_sync.salesforce.bulk import (
    MAX_BULK_FIELD_CHARS,
    bulk_cell,
    bulk_csv,
    bulk_unsafe_reason,
)
from include.walkme_sync.salesforce.bulk_update import id_key, result_ids
from include.walkme_sync.salesforce.writers import _maybe_bulk_unsafe

VALUES: list[WireValue] = [
    None,
    True,
    False,
    0,
    1,
    1.0,
    0.00001,
    1e20,
    -2.5,
    123456789.125,
    "",
    " ",
    "#N/A",
    "plain",
    'say "hi", ok',
    "line\nbreak",
    "tab\tand ü €",
    "2026-11-24T08:00:00.000Z",
    "1",
    "true",
]
FIELDS = ["A__c", "B__c", "C__c", "D__c", "E__c"]


def reference_csv(changes: list[RecordChange]) -> str:
    columns = sorted({name for change in changes for name in change.fields})
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["Id", *columns])
    for change in changes:
        row = [change.record_id]
        for column in columns:
            row.append(bulk_cell(change.fields[column]) if column in change.fields else "")
        writer.writerow(row)
    return buffer.getvalue()


def reference_ids(text: str) -> list[str]:
    return [
        id_key(row.get("sf__Id") or row.get("Id") or "")
        for row in csv.DictReader(io.StringIO(text))
    ]


def random_changes(rng: random.Random, size: int) -> list[RecordChange]:
    changes = []
    for index in range(size):
        names = rng.sample(FIELDS, rng.randint(0, len(FIELDS)))
        fields = {name: rng.choice(VALUES) for name in names}
        changes.append(RecordChange(f"00Q{index:012d}AAA", index + 1, fields))
    return changes


@pytest.mark.parametrize("seed", range(20))
def test_bulk_csv_matches_the_row_by_row_writer(seed: int) -> None:
    rng = random.Random(seed)
    changes = random_changes(rng, rng.randint(0, 300))
    assert bulk_csv(changes) == reference_csv(changes)


def test_bulk_csv_keeps_true_one_and_one_point_zero_apart() -> None:
    changes = [
        RecordChange(f"00Q{i:012d}AAA", i, {"A__c": v}) for i, v in enumerate([1, True, 1.0, 1])
    ]
    assert bulk_csv(changes) == reference_csv(changes)
    assert bulk_csv(changes).splitlines()[1:] == [
        "00Q000000000000AAA,1",
        "00Q000000000001AAA,true",
        "00Q000000000002AAA,1.0",
        "00Q000000000003AAA,1",
    ]


@pytest.mark.parametrize("seed", range(20))
def test_result_ids_match_the_dict_reader(seed: int) -> None:
    rng = random.Random(seed)
    header = rng.choice(
        [["sf__Id", "sf__Created", "Id", "A__c"], ["sf__Id", "sf__Error"], ["Id", "A__c"]]
    )
    buffer = io.StringIO()
    writer = csv.writer(
        buffer, lineterminator="\n", quoting=rng.choice([csv.QUOTE_ALL, csv.QUOTE_MINIMAL])
    )
    writer.writerow(header)
    for index in range(rng.randint(0, 200)):
        row = []
        for name in header:
            if name in ("sf__Id", "Id"):
                row.append(
                    rng.choice(["", f"00Q{index:012d}AAA", f"00Q{index:012d}", "NA", "null"])
                )
            else:
                row.append(rng.choice(["true", "", 'a, "b"', "x\ny"]))
        writer.writerow(row)
    text = buffer.getvalue()
    assert result_ids(text).tolist() == reference_ids(text)


def test_result_ids_of_an_empty_file() -> None:
    assert result_ids("").tolist() == reference_ids("") == []
    assert result_ids('"sf__Id","sf__Created"\n').tolist() == []


@pytest.mark.parametrize("seed", range(10))
def test_quick_bulk_check_never_misses_an_unsafe_change(seed: int) -> None:
    rng = random.Random(seed)
    long_values: list[WireValue] = ["#N/A", "x" * (MAX_BULK_FIELD_CHARS + 1), "y" * 31_000, "z" * 5]
    for index in range(300):
        names = [f"F{n}__c" for n in range(rng.randint(1, 20))]
        fields = {name: rng.choice([*long_values, *VALUES]) for name in names}
        change = RecordChange(f"00Q{index:012d}AAA", index, fields)
        if bulk_unsafe_reason(change) is not None:
            assert _maybe_bulk_unsafe([{}, change.fields]), change.fields.keys()


def test_bulk_jobs_are_split_by_the_csv_size_not_a_header_per_row(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each job's CSV stays under the limit, and a CSV that fits is not split."""
    from include.walkme_sync.config.models import WriteConfig
    from include.walkme_sync.salesforce import writers

    changes = [
        RecordChange(f"00Q{i:012d}AAA", i, {"Title": f"title {i:05d}", "N__c": float(i)})
        for i in range(1000)
    ]
    whole = len(bulk_csv(changes))
    writer = writers._Writer(None, "Lead", changes, WriteConfig(), None, None)  # type: ignore[arg-type]
    monkeypatch.setattr(writers, "MAX_BULK_JOB_BYTES", whole + 10)
    assert list(writer._bulk_chunks(range(1000))) == [list(range(1000))]
    monkeypatch.setattr(writers, "MAX_BULK_JOB_BYTES", whole // 3)
    chunks = list(writer._bulk_chunks(range(1000)))
    assert [i for chunk in chunks for i in chunk] == list(range(1000))
    assert 3 < len(chunks) <= 8
    assert all(len(bulk_csv([changes[i] for i in chunk])) <= whole // 3 for chunk in chunks)


def test_bulk_csv_written_in_blocks_is_one_csv(monkeypatch: pytest.MonkeyPatch) -> None:
    from include.walkme_sync.salesforce import bulk

    changes = random_changes(random.Random(99), 100)
    monkeypatch.setattr(bulk, "CSV_BLOCK_ROWS", 7)
    assert bulk_csv(changes) == reference_csv(changes)

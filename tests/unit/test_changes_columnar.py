"""The column-wise upsert paths give exactly what the row-by-row ones gave.

References kept here: the previous per-value key text (`_key_text`), the previous dict-per-change
planning (`reference_changes`), the row-by-row Bulk CSV (`reference_csv`, one `bulk_cell` per
cell), the previous quick Bulk-safety check over dicts, the previous per-value equality
(`values_equal`), numpy's ISO formatting, and the previous `isin`-based settling of a Bulk job.
Generated inputs mix nulls, blanks (every kind of Unicode space), unicode, case, duplicates, empty
frames and the CSV's edge cases (quotes, commas, line breaks, the null marker, True/1/1.0).
"""

from __future__ import annotations

import csv
import io
import logging
import random
import sys
from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from include.walkme_sync.metadata import FieldInfo, WireValue
from include.walkme_sync.reconcile.coerce import values_equal
from include.walkme_sync.reconcile.columns import PYTHON_SPACE_CLASS, _iso_texts
from include.walkme_sync.reconcile.compare import equal_column
from include.walkme_sync.reconcile.plan import _key_text, key_strings
from include.walkme_sync.records import (
    ChangeSet,
    FieldColumn,
    RecordChange,
    ResultColumns,
    object_array,
    record_id_column,
    record_ids_of,
)
from include.walkme_sync.salesforce.bulk import MAX_BULK_FIELD_CHARS, bulk_csv
from include.walkme_sync.salesforce.bulk_files import _pandas_result_ids, result_ids
from include.walkme_sync.salesforce.bulk_update import (
    BulkUpdateJob,
    id_key,
    id_key_texts,
    id_keys,
    key_at,
    take_keys,
    unique_keys,
)
from include.walkme_sync.salesforce.writers import _maybe_bulk_unsafe, _maybe_bulk_unsafe_columns
from tests.unit.test_bulk_vectorized import reference_csv

SPACES = ["", " ", "\t", "\u3000", "\x1c", "\x85", "\xa0", "\u2028", "\u200b", "\ufeff", "\x00"]
WORDS = ["ann@x.io", " Ann@X.io ", "zoë", "日本", "a,b", 'say "hi"', "x\ny", "#N/A", "00Q1"]


# ------------------------------------------------------------------------------ keys


def test_space_class_is_pythons_whitespace() -> None:
    chars = [chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF]
    matched = pc.match_substring_regex(pa.array(chars), f"^{PYTHON_SPACE_CLASS}$")
    assert matched.to_pylist() == [c.isspace() for c in chars]


@pytest.mark.parametrize("dtype", ["string", "str", object])
@pytest.mark.parametrize("seed", range(5))
def test_key_strings_equal_the_scalar_key_text(dtype: Any, seed: int) -> None:
    rng = random.Random(seed)
    values: list[Any] = []
    for _ in range(rng.randint(0, 300)):
        roll = rng.random()
        if roll < 0.1:
            values.append(None)
        elif roll < 0.4:
            values.append("".join(rng.choices(SPACES, k=rng.randint(0, 3))))
        else:
            word = rng.choice(WORDS)
            values.append(rng.choice(SPACES) + word + rng.choice(SPACES))
    series = pd.Series(values, dtype=dtype)
    expected = [_key_text(value) for value in series.tolist()]
    keys = key_strings(series)
    assert str(keys.dtype) == "string"
    assert keys.to_numpy(dtype=object, na_value=None).tolist() == expected


def test_key_strings_of_other_dtypes() -> None:
    series = pd.Series([1, None, 3], dtype="Int64")
    keys = key_strings(series).to_numpy(dtype=object, na_value=None).tolist()
    assert keys == [_key_text(v) for v in series.tolist()] == ["1", None, "3"]


# ------------------------------------------------------------------------------ changes

VALUES: list[WireValue] = [
    None,
    True,
    False,
    0,
    1,
    -7,
    2**62,
    1.0,
    0.00001,
    1e20,
    -2.5,
    "",
    " ",
    "#N/A",
    "plain",
    'say "hi", ok',
    "line\nbreak",
    "car\rriage",
    "tab\tand ü €",
    "2026-11-24T08:00:00.000Z",
    "1",
    "true",
    "日本語",
]
#: Columns of one kind each (as the planner makes them) or mixed.
KINDS: dict[str, list[WireValue]] = {
    "dates": ["2026-11-24T08:00:00.000Z", "1969-12-31T23:59:59.999Z", None],
    "ints": [0, 12, -7, 2**62, 99],
    "ints_and_clears": [0, 12, None],
    "floats": [0.5, 1.0, 1e-05, 123456789.125],
    "bools": [True, False],
    "texts": ["plain", "ü €", "#N/A", "", None, "x" * 40],
    "quoted": ['say "hi"', "a,b", "x\ny", "car\rriage", "plain"],
    "huge_ints": [2**70, 1],
    "mixed": VALUES,
}


def random_change_set(rng: random.Random, size: int, kinds: list[str]) -> ChangeSet:
    fields = []
    for index, kind in enumerate(kinds):
        sent = np.array([rng.random() < 0.7 for _ in range(size)], dtype=bool)
        values = object_array(
            [rng.choice(KINDS[kind]) if s else rng.choice([None, 5]) for s in sent.tolist()]
        )
        fields.append(FieldColumn(f"{kind.title()}{index}__c", sent, values))
    rng.shuffle(fields)
    ids = object_array([f"00Q{i:012d}AAA" for i in range(size)])
    return ChangeSet(ids, np.arange(1, size + 1, dtype=np.int64), fields)


def reference_changes(changes: ChangeSet) -> list[RecordChange]:
    """Dict per change, fields in the columns' order (what the planner built before)."""
    return [
        RecordChange(
            str(changes.record_ids[i]),
            int(changes.rows[i]),
            {f.name: f.values[i] for f in changes.fields if f.sent[i]},
        )
        for i in range(len(changes))
    ]


def exact(changes: list[RecordChange]) -> list[Any]:
    return [
        (c.record_id, c.row, [(k, type(v).__name__, repr(v)) for k, v in c.fields.items()])
        for c in changes
    ]


@pytest.mark.parametrize("seed", range(40))
def test_change_set_reads_as_the_changes_and_writes_the_same_csv(seed: int) -> None:
    rng = random.Random(seed)
    kinds = rng.sample(list(KINDS), rng.randint(1, 5))
    changes = random_change_set(rng, rng.choice([0, 1, 2, rng.randint(3, 300)]), kinds)
    expected = reference_changes(changes)
    assert exact(list(changes)) == exact(expected)
    assert changes == expected and len(changes) == len(expected)
    if len(changes):
        assert changes[-1] == expected[-1] and changes[0:2] == expected[0:2]
    picked = rng.sample(range(len(changes)), min(len(changes), 7))
    assert list(changes.take(picked)) == [expected[i] for i in picked]
    assert bulk_csv(changes) == reference_csv(expected)
    assert bulk_csv(changes.take(picked)) == reference_csv([expected[i] for i in picked])


def test_csv_of_changes_that_set_nothing_or_one_column() -> None:
    ids = object_array(["00Q000000000001AAA", "00Q000000000002AAA"])
    rows = np.array([1, 2], dtype=np.int64)
    nothing = ChangeSet(ids, rows, [FieldColumn("A__c", np.zeros(2, bool), object_array([1, 2]))])
    assert bulk_csv(nothing) == reference_csv(list(nothing))
    one = ChangeSet(ids, rows, [FieldColumn("A__c", np.ones(2, bool), object_array(["", None]))])
    assert bulk_csv(one) == reference_csv(list(one))
    lone = ChangeSet(
        ids, rows, [FieldColumn("A__c", np.ones(2, bool), object_array(["\ud800", 1]))]
    )
    assert bulk_csv(lone) == reference_csv(list(lone))


@pytest.mark.parametrize("seed", range(20))
def test_quick_bulk_check_of_columns_equals_the_dict_check(seed: int) -> None:
    rng = random.Random(seed)
    long_values: list[WireValue] = ["#N/A", "x" * (MAX_BULK_FIELD_CHARS + 1), "y" * 31_000, "z"]
    kinds = rng.sample(list(KINDS), rng.randint(1, 4))
    changes = random_change_set(rng, rng.randint(0, 60), kinds)
    if seed % 2 and len(changes):  # some long texts, the null marker
        column = changes.fields[0]
        for i in rng.sample(range(len(changes)), min(3, len(changes))):
            column.values[i] = rng.choice(long_values)
    fields = [change.fields for change in reference_changes(changes)]
    assert _maybe_bulk_unsafe_columns(changes) == _maybe_bulk_unsafe(fields)


# ------------------------------------------------------------------------------ comparison

NUMBER = FieldInfo("N__c", "N", "double", precision=18, scale=0, updateable=True)
CURRENTS: list[Any] = [
    None,
    float("nan"),
    pd.NA,
    pd.NaT,
    "",
    " ",
    "#N/A",
    "12",
    "12.0",
    " 12",
    "+12",
    "012",
    "-0",
    "0",
    "-7",
    "abc",
    12,
    12.0,
    True,
    str(2**62),
    np.str_("12"),
]


@pytest.mark.parametrize("seed", range(10))
def test_number_comparison_equals_values_equal(seed: int) -> None:
    rng = random.Random(seed)
    size = rng.randint(0, 400)
    new = object_array(
        [rng.choice([0, 12, -7, 2**62, 2**70, None, 12.5, 0.0]) for _ in range(size)]
    )
    current = object_array([rng.choice(CURRENTS) for _ in range(size)])
    expected = [values_equal(c, n, NUMBER) for c, n in zip(current, new, strict=True)]
    assert equal_column(current, new, NUMBER).tolist() == expected


@pytest.mark.parametrize("kind", ["boolean", "string", "datetime"])
def test_null_currents_compare_like_values_equal(kind: str) -> None:
    described = FieldInfo("F__c", "F", kind, length=20, updateable=True)
    news = {
        "boolean": [True, False],
        "string": ["a", None, "b"],
        "datetime": ["2026-11-24T08:00:00.000Z", None],
    }[kind]
    rng = random.Random(kind)
    new = object_array([rng.choice(news) for _ in range(300)])
    current = object_array(
        [rng.choice([None, float("nan"), pd.NA, pd.NaT, "", *news]) for _ in new]
    )
    expected = [values_equal(c, n, described) for c, n in zip(current, new, strict=True)]
    assert equal_column(current, new, described).tolist() == expected


def test_iso_texts_equal_numpys() -> None:
    rng = np.random.default_rng(7)
    low = np.datetime64("1700-01-01", "ms").astype(np.int64)
    high = np.datetime64("4000-12-31", "ms").astype(np.int64)
    millis = rng.integers(low, high, 20_000).astype("datetime64[ms]")
    millis[:3] = np.array(["1700-01-01", "4000-12-31", "1969-12-31T23:59:59.999"], "datetime64[ms]")
    expected = np.strings.add(np.datetime_as_string(millis, unit="ms"), "Z").astype(object)
    assert _iso_texts(millis).tolist() == expected.tolist()
    days = millis.astype("datetime64[D]")
    assert _iso_texts(days).tolist() == np.datetime_as_string(days, unit="D").tolist()
    assert _iso_texts(millis[:0]).tolist() == []


# ------------------------------------------------------------------------------ Bulk results


def test_result_files_arrow_cannot_read_go_through_pandas() -> None:
    ragged = '"sf__Id","sf__Created","Id"\n"00Q000000000001AAA","true"\n"00Q000000000002AAA"\n'
    assert result_ids(ragged).tolist() == _pandas_result_ids(ragged.encode()).tolist()
    repeated = '"sf__Id","Id","Id"\n"","00Q000000000001AAA","00Q000000000009AAA"\n'
    assert result_ids(repeated).tolist() == _pandas_result_ids(repeated.encode()).tolist()


def reference_settle(
    successful: list[str], failures: dict[str, Any], id15: list[str]
) -> tuple[list[bool], list[bool]]:
    failed = [i in failures for i in id15]
    succeeded = [i in set(successful) and not f for i, f in zip(id15, failed, strict=True)]
    return succeeded, failed


@pytest.mark.parametrize("arrow", [False, True])
@pytest.mark.parametrize("seed", range(20))
def test_settling_a_job_equals_the_set_lookup(seed: int, arrow: bool) -> None:
    rng = random.Random(seed)
    id15 = [f"00Q{i:012d}" for i in range(rng.randint(0, 50))]
    successful = list(id15)
    roll = rng.random()
    if roll < 0.25:
        rng.shuffle(successful)
    elif roll < 0.5 and successful:
        successful.pop(rng.randrange(len(successful)))
    elif roll < 0.6:
        successful.append("00Q999999999999")
    failures = {}
    if rng.random() < 0.3 and id15:
        failures[rng.choice(id15)] = ("X", "y")
    job = BulkUpdateJob(None, "Lead", [], timeout=1)  # type: ignore[arg-type]
    job.successful = object_array(successful)
    job.failures = failures
    sent: Any = object_array(id15)
    if arrow:  # as the writer and the result file hold them
        job.successful = pa.array(successful, type=pa.large_string())
        sent = id_key_texts(id15)
    succeeded, failed = job.settle(sent)
    assert (succeeded.tolist(), failed.tolist()) == reference_settle(successful, failures, id15)


def test_ids_arrow_cannot_hold_settle_as_objects() -> None:
    lone = "00Q\ud800" + "0" * 11  # a lone surrogate: no UTF-8
    id15 = [lone, "00Q000000000002"]
    keys = id_key_texts(id15)
    assert isinstance(keys, np.ndarray) and keys.tolist() == id15
    assert unique_keys(keys) and not unique_keys(object_array([lone, lone]))
    assert key_at(keys, 0) == lone and take_keys(keys, np.array([1])).tolist() == [id15[1]]
    job = BulkUpdateJob(None, "Lead", [], timeout=1)  # type: ignore[arg-type]
    job.successful = object_array([lone])
    job.failures = {"00Q000000000002": ("X", "y")}
    succeeded, failed = job.settle(keys)
    assert (succeeded.tolist(), failed.tolist()) == ([True, False], [False, True])


def test_arrow_id_keys_read_like_the_object_ones() -> None:
    ids = ["00Q000000000001AAA", "00Q000000000002", "00Q000000000001aaa", "zoë-Ãé-日本語の値xyz"]
    keys = id_key_texts(ids)
    assert isinstance(keys, pa.Array)
    assert keys.to_pylist() == id_keys(ids).tolist()
    assert not unique_keys(keys) and unique_keys(keys.slice(1))
    assert [key_at(keys, i) for i in range(4)] == id_keys(ids).tolist()
    assert take_keys(keys, np.array([3, 0])).to_pylist() == [id_keys(ids)[3], id_keys(ids)[0]]


def test_id_keys_slice_like_python() -> None:
    ids = ["00Q000000000001AAA", "00Q000000000001", "short", "", "日本語" * 7, "ü" * 20]
    assert id_keys(ids).tolist() == [id_key(i) for i in ids]
    assert id_keys(["\ud800" * 20]).tolist() == ["\ud800" * 15]
    assert id_keys([]).tolist() == []


def test_csv_joined_in_blocks_is_one_csv(monkeypatch: pytest.MonkeyPatch) -> None:
    from include.walkme_sync.salesforce import bulk

    changes = random_change_set(random.Random(3), 100, ["dates", "ints", "texts"])
    monkeypatch.setattr(bulk, "ARROW_BLOCK_ROWS", 7)
    assert bulk_csv(changes) == reference_csv(reference_changes(changes))
    quoted = random_change_set(random.Random(4), 50, ["dates", "quoted"])
    assert bulk_csv(quoted) == reference_csv(reference_changes(quoted))


@pytest.mark.parametrize("kinds", [["dates", "ints", "texts"], ["dates", "quoted"]])
def test_job_file_written_from_its_position_is_the_csv(
    kinds: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A job's CSV goes to a temporary file (never whole in memory): written from where the
    file stands, blocks first; a block needing quotes replaces what was written with the
    row-by-row text (nothing of the blocks before it is left), and the upload sends the rest."""
    import tempfile

    from include.walkme_sync.salesforce import bulk
    from include.walkme_sync.salesforce.bulk_files import _remaining_bytes

    changes = random_change_set(random.Random(5), 60, kinds)
    monkeypatch.setattr(bulk, "ARROW_BLOCK_ROWS", 7)
    expected = reference_csv(reference_changes(changes)).encode("utf-8")
    with tempfile.TemporaryFile() as file:
        file.write(b"kept")
        bulk.write_bulk_csv(changes, file)
        file.seek(4)
        assert _remaining_bytes(file) == len(expected)
        assert file.tell() == 4
        assert file.read() == expected
        file.seek(0)
        assert file.read(4) == b"kept"


@pytest.mark.parametrize("dtype", ["string", "str"])
@pytest.mark.parametrize("seed", range(0, 60, 3))
def test_arrow_backed_current_texts_plan_like_python_objects(dtype: str, seed: int) -> None:
    """Salesforce's values read from Parquet are Arrow-backed text: compared in Arrow first."""
    from include.walkme_sync.reconcile.plan import plan_changes
    from tests.unit.test_plan_vectorized import OBJECT, scenario

    config, frame = scenario(seed)
    for column in [c for c in frame.columns if c.startswith("__current__")]:
        texts = [v if isinstance(v, str) else None for v in frame[column].tolist()]
        frame[column] = pd.Series(texts, dtype=object)
    arrow = frame.copy()
    for column in [c for c in frame.columns if c.startswith("__current__")]:
        arrow[column] = frame[column].astype(dtype)
    for full_sync in (False, True):
        expected = plan_changes(config, OBJECT, frame, full_sync=full_sync)
        plan = plan_changes(config, OBJECT, arrow, full_sync=full_sync)
        assert exact(list(plan.changes)) == exact(list(expected.changes))
        assert plan.pairs == expected.pairs
        assert repr(plan.diff) == repr(expected.diff)


def test_result_text_streams_to_arrow_as_utf8() -> None:
    from include.walkme_sync.salesforce.bulk_files import _Utf8Stream

    text = "sf__Id,Name\n" + "".join(f'00Q{i:012d},"zoë, 日本\n{i}"\n' for i in range(40))
    stream = _Utf8Stream(text, chars=7)
    assert stream.read() == text.encode("utf-8")
    # A file longer than one slice of the stream reads like the DictReader.
    big = "sf__Id,sf__Created,Id\n" + "".join(
        f'"{"" if i % 7 == 0 else f"00Q{i:012d}AAA"}",ü,00Q{i:012d}XYZ\n' for i in range(60_000)
    )
    expected = [
        (row.get("sf__Id") or row.get("Id") or "")[:15] for row in csv.DictReader(io.StringIO(big))
    ]
    assert len(big) > 1 << 20 and result_ids(big).tolist() == expected


# ------------------------------------------------------------------------------ date-times

DATETIME = FieldInfo("D__c", "D", "datetime", updateable=True)


def random_datetime_pairs(rng: random.Random, size: int) -> tuple[pd.Series, list[Any]]:
    """Report date-times (datetime64, some null, some out of Salesforce's range) and Salesforce's
    current texts of many forms: the same instant as Bulk CSV (`Z`) or REST (`+0000`) writes it,
    microseconds, seconds only, other offsets, blanks, garbage, impossible dates, nulls."""
    base = np.datetime64("2024-02-28T23:59:59.998", "us")
    stamps: list[Any] = []
    currents: list[Any] = []
    for _ in range(size):
        roll = rng.random()
        stamp = base + np.timedelta64(rng.randint(-(10**12), 10**12), "us")
        if roll < 0.05:
            stamps.append(None)
        elif roll < 0.08:
            stamps.append(np.datetime64("1650-01-01T00:00:00", "us"))
        else:
            stamps.append(stamp)
        millis = np.datetime64(stamp, "ms")
        text = str(millis)
        shift = rng.choice([0, 0, 0, 1, -1])  # a millisecond off: a change
        other = str(millis + np.timedelta64(shift, "ms"))
        currents.append(
            rng.choice(
                [
                    other + "Z",
                    other + "Z",
                    other + "+0000",
                    other + "+00:00",
                    str(np.datetime64(stamp, "us")) + "Z",
                    text[:19] + "Z",
                    text.replace("T", " ") + "Z",
                    text.replace("T", "t") + "Z",
                    text.replace("T", "x") + "Z",
                    text.replace("-", "/") + "Z",
                    text.replace(".", ",") + "Z",
                    text.replace(".", ",") + "+0000",
                    text[:10] + "T" + text[11:19] + "+00:00",
                    "abcdefghijklmnopqrstuvwZ",
                    f" {text}Z",
                    "2024-02-30T12:00:00.000Z",
                    "not a date",
                    "",
                    None,
                    "日本",
                ]
            )
        )
    return pd.Series(pd.to_datetime(stamps), dtype="datetime64[us]"), currents


@pytest.mark.parametrize("clear", [False, True])
@pytest.mark.parametrize("full_sync", [False, True])
@pytest.mark.parametrize("dtype", ["string", "str", object])
@pytest.mark.parametrize("seed", range(8))
def test_datetimes_compared_as_instants_plan_like_values_equal(
    seed: int, dtype: Any, full_sync: bool, clear: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Date-times are compared as instants and only the sent ones formatted: each pair is sent
    exactly when the scalar `coerce_for_field` + `values_equal` say so, with the same text."""
    from include.walkme_sync.reconcile import compare
    from include.walkme_sync.reconcile.coerce import coerce_for_field, is_null
    from include.walkme_sync.reconcile.plan import _plan_field, _Target

    # Small blocks: an impossible date (February 30th) then leaves only its block undecided.
    monkeypatch.setattr(compare, "INSTANT_BLOCK_ROWS", 2)
    rng = random.Random(seed)
    stamps, currents = random_datetime_pairs(rng, rng.choice([0, 1, 40, 400]))
    frame = pd.DataFrame({"c": stamps, "cur": pd.Series(currents, dtype=dtype)})
    plan = _plan_field(_Target("c", DATETIME, "cur", clear), frame, full_sync=full_sync)
    for position, (stamp, current) in enumerate(zip(stamps.tolist(), currents, strict=True)):
        try:
            wire = coerce_for_field(stamp, DATETIME)
        except ValueError:
            assert plan.rejected[position] and not plan.changed[position]
            continue
        if is_null(stamp) and not clear:
            assert not plan.changed[position]
            continue
        expected = full_sync or not values_equal(current, wire, DATETIME)
        assert bool(plan.changed[position]) == expected, (stamp, current)
        if expected:
            assert plan.new[position] == wire


def test_same_instants_reads_salesforces_forms_only(monkeypatch: pytest.MonkeyPatch) -> None:
    from include.walkme_sync.reconcile import compare
    from include.walkme_sync.reconcile.compare import same_instants

    monkeypatch.setattr(compare, "INSTANT_BLOCK_ROWS", 2)  # February 30th fails its block only

    moments = np.array(["2024-01-31T12:34:56.789"] * 7, dtype="datetime64[ms]")
    currents = [
        "2024-01-31T12:34:56.789Z",
        "2024-01-31T12:34:56.789+0000",
        "2024-01-31T12:34:56.788Z",
        "2024-01-31T12:34:56.789+00:00",  # the same instant, left to the scalar comparison
        "2024-01-31T13:34:56.789+0100",
        None,
        "2024-02-30T12:34:56.789Z",
    ]
    same = same_instants(pd.Series(currents, dtype="string"), moments)
    assert same.tolist() == [True, True, False, False, False, False, False]
    assert not same_instants(pd.Series(currents, dtype=object), moments).any()


@pytest.mark.parametrize("seed", range(6))
def test_result_file_reads_like_the_result_text(seed: int) -> None:
    """A result file streamed to disk gives the Ids its text gives (Arrow, or pandas' reading
    for files Arrow does not take)."""
    import tempfile

    from include.walkme_sync.salesforce.bulk_files import result_ids_of_file

    rng = random.Random(seed)
    texts = ["", "\n", " \n ", "sf__Id,sf__Created,Id\n", "Id\n00Q000000000001AAA\n"]
    for _ in range(4):
        header = rng.choice(
            [["sf__Id", "sf__Created", "Email"], ["Id", "X"], ["sf__Id", "Id", "Note"]]
        )
        rows = [
            [
                rng.choice(["", f"00Q00000000000{rng.randint(0, 9)}AAA", "日本語の値"])
                for _ in header
            ]
            for _ in range(rng.randint(0, 50))
        ]
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows([header, *rows])
        texts.append(buffer.getvalue())
    texts.append('"sf__Id","a\nb"\n"00Q000000000001","x\ny"\n')
    texts.append("sf__Id,sf__Id\n1,2\n")  # repeated column: pandas' reading
    for text in texts:
        with tempfile.TemporaryFile() as handle:
            handle.write(text.encode("utf-8"))
            handle.seek(0)
            found = result_ids_of_file(handle)
            found = found.to_pylist() if isinstance(found, pa.Array) else found.tolist()
            assert found == result_ids(text).tolist(), text


# ------------------------------------------------------------------------------ this round


def csv_bytes(changes: Sequence[RecordChange]) -> bytes:
    """What a Bulk job uploads (`write_bulk_csv`), written into memory."""
    from include.walkme_sync.salesforce.bulk import write_bulk_csv

    buffer = io.BytesIO()
    write_bulk_csv(changes, buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("seed", range(20))
def test_csv_bytes_after_the_bulk_check_equal_the_row_by_row_csv(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Bulk check keeps each column's Arrow values for the job's CSV (`sent_arrow`), which
    reads them a block at a time and lets them go: the bytes are the row-by-row CSV's."""
    from include.walkme_sync.salesforce import bulk

    rng = random.Random(seed)
    monkeypatch.setattr(bulk, "ARROW_BLOCK_ROWS", rng.choice([1, 7, 100_000]))
    kinds = rng.sample(list(KINDS), rng.randint(1, 5))
    changes = random_change_set(rng, rng.choice([0, 1, 2, rng.randint(3, 300)]), kinds)
    expected = reference_csv(reference_changes(changes))
    if seed % 2:
        _maybe_bulk_unsafe_columns(changes)
    assert csv_bytes(changes) == expected.encode("utf-8")
    assert all(not column.arrow for column in changes.fields)
    assert bulk_csv(changes) == expected  # again, without the check's values
    assert csv_bytes(reference_changes(changes)) == expected.encode("utf-8")


def test_csv_bytes_of_what_arrow_cannot_hold_go_the_row_by_row_way() -> None:
    ids = object_array(["00Q000000000001AAA", "00Q000000000002AAA"])
    rows = np.array([1, 2], dtype=np.int64)
    mixed = ChangeSet(ids, rows, [FieldColumn("A__c", np.ones(2, bool), object_array(["a", 1]))])
    assert _maybe_bulk_unsafe_columns(mixed) is False
    assert mixed.fields[0].arrow == {(0, 2): False}  # tried once: the values go one by one
    assert csv_bytes(mixed) == reference_csv(list(mixed)).encode("utf-8")
    lone = ChangeSet(
        ids, rows, [FieldColumn("A__c", np.ones(2, bool), object_array(["\ud800"] * 2))]
    )
    assert bulk_csv(lone) == reference_csv(list(lone))
    with pytest.raises(UnicodeEncodeError):  # as the text's `encode` did before the upload
        csv_bytes(lone)


def test_taking_every_change_in_order_is_the_change_set_itself() -> None:
    changes = random_change_set(random.Random(5), 20, ["dates", "ints"])
    assert changes.take(np.arange(20)) is changes
    assert changes.take(list(range(20))) is changes
    reordered = changes.take([1, 0, *range(2, 20)])
    assert reordered is not changes and list(reordered)[:2] == [changes[1], changes[0]]
    assert list(changes.take([0] * 20)) == [changes[0]] * 20
    empty = random_change_set(random.Random(5), 0, ["dates"])
    assert empty.take([]) is empty


@pytest.mark.parametrize("kind", ["boolean", "string", "datetime", "double", "email"])
@pytest.mark.parametrize("dtype", ["string", "str", object])
def test_null_currents_decided_first_compare_like_values_equal(kind: str, dtype: Any) -> None:
    """`plan._equal` decides where Salesforce holds no value column-wise (a first sync: every
    value), the rest as before: the same as `values_equal` value by value."""
    from include.walkme_sync.reconcile.plan import _equal

    described = FieldInfo("F__c", "F", kind, length=40, precision=18, scale=0, updateable=True)
    news: list[Any] = {
        "boolean": [True, False],
        "string": ["a", None, "b", "日本"],
        "datetime": ["2026-11-24T08:00:00.000Z", None],
        "double": [12, 0, -7, None, 12.5],
        "email": ["ann@x.io", None],
    }[kind]
    rng = random.Random(f"{kind}{dtype}")
    size = 400
    new = object_array([rng.choice(news) for _ in range(size)])
    olds = [None, "", "12", "a", "ann@x.io", "2026-11-24T08:00:00.000+0000", "true"]
    current = pd.Series([rng.choice(olds) for _ in range(size)], dtype=dtype)
    positions = np.array(sorted(rng.sample(range(size), 300)), dtype=np.int64)
    values = current.to_numpy(dtype=object, na_value=None)
    expected = [values_equal(values[p], new[p], described) for p in positions.tolist()]
    assert _equal(current, new, positions, described).tolist() == expected
    assert _equal(current, new, positions[:0], described).tolist() == []


def test_salesforce_datetime_texts_equal_arrows_string_functions() -> None:
    """The `T` and `Z` put in by numpy (fixed-width texts) or by Arrow (anything else)."""
    from include.walkme_sync.reconcile.columns import _salesforce_datetime_texts

    def reference(texts: pa.Array) -> list[Any]:
        joined = pc.binary_join_element_wise(pc.utf8_replace_slice(texts, 10, 11, "T"), "Z", "")
        return list(joined.to_pylist())

    rng = np.random.default_rng(11)
    millis = rng.integers(-(2**44), 2**45, 5_000).astype("datetime64[ms]")
    texts = pc.cast(pa.array(millis), pa.string())
    for case in (
        texts,
        texts.slice(17, 300),  # an offset into the buffers
        texts.slice(0, 0),
        pc.cast(pa.array(np.array(["12000-01-01", "2024-01-31"], "datetime64[ms]")), pa.string()),
        pc.cast(pa.array([None, 5], pa.timestamp("ms")), pa.string()),
    ):
        assert _salesforce_datetime_texts(case).to_pylist() == reference(case)


@pytest.mark.parametrize("arrow", [True, False])
def test_taking_every_id_key_in_order_is_the_keys_themselves(arrow: bool) -> None:
    record_ids = [f"00Q{i:012d}AAA" for i in range(30)]
    keys = id_key_texts(record_ids) if arrow else id_keys(record_ids)
    assert take_keys(keys, np.arange(30, dtype=np.int64)) is keys
    picked = np.array([3, 1, 2], dtype=np.int64)
    taken = take_keys(keys, picked)
    assert [key_at(taken, i) for i in range(3)] == [id_key(record_ids[i]) for i in (3, 1, 2)]
    assert len(take_keys(keys, np.arange(29, dtype=np.int64))) == 29


@pytest.mark.parametrize("seed", range(20))
def test_quick_bulk_check_in_blocks_equals_the_dict_check(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check reads a block of rows at a time (and keeps their Arrow values for the CSV)."""
    from include.walkme_sync.salesforce import bulk

    rng = random.Random(seed)
    monkeypatch.setattr(bulk, "ARROW_BLOCK_ROWS", rng.choice([1, 3, 16]))
    long_values: list[WireValue] = ["#N/A", "x" * (MAX_BULK_FIELD_CHARS + 1), "y" * 31_000, "z"]
    changes = random_change_set(rng, rng.randint(0, 60), rng.sample(list(KINDS), 3))
    if seed % 2 and len(changes):
        column = changes.fields[-1]
        for i in rng.sample(range(len(changes)), min(2, len(changes))):
            column.values[i] = rng.choice(long_values)
    fields = [change.fields for change in reference_changes(changes)]
    assert _maybe_bulk_unsafe_columns(changes) == _maybe_bulk_unsafe(fields)
    assert csv_bytes(changes) == reference_csv(list(changes)).encode("utf-8")
    assert all(not column.arrow for column in changes.fields)


@pytest.mark.parametrize("seed", range(0, 60, 4))
def test_a_plan_whose_values_are_released_gives_the_same_outcomes(seed: int) -> None:
    """Once written, the plan lets go of the values; pairs and outcome rows stay the same."""
    from include.walkme_sync.reconcile.plan import plan_changes
    from include.walkme_sync.reconcile.results import row_outcomes
    from include.walkme_sync.records import ResultColumns, WriteResult
    from tests.unit.test_plan_vectorized import OBJECT, scenario

    config, frame = scenario(seed)
    kept = plan_changes(config, OBJECT, frame, full_sync=False)
    plan = plan_changes(config, OBJECT, frame, full_sync=False)
    rng = random.Random(seed)
    columns = ResultColumns.from_results(
        [
            WriteResult(c.record_id, c.row, rng.random() < 0.8, error_code="X", message="m")
            for c in kept.changes
        ]
    )
    expected_pairs = kept.pairs
    expected = row_outcomes(kept, columns, dry_run=False)
    plan.release_values()
    assert plan.pairs == expected_pairs
    pd.testing.assert_frame_equal(row_outcomes(plan, columns, dry_run=False), expected)
    if isinstance(plan.changes, ChangeSet):
        assert all(not len(column.values) for column in plan.changes.fields)
        with pytest.raises(RuntimeError, match="released"):
            _ = plan.diff


def test_a_job_of_part_of_the_changes_lets_the_checks_values_go() -> None:
    """Jobs of parts (a big run split by size or batch) convert their own values."""
    from include.walkme_sync.config.models import WriteConfig
    from include.walkme_sync.salesforce.writers import _Writer

    changes = random_change_set(random.Random(9), 40, ["dates", "texts"])
    _maybe_bulk_unsafe_columns(changes)
    assert any(column.arrow for column in changes.fields)
    # No Salesforce call is made: a job is only built here, never run.
    writer = _Writer(
        cast(Any, None), "Lead", changes, WriteConfig(), cast(Any, None), logging.getLogger()
    )
    assert writer._bulk_job(np.arange(40, dtype=np.int64)).changes is changes
    assert any(column.arrow for column in changes.fields)  # a job of all: its CSV takes them
    part = writer._bulk_job(np.arange(20, dtype=np.int64)).changes
    assert list(part) == list(changes)[:20]
    assert all(not column.arrow for column in changes.fields)


# ------------------------------------------------------------------------------ Arrow wire values


def as_arrow_values(changes: ChangeSet) -> ChangeSet:
    """The same changes with every text column (str and None only) held as `ArrowValues`."""
    from include.walkme_sync.records import ArrowValues

    fields = []
    for column in changes.fields:
        values = column.values
        if all(v is None or v.__class__ is str for v in values.tolist()):
            values = ArrowValues(pa.array(values, type=pa.string()))
        elif all(v is None or (v.__class__ is int and abs(v) < 2**63) for v in values.tolist()):
            values = ArrowValues(pa.array(values, type=pa.int64()))  # whole numbers
        fields.append(FieldColumn(column.name, column.sent, values))
    ids = ArrowValues(pa.array(changes.record_ids, type=pa.string()))
    return ChangeSet(ids, changes.rows, fields)


@pytest.mark.parametrize("seed", range(24))
def test_arrow_values_index_like_the_object_array(seed: int) -> None:
    from include.walkme_sync.records import ArrowValues, wire_objects

    rng = random.Random(seed)
    texts = [
        None,
        "",
        " ",
        "#N/A",
        "ü €",
        "日本語",
        'a,"b"',
        "x\ny",
        "\ud7ff",
        "2026-11-24T08:00:00.000Z",
    ]
    objects = object_array([rng.choice(texts) for _ in range(rng.choice([0, 1, 5, 80]))])
    arrow = ArrowValues(pa.array(objects, type=pa.string()))
    assert len(arrow) == len(objects)
    assert arrow.tolist() == objects.tolist() == wire_objects(arrow).tolist()
    assert wire_objects(objects) is objects
    for index in range(len(objects)):
        assert arrow[index] == objects[index] and arrow[np.int64(index)] == objects[index]
        assert arrow[index - len(objects)] == objects[index - len(objects)]
    mask = np.array([rng.random() < 0.5 for _ in range(len(objects))], dtype=bool)
    positions = np.array(
        [rng.randrange(len(objects)) for _ in range(len(objects) and 9)], dtype=np.int64
    )
    assert arrow[mask].tolist() == objects[mask].tolist()
    assert arrow[positions].tolist() == objects[positions].tolist()
    start, stop = sorted(rng.randrange(len(objects) + 1) for _ in range(2))
    assert arrow[start:stop].tolist() == objects[start:stop].tolist()
    assert (
        arrow[start:stop][mask[start:stop]].tolist()
        == objects[start:stop][mask[start:stop]].tolist()
    )


@pytest.mark.parametrize("seed", range(30))
def test_arrow_values_change_sets_read_check_and_write_like_object_ones(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Text columns held as Arrow (date-time texts) give the same changes, the same Bulk check
    and the same CSV bytes as the object arrays."""
    from include.walkme_sync.salesforce import bulk

    rng = random.Random(seed)
    monkeypatch.setattr(bulk, "ARROW_BLOCK_ROWS", rng.choice([1, 7, 100_000]))
    kinds = rng.sample(
        ["dates", "texts", "quoted", "ints", "ints_and_clears", "huge_ints", "mixed"],
        rng.randint(1, 4),
    )
    size = rng.choice([0, 1, 2, rng.randint(3, 300)])
    changes = random_change_set(rng, size, kinds)
    # Unsent slots hold None, or for a text column any text (the Bulk check and the CSV must
    # not read them): the planner's Arrow columns hold no 5.
    for column in changes.fields:
        sent = column.values[column.sent].tolist()
        text = all(v is None or v.__class__ is str for v in sent)
        column.values[~column.sent] = rng.choice([None, "#N/A", "y" * 33_000]) if text else None
    arrow = as_arrow_values(changes)
    expected = reference_changes(changes)
    assert exact(list(arrow)) == exact(expected) and exact(arrow[0:3]) == exact(expected[0:3])
    picked = rng.sample(range(size), min(size, 7))
    assert exact(list(arrow.take(picked))) == exact([expected[i] for i in picked])
    fields = [change.fields for change in expected]
    if size:
        assert _maybe_bulk_unsafe_columns(arrow) == _maybe_bulk_unsafe(fields)
    assert csv_bytes(arrow) == reference_csv(expected).encode("utf-8")
    assert bulk_csv(arrow.take(picked)) == reference_csv([expected[i] for i in picked])
    # The Ids as Arrow: the same Id[:15] keys and results.
    assert id_key_texts(arrow.record_ids).to_pylist() == id_keys(changes.record_ids).tolist()
    assert id_keys(arrow.record_ids).tolist() == id_keys(changes.record_ids).tolist()
    assert record_ids_of(arrow) == record_ids_of(changes)
    columns = ResultColumns(
        record_ids=record_id_column(arrow),
        rows=arrow.rows,
        success=np.zeros(size, dtype=bool),
        error_codes=np.full(size, "X", dtype=object),
        messages=np.full(size, None, dtype=object),
        attempts=np.ones(size, dtype=np.int64),
        attempted=np.ones(size, dtype=bool),
    )
    assert [columns.result(i).record_id for i in range(size)] == changes.record_ids.tolist()


@pytest.mark.parametrize("seed", range(16))
def test_date_time_wire_values_in_arrow_equal_the_written_object_texts(seed: int) -> None:
    """`CoercedColumn.wire_values` (Arrow text) holds what `write_pending` writes into the object
    array, for any set of positions to format; a value from the scalar reference keeps the
    object array."""
    from include.walkme_sync.reconcile.columns import coerce_column
    from include.walkme_sync.records import ArrowValues

    rng = random.Random(seed)
    stamps, _ = random_datetime_pairs(rng, rng.choice([0, 1, 40, 400]))
    density = rng.choice([0.05, 0.7, 1.0])  # every way of `_texts_at`
    formatted = np.array([rng.random() < density for _ in range(len(stamps))], dtype=bool)
    reference = coerce_column(stamps, DATETIME, defer_datetimes=True)
    reference.write_pending(np.flatnonzero(formatted))
    coerced = coerce_column(stamps, DATETIME, defer_datetimes=True)
    values = coerced.wire_values(formatted)
    assert isinstance(values, ArrowValues) or not len(stamps)
    assert values.tolist() == reference.wire.tolist()
    if coerced.pending is not None and reference.pending is not None:
        assert (coerced.pending == reference.pending).all()
    # Had the scalar reference given a value (never, for a datetime64 column): objects.
    coerced = coerce_column(stamps, DATETIME, defer_datetimes=True)
    coerced.scalar_values = 1
    values = coerced.wire_values(formatted)
    assert isinstance(values, np.ndarray) and values.tolist() == reference.wire.tolist()


@pytest.mark.parametrize("clear", [False, True])
@pytest.mark.parametrize("seed", range(16))
def test_whole_numbers_in_arrow_plan_like_python_ints(seed: int, clear: bool) -> None:
    """A number field's whole values held as Arrow int64 decide, send and read exactly like
    the Python ints of the object array (`coerce_column` without deferring)."""
    from include.walkme_sync.reconcile.coerce import coerce_for_field
    from include.walkme_sync.reconcile.columns import coerce_column
    from include.walkme_sync.reconcile.compare import same_texts
    from include.walkme_sync.reconcile.plan import _plan_field, _Target
    from include.walkme_sync.records import ArrowValues, wire_objects

    rng = random.Random(seed)
    whole = FieldInfo("N__c", "N", "double", updateable=True, precision=18, scale=0)
    size = rng.choice([0, 1, 40, 300])
    numbers = [rng.choice([None, 0, 7, -12, 2**40, 10**18, 3]) for _ in range(size)]
    currents = [
        rng.choice([None, "", "7", "7.0", "-12", "12", "0", "x", "1099511627776"])
        for _ in range(size)
    ]
    series = pd.Series(numbers, dtype="Int64")
    reference = coerce_column(series, whole)
    coerced = coerce_column(series, whole, defer_datetimes=True)
    values = coerced.wire_values(np.ones(size, dtype=bool))
    assert isinstance(values, ArrowValues) or not size
    expected = reference.wire.tolist()
    assert values.tolist() == expected
    assert [type(v) for v in wire_objects(values).tolist()] == [type(v) for v in expected]
    olds = pd.Series(currents, dtype="string[pyarrow]")
    assert np.array_equal(same_texts(olds, values, whole), same_texts(olds, reference.wire, whole))
    frame = pd.DataFrame({"c": series, "cur": olds})
    plan = _plan_field(_Target("c", whole, "cur", clear), frame, full_sync=False)
    for position, (number, current) in enumerate(zip(numbers, currents, strict=True)):
        if number is None and not clear:
            assert not plan.changed[position]
            continue
        try:
            wire = coerce_for_field(number, whole)
        except ValueError:
            assert plan.rejected[position] and not plan.changed[position]
            continue
        assert bool(plan.changed[position]) == (not values_equal(current, wire, whole))
        if plan.changed[position]:
            assert plan.new[position] == wire and type(plan.new[position]) is type(wire)


@pytest.mark.parametrize("kind", [pa.string(), pa.large_string()])
@pytest.mark.parametrize("seed", range(30))
def test_unique_keys_by_packed_numbers_equal_arrows_unique(seed: int, kind: pa.DataType) -> None:
    """Ids of one length are checked as numbers first: the answer is Arrow's `unique`'s."""
    from include.walkme_sync.salesforce.bulk_update import packed_keys

    rng = random.Random(seed)
    width = rng.choice([1, 2, 8, 15, 16, 17])
    alphabet = rng.choice(["ab", "abcdefghij0123456789", "aéü日"])
    size = rng.choice([0, 1, 2, 50, 400])
    ids = ["".join(rng.choices(alphabet, k=width)) for _ in range(size)]
    if rng.random() < 0.3 and size:
        ids[rng.randrange(size)] = ids[rng.randrange(size)]  # a duplicate (or itself)
    if rng.random() < 0.2 and size:
        ids[rng.randrange(size)] = rng.choice([None, "", "x" * (width + 1)])
    array = pa.array(ids, type=kind)
    start = rng.randrange(size + 1)
    for part in (array, array.slice(start), array.slice(0, start)):
        assert unique_keys(part) == (len(pc.unique(part)) == len(part))
        packed = packed_keys(part)
        if packed is not None:
            texts = part.to_pylist()
            for i, j in ((rng.randrange(len(part)), rng.randrange(len(part))) for _ in range(20)):
                if texts[i] == texts[j]:
                    assert packed[i] == packed[j]


@pytest.mark.parametrize("seed", range(12))
def test_counted_field_patterns_equal_numpys_unique(seed: int) -> None:
    from include.walkme_sync.reconcile.results import distinct_patterns

    rng = random.Random(seed)
    bits = rng.choice([1, 3, 16, 17, 40])
    size = rng.choice([0, 1, 7, 500])
    pattern = np.array(
        [rng.choice([0, 1, 5, (1 << bits) - 1, rng.randrange(1 << bits)]) for _ in range(size)],
        dtype=np.int64,
    )
    distinct, inverse = distinct_patterns(pattern, bits)
    expected, expected_inverse = np.unique(pattern, return_inverse=True)
    assert distinct.tolist() == expected.tolist()
    assert inverse.tolist() == expected_inverse.reshape(size).tolist()

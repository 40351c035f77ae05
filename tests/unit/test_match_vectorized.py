"""The columnar match path gives exactly what the row-by-row / object-array one did.

References kept here: `reference_keys` is `keys.normalize_key` per value (Python's `strip`,
`casefold`, `lower`); `reference_page` is the previous Bulk page parser (`pandas.read_csv` on the
decoded text, every cell as text, "" -> None); `reference_pair_rows` is the previous pairing
(`pd.factorize` over object arrays, `argsort` grouping, object columns). Generated input mixes
ASCII and Unicode whitespace and case (ß, İ, Σ, ligatures), braces, empty and null keys, repeated
keys (ambiguous records, duplicate rows), quotes, commas and line breaks in CSV cells.
"""

from __future__ import annotations

import csv
import io
import itertools
import random
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from include.walkme_sync.errors import DataValidationError
from include.walkme_sync.frames import (
    CURRENT_PREFIX,
    KEY,
    OUTCOME_COLUMNS,
    Bucket,
    object_values,
    outcome_frame,
)
from include.walkme_sync.keys import key_array, normalize_key, normalize_key_array, normalize_keys
from include.walkme_sync.reconcile.pairing import (
    AMBIGUOUS_IDS_SHOWN,
    _check_one_row_per_record,
    keys_index,
    pair_rows,
    rows_at,
    values_at,
)
from include.walkme_sync.salesforce.lookup import _parse_bulk_page, _records_frame, _wanted_keys
from include.walkme_sync.salesforce.soql import MAX_LITERAL_CHARS
from include.walkme_sync.steps.match import distinct_rows
from tests.configs import login_review_config

KINDS = ["email", "guid", "text"]
#: Pieces keys are made of: every kind of whitespace Python strips, case that differs between
#: `lower` and `casefold`, braces, quotes and separators.
PIECES = [
    "a",
    "Z",
    "user.Name",
    "@",
    "@Example.COM",
    ".",
    " ",
    "\t",
    "\n",
    "\r",
    "\x0b",
    "\x0c",
    "\x1c",
    "\x1d",
    "\x1e",
    "\x1f",
    "\x85",
    "\u00a0",
    "\u2028",
    "\u3000",
    "ß",
    "STRASSE",
    "İ",
    "Σ",
    "ς",
    "ﬁ",
    "É",
    "{",
    "}",
    "0F8FAD5B-D9CB-469F-A165-70867728950E",
    "'",
    '"',
    ",",
    "|",
    "😀",
    "\x00",
]


def random_key(rng: random.Random) -> str | None:
    if rng.random() < 0.08:
        return None
    return "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 6)))


def reference_keys(values: list[Any], kind: str) -> list[str | None]:
    return [normalize_key(value, kind) for value in values]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("seed", range(5))
def test_arrow_key_normalisation_is_normalize_key(kind: str, seed: int) -> None:
    rng = random.Random(seed)
    values = [random_key(rng) for _ in range(400)]
    expected = reference_keys(values, kind)
    arrow_text_dtypes = [pd.ArrowDtype(t) for t in (pa.string(), pa.large_string())]
    for dtype in ("str", "string", object, *arrow_text_dtypes):
        series = pd.Series(values, dtype=dtype)
        assert normalize_keys(series, kind).tolist() == expected
        assert key_array(series, kind).to_pylist() == expected
    assert normalize_keys(values, kind).tolist() == expected
    strings = pa.array(values, type=pa.string())
    assert normalize_key_array(strings, kind).to_pylist() == expected
    chunked = pa.chunked_array([strings[:150], strings[150:150], strings[150:]])
    assert normalize_key_array(chunked, kind).to_pylist() == expected


@pytest.mark.parametrize("kind", KINDS)
def test_arrow_key_normalisation_edge_columns(kind: str) -> None:
    for values in ([], [None, None], ["", "  ", "\x1f"], [float("nan"), "A ", pd.NA]):
        series = pd.Series(values, dtype=object)
        assert normalize_keys(series, kind).tolist() == reference_keys(values, kind)
        assert key_array(series, kind).to_pylist() == reference_keys(values, kind)
    mixed = pd.Series([" A@B.c ", 12, 1.5, None], dtype=object)  # not all text: Python's path
    assert key_array(mixed, kind).to_pylist() == reference_keys(mixed.tolist(), kind)


# --------------------------------------------------------------------------- Bulk pages


def reference_page(page: str, columns: list[str]) -> dict[str, list[Any]]:
    if not page.strip():
        return {}
    table = pd.read_csv(
        io.BytesIO(page.encode("utf-8")),
        dtype=object,
        keep_default_na=False,
        na_filter=False,
        low_memory=False,
    )
    by_lower: dict[str, str] = {}
    for header in reversed(table.columns.tolist()):
        by_lower[str(header).lower()] = str(header)
    result: dict[str, list[Any]] = {}
    for name in columns:
        header = name if name in table.columns else by_lower.get(name.lower())
        if header is None:
            result[name] = [None] * len(table)
        else:
            values = table[header].to_numpy(dtype=object, copy=True)
            values[values == ""] = None
            result[name] = values.tolist()
    return result


CELLS = [
    "",
    "plain",
    "NA",
    "null",
    "#N/A",
    " padded ",
    'say "hi", ok',
    "line\nbreak",
    "crlf\r\nbreak",
    "ü € 😀",
    "0",
    "2026-11-24T08:00:00.000Z",
    ",",
]


def random_page(rng: random.Random, header: list[str], rows: int, line_ending: str) -> str:
    buffer = io.StringIO()
    quoting = rng.choice([csv.QUOTE_ALL, csv.QUOTE_MINIMAL])
    writer = csv.writer(buffer, quoting=quoting, lineterminator=line_ending)
    writer.writerow(header)
    for _ in range(rows):
        writer.writerow([rng.choice(CELLS) for _ in header])
    return buffer.getvalue()


@pytest.mark.parametrize("seed", range(8))
def test_arrow_page_parsing_is_the_pandas_parsing(seed: int) -> None:
    rng = random.Random(seed)
    header = ["Id", "EMAIL", "Title", "email"]  # canonical case differs; a duplicate in another
    columns = ["Id", "Email", "Title", "Missing__c"]
    for rows in (0, 1, rng.randint(2, 300)):
        page = random_page(rng, header, rows, rng.choice(["\n", "\r\n"]))
        parsed = _parse_bulk_page(page.encode("utf-8"), columns)
        expected = reference_page(page, columns)
        assert {name: values.to_pylist() for name, values in parsed.items()} == expected
        assert all(values.type == pa.large_string() for values in parsed.values())
    assert _parse_bulk_page(b"", columns) == {}
    assert _parse_bulk_page(b"  \n", columns) == {}


# --------------------------------------------------------------------------- pairing


def reference_pair_rows(
    config: Any, frame: pd.DataFrame, keys: np.ndarray, found: pd.DataFrame, fields: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The previous `pair_rows` (object arrays, `pd.factorize`, `argsort` grouping)."""
    key_column = config.report.key_column
    update_all = config.matching.multiple_records == "update_all"
    record_keys = found[KEY].to_numpy(dtype=object)
    all_codes, uniques = pd.factorize(np.concatenate([record_keys, keys]))
    codes, row_code = all_codes[: len(record_keys)], all_codes[len(record_keys) :]
    counts = np.bincount(codes, minlength=len(uniques) + 1).astype(np.int64)
    counts[-1] = 0
    order = np.argsort(codes, kind="stable")
    starts = np.cumsum(counts) - counts
    row_count = counts[row_code]
    unmatched = row_count == 0
    ambiguous = (row_count > 1) & (not update_all)
    positions = np.flatnonzero(~unmatched & ~ambiguous)
    repeats = row_count[positions]
    row_positions = np.repeat(positions, repeats)
    within = np.arange(int(repeats.sum())) - np.repeat(np.cumsum(repeats) - repeats, repeats)
    record_positions = order[np.repeat(starts[row_code[positions]], repeats) + within]
    matched = frame.iloc[row_positions].reset_index(drop=True)
    matched.insert(1, "__key", pd.Series(keys[row_positions], dtype="string"))
    ids = found["Id"].to_numpy(dtype=object)
    matched_ids = ids[record_positions]
    if pd.api.types.infer_dtype(matched_ids, skipna=False) != "string":
        matched_ids = np.array([str(i) for i in matched_ids], dtype=object)
    matched["Id"] = pd.Series(matched_ids, dtype="string")
    for name in fields:
        matched[CURRENT_PREFIX + name] = pd.Series(
            found[name].to_numpy(dtype=object)[record_positions], dtype=object
        )
    duplicated = matched["Id"][matched["Id"].duplicated(keep=False)]
    if len(duplicated):
        raise DataValidationError("duplicate")
    ambiguous_at = np.flatnonzero(ambiguous)
    reasons: dict[int, str] = {}
    for code in pd.unique(row_code[ambiguous_at]).tolist():
        group = ids[order[starts[code] : starts[code] + counts[code]]]
        shown = ", ".join(str(i) for i in group[:AMBIGUOUS_IDS_SHOWN])
        more = f" and {len(group) - AMBIGUOUS_IDS_SHOWN} more" if len(group) > 10 else ""
        reasons[code] = (
            f"{len(group)} {config.object.name} records have this "
            f"{config.object.key_field}: {shown}{more}"
        )
    unmatched_at = np.flatnonzero(unmatched)
    rows, originals = frame["__row"], frame[key_column]
    outcomes = pd.concat(
        [
            outcome_frame(
                rows=rows.iloc[unmatched_at].tolist(),
                keys=originals.iloc[unmatched_at].tolist(),
                bucket=Bucket.UNMATCHED,
                reasons=[f"no {config.object.name} record has this {config.object.key_field}"]
                * len(unmatched_at),
            ),
            outcome_frame(
                rows=rows.iloc[ambiguous_at].tolist(),
                keys=originals.iloc[ambiguous_at].tolist(),
                bucket=Bucket.AMBIGUOUS,
                reasons=[reasons[code] for code in row_code[ambiguous_at].tolist()],
                error_codes=["MULTIPLE_RECORDS"] * len(ambiguous_at),
            ),
        ],
        ignore_index=True,
    )[OUTCOME_COLUMNS]
    return matched, outcomes


FIELDS = ["WalkMe_Last_Login__c", "WalkMe_Logins_Last_30_Days__c"]
EMAILS = ["ann@example.com", "bo@example.com", "ß@straße.de", "cy@example.com", "dee@example.com"]


def random_match_case(
    rng: random.Random, rows: int, *, duplicate_rows: bool
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A validated report frame and the records found for its keys (as `lookup_frame` gives
    them from REST: object columns)."""
    pool = [*EMAILS, *(f"user{i}@example.com" for i in range(rows))]
    if duplicate_rows:
        emails = [rng.choice([*EMAILS, None]) for _ in range(rows)]
    else:
        emails = [e if rng.random() > 0.05 else None for e in rng.sample(pool, rows)]
    frame = pd.DataFrame(
        {
            "__row": np.arange(1, rows + 1, dtype=np.int64),
            "User ID": pd.Series(
                [e if e is None else rng.choice([e, e.upper(), f" {e} "]) for e in emails],
                dtype="string",
            ),
            "Logins in Past 30 days": pd.Series(
                [rng.choice([None, 1, 20]) for _ in range(rows)], dtype="Int64"
            ),
        }
    )
    wanted = sorted({e for e in emails if e is not None})
    records: list[dict[str, Any]] = []
    for key in wanted:
        for _ in range(rng.choice([0, 1, 1, 1, 2, 12])):
            records.append(
                {
                    KEY: key,
                    "Id": f"00Q{len(records):012d}AAA",
                    "Email": key,
                    FIELDS[0]: rng.choice([None, "2026-01-02T03:04:05.000Z", "ü"]),
                    FIELDS[1]: rng.choice([None, "3", "12"]),
                }
            )
    rng.shuffle(records)
    columns = [KEY, "Id", "Email", *FIELDS]
    found = pd.DataFrame(
        {c: pd.Series([r[c] for r in records], dtype=object) for c in columns}, columns=columns
    )
    return frame, found


def as_bulk(found: pd.DataFrame, dictionary: pa.Array | None = None) -> pd.DataFrame:
    """The same records as the Bulk path gives them: Arrow text columns (with `dictionary`,
    `__key` coded by it, as `lookup_frame` codes it with the keys it was given)."""
    columns = {
        name: pa.chunked_array([pa.array(found[name].tolist(), type=pa.large_string())])
        for name in found.columns
    }
    if dictionary is not None:
        codes = pc.index_in(columns[KEY], value_set=dictionary)
        columns[KEY] = pa.chunked_array(
            [pa.DictionaryArray.from_arrays(chunk, dictionary) for chunk in codes.chunks],
            type=pa.dictionary(pa.int32(), pa.large_string()),
        )
    return pd.DataFrame(
        {name: pd.Series(pd.arrays.ArrowExtensionArray(v)) for name, v in columns.items()}
    )


@pytest.mark.parametrize("policy", ["skip", "update_all"])
@pytest.mark.parametrize("seed", range(6))
def test_columnar_pairing_is_the_previous_pairing(policy: str, seed: int) -> None:
    rng = random.Random(seed)
    config = login_review_config(matching={"multiple_records": policy})
    for rows, duplicate_rows in ((0, False), (1, False), (60, False), (40, True)):
        frame, found = random_match_case(rng, rows, duplicate_rows=duplicate_rows)
        keys = normalize_keys(frame["User ID"], "email")
        try:
            expected = reference_pair_rows(config, frame, keys, found, FIELDS)
        except DataValidationError:
            expected = None
        arrow_keys = key_array(frame["User ID"], "email")
        index = keys_index(arrow_keys)
        cases = [(k, r) for k in (keys, arrow_keys, index) for r in (found, as_bulk(found))]
        for row_keys, records in cases:
            if expected is None:
                with pytest.raises(DataValidationError, match="same Salesforce record"):
                    pair_rows(config, frame, row_keys, records, FIELDS)
                continue
            result = pair_rows(config, frame, row_keys, records, FIELDS)
            pd.testing.assert_frame_equal(result.matched, expected[0])
            pd.testing.assert_frame_equal(result.outcomes, expected[1])
            # Without the keys (no later step reads them): the same frame less `__key`.
            keyless = pair_rows(config, frame, row_keys, records, FIELDS, with_keys=False)
            pd.testing.assert_frame_equal(keyless.matched, expected[0].drop(columns=[KEY]))
            pd.testing.assert_frame_equal(keyless.outcomes, expected[1])
        # Records coded with the rows' dictionary (as `lookup_frame` gives them when asked with
        # `keys_index`: only wanted keys): paired by those codes, without a hash pass.
        wanted = found[found[KEY].isin(index.dictionary.to_pylist())].reset_index(drop=True)
        try:
            expected = reference_pair_rows(config, frame, keys, wanted, FIELDS)
        except DataValidationError:
            with pytest.raises(DataValidationError, match="same Salesforce record"):
                pair_rows(config, frame, index, as_bulk(wanted, index.dictionary), FIELDS)
            continue
        result = pair_rows(config, frame, index, as_bulk(wanted, index.dictionary), FIELDS)
        pd.testing.assert_frame_equal(result.matched, expected[0])
        pd.testing.assert_frame_equal(result.outcomes, expected[1])


def test_object_values_reads_both_record_frames_alike() -> None:
    found = pd.DataFrame({"A": pd.Series(["x", None, "ü"], dtype=object)})
    positions = np.array([2, 0, 1, 2])
    coded = as_bulk(found.rename(columns={"A": KEY}), pa.array(["ü", "x"], pa.large_string()))
    assert object_values(coded[KEY]).tolist() == ["x", None, "ü"]
    for frame in (found, as_bulk(found)):
        assert object_values(frame["A"]).tolist() == ["x", None, "ü"]
        assert object_values(frame["A"], positions).tolist() == ["ü", "x", None, "ü"]


def read_back(frame: pd.DataFrame) -> pd.DataFrame:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return pd.read_parquet(io.BytesIO(buffer.getvalue()))


@pytest.mark.parametrize("seed", range(4))
def test_arrow_current_values_read_back_as_the_object_ones(seed: int) -> None:
    """The match step keeps Bulk current values as Arrow text: `matched.parquet` reads back as
    it did with Python objects (an all-null column included: it stays an object column)."""
    rng = random.Random(seed)
    config = login_review_config()
    frame, found = random_match_case(rng, 80, duplicate_rows=False)
    found[FIELDS[1]] = None  # a field no record has a value for (a first sync)
    keys = key_array(frame["User ID"], "email")
    objects = pair_rows(config, frame, keys, found, FIELDS).matched
    arrow = pair_rows(config, frame, keys, as_bulk(found), FIELDS, arrow_current=True).matched
    assert arrow[CURRENT_PREFIX + FIELDS[1]].dtype == object
    pd.testing.assert_frame_equal(read_back(arrow), read_back(objects))


@pytest.mark.parametrize("arrow_current", [False, True])
@pytest.mark.parametrize("seed", range(4))
def test_pairing_records_in_row_order_is_the_previous_pairing(
    arrow_current: bool, seed: int
) -> None:
    """Records in the rows' order (an unchanged run's full scan), every row matched or some
    not: the gathers skipped for positions taking everything in order give the same frames."""
    rng = random.Random(seed)
    config = login_review_config()
    for rows, unmatched_every in ((1, 0), (50, 0), (50, 7)):
        emails = [f"user{i}@example.com" for i in range(rows)]
        frame = pd.DataFrame(
            {
                "__row": np.arange(1, rows + 1, dtype=np.int64),
                "User ID": pd.Series(
                    [rng.choice([e, e.upper(), f" {e} "]) for e in emails], dtype="string"
                ),
            }
        )
        kept = [e for i, e in enumerate(emails) if not unmatched_every or i % unmatched_every]
        found = pd.DataFrame(
            {
                KEY: pd.Series(kept, dtype=object),
                "Id": pd.Series([f"00Q{i:012d}AAA" for i in range(len(kept))], dtype=object),
                "Email": pd.Series(kept, dtype=object),
                FIELDS[0]: pd.Series([rng.choice([None, "ü", "x"]) for _ in kept], dtype=object),
                FIELDS[1]: pd.Series([rng.choice([None, "3"]) for _ in kept], dtype=object),
            }
        )
        keys = normalize_keys(frame["User ID"], "email")
        expected = reference_pair_rows(config, frame, keys, found, FIELDS)
        index = keys_index(key_array(frame["User ID"], "email"))
        for records in (found, as_bulk(found), as_bulk(found, index.dictionary)):
            for row_keys in (keys, index):
                result = pair_rows(
                    config, frame, row_keys, records, FIELDS, arrow_current=arrow_current
                )
                pd.testing.assert_frame_equal(read_back(result.matched), read_back(expected[0]))
                if not arrow_current:
                    pd.testing.assert_frame_equal(result.matched, expected[0])
                pd.testing.assert_frame_equal(result.outcomes, expected[1])


def reference_wanted_keys(distinct: pa.Array) -> pa.Array:
    """The previous check: every key's length in characters, 1 to MAX_LITERAL_CHARS."""
    length = pc.utf8_length(distinct)
    usable = pc.and_(pc.greater(length, 0), pc.less_equal(length, MAX_LITERAL_CHARS))
    return distinct if pc.all(usable).as_py() else distinct.filter(usable)


@pytest.mark.parametrize("seed", range(6))
def test_wanted_keys_are_the_previous_ones(seed: int) -> None:
    """Usable keys by byte-length bounds first: the same keys as by character lengths (empty,
    multi-byte text just under and over the limit, null)."""
    rng = random.Random(seed)
    limit = MAX_LITERAL_CHARS
    pool = ["a", "", "ü" * limit, "ü" * (limit + 1), "a" * limit, "a" * (limit + 1), "😀x", None]
    for size in (0, 1, 3, 8):
        values = list(dict.fromkeys(rng.choice(pool) for _ in range(size)))
        distinct = pa.array(values, pa.large_string())
        assert (
            _wanted_keys(distinct).to_pylist()
            == reference_wanted_keys(pc.unique(distinct).drop_null()).to_pylist()
        )
        coded = pc.dictionary_encode(distinct)
        assert (
            _wanted_keys(coded).to_pylist() == reference_wanted_keys(coded.dictionary).to_pylist()
        )


@pytest.mark.parametrize("seed", range(6))
def test_one_row_per_record_check_is_the_previous_check(seed: int) -> None:
    """Ids in ascending order pass without a hash table; any other order is checked as before
    (equal neighbours, repeats far apart, nulls, Unicode, case, one or no row)."""
    rng = random.Random(seed)
    pool = ["00Q000000000001AAA", "00Q000000000002AAA", "00q000000000002AAA", "00Qü", "", None]
    for size in (0, 1, 2, 5, 9):
        values = [rng.choice(pool) for _ in range(size)]
        for ids in (
            values,
            sorted(v for v in values if v is not None),
            sorted(set(values) - {None}),
        ):
            matched = pd.DataFrame(
                {
                    "__row": np.arange(1, len(ids) + 1, dtype=np.int64),
                    "Id": pd.Series(pd.arrays.ArrowStringArray(pa.array(ids, pa.large_string()))),
                }
            )
            duplicated = matched["Id"].duplicated(keep=False).any()
            if duplicated:
                with pytest.raises(DataValidationError, match="same Salesforce record"):
                    _check_one_row_per_record(matched)
            else:
                _check_one_row_per_record(matched)


@pytest.mark.parametrize("seed", range(4))
def test_keys_index_of_chunked_keys_is_one_coded_array(seed: int) -> None:
    """Keys read from Parquet come in chunks (row groups): coded as one array with one
    dictionary, the same codes as the keys in one piece (nulls, repeats, empty chunks)."""
    rng = random.Random(seed)
    values = [normalize_key(random_key(rng), "email") for _ in range(120)]
    whole = pa.array(values, pa.large_string())
    expected = pc.dictionary_encode(whole)
    cuts = sorted(rng.sample(range(len(values) + 1), 3))
    bounds = [0, *cuts, len(values)]
    chunked = pa.chunked_array(
        [whole[a:b] for a, b in itertools.pairwise(bounds)], type=pa.large_string()
    )
    for keys in (whole, chunked, chunked.cast(pa.string())):
        index = keys_index(keys)
        assert isinstance(index, pa.DictionaryArray)
        assert index.equals(expected)
        assert _wanted_keys(index).to_pylist() == expected.dictionary.to_pylist()
        placed = keys_index(keys, distinct=True)  # (repeats decode right too: by place)
        assert placed.to_pylist() == values
        assert placed.dictionary.to_pylist() == [v for v in values if v is not None]
    present = chunked.drop_null()  # no null: every key its own code
    assert keys_index(present, distinct=True).to_pylist() == present.to_pylist()
    assert keys_index(present, distinct=True).dictionary.to_pylist() == present.to_pylist()
    for empty in (pa.chunked_array([], pa.large_string()), pa.chunked_array([pa.array([])])):
        for distinct in (False, True):
            index = keys_index(empty.cast(pa.large_string()), distinct=distinct)
            assert isinstance(index, pa.DictionaryArray) and len(index) == 0
            assert len(index.dictionary) == 0


@pytest.mark.parametrize("kind", KINDS)
def test_key_normalisation_without_empty_keys_is_normalize_key(kind: str) -> None:
    """No empty key: the normalised keys are returned without the null-replacing pass."""
    values = ["A@B.C", " x@y.z ", "{ABC}", "ü@ß.de", None]
    expected = reference_keys(values, kind)
    assert normalize_key_array(pa.array(values, pa.string()), kind).to_pylist() == expected
    assert (
        normalize_key_array(pa.array(values[:-1], pa.string()), kind).to_pylist() == (expected[:-1])
    )


def reference_records_frame(
    data: dict[str, pa.ChunkedArray], key_field: str, kind: str, wanted: pa.Array
) -> dict[str, list[Any]]:
    """The previous Bulk branch of `_records_frame`: `index_in` of the records' keys in `wanted`
    (read back as Python values, `__key` decoded)."""
    codes = pc.index_in(normalize_key_array(data[key_field], kind), value_set=wanted)
    keep = pc.is_valid(codes)
    columns = {name: values.filter(keep).to_pylist() for name, values in data.items()}
    return {KEY: wanted.take(codes.filter(keep)).to_pylist(), **columns}


def bulk_records(rng: random.Random, keys: list[str | None]) -> dict[str, pa.ChunkedArray]:
    """Records as the Bulk pages give them (several chunks): raw keys in any case and spacing,
    some not wanted, some without a key."""
    raw = [
        rng.choice([k, k.upper(), f" {k}\t"]) if k is not None and rng.random() < 0.8 else k
        for k in keys
    ]
    raw += [random_key(rng) for _ in range(rng.randint(0, 20))]
    rng.shuffle(raw)
    cut = rng.randint(0, len(raw))
    text = pa.array(raw, pa.large_string())
    ids = pa.array([f"00Q{i:012d}AAA" for i in range(len(raw))], pa.large_string())
    return {
        "Id": pa.chunked_array([ids[:cut], ids[cut:]]),
        "Email": pa.chunked_array([text[:cut], text[cut:]]),
    }


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("seed", range(6))
def test_records_coded_in_one_pass_are_the_previous_ones(kind: str, seed: int) -> None:
    """`_records_frame` codes the records by one hash pass over the wanted keys and theirs: the
    same records and keys as `index_in`, for wanted keys from the rows' hash (`keys_index`), from
    their places (`distinct=True`), and for repeated wanted keys (a broken promise: the keys are
    then given as text, and pairing still gives the previous result)."""
    rng = random.Random(seed)
    config = login_review_config()
    for rows in (0, 1, 30, 200):
        values = list(dict.fromkeys(normalize_key(random_key(rng), kind) for _ in range(rows)))
        row_keys = pa.array([v for v in values if v is not None] + [None] * 3, pa.large_string())
        data = bulk_records(rng, [rng.choice(values) for _ in range(rows)] if values else [])
        hashed = keys_index(row_keys)
        placed = keys_index(row_keys, distinct=True)
        assert placed.to_pylist() == row_keys.to_pylist()
        repeated = pa.concat_arrays([row_keys.drop_null(), row_keys.drop_null()[:5]])
        for wanted in (hashed.dictionary, placed.dictionary, repeated):
            if not len(wanted):
                continue
            expected = reference_records_frame(data, "Email", kind, wanted)
            found = _records_frame(data, "Email", kind, wanted, ["Id", "Email"])
            assert {name: object_values(found[name]).tolist() for name in found} == expected
            coded = pa.types.is_dictionary(pa.array(found[KEY].array).type)
            assert coded == (wanted is not repeated)
        frame = pd.DataFrame(
            {
                "__row": np.arange(1, len(row_keys) + 1, dtype=np.int64),
                "User ID": pd.Series(row_keys.to_pylist(), dtype="string"),
            }
        )
        if not len(placed.dictionary):
            continue
        found = _records_frame(data, "Email", kind, placed.dictionary, ["Id", "Email"])
        objects = pd.DataFrame({name: object_values(found[name]) for name in found})
        expected_pairs = reference_pair_rows(
            config, frame, np.array(row_keys.to_pylist(), dtype=object), objects, []
        )
        repeated = pa.concat_arrays([placed.dictionary, placed.dictionary[:5]])
        for index, wanted in (
            (placed, placed.dictionary),
            (hashed, hashed.dictionary),
            (placed, repeated),
            (hashed, repeated),
        ):
            records = _records_frame(data, "Email", kind, wanted, ["Id", "Email"])
            result = pair_rows(config, frame, index, records, [])
            pd.testing.assert_frame_equal(result.matched, expected_pairs[0])
            pd.testing.assert_frame_equal(result.outcomes, expected_pairs[1])


def test_distinct_rows_is_nunique() -> None:
    """The matched rows' count of report rows: `nunique`, with or without the in-order path."""
    for values in ([], [3], [1, 2, 5], [1, 1, 2], [2, 1], [1, 3, 3, 4]):
        for rows in (pd.Series(values, dtype="int64"), pd.Series(values, dtype="Int64")):
            assert distinct_rows(rows) == rows.nunique()
    assert distinct_rows(pd.Series([None, 2], dtype="Int64")) == 1
    assert distinct_rows(pd.Series([None], dtype="Int64")) == 0


@pytest.mark.parametrize("dtype", ["str", "string", object])
@pytest.mark.parametrize("seed", range(3))
def test_outcome_keys_of_any_key_column_are_the_previous_ones(dtype: Any, seed: int) -> None:
    """Unmatched and ambiguous rows' keys go to the outcomes as a column: the same text as
    value by value, whatever the key column's dtype."""
    rng = random.Random(seed)
    config = login_review_config()
    frame, found = random_match_case(rng, 60, duplicate_rows=False)
    frame["User ID"] = frame["User ID"].astype(dtype)
    keys = normalize_keys(frame["User ID"], "email")
    expected = reference_pair_rows(config, frame, keys, found, FIELDS)
    result = pair_rows(config, frame, key_array(frame["User ID"], "email"), found, FIELDS)
    pd.testing.assert_frame_equal(result.outcomes, expected[1])


#: Keys already in normal form for every kind (lower-case ASCII, nothing to trim, none empty).
NORMAL_KEYS = ["a@b.c", "x.y+z@example.com", "0f8fad5b-d9cb-469f-a165-70867728950e", "q", "1@2.3"]
#: One value each that normalising changes, for some kind: case, whitespace at either end
#: (ASCII and Unicode), braces, non-ASCII case and spacing, empty, null.
DEVIANTS = [
    "A@b.c",
    " a@b.c",
    "a@b.c\t",
    "a@b.c\x1f",
    "\x0ba",
    "{a}",
    "a}",
    "{a",
    "ß@x.y",
    "İ",
    "a\u3000",
    "\u00a0a",
    "é",
    "",
    None,
    "aZ",
    "@",
    "[",
    "`",
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("seed", range(4))
def test_already_normal_keys_skip_normalisation_exactly(kind: str, seed: int) -> None:
    """Keys that are already normal come back as they are (no copy); one deviant anywhere (at
    the start, the end, inside; in a sliced or chunked array) sends the keys through the full
    path: both give `normalize_key`'s results."""
    rng = random.Random(seed)
    normal = [rng.choice(NORMAL_KEYS) + str(i) for i in range(300)]
    strings = pa.array(normal, pa.large_string())
    same = normalize_key_array(strings, kind)
    assert same.to_pylist() == reference_keys(normal, kind)
    assert same.buffers()[2].address == strings.buffers()[2].address  # not copied
    for deviant in DEVIANTS:
        for at in (0, rng.randrange(1, 299), 299):
            values: list[str | None] = list(normal)
            values[at] = deviant
            expected = reference_keys(values, kind)
            array = pa.array(values, pa.large_string())
            assert normalize_key_array(array, kind).to_pylist() == expected
            assert normalize_key_array(array.cast(pa.string()), kind).to_pylist() == expected
            cut = rng.randint(0, 300)
            chunked = pa.chunked_array([array.slice(0, cut), array.slice(cut)])
            assert normalize_key_array(chunked, kind).to_pylist() == expected
            padded = pa.array(["X ", *values, " Y"], pa.large_string()).slice(1, 300)
            assert normalize_key_array(padded, kind).to_pylist() == expected
    for edge in ([], [""], [None], ["a"], ["A"]):
        array = pa.array(edge, pa.large_string())
        assert normalize_key_array(array, kind).to_pylist() == reference_keys(edge, kind)


def test_rows_kept_by_mask_are_the_rows_taken_by_position() -> None:
    """`rows_at` (a mask per column when positions only go up) is `iloc` + a fresh index, for
    every kind of column a report frame holds, nulls included."""
    rng = np.random.default_rng(3)
    size = 300
    texts = [None if i % 7 == 0 else f"v{i}ü" for i in range(size)]
    frame = pd.DataFrame(
        {
            "text": pd.Series(texts, dtype="str"),
            "string": pd.Series(texts, dtype="string"),
            "count": pd.Series([None if i % 5 == 0 else i for i in range(size)], dtype="Int64"),
            "when": pd.Series(pd.date_range("2026-01-01", periods=size, freq="h", tz="UTC")),
            "__row": np.arange(1, size + 1, dtype=np.int64),
            "mixed": pd.Series([None, 1, "a", 2.5] * (size // 4), dtype=object),
            "float": np.where(np.arange(size) % 3 == 0, np.nan, 1.5),
            "flag": np.arange(size) % 2 == 0,
            "kind": pd.Categorical(["a", "b", None] * (size // 3)),
        },
        index=pd.RangeIndex(10, 10 + size),
    )
    frame.loc[frame.index[5], "when"] = pd.NaT
    chunked = pd.concat([frame.iloc[:100], frame.iloc[100:]])  # Arrow text in two chunks
    cases = [
        np.flatnonzero(rng.random(size) < 0.9),
        np.flatnonzero(rng.random(size) < 0.1),
        np.arange(size),
        np.array([0]),
        np.array([size - 1]),
        np.array([], dtype=np.int64),
        np.array([3, 1, 2]),  # not ascending: taken by position
        np.array([0, 0, 4, 4]),  # repeats (update_all): taken by position
    ]
    for source in (frame, chunked, frame.iloc[:0], frame[[]]):
        for case in cases:
            positions = case[case < len(source)]
            expected = source.iloc[positions].reset_index(drop=True)
            pd.testing.assert_frame_equal(rows_at(source, positions), expected)
            for name, column in source.items():
                pd.testing.assert_series_equal(values_at(column, positions), expected[name])

"""Pair report rows with the Salesforce records their keys found (pure: frames in, frames out).

A key with no record -> `unmatched`; with several records -> `ambiguous` (listing the Ids) under
`multiple_records: skip`, or one matched row per record under `update_all`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from include.walkme_sync.config import IntegrationConfig
from include.walkme_sync.errors import DataValidationError
from include.walkme_sync.frames import (
    CURRENT_PREFIX,
    KEY,
    OUTCOME_COLUMNS,
    Bucket,
    object_values,
    outcome_frame,
)

AMBIGUOUS_IDS_SHOWN = 10


@dataclass
class MatchResult:
    """`matched`: one row per (report row, record) with `__row`, `__key` (unless left out),
    `Id`, the report columns and `__current__<Field>` per mapped field. `outcomes`: unmatched
    and ambiguous rows."""

    matched: pd.DataFrame
    outcomes: pd.DataFrame


def pair_rows(
    config: IntegrationConfig,
    frame: pd.DataFrame,
    keys: np.ndarray | pa.Array,
    found: pd.DataFrame,
    fields: list[str],
    *,
    arrow_current: bool = False,
    with_keys: bool = True,
) -> MatchResult:
    """Pair report rows with records column-wise: records are grouped by key (stable, in
    Salesforce's order), each row looks its key's group up, and the matched frame is built with
    two `take`s (report rows repeated once per record; the records in group order).

    `keys` are the rows' normalised keys (`keys.normalize_keys`, `keys.key_array` or, coded,
    `keys_index`: then records looked up by that index keep its codes, no hash pass); `found` is
    `salesforce.lookup.lookup_frame`'s result (object or Arrow columns). `arrow_current`: see
    `current_values`. `with_keys`: `matched` holds `__key` (else the keys are not decoded).

    Each of `found`'s columns is let go once paired: a caller that hands `found` over (keeps no
    reference to it, as `steps.match.match_rows`) does not hold the records twice at the peak."""
    key_column = config.report.key_column
    records = {name: found[name] for name in found.columns}
    del found
    row_keys = _key_chunks(keys)
    pairs = _pair_positions(
        _key_chunks(records.pop(KEY)), row_keys, config.matching.multiple_records == "update_all"
    )
    row_positions, record_positions = pairs.row_positions, pairs.record_positions

    # Every row matched, in order (an unchanged run): the rows need no gathering.
    rows_in_order = _is_identity(row_positions, len(frame))
    matched = frame.reset_index(drop=True) if rows_in_order else rows_at(frame, row_positions)
    if with_keys:
        matched_keys = _key_texts(row_keys if rows_in_order else row_keys.take(row_positions))
        matched.insert(1, KEY, pd.Series(pd.arrays.ArrowStringArray(matched_keys)))
    del row_keys
    ids = records["Id"]
    matched["Id"] = _id_series(ids, record_positions)
    # Before the current values are added: the check's hash table then adds less to the peak.
    _check_one_row_per_record(matched)
    for name in fields:
        matched[CURRENT_PREFIX + name] = current_values(
            ids if name == "Id" else records.pop(name), record_positions, arrow=arrow_current
        )

    ambiguous_at, unmatched_at = pairs.ambiguous_at, pairs.unmatched_at
    reasons: dict[int, str] = {}
    id_values = object_values(ids) if len(ambiguous_at) else np.empty(0, dtype=object)
    for code, group_at in pairs.ambiguous_groups.items():
        group = id_values[group_at]
        shown = ", ".join(str(i) for i in group[:AMBIGUOUS_IDS_SHOWN])
        more = f" and {len(group) - AMBIGUOUS_IDS_SHOWN} more" if len(group) > 10 else ""
        reasons[code] = (
            f"{len(group)} {config.object.name} records have this "
            f"{config.object.key_field}: {shown}{more}"
        )
    rows = frame["__row"]
    originals = frame[key_column]
    outcomes = pd.concat(
        [
            # Whole columns, not lists: a text column becomes the outcome's key column at once.
            outcome_frame(
                rows=values_at(rows, unmatched_at),
                keys=values_at(originals, unmatched_at),
                bucket=Bucket.UNMATCHED,
                reasons=[f"no {config.object.name} record has this {config.object.key_field}"]
                * len(unmatched_at),
            ),
            outcome_frame(
                rows=values_at(rows, ambiguous_at),
                keys=values_at(originals, ambiguous_at),
                bucket=Bucket.AMBIGUOUS,
                reasons=[reasons[code] for code in pairs.ambiguous_codes.tolist()],
                error_codes=["MULTIPLE_RECORDS"] * len(ambiguous_at),
            ),
        ],
        ignore_index=True,
    )[OUTCOME_COLUMNS]
    return MatchResult(matched=matched, outcomes=outcomes)


@dataclass
class _Pairs:
    """Which report rows go with which records (positions in the frame and in `found`)."""

    #: One entry per matched (row, record): the row's and the record's position.
    row_positions: np.ndarray
    record_positions: np.ndarray
    unmatched_at: np.ndarray
    ambiguous_at: np.ndarray
    #: The key code of each ambiguous row, and each such key's records (positions).
    ambiguous_codes: np.ndarray
    ambiguous_groups: dict[int, np.ndarray]


def keys_index(keys: pa.Array | pa.ChunkedArray, *, distinct: bool = False) -> pa.DictionaryArray:
    """The rows' keys coded by one dictionary of the distinct keys (null: no key): given to
    `lookup_frame` (the distinct keys to ask for) and to `pair_rows` (the rows' codes), it spares
    a hash pass over all keys when pairing.

    `distinct`: the caller knows no key repeats (validation resolved duplicate keys): the keys
    themselves are the dictionary, in row order, without a hash pass. `lookup_frame` checks it
    as it codes the records (a repeat there makes pairing hash both sides: still exact).

    Chunked keys (a text column read from Parquet, one chunk per row group) give one array too:
    Arrow codes every chunk with the same, final dictionary, so the codes are only joined (as
    chunks, `lookup_frame` would have to find the distinct keys again by a hash pass)."""
    if distinct:
        return _positions_index(keys)
    encoded = pc.dictionary_encode(keys.cast(pa.large_string()))
    if isinstance(encoded, pa.DictionaryArray):
        return encoded
    if not encoded.num_chunks:
        return pa.DictionaryArray.from_arrays(
            pa.array([], pa.int32()), pa.array([], pa.large_string())
        )
    dictionary = encoded.chunk(0).dictionary
    if not all(_same_buffers(chunk.dictionary, dictionary) for chunk in encoded.chunks):
        return pc.dictionary_encode(keys.cast(pa.large_string()).combine_chunks())  # no sharing
    indices = pa.concat_arrays([chunk.indices for chunk in encoded.chunks])
    return pa.DictionaryArray.from_arrays(indices, dictionary)


def _positions_index(keys: pa.Array | pa.ChunkedArray) -> pa.DictionaryArray:
    """Keys that do not repeat, coded by their place among the keys that are not null."""
    text = keys.cast(pa.large_string())
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks() if text.num_chunks != 1 else text.chunk(0)
    if not text.null_count:  # every row has a key: each is its own code (no copy of the keys)
        return pa.DictionaryArray.from_arrays(pa.array(np.arange(len(text), dtype=np.int32)), text)
    valid = np.asarray(pc.is_valid(text).to_numpy(zero_copy_only=False), dtype=bool)
    positions = np.cumsum(valid, dtype=np.int64) - 1
    indices = pa.array(positions.astype(np.int32), mask=~valid)
    return pa.DictionaryArray.from_arrays(indices, text.drop_null())


def _same_buffers(one: pa.Array, other: pa.Array) -> bool:
    """Whether two arrays are views of the same memory (no comparison of their values)."""
    return len(one) == len(other) and [b.address if b else 0 for b in one.buffers()] == [
        b.address if b else 0 for b in other.buffers()
    ]


def _pair_positions(
    record_keys: pa.ChunkedArray, row_keys: pa.ChunkedArray, update_all: bool
) -> _Pairs:
    """Group the records by key code (`_key_codes`) and give each row its group: a row with no
    record is unmatched, with several ambiguous unless `update_all`."""
    codes, row_code, distinct = _key_codes(record_keys, row_keys)
    counts = np.bincount(codes, minlength=distinct + 1)
    counts[-1] = 0  # row_code -1 (null key) indexes this slot: no records
    row_count = counts[row_code]
    unmatched = row_count == 0
    ambiguous = (row_count > 1) & (not update_all)
    positions = np.flatnonzero(~unmatched & ~ambiguous)
    unmatched_at, ambiguous_at = np.flatnonzero(unmatched), np.flatnonzero(ambiguous)
    del unmatched, ambiguous
    if counts.max(initial=0) <= 1:  # the usual case: no key has two records, no grouping
        record_of = np.full(distinct + 1, -1, dtype=np.int64)
        record_of[codes] = np.arange(len(codes))
        return _Pairs(
            row_positions=positions,
            record_positions=record_of[row_code[positions]],
            unmatched_at=unmatched_at,
            ambiguous_at=ambiguous_at,
            ambiguous_codes=np.empty(0, dtype=np.int64),
            ambiguous_groups={},
        )
    order = np.argsort(codes, kind="stable")  # records grouped by key, each group in order
    starts = np.cumsum(counts) - counts
    repeats = row_count[positions]
    within = np.arange(int(repeats.sum())) - np.repeat(np.cumsum(repeats) - repeats, repeats)
    ambiguous_codes = row_code[ambiguous_at]
    return _Pairs(
        row_positions=np.repeat(positions, repeats),
        record_positions=order[np.repeat(starts[row_code[positions]], repeats) + within],
        unmatched_at=unmatched_at,
        ambiguous_at=ambiguous_at,
        ambiguous_codes=ambiguous_codes,
        ambiguous_groups={
            code: order[starts[code] : starts[code] + counts[code]]
            for code in pd.unique(ambiguous_codes).tolist()
        },
    )


#: pandas' default text dtype (`str`): Arrow-backed, NaN for null; what Parquet text reads back as.
_TEXT = pd.StringDtype("pyarrow", na_value=np.nan)


def current_values(column: pd.Series, positions: np.ndarray, *, arrow: bool) -> pd.Series:
    """The records' current values of one field at `positions`, as a matched column.

    Python objects, None for null, by default. With `arrow`, a Bulk (Arrow text) column stays
    Arrow, as pandas' `str` dtype: the dtype `matched.parquet` reads back as either way, for a
    third of the memory of a million Python strings. A column without any value stays an object
    column of None either way: its Parquet type (null) reads back as object, as before."""
    if arrow and isinstance(column.dtype, pd.ArrowDtype):
        values = _take(pa.array(column.array), positions)
        if values.null_count < len(values):
            return pd.Series(pd.arrays.ArrowStringArray(values, dtype=_TEXT))
        # (a first sync: no record has a value yet; no second take to read the nulls)
        return pd.Series(np.full(len(values), None, dtype=object), dtype=object)
    return pd.Series(object_values(column, positions), dtype=object)


def _key_chunks(keys: np.ndarray | pa.Array | pa.ChunkedArray | pd.Series) -> pa.ChunkedArray:
    """Normalised keys (str or None) as Arrow chunks, without a copy of Arrow keys: text, or
    dictionary-coded as given (`keys_index`; the Bulk `__key` of `lookup_frame`)."""
    if isinstance(keys, pd.Series):
        keys = pa.array(keys.array) if isinstance(keys.dtype, pd.ArrowDtype) else keys.to_numpy()
    if isinstance(keys, np.ndarray):
        keys = pa.array(keys, type=pa.large_string())
    if isinstance(keys, pa.Array):
        keys = pa.chunked_array([keys])
    return keys if pa.types.is_dictionary(keys.type) else keys.cast(pa.large_string())


def _key_texts(keys: pa.ChunkedArray) -> pa.ChunkedArray:
    return keys.cast(pa.large_string())  # a dictionary-coded key column is decoded


def _key_codes(
    record_keys: pa.ChunkedArray, row_keys: pa.ChunkedArray
) -> tuple[np.ndarray, np.ndarray, int]:
    """One code per record key and per row key (the same code for the same key, -1 for null)
    and the number of codes. Keys already coded with one dictionary (the match step codes the
    rows' keys, the lookup codes the records' keys with that dictionary) keep their codes;
    others are coded by one hash pass over both."""
    shared = _shared_dictionary(record_keys, row_keys)
    if shared is not None:
        return _indices(record_keys), _indices(row_keys), shared
    both = pa.chunked_array(
        [*_key_texts(record_keys).chunks, *_key_texts(row_keys).chunks], type=pa.large_string()
    )
    encoded = pc.dictionary_encode(both)
    if not encoded.num_chunks:
        return np.empty(0, np.int64), np.empty(0, np.int64), 0
    codes = _indices(encoded)
    split = len(record_keys)
    # Every chunk shares one dictionary: the hash table persists across chunks.
    return codes[:split], codes[split:], len(encoded.chunk(0).dictionary)


def _shared_dictionary(*sides: pa.ChunkedArray) -> int | None:
    """The size of the one dictionary every chunk of both sides is coded with, else None."""
    chunks = [chunk for side in sides for chunk in side.chunks]
    if not chunks or not all(pa.types.is_dictionary(chunk.type) for chunk in chunks):
        return None
    first = chunks[0].dictionary
    if all(chunk.dictionary.equals(first) for chunk in chunks[1:]):
        return len(first)
    return None


def _indices(coded: pa.ChunkedArray) -> np.ndarray:
    """The codes of dictionary-coded chunks as int64, -1 for null."""
    if not coded.num_chunks:
        return np.empty(0, np.int64)
    indices = pa.chunked_array([chunk.indices for chunk in coded.chunks])
    return np.asarray(pc.fill_null(indices, -1).to_numpy(), dtype=np.int64)


def rows_at(frame: pd.DataFrame, positions: np.ndarray) -> pd.DataFrame:
    """`frame.iloc[positions]` with a fresh `RangeIndex`. Positions that only go up (each row
    once, in order: every matched row but the unmatched ones) keep rows by a mask, column by
    column: Arrow copies each run of kept text at once instead of gathering value by value."""
    keep = _ascending_mask(positions, len(frame))
    if keep is None or not len(frame.columns) or not frame.columns.is_unique:
        return frame.iloc[positions].reset_index(drop=True)
    return pd.DataFrame(
        {name: _kept(column, keep) for name, column in frame.items()}, columns=frame.columns
    )


def values_at(column: pd.Series, positions: np.ndarray) -> pd.Series:
    """`column.iloc[positions]` with a fresh `RangeIndex`, by a mask as `rows_at` (a text
    column read from Parquet is in chunks: taken by position, Arrow would join them first)."""
    keep = _ascending_mask(positions, len(column))
    if keep is None:
        return column.iloc[positions].reset_index(drop=True)
    return _kept(column, keep)


def _ascending_mask(positions: np.ndarray, size: int) -> np.ndarray | None:
    """The positions as a mask of `size` when each is above the one before, else None."""
    if not len(positions) or not bool((positions[1:] > positions[:-1]).all()):
        return None
    keep = np.zeros(size, dtype=bool)
    keep[positions] = True
    return keep


def _kept(column: pd.Series, keep: np.ndarray) -> pd.Series:
    # `dtype`: an object column stays object (pandas would infer text).
    return pd.Series(column.array[keep], dtype=column.dtype, name=column.name)


def _is_identity(positions: np.ndarray, size: int) -> bool:
    """Whether `positions` take every one of `size` items in order (nothing to gather)."""
    return len(positions) == size and bool(np.array_equal(positions, np.arange(size)))


def _take(values: pa.Array | pa.ChunkedArray, positions: np.ndarray) -> pa.ChunkedArray:
    """`values` at `positions`; as they are when that is every value in order (records that
    Salesforce returned in the rows' order: an unchanged run), which spares a copy."""
    if _is_identity(positions, len(values)):
        return values if isinstance(values, pa.ChunkedArray) else pa.chunked_array([values])
    keep = _ascending_mask(positions, len(values))  # (a filter does not join the chunks)
    taken = values.take(positions) if keep is None else values.filter(pa.array(keep))
    return taken if isinstance(taken, pa.ChunkedArray) else pa.chunked_array([taken])


def _id_series(ids: pd.Series, positions: np.ndarray) -> pd.Series:
    """The matched records' Ids as a `string` column."""
    if isinstance(ids.dtype, pd.ArrowDtype):
        taken = _take(pa.array(ids.array), positions)
        if taken.null_count == 0:  # always, from Salesforce; else str(None) as below
            return pd.Series(pd.arrays.ArrowStringArray(taken.cast(pa.large_string())))
    values = object_values(ids, positions)
    if pd.api.types.infer_dtype(values, skipna=False) != "string":
        values = np.array([str(i) for i in values], dtype=object)
    return pd.Series(values, dtype="string")


def _check_one_row_per_record(matched: pd.DataFrame) -> None:
    ids = pa.array(matched["Id"].array)
    if _strictly_ascending(ids) or len(pc.unique(ids)) == len(ids):  # the usual cases
        return
    duplicated = matched["Id"][matched["Id"].duplicated(keep=False)]
    if len(duplicated):
        rows = matched.loc[duplicated.index, "__row"].tolist()[:10]
        raise DataValidationError(
            f"Several report rows ({', '.join(map(str, rows))}) match the same Salesforce record "
            f"{duplicated.iloc[0]}; duplicates should have been resolved by validation.",
            action="Set matching.duplicate_report_keys (reject, keep_first or keep_last) and run "
            "again; report this as a bug if it is already set.",
        )


def _strictly_ascending(values: pa.ChunkedArray) -> bool:
    """Whether every value is greater than the one before (so no two are equal), by one
    comparison of neighbours: records read in Id order (a full scan) need no hash table."""
    if len(values) < 2:
        return True
    if values.null_count:
        return False
    after = pc.greater(values.slice(1), values.slice(0, len(values) - 1))
    return bool(pc.all(after).as_py())

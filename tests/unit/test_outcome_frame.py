"""`outcome_frame` converts whole integer and text columns at once; the result is what the
value-by-value build gave (`reference_outcome_frame` is the previous code)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
import pytest

from include.walkme_sync.frames import OUTCOME_COLUMNS, ROW, Bucket, outcome_frame


def reference_outcome_frame(
    *,
    rows: Iterable[int],
    keys: Iterable[object],
    bucket: str,
    reasons: Sequence[str | None] | None = None,
) -> pd.DataFrame:
    row_list = [int(row) for row in rows]
    size = len(row_list)
    frame = pd.DataFrame(
        {
            ROW: pd.Series(row_list, dtype="int64"),
            "key": pd.Series([None if pd.isna(k) else str(k) for k in keys], dtype="string"),
            "bucket": pd.Series([str(bucket)] * size, dtype="string"),
            "reason": pd.Series(
                list(reasons) if reasons is not None else [None] * size, dtype="string"
            ),
            "error_code": pd.Series([None] * size, dtype="string"),
            "record_id": pd.Series([None] * size, dtype="string"),
        }
    )
    return frame[OUTCOME_COLUMNS]


KEYS: list[object] = [None, "a@b.co", "", "ÜBER", "名前", "x\ny", float("nan"), "  z  "]


def key_inputs() -> list[object]:
    shuffled_index = [7, 3, 5, 1, 0, 2, 6, 4]
    return [
        pd.Series(KEYS, dtype="string"),
        pd.Series(KEYS, dtype="str"),
        pd.Series(KEYS, dtype="string", index=shuffled_index),
        pd.Series(KEYS, dtype="object"),
        pd.Series([1, 2, None, 4, 5, 6, 7, 8], dtype="Int64"),
        list(KEYS),
        np.array(KEYS, dtype=object),
    ]


def row_inputs() -> list[object]:
    numbers = [8, 1, 5, 2, 3, 4, 6, 7]
    return [
        numbers,
        pd.Series(numbers, dtype="int64", index=[9, 8, 7, 6, 5, 4, 3, 2]),
        pd.Series(numbers, dtype="int32"),
        pd.Series(numbers, dtype="Int64"),
        pd.Index(numbers),
        np.array(numbers),
        [float(n) for n in numbers],
        pd.Series(numbers, dtype="float64"),
    ]


@pytest.mark.parametrize("rows", row_inputs(), ids=lambda r: type(r).__name__)
@pytest.mark.parametrize("keys", key_inputs(), ids=lambda k: str(getattr(k, "dtype", "list")))
def test_outcome_frame_as_before(rows: object, keys: object) -> None:
    reasons = [None, "r", None, "é", None, "", None, "x"]
    got = outcome_frame(rows=rows, keys=keys, bucket=Bucket.UNMATCHED, reasons=reasons)
    want = reference_outcome_frame(rows=rows, keys=keys, bucket=Bucket.UNMATCHED, reasons=reasons)
    pd.testing.assert_frame_equal(got, want)


def test_empty_and_generator_inputs() -> None:
    for rows, keys in (([], []), (iter([3, 1]), iter(["a", None]))):
        rows_list, keys_list = list(rows), list(keys)
        got = outcome_frame(rows=iter(rows_list), keys=iter(keys_list), bucket=Bucket.REJECTED)
        want = reference_outcome_frame(rows=rows_list, keys=keys_list, bucket=Bucket.REJECTED)
        pd.testing.assert_frame_equal(got, want)
    empty = pd.Series([], dtype="string")
    pd.testing.assert_frame_equal(
        outcome_frame(rows=pd.Series([], dtype="int64"), keys=empty, bucket=Bucket.FAILED),
        reference_outcome_frame(rows=[], keys=[], bucket=Bucket.FAILED),
    )

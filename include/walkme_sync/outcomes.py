"""The outcome schema every step uses to account for report rows (see docs/ARCHITECTURE.md)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pandas as pd

OUTCOME_COLUMNS = ["__row", "key", "bucket", "reason", "error_code", "record_id"]
BUCKETS = ("rejected", "unmatched", "ambiguous", "unchanged", "written", "failed")


def outcome_frame(
    *,
    rows: Iterable[int],
    keys: Iterable[object],
    bucket: str,
    reasons: Sequence[str | None] | None = None,
    error_codes: Sequence[str | None] | None = None,
    record_ids: Sequence[str | None] | None = None,
) -> pd.DataFrame:
    """Build outcome rows for one bucket; missing reason/code/record columns are null."""
    row_list = [int(row) for row in rows]
    size = len(row_list)
    frame = pd.DataFrame(
        {
            "__row": pd.Series(row_list, dtype="int64"),
            "key": pd.Series([None if pd.isna(k) else str(k) for k in keys], dtype="string"),
            "bucket": pd.Series([bucket] * size, dtype="string"),
            "reason": pd.Series(
                list(reasons) if reasons is not None else [None] * size, dtype="string"
            ),
            "error_code": pd.Series(
                list(error_codes) if error_codes is not None else [None] * size, dtype="string"
            ),
            "record_id": pd.Series(
                list(record_ids) if record_ids is not None else [None] * size, dtype="string"
            ),
        }
    )
    return frame[OUTCOME_COLUMNS]


def empty_outcomes() -> pd.DataFrame:
    """An outcome frame with no rows (the schema still holds)."""
    return outcome_frame(rows=[], keys=[], bucket="rejected")


def bucket_counts(outcomes: pd.DataFrame) -> dict[str, int]:
    """Rows per bucket, every bucket present (zero when empty)."""
    counts = outcomes["bucket"].value_counts()
    return {bucket: int(counts.get(bucket, 0)) for bucket in BUCKETS}

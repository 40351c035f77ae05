"""The frames steps exchange through run files: their column names and the outcome buckets.

Every report row ends in exactly one bucket (an outcome row); the buckets, the outcome columns and
the special columns of the matched frame are declared here once. See docs/ARCHITECTURE.md.
pandas loads only when a frame is built: the ledger and the UI use the names without it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


class Bucket(StrEnum):
    """Where a report row ended. A StrEnum: the value is what outcome files and the ledger hold."""

    REJECTED = "rejected"
    UNMATCHED = "unmatched"
    AMBIGUOUS = "ambiguous"
    UNCHANGED = "unchanged"
    WRITTEN = "written"
    FAILED = "failed"
    #: A dry run's changes: what a real run would have written (nothing was sent).
    WOULD_WRITE = "would_write"
    #: Changes never sent because the run stopped first (budget, the org's quota, a revoked
    #: login, an outage); the reason says which. Not `failed`: Salesforce never refused them.
    NOT_ATTEMPTED = "not_attempted"

    @property
    def label(self) -> str:
        """How people read it: `would write`, `not attempted`."""
        return self.value.replace("_", " ")


#: Every bucket, in the order summaries and the ledger list them.
BUCKETS: tuple[Bucket, ...] = tuple(Bucket)
#: The order people read the counts in (run notes, the Integrations page): good news first.
BUCKETS_AS_SHOWN: tuple[Bucket, ...] = (
    Bucket.WRITTEN,
    Bucket.WOULD_WRITE,
    Bucket.UNCHANGED,
    Bucket.UNMATCHED,
    Bucket.AMBIGUOUS,
    Bucket.REJECTED,
    Bucket.NOT_ATTEMPTED,
    Bucket.FAILED,
)
#: Buckets of rows that need no attention (everything else is a row problem in the ledger).
SETTLED_BUCKETS = frozenset({Bucket.WRITTEN, Bucket.UNCHANGED, Bucket.WOULD_WRITE})

#: The report row's 1-based position in the export: how every outcome names its row.
ROW = "__row"
#: The normalised key (see `keys.normalize_key`) of a report row or a Salesforce record.
KEY = "__key"
#: Matched frame: Salesforce's current value of field F is in column `__current__F`.
CURRENT_PREFIX = "__current__"
OUTCOME_COLUMNS = [ROW, "key", "bucket", "reason", "error_code", "record_id"]


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
    import pandas as pd

    row_list = _int64_rows(rows)
    size = len(row_list)
    frame = pd.DataFrame(
        {
            ROW: pd.Series(row_list, dtype="int64"),
            "key": _text_keys(keys),
            "bucket": pd.Series([str(bucket)] * size, dtype="string"),
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


def _int64_rows(rows: Iterable[int]) -> Any:
    """Row numbers as int64: a whole integer column at once, anything else one by one."""
    import numpy as np
    import pandas as pd

    if isinstance(rows, pd.Series | pd.Index | np.ndarray) and pd.api.types.is_integer_dtype(
        rows.dtype
    ):
        return np.asarray(rows, dtype="int64")
    return [int(row) for row in rows]


def _text_keys(keys: Iterable[object]) -> pd.Series:
    """Keys as pandas text, null where missing: a text column is converted whole (no Python
    object per row); anything else goes through `str` value by value."""
    import pandas as pd

    if isinstance(keys, pd.Series) and isinstance(keys.dtype, pd.StringDtype):
        return pd.Series(keys.astype("string").array, dtype="string")  # a fresh RangeIndex
    return pd.Series([None if pd.isna(k) else str(k) for k in keys], dtype="string")


def empty_outcomes() -> pd.DataFrame:
    """An outcome frame with no rows (the schema still holds)."""
    return outcome_frame(rows=[], keys=[], bucket=Bucket.REJECTED)


def bucket_counts(outcomes: pd.DataFrame) -> dict[str, int]:
    """Rows per bucket, every bucket present (zero when empty)."""
    counts = outcomes["bucket"].value_counts()
    return {str(bucket): int(counts.get(bucket, 0)) for bucket in BUCKETS}


def object_values(column: pd.Series, positions: np.ndarray | None = None) -> np.ndarray:
    """A records column (at `positions`, if given) as an object array of Python values, None
    for null: what `salesforce.lookup.lookup_frame` returns on both paths (object columns from
    REST, Arrow text from Bulk)."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    if isinstance(column.dtype, pd.ArrowDtype):
        values = pa.array(column.array)
        if positions is not None:
            values = values.take(positions)
        return np.asarray(values.to_numpy(zero_copy_only=False), dtype=object)
    array = column.to_numpy(dtype=object)
    return array if positions is None else array[positions]

"""The row problems `record` writes to the ledger and shows in the task log.

Every report row that did not end as written, unchanged or would-write is a row problem. A run
stopped before its million rows were reached has a million of them: they are kept as the sorted
outcome rows and turned into `RowProblem` objects one slice at a time (the ledger inserts them in
batches), never all at once.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, overload

import numpy as np

from include.walkme_sync.frames import ROW, SETTLED_BUCKETS
from include.walkme_sync.ledger import RowProblem

if TYPE_CHECKING:
    import pandas as pd

#: Rows per bucket the task log shows (the ledger has them all).
PROBLEM_EXAMPLES = 20


def unsettled(buckets: pd.Series) -> np.ndarray:
    """Which outcome rows are row problems (not written, unchanged or would-write)."""
    settled = [str(bucket) for bucket in SETTLED_BUCKETS]
    return ~np.asarray(buckets.isin(settled).to_numpy(), dtype=bool)


class ProblemRows(Sequence[RowProblem]):
    """The run's row problems in report order, made from the outcome rows when read."""

    def __init__(self, outcomes: pd.DataFrame) -> None:
        self.frame = outcomes[unsettled(outcomes["bucket"])].sort_values(ROW)

    def __len__(self) -> int:
        return len(self.frame)

    @overload
    def __getitem__(self, index: int) -> RowProblem: ...

    @overload
    def __getitem__(self, index: slice) -> list[RowProblem]: ...

    def __getitem__(self, index: int | slice) -> RowProblem | list[RowProblem]:
        if isinstance(index, slice):
            return _problems(self.frame.iloc[index])
        return _problems(self.frame.iloc[[index]])[0]

    def __iter__(self) -> Iterator[RowProblem]:
        for start in range(0, len(self), 10_000):
            yield from self[start : start + 10_000]


def _problems(rows: pd.DataFrame) -> list[RowProblem]:
    """Column by column into plain Python values (None for a null), then one object per row."""
    columns = [
        rows[ROW].astype("int64").tolist(),
        _values(rows["key"]),
        [str(bucket) for bucket in rows["bucket"].tolist()],
        *(_values(rows[name]) for name in ("reason", "error_code", "record_id")),
    ]
    return [RowProblem(*values) for values in zip(*columns, strict=True)]


def _values(column: pd.Series) -> list[Any]:
    """A column's values as Python objects, None where null."""
    return column.astype(object).where(column.notna(), None).tolist()


def log_row_problems(problems: ProblemRows, examples: int = PROBLEM_EXAMPLES) -> None:
    """The task log shows, per bucket, the first rows that were not written and why.

    Buckets in the order their first row appears in the report. `print`, not logging: Airflow
    folds the lines between `::group::` markers printed to stdout.
    """
    buckets = problems.frame["bucket"]
    for bucket in buckets.unique():
        in_bucket = problems.frame[(buckets == bucket).to_numpy()]
        print(f"::group::{bucket}: {len(in_bucket)} rows")
        for problem in _problems(in_bucket.iloc[:examples]):
            code = f" [{problem.error_code}]" if problem.error_code else ""
            print(f"row {problem.row_number} {problem.key}:{code} {problem.reason or ''}")
        if len(in_bucket) > examples:
            print(f"... {len(in_bucket) - examples} more in the ledger (sync_row_problems)")
        print("::endgroup::")

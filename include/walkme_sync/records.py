"""What the sync sends to Salesforce and what comes back.

The planner (`reconcile.plan`) produces `RecordChange`s; the writers (`salesforce.writers`) return
one result per change, held column-wise (`ResultColumns`, a `WriteResult` per change on demand);
`reconcile.results` turns those into outcome rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from include.walkme_sync.metadata import WireValue


@dataclass
class RecordChange:
    """Fields to set on one record. A None value clears the field."""

    record_id: str
    row: int
    fields: dict[str, WireValue]


@dataclass
class WriteResult:
    """What happened to one `RecordChange`."""

    record_id: str
    row: int
    success: bool
    error_code: str | None = None
    message: str | None = None
    attempts: int = 1
    #: False when the change was never sent (the run stopped first, or a dry run).
    attempted: bool = True
    #: An upsert that created the record (then `created_id` is its new Id).
    created: bool = False
    created_id: str | None = None


@dataclass
class ResultColumns:
    """One entry per change, in the changes' order: what `WriteResult`s hold, column-wise (a
    million results cost a few arrays, not a million objects)."""

    record_ids: list[str]
    rows: list[int]
    success: np.ndarray  # bool
    error_codes: np.ndarray  # object: str | None
    messages: np.ndarray  # object: str | None
    attempts: np.ndarray  # int64
    attempted: np.ndarray  # bool

    @classmethod
    def from_results(cls, results: Sequence[WriteResult]) -> ResultColumns:
        return cls(
            record_ids=[r.record_id for r in results],
            rows=[r.row for r in results],
            success=np.array([r.success for r in results], dtype=bool),
            error_codes=object_array([r.error_code for r in results]),
            messages=object_array([r.message for r in results]),
            attempts=np.array([r.attempts for r in results], dtype=np.int64),
            attempted=np.array([r.attempted for r in results], dtype=bool),
        )

    def result(self, index: int) -> WriteResult:
        return WriteResult(
            self.record_ids[index],
            self.rows[index],
            bool(self.success[index]),
            self.error_codes[index],
            self.messages[index],
            int(self.attempts[index]),
            attempted=bool(self.attempted[index]),
        )


def object_array(values: Sequence[Any]) -> np.ndarray:
    """A 1-d object array of `values` (numpy would make a 2-d array of a list of tuples)."""
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array

"""What the sync sends to Salesforce and what comes back.

The planner (`reconcile.plan`) produces `RecordChange`s; the writers (`salesforce.writers`) return
one result per change, held column-wise (`ResultColumns`, a `WriteResult` per change on demand);
`reconcile.results` turns those into outcome rows.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias, cast, overload

import numpy as np

from include.walkme_sync.metadata import WireValue

if TYPE_CHECKING:
    import pyarrow as pa


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

    record_ids: Sequence[str] | np.ndarray | ArrowValues  # (object array or Arrow for many)
    rows: Sequence[int] | np.ndarray  # (an int64 array for many)
    success: np.ndarray  # bool
    error_codes: np.ndarray  # object: str | None
    messages: np.ndarray  # object: str | None
    attempts: np.ndarray  # int64
    attempted: np.ndarray  # bool
    #: Upserts only: the change created its record (bool), and the new record's Id (object).
    created: np.ndarray | None = None
    created_ids: np.ndarray | None = None

    @property
    def created_count(self) -> int:
        return 0 if self.created is None else int(np.count_nonzero(self.created))

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
            created=np.array([r.created for r in results], dtype=bool),
            created_ids=object_array([r.created_id for r in results]),
        )

    def result(self, index: int) -> WriteResult:
        created = self.created is not None and bool(self.created[index])
        created_ids = self.created_ids
        return WriteResult(
            cast(str, self.record_ids[index]),
            int(self.rows[index]),
            bool(self.success[index]),
            self.error_codes[index],
            self.messages[index],
            int(self.attempts[index]),
            attempted=bool(self.attempted[index]),
            created=created,
            created_id=created_ids[index] if created and created_ids is not None else None,
        )


def object_array(values: Sequence[Any]) -> np.ndarray:
    """A 1-d object array of `values` (numpy would make a 2-d array of a list of tuples)."""
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


class ArrowValues:
    """Wire values held as one Arrow array (a null is None) instead of a Python object each: a
    million date-time texts are one 24 MB buffer, not 100 MB of `str`. Indexed like the object
    array it stands for: a position gives the Python value, a slice, positions (int) or a mask
    (bool) give `ArrowValues`; `tolist` and `objects` give the Python values."""

    __slots__ = ("array",)

    def __init__(self, array: pa.Array) -> None:
        self.array = array

    def __len__(self) -> int:
        return len(self.array)

    @overload
    def __getitem__(self, index: int | np.integer[Any]) -> WireValue: ...

    @overload
    def __getitem__(self, index: slice | np.ndarray) -> ArrowValues: ...

    def __getitem__(self, index: int | np.integer[Any] | slice | np.ndarray) -> Any:
        if isinstance(index, slice):
            return ArrowValues(self.array[index])
        if isinstance(index, np.ndarray):
            if index.dtype == np.bool_:
                return ArrowValues(self.array.filter(index))
            return ArrowValues(self.array.take(index))
        return self.array[int(index)].as_py()

    def tolist(self) -> list[WireValue]:
        return list(self.array.to_pylist())

    def objects(self) -> np.ndarray:
        """The values as an object array (Python values, None for nulls)."""
        array = self.array
        if array.null_count and str(array.type) not in ("string", "large_string"):
            # numpy would give numbers with nulls as floats (NaN): Python's values instead.
            return object_array(array.to_pylist())
        return np.asarray(array.to_numpy(zero_copy_only=False), dtype=object)


#: A column of wire values: an object array, or (text, many values) Arrow's.
WireValues: TypeAlias = "np.ndarray | ArrowValues"


def wire_objects(values: WireValues) -> np.ndarray:
    """`values` as an object array (an object array is itself)."""
    return values.objects() if isinstance(values, ArrowValues) else values


@dataclass
class FieldColumn:
    """One field of a `ChangeSet`: which changes set it (`sent`) and to what (`values`, object
    array or `ArrowValues`; meaningful where sent)."""

    name: str
    sent: np.ndarray  # bool
    values: WireValues
    #: The sent values of blocks of rows, by (start, stop), as Arrow (`salesforce.bulk.
    #: sent_arrow`; False: Arrow cannot hold them), while a Bulk job is prepared.
    arrow: dict[tuple[int, int], Any] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )


class ChangeSet(Sequence[RecordChange]):
    """`RecordChange`s held column-wise: a million changes cost a few arrays, not a million
    objects and dicts. Reads as a sequence of `RecordChange` (each built when asked for, with
    its fields in the columns' order); the Bulk path reads the columns. Field names are unique.
    """

    def __init__(
        self, record_ids: np.ndarray | ArrowValues, rows: np.ndarray, fields: list[FieldColumn]
    ) -> None:
        #: Object array of `str`, or Arrow text (the planner's: no Python string per change).
        self.record_ids = record_ids
        self.rows = rows  # int64
        self.fields = fields

    def __len__(self) -> int:
        return len(self.rows)

    @overload
    def __getitem__(self, index: int) -> RecordChange: ...

    @overload
    def __getitem__(self, index: slice) -> list[RecordChange]: ...

    def __getitem__(self, index: int | slice) -> RecordChange | list[RecordChange]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        fields = {f.name: f.values[index] for f in self.fields if f.sent[index]}
        return RecordChange(cast(str, self.record_ids[index]), int(self.rows[index]), fields)

    def __iter__(self) -> Iterator[RecordChange]:
        # Each column read once (an Arrow column as Python values), not value by value.
        columns = [(f.name, f.sent, wire_objects(f.values)) for f in self.fields]
        record_ids = wire_objects(self.record_ids)
        for index in range(len(self)):
            fields = {name: values[index] for name, sent, values in columns if sent[index]}
            yield RecordChange(record_ids[index], int(self.rows[index]), fields)

    def __eq__(self, other: object) -> bool:
        """Equal to any sequence of the same changes (a list of `RecordChange` included)."""
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        return len(self) == len(other) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]

    def forget_arrow(self) -> None:
        """Let go of the Arrow values the Bulk check kept (`FieldColumn.arrow`)."""
        for column in self.fields:
            column.arrow.clear()

    def take(self, indices: Sequence[int] | np.ndarray) -> ChangeSet:
        """The changes at `indices`, in that order (itself when that is every change in order:
        a million changes are not copied to be written whole)."""
        at = np.asarray(indices, dtype=np.int64)
        if every_in_order(at, len(self)):
            return self
        return ChangeSet(
            self.record_ids[at],
            self.rows[at],
            [FieldColumn(f.name, f.sent[at], f.values[at]) for f in self.fields],
        )


def every_in_order(indices: np.ndarray, size: int) -> bool:
    """Whether `indices` (int64) is 0, 1, ..., size - 1: taking them is taking everything."""
    if len(indices) != size:
        return False
    return not size or bool(indices[0] == 0 and (np.diff(indices) == 1).all())


def record_ids_of(changes: Sequence[RecordChange]) -> list[str]:
    """The changes' record Ids, in order (read from the columns of a `ChangeSet`)."""
    if isinstance(changes, ChangeSet):
        return cast(list[str], changes.record_ids.tolist())
    return [change.record_id for change in changes]


def record_id_column(changes: Sequence[RecordChange]) -> Sequence[str] | np.ndarray | ArrowValues:
    """`record_ids_of`, as the `ChangeSet`'s own column (no list of a million)."""
    return changes.record_ids if isinstance(changes, ChangeSet) else record_ids_of(changes)


def row_column(changes: Sequence[RecordChange]) -> Sequence[int] | np.ndarray:
    """`rows_of`, as the `ChangeSet`'s own int64 array (no Python int per change)."""
    return changes.rows if isinstance(changes, ChangeSet) else rows_of(changes)


def rows_of(changes: Sequence[RecordChange]) -> list[int]:
    """The changes' report rows, in order."""
    if isinstance(changes, ChangeSet):
        return changes.rows.tolist()
    return [change.row for change in changes]


def take_changes(
    changes: Sequence[RecordChange], indices: Sequence[int] | np.ndarray
) -> Sequence[RecordChange]:
    """The changes at `indices` (a `ChangeSet` stays one)."""
    if isinstance(changes, ChangeSet):
        return changes.take(indices)
    return [changes[int(index)] for index in indices]


_TYPE_OF = np.frompyfunc(type, 1, 1)


def classes(values: np.ndarray) -> np.ndarray:
    """The class of each value of an object array (object array of types), in one C loop."""
    return np.asarray(_TYPE_OF(values), dtype=object)


def of_class(kinds: np.ndarray, cls: type) -> np.ndarray:
    """Where `kinds` (from `classes`) is exactly `cls` (bool): no subclass (bool is no int)."""
    # Classes compare by identity: elementwise `==` is `is` here.
    return np.asarray(kinds == cls, dtype=bool)

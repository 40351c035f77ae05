"""The records of one object, their hash indexes, and the undo log of all-or-none requests.

Records are plain dicts keyed by the fields' API names holding the stored form of each value (see
``field_values.value_converter``); a missing key means null (false for booleans). Calculated
fields are computed when read. Hash indexes on fields are built on first use (SOQL ``=``/``IN``,
unique checks, upsert keys) and kept up to date by every write.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sf_emulator.model import FieldSchema, ObjectSchema
from sf_emulator.record_ids import normalize_id
from sf_emulator.soql_eval import index_key

Record = dict[str, Any]
_MISSING = object()


def _compute_getter(fld: FieldSchema) -> Callable[[Record], Any]:
    """How a calculated field gets its value from the stored ones."""
    spec = fld.compute or {}
    if "join" in spec:
        parts = tuple(spec["join"])
        return lambda record: " ".join(v for v in (record.get(p) for p in parts) if v) or None
    if "sum" in spec:
        terms = tuple(spec["sum"])

        def total(record: Record) -> Any:
            values = [record.get(t) for t in terms]
            return None if any(v is None for v in values) else sum(values)

        return total
    return lambda record: None


def _dependencies(fld: FieldSchema) -> frozenset[str]:
    """Stored fields whose change can change ``fld``'s value."""
    spec = fld.compute or {}
    return frozenset([fld.name, *spec.get("join", ()), *spec.get("sum", ())])


IndexMap = dict[Any, Any]  # key -> one id (str) or a set of ids


def _index_add(index: IndexMap, key: Any, record_id: str) -> None:
    present = index.get(key)
    if present is None:
        index[key] = record_id
    elif isinstance(present, set):
        present.add(record_id)
    elif present != record_id:
        index[key] = {present, record_id}


def _index_discard(index: IndexMap, key: Any, record_id: str) -> None:
    present = index.get(key)
    if present == record_id:
        del index[key]
    elif isinstance(present, set):
        present.discard(record_id)
        if len(present) == 1:
            index[key] = next(iter(present))


def index_ids(index: IndexMap, key: Any) -> tuple[str, ...]:
    present = index.get(key)
    if present is None:
        return ()
    if isinstance(present, set):
        return tuple(sorted(present))
    return (present,)


@dataclass
class _Index:
    fld: FieldSchema
    get: Callable[[Record], Any]
    dependencies: frozenset[str]
    keys: IndexMap

    def key_of(self, record: Record) -> Any:
        return index_key(self.fld, self.get(record))


class Table:
    """The records of one object (live and in the recycle bin) and their hash indexes.

    Methods here do no validation; ``OrgData`` validates before calling them.
    """

    def __init__(self, schema: ObjectSchema) -> None:
        self.schema = schema
        self.live: dict[str, Record] = {}
        self.deleted: dict[str, Record] = {}
        self.indexes: dict[str, _Index] = {}
        self._getters: dict[str, Callable[[Record], Any]] = {}
        self.unique_fields = tuple(f for f in schema.fields if f.unique)
        self.unique_names = frozenset(f.name for f in self.unique_fields)
        # (field name, target table key) for references the org can check; set by OrgData.
        self.reference_targets: tuple[tuple[str, str], ...] = ()
        self.reference_names: frozenset[str] = frozenset()

    # -- reading (soql_eval.RecordSource) ----------------------------------------------------------

    def getter(self, fld: FieldSchema) -> Callable[[Record], Any]:
        get = self._getters.get(fld.name)
        if get is None:
            name = fld.name
            if fld.calculated:
                get = _compute_getter(fld)
            elif fld.type == "boolean":
                default = bool(fld.default_value)
                get = lambda record: record.get(name, default)  # noqa: E731
            else:
                get = lambda record: record.get(name)  # noqa: E731
            self._getters[name] = get
        return get

    def scan(self, include_deleted: bool) -> Iterable[Record]:
        if include_deleted and self.deleted:
            return [*self.live.values(), *self.deleted.values()]
        return self.live.values()

    def lookup(self, fld: FieldSchema, keys: Iterable[Any], include_deleted: bool) -> list[Record]:
        if fld.type == "id":
            pools = (self.live, self.deleted) if include_deleted else (self.live,)
            return [pool[k] for k in keys for pool in pools if k in pool]
        index = self.index(fld)
        found = [self.live[i] for key in keys for i in index_ids(index.keys, key)]
        if include_deleted and self.deleted:
            wanted = set(keys)
            found.extend(r for r in self.deleted.values() if index.key_of(r) in wanted)
        return found

    def index(self, fld: FieldSchema) -> _Index:
        """The hash index on ``fld``, built on first use."""
        index = self.indexes.get(fld.name)
        if index is None:
            index = _Index(fld, self.getter(fld), _dependencies(fld), {})
            for record_id, record in self.live.items():
                _index_add(index.keys, index.key_of(record), record_id)
            self.indexes[fld.name] = index
        return index

    def find(self, raw_id: Any) -> tuple[str | None, Record | None, bool]:
        """(canonical id or None if malformed, live record or None, whether it is deleted)."""
        record = self.live.get(raw_id)
        if record is not None:
            return raw_id, record, False
        record_id = normalize_id(raw_id)
        if record_id is None:
            return None, None, False
        return record_id, self.live.get(record_id), record_id in self.deleted

    # -- writing (no validation) ----------------------------------------------------------

    def insert(self, record: Record) -> None:
        record_id = record["Id"]
        self.live[record_id] = record
        for index in self.indexes.values():
            _index_add(index.keys, index.key_of(record), record_id)

    def assign(
        self, record: Record, values: Mapping[str, Any], *, keep_previous: bool = False
    ) -> dict[str, Any] | None:
        """Set ``values`` on a live record (None or ``_MISSING`` clears a field). With
        ``keep_previous``, returns the values replaced (``_MISSING`` where unset) for an undo."""
        indexes = self.indexes
        touched = (
            [
                (index, index.key_of(record))
                for index in indexes.values()
                if not index.dependencies.isdisjoint(values)
            ]
            if indexes
            else ()
        )
        previous = {name: record.get(name, _MISSING) for name in values} if keep_previous else None
        for name, value in values.items():
            if value is None or value is _MISSING:
                record.pop(name, None)
            else:
                record[name] = value
        if touched:
            record_id = record["Id"]
            for index, old_key in touched:
                new_key = index.key_of(record)
                if new_key != old_key:
                    _index_discard(index.keys, old_key, record_id)
                    _index_add(index.keys, new_key, record_id)
        return previous

    def soft_delete(self, record_id: str) -> None:
        record = self.live.pop(record_id)
        for index in self.indexes.values():
            _index_discard(index.keys, index.key_of(record), record_id)
        record["IsDeleted"] = True
        self.deleted[record_id] = record

    def undelete(self, record_id: str) -> None:
        record = self.deleted.pop(record_id)
        record.pop("IsDeleted", None)
        self.insert(record)

    def restore_creation_order(self) -> None:
        """Put live records back in creation order after an undelete appended one at the end.

        Minted ids are fixed-width base-62 counters whose text order is their creation order;
        query results without ORDER BY follow this order, as they follow it in Salesforce.
        """
        self.live = dict(sorted(self.live.items()))

    def purge(self, record_id: str) -> Record:
        """Remove a record for good (hard delete); returns it."""
        if record_id in self.deleted:
            return self.deleted.pop(record_id)
        record = self.live.pop(record_id)
        for index in self.indexes.values():
            _index_discard(index.keys, index.key_of(record), record_id)
        return record

    def clear(self) -> None:
        self.live.clear()
        self.deleted.clear()
        self.indexes.clear()


class Journal:
    """Undo log of one all-or-none request."""

    def __init__(self) -> None:
        self.steps: list[Callable[[], object]] = []  # undo steps; their results are ignored
        self.reorder: set[Table] = set()  # tables where an undelete changed the record order

    def rollback(self) -> None:
        for undo in reversed(self.steps):
            undo()
        self.steps.clear()
        for table in self.reorder:
            table.restore_creation_order()

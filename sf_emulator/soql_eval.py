"""SOQL evaluation against the store's tables.

Evaluation goes through a ``RecordSource`` (the store's table). A top-level ``Field = value`` or
``Field IN (...)`` conjunct is answered from the source's hash index on that field, so key lookups
against a million records cost a few dictionary look-ups instead of a scan.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol

from sf_emulator.model import FieldSchema
from sf_emulator.soql_syntax import (
    Comparison,
    Condition,
    InList,
    Junction,
    Like,
    Negation,
    OrderKey,
    Predicate,
    Query,
    Record,
)


class RecordSource(Protocol):
    """What the evaluator needs from the store for one object."""

    def scan(self, include_deleted: bool) -> Iterable[Record]: ...

    def lookup(self, fld: FieldSchema, keys: Iterable[Any], include_deleted: bool) -> list[Record]:
        """Records whose ``index_key(fld, value)`` is one of ``keys`` (any order, no repeats)."""
        ...

    def getter(self, fld: FieldSchema) -> Callable[[Record], Any]: ...


def index_key(fld: FieldSchema, value: Any) -> Any:
    """The hash-index key of a stored value: text compares case-insensitively in SOQL."""
    if value is not None and fld.is_text:
        return value.lower()
    return value


def execute(query: Query, source: RecordSource, *, include_deleted: bool = False) -> list[Record]:
    """The stored records matching ``query``, sorted and sliced (LIMIT/OFFSET applied)."""
    indexed = _candidates(query.where, source, include_deleted)
    candidates: Iterable[Record] = indexed if indexed is not None else source.scan(include_deleted)
    if query.where is not None:
        predicate = compile_condition(query.where, source)
        matches = [record for record in candidates if predicate(record)]
    else:
        matches = list(candidates)
    if query.order:
        matches = _sorted(matches, query.order, source)
    end = None if query.limit is None else query.offset + query.limit
    if query.offset or end is not None:
        matches = matches[query.offset : end]
    return matches


def _candidates(
    condition: Condition | None, source: RecordSource, include_deleted: bool
) -> list[Record] | None:
    """Records from the hash index that are a superset of the matches, or None (full scan)."""
    if isinstance(condition, Comparison) and condition.operator == "=":
        return source.lookup(condition.fld, (condition.value,), include_deleted)
    if isinstance(condition, InList) and not condition.negated:
        return source.lookup(condition.fld, set(condition.values), include_deleted)
    if isinstance(condition, Junction) and condition.operator == "AND":
        best: list[Record] | None = None
        for child in condition.children:
            found = _candidates(child, source, include_deleted)
            if found is not None and (best is None or len(found) < len(best)):
                best = found
        return best
    if isinstance(condition, Junction) and condition.operator == "OR":
        union: dict[int, Record] = {}
        for child in condition.children:
            found = _candidates(child, source, include_deleted)
            if found is None:
                return None
            union.update((id(record), record) for record in found)
        return list(union.values())
    return None


def compile_condition(condition: Condition, source: RecordSource) -> Predicate:
    """A function telling whether one stored record satisfies ``condition``."""
    if isinstance(condition, Junction):
        parts = [compile_condition(child, source) for child in condition.children]
        if condition.operator == "AND":
            return lambda record: all(part(record) for part in parts)
        return lambda record: any(part(record) for part in parts)
    if isinstance(condition, Negation):
        inner = compile_condition(condition.child, source)
        return lambda record: not inner(record)
    get = source.getter(condition.fld)
    text = condition.fld.is_text

    def key(record: Record) -> Any:
        value = get(record)
        return value.lower() if text and value is not None else value

    if isinstance(condition, Like):
        match = condition.pattern.fullmatch
        return lambda record: (value := get(record)) is not None and match(value) is not None
    if isinstance(condition, InList):
        wanted = frozenset(condition.values)
        if condition.negated:
            return lambda record: key(record) not in wanted
        return lambda record: key(record) in wanted
    return _comparison(condition, key)


def _comparison(condition: Comparison, key: Callable[[Record], Any]) -> Predicate:
    value = condition.value
    operator = condition.operator
    if operator == "=":
        return lambda record: key(record) == value
    if operator == "!=":
        # SOQL's != keeps records whose field is null (unlike SQL).
        return lambda record: key(record) != value
    compare: Callable[[Any, Any], bool] = {
        "<": lambda left, right: left < right,
        "<=": lambda left, right: left <= right,
        ">": lambda left, right: left > right,
        ">=": lambda left, right: left >= right,
    }[operator]
    return lambda record: (current := key(record)) is not None and compare(current, value)


def _sorted(records: list[Record], order: list[OrderKey], source: RecordSource) -> list[Record]:
    # Stable sorts from the last key to the first give the multi-key order.
    for order_key in reversed(order):
        get = source.getter(order_key.fld)
        text = order_key.fld.is_text
        # With reverse=True the ranks are reversed too, so "nulls first" needs the high rank.
        null_rank = 0 if order_key.nulls_first != order_key.descending else 2

        def sort_key(
            record: Record,
            get: Callable[[Record], Any] = get,
            text: bool = text,
            null_rank: int = null_rank,
        ) -> tuple[int, Any]:
            value = get(record)
            if value is None:
                return (null_rank, 0)
            return (1, value.lower() if text else value)

        records.sort(key=sort_key, reverse=order_key.descending)
    return records

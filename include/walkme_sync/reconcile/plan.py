"""Plan the writes: coerce, apply the null policy, diff against Salesforce's current values.

`plan_changes` is pure: it needs the matched rows (with Salesforce's current values, fetched by
the match step) and the describe metadata, and decides per (report row, record) pair whether it is
rejected (a value the field cannot take), unchanged, or a change of some fields. The upsert step
writes the changes (or, in a dry run, only reports them); `reconcile.results` then gives every
matched report row exactly one bucket.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from itertools import compress
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd
import pyarrow as pa

from include.walkme_sync.errors import ConfigurationError
from include.walkme_sync.frames import CURRENT_PREFIX
from include.walkme_sync.metadata import FieldInfo, ObjectInfo, WireValue
from include.walkme_sync.reconcile.coerce import is_null
from include.walkme_sync.reconcile.columns import blank_texts, coerce_column
from include.walkme_sync.reconcile.compare import (
    equal_column,
    equal_to_null,
    same_instants,
    same_texts,
)
from include.walkme_sync.records import (
    ArrowValues,
    ChangeSet,
    FieldColumn,
    RecordChange,
    WireValues,
    every_in_order,
    object_array,
    wire_objects,
)

if TYPE_CHECKING:
    from include.walkme_sync.config import IntegrationConfig

log = logging.getLogger(__name__)

CHANGE, UNCHANGED, REJECTED = "change", "unchanged", "rejected"
UNCHANGED_REASON = "Salesforce already holds these values"
_STATUS_CODES = {UNCHANGED: 0, CHANGE: 1, REJECTED: 2}
_STATUSES = (UNCHANGED, CHANGE, REJECTED)


@dataclass
class PairPlan:
    """The decision for one (report row, Salesforce record) pair."""

    row: int
    key: str | None
    record_id: str
    status: str  # change | unchanged | rejected
    reason: str | None = None
    fields: list[str] = field(default_factory=list)


@dataclass
class _FieldPlan:
    """One mapped field, column-wise: what goes out for each matched pair."""

    name: str
    changed: np.ndarray  # bool: the value is sent (differs from Salesforce's, or full sync)
    rejected: np.ndarray  # bool: the value cannot go into the field
    reasons: dict[int, str]  # position -> rejection reason
    new: WireValues  # the wire value (where sent)
    current: pd.Series  # Salesforce's values (for the diff)


class PlanResult:
    """Changes to send, the decision per pair, and the field-by-field diff (for dry runs).

    Decisions are held column-wise; `pairs` and `diff` are built (once) when first read, so a
    run that only writes never materialises one Python object per unchanged pair or per field.
    """

    def __init__(
        self,
        *,
        changes: Sequence[RecordChange],
        change_positions: np.ndarray,
        rows: np.ndarray,
        keys: pd.Series,
        record_ids: pd.Series,
        status: np.ndarray,
        reject_reasons: dict[int, str],
        fields: list[_FieldPlan],
    ) -> None:
        #: A `ChangeSet` (columns), or a list once `relations.prepare_writes` completes them.
        self.changes = changes
        self._change_positions = change_positions
        self._rows = rows
        self._keys = keys
        self._record_ids = record_ids
        self._status = status
        self._reject_reasons = reject_reasons
        self._fields = fields
        #: True once the changes carry fields beyond the planned mappings (an upsert adds the
        #: key, defaults and relationship columns): their reasons are then read from the changes.
        self.fields_extended = False
        self._released = False
        # One diff entry per sent field of a non-rejected pair.
        self.field_changes = int(
            sum(int(np.count_nonzero(f.changed[change_positions])) for f in fields)
        )

    def __len__(self) -> int:
        return len(self._rows)

    def counts(self) -> dict[str, int]:
        """Pairs per status, in order of first appearance (like counting `pairs`)."""
        codes, first, sizes = np.unique(self._status, return_index=True, return_counts=True)
        order = np.argsort(first, kind="stable")
        return {_STATUSES[int(codes[i])]: int(sizes[i]) for i in order}

    def release_values(self) -> None:
        """Let go of the values sent once they are written: what is left (the outcomes, `pairs`)
        reads which fields each change sent, never their values, and a million date-time texts
        are over 100 MB. Column-wise changes only (dict changes are few); `diff` (a dry run's,
        read before writing) and the changes' values are unavailable afterwards."""
        if not isinstance(self.changes, ChangeSet) or self.fields_extended:
            return
        released = np.empty(0, dtype=object)
        for plan in self._fields:
            plan.new = released
        self.changes.forget_arrow()
        for column in self.changes.fields:
            column.values = released
        self._released = True

    def _change_fields(self) -> dict[int, list[str]]:
        """Each change's fields (position -> names), in the changes' order of fields."""
        positions = self._change_positions.tolist()
        if isinstance(self.changes, ChangeSet) and not self.fields_extended:
            # The fields a change sends are the planned fields it changed (`_changes`).
            sent = [(column.name, column.sent.tolist()) for column in self.changes.fields]
            return {p: [name for name, flags in sent if flags[i]] for i, p in enumerate(positions)}
        return {int(p): list(c.fields) for p, c in zip(positions, self.changes, strict=True)}

    @cached_property
    def pairs(self) -> list[PairPlan]:
        fields_at = self._change_fields()
        pairs = []
        rows, keys, record_ids = self._rows.tolist(), _texts(self._keys), _texts(self._record_ids)
        for position, code in enumerate(self._status.tolist()):
            status = _STATUSES[code]
            row, key = rows[position], keys[position]
            record_id = record_ids[position]
            if status == CHANGE:
                pairs.append(PairPlan(row, key, record_id, CHANGE, fields=fields_at[position]))
            elif status == REJECTED:
                reason = self._reject_reasons[position]
                pairs.append(PairPlan(row, key, record_id, REJECTED, reason))
            else:
                pairs.append(PairPlan(row, key, record_id, UNCHANGED, UNCHANGED_REASON))
        return pairs

    @cached_property
    def diff(self) -> list[dict[str, Any]]:
        """`{"row", "key", "record_id", "field", "old", "new"}` per sent field, pair by pair."""
        if self._released:
            raise RuntimeError("the plan's values were released once written (release_values)")
        entries = []
        rows, keys, record_ids = self._rows.tolist(), _texts(self._keys), _texts(self._record_ids)
        currents = [object_array(plan.current.tolist()) for plan in self._fields]
        news = [wire_objects(plan.new) for plan in self._fields]
        for position in self._change_positions.tolist():
            for plan, current, new in zip(self._fields, currents, news, strict=True):
                if plan.changed[position]:
                    entries.append(
                        {
                            "row": rows[position],
                            "key": keys[position],
                            "record_id": record_ids[position],
                            "field": plan.name,
                            "old": _plain(current[position]),
                            "new": new[position],
                        }
                    )
        return entries


@dataclass(frozen=True)
class _Target:
    column: str
    field: FieldInfo
    current_column: str
    clear: bool


def _targets(config: IntegrationConfig, info: ObjectInfo, matched: pd.DataFrame) -> list[_Target]:
    targets = []
    for index, mapping in enumerate(config.mappings):
        described = info.field(mapping.field)
        if described is None:
            raise ConfigurationError(
                f"mappings[{index}].field: {info.name} has no field '{mapping.field}'."
            )
        current_column = CURRENT_PREFIX + mapping.field
        if current_column not in matched.columns:
            raise ValueError(f"matched rows lack {current_column!r} (match step output expected)")
        targets.append(
            _Target(mapping.column, described, current_column, mapping.null_policy == "clear")
        )
    return targets


def plan_changes(
    config: IntegrationConfig, info: ObjectInfo, matched: pd.DataFrame, *, full_sync: bool
) -> PlanResult:
    """Decide what to write for every matched (row, record) pair.

    Each mapped value is coerced to its field's type (a value the field cannot take rejects the
    row, with the reasons). A null value is left alone under `null_policy: skip` and clears the
    field under `clear`. Values equal to Salesforce's current ones are not sent, unless
    `full_sync` (then every non-skipped value is sent).

    Works column by column (numpy/pandas/Arrow) and decides exactly like the scalar
    `coerce_for_field` and `values_equal`, which it falls back to (once per distinct value) for
    anything the vectorised paths cannot prove; the changes stay columns too (`ChangeSet`).
    """
    targets = _targets(config, info, matched)
    key_column = config.report.key_column
    size = len(matched)
    rows = np.asarray(matched["__row"].to_numpy(), dtype=np.int64).reshape(size)
    keys = (
        key_strings(matched[key_column])
        if key_column in matched.columns
        else pd.Series([None] * size, dtype="string")
    )
    record_ids = _record_ids(matched["Id"])

    plans = [_plan_field(target, matched, full_sync=full_sync) for target in targets]
    rejected = np.zeros(size, dtype=bool)
    changed = np.zeros(size, dtype=bool)
    for plan in plans:
        rejected |= plan.rejected
        changed |= plan.changed
    status = np.zeros(size, dtype=np.int8)
    status[changed] = _STATUS_CODES[CHANGE]
    status[rejected] = _STATUS_CODES[REJECTED]

    reject_reasons = {
        position: "; ".join(p.reasons[position] for p in plans if p.rejected[position])
        for position in np.flatnonzero(rejected).tolist()
    }
    change_positions = np.flatnonzero(status == _STATUS_CODES[CHANGE])
    return PlanResult(
        changes=_changes(
            plans, change_positions, _ids_at(record_ids, change_positions), rows[change_positions]
        ),
        change_positions=change_positions,
        rows=rows,
        keys=keys,
        record_ids=record_ids,
        status=status,
        reject_reasons=reject_reasons,
        fields=plans,
    )


def _ids_at(record_ids: pd.Series, positions: np.ndarray) -> ArrowValues:
    """The Ids (a "string" column) at `positions`, as Arrow text: a million changes hold one
    buffer of Ids, not a Python string each."""
    ids = pa.array(record_ids.array)
    if not every_in_order(positions, len(ids)):
        ids = ids.take(positions)  # (before joining the chunks: an unchanged run takes none)
    if isinstance(ids, pa.ChunkedArray):
        ids = ids.combine_chunks()
    return ArrowValues(ids)


def _changes(
    plans: list[_FieldPlan], positions: np.ndarray, record_ids: ArrowValues, rows: np.ndarray
) -> Sequence[RecordChange]:
    """The changes at `positions` (of the pairs; `record_ids` and `rows` are the changes'):
    each sends its fields whose value changed, in mapping order."""
    names = [plan.name for plan in plans]
    if len(set(names)) == len(names):
        # Every pair a change (a first sync): the columns themselves, not copies.
        every = bool(plans) and every_in_order(positions, len(plans[0].changed))
        return ChangeSet(
            record_ids,
            rows,
            [
                FieldColumn(p.name, p.changed, p.new)
                if every
                else FieldColumn(p.name, p.changed[positions], p.new[positions])
                for p in plans
            ],
        )
    # Two mappings into one field (the later value wins, in the first one's place when both are
    # sent): dicts per change, as the field order of each change then varies.
    sent: list[dict[str, WireValue]] = [{} for _ in range(len(positions))]
    for plan in plans:
        picked = plan.changed[positions]
        if picked.any():
            values = plan.new[positions[picked]].tolist()
            for fields, value in zip(compress(sent, picked.tolist()), values, strict=True):
                fields[plan.name] = value
    return [
        RecordChange(cast(str, record_id), row, fields)
        for record_id, row, fields in zip(record_ids.tolist(), rows.tolist(), sent, strict=True)
    ]


def key_strings(values: pd.Series) -> pd.Series:
    """`_key_text` of every value, as text (pandas "string"; NA: no key). Arrow-backed text is
    read column-wise: the key is the value itself unless it is blank."""
    if isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow":
        keys = values.astype("string").reset_index(drop=True)
        return keys.mask(blank_texts(keys))  # a blank key is no key, like a null one
    return pd.Series(object_array([_key_text(k) for k in values.tolist()]), dtype="string")


def _record_ids(values: pd.Series) -> pd.Series:
    """Each record's Id as text (pandas "string")."""
    if isinstance(values.dtype, pd.StringDtype) and not values.hasnans:
        return values.astype("string").reset_index(drop=True)
    ids = [r if r.__class__ is str else str(r) for r in values.tolist()]
    return pd.Series(object_array(ids), dtype="string")


def _texts(values: pd.Series) -> list[Any]:
    """A "string" column as Python text (None for NA)."""
    return list(values.to_numpy(dtype=object, na_value=None).tolist())


def _key_text(value: Any) -> str | None:
    if value.__class__ is str and value.strip():
        return str(value)
    return None if is_null(value) else str(value)


def _plan_field(target: _Target, matched: pd.DataFrame, *, full_sync: bool) -> _FieldPlan:
    """Coerce one mapped column, apply its null policy and compare it with Salesforce's values."""
    described = target.field
    coerced = coerce_column(matched[target.column], described, defer_datetimes=True)
    current = matched[target.current_column].reset_index(drop=True)
    sent = ~coerced.null & ~coerced.rejected
    if target.clear:
        # A checkbox cannot be null: clearing it means unchecking it.
        coerced.wire[coerced.null] = False if described.type == "boolean" else None
        sent |= coerced.null
    # Date-times Salesforce already holds are equal as instants: their text is never written
    # (the values of unchanged pairs are not read); the rest get it before the comparison, kept
    # as Arrow text (`ArrowValues`) as far as the Bulk CSV.
    same = np.zeros(len(sent), dtype=bool)
    if coerced.pending is not None and coerced.moments is not None and not full_sync:
        same = sent & coerced.pending & same_instants(current, coerced.moments)
    new = coerced.wire_values(~same)
    positions = np.flatnonzero(sent & ~same)
    if full_sync or not len(positions):
        changed = sent & ~same
    else:
        equal = _equal(current, new, positions, described)
        changed = np.zeros(len(sent), dtype=bool)
        changed[positions[~equal]] = True
    return _FieldPlan(
        name=described.name,
        changed=changed,
        rejected=coerced.rejected,
        reasons=coerced.reasons,
        new=new,
        current=current,
    )


def _equal(
    current: pd.Series, new: WireValues, positions: np.ndarray, described: FieldInfo
) -> np.ndarray:
    """`equal_column` at `positions`: where Salesforce holds no value first (column-wise: on a
    first sync that is every value), then equal text (in Arrow, when Salesforce's values are
    Arrow-backed text), then Python objects only for the values still undecided."""
    equal = np.zeros(len(positions), dtype=bool)
    olds = current.iloc[positions]
    missing = np.asarray(olds.isna().to_numpy(), dtype=bool)
    todo = np.flatnonzero(~missing)
    if missing.any():
        equal[missing] = _equal_to_null_at(new, positions[missing], described.type)
        olds = olds.iloc[todo]
    same = same_texts(olds, new[positions[todo]], described)
    if same is not None:
        equal[todo[same]] = True
        todo = todo[~same]
    if len(todo):
        at = positions[todo]
        olds_at = object_array(current.iloc[at].tolist())
        equal[todo] = equal_column(olds_at, wire_objects(new[at]), described)
    return equal


def _equal_to_null_at(new: WireValues, at: np.ndarray, kind: str) -> np.ndarray:
    """`equal_to_null(new[at], kind)`; Arrow text's nulls (None) read once for all of it."""
    if isinstance(new, ArrowValues) and kind != "boolean":
        nulls = np.asarray(new.array.is_null().to_numpy(zero_copy_only=False), dtype=bool)
        return nulls[at]
    return equal_to_null(wire_objects(new[at]), kind)


def _plain(value: Any) -> Any:
    """JSON-friendly current value for the diff (numpy scalars, NaN -> None)."""
    if is_null(value):
        return None
    item = getattr(value, "item", None)
    return item() if callable(item) and type(value).__module__ == "numpy" else value

"""Plan the writes: coerce, apply the null policy, diff against Salesforce's current values.

`plan_changes` is pure: it needs the matched rows (with Salesforce's current values, fetched by
the match step) and the describe metadata, and decides per (report row, record) pair whether it is
rejected (a value the field cannot take), unchanged, or a change of some fields. The upsert step
writes the changes (or, in a dry run, only reports them); `reconcile.results` then gives every
matched report row exactly one bucket.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cached_property
from itertools import compress
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from include.walkme_sync.errors import ConfigurationError
from include.walkme_sync.frames import CURRENT_PREFIX
from include.walkme_sync.metadata import FieldInfo, ObjectInfo, WireValue
from include.walkme_sync.reconcile.coerce import is_null
from include.walkme_sync.reconcile.columns import coerce_column, equal_column
from include.walkme_sync.records import RecordChange

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
    new: np.ndarray  # object: the wire value (where sent)
    current: np.ndarray  # object: Salesforce's value (for the diff)


class PlanResult:
    """Changes to send, the decision per pair, and the field-by-field diff (for dry runs).

    Decisions are held column-wise; `pairs` and `diff` are built (once) when first read, so a
    run that only writes never materialises one Python object per unchanged pair or per field.
    """

    def __init__(
        self,
        *,
        changes: list[RecordChange],
        change_positions: np.ndarray,
        rows: list[int],
        keys: list[str | None],
        record_ids: list[str],
        status: np.ndarray,
        reject_reasons: dict[int, str],
        fields: list[_FieldPlan],
    ) -> None:
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

    @cached_property
    def pairs(self) -> list[PairPlan]:
        fields_at = {
            int(p): list(c.fields)
            for p, c in zip(self._change_positions.tolist(), self.changes, strict=True)
        }
        pairs = []
        for position, code in enumerate(self._status.tolist()):
            status = _STATUSES[code]
            row, key = self._rows[position], self._keys[position]
            record_id = self._record_ids[position]
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
        entries = []
        for position in self._change_positions.tolist():
            for plan in self._fields:
                if plan.changed[position]:
                    entries.append(
                        {
                            "row": self._rows[position],
                            "key": self._keys[position],
                            "record_id": self._record_ids[position],
                            "field": plan.name,
                            "old": _plain(plan.current[position]),
                            "new": plan.new[position],
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

    Works column by column (numpy/pandas) and decides exactly like the scalar `coerce_for_field`
    and `values_equal`, which it falls back to (once per distinct value) for anything the
    vectorised paths cannot prove; Python objects are built only for the pairs that change.
    """
    targets = _targets(config, info, matched)
    key_column = config.report.key_column
    size = len(matched)
    rows = np.asarray(matched["__row"].to_numpy(), dtype=np.int64).tolist() if size else []
    keys: list[str | None] = (
        [_key_text(k) for k in matched[key_column].tolist()]
        if key_column in matched.columns
        else [None] * size
    )
    record_ids = [r if r.__class__ is str else str(r) for r in matched["Id"].tolist()]

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
    sent: list[dict[str, WireValue]] = [{} for _ in range(len(change_positions))]
    for plan in plans:  # mapping order = the order of each change's fields
        picked = plan.changed[change_positions]
        if picked.any():
            name = plan.name
            values = plan.new[change_positions[picked]].tolist()
            for fields, value in zip(compress(sent, picked.tolist()), values, strict=True):
                fields[name] = value
    changes = [
        RecordChange(record_ids[position], rows[position], fields)
        for position, fields in zip(change_positions.tolist(), sent, strict=True)
    ]
    return PlanResult(
        changes=changes,
        change_positions=change_positions,
        rows=rows,
        keys=keys,
        record_ids=record_ids,
        status=status,
        reject_reasons=reject_reasons,
        fields=plans,
    )


def _key_text(value: Any) -> str | None:
    if value.__class__ is str and value.strip():
        return str(value)
    return None if is_null(value) else str(value)


def _plan_field(target: _Target, matched: pd.DataFrame, *, full_sync: bool) -> _FieldPlan:
    """Coerce one mapped column, apply its null policy and compare it with Salesforce's values."""
    described = target.field
    coerced = coerce_column(matched[target.column], described)
    current = object_array(matched[target.current_column].tolist())
    new = coerced.wire
    sent = ~coerced.null & ~coerced.rejected
    if target.clear:
        # A checkbox cannot be null: clearing it means unchecking it.
        new[coerced.null] = False if described.type == "boolean" else None
        sent |= coerced.null
    positions = np.flatnonzero(sent)
    if full_sync or not len(positions):
        changed = sent
    else:
        equal = equal_column(current[positions], new[positions], described)
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


def object_array(values: list[Any]) -> np.ndarray:
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


def _plain(value: Any) -> Any:
    """JSON-friendly current value for the diff (numpy scalars, NaN -> None)."""
    if is_null(value):
        return None
    item = getattr(value, "item", None)
    return item() if callable(item) and type(value).__module__ == "numpy" else value

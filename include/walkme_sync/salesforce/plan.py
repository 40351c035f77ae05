"""Plan the writes (coerce, null policy, diff against Salesforce's values) and apply them.

`plan_changes` is pure: it needs the matched rows (with Salesforce's current values, fetched by
the match step) and the describe metadata, and decides per (report row, record) pair whether it is
rejected (a value the field cannot take), unchanged, or a change of some fields. `apply_plan`
writes the changes (or, in a dry run, only reports them) and gives every matched report row exactly
one bucket.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from itertools import compress
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from include.walkme_sync.errors import ConfigurationError
from include.walkme_sync.matching import CURRENT_PREFIX
from include.walkme_sync.outcomes import OUTCOME_COLUMNS, outcome_frame
from include.walkme_sync.salesforce.coerce import (
    EMAIL_PATTERN,
    INTEGER_TYPES,
    MAX_INT_DIGITS,
    NUMBER_TYPES,
    SALESFORCE_ID_PATTERN,
    TEXT_TYPES,
    ValueRejected,
    WireValue,
    coerce_for_field,
    is_null,
    values_equal,
)
from include.walkme_sync.salesforce.describe import FieldInfo, ObjectInfo
from include.walkme_sync.salesforce.writers import RecordChange, WriteResult, write_changes

if TYPE_CHECKING:
    from include.walkme_sync.config import IntegrationConfig
    from include.walkme_sync.salesforce.client import SalesforceSession
    from include.walkme_sync.salesforce.quota import ApiBudget

log = logging.getLogger(__name__)

CHANGE, UNCHANGED, REJECTED = "change", "unchanged", "rejected"
UNCHANGED_REASON = "Salesforce already holds these values"
_STATUS_CODES = {UNCHANGED: 0, CHANGE: 1, REJECTED: 2}
_STATUSES = (UNCHANGED, CHANGE, REJECTED)

#: Field types whose wire value is always text (None for a clear).
_STR_WIRE_TYPES = TEXT_TYPES | {"datetime", "date", "email", "id", "reference"}
#: Floats below this are whole numbers exactly (and ints below it convert to floats exactly).
_EXACT_FLOAT = 2.0**53
#: np.datetime64 bounds of the fast (vectorised) date-time formatting: 4-digit years only.
_DAY_MIN, _DAY_MAX = np.datetime64("1000-01-01", "D"), np.datetime64("9999-12-31", "D")
_MS_MIN = np.datetime64("1000-01-01T00:00:00.000", "ms")
_MS_MAX = np.datetime64("9999-12-31T23:59:59.999", "ms")


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
    current = _object_array(matched[target.current_column].tolist())
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
        equal = _equal_column(current[positions], new[positions], described)
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


def _object_array(values: list[Any]) -> np.ndarray:
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


# ------------------------------------------------------------------ column-wise coercion


@dataclass
class CoercedColumn:
    """`coerce_for_field` over a column: null / rejected (with reasons) / wire value per row."""

    null: np.ndarray  # bool: `is_null(value)`
    rejected: np.ndarray  # bool: `coerce_for_field` raised ValueRejected
    reasons: dict[int, str]  # position -> str(ValueRejected)
    wire: np.ndarray  # object: the coerced value where neither null nor rejected


def coerce_column(values: pd.Series, target: FieldInfo) -> CoercedColumn:
    """`coerce_for_field` for every value of `values` (positionally), vectorised.

    The fast paths (datetime64, numeric, boolean and text columns into their usual field types)
    only claim the values they can prove the scalar rules map the same way; every other value
    goes through `coerce_for_field` itself, once per distinct value.
    """
    size = len(values)
    null = np.zeros(size, dtype=bool)
    done = np.zeros(size, dtype=bool)
    wire = np.empty(size, dtype=object)
    if size:
        _fast_coerce(values, target, null, done, wire)
    rejected = np.zeros(size, dtype=bool)
    reasons: dict[int, str] = {}
    todo = np.flatnonzero(~null & ~done)
    if len(todo):
        originals = values.tolist() if len(todo) == size else values.iloc[todo].tolist()
        memo: dict[tuple[Any, ...], WireValue | ValueRejected] = {}
        for position, value in zip(todo.tolist(), originals, strict=True):
            if is_null(value):
                null[position] = True
                continue
            result = _coerce_cached(value, target, memo)
            if isinstance(result, ValueRejected):
                rejected[position] = True
                reasons[position] = str(result)
            else:
                wire[position] = result
    return CoercedColumn(null=null, rejected=rejected, reasons=reasons, wire=wire)


def _coerce_cached(
    value: Any, target: FieldInfo, memo: dict[tuple[Any, ...], WireValue | ValueRejected]
) -> WireValue | ValueRejected:
    """`coerce_for_field`, memoised per distinct value.

    1, 1.0 and True must not share a slot, nor 0.0 and -0.0 or Decimal 1.0 and 1.00: apart from
    str/int/bool, equal values share a slot only when their reprs are equal too.
    """
    key: tuple[Any, ...] | None
    cls = value.__class__
    try:
        key = (cls, value) if cls in (str, int, bool) else (cls, value, repr(value))
        if key in memo:
            return memo[key]
    except Exception:  # unhashable (or unprintable) value: no memo
        key = None
    try:
        result: WireValue | ValueRejected = coerce_for_field(value, target)
    except ValueRejected as rejected:
        result = rejected
    if key is not None:
        memo[key] = result
    return result


def _fast_coerce(
    values: pd.Series, target: FieldInfo, null: np.ndarray, done: np.ndarray, wire: np.ndarray
) -> None:
    """Mark (in place) the rows whose outcome is certain: null, or `done` with `wire` set."""
    kind = target.type
    dtype = values.dtype
    is_datetime = isinstance(dtype, pd.DatetimeTZDtype) or (
        isinstance(dtype, np.dtype) and dtype.kind == "M"
    )
    if is_datetime and (kind in ("datetime", "date") or kind in TEXT_TYPES):
        _fast_datetimes(values, target, null, done, wire)
    elif _is_number_dtype(dtype) and (kind in NUMBER_TYPES or kind in INTEGER_TYPES):
        _fast_numbers(values, target, null, done, wire)
    elif pd.api.types.is_bool_dtype(dtype) and kind == "boolean":
        missing = values.isna().to_numpy(dtype=bool)
        null |= missing
        flags = values.to_numpy(dtype=bool, na_value=False).astype(object)
        wire[~missing] = flags[~missing]
        done |= ~missing
    elif (isinstance(dtype, pd.StringDtype) or dtype.kind == "O") and (
        kind in TEXT_TYPES or kind in ("email", "id", "reference")
    ):
        _fast_texts(values.tolist(), target, null, done, wire)


def _is_number_dtype(dtype: Any) -> bool:
    if pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype):
        return False
    return isinstance(dtype, np.dtype | pd.api.extensions.ExtensionDtype) and getattr(
        dtype, "kind", ""
    ) in ("i", "u", "f")


def _fast_datetimes(
    values: pd.Series, target: FieldInfo, null: np.ndarray, done: np.ndarray, wire: np.ndarray
) -> None:
    # Naive date-times are UTC by contract; aware ones are converted to UTC (then made naive).
    utc = values.dt.tz_convert(None) if isinstance(values.dtype, pd.DatetimeTZDtype) else values
    stamps = utc.to_numpy()
    missing = np.isnat(stamps)
    null |= missing
    if target.type == "date":
        days = stamps.astype("datetime64[D]")  # floor: the UTC day
        ok = ~missing & (days >= _DAY_MIN) & (days <= _DAY_MAX)
        texts = np.datetime_as_string(days[ok], unit="D").astype(object)
    else:
        millis = stamps.astype("datetime64[ms]")  # floor, like `microsecond // 1000`
        ok = ~missing & (millis >= _MS_MIN) & (millis <= _MS_MAX)
        texts = np.strings.add(np.datetime_as_string(millis[ok], unit="ms"), "Z").astype(object)
        if target.type in TEXT_TYPES:  # the date-time's text, checked like any text
            valid = np.fromiter((_text_fits(t, target) for t in texts), bool, len(texts))
            ok[np.flatnonzero(ok)[~valid]] = False
            texts = texts[valid]
    wire[ok] = texts
    done |= ok


def _fast_numbers(
    values: pd.Series, target: FieldInfo, null: np.ndarray, done: np.ndarray, wire: np.ndarray
) -> None:
    numbers = values.to_numpy(dtype="float64", na_value=np.nan)
    null |= np.isnan(numbers)
    size = np.abs(numbers)
    with np.errstate(invalid="ignore", over="ignore"):
        if target.type in INTEGER_TYPES:
            limit = target.digits or MAX_INT_DIGITS.get(target.type, 9)
            if limit < 0:
                return
            # Below 2**53 the float is the exact value (ints convert exactly): whole and short.
            ok = (size < _EXACT_FLOAT) & (np.floor(numbers) == numbers) & (size < 10.0**limit)
            wire[ok] = numbers[ok].astype(np.int64).astype(object)
            done |= ok
            return
        scale = max(target.scale, 0)
        if scale > 22 or (target.precision and target.precision < scale):
            return
        # Decimal(repr(x)).quantize(10**-scale, ROUND_HALF_UP): away from a tie (x * 10**scale
        # within float error of .5) that is floor(|x| * 10**scale + 0.5); ties go to the scalar.
        scaled = size * 10.0**scale
        whole = np.floor(scaled)
        ok = (scaled < 2.0**52) & (np.abs(scaled - whole - 0.5) > scaled * 1e-15 + 1e-12)
        units = np.floor(scaled + 0.5)
        if target.precision:
            ok &= units < 10.0**target.precision  # integer digits <= precision - scale
        units = np.copysign(units[ok], numbers[ok])
    if scale == 0:
        wire[ok] = units.astype(np.int64).astype(object)
    else:
        # Both exact; IEEE division rounds to the double nearest the decimal, like float(Decimal).
        wire[ok] = (units / 10.0**scale).astype(object)
    done |= ok


def _fast_texts(
    values: list[Any], target: FieldInfo, null: np.ndarray, done: np.ndarray, wire: np.ndarray
) -> None:
    kind = target.type
    for position, value in enumerate(values):
        if value.__class__ is not str:
            if value is None or value is pd.NA or (value.__class__ is float and math.isnan(value)):
                null[position] = True
            continue
        text = value.strip()  # Salesforce trims text; a blank value is null
        if not text:
            null[position] = True
        elif kind == "email":
            if EMAIL_PATTERN.match(text) and not (target.length and len(text) > target.length):
                wire[position] = text
                done[position] = True
        elif kind in ("id", "reference"):
            if SALESFORCE_ID_PATTERN.match(text):
                wire[position] = text
                done[position] = True
        elif _text_fits(text, target):
            wire[position] = text
            done[position] = True


def _text_fits(text: str, target: FieldInfo) -> bool:
    if target.length and len(text) > target.length:
        return False
    return not (
        target.type == "picklist"
        and target.restricted_picklist
        and text not in target.picklist_values
    )


# ----------------------------------------------------------------- column-wise comparison


def _equal_column(current: np.ndarray, new: np.ndarray, target: FieldInfo) -> np.ndarray:
    """`values_equal(current[i], new[i], target)` for every i (object arrays); the scalar
    decides what the quick checks cannot."""
    kind = target.type
    equal = np.zeros(len(new), dtype=bool)
    todo = None
    if kind in _STR_WIRE_TYPES:
        # The new values are text (or None for a clear): Python-equal means the same text
        # (or both None), which every rule of `values_equal` calls equal. One C loop.
        try:
            same = np.asarray(current == new, dtype=bool)
        except Exception:  # an exotic current value: decide one by one
            same = None
        if same is not None and same.shape == equal.shape:
            equal |= same
            todo = np.flatnonzero(~same)
    if todo is None:
        todo = np.arange(len(new))
    if len(todo):
        decide = _QUICK_EQUAL.get(kind, _quick_equal_default)
        equal[todo] = np.fromiter(
            (
                quick if (quick := decide(c, n, kind)) is not None else values_equal(c, n, target)
                for c, n in zip(current[todo].tolist(), new[todo].tolist(), strict=True)
            ),
            dtype=bool,
            count=len(todo),
        )
    return equal


def _quick_nulls(current: Any, new: Any, kind: str) -> bool | None:
    """Decides when Salesforce holds no value (None / NaN) or the new value is a clear."""
    if current is None or (current.__class__ is float and math.isnan(current)):
        # A checkbox is never null: null means false.
        return (not new) if kind == "boolean" else new is None
    return None


def _quick_equal_default(current: Any, new: Any, kind: str) -> bool | None:
    if new is None:
        return _quick_nulls(current, new, kind)
    if current.__class__ is str and new.__class__ is str and current == new:
        return True
    return _quick_nulls(current, new, kind)


def _quick_equal_datetime(current: Any, new: Any, kind: str) -> bool | None:
    if current.__class__ is str and new.__class__ is str:
        if current == new:
            return True
        # REST returns 2024-01-31T12:34:56.000+0000: the same instant as ...56.000Z.
        if len(current) == 28 and current[23:] == "+0000" and current[:23] == new[:23]:
            return True
        return None
    return _quick_nulls(current, new, kind)


def _quick_equal_number(current: Any, new: Any, kind: str) -> bool | None:
    cls = current.__class__
    if (
        (cls is float or cls is int)
        and (new.__class__ is int or new.__class__ is float)
        and current == new
        and -_EXACT_FLOAT < new < _EXACT_FLOAT
    ):
        return True  # equal numbers are equal at any scale
    if cls is str and (new.__class__ is int or new.__class__ is float) and current == repr(new):
        return True  # Bulk CSV text of the same decimal
    return _quick_nulls(current, new, kind)


def _quick_equal_boolean(current: Any, new: Any, kind: str) -> bool | None:
    if current.__class__ is bool and new.__class__ is bool:
        return current is new
    return _quick_nulls(current, new, kind)


_QUICK_EQUAL: dict[str, Callable[[Any, Any, str], bool | None]] = {
    "datetime": _quick_equal_datetime,
    "boolean": _quick_equal_boolean,
    **dict.fromkeys(NUMBER_TYPES | INTEGER_TYPES, _quick_equal_number),
}


def _plain(value: Any) -> Any:
    """JSON-friendly current value for the diff (numpy scalars, NaN -> None)."""
    if is_null(value):
        return None
    item = getattr(value, "item", None)
    return item() if callable(item) and type(value).__module__ == "numpy" else value


def apply_plan(
    session: SalesforceSession,
    config: IntegrationConfig,
    plan: PlanResult,
    budget: ApiBudget,
    *,
    dry_run: bool,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Write the plan's changes (nothing in a dry run) and return (outcomes, summary).

    Outcomes have one row per matched report row: written | failed | unchanged | rejected. With
    `multiple_records: update_all` a row is failed if any of its records failed, written if any
    was written, else unchanged. The summary carries the counts, API calls and, when the writer
    stopped early, `stopped_reason` and `stop_category` (budget, quota, authorization...).
    """
    calls_before = session.meter.calls
    stopped_reason: str | None = None
    stop_category: str | None = None
    if dry_run or not plan.changes:
        results = {
            c.record_id: WriteResult(c.record_id, c.row, True, attempts=0) for c in plan.changes
        }
    else:
        outcome = write_changes(
            session, config.object.name, plan.changes, config.write, budget, log=log
        )
        results = {r.record_id: r for r in outcome.results}
        stopped_reason = outcome.stopped_reason
        if outcome.stop_error is not None:
            stop_category = (
                "budget"
                if any(r.error_code == "API_BUDGET_EXCEEDED" for r in outcome.results)
                else outcome.stop_error.category
            )
    outcomes = _row_outcomes(plan, results, dry_run=dry_run)
    counts = outcomes["bucket"].value_counts()
    summary: dict[str, Any] = {
        "matched_rows": len(outcomes),
        **{b: int(counts.get(b, 0)) for b in ("written", "unchanged", "rejected", "failed")},
        "records_changed": len(plan.changes),
        "field_changes": plan.field_changes,
        "api_calls": session.meter.calls - calls_before,
        "calls_by_kind": dict(session.meter.calls_by_kind),
        "daily_api_usage": (
            None
            if session.meter.daily_limit is None
            else f"{session.meter.daily_used}/{session.meter.daily_limit}"
        ),
        "dry_run": dry_run,
        "stopped_reason": stopped_reason,
        "stop_category": stop_category,
    }
    return outcomes, summary


def _row_outcomes(
    plan: PlanResult, results: dict[str, WriteResult], *, dry_run: bool
) -> pd.DataFrame:
    size = len(plan)
    if not size:
        return outcome_frame(rows=[], keys=[], bucket="written")[OUTCOME_COLUMNS]
    rows = np.asarray(plan._rows, dtype=np.int64)
    order = np.argsort(rows, kind="stable")
    ordered = rows[order]
    if size > 1 and bool((ordered[1:] == ordered[:-1]).any()):
        # Several records per report row (multiple_records: update_all): combine their fates.
        return _grouped_row_outcomes(plan, results, dry_run=dry_run)
    # One pair per report row: its bucket is its own decision (and its write's result).
    buckets = np.full(size, "unchanged", dtype=object)
    reasons = np.full(size, UNCHANGED_REASON, dtype=object)
    codes = np.full(size, None, dtype=object)
    for position, reason in plan._reject_reasons.items():
        buckets[position], reasons[position], codes[position] = "rejected", reason, "INVALID_VALUE"
    verb = "dry run: would update" if dry_run else "updated"
    positions = plan._change_positions.tolist()
    for position, change in zip(positions, plan.changes, strict=True):
        result = results[change.record_id]
        if result.success:
            buckets[position] = "written"
            reasons[position] = f"{verb} {', '.join(sorted(set(change.fields)))}"
        else:
            reason = f"{result.message or result.error_code}"
            if result.attempts > 1:
                reason += f" [after {result.attempts} attempts]"
            buckets[position], reasons[position], codes[position] = (
                "failed",
                reason,
                result.error_code,
            )
    keys = _object_array(plan._keys)
    ids = _object_array(plan._record_ids)
    frame = pd.DataFrame(
        {
            "__row": pd.Series(ordered, dtype="int64"),
            "key": pd.Series(keys[order], dtype="string"),
            "bucket": pd.Series(buckets[order], dtype="string"),
            "reason": pd.Series(reasons[order], dtype="string"),
            "error_code": pd.Series(codes[order], dtype="string"),
            "record_id": pd.Series(ids[order], dtype="string"),
        }
    )
    return frame[OUTCOME_COLUMNS]


def _grouped_row_outcomes(
    plan: PlanResult, results: dict[str, WriteResult], *, dry_run: bool
) -> pd.DataFrame:
    by_row: dict[int, list[PairPlan]] = defaultdict(list)
    for pair in plan.pairs:
        by_row[pair.row].append(pair)
    rows, keys, buckets, reasons, codes, ids = [], [], [], [], [], []
    for row, pairs in by_row.items():
        bucket, reason, code, record_id = _row_bucket(pairs, results, dry_run=dry_run)
        rows.append(row)
        keys.append(pairs[0].key)
        buckets.append(bucket)
        reasons.append(reason)
        codes.append(code)
        ids.append(record_id)
    frames = []
    for bucket in dict.fromkeys(buckets):
        picked = [i for i, b in enumerate(buckets) if b == bucket]
        frames.append(
            outcome_frame(
                rows=[rows[i] for i in picked],
                keys=[keys[i] for i in picked],
                bucket=bucket,
                reasons=[reasons[i] for i in picked],
                error_codes=[codes[i] for i in picked],
                record_ids=[ids[i] for i in picked],
            )
        )
    return pd.concat(frames, ignore_index=True).sort_values("__row", ignore_index=True)


def _row_bucket(
    pairs: list[PairPlan], results: dict[str, WriteResult], *, dry_run: bool
) -> tuple[str, str | None, str | None, str | None]:
    """(bucket, reason, error_code, record_id) of one report row from its pairs' fates."""
    rejected = [p for p in pairs if p.status == REJECTED]
    if rejected:
        return "rejected", rejected[0].reason, "INVALID_VALUE", rejected[0].record_id
    written: list[PairPlan] = []
    failed: list[tuple[PairPlan, WriteResult]] = []
    for pair in pairs:
        if pair.status != CHANGE:
            continue
        result = results[pair.record_id]
        if result.success:
            written.append(pair)
        else:
            failed.append((pair, result))
    if failed:
        pair, result = failed[0]
        others = f" (and {len(failed) - 1} more record(s))" if len(failed) > 1 else ""
        reason = f"{result.message or result.error_code}{others}"
        if result.attempts > 1:
            reason += f" [after {result.attempts} attempts]"
        return "failed", reason, result.error_code, pair.record_id
    if written:
        verb = "dry run: would update" if dry_run else "updated"
        fields = sorted({f for p in written for f in p.fields})
        suffix = f" on {len(written)} records" if len(written) > 1 else ""
        return "written", f"{verb} {', '.join(fields)}{suffix}", None, written[0].record_id
    return "unchanged", pairs[0].reason, None, pairs[0].record_id

"""Plan the writes (coerce, null policy, diff against Salesforce's values) and apply them.

`plan_changes` is pure: it needs the matched rows (with Salesforce's current values, fetched by
the match step) and the describe metadata, and decides per (report row, record) pair whether it is
rejected (a value the field cannot take), unchanged, or a change of some fields. `apply_plan`
writes the changes (or, in a dry run, only reports them) and gives every matched report row exactly
one bucket.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from include.walkme_sync.errors import ConfigurationError
from include.walkme_sync.matching import CURRENT_PREFIX
from include.walkme_sync.outcomes import OUTCOME_COLUMNS, outcome_frame
from include.walkme_sync.salesforce.coerce import (
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

    def status_of(self, position: int) -> str:
        return _STATUSES[int(self._status[position])]

    @cached_property
    def pairs(self) -> list[PairPlan]:
        fields_at = {
            int(p): list(c.fields)
            for p, c in zip(self._change_positions.tolist(), self.changes, strict=True)
        }
        pairs = []
        for position, code in enumerate(self._status.tolist()):
            status = _STATUSES[code]
            row, key, record_id = self._rows[position], self._keys[position]
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
    """
    targets = _targets(config, info, matched)
    key_column = config.report.key_column
    rows = matched["__row"].tolist()
    keys = matched[key_column].tolist() if key_column in matched.columns else [None] * len(rows)
    record_ids = matched["Id"].tolist()
    new_values = [matched[t.column].tolist() for t in targets]
    current_values = [matched[t.current_column].tolist() for t in targets]

    # Report columns repeat values a lot (dates, small counts): coerce each distinct value once.
    memos: list[dict[tuple[type, Any], WireValue | ValueRejected]] = [{} for _ in targets]
    changes: list[RecordChange] = []
    pairs: list[PairPlan] = []
    diff: list[dict[str, Any]] = []
    for i, (row, raw_key, record_id) in enumerate(zip(rows, keys, record_ids, strict=True)):
        key = None if is_null(raw_key) else str(raw_key)
        fields: dict[str, WireValue] = {}
        reasons: list[str] = []
        for t, target in enumerate(targets):
            value = new_values[t][i]
            if is_null(value):
                if not target.clear:
                    continue
                # A checkbox cannot be null: clearing it means unchecking it.
                new: WireValue = False if target.field.type == "boolean" else None
            else:
                coerced = _coerce_cached(value, target.field, memos[t])
                if isinstance(coerced, ValueRejected):
                    reasons.append(str(coerced))
                    continue
                new = coerced
            current = current_values[t][i]
            if full_sync or not values_equal(current, new, target.field):
                fields[target.field.name] = new
                diff.append(
                    {
                        "row": int(row),
                        "key": key,
                        "record_id": str(record_id),
                        "field": target.field.name,
                        "old": _plain(current),
                        "new": new,
                    }
                )
        if reasons:
            pairs.append(PairPlan(int(row), key, str(record_id), REJECTED, "; ".join(reasons)))
            # A rejected row writes nothing: drop the diff entries it produced.
            while diff and diff[-1]["row"] == int(row) and diff[-1]["record_id"] == str(record_id):
                diff.pop()
        elif fields:
            changes.append(RecordChange(str(record_id), int(row), fields))
            pairs.append(PairPlan(int(row), key, str(record_id), CHANGE, fields=list(fields)))
        else:
            pairs.append(
                PairPlan(
                    int(row),
                    key,
                    str(record_id),
                    UNCHANGED,
                    "Salesforce already holds these values",
                )
            )
    return PlanResult(changes=changes, pairs=pairs, diff=diff)


def _coerce_cached(
    value: Any, target: FieldInfo, memo: dict[tuple[type, Any], WireValue | ValueRejected]
) -> WireValue | ValueRejected:
    """`coerce_for_field`, memoised per (type, value): 1, 1.0 and True must not share a slot."""
    key: tuple[type, Any] | None = (type(value), value)
    try:
        if key in memo:
            return memo[key]
    except TypeError:  # unhashable value: no memo
        key = None
    try:
        result: WireValue | ValueRejected = coerce_for_field(value, target)
    except ValueRejected as rejected:
        result = rejected
    if key is not None:
        memo[key] = result
    return result


def _plain(value: Any) -> Any:
    """JSON-friendly current value for the diff (numpy scalars, NaN -> None)."""
    if is_null(value):
        return None
    item = getattr(value, "item", None)
    return item() if callable(item) and type(value).__module__ == "numpy" else value


@@APPLY@@def apply_plan(
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
        "field_changes": len(plan.diff),
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
    if not rows:
        return outcome_frame(rows=[], keys=[], bucket="written")[OUTCOME_COLUMNS]
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

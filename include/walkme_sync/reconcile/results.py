"""Give every matched report row exactly one bucket from its plan and its write results.

One pair per report row: its bucket is its own decision and its write's result. With
`multiple_records: update_all` a row is failed if any of its records failed, written if any was
written, else unchanged.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pandas as pd

from include.walkme_sync.frames import OUTCOME_COLUMNS, Bucket, outcome_frame
from include.walkme_sync.reconcile.plan import (
    CHANGE,
    REJECTED,
    UNCHANGED_REASON,
    PairPlan,
    PlanResult,
)
from include.walkme_sync.records import ResultColumns, WriteResult, object_array


def row_outcomes(
    plan: PlanResult, results: dict[str, WriteResult] | ResultColumns, *, dry_run: bool
) -> pd.DataFrame:
    """One outcome row per matched report row. `results`: the write results by record Id, or
    column-wise in the order of `plan.changes` (what `salesforce.writers` returns)."""
    size = len(plan)
    if not size:
        return outcome_frame(rows=[], keys=[], bucket=Bucket.WRITTEN)[OUTCOME_COLUMNS]
    rows = np.asarray(plan._rows, dtype=np.int64)
    order = np.argsort(rows, kind="stable")
    ordered = rows[order]
    if size > 1 and bool((ordered[1:] == ordered[:-1]).any()):
        # Several records per report row (multiple_records: update_all): combine their fates.
        if isinstance(results, ResultColumns):
            results = {
                change.record_id: results.result(index) for index, change in enumerate(plan.changes)
            }
        return _grouped_row_outcomes(plan, results, dry_run=dry_run)
    if not isinstance(results, ResultColumns):
        results = ResultColumns.from_results([results[c.record_id] for c in plan.changes])
    # One pair per report row: its bucket is its own decision (and its write's result).
    buckets = np.full(size, Bucket.UNCHANGED.value, dtype=object)
    reasons = np.full(size, UNCHANGED_REASON, dtype=object)
    codes = np.full(size, None, dtype=object)
    for position, reason in plan._reject_reasons.items():
        buckets[position], reasons[position], codes[position] = (
            Bucket.REJECTED.value,
            reason,
            "INVALID_VALUE",
        )
    positions = plan._change_positions
    succeeded = np.asarray(results.success, dtype=bool)
    buckets[positions[succeeded]] = _done_bucket(dry_run)
    verb = "dry run: would update" if dry_run else "updated"
    reasons[positions[succeeded]] = _written_reasons(plan, verb)[succeeded]
    for index in np.flatnonzero(~succeeded).tolist():
        result = results.result(index)
        position = int(positions[index])
        buckets[position], reasons[position], codes[position] = (
            _unsuccessful_bucket(result),
            _failure_reason(result),
            result.error_code,
        )
    keys, ids = plan._keys, plan._record_ids  # "string" columns, one entry per pair
    if not np.array_equal(order, np.arange(size)):
        keys = keys.take(order).reset_index(drop=True)
        ids = ids.take(order).reset_index(drop=True)
        buckets, reasons, codes = buckets[order], reasons[order], codes[order]
    frame = pd.DataFrame(
        {
            "__row": pd.Series(ordered, dtype="int64"),
            "key": keys,
            "bucket": pd.Series(buckets, dtype="string"),
            "reason": pd.Series(reasons, dtype="string"),
            "error_code": pd.Series(codes, dtype="string"),
            "record_id": ids,
        }
    )
    return frame[OUTCOME_COLUMNS]


def _written_reasons(plan: PlanResult, verb: str) -> np.ndarray:
    """`"<verb> <the change's fields, sorted>"` per change, built once per distinct field set
    (a change's fields are the mapped fields whose value it sends)."""
    changes = plan.changes
    names = [field_plan.name for field_plan in plan._fields]
    if plan.fields_extended or len(names) > 62 or len(set(names)) != len(names):
        return object_array([f"{verb} {', '.join(sorted(set(c.fields)))}" for c in changes])
    positions = plan._change_positions
    pattern = np.zeros(len(positions), dtype=np.int64)
    for bit, field_plan in enumerate(plan._fields):
        pattern |= field_plan.changed[positions].astype(np.int64) << bit
    distinct, inverse = np.unique(pattern, return_inverse=True)
    texts = [
        f"{verb} {', '.join(sorted(n for bit, n in enumerate(names) if code >> bit & 1))}"
        for code in distinct.tolist()
    ]
    return object_array(texts)[inverse] if len(pattern) else object_array([])


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
        return Bucket.REJECTED.value, rejected[0].reason, "INVALID_VALUE", rejected[0].record_id
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
        # A refusal by Salesforce outranks changes that were never sent.
        failed.sort(key=lambda item: item[1].attempted, reverse=True)
        pair, result = failed[0]
        others = f" (and {len(failed) - 1} more record(s))" if len(failed) > 1 else ""
        reason = _failure_reason(result, others)
        return _unsuccessful_bucket(result), reason, result.error_code, pair.record_id
    if written:
        verb = "dry run: would update" if dry_run else "updated"
        fields = sorted({f for p in written for f in p.fields})
        suffix = f" on {len(written)} records" if len(written) > 1 else ""
        return (
            _done_bucket(dry_run),
            f"{verb} {', '.join(fields)}{suffix}",
            None,
            written[0].record_id,
        )
    return Bucket.UNCHANGED.value, pairs[0].reason, None, pairs[0].record_id


def _done_bucket(dry_run: bool) -> str:
    """A successful change: written, or in a dry run what would have been written."""
    return (Bucket.WOULD_WRITE if dry_run else Bucket.WRITTEN).value


def _unsuccessful_bucket(result: WriteResult) -> str:
    """Refused by Salesforce (`failed`), or never sent because the run stopped first."""
    return (Bucket.FAILED if result.attempted else Bucket.NOT_ATTEMPTED).value


def _failure_reason(result: WriteResult, others: str = "") -> str:
    reason = f"{result.message or result.error_code}{others}"
    if result.attempts > 1:
        reason += f" [after {result.attempts} attempts]"
    return reason

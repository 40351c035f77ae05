"""Give every matched report row exactly one bucket from its plan and its write results.

One pair per report row: its bucket is its own decision and its write's result. With
`multiple_records: update_all` a row is failed if any of its records failed, written if any was
written, else unchanged.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pandas as pd
import pyarrow as pa

from include.walkme_sync.frames import OUTCOME_COLUMNS, Bucket, outcome_frame
from include.walkme_sync.reconcile.plan import (
    CHANGE,
    REJECTED,
    UNCHANGED_REASON,
    PairPlan,
    PlanResult,
)
from include.walkme_sync.records import ResultColumns, WriteResult, record_ids_of


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
                record_id: results.result(index)
                for index, record_id in enumerate(record_ids_of(plan.changes))
            }
        return _grouped_row_outcomes(plan, results, dry_run=dry_run)
    if not isinstance(results, ResultColumns):
        results = ResultColumns.from_results([results[r] for r in record_ids_of(plan.changes)])
    # One pair per report row: its bucket is its own decision (and its write's result). The
    # text columns are codes into their few distinct texts (a million rows: a few arrays).
    buckets = _CodedTexts(size, Bucket.UNCHANGED.value)
    reasons = _CodedTexts(size, UNCHANGED_REASON)
    codes = _CodedTexts(size, None)
    rejected = np.fromiter(plan._reject_reasons, dtype=np.int64, count=len(plan._reject_reasons))
    buckets.put(rejected, Bucket.REJECTED.value)
    codes.put(rejected, "INVALID_VALUE")
    for position, reason in plan._reject_reasons.items():
        reasons.put_one(position, reason)
    positions = plan._change_positions
    succeeded = np.asarray(results.success, dtype=bool)
    buckets.put(positions[succeeded], _done_bucket(dry_run))
    verb = "dry run: would update" if dry_run else "updated"
    texts, inverse = _written_reasons(plan, verb)
    reasons.put_coded(positions[succeeded], texts, inverse[succeeded])
    for index in np.flatnonzero(~succeeded).tolist():
        result = results.result(index)
        position = int(positions[index])
        buckets.put_one(position, _unsuccessful_bucket(result))
        reasons.put_one(position, _failure_reason(result))
        codes.put_one(position, result.error_code)
    keys, ids = plan._keys, plan._record_ids  # "string" columns, one entry per pair
    reorder = None
    if not np.array_equal(order, np.arange(size)):
        keys = keys.take(order).reset_index(drop=True)
        ids = ids.take(order).reset_index(drop=True)
        reorder = order
    frame = pd.DataFrame(
        {
            "__row": pd.Series(ordered, dtype="int64"),
            "key": keys,
            "bucket": buckets.series(reorder),
            "reason": reasons.series(reorder),
            "error_code": codes.series(reorder),
            "record_id": ids,
        }
    )
    return frame[OUTCOME_COLUMNS]


class _CodedTexts:
    """A text column (pandas "string") of `size` rows held as codes into its distinct texts."""

    def __init__(self, size: int, fill: str | None) -> None:
        self.texts: list[str | None] = [fill]
        self._code: dict[str | None, int] = {fill: 0}
        self.codes = np.zeros(size, dtype=np.int32)

    def code(self, text: str | None) -> int:
        found = self._code.get(text)
        if found is None:
            found = self._code[text] = len(self.texts)
            self.texts.append(text)
        return found

    def put(self, positions: np.ndarray, text: str | None) -> None:
        self.codes[positions] = self.code(text)

    def put_one(self, position: int, text: str | None) -> None:
        self.codes[position] = self.code(text)

    def put_coded(self, positions: np.ndarray, texts: list[str], inverse: np.ndarray) -> None:
        """`texts[inverse[i]]` at `positions[i]`."""
        mapped = np.array([self.code(text) for text in texts], dtype=np.int32)
        self.codes[positions] = mapped[inverse] if len(texts) else 0

    def series(self, order: np.ndarray | None) -> pd.Series:
        codes = self.codes if order is None else self.codes[order]
        dictionary = pa.array(self.texts, type=pa.large_string())
        decoded = pa.DictionaryArray.from_arrays(pa.array(codes), dictionary).cast(pa.string())
        return pd.Series(pd.arrays.ArrowStringArray(decoded))


def _written_reasons(plan: PlanResult, verb: str) -> tuple[list[str], np.ndarray]:
    """`"<verb> <the change's fields, sorted>"` per change, as (distinct texts, each change's
    index into them): built once per distinct field set (a change's fields are the mapped
    fields whose value it sends)."""
    changes = plan.changes
    names = [field_plan.name for field_plan in plan._fields]
    if plan.fields_extended or len(names) > 62 or len(set(names)) != len(names):
        every = [f"{verb} {', '.join(sorted(set(c.fields)))}" for c in changes]
        return every, np.arange(len(every))
    positions = plan._change_positions
    pattern = np.zeros(len(positions), dtype=np.int64)
    for bit, field_plan in enumerate(plan._fields):
        pattern |= field_plan.changed[positions].astype(np.int64) << bit
    distinct, inverse = distinct_patterns(pattern, len(names))
    texts = [
        f"{verb} {', '.join(sorted(n for bit, n in enumerate(names) if code >> bit & 1))}"
        for code in distinct.tolist()
    ]
    return texts, inverse


def distinct_patterns(pattern: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """`np.unique(pattern, return_inverse=True)` of bit patterns (int64, `bits` bits): counted
    when there can be few (a million changes' patterns are not sorted to find three)."""
    if bits > PATTERN_COUNT_BITS:
        distinct, inverse = np.unique(pattern, return_inverse=True)
        return distinct, inverse.reshape(len(pattern))
    distinct = np.flatnonzero(np.bincount(pattern, minlength=1 << bits))
    lookup = np.zeros(1 << bits, dtype=np.int64)
    lookup[distinct] = np.arange(len(distinct))
    return distinct, lookup[pattern]


#: Field-set patterns of up to this many fields are counted (a table of 2**bits entries).
PATTERN_COUNT_BITS = 16


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

"""Pair report rows with the Salesforce records their keys found (pure: frames in, frames out).

A key with no record -> `unmatched`; with several records -> `ambiguous` (listing the Ids) under
`multiple_records: skip`, or one matched row per record under `update_all`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from include.walkme_sync.config import IntegrationConfig
from include.walkme_sync.errors import DataValidationError
from include.walkme_sync.frames import CURRENT_PREFIX, KEY, OUTCOME_COLUMNS, Bucket, outcome_frame

AMBIGUOUS_IDS_SHOWN = 10


@dataclass
class MatchResult:
    """`matched`: one row per (report row, record) with `__row`, `__key`, `Id`, the report columns
    and `__current__<Field>` per mapped field. `outcomes`: unmatched and ambiguous rows."""

    matched: pd.DataFrame
    outcomes: pd.DataFrame


def pair_rows(
    config: IntegrationConfig,
    frame: pd.DataFrame,
    keys: np.ndarray,
    found: pd.DataFrame,
    fields: list[str],
) -> MatchResult:
    """Pair report rows with records column-wise: records are grouped by key (stable, in
    Salesforce's order), each row looks its key's group up, and the matched frame is built with
    two `take`s (report rows repeated once per record; the records in group order)."""
    key_column = config.report.key_column
    update_all = config.matching.multiple_records == "update_all"

    # One hash pass codes the records' keys and the rows' keys alike (None -> -1).
    record_keys = found[KEY].to_numpy(dtype=object)
    all_codes, uniques = pd.factorize(np.concatenate([record_keys, keys]))
    codes, row_code = all_codes[: len(record_keys)], all_codes[len(record_keys) :]
    counts = np.bincount(codes, minlength=len(uniques) + 1).astype(np.int64)
    counts[-1] = 0  # row_code -1 (null key) indexes this slot: no records
    order = np.argsort(codes, kind="stable")  # records grouped by key, each group in order
    starts = np.cumsum(counts) - counts
    row_count = counts[row_code]

    unmatched = row_count == 0
    ambiguous = (row_count > 1) & (not update_all)
    positions = np.flatnonzero(~unmatched & ~ambiguous)
    repeats = row_count[positions]
    row_positions = np.repeat(positions, repeats)
    within = np.arange(int(repeats.sum())) - np.repeat(np.cumsum(repeats) - repeats, repeats)
    record_positions = order[np.repeat(starts[row_code[positions]], repeats) + within]

    matched = frame.iloc[row_positions].reset_index(drop=True)
    matched.insert(1, "__key", pd.Series(keys[row_positions], dtype="string"))
    ids = found["Id"].to_numpy(dtype=object)
    matched_ids = ids[record_positions]
    if pd.api.types.infer_dtype(matched_ids, skipna=False) != "string":
        matched_ids = np.array([str(i) for i in matched_ids], dtype=object)
    matched["Id"] = pd.Series(matched_ids, dtype="string")
    for name in fields:
        matched[CURRENT_PREFIX + name] = pd.Series(
            found[name].to_numpy(dtype=object)[record_positions], dtype=object
        )
    _check_one_row_per_record(matched)

    ambiguous_at = np.flatnonzero(ambiguous)
    reasons: dict[int, str] = {}
    for code in pd.unique(row_code[ambiguous_at]).tolist():
        group = ids[order[starts[code] : starts[code] + counts[code]]]
        shown = ", ".join(str(i) for i in group[:AMBIGUOUS_IDS_SHOWN])
        more = f" and {len(group) - AMBIGUOUS_IDS_SHOWN} more" if len(group) > 10 else ""
        reasons[code] = (
            f"{len(group)} {config.object.name} records have this "
            f"{config.object.key_field}: {shown}{more}"
        )
    unmatched_at = np.flatnonzero(unmatched)
    rows = frame["__row"]
    originals = frame[key_column]
    outcomes = pd.concat(
        [
            outcome_frame(
                rows=rows.iloc[unmatched_at].tolist(),
                keys=originals.iloc[unmatched_at].tolist(),
                bucket=Bucket.UNMATCHED,
                reasons=[f"no {config.object.name} record has this {config.object.key_field}"]
                * len(unmatched_at),
            ),
            outcome_frame(
                rows=rows.iloc[ambiguous_at].tolist(),
                keys=originals.iloc[ambiguous_at].tolist(),
                bucket=Bucket.AMBIGUOUS,
                reasons=[reasons[code] for code in row_code[ambiguous_at].tolist()],
                error_codes=["MULTIPLE_RECORDS"] * len(ambiguous_at),
            ),
        ],
        ignore_index=True,
    )[OUTCOME_COLUMNS]
    return MatchResult(matched=matched, outcomes=outcomes)


def _check_one_row_per_record(matched: pd.DataFrame) -> None:
    duplicated = matched["Id"][matched["Id"].duplicated(keep=False)]
    if len(duplicated):
        rows = matched.loc[duplicated.index, "__row"].tolist()[:10]
        raise DataValidationError(
            f"Several report rows ({', '.join(map(str, rows))}) match the same Salesforce record "
            f"{duplicated.iloc[0]}; duplicates should have been resolved by validation.",
            action="Set matching.duplicate_report_keys (reject, keep_first or keep_last) and run "
            "again; report this as a bug if it is already set.",
        )

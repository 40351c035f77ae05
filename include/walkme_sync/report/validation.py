"""Validate the extracted report with great-expectations before anything is matched or written.

Hard expectations (the key and mapped columns exist) stop the run. Row-level expectations (key not
empty, key format per kind, unique keys) reject the offending rows with a reason; duplicate keys are
then resolved by the integration's `matching.duplicate_report_keys` policy. GX is imported inside
the functions: it costs ~2 s and must never load while DAGs are parsed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa

from include.walkme_sync.errors import DataValidationError
from include.walkme_sync.frames import KEY, ROW, Bucket, outcome_frame
from include.walkme_sync.keys import KEY_PATTERNS, PYTHON_WHITESPACE_CLASS, key_array
from include.walkme_sync.report.gx_import import import_great_expectations

if TYPE_CHECKING:
    from include.walkme_sync.config import IntegrationConfig

log = logging.getLogger(__name__)


@dataclass
class ValidationOutcome:
    """Rows that go on to matching, rows rejected here, and a JSON-safe summary for XCom/logs."""

    kept: pd.DataFrame
    rejected: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)


def validate_report(frame: pd.DataFrame, config: IntegrationConfig) -> ValidationOutcome:
    """Run the suite on `frame` (extracted rows with `__row`); raise on hard failures."""
    key_column = config.report.key_column
    # A column mapped to two fields (TeachMe's course name: the record's Name and a field) is
    # checked once.
    required = list(dict.fromkeys([key_column, *(mapping.column for mapping in config.mappings)]))
    # Copy-on-write (pandas 3): adding the key column leaves `frame` as it was, without copying
    # its columns.
    work = frame.copy(deep=False)
    if key_column in work.columns:
        # One chunk before the normalised keys are made from it, so they are one chunk too
        # (see `_suite_frame`).
        work[key_column] = _one_chunk(work[key_column])
        # The same normalisation as matching, so "duplicate" means "would match the same record".
        work[KEY] = _key_column(work[key_column], config.report.key_kind)
    results = _run_suite(_suite_frame(work, required), config, required)
    _raise_on_hard_failures(results, config)

    reasons = _row_rejections(work, results, config)
    if not _keys_unique(results):
        # Rows already rejected take no part in the duplicate policy. (When every key is unique,
        # so is every subset: nothing to look for.)
        kept_so_far = work.drop(index=list(reasons)) if reasons else work
        reasons.update(_duplicate_rejections(kept_so_far, config))
    rejected_index = list(reasons)
    # Nothing rejected (the usual case): no row to drop, and dropping none would copy every column.
    kept_rows = work.drop(index=rejected_index) if rejected_index else work
    rejected = outcome_frame(
        rows=work.loc[rejected_index, ROW],
        keys=work.loc[rejected_index, key_column].astype("string"),
        bucket=Bucket.REJECTED,
        reasons=[reasons[index] for index in rejected_index],
    )
    # Matching normalises keys itself (same rules); the helper column stays internal here.
    kept = kept_rows.drop(columns=[KEY], errors="ignore")
    summary = _summary(results, frame, kept, rejected)
    return ValidationOutcome(kept=kept, rejected=rejected, summary=summary)


def _key_column(keys: pd.Series, kind: str) -> pd.Series:
    """The normalised keys (`keys.normalize_keys`) as pandas text, straight from Arrow: no
    Python string per row (tests/unit/test_validation_fast_paths.py compares the two)."""
    return pd.Series(pd.array(key_array(keys, kind), dtype="string"), index=keys.index)


def _suite_frame(work: pd.DataFrame, required: list[str]) -> pd.DataFrame:
    """The columns the suite looks at (the required ones present, and the key): GX filters
    and copies the frame it is given, so the report's other columns only cost it time.

    Its Arrow columns are made one chunk each: GX selects the unexpected rows of the frame
    several times per expectation, and Arrow's `take` concatenates a chunked column (a Parquet
    file gives one chunk per row group) before picking even one row.
    """
    columns = [c for c in dict.fromkeys([*required, KEY]) if c in work.columns]
    return pd.DataFrame({c: _one_chunk(work[c]) for c in columns}, index=work.index)


def _one_chunk(column: pd.Series) -> pd.Series:
    """`column` with its Arrow data in one chunk (the same values and dtype)."""
    if not isinstance(column.dtype, pd.ArrowDtype | pd.StringDtype) or (
        getattr(column.dtype, "storage", "pyarrow") != "pyarrow"
    ):
        return column
    data = pa.chunked_array(pa.array(column.array))
    if data.num_chunks <= 1:
        return column
    whole = pd.array(data.combine_chunks(), dtype=column.dtype)
    return pd.Series(whole, index=column.index, name=column.name)


def _run_suite(work: pd.DataFrame, config: IntegrationConfig, required: list[str]) -> Any:
    """Build an ephemeral GX context and validate `work` against the integration's suite."""
    gx = import_great_expectations()
    import great_expectations.expectations as gxe
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch_definition = (
        context.data_sources.add_pandas(name="report")
        .add_dataframe_asset(name=config.report.name)
        .add_batch_definition_whole_dataframe("extracted")
    )
    expectations: list[Any] = [gxe.ExpectColumnToExist(column=column) for column in required]
    if KEY in work.columns:
        expectations.append(gxe.ExpectColumnValuesToNotBeNull(column=KEY))
        key_pattern = KEY_PATTERNS.get(config.report.key_kind)
        pattern = None if key_pattern is None else key_pattern.pattern
        if pattern:
            expectations.append(
                gxe.ExpectColumnValuesToMatchRegex(column=KEY, regex=arrow_friendly(pattern))
            )
        expectations.append(gxe.ExpectColumnValuesToBeUnique(column=KEY))
    suite = context.suites.add(
        gx.ExpectationSuite(name=f"{config.id}_report", expectations=expectations)
    )
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=f"{config.id}_validation", data=batch_definition, suite=suite)
    )
    return definition.run(
        batch_parameters={"dataframe": work},
        result_format={"result_format": "COMPLETE", "partial_unexpected_count": 20},
    )


def arrow_friendly(pattern: str) -> str:
    r"""`pattern` with each `\s` spelled out (`PYTHON_WHITESPACE_CLASS`): Python's `re` matches
    exactly the same strings with it, and pandas can run it in pyarrow instead (RE2 reads `\s`
    as ASCII whitespace only, so pandas runs a pattern holding `\s` through Python's `re`, one
    call per row: ~0.5 s per million keys)."""
    out: list[str] = []
    in_class = False
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            pair = pattern[index : index + 2]
            if pair == r"\s":
                pair = PYTHON_WHITESPACE_CLASS if in_class else f"[{PYTHON_WHITESPACE_CLASS}]"
            out.append(pair)
            index += 2
            continue
        if char == "[" and not in_class:
            in_class = True
            first = index + 1 + (pattern[index + 1 : index + 2] == "^")
            if pattern[first : first + 1] == "]":  # `[]…]`: a leading `]` is a literal
                out.append(pattern[index : first + 1])
                index = first + 1
                continue
        elif char == "]" and in_class:
            in_class = False
        out.append(char)
        index += 1
    return "".join(out)


def _raise_on_hard_failures(results: Any, config: IntegrationConfig) -> None:
    """Missing columns make the report unusable: stop before anything is matched or written."""
    missing = [
        result.expectation_config.kwargs["column"]
        for result in results.results
        if result.expectation_config.type == "expect_column_to_exist" and not result.success
    ]
    if missing:
        raise DataValidationError(
            f"Integration '{config.id}': the report lacks the column(s) {missing} "
            f"(key column '{config.report.key_column}' and every mapped column are required). "
            "Nothing was written.",
            action="Fix the report's columns in WalkMe Insights, or the integration's mappings.",
        )


def _row_rejections(work: pd.DataFrame, results: Any, config: IntegrationConfig) -> dict[Any, str]:
    """Frame index -> reason, for rows with an empty or badly formatted key."""
    reasons: dict[Any, str] = {}
    key_column = config.report.key_column
    for result in results.results:
        kind = result.expectation_config.type
        if result.success or kind not in {
            "expect_column_values_to_not_be_null",
            "expect_column_values_to_match_regex",
        }:
            continue
        for index in result.result.get("unexpected_index_list") or []:
            if index in reasons:
                continue
            if kind == "expect_column_values_to_not_be_null":
                reasons[index] = f"{key_column}: the key is empty"
            else:
                value = work.at[index, key_column]
                reasons[index] = (
                    f"{key_column}: '{value}' is not a valid {config.report.key_kind} key"
                )
    return reasons


def _keys_unique(results: Any) -> bool:
    """Whether GX found no two rows with the same (non-empty) normalised key."""
    return any(
        result.success
        for result in results.results
        if result.expectation_config.type == "expect_column_values_to_be_unique"
    )


def _duplicate_rejections(work: pd.DataFrame, config: IntegrationConfig) -> dict[Any, str]:
    """Apply `matching.duplicate_report_keys`: reject all copies, or keep the first/last one."""
    if KEY not in work.columns or work.empty:
        return {}
    keys = work[KEY]
    policy = config.matching.duplicate_report_keys
    in_group = keys.duplicated(keep=False) & keys.notna()
    if not in_group.any():
        return {}
    if policy == "reject":
        counts = keys[in_group].value_counts()
        return {
            index: f"duplicate report key '{keys.at[index]}' ({counts[keys.at[index]]} rows)"
            for index in work.index[in_group]
        }
    keep: Any = "first" if policy == "keep_first" else "last"
    dropped = keys.duplicated(keep=keep) & in_group
    kept_rows = work.loc[in_group & ~dropped].set_index(KEY)[ROW]
    return {
        index: (
            f"duplicate report key '{keys.at[index]}': row {int(kept_rows[keys.at[index]])} "
            f"is used ({policy})"
        )
        for index in work.index[dropped]
    }


def _summary(
    results: Any, frame: pd.DataFrame, kept: pd.DataFrame, rejected: pd.DataFrame
) -> dict[str, Any]:
    expectations = [
        {
            "expectation": result.expectation_config.type,
            "column": result.expectation_config.kwargs.get("column"),
            "success": bool(result.success),
            "unexpected_count": int(result.result.get("unexpected_count") or 0),
            "examples": [
                str(value) for value in (result.result.get("partial_unexpected_list") or [])
            ][:5],
        }
        for result in results.results
    ]
    return {
        "success": bool(results.success),
        "rows_in": len(frame),
        "rows_kept": len(kept),
        "rows_rejected": len(rejected),
        "expectations": expectations,
    }

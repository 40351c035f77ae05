"""Match: check the config against the object's describe metadata, then look the keys up.

Writes `matched.parquet` (one row per report row and record, with Salesforce's current values),
the unmatched and ambiguous rows, and the describe result for the upsert step.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from include.walkme_sync.config import IntegrationConfig
from include.walkme_sync.config.catalog import load_catalog
from include.walkme_sync.config.online import check_against_describe
from include.walkme_sync.errors import ConfigurationError, DataValidationError
from include.walkme_sync.frames import ROW, Bucket
from include.walkme_sync.keys import key_array, normalize_keys
from include.walkme_sync.metadata import FieldInfo, ObjectInfo
from include.walkme_sync.reconcile.pairing import MatchResult, keys_index, pair_rows
from include.walkme_sync.reconcile.relations import (
    ParentMatch,
    add_creations,
    attach_parents,
    planned_mappings,
)
from include.walkme_sync.salesforce.client import SalesforceSession, connect
from include.walkme_sync.salesforce.describe import describe_object
from include.walkme_sync.salesforce.lookup import LOOKUP_BULK_THRESHOLD, lookup_frame
from include.walkme_sync.steps.context import (
    DESCRIBE,
    MATCHED,
    OUTCOME_FILES,
    VALIDATED,
    RunContext,
    Step,
    api_call_journal,
)
from include.walkme_sync.storage import (
    column_names,
    read_frame,
    read_json,
    write_frame,
    write_json,
)

log = logging.getLogger(__name__)


@dataclass
class MatchSummary:
    """Counts of the match step (small: goes through XCom)."""

    rows: int
    matched_rows: int
    matched_records: int
    unmatched: int
    ambiguous: int
    match_rate: float
    api_calls: int
    #: The org's daily API usage after this step, "used/limit" (Sforce-Limit-Info); the Sync
    #: report shows it even for a dry run, whose upsert step sends nothing.
    daily_api_usage: str | None = None


def match_step(ctx: RunContext) -> dict[str, Any]:
    """Describe and check the object, look up every key, pair rows with records."""
    config = ctx.integration
    session = connect(
        config.conn_id,
        timeout=config.write.request_timeout_seconds,
        journal=api_call_journal(ctx, Step.MATCH),
    )
    info = describe_and_check(session, config)
    save_describe(ctx, info)
    validated = read_validated(ctx)
    rows = len(validated)
    # Current values as Arrow text: `matched.parquet` reads back the same, the step holds less.
    # Validation left no two rows with the same key (`matching.duplicate_report_keys`). The
    # normalised key is kept only where a later step reads it (see `keeps_keys`).
    result = match_rows(
        session,
        config,
        validated,
        arrow_current=True,
        distinct_keys=True,
        with_keys=keeps_keys(config),
    )
    if config.creates_records or config.lookups:
        result = relate_rows(session, config, info, validated, result)
    del validated  # the matched rows hold what is kept of it
    write_frame(ctx.path(OUTCOME_FILES[Step.MATCH]), result.outcomes)
    write_frame(ctx.path(MATCHED), result.matched, rows_of_report=True)

    matched_rows = distinct_rows(result.matched["__row"])
    match_rate = matched_rows / rows if rows else 1.0
    summary = asdict(
        MatchSummary(
            rows=rows,
            matched_rows=matched_rows,
            matched_records=len(result.matched),
            unmatched=int((result.outcomes["bucket"] == Bucket.UNMATCHED).sum()),
            ambiguous=int((result.outcomes["bucket"] == Bucket.AMBIGUOUS).sum()),
            match_rate=round(match_rate, 4),
            api_calls=session.meter.calls,
            daily_api_usage=(
                None
                if session.meter.daily_limit is None
                else f"{session.meter.daily_used}/{session.meter.daily_limit}"
            ),
        )
    )
    log.info("Match: %s", json.dumps(summary))
    minimum = config.thresholds.min_match_rate
    if match_rate < minimum:
        raise DataValidationError(
            f"Integration '{config.id}': only {match_rate:.1%} of report rows matched a "
            f"{config.object.name} record, below thresholds.min_match_rate={minimum:.0%}. "
            "Nothing was written.",
            action="Check that the report's key column and the object's key field hold the same "
            "identifiers (e.g. both e-mails), then run again.",
            summary=summary,
        )
    return summary


def read_validated(ctx: RunContext) -> pd.DataFrame:
    """The validated rows, only the report columns matching and the later steps read (the key,
    the mapped and lookup columns; a report may hold many others), in the file's order."""
    config = ctx.integration
    wanted = {ROW, config.report.key_column}
    wanted |= {mapping.column for mapping in config.mappings}
    wanted |= {lookup.column for lookup in config.lookups}
    path = ctx.path(VALIDATED)
    return read_frame(path, columns=[name for name in column_names(path) if name in wanted])


def keeps_keys(config: IntegrationConfig) -> bool:
    """Whether the matched rows need their normalised key (`__key`): a record to create is
    named by it (upsert), a row dropped for its lookup is reported with it (`relate_rows`).
    Otherwise no step reads it, and a million keys are neither decoded nor written."""
    return config.creates_records or bool(config.lookups)


def match_rows(
    session: SalesforceSession,
    config: IntegrationConfig,
    frame: pd.DataFrame,
    *,
    bulk_threshold: int = LOOKUP_BULK_THRESHOLD,
    arrow_current: bool = False,
    distinct_keys: bool = False,
    with_keys: bool = True,
) -> MatchResult:
    """Look up every report row's key and pair the row with its record(s) (`arrow_current`:
    see `reconcile.pairing.current_values`; `distinct_keys`: no two rows have the same key, as
    after validation, see `reconcile.pairing.keys_index`; `with_keys`: the matched rows keep
    their normalised key, `__key`)."""
    kind = config.report.key_kind
    # Lookup fields too: their current values (parent Ids) are diffed like mapped fields.
    fields = list(dict.fromkeys(m.field for m in planned_mappings(config).mappings))
    keys = keys_index(key_array(frame[config.report.key_column], kind), distinct=distinct_keys)
    # The records go straight to `pair_rows` (no name here holds them): it lets each column go
    # once paired.
    return pair_rows(
        config,
        frame,
        keys,
        find_records(session, config, keys, fields, bulk_threshold),
        fields,
        arrow_current=arrow_current,
        with_keys=with_keys,
    )


def find_records(
    session: SalesforceSession,
    config: IntegrationConfig,
    keys: pa.Array,
    fields: list[str],
    bulk_threshold: int,
) -> pd.DataFrame:
    """The object's records with these keys (`lookup_frame`), without the key field's raw
    values unless mapped: only the normalised `__key` is paired."""
    found = lookup_frame(
        session,
        config.object.name,
        config.object.key_field,
        keys,  # nulls and repeats are dropped there
        fields,
        key_kind=config.report.key_kind,
        bulk_threshold=bulk_threshold,
    )
    key_field = config.object.key_field
    if key_field != "Id" and key_field not in fields:
        found = found.drop(columns=[key_field])
    return found


def distinct_rows(rows: pd.Series) -> int:
    """How many report rows the matched rows come from (`nunique`). Rows kept in report order
    (the usual case: one record per row) are distinct when each number is above the one before:
    one comparison of neighbours instead of a hash table."""
    if len(rows) < 2:
        return int(rows.notna().sum())
    if rows.dtype == np.int64:
        values = rows.to_numpy()
        if bool((values[1:] > values[:-1]).all()):
            return len(values)
    return int(rows.nunique())


def relate_rows(
    session: SalesforceSession,
    config: IntegrationConfig,
    info: ObjectInfo,
    frame: pd.DataFrame,
    result: MatchResult,
) -> MatchResult:
    """Upsert mode: unmatched rows become records to create. Lookups: each row's parent record
    is found by its key (rows whose parent is missing or ambiguous leave the matched rows)."""
    matched, outcomes = result.matched, result.outcomes
    if config.creates_records:
        matched, outcomes = add_creations(config, matched, outcomes, frame)
    for index, lookup in enumerate(config.lookups):
        parent = parent_object(config, info, index)
        parent_info = describe_object(session, parent)
        check_parent_key(config, index, parent_info)
        keys = normalize_keys(matched[lookup.column], lookup.key_kind)
        found = lookup_frame(
            session, parent, lookup.parent_field, keys, [], key_kind=lookup.key_kind
        )
        matched, missing = attach_parents(matched, ParentMatch(lookup, parent, keys, found))
        outcomes = pd.concat([outcomes, missing], ignore_index=True)
    return MatchResult(matched=matched, outcomes=outcomes)


def parent_object(config: IntegrationConfig, info: ObjectInfo, index: int) -> str:
    """The object lookups[index] points at, from the lookup field's describe (`referenceTo`)."""
    lookup = config.lookups[index]
    described = info.field(lookup.field)
    if described is None or described.type != "reference" or not described.reference_to:
        raise ConfigurationError(
            f"{config.source_file}: lookups[{index}].field: {info.name}.{lookup.field} is not a "
            "lookup (reference) field.",
            action="Name a lookup or master-detail field of the object, e.g. Contact__c.",
        )
    return described.reference_to[0]


def check_parent_key(config: IntegrationConfig, index: int, parent: ObjectInfo) -> None:
    """Relationship syntax needs the parent's key to be an External ID or idLookup field."""
    lookup = config.lookups[index]
    described = parent.field(lookup.parent_field)
    if described is None or not (described.external_id or described.id_lookup):
        raise ConfigurationError(
            f"{config.source_file}: lookups[{index}].parent_field: {parent.name}."
            f"{lookup.parent_field} "
            + ("does not exist" if described is None else "is not an External ID field")
            + "; Salesforce can only find a parent by an External ID (or idLookup) field.",
            action=f"Use an External ID field of {parent.name} (or Email on Contact and Lead), "
            "or ask the Salesforce admin to mark the field External ID.",
        )


def describe_and_check(session: SalesforceSession, config: IntegrationConfig) -> ObjectInfo:
    """Online validation: every mapped field exists, is updateable and fits the column type."""
    info = describe_object(session, config.object.name)
    report = load_catalog().get(config.report.name)
    columns = {column.name: column.type for column in report.columns}
    problems = [p for p in check_against_describe(config, columns, info) if p.severity == "error"]
    if problems:
        listing = "\n".join(f"  - {problem}" for problem in problems)
        raise ConfigurationError(
            f"Integration '{config.id}' does not fit {config.object.name} in the org behind "
            f"connection '{config.conn_id}':\n{listing}\nNothing was written."
        )
    return info


def save_describe(ctx: RunContext, info: ObjectInfo) -> None:
    """Keep the describe result so `upsert` need not spend another API call on it."""
    write_json(ctx.path(DESCRIBE), asdict(info))


def load_describe(ctx: RunContext) -> ObjectInfo:
    """The describe result the match step of this run saved."""
    raw = read_json(ctx.path(DESCRIBE))
    if raw is None:
        raise ConfigurationError(
            f"The describe result {ctx.path(DESCRIBE)} of this run is missing.",
            action="Clear the match_keys task (and the later ones) to run them again.",
        )
    fields = {
        name: FieldInfo(
            **{
                **spec,
                "picklist_values": tuple(spec.get("picklist_values") or ()),
                "reference_to": tuple(spec.get("reference_to") or ()),
            }
        )
        for name, spec in raw["fields"].items()
    }
    return ObjectInfo(**{**raw, "fields": fields})

"""Creations and lookups (pure: frames in, frames out), for `write.mode: upsert` and `lookups`.

* **Creations.** Under upsert a report row whose key has no record is not `unmatched`: it becomes a
  matched row of a record to create, with a placeholder Id (`new:<row>`) and no current values, so
  the planner sends every value it has. Salesforce's upsert on the key field creates the record.
* **Lookups.** A lookup field (e.g. `Contact__c`) is set from a report column by the parent's key
  (e.g. the Contact's Email), matched with the same rules as the main key: no parent leaves the row
  `unmatched` (or, with `missing: leave_empty`, is written without the lookup), several make it
  `ambiguous`, naming the lookup. A row with an empty lookup column leaves the field as it is.
  The resolved parent Id feeds the diff (the record's current value is an Id); an upsert names
  the parent by its key through relationship syntax (`Contact__r.Email`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from include.walkme_sync.config import IntegrationConfig, LookupConfig, MappingConfig
from include.walkme_sync.errors import ConfigurationError
from include.walkme_sync.frames import (
    CURRENT_PREFIX,
    KEY,
    OUTCOME_COLUMNS,
    Bucket,
    object_values,
    outcome_frame,
)
from include.walkme_sync.keys import normalize_keys
from include.walkme_sync.metadata import FieldInfo, ObjectInfo, WireValue
from include.walkme_sync.reconcile.coerce import ValueRejected, coerce_for_field
from include.walkme_sync.reconcile.plan import PlanResult
from include.walkme_sync.records import WriteResult

#: Placeholder Id of a record to create: `new:<report row>` (never a Salesforce Id: has a colon).
NEW_RECORD_PREFIX = "new:"
#: Matched frame: the resolved parent Id of lookup field F is in `__lookup__F`, and the parent's
#: own key value (as Salesforce stores it) in `__parent_key__F`.
LOOKUP_PREFIX = "__lookup__"
PARENT_KEY_PREFIX = "__parent_key__"
PARENT_IDS_SHOWN = 5


def is_new_record(record_id: str) -> bool:
    """True for the placeholder Id of a record the sync will create."""
    return record_id.startswith(NEW_RECORD_PREFIX)


def add_creations(
    config: IntegrationConfig, matched: pd.DataFrame, outcomes: pd.DataFrame, frame: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Turn the `unmatched` rows into rows of records to create (upsert mode).

    `frame` is the validated report (with `__row`); the returned matched frame has one more row
    per creation, with a placeholder Id and null current values.
    """
    unmatched = outcomes["bucket"] == Bucket.UNMATCHED
    rows = set(outcomes.loc[unmatched, "__row"].astype(int).tolist())
    if not rows:
        return matched, outcomes
    new = frame[frame["__row"].astype(int).isin(rows)].copy()
    new.insert(1, KEY, pd.Series(matched_keys(config, new), index=new.index, dtype="string"))
    new["Id"] = pd.Series(
        [f"{NEW_RECORD_PREFIX}{int(row)}" for row in new["__row"]], index=new.index, dtype="string"
    )
    for column in matched.columns:
        if column.startswith(CURRENT_PREFIX):
            new[column] = pd.Series([None] * len(new), index=new.index, dtype=object)
    combined = pd.concat([matched, new[list(matched.columns)]], ignore_index=True)
    return combined, outcomes[~unmatched].reset_index(drop=True)


def matched_keys(config: IntegrationConfig, frame: pd.DataFrame) -> np.ndarray:
    """The normalised key of each report row (as the match step computes it)."""
    return normalize_keys(frame[config.report.key_column], config.report.key_kind)


@dataclass(frozen=True)
class ParentMatch:
    """A lookup's parents: `keys` (normalised key per matched row) and the parent records found
    (`found`: `__key`, `Id` and the parent's key field, as `salesforce.lookup.lookup_frame`)."""

    lookup: LookupConfig
    parent_object: str
    keys: np.ndarray
    found: pd.DataFrame


def attach_parents(
    matched: pd.DataFrame, parents: ParentMatch
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Add the lookup's parent Id and parent key to `matched`; rows whose parent is missing or
    ambiguous leave `matched` and come back as outcome rows (unmatched / ambiguous)."""
    lookup = parents.lookup
    groups: dict[str, list[tuple[str, object]]] = {}
    for key, record_id, value in zip(
        object_values(parents.found[KEY]).tolist(),
        object_values(parents.found["Id"]).tolist(),
        object_values(parents.found[lookup.parent_field]).tolist(),
        strict=True,
    ):
        groups.setdefault(key, []).append((str(record_id), value))
    ids: list[object] = []
    values: list[object] = []
    drop: list[int] = []
    buckets: list[str] = []
    reasons: list[str] = []
    what = f"{parents.parent_object} ({lookup.field} from '{lookup.column}')"
    for position, key in enumerate(parents.keys.tolist()):
        found = groups.get(key, []) if key is not None else None
        if found is None or (not found and lookup.missing == "leave_empty"):
            # An empty lookup column, or no parent where that is allowed: the field is left
            # as it is.
            ids.append(None)
            values.append(None)
        elif len(found) == 1:
            ids.append(found[0][0])
            values.append(found[0][1])
        else:
            ids.append(None)
            values.append(None)
            drop.append(position)
            if found:
                shown = ", ".join(i for i, _ in found[:PARENT_IDS_SHOWN])
                buckets.append(Bucket.AMBIGUOUS)
                reasons.append(
                    f"{len(found)} {what} records have this {lookup.parent_field}: {shown}"
                )
            else:
                buckets.append(Bucket.UNMATCHED)
                reasons.append(f"no {what} record has this {lookup.parent_field}")
    result = matched.copy()
    result[LOOKUP_PREFIX + lookup.field] = pd.Series(ids, index=result.index, dtype=object)
    result[PARENT_KEY_PREFIX + lookup.field] = pd.Series(values, index=result.index, dtype=object)
    dropped = result.iloc[drop]
    outcomes = pd.concat(
        [
            outcome_frame(
                rows=dropped["__row"].tolist()[i : i + 1],
                keys=dropped[KEY].tolist()[i : i + 1],
                bucket=bucket,
                reasons=[reason],
                error_codes=["MULTIPLE_RECORDS"] if bucket == Bucket.AMBIGUOUS else None,
            )
            for i, (bucket, reason) in enumerate(zip(buckets, reasons, strict=True))
        ]
        or [outcome_frame(rows=[], keys=[], bucket=Bucket.UNMATCHED)],
        ignore_index=True,
    )[OUTCOME_COLUMNS]
    kept = result.drop(index=result.index[drop]).reset_index(drop=True)
    return kept, outcomes


#: Matched frame: a 0-1 percentage column C scaled to 0-100 is in `__percent__C`.
SCALED_PREFIX = "__percent__"


def planned_mappings(config: IntegrationConfig) -> IntegrationConfig:
    """The config the planner sees: each lookup is one more mapping, from its parent-Id column,
    and a mapping of a 0-1 percentage reads the column scaled to 0-100 (`scale_percentages`)."""
    if not config.lookups and all(m.percent_scale == "0-100" for m in config.mappings):
        return config
    mappings = [
        m.model_copy(update={"column": SCALED_PREFIX + m.column, "percent_scale": "0-100"})
        if m.percent_scale == "0-1"
        else m
        for m in config.mappings
    ]
    extra = [
        MappingConfig(column=LOOKUP_PREFIX + lookup.field, field=lookup.field)
        for lookup in config.lookups
    ]
    return config.model_copy(update={"mappings": [*mappings, *extra]})


def scale_percentages(config: IntegrationConfig, matched: pd.DataFrame) -> pd.DataFrame:
    """Add the 0-100 copy of each column a mapping states as 0-1 (`percent_scale: 0-1`)."""
    columns = {m.column for m in config.mappings if m.percent_scale == "0-1"}
    if not columns:
        return matched
    matched = matched.copy()
    for column in columns:
        matched[SCALED_PREFIX + column] = pd.to_numeric(matched[column], errors="coerce") * 100
    return matched


def prepare_writes(
    config: IntegrationConfig, info: ObjectInfo, matched: pd.DataFrame, plan: PlanResult
) -> None:
    """Complete the plan's changes for Salesforce's upsert (in place).

    Every change carries the record's external id value (the key); a record to create gets the
    defaults its mappings do not set; a lookup value becomes relationship syntax naming the
    parent by its key (`Contact__r.Email`), not by a copied Id. In update mode lookups are sent
    as the parent's Id (the update writer names records by Id). The plan is marked as holding
    fields beyond its mappings, so its reasons are read from the completed changes.
    """
    if not config.creates_records:
        return
    plan.fields_extended = True
    # Completed in place: one `RecordChange` (and dict) per change, as an upsert sends them.
    plan.changes = changes = list(plan.changes)
    position = {record_id: at for at, record_id in enumerate(matched["Id"].tolist())}
    keys = matched[KEY].tolist()
    key_field = _described(info, config.object.key_field).name
    defaults = coerced_defaults(config, info)
    relationships = []
    for lookup in config.lookups:
        described = _described(info, lookup.field)
        column = (described.relationship_name or "") + "." + lookup.parent_field
        parent_keys = matched[PARENT_KEY_PREFIX + lookup.field].tolist()
        relationships.append((described.name, column, parent_keys))
    for change in changes:
        at = position[change.record_id]
        if is_new_record(change.record_id):
            for name, value in defaults.items():
                change.fields.setdefault(name, value)
        for name, column, parent_keys in relationships:
            if change.fields.get(name) is not None:
                del change.fields[name]
                change.fields[column] = parent_keys[at]
        change.fields[key_field] = keys[at]


def coerced_defaults(config: IntegrationConfig, info: ObjectInfo) -> dict[str, WireValue]:
    """`write.defaults` as wire values of their fields; a value the field cannot take is a
    configuration error naming it."""
    values: dict[str, WireValue] = {}
    for name, value in config.write.defaults.items():
        described = _described(info, name)
        try:
            values[described.name] = coerce_for_field(value, described)
        except ValueRejected as rejected:
            raise ConfigurationError(
                f"{config.source_file}: write.defaults.{name}: {rejected}",
                action=f"Give {info.name}.{described.name} a value it accepts.",
            ) from None
    return values


def _described(info: ObjectInfo, name: str) -> FieldInfo:
    described = info.field(name)
    if described is None:
        raise ConfigurationError(f"{info.name} has no field '{name}'.")
    return described


def settle_creations(
    outcomes: pd.DataFrame, results: dict[str, WriteResult], *, dry_run: bool
) -> pd.DataFrame:
    """Outcome rows of records to create: the new record's Id instead of the placeholder, and
    a reason that says `created`. A creation with no value to write is rejected, not dropped."""
    new = outcomes["record_id"].fillna("").str.startswith(NEW_RECORD_PREFIX)
    if not new.any():
        return outcomes
    outcomes = outcomes.copy()
    for index in outcomes.index[new]:
        result = results.get(str(outcomes.at[index, "record_id"]))
        bucket = outcomes.at[index, "bucket"]
        reason = str(outcomes.at[index, "reason"] or "")
        outcomes.at[index, "record_id"] = None
        if bucket == Bucket.UNCHANGED:
            outcomes.at[index, "bucket"] = Bucket.REJECTED.value
            outcomes.at[index, "reason"] = (
                "no record to update and every mapped value is empty: nothing to create"
            )
        elif bucket == Bucket.WOULD_WRITE:
            outcomes.at[index, "reason"] = reason.replace("would update", "would create with", 1)
        elif result is not None and result.created:
            outcomes.at[index, "record_id"] = result.created_id
            outcomes.at[index, "reason"] = reason.replace("updated", "created with", 1)
    return outcomes

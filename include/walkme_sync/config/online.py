"""Online config checks: an integration against the target object's describe metadata.

Offline validation cannot know the org: here every mapped field must exist, be updateable and take
the report column's type; the key field must be filterable. Runs in the match step before any write.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from include.walkme_sync.config.models import IntegrationConfig
from include.walkme_sync.config.problems import ConfigProblem
from include.walkme_sync.metadata import FREE_TEXT_TYPES, ObjectInfo

# Report column type (catalog) -> describe field types it can be written to without losing meaning.
COMPATIBLE_FIELD_TYPES: dict[str, frozenset[str]] = {
    "string": FREE_TEXT_TYPES | {"picklist", "multipicklist", "phone", "url", "email"},
    "email": FREE_TEXT_TYPES | {"email"},
    "guid": FREE_TEXT_TYPES,
    "integer": FREE_TEXT_TYPES | {"int", "long", "double", "currency", "percent"},
    "number": FREE_TEXT_TYPES | {"double", "currency", "percent", "int", "long"},
    "percent": FREE_TEXT_TYPES | {"percent", "double"},
    "boolean": FREE_TEXT_TYPES | {"boolean"},
    "date": FREE_TEXT_TYPES | {"date", "datetime"},
    "datetime": FREE_TEXT_TYPES | {"datetime", "date"},
}
# Allowed, but values can be rejected row by row: worth a warning.
_LOSSY_PAIRS = frozenset(
    {
        ("number", "int"),
        ("number", "long"),
        ("datetime", "date"),
        ("string", "picklist"),
        ("string", "multipicklist"),
        ("string", "email"),
        ("string", "phone"),
        ("string", "url"),
    }
)


def check_against_describe(
    config: IntegrationConfig, catalog_columns: Mapping[str, str], info: ObjectInfo
) -> list[ConfigProblem]:
    """Online validation of `config` against the target object's describe metadata.

    `catalog_columns` maps each report column to its catalog type. Returns every problem found
    (errors and warnings), each naming the integration file and the config path.
    """
    file = _config_file(config)
    problems: list[ConfigProblem] = []

    def problem(
        path: str, message: str, hint: str, severity: Literal["error", "warning"] = "error"
    ) -> None:
        problems.append(
            ConfigProblem(file=file, path=path, message=message, hint=hint, severity=severity)
        )

    if not info.updateable:
        problem(
            "object.name",
            f"Object {info.name} cannot be updated by the connection's user.",
            "Ask the Salesforce admin for edit access to the object.",
        )

    key_field = info.field(config.object.key_field)
    if key_field is None:
        problem(
            "object.key_field",
            f"{info.name} has no field '{config.object.key_field}'.",
            _did_you_mean(info, config.object.key_field),
        )
    elif not key_field.filterable:
        problem(
            "object.key_field",
            f"{info.name}.{key_field.name} cannot be used in a query filter (not filterable), "
            "so records cannot be matched on it.",
            "Pick a filterable identifier field such as Email or an External ID field.",
        )

    if config.creates_records:
        _creation_problems(config, info, problem)

    for index, mapping in enumerate(config.mappings):
        path = f"mappings[{index}].field"
        target = info.field(mapping.field)
        if target is None:
            problem(
                path,
                f"{info.name} has no field '{mapping.field}'.",
                _did_you_mean(info, mapping.field) + " Ask the Salesforce admin to create it "
                "if it is new (custom fields end in __c).",
            )
            continue
        if not target.updateable or target.calculated:
            problem(
                path,
                f"{info.name}.{target.name} ({target.label}) cannot be updated "
                "(read-only, formula or system field, or no edit permission).",
                "Map the column to an updateable field, or ask the admin for edit access.",
            )
        column_type = catalog_columns.get(mapping.column)
        if column_type is None:
            continue  # unknown columns are reported by the offline validation
        allowed = COMPATIBLE_FIELD_TYPES.get(column_type, FREE_TEXT_TYPES)
        if target.type not in allowed:
            problem(
                path,
                f"Column '{mapping.column}' ({column_type}) cannot be written to "
                f"{info.name}.{target.name}, a {target.type} field.",
                f"Map it to a field of type {', '.join(sorted(allowed))}.",
            )
        elif (column_type, target.type) in _LOSSY_PAIRS:
            problem(
                path,
                f"Column '{mapping.column}' ({column_type}) goes into "
                f"{info.name}.{target.name}, a {target.type} field: values that do not fit "
                "will be rejected row by row.",
                "Check that the report's values fit the field.",
                severity="warning",
            )
        if mapping.null_policy == "clear" and not target.nillable and target.type != "boolean":
            problem(
                f"mappings[{index}].null_policy",
                f"{info.name}.{target.name} is required, so it cannot be cleared.",
                "Use null_policy: skip for this mapping.",
            )
    return problems


def _creation_problems(config: IntegrationConfig, info: ObjectInfo, problem: Any) -> None:
    """write.mode: upsert creates records: the key must be an External ID field, and every
    field Salesforce requires on a new record must come from a mapping, a lookup or a default."""
    if not info.createable:
        problem(
            "write.mode",
            f"Records of {info.name} cannot be created by the connection's user.",
            "Ask the Salesforce admin for create access, or use write.mode: update.",
        )
    key = info.field(config.object.key_field)
    if key is not None and not key.external_id and key.type != "id":
        problem(
            "object.key_field",
            f"write.mode is upsert but {info.name}.{key.name} is not an External ID field, so "
            "Salesforce cannot upsert on it.",
            "Pick an External ID field (Setup > Object Manager > Fields: 'External ID' "
            "checked, ideally 'Unique' too), or use write.mode: update.",
        )
    given = {config.object.key_field.casefold()}
    given |= {m.field.casefold() for m in config.mappings}
    given |= {lookup.field.casefold() for lookup in config.lookups}
    given |= {name.casefold() for name in config.write.defaults}
    missing = [
        f.name
        for f in info.fields.values()
        if f.required_on_create and f.name.casefold() not in given
    ]
    if missing:
        problem(
            "mappings",
            f"write.mode is upsert and {info.name} requires {', '.join(missing)} on a new record, "
            "but no mapping, lookup or default sets "
            + ("it" if len(missing) == 1 else "them")
            + ".",
            f"Map a report column to {missing[0]}, or add write.defaults: {{{missing[0]}: ...}}.",
        )
    for name in config.write.defaults:
        target = info.field(name)
        if target is None:
            problem(
                f"write.defaults.{name}",
                f"{info.name} has no field '{name}'.",
                _did_you_mean(info, name),
            )
        elif not target.createable:
            problem(
                f"write.defaults.{name}",
                f"{info.name}.{target.name} cannot be set on a new record (not createable).",
                "Remove the default, or ask the admin for edit access to the field.",
            )
    for index, lookup in enumerate(config.lookups):
        target = info.field(lookup.field)
        if target is None or target.type != "reference":
            problem(
                f"lookups[{index}].field",
                f"{info.name}.{lookup.field} is not a lookup field of {info.name}.",
                _did_you_mean(info, lookup.field) + " A lookup sets a reference field "
                "(e.g. Contact__c).",
            )


def _did_you_mean(info: ObjectInfo, name: str) -> str:
    close = info.close_names(name)
    if close:
        return f"Did you mean {' or '.join(close)}?"
    return "Check the field's API name in Setup > Object Manager > Fields & Relationships."


def _config_file(config: Any) -> str:
    for attribute in ("source_file", "file", "path", "source"):
        value = getattr(config, attribute, None)
        if value:
            return str(value)
    return f"{getattr(config, 'id', 'integration')}.yaml"

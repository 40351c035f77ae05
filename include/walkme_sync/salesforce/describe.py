"""Describe metadata of a Salesforce object, and online validation of an integration against it."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from include.walkme_sync.errors import ConfigurationError
from include.walkme_sync.salesforce.errors import translate

if TYPE_CHECKING:
    from include.walkme_sync.config import ConfigProblem, IntegrationConfig
    from include.walkme_sync.salesforce.client import SalesforceSession

_API_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class FieldInfo:
    """What the sync needs to know about one field, from the object's describe result."""

    name: str
    label: str
    type: str
    length: int = 0
    precision: int = 0
    scale: int = 0
    digits: int = 0
    updateable: bool = False
    createable: bool = False
    nillable: bool = True
    filterable: bool = True
    external_id: bool = False
    id_lookup: bool = False
    unique: bool = False
    picklist_values: tuple[str, ...] = ()
    restricted_picklist: bool = False
    calculated: bool = False

    @classmethod
    def from_describe(cls, raw: dict[str, Any]) -> FieldInfo:
        """Build from one entry of the describe result's `fields` list."""
        return cls(
            name=str(raw["name"]),
            label=str(raw.get("label") or raw["name"]),
            type=str(raw.get("type", "string")).lower(),
            length=int(raw.get("length") or 0),
            precision=int(raw.get("precision") or 0),
            scale=int(raw.get("scale") or 0),
            digits=int(raw.get("digits") or 0),
            updateable=bool(raw.get("updateable", False)),
            createable=bool(raw.get("createable", False)),
            nillable=bool(raw.get("nillable", True)),
            filterable=bool(raw.get("filterable", True)),
            external_id=bool(raw.get("externalId", False)),
            id_lookup=bool(raw.get("idLookup", False)),
            unique=bool(raw.get("unique", False)),
            picklist_values=tuple(
                str(p["value"]) for p in raw.get("picklistValues") or () if p.get("active", True)
            ),
            restricted_picklist=bool(raw.get("restrictedPicklist", False)),
            calculated=bool(raw.get("calculated", False)),
        )


@dataclass(frozen=True)
class ObjectInfo:
    """An object's describe metadata: fields by exact API name."""

    name: str
    label: str
    fields: dict[str, FieldInfo] = field(default_factory=dict)
    updateable: bool = True

    def field(self, name: str) -> FieldInfo | None:
        """Field by API name, case-insensitively (Salesforce API names are case-insensitive)."""
        exact = self.fields.get(name)
        if exact is not None:
            return exact
        lowered = name.lower()
        for candidate in self.fields.values():
            if candidate.name.lower() == lowered:
                return candidate
        return None

    def close_names(self, name: str, n: int = 3) -> list[str]:
        """Field names that look like `name` (for "did you mean" hints)."""
        by_lower = {f.lower(): f for f in self.fields}
        matches = difflib.get_close_matches(name.lower(), list(by_lower), n=n, cutoff=0.6)
        return [by_lower[m] for m in matches]


def describe_object(session: SalesforceSession, object_name: str) -> ObjectInfo:
    """Fetch `object_name`'s describe metadata (one API call).

    An unknown object, or one the connection's user cannot see, raises `ConfigurationError`.
    """
    if not _API_NAME.match(object_name):
        raise ConfigurationError(
            f"'{object_name}' is not a valid Salesforce object API name.",
            action="Use the object's API name, e.g. Lead, Contact or WalkMe_User__c.",
        )
    try:
        raw = session.sf.restful(f"sobjects/{object_name}/describe")
    except Exception as exc:
        if getattr(exc, "status", None) == 404 or "INVALID_TYPE" in str(
            getattr(exc, "content", "")
        ):
            raise ConfigurationError(
                f"Salesforce object '{object_name}' does not exist in the org behind connection "
                f"'{session.conn_id}', or the connection's user is not allowed to see it.",
                action=(
                    "Check the object's API name in the integration's YAML (custom objects end in "
                    "__c) and ask the Salesforce admin to grant the integration user access to it."
                ),
            ) from None
        raise translate(exc, conn_id=session.conn_id, object_name=object_name) from None
    fields = {f.name: f for f in (FieldInfo.from_describe(item) for item in raw.get("fields", []))}
    return ObjectInfo(
        name=str(raw.get("name", object_name)),
        label=str(raw.get("label", object_name)),
        fields=fields,
        updateable=bool(raw.get("updateable", True)),
    )


# Report column type (catalog) -> describe field types it can be written to without losing meaning.
_TEXT_TYPES = frozenset({"string", "textarea", "combobox", "encryptedstring"})
COMPATIBLE_FIELD_TYPES: dict[str, frozenset[str]] = {
    "string": _TEXT_TYPES | {"picklist", "multipicklist", "phone", "url", "email"},
    "email": _TEXT_TYPES | {"email"},
    "guid": _TEXT_TYPES,
    "integer": _TEXT_TYPES | {"int", "long", "double", "currency", "percent"},
    "number": _TEXT_TYPES | {"double", "currency", "percent", "int", "long"},
    "percent": _TEXT_TYPES | {"percent", "double"},
    "boolean": _TEXT_TYPES | {"boolean"},
    "date": _TEXT_TYPES | {"date", "datetime"},
    "datetime": _TEXT_TYPES | {"datetime", "date"},
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
    from include.walkme_sync.config import ConfigProblem

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
        allowed = COMPATIBLE_FIELD_TYPES.get(column_type, _TEXT_TYPES)
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

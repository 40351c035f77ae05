"""An object's describe metadata as the sync uses it: fields, types, permissions.

Pure data (no I/O): ``salesforce.describe`` fetches it; config checks, coercion and planning
read it.
The field-type groups below are the one place that says which describe types hold text.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

#: Describe types of free-text fields: any text fits (up to the field's length).
FREE_TEXT_TYPES = frozenset({"string", "textarea", "combobox", "encryptedstring"})
#: Describe types whose values travel as text and are checked as text (length, picklist...).
TEXT_TYPES = FREE_TEXT_TYPES | {"phone", "url", "picklist", "multipicklist"}
NUMBER_TYPES = frozenset({"double", "currency", "percent"})
INTEGER_TYPES = frozenset({"int", "long"})

#: A value as it goes to Salesforce (JSON scalar); None clears the field.
WireValue = str | int | float | bool | None


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
    defaulted_on_create: bool = False
    #: Lookups: the parent object(s) and the relationship name (`Contact__r`).
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None

    @property
    def required_on_create(self) -> bool:
        """Must be given when a record is created (what Setup calls a required field)."""
        return (
            self.createable
            and not self.nillable
            and not self.defaulted_on_create
            and self.type != "boolean"
            and not self.calculated
        )

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
            defaulted_on_create=bool(raw.get("defaultedOnCreate", False)),
            reference_to=tuple(str(t) for t in raw.get("referenceTo") or ()),
            relationship_name=raw.get("relationshipName"),
        )


@dataclass(frozen=True)
class ObjectInfo:
    """An object's describe metadata: fields by exact API name."""

    name: str
    label: str
    fields: dict[str, FieldInfo] = field(default_factory=dict)
    updateable: bool = True
    createable: bool = True

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

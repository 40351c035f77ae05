"""Object and field metadata of the emulated org, loaded from ``schema/*.yaml``.

A schema file describes one object with the same key names a real describe uses (``createable``,
``externalId``, ``precision`` ...), so adding an object or a field is an edit of a YAML file. Keys
that are not given get the value Salesforce would report for a field of that type; ``required:
true`` is a shorthand for a non-nillable field without default. The only emulator-specific key is
``compute`` on calculated fields (see ``FieldSchema.compute``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SCHEMA_FOLDER = Path(__file__).parent / "schema"

TEXT_TYPES = frozenset(
    {"string", "textarea", "email", "phone", "url", "picklist", "multipicklist", "combobox"}
)
ID_TYPES = frozenset({"id", "reference"})
DECIMAL_TYPES = frozenset({"double", "percent", "currency"})
INTEGER_TYPES = frozenset({"int", "long"})

_SOAP_TYPES = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "boolean": "xsd:boolean",
    "int": "xsd:int",
    "long": "xsd:long",
    "double": "xsd:double",
    "percent": "xsd:double",
    "currency": "xsd:double",
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
    "time": "xsd:time",
    "base64": "xsd:base64Binary",
}
# Salesforce cannot GROUP BY these types.
_NOT_GROUPABLE = frozenset({"double", "percent", "currency", "datetime", "textarea", "base64"})
# Bytes per character that describe reports in byteLength for text fields.
_BYTES_PER_CHAR = 3


@dataclass(frozen=True)
class PicklistValue:
    value: str
    label: str
    active: bool = True
    default: bool = False

    def describe(self) -> dict[str, Any]:
        return {
            "active": self.active,
            "defaultValue": self.default,
            "label": self.label,
            "validFor": None,
            "value": self.value,
        }


@dataclass(frozen=True)
class FieldSchema:
    """One field of an object, with the describe attributes the emulator enforces or reports."""

    name: str
    type: str
    label: str
    length: int = 0
    precision: int = 0
    scale: int = 0
    digits: int = 0
    nillable: bool = True
    createable: bool = True
    updateable: bool = True
    defaulted_on_create: bool = False
    default_value: Any = None
    calculated: bool = False
    calculated_formula: str | None = None
    custom: bool = False
    external_id: bool = False
    unique: bool = False
    id_lookup: bool = False
    filterable: bool = True
    sortable: bool = True
    case_sensitive: bool = False
    name_field: bool = False
    html_formatted: bool = False
    picklist_values: tuple[PicklistValue, ...] = ()
    restricted_picklist: bool = False
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    inline_help_text: str | None = None
    # Emulator only: how a calculated field gets its value, e.g. {"join": ["FirstName",
    # "LastName"]} (joined with spaces, blanks skipped) or {"sum": ["A__c", "B__c"]}.
    compute: Mapping[str, Any] | None = None

    @property
    def is_text(self) -> bool:
        return self.type in TEXT_TYPES

    @property
    def required_on_create(self) -> bool:
        """What the describe UI calls "required": must be given when a record is created."""
        return (
            self.createable
            and not self.nillable
            and not self.defaulted_on_create
            and self.type != "boolean"
        )

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> FieldSchema:
        """Build a field from its YAML entry, filling in type-dependent defaults."""
        name = str(spec["name"])
        field_type = str(spec.get("type", "string")).lower()
        calculated = bool(spec.get("calculated", False))
        system = field_type == "id"
        required = bool(spec.get("required", False))
        default_value = spec.get("defaultValue", False if field_type == "boolean" else None)
        picklist = tuple(_picklist_value(v) for v in spec.get("picklistValues", ()) or ())
        picklist_default = next((p.value for p in picklist if p.default), None)
        if picklist_default is not None and default_value is None:
            default_value = picklist_default
        length = int(spec.get("length", 18 if field_type in ID_TYPES else 0))
        if field_type in TEXT_TYPES and not length:
            length = 255
        return cls(
            name=name,
            type=field_type,
            label=str(spec.get("label", _label_from_name(name))),
            length=length,
            precision=int(spec.get("precision", 18 if field_type in DECIMAL_TYPES else 0)),
            scale=int(spec.get("scale", 0)),
            digits=int(spec.get("digits", 9 if field_type == "int" else 0)),
            nillable=bool(
                spec.get("nillable", not (required or system or field_type == "boolean"))
            ),
            createable=bool(spec.get("createable", not (calculated or system))),
            updateable=bool(spec.get("updateable", not (calculated or system))),
            defaulted_on_create=bool(
                spec.get(
                    "defaultedOnCreate",
                    system or field_type == "boolean" or default_value is not None,
                )
            ),
            default_value=default_value,
            calculated=calculated,
            calculated_formula=spec.get("calculatedFormula"),
            custom=bool(spec.get("custom", name.endswith("__c"))),
            external_id=bool(spec.get("externalId", False)),
            unique=bool(spec.get("unique", False)),
            id_lookup=bool(spec.get("idLookup", system or bool(spec.get("externalId", False)))),
            filterable=bool(spec.get("filterable", True)),
            sortable=bool(spec.get("sortable", field_type != "textarea" or length <= 255)),
            case_sensitive=bool(spec.get("caseSensitive", False)),
            name_field=bool(spec.get("nameField", False)),
            html_formatted=bool(spec.get("htmlFormatted", False)),
            picklist_values=picklist,
            restricted_picklist=bool(spec.get("restrictedPicklist", False)),
            reference_to=tuple(spec.get("referenceTo", ()) or ()),
            relationship_name=spec.get("relationshipName"),
            inline_help_text=spec.get("inlineHelpText"),
            compute=spec.get("compute"),
        )

    def describe(self) -> dict[str, Any]:
        """The field as ``GET /sobjects/{Obj}/describe`` lists it (every key a real one has)."""
        text_like = self.is_text or self.type in ID_TYPES
        length = self.length if text_like else 0
        decimal = self.type in DECIMAL_TYPES
        return {
            "aggregatable": self.type not in {"textarea", "base64"},
            "aiPredictionField": False,
            "autoNumber": False,
            "byteLength": length * _BYTES_PER_CHAR if self.is_text else length,
            "calculated": self.calculated,
            "calculatedFormula": self.calculated_formula,
            "cascadeDelete": False,
            "caseSensitive": self.case_sensitive,
            "compoundFieldName": None,
            "controllerName": None,
            "createable": self.createable,
            "custom": self.custom,
            "defaultValue": self.default_value,
            "defaultValueFormula": None,
            "defaultedOnCreate": self.defaulted_on_create,
            "dependentPicklist": False,
            "deprecatedAndHidden": False,
            "digits": self.digits if self.type in INTEGER_TYPES else 0,
            "displayLocationInDecimal": False,
            "encrypted": False,
            "externalId": self.external_id,
            "extraTypeInfo": None,
            "filterable": self.filterable,
            "filteredLookupInfo": None,
            "formulaTreatNullNumberAsZero": False,
            "groupable": self.type not in _NOT_GROUPABLE,
            "highScaleNumber": False,
            "htmlFormatted": self.html_formatted,
            "idLookup": self.id_lookup,
            "inlineHelpText": self.inline_help_text,
            "label": self.label,
            "length": length,
            "mask": None,
            "maskType": None,
            "name": self.name,
            "nameField": self.name_field,
            "namePointing": False,
            "nillable": self.nillable,
            "permissionable": self.custom and self.nillable,
            "picklistValues": [p.describe() for p in self.picklist_values],
            "polymorphicForeignKey": False,
            "precision": self.precision if decimal else 0,
            "queryByDistance": False,
            "referenceTargetField": None,
            "referenceTo": list(self.reference_to),
            "relationshipName": self.relationship_name,
            "relationshipOrder": None,
            "restrictedDelete": False,
            "restrictedPicklist": self.restricted_picklist,
            "scale": self.scale if decimal else 0,
            "searchPrefilterable": False,
            "soapType": _SOAP_TYPES.get(self.type, "xsd:string"),
            "sortable": self.sortable,
            "type": self.type,
            "unique": self.unique,
            "updateable": self.updateable,
            "writeRequiresMasterRead": False,
        }


@dataclass
class ObjectSchema:
    """One sObject: its describe attributes and fields (looked up case-insensitively)."""

    name: str
    label: str
    label_plural: str
    key_prefix: str
    fields: tuple[FieldSchema, ...]
    custom: bool = False
    createable: bool = True
    updateable: bool = True
    deletable: bool = True
    queryable: bool = True
    _by_lower_name: dict[str, FieldSchema] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._by_lower_name = {f.name.lower(): f for f in self.fields}
        if len(self._by_lower_name) != len(self.fields):
            raise ValueError(f"{self.name}: two fields share a name (names are case-insensitive)")

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> ObjectSchema:
        name = str(spec["name"])
        return cls(
            name=name,
            label=str(spec.get("label", name)),
            label_plural=str(spec.get("labelPlural", f"{spec.get('label', name)}s")),
            key_prefix=str(spec["keyPrefix"]),
            fields=tuple(FieldSchema.from_spec(f) for f in spec["fields"]),
            custom=bool(spec.get("custom", name.endswith("__c"))),
            createable=bool(spec.get("createable", True)),
            updateable=bool(spec.get("updateable", True)),
            deletable=bool(spec.get("deletable", True)),
            queryable=bool(spec.get("queryable", True)),
        )

    def field(self, name: str) -> FieldSchema | None:
        """The field called ``name`` in any letter case, or None."""
        return self._by_lower_name.get(name.lower())

    def urls(self, version: str) -> dict[str, str]:
        base = f"/services/data/v{version}/sobjects/{self.name}"
        return {
            "compactLayouts": f"{base}/describe/compactLayouts",
            "rowTemplate": f"{base}/{{ID}}",
            "approvalLayouts": f"{base}/describe/approvalLayouts",
            "defaultValues": f"{base}/defaultValues?recordTypeId&fields",
            "describe": f"{base}/describe",
            "quickActions": f"{base}/quickActions",
            "layouts": f"{base}/describe/layouts",
            "sobject": base,
        }

    def global_entry(self, version: str) -> dict[str, Any]:
        """The object's entry in the global describe (``GET /sobjects``)."""
        return {
            "activateable": False,
            "associateEntityType": None,
            "associateParentEntity": None,
            "createable": self.createable,
            "custom": self.custom,
            "customSetting": False,
            "deepCloneable": False,
            "deletable": self.deletable,
            "deprecatedAndHidden": False,
            "feedEnabled": False,
            "hasSubtypes": False,
            "isInterface": False,
            "isSubtype": False,
            "keyPrefix": self.key_prefix,
            "label": self.label,
            "labelPlural": self.label_plural,
            "layoutable": True,
            "mergeable": False,
            "mruEnabled": True,
            "name": self.name,
            "queryable": self.queryable,
            "replicateable": True,
            "retrieveable": True,
            "searchable": True,
            "triggerable": True,
            "undeletable": self.deletable,
            "updateable": self.updateable,
            "urls": {
                key: value
                for key, value in self.urls(version).items()
                if key in {"rowTemplate", "defaultValues", "describe", "sobject"}
            },
        }

    def describe(self, version: str) -> dict[str, Any]:
        """The full object describe (``GET /sobjects/{Obj}/describe``)."""
        result = self.global_entry(version)
        result.update(
            {
                "actionOverrides": [],
                "childRelationships": [],
                "compactLayoutable": True,
                "defaultImplementation": None,
                "extendedBy": None,
                "extendsInterfaces": None,
                "fields": [f.describe() for f in self.fields],
                "implementedBy": None,
                "implementsInterfaces": None,
                "listviewable": None,
                "lookupLayoutable": None,
                "namedLayoutInfos": [],
                "networkScopeFieldName": None,
                "recordTypeInfos": [],
                "searchLayoutable": True,
                "sobjectDescribeOption": "FULL",
                "supportedScopes": [{"label": "All", "name": "everything"}],
                "urls": self.urls(version),
            }
        )
        return result


def load_schemas(folder: Path | None = None) -> dict[str, ObjectSchema]:
    """Every ``*.yaml`` object schema in ``folder`` (default: the package's ``schema/``)."""
    schemas: dict[str, ObjectSchema] = {}
    for path in sorted((folder or SCHEMA_FOLDER).glob("*.yaml")):
        with path.open(encoding="utf-8") as handle:
            spec = yaml.safe_load(handle)
        try:
            schema = ObjectSchema.from_spec(spec)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"invalid object schema {path}: {exc!r}") from exc
        schemas[schema.name] = schema
    return schemas


def _picklist_value(spec: Any) -> PicklistValue:
    if isinstance(spec, Mapping):
        value = str(spec["value"])
        return PicklistValue(
            value=value,
            label=str(spec.get("label", value)),
            active=bool(spec.get("active", True)),
            default=bool(spec.get("default", spec.get("defaultValue", False))),
        )
    return PicklistValue(value=str(spec), label=str(spec))


def _label_from_name(name: str) -> str:
    """'WalkMe_NPS_Score__c' -> 'WalkMe NPS Score'; 'LastName' stays as is (YAML gives labels)."""
    return name.removesuffix("__c").replace("_", " ")

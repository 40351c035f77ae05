"""Cross-field rules pydantic cannot check field by field (report, columns, mappings).

They run on the raw YAML so that they still run when other parts of the file are broken: every
problem of a file is reported at once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from include.walkme_sync.config.catalog import (
    SALESFORCE_TAG,
    Catalog,
    ReportDefinition,
    closest_names,
)
from include.walkme_sync.config.models import RECOMMENDED_FIELD_PREFIX
from include.walkme_sync.config.names import (
    is_custom_name,
    split_api_name,
)
from include.walkme_sync.config.problems import ConfigProblem, Loc, display_path, format_path


def text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _section(raw: dict[str, Any], key: str) -> dict[str, Any]:
    value = raw.get(key)
    return value if isinstance(value, dict) else {}


def _mapping_entries(raw: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    mappings = raw.get("mappings")
    if not isinstance(mappings, list):
        return []
    return [(i, entry) for i, entry in enumerate(mappings) if isinstance(entry, dict)]


def _report_problems(
    raw: dict[str, Any], catalog: Catalog, file: str
) -> tuple[list[tuple[Loc, ConfigProblem]], ReportDefinition | None]:
    report_name = text_or_none(_section(raw, "report").get("name"))
    if report_name is None:
        return [], None
    report = catalog.find(report_name)
    if report is None:
        close = closest_names(report_name, catalog.names(), limit=1)
        hint = (f"did you mean {close[0]!r}? " if close else "") + (
            f"known reports: {', '.join(catalog.names())} (or add include/reports/"
            f"{report_name}.yaml)"
        )
        problem = ConfigProblem(file, "report.name", f"unknown report {report_name!r}", hint)
        return [(("report", "name"), problem)], None
    if not report.usable_by_salesforce:
        tagged = [r.name for r in catalog if r.usable_by_salesforce]
        problem = ConfigProblem(
            file,
            "report.name",
            f"report {report_name!r} is not tagged {SALESFORCE_TAG}, so no integration may use it",
            f"add `{SALESFORCE_TAG}` to the tags of {display_path(Path(report.source_file))}, "
            f"or use a tagged report: {', '.join(tagged)}",
        )
        return [(("report", "name"), problem)], report
    return [], report


def _column_problem(
    report: ReportDefinition, column: str, loc: Loc, file: str
) -> tuple[Loc, ConfigProblem]:
    close = report.similar_columns(column, limit=1)
    hint = (f"did you mean {close[0]!r}? " if close else "") + (
        f"columns of report {report.name!r}: {', '.join(report.column_names)} "
        "(names are case-sensitive, exactly as in the export's header)"
    )
    message = f"column {column!r} is not in report {report.name!r}"
    return loc, ConfigProblem(file, format_path(loc), message, hint)


def _column_checks(
    raw: dict[str, Any], report: ReportDefinition, file: str
) -> list[tuple[Loc, ConfigProblem]]:
    found: list[tuple[Loc, ConfigProblem]] = []
    report_section = _section(raw, "report")
    key_column = text_or_none(report_section.get("key_column"))
    if key_column is not None:
        key_def = report.column(key_column)
        if key_def is None:
            found.append(_column_problem(report, key_column, ("report", "key_column"), file))
        else:
            found += _key_kind_warning(
                key_def.type, text_or_none(report_section.get("key_kind")), file
            )
    key_columns = report_section.get("key_columns")
    for i, part in enumerate(key_columns if isinstance(key_columns, list) else []):
        if isinstance(part, str) and report.column(part) is None:
            found.append(_column_problem(report, part, ("report", "key_columns", i), file))
    for i, entry in _mapping_entries(raw):
        column = text_or_none(entry.get("column"))
        if column is not None and report.column(column) is None:
            found.append(_column_problem(report, column, ("mappings", i, "column"), file))
        elif column is not None and "percent_scale" in entry:
            found += _percent_scale_problem(report, column, i, file)
    for i, entry in _lookup_entries(raw):
        column = text_or_none(entry.get("column"))
        if column is not None and report.column(column) is None:
            found.append(_column_problem(report, column, ("lookups", i, "column"), file))
    return found


def _percent_scale_problem(
    report: ReportDefinition, column: str, index: int, file: str
) -> list[tuple[Loc, ConfigProblem]]:
    column_def = report.column(column)
    if column_def is None or column_def.type in {"percent", "number"}:
        return []
    loc: Loc = ("mappings", index, "percent_scale")
    problem = ConfigProblem(
        file,
        format_path(loc),
        f"percent_scale applies to percentage columns, and {column!r} is typed "
        f"{column_def.type!r} in report {report.name!r}",
        "remove percent_scale from this mapping",
    )
    return [(loc, problem)]


def _lookup_entries(raw: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    lookups = raw.get("lookups")
    if not isinstance(lookups, list):
        return []
    return [(i, entry) for i, entry in enumerate(lookups) if isinstance(entry, dict)]


def _lookup_checks(raw: dict[str, Any], file: str) -> list[tuple[Loc, ConfigProblem]]:
    """A lookup field is written by its lookup only: not mapped, not the key, not twice."""
    found: list[tuple[Loc, ConfigProblem]] = []
    key_field = text_or_none(_section(raw, "object").get("key_field")) or ""
    mapped = {text_or_none(entry.get("field")) or "": i for i, entry in _mapping_entries(raw)}
    mapped_folded = {name.casefold(): i for name, i in mapped.items() if name}
    seen: dict[str, int] = {}
    for i, entry in _lookup_entries(raw):
        sf_field = text_or_none(entry.get("field"))
        if sf_field is None:
            continue
        loc: Loc = ("lookups", i, "field")
        folded = sf_field.casefold()
        if folded == key_field.casefold():
            message = f"{sf_field!r} is the object's key field (object.key_field)"
            hint = "a lookup sets a reference field such as Contact__c; pick that field"
        elif folded in mapped_folded:
            message = f"{sf_field!r} is also written by mappings[{mapped_folded[folded]}]"
            hint = "write a lookup field through its lookup only: remove the mapping"
        elif folded in seen:
            message = f"{sf_field!r} is already set by lookups[{seen[folded]}]"
            hint = "each lookup field may appear once: remove one of them"
        else:
            seen[folded] = i
            continue
        found.append((loc, ConfigProblem(file, format_path(loc), message, hint)))
    return found


_EMAIL_INCOMPATIBLE = {"guid", "integer", "number", "percent", "boolean", "date", "datetime"}
_GUID_INCOMPATIBLE = {"email", "integer", "number", "percent", "boolean", "date", "datetime"}


def _key_kind_warning(
    column_type: str, key_kind: str | None, file: str
) -> list[tuple[Loc, ConfigProblem]]:
    incompatible = {"email": _EMAIL_INCOMPATIBLE, "guid": _GUID_INCOMPATIBLE}.get(key_kind or "")
    if not incompatible or column_type not in incompatible:
        return []
    problem = ConfigProblem(
        file,
        "report.key_kind",
        f"key_kind is {key_kind!r} but the key column is typed {column_type!r} in the catalog",
        "check that the key column really holds "
        + ("e-mail addresses" if key_kind == "email" else "GUIDs")
        + ", or set key_kind to text",
        severity="warning",
    )
    return [(("report", "key_kind"), problem)]


def _mapping_checks(raw: dict[str, Any], file: str) -> list[tuple[Loc, ConfigProblem]]:
    found: list[tuple[Loc, ConfigProblem]] = []
    key_field = text_or_none(_section(raw, "object").get("key_field"))
    first_use: dict[str, int] = {}
    for i, entry in _mapping_entries(raw):
        sf_field = text_or_none(entry.get("field"))
        if sf_field is None:
            continue
        loc: Loc = ("mappings", i, "field")
        path = format_path(loc)
        if key_field is not None and sf_field.casefold() == key_field.casefold():
            found.append(
                (
                    loc,
                    ConfigProblem(
                        file,
                        path,
                        f"{sf_field!r} is the object's key field (object.key_field); a "
                        "mapping may not write the field used to match records",
                        "map this column onto another field, or remove the mapping",
                    ),
                )
            )
        folded = sf_field.casefold()
        if folded in first_use:
            found.append(
                (
                    loc,
                    ConfigProblem(
                        file,
                        path,
                        f"Salesforce field {sf_field!r} is already mapped by "
                        f"mappings[{first_use[folded]}]",
                        "each Salesforce field may appear once: remove one mapping or map it "
                        "elsewhere",
                    ),
                )
            )
        else:
            first_use[folded] = i
        namespace, stem, _suffix = split_api_name(sf_field)
        prefixed = stem.lower().startswith(RECOMMENDED_FIELD_PREFIX.lower())
        # A managed package's fields (ns__Field__c) are named by the package, not the admin.
        if is_custom_name(sf_field) and not prefixed and namespace is None:
            found.append(
                (
                    loc,
                    ConfigProblem(
                        file,
                        path,
                        f"custom field {sf_field!r} does not start with the recommended prefix "
                        f"{RECOMMENDED_FIELD_PREFIX!r}",
                        f"ask the Salesforce admin to name WalkMe-fed fields "
                        f"{RECOMMENDED_FIELD_PREFIX}_..., e.g. "
                        f"{RECOMMENDED_FIELD_PREFIX}_{stem}__c (fine to keep if deliberate)",
                        severity="warning",
                    ),
                )
            )
    return found


def cross_field_problems(
    raw: dict[str, Any], catalog: Catalog, file: str
) -> list[tuple[Loc, ConfigProblem]]:
    """Checks pydantic cannot do field by field; they run on the raw YAML so that they still run
    when other parts of the file are broken (every problem is reported at once)."""
    found: list[tuple[Loc, ConfigProblem]] = []
    if "source_file" in raw:
        found.append(
            (
                ("source_file",),
                ConfigProblem(
                    file,
                    "source_file",
                    "unknown key 'source_file' (it is set by the loader)",
                    "remove it",
                ),
            )
        )
    report_found, report = _report_problems(raw, catalog, file)
    found += report_found
    if report is not None:
        found += _column_checks(raw, report, file)
    found += _mapping_checks(raw, file)
    found += _lookup_checks(raw, file)
    return found

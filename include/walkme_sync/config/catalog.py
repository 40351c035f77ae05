"""The report catalog: which WalkMe Insights reports exist, their columns, types and tags.

One YAML file per report in ``include/reports/``. The ready-made reports (Logins, NPS, Onboarding
completion, TeachMe) ship with the product; a custom report is one more YAML file::

    name: login_review                 # catalog id, used by integrations (report.name)
    title: Login Review                # as shown in WalkMe Insights
    description: ...
    tags: [integrations_salesforce]    # only tagged reports can feed an integration
    columns:
      - name: User ID                  # exactly as in the CSV header of the WalkMe export
        type: string                   # string|email|guid|integer|number|percent|boolean|
                                       # date|datetime
        description: ...
        nullable: false                # optional, default true

Value formats the extract step understands: datetimes ``2026-11-24 09:15:02`` (UTC) or ISO 8601,
dates ``2026-11-24``, percents ``87.5`` or ``87.5%``, booleans ``true/false/yes/no/1/0``.

Light imports only (pydantic, yaml, stdlib): DAG files load the catalog at parse time.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from include.walkme_sync.config.safe_yaml import UnsafeYamlError, load_yaml
from include.walkme_sync.errors import ConfigurationError
from include.walkme_sync.locations import REPORTS_FOLDER

SALESFORCE_TAG = "integrations_salesforce"

ColumnType = Literal[
    "string", "email", "guid", "integer", "number", "percent", "boolean", "date", "datetime"
]
COLUMN_TYPES: tuple[str, ...] = ColumnType.__args__  # type: ignore[attr-defined]


class ColumnDef(BaseModel):
    """One column of a report, named exactly as in the export's CSV header."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    type: ColumnType
    description: str = ""
    nullable: bool = True


class ReportDefinition(BaseModel):
    """A WalkMe Insights report: its catalog id, title, tags and columns."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    description: str = ""
    tags: tuple[str, ...] = ()
    columns: tuple[ColumnDef, ...] = Field(min_length=1)
    source_file: str = ""

    @field_validator("columns")
    @classmethod
    def _unique_column_names(cls, columns: tuple[ColumnDef, ...]) -> tuple[ColumnDef, ...]:
        seen: set[str] = set()
        for column in columns:
            if column.name in seen:
                raise ValueError(f"column {column.name!r} is listed twice")
            seen.add(column.name)
        return columns

    @property
    def column_names(self) -> list[str]:
        """Column names in catalog order."""
        return [column.name for column in self.columns]

    @property
    def usable_by_salesforce(self) -> bool:
        """Only reports tagged ``integrations_salesforce`` can feed an integration."""
        return SALESFORCE_TAG in self.tags

    def column(self, name: str) -> ColumnDef | None:
        """The column whose header is exactly ``name`` (case-sensitive), or ``None``."""
        for column in self.columns:
            if column.name == name:
                return column
        return None

    def similar_columns(self, name: str, limit: int = 3) -> list[str]:
        """Column names that look like ``name`` (case, spacing or typo differences), best first."""
        return closest_names(name, self.column_names, limit=limit)


def closest_names(name: str, candidates: list[str], limit: int = 3) -> list[str]:
    """Up to ``limit`` candidates close to ``name``, ignoring case; exact case-folded hits first."""
    folded = {candidate.casefold(): candidate for candidate in candidates}
    exact = [folded[name.casefold()]] if name.casefold() in folded else []
    fuzzy = difflib.get_close_matches(name.casefold(), list(folded), n=limit, cutoff=0.6)
    ordered = exact + [folded[hit] for hit in fuzzy if folded[hit] not in exact]
    return ordered[:limit]


class UnknownReportError(ConfigurationError):
    """An integration names a report that is not in the catalog."""


class Catalog:
    """All known reports, by catalog name."""

    def __init__(self, reports: list[ReportDefinition]) -> None:
        self._reports = {report.name: report for report in reports}

    def __contains__(self, name: object) -> bool:
        return name in self._reports

    def __iter__(self) -> Iterator[ReportDefinition]:
        return iter(self._reports[name] for name in self.names())

    def __len__(self) -> int:
        return len(self._reports)

    def names(self) -> list[str]:
        """Catalog names, sorted."""
        return sorted(self._reports)

    def find(self, name: str) -> ReportDefinition | None:
        """The report called ``name``, or ``None``."""
        return self._reports.get(name)

    def get(self, name: str) -> ReportDefinition:
        """The report called ``name``; raises :class:`UnknownReportError` listing known names."""
        report = self._reports.get(name)
        if report is None:
            close = closest_names(name, self.names(), limit=1)
            guess = f" Did you mean {close[0]!r}?" if close else ""
            raise UnknownReportError(
                f"Unknown report {name!r}.{guess} Known reports: {', '.join(self.names())}.",
                action="Use one of the known report names, or add a report file to "
                "include/reports/.",
            )
        return report


def _parse_report_file(path: Path) -> tuple[ReportDefinition | None, list[str]]:
    try:
        raw = load_yaml(path.read_text(encoding="utf-8"))
    except UnsafeYamlError as exc:
        return None, [f"{path}: line {exc.line}: {exc.message} ({exc.hint})"]
    except yaml.YAMLError as exc:
        return None, [f"{path}: not valid YAML: {exc}"]
    if not isinstance(raw, dict):
        return None, [f"{path}: expected a mapping with name, title, tags and columns"]
    try:
        return ReportDefinition.model_validate({**raw, "source_file": str(path)}), []
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"])
            problems.append(f"{path}: {where}: {error['msg']}")
        return None, problems


def load_catalog(folder: Path | None = None) -> Catalog:
    """Load every ``*.yaml`` report in ``folder`` (default ``include/reports``).

    Raises :class:`ConfigurationError` listing every broken report file, or duplicate names.
    """
    folder = Path(folder) if folder is not None else REPORTS_FOLDER
    if folder == REPORTS_FOLDER:
        return _load_default_catalog()
    return _load_catalog(folder)


@cache
def _load_default_catalog() -> Catalog:
    # The shipped catalog does not change while a process runs; DAG parsing calls this often.
    return _load_catalog(REPORTS_FOLDER)


def _load_catalog(folder: Path) -> Catalog:
    if not folder.is_dir():
        raise ConfigurationError(
            f"Report catalog folder {folder} does not exist.",
            action="Point load_catalog() at the folder holding the report YAML files.",
        )
    reports: list[ReportDefinition] = []
    problems: list[str] = []
    files_by_name: dict[str, Path] = {}
    for path in sorted(folder.glob("*.y*ml")):
        report, file_problems = _parse_report_file(path)
        problems.extend(file_problems)
        if report is None:
            continue
        if report.name in files_by_name:
            problems.append(
                f"{path}: name: report {report.name!r} is already defined in "
                f"{files_by_name[report.name]}"
            )
            continue
        files_by_name[report.name] = path
        reports.append(report)
    if problems:
        raise ConfigurationError(
            "The report catalog has problems:\n  " + "\n  ".join(problems),
            action="Fix the report files listed above (include/reports/).",
        )
    return Catalog(reports)

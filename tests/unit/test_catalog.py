"""The report catalog: shipped reports, lookups and loading errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from include.walkme_sync.config.catalog import (
    SALESFORCE_TAG,
    ReportDefinition,
    UnknownReportError,
    load_catalog,
)
from include.walkme_sync.errors import ConfigurationError


def test_ready_made_and_custom_reports_ship() -> None:
    catalog = load_catalog()
    assert {"logins", "nps", "onboarding", "teachme", "login_review", "sessions_raw"} <= set(
        catalog.names()
    )
    assert catalog.names() == sorted(catalog.names())


@pytest.mark.parametrize(
    ("report", "columns"),
    [
        ("logins", ["User ID", "Email", "First Login", "Last Login", "Logins in Past 30 days"]),
        ("nps", ["User ID", "Email", "NPS Score", "Survey Date", "Comment"]),
        (
            "onboarding",
            [
                "User ID",
                "Email",
                "Onboarding Completion Rate",
                "Items Completed",
                "Items Total",
                "Last Activity",
            ],
        ),
        (
            "teachme",
            [
                "User ID",
                "Email",
                "Course Name",
                "Course Completed",
                "Course Progress",
                "Quiz Name",
                "Quiz Score",
                "Quiz Date",
            ],
        ),
        ("login_review", ["User ID", "First Login", "Last Login", "Logins in Past 30 days"]),
    ],
)
def test_report_columns(report: str, columns: list[str]) -> None:
    definition = load_catalog().get(report)
    assert definition.column_names == columns
    assert definition.usable_by_salesforce


def test_column_types() -> None:
    catalog = load_catalog()
    assert catalog.get("logins").column("Last Login").type == "datetime"  # type: ignore[union-attr]
    assert catalog.get("onboarding").column("Onboarding Completion Rate").type == "percent"  # type: ignore[union-attr]
    assert catalog.get("teachme").column("Course Completed").type == "boolean"  # type: ignore[union-attr]
    assert catalog.get("nps").column("Survey Date").type == "date"  # type: ignore[union-attr]


def test_untagged_custom_report_is_not_usable() -> None:
    report = load_catalog().get("sessions_raw")
    assert SALESFORCE_TAG not in report.tags
    assert not report.usable_by_salesforce


def test_column_lookup_is_exact_and_hints_near_misses() -> None:
    report = load_catalog().get("login_review")
    assert report.column("User ID") is not None
    assert report.column("User Id") is None
    assert report.column("user id") is None
    assert report.similar_columns("User Id") == ["User ID"]
    assert report.similar_columns("Logins last 30 days")[0] == "Logins in Past 30 days"


def test_unknown_report_lists_known_names() -> None:
    with pytest.raises(UnknownReportError) as error:
        load_catalog().get("login")
    text = str(error.value)
    assert "Unknown report 'login'" in text
    assert "Did you mean 'logins'?" in text
    assert "login_review, logins, nps" in text
    assert isinstance(error.value, ConfigurationError)


def test_custom_report_is_one_more_file(tmp_path: Path) -> None:
    (tmp_path / "usage.yaml").write_text(
        "name: usage\ntitle: Usage\ntags: [integrations_salesforce]\n"
        "columns:\n  - {name: User ID, type: guid, nullable: false}\n"
        "  - {name: Minutes, type: number}\n",
        encoding="utf-8",
    )
    catalog = load_catalog(tmp_path)
    assert catalog.names() == ["usage"]
    report = catalog.get("usage")
    assert isinstance(report, ReportDefinition)
    assert report.column("User ID").nullable is False  # type: ignore[union-attr]
    assert report.column("Minutes").nullable is True  # type: ignore[union-attr]


def test_broken_report_files_are_all_listed(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        "name: a\ntitle: A\ncolumns:\n  - {name: X, type: text}\n", encoding="utf-8"
    )
    (tmp_path / "b.yaml").write_text("name: b\ntitle: [unclosed\n", encoding="utf-8")
    (tmp_path / "c.yaml").write_text(
        "name: a\ntitle: dup\ncolumns:\n  - {name: X, type: string}\n", encoding="utf-8"
    )
    with pytest.raises(ConfigurationError) as error:
        load_catalog(tmp_path)
    text = str(error.value)
    assert "a.yaml: columns.0.type" in text
    assert "b.yaml: not valid YAML" in text
    # c.yaml reuses the name "a"; a.yaml failed, so c.yaml alone is fine
    assert "c.yaml" not in text


def test_duplicate_report_names(tmp_path: Path) -> None:
    for file in ("a.yaml", "b.yaml"):
        (tmp_path / file).write_text(
            "name: same\ntitle: S\ncolumns:\n  - {name: X, type: string}\n", encoding="utf-8"
        )
    with pytest.raises(ConfigurationError, match="already defined"):
        load_catalog(tmp_path)


def test_missing_catalog_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="does not exist"):
        load_catalog(tmp_path / "nope")

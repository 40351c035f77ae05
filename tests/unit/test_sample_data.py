"""Deterministic WalkMe-style exports and the matching CRM population."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest

from demo.sample_data import (
    iter_people,
    main,
    people,
    write_report,
)
from include.walkme_sync.config.catalog import load_catalog
from include.walkme_sync.locations import PROJECT_ROOT
from include.walkme_sync.report.export_names import date_in_file_name, export_file_name

DAY = date(2026, 11, 24)


def read_rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def test_people_are_a_pure_function_of_n_and_seed() -> None:
    assert people(50, seed=7) == people(50, seed=7)
    assert people(50, seed=7) != people(50, seed=8)
    assert people(1000, seed=7)[:50] == people(50, seed=7)  # prefix-stable
    assert list(iter_people(5)) == people(5)


def test_people_look_real() -> None:
    population = people(2000)
    emails = [p.email for p in population]
    ids = [p.user_id for p in population]
    assert len(set(emails)) == len(emails)
    assert len(set(ids)) == len(ids)
    first = population[0]
    assert first.email == first.email.lower() and "@" in first.email
    assert len(first.user_id) == 36 and first.user_id[14] == "4"  # GUID v4
    assert first.first_name and first.last_name and first.company and first.title


def test_export_file_naming_convention() -> None:
    assert export_file_name("login_review", DAY) == "login_review_2026-11-24.csv"
    assert date_in_file_name("login_review_2026-11-24.csv") == DAY
    assert date_in_file_name("export-2026-11-23_to_2026-11-24.csv") == DAY  # last date wins
    assert date_in_file_name("login_review.csv") is None
    assert date_in_file_name("x_2026-13-45.csv") is None


@pytest.mark.parametrize(
    "report", ["logins", "nps", "onboarding", "teachme", "login_review", "sessions_raw"]
)
def test_every_report_has_exactly_the_catalog_headers(tmp_path: Path, report: str) -> None:
    path = write_report(report, tmp_path, people(20), export_date=DAY)
    assert path.name == f"{report}_2026-11-24.csv"
    rows = read_rows(path)
    assert rows[0] == load_catalog().get(report).column_names
    assert len(rows) == 21
    assert all(len(row) == len(rows[0]) for row in rows)


def test_login_review_user_id_holds_the_email(tmp_path: Path) -> None:
    population = people(10)
    rows = read_rows(write_report("login_review", tmp_path, population, export_date=DAY))
    assert [row[0] for row in rows[1:]] == [p.email for p in population]


def test_values_are_deterministic_and_evolve_by_day(tmp_path: Path) -> None:
    population = people(300)
    a = read_rows(write_report("login_review", tmp_path / "a", population, export_date=DAY))
    b = read_rows(write_report("login_review", tmp_path / "b", population, export_date=DAY))
    assert a == b
    next_day = read_rows(
        write_report("login_review", tmp_path / "c", population, export_date=date(2026, 11, 25))
    )
    changed = sum(x != y for x, y in zip(a[1:], next_day[1:], strict=True))
    assert 0 < changed < 300  # some users logged in again, most did not


def test_formats(tmp_path: Path) -> None:
    rows = read_rows(write_report("teachme", tmp_path, people(50), export_date=DAY))
    header = rows[0]
    progress = {row[header.index("Course Progress")] for row in rows[1:]}
    assert all(value.endswith("%") for value in progress)
    assert {row[header.index("Course Completed")] for row in rows[1:]} <= {"true", "false"}
    quiz_date = rows[1][header.index("Quiz Date")]
    assert len(quiz_date) == len("2026-11-24 09:15:02") and quiz_date[10] == " "


def test_file_path_target(tmp_path: Path) -> None:
    path = write_report("nps", tmp_path / "custom.csv", people(3), export_date=DAY)
    assert path == tmp_path / "custom.csv"


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "login_review"
    code = main(
        [
            "--report",
            "login_review",
            "--rows",
            "25",
            "--seed",
            "7",
            "--date",
            "2026-11-23",
            "--date",
            "2026-11-24",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "login_review_2026-11-23.csv",
        "login_review_2026-11-24.csv",
    ]
    assert "25 rows of login_review for 2026-11-24" in capsys.readouterr().out


@pytest.mark.parametrize("report", ["login_review", "nps"])
def test_shipped_samples_match_the_generator(tmp_path: Path, report: str) -> None:
    folder = PROJECT_ROOT / "demo" / "samples" / report
    shipped = sorted(folder.glob("*.csv"))
    assert len(shipped) >= 2
    for path in shipped:
        export_date = date_in_file_name(path.name)
        assert export_date is not None
        again = write_report(report, tmp_path, people(200, seed=7), seed=7, export_date=export_date)
        assert again.read_bytes() == path.read_bytes(), f"regenerate {path}"

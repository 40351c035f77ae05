"""Deterministic WalkMe-style report exports, and the matching CRM people.

WalkMe exports Insights reports as CSV files to S3 or GCS. **Naming convention** (what file
sources rely on): an export's file name holds its date as ``YYYY-MM-DD``, e.g.
``login_review_2026-11-24.csv`` (:func:`export_file_name`). A source with ``pick: run_date``
reads the export whose name holds the run's date; ``pick: newest`` reads the one with the latest
date in its name (falling back to modification time). :func:`date_in_file_name` reads that date.

Everything here is a pure function of its arguments:

- :func:`people` ``(n, seed)`` is the end-user population. The Salesforce emulator seeds its Leads
  and Contacts from the same call, so report keys match CRM records. Person ``i`` depends only on
  ``(seed, i)``: ``people(100)`` is a prefix of ``people(1000)``.
- :func:`write_report` writes one row per person with exactly the catalog's headers. Values depend
  on ``(seed, report, person, export date)`` and evolve slowly from day to day (a user who logs in
  every 3 days changes a third of the time), so consecutive exports differ in a realistic share of
  rows. It streams rows to disk (1M rows use little memory beyond the people themselves).

CLI::

    python -m demo.sample_data --report login_review --rows 1000 --seed 7 \\
        --date 2026-11-24 --out demo/samples/login_review/
"""

from __future__ import annotations

import argparse
import csv
import sys
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from include.walkme_sync.config.catalog import ColumnDef, ReportDefinition, load_catalog
from include.walkme_sync.report.export_names import export_file_name

_MASK64 = (1 << 64) - 1

FIRST_NAMES = (
    "Ava",
    "Liam",
    "Noa",
    "Ethan",
    "Maya",
    "Lucas",
    "Chloe",
    "Adam",
    "Lea",
    "Omar",
    "Sofia",
    "Daniel",
    "Yael",
    "Hugo",
    "Emma",
    "Ravi",
    "Ines",
    "Jonas",
    "Mia",
    "Tomas",
    "Aisha",
    "Leo",
    "Clara",
    "Mateo",
    "Zoe",
    "Arjun",
    "Nina",
    "Felix",
    "Sara",
    "Kenji",
    "Elena",
    "Marco",
)
LAST_NAMES = (
    "Martin",
    "Cohen",
    "Dubois",
    "Smith",
    "Levi",
    "Garcia",
    "Muller",
    "Rossi",
    "Nguyen",
    "Kim",
    "Patel",
    "Bernard",
    "Johnson",
    "Silva",
    "Novak",
    "Jensen",
    "Moreau",
    "Haddad",
    "Brown",
    "Tanaka",
    "Kowalski",
    "Lopez",
    "Fischer",
    "Ali",
    "Weber",
    "Costa",
    "Meyer",
    "Peretz",
)
COMPANIES = (
    ("Northwind Traders", "northwind"),
    ("Contoso", "contoso"),
    ("Fabrikam", "fabrikam"),
    ("Globex", "globex"),
    ("Initech", "initech"),
    ("Umbrella Health", "umbrella-health"),
    ("Stark Logistics", "stark-logistics"),
    ("Wayne Finance", "wayne-finance"),
    ("Acme Retail", "acme-retail"),
    ("Tyrell Systems", "tyrell"),
    ("Hooli", "hooli"),
    ("Vandelay Imports", "vandelay"),
)
TITLES = (
    "Sales Representative",
    "Account Executive",
    "Customer Success Manager",
    "Support Agent",
    "Operations Analyst",
    "HR Business Partner",
    "Finance Manager",
    "IT Administrator",
    "Team Lead",
    "VP Sales",
    "Onboarding Specialist",
    "Procurement Officer",
)
COURSES = (
    ("Salesforce Basics", "Basics Quiz"),
    ("Opportunity Management", "Pipeline Quiz"),
    ("Reporting 101", "Dashboards Quiz"),
    ("Security Awareness", "Phishing Quiz"),
    ("Expense Policy", "Expenses Quiz"),
)
COMMENTS = (
    "",
    "",
    "",
    "Great tool, saves me time every day.",
    "Too many pop-ups.",
    'The "Next" button hides the form.',
    "Très utile pour l'onboarding.",
    "Works fine.",
    "Please add shortcuts; onboarding was long.",
    "Support was quick to answer",
)
LOGIN_PERIODS = (1, 1, 2, 3, 5, 7, 7, 14, 30, 45, 120)
HISTORY_START = date(2025, 1, 1).toordinal()
LEARNING_START = date(2026, 1, 1).toordinal()


@dataclass(frozen=True, slots=True)
class Person:
    """An end user, as WalkMe and the CRM both know them."""

    user_id: str
    email: str
    first_name: str
    last_name: str
    company: str
    title: str


def _mix(*keys: int) -> int:
    """A 64-bit hash of integers (splitmix64 steps): cheap per-index randomness, no state."""
    value = 0x9E3779B97F4A7C15
    for key in keys:
        value = (value ^ (key & _MASK64)) * 0xBF58476D1CE4E5B9 & _MASK64
        value = (value ^ (value >> 27)) * 0x94D049BB133111EB & _MASK64
        value ^= value >> 31
    return value


def _guid(value: int) -> str:
    """A version-4 GUID string from 128 bits (same result as ``str(uuid.UUID(int=v, version=4))``,
    several times faster)."""
    value = (value & ~(0xC000 << 48)) | (0x8000 << 48)  # RFC 4122 variant
    value = (value & ~(0xF000 << 64)) | (4 << 76)  # version 4
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def _salt(text: str) -> int:
    return zlib.crc32(text.encode("utf-8"))


def person(i: int, seed: int = 7) -> Person:
    """Person number ``i`` (0-based) of the population for ``seed``."""
    h = _mix(seed, _PERSON_SALT, i)
    first = FIRST_NAMES[h % len(FIRST_NAMES)]
    last = LAST_NAMES[(h >> 8) % len(LAST_NAMES)]
    company, domain = COMPANIES[(h >> 16) % len(COMPANIES)]
    title = TITLES[(h >> 24) % len(TITLES)]
    guid = _guid((h << 64) | _mix(seed, _GUID_SALT, i))
    email = f"{first}.{last}{i + 1}@{domain}.example.com".lower()
    return Person(guid, email, first, last, company, title)


_PERSON_SALT = _salt("person")
_GUID_SALT = _salt("guid")


def iter_people(n: int, seed: int = 7) -> Iterator[Person]:
    """The first ``n`` people for ``seed``, one at a time."""
    return (person(i, seed) for i in range(n))


def people(n: int, seed: int = 7) -> list[Person]:
    """The first ``n`` people for ``seed`` (same call seeds the Salesforce emulator)."""
    return list(iter_people(n, seed))


# ------------------------------------------------------------------------------- row values


def _datetime_text(day_ordinal: int, seconds: int) -> str:
    """WalkMe's export format: ``2026-11-24 09:15:02`` (UTC)."""
    hours, rest = divmod(seconds % 86_400, 3600)
    day = date.fromordinal(day_ordinal).isoformat()
    return f"{day} {hours:02d}:{rest // 60:02d}:{rest % 60:02d}"


def _last_event_day(today: int, period: int, phase: int) -> int:
    """Latest day strictly before ``today`` on which a user active every ``period`` days acts."""
    yesterday = today - 1
    return yesterday - (yesterday + phase) % period


class _RowMaker:
    """Values of one person's row for one report and export date.

    Values come in groups (logins, survey, learning); only the groups a report uses are
    computed, which keeps million-row exports fast.
    """

    def __init__(self, report: ReportDefinition, seed: int, export_date: date) -> None:
        self.seed = seed
        self.salt = _salt(report.name)
        self.today = export_date.toordinal()

    def logins(self, h: int) -> dict[str, str]:
        period = LOGIN_PERIODS[h % len(LOGIN_PERIODS)]
        first_day = HISTORY_START + (h >> 8) % 600
        second = (h >> 20) % 86_400
        last_day = _last_event_day(self.today, period, (h >> 40) % period)
        if first_day > last_day:  # not a user yet on this export date
            return {"first_login": "", "last_login": "", "logins_30": "0"}
        window_start = self.today - 30
        logins_30 = 0
        if last_day >= window_start:
            days_in_window = (last_day - max(window_start, first_day)) // period + 1
            logins_30 = days_in_window * (1 + (h >> 50) % 3)
        return {
            "first_login": _datetime_text(first_day, second),
            "last_login": _datetime_text(last_day, second + 3600 * ((h >> 46) & 3)),
            "logins_30": str(logins_30),
        }

    def survey(self, h: int) -> dict[str, str]:
        survey_day = _last_event_day(self.today, 90, (h >> 12) % 90)
        survey = _mix(h, (survey_day - HISTORY_START) // 90)  # a new answer every 90 days
        return {
            "nps_score": str(min(10, max(0, 7 + survey % 7 - (survey >> 8) % 5))),
            "survey_date": date.fromordinal(survey_day).isoformat(),
            "comment": COMMENTS[(survey >> 16) % len(COMMENTS)],
            "quiz_score": f"{40 + (survey >> 24) % 61}",
            "quiz_date": _datetime_text(survey_day, (h >> 20) % 86_400),
        }

    def learning(self, h: int) -> dict[str, str]:
        # Each user starts onboarding/courses on some day of 2026 and progresses steadily.
        start_day = LEARNING_START + (h >> 8) % 330
        days = max(0, self.today - start_day)
        progress = min(100.0, round(days * (0.1 + ((h >> 33) % 11) / 20), 1))
        items_total = 8 + (h >> 36) % 8
        items_done = min(items_total, days // (3 + (h >> 44) % 20))
        course, quiz = COURSES[(h >> 30) % len(COURSES)]
        return {
            "completion_rate": f"{round(100.0 * items_done / items_total, 1)}",
            "items_completed": str(items_done),
            "items_total": str(items_total),
            "last_activity": _datetime_text(
                min(self.today - 1, start_day + items_done * 3), (h >> 20) % 86_400
            ),
            "course": course,
            "course_completed": "true" if progress >= 100 else "false",
            "course_progress": f"{progress}%",
            "quiz": quiz,
        }

    def identity(self, h: int, who: Person) -> dict[str, str]:
        return {
            "user_id": who.user_id,
            "email": who.email,
            "email_or_blank": "" if (h >> 58) % 20 == 0 else who.email,
        }

    def row(self, h: int) -> dict[str, str]:
        return {"row_guid": _guid((h << 64) | _mix(h))}

    def values(self, i: int, who: Person, groups: tuple[str, ...]) -> dict[str, str]:
        h = _mix(self.seed, self.salt, i)
        values = self.identity(h, who)
        for group in groups:
            values.update(getattr(self, group)(h))
        return values


_GROUP_OF = {
    "row_guid": "row",
    "first_login": "logins",
    "last_login": "logins",
    "logins_30": "logins",
    "nps_score": "survey",
    "survey_date": "survey",
    "comment": "survey",
    "quiz_score": "survey",
    "quiz_date": "survey",
    "completion_rate": "learning",
    "items_completed": "learning",
    "items_total": "learning",
    "last_activity": "learning",
    "course": "learning",
    "course_completed": "learning",
    "course_progress": "learning",
    "quiz": "learning",
}


# Which generated value goes in which column, per ready-made report (by catalog name).
REPORT_COLUMNS: dict[str, dict[str, str]] = {
    "logins": {
        "User ID": "user_id",
        "Email": "email_or_blank",
        "First Login": "first_login",
        "Last Login": "last_login",
        "Logins in Past 30 days": "logins_30",
    },
    "login_review": {  # this account's WalkMe User ID is the end user's e-mail
        "User ID": "email",
        "First Login": "first_login",
        "Last Login": "last_login",
        "Logins in Past 30 days": "logins_30",
    },
    "nps": {
        "User ID": "user_id",
        "Email": "email",
        "NPS Score": "nps_score",
        "Survey Date": "survey_date",
        "Comment": "comment",
    },
    "onboarding": {
        "User ID": "user_id",
        "Email": "email",
        "Onboarding Completion Rate": "completion_rate",
        "Items Completed": "items_completed",
        "Items Total": "items_total",
        "Last Activity": "last_activity",
    },
    "teachme": {
        "User ID": "user_id",
        "Email": "email",
        "Course Name": "course",
        "Course Completed": "course_completed",
        "Course Progress": "course_progress",
        "Quiz Name": "quiz",
        "Quiz Score": "quiz_score",
        "Quiz Date": "quiz_date",
    },
}

# For custom reports without an entry above: a plausible value per column type.
_BY_TYPE = {
    "guid": "user_id",
    "email": "email",
    "integer": "logins_30",
    "number": "quiz_score",
    "percent": "completion_rate",
    "boolean": "course_completed",
    "date": "survey_date",
    "datetime": "last_login",
    "string": "course",
}


def _column_sources(report: ReportDefinition) -> list[str]:
    known = REPORT_COLUMNS.get(report.name, {})
    return [known.get(column.name) or _generic_source(column) for column in report.columns]


def _generic_source(column: ColumnDef) -> str:
    if column.type == "guid":
        return "user_id" if "user" in column.name.lower() else "row_guid"
    return _BY_TYPE[column.type]


def report_rows(
    report: ReportDefinition, people_: Iterable[Person], *, seed: int = 7, export_date: date
) -> Iterator[list[str]]:
    """The export's data rows (strings, in catalog column order), one per person."""
    maker = _RowMaker(report, seed, export_date)
    sources = _column_sources(report)
    groups = tuple(sorted({_GROUP_OF[s] for s in sources if s in _GROUP_OF}))
    for i, who in enumerate(people_):
        values = maker.values(i, who, groups)
        yield [values[source] for source in sources]


def write_report(
    report: ReportDefinition | str,
    path: Path,
    people: Iterable[Person],
    *,
    seed: int = 7,
    export_date: date,
) -> Path:
    """Write a WalkMe-style CSV export (UTF-8, catalog headers, one row per person).

    ``path`` may be a folder (the file is named by :func:`export_file_name`) or a file path.
    Returns the file written.
    """
    definition = load_catalog().get(report) if isinstance(report, str) else report
    path = Path(path)
    if path.is_dir() or not path.suffix:
        path = path / export_file_name(definition.name, export_date)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(definition.column_names)
        writer.writerows(report_rows(definition, people, seed=seed, export_date=export_date))
    return path


def teachme_course_rows(
    people_: Iterable[Person], *, seed: int = 7, export_date: date
) -> Iterator[list[str]]:
    """TeachMe as WalkMe exports it for real: one row per end user **and course** (1 to 3
    courses per user), in catalog column order. The course-progress demo upserts one record
    per row (key: user + course)."""
    definition = load_catalog().get("teachme")
    maker = _RowMaker(definition, seed, export_date)
    sources = _column_sources(definition)
    for i, who in enumerate(people_):
        h = _mix(seed, maker.salt, i)
        for course_index in range(1 + h % 3):
            values = maker.identity(h, who)
            values.update(maker.survey(_mix(h, course_index)))
            values.update(maker.learning(_mix(h, course_index)))
            values["course"], values["quiz"] = COURSES[(h + course_index) % len(COURSES)]
            yield [values[source] for source in sources]


def write_teachme_courses(
    path: Path, people_: Iterable[Person], *, seed: int = 7, export_date: date
) -> Path:
    """Write a TeachMe export with one row per user and course (see `teachme_course_rows`)."""
    path = Path(path)
    if path.is_dir() or not path.suffix:
        path = path / export_file_name("teachme", export_date)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(load_catalog().get("teachme").column_names)
        writer.writerows(teachme_course_rows(people_, seed=seed, export_date=export_date))
    return path


# ------------------------------------------------------------------------------------------ CLI


def _parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Write deterministic WalkMe report exports.")
    parser.add_argument("--report", required=True, help="catalog report name, e.g. login_review")
    parser.add_argument("--rows", type=int, default=1000, help="number of rows (people)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--date",
        type=date.fromisoformat,
        action="append",
        dest="dates",
        help="export date YYYY-MM-DD (repeat for several exports; default today)",
    )
    parser.add_argument("--out", type=Path, required=True, help="folder (or .csv file) to write")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """CLI entry point; prints each file written."""
    args = _parse_args(sys.argv[1:] if argv is None else argv)
    report = load_catalog().get(args.report)
    for export_date in args.dates or [date.today()]:
        out: Path = args.out
        target = out if out.suffix == ".csv" else out / export_file_name(report.name, export_date)
        written = write_report(
            report,
            target,
            iter_people(args.rows, args.seed),
            seed=args.seed,
            export_date=export_date,
        )
        print(f"{written}: {args.rows} rows of {report.name} for {export_date}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""How WalkMe export files are named: the export date is part of the file name.

WalkMe names a scheduled export after the report and the day, e.g. ``login_review_2026-11-24.csv``.
A file source with ``pick: run_date`` reads that date to choose the export of the run's day.
"""

from __future__ import annotations

import re
from datetime import date

_DATE_IN_NAME = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")


def export_file_name(report_name: str, export_date: date) -> str:
    """WalkMe export name for a report and day, e.g. ``login_review_2026-11-24.csv``."""
    return f"{report_name}_{export_date.isoformat()}.csv"


def date_in_file_name(name: str) -> date | None:
    """The export date written in a file name (last ``YYYY-MM-DD`` in it), or ``None``."""
    for match in reversed(list(_DATE_IN_NAME.finditer(name))):
        try:
            return date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            continue
    return None

"""The hostile-input corpus: report files that break naive CSV readers, with expected outcomes.

Each `Case` is a report export (bytes, built here so encodings, NULs and sizes are exact), the
config overrides it needs, and what must happen when it goes through the integration's DAG:
the run's status, bucket counts, words the run message must hold (for unusable files: the file,
the problem, what to do) and words each rejected row's reason must hold (the column and value).

File cases run the seed example (Login Review -> Lead) against the Leads `SEEDED`; the row cases
of `VALUE_ROWS` run in one report, each row a case; the text cases (`TEXT_ROWS`) are the corpus
of `test_write_paths.py`, which runs them through both write paths.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

HEADER = ["User ID", "First Login", "Last Login", "Logins in Past 30 days"]
SEEDED = ["a@example.com", "b@example.com", "c@example.com", "o'brien@example.com"]
FILE_NAME = "login_review_2026-11-24.csv"


def row(email: str, n: int = 1, *, first: str | None = None, last: str | None = None) -> list[str]:
    return [
        email,
        first or f"2026-01-0{n % 9 + 1} 10:00:00",
        last or f"2026-11-2{n % 9} 09:15:02",
        str(n),
    ]


ABC = [row("a@example.com", 1), row("b@example.com", 2), row("c@example.com", 3)]


def csv_bytes(
    rows: list[list[str]],
    *,
    header: list[str] = HEADER,
    sep: str = ",",
    newline: str = "\n",
    encoding: str = "utf-8",
    tail: str = "",
) -> bytes:
    """A CSV file; values holding the separator, quotes or line breaks are quoted."""

    def cell(value: str) -> str:
        if any(c in value for c in (sep, '"', "\n", "\r")):
            return '"' + value.replace('"', '""') + '"'
        return value

    lines = [sep.join(cell(v) for v in line) for line in [header, *rows]]
    return (newline.join(lines) + newline + tail).encode(encoding)


@dataclass(frozen=True)
class Case:
    id: str
    what: str
    data: bytes
    status: str = "Completed"
    buckets: dict[str, int] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    message: tuple[str, ...] = ()  # words of the run message (a failed run)
    reasons: dict[str, str] = field(default_factory=dict)  # key -> words of its reason


LATIN1 = csv_bytes([[*r, "José Müller"] for r in ABC], header=[*HEADER, "Name"], encoding="latin-1")
UNUSABLE = "Failed"
#: The test harness's file source (its folder filled in by the harness), plus an encoding.
SOURCE = {"kind": "files", "location": "", "pattern": "*.csv", "pick": "newest"}
BIG = 5_000
FILE_CASES = [
    Case("utf8", "plain UTF-8", csv_bytes(ABC), buckets={"written": 3}),
    Case("utf8_bom", "UTF-8 with a BOM", b"\xef\xbb\xbf" + csv_bytes(ABC), buckets={"written": 3}),
    Case(
        "latin1_unconfigured",
        "latin-1 bytes read as UTF-8",
        LATIN1,
        UNUSABLE,
        message=(FILE_NAME, "not a readable CSV", "encoding"),
    ),
    Case(
        "latin1_configured",
        "latin-1 with report.source.encoding",
        LATIN1,
        buckets={"written": 3},
        config={"report": {"source": {**SOURCE, "encoding": "latin-1"}}},
    ),
    Case(
        "utf16_bom",
        "UTF-16 (BOM), no encoding set",
        csv_bytes(ABC, encoding="utf-16"),
        buckets={"written": 3},
    ),
    Case(
        "utf16_configured",
        "UTF-16 with report.source.encoding",
        csv_bytes(ABC, encoding="utf-16"),
        buckets={"written": 3},
        config={"report": {"source": {**SOURCE, "encoding": "utf-16"}}},
    ),
    Case("crlf", "CRLF line endings", csv_bytes(ABC, newline="\r\n"), buckets={"written": 3}),
    Case("cr", "CR-only line endings", csv_bytes(ABC, newline="\r"), buckets={"written": 3}),
    Case(
        "semicolon",
        "';'-separated export",
        csv_bytes(ABC, sep=";"),
        UNUSABLE,
        message=(FILE_NAME, "separated by ';'", "comma-separated"),
    ),
    Case(
        "tab",
        "tab-separated export",
        csv_bytes(ABC, sep="\t"),
        UNUSABLE,
        message=(FILE_NAME, "separated by", "comma-separated"),
    ),
    Case(
        "quoting",
        "quotes, commas and line breaks in an unused column",
        csv_bytes(
            [[*r, n] for r, n in zip(ABC, ['say "hi", ok', "two\nlines", ",,,"], strict=True)],
            header=[*HEADER, "Note"],
        ),
        buckets={"written": 3},
    ),
    Case(
        "truncated_row",
        "the last row cut in the middle",
        csv_bytes(ABC, tail="d@example.com,2026-01"),
        UNUSABLE,
        message=(FILE_NAME, "not a readable CSV", "Expected 4 columns", "What to do"),
    ),
    Case(
        "unterminated_quote",
        "the file ends inside a quoted value",
        csv_bytes(ABC, tail='"d@example.com,2026-01-01'),
        UNUSABLE,
        message=(FILE_NAME, "not a readable CSV"),
    ),
    Case(
        "trailing_separator",
        "every row one value longer than the header",
        csv_bytes([[*r, ""] for r in ABC]),
        UNUSABLE,
        message=(FILE_NAME, "Expected 4 columns, got 5"),
    ),
    Case("empty_file", "zero bytes", b"", UNUSABLE, message=(FILE_NAME, "is empty")),
    Case("header_only", "a header and no rows", csv_bytes([]), buckets={"written": 0}),
    Case(
        "blank_lines",
        "blank lines between rows",
        csv_bytes(ABC).replace(b"\nb@", b"\n\n\nb@"),
        buckets={"written": 3},
    ),
    Case(
        "duplicate_header",
        "a column named twice",
        csv_bytes([[*r, "x"] for r in ABC], header=[*HEADER, "Last Login"]),
        UNUSABLE,
        message=(FILE_NAME, "repeats the column", "'Last Login'"),
    ),
    Case(
        "missing_column",
        "a mapped column missing",
        csv_bytes([r[:3] for r in ABC], header=HEADER[:3]),
        UNUSABLE,
        message=(FILE_NAME, "lacks required column", "Logins in Past 30 days", "What to do"),
    ),
    Case(
        "nul_in_key",
        "a NUL byte inside a key",
        csv_bytes([ABC[0], row("b\x00@example.com", 2), ABC[2]]),
        buckets={"written": 2, "rejected": 1},
        reasons={"b\x00@example.com": "User ID"},
    ),
    Case(
        "nul_in_number",
        "a NUL byte inside a number",
        csv_bytes([ABC[0], ABC[1], [*ABC[2][:3], "3\x00"]]),
        buckets={"written": 2, "rejected": 1},
        reasons={"c@example.com": "Logins in Past 30 days"},
    ),
    Case(
        "huge_key",
        "a 100,000-character key",
        csv_bytes([*ABC, row("x" * 100_000 + "@example.com", 4)]),
        # Longer than any SOQL literal (4,000 characters): never looked up, so never matched.
        buckets={"written": 3, "unmatched": 1},
    ),
    Case(
        "huge_file",
        f"{BIG:,} rows, three of them in Salesforce",
        csv_bytes([*ABC, *(row(f"nobody{i}@example.com", i) for i in range(BIG - 3))]),
        buckets={"written": 3, "unmatched": BIG - 3},
    ),
    Case(
        "soql_metacharacters",
        "quotes and SOQL operators in keys",
        csv_bytes([row("o'brien@example.com", 1), row("a' OR Name != '", 2), ABC[1]]),
        buckets={"written": 2, "rejected": 1},
        reasons={"a' OR Name != '": "User ID"},
    ),
    Case(
        "non_ascii_key",
        "an internationalised e-mail key",
        csv_bytes([ABC[0], row("josé@exämple.com", 2)]),
        buckets={"written": 1, "unmatched": 1},
    ),
    Case(
        "duplicate_keys",
        "one key twice (policy reject)",
        csv_bytes([ABC[0], ABC[1], row("A@example.com", 5)]),
        buckets={"written": 1, "rejected": 2},
    ),
    Case(
        "key_case_and_spaces",
        "a key in capitals with spaces around it",
        csv_bytes([row("  A@EXAMPLE.COM ", 1)]),
        buckets={"written": 1},
    ),
]

# Number and date formats and special literals, one row (and seeded Lead) each:
# (key, First Login, Last Login, Logins, expected bucket, words of the reason)
V = "2026-01-05 10:00:00"
W = "2026-11-24 09:15:02"
VALUE_ROWS: list[tuple[str, str, str, str, str, str]] = [
    ("thousands@example.com", V, W, "1,234", "rejected", "Logins in Past 30 days: '1,234'"),
    ("decimal_comma@example.com", V, W, "1.234,5", "rejected", "is not an integer"),
    ("exponent@example.com", V, W, "1e3", "written", ""),
    ("padded@example.com", V, W, " 42 ", "written", ""),
    ("nan@example.com", V, W, "NaN", "rejected", "'NaN' is not an integer"),
    ("null_word@example.com", V, W, "null", "rejected", "'null' is not an integer"),
    ("na@example.com", V, W, "#N/A", "rejected", "'#N/A' is not an integer"),
    ("true_word@example.com", V, W, "TRUE", "rejected", "'TRUE' is not an integer"),
    ("formula@example.com", V, W, "=1+2", "rejected", "'=1+2' is not an integer"),
    ("empty_number@example.com", V, W, "", "written", ""),
    ("minus_zero@example.com", V, W, "-0", "written", ""),
    ("twenty_digits@example.com", V, W, "99999999999999999999", "rejected", "not an integer"),
    ("day_first@example.com", V, "24/11/2026 09:15", "3", "rejected", "dd/mm/yyyy is ambiguous"),
    ("offset@example.com", V, "2026-11-24T09:15:02+02:00", "3", "written", ""),
    ("before_1700@example.com", "1699-12-31 23:59:59", W, "3", "rejected", "1700-01-01"),
    ("year_3000@example.com", "3000-01-01 00:00:00", W, "3", "rejected", "First Login"),
    ("date_only@example.com", "2026-01-05", W, "3", "written", ""),
]

# Text values special to some format, into Contact's Long Text Area (Course Name -> Notes,
# null policy clear) and its 80-character Quiz Name: (key, Course Name, Quiz Name, bucket, reason)
LONG = "x" * 40_000  # over Bulk API 2.0's 32,000 characters per field
TEXT_ROWS: list[tuple[str, str, str, str, str]] = [
    ("na@example.com", "#N/A", "#N/A", "written", ""),
    ("formula@example.com", "=1+2", '=HYPERLINK("x")', "written", ""),
    ("plus@example.com", "+33 6 12 34 56 78", "+1", "written", ""),
    ("minus@example.com", "-5", "-cmd", "written", ""),
    ("at@example.com", "@SUM(A1)", "@x", "written", ""),
    ("quotes@example.com", 'say "hi", ok', "'single'", "written", ""),
    ("newline@example.com", "line 1\nline 2", "tab\there", "written", ""),
    ("crlf@example.com", "line 1\r\nline 2", "q", "written", ""),
    ("long@example.com", LONG, "long", "written", ""),
    ("emoji@example.com", "😀 non-BMP 𠮟", "😀" * 40, "written", ""),
    ("null_word@example.com", "null", "NULL", "written", ""),
    ("nan@example.com", "NaN", "nan", "written", ""),
    ("true_word@example.com", "TRUE", "FALSE", "written", ""),
    ("nul@example.com", "a\x00b", "ok", "rejected", "control character U+0000"),
    ("too_long@example.com", "ok", "y" * 81, "rejected", "longer than 80 characters"),
    ("emoji_too_long@example.com", "ok", "😀" * 41, "rejected", "beyond U+FFFF count twice"),
    ("cleared@example.com", "", "kept", "written", ""),
    ("accents@example.com", "café naïve Ærø", "Ünïcödé", "written", ""),
]
TEXT_HEADER = ["User ID", "Email", "Course Name", "Quiz Name"]

"""Extract step: read a WalkMe report export (CSV files or a SQL table/query) into typed Parquet.

Files
    ``report.source.kind: files``. ``location`` is a local folder (relative paths hang off the
    project root), or a ``file://``, ``s3://``, ``gs://``... URL read through Airflow's
    ``ObjectStoragePath`` with ``conn_id``. Exports are named with their date (see
    :mod:`include.walkme_sync.export_names`): ``pick: run_date`` reads the export whose name holds
    the run's date and fails when there is none; ``pick: newest`` reads the export with the latest
    date in its name (modification time when a name has no date, and to break ties).

SQL
    ``report.source.kind: sql``: ``query`` or ``SELECT * FROM <table>`` through the hook of any
    Airflow SQL connection (a ``DbApiHook``). Column names must equal the catalog's names.

Every value is read as text, then coerced to its catalog type, column by column (vectorised):

==========  =====================================  =================================================
type        accepted text                           in ``extracted.parquet``
==========  =====================================  =================================================
string      anything                                pandas ``string``
email/guid  anything (format checked by validation) pandas ``string``
integer     ``42``, ``-3``, ``42.0``                ``Int64``
number      ``3.14``, ``1e3``                       ``Float64``
percent     ``87.5`` or ``87.5%``                   ``Float64`` on a 0-100 scale
boolean     true/false, yes/no, 1/0, t/f, y/n        ``boolean``
datetime    ``2026-11-24 09:15:02`` (UTC), ISO 8601  ``datetime64[ns, UTC]``
date        ``2026-11-24`` (ISO 8601)               ``datetime64[ns, UTC]`` at midnight UTC
==========  =====================================  =================================================

Surrounding spaces are ignored and an empty value is null. A row whose value in a required column
(the key column or a mapped column) does not parse is *rejected*: it goes to
``outcomes_extract.parquet`` with a reason such as ``Logins in Past 30 days: 'abc' is not an
integer``, and the other rows continue. Unparseable values in columns the integration does not use
become null. When the export itself is unusable (missing, unreadable, required columns absent)
the step raises :class:`SourceError` and writes nothing.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import pandas as pd

from include.walkme_sync.catalog import Catalog, ColumnDef, ReportDefinition, closest_names
from include.walkme_sync.config import PROJECT_ROOT, FileSource, IntegrationConfig, SqlSource
from include.walkme_sync.errors import SourceError
from include.walkme_sync.export_names import date_in_file_name

if TYPE_CHECKING:
    from collections.abc import Iterable

log = logging.getLogger(__name__)

EXTRACTED_FILE = "extracted.parquet"
OUTCOMES_FILE = "outcomes_extract.parquet"
ROW_COLUMN = "__row"
OUTCOME_COLUMNS = ("__row", "key", "bucket", "reason", "error_code", "record_id")

TRUE_WORDS = ("true", "yes", "1", "t", "y")
FALSE_WORDS = ("false", "no", "0", "f", "n")
# datetime64[ns] covers 1677-09-21 .. 2262-04-11; later "never" dates (9999-12-31) are rejected.
_NS_MIN = pd.Timestamp.min.tz_localize("UTC")
_NS_MAX = pd.Timestamp.max.tz_localize("UTC")
_SQL_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")


@dataclass
class ExtractSummary:
    """What the extract step read and wrote (small: goes through XCom)."""

    source: str
    rows: int
    loaded: int
    rejected: int
    path: str
    outcomes_path: str
    columns: list[str] | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable dict."""
        return asdict(self)


# ------------------------------------------------------------------------------ public entry


def extract_report(
    config: IntegrationConfig, catalog: Catalog, *, run_date: date, out_dir: Path
) -> ExtractSummary:
    """Read the integration's report export for ``run_date`` and write typed Parquet files.

    Writes ``out_dir/extracted.parquet`` (parsed rows, catalog column names, plus ``__row``) and
    ``out_dir/outcomes_extract.parquet`` (rejected rows with reasons). Raises
    :class:`SourceError` (writing nothing) when the export is missing or unusable.
    """
    report = catalog.get(config.report.name)
    source = config.report.source
    if isinstance(source, FileSource):
        raw, where = read_file_source(source, report, run_date=run_date)
    else:
        raw, where = read_sql_source(source)
    return _finish(raw, where, config, report, out_dir)


def _finish(
    raw: pd.DataFrame,
    where: str,
    config: IntegrationConfig,
    report: ReportDefinition,
    out_dir: Path,
) -> ExtractSummary:
    require_columns(list(raw.columns), config.required_columns, report, where=where)
    typed, outcomes = coerce_report(
        raw, report, required=config.required_columns, key_column=config.report.key_column
    )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path, outcomes_path = out_dir / EXTRACTED_FILE, out_dir / OUTCOMES_FILE
    typed.to_parquet(path, index=False)
    outcomes.to_parquet(outcomes_path, index=False)
    summary = ExtractSummary(
        source=where,
        rows=len(raw),
        loaded=len(typed),
        rejected=len(outcomes),
        path=str(path),
        outcomes_path=str(outcomes_path),
        columns=[c for c in typed.columns if c != ROW_COLUMN],
    )
    log.info(
        "Extracted %s: %d rows, %d loaded, %d rejected",
        where,
        summary.rows,
        summary.loaded,
        summary.rejected,
    )
    return summary


# ----------------------------------------------------------------------------------- files


@dataclass(frozen=True)
class ExportFile:
    """A candidate export: its location, the date in its name and its modification time."""

    uri: str
    name: str
    name_date: date | None
    mtime: float
    handle: Any  # pathlib.Path or ObjectStoragePath

    @property
    def sort_key(self) -> tuple[date, float]:
        day = self.name_date or datetime.fromtimestamp(self.mtime, UTC).date()
        return day, self.mtime


def _mtime(path: Any) -> float:
    stat = path.stat()
    value = getattr(stat, "st_mtime", None)
    if value is None and isinstance(stat, dict):  # fsspec-style info dict
        value = stat.get("mtime") or stat.get("LastModified") or stat.get("updated")
    if isinstance(value, datetime):
        return value.timestamp()
    try:
        return float(value) if value is not None else 0.0
    except (TypeError, ValueError):
        return 0.0


def open_location(source: FileSource) -> Any:
    """The source folder as ``pathlib.Path`` (local) or ``ObjectStoragePath`` (URLs)."""
    location = source.resolved_location(PROJECT_ROOT)
    if not source.is_url:
        return Path(location)
    from airflow.sdk import ObjectStoragePath  # heavy: only when a URL source runs

    return ObjectStoragePath(location, conn_id=source.conn_id)


def list_exports(source: FileSource) -> list[ExportFile]:
    """Files in the source folder matching its pattern, oldest first."""
    folder = open_location(source)
    try:
        if not folder.is_dir():
            raise SourceError(
                f"Report folder {folder} does not exist (report.source.location "
                f"{source.location!r}).",
                action="Check report.source.location and that WalkMe exports to it "
                "(and the connection's credentials for object storage).",
            )
        paths = [p for p in folder.glob(source.pattern) if p.is_file()]
    except SourceError:
        raise
    except Exception as exc:  # object-storage errors come in many types (boto, gcsfs, OSError)
        raise SourceError(
            f"Cannot list report folder {folder}: {type(exc).__name__}: {exc}",
            action="Check the location, the object-storage connection "
            f"({source.conn_id or 'default credentials'}) and its permissions.",
        ) from exc
    exports = [ExportFile(str(p), p.name, date_in_file_name(p.name), _mtime(p), p) for p in paths]
    return sorted(exports, key=lambda export: export.sort_key)


def pick_export(source: FileSource, exports: list[ExportFile], run_date: date) -> ExportFile:
    """The export to read: the one named with ``run_date`` or the newest, per ``source.pick``."""
    folder = source.resolved_location(PROJECT_ROOT)
    if not exports:
        raise SourceError(
            f"No report export matching {source.pattern!r} in {folder}.",
            action="Check that WalkMe exported the report there (and report.source.pattern).",
        )
    if source.pick == "newest":
        return exports[-1]
    for_date = [export for export in exports if export.name_date == run_date]
    if not for_date:
        newest = exports[-1]
        raise SourceError(
            f"No report export for {run_date.isoformat()} in {folder} (pattern "
            f"{source.pattern!r}): no file name contains {run_date.isoformat()}. Newest file "
            f"found: {newest.name}.",
            action="Check that WalkMe exported the report for that day, or set "
            "`pick: newest` under report.source to read the newest export instead.",
        )
    return for_date[-1]  # several for the day: the last modified


def read_file_source(
    source: FileSource, report: ReportDefinition, *, run_date: date
) -> tuple[pd.DataFrame, str]:
    """Pick the export and read it as text columns; returns (frame, uri)."""
    export = pick_export(source, list_exports(source), run_date)
    log.info("Reading report export %s", export.uri)
    if isinstance(export.handle, Path):
        frame = read_export_csv(export.handle, encoding=source.encoding, where=export.uri)
        return frame, export.uri
    try:
        with export.handle.open("rb") as handle:
            return read_export_csv(handle, encoding=source.encoding, where=export.uri), export.uri
    except SourceError:
        raise
    except OSError as exc:
        raise SourceError(f"Cannot read report export {export.uri}: {exc}") from exc


def read_export_csv(
    file: Path | IO[bytes], *, encoding: str = "utf-8-sig", where: str
) -> pd.DataFrame:
    """Read a CSV export with every value as text (empty string for empty cells).

    A leading byte-order mark is dropped whatever the configured encoding.
    """
    try:
        # The pyarrow engine parses several times faster than the C engine (1M rows: ~1 s).
        frame = pd.read_csv(
            file, engine="pyarrow", dtype=str, keep_default_na=False, encoding=encoding
        )
    except pd.errors.EmptyDataError as exc:
        raise SourceError(f"Report export {where} is empty (no header row).") from exc
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise SourceError(
            f"Report export {where} is not a readable CSV file: {exc}",
            action="Check the export (a broken line, or the encoding: set report.source.encoding).",
        ) from exc
    frame.columns = [str(column).removeprefix("\ufeff") for column in frame.columns]
    _reject_duplicate_headers(frame, where)
    return frame


def _reject_duplicate_headers(frame: pd.DataFrame, where: str) -> None:
    # pandas renames a repeated header "X" to "X.1"; say so instead of guessing which is right.
    mangled = [
        c
        for c in frame.columns
        if re.search(r"\.\d+$", c) and c.rsplit(".", 1)[0] in set(frame.columns)
    ]
    if mangled:
        raise SourceError(
            f"Report export {where} repeats the column(s) "
            f"{', '.join(repr(c.rsplit('.', 1)[0]) for c in mangled)}.",
            action="Fix the report's columns in WalkMe Insights so that each appears once.",
        )


# -------------------------------------------------------------------------------------- SQL


def quote_table(table: str) -> str:
    """``schema.table`` -> ``"schema"."table"`` after checking every part is a plain identifier."""
    parts = table.split(".")
    if not all(_SQL_IDENTIFIER.match(part) for part in parts) or len(parts) > 3:
        raise SourceError(
            f"{table!r} is not a plain table name.",
            action="Use schema.table, or a `query:` instead of `table:`.",
        )
    return ".".join(f'"{part}"' for part in parts)


def sql_for(source: SqlSource) -> str:
    """The SELECT the source runs."""
    if source.query:
        return source.query
    assert source.table is not None  # guaranteed by the config model
    return f"SELECT * FROM {quote_table(source.table)}"


def read_sql_source(source: SqlSource) -> tuple[pd.DataFrame, str]:
    """Run the source's query through its Airflow connection; values become text."""
    from airflow.providers.common.sql.hooks.sql import DbApiHook
    from airflow.sdk import BaseHook

    where = f"sql:{source.conn_id}"
    try:
        hook = BaseHook.get_connection(source.conn_id).get_hook()
    except Exception as exc:  # unknown connection, missing provider: config problem of the source
        raise SourceError(
            f"Cannot open SQL connection {source.conn_id!r}: {type(exc).__name__}: {exc}",
            action="Create the Airflow connection (or AIRFLOW_CONN_<ID> variable) and install "
            "its provider package.",
        ) from exc
    if not isinstance(hook, DbApiHook):
        raise SourceError(
            f"Connection {source.conn_id!r} gives a {type(hook).__name__}, not a SQL hook.",
            action="Point report.source.conn_id at a database connection.",
        )
    try:
        frame = hook.get_df(sql_for(source), df_type="pandas")
    except Exception as exc:  # driver errors have no common base class
        raise SourceError(
            f"Query on {source.conn_id!r} failed: {type(exc).__name__}: {exc}",
            action="Check report.source.query/table and the database.",
        ) from exc
    return _as_text(frame), where


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Database values as text, like a CSV export (null -> empty string)."""
    out = {}
    for column in frame.columns:
        values = frame[column]
        text = values.astype(object).where(values.notna(), "").map(_db_text)
        out[str(column)] = text.astype(str)
    return pd.DataFrame(out, index=pd.RangeIndex(len(frame)))


def _db_text(value: Any) -> str:
    if isinstance(value, datetime | pd.Timestamp):
        return value.isoformat(sep=" ")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# ------------------------------------------------------------------------------- coercion


def require_columns(
    found: list[str], required: Iterable[str], report: ReportDefinition, *, where: str
) -> None:
    """Raise :class:`SourceError` naming the missing columns and those present."""
    missing = [column for column in required if column not in found]
    if not missing:
        return
    near = {m: closest_names(m, found, limit=1) for m in missing}
    near_text = "; ".join(f"{m!r} looks like {n[0]!r}" for m, n in near.items() if n)
    raise SourceError(
        f"Report export {where} lacks required column(s) "
        f"{', '.join(repr(m) for m in missing)} (report {report.name!r}). Columns found: "
        f"{', '.join(repr(c) for c in found) or '(none)'}."
        + (f" Note: {near_text} (names are case-sensitive)." if near_text else ""),
        action="Fix the report's columns in WalkMe Insights (or the integration's key_column "
        "and mappings). Nothing was written.",
    )


@dataclass(frozen=True)
class _Parsed:
    values: pd.Series  # typed, NA where empty or bad
    bad: pd.Series  # bool: non-empty text that did not parse
    expected: str  # "an integer", used in rejection reasons


def _parse_integer(text: pd.Series) -> _Parsed:
    numbers = pd.to_numeric(text, errors="coerce")
    integral = numbers.notna() & (numbers % 1 == 0) & (numbers.abs() < 2**63)
    values = numbers.where(integral).astype("Float64").astype("Int64")
    return _Parsed(values, text.notna() & ~integral, "an integer")


def _parse_number(text: pd.Series, expected: str = "a number") -> _Parsed:
    numbers = pd.to_numeric(text, errors="coerce").astype("Float64")
    finite = numbers.notna() & numbers.abs().lt(float("inf")).fillna(False)
    return _Parsed(numbers.where(finite), text.notna() & ~finite, expected)


def _parse_percent(text: pd.Series) -> _Parsed:
    stripped = text.str.removesuffix("%").str.strip()
    return _parse_number(stripped, "a percentage (87.5 or 87.5%)")


def _parse_boolean(text: pd.Series) -> _Parsed:
    lowered = text.str.lower()
    values = pd.Series(pd.NA, index=text.index, dtype="boolean")
    values[lowered.isin(TRUE_WORDS)] = True
    values[lowered.isin(FALSE_WORDS)] = False
    return _Parsed(values, text.notna() & values.isna(), "a boolean (true/false, yes/no, 1/0)")


def _parse_datetime(text: pd.Series) -> _Parsed:
    stamps = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
    in_range = stamps.notna() & (stamps >= _NS_MIN) & (stamps <= _NS_MAX)
    values = stamps.where(in_range).astype("datetime64[ns, UTC]")
    return _Parsed(
        values, text.notna() & ~in_range, "a date-time (2026-11-24 09:15:02 UTC or ISO 8601)"
    )


def _parse_date(text: pd.Series) -> _Parsed:
    parsed = _parse_datetime(text)
    return _Parsed(parsed.values.dt.floor("D"), parsed.bad, "a date (2026-11-24)")


def _parse_string(text: pd.Series) -> _Parsed:
    return _Parsed(text.astype("string"), pd.Series(False, index=text.index), "text")


PARSERS: dict[str, Callable[[pd.Series], _Parsed]] = {
    "string": _parse_string,
    "email": _parse_string,
    "guid": _parse_string,
    "integer": _parse_integer,
    "number": _parse_number,
    "percent": _parse_percent,
    "boolean": _parse_boolean,
    "datetime": _parse_datetime,
    "date": _parse_date,
}


def parse_column(raw: pd.Series, column: ColumnDef) -> _Parsed:
    """Coerce one text column to its catalog type; empty or blank text is null."""
    text = raw.astype("string").str.strip()
    text = text.mask(text == "")
    return PARSERS[column.type](text)


def coerce_report(
    raw: pd.DataFrame, report: ReportDefinition, *, required: Iterable[str], key_column: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Type the catalog columns present in ``raw``; return (typed rows, rejected outcomes).

    ``raw`` holds text (empty string = null). Rows with an unparseable value in a ``required``
    column are rejected with a reason per bad value; other unparseable values become null.
    """
    required_set = set(required)
    raw = raw.reset_index(drop=True)
    typed: dict[str, pd.Series] = {}
    reasons = pd.Series(pd.NA, index=raw.index, dtype="string")
    for column in report.columns:
        if column.name not in raw.columns:
            continue
        parsed = parse_column(raw[column.name], column)
        typed[column.name] = parsed.values
        if column.name in required_set and bool(parsed.bad.any()):
            bad_values = raw.loc[parsed.bad, column.name].astype(str).str.strip()
            reason = f"{column.name}: " + bad_values.map(repr) + f" is not {parsed.expected}"
            previous = reasons[parsed.bad]
            separator = previous.where(previous.isna(), previous + "; ").fillna("")
            reasons[parsed.bad] = separator + reason
    frame = pd.DataFrame(typed, index=raw.index)
    frame[ROW_COLUMN] = pd.Series(range(1, len(raw) + 1), index=raw.index, dtype="int64")
    rejected = reasons.notna()
    outcomes = _rejected_outcomes(
        frame.loc[rejected, ROW_COLUMN],
        raw.loc[rejected, key_column] if key_column in raw.columns else None,
        reasons[rejected],
    )
    return frame.loc[~rejected].reset_index(drop=True), outcomes


def _rejected_outcomes(rows: pd.Series, keys: pd.Series | None, reasons: pd.Series) -> pd.DataFrame:
    """Outcome rows (shared schema, see ARCHITECTURE.md) for rows rejected at extract."""
    count = len(rows)
    key = (
        keys.astype("string").str.strip()
        if keys is not None
        else pd.Series(pd.NA, index=rows.index, dtype="string")
    )
    return pd.DataFrame(
        {
            "__row": rows.astype("int64").to_numpy(),
            "key": key.to_numpy(),
            "bucket": pd.Series(["rejected"] * count, dtype="string").to_numpy(),
            "reason": reasons.astype("string").to_numpy(),
            "error_code": pd.Series([None] * count, dtype="string").to_numpy(),
            "record_id": pd.Series([None] * count, dtype="string").to_numpy(),
        }
    ).astype({c: "string" for c in OUTCOME_COLUMNS if c != "__row"})


def empty_outcomes() -> pd.DataFrame:
    """An outcome frame with no rows and the shared schema."""
    frame = pd.DataFrame({c: pd.Series(dtype="string") for c in OUTCOME_COLUMNS})
    return frame.astype({"__row": "int64"})


def read_text(data: str, *, where: str = "<text>") -> pd.DataFrame:
    """Read CSV text (tests and tools): same rules as an export file."""
    return read_export_csv(io.BytesIO(data.encode("utf-8")), where=where)

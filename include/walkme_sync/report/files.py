"""WalkMe report exports (CSV) from a local folder or object storage.

``report.source.kind: files``. ``location`` is a local folder (relative paths hang off the project
root), or a ``file://``, ``s3://``, ``gs://``... URL read through Airflow's ``ObjectStoragePath``
with ``conn_id``. Exports are named with their date (``report.export_names``): ``pick: run_date``
reads the export whose name holds the run's date and fails when there is none; ``pick: newest``
reads the export with the latest date in its name (modification time when a name has no date, and
to break ties).
"""

from __future__ import annotations

import codecs
import io
import logging
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import pandas as pd

from include.walkme_sync.config import FileSource
from include.walkme_sync.config.catalog import ReportDefinition
from include.walkme_sync.errors import SourceError
from include.walkme_sync.locations import PROJECT_ROOT
from include.walkme_sync.report.export_names import date_in_file_name

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)


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

    A leading byte-order mark is dropped whatever the configured encoding, and a UTF-16 one
    means the file is UTF-16 (Excel's "Unicode text" exports), whatever the configured encoding.
    """
    encoding = _utf16_if_marked(file, encoding)
    try:
        frame = _read_utf8_as_is(file, encoding)
        if frame is None:
            frame = _read_csv(file, encoding)
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


def _read_csv(file: Path | IO[bytes], encoding: str) -> pd.DataFrame:
    # The pyarrow engine parses several times faster than the C engine (1M rows: ~1 s).
    return pd.read_csv(file, engine="pyarrow", dtype=str, keep_default_na=False, encoding=encoding)


def _read_utf8_as_is(file: Path | IO[bytes], encoding: str) -> pd.DataFrame | None:
    """A `utf-8-sig` export read as UTF-8 bytes as they are; None when that is not done or fails.

    pyarrow reads any encoding but UTF-8 through Python's codecs, decoding and encoding the
    whole file again (1M rows: ~0.2 s of CPU, much of it fresh memory); `utf-8-sig` differs from
    UTF-8 only by the byte-order mark, which pyarrow's reader skips itself. Every value is read
    as text and pyarrow checks that it is valid UTF-8. Anything going wrong here (bad bytes, a
    broken line) is left to the usual read, so its error is the one reported, as before.
    """
    try:
        if codecs.lookup(encoding).name != "utf-8-sig":
            return None
    except LookupError:
        return None
    position = None
    if not isinstance(file, Path):
        if not file.seekable():
            return None
        position = file.tell()
    try:
        return _read_csv(file, "utf-8")
    except Exception:  # any failure: the usual read below reports it
        if not isinstance(file, Path) and position is not None:
            file.seek(position)
        return None


_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def _utf16_if_marked(file: Path | IO[bytes], encoding: str) -> str:
    """`utf-16` when the file starts with a UTF-16 byte-order mark, else `encoding`."""
    if isinstance(file, Path):
        with file.open("rb") as handle:
            start = handle.read(2)
    elif file.seekable():
        position = file.tell()
        start = file.read(2)
        file.seek(position)
    else:
        return encoding
    return "utf-16" if start in _UTF16_BOMS else encoding


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


def read_text(data: str, *, where: str = "<text>") -> pd.DataFrame:
    """Read CSV text (tests and tools): same rules as an export file."""
    return read_export_csv(io.BytesIO(data.encode("utf-8")), where=where)

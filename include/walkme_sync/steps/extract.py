"""Extract: read the report export (or SQL) into typed Parquet; unparseable rows are rejected.

Also snapshots the run's validated config into the run folder, so the later steps of this run use
exactly the config this step used.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import pandas as pd

from include.walkme_sync.config import FileSource, IntegrationConfig
from include.walkme_sync.config.catalog import Catalog, ReportDefinition, load_catalog
from include.walkme_sync.config.models import COMPOSITE_KEY_SEPARATOR
from include.walkme_sync.frames import ROW
from include.walkme_sync.keys import composite_keys
from include.walkme_sync.report.files import read_file_source
from include.walkme_sync.report.parse import coerce_report, require_columns
from include.walkme_sync.report.sql import read_sql_source
from include.walkme_sync.steps.context import (
    EXTRACTED,
    OUTCOME_FILES,
    RunContext,
    Step,
    save_config_snapshot,
)
from include.walkme_sync.storage import write_frame

if TYPE_CHECKING:
    from include.walkme_sync.storage import StoragePath

log = logging.getLogger(__name__)


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


def extract_step(ctx: RunContext) -> dict[str, Any]:
    """Snapshot the config, then read the report into `extracted.parquet`."""
    save_config_snapshot(ctx.folder, ctx.integration)
    summary = extract_report(
        ctx.integration, load_catalog(), run_date=ctx.run_date, out_dir=ctx.folder
    )
    return summary.to_dict()


def extract_report(
    config: IntegrationConfig, catalog: Catalog, *, run_date: date, out_dir: StoragePath
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
    return _write_typed(raw, where, config, report, out_dir)


def _with_composite_key(
    typed: pd.DataFrame, config: IntegrationConfig, report: ReportDefinition
) -> pd.DataFrame:
    """Add the composite key column (named `report.key_column`, e.g. 'User ID + Course Name'):
    every later step treats it as the key column."""
    parts = config.report.key_parts
    types = [getattr(report.column(part), "type", "string") for part in parts]
    keys = composite_keys([typed[part] for part in parts], types, COMPOSITE_KEY_SEPARATOR)
    typed = typed.copy()
    typed[config.report.key_column] = pd.Series(keys, index=typed.index, dtype="string")
    return typed


def _write_typed(
    raw: pd.DataFrame,
    where: str,
    config: IntegrationConfig,
    report: ReportDefinition,
    out_dir: StoragePath,
) -> ExtractSummary:
    require_columns(list(raw.columns), config.required_columns, report, where=where)
    typed, outcomes = coerce_report(
        raw, report, required=config.required_columns, key_column=config.report.key_column
    )
    if config.report.key_columns:
        typed = _with_composite_key(typed, config, report)
    path, outcomes_path = out_dir / EXTRACTED, out_dir / OUTCOME_FILES[Step.EXTRACT]
    write_frame(path, typed, rows_of_report=True)
    write_frame(outcomes_path, outcomes)
    summary = ExtractSummary(
        source=where,
        rows=len(raw),
        loaded=len(typed),
        rejected=len(outcomes),
        path=str(path),
        outcomes_path=str(outcomes_path),
        columns=[c for c in typed.columns if c != ROW],
    )
    log.info(
        "Extracted %s: %d rows, %d loaded, %d rejected",
        where,
        summary.rows,
        summary.loaded,
        summary.rejected,
    )
    return summary

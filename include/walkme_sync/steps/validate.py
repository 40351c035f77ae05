"""Validate: the great-expectations suite on the extracted report; bad keys and duplicates rejected.

A hard failure (key column missing, more rejected rows than `thresholds.max_rejected_rows`) raises
and nothing is written.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from include.walkme_sync.errors import DataValidationError
from include.walkme_sync.frames import KEY
from include.walkme_sync.report.validation import validate_report
from include.walkme_sync.steps.context import EXTRACTED, OUTCOME_FILES, VALIDATED, RunContext, Step
from include.walkme_sync.storage import copy_file, count_rows, read_frame, write_frame

log = logging.getLogger(__name__)


def validate_step(ctx: RunContext) -> dict[str, Any]:
    """Run the suite; write `validated.parquet` and the rejected rows; enforce the threshold."""
    frame = read_frame(ctx.path(EXTRACTED))
    outcome = validate_report(frame, ctx.integration)
    write_frame(ctx.path(OUTCOME_FILES[Step.VALIDATE]), outcome.rejected)
    if len(outcome.rejected) or KEY in frame.columns:
        write_frame(ctx.path(VALIDATED), outcome.kept, rows_of_report=True)
    else:
        # Every row kept (and no report column named like the internal key column, which
        # validation replaces and drops): `kept` is the extracted frame itself, so its file is
        # too. A copy instead of encoding a million rows again.
        copy_file(ctx.path(EXTRACTED), ctx.path(VALIDATED))
    rejected_total = count_rows(ctx.path(OUTCOME_FILES[Step.EXTRACT])) + len(outcome.rejected)
    limit = ctx.integration.thresholds.max_rejected_rows
    if limit is not None and rejected_total > limit:
        raise DataValidationError(
            f"Integration '{ctx.integration.id}': {rejected_total} report rows were rejected, "
            f"more than thresholds.max_rejected_rows={limit}. Nothing was written.",
            action="Look at the rejected rows in the ledger (or this task's log), fix the report "
            "or raise the threshold, then run again.",
        )
    summary = dict(outcome.summary, rejected_total=rejected_total)
    log.info("Validation: %s", json.dumps(summary, default=str))
    return summary

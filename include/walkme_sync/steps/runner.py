"""Run one step and record its status in the run folder, whatever happens.

`record` reads these statuses to tell what each step did, even after a failure. The caller (the
Airflow task adapter, a test, `make sync`) decides what an error means for retries.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from include.walkme_sync.errors import SyncError
from include.walkme_sync.steps.context import (
    RunContext,
    Step,
    StepStatus,
    forget_step_and_later,
    write_step_status,
)


def _step_function(step: Step) -> Callable[[RunContext], dict[str, Any]]:
    # Each step module imports pandas and its own libraries: load only the one that runs.
    if step is Step.EXTRACT:
        from include.walkme_sync.steps.extract import extract_step

        return extract_step
    if step is Step.VALIDATE:
        from include.walkme_sync.steps.validate import validate_step

        return validate_step
    if step is Step.MATCH:
        from include.walkme_sync.steps.match import match_step

        return match_step
    from include.walkme_sync.steps.upsert import upsert_step

    return upsert_step


def run_step(step: Step, ctx: RunContext) -> dict[str, Any]:
    """Run `step` for the run of `ctx`; its status file says how it ended. Errors propagate."""
    forget_step_and_later(ctx.folder, step)
    try:
        summary = _step_function(step)(ctx)
    except SyncError as exc:
        status = StepStatus(ok=False, error=str(exc), kind=exc.category, summary=exc.summary)
        write_step_status(ctx.folder, step, status)
        raise
    except Exception as exc:
        write_step_status(ctx.folder, step, StepStatus(ok=False, error=repr(exc), kind="bug"))
        raise
    write_step_status(ctx.folder, step, StepStatus(ok=True, summary=summary))
    return summary

"""What a step knows about its run: the config snapshot, the run folder and its file names."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from include.walkme_sync.config import IntegrationConfig
from include.walkme_sync.errors import ConfigurationError
from include.walkme_sync.storage import run_dir


class Step(StrEnum):
    """The steps that run before `record`, in order (the value names their status file)."""

    EXTRACT = "extract"
    VALIDATE = "validate"
    MATCH = "match"
    UPSERT = "upsert"


class RunStatus(StrEnum):
    """How a sync ended, in the original product's words."""

    COMPLETED = "Completed"
    FAILED = "Failed"


# Files of one run folder (see docs/ARCHITECTURE.md for their schemas).
CONFIG_SNAPSHOT = "config.json"
EXTRACTED = "extracted.parquet"
VALIDATED = "validated.parquet"
MATCHED = "matched.parquet"
DESCRIBE = "describe.json"
CHANGES = "changes.json"
SUMMARY = "summary.json"
OUTCOME_FILES = {
    Step.EXTRACT: "outcomes_extract.parquet",
    Step.VALIDATE: "outcomes_validate.parquet",
    Step.MATCH: "outcomes_match.parquet",
    Step.UPSERT: "outcomes_write.parquet",
}


@dataclass
class RunContext:
    """Everything a step needs to know about the run it belongs to."""

    integration: IntegrationConfig
    dag_id: str
    run_id: str
    run_date: date
    started_at: datetime
    dry_run: bool = False
    full_sync: bool = False
    folder: Path = field(init=False)

    def __post_init__(self) -> None:
        self.folder = run_dir(self.integration.id, self.run_id)

    def path(self, name: str) -> Path:
        return self.folder / name


@dataclass
class StepStatus:
    """What a step recorded about itself (in `step_<name>.json`), for `record` to read."""

    ok: bool
    summary: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    kind: str | None = None  # the error's category, or "bug" for an unexpected exception

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def save_config_snapshot(folder: Path, config: IntegrationConfig) -> None:
    """Freeze the run's validated config: later steps read this, never the YAML folder.

    An edit made while a run is in flight then applies to the next run only, and each task loads
    one small file instead of validating every integration.
    """
    text = json.dumps(config.model_dump(mode="json"), indent=1)
    target = folder / CONFIG_SNAPSHOT
    tmp = target.with_suffix(".json.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(target)


def load_config_snapshot(folder: Path) -> IntegrationConfig | None:
    """The config frozen by this run's extract step, or None before it ran."""
    path = folder / CONFIG_SNAPSHOT
    if not path.exists():
        return None
    try:
        return IntegrationConfig.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except ValueError as exc:
        raise ConfigurationError(
            f"The config snapshot {path} of this run cannot be read: {exc}",
            action="Trigger a new run: its extract step snapshots the current config.",
        ) from None


def write_step_status(folder: Path, step: Step, status: StepStatus) -> None:
    """Record a step's outcome (summary or error) next to its files; written atomically."""
    target = folder / f"step_{step}.json"
    tmp = target.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(status.to_dict(), default=str, indent=2), encoding="utf-8")
    tmp.replace(target)


def read_step_status(folder: Path, step: Step) -> StepStatus | None:
    """The status a step recorded, or None when the step never ran."""
    target = folder / f"step_{step}.json"
    if not target.exists():
        return None
    return StepStatus(**json.loads(target.read_text(encoding="utf-8")))


def forget_step_and_later(folder: Path, step: Step) -> None:
    """A re-run of a step invalidates what it and the later steps wrote before."""
    steps = list(Step)
    for later in steps[steps.index(step) :]:
        (folder / f"step_{later}.json").unlink(missing_ok=True)
        (folder / OUTCOME_FILES[later]).unlink(missing_ok=True)

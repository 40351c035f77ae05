"""What a step knows about its run: the config snapshot, the run folder and its file names."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from include.walkme_sync.config import IntegrationConfig
from include.walkme_sync.errors import ConfigurationError
from include.walkme_sync.storage import read_json, read_json_files, remove, run_dir, write_json

if TYPE_CHECKING:
    from include.walkme_sync.storage import StoragePath


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
#: One JSON file per attempt of a step that calls Salesforce: its API-call count, kept up to date
#: while it runs (kept when the attempt fails or is killed; `record` adds them all up).
API_CALLS_FOLDER = "api_calls"
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
    folder: StoragePath = field(init=False)

    def __post_init__(self) -> None:
        self.folder = run_dir(self.integration.id, self.run_id)

    def path(self, name: str) -> StoragePath:
        """A file of this run's folder, under the storage root (local or object storage)."""
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


def save_config_snapshot(folder: StoragePath, config: IntegrationConfig) -> None:
    """Freeze the run's validated config: later steps read this, never the YAML folder.

    An edit made while a run is in flight then applies to the next run only, and each task loads
    one small file instead of validating every integration.
    """
    write_json(folder / CONFIG_SNAPSHOT, config.model_dump(mode="json"))


def load_config_snapshot(folder: StoragePath) -> IntegrationConfig | None:
    """The config frozen by this run's extract step, or None before it ran."""
    path = folder / CONFIG_SNAPSHOT
    try:
        raw = read_json(path)
        return None if raw is None else IntegrationConfig.model_validate(raw)
    except ValueError as exc:
        raise ConfigurationError(
            f"The config snapshot {path} of this run cannot be read: {exc}",
            action="Trigger a new run: its extract step snapshots the current config.",
        ) from None


def write_step_status(folder: StoragePath, step: Step, status: StepStatus) -> None:
    """Record a step's outcome (summary or error) next to its files; written whole or not at all."""
    write_json(folder / f"step_{step}.json", status.to_dict())


def read_step_status(folder: StoragePath, step: Step) -> StepStatus | None:
    """The status a step recorded, or None when the step never ran."""
    raw = read_json(folder / f"step_{step}.json")
    return None if raw is None else StepStatus(**raw)


def forget_step_and_later(folder: StoragePath, step: Step) -> None:
    """A re-run of a step invalidates what it and the later steps wrote before."""
    steps = list(Step)
    for later in steps[steps.index(step) :]:
        remove(folder / f"step_{later}.json")
        remove(folder / OUTCOME_FILES[later])


def api_call_journal(ctx: RunContext, step: Step) -> Callable[[dict[str, Any]], None]:
    """Where one attempt of `step` keeps its API-call count (a new file per attempt)."""
    path = ctx.path(API_CALLS_FOLDER) / f"{step}-{uuid.uuid4().hex}.json"

    def save(snapshot: dict[str, Any]) -> None:
        write_json(path, snapshot)

    return save


def api_calls_spent(folder: StoragePath) -> tuple[int, dict[str, int]]:
    """API calls every attempt of every step of the run spent, and their kinds."""
    total = 0
    kinds: Counter[str] = Counter()
    for journal in read_json_files(folder / API_CALLS_FOLDER):
        total += int(journal.get("calls", 0))
        kinds.update({str(k): int(v) for k, v in (journal.get("calls_by_kind") or {}).items()})
    return total, dict(kinds)

"""Config problems: one per mistake, with file, field path, YAML line and a fix hint."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from include.walkme_sync.config.models import IntegrationConfig
from include.walkme_sync.errors import ConfigurationError
from include.walkme_sync.locations import (
    PROJECT_ROOT,
)


@dataclass(frozen=True)
class ConfigProblem:
    """One problem in one config file, with where it is and how to fix it."""

    file: str
    path: str
    message: str
    hint: str | None = None
    severity: Literal["error", "warning"] = "error"
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        parts = [where]
        if self.path:
            parts.append(self.path)
        label = "warning: " if self.severity == "warning" else ""
        text = ": ".join(parts) + f": {label}{self.message}"
        return f"{text}. Fix: {self.hint}" if self.hint else text


class ConfigValidationError(ConfigurationError):
    """A config file has errors; ``problems`` lists all of them."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        errors = [p for p in problems if p.severity == "error"]
        files = sorted({p.file for p in errors})
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(
            f"{len(errors)} configuration error(s) in {', '.join(files) or 'the config'}:\n{lines}",
            action="Fix each problem listed (file: field: message. Fix: hint), then validate "
            "again with `make validate`.",
        )


@dataclass
class LoadResult:
    """Valid integrations, and every file's problems (errors and warnings)."""

    integrations: list[IntegrationConfig]
    problems: dict[str, list[ConfigProblem]]
    ids_by_file: dict[str, str] = field(default_factory=dict)

    def errors(self) -> list[ConfigProblem]:
        """All error problems, in file order."""
        return [p for ps in self.problems.values() for p in ps if p.severity == "error"]

    def warnings(self) -> list[ConfigProblem]:
        """All warnings, in file order."""
        return [p for ps in self.problems.values() for p in ps if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        """True when no file has an error."""
        return not self.errors()

    def by_id(self) -> dict[str, IntegrationConfig]:
        """Valid integrations by id."""
        return {integration.id: integration for integration in self.integrations}


Loc = tuple[str | int, ...]


def format_path(loc: Iterable[str | int]) -> str:
    """``("mappings", 2, "field")`` -> ``"mappings[2].field"``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def display_path(path: Path) -> str:
    """Paths in messages: relative to the project root when inside it."""
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)

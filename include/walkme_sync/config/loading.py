"""Load integration YAML files: every problem of every file at once, with line numbers.

A file with an error yields no integration (so no DAG); warnings never block; a bad file never hides
the good ones. Integration ids must be unique across files.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import (
    ValidationError,
)

from include.walkme_sync.config.catalog import (
    Catalog,
    load_catalog,
)
from include.walkme_sync.config.messages import problem_from_pydantic
from include.walkme_sync.config.models import IntegrationConfig
from include.walkme_sync.config.problems import (
    ConfigProblem,
    ConfigValidationError,
    LoadResult,
    Loc,
    display_path,
)
from include.walkme_sync.config.rules import cross_field_problems, text_or_none
from include.walkme_sync.config.safe_yaml import UnsafeYamlError, load_yaml
from include.walkme_sync.errors import ConfigurationError
from include.walkme_sync.locations import (
    DEFAULT_INTEGRATIONS_FOLDER,
    INTEGRATIONS_DIR_ENV,
    PROJECT_ROOT,
)

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _line_numbers(text: str) -> dict[Loc, int]:
    """1-based YAML line of every key and list item, by location (only computed on problems)."""
    lines: dict[Loc, int] = {}

    def walk(node: yaml.Node, loc: Loc) -> None:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                child = (*loc, str(key_node.value))
                lines[child] = key_node.start_mark.line + 1
                walk(value_node, child)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                lines[(*loc, i)] = item.start_mark.line + 1
                walk(item, (*loc, i))

    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError:
        return lines
    if root is not None:
        walk(root, ())
    return lines


def _with_lines(found: list[tuple[Loc, ConfigProblem]], text: str) -> list[ConfigProblem]:
    lines = _line_numbers(text)
    result = []
    for loc, problem in found:
        line = next((lines[loc[:n]] for n in range(len(loc), 0, -1) if loc[:n] in lines), None)
        result.append(_replace_line(problem, line))
    # Top to bottom, as the user reads the file.
    return sorted(result, key=lambda problem: problem.line or 0)


def _replace_line(problem: ConfigProblem, line: int | None) -> ConfigProblem:
    return ConfigProblem(
        problem.file, problem.path, problem.message, problem.hint, problem.severity, line
    )


def _read_yaml(path: Path, file: str) -> tuple[Any, str, list[ConfigProblem]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return (
            None,
            "",
            [ConfigProblem(file, "", f"cannot read the file: {exc}", "save it as UTF-8 text")],
        )
    try:
        return load_yaml(text), text, []
    except UnsafeYamlError as exc:
        return None, "", [ConfigProblem(file, "", exc.message, exc.hint, line=exc.line)]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        detail = getattr(exc, "problem", None) or str(exc)
        return (
            None,
            text,
            [
                ConfigProblem(
                    file,
                    "",
                    f"YAML syntax error: {detail}",
                    "check indentation, colons and quotes on that line (quote values "
                    "containing ': ' or starting with special characters such as * & ! # @)",
                    line=line,
                )
            ],
        )


def _validate(
    path: Path, catalog: Catalog
) -> tuple[IntegrationConfig | None, list[ConfigProblem], str | None]:
    """Validate one file: (config or None, problems, raw id when readable)."""
    file = display_path(path)
    raw, text, problems = _read_yaml(path, file)
    if problems:
        return None, problems, None
    if not isinstance(raw, dict):
        return (
            None,
            [
                ConfigProblem(
                    file,
                    "",
                    "the file must be a mapping of keys (id, name, report, object, mappings...)",
                    "start from demo/integrations/login_review_to_lead.yaml",
                )
            ],
            None,
        )
    raw_id = text_or_none(raw.get("id"))
    found: list[tuple[Loc, ConfigProblem]] = []
    config: IntegrationConfig | None = None
    try:
        config = IntegrationConfig.model_validate(
            {**{k: v for k, v in raw.items() if k != "source_file"}, "source_file": file}
        )
    except ValidationError as exc:
        found += [problem_from_pydantic(error, file) for error in exc.errors()]
    found += cross_field_problems(raw, catalog, file)
    if not found:
        return config, [], raw_id
    problems = _with_lines(found, text)
    has_error = any(p.severity == "error" for p in problems)
    return (None if has_error else config), problems, raw_id


def integrations_folder(folder: Path | None = None) -> Path:
    """``folder``, else ``$WALKME_SYNC_INTEGRATIONS_DIR``, else ``dags/integrations``."""
    if folder is not None:
        return Path(folder)
    env = os.environ.get(INTEGRATIONS_DIR_ENV)
    return Path(env) if env else DEFAULT_INTEGRATIONS_FOLDER


def load_integrations(folder: Path | None = None, catalog: Catalog | None = None) -> LoadResult:
    """Load and validate every ``*.yaml`` integration in ``folder``, sorted by file name.

    Never raises for a bad file: its problems are in ``LoadResult.problems`` and it yields no
    integration. Integration ids must be unique across files (both files get an error).
    """
    catalog = catalog if catalog is not None else load_catalog()
    folder = integrations_folder(folder)
    if not folder.is_dir():
        problem = ConfigProblem(
            display_path(folder),
            "",
            "the integrations folder does not exist",
            f"create it, or set {INTEGRATIONS_DIR_ENV} to the folder holding the YAML files",
        )
        return LoadResult([], {problem.file: [problem]})
    files = sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")], key=lambda p: p.name)
    configs: dict[str, IntegrationConfig] = {}
    problems: dict[str, list[ConfigProblem]] = {}
    ids_by_file: dict[str, str] = {}
    for path in files:
        config, file_problems, raw_id = _validate(path, catalog)
        file = display_path(path)
        if file_problems:
            problems[file] = file_problems
        if config is not None:
            configs[file] = config
        if raw_id is not None:
            ids_by_file[file] = raw_id
    _flag_duplicate_ids(ids_by_file, configs, problems)
    return LoadResult(list(configs.values()), problems, ids_by_file)


def load_integration_by_id(
    integration_id: str, folder: Path | None = None, catalog: Catalog | None = None
) -> tuple[IntegrationConfig, list[ConfigProblem]] | None:
    """The one valid integration with this id and its warnings, reading only its own file.

    Files are picked by a top-level `id: <integration_id>` line; None when no file or several
    files have it, or it does not load: the caller then loads the whole folder, whose answer
    (duplicate ids included) is the reference.
    """
    folder = integrations_folder(folder)
    if not folder.is_dir():
        return None
    id_line = re.compile(rf"^id:[ \t]*(['\"]?){re.escape(integration_id)}\1[ \t]*(#.*)?$", re.M)
    files = [*folder.glob("*.yaml"), *folder.glob("*.yml")]
    candidates = [path for path in files if id_line.search(_text_or_empty(path))]
    if len(candidates) != 1:
        return None
    config, problems, _raw_id = _validate(
        candidates[0], catalog if catalog is not None else load_catalog()
    )
    if config is None or config.id != integration_id:
        return None
    return config, problems


def _text_or_empty(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _flag_duplicate_ids(
    ids_by_file: dict[str, str],
    configs: dict[str, IntegrationConfig],
    problems: dict[str, list[ConfigProblem]],
) -> None:
    files_by_id: dict[str, list[str]] = {}
    for file, integration_id in ids_by_file.items():
        files_by_id.setdefault(integration_id, []).append(file)
    for integration_id, files in files_by_id.items():
        if len(files) < 2:
            continue
        for file in files:
            others = ", ".join(other for other in files if other != file)
            problems.setdefault(file, []).append(
                ConfigProblem(
                    file,
                    "id",
                    f"integration id {integration_id!r} is also used by {others}",
                    "give each integration its own id (the DAG id is walkme_sync__<id>)",
                )
            )
            configs.pop(file, None)


def load_integration(path: Path, catalog: Catalog | None = None) -> IntegrationConfig:
    """Load one integration file; raises :class:`ConfigValidationError` listing all its errors."""
    catalog = catalog if catalog is not None else load_catalog()
    config, problems, _raw_id = _validate(Path(path), catalog)
    if config is None:
        raise ConfigValidationError(problems)
    return config


def load_integration_for_run(integration_id: str, file: str) -> IntegrationConfig:
    """The integration a run is for, from its own file (one file read, not the whole folder).

    `file` is the config file the DAG was built from (relative to the project root, or absolute).
    When it no longer holds this integration (renamed, moved, id changed), the folder is searched.
    """
    path = Path(file) if Path(file).is_absolute() else PROJECT_ROOT / file
    if path.is_file():
        config = load_integration(path)
        if config.id == integration_id:
            return config
    return find_integration(integration_id)


def find_integration(integration_id: str, folder: Path | None = None) -> IntegrationConfig:
    """The valid integration with this id; raises ConfigurationError (with its problems if its
    file is invalid, or the known ids if there is no such integration)."""
    result = load_integrations(folder)
    for integration in result.integrations:
        if integration.id == integration_id:
            return integration
    files = [file for file, raw_id in result.ids_by_file.items() if raw_id == integration_id]
    file_problems = [p for file in files for p in result.problems.get(file, [])]
    if file_problems:
        raise ConfigValidationError(file_problems)
    known = sorted(integration.id for integration in result.integrations)
    raise ConfigurationError(
        f"No integration with id {integration_id!r} in {integrations_folder(folder)}. "
        f"Known ids: {', '.join(known) or '(none)'}.",
        action="Check the id, or restore the integration's YAML file.",
    )

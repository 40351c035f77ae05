"""DAG integrity: what `astro dev parse` (and so `astro deploy`) runs before an image ships.

The Astro CLI runs `pytest .astro/test_dag_integrity_default.py` in a container built from the
project image, after copying dags/, plugins/, include/, tests/ and .astro/ into it. The file
`astro dev init` generates for that does not work with Airflow 3.3.0-3.3.2 (it calls
`DagBag(include_examples=False)`, an argument those releases removed), so this is the project's
own version. It checks, for the project's dags/ folder:

* every DAG file imports without an error (one test per file, so an empty integrations folder still
  yields a test and pytest does not exit with "no tests collected");
* every integration file under the integrations folder is valid: an invalid one would deploy as a
  never-scheduled `walkme_sync__invalid__<file>` DAG that syncs nothing, so it fails here instead.

A file listed in `.astro/dag_integrity_exceptions.txt` (one path per line, relative to the project
root, e.g. `dags/integrations/draft.yaml`) is reported but does not fail the check.

Unlike the CLI's template, this file does not stub connections, variables or environment
variables: DAG files here must not read them at parse time, so a parse that needs one is an error.
It runs the same way on a laptop: `.venv/bin/pytest .astro/test_dag_integrity_default.py`, and
`make test` runs it (tests/dags/test_astro_project.py).
"""

from __future__ import annotations

import os
import sys
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from airflow.models import DagBag

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DAGS_FOLDER = PROJECT_ROOT / "dags"
EXCEPTIONS_FILE = PROJECT_ROOT / ".astro" / "dag_integrity_exceptions.txt"
#: Tag and description prefix of the placeholder DAG built for an invalid integration file.
CONFIG_ERROR_TAG = "config-error"
INVALID_CONFIG_PREFIX = "INVALID integration config "

# DAG files import `include.walkme_sync`; the Astro image puts the project root on the path, a
# checkout may not. A laptop run keeps Airflow's files in var/ like `make run` (the image sets
# AIRFLOW_HOME itself).
sys.path.insert(0, str(PROJECT_ROOT))
os.environ.setdefault("AIRFLOW_HOME", str(PROJECT_ROOT / "var" / "airflow"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")


def relative(path: str | Path) -> str:
    """A DagBag path (absolute, or relative to the DAGs folder) relative to the project root."""
    absolute = DAGS_FOLDER / path  # unchanged if `path` is absolute
    try:
        return absolute.resolve().relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return str(path)


@cache
def exceptions() -> frozenset[str]:
    if not EXCEPTIONS_FILE.is_file():
        return frozenset()
    lines = (line.strip() for line in EXCEPTIONS_FILE.read_text(encoding="utf-8").splitlines())
    return frozenset(line for line in lines if line and not line.startswith("#"))


@cache
def parse_dags_folder() -> DagBag:
    from airflow.models import DagBag  # after AIRFLOW_HOME is settled

    return DagBag(dag_folder=str(DAGS_FOLDER))


def dag_files() -> list[str]:
    """Every file the DAG processor would parse: those that loaded and those that failed."""
    bag = parse_dags_folder()
    files = {relative(stat.file) for stat in bag.dagbag_stats}
    files |= {relative(file) for file in bag.import_errors}
    return sorted(files)


def invalid_integrations() -> dict[str, str]:
    """Integration file -> the problems its placeholder DAG shows."""
    found = {}
    for dag in parse_dags_folder().dags.values():
        if CONFIG_ERROR_TAG not in dag.tags:
            continue
        description = dag.description or ""
        file = description.removeprefix(INVALID_CONFIG_PREFIX) or dag.dag_id
        found[file] = dag.doc_md or description
    return found


@pytest.mark.parametrize("dag_file", dag_files())
def test_dag_file_imports_without_errors(dag_file: str) -> None:
    errors = {
        relative(file): message for file, message in parse_dags_folder().import_errors.items()
    }
    if dag_file in errors and dag_file not in exceptions():
        pytest.fail(f"{dag_file} failed to import:\n{errors[dag_file]}", pytrace=False)


def test_dags_folder_holds_the_dag_file() -> None:
    """Guard against a vacuous pass: the folder parsed is the project's, with its DAG file."""
    assert "dags/integrations.py" in dag_files(), f"{DAGS_FOLDER} holds no integrations.py"


def test_integration_files_are_valid() -> None:
    failing = {
        file: problems
        for file, problems in invalid_integrations().items()
        if file not in exceptions()
    }
    if failing:
        pytest.fail(
            "\n\n".join(
                f"{file} is not a valid integration:\n{text}" for file, text in failing.items()
            ),
            pytrace=False,
        )

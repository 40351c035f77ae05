"""What the production image gets: the Docker build context after `.dockerignore`.

The Astro Dockerfile copies the whole build context into /usr/local/airflow, so the context IS the
deployment. These tests apply `.dockerignore` to the repository's files (tracked, plus untracked
files git does not ignore) and check that the product is in and that tests, benchmarks, scripts,
the demo and the local Salesforce are out.

The matcher follows Docker's rules (moby/patternmatcher): patterns are relative to the context root
and anchored there, `*` and `?` never cross a `/`, `**/` matches any number of folders (none
included), a pattern that matches a folder excludes everything in it, `!` re-includes, and the last
matching pattern wins. Character classes and escapes are not supported: `.dockerignore` does not
use them, and the matcher refuses them rather than guess.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERIGNORE = ROOT / ".dockerignore"

#: Everything at the top of the image's project folder; a new top-level entry must be classified.
#: The Astro Runtime's ONBUILD steps copy requirements.txt and packages.txt: both must be there.
PRODUCT_TOP_LEVEL = {"Dockerfile", "requirements.txt", "packages.txt", "dags", "plugins", "include"}
#: Folders whose every repository file must reach the image.
PRODUCT_FOLDERS = ("dags/", "plugins/", "include/walkme_sync/", "include/reports/")
#: Never in the image, even before they exist (sf_emulator/ is where the emulator is moving).
NOT_SHIPPED_FOLDERS = (
    "tests/",
    "benchmarks/",
    "scripts/",
    "docs/",
    "demo/",
    "sf_emulator/",
    "include/sf_emulator/",
    ".astro/",  # Astro CLI files: `astro dev parse` copies .astro/ into its test container itself
)


@dataclass(frozen=True)
class Pattern:
    regex: re.Pattern[str]
    exclusion: bool  # a `!pattern`: re-includes what it matches


def compile_pattern(line: str) -> Pattern:
    """One `.dockerignore` line as Docker compiles it (see the module docstring)."""
    exclusion = line.startswith("!")
    text = line[1:].strip() if exclusion else line
    if any(char in text for char in "[]\\"):
        raise ValueError(f"{line!r}: character classes and escapes are not supported here")
    # Docker cleans the pattern like a path: no leading "/", "./" or trailing "/".
    text = "/".join(part for part in text.split("/") if part not in ("", "."))
    regex, rest = "", text
    while rest:
        if rest.startswith("**"):
            # As moby does: `**` eats a following "/"; at the end it is anything, else any folders.
            rest = rest[3:] if rest.startswith("**/") else rest[2:]
            regex += "(.*/)?" if rest else ".*"
        elif rest[0] == "*":
            regex, rest = regex + "[^/]*", rest[1:]
        elif rest[0] == "?":
            regex, rest = regex + "[^/]", rest[1:]
        else:
            regex, rest = regex + re.escape(rest[0]), rest[1:]
    return Pattern(re.compile(f"^{regex}$"), exclusion)


def parse_dockerignore(text: str) -> list[Pattern]:
    lines = (line.strip() for line in text.splitlines())
    return [compile_pattern(line) for line in lines if line and not line.startswith("#")]


def is_ignored(path: str, patterns: list[Pattern]) -> bool:
    """Docker's MatchesOrParentMatches: the last pattern matching the path or a parent wins."""
    parts = path.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for pattern in patterns:
        if pattern.exclusion != ignored:
            continue  # cannot change the outcome
        if any(pattern.regex.match(candidate) for candidate in candidates):
            ignored = not pattern.exclusion
    return ignored


@cache
def repository_files() -> tuple[str, ...]:
    """Files of the working tree a build would see: tracked ones plus untracked, not ignored."""
    git = shutil.which("git")
    if git is None or not (ROOT / ".git").exists():
        pytest.skip("needs a git checkout to list the repository's files")
    listed = subprocess.run(
        [git, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    # Files deleted in the working tree are still in the index but not in a build context.
    return tuple(sorted({p for p in listed.split("\0") if p and (ROOT / p).is_file()}))


def image_context(dockerignore: str | None = None) -> set[str]:
    """The files `docker build` (and so the image) gets from this repository."""
    text = DOCKERIGNORE.read_text(encoding="utf-8") if dockerignore is None else dockerignore
    patterns = parse_dockerignore(text)
    return {path for path in repository_files() if not is_ignored(path, patterns)}


# ------------------------------------------------------------------------------- the matcher


@pytest.mark.parametrize(
    ("pattern", "path", "ignored"),
    [
        ("tests", "tests/unit/test_config.py", True),  # a folder takes its whole tree
        ("tests", "tests", True),
        ("tests", "include/tests/x.py", False),  # anchored at the context root
        ("tests", "tests_extra.py", False),
        ("/docs/", "docs/a.md", True),  # cleaned like a path
        ("include/sf_emulator", "include/sf_emulator/schema/Lead.yaml", True),
        ("include/sf_emulator", "include/sf_emulator_notes.txt", False),
        ("*.md", "README.md", True),
        ("*.md", "dags/integrations/README.md", False),  # `*` never crosses a `/`
        ("**/*.md", "dags/integrations/README.md", True),
        ("**/__pycache__", "__pycache__/x.pyc", True),  # `**/` matches no folder too
        ("include/**", "include/walkme_sync/config.py", True),
        ("**/__pycache__", "include/walkme_sync/__pycache__/config.cpython-311.pyc", True),
        ("dags/?.py", "dags/a.py", True),
        ("dags/?.py", "dags/ab.py", False),
    ],
)
def test_matcher_follows_docker_rules(pattern: str, path: str, ignored: bool) -> None:
    assert is_ignored(path, parse_dockerignore(pattern)) is ignored


def test_matcher_last_pattern_wins_and_exclusions_reinclude() -> None:
    patterns = parse_dockerignore("docs\n!docs/keep.md\n# comment\n\ndocs/keep.md")
    assert is_ignored("docs/a.md", patterns)
    assert is_ignored("docs/keep.md", patterns)  # the last line excludes it again
    assert not is_ignored("docs/keep.md", parse_dockerignore("docs\n!docs/keep.md"))


def test_matcher_refuses_what_it_does_not_implement() -> None:
    with pytest.raises(ValueError, match="not supported"):
        parse_dockerignore("file[0-9].txt")


# ------------------------------------------------------------------------- the image context


def test_image_holds_only_the_product_at_the_top() -> None:
    top_level = {path.split("/")[0] for path in image_context()}
    assert top_level == PRODUCT_TOP_LEVEL


def test_image_holds_every_product_file() -> None:
    context = image_context()
    product = {path for path in repository_files() if path.startswith(PRODUCT_FOLDERS)}
    assert product - context == set()
    assert {"dags/integrations.py", "dags/.airflowignore", "include/__init__.py"} <= context
    assert any(path.startswith("plugins/") and path.endswith(".py") for path in context)
    assert "include/walkme_sync/config/models.py" in context
    assert any(re.fullmatch(r"include/reports/[^/]+\.yaml", path) for path in context)


def test_image_holds_no_test_demo_emulator_or_benchmark_file() -> None:
    context = image_context()
    assert [path for path in context if path.startswith(NOT_SHIPPED_FOLDERS)] == []
    assert [path for path in context if path.endswith(".csv")] == []  # no sample export
    assert "airflow_settings.yaml" not in context  # demo connections, local only
    assert not {"requirements-dev.txt", "requirements-distributed.txt"} & context


def test_image_ships_the_integrations_folder_without_integrations() -> None:
    """The folder exists in the image (its README) so the engine finds it; no integration is in."""
    shipped = {path for path in image_context() if path.startswith("dags/integrations/")}
    assert shipped == {"dags/integrations/README.md"}


@pytest.mark.parametrize(
    "path",
    [
        ".venv/bin/python",
        "var/storage/ledger.db",
        ".git",  # a file in a git worktree
        ".git/HEAD",
        "include/walkme_sync/__pycache__/config.cpython-311.pyc",
        "dags/__pycache__/integrations.cpython-311.pyc",
        ".pytest_cache/README.md",
        ".mypy_cache/3.11/x.json",
        ".ruff_cache/CACHEDIR.TAG",
        "sf_emulator/__init__.py",  # where the emulator is moving
        "include/sf_emulator/__init__.py",
        "demo/integrations/login_review_to_lead.yaml",
        ".env",  # `astro dev start`'s environment file: local settings, maybe secrets
        ".astro/config.yaml",
        ".astro/standalone/airflow.db",  # `astro dev start --standalone` state
    ],
)
def test_local_state_and_moved_folders_stay_out(path: str) -> None:
    # Git-ignored or not yet existing: not in repository_files(), so checked by name.
    patterns = parse_dockerignore(DOCKERIGNORE.read_text(encoding="utf-8"))
    assert is_ignored(path, patterns), f"{path} would be copied into the image"


def test_the_checks_fail_when_dockerignore_lets_the_demo_in() -> None:
    """Guard against a vacuous context: without the `demo` line the demo files do reach it."""
    without_demo = "\n".join(
        line
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() != "demo"
    )
    leaked = image_context(without_demo) - image_context()
    assert "demo/sample_data.py" in leaked
    assert any(path.endswith(".csv") for path in leaked)

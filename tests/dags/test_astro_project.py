"""The Astro project and the deployment guide: what `astro dev parse` / `astro deploy` rely on.

* The files `astro dev init` creates are present, and the Dockerfile's Astro Runtime tag matches the
  Airflow and Python versions the tests run on.
* `.astro/test_dag_integrity_default.py` (what `astro dev parse` and `astro deploy` run) passes on
  the project and fails on a broken DAG file or integration, run in a fresh interpreter as the CLI
  runs it in its test container.
* The layout the README gives for MWAA and Cloud Composer (include/ inside the DAGs folder) parses.
* README "Deploy" names only settings, connections and commands that exist, and the image tag the
  Dockerfile uses.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import typing
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
INTEGRITY_TEST = ".astro/test_dag_integrity_default.py"
RUNTIME_IMAGE = "astrocrpublic.azurecr.io/runtime"
DEMO_DAG_IDS = {
    "walkme_sync__login_review_to_lead",
    "walkme_sync__logins_to_contact",
    "walkme_sync__logins_to_usage_data",
    "walkme_sync__nps_to_contact",
    "walkme_sync__onboarding_to_contact",
    "walkme_sync__teachme_to_course_progress",
}

#: Named by the README but still being built on the main branch (issue 7). When they land, the
#: strict xfail below turns into a failure: then remove them from these sets.
PENDING_SETTINGS: set[str] = set()
PENDING_MAKE_TARGETS: set[str] = set()


def readme_section(title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\b.*?(?=^## |\Z)", README, re.M | re.S)
    assert match, f"README has no '## {title}' section"
    return match.group(0)


DEPLOY = readme_section("Deploy")


def dockerfile_base_image() -> tuple[str, str]:
    lines = (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines()
    froms = [line.split()[1] for line in lines if line.upper().startswith("FROM ")]
    assert len(froms) == 1, froms
    image, _, tag = froms[0].partition(":")
    return image, tag


# --------------------------------------------------------------------------- the Astro project


def test_astro_project_has_what_astro_dev_init_creates() -> None:
    for path in (
        "Dockerfile",
        "requirements.txt",
        "packages.txt",
        "airflow_settings.yaml",
        "dags/.airflowignore",
        ".astro/config.yaml",
        ".astro/dag_integrity_exceptions.txt",
        INTEGRITY_TEST,
    ):
        assert (ROOT / path).is_file(), f"{path} is missing"
    name = yaml.safe_load((ROOT / ".astro/config.yaml").read_text(encoding="utf-8"))["project"]
    # The CLI names the local Docker Compose project after it: keep to [a-z0-9_-].
    assert re.fullmatch(r"[a-z0-9][a-z0-9_-]*", name["name"])


def test_packages_txt_holds_only_apt_package_names() -> None:
    """The runtime's ONBUILD step feeds this file to apt-get. Astro Runtime 9.x stripped `#`
    comments first; for the Airflow 3 runtimes that is not documented, so no comments here."""
    lines = (ROOT / "packages.txt").read_text(encoding="utf-8").splitlines()
    bad = [
        line for line in lines if line.strip() and not re.fullmatch(r"[a-z0-9][a-z0-9+.-]+", line)
    ]
    assert bad == []


def test_dockerfile_uses_the_astro_runtime_for_our_airflow_and_python() -> None:
    image, tag = dockerfile_base_image()
    assert image == RUNTIME_IMAGE  # Airflow 3 runtimes; quay.io/astronomer/astro-runtime is 2.x
    # Airflow 3 runtime tags: <airflow major>.<airflow minor>-<runtime patch>[-python-<X.Y>]
    match = re.fullmatch(r"(\d+)\.(\d+)-(\d+)-python-(\d+\.\d+)", tag)
    assert match, f"{tag!r} is not a pinned Airflow 3 runtime tag with its Python version"
    dev_pin = re.search(
        r"^apache-airflow==(\d+)\.(\d+)\.\d+$",
        (ROOT / "requirements-dev.txt").read_text(encoding="utf-8"),
        re.M,
    )
    assert dev_pin, "requirements-dev.txt must pin apache-airflow (the tests' Airflow)"
    assert match.group(1, 2) == dev_pin.groups()
    assert match.group(4) == f"{sys.version_info.major}.{sys.version_info.minor}"


def test_requirements_leave_airflow_to_the_image() -> None:
    """Airflow comes with the runtime image, which decides its version (the ONBUILD step of Astro
    Runtime 9.x refused a line matching `apache-airflow\\s*[=~>]{1,2}.*`). Local development adds
    it in requirements-dev.txt."""
    pin = re.compile(r"apache-airflow\s*[=~>]{1,2}.*")
    lines = (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
    assert [line for line in lines if pin.fullmatch(line.strip())] == []
    assert "apache-airflow-providers-salesforce" in "\n".join(lines)  # not in Runtime 3.x


# ------------------------------------------------------------- the DAG integrity check (parse)


def clean_env(**settings: str) -> dict[str, str]:
    """A fresh container's environment: none of this session's Airflow or sync settings."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AIRFLOW", "WALKME_SYNC_", "PYTEST_")) and key != "PYTHONPATH"
    }
    return {**env, "AIRFLOW__CORE__LOAD_EXAMPLES": "False", **settings}


def run_parse_check(project: Path, env: dict[str, str]) -> tuple[int, str]:
    """`pytest .astro/test_dag_integrity_default.py`, the command `astro dev parse` runs."""
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", INTEGRITY_TEST, "-q", "-rA", "-p", "no:cacheprovider"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return completed.returncode, completed.stdout + completed.stderr


def outcomes(output: str) -> dict[str, str]:
    """Test id -> PASSED/FAILED from pytest's `-rA` summary."""
    found = re.findall(rf"^(PASSED|FAILED) {re.escape(INTEGRITY_TEST)}::(\S+)", output, re.M)
    return {test: outcome for outcome, test in found}


def test_parse_check_passes_on_the_project(tmp_path: Path) -> None:
    code, output = run_parse_check(ROOT, clean_env(AIRFLOW_HOME=str(tmp_path / "airflow")))
    assert code == 0, output
    assert outcomes(output) == {
        "test_dag_file_imports_without_errors[dags/integrations.py]": "PASSED",
        "test_dags_folder_holds_the_dag_file": "PASSED",
        "test_integration_files_are_valid": "PASSED",
    }


def image_like_project(tmp_path: Path) -> Path:
    """What the CLI's test container holds: the image's project folder plus .astro/."""
    project = tmp_path / "usr-local-airflow"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("dags", "plugins", "include", ".astro"):
        shutil.copytree(ROOT / folder, project / folder, ignore=ignore)
    return project


def test_parse_check_fails_on_a_broken_dag_file_or_integration(tmp_path: Path) -> None:
    project = image_like_project(tmp_path)
    for demo in sorted((ROOT / "demo/integrations").glob("*.yaml")):
        shutil.copy(demo, project / "dags/integrations")
    (project / "dags/broken_dag.py").write_text(
        "# an Airflow DAG file whose import fails\nimport module_that_does_not_exist  # noqa\n",
        encoding="utf-8",
    )
    (project / "dags/integrations/broken.yaml").write_text("id: broken\nname: Broken\n", "utf-8")
    env = clean_env(AIRFLOW_HOME=str(project))  # as in the image: the project folder

    code, output = run_parse_check(project, env)

    assert code == 1, output
    assert outcomes(output) == {
        "test_dag_file_imports_without_errors[dags/broken_dag.py]": "FAILED",
        "test_dag_file_imports_without_errors[dags/integrations.py]": "PASSED",
        "test_dags_folder_holds_the_dag_file": "PASSED",
        "test_integration_files_are_valid": "FAILED",
    }
    assert "module_that_does_not_exist" in output
    assert "dags/integrations/broken.yaml is not a valid integration" in output
    assert "missing required key 'environment'" in output
    assert "login_review_to_lead.yaml is not" not in output  # the demo integrations are valid

    # Listed exceptions are reported but do not fail the check.
    with (project / ".astro/dag_integrity_exceptions.txt").open("a", encoding="utf-8") as file:
        file.write("dags/broken_dag.py\ndags/integrations/broken.yaml\n")
    code, output = run_parse_check(project, env)
    assert code == 0, output


def test_include_inside_the_dags_folder_parses_as_on_mwaa_and_composer(tmp_path: Path) -> None:
    """README: on MWAA / Composer, dags/ and include/ both go into the bucket's DAGs folder and
    WALKME_SYNC_INTEGRATIONS_DIR names the integrations folder. The DAG processor puts the DAGs
    folder on sys.path (BundleDagBag) and .airflowignore keeps it from parsing include/."""
    dags = tmp_path / "bucket" / "dags"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "dags", dags, ignore=ignore)
    shutil.copytree(ROOT / "include", dags / "include", ignore=ignore)
    for demo in sorted((ROOT / "demo/integrations").glob("*.yaml")):
        shutil.copy(demo, dags / "integrations")
    probe = (
        "import json, sys; from pathlib import Path;"
        "from airflow.dag_processing.dagbag import BundleDagBag;"
        "bag = BundleDagBag(sys.argv[1], bundle_path=Path(sys.argv[1]));"
        "import include.walkme_sync.locations as loc;"
        "print(json.dumps({'errors': sorted(bag.import_errors),"
        " 'files': sorted(Path(s.file).name for s in bag.dagbag_stats),"
        " 'dags': sorted(bag.dag_ids), 'engine': str(loc.PROJECT_ROOT)}))"
    )
    env = clean_env(
        AIRFLOW_HOME=str(tmp_path / "airflow"),
        AIRFLOW__CORE__DAGS_FOLDER=str(dags),
        WALKME_SYNC_INTEGRATIONS_DIR=str(dags / "integrations"),
    )
    completed = subprocess.run(
        [sys.executable, "-c", probe, str(dags)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    result = yaml.safe_load(completed.stdout.strip().splitlines()[-1])
    assert result["errors"] == []
    assert result["files"] == ["integrations.py"]  # include/ was not parsed as DAG files
    assert set(result["dags"]) == DEMO_DAG_IDS
    assert result["engine"] == str(dags)  # the engine came from the DAGs folder, not this checkout


# ------------------------------------------------------------------ README "Deploy" is complete


def python_sources() -> str:
    return "\n".join(
        path.read_text(encoding="utf-8") for path in sorted((ROOT / "include").rglob("*.py"))
    )


def pending(values: set[str], still_pending: set[str], reason: str) -> list[typing.Any]:
    return [
        pytest.param(value, marks=pytest.mark.xfail(strict=True, reason=reason))
        if value in still_pending
        else value
        for value in sorted(values)
    ]


SETTINGS = set(re.findall(r"WALKME_SYNC_[A-Z_]*[A-Z]", DEPLOY))
BEING_BUILT = "being built on main (issue 7): remove from PENDING_* once merged"


def test_deploy_section_names_the_settings_it_must() -> None:
    assert {
        "WALKME_SYNC_STORAGE_ROOT",
        "WALKME_SYNC_STORAGE_CONN_ID",
        "WALKME_SYNC_RETENTION_DAYS",
        "WALKME_SYNC_LEDGER_URL",
        "WALKME_SYNC_INTEGRATIONS_DIR",
        "WALKME_SYNC_STORAGE_ROOT_SHARED",
    } <= SETTINGS
    for conn_id in ("walkme_ledger", "salesforce_sandbox", "salesforce_production"):
        assert f"`{conn_id}`" in DEPLOY


@pytest.mark.parametrize("setting", pending(SETTINGS, PENDING_SETTINGS, BEING_BUILT))
def test_each_setting_the_deploy_section_names_is_read_by_the_engine(setting: str) -> None:
    assert re.search(rf"[\"']{setting}[\"']", python_sources()), f"include/ never reads {setting}"


CONNECTIONS = set(re.findall(r"`((?:walkme|salesforce)_[a-z_]*[a-z])`", DEPLOY))


@pytest.mark.parametrize("conn_id", sorted(CONNECTIONS))
def test_each_connection_the_deploy_section_names_is_used_by_the_engine(conn_id: str) -> None:
    if conn_id.startswith("salesforce_"):
        from include.walkme_sync.config.models import IntegrationConfig

        environments = typing.get_args(IntegrationConfig.model_fields["environment"].annotation)
        assert conn_id.removeprefix("salesforce_") in environments  # salesforce_<environment>
    else:
        assert re.search(rf"[\"']{conn_id}[\"']", python_sources()), (
            f"include/ never uses {conn_id}"
        )


MAKE_TARGETS = set(re.findall(r"\bmake ([a-z][a-z-]*[a-z])", README))


@pytest.mark.parametrize("target", pending(MAKE_TARGETS, PENDING_MAKE_TARGETS, BEING_BUILT))
def test_each_make_command_the_readme_names_exists(target: str) -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    rule_targets = {
        name
        for line in re.findall(r"^([a-z][a-z -]*):(?!=)", makefile, re.M)
        for name in line.split()
    }
    assert target in rule_targets


def test_deploy_section_names_the_dockerfile_image() -> None:
    image, tag = dockerfile_base_image()
    assert f"{image}:{tag}" in DEPLOY

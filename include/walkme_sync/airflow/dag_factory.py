"""Build one Airflow DAG per integration config. Imported at DAG-parse time: keep it light.

Only the config loader (pydantic + YAML) and `airflow.sdk` are imported here; pandas,
great-expectations and Salesforce clients load inside the tasks.
"""

from __future__ import annotations

import warnings
from datetime import timedelta
from pathlib import Path
from typing import Any

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import (
    DAG,
    AssetAlias,
    CronTriggerTimetable,
    Param,
    TriggerRule,
    chain,
    get_parsing_context,
)

from include.walkme_sync.airflow.assets import changes_alias
from include.walkme_sync.config import ConfigProblem, IntegrationConfig, load_integrations
from include.walkme_sync.config.loading import load_integration_by_id
from include.walkme_sync.locations import DAG_ID_PREFIX

# Task ids (what the Airflow UI shows) and the pipeline step each one runs, in order.
STEP_TASKS = (
    ("extract_report", "extract"),
    ("validate_report", "validate"),
    ("match_keys", "match"),
    ("upsert", "upsert"),
)
#: Schedules that are not cron times (the other presets, like @daily, are).
NOT_CRON_PRESETS = frozenset({"@once", "@continuous"})
DEFAULT_ARGS: dict[str, Any] = {
    "owner": "walkme-sync",
    "retries": 2,
    "retry_delay": timedelta(minutes=1),  # then 2, 4, ... (exponential), at most an hour
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": timedelta(hours=1),
}


def build_all(dag_file: str, folder: Path | None = None) -> list[DAG]:
    """Every valid config yields its DAG; every invalid file yields a placeholder showing why.

    A worker running a task parses this file for that task's DAG only (Airflow's parsing
    context names it): then only that integration's file is read and its DAG built, instead of
    all of them (hundreds of integrations would cost every task a second).
    """
    running = get_parsing_context().dag_id
    if running and running.startswith(DAG_ID_PREFIX):
        found = load_integration_by_id(running.removeprefix(DAG_ID_PREFIX), folder)
        if found is not None:
            config, problems = found
            return [build_integration_dag(config, dag_file, problems)]
    result = load_integrations(folder)
    dags = [
        build_integration_dag(config, dag_file, result.problems.get(config.source_file, []))
        for config in result.integrations
    ]
    for file, problems in sorted(result.problems.items()):
        errors = [problem for problem in problems if problem.severity == "error"]
        if errors:
            dags.append(build_invalid_config_dag(file, errors, dag_file))
        for problem in problems:
            # Parse warnings show up in the Airflow UI next to the DAG file.
            warnings.warn(str(problem), UserWarning, stacklevel=1)
    return dags


def build_integration_dag(
    config: IntegrationConfig, dag_file: str, warnings_: list[ConfigProblem] | None = None
) -> DAG:
    """extract_report -> validate_report -> match_keys -> upsert -> record_run.

    `warnings_` (the config file's warnings) are shown in the DAG's docs, where people look.
    """
    integration_id, config_file = config.id, config.source_file
    with DAG(
        dag_id=config.dag_id,
        dag_display_name=config.name,
        description=f"{config.name}: {config.report.name} -> {config.object.name}",
        schedule=_schedule(config),
        catchup=False,
        max_active_runs=1,
        dagrun_timeout=_timeout(config),
        is_paused_upon_creation=not config.active,
        default_args=DEFAULT_ARGS,
        tags=_tags(config),
        doc_md=integration_doc(config, warnings_ or []),
        params={
            "dry_run": _flag("Report the changes field by field; write nothing."),
            "full_sync": _flag(
                "Also rewrite values Salesforce already holds (normally only changes)."
            ),
        },
    ) as dag:
        steps = [
            _step_task(task_id, step, integration_id, config_file) for task_id, step in STEP_TASKS
        ]

        # Runs whatever happened upstream, so failed syncs are recorded too; retried only once
        # because the ledger write replaces the run's rows. Its outlet is an alias: a run that
        # wrote records attaches an event for the object's asset to it; other runs attach none.
        alias: AssetAlias = changes_alias(config)

        record_run = PythonOperator(
            task_id="record_run",
            python_callable=_record_run,
            op_args=[integration_id, config_file],
            trigger_rule=TriggerRule.ALL_DONE,
            retries=1,
            outlets=[alias],
        )
        chain(*steps, record_run)
    dag.fileloc = dag_file
    return dag


def _schedule(config: IntegrationConfig) -> CronTriggerTimetable | str | None:
    """The cron schedule in UTC; None for an inactive integration (it only runs when triggered).

    No `start_date`: with one, Airflow runs the most recent past interval as soon as a DAG appears
    (a new config, or one re-created after "Delete Dag" in the UI), writing before anyone could
    dry-run it. Without one, a new DAG's first run is its next scheduled time after it appears.
    An explicit timetable keeps that true whatever `[scheduler] create_cron_data_intervals` says,
    and `run_immediately=timedelta(0)` turns off its default grace (a DAG appearing up to a tenth
    of the interval after a scheduled time, 2.4 h for a daily one, would run that time at once).
    """
    if not config.active or config.schedule is None:
        return None
    if config.schedule in NOT_CRON_PRESETS:
        return config.schedule
    return CronTriggerTimetable(config.schedule, timezone="UTC", run_immediately=timedelta(0))


#: The JSON Schema draft the run parameters are written in. Without it jsonschema checks each
#: parameter's schema against draft 2020-12's metaschema, and Airflow checks every parameter of a
#: scheduled DAG at parse time: that was a quarter of a DAG's build time. Draft 7 has everything
#: a boolean flag needs and checks four times faster.
PARAM_SCHEMA_DRAFT = "http://json-schema.org/draft-07/schema#"


def _flag(description: str) -> Param:
    """A run parameter that is off unless the trigger form ticks it."""
    schema: dict[str, Any] = {"type": "boolean", "$schema": PARAM_SCHEMA_DRAFT}
    return Param(False, description=description, **schema)


def _timeout(config: IntegrationConfig) -> timedelta | None:
    minutes = config.thresholds.run_timeout_minutes
    return None if minutes is None else timedelta(minutes=minutes)


def _step_task(task_id: str, step: str, integration_id: str, config_file: str) -> Any:
    """One pipeline step as a task of the DAG being built.

    A plain PythonOperator, not `@task`: the decorator's machinery costs about a third of a DAG's
    parse time, and hundreds of integrations are parsed in one file.
    """
    return PythonOperator(
        task_id=task_id,
        python_callable=_run_step,
        op_args=[step, integration_id, config_file],
    )


def _run_step(step: str, integration_id: str, config_file: str) -> dict[str, Any]:
    # Imported when the task runs: the DAG file must stay free of pandas and the engine.
    from include.walkme_sync.airflow.tasks import run_step

    return run_step(step, integration_id, config_file)


def _record_run(integration_id: str, config_file: str) -> dict[str, Any]:
    from include.walkme_sync.airflow.tasks import record_run

    return record_run(integration_id, config_file)


def _fail_for_invalid_config(file: str, problems: list[str]) -> None:
    from include.walkme_sync.airflow.tasks import fail_for_invalid_config

    fail_for_invalid_config(file, problems)


def build_invalid_config_dag(file: str, problems: list[ConfigProblem], dag_file: str) -> DAG:
    """A never-scheduled DAG named after the bad file; its doc and its task show the errors."""
    stem = Path(file).stem.lower().replace("-", "_")
    messages = [str(problem) for problem in problems]
    with DAG(
        dag_id=f"{DAG_ID_PREFIX}invalid__{stem}",
        description=f"INVALID integration config {file}",
        schedule=None,
        catchup=False,
        tags=["walkme-sync", "config-error"],
        doc_md="## Invalid integration config\n\n"
        f"`{file}` could not be loaded, so its integration does not run. Fix these problems:\n\n"
        + "\n".join(f"- {message}" for message in messages),
    ) as dag:
        PythonOperator(
            task_id="config_error",
            python_callable=_fail_for_invalid_config,
            op_args=[file, messages],
            retries=0,
        )
    dag.fileloc = dag_file
    return dag


def _tags(config: IntegrationConfig) -> list[str]:
    tags = [
        "walkme-sync",
        f"integration:{config.id}",
        f"env:{config.environment}",
        f"object:{config.object.name}",
        f"report:{config.report.name}",
    ]
    if not config.active:
        tags.append("inactive")
    return tags


def integration_doc(config: IntegrationConfig, warnings_: list[ConfigProblem] | None = None) -> str:
    """The original product's list view, as the DAG's documentation (config warnings first)."""
    rows = "\n".join(
        f"| `{mapping.column}` | `{mapping.field}` | {mapping.null_policy} |"
        for mapping in config.mappings
    )
    source = config.report.source
    where = getattr(source, "location", None) or f"SQL via connection `{source.conn_id}`"
    active = "yes" if config.active else "no"
    schedule = config.schedule if config.active else "not scheduled"
    environment = f"{config.environment} (`{config.conn_id}`)"
    report, sobject = config.report.name, config.object.name
    notice = ""
    if warnings_:
        listed = "\n".join(f"- {problem}" for problem in warnings_)
        notice = (
            f"**Config warnings** (the integration runs; fix them when you can):\n\n{listed}\n\n"
        )
    # A list, not a wide table: Airflow's Docs modal is narrow and cuts tables wider than it.
    return f"""## {config.name}

{notice}
- **Id:** `{config.id}`
- **Report → object:** {report} → {sobject}
- **Environment:** {environment}
- **Active:** {active} · **Schedule (UTC):** `{schedule}`
- **Match:** report column `{config.report.key_column}` ({config.report.key_kind}) = \
`{config.object.name}.{config.object.key_field}`

| Report column | Salesforce field | If the value is empty |
|---|---|---|
{rows}

Source: `{where}` · Config: `{config.source_file}`

Trigger with **dry_run** to see the changes field by field without writing. Each run's counts
(written or would write, unchanged, unmatched, ambiguous, rejected, failed, not attempted) are in
the run's note and *Sync report* tab, the `record_run` task's log, and the run ledger.
"""

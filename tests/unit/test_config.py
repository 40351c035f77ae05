"""Integration config loading and offline validation: every rule, every problem at once."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from include.walkme_sync.config import (
    ConfigProblem,
    ConfigValidationError,
    FileSource,
    IntegrationConfig,
    LoadResult,
    SqlSource,
    find_integration,
    load_integration,
    load_integrations,
)
from include.walkme_sync.config.__main__ import main
from include.walkme_sync.errors import ConfigurationError
from include.walkme_sync.locations import (
    DEFAULT_INTEGRATIONS_FOLDER,
    INTEGRATIONS_DIR_ENV,
    PROJECT_ROOT,
)
from tests.configs import DEMO_INTEGRATIONS, LOGIN_REVIEW_TO_LEAD

FIXTURES = PROJECT_ROOT / "tests" / "fixtures" / "configs"

BASE: dict[str, Any] = LOGIN_REVIEW_TO_LEAD


def config(**changes: Any) -> dict[str, Any]:
    """A copy of BASE; keys like "report.key_column" reach into sections."""
    data = copy.deepcopy(BASE)
    for dotted, value in changes.items():
        target = data
        *parents, last = dotted.split("__")
        for parent in parents:
            target = target[parent]
        if value is DELETE:
            del target[last]
        else:
            target[last] = value
    return data


DELETE = object()


def load_one(tmp_path: Path, data: dict[str, Any] | str, name: str = "x.yaml") -> LoadResult:
    text = data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False)
    (tmp_path / name).write_text(text, encoding="utf-8")
    return load_integrations(tmp_path)


def problems_at(result: LoadResult, path: str) -> list[ConfigProblem]:
    return [p for ps in result.problems.values() for p in ps if p.path == path]


def single(result: LoadResult, path: str) -> ConfigProblem:
    found = problems_at(result, path)
    assert len(found) == 1, [str(p) for ps in result.problems.values() for p in ps]
    return found[0]


# ------------------------------------------------------------------------------ happy path


def test_demo_integrations_are_valid() -> None:
    result = load_integrations(DEMO_INTEGRATIONS)
    assert result.problems == {}
    ids = [integration.id for integration in result.integrations]
    assert ids == [  # sorted by file name
        "login_review_to_lead",
        "logins_to_contact",
        "logins_to_usage_data",
        "nps_to_contact",
        "onboarding_to_contact",
        "teachme_to_course_progress",
    ]


def test_seed_example_config() -> None:
    lead = find_integration("login_review_to_lead", DEMO_INTEGRATIONS)
    assert lead.report.name == "login_review"
    assert lead.report.key_column == "User ID"
    assert lead.report.key_kind == "email"
    assert lead.object.name == "Lead"
    assert lead.object.key_field == "Email"
    assert lead.mapped_fields == [
        "WalkMe_Last_Login__c",
        "WalkMe_First_Login__c",
        "WalkMe_Logins_Last_30_Days__c",
    ]
    assert lead.environment == "sandbox"
    assert lead.conn_id == "salesforce_sandbox"
    assert lead.dag_id == "walkme_sync__login_review_to_lead"
    assert lead.schedule == "0 8 * * *"
    assert lead.source_file == "demo/integrations/login_review_to_lead.yaml"
    assert isinstance(lead.report.source, FileSource)
    assert lead.report.source.resolved_location() == str(PROJECT_ROOT / "demo/samples/login_review")


def test_nps_demo_config() -> None:
    nps = find_integration("nps_to_contact", DEMO_INTEGRATIONS)
    assert nps.object.name == "Contact"
    comment = next(m for m in nps.mappings if m.column == "Comment")
    assert comment.null_policy == "clear"
    assert nps.required_columns == ["Email", "NPS Score", "Survey Date", "Comment", "User ID"]


def test_defaults(tmp_path: Path) -> None:
    result = load_one(tmp_path, config())
    integration = result.integrations[0]
    assert integration.active is True
    assert integration.matching.duplicate_report_keys == "reject"
    assert integration.matching.multiple_records == "skip"
    assert integration.thresholds.min_match_rate == 0.0
    assert integration.thresholds.max_failed_rows == 0
    assert integration.write.collection_batch_size == 200
    assert integration.write.max_daily_api_usage == 0.9
    assert integration.mappings[0].null_policy == "skip"
    source = integration.report.source
    assert isinstance(source, FileSource)
    assert (source.pattern, source.pick, source.encoding) == ("*.csv", "run_date", "utf-8-sig")


def test_production_and_explicit_connection(tmp_path: Path) -> None:
    result = load_one(tmp_path, config(environment="production"))
    assert result.integrations[0].conn_id == "salesforce_production"
    result = load_one(tmp_path, config(environment="production", connection_id="sf_prod_eu"))
    assert result.integrations[0].conn_id == "sf_prod_eu"


def test_key_column_may_be_mapped_onto_a_non_key_field(tmp_path: Path) -> None:
    mappings = [*BASE["mappings"], {"column": "User ID", "field": "WalkMe_User_Email__c"}]
    result = load_one(tmp_path, config(mappings=mappings))
    assert result.problems == {}
    assert result.integrations[0].required_columns[0] == "User ID"


def test_sql_source(tmp_path: Path) -> None:
    source = {"kind": "sql", "conn_id": "warehouse", "table": "walkme.login_review"}
    result = load_one(tmp_path, config(report__source=source))
    assert result.problems == {}
    assert isinstance(result.integrations[0].report.source, SqlSource)


def test_summary_and_doc(tmp_path: Path) -> None:
    integration = load_one(tmp_path, config()).integrations[0]
    summary = integration.summary()
    assert summary["report"] == "login_review"
    assert summary["object"] == "Lead"
    assert summary["environment"] == "sandbox"
    json.dumps(summary)
    assert "| Last Login | `WalkMe_Last_Login__c` | skip |" in integration.doc_md()


# ------------------------------------------------------------------------ every rule, one test


def test_yaml_syntax_error_gives_the_line(tmp_path: Path) -> None:
    text = "id: x\nname: X\nreport:\n  name: [login_review\nobject: {}\n"
    result = load_one(tmp_path, text)
    [problem] = result.problems[str(tmp_path / "x.yaml")]
    assert problem.file == str(tmp_path / "x.yaml")
    assert problem.path == ""
    assert problem.message.startswith("YAML syntax error")
    assert problem.line is not None and problem.line >= 4
    assert problem.hint and "indentation" in problem.hint
    assert result.integrations == []


def test_file_must_be_a_mapping(tmp_path: Path) -> None:
    result = load_one(tmp_path, "- just\n- a list\n")
    [problem] = result.errors()
    assert "must be a mapping" in problem.message


def test_unknown_keys_with_did_you_mean(tmp_path: Path) -> None:
    data = config()
    data["schedul"] = "0 8 * * *"
    data["mappings"][0]["colum"] = data["mappings"][0].pop("column")
    data["report"]["source"]["patern"] = "*.csv"
    result = load_one(tmp_path, data)

    top = single(result, "schedul")
    assert top.message == "unknown key 'schedul'"
    assert top.hint and top.hint.startswith("did you mean 'schedule'?")
    assert "allowed keys here:" in top.hint

    nested = single(result, "mappings[0].colum")
    assert nested.hint and nested.hint.startswith("did you mean 'column'?")

    in_union = single(result, "report.source.patern")
    assert in_union.hint and in_union.hint.startswith("did you mean 'pattern'?")
    assert result.integrations == []


def test_missing_required_keys(tmp_path: Path) -> None:
    result = load_one(tmp_path, config(object__key_field=DELETE, environment=DELETE))
    key_field = single(result, "object.key_field")
    assert key_field.message == "missing required key 'key_field'"
    assert key_field.hint and "add `key_field:`" in key_field.hint
    assert "under `object`" in key_field.hint
    environment = single(result, "environment")
    assert environment.message == "missing required key 'environment'"


def test_wrong_enum_value(tmp_path: Path) -> None:
    result = load_one(tmp_path, config(environment="sandbx", report__key_kind="mail"))
    environment = single(result, "environment")
    assert environment.message == "'sandbx' is not allowed here"
    assert environment.hint == "did you mean 'sandbox'? use one of: sandbox, production"
    key_kind = single(result, "report.key_kind")
    assert key_kind.hint and "use one of: email, guid, text" in key_kind.hint


def test_wrong_types(tmp_path: Path) -> None:
    data = config()
    data["write"] = {"retries": "many", "collection_batch_size": 500}
    data["active"] = "perhaps"
    data["mappings"][0]["field"] = 42
    result = load_one(tmp_path, data)
    retries = single(result, "write.retries")
    assert "'many'" in retries.message
    assert retries.hint == "write a whole number, e.g. 200"
    batch = single(result, "write.collection_batch_size")
    assert "500" in batch.message and "less than or equal to 200" in batch.message
    active = single(result, "active")
    assert active.hint == "write true or false"
    field = single(result, "mappings[0].field")
    assert field.hint and field.hint.startswith("write text")


def test_threshold_out_of_range(tmp_path: Path) -> None:
    result = load_one(tmp_path, config(thresholds={"min_match_rate": 1.5}))
    problem = single(result, "thresholds.min_match_rate")
    assert "1.5" in problem.message


def test_unknown_source_kind(tmp_path: Path) -> None:
    result = load_one(tmp_path, config(report__source={"kind": "ftp", "location": "x"}))
    problem = single(result, "report.source")
    assert problem.message == "unknown source kind 'ftp'"
    assert problem.hint == "set `kind:` to one of: files, sql"


def test_sql_source_needs_exactly_one_of_query_and_table(tmp_path: Path) -> None:
    both = {"kind": "sql", "conn_id": "db", "query": "SELECT 1", "table": "t"}
    problem = single(load_one(tmp_path, config(report__source=both)), "report.source")
    assert problem.message == "a sql source needs exactly one of `query` or `table`"
    neither = {"kind": "sql", "conn_id": "db"}
    assert problems_at(load_one(tmp_path, config(report__source=neither)), "report.source")


def test_sql_table_must_be_an_identifier(tmp_path: Path) -> None:
    source = {"kind": "sql", "conn_id": "db", "table": "t; DROP TABLE x"}
    problem = single(load_one(tmp_path, config(report__source=source)), "report.source.table")
    assert "is not a plain table name" in problem.message
    assert problem.hint and "query:" in problem.hint


def test_unsupported_storage_scheme(tmp_path: Path) -> None:
    source = {"kind": "files", "location": "ftp://host/exports"}
    problem = single(load_one(tmp_path, config(report__source=source)), "report.source.location")
    assert problem.message == "unsupported storage URL scheme 'ftp'"
    assert problem.hint and "s3" in problem.hint


def test_unknown_report_lists_known_ones(tmp_path: Path) -> None:
    problem = single(load_one(tmp_path, config(report__name="login_reviews")), "report.name")
    assert problem.message == "unknown report 'login_reviews'"
    assert problem.hint and problem.hint.startswith("did you mean 'login_review'?")
    assert "known reports: login_review, logins, nps, onboarding" in problem.hint


def test_report_must_be_tagged(tmp_path: Path) -> None:
    data = config(report__name="sessions_raw", report__key_column="Email")
    data["mappings"] = [{"column": "Duration Seconds", "field": "WalkMe_Session_Seconds__c"}]
    problem = single(load_one(tmp_path, data), "report.name")
    assert problem.message == (
        "report 'sessions_raw' is not tagged integrations_salesforce, so no integration may use it"
    )
    assert problem.hint and "include/reports/sessions_raw.yaml" in problem.hint
    assert "use a tagged report: login_review" in problem.hint


def test_key_column_must_be_in_the_report(tmp_path: Path) -> None:
    problem = single(load_one(tmp_path, config(report__key_column="User Id")), "report.key_column")
    assert problem.message == "column 'User Id' is not in report 'login_review'"
    assert problem.hint and problem.hint.startswith("did you mean 'User ID'?")
    assert "case-sensitive" in problem.hint


def test_mapping_column_must_be_in_the_report(tmp_path: Path) -> None:
    data = config()
    data["mappings"][2]["column"] = "Logins last 30 days"
    problem = single(load_one(tmp_path, data), "mappings[2].column")
    assert problem.message == "column 'Logins last 30 days' is not in report 'login_review'"
    assert problem.hint and problem.hint.startswith("did you mean 'Logins in Past 30 days'?")


def test_mapping_may_not_write_the_key_field(tmp_path: Path) -> None:
    data = config()
    data["mappings"].append({"column": "User ID", "field": "email"})  # case-insensitive
    problem = single(load_one(tmp_path, data), "mappings[3].field")
    assert "is the object's key field" in problem.message
    assert problem.hint == "map this column onto another field, or remove the mapping"


def test_same_salesforce_field_twice(tmp_path: Path) -> None:
    data = config()
    data["mappings"][1]["field"] = "walkme_last_login__c"  # same as mappings[0], other case
    result = load_one(tmp_path, data)
    problem = single(result, "mappings[1].field")
    assert problem.message == (
        "Salesforce field 'walkme_last_login__c' is already mapped by mappings[0]"
    )
    assert problem.hint and "each Salesforce field may appear once" in problem.hint
    assert not problems_at(result, "mappings[0].field")


def test_illegal_api_name_suggests_the_legal_form(tmp_path: Path) -> None:
    data = config()
    data["mappings"][2]["field"] = "WalkMe_#_Logins_last_30_days"
    problem = single(load_one(tmp_path, data), "mappings[2].field")
    assert problem.message.startswith(
        "'WalkMe_#_Logins_last_30_days' is not a legal Salesforce API name"
    )
    assert problem.hint and "'WalkMe_Logins_Last_30_Days__c'" in problem.hint
    assert problem.severity == "error"


def test_illegal_object_name(tmp_path: Path) -> None:
    problem = single(load_one(tmp_path, config(object__name="WalkMe User")), "object.name")
    assert "not a legal Salesforce API name" in problem.message
    assert problem.hint and "'WalkMe_User__c'" in problem.hint


def test_custom_field_without_prefix_is_a_warning(tmp_path: Path) -> None:
    data = config()
    data["mappings"][0]["field"] = "Last_Login__c"
    result = load_one(tmp_path, data)
    problem = single(result, "mappings[0].field")
    assert problem.severity == "warning"
    assert "recommended prefix 'WalkMe'" in problem.message
    assert problem.hint and "WalkMe_Last_Login__c" in problem.hint
    # warnings never block
    assert [i.id for i in result.integrations] == ["login_review_to_lead"]
    assert result.errors() == [] and result.warnings() == [problem]
    assert result.ok


def test_standard_field_needs_no_prefix(tmp_path: Path) -> None:
    data = config()
    data["mappings"].append({"column": "Last Login", "field": "Description"})
    assert load_one(tmp_path, data).problems == {}


def test_invalid_cron_schedule(tmp_path: Path) -> None:
    problem = single(load_one(tmp_path, config(schedule="0 25 * * *")), "schedule")
    assert problem.message == "'0 25 * * *' is not a valid cron expression"
    assert problem.hint and "'0 8 * * *'" in problem.hint


@pytest.mark.parametrize("schedule", ["@daily", "*/15 * * * *", None])
def test_valid_schedules(tmp_path: Path, schedule: str | None) -> None:
    assert load_one(tmp_path, config(schedule=schedule)).problems == {}


def test_invalid_id(tmp_path: Path) -> None:
    problem = single(load_one(tmp_path, config(id="Login-Review")), "id")
    assert problem.message == "'Login-Review' is not a valid integration id"
    assert problem.hint and "'login_review'" in problem.hint


def test_needs_a_mapping(tmp_path: Path) -> None:
    problem = single(load_one(tmp_path, config(mappings=[])), "mappings")
    assert problem.message == "an integration needs at least one mapping"


def test_source_file_is_not_a_yaml_key(tmp_path: Path) -> None:
    problem = single(load_one(tmp_path, config(source_file="elsewhere.yaml")), "source_file")
    assert "set by the loader" in problem.message


def test_key_kind_obviously_wrong_is_a_warning(tmp_path: Path) -> None:
    data = config(report__name="logins", report__key_column="User ID", report__key_kind="email")
    result = load_one(tmp_path, data)  # logins' User ID is a GUID
    problem = single(result, "report.key_kind")
    assert problem.severity == "warning"
    assert "typed 'guid'" in problem.message
    assert result.integrations
    # login_review's User ID is a string holding e-mails: fine
    assert load_one(tmp_path, config()).problems == {}


def test_duplicate_ids_across_files_fail_both(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(config()), encoding="utf-8")
    (tmp_path / "b.yaml").write_text(yaml.safe_dump(config(name="Copy")), encoding="utf-8")
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(config(id="other")), encoding="utf-8")
    result = load_integrations(tmp_path)
    assert [i.id for i in result.integrations] == ["other"]
    a, b = str(tmp_path / "a.yaml"), str(tmp_path / "b.yaml")
    [problem_a] = result.problems[a]
    [problem_b] = result.problems[b]
    assert problem_a.path == "id"
    assert problem_a.message == f"integration id 'login_review_to_lead' is also used by {b}"
    assert problem_b.message == f"integration id 'login_review_to_lead' is also used by {a}"
    assert problem_a.hint and "own id" in problem_a.hint


# ------------------------------------------------------------------------ all problems at once


def test_bad_fixture_reports_every_problem_at_once() -> None:
    result = load_integrations(FIXTURES)
    file = "tests/fixtures/configs/bad_login_review.yaml"
    problems = result.problems[file]
    assert result.integrations == []
    assert {(p.path, p.severity) for p in problems} == {
        ("id", "error"),
        ("environment", "error"),
        ("schedul", "error"),
        ("report.key_column", "error"),
        ("mappings[1].field", "error"),
        ("mappings[2].field", "error"),
        ("mappings[3].field", "error"),
        ("mappings[4].column", "error"),
        ("mappings[4].field", "warning"),
    }
    assert all(p.file == file for p in problems)
    assert all(p.hint for p in problems)
    lines = [p.line or 0 for p in problems]
    assert lines == sorted(lines)  # reported top to bottom
    illegal = next(p for p in problems if p.path == "mappings[2].field")
    assert illegal.line == 26
    assert "WalkMe_Logins_Last_30_Days__c" in str(illegal)


def test_problem_text_format() -> None:
    problem = ConfigProblem(
        "dags/integrations/x.yaml", "mappings[2].field", "bad name", "use Good__c"
    )
    expected = "dags/integrations/x.yaml: mappings[2].field: bad name. Fix: use Good__c"
    assert str(problem) == expected
    with_line = ConfigProblem("x.yaml", "id", "taken", None, "warning", 3)
    assert str(with_line) == "x.yaml:3: id: warning: taken"


def test_load_integration_raises_with_all_problems() -> None:
    with pytest.raises(ConfigValidationError) as error:
        load_integration(FIXTURES / "bad_login_review.yaml")
    assert len([p for p in error.value.problems if p.severity == "error"]) == 8
    assert isinstance(error.value, ConfigurationError)
    text = str(error.value)
    assert "8 configuration error(s) in tests/fixtures/configs/bad_login_review.yaml" in text
    assert "mappings[2].field" in text


def test_load_integration_returns_valid_config() -> None:
    integration = load_integration(DEMO_INTEGRATIONS / "nps_to_contact.yaml")
    assert isinstance(integration, IntegrationConfig)
    assert integration.id == "nps_to_contact"


def test_find_integration_errors(tmp_path: Path) -> None:
    (tmp_path / "ok.yaml").write_text(yaml.safe_dump(config(id="ok")), encoding="utf-8")
    (tmp_path / "bad.yaml").write_text(
        yaml.safe_dump(config(id="bad", environment="qa")), encoding="utf-8"
    )
    assert find_integration("ok", tmp_path).id == "ok"
    with pytest.raises(ConfigValidationError) as invalid:
        find_integration("bad", tmp_path)
    assert invalid.value.problems[0].path == "environment"
    with pytest.raises(ConfigurationError, match="Known ids: ok"):
        find_integration("missing", tmp_path)


def test_folder_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(config(id="from_env")), encoding="utf-8")
    monkeypatch.setenv(INTEGRATIONS_DIR_ENV, str(tmp_path))
    assert [i.id for i in load_integrations().integrations] == ["from_env"]


def test_default_folder_is_next_to_the_dags_and_ships_without_integrations(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # dags/integrations/ travels with DAG-only deploys; a deployment starts with no integration.
    monkeypatch.delenv(INTEGRATIONS_DIR_ENV, raising=False)
    assert DEFAULT_INTEGRATIONS_FOLDER == PROJECT_ROOT / "dags" / "integrations"
    result = load_integrations()
    assert (result.integrations, result.problems) == ([], {})
    assert main([]) == 0
    assert "0 valid integration(s)" in capsys.readouterr().out


def test_missing_folder_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    result = load_integrations(tmp_path / "nope")
    assert result.integrations == []
    [problem] = result.errors()
    assert problem.message == "the integrations folder does not exist"
    assert main([str(tmp_path / "nope")]) == 1


def test_cli_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(DEMO_INTEGRATIONS)]) == 0
    demo_files = len(list(DEMO_INTEGRATIONS.glob("*.yaml")))
    assert f"{demo_files} valid integration(s)" in capsys.readouterr().out
    assert main([str(FIXTURES)]) == 1
    out = capsys.readouterr().out
    assert "bad_login_review.yaml:26: mappings[2].field:" in out
    assert "8 error(s) in 1 file(s), 1 warning(s)" in out


# ---------------------------------------------------------------------------- parse cost


PARSE_COST_SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    start = time.perf_counter()
    from include.walkme_sync.config import load_integrations
    result = load_integrations(Path(sys.argv[1]))
    elapsed = time.perf_counter() - start
    print(json.dumps({
        "elapsed": elapsed,
        "valid": len(result.integrations),
        "errors": len(result.errors()),
        "heavy": sorted(m for m in ("pandas", "great_expectations", "pyarrow", "numpy")
                        if m in sys.modules),
    }))
    """
)


def test_500_configs_load_fast_without_heavy_imports(tmp_path: Path) -> None:
    template = (DEMO_INTEGRATIONS / "login_review_to_lead.yaml").read_text("utf-8")
    for i in range(500):
        text = template.replace("id: login_review_to_lead", f"id: integration_{i:03d}")
        (tmp_path / f"integration_{i:03d}.yaml").write_text(text, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-c", PARSE_COST_SCRIPT, str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=PROJECT_ROOT,
    )
    wall = time.perf_counter() - started
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    assert report["valid"] == 500 and report["errors"] == 0
    assert report["heavy"] == []
    # import + validation of 500 files (measured ~1 s on a 2-core box, interpreter start excluded)
    assert report["elapsed"] < 2.0, report
    assert wall < 10

"""Write modes, composite keys and lookups: config rules, the key form, the upsert wire format."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from include.walkme_sync.config import load_integrations
from include.walkme_sync.config.online import check_against_describe
from include.walkme_sync.frames import Bucket, outcome_frame
from include.walkme_sync.keys import composite_keys
from include.walkme_sync.metadata import FieldInfo, ObjectInfo
from include.walkme_sync.reconcile.coerce import ValueRejected, coerce_for_field
from include.walkme_sync.reconcile.relations import settle_creations
from include.walkme_sync.records import RecordChange, WriteResult
from include.walkme_sync.salesforce.upsert_writer import nested_record, upsert_csv
from tests.configs import DEMO_INTEGRATIONS

TEACHME = yaml.safe_load(
    (DEMO_INTEGRATIONS / "teachme_to_course_progress.yaml").read_text(encoding="utf-8")
)


def problems(tmp_path: Path, data: dict[str, Any]) -> list[str]:
    (tmp_path / "x.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    result = load_integrations(tmp_path)
    return [f"{p.path}: {p.message} Fix: {p.hint}" for ps in result.problems.values() for p in ps]


def teachme(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(TEACHME)
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        target = data
        for parent in parents:
            target = target[parent]
        target[last] = value
    return data


def test_the_teachme_demo_is_a_composite_key_upsert_with_a_lookup(tmp_path: Path) -> None:
    assert problems(tmp_path, teachme()) == []
    (config,) = load_integrations(tmp_path).integrations
    assert config.report.key_column == "User ID + Course Name"
    assert config.report.key_kind == "text"
    assert config.report.key_parts == ["User ID", "Course Name"]
    assert config.required_columns[:2] == ["User ID", "Course Name"]
    assert "Email" in config.required_columns  # the lookup's column
    assert config.creates_records
    assert config.lookups[0].field == "Contact__c"


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"report__key_columns": ["User ID"]}, "key_columns needs at least two"),
        ({"report__key_column": "User ID"}, "give either key_column or key_columns"),
        ({"report__key_kind": "guid"}, "a composite key is compared as text"),
        ({"report__key_columns": ["User ID", "Course"]}, "report.key_columns[1]: column 'Course'"),
        ({"write__mode": "update"}, "write.defaults only apply to records the sync creates"),
        (
            {"matching__multiple_records": "update_all"},
            "multiple_records: update_all cannot apply",
        ),
        (
            {"lookups": [{"field": "Name", "column": "Email", "parent_field": "Email"}]},
            "lookups[0].field: 'Name' is also written by mappings[0]",
        ),
        (
            {"lookups": [{"field": "Contact__c", "column": "Mail", "parent_field": "Email"}]},
            "lookups[0].column: column 'Mail' is not in report 'teachme'",
        ),
        ({"write__defaults": {"Bad Field": 1}}, "'Bad Field' is not a legal Salesforce API name"),
        (
            {"mappings": [{"column": "Course Name", "field": "Name", "percent_scale": "0-1"}]},
            "mappings[0].percent_scale: percent_scale applies to percentage columns",
        ),
    ],
)
def test_bad_configs_say_what_is_wrong_and_what_to_do(
    tmp_path: Path, changes: dict[str, Any], expected: str
) -> None:
    found = problems(tmp_path, teachme(**changes))
    assert any(expected in problem for problem in found), found
    assert all("Fix: " in problem and not problem.endswith("Fix: ") for problem in found)


def describe(**overrides: FieldInfo) -> ObjectInfo:
    fields = {
        "Name": FieldInfo("Name", "Name", "string", length=80, createable=True, nillable=False),
        "WalkMe_Progress_Key__c": FieldInfo(
            "WalkMe_Progress_Key__c", "Key", "string", createable=True, external_id=True
        ),
        "Contact__c": FieldInfo(
            "Contact__c", "Contact", "reference", createable=True, reference_to=("Contact",)
        ),
        "WalkMe_Source__c": FieldInfo(
            "WalkMe_Source__c",
            "Source",
            "picklist",
            createable=True,
            updateable=True,
            picklist_values=("TeachMe", "Manual"),
            restricted_picklist=True,
        ),
        "Status__c": FieldInfo("Status__c", "Status", "string", createable=True, nillable=False),
    }
    fields.update(overrides)
    return ObjectInfo("WalkMe_Course_Progress__c", "Progress", fields)


def test_online_checks_for_upsert_name_the_missing_required_field_and_a_non_external_key(
    tmp_path: Path,
) -> None:
    problems(tmp_path, teachme(object__key_field="WalkMe_Other_Key__c"))
    (config,) = load_integrations(tmp_path).integrations
    found = check_against_describe(config, {}, describe())
    messages = [f"{p.path}: {p.message} {p.hint}" for p in found if p.severity == "error"]
    assert any(
        "requires Status__c on a new record" in m and "write.defaults: {Status__c" in m
        for m in messages
    ), messages
    assert any("object.key_field" in m and "no field 'WalkMe_Other_Key__c'" in m for m in messages)


def test_composite_keys_are_normalised_per_part_and_escaped() -> None:
    keys = composite_keys(
        [
            pd.Series(["{0F8FAD5B-D9CB-469F-A165-70867728950E}", " a@B.com", None]),
            pd.Series([" Intro | Part\\1 ", "X", "Y"]),
        ],
        ["guid", "string"],
    )
    assert keys.tolist() == [
        "0f8fad5b-d9cb-469f-a165-70867728950e|intro \\| part\\\\1",
        "a@b.com|x",  # an email-typed column would casefold too; text is casefolded
        None,  # an empty part: no key
    ]


def test_upsert_wire_format_nests_relationships_in_json_and_keeps_columns_in_csv() -> None:
    fields: dict[str, Any] = {"Key__c": "u|c", "Contact__r.Email": "a@b.com", "Score__c": None}
    assert nested_record(fields) == {
        "Key__c": "u|c",
        "Contact__r": {"Email": "a@b.com"},
        "Score__c": None,
    }
    text = upsert_csv([RecordChange("new:1", 1, fields), RecordChange("001", 2, {"Key__c": "k"})])
    assert text.splitlines() == [
        "Contact__r.Email,Key__c,Score__c",
        "a@b.com,u|c,#N/A",
        ",k,",
    ]


def test_restricted_picklists_reject_unknown_values_with_the_allowed_list() -> None:
    field = describe().fields["WalkMe_Source__c"]
    assert coerce_for_field("TeachMe", field) == "TeachMe"
    with pytest.raises(ValueRejected, match=r"'Other' is not one of .*\(TeachMe, Manual\)"):
        coerce_for_field("Other", field)
    multi = FieldInfo(
        "Channels__c",
        "Channels",
        "multipicklist",
        picklist_values=("Web", "Mobile"),
        restricted_picklist=True,
    )
    assert coerce_for_field("Web;Mobile", multi) == "Web;Mobile"
    with pytest.raises(ValueRejected, match="'Fax' is not one of"):
        coerce_for_field("Web;Fax", multi)


def test_creations_get_their_new_id_and_an_empty_creation_is_rejected_not_dropped() -> None:
    outcomes = pd.concat(
        [
            outcome_frame(
                rows=[1],
                keys=["k1"],
                bucket=Bucket.WRITTEN,
                reasons=["updated Name"],
                record_ids=["new:1"],
            ),
            outcome_frame(
                rows=[2],
                keys=["k2"],
                bucket=Bucket.UNCHANGED,
                reasons=["same"],
                record_ids=["new:2"],
            ),
            outcome_frame(
                rows=[3],
                keys=["k3"],
                bucket=Bucket.WRITTEN,
                reasons=["updated Name"],
                record_ids=["a0W000000000001AAA"],
            ),
        ],
        ignore_index=True,
    )
    results = {
        "new:1": WriteResult("new:1", 1, True, created=True, created_id="a0W000000000002AAA")
    }
    settled = settle_creations(outcomes, results, dry_run=False)
    ids = [None if pd.isna(i) else i for i in settled["record_id"].tolist()]
    assert ids == ["a0W000000000002AAA", None, "a0W000000000001AAA"]
    assert settled["reason"].tolist()[0] == "created with Name"
    assert settled["bucket"].tolist()[1] == "rejected"
    assert "nothing to create" in settled["reason"].tolist()[1]


def test_the_run_note_and_the_integrations_page_say_how_many_records_were_created() -> None:
    from include.walkme_sync.airflow.console import ledger_run_view
    from include.walkme_sync.airflow.run_note import note_text

    summary = {"status": "Completed", "written": 40, "created": 12, "unchanged": 3, "api_calls": 5}
    assert note_text(summary) == "Completed · written 40 (created 12) · unchanged 3 · 5 API calls"
    assert "created" not in note_text({**summary, "created": 0})
    row = {
        "dag_id": "d",
        "dag_run_id": "r",
        "started_at": datetime(2026, 11, 24, 8, tzinfo=UTC),
        "runtime_seconds": 3.0,
        "status": "Completed",
        "dry_run": False,
        "written": 40,
        "created": 12,
        "unchanged": 3,
    }
    assert ledger_run_view(row).counts == (("written", 40), ("created", 12), ("unchanged", 3))

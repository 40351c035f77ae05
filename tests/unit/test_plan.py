"""Write planning: coercion rejections, null policies, diff against current values, full sync.

Also the outcome buckets of `apply_plan` for dry runs (no Salesforce call is made in a dry run).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from include.walkme_sync.config import IntegrationConfig
from include.walkme_sync.metadata import FieldInfo, ObjectInfo
from include.walkme_sync.reconcile.plan import plan_changes
from include.walkme_sync.salesforce.client import ApiMeter, SalesforceSession
from include.walkme_sync.salesforce.quota import ApiBudget
from include.walkme_sync.steps.upsert import apply_plan
from tests.configs import login_review_config

LEAD = ObjectInfo(
    name="Lead",
    label="Lead",
    fields={
        f.name: f
        for f in (
            FieldInfo("Id", "Lead ID", "id", length=18, filterable=True),
            FieldInfo("Email", "Email", "email", length=80, updateable=True, id_lookup=True),
            FieldInfo("WalkMe_Last_Login__c", "Last Login", "datetime", updateable=True),
            FieldInfo("WalkMe_First_Login__c", "First Login", "datetime", updateable=True),
            FieldInfo(
                "WalkMe_Logins_Last_30_Days__c",
                "Logins",
                "double",
                precision=5,
                scale=0,
                updateable=True,
            ),
        )
    },
)


def make_config(**overrides: Any) -> IntegrationConfig:
    config: IntegrationConfig = login_review_config(**overrides)
    return config


def matched_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Rows as the match step writes them: report columns + __row, __key, Id, __current__*."""
    records = []
    for i, row in enumerate(rows, start=1):
        records.append(
            {
                "__row": i,
                "__key": str(row["User ID"]).lower(),
                "User ID": row["User ID"],
                "Last Login": pd.Timestamp(row["Last Login"], tz="UTC")
                if row.get("Last Login")
                else pd.NaT,
                "First Login": pd.Timestamp(row["First Login"], tz="UTC")
                if row.get("First Login")
                else pd.NaT,
                "Logins in Past 30 days": row.get("Logins"),
                "Id": row["Id"],
                "__current__WalkMe_Last_Login__c": row.get("cur_last"),
                "__current__WalkMe_First_Login__c": row.get("cur_first"),
                "__current__WalkMe_Logins_Last_30_Days__c": row.get("cur_logins"),
            }
        )
    frame = pd.DataFrame(records)
    frame["Logins in Past 30 days"] = frame["Logins in Past 30 days"].astype("Int64")
    return frame


BASE = {
    "User ID": "ann@example.com",
    "Id": "00Q000000000001AAA",
    "Last Login": "2026-11-20 09:15:02",
    "First Login": "2025-01-02 08:00:00",
    "Logins": 12,
}


def test_unchanged_when_salesforce_already_holds_the_values() -> None:
    frame = matched_frame(
        [
            {
                **BASE,
                "cur_last": "2026-11-20T09:15:02.000+0000",
                "cur_first": "2025-01-02T08:00:00.000+0000",
                "cur_logins": 12.0,
            }
        ]
    )
    plan = plan_changes(make_config(), LEAD, frame, full_sync=False)
    assert plan.changes == [] and plan.diff == []
    assert [p.status for p in plan.pairs] == ["unchanged"]


def test_only_changed_fields_are_sent_and_diffed() -> None:
    frame = matched_frame(
        [
            {
                **BASE,
                "cur_last": "2026-11-19T09:15:02.000+0000",
                "cur_first": "2025-01-02T08:00:00.000+0000",
                "cur_logins": None,
            }
        ]
    )
    plan = plan_changes(make_config(), LEAD, frame, full_sync=False)
    assert len(plan.changes) == 1
    change = plan.changes[0]
    assert change.record_id == "00Q000000000001AAA" and change.row == 1
    assert change.fields == {
        "WalkMe_Last_Login__c": "2026-11-20T09:15:02.000Z",
        "WalkMe_Logins_Last_30_Days__c": 12,
    }
    assert {(d["field"], d["old"], d["new"]) for d in plan.diff} == {
        ("WalkMe_Last_Login__c", "2026-11-19T09:15:02.000+0000", "2026-11-20T09:15:02.000Z"),
        ("WalkMe_Logins_Last_30_Days__c", None, 12),
    }
    assert all(d["key"] == "ann@example.com" and d["row"] == 1 for d in plan.diff)


def test_full_sync_sends_every_value() -> None:
    frame = matched_frame(
        [
            {
                **BASE,
                "cur_last": "2026-11-20T09:15:02.000+0000",
                "cur_first": "2025-01-02T08:00:00.000+0000",
                "cur_logins": 12.0,
            }
        ]
    )
    plan = plan_changes(make_config(), LEAD, frame, full_sync=True)
    assert len(plan.changes) == 1 and len(plan.changes[0].fields) == 3


def test_null_policy_skip_leaves_the_field_alone() -> None:
    frame = matched_frame(
        [
            {
                **BASE,
                "Last Login": None,
                "cur_last": "2026-11-19T09:15:02.000+0000",
                "cur_first": "2025-01-02T08:00:00.000+0000",
                "cur_logins": 12.0,
            }
        ]
    )
    plan = plan_changes(make_config(), LEAD, frame, full_sync=False)
    assert plan.changes == []


def test_null_policy_clear_sends_none_only_when_salesforce_holds_a_value() -> None:
    mappings = [
        {"column": "Last Login", "field": "WalkMe_Last_Login__c", "null_policy": "clear"},
        {
            "column": "Logins in Past 30 days",
            "field": "WalkMe_Logins_Last_30_Days__c",
            "null_policy": "clear",
        },
    ]
    frame = matched_frame(
        [
            {
                **BASE,
                "Last Login": None,
                "Logins": None,
                "cur_last": "2026-11-19T09:15:02.000+0000",
                "cur_logins": None,
            },
        ]
    )
    plan = plan_changes(make_config(mappings=mappings), LEAD, frame, full_sync=False)
    assert [c.fields for c in plan.changes] == [{"WalkMe_Last_Login__c": None}]


def test_rejected_values_reject_the_row_with_every_reason() -> None:
    frame = matched_frame(
        [
            {**BASE, "Logins": 123456, "cur_last": None},  # precision 5, scale 0 -> max 5 digits
            {**BASE, "User ID": "bob@example.com", "Id": "00Q000000000002AAA", "cur_last": None},
        ]
    )
    plan = plan_changes(make_config(), LEAD, frame, full_sync=False)
    statuses = {p.row: p for p in plan.pairs}
    assert statuses[1].status == "rejected"
    reason = statuses[1].reason or ""
    assert "Field WalkMe_Logins_Last_30_Days__c" in reason and "123456" in reason
    assert [c.row for c in plan.changes] == [2]
    assert all(d["row"] == 2 for d in plan.diff)  # a rejected row writes nothing


def test_unknown_mapped_field_is_a_configuration_error() -> None:
    info = ObjectInfo(
        "Lead", "Lead", {k: v for k, v in LEAD.fields.items() if k != "WalkMe_First_Login__c"}
    )
    with pytest.raises(Exception, match="no field 'WalkMe_First_Login__c'"):
        plan_changes(make_config(), info, matched_frame([BASE]), full_sync=False)


def test_dry_run_buckets_every_matched_row_without_calls() -> None:
    frame = matched_frame(
        [
            {
                **BASE,
                "cur_last": "2026-11-20T09:15:02.000+0000",
                "cur_first": "2025-01-02T08:00:00.000+0000",
                "cur_logins": 12.0,
            },
            {**BASE, "User ID": "bob@example.com", "Id": "00Q000000000002AAA"},
            {**BASE, "User ID": "cy@example.com", "Id": "00Q000000000003AAA", "Logins": 999999},
        ]
    )
    config = make_config()
    plan = plan_changes(config, LEAD, frame, full_sync=False)
    meter = ApiMeter()
    session = SalesforceSession(sf=None, conn_id="salesforce_sandbox", meter=meter)
    budget = ApiBudget(meter, 10, 0.9)
    outcomes, summary, _stop = apply_plan(session, config, plan, budget, dry_run=True)
    assert outcomes["bucket"].tolist() == ["unchanged", "would_write", "rejected"]
    assert outcomes["__row"].tolist() == [1, 2, 3]
    assert outcomes.loc[1, "reason"].startswith("dry run: would update")
    assert outcomes.loc[2, "error_code"] == "INVALID_VALUE"
    assert summary["would_write"] == 1 and summary["api_calls"] == 0 and summary["dry_run"]
    assert summary["written"] == 0, "a dry run never counts as written"
    assert list(outcomes.columns) == ["__row", "key", "bucket", "reason", "error_code", "record_id"]

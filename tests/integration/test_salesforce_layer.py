"""The Salesforce layer against the local emulator, through the unmodified SalesforceHook.

Connections come from `AIRFLOW_CONN_SALESFORCE_SANDBOX`, configured exactly like a real org (the
emulator's proxy terminates the real host names), so login, metering, describe, lookups and both
writers run as they would in production.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

from include.walkme_sync.config import IntegrationConfig, WriteConfig
from include.walkme_sync.config.online import check_against_describe
from include.walkme_sync.errors import AuthorizationError, ConfigurationError
from include.walkme_sync.keys import normalize_key
from include.walkme_sync.reconcile.plan import plan_changes
from include.walkme_sync.records import RecordChange
from include.walkme_sync.salesforce.client import SalesforceSession, attach_meter, connect
from include.walkme_sync.salesforce.describe import describe_object
from include.walkme_sync.salesforce.lookup import lookup_records
from include.walkme_sync.salesforce.quota import ApiBudget
from include.walkme_sync.salesforce.writers import write_changes
from include.walkme_sync.steps.match import match_rows
from include.walkme_sync.steps.upsert import apply_plan
from tests.configs import login_review_config

CONN_ID = "salesforce_sandbox"
FAST = {"retry_backoff_seconds": 0.01}


@pytest.fixture
def org(sf_emulator: Any) -> Any:
    return sf_emulator.org("sandbox")


@pytest.fixture
def session(sf_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[SalesforceSession]:
    monkeypatch.setenv(
        "AIRFLOW_CONN_SALESFORCE_SANDBOX", sf_emulator.airflow_connection_json("sandbox")
    )
    yield connect(CONN_ID)


def leads(org: Any, records: list[dict[str, Any]]) -> list[str]:
    base = {"LastName": "Test", "Company": "Acme"}
    return list(org.data.load_records("Lead", [{**base, **r} for r in records]))


def by_id(org: Any) -> dict[str, dict[str, Any]]:
    return {r["Id"]: r for r in org.data.records("Lead")}


def budget(session: SalesforceSession, max_calls: int | None = None) -> ApiBudget:
    return ApiBudget(session.meter, max_calls=max_calls, max_daily_usage=0.9)


def make_config(**overrides: Any) -> IntegrationConfig:
    # Two mappings (no First Login) keep the field-by-field assertions short.
    mappings = [
        {"column": "Last Login", "field": "WalkMe_Last_Login__c"},
        {"column": "Logins in Past 30 days", "field": "WalkMe_Logins_Last_30_Days__c"},
    ]
    config: IntegrationConfig = login_review_config(
        **{"mappings": mappings, "write": FAST, **overrides}
    )
    return config


# --------------------------------------------------------------------------- connect and meter


def test_meter_counts_equal_the_emulators_own_counts(session: SalesforceSession, org: Any) -> None:
    ids = leads(org, [{"Email": f"m{i}@example.com"} for i in range(5)])
    org.reset_api_calls()
    before = session.meter.calls
    describe_object(session, "Lead")
    lookup_records(session, "Lead", "Email", ["m1@example.com"], ["Email"], key_kind="email")
    changes = [RecordChange(i, n, {"WalkMe_NPS_Score__c": 7}) for n, i in enumerate(ids)]
    write_changes(session, "Lead", changes[:2], WriteConfig(**FAST), budget(session))
    write_changes(
        session, "Lead", changes[2:], WriteConfig(bulk_threshold=1, **FAST), budget(session)
    )
    meter = session.meter
    assert meter.calls - before == org.api_calls()
    for kind in ("describe", "query", "composite", "bulk2"):
        assert meter.calls_by_kind[kind] == org.api_calls(kind), kind
    assert meter.daily_limit == org.daily_limit and meter.daily_used == org.api_usage


def test_rejected_credentials_become_authorization_error_without_secrets(
    sf_emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for auth in ("password", "oauth_password"):
        connection = sf_emulator.airflow_connection("sandbox", auth=auth)
        connection["password"] = "Wr0ng-Passw0rd!"
        monkeypatch.setenv("AIRFLOW_CONN_SALESFORCE_SANDBOX", json.dumps(connection))
        with pytest.raises(AuthorizationError) as caught:
            connect(CONN_ID)
        text = str(caught.value)
        assert CONN_ID in text
        assert "revoked or has expired" in text and "update the Airflow connection" in text
        for secret in (
            "Wr0ng-Passw0rd!",
            connection["extra"].get("security_token"),
            connection["extra"].get("consumer_secret"),
        ):
            if secret:
                assert secret not in text
        assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_revoked_session_mid_run_is_an_authorization_error(sf_emulator: Any) -> None:
    from simple_salesforce import Salesforce

    token = sf_emulator.issue_session("sandbox")
    sf = Salesforce(instance_url=sf_emulator.instance_url, session_id=token)
    session = attach_meter(sf, CONN_ID)
    describe_object(session, "Lead")
    sf_emulator.faults.expire_sessions("sandbox")
    with pytest.raises(AuthorizationError) as caught:
        describe_object(session, "Lead")
    assert token not in str(caught.value) and CONN_ID in str(caught.value)


def test_expired_session_is_renewed_by_a_password_connection(
    session: SalesforceSession, sf_emulator: Any
) -> None:
    describe_object(session, "Lead")
    sf_emulator.faults.expire_sessions("sandbox")
    assert describe_object(session, "Lead").name == "Lead"  # simple-salesforce logged in again


def test_missing_connection_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="salesforce_nowhere"):
        connect("salesforce_nowhere")


# --------------------------------------------------------------------------- describe


def test_describe_and_online_validation(session: SalesforceSession) -> None:
    info = describe_object(session, "Lead")
    assert info.field("email") is info.fields["Email"]
    assert info.fields["WalkMe_Onboarding_Completion__c"].scale == 2
    config = make_config(
        mappings=[
            {"column": "Last Login", "field": "WalkMe_Last_Loginn__c"},  # typo
            {"column": "Logins in Past 30 days", "field": "WalkMe_Score_Formula__c"},  # formula
            {"column": "User ID", "field": "WalkMe_NPS_Score__c"},  # text -> double
            {"column": "First Login", "field": "WalkMe_First_Login__c"},  # fine
        ]
    )
    columns = {
        "User ID": "string",
        "First Login": "datetime",
        "Last Login": "datetime",
        "Logins in Past 30 days": "integer",
    }
    problems = check_against_describe(config, columns, info)
    errors = {p.path: p for p in problems if p.severity == "error"}
    assert set(errors) == {"mappings[0].field", "mappings[1].field", "mappings[2].field"}
    assert "WalkMe_Last_Login__c" in (errors["mappings[0].field"].hint or "")
    assert "cannot be updated" in errors["mappings[1].field"].message
    assert "double" in errors["mappings[2].field"].message
    assert all(p.file == "demo/integrations/login_review_to_lead.yaml" for p in problems)


def test_unknown_object_is_a_configuration_error(session: SalesforceSession) -> None:
    with pytest.raises(ConfigurationError) as caught:
        describe_object(session, "WalkMe_Nothing__c")
    assert "WalkMe_Nothing__c" in str(caught.value) and "API name" in str(caught.value)


# --------------------------------------------------------------------------- lookup and match


def test_lookup_is_case_insensitive_groups_duplicates_and_escapes_quotes(
    session: SalesforceSession, org: Any
) -> None:
    ids = leads(
        org,
        [
            {"Email": "Ann.Lee@Example.com"},
            {"Email": "shared@example.com"},
            {"Email": "SHARED@example.com"},
            {"Email": "o'brien@example.com"},
            {"Email": "other@example.com"},
        ],
    )
    keys = [
        normalize_key(k, "email")
        for k in (
            " ANN.lee@example.COM ",
            "shared@example.com",
            "O'Brien@example.com",
            "a' OR Name != '",
            "nobody@example.com",
        )
    ]
    found = lookup_records(
        session, "Lead", "Email", [k for k in keys if k], ["WalkMe_NPS_Score__c"], key_kind="email"
    )
    assert set(found) == {"ann.lee@example.com", "shared@example.com", "o'brien@example.com"}
    assert [r["Id"] for r in found["ann.lee@example.com"]] == [ids[0]]
    assert {r["Id"] for r in found["shared@example.com"]} == {ids[1], ids[2]}
    assert found["o'brien@example.com"][0]["Id"] == ids[3]
    assert set(found["ann.lee@example.com"][0]) == {"Id", "Email", "WalkMe_NPS_Score__c"}


def test_lookup_splits_many_keys_into_several_queries(session: SalesforceSession, org: Any) -> None:
    emails = [f"person.number.{i}@example-company.com" for i in range(1_000)]
    leads(org, [{"Email": e} for e in emails[::10]])
    before = session.meter.calls_by_kind["query"]
    found = lookup_records(session, "Lead", "Email", emails, [], key_kind="email")
    assert len(found) == 100
    assert session.meter.calls_by_kind["query"] - before >= 3  # ~300 e-mails per GET


def test_lookup_through_bulk_query(session: SalesforceSession, org: Any) -> None:
    emails = [f"bulk{i}@example.com" for i in range(300)]
    leads(org, [{"Email": e.upper(), "WalkMe_NPS_Score__c": 9} for e in emails[:200]])
    found = lookup_records(
        session,
        "Lead",
        "Email",
        emails,
        ["WalkMe_NPS_Score__c"],
        key_kind="email",
        bulk_threshold=50,
    )
    assert len(found) == 200 and session.meter.calls_by_kind["bulk2"] >= 3
    assert float(found["bulk7@example.com"][0]["WalkMe_NPS_Score__c"]) == 9


def report_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    frame.insert(0, "__row", range(1, len(frame) + 1))
    frame["Last Login"] = pd.to_datetime(frame["Last Login"], utc=True)
    frame["Logins in Past 30 days"] = frame["Logins in Past 30 days"].astype("Int64")
    return frame


def test_match_rows_buckets_and_update_all(session: SalesforceSession, org: Any) -> None:
    ids = leads(
        org,
        [
            {"Email": "ann@example.com", "WalkMe_Logins_Last_30_Days__c": 3},
            {"Email": "twin@example.com"},
            {"Email": "Twin@example.com"},
        ],
    )
    frame = report_frame(
        [
            {
                "User ID": "ANN@example.com",
                "Last Login": "2026-11-20 09:15:02",
                "Logins in Past 30 days": 12,
            },
            {
                "User ID": "twin@example.com",
                "Last Login": "2026-11-21 10:00:00",
                "Logins in Past 30 days": 1,
            },
            {
                "User ID": "ghost@example.com",
                "Last Login": "2026-11-21 10:00:00",
                "Logins in Past 30 days": 1,
            },
        ]
    )
    result = match_rows(session, make_config(), frame)
    assert result.matched["Id"].tolist() == [ids[0]]
    assert result.matched["__current__WalkMe_Logins_Last_30_Days__c"].tolist() == [3]
    buckets = dict(zip(result.outcomes["__row"], result.outcomes["bucket"], strict=True))
    assert buckets == {2: "ambiguous", 3: "unmatched"}
    reason = result.outcomes.set_index("__row").loc[2, "reason"]
    assert ids[1] in reason and ids[2] in reason

    everyone = match_rows(session, make_config(matching={"multiple_records": "update_all"}), frame)
    assert sorted(everyone.matched["Id"]) == sorted(ids)
    assert everyone.outcomes["bucket"].tolist() == ["unmatched"]


# --------------------------------------------------------------------------- writers


@pytest.mark.parametrize("bulk_threshold", [2000, 1], ids=["collections", "bulk2"])
def test_write_sets_and_clears_fields(
    session: SalesforceSession, org: Any, bulk_threshold: int
) -> None:
    ids = leads(
        org,
        [
            {"Email": "a@example.com", "WalkMe_NPS_Score__c": 5, "Title": "Boss"},
            {"Email": "b@example.com", "WalkMe_NPS_Score__c": 6, "Title": "Chief"},
            {"Email": "c@example.com"},
        ],
    )
    changes = [
        RecordChange(
            ids[0],
            1,
            {"WalkMe_NPS_Score__c": 9, "WalkMe_Last_Login__c": "2026-11-20T09:15:02.000Z"},
        ),
        RecordChange(ids[1], 2, {"Title": None}),  # clear; NPS not in this change: untouched
        RecordChange(ids[2], 3, {"WalkMe_Onboarding_Completion__c": 87.5, "Title": 'Say "hi", ok'}),
    ]
    options = WriteConfig(bulk_threshold=bulk_threshold, **FAST)
    outcome = write_changes(session, "Lead", changes, options, budget(session))
    assert [r.success for r in outcome.results] == [True, True, True], outcome.results
    assert outcome.stopped_reason is None
    held = by_id(org)
    assert held[ids[0]]["WalkMe_NPS_Score__c"] == 9
    assert held[ids[0]]["WalkMe_Last_Login__c"].startswith("2026-11-20T09:15:02")
    assert held[ids[0]]["Title"] == "Boss"
    assert held[ids[1]]["Title"] is None
    assert held[ids[1]]["WalkMe_NPS_Score__c"] == 6
    assert held[ids[2]]["WalkMe_Onboarding_Completion__c"] == 87.5
    assert held[ids[2]]["Title"] == 'Say "hi", ok'


@pytest.mark.parametrize("bulk_threshold", [2000, 1], ids=["collections", "bulk2"])
def test_locked_rows_are_retried_and_permanent_errors_reported(
    session: SalesforceSession, org: Any, sf_emulator: Any, bulk_threshold: int
) -> None:
    ids = leads(org, [{"Email": f"l{i}@example.com"} for i in range(4)])
    sf_emulator.faults.lock_records("sandbox", [ids[0], ids[1]], times=1)
    changes = [RecordChange(i, n, {"WalkMe_NPS_Score__c": 8}) for n, i in enumerate(ids[:3])]
    changes.append(RecordChange(ids[3], 4, {"Title": "x" * 200}))  # Title holds 128
    outcome = write_changes(
        session,
        "Lead",
        changes,
        WriteConfig(bulk_threshold=bulk_threshold, **FAST),
        budget(session),
    )
    results = {r.record_id: r for r in outcome.results}
    assert results[ids[0]].success and results[ids[0]].attempts == 2
    assert results[ids[1]].success and results[ids[1]].attempts == 2
    assert results[ids[2]].success and results[ids[2]].attempts == 1
    failed = results[ids[3]]
    assert not failed.success and failed.error_code == "STRING_TOO_LONG" and failed.message
    assert all(by_id(org)[i]["WalkMe_NPS_Score__c"] == 8 for i in ids[:3])


def test_locks_that_outlast_the_retries_end_failed(
    session: SalesforceSession, org: Any, sf_emulator: Any
) -> None:
    ids = leads(org, [{"Email": "stuck@example.com"}])
    sf_emulator.faults.lock_records("sandbox", ids, times=10)
    outcome = write_changes(
        session,
        "Lead",
        [RecordChange(ids[0], 1, {"Title": "t"})],
        WriteConfig(retries=2, **FAST),
        budget(session),
    )
    (result,) = outcome.results
    assert not result.success and result.error_code == "UNABLE_TO_LOCK_ROW" and result.attempts == 3


def test_a_503_on_a_batch_is_retried(
    session: SalesforceSession, org: Any, sf_emulator: Any
) -> None:
    ids = leads(org, [{"Email": f"r{i}@example.com"} for i in range(3)])
    sf_emulator.faults.fail_requests(status=503, count=2, path_contains="composite")
    changes = [RecordChange(i, n, {"Title": "Retried"}) for n, i in enumerate(ids)]
    outcome = write_changes(session, "Lead", changes, WriteConfig(**FAST), budget(session))
    assert all(r.success for r in outcome.results)
    assert all(by_id(org)[i]["Title"] == "Retried" for i in ids)


def test_salesforce_down_for_good_stops_with_every_row_accounted(
    session: SalesforceSession, org: Any, sf_emulator: Any
) -> None:
    ids = leads(org, [{"Email": f"d{i}@example.com"} for i in range(3)])
    sf_emulator.faults.fail_requests(status=503, count=100, path_contains="composite")
    changes = [RecordChange(i, n, {"Title": "x"}) for n, i in enumerate(ids)]
    outcome = write_changes(
        session,
        "Lead",
        changes,
        WriteConfig(collection_batch_size=1, retries=1, **FAST),
        budget(session),
    )
    assert len(outcome.results) == 3 and not any(r.success for r in outcome.results)
    assert {r.error_code for r in outcome.results} == {"SALESFORCE_UNAVAILABLE"}
    assert outcome.stop_error is not None and outcome.stop_error.category == "transient"


def test_budget_stop_leaves_unsent_rows_as_api_budget_exceeded(
    session: SalesforceSession, org: Any
) -> None:
    ids = leads(org, [{"Email": f"b{i}@example.com"} for i in range(6)])
    changes = [RecordChange(i, n, {"Title": "Budgeted"}) for n, i in enumerate(ids)]
    outcome = write_changes(
        session,
        "Lead",
        changes,
        WriteConfig(collection_batch_size=2, **FAST),
        budget(session, max_calls=2),
    )
    assert [r.success for r in outcome.results] == [True] * 4 + [False] * 2
    assert {r.error_code for r in outcome.results[4:]} == {"API_BUDGET_EXCEEDED"}
    assert outcome.stopped_reason and "budget" in outcome.stopped_reason
    held = by_id(org)
    assert [held[i]["Title"] for i in ids] == ["Budgeted"] * 4 + [None] * 2


def test_daily_usage_ceiling_stops_before_writing(
    session: SalesforceSession, org: Any, sf_emulator: Any
) -> None:
    ids = leads(org, [{"Email": "q@example.com"}])
    sf_emulator.faults.set_daily_limit("sandbox", 10)
    describe_object(session, "Lead")  # learn the usage from Sforce-Limit-Info
    guarded = ApiBudget(session.meter, max_calls=None, max_daily_usage=0.1)
    outcome = write_changes(
        session, "Lead", [RecordChange(ids[0], 1, {"Title": "t"})], WriteConfig(**FAST), guarded
    )
    assert outcome.results[0].error_code == "API_BUDGET_EXCEEDED"
    assert "daily API requests" in (outcome.stopped_reason or "")


def test_failed_bulk_job_falls_back_to_collections(
    session: SalesforceSession, org: Any, sf_emulator: Any
) -> None:
    ids = leads(org, [{"Email": f"f{i}@example.com"} for i in range(5)])
    sf_emulator.faults.fail_bulk_jobs(count=1)
    changes = [RecordChange(i, n, {"Title": "Fallback"}) for n, i in enumerate(ids)]
    outcome = write_changes(
        session, "Lead", changes, WriteConfig(bulk_threshold=1, **FAST), budget(session)
    )
    assert all(r.success for r in outcome.results), outcome.results
    assert session.meter.calls_by_kind["composite"] >= 1
    assert all(by_id(org)[i]["Title"] == "Fallback" for i in ids)


# --------------------------------------------------------------------------- plan + apply


def test_plan_apply_then_rerun_is_a_no_op(session: SalesforceSession, org: Any) -> None:
    leads(
        org,
        [
            {"Email": "ann@example.com", "WalkMe_Logins_Last_30_Days__c": 3},
            {"Email": "bob@example.com"},
        ],
    )
    config = make_config()
    frame = report_frame(
        [
            {
                "User ID": "ann@example.com",
                "Last Login": "2026-11-20 09:15:02",
                "Logins in Past 30 days": 12,
            },
            {
                "User ID": "bob@example.com",
                "Last Login": "2026-11-21 10:00:00",
                "Logins in Past 30 days": 10**18,
            },  # 19 digits: does not fit precision 18
        ]
    )
    info = describe_object(session, "Lead")
    plan = plan_changes(config, info, match_rows(session, config, frame).matched, full_sync=False)
    outcomes, summary, _stop = apply_plan(session, config, plan, budget(session), dry_run=False)
    assert outcomes["bucket"].tolist() == ["written", "rejected"]
    assert summary["written"] == 1 and summary["stopped_reason"] is None

    again = plan_changes(config, info, match_rows(session, config, frame).matched, full_sync=False)
    outcomes, summary, _stop = apply_plan(session, config, again, budget(session), dry_run=False)
    assert outcomes["bucket"].tolist() == ["unchanged", "rejected"]
    assert summary["api_calls"] == 0


def test_bulk_job_survives_a_503_and_an_expired_session(
    session: SalesforceSession, org: Any, sf_emulator: Any
) -> None:
    ids = leads(org, [{"Email": f"e{i}@example.com"} for i in range(4)])
    options = WriteConfig(bulk_threshold=1, **FAST)
    sf_emulator.faults.fail_requests(status=503, count=1, path_contains="jobs/ingest")
    first = write_changes(
        session,
        "Lead",
        [RecordChange(i, n, {"Title": "One"}) for n, i in enumerate(ids)],
        options,
        budget(session),
    )
    assert all(r.success for r in first.results), first.results
    # Bulk calls never renew a session by themselves: the writer logs in again once.
    sf_emulator.faults.expire_sessions("sandbox")
    second = write_changes(
        session,
        "Lead",
        [RecordChange(i, n, {"Title": "Two"}) for n, i in enumerate(ids)],
        options,
        budget(session),
    )
    assert all(r.success for r in second.results), second.results
    assert all(by_id(org)[i]["Title"] == "Two" for i in ids)


def test_bulk_lookup_of_a_few_keys_in_a_big_object_uses_in_lists(
    session: SalesforceSession, org: Any
) -> None:
    emails = [f"big{i}@example.com" for i in range(400)]
    leads(org, [{"Email": e} for e in emails])
    wanted = [*emails[:40], "o'hara@example.com"]
    found = lookup_records(
        session, "Lead", "Email", wanted, [], key_kind="email", bulk_threshold=10
    )
    assert set(found) == set(emails[:40])  # 400 keyed records > 4 x 41 keys: IN lists, no scan


def _comparable(value: Any) -> Any:
    """REST returns JSON types, Bulk CSV strings: compare the values, not their spelling."""
    if value is None or isinstance(value, bool):
        return value
    try:
        return float(value)
    except ValueError:
        pass
    try:
        return pd.Timestamp(value)
    except ValueError:
        return value


@pytest.mark.parametrize("policy", ["skip", "update_all"])
def test_bulk_and_rest_lookups_match_the_same_rows(
    session: SalesforceSession, org: Any, policy: str
) -> None:
    leads(
        org,
        [
            {"Email": "Ann.Lee@Example.com", "WalkMe_Logins_Last_30_Days__c": 3},
            {"Email": "shared@example.com", "WalkMe_Last_Login__c": "2026-01-02T03:04:05.000Z"},
            {"Email": "SHARED@example.com", "WalkMe_Logins_Last_30_Days__c": 4},
            {"Email": "Shared@Example.com"},
            {"Email": "o'brien@example.com", "WalkMe_Logins_Last_30_Days__c": 5},
            # A comma is not legal in a Salesforce e-mail (Help article 000001145); "|" is.
            {"Email": "x|y@example.com"},
            *({"Email": "many@example.com"} for _ in range(12)),
            *(
                {"Email": f"User{i}@Example.com", "WalkMe_Logins_Last_30_Days__c": i}
                for i in range(30)
            ),
        ],
    )
    emails = [
        " ANN.lee@example.COM ",
        "shared@example.com",
        "O'Brien@example.com ",
        "a' OR Name != '",
        "nobody@example.com",
        "\tMANY@example.com",
        '"x,y"@example.com',
        "X|Y@example.com",
        *(f"  user{i}@EXAMPLE.com" for i in range(30)),
    ]
    frame = report_frame(
        [
            {"User ID": e, "Last Login": "2026-11-20 09:15:02", "Logins in Past 30 days": n}
            for n, e in enumerate(emails)
        ]
    )
    config = make_config(matching={"multiple_records": policy})
    before = dict(session.meter.calls_by_kind)
    rest = match_rows(session, config, frame, bulk_threshold=1_000)
    assert session.meter.calls_by_kind["bulk2"] == before.get("bulk2", 0)
    bulk = match_rows(session, config, frame, bulk_threshold=1)
    assert session.meter.calls_by_kind["bulk2"] > before.get("bulk2", 0)

    pd.testing.assert_frame_equal(rest.outcomes, bulk.outcomes)
    current = [c for c in rest.matched.columns if c.startswith("__current__")]
    assert len(current) == 2
    pd.testing.assert_frame_equal(
        rest.matched.drop(columns=current), bulk.matched.drop(columns=current)
    )
    for column in current:
        assert [_comparable(v) for v in rest.matched[column]] == [
            _comparable(v) for v in bulk.matched[column]
        ], column
    # Types per path, as Salesforce returns them: JSON numbers from REST, CSV text from Bulk.
    logins = "__current__WalkMe_Logins_Last_30_Days__c"
    first = rest.matched["__key"].tolist().index("ann.lee@example.com")
    assert rest.matched[logins][first] == 3 and bulk.matched[logins][first] == "3"

    buckets = dict(zip(rest.outcomes["__row"], rest.outcomes["bucket"], strict=True))
    expected = {4: "unmatched", 5: "unmatched", 7: "unmatched"}
    if policy == "skip":
        expected.update({2: "ambiguous", 6: "ambiguous"})
        reason = rest.outcomes.set_index("__row").loc[6, "reason"]
        assert reason.startswith("12 Lead records") and reason.endswith(" and 2 more")
    assert buckets == expected
    matched_rows = 1 + 1 + 1 + 30 + (3 + 12 if policy == "update_all" else 0)
    assert len(rest.matched) == matched_rows
    assert "o'brien@example.com" in set(rest.matched["__key"])
    assert rest.matched["__row"].is_monotonic_increasing  # report order, records grouped per row

"""The hostile-input corpus (tests/corpus/cases.py), end to end through the integration's DAG.

For every case: the buckets add up to the report's data rows, nothing changes in Salesforce when
the file is unusable, the message names the file (or the row's column and value) and what to do,
and no secret shows up in the run summary, the ledger or the logs.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from include.walkme_sync.ledger import Ledger
from tests.corpus.cases import FILE_CASES, FILE_NAME, SEEDED, VALUE_ROWS, Case
from tests.integration.harness import SyncHarness
from tests.integration.test_sync_dags import assert_buckets_add_up

pytestmark = pytest.mark.slow

SESSION_ID = re.compile(r"00D[A-Za-z0-9]{12,15}![A-Za-z0-9._\-]+")


def seed(sf: Any, emails: list[str]) -> None:
    sf.org("sandbox").data.load_records(
        "Lead", [{"LastName": f"L{i}", "Company": "Acme", "Email": e} for i, e in enumerate(emails)]
    )


def lead_values(sf: Any) -> dict[str, tuple[Any, ...]]:
    fields = ("WalkMe_First_Login__c", "WalkMe_Last_Login__c", "WalkMe_Logins_Last_30_Days__c")
    return {
        lead["Email"]: tuple(lead.get(f) for f in fields)
        for lead in sf.org("sandbox").data.records("Lead")
    }


def run_case(harness: SyncHarness, name: str, data: bytes, config: dict[str, Any]) -> Any:
    harness.write_config(name, config)
    (harness.export_folder(name) / FILE_NAME).write_bytes(data)
    return harness.run(name)


def assert_no_secret(sf: Any, texts: list[str]) -> None:
    credentials = sf.org("sandbox").credentials
    secrets = [credentials["password"], credentials["security_token"], credentials["client_secret"]]
    for text in texts:
        for secret in secrets:
            assert secret not in text
        assert not SESSION_ID.search(text)


def ledger_texts(name: str) -> list[str]:
    ledger = Ledger()
    runs = ledger.runs(name)
    return [json.dumps(runs, default=str)] + [
        json.dumps(ledger.row_problems(run["id"]), default=str) for run in runs
    ]


@pytest.mark.parametrize("case", FILE_CASES, ids=[case.id for case in FILE_CASES])
def test_hostile_file(
    case: Case, shared_harness: SyncHarness, shared_sf: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    seed(shared_sf, SEEDED)
    before = lead_values(shared_sf)
    name = f"corpus_{case.id}"

    result = run_case(shared_harness, name, case.data, case.config)

    summary = result.summary
    assert summary["status"] == case.status, summary["message"]
    assert_buckets_add_up(summary)
    for bucket, count in case.buckets.items():
        assert summary[bucket] == count, (bucket, summary)
    if case.status == "Failed":
        assert lead_values(shared_sf) == before  # an unusable file changes nothing
        assert shared_sf.org("sandbox").api_calls() == 0
        for words in case.message:
            assert words in summary["message"]
    if case.reasons:
        (run, *_) = Ledger().runs(name)
        reasons = {p["key"]: p["reason"] for p in Ledger().row_problems(run["id"])}
        for key, words in case.reasons.items():
            assert words in reasons[key.strip()], reasons
    logs = capfd.readouterr()
    assert_no_secret(shared_sf, [json.dumps(summary), *ledger_texts(name), logs.out, logs.err])


def test_number_date_formats_and_special_literals(
    shared_harness: SyncHarness, shared_sf: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    """One report whose every row is a case: a value format or literal in a typed column."""
    seed(shared_sf, [key for key, *_ in VALUE_ROWS])
    name = "corpus_value_formats"
    from tests.corpus.cases import csv_bytes

    data = csv_bytes([[key, first, last, logins] for key, first, last, logins, *_ in VALUE_ROWS])

    result = run_case(shared_harness, name, data, {})

    summary = result.summary
    assert summary["report_rows"] == len(VALUE_ROWS)
    assert_buckets_add_up(summary)
    (run, *_) = Ledger().runs(name)
    problems = {p["key"]: p for p in Ledger().row_problems(run["id"])}
    for key, _first, _last, _logins, bucket, words in VALUE_ROWS:
        if bucket == "written":
            assert key not in problems, problems.get(key)
        else:
            assert problems[key]["bucket"] == bucket, key
            assert words in problems[key]["reason"], problems[key]["reason"]
    values = lead_values(shared_sf)
    assert values["exponent@example.com"][2] == 1000
    assert values["padded@example.com"][2] == 42
    assert values["offset@example.com"][1] == "2026-11-24T07:15:02.000+0000"
    assert values["empty_number@example.com"][2] is None  # null policy skip: left alone
    assert values["before_1700@example.com"] == (None, None, None)  # rejected rows: untouched
    logs = capfd.readouterr()
    assert_no_secret(shared_sf, [json.dumps(summary), *ledger_texts(name), logs.out, logs.err])

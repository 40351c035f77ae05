"""One write semantics: the same report, written through Bulk API 2.0 and through sObject
Collections (forced with write.bulk_threshold, odd batch sizes), ends the same in Salesforce.

The corpus (tests/corpus/cases.py TEXT_ROWS) holds the values special to some wire format: Bulk
CSV's null marker `#N/A`, formula-like text, quotes, line breaks, a value over Bulk's 32,000
characters, characters beyond U+FFFF, NULs. The emulator parses Bulk CSV as Salesforce documents
(`#N/A` clears the field), so a value reinterpreted on one path would show up here.
"""

from __future__ import annotations

from typing import Any

import pytest

from include.walkme_sync.ledger import Ledger
from tests.corpus.cases import TEXT_HEADER, TEXT_ROWS
from tests.integration.harness import SyncHarness
from tests.integration.test_sync_dags import assert_buckets_add_up

pytestmark = pytest.mark.slow

FIELDS = ("WalkMe_Notes__c", "WalkMe_Quiz_Name__c")
PATHS = {
    # org -> write settings that force one path
    "sandbox": {"bulk_threshold": 0, "bulk_batch_size": 7},
    "production": {"bulk_threshold": 1_000_000, "collection_batch_size": 3},
}


def config(environment: str) -> dict[str, Any]:
    return {
        "environment": environment,
        "report": {"name": "teachme", "key_column": "Email", "key_kind": "email"},
        "object": {"name": "Contact", "key_field": "Email"},
        "mappings": [
            {"column": "Course Name", "field": "WalkMe_Notes__c", "null_policy": "clear"},
            {"column": "Quiz Name", "field": "WalkMe_Quiz_Name__c"},
        ],
        "write": {**PATHS[environment], "retry_backoff_seconds": 0.01},
    }


def contacts(sf: Any, org: str) -> dict[str, dict[str, Any]]:
    return {
        record["Email"]: {name: record.get(name) for name in FIELDS}
        for record in sf.org(org).data.records("Contact")
    }


def test_bulk_and_collections_leave_the_same_state(
    shared_harness: SyncHarness, shared_sf: Any
) -> None:
    seeds = [
        {"LastName": f"L{i}", "Email": key, "WalkMe_Notes__c": "before", "WalkMe_Quiz_Name__c": "b"}
        for i, (key, *_) in enumerate(TEXT_ROWS)
    ]
    rows = [[f"guid-{i}", key, course, quiz] for i, (key, course, quiz, *_) in enumerate(TEXT_ROWS)]
    outcomes = {}
    for org in PATHS:
        shared_sf.org(org).data.load_records("Contact", seeds)
        name = f"write_path_{org}"
        shared_harness.write_config(name, config(org))
        shared_harness.write_export(name, rows, header=TEXT_HEADER)
        shared_sf.org(org).reset_api_calls()
        result = shared_harness.run(name)
        assert_buckets_add_up(result.summary)
        assert result.summary["api_calls"] == shared_sf.org(org).api_calls()
        (run, *_) = Ledger().runs(name)
        problems = Ledger().row_problems(run["id"])
        outcomes[org] = {p["key"]: (p["bucket"], p["reason"]) for p in problems}
    assert shared_sf.org("sandbox").api_calls("bulk2") > 0
    assert shared_sf.org("production").api_calls("bulk2") == 0

    # Every row ends the same way on both paths, with the reasons the corpus expects.
    assert outcomes["sandbox"] == outcomes["production"]
    for key, _course, _quiz, bucket, words in TEXT_ROWS:
        if bucket == "written":
            assert key not in outcomes["sandbox"], outcomes["sandbox"].get(key)
        else:
            assert outcomes["sandbox"][key][0] == bucket and words in outcomes["sandbox"][key][1]
    # ...and Salesforce holds the same values, field by field, written literally.
    bulk, collections = contacts(shared_sf, "sandbox"), contacts(shared_sf, "production")
    for key in bulk:
        assert bulk[key] == collections[key], key
    for key, course, quiz, bucket, _ in TEXT_ROWS:
        if bucket == "written":
            assert bulk[key] == {
                "WalkMe_Notes__c": course.strip() or None,
                "WalkMe_Quiz_Name__c": quiz.strip(),
            }, key
        else:
            assert bulk[key] == {"WalkMe_Notes__c": "before", "WalkMe_Quiz_Name__c": "b"}

"""Bulk API 2.0 over HTTPS at a million records, through the real simple-salesforce client.

    PYTHONPATH=. .venv/bin/python benchmarks/emulator_bulk.py [--records 1000000]

Prints numbers (it is not a timed test): a Bulk 2.0 update of every Lead (four fields, the CSV
upload goes through the CONNECT proxy and TLS like a real org) and a Bulk 2.0 query returning every
Lead in 50,000-row pages, each with wall time, API calls and the emulator's own processing time.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from collections.abc import Callable
from typing import TypeVar

from simple_salesforce import Salesforce

from sf_emulator.testing import EmulatorServer, OrgHandle

T = TypeVar("T")


def timed(label: str, action: Callable[[], T]) -> tuple[T, float]:
    started = time.perf_counter()
    result = action()
    elapsed = time.perf_counter() - started
    print(f"{label:<52} {elapsed:8.2f} s")
    return result, elapsed


def login(emulator: EmulatorServer) -> Salesforce:
    """Password login through the proxy, exactly as a connection to a real sandbox does."""
    credentials = emulator.org("sandbox").credentials
    return Salesforce(
        username=credentials["username"],
        password=credentials["password"],
        security_token=credentials["security_token"],
        domain=credentials["domain"],
        proxies={"https": emulator.proxy_url},
    )


def update_rows(ids: list[str]) -> list[dict[str, str]]:
    return [
        {
            "Id": record_id,
            "WalkMe_Logins_Last_30_Days__c": str(position % 31),
            "WalkMe_Last_Login__c": f"2026-11-{1 + position % 28:02d}T08:00:00.000Z",
            "Title": f"Title {position % 97}",
        }
        for position, record_id in enumerate(ids)
    ]


def bulk_update(sf: Salesforce, org: OrgHandle, rows: list[dict[str, str]]) -> None:
    org.reset_api_calls()
    results, elapsed = timed(
        f"Bulk 2.0 update of {len(rows):,} Leads (client total)",
        lambda: sf.bulk2.Lead.update(records=rows, wait=0),
    )
    processed = sum(int(result["numberRecordsProcessed"]) for result in results)
    failed = sum(int(result["numberRecordsFailed"]) for result in results)
    server_ms = sum(org.runtime.ingest_jobs[result["job_id"]].processing_ms for result in results)
    print(f"    jobs {len(results)}, processed {processed:,}, failed {failed:,}")
    print(f"    emulator processing {server_ms / 1000:.2f} s, {processed / elapsed:,.0f} rows/s")
    # The rest is simple-salesforce building and splitting the CSV, plus TLS upload and polling.
    print(f"    client CSV building + HTTP {elapsed - server_ms / 1000:.2f} s")
    print(f"    API calls {org.api_calls()} (bulk2 {org.api_calls('bulk2')})")


def bulk_query(sf: Salesforce, org: OrgHandle, expected: int) -> None:
    org.reset_api_calls()

    def read_all() -> tuple[int, int]:
        rows = pages = 0
        for page in sf.bulk2.Lead.query(
            "SELECT Id, Email, Title, WalkMe_Last_Login__c FROM Lead", wait=0
        ):
            pages += 1
            rows += page.count("\n") - 1
        return rows, pages

    (rows, pages), elapsed = timed(f"Bulk 2.0 query of {expected:,} Leads (client total)", read_all)
    print(f"    rows {rows:,} in {pages} pages, {rows / elapsed:,.0f} rows/s")
    print(f"    API calls {org.api_calls()} (bulk2 {org.api_calls('bulk2')})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data_dir, EmulatorServer(data_dir=data_dir) as emulator:
        os.environ["REQUESTS_CA_BUNDLE"] = emulator.trust_bundle
        org = emulator.org("sandbox")
        ids, _ = timed(
            f"seed {args.records:,} Leads (in process)",
            lambda: org.data.generate("Lead", args.records, seed=1),
        )
        sf = login(emulator)
        rows = update_rows(ids)
        bulk_update(sf, org, rows)
        del rows
        bulk_query(sf, org, args.records)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (client + emulator in one process) {peak_mb:,.0f} MB")


if __name__ == "__main__":
    main()

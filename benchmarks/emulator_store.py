"""Timings of the emulator's data side at a million records (prints numbers; not a test).

    PYTHONPATH=. .venv/bin/python benchmarks/emulator_store.py [--records 1000000]

Measures: seeding with ``generate``, a Bulk 2.0 CSV update of three fields (a double, a datetime
and a string) on every record, a Bulk 2.0 query of four fields written out as CSV, and 500 SOQL key
look-ups of 300 e-mails each (the sync's matching pattern, answered from the hash index).
"""

from __future__ import annotations

import argparse
import csv
import io
import resource
import time
from collections.abc import Callable
from typing import TypeVar

from sf_emulator.model import load_schemas
from sf_emulator.store import OrgData

T = TypeVar("T")
LOOKUP_QUERIES = 500
KEYS_PER_QUERY = 300


def timed(label: str, action: Callable[[], T]) -> T:
    """Run ``action`` and print its wall-clock and CPU time.

    CPU time is printed too because wall-clock time on a busy 2-core machine mostly measures the
    other processes; the operations here are single-threaded, so CPU time is their own cost.
    """
    started, started_cpu = time.perf_counter(), time.process_time()
    result = action()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - started_cpu
    print(f"{label:<52} {elapsed:7.2f} s wall {cpu:7.2f} s CPU")
    return result


def update_csv(ids: list[str]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["Id", "WalkMe_Logins_Last_30_Days__c", "WalkMe_Last_Login__c", "Title"])
    for position, record_id in enumerate(ids):
        writer.writerow(
            [record_id, position % 90, f"2024-01-{position % 28 + 1:02d}T10:00:00Z", f"T{position}"]
        )
    return buffer.getvalue().encode()


def bulk_query_csv(org: OrgData) -> tuple[int, int]:
    header, rows = org.bulk_query(
        "SELECT Id, Email, WalkMe_Logins_Last_30_Days__c, WalkMe_Last_Login__c FROM Contact"
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
    return count, buffer.tell()


def key_lookups(org: OrgData, emails: list[str]) -> int:
    found = 0
    for query_number in range(LOOKUP_QUERIES):
        start = (query_number * KEYS_PER_QUERY * 7) % max(1, len(emails) - KEYS_PER_QUERY)
        keys = emails[start : start + KEYS_PER_QUERY]
        quoted = ", ".join(
            "'" + key.replace("\\", "\\\\").replace("'", "\\'") + "'" for key in keys
        )
        result = org.query(f"SELECT Id, Email FROM Contact WHERE Email IN ({quoted})")
        found += result.total_size
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    records = parser.parse_args().records
    org = OrgData("bench", "00D000000000001AAA", load_schemas())
    print(f"records: {records:,}")
    ids = timed(f"generate {records:,} Contacts", lambda: org.generate("Contact", records, seed=7))
    data = timed("build the update CSV (client side)", lambda: update_csv(ids))
    result = timed(
        f"bulk_ingest update {records:,} x 3 fields",
        lambda: org.bulk_ingest("Contact", "update", data),
    )
    print(f"    processed {result.processed:,}, failed {result.failed:,}")
    count, size = timed(
        f"bulk_query {records:,} x 4 fields + CSV writing", lambda: bulk_query_csv(org)
    )
    print(f"    rows {count:,}, {size / 1e6:.1f} MB of CSV")
    emails = [r["Email"] for r in org.table("Contact").live.values()]
    timed(
        "first Email look-up (builds the hash index)",
        lambda: org.query(f"SELECT Id FROM Contact WHERE Email = '{emails[0]}'"),
    )
    found = timed(
        f"{LOOKUP_QUERIES} SOQL look-ups x {KEYS_PER_QUERY} e-mails",
        lambda: key_lookups(org, emails),
    )
    print(f"    matched {found:,} records")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (max RSS) {peak_mb:,.0f} MB")


if __name__ == "__main__":
    main()

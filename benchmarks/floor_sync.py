"""The least client work a sync of the benchmark's report can do: the floor to measure against.

One process with its imports done, no validation, no files between steps, no ledger, no run log:
read the export's four columns with Arrow; one Bulk 2.0 query for every keyed Lead's Id, Email and
the three mapped fields, each page parsed by Arrow; a hash join on the normalised e-mail; the
rows whose values differ from Salesforce's as one Bulk 2.0 update CSV written by Arrow; the
job's successful results counted by Arrow. Any implementation of this sync spends at least this
much client CPU on this machine; the product's client CPU over it is the price of the product's
guarantees (validation, hand-offs a multi-worker Airflow can run, the ledger, the run log).

It uses simple-salesforce's Bulk 2.0 client for the job calls, and its session for the three
bodies (query pages, the upload, the results) as bytes: the client's own methods decode each body
to text and back, about 0.5 s of CPU per million rows that no sync needs. Date-times are written
by Arrow's cast to text (`pc.strftime` takes three times as long).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import csv as pa_csv

KEY_COLUMN = "User ID"
#: Report column -> Lead field, as the demo integration maps them.
FIELDS = {
    "First Login": "WalkMe_First_Login__c",
    "Last Login": "WalkMe_Last_Login__c",
    "Logins in Past 30 days": "WalkMe_Logins_Last_30_Days__c",
}
DATETIME_COLUMNS = ("First Login", "Last Login")
QUERY_PAGE_RECORDS = 500_000


def read_report(path: Path) -> pa.Table:
    """The key and the mapped columns, typed: date-times as UTC instants, the count as a float."""
    types: dict[str, pa.DataType] = {c: pa.timestamp("s") for c in DATETIME_COLUMNS}
    types[KEY_COLUMN] = pa.string()
    types["Logins in Past 30 days"] = pa.float64()
    table = pa_csv.read_csv(
        path,
        convert_options=pa_csv.ConvertOptions(
            column_types=types, include_columns=[KEY_COLUMN, *FIELDS], strings_can_be_null=True
        ),
    )
    keys = pc.utf8_lower(pc.utf8_trim_whitespace(table[KEY_COLUMN]))
    return table.set_column(0, KEY_COLUMN, keys)


def query_leads(bulk: Any) -> pa.Table:
    """Every keyed Lead's Id, normalised Email and current values (one Bulk 2.0 query job)."""
    soql = f"SELECT Id, Email, {', '.join(FIELDS.values())} FROM Lead WHERE Email != null"
    job = bulk.create_job("query", soql)
    bulk.wait_for_job(job["id"], is_query=True)
    types: dict[str, pa.DataType] = {
        "Id": pa.string(),
        "Email": pa.string(),
        FIELDS["First Login"]: pa.timestamp("ms", tz="UTC"),
        FIELDS["Last Login"]: pa.timestamp("ms", tz="UTC"),
        FIELDS["Logins in Past 30 days"]: pa.float64(),
    }
    pages = [
        pa_csv.read_csv(
            pa.BufferReader(page),
            convert_options=pa_csv.ConvertOptions(column_types=types, strings_can_be_null=True),
        )
        for page in _pages(bulk, job["id"])
    ]
    leads = pa.concat_tables(pages)
    emails = pc.utf8_lower(pc.utf8_trim_whitespace(leads["Email"]))
    return leads.set_column(leads.schema.get_field_index("Email"), "Email", emails)


def _pages(bulk: Any, job_id: str) -> Iterator[bytes]:
    """The query job's result pages, as the bytes Salesforce sent."""
    params = {"maxRecords": QUERY_PAGE_RECORDS}
    while True:
        response = _call(bulk, "GET", f"query/{job_id}/results", params=params)
        yield response.content
        locator = response.headers.get("Sforce-Locator")
        if not locator or locator == "null":
            return
        params = {"maxRecords": QUERY_PAGE_RECORDS, "locator": locator}


def _call(bulk: Any, method: str, path: str, **kwargs: Any) -> Any:
    """One Bulk 2.0 request through the client's session, CSV in and out, body left as bytes."""
    headers = {**bulk.headers, "Content-Type": "text/csv", "Accept": "text/csv"}
    response = bulk.session.request(method, bulk.bulk2_url + path, headers=headers, **kwargs)
    response.raise_for_status()
    return response


def changed_rows(report: pa.Table, leads: pa.Table) -> pa.Table:
    """`Id` + the three fields for each matched report row whose values differ from the Lead's
    (every matched row on a first sync)."""
    position = pc.index_in(report[KEY_COLUMN], value_set=leads["Email"])
    matched = pc.is_valid(position)
    report, position = report.filter(matched), position.filter(matched)
    current = leads.take(position)
    differs: Any = None
    for column, field in FIELDS.items():
        new = report[column]
        old = current[field]
        if column in DATETIME_COLUMNS:
            old = old.cast(pa.timestamp("s", tz="UTC")).cast(pa.timestamp("s"))
        same = pc.fill_null(pc.equal(new, old), pc.and_(pc.is_null(new), pc.is_null(old)))
        differs = pc.invert(same) if differs is None else pc.or_(differs, pc.invert(same))
    changed = report.filter(differs)
    ids = current["Id"].filter(differs)
    columns = {"Id": ids}
    for column, field in FIELDS.items():
        values = changed[column]
        if column in DATETIME_COLUMNS:
            # "2026-11-24 08:00:00" -> "2026-11-24T08:00:00Z"
            text = pc.replace_substring(values.cast(pa.string()), " ", "T", max_replacements=1)
            values = pc.binary_join_element_wise(text, pa.scalar("Z"), "")
        columns[field] = values
    return pa.table(columns)


def update_leads(bulk: Any, changes: pa.Table) -> int:
    """One Bulk 2.0 update job with the changes (Arrow writes the CSV); successful records."""
    if not changes.num_rows:
        return 0
    sink = pa.BufferOutputStream()
    pa_csv.write_csv(changes, sink, pa_csv.WriteOptions(quoting_style="needed"))
    job = bulk.create_job("update")
    _call(bulk, "PUT", f"ingest/{job['id']}/batches", data=sink.getvalue().to_pybytes())
    bulk.close_job(job["id"])
    bulk.wait_for_job(job["id"], is_query=False)
    results = _call(bulk, "GET", f"ingest/{job['id']}/successfulResults").content
    table = pa_csv.read_csv(
        pa.BufferReader(results),
        convert_options=pa_csv.ConvertOptions(include_columns=["sf__Id"]),
    )
    return int(table.num_rows)


def floor_sync(sf: Any, export: Path) -> dict[str, int]:
    """One sync of the export into Leads; counts of what it did."""
    bulk = sf.bulk2.Lead._client
    report = read_report(export)
    changes = changed_rows(report, query_leads(bulk))
    written = update_leads(bulk, changes)
    return {"written": written}

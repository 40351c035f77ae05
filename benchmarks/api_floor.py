"""The fewest Salesforce API calls one sync can spend, from Salesforce's documented limits.

The benchmark prints this floor next to the calls it measured. Sources
(`/work/shared/reference/salesforce-api.md` §limits):

* Bulk API 2.0 upload: at most 150 MB of base64 content per request, so 100 MB of raw CSV, and
  one upload per ingest job (simple-salesforce sends exactly one PUT per job): a write of C changes
  needs ceil(bytes / 100 MB) jobs. Each job costs create + upload + close + at least one poll +
  the successful-results file (the failed-results file only when the job says some failed): 5.
* sObject Collections: 200 records per call; cheaper than a Bulk job below 1,000 changes.
* Bulk API 2.0 query: create + at least one poll + the result pages. `maxRecords` has no documented
  maximum, only "the size limits", so the floor assumes pages as large as an upload (100 MB).
* REST query: an `IN` list bounded by the 16,384-byte URI (about 300 e-mail keys per call).
* Describe: one call (the match step checks the config against the object's metadata).
"""

from __future__ import annotations

import math

MAX_UPLOAD_BYTES = 100 * 2**20
MAX_PAGE_BYTES = 100 * 2**20
COLLECTION_RECORDS = 200
BULK_JOB_CALLS = 5  # create, upload, close, one poll, successful results
BULK_QUERY_CALLS = 2  # create, one poll (pages come on top)
REST_KEYS_PER_QUERY = 300
#: Bytes per row on the wire, measured on the benchmark's data: a lookup row is
#: `Id,Email,<3 mapped fields>`, a change row `Id,<3 mapped fields>`.
LOOKUP_ROW_BYTES = 100
CHANGE_ROW_BYTES = 70


def lookup_floor(keys: int, records: int) -> int:
    """Describe plus the cheaper of a Bulk query (over `records` keyed records) and REST `IN`s."""
    if keys == 0:
        return 1
    pages = max(1, math.ceil(records * LOOKUP_ROW_BYTES / MAX_PAGE_BYTES))
    bulk = BULK_QUERY_CALLS + pages
    rest = math.ceil(keys / REST_KEYS_PER_QUERY)
    return 1 + min(bulk, rest)


def write_floor(changes: int) -> int:
    """The cheaper of sObject Collections and Bulk API 2.0 jobs for `changes` record updates."""
    if changes == 0:
        return 0
    jobs = math.ceil(changes * CHANGE_ROW_BYTES / MAX_UPLOAD_BYTES)
    return min(math.ceil(changes / COLLECTION_RECORDS), jobs * BULK_JOB_CALLS)


def sync_floor(keys: int, records: int, changes: int) -> int:
    """One run: look up `keys` among `records` keyed records, then write `changes`."""
    return lookup_floor(keys, records) + write_floor(changes)

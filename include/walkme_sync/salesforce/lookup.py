"""Find the Salesforce records whose key field holds the report's keys (REST or Bulk 2.0 query).

Lookup strategy (documented choice):

* Up to `bulk_threshold` keys: REST SOQL `WHERE key IN (...)` in batches. A batch is as large as
  fits both the 100,000-character SOQL limit and the 16,384-byte URI + headers limit of a GET,
  measured on the URL-encoded query (about 300 e-mail keys per call), then paged with
  `query_all_iter`. Cost: about one call per batch.
* More keys: one Bulk API 2.0 query job. If the object holds at most `SCAN_RATIO` times as many
  keyed records as we have keys (one `SELECT COUNT()` tells), the job reads every record with a
  key (`WHERE key != null`) and filters client-side: a handful of calls for any size. Otherwise
  (a huge object, a small fraction of it wanted) it runs Bulk queries with IN lists sized to the
  SOQL limit (~3,000 e-mails per job, no URI limit on a POST).

Salesforce compares strings case-insensitively in WHERE, so e-mail keys match whatever their case;
results are grouped by the normalised `record[key_field]` (`keys.normalize_keys`), which decides
the final match. Both paths end in one records frame (`lookup_frame`): Bulk CSV pages are parsed
with `pandas.read_csv`, REST records are gathered per column.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from include.walkme_sync.errors import SyncError
from include.walkme_sync.frames import KEY
from include.walkme_sync.keys import normalize_keys
from include.walkme_sync.salesforce.bulk import RetryAfter, wait_for_bulk_job
from include.walkme_sync.salesforce.errors import translate
from include.walkme_sync.salesforce.soql import (
    MAX_LITERAL_CHARS,
    in_query,
    plan_in_batches,
    select_clause,
    soql_literal,
)

if TYPE_CHECKING:
    from include.walkme_sync.salesforce.client import SalesforceSession

log = logging.getLogger(__name__)


#: Full-scan Bulk query when the object has at most this many keyed records per wanted key.
SCAN_RATIO = 4
#: Records per Bulk query result page (`maxRecords`). Salesforce documents no maximum, only
#: the size limits; every page is one API call, and each is parsed (and its text dropped) before
#: the next is read, so 500,000 records (about 50 MB of CSV) bound the memory per page.
BULK_QUERY_PAGE_SIZE = 500_000

LOOKUP_BULK_THRESHOLD = 20_000


def lookup_records(
    session: SalesforceSession,
    object_name: str,
    key_field: str,
    keys: Sequence[str],
    fields: Sequence[str],
    *,
    key_kind: str,
    bulk_threshold: int = LOOKUP_BULK_THRESHOLD,
) -> dict[str, list[dict[str, Any]]]:
    """Records whose `key_field` matches one of `keys` (already normalised), grouped by key.

    Each record is `{"Id": ..., key_field: ..., <fields>: current value}`; only keys with at least
    one record appear. See the module docstring for the REST vs Bulk 2.0 choice.
    """
    found = lookup_frame(
        session,
        object_name,
        key_field,
        keys,
        fields,
        key_kind=key_kind,
        bulk_threshold=bulk_threshold,
    )
    columns = _columns(key_field, fields)
    grouped: dict[str, list[dict[str, Any]]] = {}
    values = [found[c].tolist() for c in columns]
    for key, *record in zip(found[KEY].tolist(), *values, strict=True):
        grouped.setdefault(key, []).append(dict(zip(columns, record, strict=True)))
    return grouped


def lookup_frame(
    session: SalesforceSession,
    object_name: str,
    key_field: str,
    keys: Iterable[str | None],
    fields: Sequence[str],
    *,
    key_kind: str,
    bulk_threshold: int = LOOKUP_BULK_THRESHOLD,
) -> pd.DataFrame:
    """The records of `lookup_records` as one frame, in the order Salesforce returned them.

    Columns: `__key` (the record's normalised key, one of `keys`), `Id`, `key_field`, `fields`
    (each once), all of object dtype. Values are what Salesforce returned: JSON types from REST,
    strings from Bulk CSV; null is None on both paths.
    """
    columns = _columns(key_field, fields)
    distinct = set(keys)
    distinct.discard(None)  # a normalised null key
    wanted = cast("set[str]", distinct)
    if "" in wanted or max(map(len, wanted), default=0) > MAX_LITERAL_CHARS:
        wanted = {k for k in wanted if k and len(k) <= MAX_LITERAL_CHARS}
    if not wanted:
        return _records_frame({c: [] for c in columns}, key_field, key_kind, wanted, columns)
    select = select_clause(object_name, key_field, fields)
    try:
        data: Mapping[str, Sequence[Any] | np.ndarray]
        if len(wanted) > bulk_threshold:
            data = _bulk_lookup(session, object_name, key_field, select, wanted, columns=columns)
        else:
            data = _rest_lookup(session, key_field, select, sorted(wanted), columns)
        return _records_frame(data, key_field, key_kind, wanted, columns)
    except Exception as exc:
        raise translate(exc, conn_id=session.conn_id, object_name=object_name) from None


def _columns(key_field: str, fields: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(["Id", key_field, *fields]))


def _rest_lookup(
    session: SalesforceSession,
    key_field: str,
    select: str,
    keys: Sequence[str],
    columns: Sequence[str],
) -> dict[str, list[Any]]:
    """REST SOQL IN batches -> one list of values per column (JSON types, None for null)."""
    prefix = f"{select} WHERE {key_field} IN "
    url_path = f"/services/data/v{session.api_version}/query/"
    batches = plan_in_batches(prefix, [soql_literal(k) for k in keys], url_path=url_path)
    log.info("Looking up %d keys with %d SOQL quer(ies).", len(keys), len(batches))
    data: dict[str, list[Any]] = {c: [] for c in columns}
    for batch in batches:
        for record in session.sf.query_all_iter(in_query(prefix, batch)):
            for name in columns:
                data[name].append(_get(record, name))
    return data


def _bulk_lookup(
    session: SalesforceSession,
    object_name: str,
    key_field: str,
    select: str,
    keys: Collection[str],
    *,
    columns: Sequence[str],
) -> dict[str, np.ndarray]:
    """One or more Bulk 2.0 query jobs -> one object array per column (str, None for null)."""
    count = session.sf.query(f"SELECT COUNT() FROM {object_name} WHERE {key_field} != null")
    keyed_records = int(count.get("totalSize", 0))
    bulk = getattr(session.sf.bulk2, object_name)
    if keyed_records <= SCAN_RATIO * len(keys):
        log.info(
            "Looking up %d keys with one Bulk 2.0 query over the %d keyed %s records.",
            len(keys),
            keyed_records,
            object_name,
        )
        queries = [f"{select} WHERE {key_field} != null"]
    else:
        prefix = f"{select} WHERE {key_field} IN "
        literals = [soql_literal(k) for k in sorted(keys)]
        batches = plan_in_batches(prefix, literals, max_uri_bytes=None)
        log.info("Looking up %d keys with %d Bulk 2.0 quer(ies).", len(keys), len(batches))
        queries = [in_query(prefix, batch) for batch in batches]
    parts: dict[str, list[np.ndarray]] = {c: [] for c in columns}
    for soql in queries:
        for page in _bulk_query_pages(bulk._client, soql, lambda: session.meter.retry_after):
            for name, values in _parse_bulk_page(page, columns).items():
                parts[name].append(values)
    return {
        name: np.concatenate(arrays) if arrays else np.empty(0, dtype=object)
        for name, arrays in parts.items()
    }


def _parse_bulk_page(page: str, columns: Sequence[str]) -> dict[str, np.ndarray]:
    """One Bulk CSV page -> an object array per wanted column; header names match
    case-insensitively (as `_get` does). Bulk CSV has no nulls: an empty cell is null (None)."""
    if not page.strip():
        return {}
    # Every cell as its text (no NA detection: "" stays "", "NA" stays "NA"); one pass.
    # Bytes, not a StringIO: a StringIO holds 4 bytes per character of a 500,000-record page.
    table = pd.read_csv(
        io.BytesIO(page.encode("utf-8")),
        dtype=object,
        keep_default_na=False,
        na_filter=False,
        low_memory=False,
    )
    by_lower: dict[str, str] = {}
    for header in reversed(table.columns.tolist()):
        by_lower[str(header).lower()] = str(header)
    result: dict[str, np.ndarray] = {}
    for name in columns:
        header = name if name in table.columns else by_lower.get(name.lower())
        if header is None:
            values = np.full(len(table), None, dtype=object)
        else:
            values = table[header].to_numpy(dtype=object, copy=True)
            values[values == ""] = None
        result[name] = values
    return result


def _bulk_query_pages(client: Any, soql: str, retry_after: RetryAfter) -> Iterator[str]:
    """CSV pages of one Bulk 2.0 query job (simple-salesforce's low-level client, our polling)."""
    job = client.create_job("query", soql)
    job_id = str(job["id"])
    info = wait_for_bulk_job(client, job_id, is_query=True, retry_after=retry_after)
    if info.get("state") != "JobComplete":
        raise SyncError(
            f"Bulk API 2.0 query job {job_id} ended {info.get('state')}: "
            f"{info.get('errorMessage') or 'no detail'}"
        )
    locator = ""
    while True:
        page = client.get_query_results(job_id, locator, BULK_QUERY_PAGE_SIZE)
        yield str(page["records"])
        locator = page["locator"]
        if not locator:
            return


def _records_frame(
    data: Mapping[str, Sequence[Any] | np.ndarray],
    key_field: str,
    key_kind: str,
    wanted: set[str],
    columns: Sequence[str],
) -> pd.DataFrame:
    """Column-wise grouping shared by both paths: normalise every record's key, keep the
    records whose key is wanted (e.g. a case-variant of a text key matched SOQL's
    case-insensitive IN but not our rule), in Salesforce's order."""
    arrays = {name: _object_array(data[name]) for name in columns}
    keys = normalize_keys(arrays[key_field], key_kind)
    keep = np.array([key in wanted for key in keys], dtype=bool)
    frame = {KEY: keys[keep]}
    frame.update({name: values[keep] for name, values in arrays.items()})
    return pd.DataFrame({name: pd.Series(v, dtype=object) for name, v in frame.items()})


def _object_array(values: Sequence[Any] | np.ndarray) -> np.ndarray:
    if isinstance(values, np.ndarray) and values.dtype == object:
        return values
    array = np.empty(len(values), dtype=object)
    array[:] = list(values)
    return array


def _get(record: dict[str, Any], name: str) -> Any:
    """Field value by name, case-insensitively (SOQL may echo the field's canonical case)."""
    if name in record:
        return record[name]
    lowered = name.lower()
    for candidate, value in record.items():
        if candidate.lower() == lowered:
            return value
    return None

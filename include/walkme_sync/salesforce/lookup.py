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
the final match. Both paths end in one records frame (`lookup_frame`): each Bulk CSV page is
parsed by Arrow from the bytes received, as it arrives, into Arrow text columns (one chunk per
page; no Python string per cell); REST records are gathered per column.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import csv as pa_csv
from simple_salesforce.util import exception_handler

from include.walkme_sync.errors import SyncError
from include.walkme_sync.frames import KEY, object_values
from include.walkme_sync.keys import normalize_key_array, normalize_keys
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
    values = [object_values(found[c]).tolist() for c in columns]
    for key, *record in zip(object_values(found[KEY]).tolist(), *values, strict=True):
        grouped.setdefault(key, []).append(dict(zip(columns, record, strict=True)))
    return grouped


def lookup_frame(
    session: SalesforceSession,
    object_name: str,
    key_field: str,
    keys: Iterable[str | None] | pa.Array,
    fields: Sequence[str],
    *,
    key_kind: str,
    bulk_threshold: int = LOOKUP_BULK_THRESHOLD,
) -> pd.DataFrame:
    """The records of `lookup_records` as one frame, in the order Salesforce returned them.

    Columns: `__key` (the record's normalised key, one of `keys`), `Id`, `key_field`, `fields`
    (each once). Values are what Salesforce returned: JSON types from REST (object dtype, None for
    null), text from Bulk CSV (Arrow `large_string` columns, null for an empty cell; `__key`
    dictionary-coded by the distinct keys asked for); read them with `frames.object_values` to get
    Python values and None on both paths.
    """
    columns = _columns(key_field, fields)
    wanted = _wanted_keys(keys)
    if not len(wanted):
        return _records_frame({c: [] for c in columns}, key_field, key_kind, wanted, columns)
    select = select_clause(object_name, key_field, fields)
    try:
        data: Mapping[str, Sequence[Any] | pa.ChunkedArray]
        if len(wanted) > bulk_threshold:
            data = _bulk_lookup(session, object_name, key_field, select, wanted, columns=columns)
        else:
            data = _rest_lookup(session, key_field, select, sorted(wanted.to_pylist()), columns)
        return _records_frame(data, key_field, key_kind, wanted, columns)
    except Exception as exc:
        raise translate(exc, conn_id=session.conn_id, object_name=object_name) from None


def _wanted_keys(keys: Iterable[str | None] | pa.Array) -> pa.Array:
    """The distinct keys a query can ask for: not null, not empty, within the literal limit.

    Dictionary-coded keys (`reconcile.pairing.keys_index`) are distinct in their dictionary; it
    is kept as it is when every key is usable, so the records' keys are coded with it."""
    if isinstance(keys, pa.DictionaryArray):
        distinct = keys.dictionary.cast(pa.large_string())
    else:
        if not isinstance(keys, pa.Array | pa.ChunkedArray):
            values = keys if isinstance(keys, np.ndarray) else list(keys)
            keys = pa.array(values, type=pa.large_string())
        distinct = pc.unique(keys.cast(pa.large_string())).drop_null()
    # Byte lengths bound character lengths: one pass over the offsets usually settles it.
    lengths = pc.min_max(pc.binary_length(distinct))
    shortest, longest = lengths["min"].as_py(), lengths["max"].as_py()
    if shortest is None or (shortest > 0 and longest <= MAX_LITERAL_CHARS):
        return distinct
    length = pc.utf8_length(distinct)
    usable = pc.and_(pc.greater(length, 0), pc.less_equal(length, MAX_LITERAL_CHARS))
    return distinct if pc.all(usable).as_py() else distinct.filter(usable)


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
    keys: pa.Array,
    *,
    columns: Sequence[str],
) -> dict[str, pa.ChunkedArray]:
    """One or more Bulk 2.0 query jobs -> one Arrow string array per column (null for empty)."""
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
        literals = [soql_literal(k) for k in sorted(keys.to_pylist())]
        batches = plan_in_batches(prefix, literals, max_uri_bytes=None)
        log.info("Looking up %d keys with %d Bulk 2.0 quer(ies).", len(keys), len(batches))
        queries = [in_query(prefix, batch) for batch in batches]
    parts: dict[str, list[pa.Array]] = {c: [] for c in columns}
    for soql in queries:
        for page in _bulk_query_pages(bulk._client, soql, lambda: session.meter.retry_after):
            for name, values in _parse_bulk_page(page, columns).items():
                parts[name].extend(values.chunks)
            del page  # parsed: only its Arrow columns are kept
    # Chunked, one chunk per page: no copy of the records to put the pages together.
    return {
        name: pa.chunked_array(arrays, type=pa.large_string()) for name, arrays in parts.items()
    }


def _parse_bulk_page(page: bytes, columns: Sequence[str]) -> dict[str, pa.ChunkedArray]:
    """One Bulk CSV page -> an Arrow `large_string` column per wanted column, in the chunks Arrow
    parsed it in (joining them would copy the page's text once more); header names match
    case-insensitively (as `_get` does). Bulk CSV has no nulls: an empty cell, quoted or not, is
    null; any other text ("NA", "null") stays text."""
    if not page or page.isspace():  # (no `strip`: it would copy the page)
        return {}
    header = _csv_header(page)
    by_lower: dict[str, str] = {}
    for name in reversed(header):
        by_lower[name.lower()] = name
    chosen = {name: name if name in header else by_lower.get(name.lower()) for name in columns}
    wanted = [h for h in dict.fromkeys(chosen.values()) if h is not None]
    table = pa_csv.read_csv(
        pa.BufferReader(page),
        read_options=pa_csv.ReadOptions(use_threads=False, block_size=_CSV_BLOCK_BYTES),
        # Quoted values may hold line breaks (a Description with several lines).
        parse_options=pa_csv.ParseOptions(newlines_in_values=True),
        convert_options=pa_csv.ConvertOptions(
            column_types={h: pa.large_string() for h in header},
            include_columns=wanted,
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
        ),
    )
    result: dict[str, pa.ChunkedArray] = {}
    for name, chosen_header in chosen.items():
        if chosen_header is None:
            result[name] = pa.chunked_array([pa.nulls(table.num_rows, type=pa.large_string())])
        else:
            result[name] = table.column(chosen_header)
    return result


#: Arrow parses a page in blocks of this size (its default, 1 MB, makes many small chunks).
_CSV_BLOCK_BYTES = 16 << 20


def _csv_header(page: bytes) -> list[str]:
    """The column names of a CSV page: its first record (field names hold no line breaks)."""
    end = page.find(b"\n")
    first = page if end < 0 else page[:end]
    return next(csv.reader([first.decode("utf-8").rstrip("\r")]), [])


def _bulk_query_pages(client: Any, soql: str, retry_after: RetryAfter) -> Iterator[bytes]:
    """CSV pages of one Bulk 2.0 query job (simple-salesforce's low-level client, our polling),
    as the bytes Salesforce sent: parsed by Arrow without a Python string in between."""
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
        page, locator = _query_results_page(client, job_id, locator)
        yield page
        del page  # parsed by now: not held while the next page arrives
        if not locator:
            return


def _query_results_page(client: Any, job_id: str, locator: str) -> tuple[bytes, str]:
    """One page of a query job's results and the next page's locator ("" after the last).

    `client.get_query_results` does the same request but decodes the page into one Python string;
    here the body is read in one piece (streamed: no 10 kB chunks to join, whose freed memory the
    heap keeps) and its bytes go to Arrow's parser. Null bytes are dropped as simple-salesforce
    drops them."""
    params: dict[str, int | str] = {"maxRecords": BULK_QUERY_PAGE_SIZE}
    if locator and locator != "null":
        params["locator"] = locator
    response = client.session.request(
        "GET",
        client._construct_request_url(job_id, True) + "/results",
        headers=client._get_headers(client.JSON_CONTENT_TYPE, client.CSV_CONTENT_TYPE),
        params=params,
        stream=True,
    )
    with response:
        if response.status_code >= 300:
            exception_handler(response)  # simple-salesforce's errors, as `call_salesforce`
        page = response.raw.read(decode_content=True)
    following = response.headers.get("Sforce-Locator", "")
    if b"\x00" in page:  # rare: copy the page only then
        page = page.replace(b"\x00", b"")
    return page, "" if following == "null" else following


def _records_frame(
    data: Mapping[str, Sequence[Any] | pa.ChunkedArray],
    key_field: str,
    key_kind: str,
    wanted: pa.Array,
    columns: Sequence[str],
) -> pd.DataFrame:
    """Column-wise grouping shared by both paths: normalise every record's key, keep the
    records whose key is wanted (e.g. a case-variant of a text key matched SOQL's
    case-insensitive IN but not our rule), in Salesforce's order."""
    found = data[key_field]
    if isinstance(found, pa.ChunkedArray):  # Bulk: Arrow text columns stay Arrow
        # Each record's key coded by its place in `wanted` (null: not wanted); `__key` holds the
        # codes with `wanted` as dictionary, which pairing reuses when it coded the rows' keys.
        codes, dictionary = _wanted_codes(normalize_key_array(found, key_kind), wanted)
        arrow = {KEY: codes, **{name: cast("pa.ChunkedArray", data[name]) for name in columns}}
        keep = pc.is_valid(codes)
        if not pc.all(keep).as_py():  # a full scan usually wants every record: no copy then
            arrow = {name: values.filter(keep) for name, values in arrow.items()}
        arrow[KEY] = pa.chunked_array(
            [pa.DictionaryArray.from_arrays(chunk, dictionary) for chunk in arrow[KEY].chunks],
            type=pa.dictionary(pa.int32(), pa.large_string()),
        )
        if dictionary is not wanted:  # the keys as text: pairing codes them by a hash pass
            arrow[KEY] = arrow[KEY].cast(pa.large_string())
        return pd.DataFrame(
            {name: pd.Series(pd.arrays.ArrowExtensionArray(v)) for name, v in arrow.items()}
        )
    arrays = {name: _object_array(cast("Sequence[Any]", data[name])) for name in columns}
    object_keys = normalize_keys(arrays[key_field], key_kind)
    wanted_set = set(wanted.to_pylist())
    mask = np.array([key in wanted_set for key in object_keys], dtype=bool)
    frame = {KEY: object_keys[mask]}
    frame.update({name: values[mask] for name, values in arrays.items()})
    return pd.DataFrame({name: pd.Series(v, dtype=object) for name, v in frame.items()})


def _wanted_codes(keys: pa.ChunkedArray, wanted: pa.Array) -> tuple[pa.ChunkedArray, pa.Array]:
    """Each record key's code (null: not wanted, or no key) and the dictionary the codes index:
    `wanted` itself when it holds each key once (as `reconcile.pairing.keys_index` gives it,
    trusted with distinct keys or not), else the distinct wanted keys.

    One hash pass codes `wanted` then the records' keys with one dictionary: `wanted`'s keys
    take the first codes in order of first appearance, so they are distinct exactly when their
    codes count up from 0 (then a record's code is its key's place in `wanted`)."""
    encoded = pc.dictionary_encode(pa.chunked_array([wanted, *keys.chunks], type=pa.large_string()))
    if not encoded.num_chunks:
        return pa.chunked_array([], type=pa.int32()), wanted
    own = encoded.chunk(0).indices.to_numpy(zero_copy_only=False)
    dictionary = wanted
    if not np.array_equal(own, np.arange(len(wanted), dtype=own.dtype)):
        dictionary = encoded.chunk(0).dictionary.slice(0, int(own.max()) + 1)
    known = len(dictionary)
    chunks = []
    for chunk in encoded.chunks[1:]:
        indices = chunk.indices
        # Keys that are not wanted took codes after `wanted`'s own: null.
        chunks.append(pc.if_else(pc.less(indices, known), indices, pa.scalar(None, pa.int32())))
    return pa.chunked_array(chunks, type=pa.int32()), dictionary


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

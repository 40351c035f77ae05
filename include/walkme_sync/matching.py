"""Match report rows to Salesforce records by key: normalisation, safe SOQL, batched lookups.

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
results are grouped by the normalised `record[key_field]` (`normalize_keys`, the column-wise
`normalize_key`), which decides the final match. Both paths end in one records frame
(`lookup_frame`): Bulk CSV pages are parsed with `pandas.read_csv`, REST records are gathered per
column, and report rows are paired with records column-wise (no per-row dicts).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import quote_plus

import numpy as np
import pandas as pd

from include.walkme_sync.errors import DataValidationError, SyncError
from include.walkme_sync.outcomes import OUTCOME_COLUMNS, outcome_frame
from include.walkme_sync.salesforce.errors import translate
from include.walkme_sync.salesforce.writers import wait_for_bulk_job

if TYPE_CHECKING:
    from include.walkme_sync.config import IntegrationConfig
    from include.walkme_sync.salesforce.client import SalesforceSession

log = logging.getLogger(__name__)

MAX_SOQL_CHARS = 100_000
MAX_URI_AND_HEADERS_BYTES = 16_384
#: Room left for the request line's path, HTTP version and headers (bearer token, cookies...).
HEADER_ALLOWANCE_BYTES = 3_072
#: Salesforce refuses string literals longer than this in a WHERE clause.
MAX_LITERAL_CHARS = 4_000
#: Full-scan Bulk query when the object has at most this many keyed records per wanted key.
SCAN_RATIO = 4
CURRENT_PREFIX = "__current__"
BULK_QUERY_PAGE_SIZE = 50_000
AMBIGUOUS_IDS_SHOWN = 10

_SOQL_ESCAPES = {
    "\\": "\\\\",
    "'": "\\'",
    '"': '\\"',
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
}


# ----------------------------------------------------------------------------- keys and SOQL


def normalize_key(value: object, kind: str) -> str | None:
    """Comparable form of a key: email -> trimmed + casefolded; guid -> trimmed, lower case,
    without braces; text -> trimmed. Empty (or null) -> None."""
    if value is None or (isinstance(value, float) and value != value):  # noqa: PLR0124 - NaN
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    text = str(value).strip()
    if kind == "email":
        text = text.casefold()
    elif kind == "guid":
        text = text.strip("{}").strip().lower()
    elif kind != "text":
        raise ValueError(f"unknown key kind {kind!r} (expected email, guid or text)")
    return text or None


def soql_literal(value: str) -> str:
    """`value` as a single-quoted SOQL string literal with Salesforce's escapes.

    Every character that could end the literal is escaped, so `a' OR Name != '` stays data.
    """
    return "'" + "".join(_SOQL_ESCAPES.get(char, char) for char in value) + "'"


def _check_identifier(name: str) -> str:
    """Object and field names go into SOQL unquoted: allow API-name characters only."""
    if not name or not all(c.isalnum() or c in "_." for c in name) or not name[0].isalpha():
        raise ValueError(f"{name!r} is not a Salesforce API name")
    return name


def select_clause(object_name: str, key_field: str, fields: Sequence[str]) -> str:
    """`SELECT Id, <key>, <fields> FROM <object>`; each field once."""
    columns = list(dict.fromkeys(["Id", key_field, *fields]))
    return (
        f"SELECT {', '.join(_check_identifier(c) for c in columns)} "
        f"FROM {_check_identifier(object_name)}"
    )


def plan_in_batches(
    prefix: str,
    literals: Sequence[str],
    *,
    url_path: str = "/services/data/v59.0/query/",
    max_soql_chars: int = MAX_SOQL_CHARS,
    max_uri_bytes: int | None = MAX_URI_AND_HEADERS_BYTES - HEADER_ALLOWANCE_BYTES,
) -> list[list[str]]:
    """Split SOQL literals into IN lists so that `prefix + "(" + ", ".join(batch) + ")"` stays
    within `max_soql_chars`, and, when `max_uri_bytes` is given, so that the GET URI
    (`url_path?q=<url-encoded SOQL>`) stays within it. Sizes are measured, not guessed: a key full
    of characters that URL-encode to 3 bytes each makes smaller batches."""
    base_chars = len(prefix) + 2  # "(" and ")"
    base_bytes = len(url_path) + len("?q=") + len(quote_plus(prefix + "()"))
    separator_bytes = len(quote_plus(", "))
    batches: list[list[str]] = []
    current: list[str] = []
    chars, encoded = base_chars, base_bytes
    for literal in literals:
        extra_chars = len(literal) + (2 if current else 0)
        extra_bytes = len(quote_plus(literal)) + (separator_bytes if current else 0)
        too_long = chars + extra_chars > max_soql_chars
        too_big = max_uri_bytes is not None and encoded + extra_bytes > max_uri_bytes
        if current and (too_long or too_big):
            batches.append(current)
            current, chars, encoded = [], base_chars, base_bytes
            extra_chars, extra_bytes = len(literal), len(quote_plus(literal))
        current.append(literal)
        chars += extra_chars
        encoded += extra_bytes
    if current:
        batches.append(current)
    return batches


def _in_query(prefix: str, batch: Sequence[str]) -> str:
    return f"{prefix}({', '.join(batch)})"


# ----------------------------------------------------------------------------- lookup

#: REST SOQL up to this many distinct keys, one Bulk 2.0 query job above.
LOOKUP_BULK_THRESHOLD = 20_000
#: Column of a records frame holding the normalised key.
KEY = "__key"


def normalize_keys(values: pd.Series | np.ndarray | Sequence[object], kind: str) -> np.ndarray:
    """`normalize_key` over a whole column at once: an object array of `str` or None.

    Same rules, same results (Python's own `str.strip` / `casefold`, so the whitespace and case
    rules cannot drift from `normalize_key`). Nulls are found with one vectorised `isna`; the
    string work is one pass over plain `str` objects, which measured faster than pandas' `.str`
    methods on either string storage.
    """
    series = values if isinstance(values, pd.Series) else pd.Series(values, dtype=object)
    raw = series.to_numpy(dtype=object)
    nulls = series.isna().to_numpy()
    if nulls.any():
        raw = raw.copy()
        raw[nulls] = ""  # -> None below, like normalize_key
    # One C-level scan decides whether every value is already a `str` (the usual case).
    texts = raw if pd.api.types.infer_dtype(raw, skipna=False) == "string" else map(str, raw)
    if kind == "email":
        out = [text.strip().casefold() or None for text in texts]
    elif kind == "guid":
        out = [text.strip().strip("{}").strip().lower() or None for text in texts]
    elif kind == "text":
        out = [text.strip() or None for text in texts]
    else:
        raise ValueError(f"unknown key kind {kind!r} (expected email, guid or text)")
    result = np.empty(len(out), dtype=object)
    result[:] = out
    return result


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
    if "" in wanted or any(len(k) > MAX_LITERAL_CHARS for k in wanted):
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
        for record in session.sf.query_all_iter(_in_query(prefix, batch)):
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
        queries = [_in_query(prefix, batch) for batch in batches]
    parts: dict[str, list[np.ndarray]] = {c: [] for c in columns}
    for soql in queries:
        for page in _bulk_query_pages(bulk._client, soql):
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
    table = pd.read_csv(
        io.StringIO(page), dtype=object, keep_default_na=False, na_filter=False, low_memory=False
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


def _bulk_query_pages(client: Any, soql: str) -> Iterator[str]:
    """CSV pages of one Bulk 2.0 query job (simple-salesforce's low-level client, our polling)."""
    job = client.create_job("query", soql)
    job_id = str(job["id"])
    info = wait_for_bulk_job(client, job_id, is_query=True)
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


# ----------------------------------------------------------------------------- match rows


@dataclass
class MatchResult:
    """`matched`: one row per (report row, record) with `__row`, `__key`, `Id`, the report columns
    and `__current__<Field>` per mapped field. `outcomes`: unmatched and ambiguous rows."""

    matched: pd.DataFrame
    outcomes: pd.DataFrame


def match_rows(
    session: SalesforceSession,
    config: IntegrationConfig,
    frame: pd.DataFrame,
    *,
    bulk_threshold: int = LOOKUP_BULK_THRESHOLD,
) -> MatchResult:
    """Look up every report row's key and pair the row with its record(s).

    A key with no record -> `unmatched`; with several records -> `ambiguous` (listing the Ids)
    under `multiple_records: skip`, or one matched row per record under `update_all`.
    """
    kind = config.report.key_kind
    fields = list(dict.fromkeys(m.field for m in config.mappings))
    keys = normalize_keys(frame[config.report.key_column], kind)
    found = lookup_frame(
        session,
        config.object.name,
        config.object.key_field,
        keys,  # nulls and repeats are dropped there
        fields,
        key_kind=kind,
        bulk_threshold=bulk_threshold,
    )
    return _pair(config, frame, keys, found, fields)


def _pair(
    config: IntegrationConfig,
    frame: pd.DataFrame,
    keys: np.ndarray,
    found: pd.DataFrame,
    fields: list[str],
) -> MatchResult:
    """Pair report rows with records column-wise: records are grouped by key (stable, in
    Salesforce's order), each row looks its key's group up, and the matched frame is built with
    two `take`s (report rows repeated once per record; the records in group order)."""
    key_column = config.report.key_column
    update_all = config.matching.multiple_records == "update_all"

    # One hash pass codes the records' keys and the rows' keys alike (None -> -1).
    record_keys = found[KEY].to_numpy(dtype=object)
    all_codes, uniques = pd.factorize(np.concatenate([record_keys, keys]))
    codes, row_code = all_codes[: len(record_keys)], all_codes[len(record_keys) :]
    counts = np.bincount(codes, minlength=len(uniques) + 1).astype(np.int64)
    counts[-1] = 0  # row_code -1 (null key) indexes this slot: no records
    order = np.argsort(codes, kind="stable")  # records grouped by key, each group in order
    starts = np.cumsum(counts) - counts
    row_count = counts[row_code]

    unmatched = row_count == 0
    ambiguous = (row_count > 1) & (not update_all)
    positions = np.flatnonzero(~unmatched & ~ambiguous)
    repeats = row_count[positions]
    row_positions = np.repeat(positions, repeats)
    within = np.arange(int(repeats.sum())) - np.repeat(np.cumsum(repeats) - repeats, repeats)
    record_positions = order[np.repeat(starts[row_code[positions]], repeats) + within]

    matched = frame.iloc[row_positions].reset_index(drop=True)
    matched.insert(1, "__key", pd.Series(keys[row_positions], dtype="string"))
    ids = found["Id"].to_numpy(dtype=object)
    matched_ids = ids[record_positions]
    if pd.api.types.infer_dtype(matched_ids, skipna=False) != "string":
        matched_ids = np.array([str(i) for i in matched_ids], dtype=object)
    matched["Id"] = pd.Series(matched_ids, dtype="string")
    for name in fields:
        matched[CURRENT_PREFIX + name] = pd.Series(
            found[name].to_numpy(dtype=object)[record_positions], dtype=object
        )
    _check_one_row_per_record(matched)

    ambiguous_at = np.flatnonzero(ambiguous)
    reasons: dict[int, str] = {}
    for code in pd.unique(row_code[ambiguous_at]).tolist():
        group = ids[order[starts[code] : starts[code] + counts[code]]]
        shown = ", ".join(str(i) for i in group[:AMBIGUOUS_IDS_SHOWN])
        more = f" and {len(group) - AMBIGUOUS_IDS_SHOWN} more" if len(group) > 10 else ""
        reasons[code] = (
            f"{len(group)} {config.object.name} records have this "
            f"{config.object.key_field}: {shown}{more}"
        )
    unmatched_at = np.flatnonzero(unmatched)
    rows = frame["__row"]
    originals = frame[key_column]
    outcomes = pd.concat(
        [
            outcome_frame(
                rows=rows.iloc[unmatched_at].tolist(),
                keys=originals.iloc[unmatched_at].tolist(),
                bucket="unmatched",
                reasons=[f"no {config.object.name} record has this {config.object.key_field}"]
                * len(unmatched_at),
            ),
            outcome_frame(
                rows=rows.iloc[ambiguous_at].tolist(),
                keys=originals.iloc[ambiguous_at].tolist(),
                bucket="ambiguous",
                reasons=[reasons[code] for code in row_code[ambiguous_at].tolist()],
                error_codes=["MULTIPLE_RECORDS"] * len(ambiguous_at),
            ),
        ],
        ignore_index=True,
    )[OUTCOME_COLUMNS]
    return MatchResult(matched=matched, outcomes=outcomes)


def _check_one_row_per_record(matched: pd.DataFrame) -> None:
    duplicated = matched["Id"][matched["Id"].duplicated(keep=False)]
    if len(duplicated):
        rows = matched.loc[duplicated.index, "__row"].tolist()[:10]
        raise DataValidationError(
            f"Several report rows ({', '.join(map(str, rows))}) match the same Salesforce record "
            f"{duplicated.iloc[0]}; duplicates should have been resolved by validation.",
            action="Set matching.duplicate_report_keys (reject, keep_first or keep_last) and run "
            "again; report this as a bug if it is already set.",
        )

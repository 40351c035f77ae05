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
results are grouped by `normalize_key(record[key_field])`, which decides the final match.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus

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


def lookup_records(
    session: SalesforceSession,
    object_name: str,
    key_field: str,
    keys: Sequence[str],
    fields: Sequence[str],
    *,
    key_kind: str,
    bulk_threshold: int = 20_000,
) -> dict[str, list[dict[str, Any]]]:
    """Records whose `key_field` matches one of `keys` (already normalised), grouped by key.

    Each record is `{"Id": ..., key_field: ..., <fields>: current value}`; only keys with at least
    one record appear. See the module docstring for the REST vs Bulk 2.0 choice.
    """
    wanted = {k for k in keys if k and len(k) <= MAX_LITERAL_CHARS}
    if not wanted:
        return {}
    select = select_clause(object_name, key_field, fields)
    try:
        if len(wanted) > bulk_threshold:
            records = _bulk_lookup(session, object_name, key_field, select, sorted(wanted))
        else:
            records = _rest_lookup(session, key_field, select, sorted(wanted))
        return _group(records, key_field, key_kind, wanted, fields)
    except Exception as exc:
        raise translate(exc, conn_id=session.conn_id, object_name=object_name) from None


def _rest_lookup(
    session: SalesforceSession, key_field: str, select: str, keys: Sequence[str]
) -> Iterator[dict[str, Any]]:
    prefix = f"{select} WHERE {key_field} IN "
    url_path = f"/services/data/v{session.api_version}/query/"
    batches = plan_in_batches(prefix, [soql_literal(k) for k in keys], url_path=url_path)
    log.info("Looking up %d keys with %d SOQL quer(ies).", len(keys), len(batches))
    for batch in batches:
        yield from session.sf.query_all_iter(_in_query(prefix, batch))


def _bulk_lookup(
    session: SalesforceSession,
    object_name: str,
    key_field: str,
    select: str,
    keys: Sequence[str],
) -> Iterator[dict[str, Any]]:
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
        batches = plan_in_batches(prefix, [soql_literal(k) for k in keys], max_uri_bytes=None)
        log.info("Looking up %d keys with %d Bulk 2.0 quer(ies).", len(keys), len(batches))
        queries = [_in_query(prefix, batch) for batch in batches]
    for soql in queries:
        for page in _bulk_query_pages(bulk._client, soql):
            for row in csv.DictReader(io.StringIO(page)):
                # Bulk CSV has no nulls: an empty cell is null.
                yield {name: (value if value != "" else None) for name, value in row.items()}


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


def _group(
    records: Iterable[dict[str, Any]],
    key_field: str,
    key_kind: str,
    wanted: set[str],
    fields: Sequence[str],
) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    columns = list(dict.fromkeys(["Id", key_field, *fields]))
    for record in records:
        key = normalize_key(_get(record, key_field), key_kind)
        if key is None or key not in wanted:
            continue  # e.g. a case-variant of a text key: SOQL matched it, our rule does not
        grouped.setdefault(key, []).append({c: _get(record, c) for c in columns})
    return grouped


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
    session: SalesforceSession, config: IntegrationConfig, frame: pd.DataFrame
) -> MatchResult:
    """Look up every report row's key and pair the row with its record(s).

    A key with no record -> `unmatched`; with several records -> `ambiguous` (listing the Ids)
    under `multiple_records: skip`, or one matched row per record under `update_all`.
    """
    kind = config.report.key_kind
    key_column = config.report.key_column
    fields = list(dict.fromkeys(m.field for m in config.mappings))
    keys = [normalize_key(value, kind) for value in frame[key_column].tolist()]
    records = lookup_records(
        session,
        config.object.name,
        config.object.key_field,
        [k for k in dict.fromkeys(keys) if k is not None],
        fields,
        key_kind=kind,
    )
    return _pair(config, frame, keys, records, fields)


def _pair(
    config: IntegrationConfig,
    frame: pd.DataFrame,
    keys: list[str | None],
    records: dict[str, list[dict[str, Any]]],
    fields: list[str],
) -> MatchResult:
    key_column = config.report.key_column
    update_all = config.matching.multiple_records == "update_all"
    positions: list[int] = []
    matched_records: list[dict[str, Any]] = []
    unmatched: list[tuple[int, object]] = []
    ambiguous: list[tuple[int, object, str]] = []
    rows = frame["__row"].tolist()
    originals = frame[key_column].tolist()
    for position, (row, key) in enumerate(zip(rows, keys, strict=True)):
        found = records.get(key, []) if key is not None else []
        if not found:
            unmatched.append((row, originals[position]))
        elif len(found) > 1 and not update_all:
            ids = [str(r["Id"]) for r in found]
            shown = ", ".join(ids[:AMBIGUOUS_IDS_SHOWN])
            more = f" and {len(ids) - AMBIGUOUS_IDS_SHOWN} more" if len(ids) > 10 else ""
            ambiguous.append(
                (
                    row,
                    originals[position],
                    f"{len(ids)} {config.object.name} records have this "
                    f"{config.object.key_field}: {shown}{more}",
                )
            )
        else:
            for record in found:
                positions.append(position)
                matched_records.append(record)

    matched = frame.iloc[positions].reset_index(drop=True)
    matched.insert(1, "__key", pd.Series([keys[p] for p in positions], dtype="string"))
    matched["Id"] = pd.Series([str(r["Id"]) for r in matched_records], dtype="string")
    for name in fields:
        matched[CURRENT_PREFIX + name] = pd.Series(
            [r.get(name) for r in matched_records], dtype=object
        )
    _check_one_row_per_record(matched)

    outcomes = pd.concat(
        [
            outcome_frame(
                rows=[r for r, _ in unmatched],
                keys=[k for _, k in unmatched],
                bucket="unmatched",
                reasons=[f"no {config.object.name} record has this {config.object.key_field}"]
                * len(unmatched),
            ),
            outcome_frame(
                rows=[r for r, _, _ in ambiguous],
                keys=[k for _, k, _ in ambiguous],
                bucket="ambiguous",
                reasons=[reason for _, _, reason in ambiguous],
                error_codes=["MULTIPLE_RECORDS"] * len(ambiguous),
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

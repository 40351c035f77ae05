"""Bulk API 2.0 wire format and job polling, shared by the writers and the lookups.

The CSV is ours to write (simple-salesforce only uploads it): values are written so that Salesforce
reads back exactly the value we mean.
"""

from __future__ import annotations

import csv
import io
import itertools
import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import IO, Any, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from include.walkme_sync.errors import TransientError
from include.walkme_sync.metadata import WireValue
from include.walkme_sync.records import ArrowValues, ChangeSet, FieldColumn, RecordChange
from include.walkme_sync.salesforce.errors import translate

T = TypeVar("T")
#: Tries of a read-only Bulk call (a job's state, its result files) before the job is given up.
READ_ATTEMPTS = 4

#: Bulk 2.0 marker that sets a field to null (an empty CSV value means "leave unchanged"):
#: "an empty value is ignored on update; #N/A sets the field to null" (Bulk API 2.0 guide,
#: datafiles_prepare_csv.htm / datafiles_csv_valid_record_rows.htm). So a text value that *is*
#: "#N/A" cannot travel in the CSV literally: Salesforce would clear the field instead.
BULK_NULL = "#N/A"
#: Bulk API 2.0 ingest limits: "Maximum number of characters in a field: 32,000", "in a record:
#: 400,000" (https://developer.salesforce.com/docs/atlas.en-us.api_bulk_v2.meta/api_bulk_v2/
#: bulk_api_2_limits.htm). A Long Text Area takes up to 131,072 characters through REST.
MAX_BULK_FIELD_CHARS = 32_000
MAX_BULK_RECORD_CHARS = 400_000
#: simple-salesforce refuses uploads over 100 MB; stay clearly below.
MAX_BULK_JOB_BYTES = 90 * 1024 * 1024
#: Calls reserved for one Bulk 2.0 update job: create, upload, close, a poll, both result files
#: (the failed-results file is not read when the job counted no failure).
BULK_JOB_CALLS = 6
#: Polls back off to one every this many seconds while a job runs...
MAX_POLL_INTERVAL_SECONDS = 5.0
#: ...and to one every this many while it is still queued (`UploadComplete`, nothing processed):
#: a queued job may wait minutes for the org's capacity, and every poll is an API call.
MAX_QUEUED_POLL_INTERVAL_SECONDS = 30.0
#: The longest `Retry-After` honoured inside a task; a longer wait is Airflow's retry's job.
MAX_RETRY_AFTER_SECONDS = 300.0
BULK_JOB_TIMEOUT_SECONDS = 3600.0

TERMINAL_JOB_STATES = frozenset({"JobComplete", "Failed", "Aborted"})
QUEUED_JOB_STATES = frozenset({"Open", "UploadComplete"})

RetryAfter = Callable[[], "float | None"]


def _no_retry_after() -> float | None:
    return None


def wait_for_bulk_job(
    client: Any,
    job_id: str,
    *,
    is_query: bool,
    timeout: float = BULK_JOB_TIMEOUT_SECONDS,
    retry_after: RetryAfter = _no_retry_after,
) -> dict[str, Any]:
    """Poll a Bulk 2.0 job until it is JobComplete, Failed or Aborted (or `timeout` passes);
    return its last job info.

    Every poll is an API call, so polls start right away (small jobs finish quickly) and then
    back off: doubling up to one every `MAX_POLL_INTERVAL_SECONDS` while the job runs, up to one
    every `MAX_QUEUED_POLL_INTERVAL_SECONDS` while it is still queued, never sooner than the
    `Retry-After` Salesforce asked for (`retry_after()`: the session's latest), never past the
    deadline. A poll that fails transiently (dropped connection, 5xx) is just polled again:
    reading a job's state changes nothing.
    """
    deadline = time.monotonic() + timeout
    interval = 0.0
    while True:
        info: dict[str, Any] = read_with_retries(
            lambda: client.get_job(job_id, is_query), retry_after=retry_after
        )
        left = deadline - time.monotonic()
        if info.get("state") in TERMINAL_JOB_STATES or left < 0:
            return info
        interval = next_poll_interval(interval, info)
        time.sleep(min(_at_least_retry_after(interval, retry_after), left + 0.01))


def next_poll_interval(interval: float, info: dict[str, Any]) -> float:
    """The wait before the next poll of a job whose latest info is `info`."""
    queued = info.get("state") in QUEUED_JOB_STATES and not info.get("numberRecordsProcessed")
    cap = MAX_QUEUED_POLL_INTERVAL_SECONDS if queued else MAX_POLL_INTERVAL_SECONDS
    return min(max(interval * 2, 0.2), cap)


def _at_least_retry_after(delay: float, retry_after: RetryAfter) -> float:
    asked = retry_after()
    return delay if asked is None else max(delay, min(asked, MAX_RETRY_AFTER_SECONDS))


def read_with_retries(
    read: Callable[[], T],
    attempts: int = READ_ATTEMPTS,
    *,
    retry_after: RetryAfter = _no_retry_after,
) -> T:
    """Run a read-only Bulk call, again after a transient failure (it changes nothing), waiting
    with backoff and at least Salesforce's `Retry-After`."""
    for attempt in range(attempts):
        try:
            return read()
        except Exception as exc:
            if attempt + 1 >= attempts or not isinstance(
                translate(exc, conn_id=""), TransientError
            ):
                raise
            delay = min(0.2 * 2**attempt, MAX_POLL_INTERVAL_SECONDS)
            time.sleep(_at_least_retry_after(delay, retry_after))
    raise AssertionError("unreachable")  # pragma: no cover


def bulk_unsafe_reason(change: RecordChange) -> str | None:
    """Why `change` cannot go through the Bulk CSV exactly as it is, or None when it can.

    A report value must end the same on every write path: one the CSV would reinterpret (the
    null marker) or that passes Bulk API 2.0's size limits goes through sObject Collections.
    """
    total = 0
    for name, value in change.fields.items():
        if not isinstance(value, str):
            continue
        if value == BULK_NULL:
            return f"{name} holds the text {BULK_NULL!r}, Bulk API 2.0's null marker"
        if len(value) > MAX_BULK_FIELD_CHARS:
            return f"{name} holds more than Bulk API 2.0's {MAX_BULK_FIELD_CHARS:,} characters"
        total += len(value)
    if total > MAX_BULK_RECORD_CHARS:
        return f"the record holds more than Bulk API 2.0's {MAX_BULK_RECORD_CHARS:,} characters"
    return None


def _maybe_bulk_unsafe(fields: list[dict[str, Any]], widest: int | None = None) -> bool:
    """A quick superset of "some change is not Bulk-safe" (`bulk_unsafe_reason`), in one pass
    over every value: some text is the null marker, or longer than a field may be or than its
    share of the widest record (if every value fits its share, every record fits too)."""
    if widest is None:
        widest = max(map(len, fields), default=1)
    longest = min(MAX_BULK_FIELD_CHARS, MAX_BULK_RECORD_CHARS // max(widest, 1))
    return any(
        value.__class__ is str and (len(value) > longest or value == BULK_NULL)
        for names in fields
        for value in names.values()
    )


def _maybe_bulk_unsafe_columns(changes: ChangeSet) -> bool:
    """`_maybe_bulk_unsafe` of a `ChangeSet`'s fields, column by column, a block of rows at a
    time (the blocks of the job's CSV, which then reuses their Arrow values: `sent_arrow`)."""
    if not len(changes) or not changes.fields:
        return False
    widest = int(np.sum([f.sent for f in changes.fields], axis=0).max())
    longest = min(MAX_BULK_FIELD_CHARS, MAX_BULK_RECORD_CHARS // max(widest, 1))
    for column in changes.fields:
        for start in range(0, len(changes), ARROW_BLOCK_ROWS):
            stop = min(start + ARROW_BLOCK_ROWS, len(changes))
            if _maybe_bulk_unsafe_block(column, start, stop, widest, longest):
                return True
    return False


def _maybe_bulk_unsafe_block(
    column: FieldColumn, start: int, stop: int, widest: int, longest: int
) -> bool:
    if isinstance(column.values, ArrowValues) and column.values.array.type == pa.string():
        return _maybe_bulk_unsafe_texts(
            column.values.array[start:stop], column.sent[start:stop], longest
        )
    array = sent_arrow(column, start, stop, keep=True)
    if array is not None and array.type in (pa.int64(), pa.float64(), pa.bool_(), pa.null()):
        return False
    if array is None or array.type != pa.string():  # mixed kinds: value by value
        values = column.values[start:stop][column.sent[start:stop]].tolist()
        return _maybe_bulk_unsafe([{column.name: v} for v in values], widest)
    # Arrow counts code points, as `len` does.
    too_long = pc.max(pc.utf8_length(array)).as_py() or 0
    return bool(too_long > longest or pc.any(pc.equal(array, BULK_NULL)).as_py())


def _maybe_bulk_unsafe_texts(texts: pa.Array, sent: np.ndarray, longest: int) -> bool:
    """`_maybe_bulk_unsafe_block` of Arrow text where `sent` (bool): read in place, the values
    not sent masked out afterwards (no copy of the texts sent)."""
    # Arrow counts code points, as `len` does.
    lengths = pc.utf8_length(texts).fill_null(0).to_numpy(zero_copy_only=False)
    marker = pc.equal(texts, BULK_NULL).fill_null(False).to_numpy(zero_copy_only=False)
    return bool(((np.asarray(lengths) > longest) & sent).any() or (marker & sent).any())


def sent_arrow(column: FieldColumn, start: int, stop: int, *, keep: bool) -> pa.Array | None:
    """The values sent of rows `start:stop` of the column as Arrow inferred them from the Python
    values (str and None -> string, int -> int64, bool -> bool, ...), or None when Arrow cannot
    hold them (mixed kinds).

    The Bulk-safety check keeps them on the column (`keep`; `FieldColumn.arrow`) for the job's
    CSV, which takes each block's as it writes it: converting a million Python strings is the
    costly part of both, and the blocks not written yet are all that is held.
    """
    cached = column.arrow.get((start, stop)) if keep else column.arrow.pop((start, stop), None)
    if cached is None:
        sent = column.sent[start:stop]
        values = column.values[start:stop]
        try:
            if isinstance(values, ArrowValues):  # already Arrow (date-time texts)
                cached = values.array if sent.all() else values.array.filter(sent)
            else:
                cached = pa.array(values[sent])
        except (pa.ArrowException, OverflowError):
            cached = False  # the values go one by one
        if keep:
            column.arrow[(start, stop)] = cached
    return cached if isinstance(cached, pa.Array) else None


def bulk_csv(changes: Sequence[RecordChange]) -> str:
    """Bulk 2.0 update CSV: `Id` + the union of the changes' fields, sorted.

    A change without a column leaves that cell empty (= unchanged); None becomes `#N/A` (= clear).
    Built column by column (text values as they are, other values once per distinct value),
    then written by the C `csv` writer in one call: a million changes cost about a second (a
    `ChangeSet` skips the dicts and, when no cell needs quoting, the writer: `_columns_csv`).
    """
    if isinstance(changes, ChangeSet):
        return _columns_csv(changes)
    fields = [change.fields for change in changes]
    columns = sorted({name for names in fields for name in names})
    cells = [_column_cells(fields, column) for column in columns]
    rows = zip([change.record_id for change in changes], *cells, strict=True)
    # A StringIO holds 4 bytes per character: write blocks of rows, keep only their text.
    parts = [_csv_text([["Id", *columns]])]
    while block := list(itertools.islice(rows, CSV_BLOCK_ROWS)):
        parts.append(_csv_text(block))
    return "".join(parts)


#: Rows written per StringIO by `bulk_csv`.
CSV_BLOCK_ROWS = 50_000


def _csv_text(rows: list[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


_ABSENT = object()


def _column_cells(fields: list[dict[str, WireValue]], column: str) -> list[str]:
    """One CSV column: "" where a change leaves the field alone, else `bulk_cell(value)`."""
    cells: list[Any] = [
        value if (value := names.get(column, _ABSENT)).__class__ is str else None
        for names in fields
    ]
    # Keyed by (type, value): True, 1 and 1.0 are equal dict keys but different cells.
    memo: dict[tuple[type, Any], str] = {}
    for index, cell in enumerate(cells):
        if cell is not None:
            continue
        value = fields[index].get(column, _ABSENT)
        if value is _ABSENT:
            cells[index] = ""
            continue
        key = (value.__class__, value)
        text = memo.get(key)
        if text is None:
            text = memo[key] = bulk_cell(value)  # type: ignore[arg-type]
        cells[index] = text
    return cells


def _columns_csv(changes: ChangeSet) -> str:
    """`bulk_csv` of a `ChangeSet`, byte for byte (see `_write_columns_csv`)."""
    buffer = io.BytesIO()
    if _write_columns_csv(changes, buffer):
        return buffer.getvalue().decode("utf-8")
    return bulk_csv(list(changes))


def write_bulk_csv(changes: Sequence[RecordChange], sink: IO[bytes]) -> None:
    """`bulk_csv(changes)` as UTF-8, what a job uploads, written to `sink` from where it stands:
    a `ChangeSet`'s lines a block at a time, never the text (nor the whole file, when `sink`
    is a file) in memory; when some cell needs quoting, what was written is replaced by the
    row-by-row way's text."""
    start = sink.tell()
    if isinstance(changes, ChangeSet) and _write_columns_csv(changes, sink):
        return
    sink.seek(start)
    sink.truncate()
    sink.write(bulk_csv(changes).encode("utf-8"))


def _write_columns_csv(changes: ChangeSet, sink: IO[bytes]) -> bool:
    """`bulk_csv` of a `ChangeSet` as UTF-8, column by column, or False when some cell needs
    quoting (rare; the row-by-row way then writes it). The columns' Arrow values (`sent_arrow`)
    are let go once read: a job's CSV is their last reader."""
    try:
        return _write_lines(changes, sink)
    except (pa.ArrowException, UnicodeError, OverflowError):  # e.g. a lone surrogate
        return False
    finally:
        changes.forget_arrow()


def _write_lines(changes: ChangeSet, sink: IO[bytes]) -> bool:
    """The lines are joined by Arrow, a block of rows at a time (a few MB of temporaries, not a
    copy of the file per step), and written as they are (never text in between)."""
    present = sorted((f for f in changes.fields if f.sent.any()), key=lambda f: f.name)
    if not len(changes) or not present:
        return False
    names = [f.name for f in present]
    sink.write(_csv_text([["Id", *names]]).encode("utf-8"))
    for start in range(0, len(changes), ARROW_BLOCK_ROWS):
        stop = min(start + ARROW_BLOCK_ROWS, len(changes))
        ids = changes.record_ids[start:stop]
        arrays = [
            ids.array.cast(pa.large_string())
            if isinstance(ids, ArrowValues)
            else pa.array(ids, type=pa.large_string())
        ]
        arrays += [_field_cells(column, start, stop) for column in present]
        if not _write_unquoted_body(sink, arrays, len(names)):
            return False
    return True


#: Rows joined per Arrow block by `_write_lines`.
ARROW_BLOCK_ROWS = 100_000


def _write_unquoted_body(sink: IO[bytes], arrays: list[pa.Array], fields: int) -> bool:
    """Write the CSV rows of one block (`arrays`: the Ids, then the cells of `fields` columns)
    to `sink` when no cell needs quoting (else False): each line is its cells joined by commas,
    and the lines' bytes are the joined Arrow array's data buffer."""
    size = len(arrays[0])
    comma, newline, empty = (pa.scalar(t, pa.large_string()) for t in (",", "\n", ""))
    lines = pc.binary_join_element_wise(pc.binary_join_element_wise(*arrays, comma), newline, empty)
    del arrays[:]
    _, offsets, buffer = lines.buffers()
    bounds = np.frombuffer(offsets, dtype=np.int64)[[lines.offset, lines.offset + size]]
    body = np.frombuffer(buffer, dtype=np.uint8)[int(bounds[0]) : int(bounds[1])]

    # The csv writer quotes a cell holding the delimiter, the quote character or a line break:
    # with none of them in any cell, the file has exactly these separators and no quote.
    def count(character: str) -> int:
        return int(np.count_nonzero(body == ord(character)))

    if count("\n") != size or count(",") != size * fields or count('"') or count("\r"):
        return False
    sink.write(body.data)
    return True


#: Arrow types whose text (`cast` to string) is `bulk_cell`'s: text, whole numbers, booleans
#: ("true"/"false"); null is the null marker.
_ARROW_CELL_TYPES = (pa.string(), pa.large_string(), pa.int64(), pa.bool_(), pa.null())


def _field_cells(column: FieldColumn, start: int, stop: int) -> pa.Array:
    """Rows `start:stop` of one CSV column of a `ChangeSet` (Arrow text): "" where a change
    leaves the field alone, else `bulk_cell(value)`."""
    sent = column.sent[start:stop]
    values = column.values
    if isinstance(values, ArrowValues) and values.array.type in _ARROW_CELL_TYPES:
        # Already Arrow: every value's cell, then "" where not sent (no copy of the sent ones).
        cells = values.array[start:stop].cast(pa.large_string()).fill_null(BULK_NULL)
        if sent.all():
            return cells
        return pc.if_else(pa.array(sent), cells, pa.scalar("", pa.large_string()))
    # str (with None) -> string, int -> int64, bool -> bool; mixed kinds fail or infer another
    # type, and take the per-value way below.
    inferred = sent_arrow(column, start, stop, keep=False)
    if inferred is not None and inferred.type in _ARROW_CELL_TYPES:
        texts = inferred.cast(pa.large_string()).fill_null(BULK_NULL)
    else:
        # Floats (never scientific notation) and mixed kinds: once per distinct value. Keyed by
        # (type, value): True, 1 and 1.0 are equal keys but different cells.
        memo: dict[tuple[type, Any], str] = {}
        cells = []
        for value in column.values[start:stop][sent].tolist():
            key = (value.__class__, value)
            text = memo.get(key)
            if text is None:
                text = memo[key] = bulk_cell(value)
            cells.append(text)
        texts = pa.array(cells, type=pa.large_string())
    if len(texts) == len(sent):
        return texts
    blank = pa.repeat(pa.scalar("", pa.large_string()), len(sent))
    return pc.replace_with_mask(blank, pa.array(sent), texts)


def bulk_cell(value: WireValue) -> str:
    """One value as Bulk CSV text."""
    if value is None:
        return BULK_NULL
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        # never scientific notation: Salesforce rejects "1e-05"
        return format(Decimal(repr(value)), "f")
    return str(value)


def parse_bulk_error(text: str) -> tuple[str, str]:
    """`sf__Error` is `CODE:message` (sometimes `CODE:message:fields --`): split it."""
    code, sep, rest = (text or "").partition(":")
    if sep and code.replace("_", "").isalnum() and code.upper() == code:
        message = rest.removesuffix(" --").strip()
        return code.strip(), message
    return "BULK_RECORD_ERROR", text.strip()

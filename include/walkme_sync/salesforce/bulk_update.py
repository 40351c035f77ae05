"""One Bulk API 2.0 update job, through simple-salesforce's low-level `_Bulk2Client`.

The writers (`salesforce.writers`) decide which changes go to a job and settle its results; this
module runs the job: create, upload our CSV (`bulk.write_bulk_csv`), close, wait, read the
per-record results. Read-only calls (polls, result files) are repeated after a transient failure;
anything else fails the job, which the writer may re-run whole (an update with the same values
is idempotent).
"""

from __future__ import annotations

import contextlib
import csv
import io
import tempfile
from collections.abc import Callable, Sequence
from typing import IO, TYPE_CHECKING, Any, TypeAlias, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from include.walkme_sync.errors import AuthorizationError, SyncError
from include.walkme_sync.records import ArrowValues, RecordChange, every_in_order, object_array
from include.walkme_sync.salesforce.bulk import (
    TERMINAL_JOB_STATES,
    parse_bulk_error,
    read_with_retries,
    wait_for_bulk_job,
    write_bulk_csv,
)
from include.walkme_sync.salesforce.bulk_files import (
    download_results,
    result_ids,  # noqa: F401 - its place before the wire code moved out
    result_ids_of_file,
    stream_result_ids,
    upload_job_data,
)
from include.walkme_sync.salesforce.errors import translate

if TYPE_CHECKING:
    from include.walkme_sync.salesforce.client import SalesforceSession

T = TypeVar("T")


def id_key(record_id: str) -> str:
    """The first 15 characters of an 18-character Id are the case-sensitive 15-character Id."""
    return record_id[:15]


def id_keys(record_ids: Sequence[str] | np.ndarray | ArrowValues) -> np.ndarray:
    """`id_key` of every Id (object array), sliced by Arrow in one pass."""
    if not len(record_ids):
        return np.empty(0, dtype=object)
    if isinstance(record_ids, ArrowValues):
        record_ids = record_ids.objects()
    try:
        ids = pa.array(record_ids, type=pa.large_string())
    except (pa.ArrowException, UnicodeError):  # not text (or no UTF-8): one by one
        return object_array([id_key(r) for r in record_ids])
    # Code points, as Python slices: Arrow's "codeunits" of UTF-8 text are code points.
    return np.asarray(
        pc.utf8_slice_codeunits(ids, 0, 15).to_numpy(zero_copy_only=False), dtype=object
    )


#: Id[:15] of many records: Arrow text (no Python string per Id) or, for Ids Arrow cannot hold
#: (not text, no UTF-8), an object array.
IdKeys: TypeAlias = pa.Array | np.ndarray


def id_key_texts(record_ids: Sequence[str] | np.ndarray | ArrowValues) -> IdKeys:
    """`id_keys`, kept as Arrow text (large_string) when the Ids are text."""
    try:
        ids = (
            record_ids.array.cast(pa.large_string())
            if isinstance(record_ids, ArrowValues)
            else pa.array(record_ids, type=pa.large_string())
        )
    except (pa.ArrowException, UnicodeError):
        return id_keys(record_ids)
    return pc.utf8_slice_codeunits(ids, 0, 15)


def _arrow_texts(ids: IdKeys) -> pa.Array | None:
    """`ids` as Arrow large_string, or None when they are not all text."""
    if isinstance(ids, pa.Array):
        return ids if ids.type == pa.large_string() else ids.cast(pa.large_string())
    try:
        return pa.array(ids, type=pa.large_string())
    except (pa.ArrowException, UnicodeError):
        return None


def unique_keys(ids: IdKeys) -> bool:
    """Whether no Id[:15] appears twice."""
    if isinstance(ids, pa.Array):
        packed = packed_keys(ids)
        if packed is not None and bool(pd.Index(packed).is_unique):
            return True  # distinct numbers are distinct Ids (equal ones may still differ)
        # (`unique` hashes once; `count_distinct` took twice as long on a million Ids. Both
        # count a null as one value.)
        return len(pc.unique(ids)) == len(ids)
    return bool(pd.Index(ids, dtype=object).is_unique)


#: Mixes the first eight bytes of an Id into `packed_keys`' number (Fibonacci hashing's).
_MIX = np.uint64(0x9E3779B97F4A7C15)


def packed_keys(ids: pa.Array) -> np.ndarray | None:
    """One uint64 per Id of text Ids that all have the same length of at most 16 bytes (Id[:15]
    keys: 15), from its bytes: equal Ids give equal numbers, so distinct numbers prove distinct
    Ids, which pandas' integer hashing checks at a fraction of the cost of hashing text. None
    for other Ids (nulls, mixed lengths)."""
    size = len(ids)
    if not size or ids.null_count or ids.type not in (pa.string(), pa.large_string()):
        return None
    _, offsets, data = ids.buffers()
    kind = np.int64 if ids.type == pa.large_string() else np.int32
    bounds = np.frombuffer(offsets, dtype=kind)[ids.offset : ids.offset + size + 1]
    width = int(bounds[1] - bounds[0])
    if not 0 < width <= 16 or int(bounds[-1] - bounds[0]) != width * size:
        return None
    if not (np.diff(bounds) == width).all():
        return None
    raw = np.frombuffer(data, dtype=np.uint8)[int(bounds[0]) : int(bounds[-1])]
    padded = np.zeros((size, 16), dtype=np.uint8)
    padded[:, :width] = raw.reshape(size, width)
    halves = padded.view(np.uint64)
    return np.asarray(halves[:, 0] * _MIX ^ halves[:, 1], dtype=np.uint64)


def take_keys(ids: IdKeys, indices: np.ndarray) -> IdKeys:
    """The Id[:15]s at `indices` (int64): `ids` themselves when that is all of them in order
    (a job of every change; no copy of a million Ids)."""
    if every_in_order(indices, len(ids)):
        return ids
    return ids.take(pa.array(indices)) if isinstance(ids, pa.Array) else ids[indices]


def key_at(ids: IdKeys, index: int) -> str:
    """One Id[:15] as text."""
    return str(ids[index].as_py() if isinstance(ids, pa.Array) else ids[index])


class BulkUpdateJob:
    """One Bulk API 2.0 update job through simple-salesforce's `_Bulk2Client`.

    Uses the low-level client (not `sf.bulk2.X.update`) to keep the job id and error message, to
    write `#N/A` for clears, and to read per-record results keyed by Id.
    """

    def __init__(
        self,
        session: SalesforceSession,
        object_name: str,
        changes: Sequence[RecordChange],
        *,
        timeout: float,
    ) -> None:
        self.session = session
        self.object_name = object_name
        self.changes = changes
        self.timeout = timeout
        self.job_id = ""
        self.state = "Open"
        self.error_message: str | None = None
        #: Id[:15] of every record in the successful-results file (a million in one array).
        self.successful: IdKeys = np.empty(0, dtype=object)
        #: Id[:15] -> (error_code, message) of every record in the failed-results file.
        self.failures: dict[str, tuple[str, str]] = {}
        #: `numberRecordsFailed` of the job's last info, when it said.
        self.records_failed: int | None = None

    def _retry_after(self) -> float | None:
        return self.session.meter.retry_after

    def _client(self) -> Any:
        # Fetch the handler each time: it captures the session id, which a re-login changes.
        return getattr(self.session.sf.bulk2, self.object_name)._client

    def run(self) -> None:
        try:
            self._run()
        except SyncError:
            raise
        except Exception as exc:
            error = translate(exc, conn_id=self.session.conn_id, object_name=self.object_name)
            if isinstance(error, AuthorizationError) and self.session.refresh_login():
                # Bulk calls never refresh an expired session themselves; updates are idempotent,
                # so re-running the whole job after one re-login is safe.
                try:
                    self._run()
                    return
                except Exception as retry_exc:
                    raise translate(
                        retry_exc,
                        conn_id=self.session.conn_id,
                        object_name=self.object_name,
                    ) from None
            raise error from None

    def _write_data(self, sink: IO[bytes]) -> None:
        """The job's data as uploaded: `bulk_csv` in UTF-8, the lines of a `ChangeSet` straight
        from Arrow's buffers (an upsert job writes its own)."""
        write_bulk_csv(self.changes, sink)

    def _run(self) -> None:
        client = self._client()
        job = self._create(client)
        self.job_id = str(job["id"])
        if job.get("state") != "Open":
            raise SyncError(f"Bulk job {self.job_id} was created in state {job.get('state')}.")
        try:
            # Written to a temporary file and sent from it: a million rows' CSV (60 MB) is never
            # in memory, where it would add to the plan's values at the step's peak; the file
            # goes once sent (a re-run after a re-login writes it again).
            with tempfile.TemporaryFile() as data:
                self._write_data(data)
                data.seek(0)
                upload_job_data(client, self.job_id, data)
            client.close_job(self.job_id)
        except Exception:
            self._abort_quietly(client)
            raise
        info = self._wait(client)
        self.state = str(info.get("state"))
        self.error_message = info.get("errorMessage")
        failed = info.get("numberRecordsFailed")
        self.records_failed = int(str(failed)) if str(failed).isdigit() else None
        self._read_results(client)

    def _create(self, client: Any) -> Any:
        """Create the job (an upsert job names its external id field)."""
        return client.create_job("update")

    def _wait(self, client: Any) -> dict[str, Any]:
        timeout = self.timeout
        info = wait_for_bulk_job(
            client, self.job_id, is_query=False, timeout=timeout, retry_after=self._retry_after
        )
        if info.get("state") not in TERMINAL_JOB_STATES:
            self._abort_quietly(client)
            return {
                **info,
                "state": "Aborted",
                "errorMessage": f"still {info.get('state')} after {timeout:.0f}s "
                "(write.bulk_job_timeout_seconds); aborted",
            }
        return info

    def _abort_quietly(self, client: Any) -> None:
        # Best effort: the error that made us abort is the one worth reporting.
        with contextlib.suppress(Exception):
            client.abort_job(self.job_id, False)

    def _result_files(self, client: Any) -> tuple[str, str] | None:
        """The successful- and failed-results files; None when a job that did not complete has
        none (its records are then handled as missing)."""
        return self._fetch_results(
            client, lambda: client.get_ingest_results(self.job_id, "successfulResults")
        )

    def _fetch_results(self, client: Any, successful: Callable[[], T]) -> tuple[T, str] | None:
        """(`successful()`: the successful results, the failed-results file's text); None when
        a job that did not complete has none."""
        # A completed job that counted no failed record has an empty failed-results file: not
        # worth an API call.
        skip_failed = self.state == "JobComplete" and self.records_failed == 0
        try:
            succeeded = read_with_retries(successful, retry_after=self._retry_after)
            failed = (
                ""
                if skip_failed
                else read_with_retries(
                    lambda: client.get_ingest_results(self.job_id, "failedResults"),
                    retry_after=self._retry_after,
                )
            )
        except Exception:
            if self.state == "JobComplete":
                raise
            return None
        return succeeded, failed

    def _read_results(self, client: Any) -> None:
        files = self._fetch_results(client, lambda: self._successful_ids(client))
        if files is None:
            return
        self.successful, failed = files
        for row in csv.DictReader(io.StringIO(failed)):
            record_id = row.get("sf__Id") or row.get("Id") or ""
            self.failures[id_key(record_id)] = parse_bulk_error(row.get("sf__Error") or "")

    def _successful_ids(self, client: Any) -> pa.Array | np.ndarray:
        """The Ids of the successful results (a million rows: ~100 MB): Arrow reads only their
        Id columns as they arrive; a file it cannot read so goes to a temporary file as it
        arrives and is read from there (never its bytes and its text in memory at once)."""
        ids = stream_result_ids(client, self.job_id, "successfulResults")
        if ids is not None:
            return ids
        with download_results(client, self.job_id, "successfulResults") as handle:
            return result_ids_of_file(handle)

    def settle(self, id15: IdKeys) -> tuple[np.ndarray, np.ndarray]:
        """For the records `id15` (Id[:15] of the job's changes, in order): (succeeded,
        failed) masks. A record in both files counts as failed; in neither, as missing."""
        sent, found = _arrow_texts(id15), _arrow_texts(self.successful)
        if sent is None or found is None:
            return self._settle_objects(np.asarray(id15, dtype=object))
        if (
            not self.failures
            and len(found) == len(sent)
            and bool(pc.all(pc.equal(found, sent).fill_null(False)).as_py())
        ):
            # The usual answer: every record succeeded, listed in the order sent.
            return np.ones(len(sent), dtype=bool), np.zeros(len(sent), dtype=bool)
        failed = np.zeros(len(sent), dtype=bool)
        if self.failures:
            listed = pa.array(list(self.failures), type=pa.large_string())
            failed = _flags(pc.is_in(sent, value_set=listed))
        succeeded = _flags(pc.is_in(sent, value_set=found)) & ~failed
        return succeeded, failed

    def _settle_objects(self, id15: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """`settle` of Ids Arrow cannot hold, with pandas' `isin` over Python objects."""
        successful = np.asarray(self.successful, dtype=object)
        if not self.failures and _same_ids(successful, id15):
            return np.ones(len(id15), dtype=bool), np.zeros(len(id15), dtype=bool)
        # Object dtype on purpose: pandas' Arrow-backed strings check `isin` value by value.
        ids = pd.Index(id15, dtype=object)
        failed = np.zeros(len(id15), dtype=bool)
        if self.failures:
            failed = np.asarray(ids.isin(pd.Index(list(self.failures), dtype=object)))
        succeeded = np.asarray(ids.isin(pd.Index(successful, dtype=object))) & ~failed
        return succeeded, failed


def _flags(mask: pa.Array) -> np.ndarray:
    return np.asarray(mask.to_numpy(zero_copy_only=False), dtype=bool)


def _same_ids(found: np.ndarray, sent: np.ndarray) -> bool:
    """Whether `found` lists exactly the Ids `sent`, in the same order (object arrays)."""
    if len(found) != len(sent):
        return False
    try:
        return bool(np.asarray(found == sent, dtype=bool).all())
    except (TypeError, ValueError):  # not comparable element by element: take the long way
        return False

"""Bulk API 2.0 job files on the wire: our CSV uploaded as bytes, the Id columns of a result
file read by Arrow as it arrives (or the file streamed to disk and read from there).

simple-salesforce's own calls hold a file several times over (text and bytes, encoded twice to
check the size); at a million records that is hundreds of MB. These send the same requests.
"""

from __future__ import annotations

import contextlib
import csv
import io
import tempfile
from collections.abc import Iterator
from http import HTTPStatus
from typing import IO, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv


def upload_job_data(client: Any, job_id: str, data: bytes | bytearray | IO[bytes]) -> None:
    """simple-salesforce's `upload_job_data`, given the CSV's bytes or a file of them (sent
    from where it stands to its end, streamed): it takes text and encodes it twice (once to
    check the size), holding three copies of a 60 MB file at once."""
    from simple_salesforce.bulk2 import MAX_INGEST_JOB_FILE_SIZE
    from simple_salesforce.exceptions import SalesforceBulkV2LoadError
    from simple_salesforce.util import call_salesforce

    size = len(data) if isinstance(data, bytes | bytearray) else _remaining_bytes(data)
    if not size:
        raise SalesforceBulkV2LoadError("Data is required for ingest jobs")
    if size > MAX_INGEST_JOB_FILE_SIZE:
        raise SalesforceBulkV2LoadError(
            f"Data size {size} exceeds the max file size accepted by Bulk V2 (100 MB)"
        )
    url = f"{client._construct_request_url(job_id, False)}/batches"
    headers = client._get_headers(client.CSV_CONTENT_TYPE, client.JSON_CONTENT_TYPE)
    result = call_salesforce(
        url=url, method="PUT", session=client.session, headers=headers, data=data
    )
    if result.status_code != HTTPStatus.CREATED:
        raise SalesforceBulkV2LoadError(
            f"Failed to upload job data. Error Code {result.status_code}. "
            f"Response content: {result.content.decode()}"
        )


def _remaining_bytes(file: IO[bytes]) -> int:
    """Bytes from the file's position to its end (requests sends exactly these, with this
    Content-Length)."""
    position = file.tell()
    end = file.seek(0, io.SEEK_END)
    file.seek(position)
    return end - position


#: Bytes read from the network per write to the temporary results file.
DOWNLOAD_CHUNK_BYTES = 1 << 20


def stream_result_ids(client: Any, job_id: str, results_type: str) -> pa.Array | None:
    """`result_ids` of a Bulk 2.0 job's result file (`successfulResults`...), read by Arrow as
    the answer arrives: nothing on disk, and never the file's bytes in memory (a million rows
    are ~100 MB, and writing them to a file and reading them back cost more than parsing).

    None when the file is one Arrow does not read as it comes (empty, a blank first line, a
    header with a quoted line break or a repeated Id column or longer than the first read,
    ragged rows): the caller then downloads it whole (`download_results`) and reads it as
    before, one more call for a rare file. A connection that breaks or stalls mid-file raises
    what requests raises for it (`iter_content`'s errors), which the Bulk reads retry.
    """
    response = _request_results(client, job_id, results_type)
    with contextlib.closing(response), _as_requests_errors():
        response.raw.decode_content = True  # what `iter_content` gives: gzip undone
        response.raw.auto_close = False  # (urllib3's setting for reading it through `io`)
        return _streamed_ids(io.BufferedReader(response.raw, DOWNLOAD_CHUNK_BYTES))


def _streamed_ids(stream: io.BufferedReader) -> pa.Array | None:
    start = stream.peek(DOWNLOAD_CHUNK_BYTES)
    end = start.find(b"\n")
    first = start[: max(end, 0)]
    if end < 0 or not first.strip() or first.count(b'"') % 2:
        return None
    header = next(csv.reader([first.decode("utf-8", errors="replace")]))
    if _repeats_an_id_column(header):
        return None  # which one counts: the whole-file reading's
    try:
        return _arrow_result_ids(stream, header)
    except pa.ArrowInvalid:  # ragged rows, bad UTF-8 (not memory: that is no file's fault)
        return None


@contextlib.contextmanager
def _as_requests_errors() -> Iterator[None]:
    """urllib3's errors from reading a response body as requests' `iter_content` raises them,
    so a dropped or stalled download is recognised as a network failure (and retried)."""
    import requests.exceptions
    from urllib3 import exceptions as urllib3_errors

    try:
        yield
    except urllib3_errors.ProtocolError as exc:
        raise requests.exceptions.ChunkedEncodingError(exc) from exc
    except urllib3_errors.ReadTimeoutError as exc:
        raise requests.exceptions.ConnectionError(exc) from exc
    except urllib3_errors.DecodeError as exc:
        raise requests.exceptions.ContentDecodingError(exc) from exc
    except urllib3_errors.SSLError as exc:
        raise requests.exceptions.SSLError(exc) from exc


def _request_results(client: Any, job_id: str, results_type: str) -> Any:
    """simple-salesforce's `get_ingest_results` request, its answer not read yet (streamed)."""
    from simple_salesforce.util import call_salesforce

    url = f"{client._construct_request_url(job_id, False)}/{results_type}"
    headers = client._get_headers(client.JSON_CONTENT_TYPE, client.CSV_CONTENT_TYPE)
    return call_salesforce(
        url=url, method="GET", session=client.session, headers=headers, stream=True
    )


def download_results(client: Any, job_id: str, results_type: str) -> IO[bytes]:
    """A Bulk 2.0 job's result file (`successfulResults`...), streamed into a temporary file
    (deleted when closed), positioned at its start. simple-salesforce's `get_ingest_results`
    holds the whole answer twice (bytes and text); this is its request, streamed."""
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - returned open, closed by the caller
    try:
        response = _request_results(client, job_id, results_type)
        with contextlib.closing(response):
            for chunk in response.iter_content(chunk_size=DOWNLOAD_CHUNK_BYTES):
                spool.write(chunk)
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    return spool


def result_ids_of_file(handle: IO[bytes]) -> pa.Array | np.ndarray:
    """`result_ids` of a result file read from `handle` (UTF-8 bytes, at its start), as Arrow
    text (an object array when pandas had to read it)."""
    first = handle.readline()
    if not first.strip():  # (a blank first line: read on, as `result_ids` reads the text)
        text = (first + handle.read()).decode("utf-8", errors="replace")
        if not text or text.isspace():
            return np.empty(0, dtype=object)
    handle.seek(0)
    lines = (line.decode("utf-8", errors="replace") for line in handle)
    header = next(csv.reader(lines), [])  # the csv reader joins a quoted line break's lines
    handle.seek(0)
    try:
        return _arrow_result_ids(handle, header)
    except (pa.ArrowException, KeyError):
        handle.seek(0)
        return _pandas_result_ids(handle.read())


def result_ids(text: str) -> np.ndarray:
    """Id[:15] of every row of a Bulk 2.0 result file (`sf__Id`, else `Id`), parsed column-wise.

    Same reading as `csv.DictReader` row by row: every cell is text, an empty `sf__Id` falls back
    to `Id`, and a row with neither is the empty Id. Arrow's CSV reader parses it; a file it
    does not take (ragged rows, repeated column names) goes through pandas'.
    """
    if not text or text.isspace():  # (not `strip`: a copy of a file of a million rows)
        return np.empty(0, dtype=object)
    try:
        ids = _arrow_result_ids(_Utf8Stream(text), next(csv.reader(_lines(text))))
        return np.asarray(ids.to_numpy(zero_copy_only=False), dtype=object)
    except (pa.ArrowException, KeyError):
        return _pandas_result_ids(text.encode("utf-8"))


class _Utf8Stream(io.RawIOBase):
    """`text` as a UTF-8 byte stream, encoded a slice at a time (never the whole file twice)."""

    def __init__(self, text: str, chars: int = 1 << 20) -> None:
        self._text, self._chars, self._at = text, chars, 0
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if not self._pending:
            piece = self._text[self._at : self._at + self._chars]
            self._at += len(piece)
            self._pending = memoryview(piece.encode("utf-8"))
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


def _lines(text: str) -> Iterator[str]:
    """The lines of `text`, one at a time (the csv reader joins a quoted line break's lines)."""
    start = 0
    while start < len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end + 1
        yield text[start:end]
        start = end


def _arrow_result_ids(source: Any, header: list[str]) -> pa.Array:
    """The Id[:15] column of a result file (`source`: UTF-8 bytes; `header`: its column
    names), read by Arrow."""
    wanted = ("sf__Id", "Id")
    table = pa_csv.read_csv(
        source,
        # One thread: a result file's parse is serial anyway (quoted line breaks allowed); the
        # thread pool only added CPU (about half again on a million rows, measured).
        read_options=pa_csv.ReadOptions(use_threads=False),
        parse_options=pa_csv.ParseOptions(newlines_in_values=True),
        convert_options=pa_csv.ConvertOptions(
            include_columns=list(wanted),
            include_missing_columns=True,
            column_types=dict.fromkeys(wanted, pa.large_string()),
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    if _repeats_an_id_column(header):
        raise KeyError("a repeated column name")  # which one counts: the pandas reading's
    # A column the file lacks reads as nulls: the empty Id, like DictReader's missing key.
    sf_ids, ids = (table.column(name).fill_null("") for name in wanted)
    chosen = pc.if_else(pc.not_equal(sf_ids, ""), sf_ids, ids)
    sliced = pc.utf8_slice_codeunits(chosen, 0, 15)
    return sliced.combine_chunks() if isinstance(sliced, pa.ChunkedArray) else sliced


def _repeats_an_id_column(header: list[str]) -> bool:
    return header.count("sf__Id") > 1 or header.count("Id") > 1


def _pandas_result_ids(data: bytes) -> np.ndarray:
    # Bytes, not a StringIO: a StringIO holds 4 bytes per character of a file of a million rows.
    table = pd.read_csv(
        io.BytesIO(data),
        dtype=str,
        keep_default_na=False,
        na_filter=False,
        usecols=lambda name: name in ("sf__Id", "Id"),
    )
    empty = pd.Series("", index=table.index, dtype=object)
    ids = table["sf__Id"] if "sf__Id" in table.columns else empty
    if "Id" in table.columns:
        ids = ids.where(ids != "", table["Id"])
    return np.asarray(ids.str.slice(0, 15).to_numpy(dtype=object))

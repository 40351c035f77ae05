"""A Bulk job's result file read by Arrow as it arrives gives the Ids its text gives, or None
for the rare files only the whole-file reading takes (served over real HTTP, plain or gzip)."""

from __future__ import annotations

import csv
import gzip
import io
import random
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any

import pyarrow as pa
import pytest
import requests
from simple_salesforce.bulk2 import _Bulk2Client

from include.walkme_sync.errors import TransientError
from include.walkme_sync.salesforce import bulk
from include.walkme_sync.salesforce.bulk import read_with_retries
from include.walkme_sync.salesforce.bulk_files import result_ids, stream_result_ids
from include.walkme_sync.salesforce.bulk_update import BulkUpdateJob
from include.walkme_sync.salesforce.errors import translate


class _ResultFile(BaseHTTPRequestHandler):
    body = b""
    gzipped = False
    #: Bytes announced but never sent: the connection drops mid-file.
    missing = 0
    paths: list[str] = []

    def do_GET(self) -> None:
        _ResultFile.paths.append(self.path)
        body = gzip.compress(self.body) if self.gzipped else self.body
        self.send_response(200)
        self.send_header("Content-Type", "text/csv")
        if self.gzipped:
            self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body) + self.missing))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ResultFile)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/services/data/v62.0/jobs/"
    with requests.Session() as session:
        yield _Bulk2Client("Lead", url, {"Authorization": "Bearer t"}, session)
    server.shutdown()


def _texts(seed: int) -> list[str]:
    rng = random.Random(seed)
    texts = ["sf__Id,sf__Created,Id\n", "Id\n00Q000000000001AAA\n"]
    for _ in range(6):
        header = rng.choice(
            [["sf__Id", "sf__Created", "Email"], ["Id", "X"], ["sf__Id", "Id", "Note"]]
        )
        rows = [
            [
                rng.choice(["", f"00Q00000000000{rng.randint(0, 9)}AAA", "日本語の値", "a,\nb"])
                for _ in header
            ]
            for _ in range(rng.randint(0, 60))
        ]
        buffer = io.StringIO()
        quoting = rng.choice([csv.QUOTE_MINIMAL, csv.QUOTE_ALL])
        csv.writer(buffer, lineterminator="\n", quoting=quoting).writerows([header, *rows])
        texts.append(buffer.getvalue())
    return texts


#: Files the whole-file reading takes instead (the stream gives None).
WHOLE_FILE_ONLY = [
    "",
    "\n",  # a blank first line
    " \nsf__Id\n00Q000000000001AAA\n",
    '"sf__Id","a\nb"\n"00Q000000000001","x\ny"\n',  # a line break in the header
    "sf__Id,sf__Id\n1,2\n",  # a repeated column name
    "Id,X,Id\n1,2,3\n",
    "sf__Id,Id\n1,2,3\n",  # a ragged row
    "Id",  # no line end in the first read: the header may go on
]


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("gzipped", [False, True])
def test_streamed_ids_are_the_texts_ids(client: Any, seed: int, gzipped: bool) -> None:
    _ResultFile.gzipped = gzipped
    for text in _texts(seed):
        _ResultFile.body = text.encode("utf-8")
        found = stream_result_ids(client, "750J", "successfulResults")
        assert found is not None, text
        ids = found.to_pylist() if isinstance(found, pa.Array) else found.tolist()
        assert ids == result_ids(text).tolist(), text
    assert _ResultFile.paths[-1] == "/services/data/v62.0/jobs/ingest/750J/successfulResults"


@pytest.mark.parametrize("text", WHOLE_FILE_ONLY)
def test_files_arrow_cannot_stream_are_left_to_the_whole_file_reading(
    client: Any, text: str
) -> None:
    _ResultFile.gzipped = False
    _ResultFile.body = text.encode("utf-8")
    assert stream_result_ids(client, "750J", "successfulResults") is None
    # The job then downloads the file whole (a second request) and reads it as before.
    requests_before = len(_ResultFile.paths)
    found = BulkUpdateJob._successful_ids(SimpleNamespace(job_id="750J"), client)  # type: ignore[arg-type]
    ids = found.to_pylist() if isinstance(found, pa.Array) else found.tolist()
    assert ids == result_ids(text).tolist()
    assert len(_ResultFile.paths) == requests_before + 2


def test_a_connection_dropped_mid_file_is_a_network_failure_the_reads_retry(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _ResultFile.gzipped = False
    _ResultFile.body = ("sf__Id,sf__Created\n" + "00Q000000000001AAA,true\n" * 5000).encode()
    monkeypatch.setattr(_ResultFile, "missing", 1000)
    with pytest.raises(requests.exceptions.ChunkedEncodingError) as raised:
        stream_result_ids(client, "750J", "successfulResults")
    assert isinstance(translate(raised.value, conn_id="c"), TransientError)
    requests_before = len(_ResultFile.paths)
    monkeypatch.setattr(bulk, "time", SimpleNamespace(sleep=lambda seconds: None))
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        read_with_retries(lambda: stream_result_ids(client, "750J", "successfulResults"))
    assert len(_ResultFile.paths) == requests_before + bulk.READ_ATTEMPTS

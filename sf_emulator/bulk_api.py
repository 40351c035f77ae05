"""Bulk API 2.0 (``/services/data/vXX.X/jobs/...``) and Bulk API 1.0 (``/services/async/XX.X/...``).

Jobs are processed synchronously: an ingest job is processed while its ``UploadComplete`` PATCH is
answered, a query job when it is created, a Bulk 1.0 batch when it is added. Clients still see the
usual state machine (the close answer says ``UploadComplete``; the next GET says ``JobComplete``),
so their polling code runs exactly as against a real org, only without waiting.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sf_emulator.http_types import (
    CSV_CONTENT_TYPE,
    ApiRequest,
    Reply,
    empty_reply,
    error_reply,
    json_reply,
    method_not_allowed,
    not_found,
)
from sf_emulator.results import ApiError

INGEST_OPERATIONS = ("insert", "update", "upsert", "delete", "hardDelete")
QUERY_OPERATIONS = ("query", "queryAll")
COLUMN_DELIMITERS = {
    "COMMA": ",",
    "TAB": "\t",
    "PIPE": "|",
    "SEMICOLON": ";",
    "CARET": "^",
    "BACKQUOTE": "`",
}
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}
TERMINAL_STATES = ("JobComplete", "Failed", "Aborted")
DEFAULT_QUERY_PAGE = 250_000
JOB_ID_PREFIX = "750"
BATCH_ID_PREFIX = "751"
RESULT_ID_PREFIX = "752"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def _bulk2_error(status: int, code: str, message: str) -> Reply:
    return error_reply(status, code, message)


# === Bulk API 2.0 ingest ==========================================================================


@dataclass
class IngestJob:
    """One Bulk 2.0 ingest job and, once processed, its three result files."""

    id: str
    operation: str
    object: str
    external_id_field: str | None
    column_delimiter: str
    line_ending: str
    api_version: str
    created_by: str
    created_date: str = field(default_factory=_now)
    system_modstamp: str = field(default_factory=_now)
    state: str = "Open"
    data: bytes | None = None
    processed: int = 0
    failed: int = 0
    processing_ms: int = 0
    error_message: str | None = None
    successful_csv: bytes = b""
    failed_csv: bytes = b""
    unprocessed_csv: bytes = b""

    def info(self, *, detailed: bool) -> dict[str, Any]:
        info: dict[str, Any] = {
            "id": self.id,
            "operation": self.operation,
            "object": self.object,
            "createdById": self.created_by,
            "createdDate": self.created_date,
            "systemModstamp": self.system_modstamp,
            "state": self.state,
            "externalIdFieldName": self.external_id_field,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(self.api_version),
            "jobType": "V2Ingest",
            "lineEnding": self.line_ending,
            "columnDelimiter": self.column_delimiter,
        }
        if self.state == "Open":
            info["contentUrl"] = f"services/data/v{self.api_version}/jobs/ingest/{self.id}/batches"
        if detailed:
            info.update(
                {
                    "numberRecordsProcessed": self.processed,
                    "numberRecordsFailed": self.failed,
                    "retries": 0,
                    "totalProcessingTime": self.processing_ms,
                    "apiActiveProcessingTime": self.processing_ms,
                    "apexProcessingTime": 0,
                }
            )
            if self.error_message:
                info["errorMessage"] = self.error_message
        return info

    def touch(self, state: str) -> None:
        self.state = state
        self.system_modstamp = _now()


def bulk2_route(request: ApiRequest) -> Reply:
    """``jobs/ingest[...]`` and ``jobs/query[...]``."""
    kind = request.segments[1] if len(request.segments) > 1 else ""
    rest = request.segments[2:]
    if kind == "ingest":
        return _ingest_route(request, rest)
    if kind == "query":
        return _query_route(request, rest)
    return not_found()


def _ingest_route(request: ApiRequest, rest: list[str]) -> Reply:
    if not rest:
        if request.method == "POST":
            return create_ingest_job(request)
        if request.method == "GET":
            return list_jobs(request, request.org.ingest_jobs)
        return method_not_allowed(request.method)
    job = _find_job(request.org.ingest_jobs, request, rest[0])
    if job is None:
        return _bulk2_error(404, "NOT_FOUND", "The requested resource does not exist")
    if len(rest) == 1:
        return _ingest_job_action(request, job)
    if len(rest) == 2 and rest[1] == "batches" and request.method == "PUT":
        return upload_job_data(request, job)
    if len(rest) == 2 and request.method == "GET":
        return ingest_results(job, rest[1].lower())
    return not_found()


def _find_job(jobs: dict[str, Any], request: ApiRequest, job_id: str) -> Any | None:
    with request.org.jobs_lock:
        return jobs.get(job_id) or jobs.get(job_id[:15] + job_id[15:].upper())


def _ingest_job_action(request: ApiRequest, job: IngestJob) -> Reply:
    if request.method == "GET":
        return json_reply(200, job.info(detailed=True))
    if request.method == "PATCH":
        return change_ingest_state(request, job)
    if request.method == "DELETE":
        return delete_job(request, request.org.ingest_jobs, job.id, job.state)
    return method_not_allowed(request.method)


def _json_object(request: ApiRequest) -> dict[str, Any] | Reply:
    try:
        body = request.json_body()
    except ValueError as exc:
        return _bulk2_error(400, "JSON_PARSER_ERROR", str(exc))
    if not isinstance(body, dict):
        return _bulk2_error(400, "JSON_PARSER_ERROR", "Expected a JSON object")
    return body


def _format_problem(body: dict[str, Any]) -> str | None:
    if str(body.get("columnDelimiter", "COMMA")) not in COLUMN_DELIMITERS:
        return f"Invalid column delimiter: {body.get('columnDelimiter')}"
    if str(body.get("lineEnding", "LF")) not in LINE_ENDINGS:
        return f"Invalid line ending: {body.get('lineEnding')}"
    if str(body.get("contentType", "CSV")) != "CSV":
        return f"Invalid content type: {body.get('contentType')}"
    return None


def create_ingest_job(request: ApiRequest) -> Reply:
    body = _json_object(request)
    if isinstance(body, Reply):
        return body
    operation = str(body.get("operation", ""))
    if operation not in INGEST_OPERATIONS:
        return _bulk2_error(400, "INVALIDJOB", f"InvalidJob : Invalid operation: {operation}")
    object_name = str(body.get("object", ""))
    schema = _object_schema(request, object_name)
    if schema is None:
        return _bulk2_error(
            400, "INVALIDENTITY", f"InvalidEntity : Entity '{object_name}' is not supported."
        )
    external_id = body.get("externalIdFieldName")
    if operation == "upsert" and not external_id:
        return _bulk2_error(
            400, "INVALIDJOB", "InvalidJob : External ID was blank for upsert operation"
        )
    problem = _format_problem(body)
    if problem:
        return _bulk2_error(400, "INVALIDJOB", f"InvalidJob : {problem}")
    job = IngestJob(
        id=request.org.ids.mint(JOB_ID_PREFIX),
        operation=operation,
        object=schema.name,
        external_id_field=str(external_id) if external_id else None,
        column_delimiter=str(body.get("columnDelimiter", "COMMA")),
        line_ending=str(body.get("lineEnding", "LF")),
        api_version=request.api_version,
        created_by=request.org.identity.user.user_id,
    )
    with request.org.jobs_lock:
        request.org.ingest_jobs[job.id] = job
    return json_reply(200, job.info(detailed=False))


def _object_schema(request: ApiRequest, name: str) -> Any | None:
    try:
        return request.org.data.object_schema(name)
    except ApiError:
        return None


def upload_job_data(request: ApiRequest, job: IngestJob) -> Reply:
    # One upload per job, while it is Open: that is all simple-salesforce sends, and a second
    # PUT on a real org is refused as well.
    if job.state != "Open" or job.data is not None:
        return _bulk2_error(
            409, "INVALIDJOBSTATE", f"Job {job.id} is not open for uploads (state {job.state})"
        )
    job.data = request.body
    return empty_reply(201)


def change_ingest_state(request: ApiRequest, job: IngestJob) -> Reply:
    body = _json_object(request)
    if isinstance(body, Reply):
        return body
    wanted = body.get("state")
    if wanted == "Aborted":
        if job.state in TERMINAL_STATES:
            return _invalid_state_change(job, wanted)
        job.unprocessed_csv = job.data or b""
        job.touch("Aborted")
        return json_reply(200, job.info(detailed=False))
    if wanted != "UploadComplete" or job.state != "Open":
        return _invalid_state_change(job, str(wanted))
    job.touch("UploadComplete")
    answer = job.info(detailed=False)
    process_ingest_job(request, job)
    return json_reply(200, answer)


def _invalid_state_change(job: IngestJob | QueryJob, wanted: str | None) -> Reply:
    return _bulk2_error(
        400,
        "INVALIDJOBSTATE",
        f"InvalidJobState : Changing the state of job {job.id} from {job.state} to {wanted} "
        "is not allowed",
    )


def process_ingest_job(request: ApiRequest, job: IngestJob) -> None:
    """Run the uploaded CSV through the org's data; end JobComplete, or Failed with a message."""
    started = time.perf_counter()
    injected_failure = request.faults.take_bulk_failure() if request.faults else None
    if injected_failure:
        _fail_job(job, injected_failure)
        return
    if not job.data:
        _fail_job(job, "InvalidBatch : No data was uploaded for this job")
        return
    try:
        result = request.org.data.bulk_ingest(
            job.object,
            job.operation,
            job.data,
            external_id_field=job.external_id_field,
            column_delimiter=job.column_delimiter,
            line_ending=job.line_ending,
        )
    except ApiError as exc:
        _fail_job(job, exc.message)
        return
    job.successful_csv = _as_bytes(result.successful_csv)
    job.failed_csv = _as_bytes(result.failed_csv)
    job.unprocessed_csv = _as_bytes(result.unprocessed_csv)
    job.processed = result.processed
    job.failed = result.failed
    job.processing_ms = int((time.perf_counter() - started) * 1000)
    job.touch("JobComplete")


def _as_bytes(text: str | bytes) -> bytes:
    return text.encode("utf-8") if isinstance(text, str) else text


def _fail_job(job: IngestJob, message: str) -> None:
    job.error_message = message
    # Nothing was processed: every uploaded row is 'unprocessed', as on a real org.
    job.unprocessed_csv = job.data or b""
    job.touch("Failed")


def _csv_header_line(data: bytes | None) -> bytes:
    if not data:
        return b""
    return data.split(b"\n", 1)[0].rstrip(b"\r")


def ingest_results(job: IngestJob, which: str) -> Reply:
    """``successfulResults``, ``failedResults`` or ``unprocessedrecords`` (any letter case)."""
    if job.state not in ("JobComplete", "Failed", "Aborted"):
        return _bulk2_error(
            409, "INVALIDJOBSTATE", f"InvalidJobState : Job {job.id} has not finished processing"
        )
    header = _csv_header_line(job.data)
    if which == "successfulresults":
        body = job.successful_csv or _prefixed_header(b'"sf__Id","sf__Created"', header)
    elif which == "failedresults":
        body = job.failed_csv or _prefixed_header(b'"sf__Id","sf__Error"', header)
    elif which == "unprocessedrecords":
        body = job.unprocessed_csv or (header + b"\n" if header else b"")
    else:
        return not_found()
    return Reply(200, body, content_type=CSV_CONTENT_TYPE)


def _prefixed_header(prefix: bytes, header: bytes) -> bytes:
    return prefix + (b"," + header if header else b"") + b"\n"


def list_jobs(request: ApiRequest, jobs: dict[str, Any]) -> Reply:
    with request.org.jobs_lock:
        infos = [job.info(detailed=False) for job in jobs.values()]
    return json_reply(200, {"done": True, "records": infos, "nextRecordsUrl": None})


def delete_job(request: ApiRequest, jobs: dict[str, Any], job_id: str, state: str) -> Reply:
    if state not in TERMINAL_STATES and state != "UploadComplete":
        return _bulk2_error(
            400, "INVALIDJOBSTATE", "InvalidJobState : Only closed or aborted jobs can be deleted"
        )
    with request.org.jobs_lock:
        jobs.pop(job_id, None)
    return empty_reply(204)


# === Bulk API 2.0 query ===========================================================================


@dataclass
class QueryJob:
    """A Bulk 2.0 query job; its rows are computed when it is created."""

    id: str
    operation: str
    query: str
    column_delimiter: str
    line_ending: str
    api_version: str
    created_by: str
    header: list[str]
    rows: list[Any]
    created_date: str = field(default_factory=_now)
    system_modstamp: str = field(default_factory=_now)
    state: str = "UploadComplete"
    processing_ms: int = 0

    def info(self, *, detailed: bool) -> dict[str, Any]:
        info: dict[str, Any] = {
            "id": self.id,
            "operation": self.operation,
            "object": _query_object(self.query),
            "createdById": self.created_by,
            "createdDate": self.created_date,
            "systemModstamp": self.system_modstamp,
            "state": self.state,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(self.api_version),
            "jobType": "V2Query",
            "lineEnding": self.line_ending,
            "columnDelimiter": self.column_delimiter,
        }
        if detailed:
            info.update(
                {
                    "numberRecordsProcessed": len(self.rows),
                    "retries": 0,
                    "totalProcessingTime": self.processing_ms,
                    "isPkChunkingSupported": True,
                }
            )
        return info


def _query_object(soql: str) -> str:
    words = soql.split()
    lowered = [word.lower() for word in words]
    return words[lowered.index("from") + 1] if "from" in lowered[:-1] else ""


def _query_route(request: ApiRequest, rest: list[str]) -> Reply:
    if not rest:
        if request.method == "POST":
            return create_query_job(request)
        if request.method == "GET":
            return list_jobs(request, request.org.query_jobs)
        return method_not_allowed(request.method)
    job = _find_job(request.org.query_jobs, request, rest[0])
    if job is None:
        return _bulk2_error(404, "NOT_FOUND", "The requested resource does not exist")
    if len(rest) == 2 and rest[1] == "results" and request.method == "GET":
        return query_results_page(request, job)
    if len(rest) != 1:
        return not_found()
    if request.method == "GET":
        job.state = "JobComplete"
        return json_reply(200, job.info(detailed=True))
    if request.method == "PATCH":
        body = _json_object(request)
        if isinstance(body, Reply):
            return body
        if body.get("state") != "Aborted" or job.state in TERMINAL_STATES:
            return _invalid_state_change(job, body.get("state"))
        job.state = "Aborted"
        return json_reply(200, job.info(detailed=False))
    if request.method == "DELETE":
        return delete_job(request, request.org.query_jobs, job.id, job.state)
    return method_not_allowed(request.method)


def create_query_job(request: ApiRequest) -> Reply:
    body = _json_object(request)
    if isinstance(body, Reply):
        return body
    operation = str(body.get("operation", "query"))
    soql = str(body.get("query", ""))
    if operation not in QUERY_OPERATIONS:
        return _bulk2_error(400, "INVALIDJOB", f"InvalidJob : Invalid operation: {operation}")
    problem = _format_problem(body)
    if problem:
        return _bulk2_error(400, "INVALIDJOB", f"InvalidJob : {problem}")
    started = time.perf_counter()
    header, rows = request.org.data.bulk_query(soql, include_deleted=operation == "queryAll")
    job = QueryJob(
        id=request.org.ids.mint(JOB_ID_PREFIX),
        operation=operation,
        query=soql,
        column_delimiter=str(body.get("columnDelimiter", "COMMA")),
        line_ending=str(body.get("lineEnding", "LF")),
        api_version=request.api_version,
        created_by=request.org.identity.user.user_id,
        header=list(header),
        rows=list(rows),
        processing_ms=int((time.perf_counter() - started) * 1000),
    )
    with request.org.jobs_lock:
        request.org.query_jobs[job.id] = job
    return json_reply(200, job.info(detailed=False))


def _encode_locator(offset: int) -> str:
    # Real locators are base64 of the next offset (e.g. 'MTAwMDA' for 10000); mimic that.
    return base64.b64encode(str(offset).encode()).decode().rstrip("=")


def _decode_locator(locator: str) -> int | None:
    try:
        padded = locator + "=" * (-len(locator) % 4)
        return int(base64.b64decode(padded).decode())
    except ValueError:
        return None


def query_results_page(request: ApiRequest, job: QueryJob) -> Reply:
    """One CSV page (with its own header) plus ``Sforce-NumberOfRecords`` / ``Sforce-Locator``."""
    if job.state == "Aborted":
        return _bulk2_error(400, "INVALIDJOBSTATE", f"InvalidJobState : Job {job.id} was aborted")
    locator = request.query.get("locator")
    offset = _decode_locator(locator) if locator else 0
    if offset is None or offset < 0:
        return _bulk2_error(400, "INVALIDLOCATOR", f"Invalid locator: {locator}")
    max_records_text = request.query.get("maxRecords", "")
    max_records = int(max_records_text) if max_records_text.isdigit() else DEFAULT_QUERY_PAGE
    page = job.rows[offset : offset + max(max_records, 1)]
    next_offset = offset + len(page)
    body = _rows_to_csv(job, page)
    headers = {
        "Sforce-NumberOfRecords": str(len(page)),
        "Sforce-Locator": _encode_locator(next_offset) if next_offset < len(job.rows) else "null",
    }
    return Reply(200, body, content_type=CSV_CONTENT_TYPE, headers=headers)


def _rows_to_csv(job: QueryJob, rows: list[Any]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(
        buffer,
        delimiter=COLUMN_DELIMITERS[job.column_delimiter],
        lineterminator=LINE_ENDINGS[job.line_ending],
        quoting=csv.QUOTE_ALL,
    )
    writer.writerow(job.header)
    writer.writerows(rows)
    return buffer.getvalue().encode()


# === Bulk API 1.0 =================================================================================


@dataclass
class Bulk1Batch:
    id: str
    job_id: str
    request_records: Any
    results: list[Any]
    query_records: list[dict[str, Any]] | None = None
    result_id: str | None = None
    state: str = "Completed"
    state_message: str | None = None
    created_date: str = field(default_factory=_now)
    polled: bool = False

    def info(self) -> dict[str, Any]:
        failed = sum(1 for result in self.results if not result.get("success", True))
        processed = len(self.query_records) if self.query_records is not None else len(self.results)
        return {
            "apexProcessingTime": 0,
            "apiActiveProcessingTime": 0,
            "createdDate": self.created_date,
            "id": self.id,
            "jobId": self.job_id,
            "numberRecordsFailed": failed,
            "numberRecordsProcessed": processed,
            "state": self.state if self.polled else "Queued",
            "stateMessage": self.state_message,
            "systemModstamp": self.created_date,
            "totalProcessingTime": 0,
        }


@dataclass
class Bulk1Job:
    id: str
    operation: str
    object: str
    external_id_field: str | None
    concurrency_mode: str
    api_version: str
    created_by: str
    state: str = "Open"
    created_date: str = field(default_factory=_now)
    batches: dict[str, Bulk1Batch] = field(default_factory=dict)

    def info(self) -> dict[str, Any]:
        batches = list(self.batches.values())
        return {
            "apexProcessingTime": 0,
            "apiActiveProcessingTime": 0,
            "apiVersion": float(self.api_version),
            "assignmentRuleId": None,
            "concurrencyMode": self.concurrency_mode,
            "contentType": "JSON",
            "createdById": self.created_by,
            "createdDate": self.created_date,
            "externalIdFieldName": self.external_id_field,
            "fastPathEnabled": False,
            "id": self.id,
            "numberBatchesCompleted": sum(1 for b in batches if b.state == "Completed"),
            "numberBatchesFailed": sum(1 for b in batches if b.state == "Failed"),
            "numberBatchesInProgress": 0,
            "numberBatchesQueued": 0,
            "numberBatchesTotal": len(batches),
            "numberRecordsFailed": sum(b.info()["numberRecordsFailed"] for b in batches),
            "numberRecordsProcessed": sum(b.info()["numberRecordsProcessed"] for b in batches),
            "numberRetries": 0,
            "object": self.object,
            "operation": self.operation,
            "state": self.state,
            "systemModstamp": self.created_date,
            "totalProcessingTime": 0,
        }


def bulk1_error(status: int, code: str, message: str) -> Reply:
    """Bulk 1.0 errors are one object, not the REST array."""
    return json_reply(status, {"exceptionCode": code, "exceptionMessage": message})


def bulk1_route(request: ApiRequest) -> Reply:
    """Paths below ``/services/async/XX.X/``: job, job/{id}, batches, results, requests."""
    segments = request.segments
    if not segments or segments[0] != "job":
        return bulk1_error(400, "InvalidUrl", "unknown resource")
    if len(segments) == 1:
        return create_bulk1_job(request) if request.method == "POST" else _bulk1_bad_method()
    with request.org.jobs_lock:
        job = request.org.bulk1_jobs.get(segments[1])
    if job is None:
        return bulk1_error(400, "InvalidJob", f"Invalid job id: {segments[1]}")
    if len(segments) == 2:
        return _bulk1_job_action(request, job)
    if segments[2] != "batch":
        return bulk1_error(400, "InvalidUrl", "unknown resource")
    if len(segments) == 3:
        return _bulk1_batches(request, job)
    batch = job.batches.get(segments[3])
    if batch is None:
        return bulk1_error(400, "InvalidBatch", f"Invalid batch id: {segments[3]}")
    return _bulk1_batch_resource(request, batch, segments[4:])


def _bulk1_bad_method() -> Reply:
    return bulk1_error(405, "MethodNotAllowed", "HTTP method not allowed")


def create_bulk1_job(request: ApiRequest) -> Reply:
    try:
        body = request.json_body()
    except ValueError as exc:
        return bulk1_error(400, "InvalidJob", str(exc))
    if not isinstance(body, dict):
        return bulk1_error(400, "InvalidJob", "Expected a JobInfo object")
    operation = str(body.get("operation", ""))
    if operation not in (*INGEST_OPERATIONS, *QUERY_OPERATIONS):
        return bulk1_error(400, "InvalidJob", f"Invalid operation: {operation}")
    if str(body.get("contentType", "JSON")).upper() != "JSON":
        return bulk1_error(400, "InvalidJob", "The emulator's Bulk API 1.0 speaks JSON only")
    schema = _object_schema(request, str(body.get("object", "")))
    if schema is None:
        return bulk1_error(400, "InvalidJob", f"Unable to find object: {body.get('object')}")
    external_id = body.get("externalIdFieldName")
    if operation == "upsert" and not external_id:
        return bulk1_error(400, "InvalidJob", "External ID was blank for upsert operation")
    job = Bulk1Job(
        id=request.org.ids.mint(JOB_ID_PREFIX),
        operation=operation,
        object=schema.name,
        external_id_field=str(external_id) if external_id else None,
        concurrency_mode=_concurrency_mode(body.get("concurrencyMode")),
        api_version=request.api_version,
        created_by=request.org.identity.user.user_id,
    )
    with request.org.jobs_lock:
        request.org.bulk1_jobs[job.id] = job
    return json_reply(201, job.info())


def _concurrency_mode(value: Any) -> str:
    # simple-salesforce sends 1 (serial) or 0 (parallel) instead of the documented strings.
    if value in (1, "1", "Serial"):
        return "Serial"
    return "Parallel"


def _bulk1_job_action(request: ApiRequest, job: Bulk1Job) -> Reply:
    if request.method == "GET":
        return json_reply(200, job.info())
    if request.method != "POST":
        return _bulk1_bad_method()
    try:
        body = request.json_body()
    except ValueError as exc:
        return bulk1_error(400, "InvalidJob", str(exc))
    wanted = body.get("state") if isinstance(body, dict) else None
    if wanted not in ("Closed", "Aborted") or job.state != "Open":
        return bulk1_error(400, "InvalidJobState", f"Cannot change state to {wanted}")
    job.state = str(wanted)
    return json_reply(200, job.info())


def _bulk1_batches(request: ApiRequest, job: Bulk1Job) -> Reply:
    if request.method == "GET":
        return json_reply(200, {"batchInfo": [batch.info() for batch in job.batches.values()]})
    if request.method != "POST":
        return _bulk1_bad_method()
    if job.state != "Open":
        return bulk1_error(400, "InvalidJobState", f"Job {job.id} is {job.state}")
    batch = _process_bulk1_batch(request, job)
    job.batches[batch.id] = batch
    return json_reply(201, batch.info())


def _process_bulk1_batch(request: ApiRequest, job: Bulk1Job) -> Bulk1Batch:
    batch_id = request.org.ids.mint(BATCH_ID_PREFIX)
    if job.operation in QUERY_OPERATIONS:
        soql = request.body.decode("utf-8")
        try:
            result = request.org.data.query(soql, include_deleted=job.operation == "queryAll")
        except ApiError as exc:
            return Bulk1Batch(
                batch_id, job.id, soql, [], [], state="Failed", state_message=exc.message
            )
        return Bulk1Batch(
            batch_id,
            job.id,
            soql,
            [],
            query_records=list(result.records),
            result_id=request.org.ids.mint(RESULT_ID_PREFIX),
        )
    try:
        records = json.loads(request.body or b"[]")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return Bulk1Batch(batch_id, job.id, [], [], state="Failed", state_message=str(exc))
    if not isinstance(records, list):
        message = "InvalidBatch : Records must be a JSON array"
        return Bulk1Batch(batch_id, job.id, records, [], state="Failed", state_message=message)
    results = request.org.data.bulk1_process(
        job.operation, job.object, records, external_id_field=job.external_id_field
    )
    return Bulk1Batch(batch_id, job.id, records, list(results))


def _bulk1_batch_resource(request: ApiRequest, batch: Bulk1Batch, rest: list[str]) -> Reply:
    if request.method != "GET":
        return _bulk1_bad_method()
    if not rest:
        # Batches are processed when added; the first poll already reports the final state.
        batch.polled = True
        return json_reply(200, batch.info())
    if rest == ["request"]:
        return json_reply(200, batch.request_records)
    if rest == ["result"]:
        if batch.query_records is not None:
            return json_reply(200, [batch.result_id] if batch.result_id else [])
        return json_reply(200, batch.results)
    if len(rest) == 2 and rest[0] == "result" and rest[1] == batch.result_id:
        return json_reply(200, batch.query_records or [])
    return bulk1_error(400, "InvalidUrl", "unknown resource")

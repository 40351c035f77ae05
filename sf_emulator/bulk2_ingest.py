"""Bulk API 2.0 ingest jobs (``jobs/ingest``): create, upload CSV, close, results, abort, delete.

A job is processed while its ``UploadComplete`` PATCH is answered (see ``bulk_api``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from sf_emulator.bulk_jobs import (
    INGEST_OPERATIONS,
    JOB_ID_PREFIX,
    TERMINAL_STATES,
    bulk2_error,
    delete_job,
    find_job,
    format_problem,
    invalid_state_change,
    job_timestamp,
    json_object,
    list_jobs,
    object_schema,
)
from sf_emulator.http_types import (
    CSV_CONTENT_TYPE,
    ApiRequest,
    Reply,
    empty_reply,
    json_reply,
    method_not_allowed,
    not_found,
)
from sf_emulator.results import ApiError


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
    created_date: str = field(default_factory=job_timestamp)
    system_modstamp: str = field(default_factory=job_timestamp)
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
        self.system_modstamp = job_timestamp()


def ingest_route(request: ApiRequest, rest: list[str]) -> Reply:
    if not rest:
        if request.method == "POST":
            return create_ingest_job(request)
        if request.method == "GET":
            return list_jobs(request, request.org.ingest_jobs)
        return method_not_allowed(request.method)
    job = find_job(request.org.ingest_jobs, request, rest[0])
    if job is None:
        return bulk2_error(404, "NOT_FOUND", "The requested resource does not exist")
    if len(rest) == 1:
        return _ingest_job_action(request, job)
    if len(rest) == 2 and rest[1] == "batches" and request.method == "PUT":
        return upload_job_data(request, job)
    if len(rest) == 2 and request.method == "GET":
        return ingest_results(job, rest[1].lower())
    return not_found()


def _ingest_job_action(request: ApiRequest, job: IngestJob) -> Reply:
    if request.method == "GET":
        return json_reply(200, job.info(detailed=True))
    if request.method == "PATCH":
        return change_ingest_state(request, job)
    if request.method == "DELETE":
        return delete_job(request, request.org.ingest_jobs, job.id, job.state)
    return method_not_allowed(request.method)


def create_ingest_job(request: ApiRequest) -> Reply:
    body = json_object(request)
    if isinstance(body, Reply):
        return body
    operation = str(body.get("operation", ""))
    if operation not in INGEST_OPERATIONS:
        return bulk2_error(400, "INVALIDJOB", f"InvalidJob : Invalid operation: {operation}")
    object_name = str(body.get("object", ""))
    schema = object_schema(request, object_name)
    if schema is None:
        return bulk2_error(
            400, "INVALIDENTITY", f"InvalidEntity : Entity '{object_name}' is not supported."
        )
    external_id = body.get("externalIdFieldName")
    if operation == "upsert" and not external_id:
        return bulk2_error(
            400, "INVALIDJOB", "InvalidJob : External ID was blank for upsert operation"
        )
    problem = format_problem(body)
    if problem:
        return bulk2_error(400, "INVALIDJOB", f"InvalidJob : {problem}")
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


def upload_job_data(request: ApiRequest, job: IngestJob) -> Reply:
    # One upload per job, while it is Open: that is all simple-salesforce sends, and a second
    # PUT on a real org is refused as well.
    if job.state != "Open" or job.data is not None:
        return bulk2_error(
            409, "INVALIDJOBSTATE", f"Job {job.id} is not open for uploads (state {job.state})"
        )
    job.data = request.body
    return empty_reply(201)


def change_ingest_state(request: ApiRequest, job: IngestJob) -> Reply:
    body = json_object(request)
    if isinstance(body, Reply):
        return body
    wanted = body.get("state")
    if wanted == "Aborted":
        if job.state in TERMINAL_STATES:
            return invalid_state_change(job, wanted)
        job.unprocessed_csv = job.data or b""
        job.touch("Aborted")
        return json_reply(200, job.info(detailed=False))
    if wanted != "UploadComplete" or job.state != "Open":
        return invalid_state_change(job, str(wanted))
    job.touch("UploadComplete")
    answer = job.info(detailed=False)
    if request.faults is not None and request.faults.take_bulk_hold():
        return json_reply(200, answer)  # queued until aborted (fault injection)
    process_ingest_job(request, job)
    return json_reply(200, answer)


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
        return bulk2_error(
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

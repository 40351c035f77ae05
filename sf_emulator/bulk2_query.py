"""Bulk API 2.0 query jobs (``jobs/query``): create (the query runs at once), results pages by
locator, abort, delete."""

from __future__ import annotations

import base64
import csv
import io
import time
from dataclasses import dataclass, field
from typing import Any

from sf_emulator.bulk_jobs import (
    COLUMN_DELIMITERS,
    DEFAULT_QUERY_PAGE,
    JOB_ID_PREFIX,
    LINE_ENDINGS,
    QUERY_OPERATIONS,
    TERMINAL_STATES,
    bulk2_error,
    delete_job,
    find_job,
    format_problem,
    invalid_state_change,
    job_timestamp,
    json_object,
    list_jobs,
)
from sf_emulator.http_types import (
    CSV_CONTENT_TYPE,
    ApiRequest,
    Reply,
    json_reply,
    method_not_allowed,
    not_found,
)


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
    created_date: str = field(default_factory=job_timestamp)
    system_modstamp: str = field(default_factory=job_timestamp)
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


def query_route(request: ApiRequest, rest: list[str]) -> Reply:
    if not rest:
        if request.method == "POST":
            return create_query_job(request)
        if request.method == "GET":
            return list_jobs(request, request.org.query_jobs)
        return method_not_allowed(request.method)
    job = find_job(request.org.query_jobs, request, rest[0])
    if job is None:
        return bulk2_error(404, "NOT_FOUND", "The requested resource does not exist")
    if len(rest) == 2 and rest[1] == "results" and request.method == "GET":
        return query_results_page(request, job)
    if len(rest) != 1:
        return not_found()
    if request.method == "GET":
        job.state = "JobComplete"
        return json_reply(200, job.info(detailed=True))
    if request.method == "PATCH":
        body = json_object(request)
        if isinstance(body, Reply):
            return body
        if body.get("state") != "Aborted" or job.state in TERMINAL_STATES:
            return invalid_state_change(job, body.get("state"))
        job.state = "Aborted"
        return json_reply(200, job.info(detailed=False))
    if request.method == "DELETE":
        return delete_job(request, request.org.query_jobs, job.id, job.state)
    return method_not_allowed(request.method)


def create_query_job(request: ApiRequest) -> Reply:
    body = json_object(request)
    if isinstance(body, Reply):
        return body
    operation = str(body.get("operation", "query"))
    soql = str(body.get("query", ""))
    if operation not in QUERY_OPERATIONS:
        return bulk2_error(400, "INVALIDJOB", f"InvalidJob : Invalid operation: {operation}")
    problem = format_problem(body)
    if problem:
        return bulk2_error(400, "INVALIDJOB", f"InvalidJob : {problem}")
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
        return bulk2_error(400, "INVALIDJOBSTATE", f"InvalidJobState : Job {job.id} was aborted")
    locator = request.query.get("locator")
    offset = _decode_locator(locator) if locator else 0
    if offset is None or offset < 0:
        return bulk2_error(400, "INVALIDLOCATOR", f"Invalid locator: {locator}")
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

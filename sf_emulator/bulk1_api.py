"""Bulk API 1.0 (``/services/async/XX.X/...``): enough of it for Airflow's SalesforceBulkOperator.

A batch is processed when it is added (see ``bulk_api``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sf_emulator.bulk_jobs import (
    BATCH_ID_PREFIX,
    INGEST_OPERATIONS,
    JOB_ID_PREFIX,
    QUERY_OPERATIONS,
    RESULT_ID_PREFIX,
    job_timestamp,
    object_schema,
)
from sf_emulator.http_types import (
    ApiRequest,
    Reply,
    json_reply,
)
from sf_emulator.results import ApiError


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
    created_date: str = field(default_factory=job_timestamp)
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
    created_date: str = field(default_factory=job_timestamp)
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
    schema = object_schema(request, str(body.get("object", "")))
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

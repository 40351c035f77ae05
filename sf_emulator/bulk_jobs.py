"""What Bulk API 2.0 ingest and query jobs (and Bulk API 1.0) share: limits, formats, job look-up,
request parsing and the error answers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sf_emulator.http_types import (
    ApiRequest,
    Reply,
    empty_reply,
    error_reply,
    json_reply,
)
from sf_emulator.results import ApiError

if TYPE_CHECKING:
    from sf_emulator.bulk2_ingest import IngestJob
    from sf_emulator.bulk2_query import QueryJob

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


def job_timestamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def bulk2_error(status: int, code: str, message: str) -> Reply:
    return error_reply(status, code, message)


def find_job(jobs: dict[str, Any], request: ApiRequest, job_id: str) -> Any | None:
    with request.org.jobs_lock:
        return jobs.get(job_id) or jobs.get(job_id[:15] + job_id[15:].upper())


def json_object(request: ApiRequest) -> dict[str, Any] | Reply:
    try:
        body = request.json_body()
    except ValueError as exc:
        return bulk2_error(400, "JSON_PARSER_ERROR", str(exc))
    if not isinstance(body, dict):
        return bulk2_error(400, "JSON_PARSER_ERROR", "Expected a JSON object")
    return body


def format_problem(body: dict[str, Any]) -> str | None:
    if str(body.get("columnDelimiter", "COMMA")) not in COLUMN_DELIMITERS:
        return f"Invalid column delimiter: {body.get('columnDelimiter')}"
    if str(body.get("lineEnding", "LF")) not in LINE_ENDINGS:
        return f"Invalid line ending: {body.get('lineEnding')}"
    if str(body.get("contentType", "CSV")) != "CSV":
        return f"Invalid content type: {body.get('contentType')}"
    return None


def object_schema(request: ApiRequest, name: str) -> Any | None:
    try:
        return request.org.data.object_schema(name)
    except ApiError:
        return None


def invalid_state_change(job: IngestJob | QueryJob, wanted: str | None) -> Reply:
    return bulk2_error(
        400,
        "INVALIDJOBSTATE",
        f"InvalidJobState : Changing the state of job {job.id} from {job.state} to {wanted} "
        "is not allowed",
    )


def list_jobs(request: ApiRequest, jobs: dict[str, Any]) -> Reply:
    with request.org.jobs_lock:
        infos = [job.info(detailed=False) for job in jobs.values()]
    return json_reply(200, {"done": True, "records": infos, "nextRecordsUrl": None})


def delete_job(request: ApiRequest, jobs: dict[str, Any], job_id: str, state: str) -> Reply:
    if state not in TERMINAL_STATES and state != "UploadComplete":
        return bulk2_error(
            400, "INVALIDJOBSTATE", "InvalidJobState : Only closed or aborted jobs can be deleted"
        )
    with request.org.jobs_lock:
        jobs.pop(job_id, None)
    return empty_reply(204)

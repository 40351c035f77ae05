"""REST routes under ``/services/data/vXX.X/``: describe, sObject rows, query, sObject Collections.

``resolve`` maps a request to an API-call kind (for accounting) and a handler; handlers take an
:class:`ApiRequest` and return a :class:`Reply`. Data-side :class:`ApiError` exceptions are rendered
by the server, so handlers only deal with the happy path and request-shape problems.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sf_emulator import rest_meta
from sf_emulator.http_types import (
    ApiRequest,
    Reply,
    empty_reply,
    error_reply,
    json_parse_error,
    json_reply,
    method_not_allowed,
    not_found,
)
from sf_emulator.runtime import QueryCursor

Handler = Callable[[ApiRequest], Reply]

MAX_SOQL_LENGTH = 100_000
DEFAULT_QUERY_BATCH = 2000
MIN_QUERY_BATCH = 200
MAX_COLLECTION_RECORDS = 200
QUERY_LOCATOR_PREFIX = "01g"
_SEASONS = ("Winter", "Spring", "Summer")
_OLDEST_LISTED_VERSION = 31
_NEWEST_LISTED_VERSION = 64


def resolve(method: str, segments: list[str]) -> tuple[str, Handler]:
    """The accounting kind and handler for a path below ``/services/data/vXX.X/``."""
    head = segments[0] if segments else ""
    if not segments:
        return "rest", resources
    if head == "limits" and len(segments) == 1:
        return "rest", rest_meta.limits
    if head == "sobjects":
        return _resolve_sobjects(method, segments)
    if head in ("query", "queryAll"):
        return "query", query_route
    if segments[:2] == ["composite", "sobjects"]:
        return "composite", composite_sobjects
    return "rest", lambda request: not_found()


def _resolve_sobjects(method: str, segments: list[str]) -> tuple[str, Handler]:
    if len(segments) == 1:
        return "describe", global_describe
    if len(segments) == 2:
        return ("rest", create_record) if method == "POST" else ("describe", object_metadata)
    if len(segments) == 3 and segments[2] == "describe":
        return "describe", describe_object
    if len(segments) == 3:
        return "rest", record_by_id
    if len(segments) == 4:
        return "rest", record_by_external_id
    return "rest", lambda request: not_found()


# --- versions, resources, limits ---------------------------------------------------------------


def versions_list() -> list[dict[str, str]]:
    """``GET /services/data/``: every API version the emulator answers to."""
    return [
        {
            "label": f"{_SEASONS[(v - 59) % 3]} '{24 + (v - 59) // 3}",
            "url": f"/services/data/v{v}.0",
            "version": f"{v}.0",
        }
        for v in range(_OLDEST_LISTED_VERSION, _NEWEST_LISTED_VERSION + 1)
    ]


def resources(request: ApiRequest) -> Reply:
    base = f"/services/data/v{request.api_version}"
    names = ["sobjects", "query", "queryAll", "limits", "composite", "jobs/ingest", "jobs/query"]
    return json_reply(200, {name: f"{base}/{name}" for name in names})


# --- describe ----------------------------------------------------------------------------------


def _schema(request: ApiRequest, name: str) -> Any | None:
    """The object's schema (any letter case), or None when the org has no such object."""
    schemas = request.org.data.schemas
    found = schemas.get(name)
    if found is None:
        found = next((s for key, s in schemas.items() if key.lower() == name.lower()), None)
    return found


def global_describe(request: ApiRequest) -> Reply:
    if request.method != "GET":
        return method_not_allowed(request.method)
    schemas = request.org.data.schemas
    return json_reply(
        200,
        {
            "encoding": "UTF-8",
            "maxBatchSize": 200,
            "sobjects": [
                schemas[name].global_entry(request.api_version) for name in sorted(schemas)
            ],
        },
    )


def object_metadata(request: ApiRequest) -> Reply:
    schema = _schema(request, request.segments[1])
    if schema is None:
        return not_found()
    if request.method != "GET":
        return method_not_allowed(request.method)
    entry = schema.global_entry(request.api_version)
    return json_reply(200, {"objectDescribe": entry, "recentItems": []})


def describe_object(request: ApiRequest) -> Reply:
    schema = _schema(request, request.segments[1])
    if schema is None:
        return not_found()
    described = schema.describe(request.api_version)
    access = request.org.field_access
    if access:
        # Field-level security of the integration user: hidden fields are absent from describe,
        # read-only ones report createable/updateable false, as Salesforce's describe does.
        fields = []
        for entry in described["fields"]:
            level = access.get(f"{schema.name}.{entry['name']}".lower())
            if level == "none":
                continue
            read_only = {"createable": False, "updateable": False} if level == "read" else {}
            fields.append({**entry, **read_only})
        described["fields"] = fields
    return json_reply(200, described)


# --- single records ----------------------------------------------------------------------------


def _record_fields(request: ApiRequest) -> dict[str, Any] | Reply:
    """The JSON object body of a create/update, or an error reply."""
    try:
        body = request.json_body()
    except ValueError as exc:
        return json_parse_error(str(exc))
    if not isinstance(body, dict):
        return json_parse_error("Can not deserialize SObject out of START_ARRAY token")
    return {key: value for key, value in body.items() if key != "attributes"}


def _failed_save(result: Any) -> Reply | None:
    """A 400 with the REST error array when a SaveResult reports failure, else None."""
    if getattr(result, "success", True):
        return None
    errors = result.to_json().get("errors", [])
    return json_reply(
        400,
        [
            {
                "message": error.get("message", ""),
                "errorCode": error.get("statusCode", "UNKNOWN_EXCEPTION"),
                "fields": error.get("fields", []),
            }
            for error in errors
        ],
    )


def create_record(request: ApiRequest) -> Reply:
    fields = _record_fields(request)
    if isinstance(fields, Reply):
        return fields
    result = request.org.data.create(request.segments[1], fields)
    return _failed_save(result) or json_reply(201, result.to_json())


def record_by_id(request: ApiRequest) -> Reply:
    object_name, record_id = request.segments[1], request.segments[2]
    data = request.org.data
    if request.method == "GET":
        wanted = request.query.get("fields")
        names = [name.strip() for name in wanted.split(",")] if wanted else None
        return json_reply(200, data.get(object_name, record_id, names, request.api_version))
    if request.method == "PATCH":
        fields = _record_fields(request)
        if isinstance(fields, Reply):
            return fields
        result = data.update(object_name, record_id, fields)
        return _failed_save(result) or empty_reply(204)
    if request.method == "DELETE":
        result = data.delete(object_name, record_id)
        return _failed_save(result) or empty_reply(204)
    return method_not_allowed(request.method)


def record_by_external_id(request: ApiRequest) -> Reply:
    """``/sobjects/{O}/{Field}/{value}``: GET by external id, or PATCH to upsert."""
    object_name, field_name, value = request.segments[1], request.segments[2], request.segments[3]
    data = request.org.data
    if request.method == "PATCH":
        fields = _record_fields(request)
        if isinstance(fields, Reply):
            return fields
        result = data.upsert(object_name, field_name, value, fields)
        failed = _failed_save(result)
        if failed:
            return failed
        created = bool(result.to_json(include_created=True).get("created"))
        return json_reply(201 if created else 200, result.to_json(include_created=True))
    if request.method == "GET":
        escaped = value.replace("\\", "\\\\").replace("'", "\\'")
        found = data.query(f"SELECT Id FROM {object_name} WHERE {field_name} = '{escaped}'")
        if not found.records:
            return not_found()
        if len(found.records) > 1:
            return json_reply(300, [record["attributes"]["url"] for record in found.records])
        return json_reply(
            200, data.get(object_name, found.records[0]["Id"], api_version=request.api_version)
        )
    return method_not_allowed(request.method)


# --- query -------------------------------------------------------------------------------------


def query_route(request: ApiRequest) -> Reply:
    if request.method != "GET":
        return method_not_allowed(request.method)
    include_deleted = request.segments[0] == "queryAll"
    if len(request.segments) == 1 or request.segments[1] == "":
        return start_query(request, include_deleted)
    if len(request.segments) == 2:
        return query_more(request, request.segments[1])
    return not_found()


def query_batch_size(request: ApiRequest) -> int:
    """``Sforce-Query-Options: batchSize=N`` clamped to Salesforce's 200..2000 range."""
    options = request.headers.get("Sforce-Query-Options", "")
    for option in options.split(","):
        key, _, value = option.strip().partition("=")
        if key.strip().lower() == "batchsize" and value.strip().isdigit():
            return min(max(int(value), MIN_QUERY_BATCH), DEFAULT_QUERY_BATCH)
    return DEFAULT_QUERY_BATCH


def start_query(request: ApiRequest, include_deleted: bool) -> Reply:
    soql = request.query.get("q")
    if not soql:
        return error_reply(400, "MALFORMED_QUERY", "A query string has to be specified")
    if len(soql) > MAX_SOQL_LENGTH:
        return error_reply(
            400,
            "MALFORMED_QUERY",
            f"Query string is too long ({len(soql)}). Maximum length is {MAX_SOQL_LENGTH}.",
        )
    if request.query.get("columns", "").lower() == "true":
        return json_reply(200, rest_meta.column_metadata(request, soql))
    result = request.org.data.query(
        soql, include_deleted=include_deleted, api_version=request.api_version
    )
    cursor = QueryCursor(list(result.records), result.total_size, query_batch_size(request))
    locator = request.org.ids.mint(QUERY_LOCATOR_PREFIX)
    return _query_page(request, locator, cursor, 0)


def query_more(request: ApiRequest, locator_and_offset: str) -> Reply:
    locator, _, offset_text = locator_and_offset.rpartition("-")
    cursor = request.org.cursors.get(locator) if locator else None
    if cursor is None or not offset_text.isdigit():
        return error_reply(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
    return _query_page(request, locator, cursor, int(offset_text))


def _query_page(request: ApiRequest, locator: str, cursor: QueryCursor, offset: int) -> Reply:
    end = offset + cursor.batch_size
    page: dict[str, Any] = {
        "totalSize": cursor.total_size,
        "done": end >= len(cursor.records),
        "records": cursor.records[offset:end],
    }
    if end < len(cursor.records):
        request.org.cursors.open(locator, cursor)
        page["nextRecordsUrl"] = f"/services/data/v{request.api_version}/query/{locator}-{end}"
    else:
        request.org.cursors.close(locator)
    return json_reply(200, page)


# --- sObject Collections -------------------------------------------------------------------------


def composite_sobjects(request: ApiRequest) -> Reply:
    """``composite/sobjects`` POST (create), PATCH (update), DELETE (?ids=), and PATCH upsert."""
    extra = request.segments[2:]
    if request.method == "DELETE" and not extra:
        return _collection_delete(request)
    if request.method == "PATCH" and len(extra) == 2:
        return _collection_save(request, "upsert", object_name=extra[0], ext_field=extra[1])
    if request.method == "POST" and not extra:
        return _collection_save(request, "create")
    if request.method == "PATCH" and not extra:
        return _collection_save(request, "update")
    return method_not_allowed(request.method) if not extra else not_found()


def _too_many_records() -> Reply:
    return error_reply(
        400,
        "EXCEEDED_ID_LIMIT",
        f"record limit reached. cannot submit more than {MAX_COLLECTION_RECORDS} records "
        "into this call",
    )


def _collection_save(
    request: ApiRequest,
    operation: str,
    object_name: str | None = None,
    ext_field: str | None = None,
) -> Reply:
    try:
        body = request.json_body()
    except ValueError as exc:
        return json_parse_error(str(exc))
    records = body.get("records") if isinstance(body, dict) else None
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        return json_parse_error("Expected a 'records' array of sObjects")
    if len(records) > MAX_COLLECTION_RECORDS:
        return _too_many_records()
    results = request.org.data.save_many(
        operation,
        object_name,
        records,
        all_or_none=bool(body.get("allOrNone", False)),
        ext_field=ext_field,
    )
    include_created = operation == "upsert"
    return json_reply(200, [result.to_json(include_created=include_created) for result in results])


def _collection_delete(request: ApiRequest) -> Reply:
    ids = [part for part in request.query.get("ids", "").split(",") if part]
    if not ids:
        return error_reply(400, "MALFORMED_ID", "ids parameter is required")
    if len(ids) > MAX_COLLECTION_RECORDS:
        return _too_many_records()
    all_or_none = request.query.get("allOrNone", "false").lower() == "true"
    records = [{"Id": record_id} for record_id in ids]
    results = request.org.data.save_many("delete", None, records, all_or_none=all_or_none)
    return json_reply(200, [result.to_json() for result in results])

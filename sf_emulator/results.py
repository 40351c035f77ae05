"""What the org's operations answer: per-record results and errors, and request-level errors.

``OrgData`` returns ``SaveResult`` / ``RecordError`` values for per-record outcomes and raises
``ApiError`` for request-level ones; the server turns both into responses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sf_emulator.model import FieldSchema

ROLLED_BACK_MESSAGE = (
    "Record rolled back because not all records were valid and the request was using AllOrNone "
    "header"
)


@dataclass(slots=True)
class RecordError:
    status_code: str
    message: str
    fields: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"statusCode": self.status_code, "message": self.message, "fields": self.fields}

    def csv_text(self) -> str:
        """The Bulk results form: ``CODE:message:field1,field2 --``."""
        return f"{self.status_code}:{self.message}:{','.join(self.fields)} --"


@dataclass(slots=True)
class SaveResult:
    id: str | None
    success: bool
    errors: list[RecordError] = field(default_factory=list)
    created: bool = False

    def to_json(self, include_created: bool = False) -> dict[str, Any]:
        result: dict[str, Any] = {
            "id": self.id,
            "success": self.success,
            "errors": [e.to_json() for e in self.errors],
        }
        if include_created:
            result["created"] = self.created
        return result


def failure(*errors: RecordError, record_id: str | None = None) -> SaveResult:
    return SaveResult(id=record_id, success=False, errors=list(errors))


class ApiError(Exception):
    """A request-level error: the server answers ``http_status`` with
    ``[{"message", "errorCode"[, "fields"]}]`` (or, for 300, the ``payload`` list of URLs)."""

    def __init__(
        self,
        http_status: int,
        error_code: str,
        message: str,
        fields: list[str] | None = None,
        payload: Any = None,
    ) -> None:
        super().__init__(f"{error_code}: {message}")
        self.http_status = http_status
        self.error_code = error_code
        self.message = message
        self.fields = fields or []
        self.payload = payload

    def to_json(self) -> list[dict[str, Any]]:
        body: dict[str, Any] = {"message": self.message, "errorCode": self.error_code}
        if self.fields:
            body["fields"] = self.fields
        return [body]


@dataclass
class QueryResult:
    records: list[dict[str, Any]]
    total_size: int
    columns: list[str]


@dataclass
class IngestResult:
    successful_csv: str
    failed_csv: str
    unprocessed_csv: str
    processed: int
    failed: int


# -- errors several operations report ---------------------------------------------------------


def required_error(names: list[str]) -> RecordError:
    return RecordError(
        "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(names)}]", names
    )


def not_writable_error(names: list[str], *, creating: bool) -> RecordError:
    verb = "create" if creating else "update"
    return RecordError(
        "INVALID_FIELD_FOR_INSERT_UPDATE",
        f"Unable to {verb}/update fields: {', '.join(names)}. Please check the security settings "
        "of this field and verify that it is read/write for your profile or permission set.",
        names,
    )


def missing_id_error() -> RecordError:
    return RecordError("MISSING_ARGUMENT", "Id not specified in an update call", [])


def multiple_matches_error(key_field: FieldSchema, matches: list[dict[str, Any]]) -> RecordError:
    ids = ", ".join(r["Id"] for r in matches)
    return RecordError(
        "DUPLICATE_EXTERNAL_ID",
        f"{key_field.label}: more than one record found for external id field: [{ids}]",
        [key_field.name],
    )


def rolled_back(result: SaveResult, operation: str) -> SaveResult:
    if not result.success:
        return result
    return SaveResult(
        id=None if result.created or operation == "create" else result.id,
        success=False,
        errors=[RecordError("ALL_OR_NONE_OPERATION_ROLLED_BACK", ROLLED_BACK_MESSAGE, [])],
    )
